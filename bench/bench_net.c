/* bench_net.c — get latency on a real 3-node loopback cluster against a raw
 * UDP ping-pong measured in the same run.
 *
 * Three nodes (N=3, R=2, W=2, stores in a temporary directory) run
 * in-process on one GMainContext in a thread of their own; an echo thread
 * answers raw datagrams from a second socket.  The client, in the main
 * thread, writes KEYS keys and then alternates blocks of gets (through
 * node 1, which coordinates: it reads its own replica and asks the other
 * two) and blocks of ping-pongs of the same size, so both see the same
 * machine noise.  A get costs two network round trips (client-node,
 * node-replicas) plus the node's work, so its p50 should stay within 3x
 * the raw round trip.  DK_BENCH_SCALE scales the number of operations. */
#include <string.h>
#include <sys/socket.h>
#include <glib/gstdio.h>
#include "bench.h"
#include "net/net_config.h"
#include "net/udp_env.h"
#include "node.h"
#include "wire.h"

#define NODES 3
#define KEYS 200
#define BLOCK 100
#define OP_TIMEOUT_US 1000000
#define BUDGET_US (60 * G_USEC_PER_SEC)

typedef struct
{
  GMainContext *context;
  GMainLoop    *loop;
  DkUdpEnv     *envs[NODES + 1];
  DkNode       *nodes[NODES + 1];
  DkRing       *ring;
  char         *dir;
} Cluster;

static gpointer
cluster_thread (gpointer data)
{
  Cluster *cluster = data;
  g_main_context_push_thread_default (cluster->context);
  g_main_loop_run (cluster->loop);
  g_main_context_pop_thread_default (cluster->context);
  return NULL;
}

