/* check_injected_bugs.c — the checkers can fail.
 *
 * DESIGN.md: "every checker is proven able to fail".  Each known kind of
 * store bug is switched on in every node of a simulated run (node.h's
 * DkNodeBug, the scenario option inject_bug), and the checker that owns
 * that kind of damage must report it; the same run without the bug must
 * report nothing, so the scenario really exercises the path and the
 * checker tells the two apart.  The table below is the one the closing
 * notes print: bug, scenario, metric.
 */
#include <string.h>
#include "suites.h"
#include "runner.h"

/* A healthy cluster under read-modify-writes, blind writes and deletes on
 * a few hot keys: concurrent writes, lagging third replicas, tombstones. */
static const char healthy_scn[] =
  "seed 3\n"
  "cluster nodes=3 vnodes=16 n=3 r=2 w=2\n"
  "option anti_entropy=off\n"
  "network latency=exp(1ms)\n"
  "workload clients=6 rate=300/s keys=4 reads=0.3 deletes=0.1 value=32\n"
  "run 2s settle 1s\n";

/* Six nodes, so that every key has N nodes after its preference list
 * that can stand in for it. */
static const char six_nodes_scn[] =
  "seed 5\n"
  "cluster nodes=6 vnodes=16 n=3 r=2 w=2\n"
  "option anti_entropy=off\n"
  "network latency=exp(1ms)\n"
  "workload clients=6 rate=300/s keys=20 reads=0.3 value=32\n"
  "run 2s settle 1s\n";

/* Many keys, many deletes: a key whose last write is a delete is
 * common, so a replica that kept a deleted value shows at the end
 * whatever the timing of the run. */
static const char deletes_scn[] =
  "seed 3\n"
  "cluster nodes=3 vnodes=16 n=3 r=2 w=2\n"
  "option anti_entropy=off\n"
  "network latency=exp(1ms)\n"
  "workload clients=6 rate=300/s keys=20 reads=0.3 deletes=0.3 value=32\n"
  "run 2s settle 1s\n";

typedef struct
{
  const char *bug;       /* the inject_bug value */
  const char *scenario;
  const char *metric;    /* must be > 0 with the bug, == 0 without */
} BugCase;

static const BugCase bug_cases[] = {
  { "reuse_dot", healthy_scn, "dot_collisions" },
  { "drop_sibling", healthy_scn, "lost_updates" },
  { "drop_sibling", healthy_scn, "lost_writes" },
  { "ack_unstored", healthy_scn, "lost_writes" },
  { "stand_in_only", six_nodes_scn, "lost_writes" },
  { "resurrect", deletes_scn, "resurrected_deletes" },
  { "old_value", healthy_scn, "stale_read_count" },
  { "old_value", healthy_scn, "dot_collisions" },
};

/* The result of SCENARIO run with inject_bug=BUG.  Free it with
 * dk_run_result_free. */
static DkRunResult *
run_with_bug (const char *scenario_text, const char *bug, guint seed_offset)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (scenario_text, "bug.scn", &error);
  ck_assert_msg (scenario != NULL, "%s", error != NULL ? error->message : "?");
  scenario->seed += seed_offset;
  ck_assert_msg (dk_scenario_set (scenario, "inject_bug", bug, &error), "%s",
                 error != NULL ? error->message : "?");
  DkRunOptions options = { 0 };
  DkRunResult *result = dk_run_scenario (scenario, &options, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  return result;
}

static double
metric (const DkRunResult *result, const char *name)
{
  double value = -1;
  ck_assert_msg (dk_run_metric (result, name, &value), "%s not measured", name);
  return value;
}

/* A bug whose damage needs a lucky interleaving (a lagging replica, say)
 * may leave no trace in one run: it is run with up to this many seeds,
 * and must be caught in one of them. */
#define BUG_SEEDS 8

/* Each bug's run is compared with the correct run of its scenario; runs
 * are shared between the table's rows. */
