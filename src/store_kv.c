/* store_kv.c — the key -> sibling set table: put (reconcile and write),
 * get through the hot-key cache, purge, tombstone collection, token-range
 * scans and digests, counts and stats.  See store.h for the contract.
 */
#include <string.h>
#include "store_private.h"
#include "hash.h"

/* SQLite orders signed integers; flipping the top bit of a token makes
 * that order the ring's unsigned order. */
#define TOKEN_BIAS G_GUINT64_CONSTANT (0x8000000000000000)
static gint64 token_to_column (DkToken token) { return (gint64) (token ^ TOKEN_BIAS); }
static DkToken token_from_column (gint64 column) { return (DkToken) column ^ TOKEN_BIAS; }

static DkToken
key_token (GBytes *key)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (key, &len);
  return dk_hash64 (data, len);
}

/* Bind TOKEN and KEY at TOKEN_INDEX and the next parameter. */
static void
bind_token_and_key (sqlite3_stmt *stmt, int token_index, DkToken token, GBytes *key)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (key, &len);
  sqlite3_bind_int64 (stmt, token_index, token_to_column (token));
  sqlite3_bind_blob (stmt, token_index + 1, data, (int) len, SQLITE_STATIC);
}

static void
bind_key (sqlite3_stmt *stmt, int token_index, GBytes *key)
{
  bind_token_and_key (stmt, token_index, key_token (key), key);
}

/* Refuse input about KEY: "key 'KEY': " then the formatted reason. */
static gboolean
refuse (GError **error, int code, GBytes *key, const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
refuse (GError **error, int code, GBytes *key, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *shown = dk_store_key_display (key);
  g_set_error (error, DK_STORE_ERROR, code, "key '%s': %s", shown, reason);
  return FALSE;
}

gboolean
dk_store_check_limits (GBytes *key, const GPtrArray *siblings, GError **error)
{
  gsize key_len = g_bytes_get_size (key);
  if (key_len == 0)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_INVALID,
                   "empty key: keys are 1..%u bytes", DK_KEY_MAX_BYTES);
      return FALSE;
    }
  if (key_len > DK_KEY_MAX_BYTES)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE,
                   "key of %zu bytes is over the limit of %u bytes (DK_KEY_MAX_BYTES)",
                   key_len, DK_KEY_MAX_BYTES);
      return FALSE;
    }
  if (siblings->len > DK_SIBLINGS_HARD_MAX)
    return refuse (error, DK_STORE_ERROR_TOO_LARGE, key, "%u versions are over the limit"
                   " of %u siblings (DK_SIBLINGS_HARD_MAX)", siblings->len,
                   DK_SIBLINGS_HARD_MAX);
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      g_return_val_if_fail (version != NULL && version->context != NULL
                            && version->value != NULL, FALSE);
      gsize value_len = g_bytes_get_size (version->value);
      guint clock_entries = dk_vclock_size (version->context);
      if (value_len > DK_VALUE_MAX_BYTES)
        return refuse (error, DK_STORE_ERROR_TOO_LARGE, key, "value of %zu bytes is over"
                       " the limit of %u bytes (DK_VALUE_MAX_BYTES)", value_len,
                       DK_VALUE_MAX_BYTES);
      if (version->tombstone && value_len != 0)
        return refuse (error, DK_STORE_ERROR_INVALID, key, "a tombstone must have an"
                       " empty value, got %zu bytes", value_len);
      if (clock_entries > DK_VCLOCK_MAX_ENTRIES)
        return refuse (error, DK_STORE_ERROR_TOO_LARGE, key, "a clock of %u entries is"
                       " over the limit of %u (DK_VCLOCK_MAX_ENTRIES)", clock_entries,
                       DK_VCLOCK_MAX_ENTRIES);
    }
  return TRUE;
}

