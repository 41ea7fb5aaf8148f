/* check_net.c — the UDP environment carries real datagrams between
 * in-process nodes on 127.0.0.1, maps addresses to endpoints, drops and
 * counts what it must, and fires timers in deadline order; plus the
 * address, key and ring helpers the daemon and client share.
 *
 * No wall-clock sleeps: each test owns a GMainContext and steps it with
 * g_main_context_iteration until what it waits for has happened, bounded
 * in iterations and by a watchdog source (NET_BUDGET_MS per test). */
#include <string.h>
#include <glib/gstdio.h>
#include "suites.h"
#include "net/net_config.h"
#include "net/udp_env.h"
#include "node.h"
#include "ring.h"
#include "wire.h"

/* A bound, not an expectation: loopback answers in microseconds, and a
 * test returns as soon as what it waits for has happened; the budget only
 * has to outlast a machine loaded by other jobs. */
#define NET_BUDGET_MS 30000
#define NET_MAX_ITERATIONS 100000
#define NET_MAX_NODES 3

static const guint8 test_key[32] = "0123456789abcdef0123456789abcdef";

/* ---- an in-process loopback cluster and a raw client socket ------------- */

typedef struct
{
  GMainContext *context;
  guint         n_nodes;
  DkUdpEnv     *envs[NET_MAX_NODES + 1];   /* [0] unused */
  DkNode       *nodes[NET_MAX_NODES + 1];
  DkRing       *ring;
  GSocket      *client;
  GSource      *client_source;
  GSource      *watchdog;
  gboolean      expired;
  GQueue        received;                  /* GBytes from the client socket */
  gboolean      keyed;
} Net;

static Net net;

static gboolean
on_watchdog (gpointer data)
{
  net.expired = TRUE;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_client_readable (GSocket *socket, GIOCondition condition, gpointer data)
{
  guint8 *buffer = g_malloc (65536);
  for (;;)
    {
      gssize len = g_socket_receive (socket, (gchar *) buffer, 65536, NULL, NULL);
      if (len < 0)
        break;
      g_queue_push_tail (&net.received, g_bytes_new (buffer, (gsize) len));
    }
  g_free (buffer);
  return G_SOURCE_CONTINUE;
}

static GSocket *
loopback_socket (void)
{
  g_autoptr (GError) error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, &error);
  ck_assert_msg (socket != NULL, "socket: %s", error ? error->message : "?");
  g_socket_set_blocking (socket, FALSE);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  ck_assert (g_socket_bind (socket, any_port, FALSE, NULL));
  return socket;
}

static GSource *
watch_socket (GSocket *socket)
{
  GSource *source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_client_readable), NULL, NULL);
  g_source_attach (source, net.context);
  return source;
}

/* Start N_NODES nodes with replication N, quorums R and W, keyed or not. */
static void
net_start (guint n_nodes, guint n, guint r, guint w, gboolean keyed)
{
  memset (&net, 0, sizeof net);
  g_queue_init (&net.received);
  net.context = g_main_context_new ();
  net.n_nodes = n_nodes;
  net.keyed = keyed;
  net.watchdog = g_timeout_source_new (NET_BUDGET_MS);
  g_source_set_callback (net.watchdog, on_watchdog, NULL, NULL);
  g_source_attach (net.watchdog, net.context);

  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) peers = dk_net_peers_new ();
  for (guint i = 1; i <= n_nodes; i++)
    {
      DkUdpEnvConfig config;
      dk_udp_env_config_init (&config);
      config.id = i;
      config.listen = "127.0.0.1:0";
      config.context = net.context;
      config.have_seed = TRUE;
      config.seed = 42;
      config.log_level = DK_LOG_ERROR;
      net.envs[i] = dk_udp_env_new (&config, &error);
      ck_assert_msg (net.envs[i] != NULL, "env %u: %s", i, error ? error->message : "?");
      ck_assert_uint_ne (dk_udp_env_port (net.envs[i]), 0);
      ck_assert (dk_net_peers_add (peers, i, dk_udp_env_address (net.envs[i]), NULL));
    }
  net.ring = dk_net_ring_new (peers, 16, &error);
  ck_assert_msg (net.ring != NULL, "ring: %s", error ? error->message : "?");
  for (guint i = 1; i <= n_nodes; i++)
    {
      for (guint p = 0; p < peers->len; p++)
        {
          const DkNetPeer *peer = &g_array_index (peers, DkNetPeer, p);
          ck_assert (dk_udp_env_add_peer (net.envs[i], peer->id, peer->address, NULL));
        }
      DkNodeConfig config;
      dk_node_config_init (&config);
      config.id = i;
      config.n = n;
      config.r = r;
      config.w = w;
      if (keyed)
        {
          config.auth_key = test_key;
          config.auth_key_len = sizeof test_key;
        }
      net.nodes[i] = dk_node_new (&config, dk_udp_env_get (net.envs[i]), net.ring, &error);
      ck_assert_msg (net.nodes[i] != NULL, "node %u: %s", i, error ? error->message : "?");
      dk_udp_env_set_node (net.envs[i], net.nodes[i]);
    }
  net.client = loopback_socket ();
  net.client_source = watch_socket (net.client);
}

static void
net_stop (void)
{
  for (guint i = 1; i <= net.n_nodes; i++)
    {
      g_clear_pointer (&net.nodes[i], dk_node_free);
      g_clear_pointer (&net.envs[i], dk_udp_env_free);
    }
  g_clear_pointer (&net.ring, dk_ring_free);
  if (net.client_source != NULL)
    {
      g_source_destroy (net.client_source);
      g_source_unref (net.client_source);
    }
  g_clear_object (&net.client);
  g_source_destroy (net.watchdog);
  g_source_unref (net.watchdog);
  g_queue_clear_full (&net.received, (GDestroyNotify) g_bytes_unref);
  /* Dispatch what the destroyed sources left behind, then drop the context. */
  while (g_main_context_iteration (net.context, FALSE))
    ;
  g_main_context_unref (net.context);
}

typedef gboolean (*Predicate) (gpointer data);

/* Step the context until DONE (DATA) holds; FALSE when the budget ran out. */
static gboolean
step_until (Predicate done, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + NET_BUDGET_MS * 1000;
  for (int i = 0; i < NET_MAX_ITERATIONS; i++)
    {
      if (done (data))
        return TRUE;
      if (net.expired || g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (net.context, TRUE);
    }
  return done (data);
}

static void
send_bytes_from (GSocket *socket, guint node, const guint8 *data, gsize len)
{
  g_autoptr (GInetSocketAddress) to = dk_net_resolve (dk_udp_env_address (net.envs[node]),
                                                      FALSE, NULL);
  ck_assert (to != NULL);
  g_autoptr (GError) error = NULL;
  gssize sent = g_socket_send_to (socket, G_SOCKET_ADDRESS (to), (const gchar *) data, len,
                                  NULL, &error);
  ck_assert_msg (sent == (gssize) len, "send: %s", error ? error->message : "short");
}

static void
send_message_from (GSocket *socket, guint node, const DkWireMessage *message, gboolean sign)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (message, &error);
  ck_assert_msg (datagram != NULL, "encode: %s", error ? error->message : "?");
  if (sign)
    {
      /* Stamped now, for any node: a keyed node drops what is stamped
       * outside its replay window (node.h). */
      static guint64 nonce;
      DkWireStamp stamp = { g_get_real_time (), ++nonce, DK_NODE_NONE };
      dk_wire_sign_stamped (datagram, test_key, sizeof test_key, &stamp);
    }
  send_bytes_from (socket, node, datagram->data, datagram->len);
}

