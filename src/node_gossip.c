/* node_gossip.c — membership, probing and failure detection (SWIM-style).
 *
 * Failure detection.  Every gossip_interval (±10% jitter from the node's
 * random stream, so nodes do not fall into step) a node probes one member
 * it believes up, drawn at random: a PROBE, which the member answers with
 * an ACK.  Unanswered after a quarter of the interval, the node asks
 * PROBE_HELPERS other members to probe it on its behalf (PROBE_FOR; each
 * answers with a RELAYED_ACK when the member answered it), so that one
 * lost datagram or one bad link does not condemn a member.  Still
 * unanswered at the next round, the member is SUSPECT; a suspicion that
 * the member does not refute within suspect_after makes it DOWN.  This is
 * SWIM (Das, Gupta, Motivala 2002): each member is probed by about one
 * node a round whatever the cluster's size, and a node sends a bounded
 * number of datagrams of bounded size a round, so the detector's cost per
 * node does not grow with the cluster (the old one gossiped heartbeats,
 * and at 500 nodes they could no longer reach everyone within
 * suspect_after: healthy members were suspected by the thousand).
 *
 * Verdicts travel.  A member's entry says what it claims (below), at which
 * (incarnation, heartbeat), and how the sender judges it (UP, SUSPECT,
 * DOWN).  A receiver takes the worse verdict at the same (incarnation,
 * heartbeat), and whatever comes with a newer one.  A member that reads a
 * suspicion of itself refutes it: it bumps its heartbeat, and its entry,
 * newer, clears the suspicion wherever it goes.  Only the member itself
 * bumps its heartbeat (at a claim or a refutation), so a stale entry never
 * clears a newer suspicion.  Without travelling verdicts a node would hear
 * of a crash only by probing the crashed member itself, about once every
 * N rounds.
 *
 * News.  Every change a node learns (a new member, a newer claim, a worse
 * verdict) is news: the node piggybacks the entry on its next
 * NEWS_TRANSMITS_FACTOR * log2(N) datagrams, at most NEWS_PER_MESSAGE a
 * datagram, and at once pushes it to EAGER_FANOUT members (at most
 * EAGER_PER_ROUND datagrams a round): a suspicion, a DOWN or a refutation
 * reaches everyone within a few network hops rather than a few rounds.
 * Each datagram also carries a few entries from a random point of the
 * table (anti-entropy, for whoever missed the news).
 *
 * Claims.  The newest (incarnation, heartbeat) of a member also carries
 * the state it claims (JOINING, UP, LEAVING), and the newest claim wins
 * whatever it says: a LEAVING member drops out of the ring and of the
 * failure detector, and a later claim of its own (a new incarnation that
 * joins again, or a leave called off) puts it back — stale news never
 * does, being older (check_membership.c:
 * membership_a_node_that_left_joins_again).  A member that leaves is
 * forgotten by no one: its entry stays, LEAVING, so old news of it cannot
 * bring it back.  The incarnation, kept in the store and bumped at every
 * start, makes a restarted member's heartbeats (which restart at 0) count
 * as newer.
 *
 * Leave acknowledgements.  Every gossip datagram carries the receiver's
 * entry as the sender sees it (or, answering a node it never knew, the
 * asker's own LEAVING entry): a leaving node that reads its own leave
 * there knows a peer heard it (node_rebalance.c waits for that).
 *
 * Shared data.  The names, addresses and places of the members are kept
 * once per process (member_table.h); a node's view holds 24 bytes a member.
 *
 * Without gossip (interval 0) every member counts as up: static
 * membership, as the node had before this file existed. */
#include <string.h>
#include "node_private.h"

/* At most this many member entries per GOSSIP: the sender's own, the
 * receiver's, news, then a few from a random point.  About 40 bytes each
 * with short names: well inside one datagram at any cluster size. */
#define GOSSIP_MAX_ENTRIES 16
#define NEWS_PER_MESSAGE 8
#define RANDOM_ENTRIES 4
/* News is sent this many times log2 of the cluster's size (SWIM's lambda). */
#define NEWS_TRANSMITS_FACTOR 3
/* Fresh news is pushed at once to this many members, within this many
 * datagrams a round. */
#define EAGER_FANOUT 3
#define EAGER_PER_ROUND 6
/* Members asked to probe an unanswering one. */
#define PROBE_HELPERS 3
/* Probes run for others, at most (each lasts one gossip interval). */
#define RELAYS_MAX 32

typedef struct
{
  DkNodeId id;
  gint64   since_us;
} Suspect;

typedef struct
{
  DkNodeId id;
  guint    sent;       /* datagrams that carried it */
} News;

typedef struct
{
  DkNodeId   target;
  DkNodeId   requester;
  gint64     expires_us;
} Relay;

static const DkMemberInfo *
info_of (const DkNode *node, const Member *member)
{
  return dk_member_table_info (node->member_table, member->info);
}

static guint64
incarnation_of (const Member *member)
{
  return ((guint64) member->incarnation_high << 32) | member->incarnation_low;
}

/* Every node holds one Member per member: keep it small. */
G_STATIC_ASSERT (sizeof (Member) == 20);

