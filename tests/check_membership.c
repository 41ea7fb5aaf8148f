/* check_membership.c — joins and leaves under load, run through the
 * simulator: a node that left can join again, overlapping leaves never
 * bring a leaver back, a leave nobody hears waits until it is heard, joins
 * during a partition strand nothing on ex-replicas, and restarts in the
 * middle of a leave go on leaving.  Each test runs a small scenario over a
 * few seeds and reads the run's metrics and its fault log (one line per
 * membership change), never the nodes' internals. */
#include <stdio.h>
#include <string.h>
#include "suites.h"
#include "runner.h"
#include "sim_harness.h"

#define SEEDS 3

typedef struct
{
  DkRunResult *result;
  char        *faults;   /* the fault log */
} Run;

static void
run_clear (Run *run)
{
  dk_run_result_free (run->result);
  g_free (run->faults);
}

/* Run TEXT with SEED; the run must complete (never an error, never an
 * abort: the test runs in its own process). */
static Run
run_scenario (const char *text, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (text, "membership.scn", &error);
  ck_assert_msg (scenario != NULL, "%s", error != NULL ? error->message : "?");
  scenario->seed = seed;
  FILE *log = tmpfile ();
  ck_assert_ptr_nonnull (log);
  DkRunOptions options = { .fault_log = log };
  Run run = { dk_run_scenario (scenario, &options, &error), NULL };
  ck_assert_msg (run.result != NULL, "seed %" G_GUINT64_FORMAT ": %s", seed,
                 error != NULL ? error->message : "?");
  long size = ftell (log);
  run.faults = g_new0 (char, (gsize) MAX (size, 0) + 1);
  rewind (log);
  ck_assert_uint_eq (fread (run.faults, 1, (gsize) size, log), (gsize) size);
  fclose (log);
  return run;
}

static double
metric (const Run *run, const char *name)
{
  double value = 0;
  ck_assert_msg (dk_run_metric (run->result, name, &value), "metric %s not measured", name);
  return value;
}

