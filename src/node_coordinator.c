/* node_coordinator.c — client requests, quorums, versions, read repair,
 * and the replica side of reads and writes; see node.h for the protocol.
 *
 * A request the node coordinates or proxies is a Request in a table keyed
 * by the hop request id that its READs, WRITEs and FORWARD carry, so
 * replies find it again. */
#include <string.h>
#include "node_private.h"

/* A coordinator gives up after request_timeout; a proxy waits this much
 * longer so the coordinator's own verdict normally reaches the client. */
#define PROXY_TIMEOUT_SLACK_US 100000
/* A proxy waits this many failover deadlines of its coordinator (one
 * round trip to it, one to the replicas, one failover there, and room)
 * before it tries another. */
#define PROXY_DEADLINES 4

static guint
replica_index (const Request *request, DkNodeId node)
{
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->replicas[i] == node)
      return i;
  return G_MAXUINT;
}

/* ---- requests ---------------------------------------------------------- */

void
node_request_free (gpointer data)
{
  Request *request = data;
  if (request->timer != 0)
    request->node->env.timer_cancel (request->node->env.user_data, request->timer);
  if (request->failover_timer != 0)
    request->node->env.timer_cancel (request->node->env.user_data, request->failover_timer);
  g_clear_pointer (&request->forward, dk_wire_message_free);
  g_bytes_unref (request->key);
  for (guint i = 0; i < request->n_replicas; i++)
    g_clear_pointer (&request->replica_sets[i], g_ptr_array_unref);
  g_clear_pointer (&request->merged, g_ptr_array_unref);
  g_clear_pointer (&request->written, dk_version_free);
  g_clear_pointer (&request->written_set, g_ptr_array_unref);
  DkNode *node = request->node;
  if (node->n_spare_requests < G_N_ELEMENTS (node->spare_requests))
    node->spare_requests[node->n_spare_requests++] = request;
  else
    g_free (request);
}

void
node_requests_clear (DkNode *node)
{
  g_hash_table_destroy (node->requests);
  while (node->n_spare_requests > 0)
    g_free (node->spare_requests[--node->n_spare_requests]);
}

static void request_timed_out (gpointer data);

static Request *
request_new (DkNode *node, RequestRole role, DkWireType kind, DkEndpoint client,
             guint64 client_hop_id, const DkWireClientRequest *client_request,
             gint64 timeout_us)
{
  Request *request;
  if (node->n_spare_requests > 0)
    {
      request = node->spare_requests[--node->n_spare_requests];
      memset (request, 0, sizeof *request);
    }
  else
    request = g_new0 (Request, 1);
  request->node = node;
  request->id = node->next_request_id++;
  request->role = role;
  request->kind = kind;
  request->client = client;
  request->client_hop_id = client_hop_id;
  request->client_id = client_request->client_id;
  request->client_request_id = client_request->client_request_id;
  request->key = g_bytes_ref (client_request->key);
  request->sibling_offset = client_request->sibling_offset;
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

/* A CLIENT_REPLY to REQUEST's client carrying SIBLINGS (may be NULL;
 * shared, not copied: encoding only reads it) and a copy of CONTEXT (may
 * be NULL). */
static DkWireMessage *
client_reply_new (const Request *request, DkWireStatus status, const char *reason,
                  const GPtrArray *siblings, const DkVclock *context)
{
  DkWireMessage *reply = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  reply->request_id = request->client_hop_id;
  DkWireClientReply *body = &reply->body.client_reply;
  body->client_request_id = request->client_request_id;
  body->status = status;
  body->reason = g_strdup (reason != NULL ? reason : "");
  if (siblings != NULL)
    {
      g_ptr_array_unref (body->siblings);
      body->siblings = g_ptr_array_ref ((GPtrArray *) siblings);
    }
  if (context != NULL)
    body->context = dk_vclock_copy (context);
  return reply;
}

/* Answer the client once with REPLY (taken); later calls do nothing. */
static void
answer_client_with (Request *request, DkWireMessage *reply)
{
  DkNode *node = request->node;
  if (request->client_answered)
    {
      dk_wire_message_free (reply);
      return;
    }
  request->client_answered = TRUE;
  DkWireClientReply *body = &reply->body.client_reply;
  if (body->status == DK_WIRE_STATUS_OK || body->status == DK_WIRE_STATUS_NOT_FOUND)
    node->stats.requests_succeeded++;
  else
    node->stats.requests_failed++;

  if (!node_send (node, request->client, reply))
    {
      /* Cannot happen: a get's siblings are paged to fit (answer_get).
       * Still an answer, never silence. */
      g_ptr_array_unref (body->siblings);   /* may be shared: replace, never empty it */
      body->siblings = dk_siblings_new ();
      body->siblings_before = body->siblings_after = 0;
      body->status = DK_WIRE_STATUS_TOO_LARGE;
      g_free (body->reason);
      body->reason = g_strdup ("the reply does not fit one datagram");
      node_send (node, request->client, reply);
    }
  /* Duplicates that joined get the same answer; a write's is kept for
   * later ones (node_dedup.c). */
  node_dedup_answered (node, request, reply);
}

static void
answer_client (Request *request, DkWireStatus status, const char *reason,
               const GPtrArray *siblings, const DkVclock *context)
{
  if (!request->client_answered)
    answer_client_with (request, client_reply_new (request, status, reason, siblings, context));
}

/* Answer a get with SET's context, digest and size, and as many of its
 * siblings as fit one datagram from the offset the client asked for: the
 * client asks for the rest with later offsets (wire.h).  A set too large
 * even to describe (more than DK_SIBLINGS_HARD_MAX versions merged from
 * several replicas) is refused as TOO_LARGE, still with its context. */
static void
answer_get (Request *request, DkWireStatus status, const GPtrArray *set)
{
  g_autoptr (DkVclock) context = dk_siblings_context (set);
  if (set->len > DK_SIBLINGS_HARD_MAX)
    {
      g_autofree char *reason =
        g_strdup_printf ("%u siblings: more than %u cannot be returned; write with this"
                         " context to resolve them", set->len, DK_SIBLINGS_HARD_MAX);
      answer_client (request, DK_WIRE_STATUS_TOO_LARGE, reason, NULL, context);
      return;
    }
  DkWireMessage *reply = client_reply_new (request, status, NULL, NULL, context);
  DkWireClientReply *body = &reply->body.client_reply;
  body->set_digest = dk_siblings_digest (set);
  guint first = MIN (request->sibling_offset, set->len);
  guint n = node_siblings_that_fit (reply, set, first);
  for (guint i = first; i < first + n; i++)
    g_ptr_array_add (body->siblings, dk_version_copy (g_ptr_array_index ((GPtrArray *) set, i)));
  body->siblings_before = (guint8) first;
  body->siblings_after = (guint8) (set->len - first - n);
  answer_client_with (request, reply);
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
      if (node_send_set (node, request->replicas[i], write, request->merged, NULL))
        node->stats.read_repairs_sent++;
    }
}

