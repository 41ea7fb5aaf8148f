/* store.c — the store's SQLite side: open and schema checks, prepared
 * statements, batches, put/get/purge, tombstone collection, token-range
 * scans and stats.  Hints are in store_hints.c, the row codec in
 * store_codec.c, the cache in store_cache.c; store.h has the contract and
 * the on-disk format.
 */
#include <string.h>
#include "store_private.h"
#include "store_vfs.h"

#ifndef SQLITE_DEFAULT_WAL_AUTOCHECKPOINT
#define SQLITE_DEFAULT_WAL_AUTOCHECKPOINT 1000
#endif

G_DEFINE_QUARK (dk-store-error-quark, dk_store_error)

static const char schema_sql[] =
  "CREATE TABLE kv ("
  "  token INTEGER NOT NULL, key BLOB NOT NULL, digest INTEGER NOT NULL,"
  "  siblings BLOB NOT NULL, tombstoned_us INTEGER, saved_bytes INTEGER NOT NULL,"
  "  PRIMARY KEY (token, key)) WITHOUT ROWID;"
  "CREATE INDEX kv_dead ON kv (tombstoned_us) WHERE tombstoned_us IS NOT NULL;"
  "CREATE TABLE hints ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT, owner INTEGER NOT NULL,"
  "  key BLOB NOT NULL, siblings BLOB NOT NULL, created_us INTEGER NOT NULL,"
  "  bytes INTEGER NOT NULL, UNIQUE (owner, key));"
  "CREATE INDEX hints_by_age ON hints (owner, created_us, id);"
  "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

