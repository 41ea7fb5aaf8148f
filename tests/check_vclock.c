/* check_vclock.c — vector clock laws, the codec's bounds, pruning with a
 * keep-list, and the written forms of actors and clocks.
 *
 * Versions, dots and sibling sets are built on clocks but tested in
 * check_version.c.  Property tests run one case per seed (seed = case
 * number), so a failure message naming the seed replays exactly. */
#include <string.h>
#include "suites.h"
#include "vclock.h"

/* ---- helpers ------------------------------------------------------------ */

/* The actors of the small pools: index 1..ACTOR_POOL, two incarnations per
 * node (index 2k-1 and 2k are node k before and after a wipe), so actor
 * order is index order and both halves of an actor matter. */
#define ACTOR_POOL 12u

static DkActor
actor_of (guint index)
{
  g_assert (index >= 1 && index <= ACTOR_POOL);
  guint32 incarnation = index % 2 == 1 ? 0x0000a000u + index : 0xfffff000u + index;
  return dk_actor_make ((index + 1) / 2, incarnation);
}

/* The pool index of ACTOR (0 when it is not a pool actor). */
static guint
index_of (DkActor actor)
{
  for (guint index = 1; index <= ACTOR_POOL; index++)
    if (actor_of (index) == actor)
      return index;
  return 0;
}

/* A clock over pool actors 1..MAX_ACTORS (each present with probability
 * 1/2), counters 1..MAX_COUNTER.  Actor I's K-th increment is stamped
 * I*1000+K, so equal counters imply equal timestamps, as with a real
 * actor's clock. */
static DkVclock *
random_clock (GRand *rand, guint max_actors, guint max_counter)
{
  DkVclock *clock = dk_vclock_new ();
  for (guint index = 1; index <= max_actors; index++)
    if (g_rand_boolean (rand))
      {
        guint counter = (guint) g_rand_int_range (rand, 1, (gint32) max_counter + 1);
        for (guint k = 1; k <= counter; k++)
          dk_vclock_increment (clock, actor_of (index), (gint64) index * 1000 + k);
      }
  return clock;
}

