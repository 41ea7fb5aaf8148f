/* check_store.c — the SQLite store keeps what it acknowledged, reconciles
 * versions into siblings, bounds hints and its cache, compresses, refuses
 * bad input and bad files clearly, and survives faults and SIGKILL. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include "suites.h"
#include "hash.h"
#include "store.h"

/* ---- helpers --------------------------------------------------------------- */

static char *test_dir; /* a fresh temporary directory per test */

static void
make_test_dir (void)
{
  g_autoptr(GError) error = NULL;
  test_dir = g_dir_make_tmp ("dk-store-XXXXXX", &error);
  ck_assert_msg (test_dir != NULL, "g_dir_make_tmp: %s", error ? error->message : "?");
}

static void
remove_test_dir (void)
{
  GDir *dir = g_dir_open (test_dir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (test_dir, name, NULL);
      g_unlink (path);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (test_dir);
  g_clear_pointer (&test_dir, g_free);
}

static char *
test_path (const char *name)
{
  return g_build_filename (test_dir, name, NULL);
}

static void
remove_db (const char *path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
      g_unlink (file);
    }
}

static GBytes *
key_new (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

/* The actor node NODE writes as in these tests. */
static DkActor
actor_of (DkNodeId node)
{
  return dk_actor_make (node, 0x5eed);
}

/* NODE's write number COUNTER: the dot (NODE's actor, COUNTER) with a
 * context covering NODE's earlier writes, so each replaces the ones
 * before it from the same node and nothing else. */
static DkVersion *
version_new (DkNodeId node, guint counter, const char *value, gboolean tombstone)
{
  DkVclock *context = dk_vclock_new ();
  if (counter > 1)
    dk_vclock_raise (context, actor_of (node), counter - 1, 1000 + counter - 1);
  g_autoptr(GBytes) bytes = g_bytes_new (value, value ? strlen (value) : 0);
  DkDot dot = { actor_of (node), counter, 1000 + counter };
  return dk_version_new (dot, context, tombstone ? NULL : bytes, tombstone);
}

/* Put one version (ownership taken) under KEY. */
static gboolean
put_one (DkStore *store, const char *key, DkVersion *version, gint64 now_us,
         gboolean *changed, GError **error)
{
  g_autoptr(GPtrArray) incoming = dk_siblings_new ();
  g_ptr_array_add (incoming, version);
  g_autoptr(GBytes) key_bytes = key_new (key);
  return dk_store_put (store, key_bytes, incoming, now_us, changed, error);
}

static GPtrArray *
get_ok (DkStore *store, const char *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key_bytes = key_new (key);
  GPtrArray *siblings = dk_store_get (store, key_bytes, &error);
  ck_assert_msg (siblings != NULL, "get %s: %s", key, error ? error->message : "?");
  return siblings;
}

static DkStore *
open_ok (const char *path, const DkStoreOptions *options)
{
  g_autoptr(GError) error = NULL;
  DkStore *store = dk_store_open (path, options, &error);
  ck_assert_msg (store != NULL, "open %s: %s", path, error ? error->message : "?");
  return store;
}

static const char *
version_text (const DkVersion *version)
{
  static char text[256];
  gsize len = 0;
  const char *data = g_bytes_get_data (version->value, &len);
  g_snprintf (text, sizeof text, "%.*s", (int) MIN (len, sizeof text - 1), data ? data : "");
  return text;
}

static guint64
stats_of (DkStore *store, DkStoreStats *stats)
{
  g_autoptr(GError) error = NULL;
  ck_assert_msg (dk_store_get_stats (store, stats, &error), "stats: %s",
                 error ? error->message : "?");
  return stats->keys;
}

/* ---- persistence against a model ------------------------------------------ */

/* A random value: compressible text, random bytes, or empty. */
static GBytes *
random_value (GRand *rand)
{
  gsize len = (gsize) g_rand_int_range (rand, 0, 3000);
  guint8 *data = g_malloc (len + 1);
  gboolean compressible = g_rand_boolean (rand);
  for (gsize i = 0; i < len; i++)
    data[i] = compressible ? (guint8) ("dynamo"[i % 6]) : (guint8) g_rand_int (rand);
  return g_bytes_new_take (data, len);
}

static void
assert_store_matches_model (DkStore *store, GPtrArray *keys, GHashTable *model)
{
  for (guint i = 0; i < keys->len; i++)
    {
      GBytes *key = g_ptr_array_index (keys, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) stored = dk_store_get (store, key, &error);
      ck_assert_msg (stored != NULL, "get: %s", error ? error->message : "?");
      GPtrArray *expected = g_hash_table_lookup (model, key);
      if (expected == NULL)
        ck_assert_uint_eq (stored->len, 0);
      else
        ck_assert_msg (dk_siblings_equal (stored, expected), "key %u differs from the model", i);
    }
  guint64 n_keys = 0;
  ck_assert (dk_store_count_keys (store, &n_keys, NULL));
  ck_assert_uint_eq (n_keys, g_hash_table_size (model));
}

/* Run twice: every write committed alone (_i == 0), and writes grouped
 * seven per transaction (the simulator's option), which a close commits. */
START_TEST (store_reopen_returns_every_acknowledged_write)
{
  g_autofree char *path = test_path ("model.db");
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.writes_per_commit = _i == 0 ? 0 : 7;
  options.cache_bytes = 16 * 1024;          /* small: evictions happen */
  options.compress_threshold_bytes = 100;
  GRand *rand = g_rand_new_with_seed (11);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (int i = 0; i < 40; i++)
    {
      g_autofree char *text = g_strdup_printf ("key-%d", i);
      g_ptr_array_add (keys, key_new (text));
    }
  static const guint8 binary_key[] = { 0, 1, 0, 255, 0 };
  g_ptr_array_add (keys, g_bytes_new_static (binary_key, sizeof binary_key));
  GHashTable *model = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, NULL,
                                             (GDestroyNotify) g_ptr_array_unref);
  DkStore *store = open_ok (path, &options);
  int operations = dk_test_iterations (1500);
  guint refused = 0, max_siblings = 0;
  guint64 counters[6] = { 0 };
  for (int op = 0; op < operations; op++)
    {
      GBytes *key = g_ptr_array_index (keys, g_rand_int_range (rand, 0, (gint32) keys->len));
      GPtrArray *current = g_hash_table_lookup (model, key);
      g_autoptr(GPtrArray) expected = current ? dk_siblings_copy (current) : dk_siblings_new ();
      /* Mostly a write that saw the current versions, sometimes a blind
       * one, each with the next dot of one of five writers. */
      DkVclock *context = g_rand_double (rand) < 0.6 ? dk_siblings_context (expected) : NULL;
      DkNodeId writer = (DkNodeId) g_rand_int_range (rand, 1, 6);
      DkDot dot = { actor_of (writer), ++counters[writer], op };
      gboolean tombstone = g_rand_double (rand) < 0.1;
      g_autoptr(GBytes) value = tombstone ? NULL : random_value (rand);
      g_autoptr(DkVersion) version = dk_version_new (dot, context, value, tombstone);
      gboolean model_changed = dk_siblings_add (expected, dk_version_copy (version), NULL);

      g_autoptr(GPtrArray) incoming = dk_siblings_new ();
      g_ptr_array_add (incoming, dk_version_copy (version));
      g_autoptr(GError) error = NULL;
      gboolean changed = FALSE;
      gboolean ok = dk_store_put (store, key, incoming, op, &changed, &error);
      max_siblings = MAX (max_siblings, expected->len);
      if (expected->len > DK_SIBLINGS_HARD_MAX)
        {
          ck_assert (!ok);
          ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE));
          refused++;
        }
      else
        {
          ck_assert_msg (ok, "put: %s", error ? error->message : "?");
          ck_assert_int_eq (changed, model_changed);
          g_hash_table_replace (model, key, g_steal_pointer (&expected));
        }
      if (op % 300 == 299)
        {
          dk_store_close (store);
          store = open_ok (path, &options);
        }
    }
  dk_store_close (store);
  store = open_ok (path, &options);
  assert_store_matches_model (store, keys, model);
  g_autoptr(GError) error = NULL;
  ck_assert_msg (dk_store_integrity_check (store, &error), "%s", error ? error->message : "");
  DkStoreStats stats;
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.dot_collisions, 0);
  ck_assert_uint_eq (refused, 0);
  /* Blind writes piled up past the client's limit: a merge stores them. */
  if (operations >= 1000)
    ck_assert_uint_gt (max_siblings, DK_SIBLINGS_MAX);
  dk_store_close (store);
  g_hash_table_destroy (model);
  g_rand_free (rand);
}
END_TEST

