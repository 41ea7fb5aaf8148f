/* check_node.c — the node's quorum protocol, driven through the simulated
 * cluster: replies, versions and siblings, timeouts, read repair,
 * forwarding, and datagrams that are malformed, unauthenticated, lost,
 * duplicated or reordered. */
#include <string.h>
#include "suites.h"
#include "sim_harness.h"

START_TEST (node_put_then_get_returns_the_value_and_a_context_that_covers_it)
{
  ThHarness *harness = th_new_for_seed (1);
  DkNodeId list[3];
  th_preference (harness, "apple", list);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, "apple", "red", NULL, 0);
  th_run_ms (harness, 100);
  DkWireClientReply *put = th_reply_to (harness, 1);
  ck_assert_ptr_nonnull (put);
  ck_assert_int_eq (put->status, DK_WIRE_STATUS_OK);
  ck_assert_ptr_nonnull (put->context);

  th_send_request (harness, list[1], DK_WIRE_GET, 2, "apple", NULL, NULL, 0);
  th_run_ms (harness, 100);
  DkWireClientReply *get = th_reply_to (harness, 2);
  ck_assert_ptr_nonnull (get);
  ck_assert_int_eq (get->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (th_count_live_values (get), 1);
  ck_assert (th_holds_value (get, "red"));
  ck_assert (dk_vclock_descends (get->context, put->context));

  th_send_request (harness, list[0], DK_WIRE_GET, 3, "missing", NULL, NULL, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 3)->status, DK_WIRE_STATUS_NOT_FOUND);
  th_free (harness);
}
END_TEST

/* Two blind puts through different coordinators are concurrent: a read
 * returns both; a put carrying that read's context resolves them; a
 * delete with the next context leaves only a tombstone. */
START_TEST (node_concurrent_puts_become_siblings_and_a_context_resolves_them)
{
  ThHarness *harness = th_new_for_seed (2);
  DkNodeId list[3];
  th_preference (harness, "cart", list);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, "cart", "milk", NULL, 0);
  th_send_request (harness, list[1], DK_WIRE_PUT, 2, "cart", "eggs", NULL, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);

  th_send_request (harness, list[2], DK_WIRE_GET, 3, "cart", NULL, NULL, 3);
  th_run_ms (harness, 100);
  DkWireClientReply *both = th_reply_to (harness, 3);
  ck_assert_uint_eq (th_count_live_values (both), 2);
  ck_assert (th_holds_value (both, "milk") && th_holds_value (both, "eggs"));

  th_send_request (harness, list[2], DK_WIRE_PUT, 4, "cart", "milk+eggs", both->context, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 4)->status, DK_WIRE_STATUS_OK);
  th_send_request (harness, list[0], DK_WIRE_GET, 5, "cart", NULL, NULL, 3);
  th_run_ms (harness, 100);
  DkWireClientReply *merged = th_reply_to (harness, 5);
  ck_assert_uint_eq (th_count_live_values (merged), 1);
  ck_assert (th_holds_value (merged, "milk+eggs"));

  th_send_request (harness, list[1], DK_WIRE_DELETE, 6, "cart", NULL, merged->context, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 6)->status, DK_WIRE_STATUS_OK);
  th_send_request (harness, list[0], DK_WIRE_GET, 7, "cart", NULL, NULL, 3);
  th_run_ms (harness, 100);
  DkWireClientReply *gone = th_reply_to (harness, 7);
  ck_assert_int_eq (gone->status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_uint_eq (gone->siblings->len, 1);  /* the tombstone, for the context */
  th_free (harness);
}
END_TEST

/* Two clients read the same state and both write through one
 * coordinator.  Under dvv (the default) each write gets its own dot and
 * the read's context, so both survive as siblings; under vv the second
 * write's context is raised to the coordinator's own latest counter and
 * silently replaces the first (the lost update vv is kept to show). */
