/* node_stream.c — the offer: how a node hands keys to the replicas that
 * should hold them (node_rebalance.c decides which ranges, and to whom).
 *
 * A task is a token range and its targets.  It is taken a chunk of keys
 * at a time (CHUNK_KEYS, never cutting between keys of one token): for
 * each target, the node asks for the target's (key, digest) pairs in the
 * chunk's span (AE_KEYS_REQUEST, answered by anti-entropy's responder),
 * then pushes (WRITE, acknowledged part by part) only the keys the target
 * lacks or holds otherwise.  A target holds the chunk once every digest
 * matched or every push was acknowledged.  Digest requests and pushes not
 * answered within RESEND_US go again; after MAX_ATTEMPTS, or as soon as
 * the target is believed down or out of the ring, the offer fails: a fill
 * is tried again later (FILL_RETRY_US) while the target stays a member,
 * a release waits for the next sweep.  A release chunk held by every
 * target is purged when due (the ring settled), key by key, only where
 * the copy did not change since it was offered.  At most
 * CHUNKS_IN_FLIGHT chunks and PUSH_WINDOW pushes are out at a time; a
 * tick every TICK_US drives it all while there is work. */
#include <string.h>
#include "node_handover.h"

/* Request ids of offers and pushes carry this bit (anti-entropy pulls the
 * one above it), so their replies are told from a coordinator's. */
#define STREAM_BIT (G_GUINT64_CONSTANT (1) << 62)
#define AE_PULL_BIT (G_GUINT64_CONSTANT (1) << 63)
#define TICK_US NODE_HANDOVER_TICK_US
#define CHUNK_KEYS 32
#define CHUNKS_IN_FLIGHT 8
#define PUSH_WINDOW 256
#define RESEND_US 1000000
#define MAX_ATTEMPTS 8
/* A failed fill offer is tried again after this long. */
#define FILL_RETRY_US 5000000

typedef enum
{
  OFFER_ASKING,    /* digests asked for */
  OFFER_PUSHING,   /* pushes unacknowledged */
  OFFER_HELD,      /* the target holds every key of the chunk */
  OFFER_FAILED     /* unreachable, or no answer: tried again later */
} OfferState;

typedef struct
{
  DkNodeId   target;
  OfferState state;
  guint64    ask_seq;
  guint      attempts;
  gint64     asked_us;
  guint      pushes;       /* pushes to TARGET not yet acknowledged */
} Offer;

typedef struct
{
  DkTokenRange span;       /* (lo, hi]: every key of the chunk lies here */
  gboolean     release;
  gboolean     sweep;
  gint64       release_due_us;
  guint64      ring_epoch; /* the ring the chunk was planned on */
  GPtrArray   *keys;       /* GBytes */
  GArray      *digests;    /* guint64, as scanned */
  guint        n_offers;
  Offer        offers[DK_RING_MAX_REPLICAS];
} Chunk;

typedef struct
{
  guint64  seq;
  GBytes  *key;
  Chunk   *chunk;
  guint    offer;          /* index into chunk->offers */
  gint64   sent_us;
  guint    attempts;
  NodeParts parts;         /* acks of the parts of the set sent (node_send_set) */
} Push;

static void
push_free (gpointer data)
{
  Push *push = data;
  g_bytes_unref (push->key);
  g_free (push);
}

static void
chunk_free (Chunk *chunk)
{
  g_ptr_array_unref (chunk->keys);
  g_array_unref (chunk->digests);
  g_free (chunk);
}

/* ---- offers ------------------------------------------------------------------- */

static void
offer_ask (DkNode *node, Chunk *chunk, Offer *offer)
{
  g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_AE_KEYS_REQUEST);
  offer->ask_seq = node->next_request_id++;
  message->request_id = STREAM_BIT | offer->ask_seq;
  message->body.ae_keys_request.range_lo = chunk->span.lo;
  message->body.ae_keys_request.range_hi = chunk->span.hi;
  offer->state = OFFER_ASKING;
  offer->asked_us = node_now (node);
  offer->attempts++;
  node_send (node, offer->target, message);
}

/* ---- writes routed by a stale view --------------------------------------------- */

/* MESSAGE, a coordinator's WRITE stored here as a replica (not as a
 * stand-in: it names no hinted owner), reached us although our ring says
 * we do not replicate its key: the coordinator routed it by a view that
 * has not heard of a join or a leave yet (our own leave included).  Our
 * copy alone would reach the key's replicas only at the next sweep (once
 * the ring has been quiet for a while) or anti-entropy pass; it goes on to
 * them now, as a hint for each one but the sender (durable, acknowledged
 * and sent again like any hint, so a leaver waits for them), or as a
 * repair write when no hint can be kept.  Stream pushes and repairs are
 * not forwarded again: their senders route by their own ring changes, and
 * a forwarded write cannot travel in a loop
 * (check_handoff.c: handoff_a_write_by_a_stale_view_is_forwarded_to_the_owners). */