/* The virtual time (s) of the first fault line containing TEXT, or -1. */
static double
fault_time (const Run *run, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (run->faults, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    if (strstr (*line, text) != NULL)
      return g_ascii_strtod (*line, NULL);
  return -1;
}

/* Every replica agrees, every acknowledged write is on all its replicas,
 * and every leave finished. */
static void
assert_settled (const Run *run, guint64 seed)
{
  ck_assert_msg (metric (run, "lost_writes") == 0, "seed %" G_GUINT64_FORMAT ": lost %g writes",
                 seed, metric (run, "lost_writes"));
  ck_assert_msg (metric (run, "divergent_keys") == 0, "seed %" G_GUINT64_FORMAT ": %g divergent keys",
                 seed, metric (run, "divergent_keys"));
  ck_assert_msg (metric (run, "under_replicated_writes") == 0,
                 "seed %" G_GUINT64_FORMAT ": %g under-replicated writes", seed,
                 metric (run, "under_replicated_writes"));
  ck_assert_msg (metric (run, "leaves_pending") == 0, "seed %" G_GUINT64_FORMAT ": a leave never ended",
                 seed);
}

#define LOAD "workload clients=8 rate=200/s keys=400 reads=0.5 value=64\n"

/* The peers of a node that left take it back when it joins again (a new
 * incarnation undoes the LEAVING they remember), and it is filled. */
/* A member entry for a GOSSIP, its strings owned by the message. */
static DkWireMember
forged_entry (DkNodeId id, DkWireMemberState state, guint32 weight)
{
  DkWireMember entry = {
    .node = id, .name = g_strdup_printf ("n%u", id), .address = g_strdup (""),
    .datacenter = g_strdup (""), .rack = g_strdup (""), .vnodes = weight,
    .heartbeat = 5, .incarnation = G_GUINT64_CONSTANT (1) << 40, .state = state,
    .verdict = DK_WIRE_MEMBER_UP,
  };
  return entry;
}

static void
deliver_gossip (ThHarness *harness, DkNodeId from, DkNodeId to, const DkWireMember *entries,
                guint count)
{
  g_autoptr (DkWireMessage) gossip = dk_wire_message_new (DK_WIRE_GOSSIP);
  gossip->sender = from;
  gossip->body.gossip.kind = DK_WIRE_GOSSIP_PUSH;
  g_array_append_vals (gossip->body.gossip.members, entries, count);
  g_autoptr (GByteArray) datagram = dk_wire_encode (gossip, NULL);
  ck_assert (datagram != NULL);
  dk_node_receive (dk_sim_cluster_node (harness->cluster, to), from, datagram->data,
                   datagram->len);
}

/* Gossip can neither relay a leave (only the leaving member announces its
 * own) nor bring a member heavier than max_member_weight: a member's
 * gossip that says member 3 leaves and member 77 of weight 1024 joins
 * changes no ring, and is counted; the same leave from member 3 itself is
 * taken. */
START_TEST (membership_gossip_cannot_relay_a_leave_or_claim_a_heavy_weight)
{
  DkSimClusterConfig config;
  th_config_init (&config, 11);
  config.node.max_member_weight = 4;
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 3000);
  DkNode *n1 = dk_sim_cluster_node (harness->cluster, 1);
  guint members = dk_ring_node_count (dk_node_ring (n1));
  guint64 ring_changes = dk_node_stats (n1)->ring_changes;
  DkWireMember forged[2] = { forged_entry (3, DK_WIRE_MEMBER_LEAVING, 1),
                             forged_entry (77, DK_WIRE_MEMBER_UP, 1024) };
  deliver_gossip (harness, 2, 1, forged, 2);
  ck_assert_int_ne (dk_node_peer_state (n1, 3), DK_WIRE_MEMBER_LEAVING);
  ck_assert_int_eq (dk_node_peer_state (n1, 77), DK_WIRE_MEMBER_DOWN);   /* no member */
  ck_assert_uint_eq (dk_ring_node_count (dk_node_ring (n1)), members);
  ck_assert_uint_eq (dk_node_stats (n1)->ring_changes, ring_changes);
  ck_assert_uint_eq (dk_node_stats (n1)->gossip_entries_refused, 2);

  DkWireMember own[1] = { forged_entry (3, DK_WIRE_MEMBER_LEAVING, 1) };
  deliver_gossip (harness, 3, 1, own, 1);
  ck_assert_int_eq (dk_node_peer_state (n1, 3), DK_WIRE_MEMBER_LEAVING);
  ck_assert_uint_eq (dk_ring_node_count (dk_node_ring (n1)), members - 1);
  th_free (harness);
}
END_TEST

/* A stranger's join (gossip from an address no member has) is held as
 * pending, out of the ring and unanswered, unless the node admits
 * automatically (node_admin.c); admitted, it is a member. */
START_TEST (membership_a_stranger_joins_only_when_admitted)
{
  for (gboolean auto_admit = FALSE; auto_admit <= TRUE; auto_admit++)
    {
      DkSimClusterConfig config;
      th_config_init (&config, 12);
      config.node.allow_joins = TRUE;   /* unkeyed: strangers are heard at all */
      config.node.auto_admit = auto_admit;
      ThHarness *harness = th_new (&config);
      th_run_ms (harness, 2000);
      DkNode *n1 = dk_sim_cluster_node (harness->cluster, 1);
      guint members = dk_ring_node_count (dk_node_ring (n1));
      guint64 sent = dk_node_stats (n1)->messages_sent;
      DkWireMember own[1] = { forged_entry (9, DK_WIRE_MEMBER_JOINING, 1) };
      g_autoptr (DkWireMessage) gossip = dk_wire_message_new (DK_WIRE_GOSSIP);
      gossip->sender = 9;
      gossip->body.gossip.kind = DK_WIRE_GOSSIP_PROBE;
      g_array_append_vals (gossip->body.gossip.members, own, 1);
      g_autoptr (GByteArray) datagram = dk_wire_encode (gossip, NULL);
      dk_node_receive (n1, DK_ENDPOINT_CLIENT_BASE + 5, datagram->data, datagram->len);
      if (auto_admit)
        {
          ck_assert_int_ne (dk_node_peer_state (n1, 9), DK_WIRE_MEMBER_DOWN);
          ck_assert_uint_eq (dk_ring_node_count (dk_node_ring (n1)), members + 1);
          ck_assert_uint_eq (dk_node_joins_pending (n1), 0);
        }
      else
        {
          ck_assert_int_eq (dk_node_peer_state (n1, 9), DK_WIRE_MEMBER_DOWN);   /* no member */
          ck_assert_uint_eq (dk_ring_node_count (dk_node_ring (n1)), members);
          ck_assert_uint_eq (dk_node_joins_pending (n1), 1);
          ck_assert_uint_eq (dk_node_stats (n1)->joins_held, 1);
          ck_assert_uint_eq (dk_node_stats (n1)->messages_sent, sent);   /* not answered */
          /* Asking again is one pending join, not two. */
          dk_node_receive (n1, DK_ENDPOINT_CLIENT_BASE + 5, datagram->data, datagram->len);
          ck_assert_uint_eq (dk_node_joins_pending (n1), 1);
          ck_assert_uint_eq (dk_node_stats (n1)->joins_held, 2);
        }
      th_free (harness);
    }
}
END_TEST

