/* ring.h — the consistent-hashing ring: who stores which key.
 *
 * Dynamo §4.2: a key is placed at its token dk_hash64(key) on a circular
 * 64-bit space; each physical node owns many positions (virtual nodes,
 * "vnodes") and a key's replicas are the first N distinct physical nodes
 * found walking clockwise from its token.  A vnode at token T owns the
 * range (previous vnode's token, T]; the ring wraps from 2^64-1 to 0.
 *
 * Two placement strategies, so the simulator can compare them as the
 * Dynamo paper does (§6.2):
 *
 *   DK_RING_RANDOM_TOKENS (strategy 1): a node of weight W gets
 *   W * tokens_per_weight vnodes; vnode v of the node named NAME sits at
 *   dk_hash64_seeded (NAME, strlen (NAME), v).  Every node that knows the
 *   membership computes the identical ring; no tokens are exchanged.
 *   Two vnodes on the same token (odds ~2^-40 at 256k vnodes): the one of
 *   the smaller node id, then the smaller vnode index, keeps it.
 *
 *   DK_RING_EQUAL_PARTITIONS (strategy 3, Riak's ring): the space is cut
 *   into Q equal partitions; partition p is the range (hi(p-1), hi(p)]
 *   with hi(p) = floor((p+1) * 2^64 / Q) - 1, so partition 0 starts at
 *   token 0 and partition Q-1 ends at 2^64-1.  Each partition has one
 *   owner in a partition->owner table.  A node's fair share (its quota) is
 *   Q * weight / total weight, rounded by largest remainder (ties: the
 *   smaller node id gets the extra partition).  A join takes partitions
 *   only from nodes above their new quota and only until the joiner
 *   reaches its quota; a leave hands the leaver's partitions only to nodes
 *   below their new quota (largest deficit first, ties: smaller id).
 *   Which partitions move is decided by a hash rank seeded with the
 *   joiner's / leaver's name, so moved partitions spread over the ring.
 *   The table is state: it is a deterministic function of the starting
 *   table and the sequence of changes, and gossip can carry it with
 *   dk_ring_partition_owners / dk_ring_set_partition_owners.  Nodes added
 *   in one dk_ring_add_nodes call join in ascending id order, so a batch
 *   gives the same table whatever order it lists the nodes in; separate
 *   joins in different orders may give different (equally balanced)
 *   tables.  Choose Q as nodes * 256 or more for the cluster's expected
 *   size (25,600 for 100 nodes: max/mean ownership 1.00 there).
 *
 * Weight: a positive integer capacity (1 = a standard machine).
 *
 * Movement.  With random tokens a join only inserts the joiner's vnodes
 * and a leave only deletes the leaver's, so for every N (datacenters or
 * not) a join makes the joiner the only node gaining any range and a
 * leave takes ranges only from the leaver.  With equal partitions this
 * holds exactly for primaries (N = 1).  For N > 1 a joiner first avoids
 * partitions within 3 of one it already took, and a leaver's partition
 * goes preferably to the owner of one of the 3 before it, which keeps
 * data moving between two staying nodes to a sliver (< 0.03% of the ring
 * measured at N = 3); with datacenters configured the partition table
 * ignores them, so replica sets can shift more (use random tokens there).
 *
 * The preference-list rule, in full.  Walk the vnodes clockwise from the
 * first vnode whose token is >= the key's token (wrapping), and pick
 * physical nodes in three passes, each restarting at that vnode and
 * skipping nodes already picked:
 *   1. a node whose datacenter has no replica yet;
 *   2. a node whose (datacenter, rack) pair has no replica yet;
 *   3. any node.
 * Stop as soon as N nodes are picked (or every node is).  The list is in
 * pick order, so its head is always the key's primary (the first node
 * clockwise) and the list for N is a prefix of the list for N+1.  Without
 * datacenters and racks configured (all ""), passes 1-2 pick just the
 * primary and the rule is Dynamo's: the first N distinct nodes clockwise.
 * With them, a list spans min(N, #datacenters) datacenters and then as
 * many racks as it can.  Racks of the same name in different datacenters
 * are different racks.
 *
 * The extended preference list is the same rule run until every node is
 * picked.  The sloppy list (Dynamo §4.6) is its first N nodes marked up;
 * a node from past position N stands in for a down node of the first N,
 * the k-th stand-in for the k-th down intended replica, and carries that
 * node's id as its hint.  Up/down marks belong to this ring instance and
 * never change placement; a caller with its own view of who is up (the
 * node: gossip and its own silences) passes it as a predicate instead, so
 * the rule lives here only (dk_ring_sloppy_preference_list_by).
 *
 * Pure data (GLib only), no global state.  A ring is not thread-safe;
 * lookups never modify it.  Every result is a deterministic function of
 * the membership (and, for partitions, the table): no hash-table order,
 * address or clock reaches it.
 */