/* Decode the blob of KEY's row; NULL with an error naming the key. */
static GPtrArray *
decode_row (DkStore *store, GBytes *key, const guint8 *blob, gsize len, GError **error)
{
  GPtrArray *siblings = dk_store_decode_siblings (blob, len, error);
  if (siblings == NULL)
    {
      g_autofree char *shown = dk_store_key_display (key);
      g_prefix_error (error, "%s: key '%s': ", store->path, shown);
    }
  return siblings;
}

/* The set stored in the table for KEY, decoded (empty when absent), or
 * NULL with an error.  The caller owns it.  A key never written since the
 * table was created empty has no row: no need to ask SQLite. */
static GPtrArray *
read_row (DkStore *store, GBytes *key, GError **error)
{
  DkToken token = key_token (key);
  if (store->written_tokens != NULL && !dk_store_tokens_contain (store->written_tokens, token))
    return dk_siblings_new ();
  bind_token_and_key (store->select_row, 1, token, key);
  int rc = dk_store_sql_step (store, store->select_row);
  GPtrArray *siblings = NULL;
  if (rc == SQLITE_ROW)
    {
      const guint8 *blob = sqlite3_column_blob (store->select_row, 0);
      gsize len = (gsize) sqlite3_column_bytes (store->select_row, 0);
      siblings = decode_row (store, key, blob, len, error);
    }
  else if (rc == SQLITE_DONE)
    siblings = dk_siblings_new ();
  else
    dk_store_sql_fail (store, rc, "reading a key", error);
  dk_store_sql_done (store->select_row);
  return siblings;
}

static gboolean
all_tombstones (const GPtrArray *siblings)
{
  for (guint i = 0; i < siblings->len; i++)
    if (!((const DkVersion *) g_ptr_array_index ((GPtrArray *) siblings, i))->tombstone)
      return FALSE;
  return TRUE;
}

/* Bind a row's six columns (upsert_row's parameters) to STMT and step it. */
static int
step_row (DkStore *store, sqlite3_stmt *stmt, DkToken token, GBytes *key, guint64 digest,
          const GByteArray *blob, gboolean tombstoned, gint64 now_us, gsize saved)
{
  bind_token_and_key (stmt, 1, token, key);
  sqlite3_bind_int64 (stmt, 3, (gint64) digest);
  sqlite3_bind_blob (stmt, 4, blob->data, (int) blob->len, SQLITE_STATIC);
  if (tombstoned)  /* only tombstones age; NULL keeps live rows short */
    sqlite3_bind_int64 (stmt, 5, now_us);
  sqlite3_bind_int64 (stmt, 6, (gint64) saved);
  int rc = dk_store_sql_step (store, stmt);
  dk_store_sql_done (stmt);
  return rc;
}

/* Write KEY's set.  HAD_ROW says whether the table holds KEY (the set
 * was read from it, or cached, non-empty): a plain UPDATE or INSERT then
 * does what the upsert does with one index search less.  Should the
 * table disagree, the upsert runs after all. */
static gboolean
write_row (DkStore *store, GBytes *key, const GPtrArray *siblings, gboolean had_row,
           gint64 now_us, GError **error)
{
  if (store->row_buffer == NULL)
    store->row_buffer = g_byte_array_sized_new (1024);
  GByteArray *blob = store->row_buffer;
  g_byte_array_set_size (blob, 0);
  gsize saved = 0;
  dk_store_encode_siblings (siblings, store->options.compress_threshold_bytes, blob, &saved);
  gboolean only_tombstones = all_tombstones (siblings);

  DkToken token = key_token (key);
  guint64 digest = dk_siblings_digest (siblings);
  if (!dk_store_group_join (store, error))
    return FALSE;
  /* Noted before the write: the set may hold tokens without rows, never
   * the reverse. */
  if (store->written_tokens != NULL)
    dk_store_tokens_add (store->written_tokens, token);
  int rc = step_row (store, had_row ? store->update_row : store->insert_row, token, key,
                     digest, blob, only_tombstones, now_us, saved);
  if ((rc == SQLITE_DONE && had_row && sqlite3_changes (store->db) == 0)
      || (rc == SQLITE_CONSTRAINT_PRIMARYKEY && !had_row))
    rc = step_row (store, store->upsert_row, token, key, digest, blob, only_tombstones,
                   now_us, saved);
  if (blob->len > 65536)  /* do not keep a rare large row's buffer */
    g_clear_pointer (&store->row_buffer, g_byte_array_unref);
  if (rc != SQLITE_DONE)
    {
      g_autofree char *shown = dk_store_key_display (key);
      g_autofree char *what = g_strdup_printf ("writing key '%s'", shown);
      return dk_store_sql_fail (store, rc, what, error);
    }
  return dk_store_group_count (store, error);
}