/* ---- versions and siblings ------------------------------------------------- */

/* Metadata is absent until set, then survives a reopen with its last value. */
START_TEST (store_meta_is_durable_and_last_write_wins)
{
  g_autofree char *path = test_path ("meta.db");
  g_autoptr (GError) error = NULL;
  gint64 value = 7;
  gboolean found = TRUE;
  DkStore *store = open_ok (path, NULL);
  ck_assert (dk_store_meta_get (store, "actor", &value, &found, &error));
  ck_assert (!found);
  ck_assert_int_eq (value, 7);
  ck_assert (dk_store_meta_set (store, "actor", 41, &error));
  ck_assert (dk_store_meta_set (store, "actor", -42, &error));
  dk_store_close (store);
  store = open_ok (path, NULL);
  ck_assert (dk_store_meta_get (store, "actor", &value, &found, &error));
  ck_assert (found);
  ck_assert_int_eq (value, -42);
  ck_assert (dk_store_meta_get (store, "other", &value, &found, &error));
  ck_assert (!found);
  dk_store_close (store);
  remove_db (path);
}
END_TEST

START_TEST (store_concurrent_puts_become_siblings_and_context_resolves_them)
{
  DkStore *store = open_ok (":memory:", NULL);
  gboolean changed = FALSE;
  ck_assert (put_one (store, "cart", version_new (1, 1, "milk", FALSE), 10, &changed, NULL));
  ck_assert (changed);
  ck_assert (put_one (store, "cart", version_new (2, 1, "eggs", FALSE), 11, &changed, NULL));
  ck_assert (changed);
  g_autoptr(GPtrArray) siblings = get_ok (store, "cart");
  ck_assert_uint_eq (siblings->len, 2);

  /* Replaying an old version changes nothing. */
  ck_assert (put_one (store, "cart", version_new (1, 1, "milk", FALSE), 12, &changed, NULL));
  ck_assert (!changed);

  /* A put carrying the read's context supersedes both siblings. */
  DkVclock *context = dk_siblings_context (siblings);
  g_autoptr(GBytes) merged = g_bytes_new_static ("milk+eggs", 9);
  DkDot dot = { actor_of (3), 1, 13 };
  ck_assert (put_one (store, "cart", dk_version_new (dot, context, merged, FALSE), 13, &changed, NULL));
  ck_assert (changed);
  g_autoptr(GPtrArray) resolved = get_ok (store, "cart");
  ck_assert_uint_eq (resolved->len, 1);
  ck_assert_str_eq (version_text (g_ptr_array_index (resolved, 0)), "milk+eggs");
  dk_store_close (store);
}
END_TEST

/* One dot arriving with two payloads (a reused counter) is kept once, as
 * the payload sorting last, whichever came first, and counted. */
START_TEST (store_counts_a_dot_met_with_two_payloads_as_a_collision)
{
  DkStore *store = open_ok (":memory:", NULL);
  gboolean changed = FALSE;
  ck_assert (put_one (store, "k", version_new (1, 1, "first", FALSE), 1, &changed, NULL));
  ck_assert (put_one (store, "k", version_new (1, 1, "second", FALSE), 2, &changed, NULL));
  ck_assert (changed);   /* "second" sorts after "first" */
  ck_assert (put_one (store, "k", version_new (1, 1, "first", FALSE), 3, &changed, NULL));
  ck_assert (!changed);
  ck_assert (put_one (store, "k", version_new (1, 1, "second", FALSE), 4, &changed, NULL));
  ck_assert (!changed);  /* the same payload again: no collision */
  DkStoreStats stats;
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.dot_collisions, 2);
  g_autoptr(GPtrArray) siblings = get_ok (store, "k");
  ck_assert_uint_eq (siblings->len, 1);
  ck_assert_str_eq (version_text (g_ptr_array_index (siblings, 0)), "second");

  /* A hint merged with another payload of a dot it holds counts too. */
  g_autoptr(GPtrArray) hint = dk_siblings_new ();
  g_ptr_array_add (hint, version_new (7, 1, "a", FALSE));
  g_autoptr(GBytes) key = key_new ("h");
  ck_assert (dk_store_hint_add (store, 2, key, hint, 5, NULL, NULL));
  g_ptr_array_set_size (hint, 0);
  g_ptr_array_add (hint, version_new (7, 1, "b", FALSE));
  ck_assert (dk_store_hint_add (store, 2, key, hint, 6, NULL, NULL));
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.dot_collisions, 3);
  dk_store_close (store);
}
END_TEST

START_TEST (store_collects_tombstones_only_after_the_grace)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.tombstone_grace_us = 1000;
  DkStore *store = open_ok (":memory:", &options);
  ck_assert (put_one (store, "gone", version_new (1, 1, NULL, TRUE), 5000, NULL, NULL));
  ck_assert (put_one (store, "live", version_new (1, 1, "here", FALSE), 5000, NULL, NULL));
  /* One tombstone sibling next to a live one: not collectable. */
  ck_assert (put_one (store, "half", version_new (1, 1, NULL, TRUE), 5000, NULL, NULL));
  ck_assert (put_one (store, "half", version_new (2, 1, "kept", FALSE), 5000, NULL, NULL));
  /* A tombstone that changed later ages from then. */
  ck_assert (put_one (store, "late", version_new (1, 1, NULL, TRUE), 5000, NULL, NULL));
  ck_assert (put_one (store, "late", version_new (2, 1, NULL, TRUE), 5500, NULL, NULL));

  guint collected = 99;
  ck_assert (dk_store_collect_tombstones (store, 6000, &collected, NULL));
  ck_assert_uint_eq (collected, 0);  /* exactly the grace old: kept */
  ck_assert (dk_store_collect_tombstones (store, 6001, &collected, NULL));
  ck_assert_uint_eq (collected, 1);
  g_autoptr(GPtrArray) gone = get_ok (store, "gone");
  ck_assert_uint_eq (gone->len, 0);
  g_autoptr(GPtrArray) late = get_ok (store, "late");
  ck_assert_uint_eq (late->len, 2);
  ck_assert (dk_store_collect_tombstones (store, 6501, &collected, NULL));
  ck_assert_uint_eq (collected, 1);

  guint64 n_keys = 0;
  ck_assert (dk_store_count_keys (store, &n_keys, NULL));
  ck_assert_uint_eq (n_keys, 2);  /* live and half */
  DkStoreStats stats;
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.tombstones_collected, 2);
  dk_store_close (store);
}
END_TEST

/* ---- hints ------------------------------------------------------------------- */

