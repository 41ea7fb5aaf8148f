/* bench_ring.c — preference-list lookups at 1,000 nodes x 256 vnodes.
 *
 * Prints lookups/s and ns per lookup (N = 3) next to a baseline measured
 * in the same run: a bare binary search over the same sorted vnode tokens
 * (the floor any lookup pays).  Also the ring build time, the
 * datacenter-aware and sloppy variants, and an equal-partition ring.
 * DK_BENCH_SCALE scales the number of lookups.
 */
#include <string.h>
#include "bench.h"
#include "hash.h"
#include "ring.h"

enum { NODES = 1000, VNODES = 256, REPLICAS = 3, KEYS = 1 << 16 };

static volatile guint64 sink;

static DkRingNode *
make_nodes (GPtrArray *strings, guint datacenters, guint racks)
{
  DkRingNode *nodes = g_new0 (DkRingNode, NODES);
  for (guint i = 0; i < NODES; i++)
    {
      char *name = g_strdup_printf ("node-%u.example.net", i + 1);
      char *dc = datacenters ? g_strdup_printf ("dc%u", i % datacenters) : g_strdup ("");
      char *rack = racks ? g_strdup_printf ("rack%u", (i / MAX (datacenters, 1)) % racks)
                         : g_strdup ("");
      g_ptr_array_add (strings, name);
      g_ptr_array_add (strings, dc);
      g_ptr_array_add (strings, rack);
      nodes[i] = (DkRingNode) { i + 1, name, dc, rack, 1 };
    }
  return nodes;
}

/* Build a ring and report how long it took. */
static DkRing *
timed_build (const char *label, DkRing *ring, const DkRingNode *nodes)
{
  double start = bench_now ();
  if (!dk_ring_add_nodes (ring, nodes, NODES, NULL))
    g_error ("building %s failed", label);
  double ms = (bench_now () - start) * 1e3;
  char note[96];
  g_snprintf (note, sizeof note, "%u nodes, %u ranges", NODES, dk_ring_range_count (ring));
  bench_report (label, ms, "ms", note);
  return ring;
}

/* Lookups per second of dk_ring_preference_list over KEY_TOKENS. */
static double
preference_lookups_per_s (const DkRing *ring, const DkToken *key_tokens, long lookups)
{
  DkNodeId list[REPLICAS];
  guint64 checksum = 0;
  double start = bench_now ();
  for (long i = 0; i < lookups; i++)
    {
      dk_ring_preference_list (ring, key_tokens[i & (KEYS - 1)], REPLICAS, list);
      checksum += list[REPLICAS - 1];
    }
  double seconds = bench_now () - start;
  sink += checksum;
  return (double) lookups / seconds;
}

static double
sloppy_lookups_per_s (const DkRing *ring, const DkToken *key_tokens, long lookups)
{
  DkRingReplica list[REPLICAS];
  guint64 checksum = 0;
  double start = bench_now ();
  for (long i = 0; i < lookups; i++)
    {
      dk_ring_sloppy_preference_list (ring, key_tokens[i & (KEYS - 1)], REPLICAS, list);
      checksum += list[0].node + list[REPLICAS - 1].hinted_for;
    }
  double seconds = bench_now () - start;
  sink += checksum;
  return (double) lookups / seconds;
}

/* The baseline: a plain lower-bound binary search over the same tokens. */
static double
binary_search_per_s (const DkToken *tokens, guint count, const DkToken *key_tokens, long lookups)
{
  guint64 checksum = 0;
  double start = bench_now ();
  for (long i = 0; i < lookups; i++)
    {
      DkToken token = key_tokens[i & (KEYS - 1)];
      guint lo = 0, hi = count;
      while (lo < hi)
        {
          guint mid = lo + (hi - lo) / 2;
          if (tokens[mid] < token)
            lo = mid + 1;
          else
            hi = mid;
        }
      checksum += lo;
    }
  double seconds = bench_now () - start;
  sink += checksum;
  return (double) lookups / seconds;
}

