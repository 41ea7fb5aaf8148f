/* check_merkle.c — Merkle trees find exactly the buckets that differ,
 * cheaply, whatever the insertion order, and their buckets tile the
 * range. */
#include "suites.h"
#include "merkle.h"

__extension__ typedef unsigned __int128 TestU128;

typedef struct
{
  DkToken token;
  guint64 digest;  /* 0: the key is absent */
} Key;

static guint64
rand64 (GRand *rand)
{
  return ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
}

static guint64
rand_digest (GRand *rand)
{
  guint64 digest;
  do
    digest = rand64 (rand);
  while (digest == 0);
  return digest;
}

static TestU128
width_of (DkToken lo, DkToken hi)
{
  return lo == hi ? (TestU128) 1 << 64 : (TestU128) (guint64) (hi - lo);
}

/* A random range wide enough for DEPTH: the whole ring, a random (often
 * wrapping) range, or one barely wide enough, often across 2^64-1. */
static DkTokenRange
rand_range (GRand *rand, guint depth)
{
  DkTokenRange range;
  range.lo = rand64 (rand);
  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      range.hi = range.lo;
      break;
    case 1:
      do
        range.hi = rand64 (rand);
      while (range.hi == range.lo || width_of (range.lo, range.hi) < ((TestU128) 1 << depth));
      break;
    default:
      if (g_rand_boolean (rand))
        range.lo = G_MAXUINT64 - (guint64) g_rand_int_range (rand, 0, 1 << depth);
      range.hi = range.lo + ((guint64) 1 << depth) + (guint64) g_rand_int_range (rand, 0, 4);
      break;
    }
  return range;
}

static DkToken
rand_token_in (GRand *rand, DkTokenRange range)
{
  TestU128 width = width_of (range.lo, range.hi);
  guint64 offset = (guint64) ((TestU128) rand64 (rand) % width);
  return range.lo + 1 + offset;
}

/* N random keys in RANGE; a few share a token. */
static GArray *
rand_keys (GRand *rand, DkTokenRange range, guint n)
{
  GArray *keys = g_array_new (FALSE, FALSE, sizeof (Key));
  for (guint i = 0; i < n; i++)
    {
      Key key = { rand_token_in (rand, range), rand_digest (rand) };
      if (i > 0 && g_rand_int_range (rand, 0, 20) == 0)
        key.token = g_array_index (keys, Key, g_rand_int_range (rand, 0, (gint32) i)).token;
      g_array_append_val (keys, key);
    }
  return keys;
}

/* A tree of RANGE and DEPTH holding the present KEYS, added in the order
 * of a shuffle seeded by SHUFFLE_SEED (0: array order). */
static DkMerkle *
build (DkTokenRange range, guint depth, GArray *keys, guint32 shuffle_seed)
{
  DkMerkle *tree = dk_merkle_new (range.lo, range.hi, depth);
  ck_assert_ptr_nonnull (tree);
  g_autofree guint *order = g_new (guint, keys->len + 1);
  for (guint i = 0; i < keys->len; i++)
    order[i] = i;
  if (shuffle_seed != 0)
    {
      GRand *rand = g_rand_new_with_seed (shuffle_seed);
      for (guint i = keys->len; i > 1; i--)
        {
          guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
          guint swap = order[i - 1];
          order[i - 1] = order[j];
          order[j] = swap;
        }
      g_rand_free (rand);
    }
  for (guint i = 0; i < keys->len; i++)
    {
      const Key *key = &g_array_index (keys, Key, order[i]);
      if (key->digest != 0)
        ck_assert (dk_merkle_add (tree, key->token, key->digest));
    }
  return tree;
}

static void
assert_same_hashes (DkMerkle *a, DkMerkle *b)
{
  ck_assert_uint_eq (dk_merkle_node_count (a), dk_merkle_node_count (b));
  for (guint32 node = 0; node < dk_merkle_node_count (a); node++)
    ck_assert_msg (dk_merkle_node_hash (a, node) == dk_merkle_node_hash (b, node),
                   "node %u differs", node);
}