/* Any non-zero actor. */
static DkActor
random_actor (GRand *rand)
{
  DkActor actor = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
  return actor != DK_ACTOR_NONE ? actor : 1;
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

/* Hand-encode N entries in the documented format (no validation), so
 * tests can build clocks and invalid inputs the API cannot produce. */
static GByteArray *
encode_entries (const DkVclockEntry *entries, guint n)
{
  GByteArray *out = g_byte_array_new ();
  append_be (out, n, 2);
  for (guint i = 0; i < n; i++)
    {
      append_be (out, entries[i].actor, 8);
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

/* Checked without ck_assert in the loop: Check reports each passed
 * assertion through a pipe, and this runs for every step of every seed. */
static void
assert_sorted_and_positive (const DkVclock *clock)
{
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (clock, &n);
  if (n != dk_vclock_size (clock))
    ck_abort_msg ("%u entries, size %u", n, dk_vclock_size (clock));
  for (guint i = 0; i < n; i++)
    if (entries[i].actor == DK_ACTOR_NONE || entries[i].counter < 1
        || (i > 0 && entries[i - 1].actor >= entries[i].actor))
      ck_abort_msg ("entry %u of %u: actor 0, counter 0, or out of order", i, n);
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
  dk_vclock_increment (other, actor_of (7), 1);
  ck_assert (dk_vclock_descends (other, empty));
  ck_assert (!dk_vclock_descends (empty, other));
  ck_assert_int_eq (dk_vclock_compare (empty, other), DK_VCLOCK_BEFORE);
}
END_TEST

START_TEST (vclock_increment_creates_then_counts_up_in_actor_order)
{
  g_autoptr (DkVclock) clock = dk_vclock_new ();
  DkActor late = dk_actor_make (4, 0x9c1f02ab), early = dk_actor_make (1, 0xffffffff);
  dk_vclock_increment (clock, late, 100);
  dk_vclock_increment (clock, early, 200);
  dk_vclock_increment (clock, late, 300);
  g_autofree char *text = dk_vclock_to_string (clock);
  ck_assert_str_eq (text, "{1.ffffffff:1, 4.9c1f02ab:2}");
  ck_assert_uint_eq (dk_vclock_get (clock, late), 2);
  ck_assert_uint_eq (dk_vclock_get (clock, dk_actor_make (4, 0x9c1f02ac)), 0);  /* another incarnation */
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (clock, &n);
  ck_assert_uint_eq (n, 2);
  ck_assert (entries[1].actor == late);
  ck_assert_int_eq (entries[1].timestamp_us, 300); /* stamped by the latest increment */
}
END_TEST

START_TEST (vclock_compare_examples)
{
  DkActor one = actor_of (1), two = actor_of (2);
  const DkVclockEntry one_1[] = { { one, 1, 0 } };
  const DkVclockEntry one_2[] = { { one, 2, 0 } };
  const DkVclockEntry two_1[] = { { two, 1, 0 } };
  const DkVclockEntry one_2_two_1[] = { { one, 2, 0 }, { two, 1, 0 } };
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

/* Documented example of the format: {3.9c1f02ab:3} stamped 5 us. */
START_TEST (vclock_encodes_to_documented_bytes)
{
  static const guint8 expected[] = {
    0x00, 0x01,                                     /* one entry */
    0x00, 0x00, 0x00, 0x03, 0x9c, 0x1f, 0x02, 0xab, /* actor: node 3, incarnation 9c1f02ab */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* counter 3 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* timestamp 5 */
  };
  g_autoptr (DkVclock) clock = dk_vclock_new ();
  DkActor actor = dk_actor_make (3, 0x9c1f02ab);
  dk_vclock_increment (clock, actor, 1);
  dk_vclock_increment (clock, actor, 2);
  dk_vclock_increment (clock, actor, 5);
  g_autoptr (GByteArray) bytes = encode_clock (clock);
  ck_assert_uint_eq (bytes->len, sizeof expected);
  ck_assert_uint_eq (dk_vclock_encoded_size (clock), sizeof expected);
  ck_assert_mem_eq (bytes->data, expected, sizeof expected);
  guint8 direct[sizeof expected];
  ck_assert_uint_eq (dk_vclock_encode_to (clock, direct), sizeof expected);
  ck_assert_mem_eq (direct, expected, sizeof expected);
  g_autofree char *text = dk_vclock_to_string (clock);
  ck_assert_str_eq (text, "{3.9c1f02ab:3}");
}
END_TEST

START_TEST (vclock_prune_breaks_timestamp_ties_by_smaller_actor)
{
  const DkVclockEntry entries[] = {
    { actor_of (1), 4, 50 }, { actor_of (2), 1, 50 }, { actor_of (3), 2, 90 }, { actor_of (5), 7, 10 },
  };
  g_autoptr (DkVclock) clock = clock_from_entries (entries, G_N_ELEMENTS (entries));
  ck_assert_uint_eq (dk_vclock_prune (clock, 2, NULL, 0), 2); /* actor 5 (oldest), then actor 1 */
  ck_assert_uint_eq (dk_vclock_size (clock), 2);
  ck_assert_uint_eq (dk_vclock_get (clock, actor_of (2)), 1);
  ck_assert_uint_eq (dk_vclock_get (clock, actor_of (3)), 2);
  ck_assert_uint_eq (dk_vclock_prune (clock, 2, NULL, 0), 0);
}
END_TEST

/* The keep-list spares its actors even when they are the oldest, and a
 * clock whose kept actors alone exceed the bound stays longer than it. */
START_TEST (vclock_prune_spares_kept_actors_even_when_oldest)
{
  const DkVclockEntry entries[] = {
    { actor_of (1), 4, 50 }, { actor_of (2), 1, 50 }, { actor_of (3), 2, 90 }, { actor_of (5), 7, 10 },
  };
  g_autoptr (DkVclock) clock = clock_from_entries (entries, G_N_ELEMENTS (entries));
  const DkActor keep[] = { actor_of (5), actor_of (9) /* absent: harmless */ };
  ck_assert_uint_eq (dk_vclock_prune (clock, 2, keep, G_N_ELEMENTS (keep)), 2);
  ck_assert_uint_eq (dk_vclock_get (clock, actor_of (5)), 7);
  ck_assert_uint_eq (dk_vclock_get (clock, actor_of (3)), 2);
  ck_assert_uint_eq (dk_vclock_size (clock), 2);

  g_autoptr (DkVclock) all_kept = clock_from_entries (entries, G_N_ELEMENTS (entries));
  const DkActor everyone[] = { actor_of (1), actor_of (2), actor_of (3), actor_of (5) };
  ck_assert_uint_eq (dk_vclock_prune (all_kept, 1, everyone, G_N_ELEMENTS (everyone)), 0);
  ck_assert_uint_eq (dk_vclock_size (all_kept), 4);

  g_autoptr (DkVclock) some_kept = clock_from_entries (entries, G_N_ELEMENTS (entries));
  ck_assert_uint_eq (dk_vclock_prune (some_kept, 0, everyone, 3), 1);  /* only actor 5 may go */
  ck_assert_uint_eq (dk_vclock_size (some_kept), 3);
  ck_assert_uint_eq (dk_vclock_get (some_kept, actor_of (5)), 0);
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
                         "seed %d: lowering actor %u still bounds both", seed,
                         index_of (entries[i].actor));
        }

      g_autoptr (DkVclock) above = dk_vclock_copy (lub);
      for (int k = g_rand_int_range (rand, 0, 4); k > 0; k--)
        dk_vclock_increment (above, actor_of ((guint) g_rand_int_range (rand, 1, ACTOR_POOL + 1)), 1);
      ck_assert_msg (dk_vclock_descends (above, lub), "seed %d", seed);

      g_autoptr (DkVclock) unrelated = random_clock (rand, 6, 4);
      if (dk_vclock_descends (unrelated, a) && dk_vclock_descends (unrelated, b))
        ck_assert_msg (dk_vclock_descends (unrelated, lub), "seed %d", seed);
    }
}
END_TEST

/* Per actor the merge keeps the later timestamp, so pruning after a merge
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
          DkActor actor = entries[i].actor;
          ck_assert_uint_eq (entries[i].counter, MAX (dk_vclock_get (a, actor), dk_vclock_get (b, actor)));
          ck_assert_int_eq (entries[i].timestamp_us,
                            (gint64) index_of (actor) * 1000 + (gint64) entries[i].counter);
        }
    }
}
END_TEST

/* Small pools (3 actors, counters 1..2) so that related triples are
 * common; the premise counters make sure the laws were actually
 * exercised. */
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

START_TEST (vclock_increment_moves_strictly_after_and_touches_one_actor)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) before = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) after = dk_vclock_copy (before);
      guint bumped = (guint) g_rand_int_range (rand, 1, 9);
      dk_vclock_increment (after, actor_of (bumped), 42);
      ck_assert_msg (dk_vclock_compare (after, before) == DK_VCLOCK_AFTER, "seed %d", seed);
      for (guint other = 1; other <= 8; other++)
        ck_assert_uint_eq (dk_vclock_get (after, actor_of (other)),
                           dk_vclock_get (before, actor_of (other)) + (other == bumped ? 1 : 0));
      assert_sorted_and_positive (after);
    }
}
END_TEST