/* Incarnations are (disk incarnation < 4096) << 32 | starts: 48 bits hold
 * them; an entry claiming more is malformed. */
#define INCARNATION_LIMIT (G_GUINT64_CONSTANT (1) << 48)

static void
set_incarnation (Member *member, guint64 incarnation)
{
  member->incarnation_low = (guint32) incarnation;
  member->incarnation_high = (guint16) (incarnation >> 32);
}

static Member *
find_member (const DkNode *node, DkNodeId id)
{
  guint low = 0, high = node->n_members;
  const Member *members = node->members;
  /* Ids 1..n, as a cluster starts, sit at index id - 1: no search. */
  if (id >= 1 && id <= high && members[id - 1].id == id)
    return (Member *) &members[id - 1];
  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      if (members[middle].id < id)
        low = middle + 1;
      else
        high = middle;
    }
  return low < node->n_members && members[low].id == id ? (Member *) &members[low] : NULL;
}

static gboolean
is_self (const DkNode *node, const Member *member)
{
  return member->id == node->config.id;
}

/* ---- news, suspects --------------------------------------------------------- */

/* ID's entry changed here: piggyback it afresh. */
static void
news_add (DkNode *node, DkNodeId id)
{
  for (guint i = 0; i < node->news->len; i++)
    {
      News *news = &g_array_index (node->news, News, i);
      if (news->id == id)
        {
          news->sent = 0;
          return;
        }
    }
  News news = { id, 0 };
  g_array_append_val (node->news, news);
}

static guint
news_transmits (const DkNode *node)
{
  return NEWS_TRANSMITS_FACTOR * (g_bit_storage (node->n_members) + 1);
}