/* ---- the quorum -------------------------------------------------------- */

/* DK_NODE_BUG_OLD_VALUE: the reconciled set, but its first value carries
 * the bytes of a version some replica returned and the set replaced; NULL
 * when no replica returned such a version. */
static GPtrArray *
old_value_under_new_dot (const Request *request)
{
  for (guint i = 0; i < request->n_replicas; i++)
    for (guint k = 0; request->replica_sets[i] != NULL && k < request->replica_sets[i]->len; k++)
      {
        const DkVersion *old = g_ptr_array_index (request->replica_sets[i], k);
        for (guint m = 0; m < request->merged->len && !old->tombstone; m++)
          {
            const DkVersion *newer = g_ptr_array_index (request->merged, m);
            if (newer->tombstone || !dk_version_replaces (newer, old))
              continue;
            GPtrArray *answer = dk_siblings_copy (request->merged);
            DkVersion *changed = g_ptr_array_index (answer, m);
            g_bytes_unref (changed->value);
            changed->value = g_bytes_ref (old->value);
            return answer;
          }
      }
  return NULL;
}

static void
answer_success (Request *request)
{
  if (request->kind == DK_WIRE_GET)
    {
      gboolean live = FALSE;
      for (guint i = 0; i < request->merged->len && !live; i++)
        live = !((DkVersion *) g_ptr_array_index (request->merged, i))->tombstone;
      g_autoptr (GPtrArray) answer = request->node->config.bug == DK_NODE_BUG_OLD_VALUE
                                     ? old_value_under_new_dot (request) : NULL;
      answer_get (request, live ? DK_WIRE_STATUS_OK : DK_WIRE_STATUS_NOT_FOUND,
                  answer != NULL ? answer : request->merged);
    }
  else
    {
      /* The OK names the version stored: its dot and context. */
      g_autoptr (GPtrArray) written = dk_siblings_new ();
      g_ptr_array_add (written, dk_version_copy (request->written));
      g_autoptr (DkVclock) clock = dk_version_clock (request->written);
      answer_client (request, DK_WIRE_STATUS_OK, NULL, written, clock);
    }
}

/* A write that fails after its version was issued still names it, so
 * the client (and a checker) can tell the version if it shows up later;
 * NULL for a get or a write refused before issuing. */
static GPtrArray *
written_as_siblings (const Request *request)
{
  if (request->written == NULL)
    return NULL;
  GPtrArray *issued = dk_siblings_new ();
  g_ptr_array_add (issued, dk_version_copy (request->written));
  return issued;
}

/* ---- reads from R replicas (config.read_all_replicas off) -------------- */

static void send_to_replica (Request *request, guint i);
static void serve_locally (Request *request, guint i);

/* TRUE when REQUEST is a get that asks R of its replicas, not all. */
static gboolean
reads_from_quorum (const Request *request)
{
  return request->kind == DK_WIRE_GET && !request->node->config.read_all_replicas;
}

/* How many replicas REQUEST hears from before it is finished: each one
 * it asked (every one, unless it reads from R). */
static guint
replicas_awaited (const Request *request)
{
  if (!reads_from_quorum (request))
    return request->n_replicas;
  guint asked = 0;
  for (guint i = 0; i < request->n_replicas; i++)
    asked += request->asked[i];
  return asked;
}

/* A get reading from R replicas: ask the next replicas not yet asked, in
 * preference-list order, until those asked that have neither failed nor
 * passed a failover deadline unheard could make its quorum.  Returns how
 * many it asked. */
static guint
ask_more (Request *request)
{
  guint hopeful = 0;
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->asked[i])
      hopeful += request->replied[i] ? request->succeeded[i] : !request->late[i];
  guint asked = 0;
  for (guint i = 0; i < request->n_replicas && hopeful < request->needed; i++)
    {
      if (request->asked[i])
        continue;
      asked++;
      if (request->replicas[i] == request->node->config.id)
        {
          serve_locally (request, i);
          hopeful += request->succeeded[i];
        }
      else
        {
          send_to_replica (request, i);
          hopeful++;
        }
    }
  return asked;
}

/* ---- the quorum, continued ---------------------------------------------- */

/* Decide what the replies so far allow: answer when the quorum is met or
 * can no longer be; finish once every replica asked has spoken.  A get
 * reading from R first asks another replica for each one that failed. */
static void
quorum_check (Request *request)
{
  if (!request->client_answered && reads_from_quorum (request))
    ask_more (request);
  guint heard = request->successes + request->failures;
  if (!request->client_answered)
    {
      if (request->successes >= request->needed)
        answer_success (request);
      else if (request->needed > request->n_replicas
               || request->failures > request->n_replicas - request->needed)
        {
          g_autofree char *reason =
            g_strdup_printf ("%u of %u replicas answered (needed %u)",
                             request->successes, request->n_replicas, request->needed);
          g_autoptr (GPtrArray) issued = written_as_siblings (request);
          answer_client (request, request->failure_status, reason, issued, NULL);
        }
    }
  if (heard == replicas_awaited (request))
    {
      if (request->kind == DK_WIRE_GET)
        read_repair (request);
      request_finish (request);
    }
}