START_TEST (node_read_modify_writes_through_one_coordinator_are_siblings_under_dvv_only)
{
  DkVersioning rules[] = { DK_VERSIONING_DVV, DK_VERSIONING_VV };
  for (gsize k = 0; k < G_N_ELEMENTS (rules); k++)
    {
      DkSimClusterConfig config;
      th_config_init (&config, 12 + k);
      config.node.versioning = rules[k];
      ThHarness *harness = th_new (&config);
      DkNodeId list[3];
      th_preference (harness, "counter", list);
      th_send_request (harness, list[0], DK_WIRE_PUT, 1, "counter", "0", NULL, 3);
      th_run_ms (harness, 100);
      ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
      th_send_request (harness, list[0], DK_WIRE_GET, 2, "counter", NULL, NULL, 3);
      th_run_ms (harness, 100);
      DkWireClientReply *read = th_reply_to (harness, 2);
      ck_assert (th_holds_value (read, "0") && th_count_live_values (read) == 1);

      th_send_request (harness, list[0], DK_WIRE_PUT, 3, "counter", "1 from A", read->context, 3);
      th_run_ms (harness, 100);
      th_send_request (harness, list[0], DK_WIRE_PUT, 4, "counter", "1 from B", read->context, 3);
      th_run_ms (harness, 100);
      ck_assert_int_eq (th_reply_to (harness, 3)->status, DK_WIRE_STATUS_OK);
      ck_assert_int_eq (th_reply_to (harness, 4)->status, DK_WIRE_STATUS_OK);

      th_send_request (harness, list[1], DK_WIRE_GET, 5, "counter", NULL, NULL, 3);
      th_run_ms (harness, 100);
      DkWireClientReply *after = th_reply_to (harness, 5);
      ck_assert (!th_holds_value (after, "0"));
      ck_assert (th_holds_value (after, "1 from B"));
      if (rules[k] == DK_VERSIONING_DVV)
        ck_assert (th_count_live_values (after) == 2 && th_holds_value (after, "1 from A"));
      else
        ck_assert_uint_eq (th_count_live_values (after), 1);
      th_free (harness);
    }
}
END_TEST

/* With two of three replicas down a W=2 put cannot succeed under a
 * strict quorum (a sloppy one finds stand-ins: tests/check_failover.c):
 * the coordinator answers TIMEOUT after request_timeout, naming the
 * count. */
START_TEST (node_answers_timeout_naming_how_many_replicas_answered)
{
  DkSimClusterConfig config;
  th_config_init (&config, 3);
  config.node.sloppy_quorum = config.node.hinted_handoff = FALSE;
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "pear", list);
  dk_sim_cluster_crash (harness->cluster, list[1]);
  dk_sim_cluster_crash (harness->cluster, list[2]);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, "pear", "green", NULL, 0);
  th_run_ms (harness, 150);
  ck_assert_ptr_null (th_reply_to (harness, 1));   /* still waiting */
  th_run_ms (harness, 100);
  DkWireClientReply *reply = th_reply_to (harness, 1);
  ck_assert_ptr_nonnull (reply);
  ck_assert_int_eq (reply->status, DK_WIRE_STATUS_TIMEOUT);
  ck_assert_msg (strstr (reply->reason, "1 of 3") != NULL, "reason: %s", reply->reason);
  /* W=1 succeeds on the coordinator's own copy. */
  th_send_request (harness, list[0], DK_WIRE_PUT, 2, "pear", "green", NULL, 1);
  th_run_ms (harness, 50);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (dk_node_requests_in_flight (dk_sim_cluster_node (harness->cluster, list[0])), 1);
  th_run_ms (harness, 300);
  ck_assert_uint_eq (dk_node_requests_in_flight (dk_sim_cluster_node (harness->cluster, list[0])), 0);
  th_free (harness);
}
END_TEST

/* A replica that missed a write gets it from the next read. */
START_TEST (node_read_repair_brings_a_stale_replica_up_to_date)
{
  ThHarness *harness = th_new_for_seed (4);
  DkNodeId list[3];
  th_preference (harness, "plum", list);
  dk_sim_cluster_crash (harness->cluster, list[2]);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, "plum", "purple", NULL, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  ck_assert (dk_sim_cluster_restart (harness->cluster, list[2], NULL));

  g_autoptr (GBytes) key = g_bytes_new_static ("plum", 4);
  g_autoptr (GPtrArray) before = dk_store_get (dk_sim_cluster_store (harness->cluster, list[2]), key, NULL);
  ck_assert_uint_eq (before->len, 0);
  th_send_request (harness, list[0], DK_WIRE_GET, 2, "plum", NULL, NULL, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);
  g_autoptr (GPtrArray) after = dk_store_get (dk_sim_cluster_store (harness->cluster, list[2]), key, NULL);
  ck_assert_uint_eq (after->len, 1);
  DkNodeStats stats;
  dk_sim_cluster_node_stats (harness->cluster, &stats);
  ck_assert_uint_ge (stats.read_repairs_sent, 1);
  th_free (harness);
}
END_TEST

