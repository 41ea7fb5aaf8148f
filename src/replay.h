/* replay.h — which signed datagrams a node has already accepted.
 *
 * A captured signed datagram verifies forever; what stops it being
 * accepted twice is its stamp (wire.h): a receiver takes a datagram only
 * when its timestamp lies within WINDOW of its own wall clock and it has
 * not taken the same datagram (the same HMAC tag) before.  This module is
 * that memory, as pure data: the caller gives the clock.
 *
 * Bounded: entries leave once their timestamp falls out of the window
 * (such a datagram would be refused as stale anyway), and at most
 * MAX_ENTRIES are kept; past that the oldest is dropped.  Whatever leaves
 * raises a floor, and a datagram stamped at or below the floor is refused
 * as stale, so forgetting never lets a replay in: it can only refuse a
 * datagram that was delayed longer than the memory reaches
 * (tests/check_requests_once.c,
 * replay_cache_never_accepts_a_datagram_twice_and_stays_bounded).  The floor
 * also covers a wall clock that steps back.  A new cache starts with its
 * floor just before the time it is created: datagrams signed before then
 * are refused, since nothing seen before then is remembered (a node that
 * restarts forgets what it accepted).
 *
 * Deterministic (no hash table is iterated): the same calls give the
 * same answers, as the simulator requires.
 */
#ifndef DK_REPLAY_H
#define DK_REPLAY_H

#include <glib.h>

G_BEGIN_DECLS

#define DK_REPLAY_TAG_BYTES 32u   /* the HMAC-SHA256 tag a datagram is known by */

typedef enum
{
  DK_REPLAY_FRESH,   /* not seen, within the window: accepted and now remembered */
  DK_REPLAY_STALE,   /* outside the window, or at or below the floor */
  DK_REPLAY_SEEN,    /* the same datagram was accepted before */
} DkReplayVerdict;

typedef struct _DkReplayCache DkReplayCache;

/* A cache accepting timestamps within WINDOW_US (> 0) of the clock, that
 * remembers at most MAX_ENTRIES (>= 1) datagrams; START_US is the clock
 * now: datagrams stamped before it are stale. */
DkReplayCache *dk_replay_cache_new (gint64 window_us, guint max_entries, gint64 start_us);
void dk_replay_cache_free (DkReplayCache *cache);

/* Judge the datagram known by TAG (DK_REPLAY_TAG_BYTES) and stamped
 * TIMESTAMP_US, arriving when the clock reads NOW_US; remember it when
 * FRESH.  Entries that left the window go first. */
DkReplayVerdict dk_replay_cache_admit (DkReplayCache *cache, gint64 now_us,
                                       gint64 timestamp_us, const guint8 *tag);

/* Datagrams remembered now. */
guint dk_replay_cache_size (const DkReplayCache *cache);

/* Entries dropped because the cache was full (not because they aged out). */
guint64 dk_replay_cache_overflows (const DkReplayCache *cache);

/* Datagrams stamped at or below this are stale. */
gint64 dk_replay_cache_floor (const DkReplayCache *cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkReplayCache, dk_replay_cache_free)

G_END_DECLS

#endif /* DK_REPLAY_H */