static gint
news_fewer_sent_first (gconstpointer a, gconstpointer b)
{
  const News *x = a, *y = b;
  if (x->sent != y->sent)
    return x->sent < y->sent ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void
suspect_remove (DkNode *node, DkNodeId id)
{
  for (guint i = 0; i < node->suspects->len; i++)
    if (g_array_index (node->suspects, Suspect, i).id == id)
      {
        g_array_remove_index (node->suspects, i);
        return;
      }
}

static const char *
verdict_name (DkWireMemberState verdict)
{
  return verdict == DK_WIRE_MEMBER_UP ? "up" : verdict == DK_WIRE_MEMBER_SUSPECT ? "suspect" : "down";
}

/* Judge MEMBER (not leaving) VERDICT: counted, logged, and its suspicion
 * timed from now when it becomes SUSPECT. */
static void
set_verdict (DkNode *node, Member *member, DkWireMemberState verdict)
{
  if (member->verdict == verdict)
    return;
  gboolean was_up = member->verdict == DK_WIRE_MEMBER_UP;
  gboolean is_up = verdict == DK_WIRE_MEMBER_UP;
  if (verdict == DK_WIRE_MEMBER_SUSPECT && was_up)
    node->stats.suspicions++;
  else if (verdict == DK_WIRE_MEMBER_DOWN)
    node->stats.downs++;
  else if (is_up)
    node->stats.recoveries++;
  if (was_up && !is_up)
    node->unhealthy++;
  else if (!was_up && is_up)
    node->unhealthy--;
  if (member->verdict == DK_WIRE_MEMBER_SUSPECT)
    suspect_remove (node, member->id);
  if (verdict == DK_WIRE_MEMBER_SUSPECT)
    {
      Suspect suspect = { member->id, node_now (node) };
      g_array_append_val (node->suspects, suspect);
    }
  node_log (node, DK_LOG_INFO, "member %s is now %s", info_of (node, member)->name, verdict_name (verdict));
  member->verdict = verdict;
  if (is_up && !was_up)
    node_handoff_owner_up (node, member->id);   /* its hints go home now */
}

/* Suspicions nobody refuted within suspect_after: DOWN. */
static void
judge_suspects (DkNode *node)
{
  gint64 now = node_now (node);
  for (guint i = node->suspects->len; i-- > 0;)
    {
      Suspect suspect = g_array_index (node->suspects, Suspect, i);
      if (now - suspect.since_us < node->config.suspect_after_us)
        continue;
      Member *member = find_member (node, suspect.id);
      set_verdict (node, member, DK_WIRE_MEMBER_DOWN);   /* removes it from suspects */
      news_add (node, suspect.id);
    }
}

/* ---- the gossip datagram ---------------------------------------------------- */

static void
append_entry (const DkNode *node, DkWireGossip *gossip, const Member *member)
{
  const DkMemberInfo *info = info_of (node, member);
  DkWireMember entry = {
    .node = member->id,
    .name = g_strdup (info->name),
    .address = g_strdup (info->address),
    .datacenter = g_strdup (info->datacenter),
    .rack = g_strdup (info->rack),
    .vnodes = info->vnodes,
    .heartbeat = member->heartbeat,
    .incarnation = incarnation_of (member),
    .state = member->claimed,
    /* A leave is its member's own word (UP); a removal, an operator's
     * verdict on a dead member (DOWN). */
    .verdict = member->claimed != DK_WIRE_MEMBER_LEAVING ? member->verdict
               : node_member_removed (node, member->id) ? DK_WIRE_MEMBER_DOWN
               : DK_WIRE_MEMBER_UP,
  };
  g_array_append_val (gossip->members, entry);
}

static gboolean
gossip_has (const DkWireGossip *gossip, DkNodeId id)
{
  for (guint i = 0; i < gossip->members->len; i++)
    if (g_array_index (gossip->members, DkWireMember, i).node == id)
      return TRUE;
  return FALSE;
}

/* Piggyback the news sent least so far; news sent often enough is done. */
static void
append_news (DkNode *node, DkWireGossip *gossip)
{
  if (node->news->len == 0)
    return;
  g_array_sort (node->news, news_fewer_sent_first);
  guint limit = news_transmits (node);
  for (guint i = 0, added = 0; i < node->news->len && added < NEWS_PER_MESSAGE
                               && gossip->members->len < GOSSIP_MAX_ENTRIES; i++)
    {
      News *news = &g_array_index (node->news, News, i);
      const Member *member = find_member (node, news->id);
      news->sent++;
      added++;
      if (member != NULL && !gossip_has (gossip, news->id))
        append_entry (node, gossip, member);
    }
  for (guint i = node->news->len; i-- > 0;)
    if (g_array_index (node->news, News, i).sent >= limit)
      g_array_remove_index (node->news, i);
}

/* A GOSSIP of KIND: our own entry first, then TO's (when it is a member:
 * every datagram tells its receiver how we see it, which is how a
 * suspected member learns to refute and a leaving one that its leave was
 * heard), the news, and a few entries from a random point. */
static DkWireMessage *
gossip_message (DkNode *node, DkWireGossipKind kind, DkNodeId to, DkNodeId about)
{
  DkWireMessage *message = dk_wire_message_new (DK_WIRE_GOSSIP);
  DkWireGossip *gossip = &message->body.gossip;
  gossip->kind = kind;
  gossip->about = about;
  append_entry (node, gossip, find_member (node, node->config.id));
  const Member *echoed = to != node->config.id ? find_member (node, to) : NULL;
  if (echoed != NULL)
    append_entry (node, gossip, echoed);
  append_news (node, gossip);
  guint len = node->n_members;
  guint start = (guint) (node_random (node) % len);
  for (guint k = 0, added = 0; k < len && added < RANDOM_ENTRIES
                               && gossip->members->len < GOSSIP_MAX_ENTRIES; k++)
    {
      const Member *member = &node->members[(start + k) % len];
      if (gossip_has (gossip, member->id))
        continue;
      append_entry (node, gossip, member);
      added++;
    }
  return message;
}

static void
send_gossip (DkNode *node, DkEndpoint to, DkWireMessage *message)
{
  guint64 bytes_before = node->stats.bytes_sent;
  if (node_send (node, to, message))
    {
      node->stats.gossip_sent++;
      node->stats.gossip_bytes += node->stats.bytes_sent - bytes_before;
    }
}

static void
gossip_to (DkNode *node, DkNodeId to, DkWireGossipKind kind, DkNodeId about)
{
  g_autoptr (DkWireMessage) message = gossip_message (node, kind, to, about);
  send_gossip (node, to, message);
}

/* ---- choosing members ------------------------------------------------------- */

/* TRUE when MEMBER is another node still in the ring whose verdict is
 * UP (HEALTHY) or not. */
static gboolean
gossip_candidate (const DkNode *node, const Member *member, gboolean healthy)
{
  return !is_self (node, member) && member->claimed != DK_WIRE_MEMBER_LEAVING
         && (member->verdict == DK_WIRE_MEMBER_UP) == healthy;
}

/* A candidate (gossip_candidate) other than EXCEPT drawn at random, or
 * DK_NODE_NONE.  A few random draws find one in a mostly healthy
 * cluster; a count and a walk find the rest. */
static DkNodeId
pick_member (DkNode *node, gboolean healthy, DkNodeId except)
{
  guint len = node->n_members;
  for (guint tries = 0; tries < 16; tries++)
    {
      const Member *member = &node->members[node_random (node) % len];
      if (gossip_candidate (node, member, healthy) && member->id != except)
        return member->id;
    }
  guint count = 0;
  for (guint i = 0; i < len; i++)
    {
      const Member *member = &node->members[i];
      count += gossip_candidate (node, member, healthy) && member->id != except;
    }
  if (count == 0)
    return DK_NODE_NONE;
  guint pick = (guint) (node_random (node) % count);
  for (guint i = 0; i < len; i++)
    {
      const Member *member = &node->members[i];
      if (gossip_candidate (node, member, healthy) && member->id != except && pick-- == 0)
        return member->id;
    }
  return DK_NODE_NONE;
}

/* ---- probing ---------------------------------------------------------------- */

/* The member probed this round has not answered directly: ask others to
 * probe it for us. */
static void
probe_through_others (gpointer data)
{
  DkNode *node = data;
  node->probe_timer = 0;
  if (node->probe_target == DK_NODE_NONE)
    return;
  DkNodeId asked[PROBE_HELPERS];
  guint count = 0;
  for (guint tries = 0; tries < 2 * PROBE_HELPERS && count < PROBE_HELPERS; tries++)
    {
      DkNodeId helper = pick_member (node, TRUE, node->probe_target);
      if (helper == DK_NODE_NONE)
        break;
      gboolean again = FALSE;
      for (guint i = 0; i < count; i++)
        again |= asked[i] == helper;
      if (again)
        continue;
      asked[count++] = helper;
      gossip_to (node, helper, DK_WIRE_GOSSIP_PROBE_FOR, node->probe_target);
    }
}

/* The round's probe got no answer, direct or relayed: suspect the member. */
static void
conclude_probe (DkNode *node)
{
  if (node->probe_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->probe_timer);
  node->probe_timer = 0;
  DkNodeId target = node->probe_target;
  node->probe_target = DK_NODE_NONE;
  Member *member = target != DK_NODE_NONE ? find_member (node, target) : NULL;
  if (member == NULL || member->claimed == DK_WIRE_MEMBER_LEAVING
      || member->verdict != DK_WIRE_MEMBER_UP)
    return;
  set_verdict (node, member, DK_WIRE_MEMBER_SUSPECT);
  news_add (node, target);
}

/* ID was heard from directly: it answers our probe, and the probes we
 * run for others. */
static void
heard_from (DkNode *node, DkNodeId id)
{
  if (id == node->probe_target)
    node->probe_target = DK_NODE_NONE;
  gint64 now = node_now (node);
  for (guint i = node->relays->len; i-- > 0;)
    {
      Relay relay = g_array_index (node->relays, Relay, i);
      if (relay.target != id && relay.expires_us > now)
        continue;
      g_array_remove_index (node->relays, i);
      if (relay.target == id)
        gossip_to (node, relay.requester, DK_WIRE_GOSSIP_RELAYED_ACK, id);
    }
}

/* REQUESTER asks us to probe TARGET for it. */
static void
probe_for (DkNode *node, DkNodeId requester, DkNodeId target)
{
  if (target == node->config.id)
    {
      gossip_to (node, requester, DK_WIRE_GOSSIP_RELAYED_ACK, target);
      return;
    }
  if (find_member (node, target) == NULL || node->relays->len >= RELAYS_MAX)
    return;
  Relay relay = { target, requester, node_now (node) + node->config.gossip_interval_us };
  g_array_append_val (node->relays, relay);
  gossip_to (node, target, DK_WIRE_GOSSIP_PROBE, DK_NODE_NONE);
}

/* Push fresh news (not sent yet) at once to a few members, within the
 * round's budget. */
static void
push_news (DkNode *node)
{
  gboolean fresh = FALSE;
  for (guint i = 0; i < node->news->len && !fresh; i++)
    fresh = g_array_index (node->news, News, i).sent == 0;
  for (guint i = 0; fresh && i < EAGER_FANOUT && node->eager_left > 0; i++)
    {
      DkNodeId target = pick_member (node, TRUE, DK_NODE_NONE);
      if (target == DK_NODE_NONE)
        return;
      node->eager_left--;
      gossip_to (node, target, DK_WIRE_GOSSIP_PUSH, DK_NODE_NONE);
    }
}

/* One gossip round: judge last round's probe and the suspects, probe a
 * member, hand off hints. */
static void
gossip_round (gpointer data)
{
  DkNode *node = data;
  node->gossip_timer = 0;
  node->stats.gossip_rounds++;
  Member *self = find_member (node, node->config.id);
  if (node->joining_rounds > 0 && --node->joining_rounds == 0
      && self->claimed == DK_WIRE_MEMBER_JOINING)
    node_member_claim (node, DK_WIRE_MEMBER_UP);
  conclude_probe (node);
  judge_suspects (node);
  node->eager_left = EAGER_PER_ROUND;
  push_news (node);

  /* Probe a member we believe up; now and then also one we believe
   * suspect or down, so its return is noticed without waiting for it (a
   * node cut off from everyone does so every round). */
  DkNodeId target = pick_member (node, TRUE, DK_NODE_NONE);
  if (target != DK_NODE_NONE)
    {
      node->probe_target = target;
      gossip_to (node, target, DK_WIRE_GOSSIP_PROBE, DK_NODE_NONE);
      node->probe_timer = node->env.timer_start (node->env.user_data,
                                                 node->config.gossip_interval_us / 4,
                                                 probe_through_others, node);
    }
  if (node->unhealthy > 0 && (target == DK_NODE_NONE || node_random (node) % 4 == 0))
    {
      DkNodeId unhealthy = pick_member (node, FALSE, DK_NODE_NONE);
      if (unhealthy != DK_NODE_NONE)
        gossip_to (node, unhealthy, DK_WIRE_GOSSIP_PROBE, DK_NODE_NONE);
    }
  if (self->claimed == DK_WIRE_MEMBER_LEAVING)
    node_leave_tick (node);

  node_handoff_tick (node);

  node->gossip_timer = node_timer_start_jittered (node, node->config.gossip_interval_us,
                                                  gossip_round);
}

/* ---- hearing gossip --------------------------------------------------------- */

/* A member we had not heard of (a join): insert it in id order. */
static Member *
add_member (DkNode *node, const DkWireMember *entry)
{
  Member member = {
    .id = entry->node,
    .info = dk_member_table_intern (node->member_table, entry->node, entry->name, entry->address,
                                    entry->datacenter, entry->rack, MAX (entry->vnodes, 1)),
    .claimed = entry->state,
    .verdict = DK_WIRE_MEMBER_UP,
  };
  guint position = 0;
  while (position < node->n_members && node->members[position].id < entry->node)
    position++;
  /* Grown by one: joins are rare, and every node holds one of these
   * arrays of every member. */
  node->members = g_renew (Member, node->members, node->n_members + 1);
  memmove (&node->members[position + 1], &node->members[position],
           (node->n_members - position) * sizeof (Member));
  node->members[position] = member;
  node->n_members++;
  const DkMemberInfo *info = info_of (node, &member);
  node_log (node, DK_LOG_INFO, "member %s joined", info->name);
  node_admin_member_added (node, entry->node);
  if (info->address[0] != '\0' && node->env.learn_peer != NULL)
    node->env.learn_peer (node->env.user_data, entry->node, info->address);
  return &node->members[position];
}

/* MEMBER claims LEAVING: out of the ring, out of the failure detector. */
static void
depart (DkNode *node, Member *member)
{
  if (member->verdict != DK_WIRE_MEMBER_UP)
    node->unhealthy--;
  if (member->verdict == DK_WIRE_MEMBER_SUSPECT)
    suspect_remove (node, member->id);
  member->verdict = DK_WIRE_MEMBER_DOWN;
  member->claimed = DK_WIRE_MEMBER_LEAVING;
  node->departed++;
  node_log (node, DK_LOG_INFO, "member %s is leaving", info_of (node, member)->name);
}

/* MEMBER, which we knew as leaving (or gone), claims STATE again in a
 * newer entry: it rejoined (a new incarnation) or its leave was called
 * off.  Back in the ring and the failure detector. */
static void
rejoin (DkNode *node, Member *member, DkWireMemberState state)
{
  node->departed--;
  for (guint i = 0; i < node->removed->len; i++)
    if (g_array_index (node->removed, DkNodeId, i) == member->id)
      g_array_remove_index (node->removed, i--);
  member->claimed = state;
  member->verdict = DK_WIRE_MEMBER_UP;   /* not counted in unhealthy while departed */
  node_log (node, DK_LOG_INFO, "member %s is back (%s)", info_of (node, member)->name,
            state == DK_WIRE_MEMBER_JOINING ? "joining" : "up");
}

/* ENTRY is how the sender sees us.  While we leave, an entry carrying our
 * leave (this incarnation) is a peer acknowledging it.  A suspicion of
 * our current claim is refuted: a newer heartbeat, news to spread. */
static void
hear_about_self (DkNode *node, const DkWireMember *entry)
{
  if (entry->state == DK_WIRE_MEMBER_LEAVING && entry->incarnation == node->incarnation
      && node_member_leaving (node, node->config.id))
    node_leave_acknowledged (node);
  if (entry->verdict != DK_WIRE_MEMBER_UP
      && (entry->incarnation < node->incarnation
          || (entry->incarnation == node->incarnation && entry->heartbeat >= node->heartbeat)))
    {
      Member *self = find_member (node, node->config.id);
      guint64 suspected = entry->incarnation == node->incarnation ? entry->heartbeat : 0;
      node->heartbeat = (guint32) MIN (MAX (suspected, node->heartbeat), G_MAXUINT32 - 1) + 1;
      self->heartbeat = node->heartbeat;
      news_add (node, node->config.id);
      node_log (node, DK_LOG_INFO, "refuting a suspicion of myself");
    }
}

/* A node that leaves before we ever heard of it (it joined and left
 * within a gossip round or two) is no member of ours: we answer with its
 * own LEAVING entry, which acknowledges the leave all the same. */
static void
echo_stranger_leaving (DkNode *node, const DkWireMessage *message, DkWireMessage *answer)
{
  const GArray *entries = message->body.gossip.members;
  if (entries->len == 0 || find_member (node, message->sender) != NULL)
    return;
  const DkWireMember *entry = &g_array_index (entries, DkWireMember, 0);
  if (entry->node != message->sender || entry->state != DK_WIRE_MEMBER_LEAVING)
    return;
  DkWireMember copy = *entry;
  copy.name = g_strdup (entry->name);
  copy.address = g_strdup (entry->address);
  copy.datacenter = g_strdup (entry->datacenter);
  copy.rack = g_strdup (entry->rack);
  g_array_append_val (answer->body.gossip.members, copy);
}

static int
verdict_rank (DkWireMemberState verdict)
{
  return verdict == DK_WIRE_MEMBER_UP ? 0 : verdict == DK_WIRE_MEMBER_SUSPECT ? 1 : 2;
}

/* Take in ENTRY, heard from SENDER; TRUE when the ring changes. */
static gboolean
hear_entry (DkNode *node, DkNodeId sender, const DkWireMember *entry)
{
  if (entry->heartbeat > G_MAXUINT32 || entry->incarnation >= INCARNATION_LIMIT)
    return FALSE;   /* no member counts that far */
  Member *member = find_member (node, entry->node);
  /* A weight over the bound is a takeover, not a member: a node that
   * claimed 1024 would own nearly every range (the attack). */
  if (entry->vnodes > node->config.max_member_weight)
    {
      node->stats.gossip_entries_refused++;
      node_log (node, DK_LOG_WARNING, "ignored gossip from %u claiming weight %u for member %u "
                "(the bound is %u)", sender, entry->vnodes, entry->node,
                node->config.max_member_weight);
      return FALSE;
    }
  /* Only a member announces its own leave: a leave relayed by another
   * could be a lie that drops a live member from the ring.  Peers hear it
   * from the leaving node itself, which gossips until one acknowledges
   * (node_rebalance.c), and every member that still counts it in probes
   * it in turn and reads the leave in its answer. */
  if (entry->state == DK_WIRE_MEMBER_LEAVING && entry->node != sender
      && entry->verdict == DK_WIRE_MEMBER_DOWN)
    {
      /* A removal (node_member_remove): an operator's word on a dead
       * member, relayed by the members.  Stale news of one (older than
       * what the member itself said since: it came back) is not taken. */
      if (member == NULL || member->claimed == DK_WIRE_MEMBER_LEAVING
          || find_member (node, sender) == NULL)
        return FALSE;
      guint64 known = incarnation_of (member);
      if (entry->incarnation < known
          || (entry->incarnation == known && entry->heartbeat < member->heartbeat))
        return FALSE;
      node_member_remove (node, entry->node);
      return FALSE;   /* node_member_remove rebuilt the ring */
    }
  if (entry->state == DK_WIRE_MEMBER_LEAVING && entry->node != sender)
    {
      if (member != NULL && member->claimed != DK_WIRE_MEMBER_LEAVING)
        {
          /* Ask the member itself: its answer carries its own entry. */
          node->stats.gossip_entries_refused++;
          if (entry->incarnation >= incarnation_of (member) && entry->node != node->probe_target)
            gossip_to (node, entry->node, DK_WIRE_GOSSIP_PROBE, DK_NODE_NONE);
        }
      return FALSE;
    }
  gboolean ring_changed = FALSE;
  if (member == NULL)
    {
      if (entry->state == DK_WIRE_MEMBER_LEAVING || entry->node >= DK_NODE_ID_LIMIT)
        return FALSE;   /* news of a stranger leaving: nothing to do */
      member = add_member (node, entry);
      news_add (node, entry->node);
      ring_changed = TRUE;
    }
  if (entry->address != NULL && entry->address[0] != '\0'
      && g_strcmp0 (entry->address, info_of (node, member)->address) != 0)
    {
      const DkMemberInfo *old = info_of (node, member);
      member->info = dk_member_table_intern (node->member_table, member->id, old->name,
                                             entry->address, old->datacenter, old->rack,
                                             old->vnodes);
      if (node->env.learn_peer != NULL)
        node->env.learn_peer (node->env.user_data, member->id, info_of (node, member)->address);
    }
  /* (incarnation, heartbeat) orders a member's own claims: the newest
   * wins whatever it says, so a leave is undone only by a later claim
   * of the member itself (a rejoin), never by stale news. */
  guint64 known_incarnation = incarnation_of (member);
  gboolean newer = entry->incarnation > known_incarnation
                   || (entry->incarnation == known_incarnation
                       && entry->heartbeat > member->heartbeat);
  /* A suspicion raised by a node that knew no incarnation of the member
   * (0, 0: it crashed before that node heard from it) is of the member's
   * first claim, (incarnation, 0).  A live member refutes it all the same
   * (hear_about_self); a member that already refuted something is past
   * heartbeat 0, and the stale suspicion no longer applies. */
  gboolean same = (entry->incarnation == known_incarnation
                   && entry->heartbeat == member->heartbeat)
                  || (entry->incarnation == 0 && entry->heartbeat == 0 && member->heartbeat == 0);
  if (same && member->claimed != DK_WIRE_MEMBER_LEAVING
      && verdict_rank (entry->verdict) > verdict_rank (member->verdict))
    {
      set_verdict (node, member, entry->verdict);   /* a suspicion or a DOWN travels */
      news_add (node, entry->node);
    }
  if (!newer)
    return ring_changed;
  /* The first we hear of a member we started with is no news: it tells
   * everyone itself. */
  gboolean first_word = known_incarnation == 0 && entry->state == member->claimed
                        && entry->verdict == DK_WIRE_MEMBER_UP
                        && member->verdict == DK_WIRE_MEMBER_UP;
  set_incarnation (member, entry->incarnation);
  member->heartbeat = (guint32) entry->heartbeat;
  if (!first_word)
    news_add (node, entry->node);
  gboolean was_leaving = member->claimed == DK_WIRE_MEMBER_LEAVING;
  if (entry->state == DK_WIRE_MEMBER_LEAVING)
    {
      if (!was_leaving)
        {
          depart (node, member);
          ring_changed = TRUE;
        }
      return ring_changed;
    }
  if (was_leaving)
    {
      rejoin (node, member, entry->state);
      ring_changed = TRUE;
    }
  member->claimed = entry->state;
  /* Its own word is that it is alive.  Another's verdict on a newer claim
   * is taken as it is — a refutation (a newer heartbeat) or a restart (a
   * newer incarnation) clears a suspicion — unless all we knew was the
   * incarnation 0 we start with for every member: then the entry only
   * tells us its incarnation, not that it outlived our suspicion. */
  DkWireMemberState verdict = entry->node == sender ? DK_WIRE_MEMBER_UP : entry->verdict;
  if (entry->node != sender && known_incarnation == 0 && entry->incarnation != 0
      && verdict_rank (member->verdict) > verdict_rank (verdict))
    verdict = member->verdict;
  set_verdict (node, member, verdict);
  return ring_changed;
}

void
node_on_gossip (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  /* A stranger's gossip comes from an address we do not route yet: that
   * is how a joining node first speaks.  A member must speak as itself. */
  gboolean stranger = !dk_endpoint_is_node (from) && message->sender != DK_NODE_NONE
                      && find_member (node, message->sender) == NULL;
  if ((!dk_endpoint_is_node (from) && !stranger) || node->config.gossip_interval_us == 0)
    {
      node->stats.dropped_unexpected++;
      return;
    }
  const DkWireGossip *gossip = &message->body.gossip;
  if (stranger && !node->config.auto_admit)
    {
      /* A join waits for an operator's admission (node_admin.c): until
       * then nothing the stranger says is taken, nor answered. */
      const DkWireMember *own = NULL;
      for (guint i = 0; i < gossip->members->len && own == NULL; i++)
        if (g_array_index (gossip->members, DkWireMember, i).node == message->sender)
          own = &g_array_index (gossip->members, DkWireMember, i);
      if (own == NULL || (own->state != DK_WIRE_MEMBER_LEAVING && !node_admin_admits (node, own)))
        return;
    }
  gboolean ring_changed = FALSE;
  for (guint i = 0; i < gossip->members->len; i++)
    {
      const DkWireMember *entry = &g_array_index (gossip->members, DkWireMember, i);
      if (entry->node == node->config.id)
        hear_about_self (node, entry);
      else
        ring_changed |= hear_entry (node, message->sender, entry);
    }
  if (ring_changed)
    node_ring_rebuild (node);
  heard_from (node, message->sender);
  switch (gossip->kind)
    {
    case DK_WIRE_GOSSIP_PROBE:
      {
        g_autoptr (DkWireMessage) answer = gossip_message (node, DK_WIRE_GOSSIP_ACK,
                                                           message->sender, DK_NODE_NONE);
        echo_stranger_leaving (node, message, answer);
        send_gossip (node, from, answer);
        break;
      }
    case DK_WIRE_GOSSIP_PROBE_FOR:
      if (dk_endpoint_is_node (from))
        probe_for (node, message->sender, gossip->about);
      break;
    case DK_WIRE_GOSSIP_RELAYED_ACK:
      if (gossip->about == node->probe_target)
        node->probe_target = DK_NODE_NONE;
      break;
    case DK_WIRE_GOSSIP_PUSH:
    case DK_WIRE_GOSSIP_ACK:
      break;
    }
  push_news (node);
}

/* ---- lifecycle and queries ------------------------------------------------ */

/* The incarnation: one more than the last start recorded in the store. */
static gboolean
next_incarnation (DkNode *node, GError **error)
{
  gint64 last = 0;
  gboolean found = FALSE;
  if (!dk_store_meta_get (node->env.store, "incarnation", &last, &found, error))
    return FALSE;
  /* The starts counted in the store, above the disk's own incarnation (a
   * wiped or replaced disk restarts the count, and must still be newer
   * than anything its peers heard from the old one). */
  guint64 starts = (guint64) (found ? last : 0) + 1;
  node->incarnation = ((guint64) node->config.incarnation << 32) | (starts & G_MAXUINT32);
  return dk_store_meta_set (node->env.store, "incarnation", (gint64) starts, error);
}

gboolean
node_membership_init (DkNode *node, GError **error)
{
  node->suspects = g_array_new (FALSE, FALSE, sizeof (Suspect));
  node->news = g_array_new (FALSE, FALSE, sizeof (News));
  node->relays = g_array_new (FALSE, FALSE, sizeof (Relay));
  node->removed = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  node->probe_target = DK_NODE_NONE;
  node->member_table = node->config.member_table != NULL
                       ? dk_member_table_ref (node->config.member_table) : dk_member_table_new ();
  if (!next_incarnation (node, error))
    return FALSE;
  guint count = dk_ring_node_count (node->ring);
  node->members = g_new0 (Member, count);
  node->n_members = count;
  for (guint i = 0; i < count; i++)
    {
      const DkRingNode *ring_node = dk_ring_node_at (node->ring, i);
      gboolean self = ring_node->id == node->config.id;
      Member *member = &node->members[i];   /* ring order is ascending id */
      member->id = ring_node->id;
      member->info = dk_member_table_intern (node->member_table, ring_node->id, ring_node->name,
                                             self ? node->config.address : NULL,
                                             ring_node->datacenter, ring_node->rack,
                                             ring_node->weight);
      set_incarnation (member, self ? node->incarnation : 0);
      member->claimed = self && node->config.joining ? DK_WIRE_MEMBER_JOINING : DK_WIRE_MEMBER_UP;
      member->verdict = DK_WIRE_MEMBER_UP;
    }
  if (node->config.joining)
    node->joining_rounds = 5;
  if (node->config.gossip_interval_us > 0)
    {
      /* A random first round spreads the nodes' rounds over the interval. */
      gint64 first = (gint64) (node_random (node) % (guint64) node->config.gossip_interval_us);
      node->gossip_timer = node->env.timer_start (node->env.user_data, first, gossip_round, node);
    }
  /* A node restarted in the middle of a leave goes on leaving. */
  return node_leave_resume (node, error);
}

void
node_membership_clear (DkNode *node)
{
  if (node->gossip_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->gossip_timer);
  node->gossip_timer = 0;
  if (node->probe_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->probe_timer);
  node->probe_timer = 0;
  g_clear_pointer (&node->members, g_free);
  node->n_members = 0;
  g_clear_pointer (&node->suspects, g_array_unref);
  g_clear_pointer (&node->news, g_array_unref);
  g_clear_pointer (&node->relays, g_array_unref);
  g_clear_pointer (&node->removed, g_array_unref);
  g_clear_pointer (&node->member_table, dk_member_table_unref);
}

gboolean
node_peer_healthy (const DkNode *node, DkNodeId id)
{
  if (node->config.gossip_interval_us == 0 || id == node->config.id)
    return TRUE;
  const Member *member = find_member (node, id);
  return member != NULL && member->verdict == DK_WIRE_MEMBER_UP;
}

DkWireMemberState
dk_node_peer_state (const DkNode *node, DkNodeId id)
{
  const Member *member = find_member (node, id);
  if (member == NULL)
    return DK_WIRE_MEMBER_DOWN;
  if (node->config.gossip_interval_us == 0 || id == node->config.id)
    return DK_WIRE_MEMBER_UP;
  if (member->claimed == DK_WIRE_MEMBER_JOINING || member->claimed == DK_WIRE_MEMBER_LEAVING)
    return member->claimed;
  return member->verdict;
}

void
dk_node_suspected_peers (const DkNode *node, GArray *ids)
{
  if (node->unhealthy == 0 || node->config.gossip_interval_us == 0)
    return;
  for (guint i = 0; i < node->n_members; i++)
    {
      const Member *member = &node->members[i];
      DkNodeId id = member->id;
      DkWireMemberState state = dk_node_peer_state (node, id);
      if (state == DK_WIRE_MEMBER_SUSPECT || state == DK_WIRE_MEMBER_DOWN)
        g_array_append_val (ids, id);
    }
}

GArray *
node_ring_members (DkNode *node)
{
  GArray *members = g_array_new (FALSE, TRUE, sizeof (DkRingNode));
  for (guint i = 0; i < node->n_members; i++)
    {
      const Member *member = &node->members[i];
      if (member->claimed == DK_WIRE_MEMBER_LEAVING)
        continue;
      DkRingNode ring_node = {
        .id = member->id,
        .name = info_of (node, member)->name,
        .datacenter = info_of (node, member)->datacenter,
        .rack = info_of (node, member)->rack,
        .weight = info_of (node, member)->vnodes,
      };
      g_array_append_val (members, ring_node);
    }
  return members;
}

gboolean
node_member_leaving (const DkNode *node, DkNodeId id)
{
  const Member *member = find_member (node, id);
  return member != NULL && member->claimed == DK_WIRE_MEMBER_LEAVING;
}

gboolean
node_member_in_ring (const DkNode *node, DkNodeId id)
{
  const Member *member = find_member (node, id);
  return member != NULL && member->claimed != DK_WIRE_MEMBER_LEAVING;
}

void
node_member_claim (DkNode *node, DkWireMemberState state)
{
  Member *self = find_member (node, node->config.id);
  self->claimed = state;
  self->heartbeat = ++node->heartbeat;
  news_add (node, node->config.id);
}

/* ---- admission and removal (node_admin.c decides) -------------------------- */

void
node_member_admit (DkNode *node, const DkWireMember *entry)
{
  if (hear_entry (node, entry->node, entry))
    node_ring_rebuild (node);
}

gboolean
node_member_removed (const DkNode *node, DkNodeId id)
{
  for (guint i = 0; node->removed != NULL && i < node->removed->len; i++)
    if (g_array_index (node->removed, DkNodeId, i) == id)
      return TRUE;
  return FALSE;
}

void
node_member_remove (DkNode *node, DkNodeId id)
{
  Member *member = find_member (node, id);
  g_return_if_fail (member != NULL && !is_self (node, member));
  if (member->claimed == DK_WIRE_MEMBER_LEAVING)
    return;
  depart (node, member);
  guint position = 0;
  while (position < node->removed->len && g_array_index (node->removed, DkNodeId, position) < id)
    position++;
  g_array_insert_val (node->removed, position, id);
  node->stats.members_removed++;
  node_log (node, DK_LOG_INFO, "member %s removed from the ring", info_of (node, member)->name);
  news_add (node, id);
  node_ring_rebuild (node);
}