/* A received datagram matching TYPE and ID (client request id for a
 * CLIENT_REPLY, header id otherwise), removed from the queue, or NULL. */
typedef struct
{
  DkWireType     type;
  guint64        id;
  DkWireMessage *found;
} Wanted;

static gboolean
take_wanted (gpointer data)
{
  Wanted *wanted = data;
  for (GList *l = net.received.head; l != NULL; l = l->next)
    {
      gsize len = 0;
      const guint8 *bytes = g_bytes_get_data (l->data, &len);
      if (net.keyed)
        ck_assert_msg (dk_wire_verify (bytes, len, test_key, sizeof test_key, NULL),
                       "a node sent an unsigned or badly signed reply");
      DkWireMessage *message = dk_wire_decode (bytes, len, NULL);
      ck_assert (message != NULL);
      guint64 id = message->type == DK_WIRE_CLIENT_REPLY
                   ? message->body.client_reply.client_request_id : message->request_id;
      if (message->type == wanted->type && id == wanted->id)
        {
          g_bytes_unref (l->data);
          g_queue_delete_link (&net.received, l);
          wanted->found = message;
          return TRUE;
        }
      dk_wire_message_free (message);
    }
  return FALSE;
}

static DkWireMessage *
wait_for (DkWireType type, guint64 id)
{
  Wanted wanted = { .type = type, .id = id };
  ck_assert_msg (step_until (take_wanted, &wanted), "no %s with id %" G_GUINT64_FORMAT
                 " within %d ms", dk_wire_type_name (type), id, NET_BUDGET_MS);
  return wanted.found;
}

static guint64 next_id = 1000;

/* Send a client request to NODE and wait for its reply. */
static DkWireMessage *
request (guint node, DkWireType type, const char *key, const char *value,
         const DkVclock *context)
{
  g_autoptr (DkWireMessage) message = dk_wire_message_new (type);
  message->request_id = next_id++;
  DkWireClientRequest *body = &message->body.client_request;
  body->client_request_id = next_id++;
  body->key = g_bytes_new (key, strlen (key));
  if (value != NULL)
    body->value = g_bytes_new (value, strlen (value));
  if (context != NULL)
    body->context = dk_vclock_copy (context);
  send_message_from (net.client, node, message, net.keyed);
  DkWireMessage *reply = wait_for (DK_WIRE_CLIENT_REPLY, body->client_request_id);
  if (reply->body.client_reply.status != DK_WIRE_STATUS_RETRY)
    return reply;
  /* Unkeyed, a node that does not know our address yet asks for its
   * cookie back as the header id (node.h); dynkv does the same. */
  ck_assert (!net.keyed);
  message->request_id = reply->request_id;
  dk_wire_message_free (reply);
  send_message_from (net.client, node, message, FALSE);
  return wait_for (DK_WIRE_CLIENT_REPLY, body->client_request_id);
}

/* PING NODE from SOCKET (signed when SIGN) and return the PING's id. */
static guint64
ping_from (GSocket *socket, guint node, gboolean sign)
{
  g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
  ping->request_id = next_id++;
  ping->body.ping.timestamp_us = 12345;
  send_message_from (socket, node, ping, sign);
  return ping->request_id;
}

static void
assert_pong (guint64 id)
{
  g_autoptr (DkWireMessage) pong = wait_for (DK_WIRE_PONG, id);
  ck_assert_int_eq (pong->body.ping.timestamp_us, 12345);
}

static const char *
value_of (const DkVersion *version)
{
  static char text[64];
  gsize len = 0;
  const char *data = g_bytes_get_data (version->value, &len);
  ck_assert_uint_lt (len, sizeof text);
  memcpy (text, data != NULL ? data : "", len);
  text[len] = '\0';
  return text;
}

/* ---- requests across nodes ---------------------------------------------- */

/* Writes through one node are read through another and deleted through a
 * third, each reply travelling back to the client's own address. */