/* A node off the key's preference list proxies to one that is on it. */
START_TEST (node_off_the_preference_list_forwards_and_relays_the_reply)
{
  ThHarness *harness = th_new_for_seed (5);
  DkNodeId outsider = th_outsider (harness, "fig");
  th_send_request (harness, outsider, DK_WIRE_PUT, 1, "fig", "brown", NULL, 0);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  th_send_request (harness, outsider, DK_WIRE_GET, 2, "fig", NULL, NULL, 0);
  th_run_ms (harness, 100);
  ck_assert (th_holds_value (th_reply_to (harness, 2), "brown"));
  ck_assert_uint_eq (th_node_stats (harness, outsider)->requests_forwarded, 2);
  th_free (harness);
}
END_TEST

/* Garbage is counted and dropped; with a cluster key, so is an unsigned
 * request; a signed one is served. */
START_TEST (node_drops_and_counts_malformed_and_unauthenticated_datagrams)
{
  static const guint8 key[] = "classroom-secret";
  DkSimClusterConfig config;
  th_config_init (&config, 6);
  config.node.auth_key = key;
  config.node.auth_key_len = sizeof key - 1;
  ThHarness *harness = th_new (&config);
  GRand *rand = g_rand_new_with_seed (6);
  for (int i = 0; i < 50; i++)
    {
      guint8 junk[64];
      for (gsize j = 0; j < sizeof junk; j++)
        junk[j] = (guint8) g_rand_int (rand);
      dk_sim_cluster_client_send (harness->cluster, 0, 1, junk, 1 + (gsize) g_rand_int_range (rand, 0, 64));
    }
  th_send_request (harness, 1, DK_WIRE_GET, 1, "kiwi", NULL, NULL, 0);   /* unsigned */
  th_run_ms (harness, 100);
  const DkNodeStats *stats = th_node_stats (harness, 1);
  ck_assert_uint_eq (stats->dropped_unauthenticated, 51);
  ck_assert_ptr_null (th_reply_to (harness, 1));

  g_autoptr (DkWireMessage) request = dk_wire_message_new (DK_WIRE_GET);
  request->body.client_request.client_request_id = 2;
  request->body.client_request.key = g_bytes_new_static ("kiwi", 4);
  g_autoptr (GByteArray) datagram = dk_wire_encode (request, NULL);
  dk_wire_sign (datagram, key, sizeof key - 1);
  dk_sim_cluster_client_send (harness->cluster, 0, 1, datagram->data, datagram->len);
  th_run_ms (harness, 100);
  ck_assert_ptr_nonnull (th_reply_to (harness, 2));
  g_rand_free (rand);
  th_free (harness);

  /* Without a key, the same junk is malformed rather than unauthenticated. */
  harness = th_new_for_seed (6);
  guint8 junk[] = { 'D', 'K', 1, 99, 0, 0 };
  dk_sim_cluster_client_send (harness->cluster, 0, 1, junk, sizeof junk);
  th_run_ms (harness, 10);
  ck_assert_uint_eq (th_node_stats (harness, 1)->dropped_malformed, 1);
  th_free (harness);
}
END_TEST

/* A delete leaves a tombstone on every replica; once it outlives the
 * store's grace the nodes purge it, and the key is gone everywhere. */
START_TEST (node_collects_tombstones_after_the_grace)
{
  DkSimClusterConfig config;
  th_config_init (&config, 8);
  config.store.tombstone_grace_us = 1000000;
  config.node.tombstone_collect_interval_us = 250000;
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "old", list);
  th_send_request (harness, list[0], DK_WIRE_PUT, 1, "old", "news", NULL, 3);
  th_run_ms (harness, 50);
  th_send_request (harness, list[0], DK_WIRE_DELETE, 2, "old", NULL,
                   th_reply_to (harness, 1)->context, 3);
  th_run_ms (harness, 50);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);
  g_autoptr (GBytes) key = g_bytes_new_static ("old", 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GPtrArray) held = dk_store_get (dk_sim_cluster_store (harness->cluster, list[i]), key, NULL);
      ck_assert_uint_eq (held->len, 1);   /* the tombstone */
    }
  th_run_ms (harness, 2000);
  DkNodeStats stats;
  dk_sim_cluster_node_stats (harness->cluster, &stats);
  ck_assert_uint_ge (stats.tombstones_collected, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GPtrArray) held = dk_store_get (dk_sim_cluster_store (harness->cluster, list[i]), key, NULL);
      ck_assert_uint_eq (held->len, 0);
    }
  th_free (harness);
}
END_TEST

