/* bench_store.c — dk_store_put / dk_store_get against raw SQLite doing the
 * least a key-value table can do, measured in the same run, on the same
 * kind of file, with the same durability settings.
 *
 * Both sides use a WAL-mode file in a fresh temporary directory with
 * PRAGMA synchronous = NORMAL (the store's default) and SQLite's default
 * locking.  The figures are I/O-bound and this machine is noisy, so each
 * is the median of ROUNDS rounds in which raw SQLite and the store run
 * alternately on fresh files.  Every put writes a distinct value on both
 * sides (see value_of_put).
 *
 *   store.put       dk_store_put of one version (value VALUE_BYTES, a
 *                   a dot and a one-entry context) per call, autocommit: one transaction
 *                   per put.  Baseline: a prepared
 *                   INSERT INTO kv (key, value) VALUES (?, ?)
 *                   ON CONFLICT (key) DO UPDATE SET value = excluded.value
 *                   on CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB),
 *                   binding the key and a BLOB of VALUE_BYTES, each in its
 *                   own (autocommit) transaction.  Same key sequence: PUTS
 *                   writes over KEYS keys in a random order (first writes
 *                   insert, later ones update).
 *   store.put.batch the same, BATCH puts per transaction on both sides
 *                   (dk_store_begin/commit vs BEGIN/COMMIT).
 *   store.get.hot   dk_store_get of HOT_KEYS keys already in the cache (the
 *                   caller gets its own copy of the sibling set).  Baseline:
 *                   the prepared SELECT value FROM kv WHERE key = ?, the
 *                   value copied out into a GBytes, as any caller must.
 *
 * And what durability costs (dynkvd --synchronous): the store against
 * itself, on the same kind of file.
 *
 *   store.put.sync_full        store.put (one put per transaction) with
 *                              DK_STORE_SYNC_FULL, an fsync of the WAL per
 *                              commit.  Baseline: the same puts with
 *                              DK_STORE_SYNC_NORMAL.  SYNC_PUTS puts only:
 *                              an fsync takes milliseconds on some disks.
 *   store.batch100.sync_full   the same, BATCH puts per transaction.
 *
 * The ratio is the disk's, not the store's: put the files on the file
 * system the nodes will use with TMPDIR (a tmpfs makes fsync free).
 *
 * And the simulator's stores (sim/cluster.c's options: ":memory:",
 * writes_per_commit 1024, a 4 MiB cache, copies of one template), puts
 * spread at random over SPREAD_STORES of them, each key always in the
 * same store, SPREAD_KEYS keys per store (a 1,000-node run's share):
 *
 *   store.put.spread        the kv table in SQLite (kv_in_memory off).
 *                           Baseline: as many puts into one such store
 *                           over SPREAD_KEYS keys.  The ratio is what
 *                           cold caches cost: each put walks another
 *                           connection's pages.
 *   store.put.spread.memkv  the same with kv_in_memory, as dynsim runs.
 *                           Baseline: store.put.spread.
 */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include "bench.h"
#include "store.h"

#define VALUE_BYTES 100
#define BATCH       100
#define HOT_KEYS    100
#define ROUNDS      3
#define SYNC_PUTS   1000
#define SPREAD_STORES 1000
#define SPREAD_KEYS   300

typedef struct
{
  long       puts;
  long       keys;
  GPtrArray *key_of_put;  /* GBytes*, one per put */
  GPtrArray *incoming;    /* one GPtrArray of one DkVersion per put */
  guint8     value[VALUE_BYTES];
} Workload;

/* Put I's value: random bytes stamped with I, so every put writes new
 * bytes (SQLite skips writing a page when a row is rewritten unchanged,
 * which would flatter a baseline that wrote one constant value). */
static GBytes *
value_of_put (const Workload *work, long i)
{
  guint8 value[VALUE_BYTES];
  memcpy (value, work->value, VALUE_BYTES);
  memcpy (value, &i, sizeof i);
  return g_bytes_new (value, VALUE_BYTES);
}

/* Put i is node 1's write number i + 1: the dot (node 1, i + 1) with a
 * context covering node 1's earlier writes, so each put replaces every
 * earlier one on its key (one version per key, as a read-modify-write
 * workload keeps it). */
static DkVersion *
version_of_put (long i, GBytes *value)
{
  DkActor actor = dk_actor_make (1, 0xbe7c4);
  DkVclock *context = dk_vclock_new ();
  if (i > 0)
    dk_vclock_raise (context, actor, (guint64) i, 1);
  DkDot dot = { actor, (guint64) i + 1, 1 };
  return dk_version_new (dot, context, value, FALSE);
}