START_TEST (net_put_get_delete_across_three_nodes)
{
  net_start (3, 3, 2, 2, FALSE);
  g_autoptr (DkWireMessage) put = request (1, DK_WIRE_PUT, "colour", "blue", NULL);
  ck_assert_int_eq (put->body.client_reply.status, DK_WIRE_STATUS_OK);

  g_autoptr (DkWireMessage) get = request (2, DK_WIRE_GET, "colour", NULL, NULL);
  const DkWireClientReply *reply = &get->body.client_reply;
  ck_assert_int_eq (reply->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (reply->siblings->len, 1);
  ck_assert_str_eq (value_of (g_ptr_array_index (reply->siblings, 0)), "blue");
  ck_assert (reply->context != NULL);

  g_autoptr (DkWireMessage) del = request (3, DK_WIRE_DELETE, "colour", NULL, reply->context);
  ck_assert_int_eq (del->body.client_reply.status, DK_WIRE_STATUS_OK);
  g_autoptr (DkWireMessage) gone = request (1, DK_WIRE_GET, "colour", NULL, NULL);
  ck_assert_int_eq (gone->body.client_reply.status, DK_WIRE_STATUS_NOT_FOUND);

  g_autoptr (DkWireMessage) missing = request (2, DK_WIRE_GET, "never-written", NULL, NULL);
  ck_assert_int_eq (missing->body.client_reply.status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_uint_eq (missing->body.client_reply.siblings->len, 0);

  for (guint i = 1; i <= 3; i++)
    {
      ck_assert_uint_eq (dk_udp_env_stats (net.envs[i])->unknown_destination, 0);
      ck_assert_uint_eq (dk_udp_env_stats (net.envs[i])->dropped_oversize, 0);
      ck_assert_uint_eq (dk_node_stats (net.nodes[i])->dropped_malformed, 0);
    }
  net_stop ();
}
END_TEST

/* With N=1 a request sent to a node off the key's preference list is
 * forwarded to the owner and the answer relayed back to the client. */
START_TEST (net_request_to_non_replica_is_proxied_to_the_owner)
{
  net_start (3, 1, 1, 1, FALSE);
  char key[32];
  DkNodeId owner = DK_NODE_NONE;
  for (int i = 0; i < 1000 && (owner == DK_NODE_NONE || owner == 1); i++)
    {
      g_snprintf (key, sizeof key, "key-%d", i);
      DkToken token = dk_ring_key_token (key, strlen (key));
      dk_ring_preference_list (net.ring, token, 1, &owner);
    }
  ck_assert_uint_ne (owner, 1);

  g_autoptr (DkWireMessage) put = request (1, DK_WIRE_PUT, key, "far away", NULL);
  ck_assert_int_eq (put->body.client_reply.status, DK_WIRE_STATUS_OK);
  g_autoptr (DkWireMessage) get = request (1, DK_WIRE_GET, key, NULL, NULL);
  ck_assert_int_eq (get->body.client_reply.status, DK_WIRE_STATUS_OK);
  ck_assert_str_eq (value_of (g_ptr_array_index (get->body.client_reply.siblings, 0)),
                    "far away");
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->requests_forwarded, 2);
  ck_assert_uint_eq (dk_node_stats (net.nodes[owner])->requests_coordinated, 2);
  net_stop ();
}
END_TEST

/* ---- what is dropped and counted --------------------------------------- */

/* Garbage and a truncated header are counted as malformed; the node keeps
 * answering (the PING sent after them is answered, so they were handled). */
START_TEST (net_malformed_datagrams_are_dropped_and_counted)
{
  net_start (1, 1, 1, 1, FALSE);
  static const guint8 garbage[] = "not a dynkv datagram at all";
  static const guint8 truncated[] = { 0x44, 0x4B, DK_WIRE_VERSION, 0x11, 0x00 };
  send_bytes_from (net.client, 1, garbage, sizeof garbage);
  send_bytes_from (net.client, 1, truncated, sizeof truncated);
  send_bytes_from (net.client, 1, truncated, 0);
  assert_pong (ping_from (net.client, 1, FALSE));
  const DkNodeStats *stats = dk_node_stats (net.nodes[1]);
  ck_assert_uint_eq (stats->dropped_malformed, 3);
  ck_assert_uint_eq (stats->datagrams_received, 4);
  ck_assert_uint_eq (dk_udp_env_stats (net.envs[1])->datagrams_received, 4);
  net_stop ();
}
END_TEST

/* A datagram over DK_WIRE_MAX_DATAGRAM never reaches the node. */
START_TEST (net_oversize_datagram_is_dropped_by_the_environment)
{
  net_start (1, 1, 1, 1, FALSE);
  gsize len = DK_WIRE_MAX_DATAGRAM + 1;
  g_autofree guint8 *big = g_malloc0 (len);
  send_bytes_from (net.client, 1, big, len);
  assert_pong (ping_from (net.client, 1, FALSE));
  ck_assert_uint_eq (dk_udp_env_stats (net.envs[1])->dropped_oversize, 1);
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->datagrams_received, 1);
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->dropped_malformed, 0);
  net_stop ();
}
END_TEST

/* With a cluster key an unsigned PING is counted as unauthenticated and
 * not answered; a signed one is answered with a signed PONG, and replicas
 * authenticate each other for a W=3 write. */
START_TEST (net_unsigned_datagram_is_dropped_when_the_cluster_is_keyed)
{
  net_start (3, 3, 3, 3, TRUE);
  guint64 unsigned_id = ping_from (net.client, 1, FALSE);
  assert_pong (ping_from (net.client, 1, TRUE));
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->dropped_unauthenticated, 1);
  Wanted stray = { .type = DK_WIRE_PONG, .id = unsigned_id };
  ck_assert (!take_wanted (&stray));

  g_autoptr (DkWireMessage) put = request (2, DK_WIRE_PUT, "secret", "s3", NULL);
  ck_assert_int_eq (put->body.client_reply.status, DK_WIRE_STATUS_OK);
  g_autoptr (DkWireMessage) get = request (3, DK_WIRE_GET, "secret", NULL, NULL);
  ck_assert_int_eq (get->body.client_reply.status, DK_WIRE_STATUS_OK);
  for (guint i = 2; i <= 3; i++)
    ck_assert_uint_eq (dk_node_stats (net.nodes[i])->dropped_unauthenticated, 0);
  net_stop ();
}
END_TEST

/* ---- endpoints ------------------------------------------------------------ */

/* Past max_clients the least recently heard client is forgotten; it gets a
 * new endpoint when it comes back, and every client is answered. */
START_TEST (net_client_table_is_bounded_and_evicts_the_oldest)
{
  memset (&net, 0, sizeof net);
  net.context = g_main_context_new ();
  g_queue_init (&net.received);
  net.watchdog = g_timeout_source_new (NET_BUDGET_MS);
  g_source_set_callback (net.watchdog, on_watchdog, NULL, NULL);
  g_source_attach (net.watchdog, net.context);
  DkUdpEnvConfig config;
  dk_udp_env_config_init (&config);
  config.id = 1;
  config.listen = "127.0.0.1:0";
  config.context = net.context;
  config.log_level = DK_LOG_ERROR;
  config.max_clients = 2;
  net.n_nodes = 1;
  net.keyed = TRUE;   /* a signed PING validates its source; unkeyed, only a cookie does */
  net.envs[1] = dk_udp_env_new (&config, NULL);
  ck_assert (net.envs[1] != NULL);
  net.ring = dk_ring_new_random_tokens (4);
  DkRingNode member = { .id = 1, .name = "n1" };
  ck_assert (dk_ring_add_node (net.ring, &member, NULL));
  DkNodeConfig node_config;
  dk_node_config_init (&node_config);
  node_config.id = 1;
  node_config.n = node_config.r = node_config.w = 1;
  node_config.auth_key = test_key;
  node_config.auth_key_len = sizeof test_key;
  net.nodes[1] = dk_node_new (&node_config, dk_udp_env_get (net.envs[1]), net.ring, NULL);
  dk_udp_env_set_node (net.envs[1], net.nodes[1]);

  GSocket *clients[3];
  GSource *sources[3];
  for (int i = 0; i < 3; i++)
    {
      clients[i] = loopback_socket ();
      sources[i] = watch_socket (clients[i]);
      assert_pong (ping_from (clients[i], 1, TRUE));
    }
  const DkUdpEnvStats *stats = dk_udp_env_stats (net.envs[1]);
  ck_assert_uint_eq (stats->clients_seen, 3);
  ck_assert_uint_eq (stats->clients_evicted, 1);
  ck_assert_uint_eq (dk_udp_env_client_count (net.envs[1]), 2);
  assert_pong (ping_from (clients[0], 1, TRUE));  /* the evicted one is back */
  ck_assert_uint_eq (stats->clients_seen, 4);
  ck_assert_uint_eq (stats->clients_evicted, 2);
  assert_pong (ping_from (clients[2], 1, TRUE));  /* still known */
  ck_assert_uint_eq (stats->clients_seen, 4);
  for (int i = 0; i < 3; i++)
    {
      g_source_destroy (sources[i]);
      g_source_unref (sources[i]);
      g_object_unref (clients[i]);
    }
  net_stop ();
}
END_TEST

/* A datagram waits on the client socket. */
static gboolean
something_received (gpointer data)
{
  return net.received.length > 0;
}

