/* node_handoff.c — hinted handoff (Dynamo §4.6).
 *
 * With a sloppy quorum a write meant for a down replica goes to a stand-in
 * further round the ring, carrying the intended owner as a hint.  The
 * stand-in stores the data as usual (so sloppy reads find it) and also
 * keeps a hint in its store: durable, bounded by the store's count and
 * byte limits (a refused hint is counted, never silently lost track of).
 *
 * Delivery starts as soon as the owner is seen reachable: when the
 * failure detector's verdict on it turns UP (node_handoff_owner_up), at
 * every handoff round (HANDOFF_ROUND_US, while some owner believed up
 * has hints) and gossip round, or when the owner answers a probe: an
 * owner believed down is sent one hint a round (HANDOFF_PROBE_US), and
 * its acknowledgement, which the failure detector may not have caught up
 * with yet, opens the window.  Each owner has a window of handoff_batch
 * hints in flight, oldest first; an acknowledgement frees a slot, and the
 * window is refilled once half of it is free, so a backlog drains at the
 * pace the owner answers (a window per round trip) and never floods it
 * (tests/check_handoff.c).  The owner merges the data and acknowledges;
 * only then is the hint removed — and only if it did not change in the
 * meantime (a newer write for the same owner and key merges into the same
 * hint, which must then be handed off again).  A stand-in keeps its copy
 * after the handoff: the owner it was meant for may no longer be a
 * replica, so the copy is dropped only once every current replica holds
 * it (node_rebalance.c releases it).  A hint unacknowledged (or refused)
 * is sent again after HANDOFF_RESEND_US.  Hints for an owner that has
 * left the cluster are sent to the keys' current replicas instead, then
 * dropped.
 *
 * A hint's set may not fit one datagram (node_send_set sends it in
 * parts); it counts as delivered only once the owner acknowledged every
 * part of one sending, and an ack names the part and the set's digest, so
 * an ack of an older sending never vouches for newer content
 * (tests/check_wedge.c, wedge_a_hint_is_delivered_only_when_every_part_is_acknowledged). */
#include <string.h>
#include "node_private.h"

/* A handoff round comes this often while an owner believed up has
 * hints, else this often while any has (a probe for each owner). */
#define HANDOFF_ROUND_US 100000
#define HANDOFF_PROBE_US 1000000
/* An unacknowledged hint is sent again after this long. */
#define HANDOFF_RESEND_US 1000000

static void handoff_round (gpointer data);
static void fill_window (DkNode *node, DkNodeId owner, gint64 now, guint limit);
static gboolean owner_reachable (const DkNode *node, DkNodeId owner, gint64 now);

static guint
window_used (const DkNode *node, DkNodeId owner)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (node->handoff_windows, GUINT_TO_POINTER (owner)));
}

static void
window_add (DkNode *node, DkNodeId owner, gint delta)
{
  guint used = (guint) ((gint) window_used (node, owner) + delta);
  if (used == 0)
    g_hash_table_remove (node->handoff_windows, GUINT_TO_POINTER (owner));
  else
    g_hash_table_insert (node->handoff_windows, GUINT_TO_POINTER (owner), GUINT_TO_POINTER (used));
}

/* Forget hint ID's sending (its hint was removed, or is to be sent anew). */
static void
forget_in_flight (DkNode *node, gint64 hint_id)
{
  HintInFlight *in_flight = g_hash_table_lookup (node->hints_in_flight, &hint_id);
  if (in_flight == NULL)
    return;
  window_add (node, in_flight->owner, -1);
  g_hash_table_remove (node->hints_in_flight, &hint_id);
}

static guint
window_size (const DkNode *node)
{
  return MAX (node->config.handoff_batch, 1u);
}

/* A round AFTER_US from now, unless one is due by then already. */
static void
schedule_round_in (DkNode *node, gint64 after_us)
{
  if (!node->config.hinted_handoff)
    return;
  gint64 due = node_now (node) + after_us;
  if (node->handoff_timer != 0)
    {
      if (node->handoff_due_us <= due)
        return;
      node->env.timer_cancel (node->env.user_data, node->handoff_timer);
    }
  node->handoff_due_us = due;
  node->handoff_timer = node->env.timer_start (node->env.user_data, after_us, handoff_round, node);
}

static void
schedule_round (DkNode *node)
{
  schedule_round_in (node, HANDOFF_ROUND_US);
}

