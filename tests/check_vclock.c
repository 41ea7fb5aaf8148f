/* check_vclock.c — vector clock laws, the codec's bounds, pruning, and
 * sibling reconciliation converging regardless of arrival order.
 *
 * Property tests run one case per seed (seed = case number), so a failure
 * message naming the seed replays exactly. */
#include <string.h>
#include "suites.h"
#include "vclock.h"

/* ---- helpers ------------------------------------------------------------ */

/* A clock over nodes 1..MAX_NODES (each present with probability 1/2),
 * counters 1..MAX_COUNTER.  Node N's K-th increment is stamped N*1000+K,
 * so equal counters imply equal timestamps, as with a real node's clock. */
static DkVclock *
random_clock (GRand *rand, guint max_nodes, guint max_counter)
{
  DkVclock *clock = dk_vclock_new ();
  for (DkNodeId node = 1; node <= max_nodes; node++)
    if (g_rand_boolean (rand))
      {
        guint counter = (guint) g_rand_int_range (rand, 1, (gint32) max_counter + 1);
        for (guint k = 1; k <= counter; k++)
          dk_vclock_increment (clock, node, (gint64) node * 1000 + k);
      }
  return clock;
}

static void
append_be (GByteArray *out, guint64 value, guint bytes)
{
  for (guint i = 0; i < bytes; i++)
    {
      guint8 byte = (guint8) (value >> (8 * (bytes - 1 - i)));
      g_byte_array_append (out, &byte, 1);
    }
}

/* Hand-encode N entries in the documented wire format (no validation), so
 * tests can build clocks and invalid inputs the API cannot produce. */
static GByteArray *
encode_entries (const DkVclockEntry *entries, guint n)
{
  GByteArray *out = g_byte_array_new ();
  append_be (out, n, 2);
  for (guint i = 0; i < n; i++)
    {
      append_be (out, entries[i].node, 4);
      append_be (out, entries[i].counter, 8);
      append_be (out, (guint64) entries[i].timestamp_us, 8);
    }
  return out;
}

static DkVclock *
clock_from_entries (const DkVclockEntry *entries, guint n)
{
  g_autoptr (GByteArray) bytes = encode_entries (entries, n);
  g_autoptr (GError) error = NULL;
  DkVclock *clock = NULL;
  gboolean ok = dk_vclock_decode (bytes->data, bytes->len, NULL, &clock, &error);
  ck_assert_msg (ok, "decode of hand-built clock failed: %s", error ? error->message : "?");
  return clock;
}

static GByteArray *
encode_clock (const DkVclock *clock)
{
  GByteArray *out = g_byte_array_new ();
  dk_vclock_encode (clock, out);
  return out;
}

/* Equal counters and equal timestamps. */
static gboolean
identical_clocks (const DkVclock *a, const DkVclock *b)
{
  g_autoptr (GByteArray) bytes_a = encode_clock (a);
  g_autoptr (GByteArray) bytes_b = encode_clock (b);
  return bytes_a->len == bytes_b->len && memcmp (bytes_a->data, bytes_b->data, bytes_a->len) == 0;
}

static DkVclock *
merged (const DkVclock *a, const DkVclock *b)
{
  DkVclock *result = dk_vclock_copy (a);
  dk_vclock_merge (result, b);
  return result;
}

static void
assert_sorted_and_positive (const DkVclock *clock)
{
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (clock, &n);
  ck_assert_uint_eq (n, dk_vclock_size (clock));
  for (guint i = 0; i < n; i++)
    {
      ck_assert_uint_ne (entries[i].node, DK_NODE_NONE);
      ck_assert_uint_ge (entries[i].counter, 1);
      if (i > 0)
        ck_assert_uint_lt (entries[i - 1].node, entries[i].node);
    }
}

static DkVersion *
version_of (DkVclock *clock, const char *value)
{
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));
  return dk_version_new (clock, bytes, FALSE);
}

/* A version over nodes 1..4 with a value from a pool of three, or (one in
 * eight) a tombstone; small pools make dominance and ties common. */
static DkVersion *
random_version (GRand *rand)
{
  static const char *const values[] = { "apple", "banana", "cherry" };
  DkVclock *clock = random_clock (rand, 4, 3);
  if (g_rand_int_range (rand, 0, 8) == 0)
    return dk_version_new (clock, NULL, TRUE);
  return version_of (clock, values[g_rand_int_range (rand, 0, G_N_ELEMENTS (values))]);
}

/* Digests of the one-version sets {A} and {B} match. */
static gboolean
digests_of_singletons_match (const DkVersion *a, const DkVersion *b)
{
  g_autoptr (GPtrArray) set_a = dk_siblings_new (), set_b = dk_siblings_new ();
  dk_siblings_add (set_a, dk_version_copy (a));
  dk_siblings_add (set_b, dk_version_copy (b));
  return dk_siblings_digest (set_a) == dk_siblings_digest (set_b);
}

static void
shuffle (GRand *rand, GPtrArray *items)
{
  for (guint i = items->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      gpointer swap = items->pdata[i - 1];
      items->pdata[i - 1] = items->pdata[j];
      items->pdata[j] = swap;
    }
}

static GPtrArray *
siblings_from (GPtrArray *versions)
{
  GPtrArray *siblings = dk_siblings_new ();
  for (guint i = 0; i < versions->len; i++)
    dk_siblings_add (siblings, dk_version_copy (g_ptr_array_index (versions, i)));
  return siblings;
}

