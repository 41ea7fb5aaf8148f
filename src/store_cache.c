/* store_cache.c — what the store remembers in memory: the hot-key cache
 * (decoded sibling sets of the most recently used keys, bounded by an
 * accounted byte budget) and the set of tokens written since the table
 * was created, which answers "no row" without asking SQLite.
 *
 * A GHashTable finds the entry, a GQueue keeps recency (head = most
 * recent); eviction pops the tail until the new entry fits.  An entry is
 * charged for its key, its values, its encoded clocks and a fixed
 * overhead per entry and per version, so the budget bounds real memory
 * within a small factor.  The hash table is never iterated, so its order
 * cannot leak anywhere.
 */
#include "store_private.h"

#define ENTRY_OVERHEAD_BYTES   96  /* entry, hash node, queue link, key GBytes */
#define VERSION_OVERHEAD_BYTES 96  /* DkVersion, DkVclock, value GBytes */

typedef struct
{
  GBytes    *key;
  GPtrArray *siblings;
  gsize      bytes;
  GList      link;   /* in DkStoreCache.recency; data points at this entry */
} CacheEntry;

struct _DkStoreCache
{
  gsize       budget_bytes;
  gsize       used_bytes;
  GHashTable *entries;  /* GBytes* key (borrowed from the entry) -> CacheEntry* */
  GQueue      recency;
  guint64     hits;
  guint64     misses;
};

static gsize
entry_cost (GBytes *key, const GPtrArray *siblings)
{
  gsize bytes = ENTRY_OVERHEAD_BYTES + g_bytes_get_size (key);
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      bytes += VERSION_OVERHEAD_BYTES + g_bytes_get_size (version->value)
               + dk_version_header_size (version);
    }
  return bytes;
}

static void
entry_free (CacheEntry *entry)
{
  g_bytes_unref (entry->key);
  g_ptr_array_unref (entry->siblings);
  g_free (entry);
}

DkStoreCache *
dk_store_cache_new (gsize budget_bytes)
{
  DkStoreCache *cache = g_new0 (DkStoreCache, 1);
  cache->budget_bytes = budget_bytes;
  cache->entries = g_hash_table_new (g_bytes_hash, g_bytes_equal);
  g_queue_init (&cache->recency);
  return cache;
}

static void
entry_unlink (DkStoreCache *cache, CacheEntry *entry)
{
  g_hash_table_remove (cache->entries, entry->key);
  g_queue_unlink (&cache->recency, &entry->link);
  cache->used_bytes -= entry->bytes;
  entry_free (entry);
}

void
dk_store_cache_clear (DkStoreCache *cache)
{
  /* Empty the table in one pass (no lookup per entry), then free the
   * entries, whose keys it borrowed. */
  g_hash_table_remove_all (cache->entries);
  GList *link;
  while ((link = g_queue_pop_head_link (&cache->recency)) != NULL)
    entry_free (link->data);
  cache->used_bytes = 0;
}

void
dk_store_cache_free (DkStoreCache *cache)
{
  if (cache == NULL)
    return;
  dk_store_cache_clear (cache);
  g_hash_table_destroy (cache->entries);
  g_free (cache);
}

const GPtrArray *
dk_store_cache_lookup (DkStoreCache *cache, GBytes *key)
{
  CacheEntry *entry = g_hash_table_lookup (cache->entries, key);
  if (entry == NULL)
    {
      cache->misses++;
      return NULL;
    }
  cache->hits++;
  g_queue_unlink (&cache->recency, &entry->link);
  g_queue_push_head_link (&cache->recency, &entry->link);
  return entry->siblings;
}

GPtrArray *
dk_store_cache_lookup_for_put (DkStoreCache *cache, GBytes *key)
{
  CacheEntry *entry = g_hash_table_lookup (cache->entries, key);
  if (entry == NULL)
    {
      cache->misses++;
      return NULL;
    }
  cache->hits++;
  return entry->siblings;
}