static gint64
add_hint (DkStore *store, DkNodeId owner, const char *key, const char *value, gint64 now_us,
          GError **error)
{
  g_autoptr(GPtrArray) siblings = dk_siblings_new ();
  g_ptr_array_add (siblings, version_new (7, 1, value, FALSE));
  g_autoptr(GBytes) key_bytes = key_new (key);
  gint64 id = 0;
  return dk_store_hint_add (store, owner, key_bytes, siblings, now_us, &id, error) ? id : 0;
}

START_TEST (store_hints_are_bounded_durable_and_oldest_first)
{
  g_autofree char *path = test_path ("hints.db");
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.hints_max_count = 5;
  options.hints_max_count_per_owner = 3;
  options.hints_max_bytes_per_owner = 4096;
  DkStore *store = open_ok (path, &options);
  ck_assert (add_hint (store, 2, "b", "second", 200, NULL) > 0);
  ck_assert (add_hint (store, 2, "a", "first", 100, NULL) > 0);
  gint64 third = add_hint (store, 2, "c", "third", 300, NULL);
  ck_assert (third > 0);
  /* Merging into a held (owner, key) is not a new hint. */
  ck_assert_int_eq (add_hint (store, 2, "c", "third", 400, NULL), third);

  g_autoptr(GError) error = NULL;
  ck_assert_int_eq (add_hint (store, 2, "d", "fourth", 400, &error), 0);
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_HINTS_FULL));
  ck_assert_msg (strstr (error->message, "node 2") != NULL, "%s", error->message);
  g_clear_error (&error);
  ck_assert (add_hint (store, 3, "x", "x", 500, NULL) > 0);
  ck_assert (add_hint (store, 3, "y", "y", 600, NULL) > 0);
  ck_assert_int_eq (add_hint (store, 4, "z", "z", 700, &error), 0);  /* total bound */
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_HINTS_FULL));
  g_clear_error (&error);
  g_autofree char *big = g_strnfill (5000, 'q');  /* over the per-owner bytes, random-ish */
  ck_assert_int_eq (add_hint (store, 3, "big", big, 800, &error), 0);
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_HINTS_FULL));
  g_clear_error (&error);
  DkStoreStats stats;
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.hints_refused, 3);
  ck_assert_uint_eq (stats.hints, 5);
  dk_store_close (store);

  store = open_ok (path, &options);
  ck_assert_uint_eq (dk_store_hint_count (store, DK_NODE_NONE), 5);
  ck_assert_uint_eq (dk_store_hint_count (store, 2), 3);
  g_autoptr(GArray) owners = dk_store_hint_owners (store, NULL);
  ck_assert_uint_eq (owners->len, 2);
  ck_assert_uint_eq (g_array_index (owners, DkNodeId, 0), 2);
  ck_assert_uint_eq (g_array_index (owners, DkNodeId, 1), 3);
  g_autoptr(GPtrArray) oldest = dk_store_hints_for_owner (store, 2, 2, NULL);
  ck_assert_uint_eq (oldest->len, 2);
  DkStoreHint *first = g_ptr_array_index (oldest, 0);
  ck_assert_int_eq (first->created_us, 100);
  ck_assert_int_eq (((DkStoreHint *) g_ptr_array_index (oldest, 1))->created_us, 200);
  ck_assert_str_eq (version_text (g_ptr_array_index (first->siblings, 0)), "first");
  ck_assert (dk_store_hint_remove (store, first->id, NULL));
  ck_assert (dk_store_hint_remove (store, first->id, NULL));  /* absent: fine */
  ck_assert_uint_eq (dk_store_hint_count (store, 2), 2);
  ck_assert (add_hint (store, 2, "d", "fourth", 900, NULL) > 0);  /* room again */
  g_autoptr(GPtrArray) all = dk_store_hints_for_owner (store, 2, 0, NULL);
  ck_assert_uint_eq (all->len, 3);
  ck_assert_int_eq (((DkStoreHint *) g_ptr_array_index (all, 2))->created_us, 900);
  dk_store_close (store);
}
END_TEST

/* ---- cache --------------------------------------------------------------------- */

START_TEST (store_cache_stays_within_its_byte_budget_and_counts_hits)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.cache_bytes = 4096;
  DkStore *store = open_ok (":memory:", &options);
  g_autofree char *value = g_strnfill (300, 'v');
  DkStoreStats stats;
  for (int i = 0; i < 60; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%d", i);
      ck_assert (put_one (store, key, version_new (1, 1, value, FALSE), i, NULL, NULL));
      g_autoptr(GPtrArray) read = get_ok (store, key);
      ck_assert_uint_eq (read->len, 1);
      stats_of (store, &stats);
      ck_assert_uint_le (stats.cache_bytes, options.cache_bytes);
    }
  ck_assert_uint_gt (stats.cache_entries, 2);
  guint64 hits = stats.cache_hits, misses = stats.cache_misses;
  g_autoptr(GPtrArray) hot = get_ok (store, "k59");
  ck_assert_uint_eq (hot->len, 1);
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.cache_hits, hits + 1);
  g_autoptr(GPtrArray) cold = get_ok (store, "k0");  /* evicted long ago */
  g_autoptr(GPtrArray) warm = get_ok (store, "k0");
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.cache_misses, misses + 1);
  ck_assert_uint_eq (stats.cache_hits, hits + 2);
  /* (version_text returns one static buffer: compare the values.) */
  ck_assert (dk_siblings_equal (warm, cold));
  ck_assert (g_bytes_equal (((DkVersion *) g_ptr_array_index (warm, 0))->value,
                            ((DkVersion *) g_ptr_array_index (cold, 0))->value));
  dk_store_close (store);

  options.cache_bytes = 0;  /* disabled */
  store = open_ok (":memory:", &options);
  ck_assert (put_one (store, "k", version_new (1, 1, value, FALSE), 1, NULL, NULL));
  g_autoptr(GPtrArray) uncached = get_ok (store, "k");
  ck_assert_uint_eq (uncached->len, 1);
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.cache_bytes, 0);
  ck_assert_uint_eq (stats.cache_hits, 0);
  dk_store_close (store);
}
END_TEST

/* ---- compression ---------------------------------------------------------------- */

START_TEST (store_compression_round_trips_and_shrinks_compressible_values)
{
  g_autofree char *path = test_path ("compress.db");
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.compress_threshold_bytes = 64;
  DkStore *store = open_ok (path, &options);
  GString *text = g_string_new (NULL);
  while (text->len < DK_VALUE_MAX_BYTES - 16)
    g_string_append_printf (text, "row %u of a compressible value; ", (guint) text->len);
  ck_assert (put_one (store, "text", version_new (1, 1, text->str, FALSE), 1, NULL, NULL));
  DkStoreStats stats;
  stats_of (store, &stats);
  ck_assert_uint_gt (stats.compression_saved_bytes, text->len / 2);
  ck_assert_uint_lt (stats.stored_bytes, text->len / 2);
  guint64 saved = stats.compression_saved_bytes;

  GRand *rand = g_rand_new_with_seed (3);
  gsize noise_len = DK_VALUE_MAX_BYTES;
  guint8 *noise = g_malloc (noise_len);
  for (gsize i = 0; i < noise_len; i++)
    noise[i] = (guint8) g_rand_int (rand);
  g_autoptr(GBytes) noise_bytes = g_bytes_new_take (noise, noise_len);
  DkDot dot = { actor_of (1), 1, 1 };
  ck_assert (put_one (store, "noise", dk_version_new (dot, NULL, noise_bytes, FALSE), 2, NULL, NULL));
  stats_of (store, &stats);
  ck_assert_uint_eq (stats.compression_saved_bytes, saved);  /* stored raw */
  dk_store_close (store);

  store = open_ok (path, &options);  /* cold cache: decoded from disk */
  g_autoptr(GPtrArray) read_text = get_ok (store, "text");
  g_autoptr(GPtrArray) read_noise = get_ok (store, "noise");
  GBytes *text_value = ((DkVersion *) g_ptr_array_index (read_text, 0))->value;
  ck_assert_uint_eq (g_bytes_get_size (text_value), text->len);
  ck_assert (memcmp (g_bytes_get_data (text_value, NULL), text->str, text->len) == 0);
  ck_assert (g_bytes_equal (((DkVersion *) g_ptr_array_index (read_noise, 0))->value, noise_bytes));
  dk_store_close (store);
  g_string_free (text, TRUE);
  g_rand_free (rand);
}
END_TEST