static void
assert_reconciled (const GPtrArray *siblings, int seed)
{
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *a = g_ptr_array_index (siblings, i);
      if (i > 0)
        ck_assert_msg (dk_version_compare (g_ptr_array_index (siblings, i - 1), a) < 0,
                       "seed %d: siblings %u and %u out of canonical order", seed, i - 1, i);
      for (guint j = 0; j < siblings->len; j++)
        {
          const DkVersion *b = g_ptr_array_index (siblings, j);
          ck_assert_msg (i == j || !dk_vclock_descends (a->clock, b->clock),
                         "seed %d: sibling %u dominates sibling %u", seed, i, j);
        }
    }
}

/* ---- clock examples ------------------------------------------------------ */

START_TEST (vclock_new_is_empty_and_every_clock_descends_from_it)
{
  g_autoptr (DkVclock) empty = dk_vclock_new ();
  g_autoptr (DkVclock) other = dk_vclock_new ();
  g_autofree char *text = dk_vclock_to_string (empty);
  ck_assert_uint_eq (dk_vclock_size (empty), 0);
  ck_assert_str_eq (text, "{}");
  ck_assert_int_eq (dk_vclock_compare (empty, other), DK_VCLOCK_EQUAL);
  dk_vclock_increment (other, 7, 1);
  ck_assert (dk_vclock_descends (other, empty));
  ck_assert (!dk_vclock_descends (empty, other));
  ck_assert_int_eq (dk_vclock_compare (empty, other), DK_VCLOCK_BEFORE);
}
END_TEST

START_TEST (vclock_increment_creates_then_counts_up_in_node_order)
{
  g_autoptr (DkVclock) clock = dk_vclock_new ();
  dk_vclock_increment (clock, 4, 100);
  dk_vclock_increment (clock, 1, 200);
  dk_vclock_increment (clock, 4, 300);
  g_autofree char *text = dk_vclock_to_string (clock);
  ck_assert_str_eq (text, "{1:1, 4:2}");
  ck_assert_uint_eq (dk_vclock_get (clock, 4), 2);
  ck_assert_uint_eq (dk_vclock_get (clock, 9), 0);
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (clock, &n);
  ck_assert_uint_eq (n, 2);
  ck_assert_int_eq (entries[1].timestamp_us, 300); /* stamped by the latest increment */
}
END_TEST

START_TEST (vclock_compare_examples)
{
  const DkVclockEntry one_1[] = { { 1, 1, 0 } };
  const DkVclockEntry one_2[] = { { 1, 2, 0 } };
  const DkVclockEntry two_1[] = { { 2, 1, 0 } };
  const DkVclockEntry one_2_two_1[] = { { 1, 2, 0 }, { 2, 1, 0 } };
  g_autoptr (DkVclock) a = clock_from_entries (one_1, 1);
  g_autoptr (DkVclock) b = clock_from_entries (one_2, 1);
  g_autoptr (DkVclock) c = clock_from_entries (two_1, 1);
  g_autoptr (DkVclock) d = clock_from_entries (one_2_two_1, 2);
  ck_assert_int_eq (dk_vclock_compare (a, b), DK_VCLOCK_BEFORE);
  ck_assert_int_eq (dk_vclock_compare (b, a), DK_VCLOCK_AFTER);
  ck_assert_int_eq (dk_vclock_compare (b, c), DK_VCLOCK_CONCURRENT);
  ck_assert_int_eq (dk_vclock_compare (d, b), DK_VCLOCK_AFTER);
  ck_assert_int_eq (dk_vclock_compare (d, c), DK_VCLOCK_AFTER);
  g_autoptr (DkVclock) b_merge_c = merged (b, c);
  ck_assert_int_eq (dk_vclock_compare (b_merge_c, d), DK_VCLOCK_EQUAL);
}
END_TEST

/* Documented example of the wire format: {1:3} stamped 5 us. */
START_TEST (vclock_encodes_to_documented_bytes)
{
  static const guint8 expected[] = {
    0x00, 0x01,                                     /* one entry */
    0x00, 0x00, 0x00, 0x01,                         /* node 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* counter 3 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* timestamp 5 */
  };
  g_autoptr (DkVclock) clock = dk_vclock_new ();
  dk_vclock_increment (clock, 1, 1);
  dk_vclock_increment (clock, 1, 2);
  dk_vclock_increment (clock, 1, 5);
  g_autoptr (GByteArray) bytes = encode_clock (clock);
  ck_assert_uint_eq (bytes->len, sizeof expected);
  ck_assert_uint_eq (dk_vclock_encoded_size (clock), sizeof expected);
  ck_assert_mem_eq (bytes->data, expected, sizeof expected);
}
END_TEST

START_TEST (vclock_prune_breaks_timestamp_ties_by_smaller_node)
{
  const DkVclockEntry entries[] = { { 1, 4, 50 }, { 2, 1, 50 }, { 3, 2, 90 }, { 5, 7, 10 } };
  g_autoptr (DkVclock) clock = clock_from_entries (entries, G_N_ELEMENTS (entries));
  ck_assert_uint_eq (dk_vclock_prune (clock, 2), 2); /* node 5 (oldest), then node 1 */
  g_autofree char *text = dk_vclock_to_string (clock);
  ck_assert_str_eq (text, "{2:1, 3:2}");
  ck_assert_uint_eq (dk_vclock_prune (clock, 2), 0);
}
END_TEST

/* ---- clock properties ----------------------------------------------------- */

START_TEST (vclock_merge_is_commutative)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) b = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) ab = merged (a, b);
      g_autoptr (DkVclock) ba = merged (b, a);
      ck_assert_msg (identical_clocks (ab, ba), "seed %d", seed);
      assert_sorted_and_positive (ab);
    }
}
END_TEST

