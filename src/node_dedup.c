/* node_dedup.c — requests happen once: the client requests a node
 * remembers, so that a retry or a replay is answered, not applied again
 * (node.h has the contract).
 *
 * A request is named by (client id, client request id); an anonymous one
 * (client id 0) by the endpoint it came from and its request id, and only
 * where it arrives from that endpoint (a forwarded anonymous request is
 * the proxy's to remember: two clients of one proxy may pick the same
 * small ids).  Each name maps to a Remembered record: in flight, it knows
 * the Request handling it and the duplicates that joined; answered, it
 * keeps the CLIENT_REPLY sent (writes only: a read asked again reads
 * again).  Records sit in one queue in the order they were first seen and
 * leave from its head when older than dedup_age_us or past the count or
 * byte bound, so memory stays bounded whatever the clients do.
 *
 * Proved by tests/check_requests_once.c: a duplicated put is applied once
 * and both answers name the same dot, in flight and after the answer;
 * a reused name is refused; the bounds hold. */
#include <string.h>
#include "hash.h"
#include "node_private.h"

/* Duplicates joined to one request in flight, at most: a client that
 * keeps resending reaches the same answer through the first of them. */
#define MAX_WAITERS 8

/* What a record counts as costing in remembered_bytes besides its answer
 * (the size records had when their waiters were inline; the waiters' own
 * room, rare, is not counted): a constant, so that the byte bound forgets
 * the same records whatever the layout below. */
#define RECORD_BYTES (248 + 64)

typedef struct
{
  guint64    client_id;
  DkEndpoint address;     /* anonymous requests: the endpoint they came from; else 0 */
  guint64    request_id;
} RequestName;

/* Somebody waiting for the answer: an endpoint and the header id its
 * datagram carried (a CLIENT_REPLY goes back under it). */
typedef struct
{
  DkEndpoint endpoint;
  guint64    hop_id;
} Waiter;

/* Every write a node coordinates is remembered until the end of a short
 * run, so a record is kept to 128 bytes: the waiters, while in flight and
 * only when a duplicate joins, are a block of their own. */
struct _Remembered
{
  RequestName    name;
  DkWireType     kind;
  guint          n_waiters;
  guint64        fingerprint;  /* of key, value and context */
  gint64         seen_us;      /* node_now when first seen */
  guint64        request;      /* hop id of the Request handling it; 0: none */
  Waiter         first;        /* who sent it first */
  Waiter        *waiters;      /* duplicates from elsewhere, while in flight: room for
                                * MAX_WAITERS, made when the first joins; or NULL */
  DkWireMessage *answer;       /* the CLIENT_REPLY, once a write was answered */
  gsize          bytes;        /* what this record costs, as counted in remembered_bytes */
  GList          link;         /* in node->remembered_order */
};

G_STATIC_ASSERT (sizeof (Remembered) <= 128);

static guint
name_hash (gconstpointer data)
{
  const RequestName *name = data;
  return (guint) dk_mix64 (name->client_id ^ dk_mix64 (name->address ^ dk_mix64 (name->request_id)));
}

static gboolean
name_equal (gconstpointer a, gconstpointer b)
{
  const RequestName *x = a, *y = b;
  return x->client_id == y->client_id && x->address == y->address
         && x->request_id == y->request_id;
}

static RequestName
name_of (guint64 client_id, DkEndpoint from, guint64 request_id)
{
  return (RequestName) { client_id, client_id == 0 ? from : 0, request_id };
}

static void
remembered_free (gpointer data)
{
  Remembered *entry = data;
  g_clear_pointer (&entry->answer, dk_wire_message_free);
  g_free (entry->waiters);
  g_free (entry);
}

void
node_dedup_init (DkNode *node)
{
  node->remembered = g_hash_table_new_full (name_hash, name_equal, NULL, remembered_free);
  g_queue_init (&node->remembered_order);
  node->remembered_bytes = 0;
  if (node->config.dedup_requests == 0)
    node->config.dedup_requests = DK_NODE_DEDUP_REQUESTS_DEFAULT;
  if (node->config.dedup_age_us <= 0)
    node->config.dedup_age_us = DK_NODE_DEDUP_AGE_US_DEFAULT;
  if (node->config.dedup_bytes == 0)
    node->config.dedup_bytes = DK_NODE_DEDUP_BYTES_DEFAULT;
}

