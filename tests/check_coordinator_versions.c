/* check_coordinator_versions.c — how a coordinator issues versions:
 * contexts from clients are validated, concurrent read-modify-writes
 * through one coordinator become siblings, a key this node purged is
 * written under a new actor, and a write that fails after its version was
 * issued still names it, and a set sent in parts is stored whole.  Driven
 * through the simulated cluster; white-box
 * where a purge must be staged (node_private.h). */
#include <string.h>
#include "suites.h"
#include "node_private.h"
#include "sim_harness.h"

/* th_config_init's cluster with VERSIONING, and sloppy quorums with hinted
 * handoff or neither; requests come from client id 1. */
static ThHarness *
bench_new (guint64 seed, DkVersioning versioning, gboolean sloppy)
{
  DkSimClusterConfig config;
  th_config_init (&config, seed);
  config.node.versioning = versioning;
  config.node.sloppy_quorum = sloppy;
  config.node.hinted_handoff = sloppy;
  ThHarness *bench = th_new (&config);
  bench->client_id = 1;
  return bench;
}

static DkNodeId
first_replica (ThHarness *bench, const char *key)
{
  DkNodeId list[3];
  th_preference (bench, key, list);
  return list[0];
}

/* Send a client request and return its reply once the cluster has had
 * 300 ms of virtual time to answer (NULL when none came). */
static const DkWireClientReply *
ask (ThHarness *bench, DkNodeId to, DkWireType type, guint64 id, const char *key, const char *value,
     const DkVclock *context)
{
  th_send_request (bench, to, type, id, key, value, context, 0);
  th_run_ms (bench, 300);
  return th_reply_to (bench, id);
}

/* A context claiming a counter of the coordinator's own actor that it
 * never issued would cover its future dots: refused, nothing written. */
START_TEST (coordinator_refuses_a_context_claiming_counters_it_never_issued)
{
  ThHarness *bench = bench_new (1, DK_VERSIONING_DVV, FALSE);
  DkNodeId coordinator = first_replica (bench, "account");
  DkNode *node = dk_sim_cluster_node (bench->cluster, coordinator);
  g_autoptr (DkVclock) forged = dk_vclock_new ();
  dk_vclock_raise (forged, dk_node_actor (node), 1000000, 0);
  const DkWireClientReply *reply = ask (bench, coordinator, DK_WIRE_PUT, 1, "account", "100", forged);
  ck_assert_ptr_nonnull (reply);
  ck_assert_int_eq (reply->status, DK_WIRE_STATUS_INVALID);
  ck_assert_msg (strstr (reply->reason, "never issued") != NULL, "reason: %s", reply->reason);
  ck_assert_uint_eq (dk_node_stats (node)->contexts_refused, 1);
  ck_assert_int_eq (ask (bench, coordinator, DK_WIRE_GET, 2, "account", NULL, NULL)->status,
                    DK_WIRE_STATUS_NOT_FOUND);
  th_free (bench);
}
END_TEST

/* Counters past 2^62 (once: a counter of 2^64-1 left the put acknowledged
 * with no new version) and actors that name no node are refused too. */
START_TEST (coordinator_refuses_out_of_range_context_entries)
{
  ThHarness *bench = bench_new (2, DK_VERSIONING_DVV, FALSE);
  DkNodeId coordinator = first_replica (bench, "k");
  g_autoptr (DkVclock) huge = dk_vclock_new ();
  dk_vclock_raise (huge, dk_actor_make (3, 7), G_MAXUINT64, 0);
  ck_assert_int_eq (ask (bench, coordinator, DK_WIRE_PUT, 1, "k", "v", huge)->status,
                    DK_WIRE_STATUS_INVALID);
  g_autoptr (DkVclock) nobody = dk_vclock_new ();
  dk_vclock_raise (nobody, dk_actor_make (0, 7), 1, 0);
  ck_assert_int_eq (ask (bench, coordinator, DK_WIRE_DELETE, 2, "k", NULL, nobody)->status,
                    DK_WIRE_STATUS_INVALID);
  g_autoptr (DkVclock) fine = dk_vclock_new ();
  dk_vclock_raise (fine, dk_actor_make (3, 7), 5, 0);
  const DkWireClientReply *ok = ask (bench, coordinator, DK_WIRE_PUT, 3, "k", "v", fine);
  ck_assert_int_eq (ok->status, DK_WIRE_STATUS_OK);
  /* The OK names the version stored: its dot is new, its context the one sent. */
  ck_assert_uint_eq (ok->siblings->len, 1);
  const DkVersion *written = g_ptr_array_index (ok->siblings, 0);
  ck_assert (dk_vclock_equal (written->context, fine));
  ck_assert (!dk_dot_covered (written->dot, fine));
  th_free (bench);
}
END_TEST