START_TEST (vclock_merge_is_associative)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) b = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) c = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) ab = merged (a, b);
      g_autoptr (DkVclock) ab_c = merged (ab, c);
      g_autoptr (DkVclock) bc = merged (b, c);
      g_autoptr (DkVclock) a_bc = merged (a, bc);
      ck_assert_msg (identical_clocks (ab_c, a_bc), "seed %d", seed);
    }
}
END_TEST

START_TEST (vclock_merge_is_idempotent)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) b = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) aa = merged (a, a);
      ck_assert_msg (identical_clocks (aa, a), "seed %d", seed);
      g_autoptr (DkVclock) ab = merged (a, b);
      g_autoptr (DkVclock) ab_b = merged (ab, b);
      ck_assert_msg (identical_clocks (ab_b, ab), "seed %d", seed);
      dk_vclock_merge (a, a); /* aliasing is allowed */
      ck_assert_msg (identical_clocks (aa, a), "seed %d", seed);
    }
}
END_TEST

/* The merge descends from both inputs, and lowering any one of its
 * counters (dropping the entry at 1) makes it miss one of them: it is the
 * least upper bound.  Any clock descending from both descends from it. */
START_TEST (vclock_merge_is_least_upper_bound)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) b = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) lub = merged (a, b);
      ck_assert_msg (dk_vclock_descends (lub, a) && dk_vclock_descends (lub, b), "seed %d", seed);

      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (lub, &n);
      for (guint i = 0; i < n; i++)
        {
          g_autofree DkVclockEntry *lowered = g_memdup2 (entries, n * sizeof *entries);
          guint lowered_n = n;
          if (--lowered[i].counter == 0)
            {
              memmove (&lowered[i], &lowered[i + 1], (n - i - 1) * sizeof *entries);
              lowered_n--;
            }
          g_autoptr (DkVclock) below = clock_from_entries (lowered, lowered_n);
          ck_assert_msg (!(dk_vclock_descends (below, a) && dk_vclock_descends (below, b)),
                         "seed %d: lowering node %u still bounds both", seed, entries[i].node);
        }

      g_autoptr (DkVclock) above = dk_vclock_copy (lub);
      for (int k = g_rand_int_range (rand, 0, 4); k > 0; k--)
        dk_vclock_increment (above, (DkNodeId) g_rand_int_range (rand, 1, 9), 1);
      ck_assert_msg (dk_vclock_descends (above, lub), "seed %d", seed);

      g_autoptr (DkVclock) unrelated = random_clock (rand, 6, 4);
      if (dk_vclock_descends (unrelated, a) && dk_vclock_descends (unrelated, b))
        ck_assert_msg (dk_vclock_descends (unrelated, lub), "seed %d", seed);
    }
}
END_TEST

/* Per node the merge keeps the later timestamp, so pruning after a merge
 * still sees the most recent activity. */
START_TEST (vclock_merge_keeps_larger_counter_and_later_timestamp)
{
  for (int seed = 0; seed < dk_test_iterations (500); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) b = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) ab = merged (a, b);
      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (ab, &n);
      for (guint i = 0; i < n; i++)
        {
          DkNodeId node = entries[i].node;
          ck_assert_uint_eq (entries[i].counter, MAX (dk_vclock_get (a, node), dk_vclock_get (b, node)));
          ck_assert_int_eq (entries[i].timestamp_us, (gint64) node * 1000 + (gint64) entries[i].counter);
        }
    }
}
END_TEST

/* Small pools (3 nodes, counters 1..2) so that related triples are common;
 * the premise counters make sure the laws were actually exercised. */
START_TEST (vclock_descends_is_a_partial_order)
{
  int antisymmetric_premises = 0, transitive_premises = 0;
  for (int seed = 0; seed < dk_test_iterations (2000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 3, 2);
      g_autoptr (DkVclock) b = random_clock (rand, 3, 2);
      g_autoptr (DkVclock) c = random_clock (rand, 3, 2);
      ck_assert_msg (dk_vclock_descends (a, a), "seed %d: not reflexive", seed);
      if (dk_vclock_descends (a, b) && dk_vclock_descends (b, a))
        {
          antisymmetric_premises++;
          ck_assert_msg (dk_vclock_equal (a, b), "seed %d: not antisymmetric", seed);
        }
      if (dk_vclock_descends (a, b) && dk_vclock_descends (b, c))
        {
          transitive_premises++;
          ck_assert_msg (dk_vclock_descends (a, c), "seed %d: not transitive", seed);
        }
    }
  ck_assert_int_gt (antisymmetric_premises, 0);
  ck_assert_int_gt (transitive_premises, 0);
}
END_TEST

START_TEST (vclock_compare_agrees_with_descends_both_ways)
{
  int seen[4] = { 0 };
  for (int seed = 0; seed < dk_test_iterations (2000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) a = random_clock (rand, 3, 2);
      g_autoptr (DkVclock) b = random_clock (rand, 3, 2);
      gboolean a_descends = dk_vclock_descends (a, b), b_descends = dk_vclock_descends (b, a);
      DkVclockOrder expected = a_descends && b_descends ? DK_VCLOCK_EQUAL
                             : a_descends ? DK_VCLOCK_AFTER
                             : b_descends ? DK_VCLOCK_BEFORE
                             : DK_VCLOCK_CONCURRENT;
      DkVclockOrder mirrored = expected == DK_VCLOCK_AFTER ? DK_VCLOCK_BEFORE
                             : expected == DK_VCLOCK_BEFORE ? DK_VCLOCK_AFTER
                             : expected;
      ck_assert_msg (dk_vclock_compare (a, b) == expected, "seed %d", seed);
      ck_assert_msg (dk_vclock_compare (b, a) == mirrored, "seed %d", seed);
      ck_assert_msg (dk_vclock_equal (a, b) == (expected == DK_VCLOCK_EQUAL), "seed %d", seed);
      seen[expected]++;
    }
  for (int order = 0; order < 4; order++)
    ck_assert_msg (seen[order] > 0, "order %d never generated", order);
}
END_TEST

