/* check_requests_once.c — requests happen once (issue 8, item 6).
 *
 * A client request is named by (client id, client request id): a retry,
 * a network duplicate or a replay of it is answered with the first answer
 * (the same status, the same written dot), joined to the request while in
 * flight, never coordinated twice; the memory of names is bounded by
 * count and age.  Signed datagrams carry a stamp: outside the replay
 * window, seen before within it, or meant for another node, they are
 * dropped and counted.  The node tests run in the simulated cluster; the
 * replay cache and the stamp are tested as data; one test drives a real
 * node over UDP on a private GMainContext (no wall-clock waits). */
#include <string.h>
#include "suites.h"
#include "sim_harness.h"
#include "net/net_config.h"
#include "net/udp_env.h"
#include "replay.h"

static const guint8 cluster_key[] = "requests-once-cluster-key";
#define CLUSTER_KEY_LEN (sizeof cluster_key - 1)
#define CLIENT_ID G_GUINT64_CONSTANT (0x5eed00000000c11e)

/* ---- a simulated cluster and one client ------------------------------------ */

static void
config_init (DkSimClusterConfig *config, guint64 seed, gboolean keyed)
{
  th_config_init (config, seed);
  if (keyed)
    {
      config->node.auth_key = cluster_key;
      config->node.auth_key_len = CLUSTER_KEY_LEN;
    }
}

/* Requests carry CLIENT_ID; a keyed cluster must sign every reply. */
static ThHarness *
harness_new_with (const DkSimClusterConfig *config)
{
  ThHarness *harness = th_new (config);
  harness->client_id = CLIENT_ID;
  harness->reply_key = config->node.auth_key;
  harness->reply_key_len = config->node.auth_key_len;
  return harness;
}

static ThHarness *
harness_new (guint64 seed, gboolean keyed)
{
  DkSimClusterConfig config;
  config_init (&config, seed, keyed);
  return harness_new_with (&config);
}

/* A client request datagram: HOP is the header id, ID the client request
 * id of client CLIENT_ID; signed for node TO at simulated time when the
 * cluster is keyed (STAMP_US: its timestamp; G_MININT64: now). */
static GByteArray *
request_datagram (ThHarness *harness, DkNodeId to, DkWireType type, guint64 hop, guint64 id,
                  const char *key, const char *value, const DkVclock *context, gint64 stamp_us)
{
  g_autoptr (DkWireMessage) request = th_request_new (harness, type, id, key, value, context);
  request->request_id = hop;
  g_autoptr (GError) error = NULL;
  GByteArray *datagram = dk_wire_encode (request, &error);
  g_assert_no_error (error);
  if (harness->reply_key != NULL)   /* a keyed cluster */
    {
      static guint64 nonce;   /* test-only: distinct nonces across a test */
      DkWireStamp stamp = {
        stamp_us != G_MININT64 ? stamp_us : dk_eventq_now (harness->queue), ++nonce, to,
      };
      dk_wire_sign_stamped (datagram, cluster_key, CLUSTER_KEY_LEN, &stamp);
    }
  return datagram;
}

/* Send a request (hop id = ID) and return its datagram, for replaying. */
static GByteArray *
send_request (ThHarness *harness, DkNodeId to, DkWireType type, guint64 id, const char *key,
              const char *value, const DkVclock *context)
{
  GByteArray *datagram = request_datagram (harness, to, type, id, id, key, value, context,
                                           G_MININT64);
  th_send_datagram (harness, to, datagram);
  return datagram;
}

/* The dot a write's OK names (its only sibling). */
static DkDot
written_dot (const DkWireClientReply *reply)
{
  ck_assert_int_eq (reply->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (reply->siblings->len, 1);
  return ((const DkVersion *) g_ptr_array_index (reply->siblings, 0))->dot;
}

static gboolean
dots_equal (DkDot a, DkDot b)
{
  return a.actor == b.actor && a.counter == b.counter;
}

/* The versions replica NODE holds for KEY. */
static guint
versions_held (ThHarness *harness, DkNodeId node, const char *key)
{
  g_autoptr (GPtrArray) held = th_stored (harness, node, key);
  return held->len;
}

/* The live values a GET reply returns, "|"-joined in reply order. */
static char *
live_values (const DkWireClientReply *reply)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < reply->siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (reply->siblings, i);
      if (version->tombstone)
        continue;
      gsize len = 0;
      const char *data = g_bytes_get_data (version->value, &len);
      if (text->len > 0)
        g_string_append_c (text, '|');
      g_string_append_len (text, data, (gssize) len);
    }
  return g_string_free (text, FALSE);
}

