/* store_hints.c — hinted handoff storage (Dynamo §4.6): versions a node
 * accepted on behalf of an owner that was down, kept durably until handed
 * back, bounded by count and bytes in total and per owner.
 *
 * The bounds are checked against accounting kept in memory (rebuilt from
 * the table at open and whenever a transaction is rolled back), so adding
 * a hint costs one lookup and one write, not a scan of the table.
 */
#include "store_private.h"

void
dk_store_hint_free (DkStoreHint *hint)
{
  if (hint == NULL)
    return;
  g_clear_pointer (&hint->key, g_bytes_unref);
  g_clear_pointer (&hint->siblings, g_ptr_array_unref);
  g_free (hint);
}

static DkHintUsage *
owner_usage (DkStore *store, DkNodeId owner, gboolean create)
{
  DkHintUsage *usage = g_hash_table_lookup (store->hint_usage_by_owner,
                                            GUINT_TO_POINTER (owner));
  if (usage == NULL && create)
    {
      usage = g_new0 (DkHintUsage, 1);
      g_hash_table_insert (store->hint_usage_by_owner, GUINT_TO_POINTER (owner), usage);
    }
  return usage;
}

/* Apply a change of DCOUNT hints and DBYTES bytes for OWNER. */
static void
account (DkStore *store, DkNodeId owner, gint64 dcount, gint64 dbytes)
{
  DkHintUsage *usage = owner_usage (store, owner, TRUE);
  usage->count += (guint64) dcount;
  usage->bytes += (guint64) dbytes;
  store->hint_usage_total.count += (guint64) dcount;
  store->hint_usage_total.bytes += (guint64) dbytes;
  if (usage->count == 0)
    g_hash_table_remove (store->hint_usage_by_owner, GUINT_TO_POINTER (owner));
}

gboolean
dk_store_hints_reload (DkStore *store, GError **error)
{
  g_hash_table_remove_all (store->hint_usage_by_owner);
  store->hint_usage_total = (DkHintUsage) { 0, 0 };
  if (store->db == NULL)   /* not opened yet: no hints */
    return TRUE;
  sqlite3_stmt *stmt = store->hint_usage;
  int rc;
  while ((rc = dk_store_sql_step (store, stmt)) == SQLITE_ROW)
    account (store, (DkNodeId) sqlite3_column_int64 (stmt, 0),
             sqlite3_column_int64 (stmt, 1), sqlite3_column_int64 (stmt, 2));
  dk_store_sql_done (stmt);
  if (rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "counting hints", error);
  return TRUE;
}

/* Refuse a hint that would take a bound past its limit; counts the refusal. */
static gboolean
check_bounds (DkStore *store, DkNodeId owner, gint64 dcount, gint64 dbytes, GError **error)
{
  const DkStoreOptions *options = &store->options;
  DkHintUsage *usage = owner_usage (store, owner, FALSE);
  DkHintUsage mine = usage != NULL ? *usage : (DkHintUsage) { 0, 0 };
  guint64 total_count = store->hint_usage_total.count + (guint64) dcount;
  guint64 total_bytes = store->hint_usage_total.bytes + (guint64) dbytes;
  guint64 owner_count = mine.count + (guint64) dcount;
  guint64 owner_bytes = mine.bytes + (guint64) dbytes;
  const char *bound = NULL;
  guint64 value = 0, limit = 0;
  if (total_count > options->hints_max_count)
    bound = "hints in total", value = total_count, limit = options->hints_max_count;
  else if (total_bytes > options->hints_max_bytes)
    bound = "bytes of hints in total", value = total_bytes, limit = options->hints_max_bytes;
  else if (owner_count > options->hints_max_count_per_owner)
    bound = "hints for this owner", value = owner_count,
    limit = options->hints_max_count_per_owner;
  else if (owner_bytes > options->hints_max_bytes_per_owner)
    bound = "bytes of hints for this owner", value = owner_bytes,
    limit = options->hints_max_bytes_per_owner;
  if (bound == NULL)
    return TRUE;
  store->hints_refused++;
  g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_HINTS_FULL,
               "%s: hint for node %u refused: %" G_GUINT64_FORMAT " %s would exceed the"
               " bound of %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " hints refused so far)",
               store->path, owner, value, bound, limit, store->hints_refused);
  return FALSE;
}

