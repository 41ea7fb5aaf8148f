/* store_memkv.c — the kv table kept in process memory instead of SQLite,
 * for stores that live and die with their process (options.kv_in_memory:
 * the simulator's nodes).  Same rows, same order, same totals as the
 * SQLite table, without a B-tree of pages per store: a write is a tree
 * search and a copy of the encoded set, a scan a walk of the tree.
 *
 * Rows are kept in a GTree ordered as the SQLite primary key orders them:
 * token (unsigned, the ring's order), then key bytes (memcmp, a shorter
 * key first on a common prefix).  Totals are kept as rows change, so
 * counting is free; all-tombstone rows are counted so that collection
 * skips the walk when there are none.
 */
#include <string.h>
#include "store_private.h"

struct _DkStoreMemTable
{
  GTree  *rows;            /* DkStoreMemRow* -> the same row */
  guint64 stored_bytes;    /* sum of key and blob lengths */
  guint64 saved_bytes;
  guint64 all_tombstone_rows;
};

static int
compare_rows (gconstpointer a, gconstpointer b, gpointer unused)
{
  const DkStoreMemRow *x = a, *y = b;
  if (x->token != y->token)
    return x->token < y->token ? -1 : 1;
  gsize x_len = 0, y_len = 0;
  const void *x_data = g_bytes_get_data (x->key, &x_len);
  const void *y_data = g_bytes_get_data (y->key, &y_len);
  int order = memcmp (x_data, y_data, MIN (x_len, y_len));
  if (order != 0 || x_len == y_len)
    return order;
  return x_len < y_len ? -1 : 1;
}

static void
row_free (gpointer data)
{
  DkStoreMemRow *row = data;
  g_bytes_unref (row->key);
  g_free (row->blob);
  g_free (row);
}

DkStoreMemTable *
dk_store_mem_new (void)
{
  DkStoreMemTable *table = g_new0 (DkStoreMemTable, 1);
  table->rows = g_tree_new_full (compare_rows, NULL, NULL, row_free);
  return table;
}

void
dk_store_mem_free (DkStoreMemTable *table)
{
  if (table == NULL)
    return;
  g_tree_destroy (table->rows);
  g_free (table);
}

const DkStoreMemRow *
dk_store_mem_lookup (DkStoreMemTable *table, DkToken token, GBytes *key)
{
  DkStoreMemRow probe = { .token = token, .key = key };
  return g_tree_lookup (table->rows, &probe);
}

/* Take ROW's contribution to the totals out (SIGN -1) or put it in (+1). */
static void
account (DkStoreMemTable *table, const DkStoreMemRow *row, int sign)
{
  guint64 bytes = g_bytes_get_size (row->key) + row->blob_len;
  table->stored_bytes += sign > 0 ? bytes : -bytes;
  table->saved_bytes += sign > 0 ? row->saved : -row->saved;
  if (row->all_tombstones)
    table->all_tombstone_rows += sign > 0 ? 1 : -1;
}

void
dk_store_mem_write (DkStoreMemTable *table, DkToken token, GBytes *key, guint64 digest,
                    const GByteArray *blob, gboolean all_tombstones, gint64 now_us,
                    guint64 saved)
{
  DkStoreMemRow probe = { .token = token, .key = key };
  DkStoreMemRow *row = g_tree_lookup (table->rows, &probe);
  if (row == NULL)
    {
      gsize len = 0;
      const void *data = g_bytes_get_data (key, &len);
      row = g_new0 (DkStoreMemRow, 1);
      row->token = token;
      /* A copy: KEY may be a slice of a whole message. */
      row->key = g_bytes_new (data, len);
      g_tree_insert (table->rows, row, row);
    }
  else
    account (table, row, -1);
  if (row->blob_len != blob->len)
    row->blob = g_realloc (row->blob, blob->len);
  memcpy (row->blob, blob->data, blob->len);
  row->blob_len = blob->len;
  row->digest = digest;
  row->all_tombstones = all_tombstones;
  row->tombstoned_us = all_tombstones ? now_us : 0;
  row->saved = saved;
  account (table, row, +1);
}

void
dk_store_mem_delete (DkStoreMemTable *table, DkToken token, GBytes *key)
{
  DkStoreMemRow probe = { .token = token, .key = key };
  DkStoreMemRow *row = g_tree_lookup (table->rows, &probe);
  if (row == NULL)
    return;
  account (table, row, -1);
  g_tree_remove (table->rows, row);
}

gboolean
dk_store_mem_scan (DkStoreMemTable *table, DkToken first, DkToken last,
                   DkStoreMemVisit visit, gpointer user_data)
{
  /* No key is empty: the empty one sorts before every row of FIRST. */
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  DkStoreMemRow probe = { .token = first, .key = empty };
  for (GTreeNode *node = g_tree_lower_bound (table->rows, &probe); node != NULL;
       node = g_tree_node_next (node))
    {
      const DkStoreMemRow *row = g_tree_node_value (node);
      if (row->token > last)
        break;
      if (!visit (row, user_data))
        return FALSE;
    }
  return TRUE;
}

guint
dk_store_mem_collect (DkStoreMemTable *table, gint64 changed_before_us, DkStoreCache *cache)
{
  if (table->all_tombstone_rows == 0)
    return 0;
  g_autoptr(GPtrArray) dead = g_ptr_array_new ();
  for (GTreeNode *node = g_tree_node_first (table->rows); node != NULL;
       node = g_tree_node_next (node))
    {
      DkStoreMemRow *row = g_tree_node_value (node);
      if (row->all_tombstones && row->tombstoned_us < changed_before_us)
        g_ptr_array_add (dead, row);
    }
  for (guint i = 0; i < dead->len; i++)
    {
      DkStoreMemRow *row = g_ptr_array_index (dead, i);
      dk_store_cache_remove (cache, row->key);
      account (table, row, -1);
      g_tree_remove (table->rows, row);
    }
  return dead->len;
}

void
dk_store_mem_totals (const DkStoreMemTable *table, guint64 *keys, guint64 *bytes,
                     guint64 *saved)
{
  *keys = (guint64) g_tree_nnodes (table->rows);
  *bytes = table->stored_bytes;
  *saved = table->saved_bytes;
}
