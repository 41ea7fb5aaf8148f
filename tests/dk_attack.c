/* dk_attack.c — the attacks of issue 11, as a tool for
 * tests/attack-loopback.sh: datagrams a real client never sends, aimed at
 * a dynkvd on loopback.
 *
 *   dk-attack gossip NODE [KEYFILE]    a forged GOSSIP from a fresh address:
 *                                      member 99 of weight 1024 joins, member
 *                                      2 leaves (signed with KEYFILE if given)
 *   dk-attack write NODE KEYFILE KEY VALUE
 *                                      a replica WRITE signed with KEYFILE
 *   dk-attack amplify NODE KEY         an unsigned GET from a fresh address:
 *                                      prints the request's and the largest
 *                                      reply's sizes
 *   dk-attack flood NODE COUNT KEY     a client validates itself with a GET
 *                                      of KEY, then COUNT junk datagrams and
 *                                      COUNT well-formed GETs come from as
 *                                      many fresh source ports, then the
 *                                      client asks again from its own port
 *
 * Each prints one line a test greps; exit 0 when it ran (the line says
 * what happened), 2 on a usage error.  Waits are bounded by ANSWER_MS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "net/net_config.h"
#include "wire.h"

#define ANSWER_MS 500

static GSocket *
fresh_socket (void)
{
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, NULL);
  if (socket == NULL)
    return NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  if (!g_socket_bind (socket, any_port, FALSE, NULL))
    g_clear_object (&socket);
  return socket;
}

static guint16
local_port (GSocket *socket)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  return local != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

/* Encode MESSAGE, sign it with KEY when given (stamped now, any node). */
static GByteArray *
datagram_of (const DkWireMessage *message, GBytes *key)
{
  GByteArray *datagram = dk_wire_encode (message, NULL);
  g_assert (datagram != NULL);
  if (key != NULL)
    {
      DkWireStamp stamp = { g_get_real_time (), g_random_int (), DK_NODE_NONE };
      dk_wire_sign_stamped (datagram, g_bytes_get_data (key, NULL), g_bytes_get_size (key),
                            &stamp);
    }
  return datagram;
}

static gboolean
send_to (GSocket *socket, GSocketAddress *to, const guint8 *data, gsize len)
{
  return g_socket_send_to (socket, to, (const gchar *) data, len, NULL, NULL) == (gssize) len;
}

/* The next datagram within ANSWER_MS into BUFFER: its length, or -1. */
static gssize
receive (GSocket *socket, guint8 *buffer, gsize size)
{
  if (!g_socket_condition_timed_wait (socket, G_IO_IN, ANSWER_MS * 1000, NULL, NULL))
    return -1;
  return g_socket_receive (socket, (gchar *) buffer, size, NULL, NULL);
}

static DkWireMessage *
get_request (const char *key, guint64 request_id)
{
  DkWireMessage *get = dk_wire_message_new (DK_WIRE_GET);
  get->request_id = request_id;
  get->body.client_request.client_id = ((guint64) g_random_int () << 32) | 1;
  get->body.client_request.client_request_id = ((guint64) g_random_int () << 32) | g_random_int ();
  get->body.client_request.key = g_bytes_new (key, strlen (key));
  return get;
}

static int
attack_gossip (GSocketAddress *node, GBytes *key)
{
  g_autoptr (GSocket) socket = fresh_socket ();
  g_autoptr (DkWireMessage) gossip = dk_wire_message_new (DK_WIRE_GOSSIP);
  gossip->sender = 99;
  gossip->body.gossip.kind = DK_WIRE_GOSSIP_PROBE;
  DkWireMember attacker = {
    .node = 99, .name = g_strdup ("n99"),
    .address = g_strdup_printf ("127.0.0.1:%u", local_port (socket)),
    .datacenter = g_strdup (""), .rack = g_strdup (""), .vnodes = 1024,
    .heartbeat = 1, .incarnation = 1, .state = DK_WIRE_MEMBER_UP, .verdict = DK_WIRE_MEMBER_UP,
  };
  DkWireMember victim = {
    .node = 2, .name = g_strdup ("n2"), .address = g_strdup (""),
    .datacenter = g_strdup (""), .rack = g_strdup (""), .vnodes = 1,
    .heartbeat = 1000, .incarnation = G_GUINT64_CONSTANT (1) << 40,
    .state = DK_WIRE_MEMBER_LEAVING, .verdict = DK_WIRE_MEMBER_UP,
  };
  g_array_append_val (gossip->body.gossip.members, attacker);
  g_array_append_val (gossip->body.gossip.members, victim);
  g_autoptr (GByteArray) datagram = datagram_of (gossip, key);
  guint answers = 0;
  for (int i = 0; i < 3; i++)   /* a few times: loss is not what is tested */
    {
      send_to (socket, node, datagram->data, datagram->len);
      guint8 buffer[65536];
      while (receive (socket, buffer, sizeof buffer) >= 0)
        answers++;
    }
  printf ("gossip: sent %u bytes 3 times, %u answers\n", datagram->len, answers);
  return 0;
}

static int
attack_write (GSocketAddress *node, GBytes *key, const char *name, const char *value)
{
  g_autoptr (GSocket) socket = fresh_socket ();
  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->request_id = 7;
  write->sender = 2;   /* it claims to be a member, but comes from elsewhere */
  write->body.write.key = g_bytes_new (name, strlen (name));
  DkDot dot = { dk_actor_make (2, 77), 1, g_get_real_time () };
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));
  g_ptr_array_add (write->body.write.siblings, dk_version_new (dot, NULL, bytes, FALSE));
  g_autoptr (GByteArray) datagram = datagram_of (write, key);
  send_to (socket, node, datagram->data, datagram->len);
  guint8 buffer[65536];
  gssize len = receive (socket, buffer, sizeof buffer);
  printf ("write: %s\n", len >= 0 ? "acknowledged" : "no answer");
  return 0;
}

