/* check_store_memkv.c — a store whose kv table is in memory
 * (options.kv_in_memory, the simulator's) answers exactly as one whose
 * table is in SQLite: the same sets, scans in the same order, the same
 * digests, totals and collections, under a random mix of writes; and it
 * refuses what it cannot do. */
#include <string.h>
#include <glib/gstdio.h>
#include "suites.h"
#include "hash.h"
#include "store.h"

#define KEY_POOL 400

static DkStore *
open_ok (gboolean kv_in_memory)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.kv_in_memory = kv_in_memory;
  options.tombstone_grace_us = 500;
  options.compress_threshold_bytes = 64;
  options.cache_bytes = 4096;  /* small: most reads miss and go to the table */
  options.writes_per_commit = 16;
  g_autoptr(GError) error = NULL;
  DkStore *store = dk_store_open (":memory:", &options, &error);
  ck_assert_msg (store != NULL, "open: %s", error ? error->message : "?");
  return store;
}

/* Key I of the pool: some keys are prefixes of others ("k1", "k1x"...). */
static GBytes *
pool_key (guint i)
{
  g_autofree char *text = g_strdup_printf ("k%u%.*s", i / 3, (int) (i % 3), "xy");
  return g_bytes_new (text, strlen (text));
}

static DkToken
pool_token (guint i)
{
  g_autoptr(GBytes) key = pool_key (i);
  gsize len = 0;
  const void *data = g_bytes_get_data (key, &len);
  return dk_hash64 (data, len);
}

/* A random version from one of four writers, a tombstone one time in
 * three; values are empty, short, or long and compressible. */
static DkVersion *
random_version (GRand *rand, guint *counters)
{
  guint writer = (guint) g_rand_int_range (rand, 0, 4);
  guint counter = ++counters[writer];
  DkActor actor = dk_actor_make (writer + 1, 7);
  DkVclock *context = dk_vclock_new ();
  if (counter > 1 && g_rand_boolean (rand))
    dk_vclock_raise (context, actor, counter - 1, counter - 1);
  gboolean tombstone = g_rand_int_range (rand, 0, 3) == 0;
  gsize len = tombstone ? 0 : (gsize) g_rand_int_range (rand, 0, 300);
  guint8 *data = g_malloc (len + 1);
  gboolean compressible = g_rand_boolean (rand);
  for (gsize i = 0; i < len; i++)
    data[i] = compressible ? (guint8) ("ring"[i % 4]) : (guint8) g_rand_int (rand);
  g_autoptr(GBytes) value = g_bytes_new_take (data, len);
  DkDot dot = { actor, counter, counter };
  return dk_version_new (dot, context, tombstone ? NULL : value, tombstone);
}

/* What a scan saw: each row's token, key and digest, in order, and a
 * digest of its set. */
static gboolean
record_row (DkToken token, GBytes *key, guint64 digest, const GPtrArray *siblings,
            gpointer user_data)
{
  GString *seen = user_data;
  gsize len = 0;
  const char *data = g_bytes_get_data (key, &len);
  g_string_append_printf (seen, "%016" G_GINT64_MODIFIER "x %.*s %016" G_GINT64_MODIFIER
                          "x %016" G_GINT64_MODIFIER "x\n", token, (int) len, data, digest,
                          dk_siblings_digest (siblings));
  return TRUE;
}

static gboolean
record_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  g_autoptr(GPtrArray) none = dk_siblings_new ();
  return record_row (token, key, digest, none, user_data);
}

/* Stops after the third row. */
static gboolean
record_three (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  record_key (token, key, digest, user_data);
  return strlen (((GString *) user_data)->str) < 3 * 40;
}

static char *
scan_text (DkStore *store, DkToken lo, DkToken hi, int how)
{
  GString *seen = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gboolean ok = how == 0 ? dk_store_scan_sets (store, lo, hi, record_row, seen, &error)
                : how == 1 ? dk_store_scan (store, lo, hi, record_key, seen, &error)
                : dk_store_scan (store, lo, hi, record_three, seen, &error);
  ck_assert_msg (ok, "scan: %s", error ? error->message : "?");
  return g_string_free (seen, FALSE);
}

