/* bench_vclock.c — how fast vector clocks merge, compare and go through
 * the codec.  Prints ns per merge and per compare for clocks of 3 and 10
 * entries, and encode+decode throughput in MB/s of encoded clock.
 *
 * Each figure cycles through a pool of random clocks so branch predictors
 * do not learn one answer.  Merges go into one accumulator over the same
 * node set, the usual case (a key's clock is touched by its N replicas),
 * which merges in place.  About a second in total; DK_BENCH_SCALE scales it.
 */
#include "bench.h"
#include "vclock.h"

#define POOL_SIZE 256

/* A clock with the actor of every node 1..ENTRIES (one incarnation
 * each), counters 1..MAX_COUNTER. */
static DkVclock *
pool_clock (GRand *rand, guint entries, guint max_counter)
{
  DkVclock *clock = dk_vclock_new ();
  for (DkNodeId node = 1; node <= entries; node++)
    {
      guint counter = (guint) g_rand_int_range (rand, 1, (gint32) max_counter + 1);
      dk_vclock_raise (clock, dk_actor_make (node, 0x9c1f0000u + node), counter,
                       g_rand_int_range (rand, 0, G_MAXINT32));
    }
  return clock;
}

static GPtrArray *
make_pool (GRand *rand, guint entries, guint max_counter)
{
  GPtrArray *pool = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_vclock_free);
  for (guint i = 0; i < POOL_SIZE; i++)
    g_ptr_array_add (pool, pool_clock (rand, entries, max_counter));
  return pool;
}

static void
bench_merge (GRand *rand, guint entries, long iterations)
{
  g_autoptr (GPtrArray) pool = make_pool (rand, entries, 50);
  g_autoptr (DkVclock) accumulator = dk_vclock_new ();
  double start = bench_now ();
  for (long i = 0; i < iterations; i++)
    dk_vclock_merge (accumulator, g_ptr_array_index (pool, i % POOL_SIZE));
  double elapsed = bench_now () - start;
  char name[32];
  g_snprintf (name, sizeof name, "vclock.merge.%u", entries);
  bench_report (name, elapsed * 1e9 / (double) iterations, "ns", "per merge, same nodes");
  g_assert (dk_vclock_size (accumulator) == entries);
}

/* Counters 1..2 so pairs are equal, ordered and concurrent in a mix. */
static void
bench_compare (GRand *rand, guint entries, long iterations)
{
  g_autoptr (GPtrArray) pool = make_pool (rand, entries, 2);
  guint outcomes[4] = { 0 };
  double start = bench_now ();
  for (long i = 0; i < iterations; i++)
    outcomes[dk_vclock_compare (g_ptr_array_index (pool, i % POOL_SIZE),
                                g_ptr_array_index (pool, (i * 7 + 3) % POOL_SIZE))]++;
  double elapsed = bench_now () - start;
  char name[32], note[96];
  g_snprintf (name, sizeof name, "vclock.compare.%u", entries);
  g_snprintf (note, sizeof note, "per compare (equal %u, before %u, after %u, concurrent %u)",
              outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
  bench_report (name, elapsed * 1e9 / (double) iterations, "ns", note);
}

static void
bench_codec (GRand *rand, guint entries, long iterations)
{
  g_autoptr (GPtrArray) pool = make_pool (rand, entries, 1000);
  g_autoptr (GByteArray) buffer = g_byte_array_new ();
  gsize bytes = 0;
  double start = bench_now ();
  for (long i = 0; i < iterations; i++)
    {
      g_byte_array_set_size (buffer, 0);
      dk_vclock_encode (g_ptr_array_index (pool, i % POOL_SIZE), buffer);
      DkVclock *decoded = NULL;
      gsize consumed;
      if (!dk_vclock_decode (buffer->data, buffer->len, &consumed, &decoded, NULL))
        g_error ("decode of a freshly encoded clock failed");
      dk_vclock_free (decoded);
      bytes += consumed;
    }
  double elapsed = bench_now () - start;
  char name[32];
  g_snprintf (name, sizeof name, "vclock.codec.%u", entries);
  bench_report (name, (double) bytes / elapsed / 1e6, "MB/s", "encode+decode");
}

int
main (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (1);
  long iterations = bench_scaled (8000000);
  bench_merge (rand, 3, iterations);
  bench_merge (rand, 10, iterations);
  bench_compare (rand, 3, iterations);
  bench_compare (rand, 10, iterations);
  bench_codec (rand, 10, iterations / 4);
  return 0;
}
