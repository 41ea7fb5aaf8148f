/* node_rebalance.c — membership change: the ring moves, data follows.
 *
 * A node's ring is built from the members it knows (gossip brings news of
 * joins, rejoins, and of members leaving: they claim LEAVING and drop out
 * of every ring that hears it).  Keys move by offers (node_stream.c): the
 * target lists its digests for a chunk of keys, and only what it lacks or
 * holds otherwise is pushed.  This file decides what to offer to whom.
 *
 *   Fill.  When its ring changes, a node diffs the old ring against the
 *   new (dk_ring_diff).  Every range it replicated before and that gained
 *   replicas it offers to them: every old replica does so, not one chosen
 *   by belief, so a new replica is filled by whoever can reach it
 *   (check_membership.c: membership_every_old_replica_that_can_reach_a_new_one_fills_it).
 *   Old replicas start staggered (those dropping out of the range first,
 *   then in preference order), so the later ones mostly find the keys
 *   there already and push only what differs.  A range the node drops out
 *   of is offered to all its new replicas and released: its copies are
 *   purged once every one of them holds them and the ring has settled (a
 *   few gossip rounds: by then nobody routes to this node for the range).
 *
 *   Sweep.  Every few seconds, once neither its ring nor a peer's offer
 *   has moved for a few gossip rounds, a node looks for keys it holds
 *   outside its ranges: an ex-replica's left-overs, a stand-in's copies
 *   (kept after their hints were handed off), what a leaver still holds.
 *   A range whose replicas it believes all up is offered to all of them
 *   and released.  Nothing is purged before every current replica holds
 *   it (membership_join_during_partition_strands_nothing).
 *
 *   Leave.  dk_node_leave claims LEAVING (recorded in the store, so a
 *   restarted node goes on leaving), which takes the node out of its own
 *   ring: everything it holds is then outside its ranges, offered and
 *   released.  The leave is complete (dk_node_has_left) when its store
 *   holds no key and no hint and peers have acknowledged the leave in
 *   their gossip; a node cut off from its peers, or whose replicas are
 *   down, waits however long that takes, counting gossip rounds in
 *   leave_waits and saying what it waits for
 *   (membership_leave_while_cut_off_waits_then_finishes).
 *
 * Rings come from the environment's ring cache when it has one (shared by
 * every node with the same view), else the node builds its own. */
#include <string.h>
#include "node_handover.h"
#include "ring_cache.h"

/* Old replicas of a range start filling a new one this far apart. */
#define STAGGER_US 1000000
#define SWEEP_INTERVAL_US 5000000
#define LEAVING_SWEEP_INTERVAL_US 1000000
/* A ring is stable after this many gossip intervals without a change:
 * by then the other members have heard what this node heard. */
#define SETTLE_ROUNDS 5
/* Gossip answers acknowledging the leave before a leaver may stop. */
#define LEAVE_ACKS 3
#define WAIT_LOG_US 5000000

static gboolean
in_list (const DkNodeId *list, guint n, DkNodeId id)
{
  for (guint i = 0; i < n; i++)
    if (list[i] == id)
      return TRUE;
  return FALSE;
}

gboolean
node_handover_self_leaving (const DkNode *node)
{
  return node_member_leaving (node, node->config.id);
}

static gint64
settle_us (const DkNode *node)
{
  return SETTLE_ROUNDS * node->config.gossip_interval_us;
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

/* ---- planning --------------------------------------------------------------- */

Task *
node_handover_task_new (DkTokenRange range, gboolean release, gint64 not_before_us)
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
      Task *task = node_handover_task_new (change->range, dropping, now + fill_rank (node, change) * STAGGER_US);
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
  node_handover_schedule (node, NODE_HANDOVER_TICK_US);
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
void
node_handover_check_left (DkNode *node)
{
  Handover *handover = node->handover;
  if (handover->left || !node_handover_self_leaving (node) || !g_queue_is_empty (handover->tasks)
      || !g_queue_is_empty (handover->chunks) || !g_queue_is_empty (handover->releasing)
      || !store_empty (node))
    return;
  handover->left = TRUE;
  node_log (node, DK_LOG_INFO, "leaving: every key and hint is held by its replicas");
}

/* ---- sweeping what we do not replicate ------------------------------------ */

typedef struct
{
  gboolean found;
  DkToken  token;
} FirstKey;

static gboolean
note_first_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  FirstKey *first = user_data;
  first->found = TRUE;
  first->token = token;
  return FALSE;
}

