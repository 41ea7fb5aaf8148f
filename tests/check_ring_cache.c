/* check_ring_cache.c — shared rings are the rings their members would
 * build, one per membership, freed with their last holder. */
#include "suites.h"
#include "ring_cache.h"

static DkRingNode *
random_members (GRand *rand, guint n, char names[][16])
{
  DkRingNode *members = g_new0 (DkRingNode, n);
  for (guint i = 0; i < n; i++)
    {
      g_snprintf (names[i], 16, "n%u", i + 1);
      members[i] = (DkRingNode) { .id = i + 1, .name = names[i],
                                  .weight = (guint) g_rand_int_range (rand, 1, 3) };
    }
  return members;
}

static void
shuffle (GRand *rand, DkRingNode *members, guint n)
{
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      DkRingNode swap = members[i - 1];
      members[i - 1] = members[j];
      members[j] = swap;
    }
}

/* Any order of the same members gives the same shared ring, equal to one
 * built from scratch; another membership gives another ring. */
START_TEST (ring_cache_shares_one_ring_per_membership_in_any_order)
{
  int rounds = dk_test_iterations (40);
  for (int seed = 0; seed < rounds; seed++)
    {
      GRand *rand = g_rand_new_with_seed ((guint32) seed);
      guint n = (guint) g_rand_int_range (rand, 1, 12);
      char names[12][16];
      g_autofree DkRingNode *members = random_members (rand, n, names);
      g_autoptr (DkRingCache) cache = dk_ring_cache_new (16);
      const DkRing *first = dk_ring_cache_acquire (cache, members, n, NULL);
      shuffle (rand, members, n);
      const DkRing *second = dk_ring_cache_acquire (cache, members, n, NULL);
      ck_assert_ptr_eq (first, second);
      ck_assert_uint_eq (dk_ring_cache_size (cache), 1);

      g_autoptr (DkRing) fresh = dk_ring_new_random_tokens (16);
      ck_assert (dk_ring_add_nodes (fresh, members, n, NULL));
      ck_assert (dk_ring_equal (first, fresh));

      const DkRing *smaller = n > 1 ? dk_ring_cache_acquire (cache, members, n - 1, NULL) : NULL;
      if (smaller != NULL)
        {
          ck_assert_ptr_ne (smaller, first);
          ck_assert_uint_eq (dk_ring_cache_size (cache), 2);
          dk_ring_cache_release (cache, smaller);
        }
      dk_ring_cache_release (cache, first);
      ck_assert_uint_eq (dk_ring_cache_size (cache), 1);   /* still held once */
      dk_ring_cache_release (cache, second);
      ck_assert_uint_eq (dk_ring_cache_size (cache), 0);
      g_rand_free (rand);
    }
}
END_TEST

START_TEST (ring_cache_refuses_invalid_membership)
{
  g_autoptr (DkRingCache) cache = dk_ring_cache_new (8);
  DkRingNode twins[] = { { .id = 1, .name = "a" }, { .id = 1, .name = "b" } };
  g_autoptr (GError) error = NULL;
  ck_assert_ptr_null (dk_ring_cache_acquire (cache, twins, 2, &error));
  ck_assert_ptr_nonnull (error);
  ck_assert_uint_eq (dk_ring_cache_size (cache), 0);
}
END_TEST

/* Members that differ only in a name, a datacenter, a rack or a weight
 * get rings of their own, even where the strings would read the same run
 * together ("ab" + "c" against "a" + "bc"), or where NULL meets "". */
START_TEST (ring_cache_tells_every_field_of_a_member_apart)
{
  g_autoptr (DkRingCache) cache = dk_ring_cache_new (8);
  DkRingNode variants[][2] = {
    { { .id = 1, .name = "a" }, { .id = 2, .name = "b", .datacenter = "ab", .rack = "c" } },
    { { .id = 1, .name = "a" }, { .id = 2, .name = "b", .datacenter = "a", .rack = "bc" } },
    { { .id = 1, .name = "a" }, { .id = 2, .name = "bb", .datacenter = "a", .rack = "bc" } },
    { { .id = 1, .name = "a" }, { .id = 2, .name = "bb", .datacenter = "a", .rack = "bc", .weight = 2 } },
    { { .id = 1, .name = "a" }, { .id = 3, .name = "bb", .datacenter = "a", .rack = "bc", .weight = 2 } },
  };
  const DkRing *rings[G_N_ELEMENTS (variants)];
  for (gsize i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      rings[i] = dk_ring_cache_acquire (cache, variants[i], 2, NULL);
      ck_assert_ptr_nonnull (rings[i]);
      ck_assert_uint_eq (dk_ring_cache_size (cache), i + 1);
    }
  /* NULL strings and weight 0 read as "" and 1. */
  DkRingNode same[] = { { .id = 1, .name = "a", .datacenter = "", .rack = "", .weight = 1 },
                        { .id = 2, .name = "b", .datacenter = "ab", .rack = "c", .weight = 1 } };
  ck_assert_ptr_eq (dk_ring_cache_acquire (cache, same, 2, NULL), rings[0]);
  dk_ring_cache_release (cache, rings[0]);
  for (gsize i = 0; i < G_N_ELEMENTS (variants); i++)
    dk_ring_cache_release (cache, rings[i]);
  ck_assert_uint_eq (dk_ring_cache_size (cache), 0);
}
END_TEST

Suite *
ring_cache_suite (void)
{
  Suite *suite = suite_create ("ring_cache");
  TCase *tc = tcase_create ("ring_cache");
  tcase_add_test (tc, ring_cache_shares_one_ring_per_membership_in_any_order);
  tcase_add_test (tc, ring_cache_refuses_invalid_membership);
  tcase_add_test (tc, ring_cache_tells_every_field_of_a_member_apart);
  suite_add_tcase (suite, tc);
  return suite;
}