/* raise makes the actor's counter max (its counter, COUNTER) and its
 * timestamp the later one; it touches nothing else, and the result
 * descends from the input and covers every counter up to COUNTER. */
START_TEST (vclock_raise_takes_the_larger_counter_and_touches_one_actor)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) before = random_clock (rand, 6, 4);
      g_autoptr (DkVclock) after = dk_vclock_copy (before);
      guint raised = (guint) g_rand_int_range (rand, 1, 9);
      guint64 counter = (guint64) g_rand_int_range (rand, 1, 8);
      gint64 stamp = g_rand_int_range (rand, 0, 10000);
      dk_vclock_raise (after, actor_of (raised), counter, stamp);
      ck_assert_msg (dk_vclock_descends (after, before), "seed %d", seed);
      guint64 old = dk_vclock_get (before, actor_of (raised));
      ck_assert_msg ((dk_vclock_compare (after, before) == DK_VCLOCK_EQUAL) == (counter <= old),
                     "seed %d", seed);
      for (guint other = 1; other <= 8; other++)
        {
          guint64 expected = other == raised ? MAX (old, counter) : dk_vclock_get (before, actor_of (other));
          ck_assert_uint_eq (dk_vclock_get (after, actor_of (other)), expected);
        }
      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (after, &n);
      for (guint i = 0; i < n; i++)
        if (entries[i].actor == actor_of (raised))
          ck_assert_int_eq (entries[i].timestamp_us,
                            old == 0 ? stamp : MAX (stamp, (gint64) raised * 1000 + (gint64) old));
      assert_sorted_and_positive (after);
    }
}
END_TEST

