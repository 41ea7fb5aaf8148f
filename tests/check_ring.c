/* check_ring.c — properties of the consistent-hashing ring, over many seeds:
 * preference lists, datacenter spread, sloppy quorum, balance, weights,
 * minimal movement on join/leave, ranges, diffs and determinism. */
#include <string.h>
#include "suites.h"
#include "ring.h"

/* ---- helpers ------------------------------------------------------------ */

/* A node description whose strings live with it. */
typedef struct
{
  char       name[32];
  char       datacenter[16];
  char       rack[16];
  DkRingNode node;
} TestNode;

/* N nodes with ids 1..N named after SEED; with DATACENTERS > 0 they are
 * dealt round-robin over that many datacenters and RACKS racks in each. */
static TestNode *
make_nodes (guint n, guint seed, guint datacenters, guint racks)
{
  TestNode *nodes = g_new0 (TestNode, n);
  for (guint i = 0; i < n; i++)
    {
      TestNode *t = &nodes[i];
      g_snprintf (t->name, sizeof t->name, "s%u-node%u", seed, i + 1);
      if (datacenters > 0)
        g_snprintf (t->datacenter, sizeof t->datacenter, "dc%u", i % datacenters);
      if (racks > 0)
        g_snprintf (t->rack, sizeof t->rack, "rack%u", (i / MAX (datacenters, 1)) % racks);
      t->node = (DkRingNode) { i + 1, t->name, t->datacenter, t->rack, 1 };
    }
  return nodes;
}

static DkRing *
new_ring (DkRingStrategy strategy, guint tokens_or_partitions)
{
  return strategy == DK_RING_RANDOM_TOKENS ? dk_ring_new_random_tokens (tokens_or_partitions)
                                           : dk_ring_new_equal_partitions (tokens_or_partitions);
}

/* A ring of N nodes added in one batch, listed in ORDER (NULL: as made). */
static DkRing *
build_ring (DkRingStrategy strategy, guint tokens_or_partitions, const TestNode *nodes,
            guint n, const guint *order)
{
  DkRing *ring = new_ring (strategy, tokens_or_partitions);
  g_autofree DkRingNode *batch = g_new (DkRingNode, n);
  for (guint i = 0; i < n; i++)
    batch[i] = nodes[order ? order[i] : i].node;
  g_autoptr(GError) error = NULL;
  ck_assert_msg (dk_ring_add_nodes (ring, batch, n, &error), "add: %s",
                 error ? error->message : "");
  return ring;
}

static guint *
shuffled_order (GRand *rand, guint n)
{
  guint *order = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      guint swap = order[i - 1];
      order[i - 1] = order[j];
      order[j] = swap;
    }
  return order;
}

static DkToken
random_token (GRand *rand)
{
  return ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
}

static gboolean
contains_id (const DkNodeId *ids, guint n, DkNodeId id)
{
  for (guint i = 0; i < n; i++)
    if (ids[i] == id)
      return TRUE;
  return FALSE;
}

static DkRingStrategy
strategy_for_seed (int seed)
{
  return seed % 2 == 0 ? DK_RING_RANDOM_TOKENS : DK_RING_EQUAL_PARTITIONS;
}

/* Vnodes per node for the random strategy, or Q for partitions. */
static guint
ring_size_for (DkRingStrategy strategy, guint nodes)
{
  return strategy == DK_RING_RANDOM_TOKENS ? 64 : MAX (nodes, 1) * 64;
}

/* ---- preference lists --------------------------------------------------- */

START_TEST (ring_preference_list_has_n_distinct_nodes)
{
  int seeds = dk_test_iterations (40);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
      DkRingStrategy strategy = strategy_for_seed (seed);
      guint n_nodes = (guint) g_rand_int_range (rand, 1, 25);
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, 0, 0);
      g_autoptr(DkRing) ring = build_ring (strategy, ring_size_for (strategy, n_nodes),
                                           nodes, n_nodes, NULL);
      for (int k = 0; k < 200; k++)
        {
          DkToken token = random_token (rand);
          guint n = (guint) g_rand_int_range (rand, 1, DK_RING_MAX_REPLICAS);
          DkNodeId list[DK_RING_MAX_REPLICAS], longer[DK_RING_MAX_REPLICAS];
          guint count = dk_ring_preference_list (ring, token, n, list);
          ck_assert_uint_eq (count, MIN (n, n_nodes));
          for (guint i = 0; i < count; i++)
            {
              ck_assert_ptr_nonnull (dk_ring_lookup_node (ring, list[i]));
              ck_assert_msg (!contains_id (list, i, list[i]), "node %u twice", list[i]);
            }
          ck_assert_uint_eq (list[0], dk_ring_primary (ring, token));
          /* The list for N is a prefix of the list for N + 1. */
          guint longer_count = dk_ring_preference_list (ring, token, n + 1, longer);
          ck_assert_uint_ge (longer_count, count);
          ck_assert (memcmp (list, longer, count * sizeof (DkNodeId)) == 0);
        }
    }
}
END_TEST

/* Without datacenters, the list is the first N distinct primaries met
 * walking the ranges clockwise from the token's range. */