/* GET KEY through TO with R=3 as request ID; its live values. */
static char *
read_values (ThHarness *harness, DkNodeId to, guint64 id, const char *key)
{
  g_autoptr (GByteArray) datagram = request_datagram (harness, to, DK_WIRE_GET, id, id, key,
                                                      NULL, NULL, G_MININT64);
  th_send_datagram (harness, to, datagram);
  th_run_ms (harness, 100);
  DkWireClientReply *reply = th_reply_to (harness, id);
  ck_assert_msg (reply != NULL, "no answer to get %s", key);
  return live_values (reply);
}

/* ---- (a) a duplicated client request is applied once ----------------------- */

/* The same PUT three times before any answer: twice the very same
 * datagram (a network duplicate), once as a retry with another header id.
 * One version is stored; the retry gets an answer of its own, naming the
 * same dot; nothing is coordinated twice. */
START_TEST (requests_once_duplicate_put_in_flight_is_applied_once)
{
  ThHarness *harness = harness_new (1, FALSE);
  DkNodeId list[3];
  th_preference (harness, "apple", list);
  g_autoptr (GByteArray) first = request_datagram (harness, list[0], DK_WIRE_PUT, 70, 7,
                                                   "apple", "red", NULL, G_MININT64);
  g_autoptr (GByteArray) retry = request_datagram (harness, list[0], DK_WIRE_PUT, 71, 7,
                                                   "apple", "red", NULL, G_MININT64);
  th_send_datagram (harness, list[0], first);
  th_send_datagram (harness, list[0], first);
  th_send_datagram (harness, list[0], retry);
  th_run_ms (harness, 100);

  DkWireClientReply *answers[4];
  guint n = th_replies_to (harness, 7, answers, 4);
  ck_assert_uint_eq (n, 2);   /* the original and the retry; the duplicate joins the original */
  ck_assert (dots_equal (written_dot (answers[0]), written_dot (answers[1])));
  DkNodeStats total = th_cluster_stats (harness);
  ck_assert_uint_eq (total.requests_coordinated, 1);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->requests_deduplicated, 2);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (versions_held (harness, list[i], "apple"), 1);
  th_free (harness);
}
END_TEST

/* A retry that arrives after the answer (and after the key was written
 * again) gets the first answer, the same dot, and changes nothing. */
START_TEST (requests_once_retry_after_the_answer_gets_the_first_answer)
{
  ThHarness *harness = harness_new (2, FALSE);
  DkNodeId list[3];
  th_preference (harness, "balance", list);
  g_autoptr (GByteArray) put100 = send_request (harness, list[0], DK_WIRE_PUT, 1, "balance",
                                                "100", NULL);
  th_run_ms (harness, 100);
  DkDot first = written_dot (th_reply_to (harness, 1));
  g_autoptr (GByteArray) put0 = send_request (harness, list[1], DK_WIRE_PUT, 2, "balance", "0",
                                              th_reply_to (harness, 1)->context);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);

  th_send_datagram (harness, list[0], put100);   /* unkeyed: only the name stops it */
  th_run_ms (harness, 100);
  DkWireClientReply *answers[3];
  ck_assert_uint_eq (th_replies_to (harness, 1, answers, 3), 2);
  ck_assert (dots_equal (written_dot (answers[1]), first));
  g_autofree char *values = read_values (harness, list[2], 3, "balance");
  ck_assert_str_eq (values, "0");
  ck_assert_uint_eq (th_node_stats (harness, list[0])->requests_deduplicated, 1);
  th_free (harness);
}
END_TEST

/* A retry sent through another node (off the preference list, so it
 * forwards) reaches the coordinator under the same name: it joins, or is
 * answered from memory, and names the same dot. */
START_TEST (requests_once_retry_through_another_node_gets_the_same_dot)
{
  ThHarness *harness = harness_new (3, FALSE);
  DkNodeId list[3];
  th_preference (harness, "fig", list);
  DkNodeId proxy = th_outsider (harness, "fig");
  g_autoptr (GByteArray) first = request_datagram (harness, list[0], DK_WIRE_PUT, 80, 8, "fig",
                                                   "brown", NULL, G_MININT64);
  g_autoptr (GByteArray) retry = request_datagram (harness, proxy, DK_WIRE_PUT, 81, 8, "fig",
                                                   "brown", NULL, G_MININT64);
  th_send_datagram (harness, list[0], first);
  th_send_datagram (harness, proxy, retry);
  th_run_ms (harness, 100);
  DkWireClientReply *answers[3];
  ck_assert_uint_eq (th_replies_to (harness, 8, answers, 3), 2);
  ck_assert (dots_equal (written_dot (answers[0]), written_dot (answers[1])));
  ck_assert_uint_eq (th_cluster_stats (harness).requests_coordinated, 1);
  ck_assert_uint_eq (th_node_stats (harness, proxy)->requests_forwarded, 1);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (versions_held (harness, list[i], "fig"), 1);
  th_free (harness);
}
END_TEST