static gint
compare_uint32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static guint32
leaf_of (DkMerkle *tree, DkToken token)
{
  guint32 leaf = G_MAXUINT32;
  ck_assert (dk_merkle_leaf_of (tree, token, &leaf));
  return leaf;
}

/* Ascending distinct buckets of the keys whose digest differs between
 * BEFORE and AFTER (same length, same tokens). */
static GArray *
changed_leaves (DkMerkle *tree, GArray *before, GArray *after)
{
  GArray *leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; i < before->len; i++)
    if (g_array_index (before, Key, i).digest != g_array_index (after, Key, i).digest)
      {
        guint32 leaf = leaf_of (tree, g_array_index (before, Key, i).token);
        g_array_append_val (leaves, leaf);
      }
  g_array_sort (leaves, compare_uint32);
  guint kept = 0;
  for (guint i = 0; i < leaves->len; i++)
    if (kept == 0 || g_array_index (leaves, guint32, i) != g_array_index (leaves, guint32, kept - 1))
      g_array_index (leaves, guint32, kept++) = g_array_index (leaves, guint32, i);
  g_array_set_size (leaves, kept);
  return leaves;
}

static void
assert_same_leaves (GArray *got, GArray *expected)
{
  ck_assert_uint_eq (got->len, expected->len);
  for (guint i = 0; i < got->len; i++)
    ck_assert_uint_eq (g_array_index (got, guint32, i), g_array_index (expected, guint32, i));
}

/* Apply random changes to KEYS (change, remove, add back, restore) and to
 * TREE alike, reading hashes in between to exercise the dirty marks. */
static void
mutate (GRand *rand, DkMerkle *tree, GArray *keys, GArray *original, guint changes)
{
  for (guint c = 0; c < changes; c++)
    {
      guint i = (guint) g_rand_int_range (rand, 0, (gint32) keys->len);
      Key *key = &g_array_index (keys, Key, i);
      guint64 next;
      switch (g_rand_int_range (rand, 0, 4))
        {
        case 0:
          next = 0;
          break;
        case 1:
          next = g_array_index (original, Key, i).digest;
          break;
        default:
          next = rand_digest (rand);
          break;
        }
      ck_assert (dk_merkle_update (tree, key->token, key->digest, next));
      key->digest = next;
      if (g_rand_int_range (rand, 0, 3) == 0)
        dk_merkle_node_hash (tree, (guint32) g_rand_int_range (rand, 0, (gint32) dk_merkle_node_count (tree)));
    }
}

START_TEST (merkle_roots_equal_for_any_insertion_order)
{
  GRand *rand = g_rand_new_with_seed (101);
  for (int iteration = 0; iteration < dk_test_iterations (200); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 11);
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (GArray) keys = rand_keys (rand, range, (guint) g_rand_int_range (rand, 0, 300));
      g_autoptr (DkMerkle) a = build (range, depth, keys, 0);
      g_autoptr (DkMerkle) b = build (range, depth, keys, g_rand_int (rand) | 1);
      ck_assert_uint_eq (dk_merkle_key_count (a), keys->len);
      ck_assert_uint_eq (dk_merkle_key_count (b), keys->len);
      ck_assert ((dk_merkle_root (a) == 0) == (keys->len == 0));
      assert_same_hashes (a, b);
    }
  g_rand_free (rand);
}
END_TEST