/* ---- limits ----------------------------------------------------------------------- */

/* ERROR is read only after the call under test has run (the argument
 * order of evaluation is unspecified), then cleared. */
static void
assert_refused (gboolean ok, GError **error, int code, const char *mentions)
{
  ck_assert (!ok);
  ck_assert_msg (g_error_matches (*error, DK_STORE_ERROR, code), "wrong error: %s",
                 *error ? (*error)->message : "none");
  ck_assert_msg (strstr ((*error)->message, mentions) != NULL, "'%s' does not mention %s",
                 (*error)->message, mentions);
  g_clear_error (error);
}

START_TEST (store_refuses_input_over_the_limits_and_stores_nothing)
{
  DkStore *store = open_ok (":memory:", NULL);
  GError *error = NULL;
  g_autofree char *long_key = g_strnfill (DK_KEY_MAX_BYTES + 1, 'k');
  g_autofree char *max_key = g_strnfill (DK_KEY_MAX_BYTES, 'k');
  g_autofree char *long_value = g_strnfill (DK_VALUE_MAX_BYTES + 1, 'v');
  g_autofree char *max_value = g_strnfill (DK_VALUE_MAX_BYTES, 'v');

  assert_refused (put_one (store, long_key, version_new (1, 1, "v", FALSE), 1, NULL, &error),
                  &error, DK_STORE_ERROR_TOO_LARGE, "513 bytes");
  assert_refused (put_one (store, "", version_new (1, 1, "v", FALSE), 1, NULL, &error),
                  &error, DK_STORE_ERROR_INVALID, "empty key");
  assert_refused (put_one (store, "k", version_new (1, 1, long_value, FALSE), 1, NULL, &error),
                  &error, DK_STORE_ERROR_TOO_LARGE, "9217 bytes");
  DkVersion *odd_tombstone = version_new (1, 1, "x", FALSE);
  odd_tombstone->tombstone = TRUE;  /* dk_version_new would refuse to build it */
  assert_refused (put_one (store, "k", odd_tombstone, 1, NULL, &error),
                  &error, DK_STORE_ERROR_INVALID, "tombstone");

  /* One concurrent version over the hard cap in one put, then one more
   * against a full row; below the cap a merge is never refused, however
   * far past the client's limit (DK_SIBLINGS_MAX) it goes. */
  g_autoptr(GPtrArray) too_many = dk_siblings_new ();
  for (DkNodeId node = 1; node <= DK_SIBLINGS_HARD_MAX + 1; node++)
    g_ptr_array_add (too_many, version_new (node, 1, "c", FALSE));
  g_autoptr(GBytes) key = key_new ("crowded");
  assert_refused (dk_store_put (store, key, too_many, 1, NULL, &error), &error,
                  DK_STORE_ERROR_TOO_LARGE, "DK_SIBLINGS_HARD_MAX");
  guint64 n_keys = 1;
  ck_assert (dk_store_count_keys (store, &n_keys, NULL));
  ck_assert_uint_eq (n_keys, 0);

  for (DkNodeId node = 1; node <= DK_SIBLINGS_HARD_MAX; node++)
    ck_assert (put_one (store, "crowded", version_new (node, 1, "c", FALSE), 2, NULL, NULL));
  g_autofree char *one_more = g_strdup_printf ("%u concurrent versions", DK_SIBLINGS_HARD_MAX + 1);
  assert_refused (put_one (store, "crowded", version_new (999, 1, "c", FALSE), 3, NULL, &error),
                  &error, DK_STORE_ERROR_TOO_LARGE, one_more);
  g_autoptr(GPtrArray) crowded = get_ok (store, "crowded");
  ck_assert_uint_eq (crowded->len, DK_SIBLINGS_HARD_MAX);

  /* The limits themselves are accepted. */
  ck_assert (put_one (store, max_key, version_new (1, 1, max_value, FALSE), 4, NULL, NULL));
  ck_assert (dk_store_count_keys (store, &n_keys, NULL));
  ck_assert_uint_eq (n_keys, 2);
  dk_store_close (store);
}
END_TEST

/* ---- token ranges ----------------------------------------------------------------- */

typedef struct
{
  GBytes  *key;
  DkToken  token;
} KeyToken;

static gboolean
collect_keys (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  KeyToken entry = { g_bytes_ref (key), token };
  ck_assert (token == dk_hash64 (g_bytes_get_data (key, NULL), g_bytes_get_size (key)));
  g_array_append_val ((GArray *) user_data, entry);
  return TRUE;
}

static void
key_token_clear (gpointer data)
{
  g_bytes_unref (((KeyToken *) data)->key);
}

static DkToken scan_lo; /* the LO of the range sort_ring_order sorts for */

/* Ring order after scan_lo: distance past lo, then key bytes. */
static gint
ring_order (gconstpointer a, gconstpointer b)
{
  const KeyToken *x = a, *y = b;
  DkToken dx = x->token - scan_lo - 1, dy = y->token - scan_lo - 1;
  if (dx != dy)
    return dx < dy ? -1 : 1;
  return g_bytes_compare (x->key, y->key);
}

static void
assert_scan_matches (DkStore *store, GArray *all, DkToken lo, DkToken hi)
{
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (KeyToken));
  for (guint i = 0; i < all->len; i++)
    {
      KeyToken *entry = &g_array_index (all, KeyToken, i);
      /* t in (lo, hi] around the ring <=> t - lo - 1 <= hi - lo - 1 (mod 2^64). */
      if (entry->token - lo - 1 <= hi - lo - 1)
        g_array_append_val (expected, *entry);
    }
  scan_lo = lo;
  g_array_sort (expected, ring_order);
  g_autoptr(GArray) scanned = g_array_new (FALSE, FALSE, sizeof (KeyToken));
  g_array_set_clear_func (scanned, key_token_clear);
  ck_assert (dk_store_scan (store, lo, hi, collect_keys, scanned, NULL));
  ck_assert_msg (scanned->len == expected->len, "range (%" G_GINT64_MODIFIER "x, %"
                 G_GINT64_MODIFIER "x]: %u keys scanned, %u expected", lo, hi,
                 scanned->len, expected->len);
  for (guint i = 0; i < scanned->len; i++)
    ck_assert (g_bytes_equal (g_array_index (scanned, KeyToken, i).key,
                              g_array_index (expected, KeyToken, i).key));
}

