/* sim_harness.c — a simulated cluster and one client, for Check tests
 * (sim_harness.h). */
#include <string.h>
#include <check.h>
#include "sim_harness.h"

/* The client's handler: every datagram a node sends the client must be a
 * decodable CLIENT_REPLY (signed, when the test asked for reply_key). */
static void
on_client_datagram (G_GNUC_UNUSED guint client, G_GNUC_UNUSED DkEndpoint from,
                    const guint8 *data, gsize len, G_GNUC_UNUSED gint64 sent_us,
                    gpointer user_data)
{
  ThHarness *harness = user_data;
  if (harness->reply_key != NULL)
    ck_assert_msg (dk_wire_verify (data, len, harness->reply_key, harness->reply_key_len, NULL),
                   "a keyed node sent an unsigned or badly signed reply");
  g_autoptr (GError) error = NULL;
  DkWireMessage *message = dk_wire_decode (data, len, &error);
  ck_assert_msg (message != NULL, "a node sent a client something undecodable: %s",
                 error ? error->message : "?");
  ck_assert_int_eq (message->type, DK_WIRE_CLIENT_REPLY);
  g_ptr_array_add (harness->replies, message);
}

void
th_config_init (DkSimClusterConfig *config, guint64 seed)
{
  dk_sim_cluster_config_init (config);
  config->seed = seed;
  config->nodes = 5;
  config->clients = 1;
  config->node.request_timeout_us = 200000;
}

ThHarness *
th_new (const DkSimClusterConfig *config)
{
  ThHarness *harness = g_new0 (ThHarness, 1);
  harness->queue = dk_eventq_new ();
  g_autoptr (GError) error = NULL;
  harness->cluster = dk_sim_cluster_new (config, harness->queue, NULL, &error);
  ck_assert_msg (harness->cluster != NULL, "%s", error ? error->message : "?");
  harness->replies = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_wire_message_free);
  harness->next_id = 1;
  dk_sim_cluster_set_client_handler (harness->cluster, on_client_datagram, harness);
  return harness;
}

ThHarness *
th_new_for_seed (guint64 seed)
{
  DkSimClusterConfig config;
  th_config_init (&config, seed);
  return th_new (&config);
}

void
th_free (ThHarness *harness)
{
  dk_sim_cluster_free (harness->cluster);
  dk_eventq_free (harness->queue);
  g_ptr_array_unref (harness->replies);
  g_free (harness);
}

void
th_run_ms (ThHarness *harness, gint64 ms)
{
  dk_eventq_run_until (harness->queue, dk_eventq_now (harness->queue) + ms * 1000);
}

void
th_preference (ThHarness *harness, const char *key, DkNodeId list[3])
{
  guint n = dk_ring_preference_list (dk_sim_cluster_ring (harness->cluster),
                                     dk_ring_key_token (key, strlen (key)), 3, list);
  ck_assert_uint_eq (n, 3);
}

DkNodeId
th_outsider (ThHarness *harness, const char *key)
{
  DkNodeId list[3];
  th_preference (harness, key, list);
  for (DkNodeId id = 1; id <= 5; id++)
    if (id != list[0] && id != list[1] && id != list[2])
      return id;
  g_assert_not_reached ();
}

DkWireMessage *
th_request_new (ThHarness *harness, DkWireType type, guint64 id, const char *key,
                const char *value, const DkVclock *context)
{
  DkWireMessage *request = dk_wire_message_new (type);
  request->request_id = id;
  DkWireClientRequest *body = &request->body.client_request;
  body->client_id = harness->client_id;
  body->client_request_id = id;
  body->key = g_bytes_new (key, strlen (key));
  if (value != NULL)
    body->value = g_bytes_new (value, strlen (value));
  if (context != NULL)
    body->context = dk_vclock_copy (context);
  return request;
}

void
th_send (ThHarness *harness, DkNodeId to, const DkWireMessage *request)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (request, &error);
  g_assert_no_error (error);
  th_send_datagram (harness, to, datagram);
}

void
th_send_datagram (ThHarness *harness, DkNodeId to, const GByteArray *datagram)
{
  dk_sim_cluster_client_send (harness->cluster, 0, to, datagram->data, datagram->len);
}

void
th_send_request (ThHarness *harness, DkNodeId to, DkWireType type, guint64 id, const char *key,
                 const char *value, const DkVclock *context, guint8 quorum)
{
  g_autoptr (DkWireMessage) request = th_request_new (harness, type, id, key, value, context);
  request->body.client_request.r = request->body.client_request.w = quorum;
  th_send (harness, to, request);
}

guint
th_replies_to (ThHarness *harness, guint64 id, DkWireClientReply **out, guint max)
{
  guint found = 0;
  for (guint i = 0; i < harness->replies->len && found < max; i++)
    {
      DkWireMessage *message = g_ptr_array_index (harness->replies, i);
      if (message->body.client_reply.client_request_id == id)
        out[found++] = &message->body.client_reply;
    }
  return found;
}

DkWireClientReply *
th_reply_to (ThHarness *harness, guint64 id)
{
  DkWireClientReply *reply = NULL;
  return th_replies_to (harness, id, &reply, 1) == 1 ? reply : NULL;
}

guint
th_count_live_values (const DkWireClientReply *reply)
{
  guint values = 0;
  for (guint i = 0; i < reply->siblings->len; i++)
    values += !((DkVersion *) g_ptr_array_index (reply->siblings, i))->tombstone;
  return values;
}

gboolean
th_holds_value (const DkWireClientReply *reply, const char *value)
{
  for (guint i = 0; i < reply->siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (reply->siblings, i);
      gsize len;
      const char *data = g_bytes_get_data (version->value, &len);
      if (!version->tombstone && len == strlen (value) && memcmp (data, value, len) == 0)
        return TRUE;
    }
  return FALSE;
}

GPtrArray *
th_stored (ThHarness *harness, DkNodeId node, const char *key)
{
  g_autoptr (GBytes) bytes = g_bytes_new (key, strlen (key));
  g_autoptr (GError) error = NULL;
  GPtrArray *set = dk_store_get (dk_sim_cluster_store (harness->cluster, node), bytes, &error);
  ck_assert_msg (set != NULL, "%s", error ? error->message : "?");
  return set;
}

const DkNodeStats *
th_node_stats (ThHarness *harness, DkNodeId id)
{
  return dk_node_stats (dk_sim_cluster_node (harness->cluster, id));
}

DkNodeStats
th_cluster_stats (ThHarness *harness)
{
  DkNodeStats total;
  dk_sim_cluster_node_stats (harness->cluster, &total);
  return total;
}