/* A removal (a member's LEAVING entry judged DOWN by another: dynkv admin
 * remove) travels from any member, where a plain leave is taken only
 * from the member itself; a stale one (older than what the member said
 * since) is not taken. */
START_TEST (membership_a_removal_travels_but_not_a_stale_one)
{
  DkSimClusterConfig config;
  th_config_init (&config, 13);
  ThHarness *harness = th_new (&config);
  th_run_ms (harness, 3000);
  DkNode *n1 = dk_sim_cluster_node (harness->cluster, 1);
  guint members = dk_ring_node_count (dk_node_ring (n1));
  /* Member 4 at a newer claim than the stale removal below. */
  DkWireMember claim[1] = { forged_entry (4, DK_WIRE_MEMBER_UP, 1) };
  deliver_gossip (harness, 4, 1, claim, 1);
  DkWireMember stale[1] = { forged_entry (4, DK_WIRE_MEMBER_LEAVING, 1) };
  stale[0].verdict = DK_WIRE_MEMBER_DOWN;
  stale[0].heartbeat = 4;
  deliver_gossip (harness, 2, 1, stale, 1);
  ck_assert_int_ne (dk_node_peer_state (n1, 4), DK_WIRE_MEMBER_LEAVING);
  ck_assert_uint_eq (dk_node_stats (n1)->members_removed, 0);

  DkWireMember removal[1] = { forged_entry (3, DK_WIRE_MEMBER_LEAVING, 1) };
  removal[0].verdict = DK_WIRE_MEMBER_DOWN;
  deliver_gossip (harness, 2, 1, removal, 1);
  ck_assert_int_eq (dk_node_peer_state (n1, 3), DK_WIRE_MEMBER_LEAVING);
  ck_assert_uint_eq (dk_ring_node_count (dk_node_ring (n1)), members - 1);
  ck_assert_uint_eq (dk_node_stats (n1)->members_removed, 1);
  th_free (harness);
}
END_TEST

START_TEST (membership_a_node_that_left_joins_again)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=4 vnodes=16 n=3 r=2 w=2\n" LOAD
                              "at 2s leave n4\nat 12s join n4\nrun 18s settle 20s\n", seed);
      double left = fault_time (&run, "n4 left");
      ck_assert_msg (left > 2 && left < 12, "seed %" G_GUINT64_FORMAT ": n4 left at %g", seed, left);
      ck_assert_double_eq (metric (&run, "members_final"), 4);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* Two leaves 100 ms apart: both leave, neither comes back into a ring. */
START_TEST (membership_overlapping_leaves_never_bring_a_leaver_back)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=5 vnodes=16 n=3 r=2 w=2\n" LOAD
                              "at 2s leave n4\nat 2.1s leave n5\nrun 10s settle 20s\n", seed);
      ck_assert (fault_time (&run, "n4 left") > 0);
      ck_assert (fault_time (&run, "n5 left") > 0);
      ck_assert_double_eq (metric (&run, "members_final"), 3);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* A node told to leave while cut off keeps its data (with W=1 some writes
 * live only on it), counts the rounds it waits, and leaves only after
 * the heal, once its replicas hold everything. */