static void
assert_same_stores (DkStore *sql, DkStore *mem, GRand *rand)
{
  g_autofree char *all_sql = scan_text (sql, 0, 0, 0);
  g_autofree char *all_mem = scan_text (mem, 0, 0, 0);
  ck_assert_str_eq (all_mem, all_sql);
  for (int r = 0; r < 6; r++)
    {
      DkToken lo = ((DkToken) g_rand_int (rand) << 32) | g_rand_int (rand);
      DkToken hi = r == 5 ? G_MAXUINT64 : ((DkToken) g_rand_int (rand) << 32) | g_rand_int (rand);
      if (r < 3)  /* bounds on keys' tokens: LO excluded, HI included */
        {
          lo = pool_token ((guint) g_rand_int_range (rand, 0, KEY_POOL));
          hi = pool_token ((guint) g_rand_int_range (rand, 0, KEY_POOL));
        }
      g_autofree char *range_sql = scan_text (sql, lo, hi, 1 + r % 2);
      g_autofree char *range_mem = scan_text (mem, lo, hi, 1 + r % 2);
      ck_assert_str_eq (range_mem, range_sql);
      guint64 digest_sql = 0, digest_mem = 1, n_sql = 0, n_mem = 1;
      ck_assert (dk_store_range_digest (sql, lo, hi, &digest_sql, &n_sql, NULL));
      ck_assert (dk_store_range_digest (mem, lo, hi, &digest_mem, &n_mem, NULL));
      ck_assert (digest_mem == digest_sql);
      ck_assert_uint_eq (n_mem, n_sql);
    }
  DkStoreStats stats_sql, stats_mem;
  ck_assert (dk_store_get_stats (sql, &stats_sql, NULL));
  ck_assert (dk_store_get_stats (mem, &stats_mem, NULL));
  ck_assert_uint_eq (stats_mem.keys, stats_sql.keys);
  ck_assert_uint_eq (stats_mem.stored_bytes, stats_sql.stored_bytes);
  ck_assert_uint_eq (stats_mem.compression_saved_bytes, stats_sql.compression_saved_bytes);
  ck_assert_uint_eq (stats_mem.tombstones_collected, stats_sql.tombstones_collected);
  ck_assert_uint_eq (stats_mem.dot_collisions, stats_sql.dot_collisions);
}

START_TEST (store_memkv_answers_as_the_sqlite_table_does)
{
  g_autoptr(DkStore) sql = open_ok (FALSE);
  g_autoptr(DkStore) mem = open_ok (TRUE);
  GRand *rand = g_rand_new_with_seed (11);
  guint counters[4] = { 0 };
  guint refused = 0;
  gint64 now_us = 0;
  /* Not fewer than 1,000 steps, even under valgrind: the mix must leave
   * rows to compare and reach the sibling cap (a crowded put is one step
   * in 140) for the last two assertions to mean anything. */
  int steps = MAX (dk_test_iterations (4000), 1000);
  for (int step = 0; step < steps; step++)
    {
      g_autoptr(GBytes) key = pool_key ((guint) g_rand_int_range (rand, 0, KEY_POOL));
      int what = g_rand_int_range (rand, 0, 20);
      now_us += g_rand_int_range (rand, 0, 40);
      if (what == 0)
        {
          ck_assert (dk_store_purge (sql, key, NULL));
          ck_assert (dk_store_purge (mem, key, NULL));
        }
      else if (what == 1)
        {
          guint collected_sql = 0, collected_mem = 1;
          ck_assert (dk_store_collect_tombstones (sql, now_us, &collected_sql, NULL));
          ck_assert (dk_store_collect_tombstones (mem, now_us, &collected_mem, NULL));
          ck_assert_uint_eq (collected_mem, collected_sql);
        }
      else if (what == 2 && step % 7 == 0)
        {
          /* 100 versions concurrent with everything on one key: the
           * third such put passes the hard cap, refused by both. */
          g_autoptr(GPtrArray) incoming = dk_siblings_new ();
          for (guint i = 0; i < 100; i++)
            {
              DkDot dot = { dk_actor_make (100 + (guint) step, i), 1, 1 };
              g_autoptr(GBytes) value = g_bytes_new ("many", 4);
              g_ptr_array_add (incoming, dk_version_new (dot, dk_vclock_new (), value, FALSE));
            }
          g_autoptr(GBytes) crowded = pool_key (0);
          g_autoptr(GError) error_sql = NULL;
          g_autoptr(GError) error_mem = NULL;
          gboolean ok_sql = dk_store_put (sql, crowded, incoming, now_us, NULL, &error_sql);
          gboolean ok_mem = dk_store_put (mem, crowded, incoming, now_us, NULL, &error_mem);
          ck_assert_int_eq (ok_mem, ok_sql);
          refused += !ok_mem;
          if (!ok_mem)
            ck_assert_int_eq (error_mem->code, error_sql->code);
        }
      else if (what < 8)
        {
          g_autoptr(GPtrArray) got_sql = dk_store_get (sql, key, NULL);
          g_autoptr(GPtrArray) got_mem = dk_store_get (mem, key, NULL);
          ck_assert (got_sql != NULL && got_mem != NULL);
          ck_assert (dk_siblings_equal (got_mem, got_sql));
          /* The caller's own copy: changing it changes nothing stored. */
          g_ptr_array_set_size (got_mem, 0);
          g_autoptr(GPtrArray) again = dk_store_get (mem, key, NULL);
          ck_assert (dk_siblings_equal (again, got_sql));
          /* The digest kept with the row is the set's, as computed. */
          guint64 digest_sql = 0, digest_mem = 0;
          g_autoptr(GPtrArray) digested_sql = dk_store_get_digested (sql, key, &digest_sql, NULL);
          g_autoptr(GPtrArray) digested_mem = dk_store_get_digested (mem, key, &digest_mem, NULL);
          ck_assert (dk_siblings_equal (digested_mem, got_sql));
          ck_assert_uint_eq (digest_sql, dk_siblings_digest (got_sql));
          ck_assert_uint_eq (digest_mem, digest_sql);
          /* A read lends the memory table's own set, with its digest. */
          gboolean lent_sql = TRUE, lent_mem = FALSE;
          guint64 read_digest_sql = 0, read_digest_mem = 0;
          GPtrArray *read_sql = dk_store_read (sql, key, &read_digest_sql, &lent_sql, NULL);
          GPtrArray *read_mem = dk_store_read (mem, key, &read_digest_mem, &lent_mem, NULL);
          ck_assert (!lent_sql);
          ck_assert_int_eq (lent_mem, got_sql->len > 0);
          ck_assert (dk_siblings_equal (read_mem, got_sql) && dk_siblings_equal (read_sql, got_sql));
          ck_assert_uint_eq (read_digest_mem, digest_sql);
          ck_assert_uint_eq (read_digest_sql, digest_sql);
          g_ptr_array_unref (read_sql);
          if (!lent_mem)
            g_ptr_array_unref (read_mem);
        }
      else
        {
          g_autoptr(GPtrArray) incoming = dk_siblings_new ();
          g_ptr_array_add (incoming, random_version (rand, counters));
          gboolean changed_sql = FALSE, changed_mem = FALSE;
          ck_assert (dk_store_put (sql, key, incoming, now_us, &changed_sql, NULL));
          ck_assert (dk_store_put (mem, key, incoming, now_us, &changed_mem, NULL));
          ck_assert_int_eq (changed_mem, changed_sql);
        }
      if (step % 100 == 99)
        assert_same_stores (sql, mem, rand);
    }
  assert_same_stores (sql, mem, rand);
  guint64 n_keys = 0;
  ck_assert (dk_store_count_keys (mem, &n_keys, NULL));
  ck_assert_uint_gt (n_keys, KEY_POOL / 4);  /* the mix did leave rows to compare */
  ck_assert_uint_gt (refused, 0);
  g_rand_free (rand);
}
END_TEST