/* The replica slot I of REQUEST is for: itself, or whom it stands in for. */
static DkNodeId
slot_owner (const Request *request, guint i)
{
  return request->hinted_for[i] != DK_NODE_NONE ? request->hinted_for[i] : request->replicas[i];
}

/* TRUE when a stand-in of REQUEST stored the data on behalf of OWNER (so
 * it holds OWNER's hint already). */
static gboolean
stand_in_stored (const Request *request, DkNodeId owner)
{
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->succeeded[i] && request->hinted_for[i] == owner)
      return TRUE;
  return FALSE;
}

/* A write some replicas never acknowledged: keep hints for them, so the
 * data reaches them when they are heard from again, rather than waiting
 * for a read or anti-entropy to notice (unless a stand-in that failover
 * found already keeps one). */
static void
hint_unacknowledged (Request *request)
{
  DkNode *node = request->node;
  if (!node->config.hinted_handoff || request->written_set == NULL)
    return;
  for (guint i = 0; i < request->n_replicas; i++)
    if (!request->replied[i] && request->replicas[i] != node->config.id
        && !stand_in_stored (request, slot_owner (request, i)))
      node_hint_keep (node, slot_owner (request, i), request->key, request->written_set);
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
      g_autoptr (GPtrArray) issued = written_as_siblings (request);
      answer_client (request, DK_WIRE_STATUS_TIMEOUT, reason, issued, NULL);
    }
  if (request->kind == DK_WIRE_GET)
    read_repair (request);
  else
    hint_unacknowledged (request);
  request_finish (request);
}

/* Record replica I's answer: SET is its stored set for a GET (taken). */
static void
record_reply (Request *request, guint i, DkWireStatus status, GPtrArray *set)
{
  request->replied[i] = TRUE;
  if (status == DK_WIRE_STATUS_OK || status == DK_WIRE_STATUS_NOT_FOUND)
    {
      request->succeeded[i] = TRUE;
      request->successes++;
      if (set != NULL)
        {
          dk_siblings_merge (request->merged, set, &request->node->stats.dot_collisions);
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

static void failover_arm (Request *request);
static DkWireStatus store_as_replica (DkNode *node, GBytes *key, const GPtrArray *set,
                                      DkNodeId hinted_owner, gboolean *changed, GError **error);

/* Send REQUEST's READ, or its WRITE of the reconciled set, to replica
 * slot I (another node), and note when, for its failover deadline. */
static void
send_to_replica (Request *request, guint i)
{
  DkNode *node = request->node;
  if (request->kind == DK_WIRE_GET)
    {
      g_autoptr (DkWireMessage) read = dk_wire_message_new (DK_WIRE_READ);
      read->request_id = request->id;
      read->body.read.key = g_bytes_ref (request->key);
      node_send (node, request->replicas[i], read);
    }
  else
    {
      /* A replica has the write once it acknowledged every part of the set
       * (tests/check_wedge.c, wedge_a_write_is_acknowledged_only_when_every_part_is_stored). */
      g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
      write->request_id = request->id;
      write->body.write.hinted_owner = request->hinted_for[i];
      write->body.write.key = g_bytes_ref (request->key);
      DkWirePart sending;
      node_send_set_digested (node, request->replicas[i], write, request->written_set,
                              request->written_digest, &sending);
      node_parts_expect (&request->replica_parts[i], sending);
    }
  request->sent_us[i] = MAX (node_now (node), 1);
  request->asked[i] = TRUE;
}

/* Replica slot I is this node: read, or store as that slot, here and now. */
static void
serve_locally (Request *request, guint i)
{
  DkNode *node = request->node;
  g_autoptr (GError) error = NULL;
  request->asked[i] = TRUE;
  if (request->kind == DK_WIRE_GET)
    {
      GPtrArray *set = dk_store_get (node->env.store, request->key, &error);
      if (set == NULL)
        node->stats.store_errors++;
      record_reply (request, i, set != NULL ? DK_WIRE_STATUS_OK : DK_WIRE_STATUS_STORAGE_ERROR, set);
      return;
    }
  DkWireStatus status = store_as_replica (node, request->key, request->written_set,
                                          request->hinted_for[i], NULL, &error);
  if (status != DK_WIRE_STATUS_OK)
    node_log (node, DK_LOG_WARNING, "write not stored: %s", error->message);
  record_reply (request, i, status, NULL);
}

static void
coordinate_get (DkNode *node, Request *request)
{
  request->merged = dk_siblings_new ();
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->replicas[i] == node->config.id)
      serve_locally (request, i);
  if (reads_from_quorum (request))
    ask_more (request);
  else
    for (guint i = 0; i < request->n_replicas; i++)
      if (request->replicas[i] != node->config.id)
        send_to_replica (request, i);
  failover_arm (request);
  quorum_check (request);
}

/* Refuse a client context that could not come from this cluster's reads:
 * too many entries, a malformed actor, a counter past the limit, or a
 * counter of our own actor that we never issued (it would cover our
 * future dots).  Untrusted input: an error naming the entry, never an
 * assertion. */
static gboolean
context_valid (DkNode *node, const DkVclock *context, GError **error)
{
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (context, &n);
  if (n > DK_VCLOCK_MAX_ENTRIES)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "context has %u entries, at most %u allowed", n, DK_VCLOCK_MAX_ENTRIES);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      char shown[DK_ACTOR_STRING_SIZE];
      DkActor actor = entries[i].actor;
      const char *problem = NULL;
      if (dk_actor_node (actor) == DK_NODE_NONE || dk_actor_node (actor) >= DK_NODE_ID_LIMIT
          || dk_actor_incarnation (actor) == 0)
        problem = "names no node's actor";
      else if (entries[i].counter > DK_DOT_COUNTER_MAX)
        problem = "has a counter past 2^62";
      else if (actor == node->actor && entries[i].counter >= node->dot_next)
        problem = "claims a counter this node never issued";
      if (problem != NULL)
        {
          g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                       "context entry %s:%" G_GUINT64_FORMAT " %s",
                       dk_actor_format (actor, shown), entries[i].counter, problem);
          return FALSE;
        }
    }
  return TRUE;
}