#ifndef DK_RING_H
#define DK_RING_H

#include <glib.h>
#include "types.h"

G_BEGIN_DECLS

/* Largest replication factor N any ring function accepts. */
#define DK_RING_MAX_REPLICAS 16u
/* Bounds on vnodes per ring (either strategy) and on a node's weight. */
#define DK_RING_MAX_VNODES   (1u << 24)
#define DK_RING_MAX_WEIGHT   1024u

typedef enum
{
  DK_RING_RANDOM_TOKENS,    /* Dynamo strategy 1: hashed tokens per vnode */
  DK_RING_EQUAL_PARTITIONS  /* Dynamo strategy 3: Q equal partitions, owner table */
} DkRingStrategy;

/* One physical node as the ring sees it.  Strings are copied on add. */
typedef struct
{
  DkNodeId    id;          /* unique, never DK_NODE_NONE */
  const char *name;        /* unique, non-empty; seeds the node's tokens */
  const char *datacenter;  /* NULL or "" when not configured */
  const char *rack;        /* NULL or "" when not configured */
  guint       weight;      /* 1..DK_RING_MAX_WEIGHT; 0 on add means 1 */
} DkRingNode;

/* A token range (lo, hi]: lo < t <= hi, wrapping past 2^64-1 when
 * lo >= hi; lo == hi is the whole ring (a ring with a single vnode). */
typedef struct
{
  DkToken lo;
  DkToken hi;
} DkTokenRange;

/* A replica chosen by the sloppy list. */
typedef struct
{
  DkNodeId node;        /* a node marked up */
  DkNodeId hinted_for;  /* DK_NODE_NONE when NODE is an intended replica,
                         * else the down intended replica it stands in for */
} DkRingReplica;

/* One range whose replicas differ between two rings (see dk_ring_diff). */
typedef struct
{
  DkTokenRange range;
  guint        n_before;                       /* 0 when BEFORE was empty */
  guint        n_after;
  DkNodeId     before[DK_RING_MAX_REPLICAS];   /* preference list before */
  DkNodeId     after[DK_RING_MAX_REPLICAS];    /* preference list after */
} DkRingRangeChange;

typedef struct _DkRing DkRing;

/* ---- building --------------------------------------------------------- */

/* An empty ring placing tokens_per_weight (1..65536) random tokens per
 * unit of weight.  Free with dk_ring_free. */
DkRing *dk_ring_new_random_tokens (guint tokens_per_weight);

/* An empty ring of PARTITION_COUNT (1..DK_RING_MAX_VNODES) equal
 * partitions, all unowned until the first node joins. */
DkRing *dk_ring_new_equal_partitions (guint partition_count);

/* A deep copy, up/down marks included. */
DkRing *dk_ring_copy (const DkRing *ring);
void dk_ring_free (DkRing *ring);

DkRingStrategy dk_ring_strategy (const DkRing *ring);

/* Add one node (marked up).  Fails with DK_RING_ERROR_INVALID (id 0, empty
 * name, weight too large, too many vnodes) or DK_RING_ERROR_DUPLICATE
 * (id or name taken) and leaves the ring unchanged. */
gboolean dk_ring_add_node (DkRing *ring, const DkRingNode *node, GError **error);

/* Add N_NODES nodes at once (all or none), rebuilding the ring once; the
 * result does not depend on the order of NODES. */
gboolean dk_ring_add_nodes (DkRing *ring, const DkRingNode *nodes, guint n_nodes,
                            GError **error);

/* Remove node ID; DK_RING_ERROR_UNKNOWN_NODE when it is not a member. */
gboolean dk_ring_remove_node (DkRing *ring, DkNodeId id, GError **error);

/* ---- membership --------------------------------------------------------- */

guint dk_ring_node_count (const DkRing *ring);

/* The INDEX-th member in ascending id order (INDEX < node count); the
 * strings are owned by the ring and valid until that node is removed. */
const DkRingNode *dk_ring_node_at (const DkRing *ring, guint index);

/* The member with ID, or NULL. */
const DkRingNode *dk_ring_lookup_node (const DkRing *ring, DkNodeId id);

/* Mark a member up or down (failure detector verdicts); FALSE when ID is
 * not a member.  New members start up. */
gboolean dk_ring_set_node_up (DkRing *ring, DkNodeId id, gboolean up);

/* TRUE when ID is a member marked up. */
gboolean dk_ring_node_is_up (const DkRing *ring, DkNodeId id);

/* ---- placement ---------------------------------------------------------- */

/* The token of a key: dk_hash64 of its bytes. */
DkToken dk_ring_key_token (const void *key, gsize len);