/* Every statement the store runs more than once, prepared at open. */
static const struct
{
  gsize       offset;
  const char *sql;
} statements[] = {
#define STATEMENT(field, sql) { G_STRUCT_OFFSET (DkStore, field), sql }
  STATEMENT (select_row, "SELECT siblings FROM kv WHERE token = ?1 AND key = ?2"),
  STATEMENT (upsert_row,
             "INSERT INTO kv (token, key, digest, siblings, tombstoned_us, saved_bytes)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
             " ON CONFLICT (token, key) DO UPDATE SET digest = excluded.digest,"
             " siblings = excluded.siblings, tombstoned_us = excluded.tombstoned_us,"
             " saved_bytes = excluded.saved_bytes"),
  STATEMENT (insert_row,
             "INSERT INTO kv (token, key, digest, siblings, tombstoned_us, saved_bytes)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
  STATEMENT (update_row,
             "UPDATE kv SET digest = ?3, siblings = ?4, tombstoned_us = ?5, saved_bytes = ?6"
             " WHERE token = ?1 AND key = ?2"),
  STATEMENT (delete_row, "DELETE FROM kv WHERE token = ?1 AND key = ?2"),
  STATEMENT (scan_range,
             "SELECT token, key, digest FROM kv WHERE token >= ?1 AND token <= ?2"
             " ORDER BY token, key"),
  STATEMENT (select_dead,
             "SELECT token, key FROM kv WHERE tombstoned_us IS NOT NULL"
             " AND tombstoned_us < ?1 ORDER BY tombstoned_us"),
  STATEMENT (delete_dead,
             "DELETE FROM kv WHERE token = ?1 AND key = ?2 AND tombstoned_us IS NOT NULL"
             " AND tombstoned_us < ?3"),
  STATEMENT (totals,
             "SELECT count(*), ifnull(sum(length(key) + length(siblings)), 0),"
             " ifnull(sum(saved_bytes), 0) FROM kv"),
  STATEMENT (hint_select, "SELECT id, siblings, bytes FROM hints WHERE owner = ?1 AND key = ?2"),
  STATEMENT (hint_insert,
             "INSERT INTO hints (owner, key, siblings, created_us, bytes)"
             " VALUES (?1, ?2, ?3, ?4, ?5)"),
  STATEMENT (hint_update, "UPDATE hints SET siblings = ?2, bytes = ?3 WHERE id = ?1"),
  STATEMENT (hint_lookup_id, "SELECT owner, bytes FROM hints WHERE id = ?1"),
  STATEMENT (hint_delete, "DELETE FROM hints WHERE id = ?1"),
  STATEMENT (hint_list,
             "SELECT id, key, siblings, created_us FROM hints WHERE owner = ?1"
             " ORDER BY created_us, id LIMIT ?2"),
  STATEMENT (hint_by_id, "SELECT owner, key, siblings, created_us FROM hints WHERE id = ?1"),
  STATEMENT (hint_usage,
             "SELECT owner, count(*), sum(bytes) FROM hints GROUP BY owner ORDER BY owner"),
  STATEMENT (meta_select, "SELECT value FROM meta WHERE name = ?1"),
  STATEMENT (meta_upsert, "INSERT INTO meta (name, value) VALUES (?1, ?2)"
                          " ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
  STATEMENT (begin, "BEGIN IMMEDIATE"),
  STATEMENT (commit, "COMMIT"),
  STATEMENT (rollback, "ROLLBACK"),
#undef STATEMENT
};

void
dk_store_options_init (DkStoreOptions *options)
{
  memset (options, 0, sizeof *options);
  options->sync = DK_STORE_SYNC_NORMAL;
  options->cache_bytes = 8u << 20;
  options->compress_threshold_bytes = 1024;
  options->tombstone_grace_us = G_GINT64_CONSTANT (24) * 3600 * G_USEC_PER_SEC;
  options->hints_max_count = 100000;
  options->hints_max_bytes = 64u << 20;
  options->hints_max_count_per_owner = 25000;
  options->hints_max_bytes_per_owner = 16u << 20;
}

/* ---- SQLite calls, counted so a test can fail the k-th one -------------- */

static gboolean
fault_due (DkStore *store)
{
  store->sqlite_calls++;
  return store->options.fail_at_call != 0
         && store->sqlite_calls == store->options.fail_at_call;
}

int
dk_store_sql_step (DkStore *store, sqlite3_stmt *stmt)
{
  return fault_due (store) ? SQLITE_IOERR : sqlite3_step (stmt);
}

int
dk_store_sql_prepare (DkStore *store, const char *sql, sqlite3_stmt **stmt)
{
  *stmt = NULL;
  return fault_due (store) ? SQLITE_IOERR : sqlite3_prepare_v2 (store->db, sql, -1, stmt, NULL);
}

int
dk_store_sql_exec (DkStore *store, const char *sql)
{
  return fault_due (store) ? SQLITE_IOERR : sqlite3_exec (store->db, sql, NULL, NULL, NULL);
}

void
dk_store_sql_done (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

gboolean
dk_store_sql_fail (DkStore *store, int rc, const char *what, GError **error)
{
  int primary = rc & 0xff;
  int code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB
               ? DK_STORE_ERROR_CORRUPT : DK_STORE_ERROR_IO;
  const char *detail = store->db != NULL && sqlite3_errcode (store->db) == rc
                         ? sqlite3_errmsg (store->db) : sqlite3_errstr (rc);
  if (primary == SQLITE_NOTADB)
    g_set_error (error, DK_STORE_ERROR, code,
                 "%s: not a dynkv store: not an SQLite database, or its header is corrupted"
                 " (%s)", store->path, detail);
  else
    g_set_error (error, DK_STORE_ERROR, code, "%s: %s failed: %s (SQLite error %d)",
                 store->path, what, detail, rc);
  /* Inside a batch, some errors make SQLite roll the whole transaction back. */
  if (store->in_batch && store->db != NULL && sqlite3_get_autocommit (store->db))
    store->batch_aborted = TRUE;
  /* So they do inside a group: every write of it is lost, and so may be
   * what the cache and the hint accounting hold. */
  if (store->group_open && store->db != NULL && sqlite3_get_autocommit (store->db))
    {
      store->deferred_lost = store->deferred_lost || store->deferring;
      g_prefix_error (error, "the %u grouped writes before this one were rolled back: ",
                      store->group_writes);
      store->group_open = FALSE;
      store->group_writes = 0;
      dk_store_cache_clear (store->cache);
      dk_store_hints_reload (store, NULL);
    }
  return FALSE;
}

gboolean
dk_store_sql_run (DkStore *store, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = dk_store_sql_step (store, stmt);
  dk_store_sql_done (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return dk_store_sql_fail (store, rc, what, error);
  return TRUE;
}

/* ---- open and close ------------------------------------------------------ */

static gboolean
query_int (DkStore *store, const char *sql, gint64 *value, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = dk_store_sql_prepare (store, sql, &stmt);
  if (rc == SQLITE_OK)
    {
      rc = dk_store_sql_step (store, stmt);
      if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64 (stmt, 0);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return dk_store_sql_fail (store, rc, sql, error);
  return TRUE;
}

/* Create the schema in a fresh database, or check that an existing one is
 * ours and of this version, before changing anything in it. */
static gboolean
check_or_create_schema (DkStore *store, GError **error)
{
  gint64 objects = 0, application_id = 0, version = 0;
  if (!query_int (store, "SELECT count(*) FROM sqlite_master", &objects, error)
      || !query_int (store, "PRAGMA application_id", &application_id, error)
      || !query_int (store, "PRAGMA user_version", &version, error))
    return FALSE;

  if (objects == 0 && application_id == 0 && version == 0)
    {
      g_autofree char *sql = g_strdup_printf ("BEGIN; %s PRAGMA application_id = %d;"
                                              " PRAGMA user_version = %d; COMMIT;",
                                              schema_sql, DK_STORE_APPLICATION_ID,
                                              DK_STORE_SCHEMA_VERSION);
      int rc = dk_store_sql_exec (store, sql);
      if (rc != SQLITE_OK)
        {
          sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
          return dk_store_sql_fail (store, rc, "creating the schema", error);
        }
      dk_store_tokens_start (store);  /* an empty table: track what is written */
      return TRUE;
    }
  if (application_id != DK_STORE_APPLICATION_ID)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_FOREIGN,
                   "%s: an SQLite database but not a dynkv store (application_id 0x%08x,"
                   " expected 0x%08x)", store->path, (guint) application_id,
                   (guint) DK_STORE_APPLICATION_ID);
      return FALSE;
    }
  if (version != DK_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_FOREIGN,
                   "%s: a dynkv store of schema version %" G_GINT64_FORMAT
                   ", this build reads version %d", store->path, version,
                   DK_STORE_SCHEMA_VERSION);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_durability (DkStore *store, GError **error)
{
  gboolean in_memory = strcmp (store->path, ":memory:") == 0;
  if (!in_memory)
    {
      sqlite3_stmt *stmt = NULL;
      int rc = dk_store_sql_prepare (store, "PRAGMA journal_mode = WAL", &stmt);
      if (rc == SQLITE_OK)
        rc = dk_store_sql_step (store, stmt);
      gboolean is_wal = rc == SQLITE_ROW
                        && g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0),
                                               "wal") == 0;
      sqlite3_finalize (stmt);
      if (rc != SQLITE_ROW)
        return dk_store_sql_fail (store, rc, "switching to WAL mode", error);
      if (!is_wal)
        {
          g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_IO,
                       "%s: SQLite refused WAL mode", store->path);
          return FALSE;
        }
    }
  const char *sync = store->options.sync == DK_STORE_SYNC_FULL
                       ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
  int rc = dk_store_sql_exec (store, sync);
  if (rc != SQLITE_OK)
    return dk_store_sql_fail (store, rc, sync, error);
  return TRUE;
}

gboolean
dk_store_use_from_one_thread (void)
{
  return sqlite3_config (SQLITE_CONFIG_SINGLETHREAD) == SQLITE_OK
         && sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}

gboolean
dk_store_use_one_store_per_thread (void)
{
  return sqlite3_config (SQLITE_CONFIG_MULTITHREAD) == SQLITE_OK
         && sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}

/* A store not yet open: its options (the defaults when NULL), cache and
 * hint accounting. */
static DkStore *
store_new (const char *path, const DkStoreOptions *options)
{
  DkStore *store = g_new0 (DkStore, 1);
  store->path = g_strdup (path);
  if (options != NULL)
    store->options = *options;
  else
    dk_store_options_init (&store->options);
  store->cache = dk_store_cache_new (store->options.cache_bytes);
  if (store->options.kv_in_memory)
    store->mem = dk_store_mem_new ();
  store->hint_usage_by_owner = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return store;
}

/* Prepare every statement of the table above and load the hint accounting. */
static gboolean
prepare_statements (DkStore *store, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (statements); i++)
    {
      sqlite3_stmt **slot = G_STRUCT_MEMBER_P (store, statements[i].offset);
      int rc = dk_store_sql_prepare (store, statements[i].sql, slot);
      if (rc != SQLITE_OK)
        return dk_store_sql_fail (store, rc, statements[i].sql, error);
    }
  return dk_store_hints_reload (store, error);
}