/* Random increments, raises and merges over a wide actor range keep the
 * entries sorted, unique and positive. */
START_TEST (vclock_entries_stay_sorted_by_actor)
{
  for (int seed = 0; seed < dk_test_iterations (200); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock = dk_vclock_new ();
      for (int step = 0; step < 40; step++)
        {
          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0:
              {
                g_autoptr (DkVclock) other = random_clock (rand, ACTOR_POOL, 3);
                dk_vclock_merge (clock, other);
                break;
              }
            case 1:
              dk_vclock_raise (clock, random_actor (rand), (guint64) g_rand_int_range (rand, 1, 100), step);
              break;
            default:
              dk_vclock_increment (clock, random_actor (rand), step);
              break;
            }
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
          guint64 any_counter = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
          dk_vclock_raise (clock, random_actor (rand), any_counter | 1, any_time);
        }
      g_autoptr (GByteArray) bytes = g_byte_array_new ();
      guint8 prefix = 0xAB;
      g_byte_array_append (bytes, &prefix, 1);
      dk_vclock_encode (clock, bytes);
      ck_assert_uint_eq (bytes->len, 1 + dk_vclock_encoded_size (clock));
      ck_assert_uint_eq (dk_vclock_encoded_size (clock), 2 + 24 * dk_vclock_size (clock));
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
          for (int k = g_rand_int_range (rand, 0, 150); k > 0; k--)
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

START_TEST (vclock_decode_rejects_actor_zero_and_counter_zero)
{
  const DkVclockEntry actor_zero[] = { { DK_ACTOR_NONE, 1, 0 } };
  const DkVclockEntry counter_zero[] = { { actor_of (1), 1, 0 }, { actor_of (3), 0, 0 } };
  assert_decode_refuses (actor_zero, 1, DK_VCLOCK_ERROR_INVALID, "actor 0");
  assert_decode_refuses (counter_zero, 2, DK_VCLOCK_ERROR_INVALID, "counter 0");
}
END_TEST

START_TEST (vclock_decode_rejects_unsorted_and_repeated_actors)
{
  DkActor first = dk_actor_make (1, 1), fifth = dk_actor_make (5, 0xa), fourth = dk_actor_make (4, 0xffffffff);
  const DkVclockEntry unsorted[] = { { first, 1, 0 }, { fifth, 1, 0 }, { fourth, 1, 0 } };
  const DkVclockEntry repeated[] = { { fourth, 1, 0 }, { fourth, 3, 0 } };
  /* Same node, incarnations out of order: the whole 64-bit actor counts. */
  const DkVclockEntry incarnations[] = { { dk_actor_make (2, 9), 1, 0 }, { dk_actor_make (2, 8), 1, 0 } };
  assert_decode_refuses (unsorted, 3, DK_VCLOCK_ERROR_INVALID, "4.ffffffff) follows actor 5.a");
  assert_decode_refuses (repeated, 2, DK_VCLOCK_ERROR_INVALID, "repeats actor 4.ffffffff");
  assert_decode_refuses (incarnations, 2, DK_VCLOCK_ERROR_INVALID, "follows actor 2.9");
}
END_TEST

START_TEST (vclock_decode_accepts_max_entries_and_rejects_one_more)
{
  DkVclockEntry entries[DK_VCLOCK_MAX_ENTRIES + 1];
  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    entries[i] = (DkVclockEntry) { dk_actor_make (i + 1, 0x77), 1, 0 };
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
  return x->actor < y->actor ? -1 : x->actor > y->actor;
}

static gboolean
is_kept (DkActor actor, const DkActor *keep, guint n_keep)
{
  for (guint i = 0; i < n_keep; i++)
    if (keep[i] == actor)
      return TRUE;
  return FALSE;
}

/* Pruning keeps every kept actor and, of the others, exactly the newest
 * (by timestamp, then actor) that fit MAX entries, with their counters
 * untouched: the pruned clock is descended from by the original, so it
 * never claims more than was seen.  Without a keep-list it keeps exactly
 * the MAX newest entries. */
START_TEST (vclock_prune_keeps_newest_entries_and_never_raises_counters)
{
  int with_keep = 0, keep_saved_an_old_entry = 0;
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) original = dk_vclock_new ();
      for (int k = g_rand_int_range (rand, 0, 40); k > 0; k--)
        dk_vclock_increment (original, dk_actor_make ((DkNodeId) g_rand_int_range (rand, 1, 16),
                                                      (guint32) g_rand_int_range (rand, 1, 3)),
                             g_rand_int_range (rand, 0, 20)); /* ties are common */
      guint max_entries = (guint) g_rand_int_range (rand, 0, 16);
      DkActor keep[6];
      guint n_keep = seed % 2 == 0 ? 0 : (guint) g_rand_int_range (rand, 1, G_N_ELEMENTS (keep) + 1);
      for (guint i = 0; i < n_keep; i++)
        keep[i] = dk_actor_make ((DkNodeId) g_rand_int_range (rand, 1, 16), (guint32) g_rand_int_range (rand, 1, 3));
      with_keep += n_keep > 0;

      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (original, &n);
      g_autofree DkVclockEntry *candidates = g_new (DkVclockEntry, n + 1);
      guint n_candidates = 0;
      for (guint i = 0; i < n; i++)
        if (!is_kept (entries[i].actor, keep, n_keep))
          candidates[n_candidates++] = entries[i];
      qsort (candidates, n_candidates, sizeof *candidates, compare_entries_by_age);
      guint expected_dropped = n > max_entries ? MIN (n - max_entries, n_candidates) : 0;

      g_autoptr (DkVclock) pruned = dk_vclock_copy (original);
      guint dropped = dk_vclock_prune (pruned, max_entries, n_keep > 0 ? keep : NULL, n_keep);
      ck_assert_msg (dropped == expected_dropped, "seed %d: dropped %u, expected %u", seed,
                     dropped, expected_dropped);
      ck_assert_uint_eq (dk_vclock_size (pruned), n - expected_dropped);
      assert_sorted_and_positive (pruned);
      ck_assert_msg (dk_vclock_descends (original, pruned), "seed %d", seed);
      for (guint i = 0; i < n_candidates; i++)
        ck_assert_msg (dk_vclock_get (pruned, candidates[i].actor)
                       == (i < expected_dropped ? 0 : candidates[i].counter),
                       "seed %d: candidate %u of %u wrongly %s", seed, i, n_candidates,
                       i < expected_dropped ? "kept" : "dropped");
      for (guint i = 0; i < n; i++)
        if (is_kept (entries[i].actor, keep, n_keep))
          {
            ck_assert_msg (dk_vclock_get (pruned, entries[i].actor) == entries[i].counter,
                           "seed %d: kept actor lost", seed);
            keep_saved_an_old_entry += expected_dropped > 0
                                       && compare_entries_by_age (&entries[i], &candidates[expected_dropped - 1]) < 0;
          }
    }
  ck_assert_int_gt (with_keep, 0);
  ck_assert_int_gt (keep_saved_an_old_entry, 0);
}
END_TEST