START_TEST (merkle_one_change_shows_in_exactly_its_leaf)
{
  GRand *rand = g_rand_new_with_seed (202);
  for (int iteration = 0; iteration < dk_test_iterations (200); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 15);
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (GArray) keys = rand_keys (rand, range, (guint) g_rand_int_range (rand, 1, 500));
      g_autoptr (DkMerkle) a = build (range, depth, keys, 0);
      g_autoptr (DkMerkle) b = build (range, depth, keys, 0);
      const Key *key = &g_array_index (keys, Key, g_rand_int_range (rand, 0, (gint32) keys->len));
      guint64 digest = rand_digest (rand);

      ck_assert (dk_merkle_update (b, key->token, key->digest, digest));
      ck_assert (dk_merkle_root (a) != dk_merkle_root (b));
      guint compared = 0;
      g_autoptr (GArray) leaves = dk_merkle_differing_leaves (a, b, &compared);
      ck_assert_uint_eq (leaves->len, 1);
      ck_assert_uint_eq (g_array_index (leaves, guint32, 0), leaf_of (a, key->token));
      ck_assert_uint_eq (compared, 1 + 2 * depth);

      ck_assert (dk_merkle_update (b, key->token, digest, key->digest));
      ck_assert (dk_merkle_root (a) == dk_merkle_root (b));
      g_autoptr (GArray) none = dk_merkle_differing_leaves (a, b, &compared);
      ck_assert_uint_eq (none->len, 0);
      ck_assert_uint_eq (compared, 1);
    }
  g_rand_free (rand);
}
END_TEST

/* Changes, removals, additions (keys absent at first) and changes undone:
 * the differing buckets are exactly those of keys that ended different. */
START_TEST (merkle_changes_show_in_exactly_their_leaves)
{
  GRand *rand = g_rand_new_with_seed (303);
  for (int iteration = 0; iteration < dk_test_iterations (300); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 13);
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (GArray) original = rand_keys (rand, range, (guint) g_rand_int_range (rand, 1, 400));
      for (guint i = 0; i < original->len; i++)
        if (g_rand_int_range (rand, 0, 10) == 0)
          g_array_index (original, Key, i).digest = 0;
      g_autoptr (GArray) keys = g_array_copy (original);
      g_autoptr (DkMerkle) a = build (range, depth, original, 0);
      g_autoptr (DkMerkle) b = build (range, depth, original, 0);
      mutate (rand, b, keys, original, (guint) g_rand_int_range (rand, 1, 40));

      g_autoptr (GArray) expected = changed_leaves (a, original, keys);
      g_autoptr (GArray) got = dk_merkle_differing_leaves (a, b, NULL);
      assert_same_leaves (got, expected);
      ck_assert ((dk_merkle_root (a) == dk_merkle_root (b)) == (expected->len == 0));
    }
  g_rand_free (rand);
}
END_TEST

/* Updates applied one by one, hashes read in between, give the tree a
 * rebuild from the final keys gives — also past the cached depth. */
START_TEST (merkle_incremental_updates_match_rebuild)
{
  static const guint depths[] = { 0, 1, 3, 7, 10, 12, 21, 24 };
  GRand *rand = g_rand_new_with_seed (404);
  for (int iteration = 0; iteration < dk_test_iterations (120); iteration++)
    {
      guint depth = depths[iteration % G_N_ELEMENTS (depths)];
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (GArray) original = rand_keys (rand, range, (guint) g_rand_int_range (rand, 1, 300));
      g_autoptr (GArray) keys = g_array_copy (original);
      g_autoptr (DkMerkle) incremental = build (range, depth, original, 0);
      dk_merkle_root (incremental);
      mutate (rand, incremental, keys, original, (guint) g_rand_int_range (rand, 1, 400));
      g_autoptr (DkMerkle) rebuilt = build (range, depth, keys, g_rand_int (rand) | 1);

      guint64 present = 0;
      for (guint i = 0; i < keys->len; i++)
        present += g_array_index (keys, Key, i).digest != 0;
      ck_assert_uint_eq (dk_merkle_key_count (incremental), present);
      if (depth <= 12)
        assert_same_hashes (incremental, rebuilt);
      else
        {
          /* Every node on every key's path, then random nodes. */
          ck_assert (dk_merkle_root (incremental) == dk_merkle_root (rebuilt));
          for (guint i = 0; i < keys->len; i++)
            for (guint32 node = dk_merkle_leaf_node (incremental,
                                                     leaf_of (incremental, g_array_index (keys, Key, i).token));
                 node > 0; node = (node - 1) / 2)
              ck_assert (dk_merkle_node_hash (incremental, node) == dk_merkle_node_hash (rebuilt, node));
          for (int n = 0; n < 200; n++)
            {
              guint32 node = (guint32) g_rand_int_range (rand, 0, (gint32) dk_merkle_node_count (rebuilt));
              ck_assert (dk_merkle_node_hash (incremental, node) == dk_merkle_node_hash (rebuilt, node));
            }
        }
    }
  g_rand_free (rand);
}
END_TEST