/* Two clients read the same state and write back through the same
 * coordinator: with dotted version vectors both writes survive as
 * siblings; with server-side vector clocks the second silently replaces
 * the first (the anomaly versioning=vv exists to show). */
static guint
concurrent_updates_surviving (DkVersioning versioning)
{
  ThHarness *bench = bench_new (3, versioning, FALSE);
  DkNodeId coordinator = first_replica (bench, "cart");
  ck_assert_int_eq (ask (bench, coordinator, DK_WIRE_PUT, 1, "cart", "milk", NULL)->status,
                    DK_WIRE_STATUS_OK);
  const DkWireClientReply *read = ask (bench, coordinator, DK_WIRE_GET, 2, "cart", NULL, NULL);
  g_autoptr (DkVclock) context = dk_vclock_copy (read->context);
  ck_assert_int_eq (ask (bench, coordinator, DK_WIRE_PUT, 3, "cart", "milk+eggs", context)->status,
                    DK_WIRE_STATUS_OK);
  ck_assert_int_eq (ask (bench, coordinator, DK_WIRE_PUT, 4, "cart", "milk+jam", context)->status,
                    DK_WIRE_STATUS_OK);
  const DkWireClientReply *after = ask (bench, coordinator, DK_WIRE_GET, 5, "cart", NULL, NULL);
  ck_assert (!th_holds_value (after, "milk"));
  guint surviving = th_holds_value (after, "milk+eggs") + th_holds_value (after, "milk+jam");
  th_free (bench);
  return surviving;
}

START_TEST (concurrent_updates_through_one_coordinator_become_siblings)
{
  ck_assert_uint_eq (concurrent_updates_surviving (DK_VERSIONING_DVV), 2);
  ck_assert_uint_eq (concurrent_updates_surviving (DK_VERSIONING_VV), 1);
}
END_TEST

/* After this node purged its copy of a key (handed to new owners), the
 * next write of the key is issued under a new actor, so no reader can
 * take the new dot as proof of having seen this node's earlier dots for
 * the key; other keys keep the actor.  The purge is remembered across a
 * restart. */
START_TEST (purged_key_is_written_under_a_new_actor)
{
  ThHarness *bench = bench_new (4, DK_VERSIONING_DVV, FALSE);
  DkNodeId coordinator = first_replica (bench, "basket");
  DkNode *node = dk_sim_cluster_node (bench->cluster, coordinator);
  const DkWireClientReply *first = ask (bench, coordinator, DK_WIRE_PUT, 1, "basket", "a", NULL);
  DkDot before = ((const DkVersion *) g_ptr_array_index (first->siblings, 0))->dot;
  ck_assert_uint_eq (before.actor, dk_node_actor (node));

  g_autoptr (GBytes) key = g_bytes_new_static ("basket", 6);
  node_note_purged (node, key);
  const DkWireClientReply *second = ask (bench, coordinator, DK_WIRE_PUT, 2, "basket", "b", NULL);
  DkDot after = ((const DkVersion *) g_ptr_array_index (second->siblings, 0))->dot;
  ck_assert_uint_ne (after.actor, before.actor);
  ck_assert_uint_eq (dk_actor_node (after.actor), coordinator);
  ck_assert_uint_eq (dk_node_stats (node)->actor_epochs, 1);

  /* The new epoch cleared the memory: the next write keeps the actor. */
  const DkWireClientReply *third = ask (bench, coordinator, DK_WIRE_PUT, 3, "basket", "c", NULL);
  ck_assert_uint_eq (((const DkVersion *) g_ptr_array_index (third->siblings, 0))->dot.actor,
                     after.actor);

  /* A purge, then a crash before any write: the restarted node cannot
   * know which keys went, so it starts a new epoch at once. */
  node_note_purged (node, key);
  dk_sim_cluster_crash (bench->cluster, coordinator);
  g_autoptr (GError) error = NULL;
  ck_assert_msg (dk_sim_cluster_restart (bench->cluster, coordinator, &error), "%s",
                 error ? error->message : "?");
  node = dk_sim_cluster_node (bench->cluster, coordinator);
  ck_assert_uint_ne (dk_node_actor (node), after.actor);
  ck_assert_uint_eq (dk_actor_node (dk_node_actor (node)), coordinator);
  th_free (bench);
}
END_TEST