START_TEST (vclock_increment_moves_strictly_after_and_touches_one_node)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) before = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) after = dk_vclock_copy (before);
      DkNodeId node = (DkNodeId) g_rand_int_range (rand, 1, 9);
      dk_vclock_increment (after, node, 42);
      ck_assert_msg (dk_vclock_compare (after, before) == DK_VCLOCK_AFTER, "seed %d", seed);
      for (DkNodeId other = 1; other <= 8; other++)
        ck_assert_uint_eq (dk_vclock_get (after, other),
                           dk_vclock_get (before, other) + (other == node ? 1 : 0));
      assert_sorted_and_positive (after);
    }
}
END_TEST

/* increment_past lands one past max (own counter, floor) and touches
 * nothing else, so a coordinator never reissues a counter. */
START_TEST (vclock_increment_past_skips_counters_already_issued)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) before = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) after = dk_vclock_copy (before);
      DkNodeId node = (DkNodeId) g_rand_int_range (rand, 1, 9);
      guint64 floor = (guint64) g_rand_int_range (rand, 0, 8);
      dk_vclock_increment_past (after, node, floor, 42);
      ck_assert_msg (dk_vclock_compare (after, before) == DK_VCLOCK_AFTER, "seed %d", seed);
      for (DkNodeId other = 1; other <= 8; other++)
        {
          guint64 expected = other == node ? MAX (dk_vclock_get (before, other), floor) + 1
                                           : dk_vclock_get (before, other);
          ck_assert_uint_eq (dk_vclock_get (after, other), expected);
        }
      assert_sorted_and_positive (after);
    }
}
END_TEST

/* Random increments and merges over a wide node range keep the entries
 * sorted, unique and positive. */
START_TEST (vclock_entries_stay_sorted_by_node)
{
  for (int seed = 0; seed < dk_test_iterations (200); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock = dk_vclock_new ();
      for (int step = 0; step < 40; step++)
        {
          if (g_rand_int_range (rand, 0, 4) == 0)
            {
              g_autoptr (DkVclock) other = random_clock (rand, 12, 3);
              dk_vclock_merge (clock, other);
            }
          else
            dk_vclock_increment (clock, (DkNodeId) g_rand_int_range (rand, 1, 1000), step);
          assert_sorted_and_positive (clock);
        }
    }
}
END_TEST

/* ---- codec ---------------------------------------------------------------- */

START_TEST (vclock_encode_decode_round_trips)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock = dk_vclock_new ();
      for (int k = g_rand_int_range (rand, 0, 20); k > 0; k--)
        {
          gint64 any_time = (gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand));
          dk_vclock_increment (clock, g_rand_int (rand) | 1u, any_time);
        }
      g_autoptr (GByteArray) bytes = g_byte_array_new ();
      guint8 prefix = 0xAB;
      g_byte_array_append (bytes, &prefix, 1);
      dk_vclock_encode (clock, bytes);
      ck_assert_uint_eq (bytes->len, 1 + dk_vclock_encoded_size (clock));
      g_byte_array_append (bytes, (const guint8 *) "trailing", 8);

      g_autoptr (DkVclock) decoded = NULL;
      g_autoptr (GError) error = NULL;
      gsize consumed = 0;
      ck_assert_msg (dk_vclock_decode (bytes->data + 1, bytes->len - 1, &consumed, &decoded, &error),
                     "seed %d: %s", seed, error ? error->message : "");
      ck_assert_uint_eq (consumed, dk_vclock_encoded_size (clock));
      ck_assert_msg (identical_clocks (clock, decoded), "seed %d", seed);
    }
}
END_TEST

START_TEST (vclock_decode_rejects_every_truncation)
{
  for (int seed = 0; seed < dk_test_iterations (100); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock = random_clock (rand, 8, 5);
      g_autoptr (GByteArray) bytes = encode_clock (clock);
      for (guint len = 0; len < bytes->len; len++)
        {
          /* An exact-size heap copy, so an overread trips valgrind/ASan. */
          g_autofree guint8 *exact = len > 0 ? g_memdup2 (bytes->data, len) : NULL;
          g_autoptr (GError) error = NULL;
          DkVclock *decoded = NULL;
          ck_assert_msg (!dk_vclock_decode (exact, len, NULL, &decoded, &error),
                         "seed %d: %u of %u bytes decoded", seed, len, bytes->len);
          ck_assert (decoded == NULL);
          ck_assert_msg (g_error_matches (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TRUNCATED),
                         "seed %d len %u: %s", seed, len, error->message);
        }
    }
}
END_TEST

/* Random bytes, and valid encodings with a few bytes overwritten, either
 * fail with a DK_VCLOCK_ERROR or decode to a valid clock that re-encodes to
 * exactly the bytes consumed. */