/* dk_store_put on a table in memory: the row's set is reconciled in
 * place, unless the result might pass the hard cap, whose refusal must
 * leave the row as it was: then a copy is. */
static gboolean
put_in_memory (DkStore *store, GBytes *key, const GPtrArray *incoming, gint64 now_us,
               gboolean *changed, GError **error)
{
  DkToken token = key_token (key);
  DkStoreMemRow *row = dk_store_mem_lookup (store->mem, token, key);
  gboolean in_place = row != NULL && row->siblings->len + incoming->len <= DK_SIBLINGS_HARD_MAX;
  g_autoptr(GPtrArray) copy = NULL;
  if (!in_place)
    copy = row != NULL ? dk_siblings_copy (row->siblings) : dk_siblings_new ();
  GPtrArray *siblings = in_place ? row->siblings : copy;
  gboolean set_changed = FALSE;
  for (guint i = 0; i < incoming->len; i++)
    set_changed |= dk_siblings_add (siblings,
                                    dk_version_copy (g_ptr_array_index ((GPtrArray *) incoming, i)),
                                    &store->dot_collisions);
  if (!set_changed)
    return TRUE;
  if (siblings->len > DK_SIBLINGS_HARD_MAX)
    return refuse (error, DK_STORE_ERROR_TOO_LARGE, key, "%u concurrent versions are"
                   " over the limit of %u siblings (DK_SIBLINGS_HARD_MAX); nothing stored",
                   siblings->len, DK_SIBLINGS_HARD_MAX);
  if (store->row_buffer == NULL)
    store->row_buffer = g_byte_array_sized_new (1024);
  gsize saved = 0;
  gsize stored_len = dk_store_encoded_size (siblings, store->options.compress_threshold_bytes,
                                            store->row_buffer, &saved);
  if (store->row_buffer->len > 65536)  /* do not keep a rare large row's buffer */
    g_clear_pointer (&store->row_buffer, g_byte_array_unref);
  dk_store_mem_write (store->mem, token, key, dk_siblings_digest (siblings),
                      g_steal_pointer (&copy), stored_len, all_tombstones (siblings), now_us,
                      saved);
  if (changed != NULL)
    *changed = TRUE;
  return TRUE;
}

