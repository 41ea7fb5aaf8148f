/* store_memkv.c — the kv table kept in process memory instead of SQLite,
 * for stores that live and die with their process (options.kv_in_memory:
 * the simulator's nodes).  Same rows, same order, same totals as the
 * SQLite table, without a B-tree of pages per store: a write is an index
 * probe and a set reconciled in place, a scan a walk of an array.  Rows
 * hold their sets decoded, so nothing is encoded or decoded and the
 * store's hot-key cache is not used (it would only hold copies).
 *
 * Scans see rows in the SQLite primary key's order, kept by
 * store_memorder.c.  Totals are kept as rows change, so counting is free;
 * all-tombstone rows are counted so that collection skips the walk when
 * there are none.
 *
 * Point lookups (every put, every read the hot-key cache misses) go
 * through an index beside the order: open addressing with linear probing
 * on the token, whose slots hold the token and the row, so a lookup
 * touches one slot and the row it finds.
 * Tokens may collide: a probe checks the key too and goes on.
 */
#include <string.h>
#include "store_private.h"

struct _DkStoreMemTable
{
  DkStoreMemOrder *order;  /* every row, in primary-key order */
  GHashTable *meta;        /* name -> gint64*: the node's metadata */
  guint64 n_rows;
  guint64 stored_bytes;    /* sum of key and encoded set lengths */
  guint64 saved_bytes;
  guint64 all_tombstone_rows;
  /* the index: INDEX_CAPACITY slots, a power of two, at most half full */
  guint64        *index_tokens;
  DkStoreMemRow **index_rows;    /* NULL: an empty slot */
  gsize           index_capacity;
};

#define INDEX_MIN_CAPACITY 64

static gboolean
row_has_key (const DkStoreMemRow *row, GBytes *key)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (key, &len);
  return row->key_len == len && memcmp (row->key_bytes, data, len) == 0;
}

/* The slot holding KEY's row, or the empty slot where the probe ended. */
static gsize
index_find (const DkStoreMemTable *table, DkToken token, GBytes *key)
{
  gsize mask = table->index_capacity - 1;
  gsize slot = token & mask;
  while (table->index_rows[slot] != NULL
         && (table->index_tokens[slot] != token || !row_has_key (table->index_rows[slot], key)))
    slot = (slot + 1) & mask;
  return slot;
}

static void
index_place (guint64 *tokens, DkStoreMemRow **rows, gsize capacity, DkStoreMemRow *row)
{
  gsize mask = capacity - 1;
  gsize slot = row->token & mask;
  while (rows[slot] != NULL)
    slot = (slot + 1) & mask;
  tokens[slot] = row->token;
  rows[slot] = row;
}

/* Make room for one more row. */
static void
index_reserve (DkStoreMemTable *table)
{
  gsize used = (gsize) table->n_rows;
  if (2 * (used + 1) <= table->index_capacity)
    return;
  gsize capacity = MAX (INDEX_MIN_CAPACITY, 2 * table->index_capacity);
  guint64 *tokens = g_new (guint64, capacity);
  DkStoreMemRow **rows = g_new0 (DkStoreMemRow *, capacity);
  for (gsize i = 0; i < table->index_capacity; i++)
    if (table->index_rows[i] != NULL)
      index_place (tokens, rows, capacity, table->index_rows[i]);
  g_free (table->index_tokens);
  g_free (table->index_rows);
  table->index_tokens = tokens;
  table->index_rows = rows;
  table->index_capacity = capacity;
}

/* Empty SLOT, moving later rows of its probe run back so that every
 * probe still finds them (no deletion marks). */
static void
index_remove_slot (DkStoreMemTable *table, gsize slot)
{
  gsize mask = table->index_capacity - 1;
  gsize hole = slot;
  for (gsize next = (hole + 1) & mask; table->index_rows[next] != NULL; next = (next + 1) & mask)
    {
      gsize home = table->index_tokens[next] & mask;
      /* NEXT may fill the hole unless its home lies in (hole, next]. */
      gboolean home_after_hole = hole <= next ? (hole < home && home <= next)
                                              : (hole < home || home <= next);
      if (home_after_hole)
        continue;
      table->index_tokens[hole] = table->index_tokens[next];
      table->index_rows[hole] = table->index_rows[next];
      hole = next;
    }
  table->index_rows[hole] = NULL;
}

static DkStoreMemRow *
index_lookup (const DkStoreMemTable *table, DkToken token, GBytes *key)
{
  if (table->index_capacity == 0)
    return NULL;
  return table->index_rows[index_find (table, token, key)];
}

static void
row_free (DkStoreMemRow *row)
{
  g_bytes_unref (row->key);
  g_ptr_array_unref (row->siblings);
  g_free (row);
}

DkStoreMemTable *
dk_store_mem_new (void)
{
  DkStoreMemTable *table = g_new0 (DkStoreMemTable, 1);
  table->order = dk_store_order_new ();
  table->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return table;
}

void
dk_store_mem_free (DkStoreMemTable *table)
{
  if (table == NULL)
    return;
  dk_store_order_free (table->order);
  g_hash_table_destroy (table->meta);
  for (gsize i = 0; i < table->index_capacity; i++)
    if (table->index_rows[i] != NULL)
      row_free (table->index_rows[i]);
  g_free (table->index_tokens);
  g_free (table->index_rows);
  g_free (table);
}