START_TEST (checkers_catch_every_injected_bug)
{
  g_autoptr (GHashTable) runs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) dk_run_result_free);
  for (guint i = 0; i < G_N_ELEMENTS (bug_cases); i++)
    {
      const BugCase *c = &bug_cases[i];
      const char *bugs[2] = { c->bug, "none" };
      double values[2] = { 0, 0 };
      for (guint k = 0; k < 2; k++)
        for (guint seed = 0; seed < (k == 0 ? BUG_SEEDS : 1) && values[k] == 0; seed++)
          {
            g_autofree char *name = g_strdup_printf ("%p/%s/%u", (const void *) c->scenario,
                                                     bugs[k], seed);
            DkRunResult *result = g_hash_table_lookup (runs, name);
            if (result == NULL)
              {
                result = run_with_bug (c->scenario, bugs[k], seed);
                g_hash_table_insert (runs, g_steal_pointer (&name), result);
              }
            values[k] = metric (result, c->metric);
          }
      ck_assert_msg (values[0] > 0, "inject_bug=%s: %s is %g in %d seeds, the checker missed the bug",
                     c->bug, c->metric, values[0], BUG_SEEDS);
      ck_assert_msg (values[1] == 0, "inject_bug=none: %s is %g on a correct run", c->metric,
                     values[1]);
    }
}
END_TEST

/* The lost-update reproduction from issue 8: one key, R=W=2, no faults.
 * Dotted version vectors keep concurrent updates as siblings; classic
 * server-side vector clocks lose about half of them, and the checkers
 * say so instead of reporting zero. */
static const char one_key_scn[] =
  "seed 1\n"
  "cluster nodes=3 vnodes=16 n=3 r=2 w=2\n"
  "option sloppy_quorum=off hinted_handoff=off anti_entropy=off read_repair=on"
  " request_timeout=500ms\n"
  "network latency=exp(1ms)\n"
  "workload clients=6 rate=300/s keys=1 dist=uniform reads=0 value=32\n"
  "run 3s settle 1s\n";

static DkRunResult *
run_one_key (const char *versioning)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (one_key_scn, "lost-updates.scn", &error);
  ck_assert (scenario != NULL);
  ck_assert (dk_scenario_set (scenario, "versioning", versioning, &error));
  DkRunOptions options = { 0 };
  DkRunResult *result = dk_run_scenario (scenario, &options, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  return result;
}

START_TEST (dvv_keeps_concurrent_updates_that_vv_loses)
{
  DkRunResult *dvv = run_one_key ("dvv");
  ck_assert_double_eq (metric (dvv, "lost_updates"), 0);
  ck_assert_double_eq (metric (dvv, "lost_writes"), 0);
  ck_assert_double_gt (metric (dvv, "conflicts"), 0);
  dk_run_result_free (dvv);
  DkRunResult *vv = run_one_key ("vv");
  ck_assert_double_gt (metric (vv, "lost_updates"), 0.1 * metric (vv, "acknowledged_writes"));
  ck_assert_double_gt (metric (vv, "lost_writes"), 0);
  dk_run_result_free (vv);
}
END_TEST

/* The runner checks on two threads (the operations on one while the other
 * gathers what the end-of-run checks need, then both collecting the final
 * state): what it measures is what the one-thread checker measures of the
 * same history and final state, violations included. */
START_TEST (runner_checks_on_two_threads_as_the_one_thread_checker_does)
{
  static const struct { const char *scenario, *bug; } runs[] = {
    { healthy_scn, "drop_sibling" }, { deletes_scn, "resurrect" },
    { healthy_scn, "old_value" }, { six_nodes_scn, "none" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_autoptr (DkRunResult) result = run_with_bug (runs[i].scenario, runs[i].bug, 0);
      g_autoptr (DkMetrics) alone = dk_check_history (result->history, result->final, NULL);
      g_autoptr (GString) expected = g_string_new (NULL);
      g_autoptr (GString) got = g_string_new (NULL);
      dk_metrics_to_json (alone, expected);
      dk_metrics_to_json (result->metrics, got);
      ck_assert_str_eq (got->str, expected->str);
      double violations = metric (result, "lost_writes") + metric (result, "lost_updates")
                          + metric (result, "resurrected_deletes") + metric (result, "stale_read_count");
      ck_assert_msg (violations > 0 || strcmp (runs[i].bug, "none") == 0,
                     "%s: the bug left no trace to compare", runs[i].bug);
    }
}
END_TEST

Suite *
injected_bugs_suite (void)
{
  Suite *suite = suite_create ("injected_bugs");
  TCase *bugs = tcase_create ("bugs");
  dk_tcase_no_wall_limit (bugs);
  tcase_add_test (bugs, checkers_catch_every_injected_bug);
  tcase_add_test (bugs, dvv_keeps_concurrent_updates_that_vv_loses);
  tcase_add_test (bugs, runner_checks_on_two_threads_as_the_one_thread_checker_does);
  suite_add_tcase (suite, bugs);
  return suite;
}