void
node_dedup_clear (DkNode *node)
{
  g_queue_init (&node->remembered_order);  /* its links live inside the records */
  g_clear_pointer (&node->remembered, g_hash_table_destroy);
  node->remembered_bytes = 0;
}

static void
forget (DkNode *node, Remembered *entry)
{
  g_queue_unlink (&node->remembered_order, &entry->link);
  node->remembered_bytes -= entry->bytes;
  g_hash_table_remove (node->remembered, &entry->name);  /* frees ENTRY */
}

/* Forget records older than the age bound, then the oldest while past
 * the count or byte bound (counted: they left early). */
static void
enforce_bounds (DkNode *node, gint64 now)
{
  for (GList *head = node->remembered_order.head; head != NULL;
       head = node->remembered_order.head)
    {
      Remembered *oldest = head->data;
      if (now - oldest->seen_us <= node->config.dedup_age_us)
        break;
      forget (node, oldest);
    }
  while (node->remembered_order.length > node->config.dedup_requests
         || node->remembered_bytes > node->config.dedup_bytes)
    {
      node->stats.requests_forgotten++;
      forget (node, node->remembered_order.head->data);
    }
}

/* Tells a request from another that reuses its name (a get of another
 * part of a set is another request). */
static guint64
fingerprint_of (DkWireType kind, const DkWireClientRequest *request)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (request->key, &len);
  guint64 hash = dk_hash64_seeded (data, len, (guint64) kind + ((guint64) request->sibling_offset << 8));
  data = request->value != NULL ? g_bytes_get_data (request->value, &len) : NULL;
  hash = dk_hash64_seeded (data, data != NULL ? len : 0, hash);
  if (request->context != NULL)
    {
      guint n;
      const DkVclockEntry *entries = dk_vclock_entries (request->context, &n);
      for (guint i = 0; i < n; i++)
        hash = dk_mix64 (hash ^ dk_mix64 ((guint64) entries[i].actor ^ dk_mix64 (entries[i].counter)));
      hash = dk_mix64 (hash + n + 1);
    }
  return hash;
}

/* What a remembered answer costs: the reply's strings, clocks and values
 * (an estimate that never undercounts the values, the bulk of it). */
static gsize
answer_bytes (const DkWireMessage *reply)
{
  const DkWireClientReply *body = &reply->body.client_reply;
  gsize bytes = sizeof (DkWireMessage) + strlen (body->reason) + 1;
  if (body->context != NULL)
    bytes += 32 + dk_vclock_size (body->context) * sizeof (DkVclockEntry);
  for (guint i = 0; i < body->siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (body->siblings, i);
      bytes += 64 + dk_vclock_size (version->context) * sizeof (DkVclockEntry);
      if (version->value != NULL)
        bytes += g_bytes_get_size (version->value);
    }
  return bytes;
}

/* Send REPLY (a remembered CLIENT_REPLY) to TO under HOP_ID. */
static void
send_answer (DkNode *node, DkEndpoint to, guint64 hop_id, DkWireMessage *reply)
{
  reply->request_id = hop_id;
  node_send (node, to, reply);
}

static void
refuse_reused_name (DkNode *node, DkEndpoint from, guint64 hop_id,
                    const DkWireClientRequest *client_request)
{
  node->stats.requests_id_reused++;
  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  reply->request_id = hop_id;
  reply->body.client_reply.client_request_id = client_request->client_request_id;
  reply->body.client_reply.status = DK_WIRE_STATUS_INVALID;
  reply->body.client_reply.reason =
    g_strdup_printf ("request id %" G_GUINT64_FORMAT " of client %" G_GUINT64_FORMAT
                     " was used before for another request; use a new id",
                     client_request->client_request_id, client_request->client_id);
  node_send (node, from, reply);
}