/* Node 1's environment has taken in GPOINTER_TO_UINT (DATA) datagrams. */
static gboolean
received_at_least (gpointer data)
{
  return dk_udp_env_stats (net.envs[1])->datagrams_received >= GPOINTER_TO_UINT (data);
}

/* Unkeyed, a GET from a source the node never validated is answered with
 * RETRY and a cookie, no larger than the GET (no amplification), and the
 * source is not remembered; the same GET carrying the cookie is served
 * and remembers it.  Junk and forged GETs from 200 other sources leave the
 * two-entry client table alone: the validated client is not evicted. */
START_TEST (net_unvalidated_source_gets_no_larger_reply_and_is_not_remembered)
{
  net_start (1, 1, 1, 1, FALSE);
  const DkUdpEnvStats *stats = dk_udp_env_stats (net.envs[1]);
  g_autoptr (DkWireMessage) get = dk_wire_message_new (DK_WIRE_GET);
  get->request_id = 5;
  get->body.client_request.client_request_id = 6;
  get->body.client_request.key = g_bytes_new_static ("k", 1);
  g_autoptr (GByteArray) bytes = dk_wire_encode (get, NULL);
  send_message_from (net.client, 1, get, FALSE);
  ck_assert (step_until (something_received, NULL));
  gsize reply_len = g_bytes_get_size (g_queue_peek_head (&net.received));
  ck_assert_uint_le (reply_len, bytes->len);
  g_autoptr (DkWireMessage) retry = wait_for (DK_WIRE_CLIENT_REPLY, 6);
  ck_assert_int_eq (retry->body.client_reply.status, DK_WIRE_STATUS_RETRY);
  ck_assert_uint_eq (stats->clients_seen, 0);
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->address_validations, 1);

  get->request_id = retry->request_id;   /* the cookie */
  send_message_from (net.client, 1, get, FALSE);
  g_autoptr (DkWireMessage) served = wait_for (DK_WIRE_CLIENT_REPLY, 6);
  ck_assert_int_eq (served->body.client_reply.status, DK_WIRE_STATUS_NOT_FOUND);
  ck_assert_uint_eq (stats->clients_seen, 1);

  /* A wrong cookie from a fresh socket is no cookie. */
  GSocket *forger = loopback_socket ();
  get->request_id = retry->request_id + 1;
  send_message_from (forger, 1, get, FALSE);
  static const guint8 junk[40] = { 0x44, 0x4B, 3, 1 };
  for (int i = 0; i < 200; i++)
    {
      GSocket *source = loopback_socket ();
      if (i % 2 == 0)
        send_bytes_from (source, 1, junk, sizeof junk);
      else
        send_message_from (source, 1, get, FALSE);
      g_object_unref (source);
    }
  g_object_unref (forger);
  ck_assert (step_until (received_at_least, GUINT_TO_POINTER (203)));
  ck_assert_uint_eq (stats->clients_seen, 1);
  ck_assert_uint_eq (dk_udp_env_client_count (net.envs[1]), 1);
  ck_assert_uint_ge (stats->sources_not_remembered, 201);
  /* The validated client is still known: served at once, no RETRY. */
  get->request_id = 99;
  get->body.client_request.client_request_id = 7;
  send_message_from (net.client, 1, get, FALSE);
  g_autoptr (DkWireMessage) again = wait_for (DK_WIRE_CLIENT_REPLY, 7);
  ck_assert_int_eq (again->body.client_reply.status, DK_WIRE_STATUS_NOT_FOUND);
  net_stop ();
}
END_TEST

/* The counter named NAME in a NODE_STATUS_REPLY, or -1 when absent. */
static gint64
status_counter (const DkWireNodeStatusReply *reply, const char *name)
{
  for (guint i = 0; i < reply->counters->len; i++)
    {
      const DkWireCounter *counter = &g_array_index (reply->counters, DkWireCounter, i);
      if (strcmp (counter->name, name) == 0)
        return (gint64) counter->value;
    }
  return -1;
}

/* NODE_STATUS (dynkv status, stats): its reply is far larger than the
 * request, so an unvalidated source gets only a RETRY no larger than the
 * request; with the cookie it gets the reply: the node's members, its
 * keys, and the counters of node and environment by name, each once.  A
 * malformed one (member_limit 0) is dropped and counted. */
START_TEST (net_node_status_goes_only_to_a_validated_source)
{
  net_start (2, 2, 1, 1, FALSE);
  const DkUdpEnvStats *stats = dk_udp_env_stats (net.envs[1]);
  g_autoptr (DkWireMessage) put = request (1, DK_WIRE_PUT, "k", "v", NULL);
  ck_assert_int_eq (put->body.client_reply.status, DK_WIRE_STATUS_OK);

  /* A fresh source: RETRY, no bigger than the request, and no reply. */
  GSocket *stranger = loopback_socket ();
  g_autoptr (DkWireMessage) ask = dk_wire_message_new (DK_WIRE_NODE_STATUS);
  ask->request_id = 71;
  ask->body.node_status.client_request_id = 72;
  ask->body.node_status.member_limit = DK_WIRE_STATUS_MEMBERS_MAX;
  ask->body.node_status.counters = TRUE;
  g_autoptr (GByteArray) ask_bytes = dk_wire_encode (ask, NULL);
  guint64 validations = dk_node_stats (net.nodes[1])->address_validations;
  send_message_from (stranger, 1, ask, FALSE);
  ck_assert (step_until (received_at_least, GUINT_TO_POINTER (stats->datagrams_received + 1)));
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->address_validations, validations + 1);
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->status_requests, 0);

  /* From the test's client (validated by the put): the reply. */
  send_message_from (net.client, 1, ask, FALSE);
  g_autoptr (DkWireMessage) answer = wait_for (DK_WIRE_NODE_STATUS_REPLY, 71);
  g_autoptr (GByteArray) answer_bytes = dk_wire_encode (answer, NULL);
  ck_assert_uint_gt (answer_bytes->len, ask_bytes->len);  /* why it needs a validated source */
  const DkWireNodeStatusReply *body = &answer->body.node_status_reply;
  ck_assert_uint_eq (body->client_request_id, 72);
  ck_assert_uint_eq (body->members_total, 2);
  ck_assert_uint_eq (body->members->len, 2);
  ck_assert_uint_eq (g_array_index (body->members, DkWireStatusMember, 0).node, 1);
  guint32 ppm = g_array_index (body->members, DkWireStatusMember, 0).ownership_ppm
                + g_array_index (body->members, DkWireStatusMember, 1).ownership_ppm;
  ck_assert_uint_ge (ppm, 999998);
  ck_assert_uint_le (ppm, 1000000);
  ck_assert_uint_eq (body->keys, 1);
  ck_assert_int_eq (status_counter (body, "status_requests"), 0);  /* counted after the reply */
  ck_assert_int_ge (status_counter (body, "requests_succeeded"), 1);
  ck_assert_int_ge (status_counter (body, "udp_datagrams_received"), 3);
  ck_assert_int_eq (status_counter (body, "hints_held"), 0);
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < body->counters->len; i++)
    ck_assert_msg (g_hash_table_add (names, g_array_index (body->counters, DkWireCounter, i).name),
                   "counter %s twice", g_array_index (body->counters, DkWireCounter, i).name);

  /* Paging: one member from the second on. */
  ask->request_id = 73;
  ask->body.node_status.first_member = 1;
  ask->body.node_status.member_limit = 1;
  ask->body.node_status.counters = FALSE;
  send_message_from (net.client, 1, ask, FALSE);
  g_autoptr (DkWireMessage) page = wait_for (DK_WIRE_NODE_STATUS_REPLY, 73);
  ck_assert_uint_eq (page->body.node_status_reply.first_member, 1);
  ck_assert_uint_eq (page->body.node_status_reply.members->len, 1);
  ck_assert_uint_eq (g_array_index (page->body.node_status_reply.members, DkWireStatusMember, 0).node, 2);
  ck_assert_uint_eq (page->body.node_status_reply.counters->len, 0);
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->status_requests, 2);

  /* member_limit 0 (byte 24 + 8 + 8 + 4 + 3 is its low byte): malformed. */
  g_autoptr (GByteArray) bad = dk_wire_encode (ask, NULL);
  bad->data[DK_WIRE_HEADER_BYTES + 8 + 8 + 4 + 3] = 0;
  guint64 malformed = dk_node_stats (net.nodes[1])->dropped_malformed;
  guint64 received = stats->datagrams_received;
  send_bytes_from (net.client, 1, bad->data, bad->len);
  ck_assert (step_until (received_at_least, GUINT_TO_POINTER (received + 1)));
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->dropped_malformed, malformed + 1);
  ck_assert_uint_eq (dk_node_stats (net.nodes[1])->status_requests, 2);
  g_object_unref (stranger);
  net_stop ();
}
END_TEST