START_TEST (store_scan_covers_exactly_the_range_including_wraparound)
{
  DkStore *store = open_ok (":memory:", NULL);
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (KeyToken));
  g_array_set_clear_func (all, key_token_clear);
  for (int i = 0; i < 300; i++)
    {
      g_autofree char *key = g_strdup_printf ("scan-%d", i);
      ck_assert (put_one (store, key, version_new (1, 1, key, FALSE), i, NULL, NULL));
      KeyToken entry = { key_new (key), dk_hash64 (key, strlen (key)) };
      g_array_append_val (all, entry);
    }
  GRand *rand = g_rand_new_with_seed (5);
  int ranges = dk_test_iterations (200);
  for (int r = 0; r < ranges; r++)
    {
      DkToken lo, hi;
      switch (r % 4)
        {
        case 0:   /* random bounds, wrapping about half the time */
          lo = ((DkToken) g_rand_int (rand) << 32) | g_rand_int (rand);
          hi = ((DkToken) g_rand_int (rand) << 32) | g_rand_int (rand);
          break;
        case 1:   /* bounds exactly on stored tokens: lo excluded, hi included */
          lo = g_array_index (all, KeyToken, g_rand_int_range (rand, 0, 300)).token;
          hi = g_array_index (all, KeyToken, g_rand_int_range (rand, 0, 300)).token;
          break;
        case 2:   /* the whole ring */
          lo = hi = g_array_index (all, KeyToken, g_rand_int_range (rand, 0, 300)).token;
          break;
        default:  /* the ends of the token space */
          lo = (r / 4) % 2 ? G_MAXUINT64 : 0;
          hi = (r / 8) % 2 ? G_MAXUINT64 : 0;
          break;
        }
      assert_scan_matches (store, all, lo, hi);
    }

  /* The range digest moves with a key inside the range only. */
  DkToken lo = G_MAXUINT64 / 4, hi = G_MAXUINT64 / 2;
  guint64 before = 0, after = 0, n_keys = 0;
  ck_assert (dk_store_range_digest (store, lo, hi, &before, &n_keys, NULL));
  ck_assert_uint_gt (n_keys, 0);
  int inside = -1, outside = -1;
  for (guint i = 0; i < all->len; i++)
    {
      DkToken token = g_array_index (all, KeyToken, i).token;
      gboolean in_range = token > lo && token <= hi;
      if (in_range && inside < 0)
        inside = (int) i;
      if (!in_range && outside < 0)
        outside = (int) i;
    }
  g_autofree char *inside_key = g_strdup_printf ("scan-%d", inside);
  g_autofree char *outside_key = g_strdup_printf ("scan-%d", outside);
  ck_assert (put_one (store, outside_key, version_new (1, 2, "new", FALSE), 1000, NULL, NULL));
  ck_assert (dk_store_range_digest (store, lo, hi, &after, NULL, NULL));
  ck_assert (after == before);
  ck_assert (put_one (store, inside_key, version_new (1, 2, "new", FALSE), 1000, NULL, NULL));
  ck_assert (dk_store_range_digest (store, lo, hi, &after, NULL, NULL));
  ck_assert (after != before);
  dk_store_close (store);
  g_rand_free (rand);
}
END_TEST

/* ---- crashes, faults and bad files -------------------------------------------------- */

/* The child writes keys crash-0, crash-1, ... and reports each index on
 * FD once its put returned; the parent SIGKILLs it mid-stream. */
static void G_GNUC_NORETURN
crash_child (const char *path, int fd)
{
  DkStore *store = dk_store_open (path, NULL, NULL);
  if (store == NULL)
    _exit (2);
  for (guint32 i = 0; i < 1000000; i++)
    {
      g_autofree char *key = g_strdup_printf ("crash-%u", i);
      g_autofree char *value = g_strdup_printf ("value of %u, padded to look like data .....", i);
      if (!put_one (store, key, version_new (1, 1, value, FALSE), i, NULL, NULL))
        _exit (3);
      if (write (fd, &i, sizeof i) != sizeof i)
        _exit (4);
    }
  _exit (0);
}

START_TEST (store_sigkill_mid_stream_keeps_every_committed_write)
{
  g_autofree char *path = test_path ("crash.db");
  int fds[2];
  ck_assert_int_eq (pipe (fds), 0);
  pid_t pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      close (fds[0]);
      crash_child (path, fds[1]);
    }
  close (fds[1]);
  guint32 reported = 0, index;
  gboolean any = FALSE;
  guint32 kill_after = (guint32) dk_test_iterations (600);
  ssize_t got;
  while ((got = read (fds[0], &index, sizeof index)) == sizeof index)
    {
      ck_assert_uint_eq (index, any ? reported + 1 : 0);
      reported = index;
      any = TRUE;
      if (index == kill_after)
        kill (pid, SIGKILL);
    }
  close (fds[0]);
  int status = 0;
  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert_msg (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL,
                 "child ended otherwise: status %d", status);
  ck_assert_uint_ge (reported, kill_after);

  DkStore *store = open_ok (path, NULL);
  g_autoptr(GError) error = NULL;
  ck_assert_msg (dk_store_integrity_check (store, &error), "%s", error ? error->message : "");
  for (guint32 i = 0; i <= reported; i++)
    {
      g_autofree char *key = g_strdup_printf ("crash-%u", i);
      g_autoptr(GPtrArray) siblings = get_ok (store, key);
      ck_assert_msg (siblings->len == 1, "write %u was reported committed but is lost", i);
    }
  dk_store_close (store);
}
END_TEST

/* What a SIGKILL leaves of PATH: its file and log as they are in the
 * kernel now (no -shm: opening the copy recovers from the log), copied to
 * COPY. */
static void
copy_as_a_crash_leaves_it (const char *path, const char *copy)
{
  static const char *suffixes[] = { "", "-wal" };
  remove_db (copy);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (copy, suffixes[i], NULL);
      g_autofree char *bytes = NULL;
      gsize len = 0;
      g_autoptr(GError) error = NULL;
      if (!g_file_get_contents (from, &bytes, &len, NULL))
        continue;   /* no log yet */
      ck_assert_msg (g_file_set_contents (to, bytes, (gssize) len, &error), "%s",
                     error ? error->message : "");
    }
}

static void
checkpoint_elsewhere (gpointer data, guint log_pages)
{
}

/* A file store writes a transaction's log frames together (store_vfs.c):
 * when a commit returns, all of it must be in the log file with valid
 * checksums, whatever its size: one page, more than one write's worth
 * (128 KiB), more than SQLite's page cache (pages spilled to the log
 * mid-transaction, then written again in place, their checksums redone
 * at the commit).  A copy of the files taken after each commit, as a
 * kill -9 would leave them, holds every write committed so far.  No
 * checkpoint runs on the writing store, as in dynkvd (checkpointer.h):
 * its reads of the log would write out what a commit left behind. */
