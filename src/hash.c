/* hash.c — dk_hash64 v1; see hash.h for the contract. */
#include "hash.h"

#include <string.h>

#define DK_HASH_MULTIPLIER G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)

guint64
dk_mix64 (guint64 x)
{
  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT (0x94D049BB133111EB);
  x ^= x >> 31;
  return x;
}

static inline guint64
rotate_left (guint64 x, unsigned bits)
{
  return (x << bits) | (x >> (64 - bits));
}

/* Little-endian load of up to 8 bytes, independent of host byte order. */
static inline guint64
load_le (const guint8 *p, gsize n)
{
  guint64 word = 0;
  for (gsize i = 0; i < n; i++)
    word |= (guint64) p[i] << (8 * i);
  return word;
}

/* A whole little-endian word: one load on any host. */
static inline guint64
load_le_word (const guint8 *p)
{
  guint64 word;
  memcpy (&word, p, sizeof word);
  return GUINT64_FROM_LE (word);
}

/* Fold one word (a whole one, or the tail with its length mixed in). */
static inline guint64
fold (guint64 state, guint64 word)
{
  return rotate_left (state ^ dk_mix64 (word), 29) * DK_HASH_MULTIPLIER;
}

static inline guint64
initial_state (gsize len, guint64 seed)
{
  return seed ^ dk_mix64 ((guint64) len + DK_HASH_MULTIPLIER);
}

guint64
dk_hash64_seeded (const void *data, gsize len, guint64 seed)
{
  const guint8 *p = data;
  guint64 state = initial_state (len, seed);

  while (len >= 8)
    {
      state = fold (state, load_le_word (p));
      p += 8;
      len -= 8;
    }
  if (len > 0)
    state = fold (state, load_le (p, len) ^ ((guint64) len << 56));
  return dk_mix64 (state);
}

/* ---- the same hash over input given in pieces -------------------------- */

void
dk_hash64_stream_init (DkHash64Stream *stream, gsize total_len, guint64 seed)
{
  stream->state = initial_state (total_len, seed);
  stream->pending = 0;
  stream->pending_len = 0;
  stream->remaining = total_len;
}

void
dk_hash64_stream_update (DkHash64Stream *stream, const void *data, gsize len)
{
  const guint8 *p = data;
  g_return_if_fail (len <= stream->remaining);
  stream->remaining -= len;
  /* Complete a partial word first. */
  while (stream->pending_len > 0 && len > 0)
    {
      stream->pending |= (guint64) *p++ << (8 * stream->pending_len);
      len--;
      if (++stream->pending_len == 8)
        {
          stream->state = fold (stream->state, stream->pending);
          stream->pending = 0;
          stream->pending_len = 0;
        }
    }
  while (len >= 8)
    {
      stream->state = fold (stream->state, load_le_word (p));
      p += 8;
      len -= 8;
    }
  if (len > 0)
    {
      stream->pending = load_le (p, len);
      stream->pending_len = (guint) len;
    }
}

guint64
dk_hash64_stream_finish (DkHash64Stream *stream)
{
  g_return_val_if_fail (stream->remaining == 0, 0);
  guint64 state = stream->state;
  if (stream->pending_len > 0)
    state = fold (state, stream->pending ^ ((guint64) stream->pending_len << 56));
  return dk_mix64 (state);
}

guint64
dk_hash64 (const void *data, gsize len)
{
  return dk_hash64_seeded (data, len, 0);
}