/* A name seen again with another request is a client bug: refused, and
 * the second request is not applied. */
START_TEST (requests_once_reused_id_for_another_request_is_refused)
{
  ThHarness *harness = harness_new (4, FALSE);
  DkNodeId list[3];
  th_preference (harness, "one", list);
  g_autoptr (GByteArray) put_one = send_request (harness, list[0], DK_WIRE_PUT, 5, "one", "1",
                                                 NULL);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 5)->status, DK_WIRE_STATUS_OK);
  g_autoptr (GByteArray) put_two = send_request (harness, list[0], DK_WIRE_PUT, 5, "one", "2",
                                                 NULL);
  th_run_ms (harness, 100);
  DkWireClientReply *answers[3];
  ck_assert_uint_eq (th_replies_to (harness, 5, answers, 3), 2);
  ck_assert_int_eq (answers[1]->status, DK_WIRE_STATUS_INVALID);
  ck_assert_msg (strstr (answers[1]->reason, "another request") != NULL, "%s", answers[1]->reason);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->requests_id_reused, 1);
  g_autofree char *values = read_values (harness, list[1], 6, "one");
  ck_assert_str_eq (values, "1");
  th_free (harness);
}
END_TEST

/* Reads are remembered only while in flight: a read asked again after
 * its answer reads again and sees a newer write. */
START_TEST (requests_once_read_asked_again_later_reads_again)
{
  ThHarness *harness = harness_new (5, FALSE);
  DkNodeId list[3];
  th_preference (harness, "news", list);
  g_autoptr (GByteArray) put = send_request (harness, list[0], DK_WIRE_PUT, 1, "news", "old",
                                             NULL);
  th_run_ms (harness, 100);
  g_autoptr (GByteArray) get = send_request (harness, list[1], DK_WIRE_GET, 2, "news", NULL,
                                             NULL);
  th_run_ms (harness, 100);
  g_autofree char *before = live_values (th_reply_to (harness, 2));
  ck_assert_str_eq (before, "old");
  g_autoptr (GByteArray) put2 = send_request (harness, list[0], DK_WIRE_PUT, 3, "news", "new",
                                              th_reply_to (harness, 1)->context);
  th_run_ms (harness, 100);
  th_send_datagram (harness, list[1], get);
  th_run_ms (harness, 100);
  DkWireClientReply *answers[3];
  ck_assert_uint_eq (th_replies_to (harness, 2, answers, 3), 2);
  g_autofree char *after = live_values (answers[1]);
  ck_assert_str_eq (after, "new");
  th_free (harness);
}
END_TEST

/* Keys whose preference list starts with NODE, COUNT of them, "PREFIXn". */
static GPtrArray *
keys_coordinated_by (ThHarness *harness, DkNodeId node, guint count, const char *prefix)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; keys->len < count && i < 10000; i++)
    {
      g_autofree char *key = g_strdup_printf ("%s%u", prefix, i);
      DkNodeId list[3];
      th_preference (harness, key, list);
      if (list[0] == node)
        g_ptr_array_add (keys, g_steal_pointer (&key));
    }
  ck_assert_uint_eq (keys->len, count);
  return keys;
}

/* The memory is bounded: past dedup_requests the oldest names are
 * forgotten (counted), past dedup_age_us they expire; a forgotten request
 * sent again is applied again, which is what the bound costs. */
START_TEST (requests_once_memory_is_bounded_by_count_and_age)
{
  DkSimClusterConfig config;
  config_init (&config, 6, FALSE);
  config.node.dedup_requests = 4;
  config.node.dedup_age_us = 500000;
  ThHarness *harness = harness_new_with (&config);
  g_autoptr (GPtrArray) keys = keys_coordinated_by (harness, 1, 10, "bounded");
  GByteArray *sent[10];
  for (guint i = 0; i < 10; i++)
    {
      sent[i] = send_request (harness, 1, DK_WIRE_PUT, 100 + i, g_ptr_array_index (keys, i),
                              "v", NULL);
      th_run_ms (harness, 10);
    }
  th_run_ms (harness, 100);
  ck_assert_uint_eq (th_node_stats (harness, 1)->requests_forgotten, 6);
  /* The newest is still remembered ... */
  th_send_datagram (harness, 1, sent[9]);
  th_run_ms (harness, 50);
  DkWireClientReply *answers[3];
  ck_assert_uint_eq (th_replies_to (harness, 109, answers, 3), 2);
  ck_assert (dots_equal (written_dot (answers[0]), written_dot (answers[1])));
  /* ... the oldest is not: applied again, under a new dot. */
  th_send_datagram (harness, 1, sent[0]);
  th_run_ms (harness, 50);
  ck_assert_uint_eq (th_replies_to (harness, 100, answers, 3), 2);
  ck_assert (!dots_equal (written_dot (answers[0]), written_dot (answers[1])));
  /* Past the age, the newest is forgotten too, without counting as early. */
  th_run_ms (harness, 1000);
  th_send_datagram (harness, 1, sent[8]);
  th_run_ms (harness, 50);
  ck_assert_uint_eq (th_replies_to (harness, 108, answers, 3), 2);
  ck_assert (!dots_equal (written_dot (answers[0]), written_dot (answers[1])));
  ck_assert_uint_eq (th_node_stats (harness, 1)->requests_forgotten, 6 + 1);  /* sent[0]'s new record pushed one out */
  for (guint i = 0; i < 10; i++)
    g_byte_array_unref (sent[i]);
  th_free (harness);
}
END_TEST