gboolean
dk_store_put (DkStore *store, GBytes *key, const GPtrArray *incoming,
              gint64 now_us, gboolean *changed, GError **error)
{
  g_return_val_if_fail (store != NULL && key != NULL && incoming != NULL, FALSE);
  if (changed != NULL)
    *changed = FALSE;
  if (!dk_store_check_limits (key, incoming, error))
    return FALSE;
  if (store->mem != NULL)
    return put_in_memory (store, key, incoming, now_us, changed, error);
  /* A cached set is reconciled in place; one read from the table is
   * cached once written.  Either way a failure leaves the key uncached. */
  GPtrArray *cached = dk_store_cache_lookup_for_put (store->cache, key);
  g_autoptr(GPtrArray) read = NULL;
  if (cached == NULL && (read = read_row (store, key, error)) == NULL)
    return FALSE;
  GPtrArray *siblings = cached != NULL ? cached : read;
  gboolean had_row = siblings->len > 0;   /* no row holds an empty set */

  gboolean set_changed = FALSE;
  for (guint i = 0; i < incoming->len; i++)
    set_changed |= dk_siblings_add (siblings,
                                    dk_version_copy (g_ptr_array_index ((GPtrArray *) incoming, i)),
                                    &store->dot_collisions);
  if (set_changed)
    {
      gboolean ok;
      /* A merge is never refused below the hard cap (types.h): the
       * client's limit, DK_SIBLINGS_MAX, is its coordinator's to apply. */
      if (siblings->len > DK_SIBLINGS_HARD_MAX)
        ok = refuse (error, DK_STORE_ERROR_TOO_LARGE, key, "%u concurrent versions are"
                     " over the limit of %u siblings (DK_SIBLINGS_HARD_MAX); nothing stored",
                     siblings->len, DK_SIBLINGS_HARD_MAX);
      else
        ok = write_row (store, key, siblings, had_row, now_us, error);
      if (!ok)
        {
          if (cached != NULL)
            dk_store_cache_remove (store->cache, key);
          return FALSE;
        }
    }
  if (cached != NULL)
    dk_store_cache_refresh (store->cache, key);
  else
    dk_store_cache_insert (store->cache, key, g_steal_pointer (&read));
  if (changed != NULL)
    *changed = set_changed;
  return TRUE;
}

GPtrArray *
dk_store_get (DkStore *store, GBytes *key, GError **error)
{
  g_return_val_if_fail (store != NULL && key != NULL, NULL);
  if (store->mem != NULL)
    {
      const DkStoreMemRow *row = dk_store_mem_lookup (store->mem, key_token (key), key);
      return row != NULL ? dk_siblings_copy (row->siblings) : dk_siblings_new ();
    }
  const GPtrArray *cached = dk_store_cache_lookup (store->cache, key);
  if (cached != NULL)
    return dk_siblings_copy (cached);
  GPtrArray *siblings = read_row (store, key, error);
  if (siblings != NULL)
    dk_store_cache_insert (store->cache, key, dk_siblings_copy (siblings));
  return siblings;
}

GPtrArray *
dk_store_get_digested (DkStore *store, GBytes *key, guint64 *digest, GError **error)
{
  g_return_val_if_fail (store != NULL && key != NULL && digest != NULL, NULL);
  if (store->mem != NULL)
    {
      const DkStoreMemRow *row = dk_store_mem_lookup (store->mem, key_token (key), key);
      if (row != NULL)
        {
          *digest = row->digest;
          return dk_siblings_copy (row->siblings);
        }
    }
  GPtrArray *siblings = dk_store_get (store, key, error);
  if (siblings != NULL)
    *digest = dk_siblings_digest (siblings);
  return siblings;
}

void
dk_store_discard_memory_rows (DkStore *store)
{
  g_return_if_fail (store != NULL && !store->scanning);
  if (store->mem != NULL)
    dk_store_mem_clear (store->mem);
}

GPtrArray *
dk_store_read (DkStore *store, GBytes *key, guint64 *digest, gboolean *lent, GError **error)
{
  g_return_val_if_fail (store != NULL && key != NULL && digest != NULL && lent != NULL, NULL);
  *lent = FALSE;
  if (store->mem != NULL)
    {
      DkStoreMemRow *row = dk_store_mem_lookup (store->mem, key_token (key), key);
      if (row != NULL)
        {
          *lent = TRUE;
          *digest = row->digest;
          return row->siblings;
        }
    }
  return dk_store_get_digested (store, key, digest, error);
}

gboolean
dk_store_purge (DkStore *store, GBytes *key, GError **error)
{
  g_return_val_if_fail (store != NULL && key != NULL, FALSE);
  if (store->mem != NULL)
    {
      dk_store_mem_delete (store->mem, key_token (key), key);
      dk_store_cache_remove (store->cache, key);
      return TRUE;
    }
  if (!dk_store_group_join (store, error))
    return FALSE;
  bind_key (store->delete_row, 1, key);
  if (!dk_store_sql_run (store, store->delete_row, "purging a key", error))
    return FALSE;
  dk_store_cache_remove (store->cache, key);
  return dk_store_group_count (store, error);
}

