/* node.c — the coordinator and replica state machine; see node.h.
 *
 * Every datagram is verified (when keyed), decoded and dispatched through
 * one table by message type.  A request the node coordinates or proxies
 * is a Request in a table keyed by the hop request id that its READs,
 * WRITEs and FORWARD carry, so replies find it again.  All node state is
 * in DkNode; nothing here touches the world except through the DkEnv. */
#include "node.h"

#include <string.h>

#include "store.h"
#include "vclock.h"
#include "wire.h"

/* A coordinator gives up after request_timeout; a proxy waits this much
 * longer so the coordinator's own verdict normally reaches the client. */
#define PROXY_TIMEOUT_SLACK_US 100000

typedef enum
{
  ROLE_COORDINATOR,  /* we run the quorum */
  ROLE_PROXY         /* we forwarded to a replica and relay its answer */
} RequestRole;

typedef struct
{
  DkNode     *node;
  guint64     id;               /* hop request id, key of node->requests */
  RequestRole role;
  DkWireType  kind;             /* GET, PUT or DELETE */
  DkEndpoint  client;           /* who gets the CLIENT_REPLY */
  guint64     client_hop_id;    /* header request id of the client's datagram */
  guint64     client_request_id;
  GBytes     *key;
  guint       needed;           /* R or W */
  guint       n_replicas;
  DkNodeId    replicas[DK_RING_MAX_REPLICAS];
  gboolean    replied[DK_RING_MAX_REPLICAS];
  GPtrArray  *replica_sets[DK_RING_MAX_REPLICAS]; /* GET: what each returned */
  guint       successes;
  guint       failures;
  GPtrArray  *merged;           /* GET: reconciled set of all replies */
  DkVclock   *written;          /* PUT/DELETE: the clock of the new version */
  DkWireStatus failure_status;  /* the worst replica status seen */
  gboolean    client_answered;
  DkTimerId   timer;
} Request;

struct _DkNode
{
  DkNodeConfig config;
  guint8      *auth_key;        /* owned copy of config.auth_key */
  DkEnv        env;
  const DkRing *ring;
  DkNodeId     actor;           /* clock entries are ours under this id */
  DkNodeStats  stats;
  guint64      next_request_id;
  GHashTable  *requests;        /* guint64 id -> Request*, owns them */
};

typedef void (*Handler) (DkNode *node, DkEndpoint from, DkWireMessage *message);

/* ---- small helpers ---------------------------------------------------- */

static void
node_log (DkNode *node, DkLogLevel level, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
node_log (DkNode *node, DkLogLevel level, const char *format, ...)
{
  if (node->env.log == NULL || level > node->config.log_level)
    return;
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *line = g_strdup_printf ("node=%u %s", node->config.id, text);
  node->env.log (node->env.user_data, level, line);
}

static gint64
node_now (DkNode *node)
{
  return node->env.now_us (node->env.user_data);
}

/* Encode, sign when keyed, and send.  A message that cannot be encoded
 * (a reply over the datagram limit) is counted and reported to the caller. */
static gboolean
send_message (DkNode *node, DkEndpoint to, DkWireMessage *message)
{
  message->sender = node->config.id;
  g_autoptr (GError) error = NULL;
  GByteArray *datagram = dk_wire_encode (message, &error);
  if (datagram == NULL)
    {
      node->stats.send_failures++;
      node_log (node, DK_LOG_WARNING, "cannot encode %s: %s",
                dk_wire_type_name (message->type), error->message);
      return FALSE;
    }
  if (node->auth_key != NULL)
    dk_wire_sign (datagram, node->auth_key, node->config.auth_key_len);
  node->stats.messages_sent++;
  node->stats.bytes_sent += datagram->len;
  node->env.send (node->env.user_data, to, datagram->data, datagram->len);
  g_byte_array_unref (datagram);
  return TRUE;
}

static guint
replica_index (const Request *request, DkNodeId node)
{
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->replicas[i] == node)
      return i;
  return G_MAXUINT;
}