/* Open STORE's database at its path, create or check the schema, set
 * the durability and prepare the statements. */
static gboolean
open_sqlite (DkStore *store, GError **error)
{
  int rc = sqlite3_open_v2 (store->path, &store->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL);
  if (rc != SQLITE_OK)
    return dk_store_sql_fail (store, rc, "opening", error);
  sqlite3_extended_result_codes (store->db, 1);
  return check_or_create_schema (store, error) && set_durability (store, error)
         && prepare_statements (store, error);
}

static void
close_sqlite (DkStore *store)
{
  for (gsize i = 0; i < G_N_ELEMENTS (statements); i++)
    g_clear_pointer (&G_STRUCT_MEMBER (sqlite3_stmt *, store, statements[i].offset),
                     sqlite3_finalize);
  g_clear_pointer (&store->scan_sets_range, sqlite3_finalize);
  g_clear_pointer (&store->db, sqlite3_close);
}

gboolean
dk_store_sql_ready (DkStore *store, GError **error)
{
  if (store->db != NULL)
    return TRUE;
  if (open_sqlite (store, error))
    return TRUE;
  close_sqlite (store);
  return FALSE;
}

DkStore *
dk_store_open (const char *path, const DkStoreOptions *options, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr(DkStore) store = store_new (path, options);
  if (store->mem != NULL && strcmp (path, ":memory:") != 0)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_INVALID,
                   "%s: kv_in_memory is only for a \":memory:\" store", path);
      return NULL;
    }
  if (store->mem != NULL)   /* SQLite (hints only) opens with the first hint */
    return g_steal_pointer (&store);

  /* A file store writes each transaction's log frames at once (store_vfs.h). */
  const char *vfs = strcmp (path, ":memory:") == 0 ? NULL : dk_store_vfs_name ();
  int rc = sqlite3_open_v2 (path, &store->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            vfs);
  if (rc != SQLITE_OK)
    {
      dk_store_sql_fail (store, rc, "opening", error);
      return NULL;
    }
  sqlite3_extended_result_codes (store->db, 1);
  if (!check_or_create_schema (store, error) || !set_durability (store, error)
      || !prepare_statements (store, error))
    return NULL;
  return g_steal_pointer (&store);
}

