/* hash.c — dk_hash64 v1; see hash.h for the contract. */
#include "hash.h"

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

guint64
dk_hash64_seeded (const void *data, gsize len, guint64 seed)
{
  const guint8 *p = data;
  guint64 state = seed ^ dk_mix64 ((guint64) len + DK_HASH_MULTIPLIER);

  while (len >= 8)
    {
      state = rotate_left (state ^ dk_mix64 (load_le (p, 8)), 29) * DK_HASH_MULTIPLIER;
      p += 8;
      len -= 8;
    }
  if (len > 0)
    state = rotate_left (state ^ dk_mix64 (load_le (p, len) ^ ((guint64) len << 56)), 29)
            * DK_HASH_MULTIPLIER;
  return dk_mix64 (state);
}

guint64
dk_hash64 (const void *data, gsize len)
{
  return dk_hash64_seeded (data, len, 0);
}
