/* check_failover.c — per-request failover and local failure knowledge
 * (issue 9, item 2; Dynamo §4.6, §4.8.3).
 *
 * Real nodes in the simulated cluster, with links of 1 ms: a replica
 * silent past the deadline its coordinator derives from observed round
 * trips is replaced within the request by the next node of the sloppy
 * list, which keeps a hint for it; a strict quorum waits instead; a proxy
 * whose coordinator is silent tries the next one (a write asks the same
 * one once more first, so it is not applied twice), and coordinates
 * itself once every replica is silent; with nobody to try instead, a
 * silent node is asked once more; a peer silent twice is marked unreachable
 * and skipped by new requests until it is heard from again.  Gossip never
 * gets to call anybody down in these tests: everything happens within a
 * few deadlines, far below suspect_after. */
#include <string.h>
#include "suites.h"
#include "sim_harness.h"
#include "eventq.h"

#define CLIENT_ID 77

/* The key the tests use: one whose replicas are not the client's home
 * node (a client's datagrams cross its home node's links, and the tests
 * cut or slow the replicas'). */
static const char *
test_key (ThHarness *harness)
{
  static const char *const candidates[] = { "apricot", "banana", "cherry", "damson", "elder" };
  DkNodeId home = dk_sim_cluster_client_home (harness->cluster, 0);
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      DkNodeId list[3];
      th_preference (harness, candidates[i], list);
      if (list[0] != home && list[1] != home && list[2] != home)
        return candidates[i];
    }
  g_assert_not_reached ();
}

/* Virtual milliseconds since the queue started. */
static gint64
now_ms (ThHarness *harness)
{
  return dk_eventq_now (harness->queue) / 1000;
}

/* Run until the first reply to ID arrives, at most LIMIT_MS; the
 * milliseconds it took, or -1 without a reply. */
static gint64
ms_until_reply (ThHarness *harness, guint64 id, gint64 limit_ms)
{
  gint64 start = now_ms (harness);
  while (th_reply_to (harness, id) == NULL && now_ms (harness) - start < limit_ms)
    th_run_ms (harness, 1);
  return th_reply_to (harness, id) != NULL ? now_ms (harness) - start : -1;
}

/* Requests through NODE to every peer (gets of keys it replicates) until
 * it has observed round trips; every one succeeds with no failover. */
static void
warm_up (ThHarness *harness, DkNodeId node)
{
  guint sent = 0;
  for (guint k = 0; k < 200 && sent < 40; k++)
    {
      char key[16];
      g_snprintf (key, sizeof key, "warm%u", k);
      DkNodeId list[3];
      th_preference (harness, key, list);
      if (list[0] != node && list[1] != node && list[2] != node)
        continue;
      guint64 id = 1000 + k;
      th_send_request (harness, node, DK_WIRE_PUT, id, key, "w", NULL, 3);
      ck_assert_int_ge (ms_until_reply (harness, id, 100), 0);
      ck_assert_int_eq (th_reply_to (harness, id)->status, DK_WIRE_STATUS_OK);
      sent++;
    }
  ck_assert_uint_eq (sent, 40);
  ck_assert_uint_eq (th_node_stats (harness, node)->failovers, 0);
  ck_assert_uint_eq (th_node_stats (harness, node)->peers_marked_unreachable, 0);
}

static ThHarness *
harness_new (gboolean sloppy)
{
  DkSimClusterConfig config;
  th_config_init (&config, 9);
  config.node.sloppy_quorum = config.node.hinted_handoff = sloppy;
  config.node.anti_entropy_interval_us = 0;
  ThHarness *harness = th_new (&config);
  harness->client_id = CLIENT_ID;   /* a named client, as dynkv and dynsim's are */
  return harness;
}

/* Two of three replicas crash: the put (W=2) is answered OK a few round
 * trips later, long before request_timeout (200 ms) and before gossip
 * suspects anybody, by stand-ins that keep hints for the two; the hints
 * go home once the two are back.  A strict quorum waits and times out. */
