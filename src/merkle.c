/* merkle.c — Merkle trees over a token range; see merkle.h for the
 * bucket rule, the hash definitions and the memory layout. */
#include <string.h>
#include "merkle.h"
#include "hash.h"

/* Bucket arithmetic needs OFFSET * 2^DEPTH and B * W, up to 2^88. */
__extension__ typedef unsigned __int128 DkU128;

/* One non-empty bucket of a sparse (deeper than cached) tree. */
typedef struct
{
  guint64 sum;    /* sum of key hashes modulo 2^64 */
  guint64 count;  /* keys in the bucket */
} DkMerkleBucket;

struct _DkMerkle
{
  DkToken lo;
  DkToken hi;
  DkU128  width;         /* tokens in the range: 1 .. 2^64 */
  guint   depth;
  guint   cached_depth;  /* min (depth, DK_MERKLE_CACHED_DEPTH) */
  guint64 key_count;

  /* Levels 0..cached_depth, heap order.  Invariant: a dirty node's parent
   * is dirty, so marking stops at the first dirty ancestor. */
  guint64 *node_hash;
  guint8  *node_dirty;

  /* Buckets: dense arrays when depth == cached_depth ... */
  guint64 *bucket_sum;
  guint32 *bucket_count;
  /* ... else guint32 bucket -> DkMerkleBucket, non-empty ones only. */
  GHashTable *sparse_buckets;
};

static inline guint32
level_first_node (guint level)
{
  return (1u << level) - 1;
}

/* ---- hashes ------------------------------------------------------------- */

static guint64
hash_pair (guint64 a, guint64 b, guint64 seed)
{
  guint8 bytes[16];
  for (guint i = 0; i < 8; i++)
    {
      bytes[i] = (guint8) (a >> (8 * i));
      bytes[8 + i] = (guint8) (b >> (8 * i));
    }
  return dk_hash64_seeded (bytes, sizeof bytes, seed);
}

static inline guint64
nonzero (guint64 hash)
{
  return hash != 0 ? hash : 1;
}

static inline guint64
key_hash (DkToken token, guint64 digest)
{
  return dk_mix64 (dk_mix64 (token) ^ digest);
}

static inline guint64
bucket_hash (guint64 sum, guint64 count)
{
  return count == 0 ? 0 : nonzero (hash_pair (sum, count, 1));
}

static inline guint64
inner_hash (guint64 left, guint64 right)
{
  return left == 0 && right == 0 ? 0 : nonzero (hash_pair (left, right, 0));
}

/* ---- building ----------------------------------------------------------- */

static DkU128
range_width (DkToken lo, DkToken hi)
{
  return lo == hi ? (DkU128) 1 << 64 : (DkU128) (guint64) (hi - lo);
}

guint
dk_merkle_depth_limit (DkToken lo, DkToken hi)
{
  if (lo == hi)
    return DK_MERKLE_MAX_DEPTH;
  guint log2_width = 63 - (guint) __builtin_clzll (hi - lo);  /* hi - lo >= 1 */
  return MIN (log2_width, DK_MERKLE_MAX_DEPTH);
}

DkMerkle *
dk_merkle_new (DkToken lo, DkToken hi, guint depth)
{
  g_return_val_if_fail (depth <= dk_merkle_depth_limit (lo, hi), NULL);

  DkMerkle *tree = g_new0 (DkMerkle, 1);
  tree->lo = lo;
  tree->hi = hi;
  tree->width = range_width (lo, hi);
  tree->depth = depth;
  tree->cached_depth = MIN (depth, DK_MERKLE_CACHED_DEPTH);
  gsize cached_nodes = (gsize) level_first_node (tree->cached_depth + 1);
  /* g_new0 is calloc: large arrays arrive as untouched zero pages. */
  tree->node_hash = g_new0 (guint64, cached_nodes);
  tree->node_dirty = g_new0 (guint8, cached_nodes);
  if (depth == tree->cached_depth)
    {
      tree->bucket_sum = g_new0 (guint64, (gsize) 1 << depth);
      tree->bucket_count = g_new0 (guint32, (gsize) 1 << depth);
    }
  else
    tree->sparse_buckets = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  return tree;
}