static Workload *
workload_new (long puts, long keys)
{
  Workload *work = g_new0 (Workload, 1);
  work->puts = puts;
  work->keys = keys;
  work->key_of_put = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  work->incoming = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GRand *rand = g_rand_new_with_seed (42);
  for (gsize i = 0; i < VALUE_BYTES; i++)
    work->value[i] = (guint8) g_rand_int (rand);
  for (long i = 0; i < puts; i++)
    {
      char key[32];
      int len = g_snprintf (key, sizeof key, "user:%ld", (long) g_rand_int_range (rand, 0, (gint32) keys));
      g_ptr_array_add (work->key_of_put, g_bytes_new (key, (gsize) len));
      g_autoptr(GBytes) value = value_of_put (work, i);
      GPtrArray *incoming = dk_siblings_new ();
      g_ptr_array_add (incoming, version_of_put (i, value));
      g_ptr_array_add (work->incoming, incoming);
    }
  g_rand_free (rand);
  return work;
}

static void
workload_free (Workload *work)
{
  g_ptr_array_unref (work->key_of_put);
  g_ptr_array_unref (work->incoming);
  g_free (work);
}

static void
die_sqlite (sqlite3 *db, const char *what)
{
  fprintf (stderr, "bench_store: %s: %s\n", what, sqlite3_errmsg (db));
  exit (1);
}

static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;
  if (sqlite3_open (path, &db) != SQLITE_OK)
    die_sqlite (db, "open");
  if (sqlite3_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                    "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB)", NULL, NULL, NULL)
      != SQLITE_OK)
    die_sqlite (db, "schema");
  return db;
}

static void
raw_exec (sqlite3 *db, sqlite3_stmt *stmt)
{
  if (sqlite3_step (stmt) != SQLITE_DONE)
    die_sqlite (db, "step");
  sqlite3_reset (stmt);
}

/* Raw upserts per second, BATCH_SIZE per transaction (1: autocommit). */
static double
raw_puts (const char *path, Workload *work, int batch_size)
{
  sqlite3 *db = raw_open (path);
  sqlite3_stmt *upsert = NULL, *begin = NULL, *commit = NULL;
  if (sqlite3_prepare_v2 (db, "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key)"
                          " DO UPDATE SET value = excluded.value", -1, &upsert, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db, "BEGIN", -1, &begin, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
    die_sqlite (db, "prepare");
  double start = bench_now ();
  for (long i = 0; i < work->puts; i++)
    {
      if (batch_size > 1 && i % batch_size == 0)
        raw_exec (db, begin);
      gsize len = 0;
      const void *key = g_bytes_get_data (g_ptr_array_index (work->key_of_put, i), &len);
      sqlite3_bind_blob (upsert, 1, key, (int) len, SQLITE_STATIC);
      GPtrArray *incoming = g_ptr_array_index (work->incoming, i);
      GBytes *value = ((DkVersion *) g_ptr_array_index (incoming, 0))->value;
      sqlite3_bind_blob (upsert, 2, g_bytes_get_data (value, NULL), VALUE_BYTES, SQLITE_STATIC);
      raw_exec (db, upsert);
      if (batch_size > 1 && (i % batch_size == batch_size - 1 || i == work->puts - 1))
        raw_exec (db, commit);
    }
  double rate = (double) work->puts / (bench_now () - start);
  sqlite3_finalize (upsert);
  sqlite3_finalize (begin);
  sqlite3_finalize (commit);
  sqlite3_close (db);
  return rate;
}

static DkStore *
store_open_or_die (const char *path, DkStoreSync sync)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.sync = sync;
  g_autoptr(GError) error = NULL;
  DkStore *store = dk_store_open (path, &options, &error);
  if (store == NULL)
    {
      fprintf (stderr, "bench_store: %s\n", error->message);
      exit (1);
    }
  return store;
}

static void
check (gboolean ok, GError *error)
{
  if (!ok)
    {
      fprintf (stderr, "bench_store: %s\n", error ? error->message : "failed");
      exit (1);
    }
}

static double
store_puts (const char *path, Workload *work, int batch_size, DkStoreSync sync)
{
  DkStore *store = store_open_or_die (path, sync);
  GError *error = NULL;
  double start = bench_now ();
  for (long i = 0; i < work->puts; i++)
    {
      if (batch_size > 1 && i % batch_size == 0)
        check (dk_store_begin (store, &error), error);
      check (dk_store_put (store, g_ptr_array_index (work->key_of_put, i),
                           g_ptr_array_index (work->incoming, i), i, NULL, &error), error);
      if (batch_size > 1 && (i % batch_size == batch_size - 1 || i == work->puts - 1))
        check (dk_store_commit (store, &error), error);
    }
  double rate = (double) work->puts / (bench_now () - start);
  dk_store_close (store);
  return rate;
}

/* The puts of WORK spread over N_STORES stores opened as the simulator
 * opens its nodes' (the key picks the store); puts per second. */
static double
spread_puts (Workload *work, guint n_stores, gboolean kv_in_memory)
{
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.cache_bytes = 4u << 20;
  options.writes_per_commit = 1024;
  options.kv_in_memory = kv_in_memory;
  GError *error = NULL;
  DkStore *model = dk_store_open (":memory:", &options, &error);
  check (model != NULL, error);
  DkStore **stores = g_new0 (DkStore *, n_stores);
  for (guint i = 0; i < n_stores; i++)
    check ((stores[i] = dk_store_open_like (model, &error)) != NULL, error);
  double start = bench_now ();
  for (long i = 0; i < work->puts; i++)
    {
      GBytes *key = g_ptr_array_index (work->key_of_put, i);
      DkStore *store = stores[g_bytes_hash (key) % n_stores];
      check (dk_store_put (store, key, g_ptr_array_index (work->incoming, i), i, NULL, &error),
             error);
    }
  double rate = (double) work->puts / (bench_now () - start);
  for (guint i = 0; i < n_stores; i++)
    dk_store_close (stores[i]);
  g_free (stores);
  dk_store_close (model);
  return rate;
}

/* Hot reads: the first HOT_KEYS keys of the workload, read round-robin. */
static double
raw_gets (const char *path, Workload *work, long gets)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *select = NULL;
  if (sqlite3_open (path, &db) != SQLITE_OK
      || sqlite3_prepare_v2 (db, "SELECT value FROM kv WHERE key = ?1", -1, &select, NULL)
         != SQLITE_OK)
    die_sqlite (db, "prepare");
  gsize found = 0;
  double start = bench_now ();
  for (long i = 0; i < gets; i++)
    {
      gsize len = 0;
      const void *key = g_bytes_get_data (g_ptr_array_index (work->key_of_put, i % HOT_KEYS), &len);
      sqlite3_bind_blob (select, 1, key, (int) len, SQLITE_STATIC);
      if (sqlite3_step (select) == SQLITE_ROW)
        {
          GBytes *value = g_bytes_new (sqlite3_column_blob (select, 0),
                                       (gsize) sqlite3_column_bytes (select, 0));
          found += g_bytes_get_size (value);
          g_bytes_unref (value);
        }
      sqlite3_reset (select);
    }
  double rate = (double) gets / (bench_now () - start);
  if (found != (gsize) gets * VALUE_BYTES)
    fprintf (stderr, "bench_store: raw gets found %zu bytes\n", found);
  sqlite3_finalize (select);
  sqlite3_close (db);
  return rate;
}