START_TEST (vclock_decode_of_arbitrary_bytes_fails_cleanly_or_round_trips)
{
  int successes = 0, failures = 0;
  for (int seed = 0; seed < dk_test_iterations (3000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GByteArray) bytes = NULL;
      if (g_rand_boolean (rand))
        {
          g_autoptr (DkVclock) clock = random_clock (rand, 8, 3);
          bytes = encode_clock (clock);
          for (int k = g_rand_int_range (rand, 0, 3); k > 0; k--)
            bytes->data[g_rand_int_range (rand, 0, (gint32) bytes->len)] = (guint8) g_rand_int (rand);
        }
      else
        {
          bytes = g_byte_array_new ();
          for (int k = g_rand_int_range (rand, 0, 120); k > 0; k--)
            {
              guint8 byte = (guint8) g_rand_int (rand);
              g_byte_array_append (bytes, &byte, 1);
            }
          if (bytes->len >= 2 && g_rand_boolean (rand))
            {
              bytes->data[0] = 0; /* a small count, so entries get parsed */
              bytes->data[1] = (guint8) g_rand_int_range (rand, 0, 6);
            }
        }
      gsize len = bytes->len;
      g_autofree guint8 *exact = len > 0 ? g_memdup2 (bytes->data, len) : NULL;
      g_autoptr (DkVclock) decoded = NULL;
      g_autoptr (GError) error = NULL;
      gsize consumed = 0;
      if (dk_vclock_decode (exact, len, &consumed, &decoded, &error))
        {
          successes++;
          ck_assert_uint_le (consumed, len);
          assert_sorted_and_positive (decoded);
          g_autoptr (GByteArray) again = encode_clock (decoded);
          ck_assert_uint_eq (again->len, consumed);
          ck_assert_mem_eq (again->data, exact, consumed);
        }
      else
        {
          failures++;
          ck_assert (decoded == NULL);
          ck_assert (error != NULL && error->domain == DK_VCLOCK_ERROR && error->message[0] != '\0');
        }
    }
  ck_assert_int_gt (successes, 0);
  ck_assert_int_gt (failures, 0);
}
END_TEST

static void
assert_decode_refuses (const DkVclockEntry *entries, guint n, DkVclockError code, const char *reason)
{
  g_autoptr (GByteArray) bytes = encode_entries (entries, n);
  g_autoptr (GError) error = NULL;
  DkVclock *decoded = NULL;
  ck_assert (!dk_vclock_decode (bytes->data, bytes->len, NULL, &decoded, &error));
  ck_assert (decoded == NULL);
  ck_assert_msg (g_error_matches (error, DK_VCLOCK_ERROR, code), "%s", error->message);
  ck_assert_msg (strstr (error->message, reason) != NULL, "'%s' lacks '%s'", error->message, reason);
}

START_TEST (vclock_decode_rejects_node_zero_and_counter_zero)
{
  const DkVclockEntry node_zero[] = { { 0, 1, 0 } };
  const DkVclockEntry counter_zero[] = { { 1, 1, 0 }, { 3, 0, 0 } };
  assert_decode_refuses (node_zero, 1, DK_VCLOCK_ERROR_INVALID, "node 0");
  assert_decode_refuses (counter_zero, 2, DK_VCLOCK_ERROR_INVALID, "counter 0");
}
END_TEST

START_TEST (vclock_decode_rejects_unsorted_and_repeated_nodes)
{
  const DkVclockEntry unsorted[] = { { 1, 1, 0 }, { 5, 1, 0 }, { 4, 1, 0 } };
  const DkVclockEntry repeated[] = { { 2, 1, 0 }, { 2, 3, 0 } };
  assert_decode_refuses (unsorted, 3, DK_VCLOCK_ERROR_INVALID, "follows node 5");
  assert_decode_refuses (repeated, 2, DK_VCLOCK_ERROR_INVALID, "repeats node 2");
}
END_TEST

START_TEST (vclock_decode_accepts_max_entries_and_rejects_one_more)
{
  DkVclockEntry entries[DK_VCLOCK_MAX_ENTRIES + 1];
  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    entries[i] = (DkVclockEntry) { i + 1, 1, 0 };
  g_autoptr (DkVclock) largest = clock_from_entries (entries, DK_VCLOCK_MAX_ENTRIES);
  ck_assert_uint_eq (dk_vclock_size (largest), DK_VCLOCK_MAX_ENTRIES);
  assert_decode_refuses (entries, DK_VCLOCK_MAX_ENTRIES + 1, DK_VCLOCK_ERROR_TOO_LARGE, "at most");

  /* A huge count is refused as too large even when the bytes are missing. */
  static const guint8 huge_count[] = { 0xFF, 0xFF };
  g_autoptr (GError) error = NULL;
  DkVclock *decoded = NULL;
  ck_assert (!dk_vclock_decode (huge_count, sizeof huge_count, NULL, &decoded, &error));
  ck_assert (g_error_matches (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TOO_LARGE));
}
END_TEST

/* ---- pruning -------------------------------------------------------------- */

static int
compare_entries_by_age (gconstpointer a, gconstpointer b)
{
  const DkVclockEntry *x = a, *y = b;
  if (x->timestamp_us != y->timestamp_us)
    return x->timestamp_us < y->timestamp_us ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

/* Pruning keeps exactly the MAX newest entries (by timestamp, then node),
 * with their counters untouched, so the pruned clock is descended from by
 * the original: it never claims more than was seen. */
START_TEST (vclock_prune_keeps_newest_entries_and_never_raises_counters)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) original = dk_vclock_new ();
      for (int k = g_rand_int_range (rand, 0, 40); k > 0; k--)
        dk_vclock_increment (original, (DkNodeId) g_rand_int_range (rand, 1, 30),
                             g_rand_int_range (rand, 0, 20)); /* ties are common */
      guint max_entries = (guint) g_rand_int_range (rand, 0, 16);
      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (original, &n);
      g_autofree DkVclockEntry *by_age = n > 0 ? g_memdup2 (entries, n * sizeof *entries) : NULL;
      if (n > 0)
        qsort (by_age, n, sizeof *by_age, compare_entries_by_age);

      g_autoptr (DkVclock) pruned = dk_vclock_copy (original);
      guint dropped = dk_vclock_prune (pruned, max_entries);
      guint expected_kept = MIN (n, max_entries);
      ck_assert_uint_eq (dropped, n - expected_kept);
      ck_assert_uint_eq (dk_vclock_size (pruned), expected_kept);
      assert_sorted_and_positive (pruned);
      ck_assert_msg (dk_vclock_descends (original, pruned), "seed %d", seed);
      for (guint i = n - expected_kept; i < n; i++)
        ck_assert_msg (dk_vclock_get (pruned, by_age[i].node) == by_age[i].counter,
                       "seed %d: newer node %u lost or changed", seed, by_age[i].node);
    }
}
END_TEST