/* The highest counter NODE has issued among the versions in SIBLINGS. */
static guint64
own_counter (const GPtrArray *siblings, DkNodeId node)
{
  guint64 highest = 0;
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (siblings, i);
      highest = MAX (highest, dk_vclock_get (version->clock, node));
    }
  return highest;
}

/* ---- requests ---------------------------------------------------------- */

static void
request_free (gpointer data)
{
  Request *request = data;
  if (request->timer != 0)
    request->node->env.timer_cancel (request->node->env.user_data, request->timer);
  g_bytes_unref (request->key);
  for (guint i = 0; i < request->n_replicas; i++)
    g_clear_pointer (&request->replica_sets[i], g_ptr_array_unref);
  g_clear_pointer (&request->merged, g_ptr_array_unref);
  g_clear_pointer (&request->written, dk_vclock_free);
  g_free (request);
}

static void request_timed_out (gpointer data);

static Request *
request_new (DkNode *node, RequestRole role, DkWireType kind, DkEndpoint client,
             guint64 client_hop_id, const DkWireClientRequest *client_request,
             gint64 timeout_us)
{
  Request *request = g_new0 (Request, 1);
  request->node = node;
  request->id = node->next_request_id++;
  request->role = role;
  request->kind = kind;
  request->client = client;
  request->client_hop_id = client_hop_id;
  request->client_request_id = client_request->client_request_id;
  request->key = g_bytes_ref (client_request->key);
  request->failure_status = DK_WIRE_STATUS_UNAVAILABLE;
  request->timer = node->env.timer_start (node->env.user_data, timeout_us,
                                          request_timed_out, request);
  g_hash_table_insert (node->requests, &request->id, request);
  return request;
}

static void
request_finish (Request *request)
{
  g_hash_table_remove (request->node->requests, &request->id);
}

/* Answer the client once; later calls do nothing. */
static void
answer_client (Request *request, DkWireStatus status, const char *reason,
               const GPtrArray *siblings, const DkVclock *context)
{
  DkNode *node = request->node;
  if (request->client_answered)
    return;
  request->client_answered = TRUE;

  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  reply->request_id = request->client_hop_id;
  DkWireClientReply *body = &reply->body.client_reply;
  body->client_request_id = request->client_request_id;
  body->status = status;
  body->reason = g_strdup (reason != NULL ? reason : "");
  if (siblings != NULL)
    {
      g_ptr_array_unref (body->siblings);
      body->siblings = dk_siblings_copy (siblings);
    }
  if (context != NULL)
    body->context = dk_vclock_copy (context);

  if (status == DK_WIRE_STATUS_OK || status == DK_WIRE_STATUS_NOT_FOUND)
    node->stats.requests_succeeded++;
  else
    node->stats.requests_failed++;

  if (!send_message (node, request->client, reply))
    {
      /* The siblings do not fit a datagram: say so instead. */
      g_ptr_array_set_size (body->siblings, 0);
      g_clear_pointer (&body->context, dk_vclock_free);
      body->status = DK_WIRE_STATUS_TOO_LARGE;
      g_free (body->reason);
      body->reason = g_strdup ("the reply does not fit one datagram: too many or too large siblings");
      send_message (node, request->client, reply);
    }
}

/* ---- read repair ------------------------------------------------------- */