/* Buckets are non-empty, in clockwise order, adjacent, of equal widths
 * to within one token, cover the range exactly; leaf_of agrees at both
 * ends of each bucket and at a random token inside it. */
START_TEST (merkle_leaf_ranges_tile_the_range)
{
  GRand *rand = g_rand_new_with_seed (505);
  for (int iteration = 0; iteration < dk_test_iterations (300); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 11);
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (DkMerkle) tree = dk_merkle_new (range.lo, range.hi, depth);
      ck_assert_ptr_nonnull (tree);
      TestU128 total = 0, narrowest = ~(TestU128) 0, widest = 0;
      DkToken expected_lo = range.lo;
      for (guint32 leaf = 0; leaf < dk_merkle_leaf_count (tree); leaf++)
        {
          DkTokenRange bucket = dk_merkle_leaf_range (tree, leaf);
          ck_assert (bucket.lo == expected_lo);
          TestU128 width = width_of (bucket.lo, bucket.hi);
          ck_assert (bucket.lo != bucket.hi || (depth == 0 && range.lo == range.hi));
          total += width;
          narrowest = MIN (narrowest, width);
          widest = MAX (widest, width);
          ck_assert_uint_eq (leaf_of (tree, bucket.lo + 1), leaf);
          ck_assert_uint_eq (leaf_of (tree, bucket.hi), leaf);
          ck_assert_uint_eq (leaf_of (tree, rand_token_in (rand, bucket)), leaf);
          ck_assert_uint_eq (dk_merkle_node_leaf (tree, dk_merkle_leaf_node (tree, leaf)), leaf);
          expected_lo = bucket.hi;
        }
      ck_assert (expected_lo == range.hi);
      ck_assert (total == width_of (range.lo, range.hi));
      ck_assert (widest - narrowest <= 1);
    }
  g_rand_free (rand);
}
END_TEST

/* A node covers its two children's ranges back to back; the root covers
 * the tree's range and inner nodes are no leaves. */
START_TEST (merkle_node_ranges_split_into_their_children)
{
  GRand *rand = g_rand_new_with_seed (606);
  for (int iteration = 0; iteration < dk_test_iterations (200); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 10);
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (DkMerkle) tree = dk_merkle_new (range.lo, range.hi, depth);
      DkTokenRange root = dk_merkle_node_range (tree, 0);
      ck_assert (root.lo == range.lo && root.hi == range.hi);
      guint32 first_leaf = dk_merkle_node_count (tree) / 2;
      for (guint32 node = 0; node < first_leaf; node++)
        {
          DkTokenRange parent = dk_merkle_node_range (tree, node);
          DkTokenRange left = dk_merkle_node_range (tree, 2 * node + 1);
          DkTokenRange right = dk_merkle_node_range (tree, 2 * node + 2);
          ck_assert (parent.lo == left.lo && left.hi == right.lo && right.hi == parent.hi);
          ck_assert_int_eq (dk_merkle_node_leaf (tree, node), -1);
        }
      for (guint32 leaf = 0; leaf < dk_merkle_leaf_count (tree); leaf++)
        {
          DkTokenRange a = dk_merkle_leaf_range (tree, leaf);
          DkTokenRange b = dk_merkle_node_range (tree, dk_merkle_leaf_node (tree, leaf));
          ck_assert (a.lo == b.lo && a.hi == b.hi);
        }
    }
  g_rand_free (rand);
}
END_TEST