void
node_stream_after_write (DkNode *node, DkEndpoint from, const DkWireMessage *message,
                         gboolean changed)
{
  const DkWireWrite *write = &message->body.write;
  if ((message->request_id & STREAM_BIT) != 0)
    node->stats.repairs_applied += changed;   /* a push that brought us something */
  if (message->request_id == 0 || (message->request_id & STREAM_BIT) != 0
      || write->hinted_owner != DK_NODE_NONE || write->part.index != write->part.last)
    return;   /* a repair, a push, a stand-in's copy; or not the whole set yet */
  gsize len;
  const guint8 *bytes = g_bytes_get_data (write->key, &len);
  DkNodeId list[DK_RING_MAX_REPLICAS];
  guint n = dk_ring_preference_list (node->ring, dk_ring_key_token (bytes, len), node->config.n,
                                     list);
  for (guint i = 0; i < n; i++)
    if (list[i] == node->config.id)
      return;   /* ours: nothing stale */
  node->stats.writes_forwarded++;
  for (guint i = 0; i < n; i++)
    {
      if (list[i] == from)
        continue;
      if (node->config.hinted_handoff && node_hint_keep (node, list[i], write->key, write->siblings))
        continue;   /* on its way now when the replica is reachable */
      g_autoptr (DkWireMessage) repair = dk_wire_message_new (DK_WIRE_WRITE);
      repair->body.write.key = g_bytes_ref (write->key);
      node_send_set (node, list[i], repair, write->siblings, NULL);
    }
}

gboolean
node_handover_reachable (const DkNode *node, DkNodeId target)
{
  return node_member_in_ring (node, target) && node_peer_healthy (node, target);
}

typedef struct
{
  GPtrArray *keys;
  GArray    *digests;
  DkToken    last_token;
  gboolean   full;      /* stopped at CHUNK_KEYS: more keys follow */
} Collect;

/* Up to CHUNK_KEYS keys, never cutting between two keys of one token. */
static gboolean
collect_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  Collect *collect = user_data;
  if (collect->keys->len >= CHUNK_KEYS && token != collect->last_token)
    {
      collect->full = TRUE;
      return FALSE;
    }
  g_ptr_array_add (collect->keys, g_bytes_ref (key));
  g_array_append_val (collect->digests, digest);
  collect->last_token = token;
  return TRUE;
}

/* Take TASK's next chunk and offer it; TRUE when TASK has nothing more. */
static gboolean
chunk_start (DkNode *node, Task *task)
{
  if (task->started && task->cursor == task->range.hi)
    return TRUE;
  Collect collect = {
    g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref),
    g_array_new (FALSE, FALSE, sizeof (guint64)), 0, FALSE
  };
  g_autoptr (GError) error = NULL;
  DkToken from = task->started ? task->cursor : task->range.lo;
  if (!dk_store_scan (node->env.store, from, task->range.hi, collect_key, &collect, &error))
    {
      node->stats.store_errors++;
      g_ptr_array_unref (collect.keys);
      g_array_unref (collect.digests);
      return TRUE;
    }
  if (collect.keys->len == 0)
    {
      g_ptr_array_unref (collect.keys);
      g_array_unref (collect.digests);
      return TRUE;
    }
  Chunk *chunk = g_new0 (Chunk, 1);
  chunk->span.lo = from;
  chunk->span.hi = collect.full ? collect.last_token : task->range.hi;
  chunk->release = task->release;
  chunk->sweep = task->sweep;
  chunk->release_due_us = task->release_due_us;
  chunk->ring_epoch = node->handover->ring_epoch;
  chunk->keys = collect.keys;
  chunk->digests = collect.digests;
  for (guint t = 0; t < task->n_targets; t++)
    {
      Offer *offer = &chunk->offers[chunk->n_offers++];
      offer->target = task->targets[t];
      if (node_handover_reachable (node, offer->target))
        offer_ask (node, chunk, offer);
      else
        offer->state = OFFER_FAILED;
    }
  g_queue_push_tail (node->handover->chunks, chunk);
  task->started = TRUE;
  task->cursor = chunk->span.hi;
  return !collect.full || task->cursor == task->range.hi;
}