DkStore *
dk_store_open_like (const DkStore *model, GError **error)
{
  g_return_val_if_fail (model != NULL && strcmp (model->path, ":memory:") == 0, NULL);
  guint64 model_rows = 0, bytes = 0, saved = 0;
  if (model->mem != NULL)
    dk_store_mem_totals (model->mem, &model_rows, &bytes, &saved);
  g_return_val_if_fail (model->mem != NULL
                        || (model->written_tokens != NULL && model->written_tokens->used == 0
                            && !model->written_tokens->has_zero), NULL);
  g_return_val_if_fail (model_rows == 0 && model->hint_usage_total.count == 0, NULL);
  g_autoptr(DkStore) store = store_new (model->path, &model->options);
  if (store->mem != NULL)   /* SQLite (hints only) opens with the first hint */
    return g_steal_pointer (&store);
  int rc = sqlite3_open_v2 (store->path, &store->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL);
  if (rc != SQLITE_OK)
    {
      dk_store_sql_fail (store, rc, "opening", error);
      return NULL;
    }
  sqlite3_extended_result_codes (store->db, 1);
  sqlite3_backup *backup = sqlite3_backup_init (store->db, "main", model->db, "main");
  rc = backup == NULL ? sqlite3_errcode (store->db)
       : fault_due (store) ? SQLITE_IOERR : sqlite3_backup_step (backup, -1);
  if (backup != NULL)
    sqlite3_backup_finish (backup);
  if (rc != SQLITE_DONE)
    {
      dk_store_sql_fail (store, rc, "copying the schema", error);
      return NULL;
    }
  dk_store_tokens_start (store);  /* an empty table: track what is written */
  if (!set_durability (store, error) || !prepare_statements (store, error))
    return NULL;
  return g_steal_pointer (&store);
}