void
node_handoff_init (DkNode *node)
{
  node->hints_in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  node->handoff_windows = g_hash_table_new (NULL, NULL);
  node->handoff_answers = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  if (dk_store_hint_count (node->env.store, DK_NODE_NONE) > 0)
    schedule_round (node);   /* restarted with hints to hand back */
}

void
node_handoff_clear (DkNode *node)
{
  if (node->handoff_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->handoff_timer);
  node->handoff_timer = 0;
  g_clear_pointer (&node->hints_in_flight, g_hash_table_destroy);
  g_clear_pointer (&node->handoff_windows, g_hash_table_destroy);
  g_clear_pointer (&node->handoff_answers, g_hash_table_destroy);
}

gboolean
node_hint_keep (DkNode *node, DkNodeId owner, GBytes *key, const GPtrArray *siblings)
{
  if (!node->config.hinted_handoff || owner == node->config.id
      || node->config.bug == DK_NODE_BUG_STAND_IN_ONLY)   /* injected: the write stays here */
    return TRUE;
  g_autoptr (GError) error = NULL;
  if (dk_store_hint_add (node->env.store, owner, key, siblings, node_now (node), NULL, &error))
    {
      node->stats.hints_kept++;
      /* An owner we can reach (a stand-in was chosen for another reason:
       * a request's failover, a stale view) gets it at once: a read that
       * goes to the owner next misses it only for a round trip. */
      gint64 now = node_now (node);
      if (owner_reachable (node, owner, now))
        fill_window (node, owner, now, window_size (node));
      schedule_round (node);
      return TRUE;
    }
  if (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_HINTS_FULL))
    node->stats.hints_refused++;
  else
    {
      node->stats.store_errors++;
      node_log (node, DK_LOG_WARNING, "cannot keep a hint for node %u: %s", owner, error->message);
    }
  return FALSE;
}

/* Send HINT to its owner (PROBE: believed down); a new sending takes a
 * slot of the owner's window until it is acknowledged. */
static void
send_hint (DkNode *node, const DkStoreHint *hint, gint64 now, gboolean probe)
{
  g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_HINT_HANDOFF);
  DkWireHintHandoff *body = &message->body.hint_handoff;
  body->hint_id = (guint64) hint->id;
  body->intended_owner = hint->owner;
  body->key = g_bytes_ref (hint->key);
  DkWirePart sending;
  if (!node_send_set (node, hint->owner, message, hint->siblings, &sending))
    return;
  node->stats.hints_sent++;
  HintInFlight *in_flight = g_hash_table_lookup (node->hints_in_flight, &hint->id);
  if (in_flight == NULL)
    {
      in_flight = g_new0 (HintInFlight, 1);
      in_flight->hint_id = hint->id;
      in_flight->owner = hint->owner;
      g_hash_table_insert (node->hints_in_flight, &in_flight->hint_id, in_flight);
      window_add (node, hint->owner, 1);
    }
  /* The same content sent again keeps the acks it already has. */
  if (!in_flight->parts.started || in_flight->parts.sending.set_digest != sending.set_digest
      || in_flight->parts.sending.last != sending.last)
    node_parts_expect (&in_flight->parts, sending);
  in_flight->sent_us = now;
  in_flight->probe = probe;
}

/* OWNER is reachable again: what was sent to it before (while it was
 * cut off, most likely lost) goes again now rather than at
 * HANDOFF_RESEND_US. */
static void
resend_now (DkNode *node, DkNodeId owner, gint64 now)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, node->hints_in_flight);
  while (g_hash_table_iter_next (&iter, NULL, &value))   /* each alike: the order cannot matter */
    {
      HintInFlight *in_flight = value;
      if (in_flight->owner == owner)
        in_flight->sent_us = MIN (in_flight->sent_us, now - HANDOFF_RESEND_US);
    }
}

/* OWNER left the cluster (or never joined our ring): its hints can never
 * be handed back, so their data goes to the keys' current replicas, and
 * the hints are dropped. */