/* Send the reconciled set to every replica that answered with another. */
static void
read_repair (Request *request)
{
  DkNode *node = request->node;
  if (!node->config.read_repair || request->merged == NULL || request->merged->len == 0)
    return;
  for (guint i = 0; i < request->n_replicas; i++)
    {
      GPtrArray *held = request->replica_sets[i];
      if (!request->replied[i] || held == NULL || dk_siblings_equal (held, request->merged))
        continue;
      if (request->replicas[i] == node->config.id)
        {
          g_autoptr (GError) error = NULL;
          if (!dk_store_put (node->env.store, request->key, request->merged,
                             node_now (node), NULL, &error))
            node->stats.store_errors++;
          node->stats.read_repairs_sent++;
          continue;
        }
      g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
      write->request_id = 0;  /* nobody waits for this ack */
      write->body.write.key = g_bytes_ref (request->key);
      g_ptr_array_unref (write->body.write.siblings);
      write->body.write.siblings = dk_siblings_copy (request->merged);
      if (send_message (node, request->replicas[i], write))
        node->stats.read_repairs_sent++;
    }
}

/* ---- the quorum -------------------------------------------------------- */

static void
answer_success (Request *request)
{
  if (request->kind == DK_WIRE_GET)
    {
      gboolean live = FALSE;
      for (guint i = 0; i < request->merged->len && !live; i++)
        live = !((DkVersion *) g_ptr_array_index (request->merged, i))->tombstone;
      g_autoptr (DkVclock) context = dk_siblings_context (request->merged);
      answer_client (request, live ? DK_WIRE_STATUS_OK : DK_WIRE_STATUS_NOT_FOUND,
                     NULL, request->merged, context);
    }
  else
    answer_client (request, DK_WIRE_STATUS_OK, NULL, NULL, request->written);
}

/* Decide what the replies so far allow: answer when the quorum is met or
 * can no longer be; finish once every replica has spoken. */
static void
quorum_check (Request *request)
{
  guint heard = request->successes + request->failures;
  if (!request->client_answered)
    {
      if (request->successes >= request->needed)
        answer_success (request);
      else if (request->failures > request->n_replicas - request->needed)
        {
          g_autofree char *reason =
            g_strdup_printf ("%u of %u replicas answered (needed %u)",
                             request->successes, request->n_replicas, request->needed);
          answer_client (request, request->failure_status, reason, NULL, NULL);
        }
    }
  if (heard == request->n_replicas)
    {
      if (request->kind == DK_WIRE_GET)
        read_repair (request);
      request_finish (request);
    }
}

static void
request_timed_out (gpointer data)
{
  Request *request = data;
  request->timer = 0;
  if (request->role == ROLE_PROXY)
    {
      answer_client (request, DK_WIRE_STATUS_TIMEOUT,
                     "timeout: no answer from the coordinator it was forwarded to",
                     NULL, NULL);
      request_finish (request);
      return;
    }
  if (!request->client_answered)
    {
      g_autofree char *reason =
        g_strdup_printf ("timeout: %u of %u replicas answered (needed %u)",
                         request->successes, request->n_replicas, request->needed);
      answer_client (request, DK_WIRE_STATUS_TIMEOUT, reason, NULL, NULL);
    }
  if (request->kind == DK_WIRE_GET)
    read_repair (request);
  request_finish (request);
}

/* Record replica I's answer: SET is its stored set for a GET (taken). */
static void
record_reply (Request *request, guint i, DkWireStatus status, GPtrArray *set)
{
  request->replied[i] = TRUE;
  if (status == DK_WIRE_STATUS_OK || status == DK_WIRE_STATUS_NOT_FOUND)
    {
      request->successes++;
      if (set != NULL)
        {
          dk_siblings_merge (request->merged, set);
          request->replica_sets[i] = set;
        }
    }
  else
    {
      request->failures++;
      request->failure_status = status;
      if (set != NULL)
        g_ptr_array_unref (set);
    }
}

/* ---- coordinating ---------------------------------------------------- */