/* The descent's cost grows with changes * depth, not with the tree. */
START_TEST (merkle_descent_compares_few_nodes)
{
  GRand *rand = g_rand_new_with_seed (707);
  const guint depth = 16;
  for (int iteration = 0; iteration < dk_test_iterations (40); iteration++)
    {
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (GArray) original = rand_keys (rand, range, 5000);
      g_autoptr (GArray) keys = g_array_copy (original);
      g_autoptr (DkMerkle) a = build (range, depth, original, 0);
      g_autoptr (DkMerkle) b = build (range, depth, original, 0);
      guint changes = (guint) g_rand_int_range (rand, 1, 11);
      for (guint c = 0; c < changes; c++)
        {
          Key *key = &g_array_index (keys, Key, g_rand_int_range (rand, 0, (gint32) keys->len));
          guint64 digest = rand_digest (rand);
          ck_assert (dk_merkle_update (b, key->token, key->digest, digest));
          key->digest = digest;
        }
      guint compared = 0;
      g_autoptr (GArray) leaves = dk_merkle_differing_leaves (a, b, &compared);
      g_autoptr (GArray) expected = changed_leaves (a, original, keys);
      assert_same_leaves (leaves, expected);
      ck_assert_uint_ge (compared, 1 + depth);
      ck_assert_msg (compared <= 1 + 2 * depth * changes, "%u compared for %u changes", compared, changes);
      ck_assert_uint_lt (compared, dk_merkle_node_count (a) / 100);
    }
  g_rand_free (rand);
}
END_TEST

START_TEST (merkle_refuses_tokens_outside_range)
{
  GRand *rand = g_rand_new_with_seed (808);
  for (int iteration = 0; iteration < dk_test_iterations (200); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 9);
      DkTokenRange range = rand_range (rand, depth);
      if (range.lo == range.hi)
        range.hi = range.lo - 1;
      g_autoptr (GArray) keys = rand_keys (rand, range, 50);
      g_autoptr (DkMerkle) tree = build (range, depth, keys, 0);
      guint64 root = dk_merkle_root (tree);
      DkTokenRange outside = { range.hi, range.lo };
      DkToken tokens[] = { range.lo, range.hi + 1, rand_token_in (rand, outside) };
      for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
        {
          guint32 leaf;
          ck_assert (!dk_merkle_leaf_of (tree, tokens[i], &leaf));
          ck_assert (!dk_merkle_add (tree, tokens[i], rand_digest (rand)));
          ck_assert (!dk_merkle_update (tree, tokens[i], rand_digest (rand), rand_digest (rand)));
          ck_assert (!dk_merkle_scan_add (tokens[i], NULL, rand_digest (rand), tree));
        }
      /* Removing from an empty bucket is refused too. */
      g_autoptr (DkMerkle) empty = dk_merkle_new (range.lo, range.hi, depth);
      ck_assert (!dk_merkle_update (empty, range.hi, rand_digest (rand), 0));
      ck_assert_uint_eq (dk_merkle_key_count (empty), 0);
      ck_assert (dk_merkle_root (empty) == 0);
      ck_assert (dk_merkle_root (tree) == root);
      ck_assert_uint_eq (dk_merkle_key_count (tree), keys->len);
    }
  /* The whole ring refuses nothing, its own LO included. */
  g_autoptr (DkMerkle) ring = dk_merkle_new (42, 42, 4);
  ck_assert (dk_merkle_add (ring, 42, 7));
  ck_assert (dk_merkle_add (ring, 43, 7));
  ck_assert (dk_merkle_scan_add (41, NULL, 7, ring));
  ck_assert_uint_eq (dk_merkle_key_count (ring), 3);
  guint32 leaf;
  ck_assert (dk_merkle_leaf_of (ring, 42, &leaf) && leaf == 15);
  ck_assert (dk_merkle_leaf_of (ring, 43, &leaf) && leaf == 0);
  g_rand_free (rand);
}
END_TEST