START_TEST (membership_leave_while_cut_off_waits_then_finishes)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=5 vnodes=16 n=3 r=1 w=1\n"
                              "workload clients=10 rate=200/s keys=400 reads=0.5 value=64\n"
                              "at 1s partition {n5} {n1 n2 n3 n4}\nat 2s leave n5\n"
                              "at 15s heal\nrun 20s settle 20s\n", seed);
      double left = fault_time (&run, "n5 left");
      ck_assert_msg (left > 15, "seed %" G_GUINT64_FORMAT ": n5 left at %g, before the heal",
                     seed, left);
      ck_assert_msg (metric (&run, "leave_waits") >= 10, "seed %" G_GUINT64_FORMAT ": waited %g rounds",
                     seed, metric (&run, "leave_waits"));
      ck_assert_double_eq (metric (&run, "hints_pending"), 0);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* Two nodes cut off together and told to leave: writes there (W=1)
 * leave hints for the replicas no stand-in covers, kept by coordinators
 * that hold no copy of their own.  A leaver hands those hints off too
 * before it stops, and one restarted in the middle goes on leaving. */
START_TEST (membership_cut_off_leavers_hand_off_their_hints)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=6 vnodes=16 n=3 r=1 w=1\n"
                              "workload clients=12 rate=300/s keys=1000 reads=0.5 value=64\n"
                              "at 1s partition {n5 n6} {n1 n2 n3 n4}\n"
                              "at 2s leave n6\nat 3s leave n5\nat 6s crash n6\nat 8s restart n6\n"
                              "at 15s heal\nrun 20s settle 30s\n", seed);
      ck_assert (fault_time (&run, "n5 left") > 15);
      ck_assert (fault_time (&run, "n6 left") > 15);
      ck_assert_double_eq (metric (&run, "members_final"), 4);
      ck_assert_double_eq (metric (&run, "hints_pending"), 0);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* Nodes join on both sides of a partition; sloppy writes and their hints
 * land on owners that are ex-replicas once the rings agree.  Nothing is
 * stranded there: every old replica fills the new ones, and a copy outside
 * a node's ranges (a stand-in's after its handoff too) goes only once
 * every current replica holds it.  Anti-entropy is off, so that it cannot
 * make up for a copy purged too early. */
START_TEST (membership_join_during_partition_strands_nothing)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=4 vnodes=16 n=3 r=2 w=2\n"
                              "option anti_entropy=off\n"
                              "workload clients=8 rate=400/s keys=1000 reads=0.5 value=64\n"
                              "at 2s partition {n1 n2} {n3 n4}\n"
                              "at 4s join n5\nat 4s partition {n1 n2} {n3 n4 n5}\n"
                              "at 6s join n6\nat 6s partition {n1 n2 n6} {n3 n4 n5}\n"
                              "at 16s heal\nrun 20s settle 30s\n", seed);
      ck_assert_double_eq (metric (&run, "members_final"), 6);
      ck_assert_double_eq (metric (&run, "hints_pending"), 0);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* n3 is cut off when n5 joins: for the ranges n3 drops out of, the other
 * old replicas fill n5 (no single streamer chosen by belief).  Writes
 * before the cut went to all three replicas (W=3), and the run ends before
 * the heal is felt (no settle), so only the fill can have put them on n5.
 * The quorum is strict: a write after the cut acknowledged by stand-ins
 * (n3 is suspected within a round or two) could not reach n3 before the
 * end, and is no fill's business. */
START_TEST (membership_every_old_replica_that_can_reach_a_new_one_fills_it)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=4 vnodes=16 n=3 r=2 w=3\n"
                              "option sloppy_quorum=off\n"
                              "workload clients=8 rate=200/s keys=300 reads=0 value=64\n"
                              "at 3s rate 0.01/s\nat 3.5s partition {n3} {n1 n2 n4}\n"
                              "at 4s join n5\nat 4s partition {n3} {n1 n2 n4 n5}\n"
                              "run 14s settle 0s\n", seed);
      ck_assert_double_gt (metric (&run, "acknowledged_writes"), 300);
      ck_assert_msg (metric (&run, "under_replicated_writes") == 0,
                     "seed %" G_GUINT64_FORMAT ": %g writes not on every replica", seed,
                     metric (&run, "under_replicated_writes"));
      ck_assert_double_eq (metric (&run, "lost_writes"), 0);
      run_clear (&run);
    }
}
END_TEST