/* ---- (b) replays of captured signed datagrams ----------------------------- */

/* The finding of issue 8: a captured signed put re-sent later rolled
 * balance=0 back to balance=100.  Now it is dropped and counted, and the
 * value stays. */
START_TEST (requests_once_replayed_signed_put_is_dropped_and_the_value_stays)
{
  ThHarness *harness = harness_new (7, TRUE);
  DkNodeId list[3];
  th_preference (harness, "balance", list);
  g_autoptr (GByteArray) captured = send_request (harness, list[0], DK_WIRE_PUT, 1, "balance",
                                                  "100", NULL);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  g_autoptr (GByteArray) put0 = send_request (harness, list[0], DK_WIRE_PUT, 2, "balance", "0",
                                              th_reply_to (harness, 1)->context);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);

  guint replies_before = harness->replies->len;
  th_send_datagram (harness, list[0], captured);
  th_run_ms (harness, 100);
  ck_assert_uint_eq (harness->replies->len, replies_before);   /* dropped without a word */
  ck_assert_uint_eq (th_node_stats (harness, list[0])->dropped_replayed, 1);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->requests_deduplicated, 0);
  g_autofree char *values = read_values (harness, list[1], 3, "balance");
  ck_assert_str_eq (values, "0");
  th_free (harness);
}
END_TEST

/* A captured delete replayed after the key was created again does not
 * delete it. */
START_TEST (requests_once_replayed_signed_delete_spares_the_recreated_key)
{
  ThHarness *harness = harness_new (8, TRUE);
  DkNodeId list[3];
  th_preference (harness, "session", list);
  g_autoptr (GByteArray) put = send_request (harness, list[0], DK_WIRE_PUT, 1, "session",
                                             "alice", NULL);
  th_run_ms (harness, 100);
  g_autoptr (GByteArray) captured = send_request (harness, list[0], DK_WIRE_DELETE, 2,
                                                  "session", NULL,
                                                  th_reply_to (harness, 1)->context);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 2)->status, DK_WIRE_STATUS_OK);
  g_autoptr (GByteArray) again = send_request (harness, list[0], DK_WIRE_PUT, 3, "session",
                                               "bob", th_reply_to (harness, 2)->context);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 3)->status, DK_WIRE_STATUS_OK);

  th_send_datagram (harness, list[0], captured);
  th_run_ms (harness, 100);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->dropped_replayed, 1);
  g_autofree char *values = read_values (harness, list[2], 4, "session");
  ck_assert_str_eq (values, "bob");
  th_free (harness);
}
END_TEST

/* A captured datagram replayed to another node is refused there too: it
 * names the node it was signed for. */
START_TEST (requests_once_datagram_signed_for_another_node_is_dropped)
{
  ThHarness *harness = harness_new (9, TRUE);
  DkNodeId list[3];
  th_preference (harness, "balance", list);
  g_autoptr (GByteArray) captured = send_request (harness, list[0], DK_WIRE_PUT, 1, "balance",
                                                  "100", NULL);
  th_run_ms (harness, 100);
  ck_assert_int_eq (th_reply_to (harness, 1)->status, DK_WIRE_STATUS_OK);
  th_send_datagram (harness, list[1], captured);
  th_run_ms (harness, 100);
  ck_assert_uint_eq (th_node_stats (harness, list[1])->dropped_misdirected, 1);
  ck_assert_uint_eq (th_cluster_stats (harness).requests_coordinated, 1);
  th_free (harness);
}
END_TEST

/* ---- (c) the replay window --------------------------------------------------- */

/* With a 1 s window: a datagram stamped 2 s ahead or 1.5 s behind the
 * node's clock is dropped as stale, one stamped now is served, and a
 * capture replayed once the window has passed is stale rather than a
 * replay (the cache forgot it; the window still refuses it). */