START_TEST (merkle_empty_trees_hash_zero)
{
  g_autoptr (DkMerkle) tree = dk_merkle_new (100, 5000, 6);
  ck_assert (dk_merkle_root (tree) == 0);
  ck_assert (dk_merkle_add (tree, 200, 1));
  ck_assert (dk_merkle_add (tree, 4000, 2));
  ck_assert (dk_merkle_root (tree) != 0);
  ck_assert (dk_merkle_update (tree, 200, 1, 0));
  ck_assert (dk_merkle_update (tree, 4000, 2, 0));
  for (guint32 node = 0; node < dk_merkle_node_count (tree); node++)
    ck_assert (dk_merkle_node_hash (tree, node) == 0);
  ck_assert (dk_merkle_add (tree, 300, 3));
  ck_assert (dk_merkle_root (tree) != 0);
  dk_merkle_reset (tree);
  ck_assert (dk_merkle_root (tree) == 0);
  ck_assert_uint_eq (dk_merkle_key_count (tree), 0);
  /* Reset leaves a working tree: same hashes as a fresh one. */
  g_autoptr (DkMerkle) fresh = dk_merkle_new (100, 5000, 6);
  ck_assert (dk_merkle_add (tree, 300, 3));
  ck_assert (dk_merkle_add (fresh, 300, 3));
  assert_same_hashes (tree, fresh);
  g_autoptr (DkMerkle) deep = dk_merkle_new (0, 0, 24);
  ck_assert (dk_merkle_root (deep) == 0);
  ck_assert (dk_merkle_add (deep, 1, 1));
  dk_merkle_reset (deep);
  ck_assert (dk_merkle_root (deep) == 0);
}
END_TEST

START_TEST (merkle_depth_zero_is_one_leaf)
{
  g_autoptr (DkMerkle) a = dk_merkle_new (0, 0, 0);
  g_autoptr (DkMerkle) b = dk_merkle_new (0, 0, 0);
  ck_assert_uint_eq (dk_merkle_leaf_count (a), 1);
  ck_assert_uint_eq (dk_merkle_node_count (a), 1);
  ck_assert_int_eq (dk_merkle_node_leaf (a, 0), 0);
  DkTokenRange whole = dk_merkle_leaf_range (a, 0);
  ck_assert (whole.lo == 0 && whole.hi == 0);
  ck_assert (dk_merkle_add (a, 0, 9) && dk_merkle_add (a, G_MAXUINT64, 10));
  ck_assert (dk_merkle_add (b, G_MAXUINT64, 10) && dk_merkle_add (b, 0, 9));
  ck_assert (dk_merkle_root (a) == dk_merkle_root (b));
  ck_assert (dk_merkle_update (b, 0, 9, 11));
  guint compared;
  g_autoptr (GArray) leaves = dk_merkle_differing_leaves (a, b, &compared);
  ck_assert_uint_eq (leaves->len, 1);
  ck_assert_uint_eq (g_array_index (leaves, guint32, 0), 0);
  ck_assert_uint_eq (compared, 1);
  /* The narrowest range: one token, depth 0 only. */
  ck_assert_uint_eq (dk_merkle_depth_limit (7, 8), 0);
  g_autoptr (DkMerkle) one = dk_merkle_new (7, 8, 0);
  ck_assert (dk_merkle_add (one, 8, 1));
  ck_assert (!dk_merkle_add (one, 9, 1));
}
END_TEST

