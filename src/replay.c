/* replay.c — the signed datagrams a node accepted within its window; see
 * replay.h.  One GTree ordered by (timestamp, tag) serves both questions:
 * "seen?" is a lookup, and the oldest entry, the next to leave, is the
 * first node. */
#include <string.h>
#include "replay.h"

typedef struct
{
  gint64 timestamp_us;
  guint8 tag[DK_REPLAY_TAG_BYTES];
} Seen;

struct _DkReplayCache
{
  gint64   window_us;
  guint    max_entries;
  gint64   floor_us;
  guint64  overflows;
  GTree   *seen;   /* Seen* -> itself, by (timestamp, tag); owns them */
};

static gint
seen_compare (gconstpointer a, gconstpointer b, gpointer unused)
{
  const Seen *x = a, *y = b;
  if (x->timestamp_us != y->timestamp_us)
    return x->timestamp_us < y->timestamp_us ? -1 : 1;
  return memcmp (x->tag, y->tag, DK_REPLAY_TAG_BYTES);
}

DkReplayCache *
dk_replay_cache_new (gint64 window_us, guint max_entries, gint64 start_us)
{
  g_return_val_if_fail (window_us > 0 && max_entries >= 1, NULL);
  DkReplayCache *cache = g_new0 (DkReplayCache, 1);
  cache->window_us = window_us;
  cache->max_entries = max_entries;
  cache->floor_us = start_us - 1;   /* stamped before the start: stale */
  cache->seen = g_tree_new_full (seen_compare, NULL, g_free, NULL);
  return cache;
}

void
dk_replay_cache_free (DkReplayCache *cache)
{
  if (cache == NULL)
    return;
  g_tree_destroy (cache->seen);
  g_free (cache);
}

/* Forget the oldest entry, raising the floor to its timestamp. */
static void
forget_oldest (DkReplayCache *cache)
{
  GTreeNode *first = g_tree_node_first (cache->seen);
  const Seen *oldest = g_tree_node_key (first);
  cache->floor_us = MAX (cache->floor_us, oldest->timestamp_us);
  g_tree_remove (cache->seen, oldest);
}

DkReplayVerdict
dk_replay_cache_admit (DkReplayCache *cache, gint64 now_us, gint64 timestamp_us,
                       const guint8 *tag)
{
  /* Entries stamped before the window can never be accepted again: they
   * leave, and the floor keeps refusing them. */
  gint64 window_start = now_us - cache->window_us;
  for (GTreeNode *first = g_tree_node_first (cache->seen);
       first != NULL && ((const Seen *) g_tree_node_key (first))->timestamp_us < window_start;
       first = g_tree_node_first (cache->seen))
    forget_oldest (cache);

  if (timestamp_us <= cache->floor_us || timestamp_us < window_start
      || timestamp_us > now_us + cache->window_us)
    return DK_REPLAY_STALE;
  Seen *entry = g_new (Seen, 1);
  entry->timestamp_us = timestamp_us;
  memcpy (entry->tag, tag, DK_REPLAY_TAG_BYTES);
  if (g_tree_lookup_extended (cache->seen, entry, NULL, NULL))
    {
      g_free (entry);
      return DK_REPLAY_SEEN;
    }
  g_tree_insert (cache->seen, entry, entry);
  while ((guint) g_tree_nnodes (cache->seen) > cache->max_entries)
    {
      cache->overflows++;
      forget_oldest (cache);
    }
  /* A full cache may have just forgotten this very datagram (it was the
   * oldest): the floor now refuses it, and it was still accepted once. */
  return DK_REPLAY_FRESH;
}

guint
dk_replay_cache_size (const DkReplayCache *cache)
{
  return (guint) g_tree_nnodes (cache->seen);
}

guint64
dk_replay_cache_overflows (const DkReplayCache *cache)
{
  return cache->overflows;
}

gint64
dk_replay_cache_floor (const DkReplayCache *cache)
{
  return cache->floor_us;
}