START_TEST (requests_once_stamps_outside_the_window_are_dropped)
{
  DkSimClusterConfig config;
  config_init (&config, 10, TRUE);
  config.node.replay_window_us = 1000000;
  ThHarness *harness = harness_new_with (&config);
  DkNodeId list[3];
  th_preference (harness, "clock", list);
  th_run_ms (harness, 3000);
  gint64 now = dk_eventq_now (harness->queue);

  g_autoptr (GByteArray) ahead = request_datagram (harness, list[0], DK_WIRE_PUT, 1, 1, "clock",
                                                   "ahead", NULL, now + 2000000);
  g_autoptr (GByteArray) behind = request_datagram (harness, list[0], DK_WIRE_PUT, 2, 2, "clock",
                                                    "behind", NULL, now - 1500000);
  g_autoptr (GByteArray) fresh = request_datagram (harness, list[0], DK_WIRE_PUT, 3, 3, "clock",
                                                   "fresh", NULL, now);
  th_send_datagram (harness, list[0], ahead);
  th_send_datagram (harness, list[0], behind);
  th_send_datagram (harness, list[0], fresh);
  th_run_ms (harness, 100);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->dropped_stale_timestamp, 2);
  ck_assert_ptr_null (th_reply_to (harness, 1));
  ck_assert_ptr_null (th_reply_to (harness, 2));
  ck_assert_int_eq (th_reply_to (harness, 3)->status, DK_WIRE_STATUS_OK);

  th_run_ms (harness, 2000);
  th_send_datagram (harness, list[0], fresh);
  th_run_ms (harness, 100);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->dropped_stale_timestamp, 3);
  ck_assert_uint_eq (th_node_stats (harness, list[0])->dropped_replayed, 0);
  g_autofree char *values = read_values (harness, list[1], 4, "clock");
  ck_assert_str_eq (values, "fresh");
  th_free (harness);
}
END_TEST

/* Node-to-node traffic is stamped too: with 30% of datagrams duplicated
 * by the network, the duplicates are dropped as replays and every
 * acknowledged put is read back. */
START_TEST (requests_once_stamped_cluster_survives_duplication)
{
  DkSimClusterConfig config;
  config_init (&config, 11, TRUE);
  config.network.dup = 0.3;
  ThHarness *harness = harness_new_with (&config);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *key = g_strdup_printf ("dup%u", i);
      DkNodeId list[3];
      th_preference (harness, key, list);
      g_autoptr (GByteArray) put = send_request (harness, list[i % 3], DK_WIRE_PUT, 1 + i, key,
                                                 "kept", NULL);
      th_run_ms (harness, 20);
    }
  th_run_ms (harness, 500);
  DkNodeStats total = th_cluster_stats (harness);
  ck_assert_uint_gt (total.dropped_replayed, 0);
  ck_assert_uint_eq (total.dropped_stale_timestamp, 0);
  ck_assert_uint_eq (total.dropped_unauthenticated, 0);
  ck_assert_uint_eq (total.requests_coordinated, 20);
  dk_sim_cluster_set_dup (harness->cluster, 0);
  for (guint i = 0; i < 20; i++)
    {
      ck_assert_int_eq (th_reply_to (harness, 1 + i)->status, DK_WIRE_STATUS_OK);
      g_autofree char *key = g_strdup_printf ("dup%u", i);
      DkNodeId list[3];
      th_preference (harness, key, list);
      g_autofree char *values = read_values (harness, list[(i + 1) % 3], 100 + i, key);
      ck_assert_str_eq (values, "kept");
    }
  th_free (harness);
}
END_TEST

/* ---- the replay cache and the stamp, as data --------------------------------- */

static void
tag_of (guint n, guint8 tag[DK_REPLAY_TAG_BYTES])
{
  memset (tag, 0, DK_REPLAY_TAG_BYTES);
  memcpy (tag, &n, sizeof n);
}

