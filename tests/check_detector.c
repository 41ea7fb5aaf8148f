/* check_detector.c — the failure detector (node_gossip.c) scales: a
 * healthy cluster suspects nobody whatever its size, a node sends as many
 * gossip bytes a round at 200 nodes as at 20, a crash is known to every
 * node within seconds, one cut link condemns nobody (relayed probes), a
 * suspicion under loss is refuted once the loss ends, member data is
 * shared, not copied, and a cluster too large for memory is refused.  Defaults only, except the fault under test. */
#include <string.h>
#include "suites.h"
#include "member_table.h"
#include "sim_harness.h"
#include "runner.h"

/* Run TEXT with SEED and return its result (the run must complete). */
static DkRunResult *
run_text (const char *text, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (text, "detector.scn", &error);
  ck_assert_msg (scenario != NULL, "%s", error != NULL ? error->message : "?");
  scenario->seed = seed;
  DkRunOptions options = { 0 };
  DkRunResult *result = dk_run_scenario (scenario, &options, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  return result;
}

static double
metric (const DkRunResult *result, const char *name)
{
  double value = 0;
  ck_assert_msg (dk_run_metric (result, name, &value), "metric %s not measured", name);
  return value;
}

static DkRunResult *
run_healthy (guint nodes, guint seconds, guint64 seed)
{
  g_autofree char *text = g_strdup_printf ("cluster nodes=%u vnodes=8 n=3 r=2 w=2\n"
                                           "workload clients=10 rate=200/s keys=1000\n"
                                           "run %us\n", nodes, seconds);
  return run_text (text, seed);
}

START_TEST (detector_healthy_clusters_suspect_nobody_at_any_size)
{
  static const guint sizes[] = { 5, 60, 250 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      DkRunResult *result = run_healthy (sizes[i], 15, 1 + i);
      ck_assert_msg (metric (result, "suspicions") == 0, "%u nodes: %g suspicions", sizes[i],
                     metric (result, "suspicions"));
      /* measured at every size: a number, not "not measured" */
      ck_assert_msg (metric (result, "false_suspicions") == 0, "%u nodes: %g false suspicions",
                     sizes[i], metric (result, "false_suspicions"));
      ck_assert_double_ge (metric (result, "availability"), 0.999);
      dk_run_result_free (result);
    }
}
END_TEST

START_TEST (detector_gossip_bytes_per_round_do_not_grow_with_the_cluster)
{
  DkRunResult *small = run_healthy (20, 10, 7);
  DkRunResult *large = run_healthy (200, 10, 7);
  double small_bytes = metric (small, "gossip_bytes_per_round");
  double large_bytes = metric (large, "gossip_bytes_per_round");
  ck_assert_double_gt (small_bytes, 0);
  /* names grow by a digit or two; the number of entries does not */
  ck_assert_msg (large_bytes < 1.25 * small_bytes, "20 nodes: %g B a round, 200 nodes: %g",
                 small_bytes, large_bytes);
  dk_run_result_free (small);
  dk_run_result_free (large);
}
END_TEST

START_TEST (detector_a_crash_is_known_everywhere_within_seconds)
{
  static const guint sizes[] = { 5, 150 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *text = g_strdup_printf ("cluster nodes=%u vnodes=8 n=3 r=2 w=2\n"
                                               "workload clients=10 rate=100/s keys=1000\n"
                                               "at 5s crash n3\n"
                                               "run 25s\n", sizes[i]);
      DkRunResult *result = run_text (text, 3);
      /* suspected within a round or two, DOWN suspect_after (5 s) later */
      double detection = metric (result, "detection_time_ms");
      ck_assert_msg (detection > 5000 && detection < 9000, "%u nodes: detected in %g ms",
                     sizes[i], detection);
      dk_run_result_free (result);
    }
}
END_TEST

/* n1 and n2 cannot talk; everyone else can reach both.  The probes that
 * fail directly succeed through others, so neither suspects the other. */
START_TEST (detector_one_cut_link_condemns_nobody)
{
  DkRunResult *result = run_text ("cluster nodes=12 vnodes=8 n=3 r=2 w=2\n"
                                  "workload clients=10 rate=100/s keys=1000\n"
                                  "at 1s drop n1 -> n2\n"
                                  "at 1s drop n2 -> n1\n"
                                  "run 60s\n", 5);
  ck_assert_msg (metric (result, "suspicions") == 0, "%g suspicions", metric (result, "suspicions"));
  dk_run_result_free (result);
}
END_TEST

/* Under 30% loss some probes fail through every helper: suspicions.  Once
 * the loss ends every suspicion is refuted (the suspect reads it and
 * answers with a newer heartbeat) and everyone believes everyone up. */
START_TEST (detector_suspicions_under_loss_are_refuted)
{
  DkSimClusterConfig config;
  th_config_init (&config, 9);
  config.nodes = 10;
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 2000);
  dk_sim_cluster_set_loss (harness->cluster, 0.3);
  th_run_ms (harness, 30000);
  ck_assert_uint_gt (th_cluster_stats (harness).suspicions, 0);
  dk_sim_cluster_set_loss (harness->cluster, 0);
  th_run_ms (harness, 5000);
  for (DkNodeId a = 1; a <= config.nodes; a++)
    for (DkNodeId b = 1; b <= config.nodes; b++)
      ck_assert_msg (dk_node_peer_state (dk_sim_cluster_node (harness->cluster, a), b)
                     == DK_WIRE_MEMBER_UP, "n%u still judges n%u %d", a, b,
                     dk_node_peer_state (dk_sim_cluster_node (harness->cluster, a), b));
  th_free (harness);
}
END_TEST