START_TEST (failover_put_reaches_stand_ins_within_the_deadline)
{
  for (int sloppy = 0; sloppy <= 1; sloppy++)
    {
      ThHarness *harness = harness_new (sloppy);
      const char *KEY = test_key (harness);
      DkNodeId list[3];
      th_preference (harness, KEY, list);
      warm_up (harness, list[0]);
      dk_sim_cluster_crash (harness->cluster, list[1]);
      dk_sim_cluster_crash (harness->cluster, list[2]);
      th_send_request (harness, list[0], DK_WIRE_PUT, 1, KEY, "orange", NULL, 2);
      gint64 took = ms_until_reply (harness, 1, 300);
      DkWireClientReply *reply = th_reply_to (harness, 1);
      ck_assert_ptr_nonnull (reply);
      if (!sloppy)
        {
          /* Strict: nobody stands in; the coordinator waits it out. */
          ck_assert_int_eq (reply->status, DK_WIRE_STATUS_TIMEOUT);
          ck_assert_int_ge (took, 200);
          ck_assert_uint_eq (th_node_stats (harness, list[0])->failovers, 0);
          th_free (harness);
          continue;
        }
      /* 1 ms each way: client, a first deadline (5 ms floor: slow, asked
       * once more), a second (silent again: marked, replaced), stand-in,
       * client. */
      ck_assert_int_eq (reply->status, DK_WIRE_STATUS_OK);
      ck_assert_int_le (took, 18);
      ck_assert_uint_eq (th_node_stats (harness, list[0])->failovers, 2);
      ck_assert_int_eq (dk_node_peer_state (dk_sim_cluster_node (harness->cluster, list[0]),
                                            list[1]), DK_WIRE_MEMBER_UP);
      guint hints = 0;
      for (DkNodeId id = 1; id <= 5; id++)
        if (id != list[0] && id != list[1] && id != list[2])
          {
            g_autoptr (GPtrArray) held = th_stored (harness, id, KEY);
            ck_assert_uint_eq (held->len, 1);
            hints += dk_node_hints_held (dk_sim_cluster_node (harness->cluster, id));
          }
      ck_assert_uint_eq (hints, 2);
      /* The coordinator keeps no third hint: the stand-ins have them. */
      th_run_ms (harness, 300);
      ck_assert_uint_eq (dk_node_hints_held (dk_sim_cluster_node (harness->cluster, list[0])), 0);

      ck_assert (dk_sim_cluster_restart (harness->cluster, list[1], NULL));
      ck_assert (dk_sim_cluster_restart (harness->cluster, list[2], NULL));
      th_run_ms (harness, 5000);
      for (guint i = 1; i < 3; i++)
        {
          g_autoptr (GPtrArray) held = th_stored (harness, list[i], KEY);
          ck_assert_uint_eq (held->len, 1);
        }
      th_free (harness);
    }
}
END_TEST

/* The deadline follows the latency observed: over 10 ms links a healthy
 * cluster never fails over, and a crashed replica's stand-in is asked only
 * after two round trips' worth (20 ms each) of silence: the first makes it
 * slow (asked once more), the second marks it. */
START_TEST (failover_deadline_follows_observed_latency)
{
  ThHarness *harness = harness_new (TRUE);
  const char *KEY = test_key (harness);
  DkDist slow = { .kind = DK_DIST_CONST, .a_us = 10000 };
  dk_sim_cluster_set_latency (harness->cluster, &slow);
  DkNodeId list[3];
  th_preference (harness, KEY, list);
  warm_up (harness, list[0]);
  dk_sim_cluster_crash (harness->cluster, list[1]);
  dk_sim_cluster_crash (harness->cluster, list[2]);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, KEY, "orange", NULL, 2);
  gint64 took = ms_until_reply (harness, 1, 300);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  /* client 10 + two deadlines >= 20 each + stand-in 20 + client 10 */
  ck_assert_int_ge (took, 80);
  ck_assert_int_le (took, 100);
  th_free (harness);
}
END_TEST

/* A strict quorum uses no stand-in, but a replica whose READ was lost is
 * asked once more after its deadline: the get (R=3) is answered within a
 * few milliseconds instead of timing out. */