START_TEST (store_a_commit_is_whole_in_the_log_file_when_it_returns)
{
  g_autofree char *path = test_path ("frames.db");
  g_autofree char *copy = test_path ("frames-copy.db");
  DkStore *store = open_ok (path, NULL);
  dk_store_watch_log (store, checkpoint_elsewhere, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  static const guint sizes[] = { 1, 5, 90, 1, 1800, 3 };
  guint written[1800] = { 0 };   /* per key: the round of its last write, 0: none */
  for (guint round = 1; round <= G_N_ELEMENTS (sizes); round++)
    {
      g_autoptr(GError) error = NULL;
      dk_store_defer_begin (store);
      /* The big round writes every key twice: the second pass rewrites
       * pages the first one spilled. */
      guint passes = sizes[round - 1] > 1000 ? 2 : 1;
      for (guint pass = 0; pass < passes; pass++)
        for (guint i = 0; i < sizes[round - 1]; i++)
          {
            guint index = (i * 7u + round) % G_N_ELEMENTS (written);
            g_autofree char *key = g_strdup_printf ("frame-%u", index);
            GString *value = g_string_new (NULL);
            g_string_printf (value, "r%u-p%u-", round, pass);
            for (guint c = 0; c < 3000; c++)
              g_string_append_c (value, (char) g_rand_int_range (rand, 'a', 'z' + 1));
            guint counter = 2 * round + pass;
            ck_assert_msg (put_one (store, key, version_new (1, counter, value->str, FALSE), 0,
                                    NULL, &error), "%s", error ? error->message : "");
            g_string_free (value, TRUE);
            written[index] = round;
          }
      ck_assert_msg (dk_store_defer_end (store, &error), "%s", error ? error->message : "");

      copy_as_a_crash_leaves_it (path, copy);
      DkStore *crashed = open_ok (copy, NULL);
      ck_assert_msg (dk_store_integrity_check (crashed, &error), "%s",
                     error ? error->message : "");
      for (guint index = 0; index < G_N_ELEMENTS (written); index++)
        {
          if (written[index] == 0)
            continue;
          g_autofree char *key = g_strdup_printf ("frame-%u", index);
          g_autoptr(GPtrArray) siblings = get_ok (crashed, key);
          ck_assert_msg (siblings->len == 1, "round %u: %s committed but lost", round, key);
          g_autofree char *prefix = g_strdup_printf ("r%u-p%u-", written[index],
                                                     sizes[written[index] - 1] > 1000 ? 1 : 0);
          const char *text = version_text (g_ptr_array_index (siblings, 0));
          ck_assert_msg (g_str_has_prefix (text, prefix), "round %u: %s reads %.12s, not %s",
                         round, key, text, prefix);
        }
      dk_store_close (crashed);
    }
  dk_store_close (store);
}
END_TEST

START_TEST (store_refuses_corrupted_and_foreign_files_naming_the_path)
{
  g_autofree char *path = test_path ("damaged.db");
  DkStore *store = open_ok (path, NULL);
  ck_assert (put_one (store, "k", version_new (1, 1, "v", FALSE), 1, NULL, NULL));
  dk_store_close (store);
  /* Random bytes over the header. */
  FILE *file = fopen (path, "r+b");
  GRand *rand = g_rand_new_with_seed (9);
  for (int i = 0; i < 100; i++)
    fputc (g_rand_int_range (rand, 0, 256), file);
  fclose (file);
  g_rand_free (rand);
  GError *error = NULL;
  ck_assert (dk_store_open (path, NULL, &error) == NULL);
  ck_assert_msg (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_CORRUPT), "%s",
                 error->message);
  ck_assert (strstr (error->message, path) != NULL);
  g_clear_error (&error);

  g_autofree char *text_path = test_path ("notes.txt");
  ck_assert (g_file_set_contents (text_path, "not a database at all, just some text.\n"
                                  "not a database at all, just some text.\n", -1, NULL));
  ck_assert (dk_store_open (text_path, NULL, &error) == NULL);
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_CORRUPT));
  g_clear_error (&error);

  /* An SQLite database of somebody else's. */
  g_autofree char *foreign_path = test_path ("foreign.db");
  sqlite3 *db = NULL;
  ck_assert_int_eq (sqlite3_open (foreign_path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "CREATE TABLE people (name TEXT)", NULL, NULL, NULL),
                    SQLITE_OK);
  sqlite3_close (db);
  ck_assert (dk_store_open (foreign_path, NULL, &error) == NULL);
  ck_assert_msg (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_FOREIGN), "%s",
                 error->message);
  ck_assert (strstr (error->message, foreign_path) != NULL);
  g_clear_error (&error);

  /* Ours, but from another schema version. */
  g_autofree char *future_path = test_path ("future.db");
  dk_store_close (open_ok (future_path, NULL));
  ck_assert_int_eq (sqlite3_open (future_path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);
  ck_assert (dk_store_open (future_path, NULL, &error) == NULL);
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_FOREIGN));
  ck_assert_msg (strstr (error->message, "99") != NULL, "%s", error->message);
  g_clear_error (&error);
}
END_TEST

START_TEST (store_reports_a_row_that_does_not_decode_as_corrupt)
{
  g_autofree char *path = test_path ("row.db");
  DkStore *store = open_ok (path, NULL);
  ck_assert (put_one (store, "bad-row", version_new (1, 1, "v", FALSE), 1, NULL, NULL));
  ck_assert (put_one (store, "good-row", version_new (1, 1, "v", FALSE), 1, NULL, NULL));
  dk_store_close (store);
  sqlite3 *db = NULL;
  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "UPDATE kv SET siblings = x'0102ff00' WHERE key = CAST"
                                  " ('bad-row' AS BLOB)", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_changes (db), 1);
  sqlite3_close (db);

  store = open_ok (path, NULL);
  GError *error = NULL;
  g_autoptr(GBytes) key = key_new ("bad-row");
  ck_assert (dk_store_get (store, key, &error) == NULL);
  ck_assert_msg (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_CORRUPT), "%s",
                 error->message);
  ck_assert_msg (strstr (error->message, "bad-row") != NULL, "%s", error->message);
  g_clear_error (&error);
  ck_assert (!put_one (store, "bad-row", version_new (1, 2, "w", FALSE), 2, NULL, &error));
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_CORRUPT));
  g_clear_error (&error);
  g_autoptr(GPtrArray) good = get_ok (store, "good-row");
  ck_assert_uint_eq (good->len, 1);
  dk_store_close (store);
}
END_TEST

/* One run of the fault test's write sequence; PRESENT[i] tells whether
 * key f<i> must be found afterwards.  Returns TRUE when every step
 * succeeded, i.e. the fault never fired. */
enum { FAULT_KEYS = 10 };

/* Record one step's outcome: success, or a clean store error. */
static gboolean
step_ok (gboolean ok, GError **error, gboolean *all_ok)
{
  ck_assert_msg (ok || (*error != NULL && (*error)->domain == DK_STORE_ERROR),
                 "a step failed without a store error");
  g_clear_error (error);
  *all_ok &= ok;
  return ok;
}

static gboolean
fault_sequence (DkStore *store, gboolean present[FAULT_KEYS], guint *hints)
{
  gboolean all_ok = TRUE;
  GError *error = NULL;
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *key = g_strdup_printf ("f%d", i);
      present[i] = step_ok (put_one (store, key, version_new (1, 1, key, FALSE), i, NULL,
                                     &error), &error, &all_ok);
    }
  /* A batch: all three keys or none. */
  gboolean batch_ok = step_ok (dk_store_begin (store, &error), &error, &all_ok);
  gboolean in_batch = batch_ok;
  for (int i = 6; i < 9 && batch_ok; i++)
    {
      g_autofree char *key = g_strdup_printf ("f%d", i);
      batch_ok = step_ok (put_one (store, key, version_new (1, 1, key, FALSE), i, NULL,
                                   &error), &error, &all_ok);
    }
  if (batch_ok)
    batch_ok = step_ok (dk_store_commit (store, &error), &error, &all_ok);
  else if (in_batch)
    dk_store_rollback (store);
  for (int i = 6; i < 9; i++)
    present[i] = batch_ok;

  *hints = step_ok (add_hint (store, 5, "f-hint", "h", 10, &error) > 0, &error, &all_ok);
  g_autoptr(GBytes) purged = key_new ("f0");
  if (present[0] && step_ok (dk_store_purge (store, purged, &error), &error, &all_ok))
    present[0] = FALSE;
  gboolean tombstone = step_ok (put_one (store, "f9", version_new (1, 1, NULL, TRUE), 0, NULL,
                                         &error), &error, &all_ok);
  gboolean collected = step_ok (dk_store_collect_tombstones (store, G_MAXINT64 / 2, NULL,
                                                             &error), &error, &all_ok);
  present[9] = tombstone && !collected;
  return all_ok;
}

