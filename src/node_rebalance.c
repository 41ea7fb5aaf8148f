/* node_rebalance.c — membership change: the ring moves, data follows.
 *
 * A node's ring is built from the members it knows (gossip brings news of
 * joins, rejoins, and of members leaving: they claim LEAVING and drop out
 * of every ring that hears it).  Data moves in two ways, both built on one
 * offer: for a chunk of keys, ask the target for its (key, digest) pairs
 * there (AE_KEYS_REQUEST), then push (WRITE, acknowledged) only the keys it
 * lacks or holds otherwise.  A target holds a key when its digest matched
 * or its push was acknowledged.
 *
 *   Fill.  When its ring changes, a node diffs the old ring against the
 *   new (dk_ring_diff).  For every range that gained replicas and that it
 *   replicated before, it offers the range to each new replica: every old
 *   replica does so, not one chosen by belief, so a new replica is filled
 *   by whoever can reach it.  They start staggered (old replicas that drop
 *   out first, then in preference order) so the later ones mostly find the
 *   keys already there and push only what differs.  An offer to a target
 *   believed down, or that never answers, is tried again later while the
 *   target stays a replica.
 *
 *   Release.  Every few seconds, once its ring has been stable for a few
 *   gossip rounds, a node sweeps the ranges it does not replicate: keys
 *   left on an ex-replica, on a stand-in, or on a leaving node.  A range
 *   whose replicas it believes all up is offered to all of them; a key
 *   that every one of them then holds, and that did not change meanwhile,
 *   is purged.  Nothing is purged before every current replica holds it
 *   (check_membership.c: membership_join_during_partition_strands_nothing).
 *
 *   Leave.  dk_node_leave claims LEAVING (recorded in the store, so a
 *   restarted node goes on leaving), which takes this node out of its own
 *   ring: everything it holds is then outside its ranges, filled to the new
 *   replicas and released.  The leave is complete (dk_node_has_left) when
 *   the store is empty and peers have acknowledged the leave in their
 *   gossip; a node cut off from every peer waits, counting gossip rounds
 *   in leave_waits and saying what it waits for, however long that takes
 *   (membership_leave_while_cut_off_waits_then_finishes).
 *
 * Rings come from the environment's ring cache when it has one (shared by
 * every node with the same view), else the node builds its own. */
#include <string.h>
#include "node_private.h"
#include "ring_cache.h"

/* Request ids of offers and pushes carry this bit (anti-entropy pulls the
 * one above it), so their replies are told from a coordinator's. */
#define STREAM_BIT (G_GUINT64_CONSTANT (1) << 62)
#define AE_PULL_BIT (G_GUINT64_CONSTANT (1) << 63)
#define TICK_US 20000
#define CHUNK_KEYS 32
#define CHUNKS_IN_FLIGHT 8
#define PUSH_WINDOW 256
#define RESEND_US 1000000
#define MAX_ATTEMPTS 8
/* Old replicas of a range start filling a new one this far apart. */
#define STAGGER_US 1000000
/* A failed fill offer is tried again after this long. */
#define FILL_RETRY_US 5000000
#define SWEEP_INTERVAL_US 5000000
#define LEAVING_SWEEP_INTERVAL_US 1000000
/* A ring is stable after this many gossip intervals without a change:
 * by then the other members have heard what this node heard. */
#define SETTLE_ROUNDS 5
/* Gossip answers acknowledging the leave before a leaver may stop. */
#define LEAVE_ACKS 3
#define WAIT_LOG_US 5000000

typedef struct
{
  DkTokenRange range;
  DkToken      cursor;       /* keys after this token are still to offer */
  gboolean     started;      /* cursor has moved (a whole-ring range has lo == hi) */
  gboolean     release;      /* purge what every target holds */
  gboolean     retry;        /* a failed fill offer tried again */
  gint64       not_before_us;
  gint64       release_due_us; /* purge no earlier than this */
  guint        n_targets;
  DkNodeId     targets[DK_RING_MAX_REPLICAS];
} Task;

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

struct _Handover
{
  GQueue     *tasks;          /* Task*, in planning order */
  GQueue     *chunks;         /* Chunk*, being offered, oldest first */
  GQueue     *releasing;      /* Chunk*, held by every target, purged when due */
  GHashTable *pushes;         /* guint64 seq -> Push*, owns them */
  DkTimerId   tick_timer;
  DkTimerId   sweep_timer;
  guint64     ring_epoch;     /* ring changes so far */
  gint64      ring_changed_us;
  gint64      offered_us;     /* a peer last offered us keys (its ring changed) */
  gboolean    left;           /* leaving, and nothing left to hand off */
  guint       leave_acks;     /* gossip answers that showed our leave */
  gint64      wait_logged_us;
};

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