static void
push_send (DkNode *node, Push *push)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) held = dk_store_get (node->env.store, push->key, &error);
  push->sent_us = node_now (node);
  push->attempts++;
  if (held == NULL)
    {
      node->stats.store_errors++;
      return;   /* sent again after RESEND_US */
    }
  g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_WRITE);
  message->request_id = STREAM_BIT | push->seq;
  message->body.write.key = g_bytes_ref (push->key);
  /* In parts when the set does not fit one datagram; held once every
   * part of one sending is acknowledged (the same content sent again
   * keeps the acks it has; tests/check_wedge.c,
   * wedge_a_stream_is_held_only_when_every_part_is_acknowledged). */
  DkWirePart sending;
  node_send_set (node, push->chunk->offers[push->offer].target, message, held, &sending);
  if (!push->parts.started || push->parts.sending.set_digest != sending.set_digest
      || push->parts.sending.last != sending.last)
    node_parts_expect (&push->parts, sending);
}

static void
push_start (DkNode *node, Chunk *chunk, guint offer_index, GBytes *key)
{
  Push *push = g_new0 (Push, 1);
  push->seq = node->next_request_id++;
  push->key = g_bytes_ref (key);
  push->chunk = chunk;
  push->offer = offer_index;
  g_hash_table_insert (node->handover->pushes, &push->seq, push);
  chunk->offers[offer_index].pushes++;
  if (chunk->sweep)
    node->stats.keys_swept++;
  else
    node->stats.keys_streamed++;
  push_send (node, push);
}

/* The offer whose digests were asked with SEQ, from FROM. */
static Chunk *
find_offer (DkNode *node, DkEndpoint from, guint64 seq, guint *offer_index)
{
  for (GList *link = node->handover->chunks->head; link != NULL; link = link->next)
    {
      Chunk *chunk = link->data;
      for (guint t = 0; t < chunk->n_offers; t++)
        if (chunk->offers[t].ask_seq == seq && chunk->offers[t].target == from
            && chunk->offers[t].state == OFFER_ASKING)
          {
            *offer_index = t;
            return chunk;
          }
    }
  return NULL;
}

/* The target's digests: push what it lacks or holds otherwise.  A reply
 * cut short by its size lists only some keys; the others are pushed. */
gboolean
node_stream_take_keys_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if ((message->request_id & STREAM_BIT) == 0 || (message->request_id & AE_PULL_BIT) != 0)
    return FALSE;
  guint offer_index;
  Chunk *chunk = find_offer (node, from, message->request_id & ~STREAM_BIT, &offer_index);
  if (chunk == NULL)
    {
      node->stats.dropped_unexpected++;
      return TRUE;
    }
  const DkWireAeKeysReply *reply = &message->body.ae_keys_reply;
  g_autoptr (GHashTable) theirs = g_hash_table_new (g_bytes_hash, g_bytes_equal);
  for (guint i = 0; i < reply->keys->len; i++)
    {
      DkWireKeyDigest *pair = &g_array_index (reply->keys, DkWireKeyDigest, i);
      g_hash_table_insert (theirs, pair->key, &pair->digest);
    }
  Offer *offer = &chunk->offers[offer_index];
  offer->state = OFFER_PUSHING;
  for (guint i = 0; i < chunk->keys->len; i++)
    {
      GBytes *key = g_ptr_array_index (chunk->keys, i);
      const guint64 *digest = g_hash_table_lookup (theirs, key);
      if (digest == NULL || *digest != g_array_index (chunk->digests, guint64, i))
        push_start (node, chunk, offer_index, key);
    }
  if (offer->pushes == 0)
    offer->state = OFFER_HELD;
  return TRUE;
}

void
node_stream_note_offer (DkNode *node, const DkWireMessage *message)
{
  if ((message->request_id & STREAM_BIT) != 0 && (message->request_id & AE_PULL_BIT) == 0)
    node->handover->offered_us = node_now (node);
}

gboolean
node_stream_take_ack (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if ((message->request_id & STREAM_BIT) == 0 || (message->request_id & AE_PULL_BIT) != 0)
    return FALSE;
  guint64 seq = message->request_id & ~STREAM_BIT;
  Push *push = g_hash_table_lookup (node->handover->pushes, &seq);
  if (push == NULL || push->chunk->offers[push->offer].target != from)
    {
      node->stats.dropped_unexpected++;
      return TRUE;
    }
  if (message->body.write_ack.status != DK_WIRE_STATUS_OK)
    return TRUE;   /* sent again after RESEND_US */
  if (!node_parts_note (&push->parts, message->body.write_ack.part)
      || !node_parts_complete (&push->parts))
    return TRUE;   /* a duplicate, another sending's, or parts still to come */
  Offer *offer = &push->chunk->offers[push->offer];
  offer->pushes--;
  if (offer->pushes == 0 && offer->state == OFFER_PUSHING)
    offer->state = OFFER_HELD;
  g_hash_table_remove (node->handover->pushes, &seq);
  return TRUE;
}

