/* bench_sim.c — how fast the simulator runs the real node code.
 *
 * Figure 1: simulated client operations per wall-clock second for a
 * 100-node cluster (64 vnodes, N=3, R=W=2), against raw in-memory SQLite
 * upserts per second divided by N: every simulated write is N store
 * writes, so that ratio says how much the simulator and protocol add on
 * top of the storage work (target >= 0.5).  The machine is shared, so the
 * baseline is not measured once beside the simulator but interleaved with
 * it: each repetition times the baseline and then the simulator, gives
 * one ratio, and the median ratio is reported with the spread (lowest and
 * highest) of the repetitions.
 *
 * Figure 2: the 1,000-node run of bench/thousand.scn (1,000 nodes, about
 * 1,000,000 client operations, default options), in a child process so
 * that its peak memory is its own: wall time (target <= 30 s) and peak
 * resident memory.  The same run from the shell:
 *
 *   /usr/bin/time -f '%e s %M KB' ./dynsim --quiet bench/thousand.scn
 *
 * DK_BENCH_SCALE scales the work of both (the run length of the second).
 * Arguments choose the figures: `bench_sim hundred` runs figure 1 alone,
 * `bench_sim thousand` figure 2; none runs both. */
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "runner.h"
#include "scenario.h"
#include "store.h"

#ifndef BENCH_THOUSAND_SCN
#define BENCH_THOUSAND_SCN "bench/thousand.scn"
#endif

#define REPETITIONS 5
#define REPLICAS 3

