/* node_rebalance.c — membership change: the ring moves, data follows.
 *
 * A node's ring is built from the members it knows (gossip brings news of
 * joins, and of members leaving: they claim LEAVING and drop out of every
 * ring that hears it).  When its ring changes, the node diffs the old ring
 * against the new (dk_ring_diff) and, for every range that gained
 * replicas, decides who streams the range's keys to them: the leaving node
 * when the change is its leaving, otherwise the first old replica it
 * believes healthy.  If that is itself, it queues a stream task.  Streams
 * run a batch at a time, as WRITEs that the new replica merges and
 * acknowledges, alongside ordinary traffic; unacknowledged ones are sent
 * again.  A leaving node has left (dk_node_has_left) once everything it
 * had to hand off is acknowledged and its leave has been gossiped for a
 * few rounds, so the others hear of it from the node itself.
 *
 * Rings come from the environment's ring cache when it has one (shared by
 * every node with the same view), else the node builds its own. */
#include <string.h>
#include "node_private.h"
#include "ring_cache.h"

#define STREAM_BIT (G_GUINT64_CONSTANT (1) << 62)
#define STREAM_TICK_US 20000
#define STREAM_BATCH_KEYS 32
#define STREAM_WINDOW 256
#define STREAM_RESEND_US 1000000
#define STREAM_MAX_ATTEMPTS 8
#define LEAVE_GOSSIP_ROUNDS 3

typedef struct
{
  DkTokenRange range;
  DkToken      cursor;      /* keys after this token are still to send */
  DkNodeId     targets[DK_RING_MAX_REPLICAS];
  guint        n_targets;
} StreamTask;

typedef struct
{
  guint64  seq;
  GBytes  *key;
  DkNodeId target;
  gint64   sent_us;
  guint    attempts;
} StreamWrite;

static void
stream_write_free (gpointer data)
{
  StreamWrite *write = data;
  g_bytes_unref (write->key);
  g_free (write);
}

/* ---- rings ---------------------------------------------------------------- */

/* Build or acquire the ring of MEMBERS. */
static const DkRing *
ring_for (DkNode *node, const DkRingNode *members, guint n, GError **error)
{
  if (node->env.rings != NULL)
    return dk_ring_cache_acquire (node->env.rings, members, n, error);
  g_autoptr (DkRing) ring = dk_ring_new_random_tokens (node->config.vnodes);
  if (!dk_ring_add_nodes (ring, members, n, error))
    return NULL;
  return g_steal_pointer (&ring);
}

void
node_ring_release (DkNode *node, const DkRing *ring)
{
  if (ring == NULL)
    return;
  if (node->env.rings != NULL)
    dk_ring_cache_release (node->env.rings, ring);
  else
    dk_ring_free ((DkRing *) ring);
}

/* The first ring is GIVEN's: a reference to it when it came from the
 * environment's cache, else a copy of our own. */
gboolean
node_ring_adopt_initial (DkNode *node, const DkRing *given, GError **error)
{
  if (node->env.rings != NULL)
    {
      guint n = dk_ring_node_count (given);
      g_autofree DkRingNode *members = g_new0 (DkRingNode, n);
      for (guint i = 0; i < n; i++)
        members[i] = *dk_ring_node_at (given, i);
      node->ring = ring_for (node, members, n, error);
      if (node->ring != NULL && !dk_ring_equal (node->ring, given))
        {
          node_ring_release (node, node->ring);
          node->ring = NULL;
          g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                       "the ring cache places tokens differently from the ring given");
        }
      return node->ring != NULL;
    }
  node->ring = dk_ring_copy (given);
  return TRUE;
}

/* ---- deciding what to stream -------------------------------------------- */

static gboolean
in_list (const DkNodeId *list, guint n, DkNodeId id)
{
  for (guint i = 0; i < n; i++)
    if (list[i] == id)
      return TRUE;
  return FALSE;
}

