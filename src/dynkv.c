/* dynkv.c — the command-line client of a dynkv cluster.
 *
 *   dynkv --node 127.0.0.1:7001 put KEY VALUE [--context HEX]
 *   dynkv --node 127.0.0.1:7001 get KEY
 *   dynkv --node 127.0.0.1:7001 delete KEY [--context HEX]
 *   dynkv --node 127.0.0.1:7001 status
 *   dynkv --node 127.0.0.1:7001 stats [--json]
 *   dynkv --peer 1=HOST:PORT --peer 2=... ring [KEY]
 *
 * --node may be repeated (or list several, comma-separated): a request
 * the node asked does not answer within --timeout-ms goes, unchanged, to
 * the next one (get, put, delete, status and stats).  `status` asks the
 * first node that answers for its member list and then every member for
 * its own figures (NODE_STATUS, wire.h), all at once (status_ask_all), one
 * line per member; `stats` prints one node's counters.
 *
 * A request is one datagram carrying a client id (random per run, or
 * --client-id) and a client request id (random, or --request-id); the
 * client waits for the CLIENT_REPLY with that id, resending the same
 * request at most --retries times within --timeout-ms.  The node
 * remembers the request by those ids, so a resent (or repeated) put is
 * answered with the first answer, never applied twice.  With a key file
 * every send is signed afresh: stamped with the wall clock, a random
 * nonce and the id of the node it is for (learnt with a PING first), as
 * a node refuses a stamp it has seen before (node.h).
 *
 * A get whose siblings do not fit one reply comes back with the whole
 * set's context, digest and size and the first siblings; the client asks
 * for the rest (GETs with a sibling offset, each a request of its own)
 * and prints the whole set.  Should the set change between its parts (the
 * digest says so), the read starts over, a few times at most.  A write the
 * node refuses as over the sibling limit prints the key's current context
 * too, so that a write carrying it resolves the siblings.
 * Exit status: 0 ok, 1 not found, 2 usage error, 3 failure. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynkv_bench.h"
#include "net/net_config.h"
#include "ring.h"
#include "version.h"
#include "wire.h"

enum
{
  EXIT_OK = 0,
  EXIT_NOT_FOUND = 1,
  EXIT_USAGE = 2,
  EXIT_FAILED = 3
};

#define DEFAULT_TIMEOUT_MS 3000
#define DEFAULT_RETRIES 1
#define DEFAULT_VNODES 64
#define DEFAULT_N 3
/* A get whose set changed between its parts starts over at most this
 * many times. */
#define MAX_PAGE_RESTARTS 4

typedef struct
{
  GSocket        *socket;
  GSocketFamily   family;     /* of SOCKET */
  char          **nodes;      /* every --node, in the order to try them */
  guint           current;    /* the one asked now */
  GSocketAddress *node;       /* where requests go now (client_aim) */
  char           *node_text;
  DkNodeId        node_id;    /* learnt from a PONG when keyed; 0: unknown */
  GBytes         *key;        /* cluster key, or NULL */
  gint64          timeout_us; /* for the whole exchange */
  guint           retries;
  guint8         *buffer;
  const char     *save_path;  /* tests: write the first datagram sent here */
} Client;

/* What a reply must match to be ours. */
typedef struct
{
  DkWireType type;
  guint64    request_id;        /* PONG: the header id */
  guint64    client_request_id; /* CLIENT_REPLY: the end-to-end id */
} Expect;

static guint64
random_id (void)
{
  return ((guint64) g_random_int () << 32) | g_random_int ();
}

static const char *
status_name (DkWireStatus status)
{
  static const char *const names[] = {
    [DK_WIRE_STATUS_OK] = "ok",
    [DK_WIRE_STATUS_NOT_FOUND] = "not found",
    [DK_WIRE_STATUS_UNAVAILABLE] = "unavailable (quorum not met)",
    [DK_WIRE_STATUS_TIMEOUT] = "timeout at the coordinator",
    [DK_WIRE_STATUS_INVALID] = "invalid request",
    [DK_WIRE_STATUS_TOO_LARGE] = "too large",
    [DK_WIRE_STATUS_STORAGE_ERROR] = "storage error",
    [DK_WIRE_STATUS_OVERLOADED] = "overloaded",
    [DK_WIRE_STATUS_RETRY] = "retry with a cookie",
  };
  return (guint) status < G_N_ELEMENTS (names) ? names[status] : "unknown status";
}

static gboolean
matches (const DkWireMessage *reply, const Expect *expect)
{
  if (reply->type != expect->type)
    return FALSE;
  if (reply->type == DK_WIRE_CLIENT_REPLY)
    return reply->body.client_reply.client_request_id == expect->client_request_id;
  if (reply->type == DK_WIRE_NODE_STATUS_REPLY)
    return reply->body.node_status_reply.client_request_id == expect->client_request_id;
  if (reply->type == DK_WIRE_ADMIN_REPLY)
    return reply->body.admin_reply.client_request_id == expect->client_request_id;
  return reply->request_id == expect->request_id;
}

/* A RETRY (node.h: the node does not know our address yet) of the
 * request EXPECT describes, whatever reply that request wants. */
static gboolean
is_retry (const DkWireMessage *reply, const Expect *expect)
{
  return reply->type == DK_WIRE_CLIENT_REPLY
         && reply->body.client_reply.status == DK_WIRE_STATUS_RETRY
         && reply->body.client_reply.client_request_id == expect->client_request_id
         && expect->type != DK_WIRE_PONG;
}

static gboolean
send_bytes (Client *client, const guint8 *data, gsize len, GError **error)
{
  gssize sent = g_socket_send_to (client->socket, client->node, (const gchar *) data, len,
                                  NULL, error);
  return sent >= 0;
}

/* Send the encoded MESSAGE to TO, signed afresh for node TO_ID when
 * keyed: a resend carries a new stamp, since the node drops a stamp it has
 * already accepted. */
static gboolean
send_datagram_to (Client *client, GSocketAddress *to, DkNodeId to_id, const GByteArray *message,
                  GError **error)
{
  g_autoptr (GByteArray) datagram = g_byte_array_sized_new (message->len + DK_WIRE_TAG_BYTES);
  g_byte_array_append (datagram, message->data, message->len);
  if (client->key != NULL)
    {
      DkWireStamp stamp = { g_get_real_time (), random_id (), to_id };
      dk_wire_sign_stamped (datagram, g_bytes_get_data (client->key, NULL),
                            g_bytes_get_size (client->key), &stamp);
    }
  if (client->save_path != NULL)
    {
      if (!g_file_set_contents (client->save_path, (const gchar *) datagram->data,
                                datagram->len, error))
        return FALSE;
      client->save_path = NULL;  /* the first send only */
    }
  return g_socket_send_to (client->socket, to, (const gchar *) datagram->data, datagram->len,
                           NULL, error) >= 0;
}

/* send_datagram_to the node aimed at. */
static gboolean
send_datagram (Client *client, const GByteArray *message, GError **error)
{
  return send_datagram_to (client, client->node, client->node_id, message, error);
}

/* The next datagram from the node within WAIT_US that decodes (and
 * verifies, when keyed), or NULL. */