/* A leaver that crashes (twice) goes on leaving when it restarts; one
 * that is down when told leaves when it restarts.  This aborted dynsim. */
START_TEST (membership_restart_while_leaving_goes_on_leaving)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=5 vnodes=16 n=3 r=2 w=2\n" LOAD
                              "at 2s leave n5\nat 2.2s crash n5\nat 4s restart n5\n"
                              "at 4.1s crash n5\nat 6s restart n5\n"
                              "at 8s crash n4\nat 9s leave n4\nat 12s restart n4\n"
                              "run 16s settle 20s\n", seed);
      ck_assert (fault_time (&run, "restart n5 (still leaving)") > 0);
      ck_assert (fault_time (&run, "n5 left") > 6);
      ck_assert (fault_time (&run, "n4 left") > 12);
      ck_assert_double_eq (metric (&run, "members_final"), 3);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* Joining a node that is still leaving calls the leave off: it stays. */
START_TEST (membership_join_while_leaving_calls_the_leave_off)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=4 vnodes=16 n=3 r=2 w=2\n" LOAD
                              "at 2s leave n4\nat 2.2s join n4\nrun 10s settle 20s\n", seed);
      ck_assert (fault_time (&run, "its leave is called off") > 0);
      ck_assert_double_lt (fault_time (&run, "n4 left"), 0);
      ck_assert_double_eq (metric (&run, "members_final"), 4);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* A node that joins and leaves before anyone heard of it still has its
 * leave acknowledged (its peers echo its own LEAVING entry), and stops. */
START_TEST (membership_a_leave_nobody_knew_of_is_acknowledged)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=4 vnodes=16 n=3 r=2 w=2\n" LOAD
                              "at 2s join n5\nat 2.1s leave n5\nrun 6s settle 20s\n", seed);
      ck_assert (fault_time (&run, "n5 left") > 0);
      ck_assert_double_eq (metric (&run, "members_final"), 4);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

/* Every old replica helps fill a new one, yet a join moves about what it
 * must: the later helpers find the keys already there. */
START_TEST (membership_helpers_do_not_multiply_the_keys_moved)
{
  for (guint64 seed = 1; seed <= SEEDS; seed++)
    {
      Run run = run_scenario ("cluster nodes=4 vnodes=16 n=3 r=2 w=2\n"
                              "workload clients=8 rate=50/s keys=400 reads=0.5 value=64\n"
                              "at 5s join n5\nrun 10s settle 20s\n", seed);
      double ratio = metric (&run, "keys_moved_ratio");
      ck_assert_msg (ratio > 0.9 && ratio < 1.5, "seed %" G_GUINT64_FORMAT ": keys_moved_ratio %g",
                     seed, ratio);
      assert_settled (&run, seed);
      run_clear (&run);
    }
}
END_TEST

Suite *
membership_suite (void)
{
  Suite *suite = suite_create ("membership");
  TCase *changes = tcase_create ("changes");
  tcase_add_test (changes, membership_gossip_cannot_relay_a_leave_or_claim_a_heavy_weight);
  dk_tcase_no_wall_limit (changes);
  tcase_add_test (changes, membership_a_node_that_left_joins_again);
  tcase_add_test (changes, membership_a_stranger_joins_only_when_admitted);
  tcase_add_test (changes, membership_a_removal_travels_but_not_a_stale_one);
  tcase_add_test (changes, membership_overlapping_leaves_never_bring_a_leaver_back);
  tcase_add_test (changes, membership_leave_while_cut_off_waits_then_finishes);
  tcase_add_test (changes, membership_cut_off_leavers_hand_off_their_hints);
  tcase_add_test (changes, membership_join_during_partition_strands_nothing);
  tcase_add_test (changes, membership_every_old_replica_that_can_reach_a_new_one_fills_it);
  tcase_add_test (changes, membership_restart_while_leaving_goes_on_leaving);
  tcase_add_test (changes, membership_join_while_leaving_calls_the_leave_off);
  tcase_add_test (changes, membership_a_leave_nobody_knew_of_is_acknowledged);
  tcase_add_test (changes, membership_helpers_do_not_multiply_the_keys_moved);
  suite_add_tcase (suite, changes);
  return suite;
}