START_TEST (ring_preference_list_is_first_n_distinct_nodes_clockwise)
{
  int seeds = dk_test_iterations (20);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + 100);
      DkRingStrategy strategy = strategy_for_seed (seed);
      guint n_nodes = (guint) g_rand_int_range (rand, 1, 12);
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, 0, 0);
      g_autoptr(DkRing) ring = build_ring (strategy, ring_size_for (strategy, n_nodes),
                                           nodes, n_nodes, NULL);
      guint ranges = dk_ring_range_count (ring);
      for (int k = 0; k < 100; k++)
        {
          DkToken token = random_token (rand);
          guint start = dk_ring_range_index (ring, token);
          DkTokenRange first = dk_ring_range_at (ring, start);
          ck_assert (dk_token_range_contains (&first, token));
          DkNodeId expected[3];
          guint n_expected = 0;
          for (guint step = 0; step < ranges && n_expected < 3; step++)
            {
              DkTokenRange range = dk_ring_range_at (ring, (start + step) % ranges);
              DkNodeId owner = dk_ring_primary (ring, range.hi);
              if (!contains_id (expected, n_expected, owner))
                expected[n_expected++] = owner;
            }
          DkNodeId list[3];
          guint count = dk_ring_preference_list (ring, token, 3, list);
          ck_assert_uint_eq (count, n_expected);
          ck_assert (memcmp (list, expected, count * sizeof (DkNodeId)) == 0);
        }
    }
}
END_TEST

static guint
distinct_strings (const DkRing *ring, const DkNodeId *list, guint count, gboolean racks)
{
  guint distinct = 0;
  for (guint i = 0; i < count; i++)
    {
      const DkRingNode *node = dk_ring_lookup_node (ring, list[i]);
      gboolean seen = FALSE;
      for (guint j = 0; j < i && !seen; j++)
        {
          const DkRingNode *other = dk_ring_lookup_node (ring, list[j]);
          seen = strcmp (node->datacenter, other->datacenter) == 0
                 && (!racks || strcmp (node->rack, other->rack) == 0);
        }
      distinct += !seen;
    }
  return distinct;
}

START_TEST (ring_preference_list_spans_min_n_datacenters_then_racks)
{
  int seeds = dk_test_iterations (40);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + 200);
      DkRingStrategy strategy = strategy_for_seed (seed);
      guint datacenters = (guint) g_rand_int_range (rand, 1, 5);
      guint racks = (guint) g_rand_int_range (rand, 1, 4);
      guint n_nodes = (guint) g_rand_int_range (rand, (gint32) datacenters, 30);
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, datacenters, racks);
      g_autoptr(DkRing) ring = build_ring (strategy, ring_size_for (strategy, n_nodes),
                                           nodes, n_nodes, NULL);
      /* Distinct (datacenter, rack) pairs actually present. */
      guint rack_pairs = MIN (n_nodes, datacenters * racks);
      for (int k = 0; k < 200; k++)
        {
          DkToken token = random_token (rand);
          guint n = (guint) g_rand_int_range (rand, 1, 7);
          DkNodeId list[DK_RING_MAX_REPLICAS];
          guint count = dk_ring_preference_list (ring, token, n, list);
          ck_assert_uint_eq (count, MIN (n, n_nodes));
          ck_assert_uint_eq (list[0], dk_ring_primary (ring, token));
          ck_assert_uint_eq (distinct_strings (ring, list, count, FALSE), MIN (n, datacenters));
          ck_assert_uint_eq (distinct_strings (ring, list, count, TRUE), MIN (count, rack_pairs));
        }
    }
}
END_TEST

/* ---- sloppy quorum ------------------------------------------------------ */

START_TEST (ring_sloppy_list_skips_down_nodes_and_names_intended_owners)
{
  int seeds = dk_test_iterations (40);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + 300);
      DkRingStrategy strategy = strategy_for_seed (seed);
      guint datacenters = (guint) g_rand_int_range (rand, 0, 3);
      guint n_nodes = (guint) g_rand_int_range (rand, 1, 90);
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, datacenters,
                                               datacenters);
      g_autoptr(DkRing) ring = build_ring (strategy, ring_size_for (strategy, n_nodes),
                                           nodes, n_nodes, NULL);
      double down_probability = g_rand_double (rand);
      guint n_up = n_nodes;
      for (guint i = 0; i < n_nodes; i++)
        if (g_rand_double (rand) < down_probability)
          {
            ck_assert (dk_ring_set_node_up (ring, nodes[i].node.id, FALSE));
            n_up--;
          }
      for (int k = 0; k < 100; k++)
        {
          DkToken token = random_token (rand);
          guint n = (guint) g_rand_int_range (rand, 1, 6);
          DkNodeId intended[DK_RING_MAX_REPLICAS];
          guint n_intended = dk_ring_preference_list (ring, token, n, intended);
          DkRingReplica sloppy[DK_RING_MAX_REPLICAS];
          guint count = dk_ring_sloppy_preference_list (ring, token, n, sloppy);
          ck_assert_uint_eq (count, MIN (n, n_up));

          /* The down intended replicas, in list order. */
          DkNodeId down[DK_RING_MAX_REPLICAS];
          guint n_down = 0;
          for (guint i = 0; i < n_intended; i++)
            if (!dk_ring_node_is_up (ring, intended[i]))
              down[n_down++] = intended[i];

          guint hints = 0;
          for (guint i = 0; i < count; i++)
            {
              ck_assert (dk_ring_node_is_up (ring, sloppy[i].node));
              for (guint j = 0; j < i; j++)
                ck_assert_uint_ne (sloppy[i].node, sloppy[j].node);
              gboolean is_intended = contains_id (intended, n_intended, sloppy[i].node);
              if (is_intended)
                ck_assert_uint_eq (sloppy[i].hinted_for, DK_NODE_NONE);
              else
                {
                  /* The k-th stand-in covers the k-th down intended node. */
                  ck_assert_uint_lt (hints, n_down);
                  ck_assert_uint_eq (sloppy[i].hinted_for, down[hints]);
                  hints++;
                }
            }
          /* Every healthy intended replica is used, and with enough nodes
           * up every down one is covered. */
          ck_assert_uint_eq (count - hints, n_intended - n_down);
          if (n_up >= n)
            ck_assert_uint_eq (hints, n_down);
        }
    }
}
END_TEST