static void
coordinate_get (DkNode *node, Request *request)
{
  request->merged = dk_siblings_new ();
  for (guint i = 0; i < request->n_replicas; i++)
    {
      if (request->replicas[i] != node->config.id)
        continue;
      g_autoptr (GError) error = NULL;
      GPtrArray *set = dk_store_get (node->env.store, request->key, &error);
      if (set == NULL)
        node->stats.store_errors++;
      record_reply (request, i, set != NULL ? DK_WIRE_STATUS_OK : DK_WIRE_STATUS_STORAGE_ERROR, set);
    }
  for (guint i = 0; i < request->n_replicas; i++)
    {
      if (request->replicas[i] == node->config.id)
        continue;
      g_autoptr (DkWireMessage) read = dk_wire_message_new (DK_WIRE_READ);
      read->request_id = request->id;
      read->body.read.key = g_bytes_ref (request->key);
      send_message (node, request->replicas[i], read);
    }
  quorum_check (request);
}

/* The new version's clock: the client's context with our own counter one
 * past the highest we have issued for this key (Dynamo §4.4). */
static DkVclock *
new_version_clock (DkNode *node, const GPtrArray *local, const DkVclock *context)
{
  DkVclock *clock = context != NULL ? dk_vclock_copy (context) : dk_vclock_new ();
  guint64 floor = MAX (own_counter (local, node->actor), dk_vclock_get (clock, node->actor));
  dk_vclock_increment_past (clock, node->actor, floor, node_now (node));
  if (node->config.vclock_prune_entries > 0)
    dk_vclock_prune (clock, node->config.vclock_prune_entries);
  return clock;
}

static void
coordinate_write (DkNode *node, Request *request, const DkWireClientRequest *client_request)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) local = dk_store_get (node->env.store, request->key, &error);
  if (local == NULL)
    {
      node->stats.store_errors++;
      answer_client (request, DK_WIRE_STATUS_STORAGE_ERROR, error->message, NULL, NULL);
      request_finish (request);
      return;
    }
  gboolean tombstone = request->kind == DK_WIRE_DELETE;
  DkVclock *clock = new_version_clock (node, local, client_request->context);
  request->written = dk_vclock_copy (clock);
  g_autoptr (GPtrArray) version_set = dk_siblings_new ();
  g_ptr_array_add (version_set,
                   dk_version_new (clock, tombstone ? NULL : client_request->value, tombstone));

  for (guint i = 0; i < request->n_replicas; i++)
    {
      if (request->replicas[i] != node->config.id)
        continue;
      g_autoptr (GError) put_error = NULL;
      if (dk_store_put (node->env.store, request->key, version_set, node_now (node),
                        NULL, &put_error))
        record_reply (request, i, DK_WIRE_STATUS_OK, NULL);
      else
        {
          node->stats.store_errors++;
          node_log (node, DK_LOG_WARNING, "store put failed: %s", put_error->message);
          gboolean too_large = g_error_matches (put_error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE);
          record_reply (request, i, too_large ? DK_WIRE_STATUS_TOO_LARGE
                                              : DK_WIRE_STATUS_STORAGE_ERROR, NULL);
        }
    }
  for (guint i = 0; i < request->n_replicas; i++)
    {
      if (request->replicas[i] == node->config.id)
        continue;
      g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
      write->request_id = request->id;
      write->body.write.key = g_bytes_ref (request->key);
      g_ptr_array_unref (write->body.write.siblings);
      write->body.write.siblings = dk_siblings_copy (version_set);
      send_message (node, request->replicas[i], write);
    }
  quorum_check (request);
}

static guint
quorum_or_default (guint8 requested, guint configured, guint n_replicas)
{
  guint quorum = requested > 0 ? requested : configured;
  return MIN (quorum, n_replicas);
}

/* A client request, direct (HOPS 0) or forwarded: coordinate it when we
 * are on the preference list, else proxy it to the list's head. */