/* ---- versions and siblings: examples ------------------------------------ */

START_TEST (version_without_value_holds_empty_bytes)
{
  g_autoptr (DkVersion) tombstone = dk_version_new (dk_vclock_new (), NULL, TRUE);
  ck_assert (tombstone->value != NULL);
  ck_assert_uint_eq (g_bytes_get_size (tombstone->value), 0);
  g_autoptr (DkVersion) copy = dk_version_copy (tombstone);
  ck_assert_int_eq (dk_version_compare (copy, tombstone), 0);
  ck_assert (copy->clock != tombstone->clock);
}
END_TEST

/* The Dynamo §4.4 story: two clients write from the same read, the writes
 * become siblings, and a put with the merged context resolves them. */
START_TEST (siblings_concurrent_writes_kept_until_put_with_context)
{
  g_autoptr (GPtrArray) siblings = dk_siblings_new ();
  g_autoptr (DkVclock) first = dk_vclock_new ();
  dk_vclock_increment (first, 1, 10);
  ck_assert (dk_siblings_add (siblings, version_of (dk_vclock_copy (first), "D1")));

  DkVclock *by_node_2 = dk_vclock_copy (first), *by_node_3 = dk_vclock_copy (first);
  dk_vclock_increment (by_node_2, 2, 20);
  dk_vclock_increment (by_node_3, 3, 30);
  ck_assert (dk_siblings_add (siblings, version_of (by_node_2, "D2")));
  ck_assert (dk_siblings_add (siblings, version_of (by_node_3, "D3")));
  ck_assert_uint_eq (siblings->len, 2);

  /* A late copy of D1 changes nothing. */
  ck_assert (!dk_siblings_add (siblings, version_of (dk_vclock_copy (first), "D1")));

  g_autoptr (DkVclock) context = dk_siblings_context (siblings);
  g_autofree char *context_text = dk_vclock_to_string (context);
  ck_assert_str_eq (context_text, "{1:1, 2:1, 3:1}");
  DkVclock *resolved = dk_vclock_copy (context);
  dk_vclock_increment (resolved, 1, 40);
  ck_assert (dk_siblings_add (siblings, version_of (resolved, "D4")));
  ck_assert_uint_eq (siblings->len, 1);
  const DkVersion *only = g_ptr_array_index (siblings, 0);
  ck_assert (g_bytes_get_size (only->value) == 2 && memcmp (g_bytes_get_data (only->value, NULL), "D4", 2) == 0);
}
END_TEST

START_TEST (siblings_stale_context_keeps_concurrent_write)
{
  g_autoptr (GPtrArray) siblings = dk_siblings_new ();
  DkVclock *a = dk_vclock_new ();
  dk_vclock_increment (a, 1, 1);
  g_autoptr (DkVclock) stale_context = dk_vclock_copy (a);
  dk_siblings_add (siblings, version_of (a, "a"));
  DkVclock *b = dk_vclock_copy (stale_context);
  dk_vclock_increment (b, 2, 2);
  dk_siblings_add (siblings, version_of (b, "b")); /* supersedes a */
  DkVclock *c = dk_vclock_copy (stale_context);
  dk_vclock_increment (c, 3, 3);                    /* never saw b */
  ck_assert (dk_siblings_add (siblings, version_of (c, "c")));
  ck_assert_uint_eq (siblings->len, 2);
}
END_TEST

/* Documented example: equal clocks resolve to the payload sorting last;
 * a tombstone sorts after a value with the same clock. */
START_TEST (siblings_equal_clocks_resolve_to_last_sorting_payload)
{
  g_autoptr (DkVclock) clock = dk_vclock_new ();
  dk_vclock_increment (clock, 1, 5);
  g_autoptr (GPtrArray) forward = dk_siblings_new ();
  g_autoptr (GPtrArray) backward = dk_siblings_new ();
  dk_siblings_add (forward, version_of (dk_vclock_copy (clock), "x"));
  dk_siblings_add (forward, version_of (dk_vclock_copy (clock), "y"));
  dk_siblings_add (backward, version_of (dk_vclock_copy (clock), "y"));
  dk_siblings_add (backward, version_of (dk_vclock_copy (clock), "x"));
  ck_assert_uint_eq (forward->len, 1);
  ck_assert (dk_siblings_equal (forward, backward));
  const DkVersion *winner = g_ptr_array_index (forward, 0);
  ck_assert (memcmp (g_bytes_get_data (winner->value, NULL), "y", 1) == 0);

  ck_assert (dk_siblings_add (forward, dk_version_new (dk_vclock_copy (clock), NULL, TRUE)));
  ck_assert_uint_eq (forward->len, 1);
  ck_assert (((const DkVersion *) g_ptr_array_index (forward, 0))->tombstone);
}
END_TEST

/* ---- versions and siblings: properties ---------------------------------- */

/* Adding the same versions in any order, or merging two halves, gives the
 * same reconciled set and digest; add reports exactly when it changed. */