/* Property, many seeds: with 20% loss, 30% duplication and heavy delay
 * variance, every reply is a clean verdict, no request is left behind,
 * and once the network is clean again every acknowledged put is read
 * back (R=2 meets W=2): at once with a strict quorum (odd seeds); with a
 * sloppy one (even seeds) once the hints of writes that failed over to
 * stand-ins are home (Dynamo §4.6: a sloppy quorum does not promise
 * R + W > N overlap while stand-ins hold the data). */
START_TEST (node_keeps_acknowledged_writes_under_loss_duplication_and_reordering)
{
  int seeds = dk_test_iterations (40);
  for (int seed = 1; seed <= seeds; seed++)
    {
      DkSimClusterConfig config;
      th_config_init (&config, (guint64) seed);
      config.network.latency = (DkDist) { .kind = DK_DIST_EXP, .a_us = 5000 };
      config.network.loss = 0.2;
      config.network.dup = 0.3;
      gboolean sloppy = seed % 2 == 0;
      config.node.sloppy_quorum = config.node.hinted_handoff = sloppy;
      ThHarness *harness = th_new (&config);
      enum { KEYS = 12 };
      for (guint i = 0; i < KEYS; i++)
        {
          char key[16], value[16];
          g_snprintf (key, sizeof key, "k%u", i);
          g_snprintf (value, sizeof value, "v%u-%d", i, seed);
          DkNodeId list[3];
          th_preference (harness, key, list);
          th_send_request (harness, list[i % 3], DK_WIRE_PUT, i + 1, key, value, NULL, 0);
          th_run_ms (harness, 3);
        }
      th_run_ms (harness, 1000);
      for (DkNodeId id = 1; id <= 5; id++)
        ck_assert_uint_eq (dk_node_requests_in_flight (dk_sim_cluster_node (harness->cluster, id)), 0);

      dk_sim_cluster_set_loss (harness->cluster, 0);
      dk_sim_cluster_set_dup (harness->cluster, 0);
      if (sloppy)
        th_run_ms (harness, 3000);   /* a few handoff rounds */
      for (guint i = 0; i < KEYS; i++)
        {
          DkWireClientReply *put = th_reply_to (harness, i + 1);
          if (put == NULL)
            continue;   /* the request or its reply was lost */
          ck_assert_msg (put->status == DK_WIRE_STATUS_OK || put->status == DK_WIRE_STATUS_TIMEOUT,
                         "seed %d: put status %d", seed, put->status);
          if (put->status != DK_WIRE_STATUS_OK)
            continue;
          char key[16], value[16];
          g_snprintf (key, sizeof key, "k%u", i);
          g_snprintf (value, sizeof value, "v%u-%d", i, seed);
          DkNodeId list[3];
          th_preference (harness, key, list);
          th_send_request (harness, list[(i + 1) % 3], DK_WIRE_GET, 100 + i, key, NULL, NULL, 0);
          th_run_ms (harness, 300);
          DkWireClientReply *get = th_reply_to (harness, 100 + i);
          ck_assert_msg (get != NULL && get->status == DK_WIRE_STATUS_OK, "seed %d key %s", seed, key);
          ck_assert_msg (th_holds_value (get, value), "seed %d: acknowledged %s lost", seed, key);
          ck_assert (dk_vclock_descends (get->context, put->context));
        }
      th_free (harness);
    }
}
END_TEST

Suite *
node_suite (void)
{
  Suite *suite = suite_create ("node");
  TCase *tc = tcase_create ("node");
  dk_tcase_no_wall_limit (tc);
  tcase_add_test (tc, node_put_then_get_returns_the_value_and_a_context_that_covers_it);
  tcase_add_test (tc, node_concurrent_puts_become_siblings_and_a_context_resolves_them);
  tcase_add_test (tc, node_read_modify_writes_through_one_coordinator_are_siblings_under_dvv_only);
  tcase_add_test (tc, node_answers_timeout_naming_how_many_replicas_answered);
  tcase_add_test (tc, node_read_repair_brings_a_stale_replica_up_to_date);
  tcase_add_test (tc, node_off_the_preference_list_forwards_and_relays_the_reply);
  tcase_add_test (tc, node_drops_and_counts_malformed_and_unauthenticated_datagrams);
  tcase_add_test (tc, node_collects_tombstones_after_the_grace);
  tcase_add_test (tc, node_keeps_acknowledged_writes_under_loss_duplication_and_reordering);
  suite_add_tcase (suite, tc);
  return suite;
}