/* With a client key, a client's requests verify with it and are answered
 * signed with it; a node-to-node message (a WRITE) signed with it is
 * refused as badly signed, counted by the node and the environment, and
 * not stored. */
START_TEST (net_client_key_cannot_sign_node_messages)
{
  static const guint8 client_key[32] = "client-key-client-key-client-key";
  net_start (1, 1, 1, 1, TRUE);
  /* Restart node 1 with a client key next to the cluster key. */
  dk_udp_env_set_node (net.envs[1], NULL);
  g_clear_pointer (&net.nodes[1], dk_node_free);
  DkNodeConfig config;
  dk_node_config_init (&config);
  config.id = 1;
  config.n = config.r = config.w = 1;
  config.auth_key = test_key;
  config.auth_key_len = sizeof test_key;
  config.client_key = client_key;
  config.client_key_len = sizeof client_key;
  net.nodes[1] = dk_node_new (&config, dk_udp_env_get (net.envs[1]), net.ring, NULL);
  ck_assert (net.nodes[1] != NULL);
  dk_udp_env_set_node (net.envs[1], net.nodes[1]);

  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->request_id = 1;
  write->body.write.key = g_bytes_new_static ("k", 1);
  g_autoptr (GByteArray) datagram = dk_wire_encode (write, NULL);
  DkWireStamp stamp = { g_get_real_time (), 1, DK_NODE_NONE };
  dk_wire_sign_stamped (datagram, client_key, sizeof client_key, &stamp);
  send_bytes_from (net.client, 1, datagram->data, datagram->len);

  g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
  ping->request_id = 2;
  ping->body.ping.timestamp_us = 12345;
  g_autoptr (GByteArray) signed_ping = dk_wire_encode (ping, NULL);
  stamp.nonce = 2;
  dk_wire_sign_stamped (signed_ping, client_key, sizeof client_key, &stamp);
  send_bytes_from (net.client, 1, signed_ping->data, signed_ping->len);
  ck_assert (step_until (something_received, NULL));
  gsize len = 0;
  const guint8 *pong = g_bytes_get_data (g_queue_peek_head (&net.received), &len);
  ck_assert (dk_wire_verify (pong, len, client_key, sizeof client_key, NULL));
  ck_assert (!dk_wire_verify (pong, len, test_key, sizeof test_key, NULL));

  const DkNodeStats *stats = dk_node_stats (net.nodes[1]);
  ck_assert_uint_eq (stats->dropped_unauthenticated, 1);
  ck_assert_uint_eq (dk_udp_env_stats (net.envs[1])->auth_failures, 1);
  ck_assert_uint_eq (dk_udp_env_stats (net.envs[1])->auth_failures_logged, 1);
  g_queue_clear_full (&net.received, (GDestroyNotify) g_bytes_unref);
  net_stop ();
}
END_TEST

/* ---- timers ---------------------------------------------------------------- */

typedef struct
{
  DkUdpEnv *env;
  GArray   *fired;   /* of int labels */
  int       label;
  gint64    fired_us; /* the environment's time when it fired */
} TimerProbe;

static void
on_timer (gpointer data)
{
  TimerProbe *probe = data;
  g_array_append_val (probe->fired, probe->label);
}

/* A timer that starts another with no delay from inside its callback. */
static void
on_timer_rearm (gpointer data)
{
  TimerProbe *probe = data;
  g_array_append_val (probe->fired, probe->label);
  const DkEnv *env = dk_udp_env_get (probe->env);
  probe->fired_us = env->now_us (env->user_data);
  probe[1].label = 99;
  env->timer_start (env->user_data, 0, on_timer, &probe[1]);
}

static gboolean
fired_at_least (gpointer data)
{
  TimerProbe *probe = data;
  return probe->fired->len >= 6;
}

/* Timers fire by deadline, equal deadlines in start order, a cancelled
 * one never, and one started by a callback after the others due then. */