static DkWireMessage *
receive_one (Client *client, gint64 wait_us)
{
  g_autoptr (GError) wait_error = NULL;
  if (!g_socket_condition_timed_wait (client->socket, G_IO_IN, MAX (wait_us, 1), NULL,
                                      &wait_error))
    return NULL;
  g_autoptr (GError) receive_error = NULL;
  gssize len = g_socket_receive (client->socket, (gchar *) client->buffer, 65536, NULL,
                                 &receive_error);
  if (len < 0)
    return NULL;  /* e.g. ICMP port unreachable reported on a later receive */
  if (client->key != NULL
      && !dk_wire_verify (client->buffer, (gsize) len, g_bytes_get_data (client->key, NULL),
                          g_bytes_get_size (client->key), NULL))
    return NULL;
  return dk_wire_decode (client->buffer, (gsize) len, NULL);
}

/* A node that answers RETRY (a cookie) again and again is not believed
 * past this. */
#define MAX_COOKIES 3

/* Send REQUEST and wait for the reply EXPECT describes; NULL with an
 * error after --timeout-ms.  Datagrams that are not ours, do not decode or
 * fail authentication are ignored.  A RETRY is answered by sending the
 * request again with the cookie as its header id (REQUEST keeps it). */
static DkWireMessage *
exchange (Client *client, DkWireMessage *request, const Expect *expect, GError **error)
{
  g_autoptr (GByteArray) datagram = dk_wire_encode (request, error);
  if (datagram == NULL)
    return NULL;

  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + client->timeout_us;
  gint64 interval = client->timeout_us / (client->retries + 1);
  gint64 next_send = start;
  guint sends = 0, cookies = 0;
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      if (now >= deadline)
        break;
      if (now >= next_send && sends <= client->retries)
        {
          if (!send_datagram (client, datagram, error))
            return NULL;
          sends++;
          next_send = start + interval * sends;
        }
      gint64 wake = sends <= client->retries ? MIN (next_send, deadline) : deadline;
      DkWireMessage *reply = receive_one (client, wake - now);
      if (reply != NULL && is_retry (reply, expect) && cookies < MAX_COOKIES)
        {
          /* The node does not know our address yet (node.h): send the
           * request again at once, its header id the cookie it gave. */
          request->request_id = reply->request_id;
          dk_wire_message_free (reply);
          g_byte_array_unref (datagram);
          datagram = dk_wire_encode (request, error);
          if (datagram == NULL || !send_datagram (client, datagram, error))
            return NULL;
          cookies++;
          continue;
        }
      if (reply != NULL && matches (reply, expect))
        return reply;
      g_clear_pointer (&reply, dk_wire_message_free);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "no answer from %s within %" G_GINT64_FORMAT " ms (%u sends)",
               client->node_text, client->timeout_us / 1000, sends);
  return NULL;
}

/* ---- nodes and failover ------------------------------------------------- */

/* Send to ADDRESS ("HOST:PORT") from now on, signing for node ID when
 * keyed (0: learn it with a PING first).  The socket is opened on first
 * use, and again should ADDRESS be of another family. */
static gboolean
client_aim (Client *client, const char *address, DkNodeId id, GError **error)
{
  g_autoptr (GInetSocketAddress) resolved = dk_net_resolve (address, FALSE, error);
  if (resolved == NULL)
    return FALSE;
  GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (resolved));
  if (client->socket == NULL || family != client->family)
    {
      if (client->socket != NULL)
        g_socket_close (client->socket, NULL);
      g_clear_object (&client->socket);
      client->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
      if (client->socket == NULL)
        return FALSE;
      g_socket_set_blocking (client->socket, FALSE);
      g_autoptr (GInetAddress) any = g_inet_address_new_any (family);
      g_autoptr (GSocketAddress) local = g_inet_socket_address_new (any, 0);
      if (!g_socket_bind (client->socket, local, FALSE, error))
        return FALSE;
      client->family = family;
    }
  g_clear_object (&client->node);
  client->node = G_SOCKET_ADDRESS (g_steal_pointer (&resolved));
  g_free (client->node_text);
  client->node_text = g_strdup (address);
  client->node_id = id;
  if (client->buffer == NULL)
    client->buffer = g_malloc (65536);
  return TRUE;
}

/* Failover: after ERROR (a timeout) at the node asked now, aim at the
 * next --node and clear ERROR; FALSE (ERROR kept) when it was no timeout
 * or no node is left.  WHAT names the request in the note printed.  (main
 * resolved every --node once already.) */
static gboolean
client_fail_over (Client *client, const char *what, GError **error)
{
  if (!g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
      || client->nodes[client->current + 1] == NULL)
    return FALSE;
  const char *next = client->nodes[++client->current];
  g_printerr ("dynkv: %s: %s; trying %s\n", what, (*error)->message, next);
  g_clear_error (error);
  return client_aim (client, next, DK_NODE_NONE, error);
}

/* The --node options (each repeatable, or comma-separated) as one list,
 * in order. */
static char **
split_nodes (char **specs)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; specs != NULL && specs[i] != NULL; i++)
    {
      g_auto (GStrv) parts = g_strsplit (specs[i], ",", -1);
      for (guint k = 0; parts[k] != NULL; k++)
        {
          g_strstrip (parts[k]);
          if (parts[k][0] != '\0')
            g_strv_builder_add (builder, parts[k]);
        }
    }
  return g_strv_builder_end (builder);
}

/* ---- output ---------------------------------------------------------------- */

/* VALUE for a terminal: as is when printable UTF-8, else C-escaped. */
static char *
printable (GBytes *value)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (value, &len);
  gboolean plain = data == NULL || g_utf8_validate_len (data, len, NULL);
  for (gsize i = 0; plain && i < len; i++)
    plain = (guchar) data[i] >= 0x20 && data[i] != 0x7f;
  if (plain)
    return g_strndup (data != NULL ? data : "", len);
  g_autofree char *nul_terminated = g_strndup (data, len);
  if (strlen (nul_terminated) != len)
    {
      g_autofree char *hex = dk_net_hex_encode ((const guint8 *) data, len);
      return g_strconcat ("hex:", hex, NULL);
    }
  return g_strescape (nul_terminated, NULL);
}

static char *
context_hex (const DkVclock *context)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  dk_vclock_encode (context, bytes);
  return dk_net_hex_encode (bytes->data, bytes->len);
}

static void
print_siblings (const DkWireClientReply *reply)
{
  printf ("siblings %u\n", reply->siblings->len);
  for (guint i = 0; i < reply->siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (reply->siblings, i);
      char dot[DK_DOT_STRING_SIZE];
      g_autofree char *context = dk_vclock_to_string (version->context);
      g_autofree char *value = printable (version->value);
      printf ("sibling %u/%u tombstone=%s dot=%s context=%s value=%s\n", i + 1,
              reply->siblings->len, version->tombstone ? "yes" : "no",
              dk_dot_format (version->dot, dot), context, version->tombstone ? "" : value);
    }
}

/* ---- commands ------------------------------------------------------------- */

typedef struct
{
  const char *context_hex;
  gint        r, w;
  guint64     client_id;   /* 0: a random one */
  guint64     request_id;  /* 0: a random one */
} RequestOptions;

static gboolean
check_key (const char *key, GError **error)
{
  gsize len = strlen (key);
  if (len >= 1 && len <= DK_KEY_MAX_BYTES)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "the key is %" G_GSIZE_FORMAT " bytes; keys are 1 to %u bytes", len,
               DK_KEY_MAX_BYTES);
  return FALSE;
}