/* The primary (first node clockwise) for TOKEN; DK_NODE_NONE when empty. */
DkNodeId dk_ring_primary (const DkRing *ring, DkToken token);

/* Store the preference list for TOKEN (see the rule above) in OUT, which
 * has room for N (1..DK_RING_MAX_REPLICAS) ids; returns how many were
 * stored: min (N, node count). */
guint dk_ring_preference_list (const DkRing *ring, DkToken token, guint n,
                               DkNodeId *out);

/* Store the sloppy list for TOKEN in OUT (room for N): the first N nodes
 * marked up on the extended preference list, each with the down intended
 * replica it covers (see above); returns min (N, up nodes). */
guint dk_ring_sloppy_preference_list (const DkRing *ring, DkToken token, guint n,
                                      DkRingReplica *out);

/* Whether node ID counts as up for one sloppy list; called any number of
 * times per list and must answer the same within it. */
typedef gboolean (*DkRingUpFunc) (DkNodeId id, gpointer data);

/* The same sloppy list with IS_UP (DATA) deciding who is up instead of
 * the ring's marks: the one rule, used by the node with its own view of
 * its peers.  UNCOVERED (room for N; may be NULL) receives the down
 * intended replicas no stand-in covers (fewer than N up), in list order,
 * and *N_UNCOVERED their count. */
guint dk_ring_sloppy_preference_list_by (const DkRing *ring, DkToken token, guint n,
                                         DkRingUpFunc is_up, gpointer data,
                                         DkRingReplica *out, DkNodeId *uncovered,
                                         guint *n_uncovered);

/* ---- token ranges ------------------------------------------------------- */

/* Number of ranges: one per vnode (per partition with equal partitions,
 * whether owned or not); 0 for an empty random-token ring. */
guint dk_ring_range_count (const DkRing *ring);

/* The INDEX-th range in clockwise order from token 0; range 0 is the one
 * holding token 0.  Its replicas are dk_ring_preference_list (range.hi). */
DkTokenRange dk_ring_range_at (const DkRing *ring, guint index);

/* Index of the range holding TOKEN (equals the partition number with
 * equal partitions); 0 when the ring has no ranges. */
guint dk_ring_range_index (const DkRing *ring, DkToken token);

/* Ranges (DkTokenRange, clockwise order) for which node ID is among the
 * first N of the preference list: what it replicates, and with N = 1 what
 * it is primary for.  Empty when ID is not a member.  Free with
 * g_array_unref. */
GArray *dk_ring_node_ranges (const DkRing *ring, DkNodeId id, guint n);

/* Fraction of the token space (0..1) for which ID is the primary. */
double dk_ring_owned_fraction (const DkRing *ring, DkNodeId id);

/* TRUE when TOKEN lies in RANGE. */
gboolean dk_token_range_contains (const DkTokenRange *range, DkToken token);

/* Width of RANGE as a fraction of the token space (the whole ring is 1). */
double dk_token_range_fraction (const DkTokenRange *range);

/* What rebalancing must stream between BEFORE and AFTER for replication N:
 * the ranges (cut at every vnode boundary of either ring, adjacent pieces
 * with equal lists merged, clockwise from token 0) whose primary or whose
 * set of N replicas differs.  A GArray of DkRingRangeChange; free with
 * g_array_unref. */
GArray *dk_ring_diff (const DkRing *before, const DkRing *after, guint n);

/* ---- partitions (equal-partition rings only) ---------------------------- */

/* Q, or 0 for a random-token ring. */
guint dk_ring_partition_count (const DkRing *ring);

/* The partition->owner table (Q ids, DK_NODE_NONE while no node is a
 * member); owned by the ring, valid until it next changes. */
const DkNodeId *dk_ring_partition_owners (const DkRing *ring, guint *n_partitions);

/* Replace the table (e.g. from gossip).  Refuses with DK_RING_ERROR_INVALID
 * a random-token ring, a count other than Q, or an owner that is not a
 * member (DK_NODE_NONE only when the ring is empty); unchanged on error. */
gboolean dk_ring_set_partition_owners (DkRing *ring, const DkNodeId *owners,
                                       guint n_partitions, GError **error);

/* ---- comparison --------------------------------------------------------- */

/* TRUE when A and B place every key identically with identical members
 * (same strategy, nodes, tokens and owners); up/down marks are ignored. */
gboolean dk_ring_equal (const DkRing *a, const DkRing *b);

#define DK_RING_ERROR (dk_ring_error_quark ())
GQuark dk_ring_error_quark (void);
typedef enum
{
  DK_RING_ERROR_INVALID,
  DK_RING_ERROR_DUPLICATE,
  DK_RING_ERROR_UNKNOWN_NODE
} DkRingError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkRing, dk_ring_free)

G_END_DECLS

#endif /* DK_RING_H */