START_TEST (ring_sloppy_list_equals_preference_list_when_all_up)
{
  g_autofree TestNode *nodes = make_nodes (20, 1, 3, 2);
  g_autoptr(DkRing) ring = build_ring (DK_RING_RANDOM_TOKENS, 32, nodes, 20, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  for (int k = 0; k < 500; k++)
    {
      DkToken token = random_token (rand);
      DkNodeId list[4];
      DkRingReplica sloppy[4];
      guint count = dk_ring_preference_list (ring, token, 4, list);
      ck_assert_uint_eq (dk_ring_sloppy_preference_list (ring, token, 4, sloppy), count);
      for (guint i = 0; i < count; i++)
        {
          ck_assert_uint_eq (sloppy[i].node, list[i]);
          ck_assert_uint_eq (sloppy[i].hinted_for, DK_NODE_NONE);
        }
    }
}
END_TEST

/* The rule exists once: with a predicate instead of the ring's marks
 * (what the node passes: its own view of who is usable), the list is the
 * one the marks give, and the uncovered ones are the down intended
 * replicas that no stand-in covers. */
static gboolean
id_in_set (DkNodeId id, gpointer data)
{
  return !g_hash_table_contains (data, GUINT_TO_POINTER (id));
}

START_TEST (ring_sloppy_list_by_predicate_is_the_marked_list)
{
  int seeds = dk_test_iterations (40);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + 900);
      DkRingStrategy strategy = strategy_for_seed (seed);
      guint datacenters = (guint) g_rand_int_range (rand, 0, 3);
      guint n_nodes = (guint) g_rand_int_range (rand, 1, 40);
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, datacenters,
                                               datacenters);
      g_autoptr(DkRing) marked = build_ring (strategy, ring_size_for (strategy, n_nodes),
                                             nodes, n_nodes, NULL);
      g_autoptr(DkRing) unmarked = dk_ring_copy (marked);
      g_autoptr(GHashTable) down = g_hash_table_new (g_direct_hash, g_direct_equal);
      double down_probability = g_rand_double (rand);
      for (guint i = 0; i < n_nodes; i++)
        if (g_rand_double (rand) < down_probability)
          {
            dk_ring_set_node_up (marked, nodes[i].node.id, FALSE);
            g_hash_table_add (down, GUINT_TO_POINTER (nodes[i].node.id));
          }
      for (int k = 0; k < 100; k++)
        {
          DkToken token = random_token (rand);
          guint n = (guint) g_rand_int_range (rand, 1, 6);
          DkRingReplica by_marks[DK_RING_MAX_REPLICAS], by_predicate[DK_RING_MAX_REPLICAS];
          DkNodeId uncovered[DK_RING_MAX_REPLICAS];
          guint n_uncovered = 99;
          guint count = dk_ring_sloppy_preference_list (marked, token, n, by_marks);
          ck_assert_uint_eq (dk_ring_sloppy_preference_list_by (unmarked, token, n, id_in_set,
                                                                down, by_predicate, uncovered,
                                                                &n_uncovered), count);
          for (guint i = 0; i < count; i++)
            {
              ck_assert_uint_eq (by_predicate[i].node, by_marks[i].node);
              ck_assert_uint_eq (by_predicate[i].hinted_for, by_marks[i].hinted_for);
            }
          /* Uncovered: the down intended replicas no stand-in names. */
          DkNodeId intended[DK_RING_MAX_REPLICAS];
          guint n_intended = dk_ring_preference_list (marked, token, n, intended);
          guint expected = 0;
          for (guint i = 0; i < n_intended; i++)
            {
              if (!g_hash_table_contains (down, GUINT_TO_POINTER (intended[i])))
                continue;
              gboolean covered = FALSE;
              for (guint j = 0; j < count; j++)
                covered = covered || by_marks[j].hinted_for == intended[i];
              if (covered)
                continue;
              ck_assert_uint_lt (expected, n_uncovered);
              ck_assert_uint_eq (uncovered[expected], intended[i]);
              expected++;
            }
          ck_assert_uint_eq (n_uncovered, expected);
        }
    }
}
END_TEST

