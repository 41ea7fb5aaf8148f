/* workload.c — open-loop clients; see workload.h.
 *
 * One arrival chain on the event queue issues every operation; a pending
 * table (operation id -> timeout event) matches replies.  The client
 * request id of an operation is its history id, so a reply names its
 * operation directly. */
#include "workload.h"

#include <math.h>
#include <string.h>
#include "client_model.h"
#include "ring.h"
#include "wire.h"

#define WORKLOAD_STREAM 2

/* A get of a set too large for one reply fetches the rest in pages; each
 * page is its own request (workload.h, client_model.h). */
#define OP_MASK DK_WORKLOAD_OP_MASK

typedef struct
{
  DkWorkload *workload;
  guint64     op;
  guint       client;
  guint32     key_index;
  gboolean    then_write; /* the read half of a read-modify-write ... */
  DkOpKind    write_kind; /* ... whose write is this put or delete */
  DkEventId   timeout;
  DkNodeId    coordinator;
  guint64     request_id; /* the client request id of the request in flight */
  guint       page;       /* pages asked for so far */
  DkClientPages pages;    /* a paged get's set so far */
} Pending;

struct _DkWorkload
{
  DkWorkloadConfig config;
  DkSimCluster    *cluster;
  DkEventQueue    *queue;
  DkHistory       *history;
  DkKeyDist       *key_dist;
  DkRng            rng;
  gint64           stop_at_us;
  DkEventId        next_arrival;
  GHashTable      *pending;   /* guint64 op -> Pending*, owned */
  DkWorkloadStats  stats;
  GBytes          *value_template;
  GByteArray      *datagram;  /* each request is encoded here in turn */
};

void
dk_workload_config_init (DkWorkloadConfig *config)
{
  *config = (DkWorkloadConfig) {
    .clients = 10,
    .rate_per_s = 100,
    .keys = 1000,
    .key_dist = { .kind = DK_KEY_DIST_UNIFORM },
    .read_fraction = 0.5,
    .value_bytes = 100,
    .coordinator = DK_COORDINATOR_PREFERENCE,
    .replicas = 3,
    .use_context = TRUE,
    .client_timeout_us = 2000000,
  };
}

static void
pending_free (gpointer data)
{
  Pending *pending = data;
  if (pending->timeout != 0)
    dk_eventq_cancel (pending->workload->queue, pending->timeout);
  dk_client_pages_clear (&pending->pages);
  g_free (pending);
}

/* ---- replies ------------------------------------------------------------- */

static void send_operation (DkWorkload *workload, guint client, guint32 key_index, DkOpKind kind,
                            gboolean then_write, DkOpKind write_kind, const DkVclock *context,
                            guint64 read_op);

static void
send_datagram (DkWorkload *workload, const Pending *pending, const DkWireMessage *request)
{
  g_autoptr (GError) error = NULL;
  dk_wire_encode_into (request, workload->datagram, &error);
  g_assert_no_error (error);  /* sizes were validated with the scenario */
  dk_sim_cluster_client_send (workload->cluster, pending->client, pending->coordinator,
                              workload->datagram->data, workload->datagram->len);
}

/* Ask PENDING's coordinator for its get's set from sibling OFFSET on, as a
 * request of its own (a new page id). */
static void
send_page (DkWorkload *workload, Pending *pending, guint offset)
{
  g_autoptr (DkWireMessage) request = dk_client_page_request_new (pending->op, &pending->page,
                                                                 pending->client,
                                                                 pending->key_index, offset,
                                                                 &pending->request_id);
  workload->stats.pages_fetched++;
  send_datagram (workload, pending, request);
}

/* REPLY carries part of PENDING's get's set (client_model.h): TRUE once
 * the whole set is in PENDING's pages; FALSE while pages are still to
 * come, or when the set kept changing between pages (then *GAVE_UP is
 * set: the read failed). */