/* Fail a write before anything was stored or sent. */
static void
refuse_write (Request *request, DkWireStatus status, const char *reason)
{
  answer_client (request, status, reason, NULL, NULL);
  request_finish (request);
}

/* Store SET locally as replica I of REQUEST (*CHANGED, may be NULL:
 * whether our set changed); a stand-in keeps the hint
 * first and refuses the write when it cannot (a write that lives only on
 * a non-replica, with no hint to take it home, would be lost to
 * anti-entropy, which walks owned ranges only). */
static DkWireStatus
store_as_replica (DkNode *node, GBytes *key, const GPtrArray *set, DkNodeId hinted_owner,
                  gboolean *changed, GError **error)
{
  g_autoptr (GPtrArray) without_tombstones = NULL;
  switch (node->config.bug)
    {
    case DK_NODE_BUG_ACK_UNSTORED:
      return DK_WIRE_STATUS_OK;
    case DK_NODE_BUG_RESURRECT:
      without_tombstones = dk_siblings_new ();
      for (guint i = 0; i < set->len; i++)
        if (!((const DkVersion *) g_ptr_array_index ((GPtrArray *) set, i))->tombstone)
          g_ptr_array_add (without_tombstones,
                           dk_version_copy (g_ptr_array_index ((GPtrArray *) set, i)));
      set = without_tombstones;
      break;
    default:
      break;
    }
  if (hinted_owner != DK_NODE_NONE && node->config.hinted_handoff
      && !node_hint_keep (node, hinted_owner, key, set))
    {
      node->stats.stand_in_refusals++;
      g_set_error (error, DK_STORE_ERROR, DK_STORE_ERROR_HINTS_FULL,
                   "stand-in for node %u cannot keep the hint (hint store full)", hinted_owner);
      return DK_WIRE_STATUS_OVERLOADED;
    }
  guint64 collisions = dk_store_dot_collisions (node->env.store);
  if (dk_store_put (node->env.store, key, set, node_now (node), changed, error))
    {
      guint64 seen = dk_store_dot_collisions (node->env.store) - collisions;
      if (seen > 0)
        {
          /* Impossible by construction (version.h): say so loudly. */
          node->stats.dot_collisions += seen;
          node_log (node, DK_LOG_ERROR, "dot collision: a version of a key arrived with the"
                    " dot of another version but a different payload (%" G_GUINT64_FORMAT ")",
                    seen);
        }
      return DK_WIRE_STATUS_OK;
    }
  node->stats.store_errors++;
  if (!g_error_matches (*error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE))
    return DK_WIRE_STATUS_STORAGE_ERROR;
  /* The wire admits no key or value over its limit: only a set past
   * DK_SIBLINGS_HARD_MAX is too large for the store. */
  node->stats.merges_refused_siblings++;
  node_log (node, DK_LOG_ERROR, "merge refused: %s", (*error)->message);
  return DK_WIRE_STATUS_TOO_LARGE;
}

/* Refuse a client write that would leave more than DK_SIBLINGS_MAX
 * siblings: TOO_LARGE naming the count, with what the client needs to
 * resolve them, the context, digest and size of the key's current set
 * CURRENT (its siblings are fetched with a get).  A write whose context
 * covers enough of them is accepted: the limit never blocks a
 * resolution (tests/check_wedge.c, wedge_blind_write_over_the_limit_*). */
static void
refuse_over_sibling_limit (Request *request, const GPtrArray *current, guint would_leave)
{
  DkNode *node = request->node;
  node->stats.sibling_limit_refusals++;
  g_autofree char *reason =
    g_strdup_printf ("the write would leave %u siblings, over the limit of %u: get the key"
                     " (%u siblings) and write with its context to resolve them",
                     would_leave, DK_SIBLINGS_MAX, current->len);
  g_autoptr (DkVclock) context = dk_siblings_context (current);
  DkWireMessage *reply = client_reply_new (request, DK_WIRE_STATUS_TOO_LARGE, reason, NULL,
                                           context);
  reply->body.client_reply.siblings_after = (guint8) MIN (current->len, DK_SIBLINGS_HARD_MAX);
  reply->body.client_reply.set_digest = dk_siblings_digest (current);
  answer_client_with (request, reply);
  request_finish (request);
}

/* Issue the new version (version.h), store the reconciled set locally,
 * then send that set to the other replicas.  The coordinator stores first
 * so that every replica that learns one of its dots for the key learns
 * its earlier ones too (they are in the set, or replaced by it). */
