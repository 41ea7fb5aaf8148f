/* node_reach.c — what this node learns of its peers from its own
 * requests, faster than gossip can tell it (Dynamo §4.6, §4.8.3).
 *
 * Every reply to a READ, WRITE or FORWARD is a round-trip sample.  From
 * them, per peer (and node-wide, for peers not yet heard), a smoothed
 * round trip and its mean deviation, as TCP keeps them (RFC 6298): a
 * coordinator that hears nothing from a peer within srtt + 4 * rttvar
 * (never below FLOOR_US, never above a quarter of request_timeout) stops
 * waiting for it and asks the next node instead.  Each such silence is a
 * strike; a second strike with no word from the peer in between marks it
 * unreachable here for a hold that doubles while it stays silent, so new
 * requests skip it at once instead of waiting for gossip to call it down.
 * Anything heard from the peer clears the strikes and the mark.
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
  gint64      heard_us;       /* node_now a datagram from it last came; 0: never */
  gint64      marked_until;   /* node_now before which it is skipped; 0: never marked */
  gint64      hold_us;        /* the next mark's hold */
} PeerReach;

struct _NodeReach
{
  GHashTable *peers;          /* DkNodeId -> PeerReach* */
  RttEstimate all;            /* every peer's samples together */
};

void
node_reach_init (DkNode *node)
{
  node->reach = g_new0 (NodeReach, 1);
  node->reach->peers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
}

void
node_reach_clear (DkNode *node)
{
  if (node->reach == NULL)
    return;
  g_hash_table_destroy (node->reach->peers);
  g_clear_pointer (&node->reach, g_free);
}

static PeerReach *
peer_lookup (const DkNode *node, DkNodeId peer)
{
  return g_hash_table_lookup (node->reach->peers, GUINT_TO_POINTER (peer));
}

static PeerReach *
peer_get (DkNode *node, DkNodeId peer)
{
  PeerReach *reach = peer_lookup (node, peer);
  if (reach == NULL)
    {
      reach = g_new0 (PeerReach, 1);
      g_hash_table_insert (node->reach->peers, GUINT_TO_POINTER (peer), reach);
    }
  return reach;
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
  /* A peer silent again after a hold is marked again at once. */
  if (++reach->strikes < STRIKES_TO_MARK && reach->hold_us == 0)
    return FALSE;
  gint64 now = node_now (node);
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