static double
raw_sqlite_upserts_per_s (long operations)
{
  sqlite3 *db;
  sqlite3_stmt *upsert;
  if (sqlite3_open (":memory:", &db) != SQLITE_OK
      || sqlite3_exec (db, "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID",
                       NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db, "INSERT INTO kv (key, value) VALUES (?1, ?2) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             -1, &upsert, NULL) != SQLITE_OK)
    g_error ("sqlite: %s", sqlite3_errmsg (db));
  guint8 value[256];
  memset (value, 'v', sizeof value);
  double start = bench_now ();
  for (long i = 0; i < operations; i++)
    {
      char key[24];
      int len = g_snprintf (key, sizeof key, "k%ld", i % 10000);
      /* Every write a distinct value, as every simulated write is: SQLite
       * skips rewriting a row whose value did not change, which would
       * flatter the baseline. */
      g_snprintf ((char *) value, 24, "op%ld;", i);
      sqlite3_bind_blob (upsert, 1, key, len, SQLITE_STATIC);
      sqlite3_bind_blob (upsert, 2, value, sizeof value, SQLITE_STATIC);
      if (sqlite3_step (upsert) != SQLITE_DONE)
        g_error ("sqlite: %s", sqlite3_errmsg (db));
      sqlite3_reset (upsert);
    }
  double elapsed = bench_now () - start;
  sqlite3_finalize (upsert);
  sqlite3_close (db);
  return operations / elapsed;
}

static DkRunResult *
run_scenario (DkScenario *scenario, double *elapsed)
{
  g_autoptr (GError) error = NULL;
  double start = bench_now ();
  DkRunResult *result = dk_run_scenario (scenario, NULL, &error);
  if (result == NULL)
    g_error ("%s", error->message);
  *elapsed = bench_now () - start;
  return result;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *values, guint n)
{
  qsort (values, n, sizeof (double), compare_doubles);
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Figure 1: REPETITIONS of (baseline, simulator), one ratio each. */
static void
bench_hundred_nodes (void)
{
  long seconds = bench_scaled (3);
  g_autofree char *text = g_strdup_printf (
    "seed 1\n"
    "cluster nodes=100 vnodes=64 n=3 r=2 w=2\n"
    "option sloppy_quorum=off hinted_handoff=off anti_entropy=off\n"
    "network latency=exp(1ms)\n"
    "workload clients=100 rate=10000/s keys=100000 dist=zipf(0.9) reads=0.5 value=256\n"
    "run %lds\n", seconds);
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (text, "bench", &error);
  if (scenario == NULL)
    g_error ("%s", error->message);

  double ratios[REPETITIONS], sim_rates[REPETITIONS], baselines[REPETITIONS];
  double events_per_s = 0, ops = 0, elapsed_total = 0;
  for (guint i = 0; i < REPETITIONS; i++)
    {
      baselines[i] = raw_sqlite_upserts_per_s (bench_scaled (100000)) / REPLICAS;
      double elapsed;
      g_autoptr (DkRunResult) result = run_scenario (scenario, &elapsed);
      ops = (double) result->clients.invoked;
      sim_rates[i] = ops / elapsed;
      ratios[i] = sim_rates[i] / baselines[i];
      events_per_s += result->events_run / elapsed / REPETITIONS;
      elapsed_total += elapsed;
    }
  double lowest = ratios[0], highest = ratios[0];
  for (guint i = 1; i < REPETITIONS; i++)
    {
      lowest = MIN (lowest, ratios[i]);
      highest = MAX (highest, ratios[i]);
    }
  double ratio = median (ratios, REPETITIONS);
  printf ("simulated %.0f operations (%ld s of virtual time) %d times, %.2f s wall in all;"
          " baseline measured between the runs\n", ops, seconds, REPETITIONS, elapsed_total);
  bench_report_ratio ("sim.ops_per_wall_s", median (sim_rates, REPETITIONS),
                      median (baselines, REPETITIONS), "ops/s", ">= 0.5");
  g_autofree char *spread = g_strdup_printf ("median of %d interleaved ratios; spread %.2f .. %.2f",
                                             REPETITIONS, lowest, highest);
  bench_report ("sim.ratio_median", ratio, "x", spread);
  bench_report ("sim.events_per_s", events_per_s, "ev/s", "mean over the repetitions");
}

/* Figure 2, in a child: its output is flushed before it exits. */
static void
bench_thousand_nodes (void)
{
  fflush (stdout);
  pid_t child = fork ();
  if (child == 0)
    {
      g_autoptr (GError) error = NULL;
      DkScenario *scenario = dk_scenario_load (BENCH_THOUSAND_SCN, &error);
      if (scenario == NULL)
        {
          fprintf (stderr, "bench_sim: %s\n", error->message);
          _exit (2);
        }
      const char *scale = g_getenv ("DK_BENCH_SCALE");
      if (scale != NULL)
        {
          g_autofree char *run = g_strdup_printf ("%ldms", bench_scaled (scenario->run_us / 1000));
          if (!dk_scenario_set (scenario, "run", run, &error))
            g_error ("%s", error->message);
        }
      double elapsed, availability = 0;
      DkRunResult *big = run_scenario (scenario, &elapsed);
      dk_run_metric (big, "availability", &availability);
      printf ("%s: %u nodes, %" G_GUINT64_FORMAT " client operations (%.1f s of virtual"
              " time) in %.2f s wall, availability %.4f\n", BENCH_THOUSAND_SCN,
              scenario->cluster.nodes, big->clients.invoked, scenario->run_us / 1e6, elapsed,
              availability);
      bench_report ("sim.1000_nodes_wall", elapsed, "s", "target <= 30 s");
      fflush (stdout);
      _exit (0);
    }
  int status;
  waitpid (child, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      printf ("sim.1000_nodes: the run failed (status %d)\n", status);
      return;
    }
  struct rusage usage;
  getrusage (RUSAGE_CHILDREN, &usage);
  bench_report ("sim.1000_nodes_peak_rss", usage.ru_maxrss / 1024.0, "MiB", "peak resident memory");
  bench_report ("sim.1000_nodes_cpu", usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
                                      + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6,
                "s", "user + system CPU: less sensitive to the load than wall time");
}

int
main (int argc, char **argv)
{
  gboolean hundred = argc == 1, thousand = argc == 1;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          printf ("usage: bench_sim [hundred] [thousand]\n"
                  "  hundred   figure 1: simulated ops/s at 100 nodes against raw SQLite\n"
                  "            upserts/s / 3, median of 5 interleaved ratios (goal >= 0.5)\n"
                  "  thousand  figure 2: bench/thousand.scn, 1,000 nodes (goal <= 30 s wall)\n"
                  "With no argument both run.  DK_BENCH_SCALE scales the work.\n");
          return 0;
        }
      if (strcmp (argv[i], "hundred") == 0)
        hundred = TRUE;
      else if (strcmp (argv[i], "thousand") == 0)
        thousand = TRUE;
      else
        {
          fprintf (stderr, "bench_sim: unknown figure '%s' (hundred, thousand; --help)\n",
                   argv[i]);
          return 2;
        }
    }
  /* As dynsim does; the baseline gets the same SQLite. */
  dk_store_use_from_one_thread ();
  if (hundred)
    bench_hundred_nodes ();
  if (thousand)
    bench_thousand_nodes ();
  return 0;
}