START_TEST (replay_cache_judges_fresh_seen_and_stale)
{
  g_autoptr (DkReplayCache) cache = dk_replay_cache_new (1000, 16, 5000);
  guint8 tag[DK_REPLAY_TAG_BYTES];
  tag_of (1, tag);
  ck_assert_int_eq (dk_replay_cache_admit (cache, 5000, 4999, tag), DK_REPLAY_STALE); /* before the start */
  ck_assert_int_eq (dk_replay_cache_admit (cache, 5000, 5000, tag), DK_REPLAY_FRESH);
  ck_assert_int_eq (dk_replay_cache_admit (cache, 5100, 5000, tag), DK_REPLAY_SEEN);
  tag_of (2, tag);
  ck_assert_int_eq (dk_replay_cache_admit (cache, 5100, 5000, tag), DK_REPLAY_FRESH); /* same time, other tag */
  ck_assert_int_eq (dk_replay_cache_admit (cache, 5100, 6200, tag), DK_REPLAY_STALE); /* too far ahead */
  ck_assert_int_eq (dk_replay_cache_admit (cache, 7000, 6500, tag), DK_REPLAY_FRESH);
  /* At 7000 the entries stamped 5000 left the window ... */
  ck_assert_uint_eq (dk_replay_cache_size (cache), 1);
  tag_of (1, tag);
  ck_assert_int_eq (dk_replay_cache_admit (cache, 7000, 5000, tag), DK_REPLAY_STALE);
  /* ... and the floor keeps refusing them when the clock steps back. */
  ck_assert_int_eq (dk_replay_cache_admit (cache, 5500, 5000, tag), DK_REPLAY_STALE);
  ck_assert_uint_eq (dk_replay_cache_overflows (cache), 0);
}
END_TEST

/* Property: over random arrivals (replays, reordering, a clock that
 * jumps back, a cache far too small) no datagram is ever accepted twice,
 * the cache never holds more than its bound, and a datagram within the
 * window and above the floor that was never accepted is accepted. */
START_TEST (replay_cache_never_accepts_a_datagram_twice_and_stays_bounded)
{
  int seeds = dk_test_iterations (50);
  for (int seed = 1; seed <= seeds; seed++)
    {
      GRand *rand = g_rand_new_with_seed ((guint32) seed);
      guint max_entries = (guint) g_rand_int_range (rand, 1, 40);
      gint64 window = g_rand_int_range (rand, 100, 5000);
      gint64 now = 100000;
      g_autoptr (DkReplayCache) cache = dk_replay_cache_new (window, max_entries, now);
      g_autoptr (GHashTable) accepted = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                               g_free, NULL);
      GArray *sent = g_array_new (FALSE, FALSE, sizeof (gint64));  /* datagram i's stamp */
      for (int step = 0; step < 2000; step++)
        {
          now += g_rand_int_range (rand, -50, 200);   /* may step back */
          guint i;
          if (sent->len > 0 && g_rand_boolean (rand))
            i = (guint) g_rand_int_range (rand, 0, (gint32) sent->len);   /* a replay */
          else
            {
              gint64 stamp = now + g_rand_int_range (rand, -(gint32) window * 2, (gint32) window);
              g_array_append_val (sent, stamp);
              i = sent->len - 1;
            }
          gint64 stamp = g_array_index (sent, gint64, i);
          guint8 tag[DK_REPLAY_TAG_BYTES];
          tag_of (i, tag);
          gint64 key = i;
          /* Expiry only forgets what is out of the window, so a datagram
           * in the window, above the floor and never accepted is fresh. */
          gboolean must_be_fresh = !g_hash_table_contains (accepted, &key)
                                   && stamp > dk_replay_cache_floor (cache)
                                   && stamp >= now - window && stamp <= now + window;
          DkReplayVerdict verdict = dk_replay_cache_admit (cache, now, stamp, tag);
          if (verdict == DK_REPLAY_FRESH)
            {
              ck_assert_msg (!g_hash_table_contains (accepted, &key),
                             "seed %d: datagram %u accepted twice", seed, i);
              g_hash_table_add (accepted, g_memdup2 (&key, sizeof key));
            }
          else
            ck_assert_msg (!must_be_fresh, "seed %d: datagram %u refused while fresh", seed, i);
          ck_assert_uint_le (dk_replay_cache_size (cache), max_entries);
        }
      g_array_unref (sent);
      g_rand_free (rand);
    }
}
END_TEST

/* The stamp is read back as signed, is covered by the tag, and the
 * client id travels in requests and forwards. */