/* Who streams CHANGE's range to its new replicas. */
static DkNodeId
streamer_for (DkNode *node, const DkRingRangeChange *change)
{
  for (guint i = 0; i < change->n_before; i++)
    if (node_member_leaving (node, change->before[i]) && !in_list (change->after, change->n_after,
                                                                    change->before[i]))
      return change->before[i];
  for (guint i = 0; i < change->n_before; i++)
    if (node_peer_healthy (node, change->before[i]))
      return change->before[i];
  return DK_NODE_NONE;
}

static void schedule_stream_tick (DkNode *node);

static void
plan_streams (DkNode *node, const DkRing *before, const DkRing *after)
{
  g_autoptr (GArray) changes = dk_ring_diff (before, after, node->config.n);
  for (guint i = 0; i < changes->len; i++)
    {
      const DkRingRangeChange *change = &g_array_index (changes, DkRingRangeChange, i);
      if (streamer_for (node, change) != node->config.id)
        continue;
      StreamTask *task = g_new0 (StreamTask, 1);
      task->range = change->range;
      task->cursor = change->range.lo;
      for (guint k = 0; k < change->n_after; k++)
        if (!in_list (change->before, change->n_before, change->after[k])
            && change->after[k] != node->config.id)
          task->targets[task->n_targets++] = change->after[k];
      if (task->n_targets == 0)
        {
          g_free (task);
          continue;
        }
      g_queue_push_tail (node->streams, task);
    }
  schedule_stream_tick (node);
}

void
node_ring_rebuild (DkNode *node)
{
  g_autoptr (GArray) members = node_ring_members (node);
  g_autoptr (GError) error = NULL;
  const DkRing *after = ring_for (node, (const DkRingNode *) members->data, members->len, &error);
  if (after == NULL)
    {
      node_log (node, DK_LOG_WARNING, "cannot rebuild the ring: %s", error->message);
      return;
    }
  const DkRing *before = node->ring;
  if (dk_ring_equal (before, after))
    {
      node_ring_release (node, after);
      return;
    }
  node->ring = after;
  node->stats.ring_changes++;
  plan_streams (node, before, after);
  node_ring_release (node, before);
}

/* ---- streaming -------------------------------------------------------------- */

typedef struct
{
  GPtrArray *keys;
  DkToken    last_token;
} Batch;

static gboolean
collect_batch (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  Batch *batch = user_data;
  g_ptr_array_add (batch->keys, g_bytes_ref (key));
  batch->last_token = token;
  return batch->keys->len < STREAM_BATCH_KEYS;
}

static void
send_stream_write (DkNode *node, StreamWrite *write)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) held = dk_store_get (node->env.store, write->key, &error);
  if (held == NULL)
    {
      node->stats.store_errors++;
      return;
    }
  g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_WRITE);
  message->request_id = STREAM_BIT | write->seq;
  message->body.write.key = g_bytes_ref (write->key);
  g_ptr_array_unref (message->body.write.siblings);
  message->body.write.siblings = g_steal_pointer (&held);
  write->sent_us = node_now (node);
  write->attempts++;
  node_send (node, write->target, message);
}

/* Send the next batch of the head task; FALSE when there is nothing left. */
static gboolean
stream_next_batch (DkNode *node)
{
  StreamTask *task = g_queue_peek_head (node->streams);
  if (task == NULL)
    return FALSE;
  Batch batch = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  g_autoptr (GError) error = NULL;
  gboolean scanned = task->cursor == task->range.hi
                     || dk_store_scan (node->env.store, task->cursor, task->range.hi,
                                       collect_batch, &batch, &error);
  if (!scanned)
    node->stats.store_errors++;
  for (guint i = 0; i < batch.keys->len; i++)
    for (guint t = 0; t < task->n_targets; t++)
      {
        StreamWrite *write = g_new0 (StreamWrite, 1);
        write->seq = node->next_request_id++;
        write->key = g_bytes_ref (g_ptr_array_index (batch.keys, i));
        write->target = task->targets[t];
        g_hash_table_insert (node->stream_pending, &write->seq, write);
        node->stats.keys_streamed++;
        send_stream_write (node, write);
      }
  gboolean done = !scanned || batch.keys->len < STREAM_BATCH_KEYS;
  if (done)
    g_free (g_queue_pop_head (node->streams));
  else
    task->cursor = batch.last_token;
  g_ptr_array_unref (batch.keys);
  return TRUE;
}