/* A whole datacenter down: its replicas are covered by the other one. */
START_TEST (ring_sloppy_list_survives_a_datacenter_outage)
{
  g_autofree TestNode *nodes = make_nodes (12, 2, 2, 2);
  g_autoptr(DkRing) ring = build_ring (DK_RING_EQUAL_PARTITIONS, 12 * 64, nodes, 12, NULL);
  for (guint i = 0; i < 12; i++)
    if (strcmp (nodes[i].datacenter, "dc0") == 0)
      dk_ring_set_node_up (ring, nodes[i].node.id, FALSE);
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  for (int k = 0; k < 500; k++)
    {
      DkRingReplica sloppy[3];
      ck_assert_uint_eq (dk_ring_sloppy_preference_list (ring, random_token (rand), 3, sloppy), 3);
      guint hinted = 0;
      for (guint i = 0; i < 3; i++)
        {
          ck_assert_str_eq (dk_ring_lookup_node (ring, sloppy[i].node)->datacenter, "dc1");
          hinted += sloppy[i].hinted_for != DK_NODE_NONE;
        }
      /* Three replicas over two datacenters: one or two were in dc0. */
      ck_assert (hinted == 1 || hinted == 2);
    }
}
END_TEST

/* ---- balance and weights ------------------------------------------------ */

/* max / mean of the primary-owned fractions; also checks they sum to 1. */
static double
max_over_mean_ownership (const DkRing *ring)
{
  guint n = dk_ring_node_count (ring);
  double total = 0, max = 0;
  for (guint i = 0; i < n; i++)
    {
      double share = dk_ring_owned_fraction (ring, dk_ring_node_at (ring, i)->id);
      total += share;
      max = MAX (max, share);
    }
  ck_assert_double_eq_tol (total, 1.0, 1e-9);
  return max / (total / n);
}

START_TEST (ring_random_tokens_balance_within_1_25_at_100_nodes)
{
  int seeds = dk_test_iterations (10);
  double worst = 0;
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autofree TestNode *nodes = make_nodes (100, (guint) seed, 0, 0);
      g_autoptr(DkRing) ring = build_ring (DK_RING_RANDOM_TOKENS, 256, nodes, 100, NULL);
      ck_assert_uint_eq (dk_ring_range_count (ring), 100 * 256);
      worst = MAX (worst, max_over_mean_ownership (ring));
    }
  ck_assert_msg (worst <= 1.25, "max/mean ownership %.3f", worst);
  /* And it is not suspiciously perfect: 256 random tokens per node vary. */
  ck_assert_msg (worst > 1.02, "max/mean ownership %.3f", worst);
}
END_TEST

/* Q = 100 * 256 = 25,600 partitions: every node's quota is exactly 256,
 * so whether the nodes came in one batch or joined one at a time, each
 * holds 256 +- 1 partitions. */
START_TEST (ring_equal_partitions_balance_within_1_05_at_100_nodes)
{
  int seeds = dk_test_iterations (4);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autofree TestNode *nodes = make_nodes (100, (guint) seed, 0, 0);
      g_autoptr(DkRing) batch = build_ring (DK_RING_EQUAL_PARTITIONS, 25600, nodes, 100, NULL);
      double batch_ratio = max_over_mean_ownership (batch);
      ck_assert_msg (batch_ratio <= 1.05, "batch max/mean %.4f", batch_ratio);

      g_autoptr(DkRing) joined = dk_ring_new_equal_partitions (25600);
      for (guint i = 0; i < 100; i++)
        ck_assert (dk_ring_add_node (joined, &nodes[(i * 37 + (guint) seed) % 100].node, NULL));
      double joined_ratio = max_over_mean_ownership (joined);
      ck_assert_msg (joined_ratio <= 1.05, "one-by-one max/mean %.4f", joined_ratio);
    }
}
END_TEST

START_TEST (ring_double_weight_owns_double)
{
  int seeds = dk_test_iterations (6);
  for (int seed = 0; seed < seeds; seed++)
    {
      DkRingStrategy strategy = strategy_for_seed (seed);
      g_autofree TestNode *nodes = make_nodes (40, (guint) seed, 0, 0);
      nodes[7].node.weight = 2;
      g_autoptr(DkRing) ring = build_ring (strategy, strategy == DK_RING_RANDOM_TOKENS ? 256 : 41 * 256,
                                           nodes, 40, NULL);
      double heavy = dk_ring_owned_fraction (ring, nodes[7].node.id);
      double others = (1.0 - heavy) / 39;
      double ratio = heavy / others;
      if (strategy == DK_RING_RANDOM_TOKENS)
        ck_assert_msg (ratio > 1.75 && ratio < 2.25, "weight 2 owns %.3f x", ratio);
      else
        ck_assert_msg (ratio > 1.99 && ratio < 2.01, "weight 2 owns %.3f x", ratio);
      if (strategy == DK_RING_RANDOM_TOKENS)
        ck_assert_uint_eq (dk_ring_range_count (ring), 41 * 256);
    }
}
END_TEST

/* ---- movement on join and leave ----------------------------------------- */