static void
coordinate_write (DkNode *node, Request *request, const DkWireClientRequest *client_request)
{
  g_autoptr (GError) error = NULL;
  if (client_request->context != NULL && !context_valid (node, client_request->context, &error))
    {
      node->stats.contexts_refused++;
      g_autofree char *reason = g_strdup_printf ("invalid context: %s", error->message);
      refuse_write (request, DK_WIRE_STATUS_INVALID, reason);
      return;
    }
  g_autoptr (GPtrArray) set = dk_store_get (node->env.store, request->key, &error);
  guint self = replica_index (request, node->config.id);
  DkDot dot;
  if (set == NULL
      || (node_key_needs_new_epoch (node, request->key) && !node_actor_new_epoch (node, &error))
      || !node_issue_dot (node, &dot, &error))
    {
      node->stats.store_errors++;
      refuse_write (request, DK_WIRE_STATUS_STORAGE_ERROR, error->message);
      return;
    }
  gboolean tombstone = request->kind == DK_WIRE_DELETE;
  guint pruned = 0;
  g_autoptr (DkVclock) context = client_request->context != NULL
                                 ? dk_vclock_copy (client_request->context) : dk_vclock_new ();
  if (node->config.bug == DK_NODE_BUG_DROP_SIBLING)
    {
      g_autoptr (DkVclock) everything = dk_siblings_context (set);
      dk_vclock_merge (context, everything);   /* injected: replaces what it never saw */
    }
  DkVersion *version = dk_version_issue (node->config.versioning, dot, set, context,
                                         client_request->value, tombstone,
                                         node->config.vclock_prune_entries, &pruned);
  /* The client's limit: what the write would leave, the siblings its
   * context does not cover and itself (a fresh dot: nothing replaces it). */
  guint would_leave = 1;
  for (guint i = 0; i < set->len; i++)
    would_leave += !dk_version_replaces (version, g_ptr_array_index (set, i));
  if (would_leave > DK_SIBLINGS_MAX)
    {
      dk_version_free (version);   /* its dot is never used: a gap, harmless */
      refuse_over_sibling_limit (request, set, would_leave);
      return;
    }
  node->stats.context_entries_pruned += pruned;
  request->written = dk_version_copy (version);
  dk_siblings_add (set, version, &node->stats.dot_collisions);
  request->written_set = g_ptr_array_ref (set);
  request->written_digest = dk_siblings_digest (set);

  if (self == G_MAXUINT)
    node_note_purged (node, request->key);   /* our dot, not in our copy */
  else
    {
      DkWireStatus status = store_as_replica (node, request->key, set, request->hinted_for[self],
                                              NULL, &error);
      if (status != DK_WIRE_STATUS_OK)
        {
          node_log (node, DK_LOG_WARNING, "write not stored: %s", error->message);
          g_autofree char *reason = g_strdup_printf ("coordinator could not store the write: %s",
                                                     error->message);
          refuse_write (request, status, reason);
          return;
        }
      for (guint k = 0; k < request->n_uncovered; k++)
        node_hint_keep (node, request->uncovered[k], request->key, set);
      record_reply (request, self, DK_WIRE_STATUS_OK, NULL);
    }
  for (guint i = 0; i < request->n_replicas; i++)
    if (i != self)
      send_to_replica (request, i);
  failover_arm (request);
  quorum_check (request);
}

/* The quorum a request needs: its own, else the configured one.  It is
 * never lowered to the replicas at hand: too few is a failure. */
static guint
quorum_or_default (guint8 requested, guint configured)
{
  return requested > 0 ? requested : configured;
}

/* The replicas a request uses, each with the intended replica it stands
 * in for (DK_NODE_NONE for an intended one), and the down intended
 * replicas no stand-in covers. */
typedef struct
{
  guint    n;
  DkNodeId replicas[DK_RING_MAX_REPLICAS];
  DkNodeId hinted_for[DK_RING_MAX_REPLICAS];
  DkNodeId uncovered[DK_RING_MAX_REPLICAS];
  guint    n_uncovered;
} ReplicaChoice;

/* Who a request may use: usable peers (node_peer_usable) other than the
 * ones it already found silent, as of one instant (a mark must not
 * expire in the middle of the ring's walk). */
typedef struct
{
  DkNode         *node;
  gint64          now;
  const DkNodeId *excluded;
  guint           n_excluded;
} UsableFilter;

static gboolean
usable_for_request (DkNodeId id, gpointer data)
{
  const UsableFilter *filter = data;
  for (guint i = 0; i < filter->n_excluded; i++)
    if (filter->excluded[i] == id)
      return FALSE;
  return node_peer_usable_at (filter->node, id, filter->now);
}

/* The replicas for TOKEN, in CHOICE.  Strict: the first N nodes of the
 * preference list, up or not.  Sloppy (Dynamo §4.6): the ring's one
 * sloppy list rule (dk_ring_sloppy_preference_list_by) with this node's
 * view of who is usable, never EXCLUDED (N_EXCLUDED nodes silent in this
 * request). */
static void
choose_replicas (DkNode *node, DkToken token, const DkNodeId *excluded, guint n_excluded,
                 ReplicaChoice *choice)
{
  guint n = node->config.n;
  memset (choice, 0, sizeof *choice);
  if (node->config.bug == DK_NODE_BUG_STAND_IN_ONLY && 2 * n <= DK_RING_MAX_REPLICAS)
    {
      /* Injected: the N nodes after the preference list stand in for it
       * although it is healthy (and node_hint_keep keeps no hint). */
      DkNodeId extended[DK_RING_MAX_REPLICAS];
      guint length = dk_ring_preference_list (node->ring, token, 2 * n, extended);
      if (length == 2 * n)
        {
          for (guint i = 0; i < n; i++)
            {
              choice->replicas[i] = extended[n + i];
              choice->hinted_for[i] = extended[i];
            }
          choice->n = n;
          return;
        }
    }
  if (!node->config.sloppy_quorum)
    {
      choice->n = dk_ring_preference_list (node->ring, token, n, choice->replicas);
      return;
    }
  UsableFilter filter = { node, node_now (node), excluded, n_excluded };
  DkRingReplica sloppy[DK_RING_MAX_REPLICAS];
  choice->n = dk_ring_sloppy_preference_list_by (node->ring, token, n, usable_for_request,
                                                 &filter, sloppy, choice->uncovered,
                                                 &choice->n_uncovered);
  for (guint i = 0; i < choice->n; i++)
    {
      choice->replicas[i] = sloppy[i].node;
      choice->hinted_for[i] = sloppy[i].hinted_for;
    }
}

static DkToken
request_token (const Request *request)
{
  return dk_ring_key_token (g_bytes_get_data (request->key, NULL),
                            g_bytes_get_size (request->key));
}

/* Coordinate REQUEST (a proxy until now, or new) with the replicas of
 * CHOICE. */
static void
start_coordinating (DkNode *node, Request *request, const DkWireClientRequest *client_request,
                    const ReplicaChoice *choice)
{
  request->role = ROLE_COORDINATOR;
  node->stats.requests_coordinated++;
  request->n_replicas = choice->n;
  memcpy (request->replicas, choice->replicas, sizeof choice->replicas);
  memcpy (request->hinted_for, choice->hinted_for, sizeof choice->hinted_for);
  memcpy (request->uncovered, choice->uncovered, sizeof choice->uncovered);
  request->n_uncovered = choice->n_uncovered;
  for (guint i = 0; i < choice->n; i++)
    if (choice->hinted_for[i] != DK_NODE_NONE)
      {
        node->stats.sloppy_requests++;
        break;
      }
  if (request->kind == DK_WIRE_GET)
    {
      request->needed = quorum_or_default (client_request->r, node->config.r);
      coordinate_get (node, request);
    }
  else
    {
      request->needed = quorum_or_default (client_request->w, node->config.w);
      coordinate_write (node, request, client_request);
    }
}