static double
store_gets (const char *path, Workload *work, long gets)
{
  DkStore *store = store_open_or_die (path, DK_STORE_SYNC_NORMAL);
  GError *error = NULL;
  for (long i = 0; i < HOT_KEYS; i++)  /* warm the cache */
    {
      GPtrArray *siblings = dk_store_get (store, g_ptr_array_index (work->key_of_put, i), &error);
      check (siblings != NULL, error);
      g_ptr_array_unref (siblings);
    }
  gsize found = 0;
  double start = bench_now ();
  for (long i = 0; i < gets; i++)
    {
      GPtrArray *siblings = dk_store_get (store, g_ptr_array_index (work->key_of_put, i % HOT_KEYS),
                                          &error);
      check (siblings != NULL, error);
      found += g_bytes_get_size (((DkVersion *) g_ptr_array_index (siblings, 0))->value);
      g_ptr_array_unref (siblings);
    }
  double rate = (double) gets / (bench_now () - start);
  DkStoreStats stats;
  check (dk_store_get_stats (store, &stats, &error), error);
  if (found != (gsize) gets * VALUE_BYTES || stats.cache_misses > HOT_KEYS)
    fprintf (stderr, "bench_store: store gets found %zu bytes, %" G_GUINT64_FORMAT " misses\n",
             found, stats.cache_misses);
  dk_store_close (store);
  return rate;
}