static double
moved_fraction (GArray *changes)
{
  double moved = 0;
  for (guint i = 0; i < changes->len; i++)
    moved += dk_token_range_fraction (&g_array_index (changes, DkRingRangeChange, i).range);
  return moved;
}

/* The fraction of the ring where a node other than CHANGED gains a
 * replica on a join (JOIN) or loses one on a leave: data moving between
 * two nodes that were there before and after. */
static double
collateral_fraction (GArray *changes, DkNodeId changed, gboolean join)
{
  double collateral = 0;
  for (guint i = 0; i < changes->len; i++)
    {
      const DkRingRangeChange *c = &g_array_index (changes, DkRingRangeChange, i);
      const DkNodeId *from = join ? c->before : c->after, *to = join ? c->after : c->before;
      guint n_from = join ? c->n_before : c->n_after, n_to = join ? c->n_after : c->n_before;
      gboolean moved_between_others = FALSE;
      for (guint k = 0; k < n_to; k++)
        moved_between_others |= to[k] != changed && !contains_id (from, n_from, to[k]);
      if (moved_between_others)
        collateral += dk_token_range_fraction (&c->range);
    }
  return collateral;
}

/* A join or leave of node CHANGED between BEFORE and AFTER: every moved
 * range involves CHANGED (the joiner is in its new list and the primary
 * of it with N = 1; the leaver was in its old list and its primary with
 * N = 1); returns the collateral fraction for replication N. */
static double
assert_moves_only_for (const DkRing *before, const DkRing *after, DkNodeId changed,
                       gboolean join, guint n)
{
  g_autoptr(GArray) changes = dk_ring_diff (before, after, n);
  ck_assert_uint_gt (changes->len, 0);
  for (guint i = 0; i < changes->len; i++)
    {
      const DkRingRangeChange *c = &g_array_index (changes, DkRingRangeChange, i);
      ck_assert (contains_id (c->before, c->n_before, changed) != join);
      ck_assert (contains_id (c->after, c->n_after, changed) == join);
      if (n == 1)
        ck_assert_uint_eq (join ? c->after[0] : c->before[0], changed);
    }
  return collateral_fraction (changes, changed, join);
}

/* Random tokens: nothing ever moves between old nodes, for any N and
 * with datacenters.  Equal partitions: nothing moves between old nodes
 * as primaries; for N = 3 replicas (no datacenters) a joiner taking two
 * partitions inside one list, or a leaver's neighbours going to two
 * different heirs, can shift a sliver: it must stay under 1% of the
 * ring.  (With datacenters, partition moves ignore them, so replica sets
 * of other datacenters can shift too: only N = 1 is asserted there.) */
static void
check_membership_change (int seed, gboolean join)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + (join ? 400 : 500));
  DkRingStrategy strategy = strategy_for_seed (seed);
  guint n_old = (guint) g_rand_int_range (rand, 3, 60);
  guint datacenters = seed % 3 == 2 ? 3 : 0;
  g_autofree TestNode *nodes = make_nodes (n_old + 1, (guint) seed, datacenters, datacenters);
  guint size = strategy == DK_RING_RANDOM_TOKENS ? 256 : 256 * 64;
  g_autoptr(DkRing) before = build_ring (strategy, size, nodes, join ? n_old : n_old + 1, NULL);
  g_autoptr(DkRing) after = dk_ring_copy (before);
  DkNodeId changed;
  if (join)
    {
      changed = nodes[n_old].node.id;
      ck_assert (dk_ring_add_node (after, &nodes[n_old].node, NULL));
    }
  else
    {
      changed = nodes[g_rand_int_range (rand, 0, (gint32) n_old + 1)].node.id;
      ck_assert (dk_ring_remove_node (after, changed, NULL));
    }

  for (guint n = 1; n <= 3; n++)
    {
      if (n > 1 && strategy == DK_RING_EQUAL_PARTITIONS && datacenters > 0)
        continue;
      double collateral = assert_moves_only_for (before, after, changed, join, n);
      double allowed = strategy == DK_RING_RANDOM_TOKENS || n == 1 ? 0.0 : 0.01;
      ck_assert_msg (collateral <= allowed, "seed %d n %u: %.5f of the ring moved between old nodes",
                     seed, n, collateral);
    }

  /* What moves as primary is the changing node's share, about 1/(nodes+1). */
  g_autoptr(GArray) primary_changes = dk_ring_diff (before, after, 1);
  double moved = moved_fraction (primary_changes), fair = 1.0 / (n_old + 1);
  double share = dk_ring_owned_fraction (join ? after : before, changed);
  ck_assert_double_eq_tol (moved, share, 1e-9);
  double tolerance = strategy == DK_RING_RANDOM_TOKENS ? 0.30 : 0.02;
  ck_assert_msg (moved > fair * (1 - tolerance) && moved < fair * (1 + tolerance),
                 "%s of node %u moved %.4f, fair share %.4f", join ? "join" : "leave",
                 changed, moved, fair);
}

START_TEST (ring_join_moves_only_new_owners_ranges)
{
  int seeds = dk_test_iterations (24);
  for (int seed = 0; seed < seeds; seed++)
    check_membership_change (seed, TRUE);
}
END_TEST

