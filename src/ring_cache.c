/* ring_cache.c — reference-counted rings keyed by membership; see
 * ring_cache.h.  The key is a canonical encoding of the members sorted by
 * id, so the order a caller lists them in does not matter: per member its
 * id and weight as raw integers, then its name, datacenter and rack each
 * with their terminating NUL (names hold no NUL, so distinct memberships
 * give distinct keys).  Every node of a simulated cluster acquires its
 * ring, so this is built nodes x members times: copies, no formatting. */
#include "ring_cache.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  DkRing *ring;
  GBytes *key;
  guint   references;
} Entry;

struct _DkRingCache
{
  guint       tokens_per_weight;
  GHashTable *by_key;    /* GBytes* key -> Entry*, owns the entries */
  GHashTable *by_ring;   /* DkRing* -> Entry* (lookups only; never iterated) */
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;
  dk_ring_free (entry->ring);
  g_bytes_unref (entry->key);
  g_free (entry);
}

/* Keys are long (tens of bytes per member): hash them eight bytes at a
 * time rather than with g_bytes_hash's byte loop. */
static guint
key_hash (gconstpointer key)
{
  gsize len = 0;
  const void *data = g_bytes_get_data ((GBytes *) key, &len);
  return (guint) dk_hash64 (data, len);
}

DkRingCache *
dk_ring_cache_new (guint tokens_per_weight)
{
  DkRingCache *cache = g_new0 (DkRingCache, 1);
  cache->tokens_per_weight = tokens_per_weight;
  cache->by_key = g_hash_table_new_full (key_hash, g_bytes_equal, NULL, entry_free);
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

static const char *
text_or_empty (const char *text)
{
  return text != NULL ? text : "";
}

static guint8 *
put_string (guint8 *at, const char *text)
{
  gsize size = strlen (text) + 1;
  memcpy (at, text, size);
  return at + size;
}

static GBytes *
membership_key (const DkRingNode *members, guint n)
{
  g_autofree DkRingNode *sorted = g_memdup2 (members, n * sizeof (DkRingNode));
  gboolean ascending = TRUE;
  for (guint i = 1; i < n && ascending; i++)
    ascending = sorted[i - 1].id < sorted[i].id;
  if (!ascending)
    qsort (sorted, n, sizeof (DkRingNode), compare_members);
  gsize size = 0;
  for (guint i = 0; i < n; i++)
    size += 2 * sizeof (guint32) + strlen (text_or_empty (sorted[i].name))
            + strlen (text_or_empty (sorted[i].datacenter))
            + strlen (text_or_empty (sorted[i].rack)) + 3;
  guint8 *key = g_malloc (MAX (size, 1)), *at = key;
  for (guint i = 0; i < n; i++)
    {
      guint32 numbers[2] = { sorted[i].id, sorted[i].weight ? sorted[i].weight : 1 };
      memcpy (at, numbers, sizeof numbers);
      at = put_string (at + sizeof numbers, text_or_empty (sorted[i].name));
      at = put_string (at, text_or_empty (sorted[i].datacenter));
      at = put_string (at, text_or_empty (sorted[i].rack));
    }
  g_assert ((gsize) (at - key) == size);
  return g_bytes_new_take (key, size);
}


const DkRing *
dk_ring_cache_acquire (DkRingCache *cache, const DkRingNode *members, guint n_members,
                       GError **error)
{
  g_autoptr(GBytes) key = membership_key (members, n_members);
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