static void
remove_dir (const char *dir)
{
  GDir *handle = g_dir_open (dir, 0, NULL);
  const char *name;
  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  if (handle != NULL)
    g_dir_close (handle);
  g_rmdir (dir);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *values, int n)
{
  qsort (values, (size_t) n, sizeof *values, compare_doubles);
  return values[n / 2];
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dk-bench-store-XXXXXX", &error);
  if (dir == NULL)
    {
      fprintf (stderr, "bench_store: %s\n", error->message);
      return 1;
    }
  long puts = bench_scaled (10000), keys = bench_scaled (2500), gets = bench_scaled (200000);
  Workload *work = workload_new (puts, keys);
  printf ("store: %ld puts over %ld keys, %d-byte values, WAL, synchronous=NORMAL, in %s;\n"
          "       median of %d rounds, raw SQLite and the store alternating\n",
          puts, keys, VALUE_BYTES, dir, ROUNDS);

  double raw_put[ROUNDS], store_put[ROUNDS], raw_batch[ROUNDS], store_batch[ROUNDS];
  double raw_get[ROUNDS], store_get[ROUNDS];
  for (int round = 0; round < ROUNDS; round++)
    {
      g_autofree char *raw_path = g_strdup_printf ("%s/raw-%d.db", dir, round);
      g_autofree char *store_path = g_strdup_printf ("%s/store-%d.db", dir, round);
      g_autofree char *raw_batch_path = g_strdup_printf ("%s/raw-batch-%d.db", dir, round);
      g_autofree char *store_batch_path = g_strdup_printf ("%s/store-batch-%d.db", dir, round);
      raw_put[round] = raw_puts (raw_path, work, 1);
      store_put[round] = store_puts (store_path, work, 1, DK_STORE_SYNC_NORMAL);
      raw_batch[round] = raw_puts (raw_batch_path, work, BATCH);
      store_batch[round] = store_puts (store_batch_path, work, BATCH, DK_STORE_SYNC_NORMAL);
      raw_get[round] = raw_gets (raw_path, work, gets);
      store_get[round] = store_gets (store_path, work, gets);
    }
  bench_report_ratio ("store.put", median (store_put, ROUNDS), median (raw_put, ROUNDS),
                      "ops/s", ">= 0.8");
  bench_report_ratio ("store.put.batch100", median (store_batch, ROUNDS),
                      median (raw_batch, ROUNDS), "ops/s", ">= 0.8");
  bench_report_ratio ("store.get.hot", median (store_get, ROUNDS), median (raw_get, ROUNDS),
                      "ops/s", ">= 3");


  /* Durability: SYNC_FULL against SYNC_NORMAL, alternating on fresh files. */
  long sync_puts = bench_scaled (SYNC_PUTS);
  Workload *sync_work = workload_new (sync_puts, MIN (keys, sync_puts));
  printf ("store: %ld puts, synchronous=FULL against NORMAL, in %s\n", sync_puts, dir);
  double normal_put[ROUNDS], full_put[ROUNDS], normal_batch[ROUNDS], full_batch[ROUNDS];
  for (int round = 0; round < ROUNDS; round++)
    {
      g_autofree char *normal_path = g_strdup_printf ("%s/normal-%d.db", dir, round);
      g_autofree char *full_path = g_strdup_printf ("%s/full-%d.db", dir, round);
      g_autofree char *normal_batch_path = g_strdup_printf ("%s/normal-batch-%d.db", dir, round);
      g_autofree char *full_batch_path = g_strdup_printf ("%s/full-batch-%d.db", dir, round);
      normal_put[round] = store_puts (normal_path, sync_work, 1, DK_STORE_SYNC_NORMAL);
      full_put[round] = store_puts (full_path, sync_work, 1, DK_STORE_SYNC_FULL);
      normal_batch[round] = store_puts (normal_batch_path, sync_work, BATCH, DK_STORE_SYNC_NORMAL);
      full_batch[round] = store_puts (full_batch_path, sync_work, BATCH, DK_STORE_SYNC_FULL);
    }
  bench_report_ratio ("store.put.sync_full", median (full_put, ROUNDS),
                      median (normal_put, ROUNDS), "ops/s", NULL);
  bench_report_ratio ("store.batch100.sync_full", median (full_batch, ROUNDS),
                      median (normal_batch, ROUNDS), "ops/s", NULL);

  /* The simulator's stores. */
  long spread_puts_n = bench_scaled (300000);
  Workload *spread_work = workload_new (spread_puts_n, SPREAD_STORES * SPREAD_KEYS);
  printf ("store: %ld puts over %d in-memory stores of %d keys each, as dynsim opens them\n",
          spread_puts_n, SPREAD_STORES, SPREAD_KEYS);
  Workload *one_work = workload_new (spread_puts_n, SPREAD_KEYS);
  double one[ROUNDS], spread[ROUNDS], spread_memkv[ROUNDS];
  for (int round = 0; round < ROUNDS; round++)
    {
      one[round] = spread_puts (one_work, 1, FALSE);
      spread[round] = spread_puts (spread_work, SPREAD_STORES, FALSE);
      spread_memkv[round] = spread_puts (spread_work, SPREAD_STORES, TRUE);
    }
  bench_report_ratio ("store.put.spread", median (spread, ROUNDS), median (one, ROUNDS),
                      "ops/s", NULL);
  bench_report_ratio ("store.put.spread.memkv", median (spread_memkv, ROUNDS),
                      median (spread, ROUNDS), "ops/s", NULL);

  workload_free (one_work);
  workload_free (spread_work);
  workload_free (sync_work);
  workload_free (work);
  remove_dir (dir);
  return 0;
}