/* A write that times out after its version was issued names that version
 * in the failure, so a client or a checker can recognise it later. */
START_TEST (a_failed_write_names_the_version_it_issued)
{
  ThHarness *bench = bench_new (5, DK_VERSIONING_DVV, FALSE);
  DkNodeId list[3];
  th_preference (bench, "k", list);
  dk_sim_cluster_crash (bench->cluster, list[1]);
  dk_sim_cluster_crash (bench->cluster, list[2]);
  const DkWireClientReply *reply = ask (bench, list[0], DK_WIRE_PUT, 1, "k", "v", NULL);
  ck_assert_ptr_nonnull (reply);
  ck_assert_int_ne (reply->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (reply->siblings->len, 1);
  const DkVersion *issued = g_ptr_array_index (reply->siblings, 0);
  ck_assert_uint_eq (dk_actor_node (issued->dot.actor), list[0]);
  th_free (bench);
}
END_TEST

/* A WRITE of one part of a two-part set from node FROM to node TO. */
static void
deliver_part (ThHarness *bench, DkNodeId from, DkNodeId to, const GPtrArray *whole, guint index)
{
  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->request_id = 77;
  write->sender = from;   /* a member speaks as itself (node.h) */
  write->body.write.key = g_bytes_new ("big", 3);
  write->body.write.part = (DkWirePart) { index, 1, dk_siblings_digest (whole) };
  for (guint i = index; i < whole->len; i += 2)
    g_ptr_array_add (write->body.write.siblings,
                     dk_version_copy (g_ptr_array_index ((GPtrArray *) whole, i)));
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (write, &error);
  g_assert_no_error (error);
  dk_node_receive (dk_sim_cluster_node (bench->cluster, to), from, datagram->data,
                   datagram->len);
}

/* A set sent in parts is stored whole or not at all: a replica that held
 * one part could hand out a context covering the other part's versions,
 * which nobody had seen. */
START_TEST (a_set_in_parts_is_stored_only_when_every_part_arrived)
{
  ThHarness *bench = bench_new (6, DK_VERSIONING_DVV, FALSE);
  g_autoptr (GPtrArray) whole = dk_siblings_new ();
  for (guint64 counter = 1; counter <= 4; counter++)
    dk_siblings_add (whole, dk_version_new ((DkDot) { dk_actor_make (2, 9), counter, 0 }, NULL,
                                            NULL, FALSE), NULL);
  ck_assert_uint_eq (whole->len, 4);
  GBytes *key = g_bytes_new_static ("big", 3);
  deliver_part (bench, 2, 3, whole, 1);
  g_autoptr (GPtrArray) after_one = dk_store_get (dk_sim_cluster_store (bench->cluster, 3), key, NULL);
  ck_assert_uint_eq (after_one->len, 0);
  deliver_part (bench, 2, 3, whole, 1);   /* a duplicate changes nothing */
  deliver_part (bench, 2, 3, whole, 0);
  g_autoptr (GPtrArray) after_both = dk_store_get (dk_sim_cluster_store (bench->cluster, 3), key, NULL);
  ck_assert (dk_siblings_equal (after_both, whole));
  g_bytes_unref (key);
  th_free (bench);
}
END_TEST

Suite *
coordinator_versions_suite (void)
{
  Suite *suite = suite_create ("coordinator_versions");
  TCase *tc = tcase_create ("issuing");
  dk_tcase_no_wall_limit (tc);
  tcase_add_test (tc, coordinator_refuses_a_context_claiming_counters_it_never_issued);
  tcase_add_test (tc, coordinator_refuses_out_of_range_context_entries);
  tcase_add_test (tc, concurrent_updates_through_one_coordinator_become_siblings);
  tcase_add_test (tc, purged_key_is_written_under_a_new_actor);
  tcase_add_test (tc, a_failed_write_names_the_version_it_issued);
  tcase_add_test (tc, a_set_in_parts_is_stored_only_when_every_part_arrived);
  suite_add_tcase (suite, tc);
  return suite;
}
