/* check_handoff.c — hints go home fast and paced; writes routed by a
 * stale view are forwarded (issue 9, item 3).
 *
 * A stand-in hands its hints back through a window of handoff_batch hints
 * in flight per owner, refilled as the owner acknowledges: the backlog
 * drains at the pace of the owner's answers and never has more than the
 * window outstanding.  Delivery starts the moment the stand-in sees the
 * owner up again, not at some later round.  A replica that stores a
 * coordinator's write for a key its ring says it does not replicate sends
 * the write on to the key's replicas; repairs, stand-ins' copies and
 * writes to replicas are not forwarded. */
#include <string.h>
#include "suites.h"
#include "runner.h"
#include "sim_harness.h"
#include "store.h"
#include "version.h"

/* Five nodes, N=3, R=W=2, no anti-entropy (nothing but handoff moves
 * data between replicas). */
static void
config_init (DkSimClusterConfig *config, guint64 seed)
{
  th_config_init (config, seed);
  config->node.anti_entropy_interval_us = 0;
}

/* One version of KEY written by NODE with COUNTER. */
static GPtrArray *
one_version (DkNodeId node, guint64 counter, const char *value)
{
  GPtrArray *set = dk_siblings_new ();
  DkDot dot = { .actor = dk_actor_make (node, 1), .counter = counter };
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));
  g_ptr_array_add (set, dk_version_new (dot, NULL, bytes, FALSE));
  return set;
}

/* Keep COUNT hints at STAND_IN for OWNER, keys PREFIX0.. */
static void
keep_hints (ThHarness *harness, DkNodeId stand_in, DkNodeId owner, const char *prefix, guint count)
{
  DkStore *store = dk_sim_cluster_store (harness->cluster, stand_in);
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s%u", prefix, i);
      g_autoptr (GBytes) key = g_bytes_new (name, strlen (name));
      g_autoptr (GPtrArray) set = one_version (stand_in, i + 1, name);
      g_autoptr (GError) error = NULL;
      ck_assert_msg (dk_store_hint_add (store, owner, key, set, 0, NULL, &error), "%s",
                     error ? error->message : "?");
    }
}

static guint
hints_held (ThHarness *harness, DkNodeId id)
{
  return dk_store_hint_count (dk_sim_cluster_store (harness->cluster, id), DK_NODE_NONE);
}

/* A backlog of 2,000 hints for an owner that is up drains within a few
 * hundred milliseconds of the first handoff, and at no moment are more
 * than the window (handoff_batch, 64) of them unacknowledged: paced by
 * the owner's answers, never all at once. */
START_TEST (handoff_a_backlog_drains_in_a_window_per_owner)
{
  DkSimClusterConfig config;
  config_init (&config, 1);
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 100);
  const guint backlog = 2000, window = config.node.handoff_batch;
  ck_assert_uint_eq (window, 64);
  keep_hints (harness, 3, 1, "k", backlog);

  gint64 first_sent_ms = -1, drained_ms = -1;
  guint64 most_in_flight = 0;
  for (gint64 ms = 0; ms < 3000 && drained_ms < 0; ms++)
    {
      th_run_ms (harness, 1);
      const DkNodeStats *stats = th_node_stats (harness, 3);
      guint64 in_flight = stats->hints_sent - stats->hints_delivered;
      most_in_flight = MAX (most_in_flight, in_flight);
      ck_assert_msg (in_flight <= window, "%" G_GUINT64_FORMAT " hints in flight at %" G_GINT64_FORMAT
                     " ms, over the window of %u", in_flight, ms, window);
      if (first_sent_ms < 0 && stats->hints_sent > 0)
        first_sent_ms = ms;
      if (hints_held (harness, 3) == 0)
        drained_ms = ms;
    }
  ck_assert_msg (first_sent_ms >= 0, "no hint was handed off");
  ck_assert_msg (drained_ms >= 0, "hints still held after 3 s: %u", hints_held (harness, 3));
  /* 2,000 hints, 64 a round trip of ~2 ms: well under a tenth of a second;
   * one at a time would take four. */
  ck_assert_int_lt (drained_ms - first_sent_ms, 250);
  ck_assert_uint_eq (most_in_flight, window);    /* the window was used, not one at a time */
  const DkNodeStats *stats = th_node_stats (harness, 3);
  ck_assert_uint_eq (stats->hints_delivered, backlog);
  ck_assert_uint_eq (stats->hints_sent, backlog);   /* no resends: nothing was lost */
  ck_assert_uint_eq (th_node_stats (harness, 1)->hints_received, backlog);
  for (guint i = 0; i < backlog; i += 97)
    {
      g_autofree char *name = g_strdup_printf ("k%u", i);
      g_autoptr (GPtrArray) held = th_stored (harness, 1, name);
      ck_assert_uint_eq (held->len, 1);
    }
  th_free (harness);
}
END_TEST

/* Cut N1 off from the others in HARNESS. */
static void
cut_off_n1 (ThHarness *harness)
{
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  GArray *alone = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  GArray *rest = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  for (DkNodeId id = 1; id <= 5; id++)
    g_array_append_val (id == 1 ? alone : rest, id);
  g_ptr_array_add (groups, alone);
  g_ptr_array_add (groups, rest);
  dk_sim_cluster_partition (harness->cluster, groups);
}

