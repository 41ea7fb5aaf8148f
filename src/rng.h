/* rng.h — a small deterministic pseudo-random generator (xoshiro256**).
 *
 * The simulator derives one stream per node and per subsystem from the run
 * seed, so that adding randomness in one place does not shift the draws of
 * another, and a run is a pure function of (scenario, seed, version).
 * Node code never calls this directly: it draws through its environment.
 * Streams are seeded through SplitMix64 (dk_mix64), as the xoshiro authors
 * recommend, and the output sequence is identical on every platform.
 */
#ifndef DK_RNG_H
#define DK_RNG_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 state[4];
} DkRng;

/* Seed RNG from SEED and a STREAM number: distinct streams of one seed are
 * independent for practical purposes. */
void dk_rng_init (DkRng *rng, guint64 seed, guint64 stream);

/* The next 64 random bits. */
guint64 dk_rng_next (DkRng *rng);

/* Uniform in [0, 1) with 53 bits of precision. */
double dk_rng_double (DkRng *rng);

/* Uniform in [0, BOUND), without modulo bias; BOUND must be > 0. */
guint64 dk_rng_below (DkRng *rng, guint64 bound);

G_END_DECLS

#endif