void
dk_merkle_free (DkMerkle *tree)
{
  if (tree == NULL)
    return;
  g_free (tree->node_hash);
  g_free (tree->node_dirty);
  g_free (tree->bucket_sum);
  g_free (tree->bucket_count);
  g_clear_pointer (&tree->sparse_buckets, g_hash_table_unref);
  g_free (tree);
}

void
dk_merkle_reset (DkMerkle *tree)
{
  g_return_if_fail (tree != NULL);
  gsize cached_nodes = (gsize) level_first_node (tree->cached_depth + 1);
  memset (tree->node_hash, 0, cached_nodes * sizeof *tree->node_hash);
  memset (tree->node_dirty, 0, cached_nodes * sizeof *tree->node_dirty);
  if (tree->sparse_buckets != NULL)
    g_hash_table_remove_all (tree->sparse_buckets);
  else
    {
      memset (tree->bucket_sum, 0, ((gsize) 1 << tree->depth) * sizeof *tree->bucket_sum);
      memset (tree->bucket_count, 0, ((gsize) 1 << tree->depth) * sizeof *tree->bucket_count);
    }
  tree->key_count = 0;
}

/* The sum and count of bucket LEAF. */
static void
bucket_get (const DkMerkle *tree, guint32 leaf, guint64 *sum, guint64 *count)
{
  if (tree->sparse_buckets == NULL)
    {
      *sum = tree->bucket_sum[leaf];
      *count = tree->bucket_count[leaf];
      return;
    }
  const DkMerkleBucket *bucket = g_hash_table_lookup (tree->sparse_buckets,
                                                      GUINT_TO_POINTER (leaf));
  *sum = bucket != NULL ? bucket->sum : 0;
  *count = bucket != NULL ? bucket->count : 0;
}

/* Store bucket LEAF's new sum and count; an emptied bucket forgets its sum
 * so that an inconsistent caller cannot leave a stale one behind. */
static void
bucket_set (DkMerkle *tree, guint32 leaf, guint64 sum, guint64 count)
{
  if (count == 0)
    sum = 0;
  if (tree->sparse_buckets == NULL)
    {
      tree->bucket_sum[leaf] = sum;
      tree->bucket_count[leaf] = (guint32) count;
      return;
    }
  if (count == 0)
    {
      g_hash_table_remove (tree->sparse_buckets, GUINT_TO_POINTER (leaf));
      return;
    }
  DkMerkleBucket *bucket = g_hash_table_lookup (tree->sparse_buckets, GUINT_TO_POINTER (leaf));
  if (bucket == NULL)
    {
      bucket = g_new (DkMerkleBucket, 1);
      g_hash_table_insert (tree->sparse_buckets, GUINT_TO_POINTER (leaf), bucket);
    }
  bucket->sum = sum;
  bucket->count = count;
}

/* Mark the cached ancestors of bucket LEAF dirty, deepest first. */
static void
mark_dirty (DkMerkle *tree, guint32 leaf)
{
  guint32 node = level_first_node (tree->cached_depth)
                 + (leaf >> (tree->depth - tree->cached_depth));
  while (!tree->node_dirty[node])
    {
      tree->node_dirty[node] = 1;
      if (node == 0)
        break;
      node = (node - 1) / 2;
    }
}