/* Check KEY, VALUE and OPTIONS locally; *CONTEXT gets the decoded --context. */
static gboolean
check_request (DkWireType type, const char *key, const char *value,
               const RequestOptions *options, DkVclock **context, GError **error)
{
  if (!check_key (key, error))
    return FALSE;
  if (value != NULL && strlen (value) > DK_VALUE_MAX_BYTES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the value is %" G_GSIZE_FORMAT " bytes; values are at most %u bytes",
                   strlen (value), DK_VALUE_MAX_BYTES);
      return FALSE;
    }
  if (options->r > 255 || options->w > 255)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--r and --w are at most 255");
      return FALSE;
    }
  if (options->context_hex == NULL)
    return TRUE;
  if (type == DK_WIRE_GET)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--context belongs to put and delete, not get");
      return FALSE;
    }
  g_autoptr (GBytes) bytes = dk_net_hex_decode (options->context_hex, error);
  gsize len = 0, used = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  if (bytes == NULL || !dk_vclock_decode (data, len, &used, context, error) || used != len)
    {
      if (bytes != NULL && *context != NULL)
        {
          g_clear_pointer (context, dk_vclock_free);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%" G_GSIZE_FORMAT " bytes left over", len - used);
        }
      g_prefix_error (error, "--context: not a context printed by 'dynkv get': ");
      return FALSE;
    }
  return TRUE;
}

/* Keyed: learn the node's id with a PING, so that what we sign next is
 * stamped for that node only (a node drops what is stamped for another). */
static gboolean
learn_node_id (Client *client, GError **error)
{
  if (client->key == NULL || client->node_id != DK_NODE_NONE)
    return TRUE;
  g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
  ping->request_id = random_id ();
  ping->body.ping.timestamp_us = g_get_monotonic_time ();
  Expect expect = { .type = DK_WIRE_PONG, .request_id = ping->request_id };
  const char *save_path = client->save_path;
  client->save_path = NULL;  /* the request is what a test captures, not the PING */
  g_autoptr (DkWireMessage) pong = exchange (client, ping, &expect, error);
  client->save_path = save_path;
  if (pong == NULL)
    return FALSE;
  client->node_id = pong->sender;
  return TRUE;
}

/* Send the GET REQUEST and return its reply, with the rest of a set too
 * large for one datagram fetched and appended to its siblings: the reply
 * then holds the whole set (siblings_after 0).  Every part must be of one
 * set (the same digest, at the expected offset), else the read starts
 * over.  A part that fails is returned as the answer. */
static DkWireMessage *
get_whole_set (Client *client, DkWireMessage *request, GError **error)
{
  DkWireClientRequest *body = &request->body.client_request;
  for (guint attempt = 0; attempt <= MAX_PAGE_RESTARTS; attempt++)
    {
      if (attempt > 0)
        {
          request->request_id = random_id ();
          body->client_request_id = random_id ();
        }
      body->sibling_offset = 0;
      Expect expect = { .type = DK_WIRE_CLIENT_REPLY, .client_request_id = body->client_request_id };
      g_autoptr (DkWireMessage) first = exchange (client, request, &expect, error);
      if (first == NULL)
        return NULL;
      DkWireClientReply *whole = &first->body.client_reply;
      gboolean one_set = TRUE;
      while (one_set && whole->siblings_after > 0
             && (whole->status == DK_WIRE_STATUS_OK || whole->status == DK_WIRE_STATUS_NOT_FOUND))
        {
          /* The rest, as a request of its own (a node answers a request
           * id once). */
          request->request_id = random_id ();
          body->client_request_id = random_id ();
          body->sibling_offset = (guint8) (whole->siblings_before + whole->siblings->len);
          expect.client_request_id = body->client_request_id;
          g_autoptr (DkWireMessage) part = exchange (client, request, &expect, error);
          if (part == NULL)
            return NULL;
          DkWireClientReply *more = &part->body.client_reply;
          if (more->status != DK_WIRE_STATUS_OK && more->status != DK_WIRE_STATUS_NOT_FOUND)
            return g_steal_pointer (&part);
          one_set = more->set_digest == whole->set_digest
                    && more->siblings_before == whole->siblings_before + whole->siblings->len;
          for (guint i = 0; one_set && i < more->siblings->len; i++)
            g_ptr_array_add (whole->siblings, dk_version_copy (g_ptr_array_index (more->siblings, i)));
          whole->siblings_after = more->siblings_after;
        }
      if (one_set)
        return g_steal_pointer (&first);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "the key's siblings changed while being read, %u times; try again",
               MAX_PAGE_RESTARTS + 1);
  return NULL;
}

static int
client_request (Client *client, DkWireType type, const char *key, const char *value,
                const RequestOptions *options)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkVclock) context = NULL;
  if (!check_request (type, key, value, options, &context, &error))
    {
      g_printerr ("dynkv: %s\n", error->message);
      return EXIT_USAGE;
    }
  g_autoptr (DkWireMessage) request = dk_wire_message_new (type);
  request->request_id = random_id ();
  DkWireClientRequest *body = &request->body.client_request;
  /* The name of the request: the node answers it once (node.h). */
  body->client_id = options->client_id != 0 ? options->client_id : random_id () | 1;
  body->client_request_id = options->request_id != 0 ? options->request_id : random_id ();
  body->key = g_bytes_new (key, strlen (key));
  if (value != NULL)
    body->value = g_bytes_new (value, strlen (value));
  body->context = g_steal_pointer (&context);
  body->r = (guint8) MAX (options->r, 0);
  body->w = (guint8) MAX (options->w, 0);
  Expect expect = { .type = DK_WIRE_CLIENT_REPLY, .client_request_id = body->client_request_id };
  /* A node silent past the timeout: the same request (the same name, so
   * never applied twice where it did arrive) goes to the next --node. */
  g_autofree char *what = g_strdup_printf ("%s %s", dk_wire_type_name (type), key);
  g_autoptr (DkWireMessage) reply = NULL;
  do
    if (learn_node_id (client, &error))
      reply = type == DK_WIRE_GET ? get_whole_set (client, request, &error)
                                  : exchange (client, request, &expect, &error);
  while (reply == NULL && client_fail_over (client, what, &error));
  if (reply == NULL)
    {
      g_printerr ("dynkv: %s %s: %s\n", dk_wire_type_name (type), key, error->message);
      return EXIT_FAILED;
    }
  const DkWireClientReply *answer = &reply->body.client_reply;
  if (answer->status != DK_WIRE_STATUS_OK && answer->status != DK_WIRE_STATUS_NOT_FOUND)
    {
      g_printerr ("dynkv: %s %s: %s%s%s\n", dk_wire_type_name (type), key,
                  status_name (answer->status), answer->reason[0] ? ": " : "", answer->reason);
      if (answer->context != NULL && type != DK_WIRE_GET)
        {
          /* A write refused over the sibling limit: the key's context, to
           * resolve its siblings with (get shows them). */
          g_autofree char *hex = context_hex (answer->context);
          printf ("siblings %u\n", answer->siblings_before + answer->siblings->len
                                   + answer->siblings_after);
          printf ("context=%s\n", hex);
        }
      return EXIT_FAILED;
    }
  if (type == DK_WIRE_GET)
    {
      if (answer->status == DK_WIRE_STATUS_NOT_FOUND)
        g_printerr ("dynkv: get %s: not found%s\n", key,
                    answer->siblings->len > 0 ? " (deleted)" : "");
      print_siblings (answer);
    }
  else
    printf ("ok\n");
  if (answer->context != NULL)
    {
      g_autofree char *hex = context_hex (answer->context);
      g_autofree char *clock = dk_vclock_to_string (answer->context);
      if (type != DK_WIRE_GET)
        printf ("clock=%s\n", clock);
      printf ("context=%s\n", hex);
    }
  return answer->status == DK_WIRE_STATUS_OK ? EXIT_OK : EXIT_NOT_FOUND;
}

