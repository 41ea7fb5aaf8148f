/* check_hash.c — dk_hash64 is stable and mixes well. */
#include <string.h>
#include "suites.h"
#include "hash.h"

/* Pinned outputs: if one of these changes, every key in every deployed
 * cluster moves.  They were computed once from the reference
 * implementation and must never be edited to make a test pass. */
START_TEST (hash_matches_pinned_vectors)
{
  static const struct { const char *input; guint64 expected; } vectors[] = {
    { "",                     G_GUINT64_CONSTANT (0x48218226ff3cd4bf) },
    { "a",                    G_GUINT64_CONSTANT (0xc89470d67bfaa763) },
    { "user:42",              G_GUINT64_CONSTANT (0x297055412c68d5b8) },
    { "last_logged_in_at",    G_GUINT64_CONSTANT (0x68e3f5ef1d25343a) },
    { "253DDC3ASF",           G_GUINT64_CONSTANT (0x44fea5dc76210b03) },
    { "0123456789abcdef",     G_GUINT64_CONSTANT (0xa9e5cab21f0dfd47) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    ck_assert_msg (dk_hash64 (vectors[i].input, strlen (vectors[i].input)) == vectors[i].expected,
                   "dk_hash64(\"%s\") = 0x%016" G_GINT64_MODIFIER "x", vectors[i].input,
                   dk_hash64 (vectors[i].input, strlen (vectors[i].input)));
}
END_TEST

/* Inputs that differ only in length or trailing zero bytes hash apart. */
START_TEST (hash_separates_lengths_and_zero_tails)
{
  guint8 zeros[17] = { 0 };
  GHashTable *seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  static gint64 values[18];
  for (gsize len = 0; len <= 17; len++)
    {
      values[len] = (gint64) dk_hash64 (zeros, len);
      ck_assert_msg (!g_hash_table_contains (seen, &values[len]), "collision at len %zu", len);
      g_hash_table_add (seen, &values[len]);
    }
  g_hash_table_destroy (seen);
}
END_TEST

/* Avalanche: flipping any one input bit flips each output bit with a
 * probability near 1/2, over many random keys. */
START_TEST (hash_flips_half_the_bits_for_one_input_bit)
{
  GRand *rand = g_rand_new_with_seed (7);
  int keys = dk_test_iterations (2000);
  double flips = 0, trials = 0;
  for (int k = 0; k < keys; k++)
    {
      guint8 key[24];
      gsize len = 1 + g_rand_int_range (rand, 0, sizeof key);
      for (gsize i = 0; i < len; i++)
        key[i] = (guint8) g_rand_int (rand);
      guint64 base = dk_hash64 (key, len);
      gsize bit = g_rand_int_range (rand, 0, (gint32) (len * 8));
      key[bit / 8] ^= (guint8) (1u << (bit % 8));
      flips += __builtin_popcountll (base ^ dk_hash64 (key, len));
      trials += 64;
    }
  double ratio = flips / trials;
  ck_assert_msg (ratio > 0.48 && ratio < 0.52, "bit flip ratio %.4f", ratio);
  g_rand_free (rand);
}
END_TEST

/* Sequential keys ("key0", "key1", ...) fill 64 buckets evenly. */
START_TEST (hash_spreads_sequential_keys_evenly)
{
  enum { BUCKETS = 64 };
  int counts[BUCKETS] = { 0 };
  int keys = dk_test_iterations (64000);
  for (int i = 0; i < keys; i++)
    {
      char key[32];
      int len = g_snprintf (key, sizeof key, "key%d", i);
      counts[dk_hash64 (key, len) >> 58]++;
    }
  double expected = (double) keys / BUCKETS, chi2 = 0;
  for (int b = 0; b < BUCKETS; b++)
    chi2 += (counts[b] - expected) * (counts[b] - expected) / expected;
  /* 63 degrees of freedom: chi2 > 110 has probability < 0.0002. */
  ck_assert_msg (chi2 < 110, "chi-square %.1f over %d buckets", chi2, BUCKETS);
}
END_TEST

START_TEST (hash_seed_changes_output)
{
  ck_assert (dk_hash64_seeded ("k", 1, 1) != dk_hash64_seeded ("k", 1, 2));
  ck_assert (dk_hash64_seeded ("k", 1, 0) == dk_hash64 ("k", 1));
}
END_TEST

Suite *
hash_suite (void)
{
  Suite *suite = suite_create ("hash");
  TCase *tc = tcase_create ("hash");
  tcase_add_test (tc, hash_matches_pinned_vectors);
  tcase_add_test (tc, hash_separates_lengths_and_zero_tails);
  tcase_add_test (tc, hash_flips_half_the_bits_for_one_input_bit);
  tcase_add_test (tc, hash_spreads_sequential_keys_evenly);
  tcase_add_test (tc, hash_seed_changes_output);
  suite_add_tcase (suite, tc);
  return suite;
}
