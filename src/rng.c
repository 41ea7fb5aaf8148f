/* rng.c — xoshiro256** seeded through SplitMix64; see rng.h. */
#include "rng.h"
#include "hash.h"

static inline guint64
rotate_left (guint64 x, unsigned bits)
{
  return (x << bits) | (x >> (64 - bits));
}

void
dk_rng_init (DkRng *rng, guint64 seed, guint64 stream)
{
  guint64 x = seed ^ dk_mix64 (stream + G_GUINT64_CONSTANT (0x632BE59BD9B4E019));
  for (int i = 0; i < 4; i++)
    {
      x += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
      rng->state[i] = dk_mix64 (x);
    }
  /* An all-zero state would stay zero forever; SplitMix64 outputs make it
   * practically impossible, but guard anyway. */
  if ((rng->state[0] | rng->state[1] | rng->state[2] | rng->state[3]) == 0)
    rng->state[0] = 1;
}

guint64
dk_rng_next (DkRng *rng)
{
  guint64 *s = rng->state;
  guint64 result = rotate_left (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotate_left (s[3], 45);
  return result;
}

double
dk_rng_double (DkRng *rng)
{
  return (double) (dk_rng_next (rng) >> 11) * 0x1.0p-53;
}

guint64
dk_rng_below (DkRng *rng, guint64 bound)
{
  g_return_val_if_fail (bound > 0, 0);
  /* Reject draws from the incomplete top slice so every value is equally
   * likely. */
  guint64 limit = G_MAXUINT64 - G_MAXUINT64 % bound;
  guint64 draw;
  do
    draw = dk_rng_next (rng);
  while (draw >= limit);
  return draw % bound;
}
