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
  "run 3s settle 2s\n";

/* Six nodes, so that every key has N nodes after its preference list
 * that can stand in for it. */
static const char six_nodes_scn[] =
  "seed 5\n"
  "cluster nodes=6 vnodes=16 n=3 r=2 w=2\n"
  "option anti_entropy=off\n"
  "network latency=exp(1ms)\n"
  "workload clients=6 rate=300/s keys=20 reads=0.3 value=32\n"
  "run 3s settle 2s\n";

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
  { "resurrect", healthy_scn, "resurrected_deletes" },
  { "old_value", healthy_scn, "stale_read_count" },
  { "old_value", healthy_scn, "dot_collisions" },
};

/* METRIC of SCENARIO run with inject_bug=BUG. */
static double
run_with_bug (const char *scenario_text, const char *bug, const char *metric)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (scenario_text, "bug.scn", &error);
  ck_assert_msg (scenario != NULL, "%s", error != NULL ? error->message : "?");
  ck_assert_msg (dk_scenario_set (scenario, "inject_bug", bug, &error), "%s",
                 error != NULL ? error->message : "?");
  DkRunOptions options;
  dk_run_options_init (&options);
  DkRunResult *result = dk_run_scenario (scenario, &options, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  double value = -1;
  ck_assert_msg (dk_run_metric (result, metric, &value), "%s not measured", metric);
  dk_run_result_free (result);
  return value;
}

START_TEST (checkers_catch_every_injected_bug)
{
  const BugCase *c = &bug_cases[_i];
  double with_bug = run_with_bug (c->scenario, c->bug, c->metric);
  double without = run_with_bug (c->scenario, "none", c->metric);
  ck_assert_msg (with_bug > 0, "inject_bug=%s: %s is %g, the checker missed the bug",
                 c->bug, c->metric, with_bug);
  ck_assert_msg (without == 0, "inject_bug=none: %s is %g on a correct run", c->metric,
                 without);
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
  "run 5s settle 2s\n";

static double
run_one_key (const char *versioning, const char *metric)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (one_key_scn, "lost-updates.scn", &error);
  ck_assert (scenario != NULL);
  ck_assert (dk_scenario_set (scenario, "versioning", versioning, &error));
  DkRunOptions options;
  dk_run_options_init (&options);
  DkRunResult *result = dk_run_scenario (scenario, &options, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  double value = -1;
  ck_assert (dk_run_metric (result, metric, &value));
  dk_run_result_free (result);
  return value;
}

START_TEST (dvv_keeps_concurrent_updates_that_vv_loses)
{
  ck_assert_double_eq (run_one_key ("dvv", "lost_updates"), 0);
  ck_assert_double_eq (run_one_key ("dvv", "lost_writes"), 0);
  ck_assert_double_gt (run_one_key ("dvv", "conflicts"), 0);
  double acknowledged = run_one_key ("vv", "acknowledged_writes");
  double lost = run_one_key ("vv", "lost_updates");
  ck_assert_double_gt (lost, 0.2 * acknowledged);
  ck_assert_double_gt (run_one_key ("vv", "lost_writes"), 0);
}
END_TEST

Suite *
injected_bugs_suite (void)
{
  Suite *suite = suite_create ("injected_bugs");
  TCase *bugs = tcase_create ("bugs");
  tcase_set_timeout (bugs, 0);   /* no wall-clock limit: each run is bounded in virtual time */
  tcase_add_loop_test (bugs, checkers_catch_every_injected_bug, 0, G_N_ELEMENTS (bug_cases));
  tcase_add_test (bugs, dvv_keeps_concurrent_updates_that_vv_loses);
  suite_add_tcase (suite, bugs);
  return suite;
}