START_TEST (wire_stamp_and_client_id_round_trip)
{
  g_autoptr (DkWireMessage) forward = dk_wire_message_new (DK_WIRE_FORWARD);
  forward->body.forward.request_type = DK_WIRE_PUT;
  forward->body.forward.request.client_id = CLIENT_ID;
  forward->body.forward.request.client_request_id = 42;
  forward->body.forward.request.key = g_bytes_new_static ("k", 1);
  g_autoptr (GByteArray) datagram = dk_wire_encode (forward, NULL);
  ck_assert_ptr_nonnull (datagram);
  gsize unsigned_len = datagram->len;
  DkWireStamp stamp = { G_GINT64_CONSTANT (1700000000123456), 99, 3 };
  dk_wire_sign_stamped (datagram, cluster_key, CLUSTER_KEY_LEN, &stamp);
  ck_assert_uint_eq (datagram->len, unsigned_len + DK_WIRE_TAG_BYTES);
  ck_assert (dk_wire_verify (datagram->data, datagram->len, cluster_key, CLUSTER_KEY_LEN, NULL));
  DkWireStamp read;
  const guint8 *tag = NULL;
  ck_assert (dk_wire_read_stamp (datagram->data, datagram->len, &read, &tag));
  ck_assert_int_eq (read.timestamp_us, stamp.timestamp_us);
  ck_assert_uint_eq (read.nonce, 99);
  ck_assert_uint_eq (read.receiver, 3);
  ck_assert_ptr_eq (tag, datagram->data + datagram->len - DK_WIRE_HMAC_BYTES);
  g_autoptr (DkWireMessage) decoded = dk_wire_decode (datagram->data, datagram->len, NULL);
  ck_assert (decoded != NULL && dk_wire_message_equal (forward, decoded));
  ck_assert_uint_eq (decoded->body.forward.request.client_id, CLIENT_ID);
  /* Moving the timestamp breaks the tag. */
  datagram->data[unsigned_len + 7] ^= 1;
  ck_assert (!dk_wire_verify (datagram->data, datagram->len, cluster_key, CLUSTER_KEY_LEN, NULL));
  g_autoptr (GByteArray) plain = dk_wire_encode (forward, NULL);
  ck_assert (!dk_wire_read_stamp (plain->data, plain->len, &read, NULL));
}
END_TEST

/* ---- a real node over UDP ------------------------------------------------------ */

typedef struct
{
  GMainContext *context;
  DkUdpEnv     *env;
  DkNode       *node;
  DkRing       *ring;
  GSocket      *client;
  GInetSocketAddress *to;
} UdpNode;

static void
udp_node_start (UdpNode *udp)
{
  g_autoptr (GError) error = NULL;
  udp->context = g_main_context_new ();
  DkUdpEnvConfig env_config;
  dk_udp_env_config_init (&env_config);
  env_config.id = 1;
  env_config.listen = "127.0.0.1:0";
  env_config.context = udp->context;
  env_config.have_seed = TRUE;
  env_config.seed = 8;
  env_config.log_level = DK_LOG_ERROR;
  udp->env = dk_udp_env_new (&env_config, &error);
  ck_assert_msg (udp->env != NULL, "%s", error ? error->message : "?");
  g_autoptr (GArray) peers = dk_net_peers_new ();
  ck_assert (dk_net_peers_add (peers, 1, dk_udp_env_address (udp->env), NULL));
  ck_assert (dk_udp_env_add_peer (udp->env, 1, dk_udp_env_address (udp->env), NULL));
  udp->ring = dk_net_ring_new (peers, 8, &error);
  DkNodeConfig config;
  dk_node_config_init (&config);
  config.id = 1;
  config.n = config.r = config.w = 1;
  config.auth_key = cluster_key;
  config.auth_key_len = CLUSTER_KEY_LEN;
  udp->node = dk_node_new (&config, dk_udp_env_get (udp->env), udp->ring, &error);
  ck_assert_msg (udp->node != NULL, "%s", error ? error->message : "?");
  dk_udp_env_set_node (udp->env, udp->node);
  udp->client = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                              G_SOCKET_PROTOCOL_UDP, &error);
  ck_assert (udp->client != NULL);
  g_socket_set_blocking (udp->client, FALSE);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  ck_assert (g_socket_bind (udp->client, any_port, FALSE, NULL));
  udp->to = dk_net_resolve (dk_udp_env_address (udp->env), FALSE, NULL);
}

static void
udp_node_stop (UdpNode *udp)
{
  g_clear_pointer (&udp->node, dk_node_free);
  g_clear_pointer (&udp->env, dk_udp_env_free);
  g_clear_pointer (&udp->ring, dk_ring_free);
  g_clear_object (&udp->client);
  g_clear_object (&udp->to);
  while (g_main_context_iteration (udp->context, FALSE))
    ;
  g_main_context_unref (udp->context);
}

/* Send DATAGRAM and step the node's context until a reply arrives (with
 * COUNTER NULL) or until COUNTER, one of the node's, moves (then no reply
 * may come).  Bounded by 30 s (only a loaded machine comes near); no
 * sleeps. */
