/* bench_sim.c — how fast the simulator runs the real node code.
 *
 * Figure 1: simulated client operations per wall-clock second for a
 * 100-node cluster (64 vnodes, N=3, R=W=2), against raw in-memory SQLite
 * upserts per second divided by N, measured in the same run: every
 * simulated write is N store writes, so that ratio says how much the
 * simulator and protocol add on top of the storage work (target >= 0.5).
 * Figure 2: the peak memory of a 1,000-node run, measured in a child
 * process. */
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "runner.h"
#include "scenario.h"

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
run_text (const char *text, double *elapsed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (text, "bench", &error);
  if (scenario == NULL)
    g_error ("%s", error->message);
  double start = bench_now ();
  DkRunResult *result = dk_run_scenario (scenario, NULL, &error);
  if (result == NULL)
    g_error ("%s", error->message);
  *elapsed = bench_now () - start;
  return result;
}

int
main (void)
{
  long seconds = bench_scaled (10);
  g_autofree char *text = g_strdup_printf (
    "seed 1\n"
    "cluster nodes=100 vnodes=64 n=3 r=2 w=2\n"
    "option sloppy_quorum=off hinted_handoff=off anti_entropy=off\n"
    "network latency=exp(1ms)\n"
    "workload clients=100 rate=10000/s keys=100000 dist=zipf(0.9) reads=0.5 value=256\n"
    "run %lds\n", seconds);
  double elapsed;
  g_autoptr (DkRunResult) result = run_text (text, &elapsed);
  double ops = (double) result->clients.invoked;
  double sim_rate = ops / elapsed;
  double raw = raw_sqlite_upserts_per_s (bench_scaled (300000));
  printf ("simulated %.0f operations (%ld s of virtual time) in %.2f s wall\n", ops, seconds, elapsed);
  bench_report_ratio ("sim.ops_per_wall_s", sim_rate, raw / 3, "ops/s", ">= 0.5");
  bench_report ("sim.virtual_speedup", seconds / elapsed, "x", "virtual seconds per wall second");
  bench_report ("sim.events_per_s", result->events_run / elapsed, "ev/s", NULL);

  /* The 1,000-node run in a child, so its peak memory is its own. */
  fflush (stdout);
  pid_t child = fork ();
  if (child == 0)
    {
      double child_elapsed;
      DkRunResult *big = run_text ("seed 1\ncluster nodes=1000 vnodes=64 n=3 r=2 w=2\n"
                                   "option sloppy_quorum=off hinted_handoff=off anti_entropy=off\n"
                                   "workload clients=1000 rate=5000/s keys=100000 reads=0.5 value=256\n"
                                   "run 5s\n", &child_elapsed);
      printf ("1000-node run: %" G_GUINT64_FORMAT " operations in %.2f s wall\n",
              big->clients.invoked, child_elapsed);
      _exit (big->all_hold ? 0 : 1);
    }
  int status;
  waitpid (child, &status, 0);
  struct rusage usage;
  getrusage (RUSAGE_CHILDREN, &usage);
  bench_report ("sim.1000_nodes_peak_rss", usage.ru_maxrss / 1024.0, "MiB", "peak resident memory");
  return 0;
}