/* ---- failover (Dynamo §4.6; node_reach.c) ------------------------------ */

/* How long a proxy waits for the coordinator TARGET before trying another. */
static gint64
proxy_wait (DkNode *node, DkNodeId target)
{
  return MIN (PROXY_DEADLINES * node_reach_deadline (node, target),
              node->config.request_timeout_us / 2);
}

/* TRUE when PROXY may send its request again: a read, or a write with a
 * name (node_dedup.c).  An anonymous write is remembered by this node
 * only, so a coordinator would apply a second copy as a new write. */
static gboolean
proxy_may_retry (const Request *proxy)
{
  return proxy->kind == DK_WIRE_GET || proxy->client_id != 0;
}

/* When REQUEST next has somebody silent past a deadline: its proxy's
 * coordinator, or the earliest replica not yet heard; G_MAXINT64 when it
 * awaits nobody. */
static gint64
failover_next_due (Request *request)
{
  DkNode *node = request->node;
  if (request->role == ROLE_PROXY)
    return request->n_tried == 0 || request->forward == NULL || !proxy_may_retry (request)
           ? G_MAXINT64
           : request->forwarded_us + proxy_wait (node, request->tried[request->n_tried - 1]);
  gint64 due = G_MAXINT64;
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->sent_us[i] != 0 && !request->silent[i])
      due = MIN (due, request->sent_us[i] + node_reach_deadline (node, request->replicas[i]));
  return due;
}

static void failover_due (gpointer data);

/* Without failover (config.failover off) a request never arms one: each
 * replica gets one message and is waited for until the timeout, as the
 * PBS paper's WARS model has it (tests/check_pbs.c). */
static void
failover_arm (Request *request)
{
  DkNode *node = request->node;
  if (request->failover_timer != 0)
    node->env.timer_cancel (node->env.user_data, request->failover_timer);
  request->failover_timer = 0;
  if (!node->config.failover)
    return;
  gint64 due = failover_next_due (request);
  if (due != G_MAXINT64)
    request->failover_timer = node->env.timer_start (node->env.user_data,
                                                     MAX (due - node_now (node), 1),
                                                     failover_due, request);
}

/* Replica slots of REQUEST fell silent, on behalf of COVERS (N_COVERS
 * owners, in slot order): the sloppy list recomputed without every node
 * silent in this request names the next nodes of the extended preference
 * list; each new one stands in for the next owner, with its hint.
 * Returns how many owners (the first ones) got a stand-in. */
static guint
add_stand_ins (Request *request, const DkNodeId *covers, guint n_covers)
{
  DkNode *node = request->node;
  DkNodeId silent[DK_RING_MAX_REPLICAS];
  guint n_silent = 0;
  for (guint i = 0; i < request->n_replicas; i++)
    if (request->silent[i])
      silent[n_silent++] = request->replicas[i];
  ReplicaChoice choice;
  choose_replicas (node, request_token (request), silent, n_silent, &choice);
  guint next = 0;
  for (guint k = 0; k < choice.n && next < n_covers
                    && request->n_replicas < DK_RING_MAX_REPLICAS; k++)
    {
      if (replica_index (request, choice.replicas[k]) != G_MAXUINT)
        continue;   /* in the request already */
      guint i = request->n_replicas++;
      request->replicas[i] = choice.replicas[k];
      request->hinted_for[i] = covers[next++];
      node->stats.failovers++;
      if (request->replicas[i] == node->config.id)
        serve_locally (request, i);
      else
        send_to_replica (request, i);
    }
  return next;
}

/* Send PROXY's FORWARD to its current coordinator once more: the datagram
 * (or the answer) may have been lost, and a coordinator that has the
 * request joins the two (node_dedup.c). */
static void
proxy_resend (Request *proxy)
{
  DkNode *node = proxy->node;
  proxy->forward_resent = TRUE;
  node->stats.failover_resends++;
  proxy->forwarded_us = node_now (node);
  node_send (node, proxy->tried[proxy->n_tried - 1], proxy->forward);
  failover_arm (proxy);
}

/* The coordinator a proxy forwarded to stayed silent past its deadline:
 * route again without every coordinator tried, coordinating here when
 * this node is now on the list, else forwarding to the next one; with
 * nobody left, the same one once more, then the request waits for its
 * timeout.  A write first asks the same coordinator once more unless it
 * is marked unreachable: two coordinators would apply it twice, under two
 * dots, where one that was only slow joins the resend. */
static void
proxy_retry (Request *proxy)
{
  DkNode *node = proxy->node;
  gboolean marked = node_reach_silent (node, proxy->tried[proxy->n_tried - 1]);
  if (proxy->kind != DK_WIRE_GET && !marked && !proxy->forward_resent)
    {
      proxy_resend (proxy);
      return;
    }
  ReplicaChoice choice;
  choose_replicas (node, request_token (proxy), proxy->tried, proxy->n_tried, &choice);
  for (guint i = 0; i < choice.n; i++)
    if (choice.replicas[i] == node->config.id)
      {
        node->stats.failovers++;
        g_autoptr (DkWireMessage) forward = g_steal_pointer (&proxy->forward);
        start_coordinating (node, proxy, &forward->body.forward.request, &choice);
        return;
      }
  for (guint i = 0; i < choice.n && proxy->n_tried < DK_RING_MAX_REPLICAS; i++)
    {
      DkNodeId target = choice.replicas[i];
      gboolean tried = FALSE;
      for (guint k = 0; k < proxy->n_tried; k++)
        tried = tried || proxy->tried[k] == target;
      if (tried || !node_peer_usable (node, target))
        continue;
      node->stats.failovers++;
      proxy->tried[proxy->n_tried++] = target;
      proxy->forward_resent = FALSE;
      proxy->forwarded_us = node_now (node);
      node_send (node, target, proxy->forward);
      failover_arm (proxy);
      return;
    }
  if (!proxy->forward_resent)
    proxy_resend (proxy);
}