START_TEST (detector_member_data_is_shared_not_copied)
{
  g_autoptr (DkMemberTable) table = dk_member_table_new ();
  guint32 first = dk_member_table_intern (table, 3, "n3", NULL, "dc1", "r1", 64);
  guint32 again = dk_member_table_intern (table, 3, "n3", "", "dc1", "r1", 64);
  ck_assert_uint_eq (first, again);
  guint32 moved = dk_member_table_intern (table, 3, "n3", "10.0.0.3:7000", "dc1", "r1", 64);
  ck_assert_uint_ne (first, moved);
  ck_assert_str_eq (dk_member_table_info (table, moved)->address, "10.0.0.3:7000");
  ck_assert_str_eq (dk_member_table_info (table, first)->address, "");   /* still valid */
  ck_assert_uint_eq (dk_member_table_intern (table, 3, "n3", "10.0.0.3:7000", "dc1", "r1", 64), moved);
  ck_assert_uint_eq (dk_member_table_size (table), 2);

  /* every node of a simulated cluster takes its infos from one table */
  ThHarness *harness = th_new_for_seed (4);
  th_run_ms (harness, 3000);
  ck_assert_uint_eq (dk_member_table_size (dk_sim_cluster_member_table (harness->cluster)), 5);
  th_free (harness);
}
END_TEST

/* A run that cannot fit is refused before anything is allocated, and the
 * refusal names the estimate; a small one on the same machine is not. */
START_TEST (detector_validation_refuses_a_cluster_too_large_for_memory)
{
  g_setenv ("DYNSIM_MEMORY_MB", "1024", TRUE);   /* this test's own process (fork mode) */
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) large = dk_scenario_parse ("cluster nodes=10000 vnodes=64 n=3 r=2 w=2\n"
                                                    "run 1s\n", "large.scn", &error);
  ck_assert_ptr_null (large);
  ck_assert_msg (strstr (error->message, "large.scn:1: nodes=10000 vnodes=64 needs an estimated")
                 != NULL && strstr (error->message, "more than this machine's 1.0 GiB") != NULL,
                 "%s", error->message);
  g_autoptr (DkScenario) small = dk_scenario_parse ("cluster nodes=100 vnodes=64 n=3 r=2 w=2\n"
                                                    "run 1s\n", "small.scn", NULL);
  ck_assert_ptr_nonnull (small);
  /* the estimate grows faster than the nodes: each holds a view of each */
  g_setenv ("DYNSIM_MEMORY_MB", "1000000", TRUE);
  g_autoptr (DkScenario) medium = dk_scenario_parse ("cluster nodes=1000 vnodes=64 n=3 r=2 w=2\n"
                                                     "run 1s\n", "medium.scn", NULL);
  g_autoptr (DkScenario) accepted = dk_scenario_parse ("cluster nodes=10000 vnodes=64 n=3 r=2 w=2\n"
                                                       "run 1s\n", "large.scn", NULL);
  ck_assert_uint_gt (dk_scenario_memory_estimate (accepted),
                     15 * dk_scenario_memory_estimate (medium));
  g_unsetenv ("DYNSIM_MEMORY_MB");
}
END_TEST

Suite *
detector_suite (void)
{
  Suite *suite = suite_create ("detector");
  TCase *scaling = tcase_create ("scaling");
  dk_tcase_no_wall_limit (scaling);
  tcase_add_test (scaling, detector_healthy_clusters_suspect_nobody_at_any_size);
  tcase_add_test (scaling, detector_gossip_bytes_per_round_do_not_grow_with_the_cluster);
  tcase_add_test (scaling, detector_a_crash_is_known_everywhere_within_seconds);
  tcase_add_test (scaling, detector_one_cut_link_condemns_nobody);
  tcase_add_test (scaling, detector_suspicions_under_loss_are_refuted);
  tcase_add_test (scaling, detector_member_data_is_shared_not_copied);
  tcase_add_test (scaling, detector_validation_refuses_a_cluster_too_large_for_memory);
  suite_add_tcase (suite, scaling);
  return suite;
}