/* ---- written forms ---------------------------------------------------------- */

START_TEST (vclock_actor_format_and_parse_round_trip)
{
  char buffer[DK_ACTOR_STRING_SIZE];
  ck_assert_str_eq (dk_actor_format (dk_actor_make (3, 0x9c1f02ab), buffer), "3.9c1f02ab");
  ck_assert_str_eq (dk_actor_format (dk_actor_make (G_MAXUINT32, G_MAXUINT32), buffer),
                    "4294967295.ffffffff");
  ck_assert_uint_lt (strlen (buffer), DK_ACTOR_STRING_SIZE);
  ck_assert_uint_eq (dk_actor_node (dk_actor_make (7, 9)), 7);
  ck_assert_uint_eq (dk_actor_incarnation (dk_actor_make (7, 9)), 9);
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      DkActor actor = dk_actor_make (g_rand_int (rand) | 1, g_rand_int (rand) | 1);
      g_autofree char *text = g_strconcat (dk_actor_format (actor, buffer), ":rest", NULL);
      char *end = NULL;
      DkActor parsed = DK_ACTOR_NONE;
      ck_assert_msg (dk_actor_parse (text, &end, &parsed), "seed %d: '%s'", seed, text);
      ck_assert_msg (parsed == actor, "seed %d: '%s'", seed, text);
      ck_assert_str_eq (end, ":rest");
    }
}
END_TEST