static void
reroute_hints (DkNode *node, DkNodeId owner)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) hints = dk_store_hints_for_owner (node->env.store, owner,
                                                          node->config.handoff_batch, &error);
  if (hints == NULL)
    {
      node->stats.store_errors++;
      return;
    }
  for (guint j = 0; j < hints->len; j++)
    {
      const DkStoreHint *hint = g_ptr_array_index (hints, j);
      gsize len;
      const guint8 *bytes = g_bytes_get_data (hint->key, &len);
      DkNodeId list[DK_RING_MAX_REPLICAS];
      guint n = dk_ring_preference_list (node->ring, dk_ring_key_token (bytes, len),
                                         node->config.n, list);
      for (guint k = 0; k < n; k++)
        {
          if (list[k] == node->config.id)
            continue;   /* our own copy is in our store already */
          g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
          write->body.write.key = g_bytes_ref (hint->key);
          node_send_set (node, list[k], write, hint->siblings, NULL);
        }
      forget_in_flight (node, hint->id);
      if (dk_store_hint_remove (node->env.store, hint->id, &error))
        node->stats.hints_rerouted++;
      else
        {
          node->stats.store_errors++;
          g_clear_error (&error);
        }
    }
}

/* TRUE when OWNER can be handed hints a window at a time: we believe it
 * up, or it acknowledged a hint within the last HANDOFF_PROBE_US (our
 * verdict lags). */
static gboolean
owner_reachable (const DkNode *node, DkNodeId owner, gint64 now)
{
  if (node_peer_healthy (node, owner))
    return TRUE;
  const gint64 *answered = g_hash_table_lookup (node->handoff_answers, GUINT_TO_POINTER (owner));
  return answered != NULL && now - *answered < HANDOFF_PROBE_US;
}

/* TRUE when a hint in flight to OWNER is due to be sent again. */
static gboolean
resend_due (const DkNode *node, DkNodeId owner, gint64 now)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, node->hints_in_flight);
  while (g_hash_table_iter_next (&iter, NULL, &value))   /* a test: the order cannot matter */
    {
      const HintInFlight *in_flight = value;
      if (in_flight->owner == owner && now - in_flight->sent_us >= HANDOFF_RESEND_US)
        return TRUE;
    }
  return FALSE;
}

/* Fill OWNER's window (LIMIT hints in flight) with its oldest hints not
 * in flight, and send again those in flight for HANDOFF_RESEND_US without
 * an answer.  A LIMIT of 1 is a probe: one datagram at most. */
static void
fill_window (DkNode *node, DkNodeId owner, gint64 now, guint limit)
{
  guint window = limit;
  guint used = window_used (node, owner);
  if (used >= window && !resend_due (node, owner, now))
    return;
  g_autoptr (GError) error = NULL;
  /* Those in flight come first among the oldest, so USED + WINDOW
   * reaches every one of them and WINDOW - USED others. */
  g_autoptr (GPtrArray) hints = dk_store_hints_for_owner (node->env.store, owner, used + window,
                                                          &error);
  if (hints == NULL)
    {
      node->stats.store_errors++;
      return;
    }
  guint sent = 0;
  for (guint j = 0; j < hints->len && (limit > 1 || sent == 0); j++)
    {
      const DkStoreHint *hint = g_ptr_array_index (hints, j);
      const HintInFlight *in_flight = g_hash_table_lookup (node->hints_in_flight, &hint->id);
      if (in_flight != NULL ? now - in_flight->sent_us >= HANDOFF_RESEND_US
                            : window_used (node, owner) < window)
        {
          send_hint (node, hint, now, limit == 1);
          sent++;
        }
    }
}

void
node_handoff_tick (DkNode *node)
{
  if (!node->config.hinted_handoff)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) owners = dk_store_hint_owners (node->env.store, &error);
  if (owners == NULL)
    {
      node->stats.store_errors++;
      return;
    }
  gint64 now = node_now (node);
  gboolean more = FALSE, probes = FALSE;
  for (guint i = 0; i < owners->len; i++)
    {
      DkNodeId owner = g_array_index (owners, DkNodeId, i);
      if (owner != node->config.id && !node_member_in_ring (node, owner))
        {
          reroute_hints (node, owner);
          more = TRUE;
          continue;
        }
      if (owner == node->config.id)
        continue;
      gboolean up = owner_reachable (node, owner, now);
      /* An owner believed down is probed: its answer opens the window
       * (node_on_hint_ack) before its verdict turns. */
      fill_window (node, owner, now, up ? window_size (node) : 1);
      more = more || up;
      probes = probes || !up;
    }
  if (more)
    schedule_round (node);
  else if (probes)
    schedule_round_in (node, HANDOFF_PROBE_US);
}

static void
handoff_round (gpointer data)
{
  DkNode *node = data;
  node->handoff_timer = 0;
  node_handoff_tick (node);
}