/* The token of the first key held after LO, up to the top of the ring
 * (WHOLE: the first key of the whole ring, from token 0). */
static gboolean
next_key_token (DkNode *node, DkToken lo, gboolean whole, DkToken *token)
{
  FirstKey first = { FALSE, 0 };
  if (!dk_store_scan (node->env.store, whole ? G_MAXUINT64 : lo, G_MAXUINT64, note_first_key,
                      &first, NULL))
    node->stats.store_errors++;
  *token = first.token;
  return first.found;
}

static gboolean
owns_range (DkNode *node, DkTokenRange range, DkNodeId *list, guint *n)
{
  *n = dk_ring_preference_list (node->ring, range.hi, node->config.n, list);
  return in_list (list, *n, node->config.id);
}

/* Offer every range we hold keys of but do not replicate to all its
 * replicas, when we believe them all up (else it waits for a later
 * sweep).  The walk goes from key to key in token order, stepping over
 * runs of our own ranges in memory: one store lookup per run, so a node
 * that holds nothing outside its ranges pays little however large the
 * ring. */
static void
sweep_ranges (DkNode *node)
{
  guint count = dk_ring_range_count (node->ring);
  gint64 now = node_now (node);
  gboolean first = TRUE, wrap_range_done = FALSE;
  DkToken cursor = 0, token;
  while (count > 0 && (first || cursor != G_MAXUINT64)
         && next_key_token (node, cursor, first, &token))
    {
      first = FALSE;
      guint index = dk_ring_range_index (node->ring, token);
      DkTokenRange range = dk_ring_range_at (node->ring, index);
      gboolean wraps = range.hi < token;   /* the range holding token 0, past the top */
      if (index == 0 && wrap_range_done)
        break;
      wrap_range_done = wrap_range_done || index == 0;
      DkNodeId list[DK_RING_MAX_REPLICAS];
      guint n;
      if (!owns_range (node, range, list, &n))
        {
          gboolean all_up = n > 0;
          for (guint r = 0; r < n; r++)
            all_up = all_up && node_handover_reachable (node, list[r]);
          if (all_up)
            {
              Task *task = node_handover_task_new (range, TRUE, now);
              task->sweep = TRUE;
              memcpy (task->targets, list, n * sizeof (DkNodeId));
              task->n_targets = n;
              g_queue_push_tail (node->handover->tasks, task);
            }
        }
      else
        while (index + 1 < count && owns_range (node, dk_ring_range_at (node->ring, index + 1),
                                                list, &n))
          range = dk_ring_range_at (node->ring, ++index);
      if (wraps)
        break;
      cursor = range.hi;
    }
  node_handover_schedule (node, NODE_HANDOVER_TICK_US);
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
  if (stable && !node_handover_busy (node))
    sweep_ranges (node);
  node_handover_check_left (node);
  /* Node ids spread the sweeps without drawing from the random stream. */
  gint64 interval = node_handover_self_leaving (node) ? LEAVING_SWEEP_INTERVAL_US : SWEEP_INTERVAL_US;
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
  node_handover_stream_init (handover);
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
  if (handover->sweep_timer != 0)
    node->env.timer_cancel (node->env.user_data, handover->sweep_timer);
  node_handover_stream_clear (node);
  g_queue_free_full (handover->tasks, g_free);
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
  node_handover_schedule (node, NODE_HANDOVER_TICK_US);
}

void
dk_node_leave (DkNode *node)
{
  if (node_handover_self_leaving (node))
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

gboolean
dk_node_is_leaving (const DkNode *node)
{
  return node_handover_self_leaving (node);
}

guint
dk_node_streams_pending (const DkNode *node)
{
  return node_handover_pending (node->handover);
}

const DkRing *
dk_node_ring (const DkNode *node)
{
  return node->ring;
}