void
dk_store_close (DkStore *store)
{
  if (store == NULL)
    return;
  if (store->in_batch)
    dk_store_rollback (store);
  g_autoptr(GError) error = NULL;
  if (!dk_store_flush (store, &error))
    g_warning ("closing %s: %s", store->path, error->message);
  close_sqlite (store);
  dk_store_cache_free (store->cache);
  dk_store_mem_free (store->mem);
  dk_store_tokens_free (store);
  g_clear_pointer (&store->row_buffer, g_byte_array_unref);
  g_clear_pointer (&store->hint_usage_by_owner, g_hash_table_destroy);
  g_free (store->path);
  g_free (store);
}

const char *
dk_store_path (const DkStore *store)
{
  return store->path;
}

/* ---- batches ------------------------------------------------------------- */

gboolean
dk_store_begin (DkStore *store, GError **error)
{
  g_return_val_if_fail (!store->in_batch, FALSE);
  if (store->mem != NULL)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_INVALID,
                   "%s: no batches on a store whose kv table is in memory", store->path);
      return FALSE;
    }
  if (!dk_store_flush (store, error) || !dk_store_sql_run (store, store->begin, "BEGIN", error))
    return FALSE;
  store->in_batch = TRUE;
  store->batch_aborted = FALSE;
  return TRUE;
}

/* Not counted for fault injection: a rollback that did not happen would
 * leave later writes inside a transaction nobody commits. */
void
dk_store_rollback (DkStore *store)
{
  if (store->db != NULL && !sqlite3_get_autocommit (store->db))
    {
      sqlite3_step (store->rollback);
      dk_store_sql_done (store->rollback);
    }
  store->in_batch = FALSE;
  store->batch_aborted = FALSE;
  /* The cache and the hint accounting may hold what was just undone. */
  dk_store_cache_clear (store->cache);
  dk_store_hints_reload (store, NULL);
}

gboolean
dk_store_commit (DkStore *store, GError **error)
{
  g_return_val_if_fail (store->in_batch, FALSE);
  if (store->batch_aborted)
    {
      dk_store_rollback (store);
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_IO,
                   "%s: the batch was rolled back by an earlier failure; its writes are lost",
                   store->path);
      return FALSE;
    }
  if (!dk_store_sql_run (store, store->commit, "COMMIT", error))
    {
      dk_store_rollback (store);
      g_prefix_error (error, "batch rolled back, its writes are lost: ");
      return FALSE;
    }
  store->in_batch = FALSE;
  return TRUE;
}

/* ---- grouped commits ------------------------------------------------------ */

gboolean
dk_store_group_join (DkStore *store, GError **error)
{
  if ((store->options.writes_per_commit <= 1 && !store->deferring) || store->in_batch
      || store->group_open)
    return TRUE;
  if (!dk_store_sql_run (store, store->begin, "BEGIN", error))
    return FALSE;
  store->group_open = TRUE;
  store->group_writes = 0;
  return TRUE;
}

gboolean
dk_store_group_count (DkStore *store, GError **error)
{
  if (!store->group_open)
    return TRUE;
  store->group_writes++;
  /* Never under a scan: its statement is still stepping (scans do not
   * write, so this is a guard, not a case). */
  if (store->deferring || store->group_writes < store->options.writes_per_commit
      || store->scanning)
    return TRUE;
  return dk_store_flush (store, error);
}

gboolean
dk_store_flush (DkStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  if (!store->group_open)
    return TRUE;
  guint writes = store->group_writes;
  store->group_open = FALSE;
  store->group_writes = 0;
  if (dk_store_sql_run (store, store->commit, "COMMIT", error))
    return TRUE;
  if (!sqlite3_get_autocommit (store->db))
    {
      sqlite3_step (store->rollback);
      dk_store_sql_done (store->rollback);
    }
  dk_store_cache_clear (store->cache);
  dk_store_hints_reload (store, NULL);
  store->deferred_lost = store->deferred_lost || store->deferring;
  g_prefix_error (error, "%u grouped writes rolled back, they are lost: ", writes);
  return FALSE;
}