START_TEST (net_timers_fire_in_deadline_order)
{
  memset (&net, 0, sizeof net);
  net.context = g_main_context_new ();
  g_queue_init (&net.received);
  net.watchdog = g_timeout_source_new (NET_BUDGET_MS);
  g_source_set_callback (net.watchdog, on_watchdog, NULL, NULL);
  g_source_attach (net.watchdog, net.context);
  DkUdpEnvConfig config;
  dk_udp_env_config_init (&config);
  config.id = 7;
  config.listen = "127.0.0.1:0";
  config.context = net.context;
  net.n_nodes = 1;
  net.envs[1] = dk_udp_env_new (&config, NULL);
  ck_assert (net.envs[1] != NULL);
  const DkEnv *env = dk_udp_env_get (net.envs[1]);

  g_autoptr (GArray) fired = g_array_new (FALSE, FALSE, sizeof (int));
  static const struct { gint64 after_us; int label; } plan[] = {
    { 30000, 5 }, { 10000, 1 }, { 20000, 3 }, { 20000, 4 }, { 15000, -1 }, { 12000, 2 },
  };
  TimerProbe probes[G_N_ELEMENTS (plan) + 1];
  DkTimerId cancelled = 0;
  gint64 start = env->now_us (env->user_data);
  for (guint i = 0; i < G_N_ELEMENTS (plan); i++)
    {
      probes[i] = (TimerProbe) { .env = net.envs[1], .fired = fired, .label = plan[i].label };
      DkTimerId id = env->timer_start (env->user_data, plan[i].after_us,
                                       plan[i].label == 2 ? on_timer_rearm : on_timer,
                                       &probes[i]);
      ck_assert_uint_ne (id, 0);
      if (plan[i].label < 0)
        cancelled = id;
    }
  probes[G_N_ELEMENTS (plan)] = (TimerProbe) { .env = net.envs[1], .fired = fired };
  /* Label 2 (index 5) re-arms into probes[6]. */
  env->timer_cancel (env->user_data, cancelled);
  env->timer_cancel (env->user_data, cancelled);      /* twice: ignored */
  env->timer_cancel (env->user_data, 123456789);      /* unknown: ignored */
  ck_assert_uint_eq (dk_udp_env_timers_pending (net.envs[1]), 5);

  ck_assert (step_until (fired_at_least, &probes[0]));
  ck_assert_int_ge (env->now_us (env->user_data) - start, 30000);  /* never early */
  /* Label 99 comes after every timer already due when label 2 fired and
   * before the rest: on a quiet machine 1 2 99 3 4 5, on a loaded one that
   * stalled past 20 ms 1 2 3 4 99 5, and so on; never another order. */
  gint64 rearmed_after_us = probes[5].fired_us - start;
  ck_assert_int_ge (rearmed_after_us, 12000);
  GArray *expected = g_array_new (FALSE, FALSE, sizeof (int));
  int first[] = { 1, 2 };
  g_array_append_vals (expected, first, 2);
  static const struct { int label; gint64 after_us; } later[] = { { 3, 20000 }, { 4, 20000 }, { 5, 30000 } };
  gboolean placed = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (later); i++)
    {
      if (!placed && later[i].after_us > rearmed_after_us)
        {
          int label = 99;
          g_array_append_val (expected, label);
          placed = TRUE;
        }
      g_array_append_val (expected, later[i].label);
    }
  if (!placed)
    {
      int label = 99;
      g_array_append_val (expected, label);
    }
  ck_assert_uint_eq (fired->len, expected->len);
  /* Under valgrind the timers' own start times drift from START by more
   * than the gap between 99's deadline and theirs: there, 99 is only
   * held to come after label 2, the others to their exact order. */
  if (dk_test_iterations (20) != 20)
    {
      guint at = 0;
      for (guint i = 0; i < fired->len; i++)
        if (g_array_index (fired, int, i) != 99)
          {
            while (g_array_index (expected, int, at) == 99)
              at++;
            ck_assert_int_eq (g_array_index (fired, int, i), g_array_index (expected, int, at));
            at++;
          }
        else
          ck_assert_uint_ge (i, 2);
      g_array_set_size (expected, 0);
      g_array_append_vals (expected, fired->data, fired->len);
    }
  for (guint i = 0; i < fired->len; i++)
    ck_assert_msg (g_array_index (fired, int, i) == g_array_index (expected, int, i),
                   "timer %u fired label %d, expected %d (label 2 fired %" G_GINT64_FORMAT " us in)",
                   i, g_array_index (fired, int, i), g_array_index (expected, int, i),
                   rearmed_after_us);
  g_array_unref (expected);
  ck_assert_uint_eq (dk_udp_env_timers_pending (net.envs[1]), 0);
  ck_assert_uint_eq (dk_udp_env_stats (net.envs[1])->timers_fired, 6);
  net_stop ();
}
END_TEST

/* Two environments with the same seed and id draw the same stream. */
START_TEST (net_random_stream_is_seeded_by_seed_and_id)
{
  DkUdpEnvConfig config;
  dk_udp_env_config_init (&config);
  config.listen = "127.0.0.1:0";
  config.have_seed = TRUE;
  config.seed = 9;
  config.log_level = DK_LOG_ERROR;
  g_autoptr (GMainContext) context = g_main_context_new ();
  config.context = context;
  config.id = 1;
  g_autoptr (DkUdpEnv) a = dk_udp_env_new (&config, NULL);
  g_autoptr (DkUdpEnv) b = dk_udp_env_new (&config, NULL);
  config.id = 2;
  g_autoptr (DkUdpEnv) c = dk_udp_env_new (&config, NULL);
  ck_assert (a != NULL && b != NULL && c != NULL);
  const DkEnv *ea = dk_udp_env_get (a), *eb = dk_udp_env_get (b), *ec = dk_udp_env_get (c);
  guint64 first_a = ea->random (ea->user_data);
  ck_assert_uint_eq (first_a, eb->random (eb->user_data));
  ck_assert_uint_ne (first_a, ec->random (ec->user_data));
}
END_TEST

/* ---- start-up errors and the shared helpers ------------------------------ */

START_TEST (net_env_refuses_a_taken_port_and_a_bad_data_dir)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  DkUdpEnvConfig config;
  dk_udp_env_config_init (&config);
  config.id = 1;
  config.listen = "127.0.0.1:0";
  config.context = context;
  config.log_level = DK_LOG_ERROR;
  g_autoptr (DkUdpEnv) first = dk_udp_env_new (&config, NULL);
  ck_assert (first != NULL);
  g_autofree char *taken = g_strdup (dk_udp_env_address (first));
  config.listen = taken;
  g_autoptr (GError) error = NULL;
  g_autoptr (DkUdpEnv) second = dk_udp_env_new (&config, &error);
  ck_assert (second == NULL);
  ck_assert_msg (strstr (error->message, taken) != NULL, "%s", error->message);
  g_clear_error (&error);

  config.listen = "127.0.0.1:0";
  config.data_dir = "/proc/version/dynkv";   /* cannot be a directory */
  g_autoptr (DkUdpEnv) third = dk_udp_env_new (&config, &error);
  ck_assert (third == NULL);
  ck_assert (error != NULL);
  g_clear_error (&error);

  config.data_dir = NULL;
  config.listen = "localhost";                /* no port: fine for listening */
  g_autoptr (DkUdpEnv) fourth = dk_udp_env_new (&config, &error);
  ck_assert_msg (fourth != NULL, "%s", error ? error->message : "?");
}
END_TEST

/* ---- acknowledgements wait for their commit --------------------------------- */

static gboolean
batch_handled (gpointer data)
{
  return dk_udp_env_stats (net.envs[1])->receive_batches >= 1;
}

/* One keyed node on a file store whose FAIL_AT_CALL-th SQLite call fails;
 * FALSE when the fault made the environment or the node fail to start. */