static DkWireMessage *
udp_exchange (UdpNode *udp, const GByteArray *datagram, const guint64 *counter)
{
  guint64 before = counter != NULL ? *counter : 0;
  ck_assert (g_socket_send_to (udp->client, G_SOCKET_ADDRESS (udp->to),
                               (const gchar *) datagram->data, datagram->len, NULL, NULL)
             == (gssize) datagram->len);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  guint8 *buffer = g_malloc (65536);
  DkWireMessage *reply = NULL;
  while (g_get_monotonic_time () < deadline)
    {
      gssize len = g_socket_receive (udp->client, (gchar *) buffer, 65536, NULL, NULL);
      ck_assert_msg (len <= 0 || counter == NULL, "the node answered a datagram it should drop");
      if (len > 0)
        {
          reply = dk_wire_decode (buffer, (gsize) len, NULL);
          break;
        }
      if (counter != NULL && *counter != before)
        break;
      g_main_context_iteration (udp->context, FALSE);
    }
  g_free (buffer);
  ck_assert_msg (reply != NULL || (counter != NULL && *counter != before),
                 "the node neither answered nor counted a drop within 30 s");
  return reply;
}

static GByteArray *
udp_put (guint64 id, const char *value, gint64 stamp_us)
{
  g_autoptr (DkWireMessage) put = dk_wire_message_new (DK_WIRE_PUT);
  put->request_id = id;
  put->body.client_request.client_id = CLIENT_ID;
  put->body.client_request.client_request_id = id;
  put->body.client_request.key = g_bytes_new_static ("balance", 7);
  put->body.client_request.value = g_bytes_new (value, strlen (value));
  GByteArray *datagram = dk_wire_encode (put, NULL);
  DkWireStamp stamp = { stamp_us, id, 1 };
  dk_wire_sign_stamped (datagram, cluster_key, CLUSTER_KEY_LEN, &stamp);
  return datagram;
}

/* The UDP environment gives the node the wall clock: a put stamped now is
 * served, the same bytes again are dropped as a replay, and a put stamped
 * two minutes ago is dropped as stale. */
START_TEST (requests_once_udp_node_drops_replays_and_stale_stamps)
{
  UdpNode udp = { 0 };
  udp_node_start (&udp);
  const DkNodeStats *stats = dk_node_stats (udp.node);
  g_autoptr (GByteArray) put = udp_put (1, "100", g_get_real_time ());
  g_autoptr (DkWireMessage) reply = udp_exchange (&udp, put, NULL);
  ck_assert (reply != NULL && reply->type == DK_WIRE_CLIENT_REPLY);
  ck_assert_int_eq (reply->body.client_reply.status, DK_WIRE_STATUS_OK);

  g_autoptr (DkWireMessage) none = udp_exchange (&udp, put, &stats->dropped_replayed);
  ck_assert_ptr_null (none);
  ck_assert_uint_eq (stats->dropped_replayed, 1);

  g_autoptr (GByteArray) old = udp_put (2, "50", g_get_real_time () - 120 * G_USEC_PER_SEC);
  g_autoptr (DkWireMessage) none_either = udp_exchange (&udp, old, &stats->dropped_stale_timestamp);
  ck_assert_ptr_null (none_either);
  ck_assert_uint_eq (stats->dropped_stale_timestamp, 1);
  ck_assert_uint_eq (stats->requests_coordinated, 1);
  udp_node_stop (&udp);
}
END_TEST

Suite *
requests_once_suite (void)
{
  Suite *suite = suite_create ("requests_once");
  TCase *dedup = tcase_create ("dedup");
  dk_tcase_no_wall_limit (dedup);
  tcase_add_test (dedup, requests_once_duplicate_put_in_flight_is_applied_once);
  tcase_add_test (dedup, requests_once_retry_after_the_answer_gets_the_first_answer);
  tcase_add_test (dedup, requests_once_retry_through_another_node_gets_the_same_dot);
  tcase_add_test (dedup, requests_once_reused_id_for_another_request_is_refused);
  tcase_add_test (dedup, requests_once_read_asked_again_later_reads_again);
  tcase_add_test (dedup, requests_once_memory_is_bounded_by_count_and_age);
  suite_add_tcase (suite, dedup);

  TCase *replay = tcase_create ("replay");
  dk_tcase_no_wall_limit (replay);
  tcase_add_test (replay, requests_once_replayed_signed_put_is_dropped_and_the_value_stays);
  tcase_add_test (replay, requests_once_replayed_signed_delete_spares_the_recreated_key);
  tcase_add_test (replay, requests_once_datagram_signed_for_another_node_is_dropped);
  tcase_add_test (replay, requests_once_stamps_outside_the_window_are_dropped);
  tcase_add_test (replay, requests_once_stamped_cluster_survives_duplication);
  tcase_add_test (replay, requests_once_udp_node_drops_replays_and_stale_stamps);
  suite_add_tcase (suite, replay);

  TCase *data = tcase_create ("data");
  tcase_add_test (data, replay_cache_judges_fresh_seen_and_stale);
  tcase_add_test (data, replay_cache_never_accepts_a_datagram_twice_and_stays_bounded);
  tcase_add_test (data, wire_stamp_and_client_id_round_trip);
  suite_add_tcase (suite, data);
  return suite;
}