/* REQUEST's failover deadline passed: every replica still unheard past
 * its own deadline is a strike against it (node_reach_silent).  A replica
 * that is not marked unreachable by it is only slow, as far as this node
 * knows: it is asked once more (a datagram may have been lost) and waited
 * for, never replaced, so that a read quorum and a write quorum of the
 * key's own replicas still overlap when nothing has failed.  One that is
 * marked (silent again, with nothing heard from it in between: cut off or
 * dead) is silent in this request: while the quorum is still open, with a
 * sloppy quorum, it gets a stand-in.  A strict quorum uses no stand-in; it
 * asks the same replica once more, as does a sloppy one with no node left
 * to ask.  A get reading from R replicas first asks replicas of its own
 * list it had not asked, one for each late one; only owners still
 * uncovered then get stand-ins. */
static void
failover_due (gpointer data)
{
  Request *request = data;
  DkNode *node = request->node;
  request->failover_timer = 0;
  if (request->role == ROLE_PROXY)
    {
      if (request->forward != NULL
          && node_now (node) >= failover_next_due (request))
        proxy_retry (request);
      else
        failover_arm (request);
      return;
    }
  gint64 now = node_now (node);
  DkNodeId covers[DK_RING_MAX_REPLICAS];
  guint slots[DK_RING_MAX_REPLICAS];
  guint n_covers = 0;
  for (guint i = 0; i < request->n_replicas; i++)
    {
      if (request->sent_us[i] == 0 || request->silent[i]
          || now < request->sent_us[i] + node_reach_deadline (node, request->replicas[i]))
        continue;
      request->late[i] = TRUE;
      if (!node_reach_silent (node, request->replicas[i]))
        {
          /* Slow, not gone: wait another deadline, asking once more. */
          request->sent_us[i] = now;
          if (!request->resent[i])
            {
              request->resent[i] = TRUE;
              node->stats.failover_resends++;
              send_to_replica (request, i);
            }
          continue;
        }
      request->silent[i] = TRUE;
      slots[n_covers] = i;
      covers[n_covers++] = slot_owner (request, i);
    }
  guint before = request->n_replicas;
  /* A get reading from R asks a replica it has not asked yet for each
   * late one (a speculative read): the first to answer counts. */
  guint spares = 0;
  if (!request->client_answered && reads_from_quorum (request))
    spares = ask_more (request);
  node->stats.failovers += spares;
  guint covered = MIN (spares, n_covers);
  if (covered < n_covers && !request->client_answered && node->config.sloppy_quorum)
    covered += add_stand_ins (request, covers + covered, n_covers - covered);
  /* Silent ones nobody can stand in for (a strict quorum, or no node
   * left): asked once more, in case a datagram was lost. */
  for (guint k = covered; k < n_covers && !request->client_answered; k++)
    if (!request->resent[slots[k]])
      {
        request->resent[slots[k]] = TRUE;
        request->silent[slots[k]] = FALSE;
        node->stats.failover_resends++;
        send_to_replica (request, slots[k]);
      }
  failover_arm (request);
  if (request->n_replicas > before || spares > 0)
    quorum_check (request);   /* last: it may finish REQUEST */
}

/* ---- routing ------------------------------------------------------------ */

/* The node to forward to: the first of LIST this node may use. */
static DkNodeId
forward_target (DkNode *node, const DkNodeId *list, guint n)
{
  for (guint i = 0; i < n; i++)
    if (node_peer_usable (node, list[i]))
      return list[i];
  return list[0];
}

/* A client request, direct (HOPS 0) or forwarded: coordinate it when we
 * are on the preference list, else proxy it to the list's head.  Either
 * way only once: a request seen before is answered from memory or joins
 * the one in flight (node_dedup.c). */
static void
handle_client_request (DkNode *node, DkEndpoint from, guint64 hop_id, DkWireType kind,
                       const DkWireClientRequest *client_request, guint hops)
{
  Remembered *remembered = NULL;
  if (!node_dedup_admit (node, from, hop_id, kind, client_request, hops, &remembered))
    return;
  ReplicaChoice choice;
  DkToken token = dk_ring_key_token (g_bytes_get_data (client_request->key, NULL),
                                     g_bytes_get_size (client_request->key));
  choose_replicas (node, token, NULL, 0, &choice);
  gboolean on_list = FALSE;
  for (guint i = 0; i < choice.n; i++)
    on_list = on_list || choice.replicas[i] == node->config.id;

  if (!on_list && hops < node->config.max_forward_hops && choice.n > 0)
    {
      Request *proxy = request_new (node, ROLE_PROXY, kind, from, hop_id, client_request,
                                    node->config.request_timeout_us + PROXY_TIMEOUT_SLACK_US);
      if (remembered != NULL)
        node_dedup_bind (remembered, proxy);
      DkWireMessage *forward = dk_wire_message_new (DK_WIRE_FORWARD);
      forward->request_id = proxy->id;
      DkWireForward *body = &forward->body.forward;
      body->request_type = kind;
      body->hops = (guint8) (hops + 1);
      body->client_address = g_strdup ("");
      body->request.client_id = client_request->client_id;
      body->request.client_request_id = client_request->client_request_id;
      body->request.key = g_bytes_ref (client_request->key);
      body->request.value = client_request->value != NULL ? g_bytes_ref (client_request->value) : NULL;
      body->request.context = client_request->context != NULL
                              ? dk_vclock_copy (client_request->context) : NULL;
      body->request.r = client_request->r;
      body->request.w = client_request->w;
      body->request.sibling_offset = client_request->sibling_offset;
      proxy->forward = forward;   /* kept: a silent coordinator gets a successor */
      DkNodeId target = forward_target (node, choice.replicas, choice.n);
      proxy->tried[proxy->n_tried++] = target;
      proxy->forwarded_us = node_now (node);
      node->stats.requests_forwarded++;
      node_send (node, target, forward);
      failover_arm (proxy);
      return;
    }

  Request *request = request_new (node, ROLE_COORDINATOR, kind, from, hop_id, client_request,
                                  node->config.request_timeout_us);
  if (remembered != NULL)
    node_dedup_bind (remembered, request);
  start_coordinating (node, request, client_request, &choice);
}

