/* merkle.h — Merkle hash trees over one token range, for anti-entropy.
 *
 * Dynamo §4.7: two replicas of a key range compare a tree of hashes,
 * root first, and descend only into subtrees whose hashes differ, so
 * finding k differing keys costs O(k * depth) hashes on the wire rather
 * than one per key.  A tree here covers the ring range (LO, HI] (same
 * convention as DkTokenRange: wrapping when LO >= HI, LO == HI the whole
 * ring) and has DEPTH levels below the root (0..DK_MERKLE_MAX_DEPTH,
 * the wire's DK_WIRE_AE_MAX_DEPTH), hence 2^DEPTH leaves ("buckets").
 *
 * Buckets.  Let W = HI - LO modulo 2^64, or 2^64 when LO == HI, and for a
 * token T in the range let OFFSET = T - LO - 1 modulo 2^64 (0 .. W-1).
 * T falls in bucket floor (OFFSET * 2^DEPTH / W), computed exactly in
 * 128-bit arithmetic.  Bucket B is therefore the range
 * (LO + ceil (B*W / 2^DEPTH), LO + ceil ((B+1)*W / 2^DEPTH)] (mod 2^64):
 * equal widths to within one token, tiling the tree's range in clockwise
 * order.  Every bucket must hold at least one token, so DEPTH is at most
 * floor (log2 W) (dk_merkle_depth_limit); ranges of real rings are wide
 * enough for any depth.
 *
 * Nodes are numbered heap-style as on the wire: the root is 0, node I has
 * children 2I+1 and 2I+2, and the leaf for bucket B is node 2^DEPTH-1+B.
 * "Leaf" in this API means a bucket number B; "node" a heap index.  The
 * node at level L (root 0), position P covers exactly the range bucket P
 * would have in a tree of depth L.
 *
 * Hashes ("dk_merkle v1"; they travel between nodes, so they are fixed and
 * platform independent):
 *   key hash   K(T, D) = dk_mix64 (dk_mix64 (T) ^ D) for token T and
 *              sibling-set digest D (a bijection of D for a fixed T);
 *   leaf       0 when the bucket holds no key, else dk_hash64_seeded of the
 *              16 little-endian bytes (SUM, COUNT) with seed 1, where SUM is
 *              the sum modulo 2^64 of the K of its keys and COUNT their
 *              number — order independent, so a key can be added, changed
 *              or removed in O(1);
 *   inner      0 when both children are 0 (an empty subtree), else
 *              dk_hash64 of the 16 little-endian bytes (LEFT, RIGHT).
 * A non-empty leaf or inner node whose hash would come out 0 gets 1, so
 * 0 always means "empty"; an empty tree's root is 0.
 *
 * Updates change one leaf and mark its ancestors dirty; a read of a node
 * hash recomputes only the dirty nodes below it, so a write costs O(1)
 * and the next root read O(depth) per leaf written since the last read.
 *
 * Memory.  Levels 0..min (DEPTH, DK_MERKLE_CACHED_DEPTH) are arrays
 * (8 bytes of hash + 1 dirty byte per node, plus 12 bytes per bucket when
 * DEPTH <= DK_MERKLE_CACHED_DEPTH): about 30 * 2^DEPTH bytes — 30 KiB at
 * depth 10, 2 MiB at 16, 30 MiB at 20.  Deeper trees (21..24) keep their
 * buckets sparse (a hash table entry per non-empty bucket, ~70 bytes) and
 * compute nodes below level DK_MERKLE_CACHED_DEPTH on demand from at most
 * 16 buckets, so a tree of depth 24 costs 18 MiB of calloc-zeroed arrays
 * (pages untouched until written) plus its non-empty buckets, rather than
 * the 450 MiB a dense one would.
 *
 * Digest 0 means "no key" in dk_merkle_update; a real dk_siblings_digest
 * is 0 with probability 2^-64.
 *
 * Pure data (GLib only), no global state, deterministic.  A tree is not
 * thread-safe, and reading a hash may update its cache.
 */
#ifndef DK_MERKLE_H
#define DK_MERKLE_H

#include <glib.h>
#include "types.h"
#include "ring.h"

G_BEGIN_DECLS

/* Deepest tree accepted (equal to the wire's DK_WIRE_AE_MAX_DEPTH). */
#define DK_MERKLE_MAX_DEPTH    24u
/* Levels kept in arrays; deeper levels are sparse and computed on read. */
#define DK_MERKLE_CACHED_DEPTH 20u

typedef struct _DkMerkle DkMerkle;

/* One node's hash, as an AE_TREE_REPLY carries it. */
typedef struct
{
  guint32 node_index;
  guint64 hash;
} DkMerkleNodeHash;