START_TEST (vclock_actor_parse_refuses_zero_parts_and_junk)
{
  static const char *const bad[] = {
    "", "x", ".1", "1", "1.", "1:2", "0.1", "1.0", "-1.1", "1.-1", " 1.1", "1.g",
    "4294967296.1", "1.100000000", "99999999999999999999999.1",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      char *end = NULL;
      DkActor actor = 42;
      ck_assert_msg (!dk_actor_parse (bad[i], &end, &actor), "'%s' parsed", bad[i]);
      ck_assert_msg (end == bad[i], "'%s': END moved on failure", bad[i]);
    }
  char *end = NULL;
  DkActor actor = DK_ACTOR_NONE;
  ck_assert (dk_actor_parse ("4294967295.ffffffff}", &end, &actor));
  ck_assert (actor == dk_actor_make (G_MAXUINT32, G_MAXUINT32));
  ck_assert_str_eq (end, "}");
}
END_TEST

/* A clock's string parses back to the same counters (timestamps, which
 * the string leaves out, come back 0), and prints identically. */
START_TEST (vclock_to_string_and_parse_round_trip)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVclock) clock = dk_vclock_new ();
      for (int k = g_rand_int_range (rand, 0, 12); k > 0; k--)
        {
          DkActor actor = g_rand_boolean (rand) ? actor_of ((guint) g_rand_int_range (rand, 1, ACTOR_POOL + 1))
                                                : dk_actor_make (g_rand_int (rand) | 1, g_rand_int (rand) | 1);
          guint64 counter = g_rand_boolean (rand) ? (guint64) g_rand_int_range (rand, 1, 100)
                                                  : (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)) | 1;
          dk_vclock_raise (clock, actor, counter, g_rand_int (rand));
        }
      g_autofree char *text = dk_vclock_to_string (clock);
      g_autoptr (GString) appended = g_string_new ("prefix ");
      dk_vclock_append_string (clock, appended);
      ck_assert_str_eq (appended->str + strlen ("prefix "), text);

      g_autoptr (GError) error = NULL;
      g_autoptr (DkVclock) parsed = dk_vclock_parse (text, &error);
      ck_assert_msg (parsed != NULL, "seed %d: '%s': %s", seed, text, error ? error->message : "");
      ck_assert_msg (dk_vclock_equal (parsed, clock), "seed %d: '%s'", seed, text);
      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (parsed, &n);
      for (guint i = 0; i < n; i++)
        ck_assert_int_eq (entries[i].timestamp_us, 0);
      g_autofree char *again = dk_vclock_to_string (parsed);
      ck_assert_str_eq (again, text);
    }

  /* Spaces are optional. */
  g_autoptr (DkVclock) spaced = dk_vclock_parse ("  { 1.a:2 ,2.b:3}  ", NULL);
  ck_assert_ptr_nonnull (spaced);
  g_autofree char *spaced_text = dk_vclock_to_string (spaced);
  ck_assert_str_eq (spaced_text, "{1.a:2, 2.b:3}");
  g_autoptr (DkVclock) empty = dk_vclock_parse ("{ }", NULL);
  ck_assert_ptr_nonnull (empty);
  ck_assert_uint_eq (dk_vclock_size (empty), 0);
}
END_TEST