START_TEST (store_memkv_is_only_for_memory_stores_without_batches)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.kv_in_memory = TRUE;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dk-memkv-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "node.db", NULL);
  ck_assert (dk_store_open (path, &options, &error) == NULL);
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "kv_in_memory") != NULL, "%s", error->message);
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));
  g_rmdir (dir);
  g_clear_error (&error);

  /* A copy of an in-memory template keeps the option, and its own rows. */
  g_autoptr(DkStore) model = open_ok (TRUE);
  g_autoptr(DkStore) one = dk_store_open_like (model, NULL);
  g_autoptr(DkStore) two = dk_store_open_like (model, NULL);
  ck_assert (one != NULL && two != NULL);
  g_autoptr(GBytes) key = pool_key (1);
  g_autoptr(GPtrArray) incoming = dk_siblings_new ();
  guint counters[4] = { 0 };
  GRand *rand = g_rand_new_with_seed (3);
  g_ptr_array_add (incoming, random_version (rand, counters));
  ck_assert (dk_store_put (one, key, incoming, 1, NULL, NULL));
  guint64 n_one = 0, n_two = 1;
  ck_assert (dk_store_count_keys (one, &n_one, NULL));
  ck_assert (dk_store_count_keys (two, &n_two, NULL));
  ck_assert_uint_eq (n_one, 1);
  ck_assert_uint_eq (n_two, 0);
  ck_assert (!dk_store_begin (one, &error));
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_INVALID));
  g_rand_free (rand);
}
END_TEST

/* Metadata lives in memory too, and the SQLite side opens with the
 * first hint: before it, hint reads see none; after it, hints behave. */