/* ---- building ----------------------------------------------------------- */

/* Deepest tree for the range (LO, HI]: min (DK_MERKLE_MAX_DEPTH,
 * floor (log2 W)), so that every bucket holds at least one token. */
guint dk_merkle_depth_limit (DkToken lo, DkToken hi);

/* An empty tree for (LO, HI] of DEPTH (<= dk_merkle_depth_limit (LO, HI);
 * a larger depth is a programmer error and returns NULL).  Free with
 * dk_merkle_free. */
DkMerkle *dk_merkle_new (DkToken lo, DkToken hi, guint depth);
void dk_merkle_free (DkMerkle *tree);

/* Forget every key: the tree is as dk_merkle_new left it. */
void dk_merkle_reset (DkMerkle *tree);

/* Add a key at TOKEN whose sibling set has DIGEST (dk_merkle_update with
 * no old digest).  FALSE, tree unchanged, when TOKEN is outside the range. */
gboolean dk_merkle_add (DkMerkle *tree, DkToken token, guint64 digest);

/* A key at TOKEN changed from OLD_DIGEST to NEW_DIGEST; 0 for OLD_DIGEST
 * when the key is new, 0 for NEW_DIGEST when it is gone (both 0: no-op).
 * FALSE, tree unchanged, when TOKEN is outside the range or a removal
 * finds its bucket empty.  The caller must pass the digest the tree holds
 * for the key; the tree cannot tell keys apart to check it. */
gboolean dk_merkle_update (DkMerkle *tree, DkToken token, guint64 old_digest,
                           guint64 new_digest);

/* A DkStoreScanFunc (store.h) adding each scanned key to the DkMerkle in
 * USER_DATA: dk_store_scan (store, lo, hi, dk_merkle_scan_add, tree, &e).
 * Stops the scan (returns FALSE) at a token outside the tree's range. */
gboolean dk_merkle_scan_add (DkToken token, GBytes *key, guint64 digest,
                             gpointer user_data);

/* ---- shape -------------------------------------------------------------- */

guint dk_merkle_depth (const DkMerkle *tree);
DkTokenRange dk_merkle_range (const DkMerkle *tree);
/* 2^depth buckets; 2^(depth+1) - 1 nodes. */
guint32 dk_merkle_leaf_count (const DkMerkle *tree);
guint32 dk_merkle_node_count (const DkMerkle *tree);
/* Keys added and not removed. */
guint64 dk_merkle_key_count (const DkMerkle *tree);

/* The bucket holding TOKEN; FALSE when TOKEN is outside the range. */
gboolean dk_merkle_leaf_of (const DkMerkle *tree, DkToken token, guint32 *leaf);

/* Heap index of bucket LEAF's node, and back (-1 when NODE is inner). */
guint32 dk_merkle_leaf_node (const DkMerkle *tree, guint32 leaf);
gint64 dk_merkle_node_leaf (const DkMerkle *tree, guint32 node);

/* The token range bucket LEAF (< leaf count) covers; never empty. */
DkTokenRange dk_merkle_leaf_range (const DkMerkle *tree, guint32 leaf);

/* The token range the subtree under NODE (< node count) covers; the
 * root's is the tree's range. */
DkTokenRange dk_merkle_node_range (const DkMerkle *tree, guint32 node);

/* ---- hashes and comparison ---------------------------------------------- */

/* The hash of NODE (< node count), recomputing dirty nodes below it. */
guint64 dk_merkle_node_hash (DkMerkle *tree, guint32 node);
guint64 dk_merkle_root (DkMerkle *tree);

/* One step of the exchange: compare the N_REMOTE hashes a peer sent for
 * nodes of a tree of the same range and depth with ours.  For each that
 * differs, append its bucket to DIFFERING_LEAVES (GArray of guint32) when
 * it is a leaf, else its two children to NEXT_NODES (GArray of guint32) —
 * the indices to ask for next.  Returns how many differed, or -1 (arrays
 * untouched) when some index is not a node of this tree. */
gint dk_merkle_compare_nodes (DkMerkle *tree, const DkMerkleNodeHash *remote,
                              guint n_remote, GArray *differing_leaves,
                              GArray *next_nodes);

/* The buckets (ascending, GArray of guint32) whose hashes differ between
 * A and B, which must have the same range and depth, found by descending
 * from the root only into differing subtrees.  *N_COMPARED (may be NULL)
 * receives the number of node pairs compared: at most 1 + 2 * depth * k
 * for k differing buckets.  Free with g_array_unref. */
GArray *dk_merkle_differing_leaves (DkMerkle *a, DkMerkle *b, guint *n_compared);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkMerkle, dk_merkle_free)

G_END_DECLS

#endif /* DK_MERKLE_H */