static gboolean
net_start_one_on_disk (const char *data_dir, guint fail_at_call)
{
  memset (&net, 0, sizeof net);
  g_queue_init (&net.received);
  net.context = g_main_context_new ();
  net.n_nodes = 1;
  net.keyed = TRUE;
  net.watchdog = g_timeout_source_new (NET_BUDGET_MS);
  g_source_set_callback (net.watchdog, on_watchdog, NULL, NULL);
  g_source_attach (net.watchdog, net.context);
  net.client = loopback_socket ();
  net.client_source = watch_socket (net.client);

  DkStoreOptions store_options;
  dk_store_options_init (&store_options);
  store_options.fail_at_call = fail_at_call;
  DkUdpEnvConfig config;
  dk_udp_env_config_init (&config);
  config.id = 1;
  config.listen = "127.0.0.1:0";
  config.context = net.context;
  config.data_dir = data_dir;
  config.store_options = &store_options;
  static FILE *quiet;
  if (quiet == NULL)
    quiet = fopen ("/dev/null", "w");
  config.log_file = quiet;   /* failures are the point */
  net.envs[1] = dk_udp_env_new (&config, NULL);
  if (net.envs[1] == NULL)
    return FALSE;
  g_autoptr (GArray) peers = dk_net_peers_new ();
  ck_assert (dk_net_peers_add (peers, 1, dk_udp_env_address (net.envs[1]), NULL));
  ck_assert (dk_udp_env_add_peer (net.envs[1], 1, dk_udp_env_address (net.envs[1]), NULL));
  net.ring = dk_net_ring_new (peers, 16, NULL);
  DkNodeConfig node_config;
  dk_node_config_init (&node_config);
  node_config.id = 1;
  node_config.n = 1;
  node_config.r = 1;
  node_config.w = 1;
  node_config.auth_key = test_key;
  node_config.auth_key_len = sizeof test_key;
  net.nodes[1] = dk_node_new (&node_config, dk_udp_env_get (net.envs[1]), net.ring, NULL);
  if (net.nodes[1] == NULL)
    return FALSE;
  dk_udp_env_set_node (net.envs[1], net.nodes[1]);
  return TRUE;
}

/* The UDP environment commits a receive batch's writes before it sends
 * anything the node said meanwhile (udp_env.h).  SQLite style: a PUT
 * runs with the store's k-th SQLite call failing, for every k until one
 * run meets no fault; whenever the client got OK, the value is in the file
 * when it is opened again afterwards, and some run had its commit fail
 * with the acknowledgement already written, which was then not sent. */