/* ---- checkpoints ------------------------------------------------------------ */

static int
log_hook (gpointer data, sqlite3 *db, const char *name, int pages)
{
  DkStore *store = data;
  store->log_watch (store->log_watch_data, (guint) MAX (pages, 0));
  return SQLITE_OK;
}

void
dk_store_watch_log (DkStore *store, DkStoreLogWatch func, gpointer data)
{
  store->log_watch = func;
  store->log_watch_data = data;
  if (func != NULL)
    sqlite3_wal_hook (store->db, log_hook, store);   /* replaces SQLite's own */
  else
    sqlite3_wal_autocheckpoint (store->db, SQLITE_DEFAULT_WAL_AUTOCHECKPOINT);
}

gboolean
dk_store_checkpoint (DkStore *store, GError **error)
{
  int rc = fault_due (store) ? SQLITE_IOERR
           : sqlite3_wal_checkpoint_v2 (store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
    return dk_store_sql_fail (store, rc, "checkpointing the log", error);
  return TRUE;
}

/* ---- deferred commits --------------------------------------------------------- */

void
dk_store_defer_begin (DkStore *store)
{
  g_return_if_fail (!store->deferring);
  store->deferring = TRUE;
  store->deferred_lost = FALSE;
}

gboolean
dk_store_defer_end (DkStore *store, GError **error)
{
  g_return_val_if_fail (store->deferring, FALSE);
  gboolean committed = dk_store_flush (store, error);
  gboolean lost = store->deferred_lost;
  store->deferring = FALSE;
  store->deferred_lost = FALSE;
  if (committed && lost)
    g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_IO,
                 "%s: deferred writes were rolled back by an earlier failure; they are lost",
                 store->path);
  return committed && !lost;
}

gboolean
dk_store_write_begin (DkStore *store, gboolean *started, GError **error)
{
  *started = FALSE;
  if (store->in_batch)
    return TRUE;
  if (!dk_store_flush (store, error) || !dk_store_sql_run (store, store->begin, "BEGIN", error))
    return FALSE;
  *started = TRUE;
  return TRUE;
}

gboolean
dk_store_write_end (DkStore *store, gboolean started, gboolean ok, GError **error)
{
  if (!started)
    return ok;
  if (ok && dk_store_sql_run (store, store->commit, "COMMIT", error))
    return TRUE;
  if (!sqlite3_get_autocommit (store->db))
    {
      sqlite3_step (store->rollback);
      dk_store_sql_done (store->rollback);
    }
  dk_store_cache_clear (store->cache);
  dk_store_hints_reload (store, NULL);
  return FALSE;
}

/* ---- node metadata ---------------------------------------------------------- */

gboolean
dk_store_meta_get (DkStore *store, const char *name, gint64 *value, gboolean *found,
                   GError **error)
{
  *found = FALSE;
  if (store->mem != NULL)
    {
      *found = dk_store_mem_meta_get (store->mem, name, value);
      return TRUE;
    }
  sqlite3_stmt *stmt = store->meta_select;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  int rc = dk_store_sql_step (store, stmt);
  if (rc == SQLITE_ROW)
    {
      *value = sqlite3_column_int64 (stmt, 0);
      *found = TRUE;
      rc = SQLITE_DONE;
    }
  dk_store_sql_done (stmt);
  if (rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "reading metadata", error);
  return TRUE;
}

gboolean
dk_store_meta_set (DkStore *store, const char *name, gint64 value, GError **error)
{
  if (store->mem != NULL)
    {
      dk_store_mem_meta_set (store->mem, name, value);
      return TRUE;
    }
  sqlite3_stmt *stmt = store->meta_upsert;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, value);
  int rc = dk_store_sql_step (store, stmt);
  dk_store_sql_done (stmt);
  if (rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "writing metadata", error);
  return TRUE;
}