static void
handle_client_request (DkNode *node, DkEndpoint from, guint64 hop_id, DkWireType kind,
                       const DkWireClientRequest *client_request, guint hops)
{
  DkNodeId preference[DK_RING_MAX_REPLICAS];
  DkToken token = dk_ring_key_token (g_bytes_get_data (client_request->key, NULL),
                                     g_bytes_get_size (client_request->key));
  guint n_replicas = dk_ring_preference_list (node->ring, token, node->config.n, preference);
  gboolean on_list = FALSE;
  for (guint i = 0; i < n_replicas; i++)
    on_list = on_list || preference[i] == node->config.id;

  if (!on_list && hops < node->config.max_forward_hops && n_replicas > 0)
    {
      Request *proxy = request_new (node, ROLE_PROXY, kind, from, hop_id, client_request,
                                    node->config.request_timeout_us + PROXY_TIMEOUT_SLACK_US);
      g_autoptr (DkWireMessage) forward = dk_wire_message_new (DK_WIRE_FORWARD);
      forward->request_id = proxy->id;
      DkWireForward *body = &forward->body.forward;
      body->request_type = kind;
      body->hops = (guint8) (hops + 1);
      body->client_address = g_strdup ("");
      body->request.client_request_id = client_request->client_request_id;
      body->request.key = g_bytes_ref (client_request->key);
      body->request.value = client_request->value != NULL ? g_bytes_ref (client_request->value) : NULL;
      body->request.context = client_request->context != NULL
                              ? dk_vclock_copy (client_request->context) : NULL;
      body->request.r = client_request->r;
      body->request.w = client_request->w;
      node->stats.requests_forwarded++;
      send_message (node, preference[0], forward);
      return;
    }

  Request *request = request_new (node, ROLE_COORDINATOR, kind, from, hop_id, client_request,
                                  node->config.request_timeout_us);
  node->stats.requests_coordinated++;
  request->n_replicas = n_replicas;
  memcpy (request->replicas, preference, n_replicas * sizeof (DkNodeId));
  if (kind == DK_WIRE_GET)
    {
      request->needed = quorum_or_default (client_request->r, node->config.r, n_replicas);
      coordinate_get (node, request);
    }
  else
    {
      request->needed = quorum_or_default (client_request->w, node->config.w, n_replicas);
      coordinate_write (node, request, client_request);
    }
}

/* ---- handlers, one per message type ------------------------------------ */

static void
on_client_request (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  handle_client_request (node, from, message->request_id, message->type,
                         &message->body.client_request, 0);
}

static void
on_forward (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  DkWireForward *forward = &message->body.forward;
  if (!dk_endpoint_is_node (from))
    {
      node->stats.dropped_unexpected++;
      return;
    }
  handle_client_request (node, from, message->request_id, forward->request_type,
                         &forward->request, forward->hops);
}

/* The coordinator we forwarded to answered: relay to our client. */
static void
on_client_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  Request *proxy = g_hash_table_lookup (node->requests, &message->request_id);
  if (proxy == NULL || proxy->role != ROLE_PROXY)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  DkWireClientReply *reply = &message->body.client_reply;
  answer_client (proxy, reply->status, reply->reason, reply->siblings, reply->context);
  request_finish (proxy);
}

/* A reply from replica FROM to our request MESSAGE->request_id, or NULL. */
static Request *
find_replica_request (DkNode *node, DkEndpoint from, guint64 request_id, guint *index)
{
  Request *request = g_hash_table_lookup (node->requests, &request_id);
  if (request == NULL || request->role != ROLE_COORDINATOR || !dk_endpoint_is_node (from))
    return NULL;
  *index = replica_index (request, (DkNodeId) from);
  if (*index == G_MAXUINT || request->replied[*index])
    return NULL;
  return request;
}

static void
on_read (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if (!dk_endpoint_is_node (from))
    {
      node->stats.dropped_unexpected++;   /* replicas answer coordinators only */
      return;
    }
  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_READ_REPLY);
  reply->request_id = message->request_id;
  DkWireReadReply *body = &reply->body.read_reply;
  body->key = g_bytes_ref (message->body.read.key);
  g_autoptr (GError) error = NULL;
  GPtrArray *set = dk_store_get (node->env.store, body->key, &error);
  if (set != NULL)
    {
      body->status = DK_WIRE_STATUS_OK;
      g_ptr_array_unref (body->siblings);
      body->siblings = set;
    }
  else
    {
      node->stats.store_errors++;
      body->status = DK_WIRE_STATUS_STORAGE_ERROR;
    }
  if (!send_message (node, from, reply))
    {
      g_ptr_array_set_size (body->siblings, 0);
      body->status = DK_WIRE_STATUS_TOO_LARGE;
      send_message (node, from, reply);
    }
}

