/* node_reach.c — what this node learns of its peers from its own
 * requests, faster than gossip can tell it (Dynamo §4.6, §4.8.3).
 *
 * Every reply to a READ, WRITE or FORWARD is a round-trip sample.  From
 * them, per peer (and node-wide, for peers not yet heard), a smoothed
 * round trip and its mean deviation, as TCP keeps them (RFC 6298): a
 * coordinator that hears nothing from a peer within srtt + 4 * rttvar
 * (never below FLOOR_US, never above a quarter of request_timeout) counts
 * a strike against it (node_coordinator.c asks it once more); a second
 * strike with no word from the peer in between marks it
 * unreachable here for a hold that doubles while it stays silent, so new
 * requests skip it at once instead of waiting for gossip to call it down.
 * A strike is a deadline's worth of silence, not a request's: requests
 * that pass their deadlines within one deadline of the last strike add
 * none (fifty requests in flight to a peer stalled by one fsync are one
 * silence, not fifty).  Anything heard from the peer clears the strikes
 * and the mark.
 *
 * node_peer_usable combines the two views: a peer is usable unless marked
 * here, when gossip believes it up or when it spoke to us directly within
 * suspect_after (a heartbeat relayed by gossip can be late where the
 * peer's own datagrams are not: the two sides of a minority partition
 * hear each other directly long before gossip agrees).  All time comes from node_now, so it behaves the same
 * in dynsim and in dynkvd. */
#include "node_private.h"

/* The failover deadline is never shorter than this: below it, scheduling
 * noise would be mistaken for silence. */
#define FLOOR_US 5000
/* Silences in a row, with nothing heard between, that mark a peer. */
#define STRIKES_TO_MARK 2
/* How long a first mark holds; it doubles while the peer stays silent
 * after each hold, up to HOLD_MAX_US. */
#define HOLD_MIN_US 1000000
#define HOLD_MAX_US 16000000

typedef struct
{
  gboolean sampled;
  gint64   srtt_us;
  gint64   rttvar_us;
} RttEstimate;

typedef struct
{
  RttEstimate rtt;
  guint       strikes;        /* silences since the peer was last heard */
  gint64      struck_us;      /* node_now of the last strike counted */
  gint64      heard_us;       /* node_now a datagram from it last came; 0: never */
  gint64      marked_until;   /* node_now before which it is skipped; 0: never marked */
  gint64      hold_us;        /* the next mark's hold */
} PeerReach;

/* PEERS is an open-addressing table (linear probing, at most half full)
 * with each PeerReach inline: a node consults it for every datagram it
 * receives, and one cache line per look-up is what keeps a 1,000-node
 * simulation fast.  Peers are never removed. */
typedef struct
{
  DkNodeId  id;
  gboolean  used;
  PeerReach reach;
} PeerSlot;

struct _NodeReach
{
  PeerSlot   *peers;
  guint       capacity;       /* a power of two, or 0 */
  guint       n_peers;
  RttEstimate all;            /* every peer's samples together */
};

void
node_reach_init (DkNode *node)
{
  node->reach = g_new0 (NodeReach, 1);
}

void
node_reach_clear (DkNode *node)
{
  if (node->reach == NULL)
    return;
  g_free (node->reach->peers);
  g_clear_pointer (&node->reach, g_free);
}