/* Hints for an owner cut off wait, but for a probe a second (one hint,
 * cut with the rest).  Once the partition heals they are all home a few
 * round trips after the stand-in sees the owner up (its verdict turns,
 * or the owner answers a probe), well before the next gossip round. */
START_TEST (handoff_begins_when_the_owner_is_seen_up)
{
  DkSimClusterConfig config;
  config_init (&config, 2);
  config.node.gossip_interval_us = 200000;
  config.node.suspect_after_us = 600000;
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 500);
  cut_off_n1 (harness);
  th_run_ms (harness, 2000);
  DkNode *stand_in = dk_sim_cluster_node (harness->cluster, 3);
  ck_assert_int_ne (dk_node_peer_state (stand_in, 1), DK_WIRE_MEMBER_UP);
  keep_hints (harness, 3, 1, "cut", 100);
  th_run_ms (harness, 3000);
  const DkNodeStats *stats = th_node_stats (harness, 3);
  ck_assert_uint_ge (stats->hints_sent, 2);     /* probes ... */
  ck_assert_uint_le (stats->hints_sent, 4);     /* ... one a second */
  ck_assert_uint_eq (stats->hints_delivered, 0);

  dk_sim_cluster_heal (harness->cluster);
  gint64 up_ms = -1, home_ms = -1;
  for (gint64 ms = 0; ms < 3000 && (up_ms < 0 || home_ms < 0); ms++)
    {
      th_run_ms (harness, 1);
      if (up_ms < 0 && dk_node_peer_state (stand_in, 1) == DK_WIRE_MEMBER_UP)
        up_ms = ms;
      if (home_ms < 0 && hints_held (harness, 3) == 0)
        home_ms = ms;
    }
  ck_assert_msg (up_ms >= 0, "n3 never saw n1 up again");
  ck_assert_msg (home_ms >= 0 && home_ms <= up_ms + 30, "hints home %" G_GINT64_FORMAT
                 " ms after the heal, n1 seen up at %" G_GINT64_FORMAT " ms", home_ms, up_ms);
  ck_assert_uint_eq (th_node_stats (harness, 3)->hints_delivered, 100);
  th_free (harness);
}
END_TEST

/* With the default failure detector (gossip every second, suspicion
 * after three) a stand-in may go on believing a healed owner down for
 * seconds.  The owner's answer to a probe opens the window: the hints are
 * home before the stand-in's verdict turns. */
START_TEST (handoff_an_answered_probe_opens_the_window)
{
  DkSimClusterConfig config;
  config_init (&config, 7);   /* a seed where n3's verdict lags the heal by over a second */
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 500);
  cut_off_n1 (harness);
  th_run_ms (harness, 8000);
  DkNode *stand_in = dk_sim_cluster_node (harness->cluster, 3);
  ck_assert_int_ne (dk_node_peer_state (stand_in, 1), DK_WIRE_MEMBER_UP);
  keep_hints (harness, 3, 1, "probe", 500);
  th_run_ms (harness, 1500);
  dk_sim_cluster_heal (harness->cluster);
  gint64 up_ms = -1, home_ms = -1;
  for (gint64 ms = 0; ms < 10000 && (up_ms < 0 || home_ms < 0); ms++)
    {
      th_run_ms (harness, 1);
      if (up_ms < 0 && dk_node_peer_state (stand_in, 1) == DK_WIRE_MEMBER_UP)
        up_ms = ms;
      if (home_ms < 0 && hints_held (harness, 3) == 0)
        home_ms = ms;
    }
  ck_assert_msg (up_ms > 1000 && home_ms >= 0 && home_ms < up_ms - 500,
                 "hints home %" G_GINT64_FORMAT " ms after the heal, n1 seen up at %"
                 G_GINT64_FORMAT " ms", home_ms, up_ms);
  th_free (harness);
}
END_TEST

/* Deliver a WRITE of KEY (request REQUEST_ID, standing in for HINTED_OWNER
 * or DK_NODE_NONE) from node FROM to node TO, as if FROM had sent it. */
static void
deliver_write (ThHarness *harness, DkNodeId from, DkNodeId to, guint64 request_id,
               const char *key, DkNodeId hinted_owner, guint64 counter)
{
  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->request_id = request_id;
  write->sender = from;   /* a member speaks as itself (node.h) */
  write->body.write.key = g_bytes_new (key, strlen (key));
  write->body.write.hinted_owner = hinted_owner;
  g_ptr_array_unref (write->body.write.siblings);   /* the empty set of a new message */
  write->body.write.siblings = one_version (from, counter, key);
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (write, &error);
  ck_assert_msg (datagram != NULL, "%s", error ? error->message : "?");
  dk_node_receive (dk_sim_cluster_node (harness->cluster, to), (DkEndpoint) from,
                   datagram->data, datagram->len);
}