static void
on_read_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  guint index;
  Request *request = find_replica_request (node, from, message->request_id, &index);
  if (request == NULL || request->kind != DK_WIRE_GET)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  DkWireReadReply *body = &message->body.read_reply;
  record_reply (request, index, body->status, g_steal_pointer (&body->siblings));
  body->siblings = dk_siblings_new ();  /* keep the message well-formed for its free */
  quorum_check (request);
}

static void
on_write (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  DkWireWrite *write = &message->body.write;
  if (!dk_endpoint_is_node (from))
    {
      node->stats.dropped_unexpected++;   /* only nodes write replicas directly */
      return;
    }
  g_autoptr (GError) error = NULL;
  DkWireStatus status = DK_WIRE_STATUS_OK;
  if (!dk_store_put (node->env.store, write->key, write->siblings, node_now (node), NULL, &error))
    {
      node->stats.store_errors++;
      node_log (node, DK_LOG_WARNING, "store put failed: %s", error->message);
      status = g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE)
               ? DK_WIRE_STATUS_TOO_LARGE : DK_WIRE_STATUS_STORAGE_ERROR;
    }
  if (message->request_id == 0)
    return;  /* a repair: nobody waits for the ack */
  g_autoptr (DkWireMessage) ack = dk_wire_message_new (DK_WIRE_WRITE_ACK);
  ack->request_id = message->request_id;
  ack->body.write_ack.status = status;
  ack->body.write_ack.key = g_bytes_ref (write->key);
  send_message (node, from, ack);
}

static void
on_write_ack (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  guint index;
  Request *request = find_replica_request (node, from, message->request_id, &index);
  if (request == NULL || request->kind == DK_WIRE_GET)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  record_reply (request, index, message->body.write_ack.status, NULL);
  quorum_check (request);
}

static void
on_ping (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  g_autoptr (DkWireMessage) pong = dk_wire_message_new (DK_WIRE_PONG);
  pong->request_id = message->request_id;
  pong->body.ping.timestamp_us = message->body.ping.timestamp_us;
  send_message (node, from, pong);
}

/* Message types a node handles; the rest (PONG, and what later mechanisms
 * add) are counted as unexpected until a handler is listed here. */
static const Handler handlers[DK_WIRE_TYPE_LAST + 1] = {
  [DK_WIRE_GET]          = on_client_request,
  [DK_WIRE_PUT]          = on_client_request,
  [DK_WIRE_DELETE]       = on_client_request,
  [DK_WIRE_FORWARD]      = on_forward,
  [DK_WIRE_CLIENT_REPLY] = on_client_reply,
  [DK_WIRE_READ]         = on_read,
  [DK_WIRE_READ_REPLY]   = on_read_reply,
  [DK_WIRE_WRITE]        = on_write,
  [DK_WIRE_WRITE_ACK]    = on_write_ack,
  [DK_WIRE_PING]         = on_ping,
};

/* ---- public ------------------------------------------------------------- */

G_DEFINE_QUARK (dk-node-error-quark, dk_node_error)

void
dk_node_config_init (DkNodeConfig *config)
{
  *config = (DkNodeConfig) {
    .n = 3,
    .r = 2,
    .w = 2,
    .request_timeout_us = 1000000,
    .read_repair = TRUE,
    .vclock_prune_entries = DK_VCLOCK_PRUNE_ENTRIES,
    .max_forward_hops = 1,
    .log_level = DK_LOG_WARNING,
  };
}