START_TEST (net_ack_never_precedes_its_commit)
{
  g_autofree char *dir = g_dir_make_tmp ("dk-ack-XXXXXX", NULL);
  ck_assert (dir != NULL);
  guint acked = 0, held_back = 0;
  gboolean clean_run = FALSE;
  for (guint k = 1; k < 400 && !clean_run; k++)
    {
      g_autofree char *data_dir = g_strdup_printf ("%s/n%u", dir, k);
      if (!net_start_one_on_disk (data_dir, k))
        {
          net_stop ();
          continue;
        }
      g_autoptr (DkWireMessage) put = dk_wire_message_new (DK_WIRE_PUT);
      put->request_id = next_id++;
      put->body.client_request.client_request_id = next_id++;
      put->body.client_request.key = g_bytes_new_static ("acked", 5);
      put->body.client_request.value = g_bytes_new_static ("durable", 7);
      send_message_from (net.client, 1, put, TRUE);
      ck_assert (step_until (batch_handled, NULL));
      /* Whatever was sent went out in that dispatch; loopback delivers it
       * at once. */
      while (g_main_context_iteration (net.context, FALSE))
        ;
      Wanted wanted = { .type = DK_WIRE_CLIENT_REPLY,
                        .id = put->body.client_request.client_request_id };
      gboolean ok = take_wanted (&wanted)
                    && wanted.found->body.client_reply.status == DK_WIRE_STATUS_OK;
      g_clear_pointer (&wanted.found, dk_wire_message_free);
      const DkUdpEnvStats *stats = dk_udp_env_stats (net.envs[1]);
      held_back += stats->dropped_uncommitted > 0;
      if (ok && stats->dropped_uncommitted == 0 && stats->send_errors == 0)
        clean_run = TRUE;   /* probably past every call a PUT makes */
      net_stop ();
      if (!ok)
        continue;
      acked++;
      g_autofree char *db = g_build_filename (data_dir, "node.db", NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (DkStore) store = dk_store_open (db, NULL, &error);
      ck_assert_msg (store != NULL, "k=%u: %s", k, error ? error->message : "?");
      g_autoptr (GBytes) key = g_bytes_new_static ("acked", 5);
      g_autoptr (GPtrArray) siblings = dk_store_get (store, key, &error);
      ck_assert_msg (siblings != NULL, "k=%u: %s", k, error ? error->message : "?");
      ck_assert_msg (siblings->len == 1, "k=%u: an acknowledged write is not in the store", k);
      ck_assert_str_eq (value_of (g_ptr_array_index (siblings, 0)), "durable");
    }
  ck_assert_uint_ge (acked, 1);
  ck_assert_msg (held_back >= 1, "no run had its commit fail after the reply was written");
  g_autoptr (GError) error = NULL;
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", dir);
  ck_assert (g_spawn_command_line_sync (command, NULL, NULL, NULL, &error));
}
END_TEST

/* The store is DATA_DIR/node.db and survives the environment. */
START_TEST (net_store_lives_in_the_data_directory)
{
  g_autofree char *dir = g_dir_make_tmp ("dk-net-XXXXXX", NULL);
  ck_assert (dir != NULL);
  g_autofree char *data_dir = g_build_filename (dir, "n1", NULL);
  g_autoptr (GMainContext) context = g_main_context_new ();
  DkUdpEnvConfig config;
  dk_udp_env_config_init (&config);
  config.id = 1;
  config.listen = "127.0.0.1:0";
  config.context = context;
  config.data_dir = data_dir;
  DkUdpEnv *env = dk_udp_env_new (&config, NULL);
  ck_assert (env != NULL);
  g_autofree char *db = g_build_filename (data_dir, "node.db", NULL);
  ck_assert_str_eq (dk_store_path (dk_udp_env_get (env)->store), db);
  dk_udp_env_free (env);
  ck_assert (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  static const char *suffixes[] = { "", "-wal", "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (db, suffixes[i], NULL);
      g_unlink (file);
    }
  g_rmdir (data_dir);
  g_rmdir (dir);
}
END_TEST

START_TEST (net_peer_specs_are_parsed_and_checked)
{
  g_autoptr (GArray) peers = dk_net_peers_new ();
  ck_assert (dk_net_peers_add_spec (peers, "3=127.0.0.1:7003", NULL));
  ck_assert (dk_net_peers_add_spec (peers, "1=127.0.0.1:7001", NULL));
  ck_assert (dk_net_peers_add_spec (peers, "2=[::1]:7002", NULL));
  ck_assert (dk_net_peers_add_spec (peers, "1=127.0.0.1:7001", NULL));  /* same again */
  ck_assert_uint_eq (peers->len, 3);
  dk_net_peers_sort (peers);
  ck_assert_uint_eq (g_array_index (peers, DkNetPeer, 0).id, 1);
  ck_assert_str_eq (g_array_index (peers, DkNetPeer, 2).address, "127.0.0.1:7003");

  static const char *bad[] = {
    "1=127.0.0.1:9999",   /* node 1 again, elsewhere */
    "0=127.0.0.1:7000",   /* id 0 */
    "x=127.0.0.1:7000",
    "=127.0.0.1:7000",
    "4=",
    "4",
    "4=127.0.0.1",        /* no port */
    "4=127.0.0.1:99999",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      ck_assert_msg (!dk_net_peers_add_spec (peers, bad[i], &error), "accepted %s", bad[i]);
      ck_assert (error != NULL && error->message[0] != '\0');
    }
  ck_assert_uint_eq (peers->len, 3);

  g_autoptr (GInetSocketAddress) v6 = dk_net_resolve ("[::1]:7002", FALSE, NULL);
  g_autofree char *text = dk_net_address_string (v6);
  ck_assert_str_eq (text, "[::1]:7002");
}
END_TEST

START_TEST (net_hex_and_keys_round_trip_and_are_bounded)
{
  static const guint8 bytes[] = { 0x00, 0x01, 0xab, 0xff };
  g_autofree char *hex = dk_net_hex_encode (bytes, sizeof bytes);
  ck_assert_str_eq (hex, "0001abff");
  g_autoptr (GBytes) back = dk_net_hex_decode (" 00 01 AB ff\n", NULL);
  ck_assert (back != NULL);
  ck_assert_mem_eq (g_bytes_get_data (back, NULL), bytes, sizeof bytes);
  ck_assert (dk_net_hex_decode ("abc", NULL) == NULL);
  ck_assert (dk_net_hex_decode ("zz", NULL) == NULL);

  ck_assert (dk_net_parse_key_hex ("00112233", NULL) == NULL);  /* too short */
  g_autoptr (GBytes) key = dk_net_parse_key_hex ("000102030405060708090a0b0c0d0e0f", NULL);
  ck_assert (key != NULL && g_bytes_get_size (key) == 16);

  g_autofree char *dir = g_dir_make_tmp ("dk-net-XXXXXX", NULL);
  g_autofree char *hex_file = g_build_filename (dir, "hex.key", NULL);
  g_autofree char *raw_file = g_build_filename (dir, "raw.key", NULL);
  g_autofree char *short_file = g_build_filename (dir, "short.key", NULL);
  ck_assert (g_file_set_contents (hex_file, "000102030405060708090a0b0c0d0e0f\n", -1, NULL));
  ck_assert (g_file_set_contents (raw_file, "a passphrase that is not hex", -1, NULL));
  ck_assert (g_file_set_contents (short_file, "short", -1, NULL));
  g_autoptr (GBytes) from_hex = dk_net_load_key_file (hex_file, NULL);
  ck_assert (from_hex != NULL && g_bytes_equal (from_hex, key));
  g_autoptr (GBytes) from_raw = dk_net_load_key_file (raw_file, NULL);
  ck_assert (from_raw != NULL && g_bytes_get_size (from_raw) == 28);
  g_autoptr (GError) error = NULL;
  ck_assert (dk_net_load_key_file (short_file, &error) == NULL);
  ck_assert (strstr (error->message, short_file) != NULL);
  g_clear_error (&error);
  ck_assert (dk_net_load_key_file ("/nonexistent/dynkv.key", &error) == NULL);
  g_unlink (hex_file);
  g_unlink (raw_file);
  g_unlink (short_file);
  g_rmdir (dir);
}
END_TEST

/* Every node builds the ring from the same peers in whatever order they
 * were listed: the rings agree. */
START_TEST (net_ring_is_the_same_whatever_the_peer_order)
{
  g_autoptr (GArray) forward = dk_net_peers_new ();
  g_autoptr (GArray) backward = dk_net_peers_new ();
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", 7000 + i);
      g_autofree char *other = g_strdup_printf ("127.0.0.1:%u", 7000 + 6 - i);
      ck_assert (dk_net_peers_add (forward, i, address, NULL));
      ck_assert (dk_net_peers_add (backward, 6 - i, other, NULL));
    }
  dk_net_peers_sort (backward);
  g_autoptr (DkRing) a = dk_net_ring_new (forward, 64, NULL);
  g_autoptr (DkRing) b = dk_net_ring_new (backward, 64, NULL);
  ck_assert (a != NULL && b != NULL);
  ck_assert (dk_ring_equal (a, b));
  ck_assert_str_eq (dk_ring_lookup_node (a, 3)->name, "n3");
  ck_assert (dk_net_ring_new (forward, 0, NULL) == NULL);
}
END_TEST

START_TEST (net_log_levels_parse)
{
  DkLogLevel level = DK_LOG_ERROR;
  ck_assert (dk_log_level_parse ("DEBUG", &level, NULL));
  ck_assert_int_eq (level, DK_LOG_DEBUG);
  ck_assert (dk_log_level_parse ("warning", &level, NULL));
  ck_assert_int_eq (level, DK_LOG_WARNING);
  ck_assert (!dk_log_level_parse ("loud", &level, NULL));
  ck_assert_str_eq (dk_log_level_name (DK_LOG_INFO), "info");
}
END_TEST

Suite *
net_suite (void)
{
  Suite *suite = suite_create ("net");
  TCase *loopback = tcase_create ("loopback");
  dk_tcase_no_wall_limit (loopback);
  tcase_add_test (loopback, net_put_get_delete_across_three_nodes);
  tcase_add_test (loopback, net_request_to_non_replica_is_proxied_to_the_owner);
  tcase_add_test (loopback, net_malformed_datagrams_are_dropped_and_counted);
  tcase_add_test (loopback, net_oversize_datagram_is_dropped_by_the_environment);
  tcase_add_test (loopback, net_unsigned_datagram_is_dropped_when_the_cluster_is_keyed);
  tcase_add_test (loopback, net_client_table_is_bounded_and_evicts_the_oldest);
  tcase_add_test (loopback, net_unvalidated_source_gets_no_larger_reply_and_is_not_remembered);
  tcase_add_test (loopback, net_client_key_cannot_sign_node_messages);
  tcase_add_test (loopback, net_timers_fire_in_deadline_order);
  tcase_add_test (loopback, net_random_stream_is_seeded_by_seed_and_id);
  tcase_add_test (loopback, net_env_refuses_a_taken_port_and_a_bad_data_dir);
  tcase_add_test (loopback, net_store_lives_in_the_data_directory);
  tcase_add_test (loopback, net_ack_never_precedes_its_commit);
  tcase_add_test (loopback, net_node_status_goes_only_to_a_validated_source);
  suite_add_tcase (suite, loopback);

  TCase *helpers = tcase_create ("helpers");
  tcase_add_test (helpers, net_peer_specs_are_parsed_and_checked);
  tcase_add_test (helpers, net_hex_and_keys_round_trip_and_are_bounded);
  tcase_add_test (helpers, net_ring_is_the_same_whatever_the_peer_order);
  tcase_add_test (helpers, net_log_levels_parse);
  suite_add_tcase (suite, helpers);
  return suite;
}