START_TEST (siblings_are_independent_of_arrival_order)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GPtrArray) versions = dk_siblings_new ();
      for (int k = g_rand_int_range (rand, 1, 14); k > 0; k--)
        g_ptr_array_add (versions, random_version (rand));

      g_autoptr (GPtrArray) in_order = dk_siblings_new ();
      for (guint i = 0; i < versions->len; i++)
        {
          g_autoptr (GPtrArray) before = dk_siblings_copy (in_order);
          gboolean changed = dk_siblings_add (in_order, dk_version_copy (g_ptr_array_index (versions, i)));
          ck_assert_msg (changed == !dk_siblings_equal (before, in_order), "seed %d", seed);
        }
      shuffle (rand, versions);
      g_autoptr (GPtrArray) shuffled = siblings_from (versions);

      guint split = (guint) g_rand_int_range (rand, 0, (gint32) versions->len + 1);
      g_autoptr (GPtrArray) head = dk_siblings_new (), tail = dk_siblings_new ();
      for (guint i = 0; i < versions->len; i++)
        dk_siblings_add (i < split ? head : tail, dk_version_copy (g_ptr_array_index (versions, i)));
      dk_siblings_merge (tail, head);

      assert_reconciled (in_order, seed);
      ck_assert_msg (dk_siblings_equal (in_order, shuffled), "seed %d", seed);
      ck_assert_msg (dk_siblings_equal (in_order, tail), "seed %d", seed);
      ck_assert_msg (dk_siblings_digest (in_order) == dk_siblings_digest (shuffled), "seed %d", seed);
      ck_assert_msg (dk_siblings_digest (in_order) == dk_siblings_digest (tail), "seed %d", seed);
    }
}
END_TEST

/* Every version added is either still in the set or beaten by a member
 * (a strictly newer clock, or an equal clock sorting later): a version
 * concurrent with all others is never dropped. */
START_TEST (siblings_never_drop_an_undominated_version)
{
  int concurrent_sets = 0;
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GPtrArray) versions = dk_siblings_new ();
      for (int k = g_rand_int_range (rand, 1, 14); k > 0; k--)
        g_ptr_array_add (versions, random_version (rand));
      g_autoptr (GPtrArray) siblings = siblings_from (versions);
      concurrent_sets += siblings->len > 1;
      assert_reconciled (siblings, seed);

      for (guint i = 0; i < versions->len; i++)
        {
          const DkVersion *added = g_ptr_array_index (versions, i);
          gboolean accounted_for = FALSE;
          for (guint j = 0; j < siblings->len && !accounted_for; j++)
            {
              const DkVersion *member = g_ptr_array_index (siblings, j);
              DkVclockOrder order = dk_vclock_compare (member->clock, added->clock);
              accounted_for = order == DK_VCLOCK_AFTER
                              || (order == DK_VCLOCK_EQUAL && dk_version_compare (member, added) >= 0);
            }
          g_autofree char *text = dk_vclock_to_string (added->clock);
          ck_assert_msg (accounted_for, "seed %d: version %s dropped", seed, text);
        }
    }
  ck_assert_int_gt (concurrent_sets, 0);
}
END_TEST

/* Whatever the set, a put whose clock descends from the read's context
 * leaves exactly that put. */
START_TEST (siblings_put_with_read_context_supersedes_all)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GPtrArray) siblings = dk_siblings_new ();
      for (int k = g_rand_int_range (rand, 1, 10); k > 0; k--)
        dk_siblings_add (siblings, random_version (rand));
      DkVclock *context = dk_siblings_context (siblings);
      for (guint i = 0; i < siblings->len; i++)
        ck_assert (dk_vclock_descends (context, ((DkVersion *) g_ptr_array_index (siblings, i))->clock));
      dk_vclock_increment (context, (DkNodeId) g_rand_int_range (rand, 1, 6), 99999);
      DkVersion *put = version_of (context, "resolved");
      ck_assert (dk_siblings_add (siblings, put));
      ck_assert_msg (siblings->len == 1 && g_ptr_array_index (siblings, 0) == put, "seed %d", seed);
    }
}
END_TEST

/* The canonical order compares clocks as their encoded bytes, timestamps
 * included (negative ones too), so replicas agree on it byte for byte. */