typedef struct
{
  DkToken token;
  GBytes *key;
} DeadKey;

static void
dead_key_clear (gpointer data)
{
  g_bytes_unref (((DeadKey *) data)->key);
}

/* Collection finds the keys first and deletes them afterwards, in one
 * transaction, re-checking the condition in the DELETE itself. */
gboolean
dk_store_collect_tombstones (DkStore *store, gint64 now_us, guint *collected,
                             GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  if (collected != NULL)
    *collected = 0;
  gint64 changed_before_us = now_us - store->options.tombstone_grace_us;
  if (store->mem != NULL)
    {
      guint removed = dk_store_mem_collect (store->mem, changed_before_us, store->cache);
      store->tombstones_collected += removed;
      if (collected != NULL)
        *collected = removed;
      return TRUE;
    }
  g_autoptr(GArray) dead = g_array_new (FALSE, FALSE, sizeof (DeadKey));
  g_array_set_clear_func (dead, dead_key_clear);

  sqlite3_bind_int64 (store->select_dead, 1, changed_before_us);
  int rc;
  while ((rc = dk_store_sql_step (store, store->select_dead)) == SQLITE_ROW)
    {
      DeadKey entry = {
        .token = token_from_column (sqlite3_column_int64 (store->select_dead, 0)),
        .key = g_bytes_new (sqlite3_column_blob (store->select_dead, 1),
                            (gsize) sqlite3_column_bytes (store->select_dead, 1)),
      };
      g_array_append_val (dead, entry);
    }
  dk_store_sql_done (store->select_dead);
  if (rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "finding collectable tombstones", error);
  if (dead->len == 0)
    return TRUE;

  gboolean started = FALSE;
  if (!dk_store_write_begin (store, &started, error))
    return FALSE;
  gboolean ok = TRUE;
  guint removed = 0;
  for (guint i = 0; i < dead->len && ok; i++)
    {
      DeadKey *entry = &g_array_index (dead, DeadKey, i);
      gsize len = 0;
      const void *data = g_bytes_get_data (entry->key, &len);
      sqlite3_bind_int64 (store->delete_dead, 1, token_to_column (entry->token));
      sqlite3_bind_blob (store->delete_dead, 2, data, (int) len, SQLITE_STATIC);
      sqlite3_bind_int64 (store->delete_dead, 3, changed_before_us);
      ok = dk_store_sql_run (store, store->delete_dead, "collecting a tombstone", error);
      if (ok)
        {
          removed += (guint) sqlite3_changes (store->db);
          dk_store_cache_remove (store->cache, entry->key);
        }
    }
  if (!dk_store_write_end (store, started, ok, error))
    return FALSE;
  store->tombstones_collected += removed;
  if (collected != NULL)
    *collected = removed;
  return TRUE;
}

/* ---- token-range scans --------------------------------------------------- */

/* What a scan calls for each row: KEYS (dk_store_scan), or SETS with the
 * row's set (dk_store_scan_sets, whose statement also selects it). */
typedef struct
{
  DkStoreScanFunc    keys;
  DkStoreSetScanFunc sets;
  gpointer           user_data;
} ScanVisitor;

/* Hand KEY's set to VISITOR->sets: the cached one when the cache holds
 * KEY, else BLOB (the row's) decoded.  FALSE with *KEEP_GOING untouched
 * and an error when the row does not decode. */
static gboolean
visit_set (DkStore *store, const guint8 *blob, gsize len, const ScanVisitor *visitor,
           DkToken token, GBytes *key, guint64 digest, gboolean *keep_going, GError **error)
{
  const GPtrArray *cached = dk_store_cache_peek (store->cache, key);
  if (cached != NULL)
    {
      *keep_going = visitor->sets (token, key, digest, cached, visitor->user_data);
      return TRUE;
    }
  g_autoptr(GPtrArray) decoded = decode_row (store, key, blob, len, error);
  if (decoded == NULL)
    return FALSE;
  *keep_going = visitor->sets (token, key, digest, decoded, visitor->user_data);
  return TRUE;
}