static gint
compare_seq (gconstpointer a, gconstpointer b)
{
  guint64 x = **(guint64 *const *) a, y = **(guint64 *const *) b;
  return x < y ? -1 : x > y;
}

/* Pushes not acknowledged in time go again, oldest first; to a target
 * now unreachable (or after MAX_ATTEMPTS) the whole offer fails. */
static void
resend_pushes (DkNode *node, gint64 now)
{
  GHashTable *pushes = node->handover->pushes;
  guint n;
  g_autofree gpointer *seqs = g_hash_table_get_keys_as_array (pushes, &n);
  qsort (seqs, n, sizeof (gpointer), compare_seq);
  for (guint i = 0; i < n; i++)
    {
      Push *push = g_hash_table_lookup (pushes, seqs[i]);
      Offer *offer = &push->chunk->offers[push->offer];
      gboolean give_up = offer->state == OFFER_FAILED;
      if (!give_up && now - push->sent_us < RESEND_US)
        continue;
      give_up = give_up || push->attempts >= MAX_ATTEMPTS || !node_handover_reachable (node, offer->target);
      if (!give_up)
        {
          push_send (node, push);
          continue;
        }
      node->stats.stream_abandoned++;
      offer->state = OFFER_FAILED;
      offer->pushes--;
      g_hash_table_remove (pushes, seqs[i]);
    }
}

static void
reask_offers (DkNode *node, gint64 now)
{
  for (GList *link = node->handover->chunks->head; link != NULL; link = link->next)
    {
      Chunk *chunk = link->data;
      for (guint t = 0; t < chunk->n_offers; t++)
        {
          Offer *offer = &chunk->offers[t];
          if (offer->state != OFFER_ASKING || now - offer->asked_us < RESEND_US)
            continue;
          if (offer->attempts >= MAX_ATTEMPTS || !node_handover_reachable (node, offer->target))
            offer->state = OFFER_FAILED;
          else
            offer_ask (node, chunk, offer);
        }
    }
}

static gboolean
chunk_finished (const Chunk *chunk)
{
  for (guint t = 0; t < chunk->n_offers; t++)
    if (chunk->offers[t].pushes > 0
        || (chunk->offers[t].state != OFFER_HELD && chunk->offers[t].state != OFFER_FAILED))
      return FALSE;
  return TRUE;
}

static gboolean
chunk_held (const Chunk *chunk)
{
  for (guint t = 0; t < chunk->n_offers; t++)
    if (chunk->offers[t].state != OFFER_HELD)
      return FALSE;
  return TRUE;
}

/* Every target holds the chunk and the ring has not moved since: drop
 * our copy of each key that did not change meanwhile. */
static void
release_chunk (DkNode *node, const Chunk *chunk)
{
  if (chunk->ring_epoch != node->handover->ring_epoch)
    return;
  for (guint i = 0; i < chunk->keys->len; i++)
    {
      GBytes *key = g_ptr_array_index (chunk->keys, i);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) held = dk_store_get (node->env.store, key, &error);
      if (held == NULL)
        {
          node->stats.store_errors++;
          continue;
        }
      if (held->len == 0 || dk_siblings_digest (held) != g_array_index (chunk->digests, guint64, i))
        continue;   /* changed since it was offered: the next sweep offers it again */
      if (dk_store_purge (node->env.store, key, &error))
        {
          node->stats.keys_released++;
          node_note_purged (node, key);
        }
      else
        node->stats.store_errors++;
    }
}

/* A fill offer that failed is tried again later, for as long as its
 * target is a member: a new replica that was down or cut off is filled
 * when it can be reached. */
static void
retry_failed_fill (DkNode *node, const Chunk *chunk, gint64 now)
{
  if (chunk->release || node_handover_self_leaving (node))
    return;   /* the next sweep offers what is still held */
  for (guint t = 0; t < chunk->n_offers; t++)
    {
      const Offer *offer = &chunk->offers[t];
      if (offer->state != OFFER_FAILED || !node_member_in_ring (node, offer->target))
        continue;
      Task *task = node_handover_task_new (chunk->span, FALSE, now + FILL_RETRY_US);
      task->retry = TRUE;
      task->targets[task->n_targets++] = offer->target;
      g_queue_push_tail (node->handover->tasks, task);
    }
}