static gboolean
gather_page (DkWorkload *workload, Pending *pending, const DkWireClientReply *reply,
             gboolean *gave_up)
{
  DkClientPagesStep step = dk_client_pages_add (&pending->pages, reply);
  *gave_up = step == DK_CLIENT_PAGES_GAVE_UP;
  if (step == DK_CLIENT_PAGES_RESTART || step == DK_CLIENT_PAGES_GAVE_UP)
    workload->stats.page_restarts++;
  if (step == DK_CLIENT_PAGES_RESTART)
    send_page (workload, pending, 0);
  else if (step == DK_CLIENT_PAGES_NEXT)
    send_page (workload, pending, pending->pages.gathered->len);
  return step == DK_CLIENT_PAGES_DONE;
}

static void
on_client_datagram (guint client, DkEndpoint from, const guint8 *data, gsize len,
                    gint64 sent_us, gpointer user_data)
{
  DkWorkload *workload = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) message = dk_wire_decode (data, len, &error);
  if (message == NULL || message->type != DK_WIRE_CLIENT_REPLY)
    {
      workload->stats.malformed_replies++;
      return;
    }
  workload->stats.replies++;
  guint64 request_id = message->body.client_reply.client_request_id;
  guint64 op_id = request_id & OP_MASK;
  Pending *pending = g_hash_table_lookup (workload->pending, &op_id);
  if (pending == NULL || pending->client != client || pending->request_id != request_id)
    {
      workload->stats.late_replies++;
      return;
    }
  DkWireClientReply *reply = &message->body.client_reply;
  gboolean read_ok = reply->status == DK_WIRE_STATUS_OK || reply->status == DK_WIRE_STATUS_NOT_FOUND;
  const GPtrArray *siblings = reply->siblings;
  gboolean gave_up = FALSE;
  if (read_ok && (reply->siblings_before > 0 || reply->siblings_after > 0)
      && dk_history_get (workload->history, op_id)->kind == DK_OP_GET)
    {
      if (gather_page (workload, pending, reply, &gave_up))
        siblings = pending->pages.gathered;
      else if (!gave_up)
        return;   /* more pages to come */
    }
  if (gave_up)
    {
      read_ok = FALSE;
      dk_history_complete_failed (workload->history, op_id, dk_eventq_now (workload->queue),
                                  "set changed while paging");
    }
  else
    dk_client_complete (workload->history, op_id, dk_eventq_now (workload->queue), reply,
                        siblings, sent_us);
  gboolean write_next = pending->then_write;
  DkOpKind write_kind = pending->write_kind;
  guint32 key_index = pending->key_index;
  g_hash_table_remove (workload->pending, &op_id);
  if (write_next)
    send_operation (workload, client, key_index, write_kind, FALSE, write_kind,
                    read_ok ? reply->context : NULL, read_ok ? op_id : DK_VALUE_UNKNOWN);
}

static void
client_timed_out (gpointer data)
{
  Pending *pending = data;
  DkWorkload *workload = pending->workload;
  pending->timeout = 0;
  workload->stats.client_timeouts++;
  dk_history_complete_failed (workload->history, pending->op, dk_eventq_now (workload->queue),
                              "client timeout");
  gboolean write_next = pending->then_write;
  DkOpKind write_kind = pending->write_kind;
  guint client = pending->client;
  guint32 key_index = pending->key_index;
  g_hash_table_remove (workload->pending, &pending->op);
  if (write_next)
    send_operation (workload, client, key_index, write_kind, FALSE, write_kind, NULL,
                    DK_VALUE_UNKNOWN);
}

/* ---- issuing ------------------------------------------------------------- */

static gboolean
cluster_reaches (DkNodeId home, DkNodeId node, gpointer user_data)
{
  return dk_sim_cluster_reachable (user_data, home, node);
}

/* A node drawn uniformly among those HOME reaches that are none of the
 * first N of KEY's preference list, or DK_NODE_NONE. */
