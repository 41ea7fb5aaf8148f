/* ring_cache.c — reference-counted rings keyed by membership; see
 * ring_cache.h.  The key is a canonical text of the members sorted by id,
 * so the order a caller lists them in does not matter. */
#include "ring_cache.h"

#include <stdlib.h>

typedef struct
{
  DkRing *ring;
  char   *key;
  guint   references;
} Entry;

struct _DkRingCache
{
  guint       tokens_per_weight;
  GHashTable *by_key;    /* char* -> Entry*, owns the entries */
  GHashTable *by_ring;   /* DkRing* -> Entry* (lookups only; never iterated) */
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;
  dk_ring_free (entry->ring);
  g_free (entry->key);
  g_free (entry);
}

DkRingCache *
dk_ring_cache_new (guint tokens_per_weight)
{
  DkRingCache *cache = g_new0 (DkRingCache, 1);
  cache->tokens_per_weight = tokens_per_weight;
  cache->by_key = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  cache->by_ring = g_hash_table_new (g_direct_hash, g_direct_equal);
  return cache;
}

void
dk_ring_cache_free (DkRingCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_destroy (cache->by_ring);
  g_hash_table_destroy (cache->by_key);
  g_free (cache);
}

guint
dk_ring_cache_tokens_per_weight (const DkRingCache *cache)
{
  return cache->tokens_per_weight;
}

static int
compare_members (const void *a, const void *b)
{
  const DkRingNode *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static char *
membership_key (const DkRingNode *members, guint n)
{
  g_autofree DkRingNode *sorted = g_memdup2 (members, n * sizeof (DkRingNode));
  qsort (sorted, n, sizeof (DkRingNode), compare_members);
  GString *key = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (key, "%u\x1f%s\x1f%s\x1f%s\x1f%u\x1e", sorted[i].id, sorted[i].name,
                            sorted[i].datacenter ? sorted[i].datacenter : "",
                            sorted[i].rack ? sorted[i].rack : "",
                            sorted[i].weight ? sorted[i].weight : 1);
  return g_string_free (key, FALSE);
}

const DkRing *
dk_ring_cache_acquire (DkRingCache *cache, const DkRingNode *members, guint n_members,
                       GError **error)
{
  g_autofree char *key = membership_key (members, n_members);
  Entry *entry = g_hash_table_lookup (cache->by_key, key);
  if (entry == NULL)
    {
      g_autoptr (DkRing) ring = dk_ring_new_random_tokens (cache->tokens_per_weight);
      if (!dk_ring_add_nodes (ring, members, n_members, error))
        return NULL;
      entry = g_new0 (Entry, 1);
      entry->ring = g_steal_pointer (&ring);
      entry->key = g_steal_pointer (&key);
      g_hash_table_insert (cache->by_key, entry->key, entry);
      g_hash_table_insert (cache->by_ring, entry->ring, entry);
    }
  entry->references++;
  return entry->ring;
}

const DkRing *
dk_ring_cache_ref (DkRingCache *cache, const DkRing *ring)
{
  Entry *entry = g_hash_table_lookup (cache->by_ring, ring);
  g_return_val_if_fail (entry != NULL, NULL);
  entry->references++;
  return ring;
}

void
dk_ring_cache_release (DkRingCache *cache, const DkRing *ring)
{
  if (ring == NULL)
    return;
  Entry *entry = g_hash_table_lookup (cache->by_ring, ring);
  g_return_if_fail (entry != NULL);
  if (--entry->references > 0)
    return;
  g_hash_table_remove (cache->by_ring, ring);
  g_hash_table_remove (cache->by_key, entry->key);
}

guint
dk_ring_cache_size (const DkRingCache *cache)
{
  return g_hash_table_size (cache->by_key);
}