gboolean
dk_merkle_update (DkMerkle *tree, DkToken token, guint64 old_digest, guint64 new_digest)
{
  g_return_val_if_fail (tree != NULL, FALSE);
  guint32 leaf;
  if (!dk_merkle_leaf_of (tree, token, &leaf))
    return FALSE;
  if (old_digest == new_digest)
    return TRUE;

  guint64 sum, count;
  bucket_get (tree, leaf, &sum, &count);
  if (old_digest != 0)
    {
      if (count == 0)
        return FALSE;
      sum -= key_hash (token, old_digest);
      count--;
      tree->key_count--;
    }
  if (new_digest != 0)
    {
      sum += key_hash (token, new_digest);
      count++;
      tree->key_count++;
    }
  bucket_set (tree, leaf, sum, count);
  mark_dirty (tree, leaf);
  return TRUE;
}

gboolean
dk_merkle_add (DkMerkle *tree, DkToken token, guint64 digest)
{
  return dk_merkle_update (tree, token, 0, digest);
}

gboolean
dk_merkle_scan_add (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  return dk_merkle_add (user_data, token, digest);
}

/* ---- shape -------------------------------------------------------------- */

guint
dk_merkle_depth (const DkMerkle *tree)
{
  return tree->depth;
}

DkTokenRange
dk_merkle_range (const DkMerkle *tree)
{
  return (DkTokenRange) { tree->lo, tree->hi };
}

guint32
dk_merkle_leaf_count (const DkMerkle *tree)
{
  return 1u << tree->depth;
}

guint32
dk_merkle_node_count (const DkMerkle *tree)
{
  return level_first_node (tree->depth + 1);
}

guint64
dk_merkle_key_count (const DkMerkle *tree)
{
  return tree->key_count;
}

gboolean
dk_merkle_leaf_of (const DkMerkle *tree, DkToken token, guint32 *leaf)
{
  guint64 offset = token - tree->lo - 1;
  if ((DkU128) offset >= tree->width)
    return FALSE;
  *leaf = (guint32) (((DkU128) offset << tree->depth) / tree->width);
  return TRUE;
}

guint32
dk_merkle_leaf_node (const DkMerkle *tree, guint32 leaf)
{
  g_return_val_if_fail (leaf < dk_merkle_leaf_count (tree), 0);
  return level_first_node (tree->depth) + leaf;
}

gint64
dk_merkle_node_leaf (const DkMerkle *tree, guint32 node)
{
  g_return_val_if_fail (node < dk_merkle_node_count (tree), -1);
  guint32 first_leaf = level_first_node (tree->depth);
  return node >= first_leaf ? (gint64) (node - first_leaf) : -1;
}

/* First offset of bucket POSITION at LEVEL: ceil (POSITION * W / 2^LEVEL). */
static DkU128
bucket_start (const DkMerkle *tree, guint level, guint64 position)
{
  return ((DkU128) position * tree->width + (((DkU128) 1 << level) - 1)) >> level;
}

/* The range of the node at LEVEL, POSITION (as a bucket of depth LEVEL). */
static DkTokenRange
level_range (const DkMerkle *tree, guint level, guint32 position)
{
  DkTokenRange range;
  range.lo = tree->lo + (guint64) bucket_start (tree, level, position);
  range.hi = tree->lo + (guint64) bucket_start (tree, level, (guint64) position + 1);
  return range;
}

DkTokenRange
dk_merkle_leaf_range (const DkMerkle *tree, guint32 leaf)
{
  g_return_val_if_fail (leaf < dk_merkle_leaf_count (tree), dk_merkle_range (tree));
  return level_range (tree, tree->depth, leaf);
}

static inline guint
node_level (guint32 node)
{
  return 31 - (guint) __builtin_clz (node + 1);  /* node < 2^25 */
}

DkTokenRange
dk_merkle_node_range (const DkMerkle *tree, guint32 node)
{
  g_return_val_if_fail (node < dk_merkle_node_count (tree), dk_merkle_range (tree));
  guint level = node_level (node);
  return level_range (tree, level, node - level_first_node (level));
}

/* ---- hashes and comparison ---------------------------------------------- */

static guint64 cached_node_hash (DkMerkle *tree, guint level, guint32 position);