static void
finish_chunks (DkNode *node, gint64 now)
{
  GQueue *chunks = node->handover->chunks;
  for (GList *link = chunks->head; link != NULL;)
    {
      GList *next = link->next;
      Chunk *chunk = link->data;
      if (chunk_finished (chunk))
        {
          g_queue_delete_link (chunks, link);
          if (chunk->release && chunk_held (chunk) && now < chunk->release_due_us)
            g_queue_push_tail (node->handover->releasing, chunk);
          else
            {
              if (chunk->release && chunk_held (chunk))
                release_chunk (node, chunk);
              else
                retry_failed_fill (node, chunk, now);
              chunk_free (chunk);
            }
        }
      link = next;
    }
  GQueue *releasing = node->handover->releasing;
  for (GList *link = releasing->head; link != NULL;)
    {
      GList *next = link->next;
      Chunk *chunk = link->data;
      if (now >= chunk->release_due_us)
        {
          release_chunk (node, chunk);
          g_queue_delete_link (releasing, link);
          chunk_free (chunk);
        }
      link = next;
    }
}

/* The first task due, or NULL; *NEXT_DUE_US gets the earliest not due. */
static GList *
due_task (DkNode *node, gint64 now, gint64 *next_due_us)
{
  for (GList *link = node->handover->tasks->head; link != NULL; link = link->next)
    {
      Task *task = link->data;
      if (task->not_before_us <= now)
        return link;
      *next_due_us = MIN (*next_due_us, task->not_before_us);
    }
  return NULL;
}

static void
tick (gpointer data)
{
  DkNode *node = data;
  Handover *handover = node->handover;
  handover->tick_timer = 0;
  gint64 now = node_now (node);
  resend_pushes (node, now);
  reask_offers (node, now);
  finish_chunks (node, now);
  gint64 next_due = G_MAXINT64;
  GList *link;
  while (g_queue_get_length (handover->chunks) < CHUNKS_IN_FLIGHT
         && g_hash_table_size (handover->pushes) < PUSH_WINDOW
         && (link = due_task (node, now, &next_due)) != NULL)
    if (chunk_start (node, link->data))
      {
        g_free (link->data);
        g_queue_delete_link (handover->tasks, link);
      }
  if (!g_queue_is_empty (handover->chunks))
    node_handover_schedule (node, TICK_US);
  else if (!g_queue_is_empty (handover->tasks) || !g_queue_is_empty (handover->releasing))
    {
      due_task (node, G_MININT64, &next_due);
      for (GList *held = handover->releasing->head; held != NULL; held = held->next)
        next_due = MIN (next_due, ((Chunk *) held->data)->release_due_us);
      node_handover_schedule (node, MAX (next_due - now, TICK_US));
    }
  else
    node_handover_check_left (node);
}

void
node_handover_schedule (DkNode *node, gint64 after_us)
{
  Handover *handover = node->handover;
  if (handover->tick_timer != 0)
    return;
  handover->tick_timer = node->env.timer_start (node->env.user_data, after_us, tick, node);
}

/* Busy with fills or releases (retries of failed fills aside). */
gboolean
node_handover_busy (const DkNode *node)
{
  if (!g_queue_is_empty (node->handover->chunks) || !g_queue_is_empty (node->handover->releasing))
    return TRUE;
  for (GList *link = node->handover->tasks->head; link != NULL; link = link->next)
    if (!((Task *) link->data)->retry)
      return TRUE;
  return FALSE;
}


/* ---- lifecycle ---------------------------------------------------------------- */

void
node_handover_stream_init (Handover *handover)
{
  handover->chunks = g_queue_new ();
  handover->releasing = g_queue_new ();
  handover->pushes = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, push_free);
}

void
node_handover_stream_clear (DkNode *node)
{
  Handover *handover = node->handover;
  if (handover->tick_timer != 0)
    node->env.timer_cancel (node->env.user_data, handover->tick_timer);
  handover->tick_timer = 0;
  g_hash_table_destroy (handover->pushes);
  g_queue_free_full (handover->chunks, (GDestroyNotify) chunk_free);
  g_queue_free_full (handover->releasing, (GDestroyNotify) chunk_free);
}

guint
node_handover_pending (const Handover *handover)
{
  return g_queue_get_length (handover->tasks) + g_queue_get_length (handover->chunks)
         + g_queue_get_length (handover->releasing) + g_hash_table_size (handover->pushes);
}