/* ---- status and stats ------------------------------------------------------ */

/* Pages of a member list read at most (DK_WIRE_STATUS_MEMBERS_MAX each). */
#define MAX_STATUS_PAGES 64

static const char *
state_name (DkWireMemberState state)
{
  static const char *const names[] = {
    [DK_WIRE_MEMBER_UP] = "up",
    [DK_WIRE_MEMBER_SUSPECT] = "suspect",
    [DK_WIRE_MEMBER_DOWN] = "down",
    [DK_WIRE_MEMBER_JOINING] = "joining",
    [DK_WIRE_MEMBER_LEAVING] = "leaving",
  };
  return (guint) state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

/* A NODE_STATUS asking for members from FIRST on, and the counters when
 * COUNTERS; its reply is the NODE_STATUS_REPLY with its client request id. */
static DkWireMessage *
status_request_new (guint32 first, gboolean counters)
{
  DkWireMessage *request = dk_wire_message_new (DK_WIRE_NODE_STATUS);
  request->request_id = random_id ();
  DkWireNodeStatus *body = &request->body.node_status;
  body->client_request_id = random_id ();
  body->timestamp_us = g_get_monotonic_time ();
  body->first_member = first;
  body->member_limit = DK_WIRE_STATUS_MEMBERS_MAX;
  body->counters = counters;
  return request;
}

/* One NODE_STATUS to the node aimed at: members from FIRST on, and its
 * counters when COUNTERS. */
static DkWireMessage *
ask_status (Client *client, guint32 first, gboolean counters, GError **error)
{
  g_autoptr (DkWireMessage) request = status_request_new (first, counters);
  Expect expect = { .type = DK_WIRE_NODE_STATUS_REPLY,
                    .client_request_id = request->body.node_status.client_request_id };
  return exchange (client, request, &expect, error);
}

/* The first member WHOLE (a status reply) still lacks, or 0 when it holds
 * them all. */
static guint32
status_next_page (const DkWireMessage *whole)
{
  const DkWireNodeStatusReply *body = &whole->body.node_status_reply;
  guint32 next = body->first_member + body->members->len;
  return next < body->members_total ? next : 0;
}

/* Append the members of MORE, the page from NEXT on, to WHOLE; FALSE
 * (nothing appended) when MORE is no such page, e.g. the list changed. */
static gboolean
status_append_page (DkWireMessage *whole, DkWireMessage *more, guint32 next)
{
  GArray *members = more->body.node_status_reply.members;
  if (more->body.node_status_reply.first_member != next || members->len == 0)
    return FALSE;
  for (guint i = 0; i < members->len; i++)
    {
      DkWireStatusMember *member = &g_array_index (members, DkWireStatusMember, i);
      g_array_append_val (whole->body.node_status_reply.members, *member);
      member->address = NULL;  /* now WHOLE's */
    }
  return TRUE;
}

/* The status of the node aimed at, its whole member list gathered from
 * pages (at most MAX_STATUS_PAGES; should the list change between pages,
 * what was read so far). */
static DkWireMessage *
ask_whole_status (Client *client, gboolean counters, GError **error)
{
  if (!learn_node_id (client, error))
    return NULL;
  g_autoptr (DkWireMessage) whole = ask_status (client, 0, counters, error);
  if (whole == NULL)
    return NULL;
  guint32 next;
  for (guint page = 1; page < MAX_STATUS_PAGES && (next = status_next_page (whole)) != 0; page++)
    {
      g_autoptr (DkWireMessage) more = ask_status (client, next, FALSE, error);
      if (more == NULL)
        return NULL;
      if (!status_append_page (whole, more, next))
        break;
    }
  return g_steal_pointer (&whole);
}

/* A node's status, failing over along --node. */
static DkWireMessage *
ask_status_failing_over (Client *client, const char *what, gboolean counters, GError **error)
{
  DkWireMessage *reply;
  do
    reply = ask_whole_status (client, counters, error);
  while (reply == NULL && client_fail_over (client, what, error));
  return reply;
}

static char *
format_age (gint64 age_us)
{
  if (age_us < 0)
    return g_strdup ("never");
  return g_strdup_printf ("%.1fs ago", (double) age_us / 1e6);
}

/* ---- every member at once (status) ------------------------------------------ */

/* A member asked for its status by status_ask_all: the page asked for now
 * is a request of its own, sent and resent on its own deadline. */
typedef struct
{
  GSocketAddress *address;   /* NULL: not to be asked */
  const char     *text;      /* ADDRESS as gossiped */
  GSocketFamily   family;
  DkNodeId        node;
  DkWireMessage  *request;   /* the page asked for now */
  GByteArray     *datagram;  /* REQUEST encoded */
  gint64          start, deadline, next_send;
  guint           sends, cookies, pages;
  DkWireMessage  *whole;     /* the answer so far: pages appended to the first */
  gboolean        done;      /* WHOLE is the answer (NULL: none) */
} Asked;

static void
asked_clear (Asked *asked)
{
  g_clear_object (&asked->address);
  g_clear_pointer (&asked->request, dk_wire_message_free);
  g_clear_pointer (&asked->datagram, g_byte_array_unref);
  g_clear_pointer (&asked->whole, dk_wire_message_free);
}

/* Ask ASKED for its members from FIRST on, from NOW on; FALSE (ASKED done,
 * no answer) when the request does not encode. */
static gboolean
asked_page (Client *client, Asked *asked, guint32 first, gint64 now)
{
  g_clear_pointer (&asked->request, dk_wire_message_free);
  g_clear_pointer (&asked->datagram, g_byte_array_unref);
  asked->request = status_request_new (first, FALSE);
  asked->datagram = dk_wire_encode (asked->request, NULL);
  asked->start = asked->next_send = now;
  asked->deadline = now + client->timeout_us;
  asked->sends = asked->cookies = 0;
  asked->pages++;
  return asked->datagram != NULL;
}

static void
asked_fail (Asked *asked)
{
  g_clear_pointer (&asked->whole, dk_wire_message_free);
  asked->done = TRUE;
}

/* REPLY (now ASKED's), a reply to ASKED's request: a RETRY is answered at
 * once with the cookie as the header id, as exchange does; a page is kept
 * and the next one asked for while the list is incomplete. */
static void
asked_reply (Client *client, Asked *asked, DkWireMessage *reply, gint64 now)
{
  if (reply->type == DK_WIRE_CLIENT_REPLY)
    {
      guint64 cookie = reply->request_id;
      dk_wire_message_free (reply);
      if (asked->cookies++ >= MAX_COOKIES)
        return;
      asked->request->request_id = cookie;
      g_byte_array_unref (asked->datagram);
      asked->datagram = dk_wire_encode (asked->request, NULL);
      if (asked->datagram == NULL
          || !send_datagram_to (client, asked->address, asked->node, asked->datagram, NULL))
        asked_fail (asked);
      return;
    }
  guint32 next = asked->request->body.node_status.first_member;
  if (asked->whole == NULL)
    asked->whole = reply;
  else
    {
      gboolean appended = status_append_page (asked->whole, reply, next);
      dk_wire_message_free (reply);
      if (!appended)
        {
          asked->done = TRUE;  /* the list changed: what was read so far */
          return;
        }
    }
  next = status_next_page (asked->whole);
  if (next == 0 || asked->pages >= MAX_STATUS_PAGES)
    asked->done = TRUE;
  else if (!asked_page (client, asked, next, now))
    asked_fail (asked);
}

/* The member of ASKED (N of them) REPLY answers, or NULL. */
static Asked *
asked_find (Asked *asked, guint n, const DkWireMessage *reply)
{
  for (guint i = 0; i < n; i++)
    {
      if (asked[i].done || asked[i].request == NULL)
        continue;
      Expect expect = { .type = DK_WIRE_NODE_STATUS_REPLY,
                        .client_request_id = asked[i].request->body.node_status.client_request_id };
      if (matches (reply, &expect) || is_retry (reply, &expect))
        return &asked[i];
    }
  return NULL;
}

/* Send what is due to the members of ASKED (N) still waiting at NOW and
 * return the time the next thing is due, G_MAXINT64 when none waits: a
 * member past its deadline is done, without an answer. */
static gint64
asked_send_due (Client *client, Asked *asked, guint n, gint64 now)
{
  gint64 interval = client->timeout_us / (client->retries + 1);
  gint64 wake = G_MAXINT64;
  for (guint i = 0; i < n; i++)
    {
      Asked *a = &asked[i];
      if (a->done || a->request == NULL)
        continue;
      if (now >= a->deadline)
        {
          asked_fail (a);
          continue;
        }
      if (now >= a->next_send && a->sends <= client->retries)
        {
          if (!send_datagram_to (client, a->address, a->node, a->datagram, NULL))
            {
              asked_fail (a);
              continue;
            }
          a->sends++;
          a->next_send = a->start + interval * a->sends;
        }
      wake = MIN (wake, a->sends <= client->retries ? MIN (a->next_send, a->deadline)
                                                    : a->deadline);
    }
  return wake;
}

/* Ask the members of ASKED (N) not done yet whose address is of the family
 * of the client's socket for their whole status, all at once from that one
 * socket: each request has its own deadline and resends (as exchange), the
 * replies are told apart by their client request ids.  Returns when every
 * one is done, answered or not: about one --timeout-ms however many are
 * silent. */
static void
status_ask_round (Client *client, Asked *asked, guint n)
{
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    if (!asked[i].done && asked[i].family == client->family
        && !asked_page (client, &asked[i], 0, now))
      asked_fail (&asked[i]);
  for (;;)
    {
      now = g_get_monotonic_time ();
      gint64 wake = asked_send_due (client, asked, n, now);
      if (wake == G_MAXINT64)
        return;
      DkWireMessage *reply = receive_one (client, wake - now);
      if (reply == NULL)
        continue;
      Asked *from = asked_find (asked, n, reply);
      if (from != NULL)
        asked_reply (client, from, reply, g_get_monotonic_time ());
      else
        dk_wire_message_free (reply);
    }
}

/* Each of the N members of ASKED with an address, asked at once: one round
 * per address family (the client's socket is of one). */
static void
status_ask_all (Client *client, Asked *asked, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      if (asked[i].done)
        continue;
      if (asked[i].family != client->family)
        {
          if (!client_aim (client, asked[i].text, asked[i].node, NULL))
            {
              asked_fail (&asked[i]);
              continue;
            }
        }
      status_ask_round (client, asked, n);
    }
}