START_TEST (store_fault_at_each_sqlite_call_fails_cleanly_and_keeps_commits)
{
  gboolean completed = FALSE;
  guint faults = 0;
  for (guint k = 1; k < 1000 && !completed; k++)
    {
      g_autofree char *path = test_path ("fault.db");
      DkStoreOptions options;
      dk_store_options_init (&options);
      options.fail_at_call = k;
      GError *error = NULL;
      DkStore *store = dk_store_open (path, &options, &error);
      gboolean present[FAULT_KEYS] = { FALSE };
      guint hints = 0;
      if (store == NULL)
        {
          ck_assert_msg (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_IO), "%s",
                         error->message);
          g_clear_error (&error);
        }
      else
        {
          completed = fault_sequence (store, present, &hints);
          dk_store_close (store);
        }
      faults += !completed;

      DkStore *check = open_ok (path, NULL);
      ck_assert_msg (dk_store_integrity_check (check, &error), "fault at call %u: %s", k,
                     error ? error->message : "");
      for (int i = 0; i < FAULT_KEYS; i++)
        {
          g_autofree char *key = g_strdup_printf ("f%d", i);
          g_autoptr(GPtrArray) siblings = get_ok (check, key);
          ck_assert_msg ((siblings->len > 0) == present[i],
                         "fault at call %u: key %s is %s", k, key,
                         present[i] ? "lost" : "there but was reported failed");
        }
      ck_assert_uint_eq (dk_store_hint_count (check, DK_NODE_NONE), hints);
      dk_store_close (check);
      remove_db (path);
    }
  ck_assert (completed);
  ck_assert_uint_gt (faults, 30);
}
END_TEST

/* KEY's versions as another connection reads them from PATH now. */
static guint
versions_elsewhere (const char *path, const char *key)
{
  DkStore *reader = open_ok (path, NULL);
  g_autoptr(GPtrArray) siblings = get_ok (reader, key);
  dk_store_close (reader);
  return siblings->len;
}

/* Grouped writes (writes_per_commit > 1) are read back at once through
 * the store that wrote them, but reach the file only when the group is
 * full or flushed: another connection sees them then, not before. */