/* The slot for PEER: its own, or the empty one where it belongs. */
static PeerSlot *
peer_slot (const NodeReach *reach, DkNodeId peer)
{
  guint mask = reach->capacity - 1;
  for (guint i = (guint) ((peer * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> 32) & mask;;
       i = (i + 1) & mask)
    if (!reach->peers[i].used || reach->peers[i].id == peer)
      return &reach->peers[i];
}

static const PeerReach *
peer_lookup (const DkNode *node, DkNodeId peer)
{
  const NodeReach *reach = node->reach;
  if (reach->capacity == 0)
    return NULL;
  const PeerSlot *slot = peer_slot (reach, peer);
  return slot->used ? &slot->reach : NULL;
}

static void
peers_grow (NodeReach *reach)
{
  PeerSlot *old = reach->peers;
  guint old_capacity = reach->capacity;
  reach->capacity = MAX (16u, 2 * old_capacity);
  reach->peers = g_new0 (PeerSlot, reach->capacity);
  for (guint i = 0; i < old_capacity; i++)
    if (old[i].used)
      *peer_slot (reach, old[i].id) = old[i];
  g_free (old);
}

static PeerReach *
peer_get (DkNode *node, DkNodeId peer)
{
  NodeReach *reach = node->reach;
  if (2 * (reach->n_peers + 1) > reach->capacity)
    peers_grow (reach);
  PeerSlot *slot = peer_slot (reach, peer);
  if (!slot->used)
    {
      *slot = (PeerSlot) { .id = peer, .used = TRUE };
      reach->n_peers++;
    }
  return &slot->reach;
}

/* RFC 6298, 2.2-2.3: gains 1/8 and 1/4. */
static void
estimate_add (RttEstimate *estimate, gint64 sample_us)
{
  if (!estimate->sampled)
    {
      estimate->sampled = TRUE;
      estimate->srtt_us = sample_us;
      estimate->rttvar_us = sample_us / 2;
      return;
    }
  gint64 error = sample_us - estimate->srtt_us;
  estimate->rttvar_us += (ABS (error) - estimate->rttvar_us) / 4;
  estimate->srtt_us += error / 8;
}

void
node_reach_sample (DkNode *node, DkNodeId peer, gint64 rtt_us)
{
  if (peer == node->config.id || rtt_us < 0)
    return;
  estimate_add (&peer_get (node, peer)->rtt, rtt_us);
  estimate_add (&node->reach->all, rtt_us);
  node_reach_heard (node, peer);
}

void
node_reach_heard (DkNode *node, DkNodeId peer)
{
  if (peer == node->config.id)
    return;
  PeerReach *reach = peer_get (node, peer);
  reach->heard_us = MAX (node_now (node), 1);
  reach->strikes = 0;
  reach->marked_until = 0;
  reach->hold_us = 0;
}

gint64
node_reach_deadline (const DkNode *node, DkNodeId peer)
{
  gint64 cap = MAX (node->config.request_timeout_us / 4, FLOOR_US);
  const PeerReach *reach = peer_lookup (node, peer);
  const RttEstimate *estimate = reach != NULL && reach->rtt.sampled ? &reach->rtt
                                : &node->reach->all;
  if (!estimate->sampled)
    return cap;   /* nothing observed yet: patient, but well within the request */
  return CLAMP (estimate->srtt_us + 4 * estimate->rttvar_us, FLOOR_US, cap);
}

gboolean
node_reach_silent (DkNode *node, DkNodeId peer)
{
  if (peer == node->config.id)
    return FALSE;
  PeerReach *reach = peer_get (node, peer);
  gint64 now = node_now (node);
  /* The silence the last strike counted, seen by another request. */
  if (reach->strikes > 0 && now - reach->struck_us < node_reach_deadline (node, peer))
    return reach->marked_until > now;
  reach->struck_us = now;
  /* A peer silent again after a hold is marked again at once. */
  if (++reach->strikes < STRIKES_TO_MARK && reach->hold_us == 0)
    return FALSE;
  if (reach->marked_until > now)
    return TRUE;   /* already marked: requests sent before the mark */
  if (reach->hold_us == 0)
    reach->hold_us = HOLD_MIN_US;
  reach->marked_until = now + reach->hold_us;
  reach->hold_us = MIN (2 * reach->hold_us, HOLD_MAX_US);
  node->stats.peers_marked_unreachable++;
  node_log (node, DK_LOG_INFO, "peer %u marked unreachable for %" G_GINT64_FORMAT " ms"
            " (silent past its deadline)", peer, (reach->marked_until - now) / 1000);
  return TRUE;
}

gboolean
node_reach_marked (DkNode *node, DkNodeId peer)
{
  const PeerReach *reach = peer_lookup (node, peer);
  return reach != NULL && reach->marked_until > node_now (node);
}

gboolean
node_peer_usable (DkNode *node, DkNodeId id)
{
  return node_peer_usable_at (node, id, node_now (node));
}

gboolean
node_peer_usable_at (const DkNode *node, DkNodeId id, gint64 now)
{
  if (id == node->config.id)
    return TRUE;
  const PeerReach *reach = peer_lookup (node, id);
  if (reach != NULL && reach->marked_until > now)
    return FALSE;
  return node_peer_healthy (node, id)
         || (reach != NULL && reach->heard_us > 0
             && now - reach->heard_us < node->config.suspect_after_us);
}