/* `dynkv status`: the member list of the first --node that answers, and
 * each member's own answer (keys, bytes, streams, anti-entropy); the
 * hints held for a member are summed over every member that answered.  A
 * member that does not answer within the timeout is shown as such. */
static int
client_status (Client *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) first = ask_status_failing_over (client, "status", FALSE, &error);
  if (first == NULL)
    {
      g_printerr ("dynkv: status: %s\n", error->message);
      return EXIT_FAILED;
    }
  gint64 rtt = g_get_monotonic_time () - first->body.node_status_reply.timestamp_us;
  const DkWireNodeStatusReply *view = &first->body.node_status_reply;
  printf ("node %u at %s answered in %.3f ms: %u members\n", first->sender, client->node_text,
          (double) rtt / 1000.0, view->members_total);
  g_autofree char *asked = g_strdup (client->node_text);
  guint n = view->members->len;
  g_autofree Asked *ask = g_new0 (Asked, n);
  for (guint i = 0; i < n; i++)
    {
      const DkWireStatusMember *member = &g_array_index (view->members, DkWireStatusMember, i);
      ask[i].node = member->node;
      ask[i].text = member->address;
      if (member->node != first->sender && member->address[0] != '\0')
        ask[i].address = G_SOCKET_ADDRESS (dk_net_resolve (member->address, FALSE, NULL));
      ask[i].done = ask[i].address == NULL;
      if (ask[i].address != NULL)
        ask[i].family = g_socket_address_get_family (ask[i].address);
    }
  status_ask_all (client, ask, n);
  g_autoptr (GPtrArray) answers = g_ptr_array_new_full (n, (GDestroyNotify) dk_wire_message_free);
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (answers, g_steal_pointer (&ask[i].whole));
      asked_clear (&ask[i]);
    }
  printf ("%-6s %-22s %-8s %7s %10s %12s %6s %8s  %s\n", "ID", "ADDRESS", "STATE", "OWNS",
          "KEYS", "BYTES", "HINTS", "STREAMS", "LAST-AE");
  guint up = 0, answered = 0;
  double owned = 0;
  for (guint i = 0; i < n; i++)
    {
      const DkWireStatusMember *member = &g_array_index (view->members, DkWireStatusMember, i);
      const DkWireMessage *answer = member->node == first->sender ? first
                                    : g_ptr_array_index (answers, i);
      /* Hints held for this member, wherever they are. */
      guint64 hints = 0;
      for (guint k = 0; k <= n; k++)
        {
          const DkWireMessage *holder = k == n ? first : g_ptr_array_index (answers, k);
          if (holder == NULL || (k < n && holder == first))
            continue;
          GArray *seen = holder->body.node_status_reply.members;
          for (guint j = 0; j < seen->len; j++)
            if (g_array_index (seen, DkWireStatusMember, j).node == member->node)
              hints += g_array_index (seen, DkWireStatusMember, j).hints_here;
        }
      up += member->state == DK_WIRE_MEMBER_UP;
      owned += member->ownership_ppm / 1e4;
      char keys[24] = "-", bytes[24] = "-", streams[16] = "-";
      g_autofree char *age = NULL;
      if (answer != NULL)
        {
          const DkWireNodeStatusReply *own = &answer->body.node_status_reply;
          answered++;
          g_snprintf (keys, sizeof keys, "%" G_GUINT64_FORMAT, own->keys);
          g_snprintf (bytes, sizeof bytes, "%" G_GUINT64_FORMAT, own->stored_bytes);
          g_snprintf (streams, sizeof streams, "%u", own->streams_pending);
          age = format_age (own->ae_pass_age_us);
        }
      else
        age = g_strdup (member->address[0] != '\0' ? "(no answer)" : "(address not known yet)");
      printf ("%-6u %-22s %-8s %6.1f%% %10s %12s %6" G_GUINT64_FORMAT " %8s  %s\n", member->node,
              member->address[0] != '\0' ? member->address : "?", state_name (member->state),
              member->ownership_ppm / 1e4, keys, bytes, hints, streams, age);
    }
  printf ("%u of %u members up as %s sees them, %u answered; ownership sums to %.1f%%\n", up,
          view->members_total, asked, answered, owned);
  return EXIT_OK;
}