static void
cluster_start (Cluster *cluster)
{
  g_autoptr (GError) error = NULL;
  cluster->dir = g_dir_make_tmp ("dk-bench-net-XXXXXX", &error);
  g_assert_no_error (error);
  cluster->context = g_main_context_new ();
  cluster->loop = g_main_loop_new (cluster->context, FALSE);
  g_autoptr (GArray) peers = dk_net_peers_new ();
  for (guint i = 1; i <= NODES; i++)
    {
      g_autofree char *data_dir = g_strdup_printf ("%s/n%u", cluster->dir, i);
      DkUdpEnvConfig config;
      dk_udp_env_config_init (&config);
      config.id = i;
      config.listen = "127.0.0.1:0";
      config.data_dir = data_dir;
      config.context = cluster->context;
      config.log_level = DK_LOG_WARNING;
      cluster->envs[i] = dk_udp_env_new (&config, &error);
      g_assert_no_error (error);
      dk_net_peers_add (peers, i, dk_udp_env_address (cluster->envs[i]), &error);
      g_assert_no_error (error);
    }
  cluster->ring = dk_net_ring_new (peers, 64, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= NODES; i++)
    {
      for (guint p = 0; p < peers->len; p++)
        {
          const DkNetPeer *peer = &g_array_index (peers, DkNetPeer, p);
          dk_udp_env_add_peer (cluster->envs[i], peer->id, peer->address, &error);
          g_assert_no_error (error);
        }
      DkNodeConfig config;
      dk_node_config_init (&config);
      config.id = i;
      cluster->nodes[i] = dk_node_new (&config, dk_udp_env_get (cluster->envs[i]),
                                       cluster->ring, &error);
      g_assert_no_error (error);
      dk_udp_env_set_node (cluster->envs[i], cluster->nodes[i]);
    }
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      if (dir != NULL)
        g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
cluster_stop (Cluster *cluster)
{
  for (guint i = 1; i <= NODES; i++)
    {
      dk_udp_env_set_node (cluster->envs[i], NULL);
      dk_node_free (cluster->nodes[i]);
      dk_udp_env_free (cluster->envs[i]);
    }
  dk_ring_free (cluster->ring);
  g_main_loop_unref (cluster->loop);
  g_main_context_unref (cluster->context);
  remove_tree (cluster->dir);
  g_free (cluster->dir);
}

/* ---- the echo side of the baseline ---------------------------------------- */

static gint echo_stop;

/* Plain blocking recvfrom/sendto on the descriptor: the rawest round trip. */
static gpointer
echo_thread (gpointer data)
{
  int fd = g_socket_get_fd (data);
  guint8 buffer[2048];
  while (!g_atomic_int_get (&echo_stop))
    {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      ssize_t len = recvfrom (fd, buffer, sizeof buffer, 0, (struct sockaddr *) &from, &from_len);
      if (len == 4 && memcmp (buffer, "quit", 4) == 0)
        break;
      if (len >= 0)
        sendto (fd, buffer, (size_t) len, 0, (struct sockaddr *) &from, from_len);
    }
  return NULL;
}

static GSocket *
loopback_socket (gboolean blocking)
{
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_assert (socket != NULL && g_socket_bind (socket, address, FALSE, NULL));
  g_socket_set_blocking (socket, blocking);
  return socket;
}

/* ---- the client ----------------------------------------------------------- */

/* Send DATAGRAM to TO and wait for a reply accepted by IS_REPLY; the round
 * trip in microseconds, or -1 after OP_TIMEOUT_US. */
typedef gboolean (*IsReply) (const guint8 *data, gsize len, guint64 id);

static gint64
round_trip (GSocket *socket, GSocketAddress *to, const GByteArray *datagram,
            IsReply is_reply, guint64 id)
{
  static guint8 buffer[65536];
  gint64 start = g_get_monotonic_time ();
  g_socket_send_to (socket, to, (const gchar *) datagram->data, datagram->len, NULL, NULL);
  for (;;)
    {
      gint64 left = start + OP_TIMEOUT_US - g_get_monotonic_time ();
      if (left <= 0 || !g_socket_condition_timed_wait (socket, G_IO_IN, left, NULL, NULL))
        return -1;
      gssize len = g_socket_receive (socket, (gchar *) buffer, sizeof buffer, NULL, NULL);
      if (len >= 0 && is_reply (buffer, (gsize) len, id))
        return g_get_monotonic_time () - start;
    }
}

static gboolean
is_client_reply (const guint8 *data, gsize len, guint64 id)
{
  g_autoptr (DkWireMessage) reply = dk_wire_decode (data, len, NULL);
  return reply != NULL && reply->type == DK_WIRE_CLIENT_REPLY
         && reply->body.client_reply.client_request_id == id
         && reply->body.client_reply.status == DK_WIRE_STATUS_OK;
}

static gboolean
is_echo (const guint8 *data, gsize len, guint64 id)
{
  return len >= 8 && memcmp (data, &id, 8) == 0;
}

static GByteArray *
client_request (DkWireType type, guint64 id, const char *key, const char *value)
{
  g_autoptr (DkWireMessage) message = dk_wire_message_new (type);
  message->request_id = id;
  message->body.client_request.client_request_id = id;
  message->body.client_request.key = g_bytes_new (key, strlen (key));
  if (value != NULL)
    message->body.client_request.value = g_bytes_new (value, strlen (value));
  return dk_wire_encode (message, NULL);
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return (x > y) - (x < y);
}

static double
percentile (GArray *samples, double p)
{
  if (samples->len == 0)
    return 0;
  g_array_sort (samples, compare_gint64);
  guint index = (guint) (p * (samples->len - 1) + 0.5);
  return (double) g_array_index (samples, gint64, index);
}

int
main (void)
{
  long gets = bench_scaled (2000);
  Cluster cluster = { 0 };
  cluster_start (&cluster);
  GThread *nodes_thread = g_thread_new ("cluster", cluster_thread, &cluster);

  GSocket *echo = loopback_socket (TRUE);
  GThread *echoer = g_thread_new ("echo", echo_thread, echo);
  g_autoptr (GSocketAddress) echo_address = g_socket_get_local_address (echo, NULL);

  GSocket *client = loopback_socket (FALSE);
  g_autoptr (GInetSocketAddress) node1 =
    dk_net_resolve (dk_udp_env_address (cluster.envs[1]), FALSE, NULL);

  guint64 id = 1;
  guint failures = 0;
  gint64 budget_end = g_get_monotonic_time () + BUDGET_US;
  for (guint k = 0; k < KEYS; k++)
    {
      char key[32], value[64];
      g_snprintf (key, sizeof key, "bench-key-%u", k);
      g_snprintf (value, sizeof value, "value of key %u, a few dozen bytes long", k);
      g_autoptr (GByteArray) put = client_request (DK_WIRE_PUT, id, key, value);
      if (round_trip (client, G_SOCKET_ADDRESS (node1), put, is_client_reply, id++) < 0)
        failures++;
    }

  g_autoptr (GArray) get_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) ping_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  long done = 0;
  while (done < gets && g_get_monotonic_time () < budget_end)
    {
      long block = MIN (BLOCK, gets - done);
      for (long i = 0; i < block; i++)
        {
          char key[32];
          g_snprintf (key, sizeof key, "bench-key-%u", (guint) ((done + i) % KEYS));
          g_autoptr (GByteArray) get = client_request (DK_WIRE_GET, id, key, NULL);
          gint64 us = round_trip (client, G_SOCKET_ADDRESS (node1), get, is_client_reply, id++);
          if (us < 0)
            failures++;
          else
            g_array_append_val (get_us, us);
        }
      for (long i = 0; i < block; i++)
        {
          /* Same size as a get, tagged with its id. */
          g_autoptr (GByteArray) ping = client_request (DK_WIRE_GET, id, "bench-key-0", NULL);
          memcpy (ping->data, &id, 8);
          gint64 us = round_trip (client, echo_address, ping, is_echo, id++);
          if (us >= 0)
            g_array_append_val (ping_us, us);
        }
      done += block;
    }

  g_atomic_int_set (&echo_stop, 1);
  for (int i = 0; i < 3; i++)  /* loopback loses nothing, but be sure */
    g_socket_send_to (client, echo_address, "quit", 4, NULL, NULL);
  g_thread_join (echoer);
  g_main_loop_quit (cluster.loop);
  g_thread_join (nodes_thread);

  printf ("net: %u gets of %d keys on 3 loopback nodes (N=3 R=2), %u ping-pongs, %u failures\n",
          get_us->len, KEYS, ping_us->len, failures);
  double get_p50 = percentile (get_us, 0.50), get_p99 = percentile (get_us, 0.99);
  double ping_p50 = percentile (ping_us, 0.50), ping_p99 = percentile (ping_us, 0.99);
  bench_report_ratio ("net.get.p50", get_p50, ping_p50, "us", "<= 3");
  bench_report_ratio ("net.get.p99", get_p99, ping_p99, "us", NULL);

  g_object_unref (client);
  g_object_unref (echo);
  cluster_stop (&cluster);
  return failures == 0 ? 0 : 1;
}