START_TEST (failover_strict_quorum_asks_a_silent_replica_once_more)
{
  ThHarness *harness = harness_new (FALSE);
  const char *KEY = test_key (harness);
  DkNodeId list[3];
  th_preference (harness, KEY, list);
  warm_up (harness, list[0]);
  dk_sim_cluster_drop (harness->cluster, list[0], list[1]);
  th_send_request (harness, list[0], DK_WIRE_GET, 1, KEY, NULL, NULL, 3);
  th_run_ms (harness, 3);   /* the READ to list[1] is gone */
  dk_sim_cluster_heal (harness->cluster);
  gint64 took = ms_until_reply (harness, 1, 300);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_int_le (took, 10);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->failover_resends, 1);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->failovers, 0);
  th_free (harness);
}
END_TEST

/* A replica silent twice is marked unreachable: the next request skips it
 * at once (a stand-in from the start, no failover needed); the late
 * replies that finally come clear the mark, and it is used again. */
START_TEST (failover_silent_peer_is_marked_skipped_and_cleared)
{
  ThHarness *harness = harness_new (TRUE);
  const char *KEY = test_key (harness);
  DkNodeId list[3];
  th_preference (harness, KEY, list);
  warm_up (harness, list[0]);
  DkNode *coordinator = dk_sim_cluster_node (harness->cluster, list[0]);
  const DkNodeStats *stats = th_node_stats (harness, list[0]);

  /* list[1] answers only after 40 ms each way. */
  DkLinkModel slow = { .latency = { .kind = DK_DIST_CONST, .a_us = 40000 } };
  DkLinkModel normal = { .latency = { .kind = DK_DIST_CONST, .a_us = 1000 } };
  dk_sim_cluster_set_link (harness->cluster, list[0], list[1], &slow);
  th_send_request (harness, list[0], DK_WIRE_GET, 1, KEY, NULL, NULL, 2);
  th_send_request (harness, list[0], DK_WIRE_GET, 2, KEY, NULL, NULL, 2);
  th_run_ms (harness, 15);
  /* Answered by list[0] and list[2]; list[1] silent past its deadline twice. */
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_uint_eq (stats->peers_marked_unreachable, 1);
  ck_assert_uint_eq (stats->failovers, 0);   /* the quorum never needed one */

  /* Marked: a put with W=3 uses a stand-in from the start and is answered
   * in one round trip. */
  guint64 sloppy_before = stats->sloppy_requests;
  th_send_request (harness, list[0], DK_WIRE_PUT, 3, KEY, "orange", NULL, 3);
  gint64 took = ms_until_reply (harness, 3, 100);
  ck_assert_int_eq (th_reply_to (harness, 3)->status, DK_WIRE_STATUS_OK);
  ck_assert_int_le (took, 5);
  ck_assert_uint_eq (stats->sloppy_requests, sloppy_before + 1);
  ck_assert_uint_eq (stats->failovers, 0);
  ck_assert_uint_eq (dk_node_peer_state (coordinator, list[1]), DK_WIRE_MEMBER_UP);

  /* The late replies arrive (80 ms after the gets): the mark goes, and a
   * put with W=3 goes to list[1] again, no stand-in. */
  th_run_ms (harness, 80);
  dk_sim_cluster_set_link (harness->cluster, list[0], list[1], &normal);
  th_send_request (harness, list[0], DK_WIRE_PUT, 4, KEY, "plum", th_reply_to (harness, 3)->context, 3);
  ck_assert_int_ge (ms_until_reply (harness, 4, 100), 0);
  ck_assert_int_eq (th_reply_to (harness, 4)->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (stats->sloppy_requests, sloppy_before + 1);
  ck_assert_uint_eq (stats->peers_marked_unreachable, 1);
  g_autoptr (GPtrArray) held = th_stored (harness, list[1], KEY);
  ck_assert_uint_eq (held->len, 1);
  th_free (harness);
}
END_TEST

/* One silence is one strike, however many requests wait through it:
 * list[1] answers after 8 ms (past the 5 ms deadline, within two), and
 * three gets in flight pass its deadline together.  It is asked once
 * more by each, never marked, and used by the next put; a peer silent
 * for two deadlines is still marked (the test above). */
START_TEST (failover_requests_in_one_silence_count_one_strike)
{
  ThHarness *harness = harness_new (TRUE);
  const char *KEY = test_key (harness);
  DkNodeId list[3];
  th_preference (harness, KEY, list);
  warm_up (harness, list[0]);
  const DkNodeStats *stats = th_node_stats (harness, list[0]);
  DkLinkModel slow = { .latency = { .kind = DK_DIST_CONST, .a_us = 4000 } };
  dk_sim_cluster_set_link (harness->cluster, list[0], list[1], &slow);
  for (guint64 id = 1; id <= 3; id++)
    th_send_request (harness, list[0], DK_WIRE_GET, id, KEY, NULL, NULL, 2);
  th_run_ms (harness, 20);
  for (guint64 id = 1; id <= 3; id++)
    ck_assert_int_eq (th_reply_to (harness, id)->status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_uint_eq (stats->failover_resends, 3);
  ck_assert_uint_eq (stats->peers_marked_unreachable, 0);
  guint64 sloppy_before = stats->sloppy_requests;
  th_send_request (harness, list[0], DK_WIRE_PUT, 4, KEY, "orange", NULL, 3);
  ck_assert_int_ge (ms_until_reply (harness, 4, 100), 0);
  ck_assert_int_eq (th_reply_to (harness, 4)->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (stats->sloppy_requests, sloppy_before);
  th_free (harness);
}
END_TEST

/* A proxy whose coordinator crashed forwards to the next replica after a
 * few deadlines, long before the request times out. */
START_TEST (failover_proxy_retries_the_next_coordinator)
{
  ThHarness *harness = harness_new (TRUE);
  const char *KEY = test_key (harness);
  DkNodeId list[3];
  th_preference (harness, KEY, list);
  DkNodeId proxy = th_outsider (harness, KEY);
  warm_up (harness, proxy);
  th_send_request (harness, proxy, DK_WIRE_PUT, 1, KEY, "orange", NULL, 0);
  ck_assert_int_ge (ms_until_reply (harness, 1, 100), 0);
  ck_assert_uint_eq (th_node_stats (harness, proxy)->requests_forwarded, 1);

  dk_sim_cluster_crash (harness->cluster, list[0]);
  th_send_request (harness, proxy, DK_WIRE_GET, 2, KEY, NULL, NULL, 0);
  gint64 took = ms_until_reply (harness, 2, 300);
  DkWireClientReply *reply = th_reply_to (harness, 2);
  ck_assert_int_eq (reply->status, DK_WIRE_STATUS_OK);
  ck_assert (th_holds_value (reply, "orange"));
  ck_assert_int_le (took, 40);
  ck_assert_uint_eq (th_node_stats (harness, proxy)->failovers, 1);
  th_free (harness);
}
END_TEST

/* A proxy's write whose answer was lost goes to the same coordinator
 * once more, not to another one: the coordinator answers it from memory
 * (node_dedup.c), so it is applied once, under one dot.  An anonymous
 * write (client id 0, remembered only by the proxy) is never sent twice:
 * it waits for its timeout, as before failover. */
START_TEST (failover_proxy_write_is_asked_again_not_applied_twice)
{
  for (int anonymous = 0; anonymous <= 1; anonymous++)
    {
      ThHarness *harness = harness_new (TRUE);
      if (anonymous)
        harness->client_id = 0;
      const char *KEY = test_key (harness);
      DkNodeId list[3];
      th_preference (harness, KEY, list);
      DkNodeId proxy = th_outsider (harness, KEY);
      warm_up (harness, proxy);
      guint64 coordinated = th_cluster_stats (harness).requests_coordinated;
      dk_sim_cluster_drop (harness->cluster, list[0], proxy);   /* the answer is lost */
      th_send_request (harness, proxy, DK_WIRE_PUT, 1, KEY, "orange", NULL, 0);
      th_run_ms (harness, 10);
      dk_sim_cluster_heal (harness->cluster);
      ck_assert_int_ge (ms_until_reply (harness, 1, 400), 0);
      ck_assert_int_eq (th_reply_to (harness, 1)->status,
                        anonymous ? DK_WIRE_STATUS_TIMEOUT : DK_WIRE_STATUS_OK);
      ck_assert_uint_eq (th_node_stats (harness, proxy)->failover_resends, anonymous ? 0 : 1);
      ck_assert_uint_eq (th_node_stats (harness, proxy)->failovers, 0);
      th_run_ms (harness, 300);
      ck_assert_uint_eq (th_cluster_stats (harness).requests_coordinated, coordinated + 1);
      for (guint i = 0; i < 3; i++)
        {
          g_autoptr (GPtrArray) held = th_stored (harness, list[i], KEY);
          ck_assert_uint_eq (held->len, 1);
        }
      th_free (harness);
    }
}
END_TEST

/* Every replica of the key is cut off from the proxy (a minority
 * partition seen from the other side): the proxy tries them in turn, then
 * coordinates itself with stand-ins, and the put succeeds. */
START_TEST (failover_proxy_coordinates_when_every_replica_is_silent)
{
  ThHarness *harness = harness_new (TRUE);
  const char *KEY = test_key (harness);
  DkNodeId list[3];
  th_preference (harness, KEY, list);
  DkNodeId proxy = th_outsider (harness, KEY);
  warm_up (harness, proxy);
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  GArray *replicas = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  g_array_append_vals (replicas, list, 3);
  g_ptr_array_add (groups, replicas);
  dk_sim_cluster_partition (harness->cluster, groups);

  th_send_request (harness, proxy, DK_WIRE_PUT, 1, KEY, "orange", NULL, 0);
  gint64 took = ms_until_reply (harness, 1, 300);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  ck_assert_int_lt (took, 200);   /* the request timeout */
  ck_assert_uint_ge (th_node_stats (harness, proxy)->failovers, 1);
  ck_assert_uint_eq (th_node_stats (harness, proxy)->requests_coordinated, 41);
  /* Silent again: the replicas are marked here ... */
  th_send_request (harness, proxy, DK_WIRE_GET, 2, KEY, NULL, NULL, 0);
  ck_assert_int_ge (ms_until_reply (harness, 2, 300), 0);
  ck_assert (th_holds_value (th_reply_to (harness, 2), "orange"));
  ck_assert_uint_ge (th_node_stats (harness, proxy)->peers_marked_unreachable, 1);
  /* ... and the next request is coordinated at once, without forwarding. */
  guint64 forwarded = th_node_stats (harness, proxy)->requests_forwarded;
  th_send_request (harness, proxy, DK_WIRE_GET, 3, KEY, NULL, NULL, 0);
  ck_assert_int_le (ms_until_reply (harness, 3, 300), 5);
  ck_assert (th_holds_value (th_reply_to (harness, 3), "orange"));
  ck_assert_uint_eq (th_node_stats (harness, proxy)->requests_forwarded, forwarded);
  th_free (harness);
}
END_TEST

/* A harness whose gets ask R replicas (dynkvd's way), or all N, with no
 * gossip (every peer counts as up, so every datagram a replica receives
 * is one a request sent it), and "orange" put on all three replicas of
 * *KEY (LIST). */
static ThHarness *
read_harness_new (gboolean read_all, gboolean sloppy, const char **key, DkNodeId list[3])
{
  DkSimClusterConfig config;
  th_config_init (&config, 9);
  config.node.read_all_replicas = read_all;
  config.node.sloppy_quorum = config.node.hinted_handoff = sloppy;
  config.node.gossip_interval_us = 0;
  config.node.anti_entropy_interval_us = 0;
  ThHarness *harness = th_new (&config);
  harness->client_id = CLIENT_ID;
  *key = test_key (harness);
  th_preference (harness, *key, list);
  warm_up (harness, list[0]);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, *key, "orange", NULL, 3);
  ck_assert_int_ge (ms_until_reply (harness, 1, 100), 0);
  th_run_ms (harness, 10);
  return harness;
}

/* Get KEY through list[0] with quorum R as request ID: it answers
 * "orange" within 5 ms; returns how many datagrams list[1] and list[2]
 * received meanwhile. */
static guint64
datagrams_for_get (ThHarness *harness, const char *key, const DkNodeId list[3], guint64 id,
                   guint8 r)
{
  guint64 before = th_node_stats (harness, list[1])->datagrams_received
                   + th_node_stats (harness, list[2])->datagrams_received;
  th_send_request (harness, list[0], DK_WIRE_GET, id, key, NULL, NULL, r);
  ck_assert_int_le (ms_until_reply (harness, id, 100), 5);
  ck_assert (th_holds_value (th_reply_to (harness, id), "orange"));
  return th_node_stats (harness, list[1])->datagrams_received
         + th_node_stats (harness, list[2])->datagrams_received - before;
}

/* A get (R=2) coordinated by a replica asks one other replica, not two,
 * when it reads from R, answers in one round trip and is finished then
 * (nothing waits for the third).  R=3 asks both.  Reading from all N asks
 * both every time. */
START_TEST (failover_get_reading_from_r_asks_r_replicas)
{
  for (int read_all = 0; read_all <= 1; read_all++)
    {
      const char *key;
      DkNodeId list[3];
      ThHarness *harness = read_harness_new (read_all, TRUE, &key, list);
      DkNode *coordinator = dk_sim_cluster_node (harness->cluster, list[0]);
      ck_assert_uint_eq (dk_node_requests_in_flight (coordinator), 0);
      ck_assert_uint_eq (datagrams_for_get (harness, key, list, 2, 2), read_all ? 2 : 1);
      if (!read_all)
        ck_assert_uint_eq (dk_node_requests_in_flight (coordinator), 0);
      ck_assert_uint_eq (datagrams_for_get (harness, key, list, 3, 3), 2);
      th_run_ms (harness, 10);
      ck_assert_uint_eq (dk_node_requests_in_flight (coordinator), 0);
      ck_assert_uint_eq (th_node_stats (harness, list[0])->failovers, 0);
      th_free (harness);
    }
}
END_TEST

/* Reading from R, the replica asked is crashed: past its deadline the
 * get asks the replica it had not asked (a speculative read, counted as
 * a failover) and is answered long before its timeout, with a strict
 * quorum too (the spare is an intended replica, no stand-in). */
START_TEST (failover_get_reading_from_r_asks_a_spare_past_the_deadline)
{
  for (int sloppy = 0; sloppy <= 1; sloppy++)
    {
      const char *key;
      DkNodeId list[3];
      ThHarness *harness = read_harness_new (FALSE, sloppy, &key, list);
      /* The replica a get asks first (the next on the list) is down. */
      dk_sim_cluster_crash (harness->cluster, list[1]);
      th_send_request (harness, list[0], DK_WIRE_GET, 2, key, NULL, NULL, 2);
      gint64 took = ms_until_reply (harness, 2, 300);
      DkWireClientReply *reply = th_reply_to (harness, 2);
      ck_assert_ptr_nonnull (reply);
      ck_assert_int_eq (reply->status, DK_WIRE_STATUS_OK);
      ck_assert (th_holds_value (reply, "orange"));
      /* client 1, deadline (5 ms floor), spare's round trip 2, client 1:
       * well within the 200 ms timeout */
      ck_assert_int_ge (took, 8);
      ck_assert_int_le (took, 10);
      ck_assert_uint_eq (th_node_stats (harness, list[0])->failovers, 1);
      ck_assert_uint_eq (th_node_stats (harness, list[0])->failover_resends, 1);
      th_free (harness);
    }
}
END_TEST

Suite *
failover_suite (void)
{
  Suite *suite = suite_create ("failover");
  TCase *tc = tcase_create ("failover");
  dk_tcase_no_wall_limit (tc);
  tcase_add_test (tc, failover_put_reaches_stand_ins_within_the_deadline);
  tcase_add_test (tc, failover_deadline_follows_observed_latency);
  tcase_add_test (tc, failover_strict_quorum_asks_a_silent_replica_once_more);
  tcase_add_test (tc, failover_silent_peer_is_marked_skipped_and_cleared);
  tcase_add_test (tc, failover_requests_in_one_silence_count_one_strike);
  tcase_add_test (tc, failover_proxy_retries_the_next_coordinator);
  tcase_add_test (tc, failover_proxy_write_is_asked_again_not_applied_twice);
  tcase_add_test (tc, failover_proxy_coordinates_when_every_replica_is_silent);
  tcase_add_test (tc, failover_get_reading_from_r_asks_r_replicas);
  tcase_add_test (tc, failover_get_reading_from_r_asks_a_spare_past_the_deadline);
  suite_add_tcase (suite, tc);
  return suite;
}