/* ---- admin ------------------------------------------------------------------ */

/* The ADMIN that ARGS (after "admin") ask for; FALSE with a usage error. */
static gboolean
parse_admin (GPtrArray *args, DkWireAdmin *admin, GError **error)
{
  static const struct
  {
    const char   *name;
    DkWireAdminOp op;
    guint         arguments;
  } ops[] = {
    { "join", DK_WIRE_ADMIN_JOIN, 1 },
    { "leave", DK_WIRE_ADMIN_LEAVE, 1 },
    { "remove", DK_WIRE_ADMIN_REMOVE, 1 },
    { "plan", DK_WIRE_ADMIN_PLAN, 0 },
    { "commit", DK_WIRE_ADMIN_COMMIT, 0 },
    { "clear", DK_WIRE_ADMIN_CLEAR, 0 },
  };
  const char *name = args->len > 1 ? g_ptr_array_index (args, 1) : "";
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      if (strcmp (name, ops[i].name) != 0)
        continue;
      if (args->len != 2 + ops[i].arguments)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "admin %s takes %s, got %u argument%s", name,
                       ops[i].op == DK_WIRE_ADMIN_JOIN ? "ID=HOST:PORT"
                       : ops[i].arguments == 1 ? "a node id" : "no argument",
                       args->len - 2, args->len == 3 ? "" : "s");
          return FALSE;
        }
      admin->op = ops[i].op;
      if (ops[i].arguments == 0)
        return TRUE;
      const char *text = g_ptr_array_index (args, 2);
      g_auto (GStrv) parts = g_strsplit (text, "=", 2);
      guint64 id = 0;
      gboolean join = ops[i].op == DK_WIRE_ADMIN_JOIN;
      if (!g_ascii_string_to_unsigned (parts[0], 10, 1, G_MAXUINT32 - 1, &id, NULL)
          || (join != (parts[1] != NULL)) || (join && strchr (parts[1], ':') == NULL)
          || (join && strlen (parts[1]) > DK_WIRE_ADDRESS_MAX))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "admin %s: '%s' is not %s", name, text,
                       join ? "ID=HOST:PORT (the address the node listens on)" : "a node id");
          return FALSE;
        }
      admin->node = (DkNodeId) id;
      if (join)
        {
          g_free (admin->address);
          admin->address = g_strdup (parts[1]);
        }
      return TRUE;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "admin needs one of join ID=HOST:PORT, leave ID, remove ID, plan, commit, clear");
  return FALSE;
}

/* `dynkv admin ...`: one ADMIN, signed with the cluster key, to the first
 * --node (no failover: a plan is kept by the node that was asked). */
static int
client_admin (Client *client, GPtrArray *args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) request = dk_wire_message_new (DK_WIRE_ADMIN);
  if (!parse_admin (args, &request->body.admin, &error))
    {
      g_printerr ("dynkv: %s\nTry 'dynkv --help'.\n", error->message);
      return EXIT_USAGE;
    }
  request->request_id = random_id ();
  request->body.admin.client_request_id = random_id ();
  Expect expect = { .type = DK_WIRE_ADMIN_REPLY,
                    .client_request_id = request->body.admin.client_request_id };
  g_autoptr (DkWireMessage) reply = NULL;
  if (learn_node_id (client, &error))
    reply = exchange (client, request, &expect, &error);
  if (reply == NULL)
    {
      g_printerr ("dynkv: admin: %s (an admin command needs the cluster key: a client key "
                  "is refused)\n", error->message);
      return EXIT_FAILED;
    }
  const DkWireAdminReply *answer = &reply->body.admin_reply;
  const char *text = answer->text != NULL ? answer->text : "";
  gsize len = strlen (text);
  if (answer->status != DK_WIRE_STATUS_OK)
    {
      g_printerr ("dynkv: admin: node %u refused: %s%s", reply->sender, text,
                  len > 0 && text[len - 1] == '\n' ? "" : "\n");
      return EXIT_FAILED;
    }
  printf ("%s%s", text, len > 0 && text[len - 1] == '\n' ? "" : "\n");
  return EXIT_OK;
}

/* S as a JSON string, escaped. */
static void
print_json_string (const char *s)
{
  putchar ('"');
  for (const guchar *p = (const guchar *) s; *p != '\0'; p++)
    if (*p == '"' || *p == '\\')
      printf ("\\%c", *p);
    else if (*p < 0x20)
      printf ("\\u%04x", *p);
    else
      putchar (*p);
  putchar ('"');
}

/* `dynkv stats [--json]`: the counters of the first --node that answers
 * (dk_node_counters: the same list dynkvd prints on SIGUSR1). */
static int
client_stats (Client *client, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) reply = ask_status_failing_over (client, "stats", TRUE, &error);
  if (reply == NULL)
    {
      g_printerr ("dynkv: stats: %s\n", error->message);
      return EXIT_FAILED;
    }
  const DkWireNodeStatusReply *body = &reply->body.node_status_reply;
  if (!json)
    {
      printf ("node %u at %s: %s, up %.1f s, %" G_GUINT64_FORMAT " keys, %" G_GUINT64_FORMAT
              " bytes\n", reply->sender, client->node_text, state_name (body->state),
              (double) body->uptime_us / 1e6, body->keys, body->stored_bytes);
      for (guint i = 0; i < body->counters->len; i++)
        {
          const DkWireCounter *counter = &g_array_index (body->counters, DkWireCounter, i);
          printf ("%-24s %" G_GUINT64_FORMAT "\n", counter->name, counter->value);
        }
      return EXIT_OK;
    }
  printf ("{\n  \"node\": %u,\n  \"address\": ", reply->sender);
  print_json_string (body->address);
  printf (",\n  \"state\": \"%s\",\n  \"uptime_us\": %" G_GINT64_FORMAT ",\n"
          "  \"keys\": %" G_GUINT64_FORMAT ",\n  \"stored_bytes\": %" G_GUINT64_FORMAT ",\n"
          "  \"hints_held\": %u,\n  \"streams_pending\": %u,\n  \"ae_pass_age_us\": ",
          state_name (body->state), body->uptime_us, body->keys, body->stored_bytes,
          body->hints_held, body->streams_pending);
  if (body->ae_pass_age_us < 0)
    printf ("null");
  else
    printf ("%" G_GINT64_FORMAT, body->ae_pass_age_us);
  printf (",\n  \"members\": [");
  for (guint i = 0; i < body->members->len; i++)
    {
      const DkWireStatusMember *member = &g_array_index (body->members, DkWireStatusMember, i);
      printf ("%s\n    {\"node\": %u, \"address\": ", i > 0 ? "," : "", member->node);
      print_json_string (member->address);
      /* Parts per million, an integer: no locale's decimal comma in JSON. */
      printf (", \"state\": \"%s\", \"ownership_ppm\": %u, \"hints_here\": %u}",
              state_name (member->state), member->ownership_ppm, member->hints_here);
    }
  printf ("\n  ],\n  \"counters\": {");
  for (guint i = 0; i < body->counters->len; i++)
    {
      const DkWireCounter *counter = &g_array_index (body->counters, DkWireCounter, i);
      printf ("%s\n    ", i > 0 ? "," : "");
      print_json_string (counter->name);
      printf (": %" G_GUINT64_FORMAT, counter->value);
    }
  printf ("\n  }\n}\n");
  return EXIT_OK;
}

