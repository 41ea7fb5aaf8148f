/* ring_private.h — the ring's state, shared by ring.c (membership and
 * lookups), ring_partition.c (the equal-partition owner table) and
 * ring_range.c (token ranges and diffs).  Not for use outside the ring. */
#ifndef DK_RING_PRIVATE_H
#define DK_RING_PRIVATE_H

#include "ring.h"

G_BEGIN_DECLS

/* vnode_member value of a partition no node owns (only in an empty ring). */
#define DK_RING_UNOWNED G_MAXUINT32

typedef struct
{
  DkRingNode node;             /* strings owned (name, datacenter, rack never NULL) */
  gboolean   up;
  guint32    datacenter_index; /* dense numbering of the distinct datacenters */
  guint32    rack_index;       /* dense numbering of the distinct (datacenter, rack) pairs */
} DkRingMember;

struct _DkRing
{
  DkRingStrategy strategy;
  guint          tokens_per_weight;  /* random tokens only */
  guint          partition_count;    /* equal partitions only: Q */
  GArray        *members;            /* DkRingMember, ascending id */
  DkNodeId      *partition_owner;    /* Q ids (equal partitions only) */

  /* Derived placement, rebuilt after every change.  Tokens and owners sit
   * in separate arrays so the binary search touches only tokens. */
  guint          vnode_count;
  DkToken       *vnode_tokens;       /* ascending, distinct */
  guint32       *vnode_member;       /* index into members */
  /* Where a token's search starts: the space is cut into 2^(64 - shift)
   * equal buckets (about one per vnode) and vnode_bucket[b] is the first
   * vnode whose token is in bucket b or later; [2^(64 - shift)] is
   * vnode_count.  A lookup scans one bucket's few vnodes instead of
   * binary-searching an array too large for the cache. */
  guint32       *vnode_bucket;
  guint          bucket_shift;
  guint          datacenter_count;
  guint          rack_count;
};

static inline const DkRingMember *
ring_member (const DkRing *ring, guint32 index)
{
  return &g_array_index (ring->members, DkRingMember, index);
}

/* Index in ring->members of node ID, or -1. */
gint ring_member_index (const DkRing *ring, DkNodeId id);

/* First vnode whose token is >= TOKEN, wrapping to 0 (vnode_count > 0). */
guint ring_first_vnode_at_or_after (const DkRing *ring, DkToken token);

/* Preference list (member indices) for a walk starting at vnode START. */
guint ring_preference_members (const DkRing *ring, guint start, guint n, guint32 *out);

/* Re-derive the vnode arrays and datacenter/rack numbering. */
void ring_rebuild (DkRing *ring);

/* Re-derive vnode_bucket from vnode_tokens. */
void ring_index_tokens (DkRing *ring);

/* ring_partition.c: the hi token of partition P of Q. */
DkToken ring_partition_hi (guint partition, guint partition_count);

/* ring_partition.c: the members marked in JOINING (by index, already in
 * members but owning nothing) join one by one in ascending id order, each
 * taking its quota only from members above theirs. */
void ring_partitions_join (DkRing *ring, const gboolean *joining);

/* ring_partition.c: hand the partitions of the member at LEAVER (still in
 * members) to the others below their quota. */
void ring_partitions_leave (DkRing *ring, guint leaver);

G_END_DECLS

#endif /* DK_RING_PRIVATE_H */
