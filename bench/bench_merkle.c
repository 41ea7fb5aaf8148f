/* bench_merkle.c — what Merkle trees cost anti-entropy.
 *
 * Figures, each next to a baseline measured in the same run:
 *   - building a tree from 100k (token, digest) pairs at depths 10, 16, 20
 *     and 24, in ns per key (allocation and root read included), against
 *     hashing the same pairs with dk_hash64 alone (the least any tree must
 *     do); deep trees pay for page faults on their arrays and, past
 *     DK_MERKLE_CACHED_DEPTH, for sparse buckets;
 *   - one incremental update followed by a root read, in ns, against a full
 *     rebuild of the same tree (reset, 100k adds, root read);
 *   - the descent between two depth-16 trees that differ in 10 keys: nodes
 *     compared against the nodes of the whole tree, and its time.
 * About a second in total; DK_BENCH_SCALE scales it.
 */
#include "bench.h"
#include "hash.h"
#include "merkle.h"

#define KEYS 100000

typedef struct
{
  DkToken token;
  guint64 digest;
} Pair;

static guint64
rand64 (GRand *rand)
{
  return ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
}

/* ns per key to dk_hash64 each (token, digest) pair, best of ROUNDS. */
static double
bench_baseline (const Pair *pairs, long rounds)
{
  double best = G_MAXDOUBLE;
  guint64 sink = 0;
  for (long r = 0; r < rounds; r++)
    {
      double start = bench_now ();
      for (guint i = 0; i < KEYS; i++)
        sink += dk_hash64 (&pairs[i], sizeof pairs[i]);
      best = MIN (best, bench_now () - start);
    }
  g_assert (sink != 1);
  return best * 1e9 / KEYS;
}

/* ns per key to build a tree of DEPTH over the whole ring, best of ROUNDS. */
static double
bench_build (const Pair *pairs, guint depth, long rounds)
{
  double best = G_MAXDOUBLE;
  for (long r = 0; r < rounds; r++)
    {
      double start = bench_now ();
      g_autoptr (DkMerkle) tree = dk_merkle_new (0, 0, depth);
      for (guint i = 0; i < KEYS; i++)
        dk_merkle_add (tree, pairs[i].token, pairs[i].digest);
      g_assert (dk_merkle_root (tree) != 0);
      best = MIN (best, bench_now () - start);
    }
  return best * 1e9 / KEYS;
}

static void
bench_update (GRand *rand, Pair *pairs, guint depth, long updates, long rounds)
{
  g_autoptr (DkMerkle) tree = dk_merkle_new (0, 0, depth);
  double rebuild = G_MAXDOUBLE;
  for (long r = 0; r < rounds; r++)
    {
      double start = bench_now ();
      dk_merkle_reset (tree);
      for (guint i = 0; i < KEYS; i++)
        dk_merkle_add (tree, pairs[i].token, pairs[i].digest);
      dk_merkle_root (tree);
      rebuild = MIN (rebuild, bench_now () - start);
    }

  double start = bench_now ();
  for (long u = 0; u < updates; u++)
    {
      Pair *pair = &pairs[g_rand_int_range (rand, 0, KEYS)];
      guint64 digest = rand64 (rand) | 1;
      dk_merkle_update (tree, pair->token, pair->digest, digest);
      pair->digest = digest;
      dk_merkle_root (tree);
    }
  double update = (bench_now () - start) / (double) updates;

  char name[40], note[96];
  g_snprintf (name, sizeof name, "merkle.update.d%u", depth);
  g_snprintf (note, sizeof note, "update + root read; a full rebuild takes %.2f ms (%.0fx)",
              rebuild * 1e3, rebuild / update);
  bench_report (name, update * 1e9, "ns", note);
}

static void
bench_descent (GRand *rand, const Pair *pairs, guint depth, guint changes, long rounds)
{
  g_autoptr (DkMerkle) a = dk_merkle_new (0, 0, depth);
  g_autoptr (DkMerkle) b = dk_merkle_new (0, 0, depth);
  for (guint i = 0; i < KEYS; i++)
    {
      dk_merkle_add (a, pairs[i].token, pairs[i].digest);
      dk_merkle_add (b, pairs[i].token, pairs[i].digest);
    }
  for (guint c = 0; c < changes; c++)
    {
      const Pair *pair = &pairs[g_rand_int_range (rand, 0, KEYS)];
      dk_merkle_update (b, pair->token, pair->digest, pair->digest ^ 0x5a5a);
    }
  dk_merkle_root (a);
  dk_merkle_root (b);

  guint compared = 0, found = 0;
  double best = G_MAXDOUBLE;
  for (long r = 0; r < rounds; r++)
    {
      double start = bench_now ();
      g_autoptr (GArray) leaves = dk_merkle_differing_leaves (a, b, &compared);
      best = MIN (best, bench_now () - start);
      found = leaves->len;
    }
  char name[40], note[96];
  g_snprintf (name, sizeof name, "merkle.descent.d%u", depth);
  g_snprintf (note, sizeof note, "compared for %u changes in %u leaves; bound %u, whole tree %u (%.3f%%)",
              changes, found, 1 + 2 * depth * changes, dk_merkle_node_count (a),
              100.0 * compared / dk_merkle_node_count (a));
  bench_report (name, compared, "nodes", note);
  g_snprintf (name, sizeof name, "merkle.descent.d%u.time", depth);
  bench_report (name, best * 1e6, "us", "per descent, hashes already clean");
}

int
main (void)
{
  GRand *rand = g_rand_new_with_seed (2024);
  g_autofree Pair *pairs = g_new (Pair, KEYS);
  for (guint i = 0; i < KEYS; i++)
    {
      pairs[i].token = rand64 (rand);
      pairs[i].digest = rand64 (rand) | 1;
    }
  long rounds = bench_scaled (5);

  double baseline = bench_baseline (pairs, rounds);
  static const guint depths[] = { 10, 16, 20, 24 };
  for (guint d = 0; d < G_N_ELEMENTS (depths); d++)
    {
      char name[40];
      g_snprintf (name, sizeof name, "merkle.build.d%u", depths[d]);
      bench_report_ratio (name, bench_build (pairs, depths[d], rounds), baseline,
                          "ns/key", depths[d] <= 16 ? "<= 5" : NULL);
    }

  bench_update (rand, pairs, 10, bench_scaled (200000), rounds);
  bench_update (rand, pairs, 16, bench_scaled (200000), rounds);
  bench_descent (rand, pairs, 16, 10, bench_scaled (1000));
  g_rand_free (rand);
  return 0;
}