/* Depth 24, the wire's limit: sparse buckets below the cached levels. */
START_TEST (merkle_depth_24_finds_single_changes)
{
  GRand *rand = g_rand_new_with_seed (909);
  for (int iteration = 0; iteration < dk_test_iterations (10); iteration++)
    {
      DkTokenRange range = rand_range (rand, 24);
      g_autoptr (GArray) original = rand_keys (rand, range, 2000);
      g_autoptr (GArray) keys = g_array_copy (original);
      g_autoptr (DkMerkle) a = build (range, 24, original, 0);
      g_autoptr (DkMerkle) b = build (range, 24, original, g_rand_int (rand) | 1);
      ck_assert_uint_eq (dk_merkle_depth (a), 24);
      ck_assert_uint_eq (dk_merkle_leaf_count (a), 1u << 24);
      ck_assert (dk_merkle_root (a) == dk_merkle_root (b));
      mutate (rand, b, keys, original, 3);
      guint compared;
      g_autoptr (GArray) leaves = dk_merkle_differing_leaves (a, b, &compared);
      g_autoptr (GArray) expected = changed_leaves (a, original, keys);
      assert_same_leaves (leaves, expected);
      ck_assert_uint_le (compared, 1 + 2 * 24 * 3);
      /* Bucket ranges stay adjacent and agree with leaf_of. */
      for (int n = 0; n < 100; n++)
        {
          guint32 leaf = (guint32) g_rand_int_range (rand, 0, (1 << 24) - 1);
          DkTokenRange here = dk_merkle_leaf_range (a, leaf);
          DkTokenRange next = dk_merkle_leaf_range (a, leaf + 1);
          ck_assert (here.hi == next.lo && here.lo != here.hi);
          ck_assert_uint_eq (leaf_of (a, here.hi), leaf);
          ck_assert_uint_eq (leaf_of (a, next.lo + 1), leaf + 1);
        }
      ck_assert (dk_merkle_leaf_range (a, 0).lo == range.lo);
      ck_assert (dk_merkle_leaf_range (a, (1u << 24) - 1).hi == range.hi);
    }
  g_rand_free (rand);
}
END_TEST

/* The exchange as the protocol runs it: ask for the root, then for the
 * children of each differing node, until only leaves are left. */
