/* types.h — names and limits shared by every dynkv module.
 *
 * A key-value pair is < 10 KB (the seed's requirement).  We split that
 * budget into fixed limits so every layer can enforce them without
 * knowing about the others: a key is at most DK_KEY_MAX_BYTES, a value at
 * most DK_VALUE_MAX_BYTES, and the two together stay below 10,240 bytes.
 * Larger input is a clear error at the first layer that sees it, never a
 * truncation.
 */
#ifndef DK_TYPES_H
#define DK_TYPES_H

#include <glib.h>

G_BEGIN_DECLS

/* A physical node's identity inside one cluster (n1 = 1, n2 = 2, ...).
 * 0 is never a valid node; it means "none". */
typedef guint32 DkNodeId;
#define DK_NODE_NONE ((DkNodeId) 0)

/* A position on the ring: the 64-bit dk_hash64 of a key (see hash.h). */
typedef guint64 DkToken;

#define DK_KEY_MAX_BYTES     512u   /* keys are 1..512 bytes */
#define DK_VALUE_MAX_BYTES  9216u   /* values are 0..9216 bytes (9 KiB) */
G_STATIC_ASSERT (DK_KEY_MAX_BYTES + DK_VALUE_MAX_BYTES < 10240u);

/* Siblings: concurrent versions of one key.  Two limits.
 *
 * DK_SIBLINGS_MAX is the client's: a client write that would leave more
 * siblings than this at its coordinator is refused (TOO_LARGE, with the
 * context of the current set, so the client can read and resolve them;
 * node_coordinator.c, coordinate_write).
 *
 * DK_SIBLINGS_HARD_MAX is the store's and the wire's: internal
 * replication (read repair, hints, anti-entropy, streams) merges sets past
 * DK_SIBLINGS_MAX without refusal, up to this many versions per key (the
 * u8 count of a store row and of a message's sibling field).  A merge past
 * it is refused and counted (merges_refused_siblings): it would need
 * dozens of sides writing to one key while cut off from each other.
 * A set too large for one datagram travels in parts (node.c,
 * node_send_set; tests/check_wedge.c). */
#define DK_SIBLINGS_MAX         8u
#define DK_SIBLINGS_HARD_MAX  255u

/* Vector clocks are pruned past this many entries (Dynamo uses 10) ... */
#define DK_VCLOCK_PRUNE_ENTRIES 10u
/* ... and a decoder refuses clocks with more than this many. */
#define DK_VCLOCK_MAX_ENTRIES   64u

G_END_DECLS

#endif /* DK_TYPES_H */