void
dk_store_mem_clear (DkStoreMemTable *table)
{
  dk_store_order_free (table->order);
  table->order = dk_store_order_new ();
  for (gsize i = 0; i < table->index_capacity; i++)
    if (table->index_rows[i] != NULL)
      row_free (table->index_rows[i]);
  g_clear_pointer (&table->index_tokens, g_free);
  g_clear_pointer (&table->index_rows, g_free);
  table->index_capacity = 0;
  table->n_rows = 0;
  table->stored_bytes = 0;
  table->saved_bytes = 0;
  table->all_tombstone_rows = 0;
}

DkStoreMemRow *
dk_store_mem_lookup (DkStoreMemTable *table, DkToken token, GBytes *key)
{
  return index_lookup (table, token, key);
}

/* Take ROW out of the index and the order, and free it. */
static void
remove_row (DkStoreMemTable *table, DkStoreMemRow *row)
{
  index_remove_slot (table, index_find (table, row->token, row->key));
  dk_store_order_remove (table->order, row);
  table->n_rows--;
  row_free (row);
}

/* Take ROW's contribution to the totals out (SIGN -1) or put it in (+1). */
static void
account (DkStoreMemTable *table, const DkStoreMemRow *row, int sign)
{
  guint64 bytes = g_bytes_get_size (row->key) + row->stored_len;
  table->stored_bytes += sign > 0 ? bytes : -bytes;
  table->saved_bytes += sign > 0 ? row->saved : -row->saved;
  if (row->all_tombstones)
    table->all_tombstone_rows += sign > 0 ? 1 : -1;
}

void
dk_store_mem_write (DkStoreMemTable *table, DkToken token, GBytes *key, guint64 digest,
                    GPtrArray *siblings, gsize stored_len, gboolean all_tombstones,
                    gint64 now_us, guint64 saved)
{
  DkStoreMemRow *row = index_lookup (table, token, key);
  if (row == NULL)
    {
      index_reserve (table);
      gsize len = 0;
      const void *data = g_bytes_get_data (key, &len);
      row = g_malloc0 (sizeof *row + len);
      row->token = token;
      row->key_len = (guint32) len;
      memcpy (row->key_bytes, data, len);
      /* A copy: KEY may be a slice of a whole message. */
      row->key = g_bytes_new (data, len);
      dk_store_order_insert (table->order, row);
      table->n_rows++;
      index_place (table->index_tokens, table->index_rows, table->index_capacity, row);
    }
  else
    account (table, row, -1);
  if (siblings != NULL)
    {
      g_clear_pointer (&row->siblings, g_ptr_array_unref);
      row->siblings = siblings;
    }
  g_return_if_fail (row->siblings != NULL);
  row->stored_len = (guint32) stored_len;   /* under 255 values of DK_VALUE_MAX_BYTES */
  row->digest = digest;
  row->all_tombstones = all_tombstones;
  row->tombstoned_us = all_tombstones ? now_us : 0;
  row->saved = saved;
  account (table, row, +1);
}

void
dk_store_mem_delete (DkStoreMemTable *table, DkToken token, GBytes *key)
{
  DkStoreMemRow *row = index_lookup (table, token, key);
  if (row == NULL)
    return;
  account (table, row, -1);
  remove_row (table, row);
}

gboolean
dk_store_mem_scan (DkStoreMemTable *table, DkToken first, DkToken last,
                   DkStoreMemVisit visit, gpointer user_data)
{
  return dk_store_order_scan (table->order, first, last, visit, user_data);
}

guint
dk_store_mem_collect (DkStoreMemTable *table, gint64 changed_before_us, DkStoreCache *cache)
{
  if (table->all_tombstone_rows == 0)
    return 0;
  g_autoptr(GPtrArray) dead = g_ptr_array_new ();
  for (gsize i = 0; i < table->index_capacity; i++)
    {
      DkStoreMemRow *row = table->index_rows[i];
      if (row != NULL && row->all_tombstones && row->tombstoned_us < changed_before_us)
        g_ptr_array_add (dead, row);
    }
  for (guint i = 0; i < dead->len; i++)
    {
      DkStoreMemRow *row = g_ptr_array_index (dead, i);
      dk_store_cache_remove (cache, row->key);
      account (table, row, -1);
      remove_row (table, row);
    }
  return dead->len;
}

void
dk_store_mem_totals (const DkStoreMemTable *table, guint64 *keys, guint64 *bytes,
                     guint64 *saved)
{
  *keys = table->n_rows;
  *bytes = table->stored_bytes;
  *saved = table->saved_bytes;
}

gboolean
dk_store_mem_meta_get (const DkStoreMemTable *table, const char *name, gint64 *value)
{
  const gint64 *stored = g_hash_table_lookup (table->meta, name);
  if (stored != NULL)
    *value = *stored;
  return stored != NULL;
}

void
dk_store_mem_meta_set (DkStoreMemTable *table, const char *name, gint64 value)
{
  g_hash_table_insert (table->meta, g_strdup (name), g_memdup2 (&value, sizeof value));
}
