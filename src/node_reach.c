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
  gint64 srtt_us;
  gint64 rttvar_us;
} RttEstimate;

/* PEERS is an open-addressing table (linear probing, at most half full)
 * in two parallel arrays: a node consults it for every datagram it
 * receives, and at 1,000 nodes the tables are far larger than any cache,
 * so the fields every datagram and every replica choice read sit in a
 * 16-byte HOT slot (four to a cache line) and the rest, read on replies
 * and silences only, in the COLD slot of the same index.  Peers are
 * never removed. */
typedef struct
{
  DkNodeId id;
  guint8   used;
  guint8   rtt_sampled;       /* COLD's rtt holds an estimate */
  guint8   troubled;          /* COLD's strikes, marked_until or hold_us may be non-zero */
  gint64   heard_us;          /* node_now a datagram from it last came; 0: never */
} PeerHot;

typedef struct
{
  RttEstimate rtt;
  guint       strikes;        /* silences since the peer was last heard */
  gint64      struck_us;      /* node_now of the last strike counted */
  gint64      marked_until;   /* node_now before which it is skipped; 0: never marked */
  gint64      hold_us;        /* the next mark's hold */
} PeerCold;

G_STATIC_ASSERT (sizeof (PeerHot) == 16);

struct _NodeReach
{
  PeerHot    *hot;
  PeerCold   *cold;
  guint       capacity;       /* a power of two, or 0 */
  guint       n_peers;
  RttEstimate all;            /* every peer's samples together */
  gboolean    all_sampled;
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
  g_free (node->reach->hot);
  g_free (node->reach->cold);
  g_clear_pointer (&node->reach, g_free);
}

/* The slot index for PEER: its own, or the empty one where it belongs. */
static guint
peer_slot (const NodeReach *reach, DkNodeId peer)
{
  guint mask = reach->capacity - 1;
  for (guint i = (guint) ((peer * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> 32) & mask;;
       i = (i + 1) & mask)
    if (!reach->hot[i].used || reach->hot[i].id == peer)
      return i;
}

/* PEER's hot slot, or NULL when never heard of. */
static const PeerHot *
peer_lookup (const DkNode *node, DkNodeId peer)
{
  const NodeReach *reach = node->reach;
  if (reach->capacity == 0)
    return NULL;
  const PeerHot *hot = &reach->hot[peer_slot (reach, peer)];
  return hot->used ? hot : NULL;
}

/* The cold slot beside HOT. */
static PeerCold *
cold_of (const NodeReach *reach, const PeerHot *hot)
{
  return &reach->cold[hot - reach->hot];
}

/* HOT's mark: until when it is skipped; 0 when never marked. */
static gint64
marked_until (const NodeReach *reach, const PeerHot *hot)
{
  return hot->troubled ? cold_of (reach, hot)->marked_until : 0;
}

static void
peers_grow (NodeReach *reach)
{
  PeerHot *old_hot = reach->hot;
  PeerCold *old_cold = reach->cold;
  guint old_capacity = reach->capacity;
  reach->capacity = MAX (16u, 2 * old_capacity);
  reach->hot = g_new0 (PeerHot, reach->capacity);
  reach->cold = g_new0 (PeerCold, reach->capacity);
  for (guint i = 0; i < old_capacity; i++)
    if (old_hot[i].used)
      {
        guint slot = peer_slot (reach, old_hot[i].id);
        reach->hot[slot] = old_hot[i];
        reach->cold[slot] = old_cold[i];
      }
  g_free (old_hot);
  g_free (old_cold);
}

/* PEER's hot slot, added when new. */
static PeerHot *
peer_get (DkNode *node, DkNodeId peer)
{
  NodeReach *reach = node->reach;
  if (2 * (reach->n_peers + 1) > reach->capacity)
    peers_grow (reach);
  PeerHot *hot = &reach->hot[peer_slot (reach, peer)];
  if (!hot->used)
    {
      *hot = (PeerHot) { .id = peer, .used = TRUE };
      reach->n_peers++;
    }
  return hot;
}

/* RFC 6298, 2.2-2.3: gains 1/8 and 1/4. */
static void
estimate_add (RttEstimate *estimate, gboolean *sampled, gint64 sample_us)
{
  if (!*sampled)
    {
      *sampled = TRUE;
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
  PeerHot *hot = peer_get (node, peer);
  gboolean sampled = hot->rtt_sampled;
  estimate_add (&cold_of (node->reach, hot)->rtt, &sampled, rtt_us);
  hot->rtt_sampled = (guint8) sampled;
  estimate_add (&node->reach->all, &node->reach->all_sampled, rtt_us);
  node_reach_heard (node, peer);
}

void
node_reach_heard (DkNode *node, DkNodeId peer)
{
  if (peer == node->config.id)
    return;
  PeerHot *hot = peer_get (node, peer);
  hot->heard_us = MAX (node_now (node), 1);
  if (hot->troubled)
    {
      PeerCold *cold = cold_of (node->reach, hot);
      cold->strikes = 0;
      cold->marked_until = 0;
      cold->hold_us = 0;
      hot->troubled = FALSE;
    }
}

gint64
node_reach_deadline (const DkNode *node, DkNodeId peer)
{
  gint64 cap = MAX (node->config.request_timeout_us / 4, FLOOR_US);
  const PeerHot *hot = peer_lookup (node, peer);
  gboolean own = hot != NULL && hot->rtt_sampled;
  const RttEstimate *estimate = own ? &cold_of (node->reach, hot)->rtt : &node->reach->all;
  if (!own && !node->reach->all_sampled)
    return cap;   /* nothing observed yet: patient, but well within the request */
  return CLAMP (estimate->srtt_us + 4 * estimate->rttvar_us, FLOOR_US, cap);
}

gboolean
node_reach_silent (DkNode *node, DkNodeId peer)
{
  if (peer == node->config.id)
    return FALSE;
  PeerHot *hot = peer_get (node, peer);
  PeerCold *reach = cold_of (node->reach, hot);
  gint64 now = node_now (node);
  /* The silence the last strike counted, seen by another request. */
  if (reach->strikes > 0 && now - reach->struck_us < node_reach_deadline (node, peer))
    return reach->marked_until > now;
  reach->struck_us = now;
  hot->troubled = TRUE;   /* strikes is about to be non-zero */
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
  const PeerHot *hot = peer_lookup (node, peer);
  return hot != NULL && marked_until (node->reach, hot) > node_now (node);
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
  const PeerHot *hot = peer_lookup (node, id);
  if (hot != NULL && marked_until (node->reach, hot) > now)
    return FALSE;
  return node_peer_healthy (node, id)
         || (hot != NULL && hot->heard_us > 0
             && now - hot->heard_us < node->config.suspect_after_us);
}