/* Tests: send the bytes of the datagram in PATH (one --save-datagram
 * wrote) to the node as they are, and report whether anything answered
 * within the timeout: exit 0 when something did, 3 when nothing did (a
 * node drops a replayed signed datagram without a word). */
static int
client_replay (Client *client, const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      g_printerr ("dynkv: --replay: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (!send_bytes (client, (const guint8 *) contents, len, &error))
    {
      g_printerr ("dynkv: --replay: %s\n", error->message);
      return EXIT_FAILED;
    }
  gint64 deadline = g_get_monotonic_time () + client->timeout_us;
  for (gint64 now = g_get_monotonic_time (); now < deadline; now = g_get_monotonic_time ())
    {
      g_autoptr (DkWireMessage) reply = receive_one (client, deadline - now);
      if (reply == NULL)
        continue;
      if (reply->type == DK_WIRE_CLIENT_REPLY)
        printf ("replayed %" G_GSIZE_FORMAT " bytes: answered, status %s\n", len,
                status_name (reply->body.client_reply.status));
      else
        printf ("replayed %" G_GSIZE_FORMAT " bytes: answered with a %s\n", len,
                dk_wire_type_name (reply->type));
      return EXIT_OK;
    }
  printf ("replayed %" G_GSIZE_FORMAT " bytes: no answer within %" G_GINT64_FORMAT " ms\n",
          len, client->timeout_us / 1000);
  return EXIT_FAILED;
}

/* An unsigned 64-bit id from TEXT, not 0; OPTION names it in errors. */
static gboolean
parse_id (const char *option, const char *text, guint64 *id, GError **error)
{
  if (text == NULL)
    return TRUE;
  g_autoptr (GError) parse_error = NULL;
  if (g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT64, id, &parse_error))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "%s: '%s' is not a number from 1 to %" G_GUINT64_FORMAT, option, text, G_MAXUINT64);
  return FALSE;
}

static int
client_ring (GArray *peers, gint n, gint vnodes, const char *key)
{
  g_autoptr (GError) error = NULL;
  if (peers->len == 0)
    {
      g_printerr ("dynkv: ring needs the cluster's members: give every --peer ID=HOST:PORT "
                  "(and --vnodes if the nodes use another than %d)\n", DEFAULT_VNODES);
      return EXIT_USAGE;
    }
  if (n < 1 || n > (gint) DK_RING_MAX_REPLICAS)
    {
      g_printerr ("dynkv: --n must be from 1 to %u\n", DK_RING_MAX_REPLICAS);
      return EXIT_USAGE;
    }
  if (key != NULL && !check_key (key, &error))
    {
      g_printerr ("dynkv: %s\n", error->message);
      return EXIT_USAGE;
    }
  dk_net_peers_sort (peers);
  g_autoptr (DkRing) ring = dk_net_ring_new (peers, (guint) vnodes, &error);
  if (ring == NULL)
    {
      g_printerr ("dynkv: %s\n", error->message);
      return EXIT_USAGE;
    }
  printf ("ring: %u nodes, %d vnodes each\n", peers->len, vnodes);
  for (guint i = 0; i < peers->len; i++)
    {
      const DkNetPeer *peer = &g_array_index (peers, DkNetPeer, i);
      printf ("node %u n%u %s owns %.1f%%\n", peer->id, peer->id, peer->address,
              100.0 * dk_ring_owned_fraction (ring, peer->id));
    }
  if (key != NULL)
    {
      DkNodeId list[DK_RING_MAX_REPLICAS];
      DkToken token = dk_ring_key_token (key, strlen (key));
      guint count = dk_ring_preference_list (ring, token, (guint) n, list);
      printf ("key %s token %016" G_GINT64_MODIFIER "x preference list:", key, token);
      for (guint i = 0; i < count; i++)
        printf (" %u", list[i]);
      printf ("\n");
    }
  return EXIT_OK;
}