void
node_handoff_owner_up (DkNode *node, DkNodeId owner)
{
  if (!node->config.hinted_handoff || owner == node->config.id
      || dk_store_hint_count (node->env.store, owner) == 0)
    return;
  gint64 now = node_now (node);
  resend_now (node, owner, now);
  fill_window (node, owner, now, window_size (node));
  schedule_round (node);
}

/* The owner takes its data back and says so. */
void
node_on_hint_handoff (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  DkWireHintHandoff *body = &message->body.hint_handoff;
  if (!dk_endpoint_is_node (from))
    {
      node->stats.dropped_unexpected++;
      return;
    }
  DkWireStatus status = DK_WIRE_STATUS_OK;
  if (body->intended_owner != node->config.id)
    status = DK_WIRE_STATUS_INVALID;
  else
    {
      g_autoptr (GError) error = NULL;
      gboolean changed = FALSE;
      if (dk_store_put (node->env.store, body->key, body->siblings, node_now (node), &changed,
                        &error))
        {
          node->stats.hints_received += body->part.index == body->part.last;
          node->stats.repairs_applied += changed;
        }
      else if (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE))
        {
          /* Only a set past DK_SIBLINGS_HARD_MAX: the wire admits no
           * larger key or value. */
          node->stats.store_errors++;
          node->stats.merges_refused_siblings++;
          node_log (node, DK_LOG_ERROR, "hint refused: %s", error->message);
          status = DK_WIRE_STATUS_TOO_LARGE;
        }
      else
        {
          node->stats.store_errors++;
          status = DK_WIRE_STATUS_STORAGE_ERROR;
        }
    }
  g_autoptr (DkWireMessage) ack = dk_wire_message_new (DK_WIRE_HINT_ACK);
  ack->request_id = message->request_id;
  ack->body.hint_ack.hint_id = body->hint_id;
  ack->body.hint_ack.status = status;
  ack->body.hint_ack.part = body->part;   /* each part is acknowledged */
  node_send (node, from, ack);
}

void
node_on_hint_ack (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  gint64 hint_id = (gint64) message->body.hint_ack.hint_id;
  HintInFlight *in_flight = g_hash_table_lookup (node->hints_in_flight, &hint_id);
  if (in_flight == NULL || from != in_flight->owner)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  const DkWireHintAck *ack = &message->body.hint_ack;
  if (ack->status == DK_WIRE_STATUS_OK)
    {
      if (!node_parts_note (&in_flight->parts, ack->part))
        return;   /* a duplicate, or an ack of another sending */
      if (!node_parts_complete (&in_flight->parts))
        return;   /* more parts to be acknowledged */
    }
  if (ack->status != DK_WIRE_STATUS_OK)
    return;   /* refused: it stays in flight, sent again after HANDOFF_RESEND_US */
  guint64 sent_digest = in_flight->parts.sending.set_digest;
  DkNodeId owner = in_flight->owner;
  gboolean probe = in_flight->probe;
  forget_in_flight (node, hint_id);
  gint64 now = node_now (node);
  gint64 *answered = g_hash_table_lookup (node->handoff_answers, GUINT_TO_POINTER (owner));
  if (answered == NULL)
    {
      answered = g_new (gint64, 1);
      g_hash_table_insert (node->handoff_answers, GUINT_TO_POINTER (owner), answered);
    }
  *answered = now;
  if (probe)
    resend_now (node, owner, now);   /* it answers: back before our verdict says so */

  g_autoptr (GError) error = NULL;
  g_autoptr (DkStoreHint) hint = dk_store_hint_get (node->env.store, hint_id, &error);
  if (hint != NULL && dk_siblings_digest (hint->siblings) == sent_digest)
    {
      if (dk_store_hint_remove (node->env.store, hint_id, &error))
        node->stats.hints_delivered++;
      else
        node->stats.store_errors++;
    }
  /* else gone, or grown since: the newer content goes with the window.
   * The owner answered, so it is reachable whatever our verdict on it
   * says: the window opens (and hints sent before it went away go again). */
  if (window_used (node, owner) <= window_size (node) / 2 || resend_due (node, owner, now))
    fill_window (node, owner, now, window_size (node));
}

guint
dk_node_hints_held (const DkNode *node)
{
  return dk_store_hint_count (node->env.store, DK_NODE_NONE);
}