START_TEST (store_grouped_writes_are_committed_when_full_or_flushed)
{
  g_autofree char *path = test_path ("grouped.db");
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.writes_per_commit = 3;
  DkStore *store = open_ok (path, &options);
  g_autoptr(GError) error = NULL;
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *key = g_strdup_printf ("g%d", i);
      ck_assert (put_one (store, key, version_new (1, 1, key, FALSE), 0, NULL, &error));
      g_autoptr(GPtrArray) own = get_ok (store, key);
      ck_assert_uint_eq (own->len, 1);
    }
  ck_assert_uint_eq (versions_elsewhere (path, "g1"), 0);
  ck_assert (add_hint (store, 5, "g-hint", "h", 10, &error) > 0);   /* the third: full */
  ck_assert_uint_eq (versions_elsewhere (path, "g1"), 1);
  ck_assert_uint_eq (dk_store_hint_count (store, DK_NODE_NONE), 1);

  ck_assert (put_one (store, "g2", version_new (1, 1, "g2", FALSE), 0, NULL, &error));
  ck_assert_uint_eq (versions_elsewhere (path, "g2"), 0);
  ck_assert_msg (dk_store_flush (store, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (versions_elsewhere (path, "g2"), 1);

  /* A batch commits the group first, and a close commits what is left. */
  ck_assert (put_one (store, "g3", version_new (1, 1, "g3", FALSE), 0, NULL, &error));
  ck_assert (dk_store_begin (store, &error));
  ck_assert_uint_eq (versions_elsewhere (path, "g3"), 1);
  ck_assert (dk_store_commit (store, &error));
  ck_assert (put_one (store, "g4", version_new (1, 1, "g4", FALSE), 0, NULL, &error));
  dk_store_close (store);
  ck_assert_uint_eq (versions_elsewhere (path, "g4"), 1);
  DkStore *check = open_ok (path, NULL);
  ck_assert_msg (dk_store_integrity_check (check, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (dk_store_hint_count (check, DK_NODE_NONE), 1);
  dk_store_close (check);
}
END_TEST

/* Deferred writes (dk_store_defer_begin/_end) are seen at once by the
 * store that wrote them, reach the file only at the end, whatever
 * writes_per_commit says; and an end after a write that failed reports
 * the deferred writes lost, so nobody acknowledges one (udp_env.c). */
START_TEST (store_deferred_writes_commit_at_the_end_and_report_a_loss)
{
  g_autofree char *path = test_path ("deferred.db");
  DkStore *store = open_ok (path, NULL);
  g_autoptr(GError) error = NULL;
  dk_store_defer_begin (store);
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *key = g_strdup_printf ("d%d", i);
      ck_assert (put_one (store, key, version_new (1, 1, key, FALSE), 0, NULL, &error));
      g_autoptr(GPtrArray) own = get_ok (store, key);
      ck_assert_uint_eq (own->len, 1);
    }
  ck_assert_uint_eq (versions_elsewhere (path, "d4"), 0);
  ck_assert_msg (dk_store_defer_end (store, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (versions_elsewhere (path, "d0"), 1);
  ck_assert_uint_eq (versions_elsewhere (path, "d4"), 1);
  /* Outside a deferral, each write commits on its own again. */
  ck_assert (put_one (store, "d5", version_new (1, 1, "d5", FALSE), 0, NULL, &error));
  ck_assert_uint_eq (versions_elsewhere (path, "d5"), 1);
  dk_store_close (store);

  /* Fail each SQLite call of a deferral in turn: an end that says TRUE
   * means every write of it is in the file. */
  for (guint k = 1; k < 200; k++)
    {
      g_autofree char *name = g_strdup_printf ("deferred-%u.db", k);
      g_autofree char *fpath = test_path (name);
      DkStoreOptions options;
      dk_store_options_init (&options);
      options.fail_at_call = k;
      g_autoptr(GError) open_error = NULL;
      DkStore *faulty = dk_store_open (fpath, &options, &open_error);
      if (faulty == NULL)
        continue;
      dk_store_defer_begin (faulty);
      guint stored = 0;
      for (int i = 0; i < 3; i++)
        {
          g_autofree char *key = g_strdup_printf ("f%d", i);
          g_autoptr(GError) put_error = NULL;
          stored += put_one (faulty, key, version_new (1, 1, key, FALSE), 0, NULL, &put_error);
        }
      g_autoptr(GError) end_error = NULL;
      gboolean ok = dk_store_defer_end (faulty, &end_error);
      ck_assert (ok || end_error != NULL);
      dk_store_close (faulty);
      /* (A write that failed was refused to its caller, who acknowledges
       * nothing of it.) */
      if (ok && stored == 3)
        {
          ck_assert_uint_eq (versions_elsewhere (fpath, "f0"), 1);
          ck_assert_uint_eq (versions_elsewhere (fpath, "f2"), 1);
        }
    }
}
END_TEST

/* What the log watch of store_log_watch_... saw, and the store that
 * checkpoints when it is told to. */
typedef struct
{
  guint    max_pages;
  DkStore *checkpointing;   /* NULL: nobody checkpoints */
  guint    checkpoints;
} LogWatch;

static void
on_log (gpointer data, guint log_pages)
{
  LogWatch *watch = data;
  watch->max_pages = MAX (watch->max_pages, log_pages);
  if (watch->checkpointing != NULL && log_pages >= 1000)
    {
      g_autoptr(GError) error = NULL;
      ck_assert_msg (dk_store_checkpoint (watch->checkpointing, &error), "%s",
                     error ? error->message : "");
      watch->checkpoints++;
    }
}

/* A watched store never checkpoints its log itself: left alone, the log
 * grows past every threshold; checkpointed from a second store on the same file
 * when the watch says so (as src/net/checkpointer.c does from its
 * thread), it stays near 1000 pages.  Either way, thousands of writes are
 * all there, intact, after a reopen. */
START_TEST (store_log_watch_moves_checkpoints_to_another_store)
{
  g_autofree char *value = g_strnfill (2000, 'v');
  for (int checkpointed = 0; checkpointed < 2; checkpointed++)
    {
      g_autofree char *name = g_strdup_printf ("watched-%d.db", checkpointed);
      g_autofree char *path = test_path (name);
      DkStore *store = open_ok (path, NULL);
      LogWatch watch = { 0 };
      if (checkpointed)
        watch.checkpointing = open_ok (path, NULL);
      dk_store_watch_log (store, on_log, &watch);
      g_autoptr(GError) error = NULL;
      for (int i = 0; i < 3000; i++)
        {
          g_autofree char *key = g_strdup_printf ("c%05d", i);
          ck_assert (put_one (store, key, version_new (1, (guint64) i + 1, value, FALSE), 0,
                              NULL, &error));
        }
      if (checkpointed)
        {
          ck_assert_uint_ge (watch.checkpoints, 2);
          ck_assert_uint_lt (watch.max_pages, 1100);
          dk_store_close (watch.checkpointing);
        }
      else
        ck_assert_uint_gt (watch.max_pages, 3000);
      dk_store_close (store);
      DkStore *check = open_ok (path, NULL);
      guint64 keys = 0;
      ck_assert (dk_store_count_keys (check, &keys, &error));
      ck_assert_uint_eq (keys, 3000);
      ck_assert_msg (dk_store_integrity_check (check, &error), "%s",
                     error ? error->message : "");
      dk_store_close (check);
    }
}
END_TEST

/* A store copied from an empty model is a fresh store of its own: what
 * one copy holds, neither the model nor another copy sees; keys, hints,
 * scans and the integrity check work as on a store opened afresh. */
START_TEST (store_open_like_gives_independent_fresh_stores)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.writes_per_commit = 4;
  DkStore *model = open_ok (":memory:", &options);
  g_autoptr(GError) error = NULL;
  DkStore *copies[2];
  for (int c = 0; c < 2; c++)
    {
      copies[c] = dk_store_open_like (model, &error);
      ck_assert_msg (copies[c] != NULL, "%s", error ? error->message : "");
    }
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *key = g_strdup_printf ("c%d", i);
      ck_assert (put_one (copies[i % 2], key, version_new (1, 1, key, FALSE), 0, NULL, &error));
    }
  ck_assert (add_hint (copies[1], 3, "c-hint", "h", 5, &error) > 0);
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *key = g_strdup_printf ("c%d", i);
      g_autoptr(GPtrArray) mine = get_ok (copies[i % 2], key);
      g_autoptr(GPtrArray) other = get_ok (copies[1 - i % 2], key);
      g_autoptr(GPtrArray) in_model = get_ok (model, key);
      ck_assert_uint_eq (mine->len, 1);
      ck_assert_uint_eq (other->len, 0);
      ck_assert_uint_eq (in_model->len, 0);
    }
  for (int c = 0; c < 2; c++)
    {
      guint64 keys = 0;
      ck_assert (dk_store_count_keys (copies[c], &keys, &error));
      ck_assert_uint_eq (keys, 10);
      ck_assert_uint_eq (dk_store_hint_count (copies[c], DK_NODE_NONE), (guint) c);
      ck_assert_msg (dk_store_integrity_check (copies[c], &error), "%s",
                     error ? error->message : "");
      dk_store_close (copies[c]);
    }
  guint64 model_keys = 1;
  ck_assert (dk_store_count_keys (model, &model_keys, &error));
  ck_assert_uint_eq (model_keys, 0);
  dk_store_close (model);
}
END_TEST

/* A put writes with a plain INSERT or UPDATE when it knows whether the
 * key has a row; when another connection changed that behind its cache,
 * it still writes the row (the INSERT meets the row, the UPDATE misses). */
START_TEST (store_put_writes_the_row_when_the_table_changed_behind_it)
{
  g_autofree char *path = test_path ("behind.db");
  DkStore *writer = open_ok (path, NULL);
  ck_assert (put_one (writer, "seed", version_new (1, 1, "seed", FALSE), 0, NULL, NULL));
  DkStore *other = open_ok (path, NULL);
  g_autoptr(GError) error = NULL;

  g_autoptr(GPtrArray) absent = get_ok (writer, "k");   /* cached: no row */
  ck_assert_uint_eq (absent->len, 0);
  ck_assert (put_one (other, "k", version_new (2, 1, "theirs", FALSE), 0, NULL, &error));
  ck_assert_msg (put_one (writer, "k", version_new (1, 2, "mine", FALSE), 0, NULL, &error),
                 "%s", error ? error->message : "");
  g_autoptr(GBytes) mine = g_bytes_new_static ("mine", 4);
  dk_store_close (other);
  other = open_ok (path, NULL);
  g_autoptr(GPtrArray) stored = get_ok (other, "k");
  ck_assert_uint_eq (stored->len, 1);
  ck_assert (g_bytes_equal (((DkVersion *) g_ptr_array_index (stored, 0))->value, mine));

  g_autoptr(GBytes) key = key_new ("k");
  ck_assert (dk_store_purge (other, key, &error));        /* writer still caches it */
  ck_assert (put_one (writer, "k", version_new (1, 3, "again", FALSE), 0, NULL, &error));
  dk_store_close (other);
  other = open_ok (path, NULL);
  g_autoptr(GPtrArray) rewritten = get_ok (other, "k");
  ck_assert_uint_ge (rewritten->len, 1);
  ck_assert_msg (dk_store_integrity_check (other, &error), "%s", error ? error->message : "");
  dk_store_close (other);
  dk_store_close (writer);
}
END_TEST

Suite *
store_suite (void)
{
  Suite *suite = suite_create ("store");
  TCase *tc = tcase_create ("store");
  tcase_add_checked_fixture (tc, make_test_dir, remove_test_dir);
  dk_tcase_no_wall_limit (tc);
  tcase_add_loop_test (tc, store_reopen_returns_every_acknowledged_write, 0, 2);
  tcase_add_test (tc, store_grouped_writes_are_committed_when_full_or_flushed);
  tcase_add_test (tc, store_deferred_writes_commit_at_the_end_and_report_a_loss);
  tcase_add_test (tc, store_log_watch_moves_checkpoints_to_another_store);
  tcase_add_test (tc, store_open_like_gives_independent_fresh_stores);
  tcase_add_test (tc, store_put_writes_the_row_when_the_table_changed_behind_it);
  tcase_add_test (tc, store_meta_is_durable_and_last_write_wins);
  tcase_add_test (tc, store_concurrent_puts_become_siblings_and_context_resolves_them);
  tcase_add_test (tc, store_counts_a_dot_met_with_two_payloads_as_a_collision);
  tcase_add_test (tc, store_collects_tombstones_only_after_the_grace);
  tcase_add_test (tc, store_hints_are_bounded_durable_and_oldest_first);
  tcase_add_test (tc, store_cache_stays_within_its_byte_budget_and_counts_hits);
  tcase_add_test (tc, store_compression_round_trips_and_shrinks_compressible_values);
  tcase_add_test (tc, store_refuses_input_over_the_limits_and_stores_nothing);
  tcase_add_test (tc, store_scan_covers_exactly_the_range_including_wraparound);
  tcase_add_test (tc, store_sigkill_mid_stream_keeps_every_committed_write);
  tcase_add_test (tc, store_a_commit_is_whole_in_the_log_file_when_it_returns);
  tcase_add_test (tc, store_refuses_corrupted_and_foreign_files_naming_the_path);
  tcase_add_test (tc, store_reports_a_row_that_does_not_decode_as_corrupt);
  tcase_add_test (tc, store_fault_at_each_sqlite_call_fails_cleanly_and_keeps_commits);
  suite_add_tcase (suite, tc);
  return suite;
}