/* The hint already held for (OWNER, KEY): *ID is 0 when there is none. */
static gboolean
find_hint (DkStore *store, DkNodeId owner, GBytes *key, gint64 *id, GPtrArray **siblings,
           gint64 *bytes, GError **error)
{
  sqlite3_stmt *stmt = store->hint_select;
  gsize key_len = 0;
  const void *key_data = g_bytes_get_data (key, &key_len);
  sqlite3_bind_int64 (stmt, 1, owner);
  sqlite3_bind_blob (stmt, 2, key_data, (int) key_len, SQLITE_STATIC);
  int rc = dk_store_sql_step (store, stmt);
  *id = 0;
  *siblings = NULL;
  if (rc == SQLITE_ROW)
    {
      *id = sqlite3_column_int64 (stmt, 0);
      *siblings = dk_store_decode_siblings (sqlite3_column_blob (stmt, 1),
                                            (gsize) sqlite3_column_bytes (stmt, 1), error);
      *bytes = sqlite3_column_int64 (stmt, 2);
    }
  dk_store_sql_done (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "looking up a hint", error);
  if (rc == SQLITE_ROW && *siblings == NULL)
    {
      g_prefix_error (error, "%s: hint %" G_GINT64_FORMAT ": ", store->path, *id);
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_store_hint_add (DkStore *store, DkNodeId owner, GBytes *key, const GPtrArray *siblings,
                   gint64 now_us, gint64 *id, GError **error)
{
  g_return_val_if_fail (store != NULL && key != NULL && siblings != NULL, FALSE);
  g_return_val_if_fail (owner != DK_NODE_NONE, FALSE);
  if (!dk_store_check_limits (key, siblings, error))
    return FALSE;
  if (siblings->len == 0)
    {
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_INVALID,
                   "%s: a hint for node %u with no versions", store->path, owner);
      return FALSE;
    }
  if (!dk_store_sql_ready (store, error))
    return FALSE;
  gint64 existing_id = 0, existing_bytes = 0;
  g_autoptr(GPtrArray) merged = NULL;
  if (!find_hint (store, owner, key, &existing_id, &merged, &existing_bytes, error))
    return FALSE;
  if (merged == NULL)
    merged = dk_siblings_new ();
  gboolean changed = dk_siblings_merge (merged, siblings, &store->dot_collisions);
  if (existing_id != 0 && !changed)
    {
      if (id != NULL)
        *id = existing_id;
      return TRUE;
    }
  if (merged->len > DK_SIBLINGS_HARD_MAX)
    {
      g_autofree char *shown = dk_store_key_display (key);
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE,
                   "%s: hint for key '%s': %u concurrent versions are over the limit of %u"
                   " siblings (DK_SIBLINGS_HARD_MAX)", store->path, shown, merged->len,
                   DK_SIBLINGS_HARD_MAX);
      return FALSE;
    }

  g_autoptr(GByteArray) blob = g_byte_array_sized_new (256);
  dk_store_encode_siblings (merged, store->options.compress_threshold_bytes, blob, NULL);
  gsize key_len = 0;
  const void *key_data = g_bytes_get_data (key, &key_len);
  gint64 bytes = (gint64) (key_len + blob->len);
  gint64 dcount = existing_id != 0 ? 0 : 1;
  if (!check_bounds (store, owner, dcount, bytes - existing_bytes, error))
    return FALSE;

  sqlite3_stmt *stmt = existing_id != 0 ? store->hint_update : store->hint_insert;
  if (existing_id != 0)
    {
      sqlite3_bind_int64 (stmt, 1, existing_id);
      sqlite3_bind_blob (stmt, 2, blob->data, (int) blob->len, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, bytes);
    }
  else
    {
      sqlite3_bind_int64 (stmt, 1, owner);
      sqlite3_bind_blob (stmt, 2, key_data, (int) key_len, SQLITE_STATIC);
      sqlite3_bind_blob (stmt, 3, blob->data, (int) blob->len, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 4, now_us);
      sqlite3_bind_int64 (stmt, 5, bytes);
    }
  if (!dk_store_group_join (store, error))
    return FALSE;
  if (!dk_store_sql_run (store, stmt, "storing a hint", error))
    return FALSE;
  account (store, owner, dcount, bytes - existing_bytes);
  if (id != NULL)
    *id = existing_id != 0 ? existing_id : sqlite3_last_insert_rowid (store->db);
  return dk_store_group_count (store, error);
}