/* The hash of the node at LEVEL, POSITION from its children (or, for a
 * leaf, its bucket), reading cached children through the cache. */
static guint64
compute_node_hash (DkMerkle *tree, guint level, guint32 position)
{
  if (level == tree->depth)
    {
      guint64 sum, count;
      bucket_get (tree, position, &sum, &count);
      return bucket_hash (sum, count);
    }
  guint64 left, right;
  if (level < tree->cached_depth)
    {
      left = cached_node_hash (tree, level + 1, 2 * position);
      right = cached_node_hash (tree, level + 1, 2 * position + 1);
    }
  else
    {
      left = compute_node_hash (tree, level + 1, 2 * position);
      right = compute_node_hash (tree, level + 1, 2 * position + 1);
    }
  return inner_hash (left, right);
}

static guint64
cached_node_hash (DkMerkle *tree, guint level, guint32 position)
{
  guint32 node = level_first_node (level) + position;
  if (tree->node_dirty[node])
    {
      tree->node_hash[node] = compute_node_hash (tree, level, position);
      tree->node_dirty[node] = 0;
    }
  return tree->node_hash[node];
}

guint64
dk_merkle_node_hash (DkMerkle *tree, guint32 node)
{
  g_return_val_if_fail (tree != NULL && node < dk_merkle_node_count (tree), 0);
  guint level = node_level (node);
  guint32 position = node - level_first_node (level);
  return level <= tree->cached_depth ? cached_node_hash (tree, level, position)
                                     : compute_node_hash (tree, level, position);
}

guint64
dk_merkle_root (DkMerkle *tree)
{
  return dk_merkle_node_hash (tree, 0);
}

gint
dk_merkle_compare_nodes (DkMerkle *tree, const DkMerkleNodeHash *remote, guint n_remote,
                         GArray *differing_leaves, GArray *next_nodes)
{
  g_return_val_if_fail (tree != NULL && (remote != NULL || n_remote == 0), -1);
  g_return_val_if_fail (differing_leaves != NULL && next_nodes != NULL, -1);
  guint32 node_count = dk_merkle_node_count (tree);
  for (guint i = 0; i < n_remote; i++)
    if (remote[i].node_index >= node_count)
      return -1;

  guint32 first_leaf = level_first_node (tree->depth);
  gint differing = 0;
  for (guint i = 0; i < n_remote; i++)
    {
      guint32 node = remote[i].node_index;
      if (dk_merkle_node_hash (tree, node) == remote[i].hash)
        continue;
      differing++;
      if (node >= first_leaf)
        {
          guint32 leaf = node - first_leaf;
          g_array_append_val (differing_leaves, leaf);
        }
      else
        {
          guint32 children[2] = { 2 * node + 1, 2 * node + 2 };
          g_array_append_vals (next_nodes, children, 2);
        }
    }
  return differing;
}

static void
descend (DkMerkle *a, DkMerkle *b, guint32 node, GArray *leaves, guint *compared)
{
  (*compared)++;
  if (dk_merkle_node_hash (a, node) == dk_merkle_node_hash (b, node))
    return;
  guint32 first_leaf = level_first_node (a->depth);
  if (node >= first_leaf)
    {
      guint32 leaf = node - first_leaf;
      g_array_append_val (leaves, leaf);
      return;
    }
  descend (a, b, 2 * node + 1, leaves, compared);
  descend (a, b, 2 * node + 2, leaves, compared);
}

GArray *
dk_merkle_differing_leaves (DkMerkle *a, DkMerkle *b, guint *n_compared)
{
  g_return_val_if_fail (a != NULL && b != NULL, NULL);
  g_return_val_if_fail (a->lo == b->lo && a->hi == b->hi && a->depth == b->depth, NULL);
  GArray *leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint compared = 0;
  descend (a, b, 0, leaves, &compared);
  if (n_compared != NULL)
    *n_compared = compared;
  return leaves;
}