START_TEST (store_memkv_keeps_meta_and_opens_sqlite_for_hints)
{
  g_autoptr(DkStore) model = open_ok (TRUE);
  g_autoptr(DkStore) store = dk_store_open_like (model, NULL);
  gint64 value = 0;
  gboolean found = TRUE;
  ck_assert (dk_store_meta_get (store, "actor", &value, &found, NULL));
  ck_assert (!found);
  ck_assert (dk_store_meta_set (store, "actor", 41, NULL));
  ck_assert (dk_store_meta_set (store, "actor", 42, NULL));
  ck_assert (dk_store_meta_get (store, "actor", &value, &found, NULL));
  ck_assert (found);
  ck_assert_int_eq (value, 42);

  g_autoptr(GPtrArray) none = dk_store_hints_for_owner (store, 3, 0, NULL);
  ck_assert (none != NULL);
  ck_assert_uint_eq (none->len, 0);
  g_autoptr(GError) error = NULL;
  ck_assert (dk_store_hint_get (store, 1, &error) == NULL);
  ck_assert (error == NULL);
  ck_assert (dk_store_hint_remove (store, 1, NULL));
  ck_assert_uint_eq (dk_store_hint_count (store, DK_NODE_NONE), 0);

  guint counters[4] = { 0 };
  GRand *rand = g_rand_new_with_seed (9);
  g_autoptr(GPtrArray) siblings = dk_siblings_new ();
  g_ptr_array_add (siblings, random_version (rand, counters));
  g_autoptr(GBytes) key = pool_key (5);
  gint64 id = 0;
  ck_assert (dk_store_hint_add (store, 3, key, siblings, 10, &id, NULL));
  ck_assert (dk_store_hint_add (store, 4, key, siblings, 11, NULL, NULL));
  ck_assert_uint_eq (dk_store_hint_count (store, 3), 1);
  ck_assert_uint_eq (dk_store_hint_count (store, DK_NODE_NONE), 2);
  g_autoptr(GPtrArray) held = dk_store_hints_for_owner (store, 3, 0, NULL);
  ck_assert_uint_eq (held->len, 1);
  DkStoreHint *hint = g_ptr_array_index (held, 0);
  ck_assert (g_bytes_equal (hint->key, key));
  ck_assert (dk_siblings_equal (hint->siblings, siblings));
  ck_assert (dk_store_hint_remove (store, id, NULL));
  ck_assert_uint_eq (dk_store_hint_count (store, 3), 0);
  ck_assert (dk_store_integrity_check (store, NULL));
  /* The metadata did not move when SQLite opened. */
  ck_assert (dk_store_meta_get (store, "actor", &value, &found, NULL));
  ck_assert_int_eq (value, 42);
  /* Nor did the template get any of it. */
  ck_assert_uint_eq (dk_store_hint_count (model, DK_NODE_NONE), 0);
  ck_assert (dk_store_meta_get (model, "actor", &value, &found, NULL));
  ck_assert (!found);

  /* Discarding the rows (as a finished run does once it read them)
   * empties the kv table and its totals, and nothing else: a hint and the
   * metadata stay, and the store still takes writes. */
  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(GBytes) other = pool_key (i);
      ck_assert (dk_store_put (store, other, siblings, 0, NULL, NULL));
    }
  ck_assert (dk_store_hint_add (store, 6, key, siblings, 12, NULL, NULL));
  dk_store_discard_memory_rows (store);
  DkStoreStats stats;
  ck_assert (dk_store_get_stats (store, &stats, NULL));
  ck_assert_uint_eq (stats.keys, 0);
  ck_assert_uint_eq (stats.stored_bytes, 0);
  ck_assert_uint_eq (dk_store_hint_count (store, 6), 1);
  ck_assert (dk_store_meta_get (store, "actor", &value, &found, NULL));
  ck_assert_int_eq (value, 42);
  g_autoptr(GPtrArray) gone = dk_store_get (store, key, NULL);
  ck_assert_uint_eq (gone->len, 0);
  ck_assert (dk_store_put (store, key, siblings, 0, NULL, NULL));
  g_autoptr(GPtrArray) back = dk_store_get (store, key, NULL);
  ck_assert (dk_siblings_equal (back, siblings));
  ck_assert (dk_store_get_stats (store, &stats, NULL));
  ck_assert_uint_eq (stats.keys, 1);
  g_rand_free (rand);
}
END_TEST

Suite *
store_memkv_suite (void)
{
  Suite *suite = suite_create ("store_memkv");
  TCase *tc = tcase_create ("memkv");
  dk_tcase_no_wall_limit (tc);
  tcase_add_test (tc, store_memkv_answers_as_the_sqlite_table_does);
  tcase_add_test (tc, store_memkv_is_only_for_memory_stores_without_batches);
  tcase_add_test (tc, store_memkv_keeps_meta_and_opens_sqlite_for_hints);
  suite_add_tcase (suite, tc);
  return suite;
}