static gboolean
in_list (const DkNodeId *list, guint n, DkNodeId id)
{
  for (guint i = 0; i < n; i++)
    if (list[i] == id)
      return TRUE;
  return FALSE;
}

static gboolean
self_leaving (const DkNode *node)
{
  return node_member_leaving (node, node->config.id);
}

static gint64
settle_us (const DkNode *node)
{
  return SETTLE_ROUNDS * node->config.gossip_interval_us;
}

static void schedule_tick (DkNode *node, gint64 after_us);

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

/* ---- planning --------------------------------------------------------------- */

static Task *
task_new (DkTokenRange range, gboolean release, gint64 not_before_us)
{
  Task *task = g_new0 (Task, 1);
  task->range = range;
  task->cursor = range.lo;
  task->release = release;
  task->not_before_us = not_before_us;
  task->release_due_us = not_before_us;
  return task;
}

/* Our turn among CHANGE's old replicas: those dropping out first (they
 * hold the range and keep nothing of it), then the rest, in list order. */
static guint
fill_rank (const DkNode *node, const DkRingRangeChange *change)
{
  guint rank = 0;
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < change->n_before; i++)
      {
        gboolean dropping = !in_list (change->after, change->n_after, change->before[i]);
        if (dropping != (pass == 0))
          continue;
        if (change->before[i] == node->config.id)
          return rank;
        rank++;
      }
  return rank;
}

/* Every range that gained replicas and that we held: offer it to them.
 * A range we no longer replicate is offered to all its replicas and
 * released once the ring has settled (by then every member routes by the
 * new ring, so nobody reads our copy any more). */