static double
hash_per_s (long lookups)
{
  guint64 checksum = 0;
  char key[32];
  double start = bench_now ();
  for (long i = 0; i < lookups; i++)
    {
      int len = g_snprintf (key, sizeof key, "user:%ld", i & (KEYS - 1));
      checksum += dk_hash64 (key, (gsize) len);
    }
  double seconds = bench_now () - start;
  sink += checksum;
  return (double) lookups / seconds;
}

int
main (void)
{
  long lookups = bench_scaled (2000000);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autofree DkRingNode *plain_nodes = make_nodes (strings, 0, 0);
  g_autofree DkRingNode *dc_nodes = make_nodes (strings, 3, 4);

  g_autofree DkToken *key_tokens = g_new (DkToken, KEYS);
  for (guint i = 0; i < KEYS; i++)
    {
      char key[32];
      int len = g_snprintf (key, sizeof key, "user:%u", i);
      key_tokens[i] = dk_ring_key_token (key, (gsize) len);
    }

  printf ("ring: %u nodes x %u vnodes, N = %u, %ld lookups per figure\n",
          NODES, VNODES, REPLICAS, lookups);
  g_autoptr(DkRing) ring = timed_build ("ring.build.random", dk_ring_new_random_tokens (VNODES),
                                        plain_nodes);
  guint count = dk_ring_range_count (ring);
  g_autofree DkToken *tokens = g_new (DkToken, count);
  for (guint i = 0; i < count; i++)
    tokens[i] = dk_ring_range_at (ring, i).hi;

  double baseline = binary_search_per_s (tokens, count, key_tokens, lookups);
  double plain = preference_lookups_per_s (ring, key_tokens, lookups);
  bench_report_ratio ("ring.preference_list", plain, baseline, "ops/s", ">= 0.5");
  bench_report ("ring.preference_list", 1e9 / plain, "ns", "per lookup (target <= 1000)");
  bench_report ("ring.bare_search", 1e9 / baseline, "ns", "per search (baseline)");
  bench_report ("key format + dk_hash64", 1e9 / hash_per_s (lookups), "ns", "per key (for scale)");

  g_autoptr(DkRing) dc_ring = timed_build ("ring.build.random.dc", dk_ring_new_random_tokens (VNODES),
                                           dc_nodes);
  double with_dcs = preference_lookups_per_s (dc_ring, key_tokens, lookups);
  bench_report_ratio ("ring.preference_list.dc", with_dcs, baseline, "ops/s", NULL);
  bench_report ("ring.preference_list.dc", 1e9 / with_dcs, "ns", "3 datacenters x 4 racks");

  for (guint i = 0; i < NODES; i += 10)
    dk_ring_set_node_up (ring, plain_nodes[i].id, FALSE);
  double sloppy = sloppy_lookups_per_s (ring, key_tokens, lookups);
  bench_report_ratio ("ring.sloppy_list", sloppy, baseline, "ops/s", NULL);
  bench_report ("ring.sloppy_list", 1e9 / sloppy, "ns", "10% of nodes down");

  g_autoptr(DkRing) partitions = timed_build ("ring.build.partitions",
                                              dk_ring_new_equal_partitions (NODES * VNODES),
                                              plain_nodes);
  double partitioned = preference_lookups_per_s (partitions, key_tokens, lookups);
  bench_report_ratio ("ring.preference_list.q", partitioned, baseline, "ops/s", NULL);
  bench_report ("ring.preference_list.q", 1e9 / partitioned, "ns", "Q = 256,000 partitions");

  /* What a join costs to plan: the diff of the rings before and after. */
  g_autoptr(DkRing) joined = dk_ring_copy (ring);
  DkRingNode newcomer = { NODES + 1, "node-new.example.net", NULL, NULL, 1 };
  dk_ring_add_node (joined, &newcomer, NULL);
  double start = bench_now ();
  g_autoptr(GArray) changes = dk_ring_diff (ring, joined, REPLICAS);
  bench_report ("ring.diff.join", (bench_now () - start) * 1e3, "ms", "ranges to stream, N = 3");
  return 0;
}