START_TEST (ring_leave_moves_only_leavers_ranges)
{
  int seeds = dk_test_iterations (24);
  for (int seed = 0; seed < seeds; seed++)
    check_membership_change (seed, FALSE);
}
END_TEST

START_TEST (ring_diff_of_equal_rings_is_empty_and_from_empty_covers_all)
{
  g_autofree TestNode *nodes = make_nodes (10, 3, 0, 0);
  g_autoptr(DkRing) ring = build_ring (DK_RING_RANDOM_TOKENS, 16, nodes, 10, NULL);
  g_autoptr(DkRing) copy = dk_ring_copy (ring);
  g_autoptr(GArray) none = dk_ring_diff (ring, copy, 3);
  ck_assert_uint_eq (none->len, 0);

  g_autoptr(DkRing) empty = dk_ring_new_random_tokens (16);
  g_autoptr(GArray) all = dk_ring_diff (empty, ring, 3);
  ck_assert_double_eq_tol (moved_fraction (all), 1.0, 1e-9);
  for (guint i = 0; i < all->len; i++)
    {
      const DkRingRangeChange *c = &g_array_index (all, DkRingRangeChange, i);
      ck_assert_uint_eq (c->n_before, 0);
      ck_assert_uint_eq (c->n_after, 3);
    }
}
END_TEST

/* ---- ranges ------------------------------------------------------------- */

START_TEST (ring_ranges_tile_the_token_space)
{
  int seeds = dk_test_iterations (20);
  for (int seed = 0; seed < seeds; seed++)
    {
      DkRingStrategy strategy = strategy_for_seed (seed);
      guint n_nodes = 1 + (guint) seed % 9;
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, 0, 0);
      g_autoptr(DkRing) ring = build_ring (strategy, strategy == DK_RING_RANDOM_TOKENS ? 8 : 7 + seed,
                                           nodes, n_nodes, NULL);
      guint count = dk_ring_range_count (ring);
      double total = 0;
      for (guint i = 0; i < count; i++)
        {
          DkTokenRange range = dk_ring_range_at (ring, i);
          DkTokenRange previous = dk_ring_range_at (ring, (i + count - 1) % count);
          ck_assert_uint_eq (range.lo, previous.hi);
          ck_assert_uint_eq (dk_ring_range_index (ring, range.hi), i);
          ck_assert_uint_eq (dk_ring_range_index (ring, range.lo + 1), i);
          ck_assert (dk_token_range_contains (&range, range.hi));
          ck_assert (!dk_token_range_contains (&range, range.lo) || count == 1);
          total += dk_token_range_fraction (&range);
        }
      ck_assert_double_eq_tol (total, 1.0, 1e-9);
      DkTokenRange first = dk_ring_range_at (ring, 0);
      ck_assert (dk_token_range_contains (&first, 0));
    }
}
END_TEST

/* Partition p is [floor (p * 2^64 / Q), floor ((p + 1) * 2^64 / Q)). */
START_TEST (ring_partitions_cut_the_space_into_equal_parts)
{
  static const guint counts[] = { 1, 2, 3, 7, 1000, 25600, 1000003 };
  for (gsize c = 0; c < G_N_ELEMENTS (counts); c++)
    {
      guint q = counts[c];
      g_autoptr(DkRing) ring = dk_ring_new_equal_partitions (q);
      ck_assert_uint_eq (dk_ring_range_count (ring), q);
      ck_assert_uint_eq (dk_ring_partition_count (ring), q);
      ck_assert_uint_eq (dk_ring_range_at (ring, q - 1).hi, G_MAXUINT64);
      if (q == 1)
        continue;
      ck_assert_uint_eq (dk_ring_range_at (ring, 0).lo, G_MAXUINT64);
      guint64 width = G_MAXUINT64 / q;
      for (guint p = 1; p < q; p += 1 + q / 50)
        {
          DkTokenRange range = dk_ring_range_at (ring, p);
          guint64 range_width = range.hi - range.lo;
          ck_assert (range_width == width || range_width == width + 1);
        }
      /* The token at 1/2 of the space falls in partition floor (Q / 2). */
      ck_assert_uint_eq (dk_ring_range_index (ring, G_GUINT64_CONSTANT (1) << 63), q / 2);
    }
}
END_TEST

START_TEST (ring_node_ranges_are_where_it_is_a_replica)
{
  int seeds = dk_test_iterations (10);
  for (int seed = 0; seed < seeds; seed++)
    {
      DkRingStrategy strategy = strategy_for_seed (seed);
      g_autofree TestNode *nodes = make_nodes (8, (guint) seed, 2, 0);
      g_autoptr(DkRing) ring = build_ring (strategy, strategy == DK_RING_RANDOM_TOKENS ? 32 : 256,
                                           nodes, 8, NULL);
      DkNodeId id = nodes[seed % 8].node.id;
      for (guint n = 1; n <= 3; n++)
        {
          g_autoptr(GArray) mine = dk_ring_node_ranges (ring, id, n);
          guint expected = 0;
          double share = 0;
          for (guint i = 0; i < dk_ring_range_count (ring); i++)
            {
              DkTokenRange range = dk_ring_range_at (ring, i);
              DkNodeId list[3];
              guint count = dk_ring_preference_list (ring, range.hi, n, list);
              if (!contains_id (list, count, id))
                continue;
              ck_assert_uint_lt (expected, mine->len);
              DkTokenRange got = g_array_index (mine, DkTokenRange, expected);
              ck_assert (got.lo == range.lo && got.hi == range.hi);
              expected++;
              share += dk_token_range_fraction (&range);
            }
          ck_assert_uint_eq (mine->len, expected);
          if (n == 1)
            ck_assert_double_eq_tol (share, dk_ring_owned_fraction (ring, id), 1e-9);
        }
      g_autoptr(GArray) stranger = dk_ring_node_ranges (ring, 999, 3);
      ck_assert_uint_eq (stranger->len, 0);
    }
}
END_TEST