static DkNodeId
choose_proxy (DkWorkload *workload, DkNodeId home, const char *key)
{
  DkSimCluster *cluster = workload->cluster;
  DkNodeId replicas[DK_RING_MAX_REPLICAS];
  guint n = dk_ring_preference_list (dk_sim_cluster_ring (cluster),
                                     dk_ring_key_token (key, strlen (key)),
                                     MIN (workload->config.replicas, DK_RING_MAX_REPLICAS),
                                     replicas);
  guint count = dk_sim_cluster_node_count (cluster), candidates = 0;
  for (int pass = 0; pass < 2; pass++)
    {
      guint pick = pass == 0 ? 0 : (guint) dk_rng_below (&workload->rng, candidates);
      for (DkNodeId id = 1; id <= count; id++)
        {
          gboolean replica = FALSE;
          for (guint i = 0; i < n && !replica; i++)
            replica = replicas[i] == id;
          if (replica || !dk_sim_cluster_is_member (cluster, id)
              || !dk_sim_cluster_reachable (cluster, home, id))
            continue;
          if (pass == 0)
            candidates++;
          else if (pick-- == 0)
            return id;
        }
      if (candidates == 0)
        return DK_NODE_NONE;
    }
  g_assert_not_reached ();
}

/* The node CLIENT sends KEY's request to, or DK_NODE_NONE when it can
 * reach none that qualifies. */
static DkNodeId
choose_coordinator (DkWorkload *workload, guint client, const char *key)
{
  DkSimCluster *cluster = workload->cluster;
  DkNodeId home = dk_sim_cluster_client_home (cluster, client);
  if (workload->config.coordinator == DK_COORDINATOR_PROXY)
    return choose_proxy (workload, home, key);
  DkClientChoice choice = {
    .config = &workload->config,
    .ring = dk_sim_cluster_ring (cluster),
    .nodes = dk_sim_cluster_node_count (cluster),
    .home = home,
    .reachable = cluster_reaches,
    .user_data = cluster,
  };
  return dk_client_choose_coordinator (&choice, key, &workload->rng);
}

/* Invoke one operation of KIND for CLIENT on KEY_INDEX: a get, or a put
 * or delete carrying CONTEXT (may be NULL), which the get READ_OP returned
 * (DK_VALUE_UNKNOWN: none).  THEN_WRITE marks the read of a
 * read-modify-write whose write is WRITE_KIND. */
static void
send_operation (DkWorkload *workload, guint client, guint32 key_index, DkOpKind kind,
                gboolean then_write, DkOpKind write_kind, const DkVclock *context,
                guint64 read_op)
{
  char key[DK_CLIENT_KEY_NAME_SIZE];
  dk_client_key_name (key_index, key);
  DkNodeId coordinator = choose_coordinator (workload, client, key);
  gint64 now = dk_eventq_now (workload->queue);
  guint64 op = dk_history_invoke (workload->history, client, coordinator, kind, key, now);
  dk_history_set_side (workload->history, op,
                       (guint8) dk_sim_cluster_partition_side (workload->cluster,
                                                               dk_sim_cluster_client_home (workload->cluster, client)));
  workload->stats.invoked++;
  if (coordinator == DK_NODE_NONE)
    {
      workload->stats.unreachable++;
      dk_history_complete_failed (workload->history, op, now, "unreachable");
      if (then_write)
        send_operation (workload, client, key_index, write_kind, FALSE, write_kind, NULL,
                        DK_VALUE_UNKNOWN);
      return;
    }

  g_autoptr (DkWireMessage) request = dk_client_request_new (workload->history, op, kind, client,
                                                            key, context, read_op,
                                                            workload->value_template,
                                                            workload->config.value_bytes);
  g_autoptr (GError) error = NULL;
  dk_wire_encode_into (request, workload->datagram, &error);
  g_assert_no_error (error);  /* sizes were validated with the scenario */

  Pending *pending = g_new0 (Pending, 1);
  pending->workload = workload;
  pending->op = op;
  g_assert (op <= OP_MASK);
  pending->request_id = op;
  pending->coordinator = coordinator;
  pending->client = client;
  pending->key_index = key_index;
  pending->then_write = then_write;
  pending->write_kind = write_kind;
  pending->timeout = dk_eventq_schedule (workload->queue, workload->config.client_timeout_us,
                                         client_timed_out, pending);
  g_hash_table_insert (workload->pending, &pending->op, pending);
  dk_sim_cluster_client_send (workload->cluster, client, coordinator, workload->datagram->data,
                              workload->datagram->len);
}