/* The actor id recorded in STORE, or a new one recorded now. */
static gboolean
load_actor (const DkNodeConfig *config, DkStore *store, DkNodeId *actor, GError **error)
{
  gint64 stored = 0;
  gboolean found = FALSE;
  if (!dk_store_meta_get (store, "actor", &stored, &found, error))
    return FALSE;
  if (found && stored > 0 && stored <= G_MAXUINT32 && (stored & (DK_NODE_ID_LIMIT - 1)) == config->id)
    {
      *actor = (DkNodeId) stored;
      return TRUE;
    }
  *actor = config->id | ((DkNodeId) config->incarnation << 20);
  return dk_store_meta_set (store, "actor", *actor, error);
}

DkNode *
dk_node_new (const DkNodeConfig *config, const DkEnv *env, const DkRing *ring, GError **error)
{
  g_return_val_if_fail (config != NULL && env != NULL && ring != NULL, NULL);
  g_return_val_if_fail (env->send && env->now_us && env->timer_start && env->timer_cancel
                        && env->random && env->store, NULL);
  if (config->n < 1 || config->n > DK_RING_MAX_REPLICAS
      || config->r < 1 || config->r > config->n || config->w < 1 || config->w > config->n)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "node %u: need 1 <= r, w <= n <= %u, got n=%u r=%u w=%u",
                   config->id, DK_RING_MAX_REPLICAS, config->n, config->r, config->w);
      return NULL;
    }
  if (dk_ring_lookup_node (ring, config->id) == NULL)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "node %u is not a member of the ring", config->id);
      return NULL;
    }
  if (config->id == DK_NODE_NONE || config->id >= DK_NODE_ID_LIMIT || config->incarnation >= 4096)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "node %u: ids must be 1..%u and incarnations 0..4095", config->id,
                   DK_NODE_ID_LIMIT - 1);
      return NULL;
    }
  DkNodeId actor;
  if (!load_actor (config, env->store, &actor, error))
    return NULL;
  DkNode *node = g_new0 (DkNode, 1);
  node->actor = actor;
  node->config = *config;
  if (config->auth_key != NULL && config->auth_key_len > 0)
    node->auth_key = g_memdup2 (config->auth_key, config->auth_key_len);
  node->config.auth_key = node->auth_key;
  node->env = *env;
  node->ring = ring;
  node->next_request_id = 1;
  node->requests = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, request_free);
  return node;
}

void
dk_node_free (DkNode *node)
{
  if (node == NULL)
    return;
  g_hash_table_destroy (node->requests);
  if (node->auth_key != NULL)
    {
      memset (node->auth_key, 0, node->config.auth_key_len);
      g_free (node->auth_key);
    }
  g_free (node);
}

void
dk_node_receive (DkNode *node, DkEndpoint from, const guint8 *data, gsize len)
{
  node->stats.datagrams_received++;
  g_autoptr (GError) error = NULL;
  if (node->auth_key != NULL
      && !dk_wire_verify (data, len, node->auth_key, node->config.auth_key_len, &error))
    {
      node->stats.dropped_unauthenticated++;
      return;
    }
  g_autoptr (DkWireMessage) message = dk_wire_decode (data, len, &error);
  if (message == NULL)
    {
      node->stats.dropped_malformed++;
      node_log (node, DK_LOG_DEBUG, "dropped a datagram from %" G_GUINT64_FORMAT ": %s",
                from, error->message);
      return;
    }
  Handler handler = handlers[message->type];
  if (handler == NULL)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  handler (node, from, message);
}

DkNodeId
dk_node_id (const DkNode *node)
{
  return node->config.id;
}

DkNodeId
dk_node_actor (const DkNode *node)
{
  return node->actor;
}

const DkNodeStats *
dk_node_stats (const DkNode *node)
{
  return &node->stats;
}

guint
dk_node_requests_in_flight (const DkNode *node)
{
  return g_hash_table_size (node->requests);
}