static gboolean
visit_mem_row (const DkStoreMemRow *row, gpointer user_data)
{
  const ScanVisitor *visitor = user_data;
  if (visitor->sets == NULL)
    return visitor->keys (row->token, row->key, row->digest, visitor->user_data);
  return visitor->sets (row->token, row->key, row->digest, row->siblings, visitor->user_data);
}

/* Visit the tokens in [FIRST, LAST] (inclusive, unsigned) with STMT (one
 * of the scan statements); *STOPPED is set when the visitor asked to stop. */
static gboolean
scan_interval (DkStore *store, sqlite3_stmt *stmt, DkToken first, DkToken last,
               const ScanVisitor *visitor, gboolean *stopped, GError **error)
{
  if (store->mem != NULL)
    {
      *stopped = !dk_store_mem_scan (store->mem, first, last, visit_mem_row,
                                     (gpointer) visitor);
      return TRUE;
    }
  sqlite3_bind_int64 (stmt, 1, token_to_column (first));
  sqlite3_bind_int64 (stmt, 2, token_to_column (last));
  int rc;
  while ((rc = dk_store_sql_step (store, stmt)) == SQLITE_ROW)
    {
      DkToken token = token_from_column (sqlite3_column_int64 (stmt, 0));
      g_autoptr(GBytes) key = g_bytes_new (sqlite3_column_blob (stmt, 1),
                                           (gsize) sqlite3_column_bytes (stmt, 1));
      guint64 digest = (guint64) sqlite3_column_int64 (stmt, 2);
      gboolean keep_going;
      if (visitor->sets == NULL)
        keep_going = visitor->keys (token, key, digest, visitor->user_data);
      else if (!visit_set (store, sqlite3_column_blob (stmt, 3),
                           (gsize) sqlite3_column_bytes (stmt, 3), visitor, token, key,
                           digest, &keep_going, error))
        {
          dk_store_sql_done (stmt);
          return FALSE;
        }
      if (!keep_going)
        {
          *stopped = TRUE;
          rc = SQLITE_DONE;
          break;
        }
    }
  dk_store_sql_done (stmt);
  if (rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "scanning a token range", error);
  return TRUE;
}

static gboolean
scan_range (DkStore *store, sqlite3_stmt *stmt, DkToken lo, DkToken hi,
            const ScanVisitor *visitor, GError **error)
{
  g_return_val_if_fail (!store->scanning, FALSE);
  store->scanning = TRUE;
  gboolean stopped = FALSE, ok;
  if (lo < hi)
    ok = scan_interval (store, stmt, lo + 1, hi, visitor, &stopped, error);
  else
    {
      /* Wraps past the top of the ring: (lo, max], then [0, hi]. */
      ok = lo == G_MAXUINT64
           || scan_interval (store, stmt, lo + 1, G_MAXUINT64, visitor, &stopped, error);
      if (ok && !stopped)
        ok = scan_interval (store, stmt, 0, hi, visitor, &stopped, error);
    }
  store->scanning = FALSE;
  return ok;
}

gboolean
dk_store_scan (DkStore *store, DkToken lo, DkToken hi, DkStoreScanFunc func,
               gpointer user_data, GError **error)
{
  g_return_val_if_fail (store != NULL && func != NULL, FALSE);
  ScanVisitor visitor = { func, NULL, user_data };
  return scan_range (store, store->scan_range, lo, hi, &visitor, error);
}

gboolean
dk_store_scan_sets (DkStore *store, DkToken lo, DkToken hi, DkStoreSetScanFunc func,
                    gpointer user_data, GError **error)
{
  g_return_val_if_fail (store != NULL && func != NULL, FALSE);
  if (store->scan_sets_range == NULL && store->mem == NULL)
    {
      const char *sql = "SELECT token, key, digest, siblings FROM kv"
                        " WHERE token >= ?1 AND token <= ?2 ORDER BY token, key";
      int rc = dk_store_sql_prepare (store, sql, &store->scan_sets_range);
      if (rc != SQLITE_OK)
        return dk_store_sql_fail (store, rc, sql, error);
    }
  ScanVisitor visitor = { NULL, func, user_data };
  return scan_range (store, store->scan_sets_range, lo, hi, &visitor, error);
}