static void
plan_fill (DkNode *node, const DkRing *before, const DkRing *after)
{
  g_autoptr (GArray) changes = dk_ring_diff (before, after, node->config.n);
  gint64 now = node_now (node);
  for (guint i = 0; i < changes->len; i++)
    {
      const DkRingRangeChange *change = &g_array_index (changes, DkRingRangeChange, i);
      if (!in_list (change->before, change->n_before, node->config.id))
        continue;
      gboolean dropping = !in_list (change->after, change->n_after, node->config.id);
      Task *task = task_new (change->range, dropping, now + fill_rank (node, change) * STAGGER_US);
      task->release_due_us = now + settle_us (node);
      for (guint k = 0; k < change->n_after; k++)
        if ((dropping || !in_list (change->before, change->n_before, change->after[k]))
            && change->after[k] != node->config.id)
          task->targets[task->n_targets++] = change->after[k];
      if (task->n_targets == 0)
        g_free (task);
      else
        g_queue_push_tail (node->handover->tasks, task);
    }
  schedule_tick (node, TICK_US);
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
  node->handover->ring_epoch++;
  node->handover->ring_changed_us = node_now (node);
  plan_fill (node, before, after);
  node_ring_release (node, before);
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

/* TRUE when TARGET can be offered anything now. */
static gboolean
reachable (const DkNode *node, DkNodeId target)
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
  chunk->release_due_us = task->release_due_us;
  chunk->ring_epoch = node->handover->ring_epoch;
  chunk->keys = collect.keys;
  chunk->digests = collect.digests;
  for (guint t = 0; t < task->n_targets; t++)
    {
      Offer *offer = &chunk->offers[chunk->n_offers++];
      offer->target = task->targets[t];
      if (reachable (node, offer->target))
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
      give_up = give_up || push->attempts >= MAX_ATTEMPTS || !reachable (node, offer->target);
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
          if (offer->attempts >= MAX_ATTEMPTS || !reachable (node, offer->target))
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
  if (chunk->release || self_leaving (node))
    return;   /* the next sweep offers what is still held */
  for (guint t = 0; t < chunk->n_offers; t++)
    {
      const Offer *offer = &chunk->offers[t];
      if (offer->state != OFFER_FAILED || !node_member_in_ring (node, offer->target))
        continue;
      Task *task = task_new (chunk->span, FALSE, now + FILL_RETRY_US);
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

/* Nothing left to hand off: no key, and no hint (a coordinator keeps
 * hints for replicas no stand-in covered, with no copy of its own; they
 * go to their owners by handoff). */
static gboolean
store_empty (const DkNode *node)
{
  guint64 keys = 0;
  return dk_store_count_keys (node->env.store, &keys, NULL) && keys == 0
         && dk_store_hint_count (node->env.store, DK_NODE_NONE) == 0;
}

/* Leaving, and nothing left to hand off. */
static void
check_left (DkNode *node)
{
  Handover *handover = node->handover;
  if (handover->left || !self_leaving (node) || !g_queue_is_empty (handover->tasks)
      || !g_queue_is_empty (handover->chunks) || !g_queue_is_empty (handover->releasing)
      || !store_empty (node))
    return;
  handover->left = TRUE;
  node_log (node, DK_LOG_INFO, "leaving: every key and hint is held by its replicas");
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
    schedule_tick (node, TICK_US);
  else if (!g_queue_is_empty (handover->tasks) || !g_queue_is_empty (handover->releasing))
    {
      due_task (node, G_MININT64, &next_due);
      for (GList *held = handover->releasing->head; held != NULL; held = held->next)
        next_due = MIN (next_due, ((Chunk *) held->data)->release_due_us);
      schedule_tick (node, MAX (next_due - now, TICK_US));
    }
  else
    check_left (node);
}

static void
schedule_tick (DkNode *node, gint64 after_us)
{
  Handover *handover = node->handover;
  if (handover->tick_timer != 0)
    return;
  handover->tick_timer = node->env.timer_start (node->env.user_data, after_us, tick, node);
}

/* ---- sweeping what we do not replicate ------------------------------------ */

static gboolean
note_any_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return FALSE;
}

static gboolean
holds_keys (DkNode *node, DkToken lo, DkToken hi)
{
  gboolean any = FALSE;
  if (!dk_store_scan (node->env.store, lo, hi, note_any_key, &any, NULL))
    node->stats.store_errors++;
  return any;
}

/* Busy with fills or releases (retries of failed fills aside). */
static gboolean
busy (const DkNode *node)
{
  if (!g_queue_is_empty (node->handover->chunks) || !g_queue_is_empty (node->handover->releasing))
    return TRUE;
  for (GList *link = node->handover->tasks->head; link != NULL; link = link->next)
    if (!((Task *) link->data)->retry)
      return TRUE;
  return FALSE;
}

/* Offer every range we hold keys of but do not replicate to all its
 * replicas, when we believe them all up (else it waits for a later sweep). */
static void
sweep_ranges (DkNode *node)
{
  guint count = dk_ring_range_count (node->ring);
  if (count == 0)
    return;
  g_autofree gboolean *owned = g_new0 (gboolean, count);
  for (guint i = 0; i < count; i++)
    {
      DkNodeId list[DK_RING_MAX_REPLICAS];
      guint n = dk_ring_preference_list (node->ring, dk_ring_range_at (node->ring, i).hi,
                                         node->config.n, list);
      owned[i] = in_list (list, n, node->config.id);
    }
  gint64 now = node_now (node);
  for (guint i = 0; i < count;)
    {
      if (owned[i])
        {
          i++;
          continue;
        }
      guint end = i;
      while (end < count && !owned[end])
        end++;
      /* One look at the whole run of ranges first: usually it is empty. */
      if (holds_keys (node, dk_ring_range_at (node->ring, i).lo,
                      dk_ring_range_at (node->ring, end - 1).hi))
        for (guint k = i; k < end; k++)
          {
            DkTokenRange range = dk_ring_range_at (node->ring, k);
            DkNodeId list[DK_RING_MAX_REPLICAS];
            guint n = dk_ring_preference_list (node->ring, range.hi, node->config.n, list);
            gboolean all_up = n > 0;
            for (guint r = 0; r < n; r++)
              all_up = all_up && reachable (node, list[r]);
            if (!all_up || !holds_keys (node, range.lo, range.hi))
              continue;
            Task *task = task_new (range, TRUE, now);
            memcpy (task->targets, list, n * sizeof (DkNodeId));
            task->n_targets = n;
            g_queue_push_tail (node->handover->tasks, task);
          }
      i = end;
    }
  schedule_tick (node, TICK_US);
}

static void
sweep (gpointer data)
{
  DkNode *node = data;
  Handover *handover = node->handover;
  handover->sweep_timer = 0;
  /* Not while rings move: ours, or a peer's that offers us keys (we have
   * not heard its news yet, and would release what we are to keep). */
  gint64 quiet_since = MAX (handover->ring_changed_us, handover->offered_us);
  gboolean stable = node_now (node) - quiet_since >= settle_us (node);
  if (stable && !busy (node))
    sweep_ranges (node);
  check_left (node);
  /* Node ids spread the sweeps without drawing from the random stream. */
  gint64 interval = self_leaving (node) ? LEAVING_SWEEP_INTERVAL_US : SWEEP_INTERVAL_US;
  interval += (gint64) (node->config.id * 7919u % 1000u) * (interval / 10000);
  handover->sweep_timer = node->env.timer_start (node->env.user_data, interval, sweep, node);
}

/* ---- lifecycle ---------------------------------------------------------------- */

void
node_rebalance_init (DkNode *node)
{
  Handover *handover = g_new0 (Handover, 1);
  node->handover = handover;
  handover->tasks = g_queue_new ();
  handover->chunks = g_queue_new ();
  handover->releasing = g_queue_new ();
  handover->pushes = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, push_free);
  /* A (re)started node's ring is what it was given: not settled yet. */
  handover->ring_changed_us = node_now (node);
  handover->sweep_timer = node->env.timer_start (node->env.user_data, SWEEP_INTERVAL_US,
                                                 sweep, node);
}

void
node_rebalance_clear (DkNode *node)
{
  Handover *handover = node->handover;
  if (handover == NULL)
    return;
  if (handover->tick_timer != 0)
    node->env.timer_cancel (node->env.user_data, handover->tick_timer);
  if (handover->sweep_timer != 0)
    node->env.timer_cancel (node->env.user_data, handover->sweep_timer);
  g_hash_table_destroy (handover->pushes);
  g_queue_free_full (handover->tasks, g_free);
  g_queue_free_full (handover->chunks, (GDestroyNotify) chunk_free);
  g_queue_free_full (handover->releasing, (GDestroyNotify) chunk_free);
  g_clear_pointer (&node->handover, g_free);
}

/* Claim LEAVING: out of our own ring, so everything we hold is filled to
 * its new replicas and then released; sweeps come every second. */
static void
start_leaving (DkNode *node)
{
  Handover *handover = node->handover;
  node_member_claim (node, DK_WIRE_MEMBER_LEAVING);
  handover->left = FALSE;
  handover->leave_acks = 0;
  handover->wait_logged_us = node_now (node);
  node_ring_rebuild (node);
  if (handover->sweep_timer != 0)
    node->env.timer_cancel (node->env.user_data, handover->sweep_timer);
  handover->sweep_timer = node->env.timer_start (node->env.user_data,
                                                 LEAVING_SWEEP_INTERVAL_US, sweep, node);
  schedule_tick (node, TICK_US);
}

void
dk_node_leave (DkNode *node)
{
  if (self_leaving (node))
    return;
  g_autoptr (GError) error = NULL;
  if (!dk_store_meta_set (node->env.store, "leaving", 1, &error))
    {
      node->stats.store_errors++;
      node_log (node, DK_LOG_WARNING, "cannot record the leave (a restart would forget it): %s",
                error->message);
    }
  node_log (node, DK_LOG_INFO, "leaving: handing every range to its new replicas");
  start_leaving (node);
}

gboolean
node_leave_resume (DkNode *node, GError **error)
{
  gint64 leaving = 0;
  gboolean found = FALSE;
  if (!dk_store_meta_get (node->env.store, "leaving", &leaving, &found, error))
    return FALSE;
  if (!found || leaving == 0)
    return TRUE;
  if (node->config.joining)   /* joining again calls the leave off */
    return dk_store_meta_set (node->env.store, "leaving", 0, error);
  node_log (node, DK_LOG_INFO, "restarted while leaving: going on leaving");
  start_leaving (node);
  return TRUE;
}

void
node_leave_acknowledged (DkNode *node)
{
  node->handover->leave_acks++;
}

/* Once per gossip round while leaving: count the wait, and now and then
 * say what it waits for. */
void
node_leave_tick (DkNode *node)
{
  Handover *handover = node->handover;
  if (dk_node_has_left (node))
    return;
  node->stats.leave_waits++;
  gint64 now = node_now (node);
  if (now - handover->wait_logged_us < WAIT_LOG_US)
    return;
  handover->wait_logged_us = now;
  guint64 keys = 0;
  dk_store_count_keys (node->env.store, &keys, NULL);
  guint hints = dk_store_hint_count (node->env.store, DK_NODE_NONE);
  guint unreachable = 0, members = 0;
  g_autoptr (GArray) ring_members = node_ring_members (node);
  for (guint i = 0; i < ring_members->len; i++)
    {
      DkNodeId id = g_array_index (ring_members, DkRingNode, i).id;
      members++;
      unreachable += !node_peer_healthy (node, id);
    }
  node_log (node, DK_LOG_WARNING,
            "leaving, still waiting: %" G_GUINT64_FORMAT " keys and %u hints not yet held by "
            "their replicas, %u of %u members unreachable, leave acknowledged %u times (%u needed)",
            keys, hints, unreachable, members, handover->leave_acks, LEAVE_ACKS);
}

/* Gone for good once the store is empty and peers have acknowledged the
 * leave (without gossip, nobody can: at once). */
gboolean
dk_node_has_left (const DkNode *node)
{
  const Handover *handover = node->handover;
  if (!handover->left
      || (node->config.gossip_interval_us > 0 && handover->leave_acks < LEAVE_ACKS))
    return FALSE;
  return store_empty (node);
}

guint
dk_node_streams_pending (const DkNode *node)
{
  const Handover *handover = node->handover;
  return g_queue_get_length (handover->tasks) + g_queue_get_length (handover->chunks)
         + g_queue_get_length (handover->releasing) + g_hash_table_size (handover->pushes);
}

const DkRing *
dk_node_ring (const DkNode *node)
{
  return node->ring;
}