/* ---- main ----------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  char **node_specs = NULL, *key_file = NULL, *context_text = NULL;
  char *client_id_text = NULL, *request_id_text = NULL, *save_path = NULL, *replay_path = NULL;
  char **peer_specs = NULL;
  gint timeout_ms = DEFAULT_TIMEOUT_MS, retries = DEFAULT_RETRIES, r = 0, w = 0;
  gint vnodes = DEFAULT_VNODES, n = DEFAULT_N;
  gboolean version = FALSE, json = FALSE;
  setlocale (LC_ALL, "");
  /* bench has options of its own (dynkv_bench.h), given after it. */
  if (argc >= 2 && strcmp (argv[1], "bench") == 0)
    return dk_bench_main (argc - 1, argv + 1);
  GOptionEntry entries[] = {
    { "node", 'n', 0, G_OPTION_ARG_STRING_ARRAY, &node_specs,
      "The node to ask; repeat it (or separate with commas) for others to try in turn when "
      "one does not answer in time", "HOST:PORT" },
    { "timeout-ms", 't', 0, G_OPTION_ARG_INT, &timeout_ms,
      "Give up after this long (default 3000)", "MS" },
    { "retries", 0, 0, G_OPTION_ARG_INT, &retries,
      "Resend an unanswered request this many times within the timeout (default 1)", "K" },
    { "key-file", 'k', 0, G_OPTION_ARG_FILENAME, &key_file,
      "The client key, when the nodes use one (dynkvd --client-key-file), or else the "
      "cluster key (dynkvd --key-file); admin commands need the cluster key", "FILE" },
    { "context", 'c', 0, G_OPTION_ARG_STRING, &context_text,
      "put/delete: the context=HEX a get printed; the write then supersedes what it read",
      "HEX" },
    { "r", 0, 0, G_OPTION_ARG_INT, &r, "get: read quorum for this request", "R" },
    { "w", 0, 0, G_OPTION_ARG_INT, &w, "put/delete: write quorum for this request", "W" },
    { "peer", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &peer_specs,
      "ring: a cluster member, repeated for each", "ID=HOST:PORT" },
    { "vnodes", 'v', 0, G_OPTION_ARG_INT, &vnodes,
      "ring: virtual nodes per member, as the nodes use (default 64)", "V" },
    { "replicas", 'N', 0, G_OPTION_ARG_INT, &n, "ring: replicas per key (default 3)", "N" },
    { "client-id", 0, 0, G_OPTION_ARG_STRING, &client_id_text,
      "put/get/delete: this client's id (default: a random one per run)", "ID" },
    { "request-id", 0, 0, G_OPTION_ARG_STRING, &request_id_text,
      "put/get/delete: the request's id (default: random); the same --client-id and "
      "--request-id as an earlier run repeat that request: the node answers it again, "
      "it does not apply it twice", "ID" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "stats: print the counters as JSON", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version, then exit", NULL },
    { "save-datagram", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &save_path,
      "tests: write the request datagram as first sent to FILE", "FILE" },
    { "replay", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &replay_path,
      "tests: send FILE's bytes to --node unchanged (exit 0: answered, 3: not)", "FILE" },
    { NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("COMMAND [ARGUMENTS]");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Talk to a dynkv cluster.  Commands:\n"
    "  put KEY VALUE      store VALUE under KEY (--context HEX to supersede a read)\n"
    "  get KEY            print every sibling (value, clock, tombstone) and the context\n"
    "  delete KEY         write a tombstone (--context HEX as for put)\n"
    "  status             one line per member: state, ring share, keys, bytes, hints,\n"
    "                     streams, last anti-entropy pass (members asked at once)\n"
    "  stats              the node's counters (--json for JSON)\n"
    "  ring [KEY]         print the ring computed from --peer (and KEY's preference list)\n"
    "  keygen FILE        write a new random key to FILE (mode 0600; never overwrites)\n"
    "  admin join ID=HOST:PORT | leave ID | remove ID | plan | commit | clear\n"
    "                     change the membership (needs --key-file with the cluster\n"
    "                     key): plan a join, show the plan and the joins pending,\n"
    "                     commit it; make a member leave; remove a down member\n"
    "  bench [OPTIONS]    load the cluster and print throughput and latency: first\n"
    "                     on the line, with options of its own (dynkv bench --help)");
  g_option_context_set_description (context,
    "Keys are 1 to 512 bytes, values at most 9216 bytes.  A value starting with '-'\n"
    "goes after '--': dynkv --node H:P put KEY -- -5\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  not found (get of a missing or deleted key)\n"
    "  2  usage error (bad arguments, key or value too large)\n"
    "  3  failure: no answer in time, or the cluster reported an error");

  Client client = { 0 };
  g_autoptr (GError) error = NULL;
  int status = EXIT_USAGE;
  g_autoptr (GArray) peers = dk_net_peers_new ();
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto usage;
  if (version)
    {
      printf ("dynkv %s\n", PACKAGE_VERSION);
      status = EXIT_OK;
      goto out;
    }
  /* A "--" that GOption left in place ends the options; drop it. */
  gboolean dash_dash = FALSE;
  for (int i = 1; i < argc; i++)
    {
      if (!dash_dash && strcmp (argv[i], "--") == 0)
        {
          dash_dash = TRUE;
          continue;
        }
      g_ptr_array_add (args, argv[i]);
    }
  if (args->len > 0 && strcmp (g_ptr_array_index (args, 0), "keygen") == 0)
    {
      if (args->len != 2)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "keygen takes 1 argument, got %u", args->len - 1);
          goto usage;
        }
      const char *path = g_ptr_array_index (args, 1);
      if (!dk_net_write_key_file (path, &error))
        {
          g_printerr ("dynkv: keygen: %s\n", error->message);
          status = EXIT_FAILED;
          goto out;
        }
      printf ("wrote a %u-byte random key to %s (mode 0600)\n", DK_NET_KEY_GENERATED_BYTES, path);
      status = EXIT_OK;
      goto out;
    }
  if (replay_path != NULL && args->len == 0)
    g_ptr_array_add (args, (gpointer) "replay");
  if (args->len == 0)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a command is needed: put, get, delete, status, stats or ring");
      goto usage;
    }
  const char *command = g_ptr_array_index (args, 0);
  guint want_min, want_max;
  if (strcmp (command, "put") == 0)
    want_min = want_max = 3;
  else if (strcmp (command, "get") == 0 || strcmp (command, "delete") == 0)
    want_min = want_max = 2;
  else if (strcmp (command, "status") == 0 || strcmp (command, "stats") == 0
           || (replay_path != NULL && strcmp (command, "replay") == 0))
    want_min = want_max = 1;
  else if (strcmp (command, "ring") == 0)
    want_min = 1, want_max = 2;
  else if (strcmp (command, "admin") == 0)
    want_min = 2, want_max = 3;
  else if (strcmp (command, "bench") == 0)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "bench comes first, its options after it: dynkv bench --node HOST:PORT ...");
      goto usage;
    }
  else
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "unknown command '%s' (put, get, delete, status, stats, ring, keygen, admin)",
                   command);
      goto usage;
    }
  if (args->len < want_min || args->len > want_max)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s takes %u argument%s, got %u", command, want_max - 1,
                   want_max == 2 ? "" : "s", args->len - 1);
      goto usage;
    }
  if (strcmp (command, "ring") == 0)
    {
      for (guint i = 0; peer_specs != NULL && peer_specs[i] != NULL; i++)
        if (!dk_net_peers_add_spec (peers, peer_specs[i], &error))
          goto usage;
      status = client_ring (peers, n, vnodes,
                            args->len > 1 ? g_ptr_array_index (args, 1) : NULL);
      goto out;
    }
  client.nodes = split_nodes (node_specs);
  if (client.nodes[0] == NULL)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--node HOST:PORT is required");
      goto usage;
    }
  if (timeout_ms < 1 || retries < 0 || retries > 100 || r < 0 || w < 0)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--timeout-ms must be >= 1, --retries 0 .. 100, --r and --w >= 0");
      goto usage;
    }
  client.timeout_us = (gint64) timeout_ms * 1000;
  client.retries = (guint) retries;
  if (key_file != NULL)
    {
      client.key = dk_net_load_key_file (key_file, &error);
      if (client.key == NULL)
        goto usage;
    }
  for (guint i = 0; client.nodes[i] != NULL; i++)
    {
      /* Every --node must be an address: found now, not at failover. */
      g_autoptr (GInetSocketAddress) resolved = dk_net_resolve (client.nodes[i], FALSE, &error);
      if (resolved == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
        goto usage;
      if (resolved == NULL)
        {
          g_printerr ("dynkv: %s\n", error->message);
          status = EXIT_FAILED;
          goto out;
        }
    }
  if (strcmp (command, "admin") == 0 && client.key == NULL)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "admin commands are signed with the cluster key: give --key-file");
      goto usage;
    }
  if (!client_aim (&client, client.nodes[0], DK_NODE_NONE, &error))
    {
      g_printerr ("dynkv: %s\n", error->message);
      status = EXIT_FAILED;
      goto out;
    }
  RequestOptions options = { .context_hex = context_text, .r = r, .w = w };
  if (!parse_id ("--client-id", client_id_text, &options.client_id, &error)
      || !parse_id ("--request-id", request_id_text, &options.request_id, &error))
    goto usage;
  client.save_path = save_path;
  if (replay_path != NULL)
    status = client_replay (&client, replay_path);
  else if (strcmp (command, "status") == 0)
    status = client_status (&client);
  else if (strcmp (command, "stats") == 0)
    status = client_stats (&client, json);
  else if (strcmp (command, "admin") == 0)
    status = client_admin (&client, args);
  else if (strcmp (command, "get") == 0)
    status = client_request (&client, DK_WIRE_GET, g_ptr_array_index (args, 1), NULL, &options);
  else if (strcmp (command, "delete") == 0)
    status = client_request (&client, DK_WIRE_DELETE, g_ptr_array_index (args, 1), NULL,
                             &options);
  else
    status = client_request (&client, DK_WIRE_PUT, g_ptr_array_index (args, 1),
                             g_ptr_array_index (args, 2), &options);
  goto out;

usage:
  g_printerr ("dynkv: %s\nTry 'dynkv --help'.\n", error->message);
out:
  if (client.socket != NULL)
    g_socket_close (client.socket, NULL);
  g_clear_object (&client.socket);
  g_clear_object (&client.node);
  g_free (client.node_text);
  g_strfreev (client.nodes);
  g_clear_pointer (&client.key, g_bytes_unref);
  g_free (client.buffer);
  g_strfreev (node_specs);
  g_free (key_file);
  g_free (context_text);
  g_free (client_id_text);
  g_free (request_id_text);
  g_free (save_path);
  g_free (replay_path);
  g_strfreev (peer_specs);
  return status;
}