static gint
compare_seq (gconstpointer a, gconstpointer b)
{
  guint64 x = **(guint64 *const *) a, y = **(guint64 *const *) b;
  return x < y ? -1 : x > y;
}

/* Send again what was not acknowledged in time, oldest first. */
static void
resend_overdue (DkNode *node)
{
  gint64 now = node_now (node);
  guint n;
  g_autofree gpointer *seqs = g_hash_table_get_keys_as_array (node->stream_pending, &n);
  qsort (seqs, n, sizeof (gpointer), compare_seq);
  for (guint i = 0; i < n; i++)
    {
      StreamWrite *write = g_hash_table_lookup (node->stream_pending, seqs[i]);
      if (now - write->sent_us < STREAM_RESEND_US)
        continue;
      if (write->attempts >= STREAM_MAX_ATTEMPTS || !node_member_in_ring (node, write->target))
        {
          node->stats.stream_abandoned++;
          g_hash_table_remove (node->stream_pending, seqs[i]);
          continue;
        }
      send_stream_write (node, write);
    }
}

static void
stream_tick (gpointer data)
{
  DkNode *node = data;
  node->stream_timer = 0;
  resend_overdue (node);
  while (g_hash_table_size (node->stream_pending) < STREAM_WINDOW && stream_next_batch (node))
    if (g_hash_table_size (node->stream_pending) >= STREAM_WINDOW / 2)
      break;
  if (g_queue_is_empty (node->streams) && g_hash_table_size (node->stream_pending) == 0)
    {
      if (node_member_leaving (node, node->config.id) && !node->left)
        {
          node->left = TRUE;
          node_log (node, DK_LOG_INFO, "handed everything off");
        }
      return;
    }
  schedule_stream_tick (node);
}

static void
schedule_stream_tick (DkNode *node)
{
  if (node->stream_timer == 0)
    node->stream_timer = node->env.timer_start (node->env.user_data, STREAM_TICK_US,
                                                stream_tick, node);
}

gboolean
node_stream_take_ack (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if ((message->request_id & STREAM_BIT) == 0 || (message->request_id & (G_GUINT64_CONSTANT (1) << 63)))
    return FALSE;
  guint64 seq = message->request_id & ~STREAM_BIT;
  StreamWrite *write = g_hash_table_lookup (node->stream_pending, &seq);
  if (write == NULL || write->target != from)
    {
      node->stats.dropped_unexpected++;
      return TRUE;
    }
  if (message->body.write_ack.status == DK_WIRE_STATUS_OK)
    g_hash_table_remove (node->stream_pending, &seq);
  return TRUE;
}

/* ---- lifecycle ---------------------------------------------------------------- */

void
node_rebalance_init (DkNode *node)
{
  node->streams = g_queue_new ();
  node->stream_pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                stream_write_free);
}

void
node_rebalance_clear (DkNode *node)
{
  if (node->stream_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->stream_timer);
  node->stream_timer = 0;
  if (node->streams != NULL)
    g_queue_free_full (node->streams, g_free);
  node->streams = NULL;
  g_clear_pointer (&node->stream_pending, g_hash_table_destroy);
}

void
dk_node_leave (DkNode *node)
{
  node_member_claim (node, DK_WIRE_MEMBER_LEAVING);
  node_ring_rebuild (node);
  schedule_stream_tick (node);
}

/* Gone for good once everything is handed off and the leave has been
 * gossiped for a few rounds, so the others hear of it from us rather than
 * by suspecting a silent node (without gossip, at once). */
gboolean
dk_node_has_left (const DkNode *node)
{
  return node->left && (node->config.gossip_interval_us == 0
                        || node->leave_gossip_rounds >= LEAVE_GOSSIP_ROUNDS);
}

guint
dk_node_streams_pending (const DkNode *node)
{
  return g_queue_get_length (node->streams) + g_hash_table_size (node->stream_pending);
}

const DkRing *
dk_node_ring (const DkNode *node)
{
  return node->ring;
}