START_TEST (version_compare_orders_clocks_by_encoded_bytes)
{
  int timestamp_only_differences = 0;
  for (int seed = 0; seed < dk_test_iterations (2000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock_a = random_clock (rand, 3, 2);
      g_autoptr (DkVclock) clock_b = random_clock (rand, 3, 2);
      if (g_rand_boolean (rand))
        {
          dk_vclock_free (clock_b);
          clock_b = dk_vclock_copy (clock_a);
        }
      if (dk_vclock_size (clock_a) > 0 && g_rand_boolean (rand))
        {
          g_autofree char *text = dk_vclock_to_string (clock_a);
          guint n;
          const DkVclockEntry *entries = dk_vclock_entries (clock_a, &n);
          g_autofree DkVclockEntry *restamped = g_memdup2 (entries, n * sizeof *entries);
          restamped[g_rand_int_range (rand, 0, (gint32) n)].timestamp_us = g_rand_int_range (rand, -3, 3);
          dk_vclock_free (clock_a);
          clock_a = clock_from_entries (restamped, n);
        }
      g_autoptr (GByteArray) bytes_a = encode_clock (clock_a);
      g_autoptr (GByteArray) bytes_b = encode_clock (clock_b);
      int expected = bytes_a->len != bytes_b->len ? (bytes_a->len < bytes_b->len ? -1 : 1)
                                                 : memcmp (bytes_a->data, bytes_b->data, bytes_a->len);
      expected = (expected > 0) - (expected < 0);
      timestamp_only_differences += expected != 0 && dk_vclock_equal (clock_a, clock_b);

      g_autoptr (DkVersion) a = version_of (dk_vclock_copy (clock_a), "same");
      g_autoptr (DkVersion) b = version_of (dk_vclock_copy (clock_b), "same");
      int order = dk_version_compare (a, b);
      ck_assert_msg ((order > 0) - (order < 0) == expected, "seed %d", seed);
      ck_assert_msg ((order == 0) == digests_of_singletons_match (a, b), "seed %d", seed);
    }
  ck_assert_int_gt (timestamp_only_differences, 0);
}
END_TEST

/* Many payloads under one clock converge on the one sorting last, in any
 * arrival order. */
START_TEST (siblings_equal_clocks_converge_regardless_of_order)
{
  for (int seed = 0; seed < dk_test_iterations (500); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock = random_clock (rand, 4, 3);
      g_autoptr (GPtrArray) versions = dk_siblings_new ();
      DkVersion *last = NULL;
      for (int k = g_rand_int_range (rand, 1, 8); k > 0; k--)
        {
          char value[8];
          g_snprintf (value, sizeof value, "v%d", g_rand_int_range (rand, 0, 50));
          DkVersion *version = g_rand_int_range (rand, 0, 6) == 0
                               ? dk_version_new (dk_vclock_copy (clock), NULL, TRUE)
                               : version_of (dk_vclock_copy (clock), value);
          if (last == NULL || dk_version_compare (version, last) > 0)
            last = version;
          g_ptr_array_add (versions, version);
        }
      g_autoptr (GPtrArray) first = siblings_from (versions);
      shuffle (rand, versions);
      g_autoptr (GPtrArray) second = siblings_from (versions);
      ck_assert_uint_eq (first->len, 1);
      ck_assert_msg (dk_siblings_equal (first, second), "seed %d", seed);
      ck_assert_msg (dk_version_compare (g_ptr_array_index (first, 0), last) == 0, "seed %d", seed);
    }
}
END_TEST

START_TEST (siblings_digest_separates_different_sets)
{
  int compared = 0;
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GPtrArray) a = dk_siblings_new (), b = dk_siblings_new ();
      for (int k = g_rand_int_range (rand, 0, 5); k > 0; k--)
        dk_siblings_add (a, random_version (rand));
      for (int k = g_rand_int_range (rand, 0, 5); k > 0; k--)
        dk_siblings_add (b, random_version (rand));
      g_autoptr (GPtrArray) a_copy = dk_siblings_copy (a);
      ck_assert (dk_siblings_equal (a, a_copy) && dk_siblings_digest (a) == dk_siblings_digest (a_copy));
      if (dk_siblings_equal (a, b))
        continue;
      compared++;
      ck_assert_msg (dk_siblings_digest (a) != dk_siblings_digest (b), "seed %d", seed);
    }
  ck_assert_int_gt (compared, 0);
}
END_TEST

Suite *
vclock_suite (void)
{
  Suite *suite = suite_create ("vclock");

  TCase *clocks = tcase_create ("clock");
  tcase_add_test (clocks, vclock_new_is_empty_and_every_clock_descends_from_it);
  tcase_add_test (clocks, vclock_increment_creates_then_counts_up_in_node_order);
  tcase_add_test (clocks, vclock_compare_examples);
  tcase_add_test (clocks, vclock_merge_is_commutative);
  tcase_add_test (clocks, vclock_merge_is_associative);
  tcase_add_test (clocks, vclock_merge_is_idempotent);
  tcase_add_test (clocks, vclock_merge_is_least_upper_bound);
  tcase_add_test (clocks, vclock_merge_keeps_larger_counter_and_later_timestamp);
  tcase_add_test (clocks, vclock_descends_is_a_partial_order);
  tcase_add_test (clocks, vclock_compare_agrees_with_descends_both_ways);
  tcase_add_test (clocks, vclock_increment_moves_strictly_after_and_touches_one_node);
  tcase_add_test (clocks, vclock_increment_past_skips_counters_already_issued);
  tcase_add_test (clocks, vclock_entries_stay_sorted_by_node);
  tcase_add_test (clocks, vclock_prune_breaks_timestamp_ties_by_smaller_node);
  tcase_add_test (clocks, vclock_prune_keeps_newest_entries_and_never_raises_counters);
  suite_add_tcase (suite, clocks);

  TCase *codec = tcase_create ("codec");
  tcase_add_test (codec, vclock_encodes_to_documented_bytes);
  tcase_add_test (codec, vclock_encode_decode_round_trips);
  tcase_add_test (codec, vclock_decode_rejects_every_truncation);
  tcase_add_test (codec, vclock_decode_of_arbitrary_bytes_fails_cleanly_or_round_trips);
  tcase_add_test (codec, vclock_decode_rejects_node_zero_and_counter_zero);
  tcase_add_test (codec, vclock_decode_rejects_unsorted_and_repeated_nodes);
  tcase_add_test (codec, vclock_decode_accepts_max_entries_and_rejects_one_more);
  suite_add_tcase (suite, codec);

  TCase *siblings = tcase_create ("siblings");
  tcase_add_test (siblings, version_without_value_holds_empty_bytes);
  tcase_add_test (siblings, siblings_concurrent_writes_kept_until_put_with_context);
  tcase_add_test (siblings, siblings_stale_context_keeps_concurrent_write);
  tcase_add_test (siblings, siblings_equal_clocks_resolve_to_last_sorting_payload);
  tcase_add_test (siblings, siblings_are_independent_of_arrival_order);
  tcase_add_test (siblings, siblings_never_drop_an_undominated_version);
  tcase_add_test (siblings, siblings_put_with_read_context_supersedes_all);
  tcase_add_test (siblings, version_compare_orders_clocks_by_encoded_bytes);
  tcase_add_test (siblings, siblings_equal_clocks_converge_regardless_of_order);
  tcase_add_test (siblings, siblings_digest_separates_different_sets);
  suite_add_tcase (suite, siblings);

  return suite;
}