/* ---- determinism, tables and errors ------------------------------------- */

START_TEST (ring_same_membership_in_any_order_builds_identical_rings)
{
  int seeds = dk_test_iterations (10);
  for (int seed = 0; seed < seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + 600);
      guint n_nodes = (guint) g_rand_int_range (rand, 2, 40);
      g_autofree TestNode *nodes = make_nodes (n_nodes, (guint) seed, 2, 2);
      g_autofree guint *order = shuffled_order (rand, n_nodes);

      /* Random tokens: one at a time in two different orders. */
      g_autoptr(DkRing) forward = dk_ring_new_random_tokens (64);
      g_autoptr(DkRing) shuffled = dk_ring_new_random_tokens (64);
      for (guint i = 0; i < n_nodes; i++)
        {
          ck_assert (dk_ring_add_node (forward, &nodes[i].node, NULL));
          ck_assert (dk_ring_add_node (shuffled, &nodes[order[i]].node, NULL));
        }
      ck_assert (dk_ring_equal (forward, shuffled));

      /* Equal partitions: one batch listed in two different orders. */
      g_autoptr(DkRing) batch = build_ring (DK_RING_EQUAL_PARTITIONS, 997, nodes, n_nodes, NULL);
      g_autoptr(DkRing) batch_shuffled = build_ring (DK_RING_EQUAL_PARTITIONS, 997, nodes,
                                                     n_nodes, order);
      ck_assert (dk_ring_equal (batch, batch_shuffled));

      /* And equality can fail: one node fewer is a different ring. */
      ck_assert (dk_ring_remove_node (shuffled, nodes[order[0]].node.id, NULL));
      ck_assert (!dk_ring_equal (forward, shuffled));
      ck_assert (dk_ring_remove_node (batch_shuffled, nodes[order[0]].node.id, NULL));
      ck_assert (!dk_ring_equal (batch, batch_shuffled));
    }
}
END_TEST

START_TEST (ring_partition_table_round_trips_and_rejects_bad_tables)
{
  g_autofree TestNode *nodes = make_nodes (5, 9, 0, 0);
  g_autoptr(DkRing) ring = build_ring (DK_RING_EQUAL_PARTITIONS, 64, nodes, 5, NULL);
  /* A ring that learns the table by gossip instead of computing it. */
  g_autoptr(DkRing) learner = dk_ring_new_equal_partitions (64);
  for (guint i = 0; i < 5; i++)
    ck_assert (dk_ring_add_node (learner, &nodes[4 - i].node, NULL));
  guint q = 0;
  const DkNodeId *owners = dk_ring_partition_owners (ring, &q);
  ck_assert_uint_eq (q, 64);
  g_autofree DkNodeId *table = g_memdup2 (owners, sizeof (DkNodeId) * q);
  ck_assert (dk_ring_set_partition_owners (learner, table, q, NULL));
  ck_assert (dk_ring_equal (ring, learner));

  g_autoptr(GError) error = NULL;
  ck_assert (!dk_ring_set_partition_owners (learner, table, q - 1, &error));
  ck_assert (g_error_matches (error, DK_RING_ERROR, DK_RING_ERROR_INVALID));
  g_clear_error (&error);
  table[3] = 77;
  ck_assert (!dk_ring_set_partition_owners (learner, table, q, &error));
  ck_assert_msg (strstr (error->message, "77") != NULL, "%s", error->message);
  ck_assert (dk_ring_equal (ring, learner));
  g_clear_error (&error);
  g_autoptr(DkRing) random = dk_ring_new_random_tokens (4);
  ck_assert (!dk_ring_set_partition_owners (random, table, q, &error));
  ck_assert_uint_eq (dk_ring_partition_count (random), 0);
}
END_TEST