typedef struct
{
  guint64 digest;
  guint64 n_keys;
} RangeFold;

static gboolean
fold_range (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  RangeFold *fold = user_data;
  guint64 words[2] = { GUINT64_TO_BE (token), GUINT64_TO_BE (digest) };
  fold->digest = dk_hash64_seeded (words, sizeof words, fold->digest);
  fold->n_keys++;
  return TRUE;
}

gboolean
dk_store_range_digest (DkStore *store, DkToken lo, DkToken hi, guint64 *digest,
                       guint64 *n_keys, GError **error)
{
  RangeFold fold = { 0, 0 };
  if (!dk_store_scan (store, lo, hi, fold_range, &fold, error))
    return FALSE;
  *digest = fold.n_keys > 0 ? fold.digest : 0;
  if (n_keys != NULL)
    *n_keys = fold.n_keys;
  return TRUE;
}

/* ---- counts and stats ---------------------------------------------------- */

static gboolean
read_totals (DkStore *store, guint64 *keys, guint64 *bytes, guint64 *saved, GError **error)
{
  if (store->mem != NULL)
    {
      dk_store_mem_totals (store->mem, keys, bytes, saved);
      return TRUE;
    }
  int rc = dk_store_sql_step (store, store->totals);
  if (rc == SQLITE_ROW)
    {
      *keys = (guint64) sqlite3_column_int64 (store->totals, 0);
      *bytes = (guint64) sqlite3_column_int64 (store->totals, 1);
      *saved = (guint64) sqlite3_column_int64 (store->totals, 2);
    }
  dk_store_sql_done (store->totals);
  if (rc != SQLITE_ROW)
    return dk_store_sql_fail (store, rc, "counting keys", error);
  return TRUE;
}

gboolean
dk_store_count_keys (DkStore *store, guint64 *n_keys, GError **error)
{
  guint64 bytes = 0, saved = 0;
  return read_totals (store, n_keys, &bytes, &saved, error);
}

gboolean
dk_store_get_stats (DkStore *store, DkStoreStats *stats, GError **error)
{
  memset (stats, 0, sizeof *stats);
  if (!read_totals (store, &stats->keys, &stats->stored_bytes,
                    &stats->compression_saved_bytes, error))
    return FALSE;
  dk_store_cache_counters (store->cache, &stats->cache_hits, &stats->cache_misses,
                           &stats->cache_bytes, &stats->cache_entries);
  stats->hints = store->hint_usage_total.count;
  stats->hint_bytes = store->hint_usage_total.bytes;
  stats->hints_refused = store->hints_refused;
  stats->tombstones_collected = store->tombstones_collected;
  stats->dot_collisions = store->dot_collisions;
  return TRUE;
}

guint64
dk_store_dot_collisions (const DkStore *store)
{
  g_return_val_if_fail (store != NULL, 0);
  return store->dot_collisions;
}

gboolean
dk_store_integrity_check (DkStore *store, GError **error)
{
  if (!dk_store_sql_ready (store, error))
    return FALSE;
  sqlite3_stmt *stmt = NULL;
  int rc = dk_store_sql_prepare (store, "PRAGMA integrity_check", &stmt);
  g_autofree char *first = NULL;
  if (rc == SQLITE_OK && (rc = dk_store_sql_step (store, stmt)) == SQLITE_ROW)
    first = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return dk_store_sql_fail (store, rc, "PRAGMA integrity_check", error);
  if (g_strcmp0 (first, "ok") != 0)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_CORRUPT,
                   "%s: integrity check failed: %s", store->path, first);
      return FALSE;
    }
  return TRUE;
}