/* A coordinator's write that reaches a node outside the key's preference
 * list (the coordinator's view is stale) is stored there and sent on to
 * the replicas the sender did not write: they hold it within a few round
 * trips, with no anti-entropy and no sweep.  A write to a replica, a
 * repair and a stand-in's write are not forwarded. */
START_TEST (handoff_a_write_by_a_stale_view_is_forwarded_to_the_owners)
{
  DkSimClusterConfig config;
  config_init (&config, 3);
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 100);
  const char *key = "moved-key";
  DkNodeId list[3];
  th_preference (harness, key, list);
  DkNodeId outsider = th_outsider (harness, key);

  deliver_write (harness, list[0], outsider, 77, key, DK_NODE_NONE, 1);
  th_run_ms (harness, 100);
  ck_assert_uint_eq (th_node_stats (harness, outsider)->writes_forwarded, 1);
  for (guint i = 1; i < 3; i++)
    {
      g_autoptr (GPtrArray) held = th_stored (harness, list[i], key);
      ck_assert_msg (held->len == 1, "replica n%u lacks the forwarded write", list[i]);
    }
  {
    g_autoptr (GPtrArray) held = th_stored (harness, list[0], key);
    ck_assert_uint_eq (held->len, 0);   /* the sender is not written back */
  }
  ck_assert_uint_eq (hints_held (harness, outsider), 0);   /* acknowledged, removed */

  /* Not forwarded: a write to a replica, a repair (no request id), a
   * stand-in's copy. */
  deliver_write (harness, list[0], list[1], 78, key, DK_NODE_NONE, 2);
  deliver_write (harness, list[0], outsider, 0, key, DK_NODE_NONE, 3);
  deliver_write (harness, list[0], outsider, 79, key, list[2], 4);
  th_run_ms (harness, 100);
  DkNodeStats total = th_cluster_stats (harness);
  ck_assert_uint_eq (total.writes_forwarded, 1);
  th_free (harness);
}
END_TEST

static DkRunResult *
run_text (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (text, "converge.scn", &error);
  ck_assert_msg (scenario != NULL, "%s", error != NULL ? error->message : "?");
  DkRunResult *result = dk_run_scenario (scenario, NULL, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  return result;
}

/* converge_ms is measured from the end of the last fault (here the heal)
 * to the last repair (hints handed back), in the JSON and the summary;
 * a run without a fault has it unmeasured: null, never 0. */
START_TEST (handoff_converge_ms_runs_from_the_heal_to_the_last_repair)
{
  g_autoptr (DkRunResult) healthy = run_text (
    "cluster nodes=5 vnodes=16 n=3 r=2 w=2\n"
    "workload clients=4 rate=200/s keys=200\n"
    "run 3s settle 1s\n");
  double value;
  ck_assert (!dk_run_metric (healthy, "converge_ms", &value));
  g_autoptr (GString) json = g_string_new (NULL);
  dk_run_to_json (healthy, json);
  ck_assert_ptr_nonnull (strstr (json->str, "\"converge_ms\": null"));
  g_autoptr (GString) text = g_string_new (NULL);
  dk_run_to_text (healthy, FALSE, text);
  ck_assert_ptr_nonnull (strstr (text->str, "converged       not measured (no fault)"));

  g_autoptr (DkRunResult) healed = run_text (
    "cluster nodes=5 vnodes=16 n=3 r=2 w=2\n"
    "option anti_entropy=off\n"
    "workload clients=4 rate=400/s keys=2000\n"
    "at 1s partition {n1 n2} {n3 n4 n5}\n"
    "at 12s heal\n"
    "run 15s settle 2s\n");
  ck_assert (dk_run_metric (healed, "hints_delivered", &value) && value > 0);
  ck_assert (dk_run_metric (healed, "converge_ms", &value));
  double last_repair;
  ck_assert (dk_run_metric (healed, "last_repair_ms", &last_repair));
  ck_assert_msg (value > 0 && value < 5000, "converge_ms %g", value);
  ck_assert_double_eq_tol (last_repair - 12000, value, 1e-6);
  g_string_truncate (text, 0);
  dk_run_to_text (healed, FALSE, text);
  ck_assert_ptr_nonnull (strstr (text->str, "ms after the last fault ended (at 12.000 s;"));
}
END_TEST

Suite *
handoff_suite (void)
{
  Suite *suite = suite_create ("handoff");
  TCase *pacing = tcase_create ("pacing");
  dk_tcase_no_wall_limit (pacing);
  tcase_add_test (pacing, handoff_a_backlog_drains_in_a_window_per_owner);
  tcase_add_test (pacing, handoff_begins_when_the_owner_is_seen_up);
  tcase_add_test (pacing, handoff_an_answered_probe_opens_the_window);
  suite_add_tcase (suite, pacing);
  TCase *forwarding = tcase_create ("forwarding");
  tcase_add_test (forwarding, handoff_a_write_by_a_stale_view_is_forwarded_to_the_owners);
  suite_add_tcase (suite, forwarding);
  TCase *converge = tcase_create ("converge");
  dk_tcase_no_wall_limit (converge);
  tcase_add_test (converge, handoff_converge_ms_runs_from_the_heal_to_the_last_repair);
  suite_add_tcase (suite, converge);
  return suite;
}