START_TEST (ring_rejects_bad_nodes_and_stays_unchanged)
{
  g_autofree TestNode *nodes = make_nodes (3, 4, 0, 0);
  g_autoptr(DkRing) ring = build_ring (DK_RING_RANDOM_TOKENS, 8, nodes, 2, NULL);
  g_autoptr(DkRing) original = dk_ring_copy (ring);
  g_autoptr(GError) error = NULL;
  DkRingNode bad[] = {
    { 0, "zero", NULL, NULL, 1 },
    { 9, "", NULL, NULL, 1 },
    { 1, "another", NULL, NULL, 1 },                 /* id taken */
    { 9, nodes[0].name, NULL, NULL, 1 },             /* name taken */
    { 9, "heavy", NULL, NULL, DK_RING_MAX_WEIGHT + 1 },
    { 9, "newline", "dc\n1", NULL, 1 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      ck_assert_msg (!dk_ring_add_node (ring, &bad[i], &error), "bad node %zu accepted", i);
      ck_assert (error != NULL && error->domain == DK_RING_ERROR);
      g_clear_error (&error);
    }
  /* A batch with one bad node adds none of them. */
  DkRingNode batch[] = { nodes[2].node, { 10, nodes[2].name, NULL, NULL, 1 } };
  ck_assert (!dk_ring_add_nodes (ring, batch, 2, &error));
  ck_assert (g_error_matches (error, DK_RING_ERROR, DK_RING_ERROR_DUPLICATE));
  g_clear_error (&error);
  ck_assert (!dk_ring_remove_node (ring, 42, &error));
  ck_assert (g_error_matches (error, DK_RING_ERROR, DK_RING_ERROR_UNKNOWN_NODE));
  ck_assert (dk_ring_equal (ring, original));
  ck_assert (!dk_ring_set_node_up (ring, 42, FALSE));
}
END_TEST

START_TEST (ring_empty_and_tiny_rings_answer_sensibly)
{
  for (int s = 0; s < 2; s++)
    {
      g_autoptr(DkRing) ring = new_ring (s == 0 ? DK_RING_RANDOM_TOKENS : DK_RING_EQUAL_PARTITIONS, 4);
      DkNodeId list[3];
      DkRingReplica sloppy[3];
      ck_assert_uint_eq (dk_ring_primary (ring, 5), DK_NODE_NONE);
      ck_assert_uint_eq (dk_ring_preference_list (ring, 5, 3, list), 0);
      ck_assert_uint_eq (dk_ring_sloppy_preference_list (ring, 5, 3, sloppy), 0);

      DkRingNode only = { 3, "only", NULL, NULL, 1 };
      ck_assert (dk_ring_add_node (ring, &only, NULL));
      ck_assert_uint_eq (dk_ring_preference_list (ring, 5, 3, list), 1);
      ck_assert_uint_eq (list[0], 3);
      ck_assert_double_eq_tol (dk_ring_owned_fraction (ring, 3), 1.0, 1e-12);
      dk_ring_set_node_up (ring, 3, FALSE);
      ck_assert_uint_eq (dk_ring_sloppy_preference_list (ring, 5, 3, sloppy), 0);

      ck_assert (dk_ring_remove_node (ring, 3, NULL));
      ck_assert_uint_eq (dk_ring_node_count (ring), 0);
      ck_assert_uint_eq (dk_ring_primary (ring, 5), DK_NODE_NONE);
      ck_assert_uint_eq (dk_ring_key_token ("user:42", 7), G_GUINT64_CONSTANT (0x297055412c68d5b8));
    }
}
END_TEST

Suite *
ring_suite (void)
{
  Suite *suite = suite_create ("ring");
  TCase *lists = tcase_create ("preference_lists");
  tcase_add_test (lists, ring_preference_list_has_n_distinct_nodes);
  tcase_add_test (lists, ring_preference_list_is_first_n_distinct_nodes_clockwise);
  tcase_add_test (lists, ring_preference_list_spans_min_n_datacenters_then_racks);
  tcase_add_test (lists, ring_sloppy_list_skips_down_nodes_and_names_intended_owners);
  tcase_add_test (lists, ring_sloppy_list_equals_preference_list_when_all_up);
  tcase_add_test (lists, ring_sloppy_list_survives_a_datacenter_outage);
  tcase_add_test (lists, ring_sloppy_list_by_predicate_is_the_marked_list);
  tcase_add_test (lists, ring_empty_and_tiny_rings_answer_sensibly);
  suite_add_tcase (suite, lists);

  TCase *placement = tcase_create ("placement");
  dk_tcase_no_wall_limit (placement);
  tcase_add_test (placement, ring_random_tokens_balance_within_1_25_at_100_nodes);
  tcase_add_test (placement, ring_equal_partitions_balance_within_1_05_at_100_nodes);
  tcase_add_test (placement, ring_double_weight_owns_double);
  tcase_add_test (placement, ring_join_moves_only_new_owners_ranges);
  tcase_add_test (placement, ring_leave_moves_only_leavers_ranges);
  tcase_add_test (placement, ring_diff_of_equal_rings_is_empty_and_from_empty_covers_all);
  suite_add_tcase (suite, placement);

  TCase *ranges = tcase_create ("ranges");
  tcase_add_test (ranges, ring_ranges_tile_the_token_space);
  tcase_add_test (ranges, ring_partitions_cut_the_space_into_equal_parts);
  tcase_add_test (ranges, ring_node_ranges_are_where_it_is_a_replica);
  suite_add_tcase (suite, ranges);

  TCase *state = tcase_create ("state");
  tcase_add_test (state, ring_same_membership_in_any_order_builds_identical_rings);
  tcase_add_test (state, ring_partition_table_round_trips_and_rejects_bad_tables);
  tcase_add_test (state, ring_rejects_bad_nodes_and_stays_unchanged);
  suite_add_tcase (suite, state);
  return suite;
}
