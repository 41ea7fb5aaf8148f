/* check_rng.c — the simulator's PRNG is deterministic, uniform and has
 * independent streams. */
#include <math.h>
#include "suites.h"
#include "rng.h"

START_TEST (rng_same_seed_and_stream_repeat_exactly)
{
  DkRng a, b;
  dk_rng_init (&a, 42, 7);
  dk_rng_init (&b, 42, 7);
  for (int i = 0; i < 1000; i++)
    ck_assert_uint_eq (dk_rng_next (&a), dk_rng_next (&b));
}
END_TEST

/* Different seeds, and different streams of one seed, share no prefix. */
START_TEST (rng_streams_and_seeds_differ)
{
  enum { STREAMS = 64 };
  GHashTable *first = g_hash_table_new (g_int64_hash, g_int64_equal);
  static gint64 draws[2 * STREAMS];
  for (int s = 0; s < STREAMS; s++)
    {
      DkRng by_stream, by_seed;
      dk_rng_init (&by_stream, 1, (guint64) s);
      dk_rng_init (&by_seed, (guint64) s + 100, 0);
      draws[2 * s] = (gint64) dk_rng_next (&by_stream);
      draws[2 * s + 1] = (gint64) dk_rng_next (&by_seed);
      ck_assert (!g_hash_table_contains (first, &draws[2 * s]));
      g_hash_table_add (first, &draws[2 * s]);
      ck_assert (!g_hash_table_contains (first, &draws[2 * s + 1]));
      g_hash_table_add (first, &draws[2 * s + 1]);
    }
  g_hash_table_destroy (first);
}
END_TEST

/* dk_rng_double lies in [0,1) with mean 1/2 and variance 1/12. */
START_TEST (rng_double_is_uniform_on_unit_interval)
{
  int draws = dk_test_iterations (200000);
  for (guint64 seed = 1; seed <= 5; seed++)
    {
      DkRng rng;
      dk_rng_init (&rng, seed, 0);
      double sum = 0, sum_sq = 0;
      for (int i = 0; i < draws; i++)
        {
          double x = dk_rng_double (&rng);
          ck_assert (x >= 0.0 && x < 1.0);
          sum += x;
          sum_sq += x * x;
        }
      double mean = sum / draws, variance = sum_sq / draws - mean * mean;
      double tolerance = 5.0 / sqrt (draws);
      ck_assert_msg (fabs (mean - 0.5) < tolerance, "seed %d mean %f", (int) seed, mean);
      ck_assert_msg (fabs (variance - 1.0 / 12) < tolerance, "variance %f", variance);
    }
}
END_TEST

/* dk_rng_below stays below its bound and hits every residue about equally
 * (chi-square), including for a bound that does not divide 2^64. */
START_TEST (rng_below_is_in_range_and_unbiased)
{
  enum { BOUND = 37 };
  int counts[BOUND] = { 0 };
  int draws = dk_test_iterations (370000);
  DkRng rng;
  dk_rng_init (&rng, 9, 3);
  for (int i = 0; i < draws; i++)
    {
      guint64 x = dk_rng_below (&rng, BOUND);
      ck_assert_uint_lt (x, BOUND);
      counts[x]++;
    }
  double expected = (double) draws / BOUND, chi2 = 0;
  for (int b = 0; b < BOUND; b++)
    chi2 += (counts[b] - expected) * (counts[b] - expected) / expected;
  /* 36 degrees of freedom: chi2 > 75 has probability < 0.0002. */
  ck_assert_msg (chi2 < 75, "chi-square %.1f", chi2);
  ck_assert_uint_eq (dk_rng_below (&rng, 1), 0);
}
END_TEST

Suite *
rng_suite (void)
{
  Suite *suite = suite_create ("rng");
  TCase *tc = tcase_create ("rng");
  tcase_add_test (tc, rng_same_seed_and_stream_repeat_exactly);
  tcase_add_test (tc, rng_streams_and_seeds_differ);
  tcase_add_test (tc, rng_double_is_uniform_on_unit_interval);
  tcase_add_test (tc, rng_below_is_in_range_and_unbiased);
  suite_add_tcase (suite, tc);
  return suite;
}