/* A duplicate of ENTRY, in flight, from FROM under HOP_ID: it gets the
 * answer when it comes, unless it is the very same datagram again. */
static void
join (Remembered *entry, DkEndpoint from, guint64 hop_id)
{
  Waiter waiter = { from, hop_id };
  if (entry->first.endpoint == from && entry->first.hop_id == hop_id)
    return;
  for (guint i = 0; i < entry->n_waiters; i++)
    if (entry->waiters[i].endpoint == from && entry->waiters[i].hop_id == hop_id)
      return;
  if (entry->waiters == NULL)
    entry->waiters = g_new (Waiter, MAX_WAITERS);
  if (entry->n_waiters < MAX_WAITERS)
    entry->waiters[entry->n_waiters++] = waiter;
}

gboolean
node_dedup_admit (DkNode *node, DkEndpoint from, guint64 hop_id, DkWireType kind,
                  const DkWireClientRequest *client_request, guint hops, Remembered **entry)
{
  *entry = NULL;
  if (client_request->client_id == 0 && hops > 0)
    return TRUE;  /* anonymous and forwarded: remembered by the proxy */
  gint64 now = node_now (node);
  enforce_bounds (node, now);
  RequestName name = name_of (client_request->client_id, from, client_request->client_request_id);
  guint64 fingerprint = fingerprint_of (kind, client_request);
  Remembered *seen = g_hash_table_lookup (node->remembered, &name);
  /* In flight with no request to answer it (cannot happen: every request
   * is answered before it finishes): forget it rather than wait forever. */
  if (seen != NULL && seen->answer == NULL
      && !g_hash_table_contains (node->requests, &seen->request))
    {
      forget (node, seen);
      seen = NULL;
    }
  if (seen != NULL)
    {
      if (seen->kind != kind || seen->fingerprint != fingerprint)
        refuse_reused_name (node, from, hop_id, client_request);
      else
        {
          node->stats.requests_deduplicated++;
          if (seen->answer != NULL)
            send_answer (node, from, hop_id, seen->answer);
          else
            join (seen, from, hop_id);
        }
      return FALSE;
    }

  Remembered *fresh = g_new0 (Remembered, 1);
  fresh->name = name;
  fresh->kind = kind;
  fresh->fingerprint = fingerprint;
  fresh->seen_us = now;
  fresh->first = (Waiter) { from, hop_id };
  fresh->bytes = RECORD_BYTES;  /* and its hash table slot */
  fresh->link.data = fresh;
  g_hash_table_insert (node->remembered, &fresh->name, fresh);
  g_queue_push_tail_link (&node->remembered_order, &fresh->link);
  node->remembered_bytes += fresh->bytes;
  enforce_bounds (node, now);
  /* The bounds forget the oldest first: FRESH is the newest and stays,
   * unless a bound is below one record. */
  *entry = g_hash_table_lookup (node->remembered, &name);
  return TRUE;
}

void
node_dedup_bind (Remembered *entry, const Request *request)
{
  entry->request = request->id;
}

void
node_dedup_answered (DkNode *node, const Request *request, DkWireMessage *reply)
{
  RequestName name = name_of (request->client_id, request->client, request->client_request_id);
  Remembered *entry = g_hash_table_lookup (node->remembered, &name);
  if (entry == NULL || entry->request != request->id || entry->answer != NULL)
    {
      dk_wire_message_free (reply);
      return;
    }
  for (guint i = 0; i < entry->n_waiters; i++)
    send_answer (node, entry->waiters[i].endpoint, entry->waiters[i].hop_id, reply);
  entry->n_waiters = 0;
  g_clear_pointer (&entry->waiters, g_free);
  if (request->kind == DK_WIRE_GET)
    {
      /* Reads change nothing: one asked again later reads again. */
      forget (node, entry);
      dk_wire_message_free (reply);
      return;
    }
  entry->answer = reply;
  gsize bytes = answer_bytes (reply);
  entry->bytes += bytes;
  node->remembered_bytes += bytes;
  enforce_bounds (node, node_now (node));
}