GPtrArray *
dk_store_hints_for_owner (DkStore *store, DkNodeId owner, guint limit, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_autoptr(GPtrArray) hints = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_store_hint_free);
  if (store->db == NULL)   /* not opened yet: no hints */
    return g_steal_pointer (&hints);
  sqlite3_stmt *stmt = store->hint_list;
  sqlite3_bind_int64 (stmt, 1, owner);
  sqlite3_bind_int64 (stmt, 2, limit == 0 ? -1 : (gint64) limit);
  int rc;
  gboolean decoded = TRUE;
  while (decoded && (rc = dk_store_sql_step (store, stmt)) == SQLITE_ROW)
    {
      g_autoptr(DkStoreHint) hint = g_new0 (DkStoreHint, 1);
      hint->id = sqlite3_column_int64 (stmt, 0);
      hint->owner = owner;
      hint->key = g_bytes_new (sqlite3_column_blob (stmt, 1),
                               (gsize) sqlite3_column_bytes (stmt, 1));
      hint->siblings = dk_store_decode_siblings (sqlite3_column_blob (stmt, 2),
                                                 (gsize) sqlite3_column_bytes (stmt, 2), error);
      hint->created_us = sqlite3_column_int64 (stmt, 3);
      decoded = hint->siblings != NULL;
      if (decoded)
        g_ptr_array_add (hints, g_steal_pointer (&hint));
      else
        g_prefix_error (error, "%s: hint %" G_GINT64_FORMAT ": ", store->path, hint->id);
    }
  dk_store_sql_done (stmt);
  if (!decoded)
    return NULL;
  if (rc != SQLITE_DONE)
    return dk_store_sql_fail (store, rc, "listing hints", error), NULL;
  return g_steal_pointer (&hints);
}

static gint
compare_node_ids (gconstpointer a, gconstpointer b)
{
  DkNodeId x = *(const DkNodeId *) a, y = *(const DkNodeId *) b;
  return x < y ? -1 : x > y;
}

GArray *
dk_store_hint_owners (DkStore *store, GError **error)
{
  GArray *owners = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  GHashTableIter iter;
  gpointer owner;
  g_hash_table_iter_init (&iter, store->hint_usage_by_owner);
  while (g_hash_table_iter_next (&iter, &owner, NULL))
    {
      DkNodeId id = GPOINTER_TO_UINT (owner);
      g_array_append_val (owners, id);
    }
  g_array_sort (owners, compare_node_ids);  /* never let hash order out */
  return owners;
}

gboolean
dk_store_hint_remove (DkStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  if (store->db == NULL)   /* not opened yet: no hints */
    return TRUE;
  sqlite3_stmt *lookup = store->hint_lookup_id;
  sqlite3_bind_int64 (lookup, 1, id);
  int rc = dk_store_sql_step (store, lookup);
  DkNodeId owner = DK_NODE_NONE;
  gint64 bytes = 0;
  if (rc == SQLITE_ROW)
    {
      owner = (DkNodeId) sqlite3_column_int64 (lookup, 0);
      bytes = sqlite3_column_int64 (lookup, 1);
    }
  dk_store_sql_done (lookup);
  if (rc == SQLITE_DONE)
    return TRUE;
  if (rc != SQLITE_ROW)
    return dk_store_sql_fail (store, rc, "looking up a hint", error);

  if (!dk_store_group_join (store, error))
    return FALSE;
  sqlite3_bind_int64 (store->hint_delete, 1, id);
  if (!dk_store_sql_run (store, store->hint_delete, "removing a hint", error))
    return FALSE;
  account (store, owner, -1, -bytes);
  return dk_store_group_count (store, error);
}

guint
dk_store_hint_count (DkStore *store, DkNodeId owner)
{
  if (owner == DK_NODE_NONE)
    return (guint) store->hint_usage_total.count;
  DkHintUsage *usage = owner_usage (store, owner, FALSE);
  return usage != NULL ? (guint) usage->count : 0;
}

DkStoreHint *
dk_store_hint_get (DkStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  if (store->db == NULL)   /* not opened yet: no hints */
    return NULL;
  sqlite3_stmt *stmt = store->hint_by_id;
  sqlite3_bind_int64 (stmt, 1, id);
  int rc = dk_store_sql_step (store, stmt);
  if (rc != SQLITE_ROW)
    {
      dk_store_sql_done (stmt);
      if (rc != SQLITE_DONE)
        dk_store_sql_fail (store, rc, "reading a hint", error);
      return NULL;
    }
  g_autoptr(DkStoreHint) hint = g_new0 (DkStoreHint, 1);
  hint->id = id;
  hint->owner = (DkNodeId) sqlite3_column_int64 (stmt, 0);
  hint->key = g_bytes_new (sqlite3_column_blob (stmt, 1), (gsize) sqlite3_column_bytes (stmt, 1));
  hint->siblings = dk_store_decode_siblings (sqlite3_column_blob (stmt, 2),
                                             (gsize) sqlite3_column_bytes (stmt, 2), error);
  hint->created_us = sqlite3_column_int64 (stmt, 3);
  dk_store_sql_done (stmt);
  if (hint->siblings == NULL)
    {
      g_prefix_error (error, "%s: hint %" G_GINT64_FORMAT ": ", store->path, id);
      return NULL;
    }
  return g_steal_pointer (&hint);
}