static int
attack_amplify (GSocketAddress *node, const char *name)
{
  g_autoptr (GSocket) socket = fresh_socket ();
  g_autoptr (DkWireMessage) get = get_request (name, 12345);
  g_autoptr (GByteArray) datagram = datagram_of (get, NULL);
  send_to (socket, node, datagram->data, datagram->len);
  gsize largest = 0, total = 0;
  const char *status = "none";
  guint8 buffer[65536];
  gssize len;
  while ((len = receive (socket, buffer, sizeof buffer)) >= 0)
    {
      largest = MAX (largest, (gsize) len);
      total += (gsize) len;
      g_autoptr (DkWireMessage) reply = dk_wire_decode (buffer, (gsize) len, NULL);
      if (reply != NULL && reply->type == DK_WIRE_CLIENT_REPLY)
        status = reply->body.client_reply.status == DK_WIRE_STATUS_RETRY ? "retry"
                 : reply->body.client_reply.status == DK_WIRE_STATUS_OK ? "ok" : "other";
    }
  printf ("amplify: request %u bytes, largest reply %" G_GSIZE_FORMAT " bytes, all replies %"
          G_GSIZE_FORMAT " bytes, status %s\n", datagram->len, largest, total, status);
  return 0;
}

/* A GET of NAME from SOCKET, answering a RETRY with its cookie when
 * FOLLOW_COOKIE; the final status's name. */
static const char *
client_get (GSocket *socket, GSocketAddress *node, const char *name, gboolean follow_cookie)
{
  g_autoptr (DkWireMessage) get = get_request (name, g_random_int ());
  for (int round = 0; round < 3; round++)
    {
      g_autoptr (GByteArray) datagram = datagram_of (get, NULL);
      send_to (socket, node, datagram->data, datagram->len);
      guint8 buffer[65536];
      gssize len;
      DkWireStatus status = DK_WIRE_STATUS_INVALID;
      guint64 cookie = 0;
      gboolean answered = FALSE;
      while (!answered && (len = receive (socket, buffer, sizeof buffer)) >= 0)
        {
          g_autoptr (DkWireMessage) reply = dk_wire_decode (buffer, (gsize) len, NULL);
          if (reply == NULL || reply->type != DK_WIRE_CLIENT_REPLY
              || reply->body.client_reply.client_request_id
                 != get->body.client_request.client_request_id)
            continue;
          answered = TRUE;
          status = reply->body.client_reply.status;
          cookie = reply->request_id;
        }
      if (!answered)
        return "none";
      if (status != DK_WIRE_STATUS_RETRY)
        return status == DK_WIRE_STATUS_OK ? "ok" : status == DK_WIRE_STATUS_NOT_FOUND
               ? "not-found" : "failed";
      if (!follow_cookie)
        return "retry";
      get->request_id = cookie;
    }
  return "retry";
}

static int
attack_flood (GSocketAddress *node, guint count, const char *name)
{
  g_autoptr (GSocket) client = fresh_socket ();
  const char *before = client_get (client, node, name, TRUE);
  guint8 junk[64];
  memset (junk, 0xA5, sizeof junk);
  guint sent = 0;
  for (guint i = 0; i < 2 * count; i++)
    {
      g_autoptr (GSocket) socket = fresh_socket ();
      if (socket == NULL)
        continue;
      if (i % 2 == 0)
        sent += send_to (socket, node, junk, sizeof junk);
      else
        {
          g_autoptr (DkWireMessage) get = get_request (name, i);
          g_autoptr (GByteArray) datagram = datagram_of (get, NULL);
          sent += send_to (socket, node, datagram->data, datagram->len);
        }
      g_socket_close (socket, NULL);
      if (i % 500 == 499)
        g_usleep (2000);   /* pace, so the node's socket buffer is not what drops them */
    }
  const char *after = client_get (client, node, name, FALSE);
  printf ("flood: %u datagrams from fresh ports; the client before: %s, after: %s\n",
          sent, before, after);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: dk-attack gossip|write|amplify|flood NODE ...\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) resolved = dk_net_resolve (argv[2], FALSE, &error);
  if (resolved == NULL)
    {
      fprintf (stderr, "dk-attack: %s\n", error->message);
      return 2;
    }
  GSocketAddress *node = G_SOCKET_ADDRESS (resolved);
  const char *command = argv[1];
  g_autoptr (GBytes) key = NULL;
  if ((strcmp (command, "gossip") == 0 && argc == 4)
      || (strcmp (command, "write") == 0 && argc == 6))
    {
      key = dk_net_load_key_file (argv[3], &error);
      if (key == NULL)
        {
          fprintf (stderr, "dk-attack: %s\n", error->message);
          return 2;
        }
    }
  if (strcmp (command, "gossip") == 0 && argc <= 4)
    return attack_gossip (node, key);
  if (strcmp (command, "write") == 0 && argc == 6)
    return attack_write (node, key, argv[4], argv[5]);
  if (strcmp (command, "amplify") == 0 && argc == 4)
    return attack_amplify (node, argv[3]);
  if (strcmp (command, "flood") == 0 && argc == 5)
    return attack_flood (node, (guint) atoi (argv[3]), argv[4]);
  fprintf (stderr, "dk-attack: bad arguments for '%s'\n", command);
  return 2;
}