START_TEST (merkle_compare_nodes_walks_to_the_differing_leaves)
{
  GRand *rand = g_rand_new_with_seed (1010);
  for (int iteration = 0; iteration < dk_test_iterations (100); iteration++)
    {
      guint depth = (guint) g_rand_int_range (rand, 0, 13);
      DkTokenRange range = rand_range (rand, depth);
      g_autoptr (GArray) original = rand_keys (rand, range, (guint) g_rand_int_range (rand, 1, 300));
      g_autoptr (GArray) keys = g_array_copy (original);
      g_autoptr (DkMerkle) local = build (range, depth, original, 0);
      g_autoptr (DkMerkle) remote = build (range, depth, original, 0);
      mutate (rand, remote, keys, original, (guint) g_rand_int_range (rand, 0, 10));

      g_autoptr (GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr (GArray) ask = g_array_new (FALSE, FALSE, sizeof (guint32));
      guint32 root = 0;
      g_array_append_val (ask, root);
      while (ask->len > 0)
        {
          g_autoptr (GArray) reply = g_array_new (FALSE, FALSE, sizeof (DkMerkleNodeHash));
          for (guint i = 0; i < ask->len; i++)
            {
              DkMerkleNodeHash node = { g_array_index (ask, guint32, i), 0 };
              node.hash = dk_merkle_node_hash (remote, node.node_index);
              g_array_append_val (reply, node);
            }
          g_array_set_size (ask, 0);
          gint differing = dk_merkle_compare_nodes (local, (DkMerkleNodeHash *) (void *) reply->data,
                                                    reply->len, leaves, ask);
          ck_assert_int_ge (differing, 0);
        }
      g_array_sort (leaves, compare_uint32);
      g_autoptr (GArray) expected = dk_merkle_differing_leaves (local, remote, NULL);
      assert_same_leaves (leaves, expected);

      /* An index past the tree refuses the whole batch. */
      DkMerkleNodeHash bad[2] = { { 0, 1 }, { dk_merkle_node_count (local), 1 } };
      ck_assert_int_eq (dk_merkle_compare_nodes (local, bad, 2, leaves, ask), -1);
      ck_assert_uint_eq (ask->len, 0);
      ck_assert_uint_eq (leaves->len, expected->len);
    }
  g_rand_free (rand);
}
END_TEST

START_TEST (merkle_depth_limit_follows_range_width)
{
  ck_assert_uint_eq (dk_merkle_depth_limit (0, 1), 0);
  ck_assert_uint_eq (dk_merkle_depth_limit (0, 3), 1);
  ck_assert_uint_eq (dk_merkle_depth_limit (0, 4), 2);
  ck_assert_uint_eq (dk_merkle_depth_limit (G_MAXUINT64 - 3, 0), 2);
  ck_assert_uint_eq (dk_merkle_depth_limit (0, (1u << 24) - 1), 23);
  ck_assert_uint_eq (dk_merkle_depth_limit (0, 1u << 24), 24);
  ck_assert_uint_eq (dk_merkle_depth_limit (10, 9), 24);
  ck_assert_uint_eq (dk_merkle_depth_limit (5, 5), 24);
  /* At the limit every bucket of a 4-token range holds one token. */
  g_autoptr (DkMerkle) tree = dk_merkle_new (G_MAXUINT64 - 1, 2, 2);
  for (guint32 leaf = 0; leaf < 4; leaf++)
    {
      DkTokenRange bucket = dk_merkle_leaf_range (tree, leaf);
      ck_assert (bucket.hi == bucket.lo + 1 && bucket.hi == G_MAXUINT64 + leaf);
    }
}
END_TEST

/* Hashes travel between nodes: these pinned roots guard "dk_merkle v1".
 * They were computed once from the first implementation, checked against
 * an independent script of the rules in merkle.h, and must never be
 * edited to make a test pass. */
START_TEST (merkle_hashes_match_pinned_values)
{
  g_autoptr (DkMerkle) shallow = dk_merkle_new (0, 0, 4);
  g_autoptr (DkMerkle) deep = dk_merkle_new (G_GUINT64_CONSTANT (0x8000000000000000),
                                             G_GUINT64_CONSTANT (0x7fffffffffffffff), 22);
  for (guint64 i = 1; i <= 8; i++)
    {
      ck_assert (dk_merkle_add (shallow, i * G_GUINT64_CONSTANT (0x1111111111111111), i));
      ck_assert (dk_merkle_add (deep, i * G_GUINT64_CONSTANT (0x1111111111111111), i));
    }
  ck_assert_msg (dk_merkle_root (shallow) == G_GUINT64_CONSTANT (0xc4ce5fdb662ed1fa),
                 "shallow root 0x%016" G_GINT64_MODIFIER "x", dk_merkle_root (shallow));
  ck_assert_msg (dk_merkle_root (deep) == G_GUINT64_CONSTANT (0x88b623031eb1adb7),
                 "deep root 0x%016" G_GINT64_MODIFIER "x", dk_merkle_root (deep));
}
END_TEST

Suite *
merkle_suite (void)
{
  Suite *suite = suite_create ("merkle");
  TCase *tc = tcase_create ("merkle");
  dk_tcase_no_wall_limit (tc);
  tcase_add_test (tc, merkle_roots_equal_for_any_insertion_order);
  tcase_add_test (tc, merkle_one_change_shows_in_exactly_its_leaf);
  tcase_add_test (tc, merkle_changes_show_in_exactly_their_leaves);
  tcase_add_test (tc, merkle_incremental_updates_match_rebuild);
  tcase_add_test (tc, merkle_leaf_ranges_tile_the_range);
  tcase_add_test (tc, merkle_node_ranges_split_into_their_children);
  tcase_add_test (tc, merkle_descent_compares_few_nodes);
  tcase_add_test (tc, merkle_refuses_tokens_outside_range);
  tcase_add_test (tc, merkle_empty_trees_hash_zero);
  tcase_add_test (tc, merkle_depth_zero_is_one_leaf);
  tcase_add_test (tc, merkle_depth_24_finds_single_changes);
  tcase_add_test (tc, merkle_compare_nodes_walks_to_the_differing_leaves);
  tcase_add_test (tc, merkle_depth_limit_follows_range_width);
  tcase_add_test (tc, merkle_hashes_match_pinned_values);
  suite_add_tcase (suite, tc);
  return suite;
}