static void
issue_operation (DkWorkload *workload)
{
  guint client;
  guint32 key_index;
  DkOpKind kind;
  dk_client_draw_operation (&workload->config, workload->key_dist, &workload->rng, &client,
                            &key_index, &kind);
  if (kind != DK_OP_GET && workload->config.use_context)
    send_operation (workload, client, key_index, DK_OP_GET, TRUE, kind, NULL, DK_VALUE_UNKNOWN);
  else
    send_operation (workload, client, key_index, kind, FALSE, kind, NULL, DK_VALUE_UNKNOWN);
}

static void schedule_arrival (DkWorkload *workload);

static void
on_arrival (gpointer data)
{
  DkWorkload *workload = data;
  workload->next_arrival = 0;
  if (dk_eventq_now (workload->queue) >= workload->stop_at_us)
    return;
  issue_operation (workload);
  schedule_arrival (workload);
}

static void
schedule_arrival (DkWorkload *workload)
{
  if (workload->config.rate_per_s <= 0)
    return;
  double gap_s = -log (1.0 - dk_rng_double (&workload->rng)) / workload->config.rate_per_s;
  gint64 gap_us = (gint64) llround (gap_s * 1e6);
  if (dk_eventq_now (workload->queue) + gap_us >= workload->stop_at_us)
    return;
  workload->next_arrival = dk_eventq_schedule (workload->queue, gap_us, on_arrival, workload);
}

/* ---- public ---------------------------------------------------------------- */

DkWorkload *
dk_workload_new (const DkWorkloadConfig *config, DkSimCluster *cluster, DkEventQueue *queue,
                 DkHistory *history, guint64 seed)
{
  g_return_val_if_fail (config->clients >= 1 && config->keys >= 1, NULL);
  g_return_val_if_fail (config->value_bytes <= DK_VALUE_MAX_BYTES, NULL);
  DkWorkload *workload = g_new0 (DkWorkload, 1);
  workload->config = *config;
  workload->cluster = cluster;
  workload->queue = queue;
  workload->history = history;
  workload->key_dist = dk_key_dist_new (&config->key_dist, config->keys);
  dk_rng_init (&workload->rng, seed, WORKLOAD_STREAM);
  workload->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, pending_free);
  guint8 *template = g_malloc (MAX (config->value_bytes, 1));
  for (guint i = 0; i < config->value_bytes; i++)
    template[i] = (guint8) ('a' + i % 26);
  workload->value_template = g_bytes_new_take (template, config->value_bytes);
  workload->datagram = g_byte_array_new ();
  dk_sim_cluster_set_client_handler (cluster, on_client_datagram, workload);
  return workload;
}

void
dk_workload_free (DkWorkload *workload)
{
  if (workload == NULL)
    return;
  if (workload->next_arrival != 0)
    dk_eventq_cancel (workload->queue, workload->next_arrival);
  dk_sim_cluster_set_client_handler (workload->cluster, NULL, NULL);
  g_hash_table_destroy (workload->pending);
  dk_key_dist_free (workload->key_dist);
  g_bytes_unref (workload->value_template);
  g_byte_array_unref (workload->datagram);
  g_free (workload);
}

void
dk_workload_start (DkWorkload *workload, gint64 stop_at_us)
{
  workload->stop_at_us = stop_at_us;
  if (workload->next_arrival == 0)
    schedule_arrival (workload);
}

void
dk_workload_set_rate (DkWorkload *workload, double rate_per_s)
{
  workload->config.rate_per_s = MAX (rate_per_s, 0);
  if (workload->next_arrival != 0)
    {
      dk_eventq_cancel (workload->queue, workload->next_arrival);
      workload->next_arrival = 0;
    }
  schedule_arrival (workload);
}

const DkWorkloadStats *
dk_workload_stats (const DkWorkload *workload)
{
  return &workload->stats;
}

guint
dk_workload_pending (const DkWorkload *workload)
{
  return g_hash_table_size (workload->pending);
}