/* ---- handlers, one per message type ------------------------------------ */

void
node_on_client_request (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  handle_client_request (node, from, message->request_id, message->type,
                         &message->body.client_request, 0);
}

void
node_on_forward (DkNode *node, DkEndpoint from, DkWireMessage *message)
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
void
node_on_client_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  Request *proxy = g_hash_table_lookup (node->requests, &message->request_id);
  /* Only a coordinator we forwarded to may answer (an earlier one too: it
   * may just have been slow); anyone else guessed the hop id. */
  gboolean asked = FALSE;
  for (guint i = 0; proxy != NULL && i < proxy->n_tried; i++)
    asked = asked || (dk_endpoint_is_node (from) && proxy->tried[i] == (DkNodeId) from);
  if (proxy == NULL || proxy->role != ROLE_PROXY || !asked)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  DkWireClientReply *reply = &message->body.client_reply;
  DkWireMessage *relayed = client_reply_new (proxy, reply->status, reply->reason,
                                             reply->siblings, reply->context);
  relayed->body.client_reply.siblings_before = reply->siblings_before;
  relayed->body.client_reply.siblings_after = reply->siblings_after;
  relayed->body.client_reply.set_digest = reply->set_digest;
  answer_client_with (proxy, relayed);
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
  if (*index == G_MAXUINT)
    return NULL;
  if (request->sent_us[*index] != 0)
    {
      /* Its first word (a late one too): a round trip observed. */
      node_reach_sample (node, (DkNodeId) from, node_now (node) - request->sent_us[*index]);
      request->sent_us[*index] = 0;
    }
  return request->replied[*index] ? NULL : request;
}

void
node_on_read (DkNode *node, DkEndpoint from, DkWireMessage *message)
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
  guint64 digest;
  gboolean lent;
  GPtrArray *set = dk_store_read (node->env.store, body->key, &digest, &lent, &error);
  body->status = DK_WIRE_STATUS_OK;
  if (set == NULL)
    {
      node->stats.store_errors++;
      body->status = DK_WIRE_STATUS_STORAGE_ERROR;
      set = dk_siblings_new ();
      digest = dk_siblings_digest (set);
    }
  /* One snapshot, in as many parts as it takes (wire.h); sending does
   * not touch the store, so a lent set stays as it is meanwhile. */
  node_send_set_digested (node, from, reply, set, digest, NULL);
  if (!lent)
    g_ptr_array_unref (set);
}

void
node_on_read_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if (node_ae_take_read_reply (node, from, message))
    return;
  guint index;
  Request *request = find_replica_request (node, from, message->request_id, &index);
  if (request == NULL || request->kind != DK_WIRE_GET)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  DkWireReadReply *body = &message->body.read_reply;
  GPtrArray *set = NULL;
  if (body->status != DK_WIRE_STATUS_OK && body->status != DK_WIRE_STATUS_NOT_FOUND)
    g_clear_pointer (&request->replica_sets[index], g_ptr_array_unref);
  else if (body->part.last == 0)
    {
      /* A whole snapshot (parts of another one, if any, go). */
      g_clear_pointer (&request->replica_sets[index], g_ptr_array_unref);
      set = g_steal_pointer (&body->siblings);
      body->siblings = dk_siblings_new ();  /* keep the message well-formed for its free */
    }
  else
    {
      /* One part of the replica's answer: its answer is in once every
       * part of that one snapshot is (duplicates and parts of another
       * snapshot are not counted). */
      if (!node_parts_note (&request->replica_parts[index], body->part))
        {
          node->stats.dropped_unexpected++;
          return;
        }
      if (request->replica_sets[index] == NULL)
        request->replica_sets[index] = dk_siblings_new ();
      dk_siblings_merge (request->replica_sets[index], body->siblings,
                         &node->stats.dot_collisions);
      if (!node_parts_complete (&request->replica_parts[index]))
        return;
      set = g_steal_pointer (&request->replica_sets[index]);
    }
  record_reply (request, index, body->status, set);
  quorum_check (request);
}

void
node_on_write (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  DkWireWrite *write = &message->body.write;
  if (!dk_endpoint_is_node (from))
    {
      node->stats.dropped_unexpected++;   /* only nodes write replicas directly */
      return;
    }
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;
  DkWireStatus status = store_as_replica (node, write->key, write->siblings,
                                          write->hinted_owner, &changed, &error);
  if (status != DK_WIRE_STATUS_OK)
    node_log (node, DK_LOG_WARNING, "write not stored: %s", error->message);
  else
    node_stream_after_write (node, from, message, changed);   /* a stream's, or a stale view's */
  if (message->request_id == 0)
    return;  /* a repair: nobody waits for the ack */
  g_autoptr (DkWireMessage) ack = dk_wire_message_new (DK_WIRE_WRITE_ACK);
  ack->request_id = message->request_id;
  ack->body.write_ack.status = status;
  ack->body.write_ack.key = g_bytes_ref (write->key);
  ack->body.write_ack.part = write->part;   /* each part is acknowledged */
  node_send (node, from, ack);
}

void
node_on_write_ack (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if (node_stream_take_ack (node, from, message))
    return;
  guint index;
  Request *request = find_replica_request (node, from, message->request_id, &index);
  if (request == NULL || request->kind == DK_WIRE_GET)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  const DkWireWriteAck *ack = &message->body.write_ack;
  if (ack->status == DK_WIRE_STATUS_OK)
    {
      /* Stored once every part of the set is acknowledged. */
      if (!node_parts_note (&request->replica_parts[index], ack->part))
        {
          node->stats.dropped_unexpected++;
          return;
        }
      if (!node_parts_complete (&request->replica_parts[index]))
        return;
    }
  record_reply (request, index, ack->status, NULL);
  quorum_check (request);
}