void
dk_store_cache_refresh (DkStoreCache *cache, GBytes *key)
{
  CacheEntry *entry = g_hash_table_lookup (cache->entries, key);
  g_return_if_fail (entry != NULL);
  gsize bytes = entry_cost (entry->key, entry->siblings);
  if (bytes > cache->budget_bytes)
    {
      entry_unlink (cache, entry);
      return;
    }
  cache->used_bytes = cache->used_bytes - entry->bytes + bytes;
  entry->bytes = bytes;
  g_queue_unlink (&cache->recency, &entry->link);
  g_queue_push_head_link (&cache->recency, &entry->link);
  while (cache->used_bytes > cache->budget_bytes)
    entry_unlink (cache, cache->recency.tail->data);
}

const GPtrArray *
dk_store_cache_peek (DkStoreCache *cache, GBytes *key)
{
  CacheEntry *entry = g_hash_table_lookup (cache->entries, key);
  return entry != NULL ? entry->siblings : NULL;
}

void
dk_store_cache_remove (DkStoreCache *cache, GBytes *key)
{
  CacheEntry *entry = g_hash_table_lookup (cache->entries, key);
  if (entry != NULL)
    entry_unlink (cache, entry);
}

void
dk_store_cache_insert (DkStoreCache *cache, GBytes *key, GPtrArray *siblings)
{
  dk_store_cache_remove (cache, key);
  gsize bytes = entry_cost (key, siblings);
  if (bytes > cache->budget_bytes)
    {
      g_ptr_array_unref (siblings);
      return;
    }
  while (cache->used_bytes + bytes > cache->budget_bytes)
    entry_unlink (cache, cache->recency.tail->data);

  CacheEntry *entry = g_new0 (CacheEntry, 1);
  entry->key = g_bytes_ref (key);
  entry->siblings = siblings;
  entry->bytes = bytes;
  entry->link.data = entry;
  g_hash_table_insert (cache->entries, entry->key, entry);
  g_queue_push_head_link (&cache->recency, &entry->link);
  cache->used_bytes += bytes;
}

void
dk_store_cache_counters (const DkStoreCache *cache, guint64 *hits, guint64 *misses,
                         guint64 *bytes, guint64 *entries)
{
  *hits = cache->hits;
  *misses = cache->misses;
  *bytes = cache->used_bytes;
  *entries = cache->recency.length;
}

/* ---- the written-token set (see store_private.h) ------------------------ */

#define TOKENS_MIN_CAPACITY 64

void
dk_store_tokens_start (DkStore *store)
{
  /* A table in memory answers "no row" with one probe of its index. */
  if (store->written_tokens == NULL && store->mem == NULL)
    store->written_tokens = g_new0 (DkStoreTokenSet, 1);
}

void
dk_store_tokens_free (DkStore *store)
{
  if (store->written_tokens == NULL)
    return;
  g_free (store->written_tokens->slots);
  g_clear_pointer (&store->written_tokens, g_free);
}

/* Tokens are already uniform hashes: their low bits pick the slot. */
gboolean
dk_store_tokens_contain (const DkStoreTokenSet *set, DkToken token)
{
  if (token == 0)
    return set->has_zero;
  if (set->capacity == 0)
    return FALSE;
  gsize mask = set->capacity - 1;
  for (gsize slot = token & mask;; slot = (slot + 1) & mask)
    {
      if (set->slots[slot] == token)
        return TRUE;
      if (set->slots[slot] == 0)
        return FALSE;
    }
}

static void
tokens_place (guint64 *slots, gsize capacity, DkToken token)
{
  gsize mask = capacity - 1;
  gsize slot = token & mask;
  while (slots[slot] != 0 && slots[slot] != token)
    slot = (slot + 1) & mask;
  slots[slot] = token;
}

/* Kept at most half full, so probes stay short. */
void
dk_store_tokens_add (DkStoreTokenSet *set, DkToken token)
{
  if (token == 0)
    {
      set->has_zero = TRUE;
      return;
    }
  if (dk_store_tokens_contain (set, token))
    return;
  if (2 * (set->used + 1) > set->capacity)
    {
      gsize capacity = MAX (TOKENS_MIN_CAPACITY, 2 * set->capacity);
      guint64 *slots = g_new0 (guint64, capacity);
      for (gsize i = 0; i < set->capacity; i++)
        if (set->slots[i] != 0)
          tokens_place (slots, capacity, set->slots[i]);
      g_free (set->slots);
      set->slots = slots;
      set->capacity = capacity;
    }
  tokens_place (set->slots, set->capacity, token);
  set->used++;
}