START_TEST (vclock_parse_refuses_malformed_text_naming_it)
{
  static const char *const bad[] = {
    "", "{", "}", "{1.a:1", "1.a:1}", "{1.a:0}", "{0.a:1}", "{1.0:1}", "{1:1}", "{1.a}",
    "{1.a:}", "{1.a:x}", "{1.a:-1}", "{1.a:1,}", "{1.a:1,,2.b:1}", "{1.a:1 2.b:1}",
    "{2.a:1, 1.a:1}", "{1.b:1, 1.a:1}", "{1.a:1, 1.a:2}", "{1.a:1} x", "{1.a:1}}", "{x}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DkVclock) clock = dk_vclock_parse (bad[i], &error);
      ck_assert_msg (clock == NULL, "'%s' parsed", bad[i]);
      ck_assert_msg (g_error_matches (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID),
                     "'%s': wrong error", bad[i]);
      g_autofree char *quoted = g_strdup_printf ("'%s'", bad[i]);
      ck_assert_msg (strstr (error->message, quoted) != NULL, "'%s' not named in: %s", bad[i],
                     error->message);
    }
}
END_TEST

Suite *
vclock_suite (void)
{
  Suite *suite = suite_create ("vclock");

  TCase *clocks = tcase_create ("clock");
  dk_tcase_no_wall_limit (clocks);
  tcase_add_test (clocks, vclock_new_is_empty_and_every_clock_descends_from_it);
  tcase_add_test (clocks, vclock_increment_creates_then_counts_up_in_actor_order);
  tcase_add_test (clocks, vclock_compare_examples);
  tcase_add_test (clocks, vclock_merge_is_commutative);
  tcase_add_test (clocks, vclock_merge_is_associative);
  tcase_add_test (clocks, vclock_merge_is_idempotent);
  tcase_add_test (clocks, vclock_merge_is_least_upper_bound);
  tcase_add_test (clocks, vclock_merge_keeps_larger_counter_and_later_timestamp);
  tcase_add_test (clocks, vclock_descends_is_a_partial_order);
  tcase_add_test (clocks, vclock_compare_agrees_with_descends_both_ways);
  tcase_add_test (clocks, vclock_increment_moves_strictly_after_and_touches_one_actor);
  tcase_add_test (clocks, vclock_raise_takes_the_larger_counter_and_touches_one_actor);
  tcase_add_test (clocks, vclock_entries_stay_sorted_by_actor);
  suite_add_tcase (suite, clocks);

  TCase *pruning = tcase_create ("prune");
  dk_tcase_no_wall_limit (pruning);
  tcase_add_test (pruning, vclock_prune_breaks_timestamp_ties_by_smaller_actor);
  tcase_add_test (pruning, vclock_prune_spares_kept_actors_even_when_oldest);
  tcase_add_test (pruning, vclock_prune_keeps_newest_entries_and_never_raises_counters);
  suite_add_tcase (suite, pruning);

  TCase *codec = tcase_create ("codec");
  dk_tcase_no_wall_limit (codec);
  tcase_add_test (codec, vclock_encodes_to_documented_bytes);
  tcase_add_test (codec, vclock_encode_decode_round_trips);
  tcase_add_test (codec, vclock_decode_rejects_every_truncation);
  tcase_add_test (codec, vclock_decode_of_arbitrary_bytes_fails_cleanly_or_round_trips);
  tcase_add_test (codec, vclock_decode_rejects_actor_zero_and_counter_zero);
  tcase_add_test (codec, vclock_decode_rejects_unsorted_and_repeated_actors);
  tcase_add_test (codec, vclock_decode_accepts_max_entries_and_rejects_one_more);
  suite_add_tcase (suite, codec);

  TCase *text = tcase_create ("text");
  dk_tcase_no_wall_limit (text);
  tcase_add_test (text, vclock_actor_format_and_parse_round_trip);
  tcase_add_test (text, vclock_actor_parse_refuses_zero_parts_and_junk);
  tcase_add_test (text, vclock_to_string_and_parse_round_trip);
  tcase_add_test (text, vclock_parse_refuses_malformed_text_naming_it);
  suite_add_tcase (suite, text);

  return suite;
}
