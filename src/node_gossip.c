/* node_gossip.c — membership, heartbeats and failure detection.
 *
 * Every gossip_interval (with ±10% jitter from the node's random stream, so
 * nodes do not fall into step) a node bumps its own heartbeat counter and
 * sends what it knows of the members — each one's heartbeat, incarnation
 * and the state it claims for itself — to one member drawn at random,
 * which answers with its own view (push-pull, so every round refreshes
 * the initiator too, whoever else happens to pick it).  A
 * receiver keeps, per member, the newest (incarnation, heartbeat) it has
 * heard and the local time it advanced.  A member whose heartbeat has not
 * advanced for suspect_after is SUSPECT, for twice that DOWN; hearing a
 * newer heartbeat makes it UP again.  Verdicts are local and never
 * gossiped, as in Dynamo §4.8: each node decides for itself whom it can
 * use.  The incarnation, kept in the store and bumped at every start, makes
 * a restarted member's heartbeats (which restart at 0) count as newer.
 *
 * Claims.  The newest (incarnation, heartbeat) of a member also carries
 * the state it claims (JOINING, UP, LEAVING), and the newest claim wins
 * whatever it says: a LEAVING member drops out of the ring and of the
 * failure detector, and a later claim of its own (a new incarnation that
 * joins again, or a leave called off) puts it back — stale news never
 * does, being older (check_membership.c:
 * membership_a_node_that_left_joins_again).  A member that leaves is
 * forgotten by no one: its entry stays, LEAVING, so old news of it cannot
 * bring it back.
 *
 * Leave acknowledgements.  The answer to a gossip carries the asker's
 * entry as the answerer sees it (or, for a node it never knew, the
 * asker's own LEAVING entry): a leaving node that reads its own leave
 * there knows a peer heard it (node_rebalance.c waits for that).
 *
 * Without gossip (interval 0) every member counts as up: static
 * membership, as the node had before this file existed. */
#include <string.h>
#include "node_private.h"

/* At most this many member entries per GOSSIP (the sender's own first),
 * which keeps a round well inside one datagram at any cluster size. */
#define GOSSIP_MAX_ENTRIES 48

static Member *
find_member (const DkNode *node, DkNodeId id)
{
  guint low = 0, high = node->members->len;
  Member *members = (Member *) node->members->data;
  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      if (members[middle].id < id)
        low = middle + 1;
      else
        high = middle;
    }
  return low < node->members->len && members[low].id == id ? &members[low] : NULL;
}

static void
member_clear (gpointer data)
{
  Member *member = data;
  g_free (member->name);
  g_free (member->address);
  g_free (member->datacenter);
  g_free (member->rack);
}

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
  node_log (node, DK_LOG_INFO, "member %s is now %s", member->name,
            verdict == DK_WIRE_MEMBER_UP ? "up" : verdict == DK_WIRE_MEMBER_SUSPECT ? "suspect" : "down");
  member->verdict = verdict;
  if (is_up && !was_up)
    node_handoff_owner_up (node, member->id);   /* its hints go home now */
}

/* Re-judge every other member by how long its heartbeat has been silent. */
static void
judge_members (DkNode *node)
{
  gint64 now = node_now (node);
  gint64 suspect_after = node->config.suspect_after_us;
  for (guint i = 0; i < node->members->len; i++)
    {
      Member *member = &g_array_index (node->members, Member, i);
      if (member->id == node->config.id || member->claimed == DK_WIRE_MEMBER_LEAVING)
        continue;
      gint64 silent = now - member->heard_us;
      DkWireMemberState verdict = silent > 2 * suspect_after ? DK_WIRE_MEMBER_DOWN
                                  : silent > suspect_after ? DK_WIRE_MEMBER_SUSPECT
                                  : DK_WIRE_MEMBER_UP;
      set_verdict (node, member, verdict);
    }
}

static void
append_entry (DkWireGossip *gossip, const Member *member)
{
  DkWireMember entry = {
    .node = member->id,
    .name = g_strdup (member->name),
    .address = g_strdup (member->address),
    .datacenter = g_strdup (member->datacenter),
    .rack = g_strdup (member->rack),
    .vnodes = member->vnodes,
    .heartbeat = member->heartbeat,
    .incarnation = member->incarnation,
    .state = member->claimed,
  };
  g_array_append_val (gossip->members, entry);
}

/* A GOSSIP with our own entry first, then ECHO's (when it is a member:
 * the answer to a peer always tells it how we see it, which is how a
 * leaving node learns that its leave was heard), then up to
 * GOSSIP_MAX_ENTRIES others from a random starting point, so every
 * member's news travels even in large clusters.  ASK_BACK asks the
 * receiver to answer with its own view (push-pull: each round refreshes
 * both ends). */
static DkWireMessage *
gossip_message (DkNode *node, gboolean ask_back, DkNodeId echo)
{
  DkWireMessage *message = dk_wire_message_new (DK_WIRE_GOSSIP);
  message->request_id = ask_back ? 1 : 0;
  DkWireGossip *gossip = &message->body.gossip;
  const Member *self = find_member (node, node->config.id);
  append_entry (gossip, self);
  const Member *echoed = echo != node->config.id ? find_member (node, echo) : NULL;
  if (echoed != NULL)
    append_entry (gossip, echoed);
  guint others = node->members->len - 1 - (echoed != NULL);
  guint count = MIN (others, GOSSIP_MAX_ENTRIES - gossip->members->len);
  guint start = others > count ? (guint) (node_random (node) % node->members->len) : 0;
  for (guint k = 0, added = 0; k < node->members->len && added < count; k++)
    {
      const Member *member = &g_array_index (node->members, Member,
                                             (start + k) % node->members->len);
      if (member == self || member == echoed)
        continue;
      append_entry (gossip, member);
      added++;
    }
  return message;
}

/* TRUE when MEMBER is another node still in the ring whose verdict is
 * UP (HEALTHY) or not. */
static gboolean
gossip_candidate (const DkNode *node, const Member *member, gboolean healthy)
{
  return member->id != node->config.id && member->claimed != DK_WIRE_MEMBER_LEAVING
         && (member->verdict == DK_WIRE_MEMBER_UP) == healthy;
}

static guint
count_candidates (const DkNode *node, gboolean healthy)
{
  guint count = 0;
  for (guint i = 0; i < node->members->len; i++)
    count += gossip_candidate (node, &g_array_index (node->members, Member, i), healthy);
  return count;
}

/* One of the COUNT (> 0) candidates (gossip_candidate), drawn at random. */
static DkNodeId
pick_member (DkNode *node, gboolean healthy, guint count)
{
  guint pick = (guint) (node_random (node) % count);
  for (guint i = 0; i < node->members->len; i++)
    {
      const Member *member = &g_array_index (node->members, Member, i);
      if (gossip_candidate (node, member, healthy) && pick-- == 0)
        return member->id;
    }
  return DK_NODE_NONE;
}

static void
gossip_with (DkNode *node, DkNodeId target)
{
  if (target == DK_NODE_NONE)
    return;
  g_autoptr (DkWireMessage) message = gossip_message (node, TRUE, target);
  if (node_send (node, target, message))
    node->stats.gossip_sent++;
}

/* One gossip round: heartbeat, judge, exchange views, hand off hints. */
static void
gossip_round (gpointer data)
{
  DkNode *node = data;
  node->gossip_timer = 0;
  Member *self = find_member (node, node->config.id);
  self->heartbeat = ++node->heartbeat;
  self->heard_us = node_now (node);
  if (node->joining_rounds > 0 && --node->joining_rounds == 0
      && self->claimed == DK_WIRE_MEMBER_JOINING)
    self->claimed = DK_WIRE_MEMBER_UP;
  judge_members (node);

  /* Exchange with a member we believe up, so the live part of the cluster
   * keeps every view fresh; now and then also probe one we believe
   * suspect or down, so its return is noticed without waiting for it (a
   * node cut off from everyone probes every round). */
  guint healthy_peers = count_candidates (node, TRUE);
  guint unhealthy_peers = count_candidates (node, FALSE);
  if (healthy_peers > 0)
    gossip_with (node, pick_member (node, TRUE, healthy_peers));
  if (unhealthy_peers > 0 && (healthy_peers == 0 || node_random (node) % 4 == 0))
    gossip_with (node, pick_member (node, FALSE, unhealthy_peers));
  if (self->claimed == DK_WIRE_MEMBER_LEAVING)
    node_leave_tick (node);

  node_handoff_tick (node);

  node->gossip_timer = node_timer_start_jittered (node, node->config.gossip_interval_us,
                                                  gossip_round);
}

/* A member we had not heard of (a join): insert it in id order. */
static Member *
add_member (DkNode *node, const DkWireMember *entry)
{
  Member member = {
    .id = entry->node,
    .name = g_strdup (entry->name),
    .address = g_strdup (entry->address),
    .datacenter = g_strdup (entry->datacenter),
    .rack = g_strdup (entry->rack),
    .vnodes = MAX (entry->vnodes, 1),
    .claimed = entry->state,
    .verdict = DK_WIRE_MEMBER_UP,
    .heard_us = node_now (node),
  };
  guint position = 0;
  while (position < node->members->len
         && g_array_index (node->members, Member, position).id < member.id)
    position++;
  g_array_insert_val (node->members, position, member);
  node_log (node, DK_LOG_INFO, "member %s joined", member.name);
  if (member.address[0] != '\0' && node->env.learn_peer != NULL)
    node->env.learn_peer (node->env.user_data, member.id, member.address);
  return &g_array_index (node->members, Member, position);
}

/* MEMBER claims LEAVING: out of the ring, out of the failure detector. */
static void
depart (DkNode *node, Member *member)
{
  if (member->verdict != DK_WIRE_MEMBER_UP)
    node->unhealthy--;
  member->verdict = DK_WIRE_MEMBER_DOWN;
  member->claimed = DK_WIRE_MEMBER_LEAVING;
  node->departed++;
  node_log (node, DK_LOG_INFO, "member %s is leaving", member->name);
}

/* MEMBER, which we knew as leaving (or gone), claims STATE again in a
 * newer entry: it rejoined (a new incarnation) or its leave was called
 * off.  Back in the ring and the failure detector, heard just now. */
static void
rejoin (DkNode *node, Member *member, DkWireMemberState state)
{
  node->departed--;
  member->claimed = state;
  member->verdict = DK_WIRE_MEMBER_UP;   /* not counted in unhealthy while departed */
  node_log (node, DK_LOG_INFO, "member %s is back (%s)", member->name,
            state == DK_WIRE_MEMBER_JOINING ? "joining" : "up");
}

/* ENTRY is how the sender sees us.  While we leave, an entry carrying our
 * leave (this incarnation) is a peer acknowledging it. */
static void
hear_about_self (DkNode *node, const DkWireMember *entry)
{
  if (entry->state == DK_WIRE_MEMBER_LEAVING && entry->incarnation == node->incarnation
      && node_member_leaving (node, node->config.id))
    node_leave_acknowledged (node);
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
  gint64 now = node_now (node);
  gboolean ring_changed = FALSE;
  const GArray *entries = message->body.gossip.members;
  for (guint i = 0; i < entries->len; i++)
    {
      const DkWireMember *entry = &g_array_index (entries, DkWireMember, i);
      if (entry->node == node->config.id)
        {
          hear_about_self (node, entry);
          continue;
        }
      Member *member = find_member (node, entry->node);
      if (member == NULL)
        {
          if (entry->state == DK_WIRE_MEMBER_LEAVING || entry->node >= DK_NODE_ID_LIMIT)
            continue;   /* news of a stranger leaving: nothing to do */
          member = add_member (node, entry);
          ring_changed = TRUE;
        }
      if (entry->address != NULL && entry->address[0] != '\0'
          && g_strcmp0 (entry->address, member->address) != 0)
        {
          g_free (member->address);
          member->address = g_strdup (entry->address);
          if (node->env.learn_peer != NULL)
            node->env.learn_peer (node->env.user_data, member->id, member->address);
        }
      /* (incarnation, heartbeat) orders a member's own claims: the newest
       * wins whatever it says, so a leave is undone only by a later claim
       * of the member itself (a rejoin), never by stale news. */
      gboolean newer = entry->incarnation > member->incarnation
                       || (entry->incarnation == member->incarnation
                           && entry->heartbeat > member->heartbeat);
      if (!newer)
        continue;
      member->incarnation = entry->incarnation;
      member->heartbeat = entry->heartbeat;
      member->heard_us = now;
      gboolean was_leaving = member->claimed == DK_WIRE_MEMBER_LEAVING;
      if (entry->state == DK_WIRE_MEMBER_LEAVING)
        {
          if (!was_leaving)
            {
              depart (node, member);
              ring_changed = TRUE;
            }
          continue;
        }
      if (was_leaving)
        {
          rejoin (node, member, entry->state);
          ring_changed = TRUE;
        }
      member->claimed = entry->state;
      set_verdict (node, member, DK_WIRE_MEMBER_UP);
    }
  if (ring_changed)
    node_ring_rebuild (node);
  if (message->request_id != 0)
    {
      g_autoptr (DkWireMessage) answer = gossip_message (node, FALSE, message->sender);
      echo_stranger_leaving (node, message, answer);
      if (node_send (node, from, answer))
        node->stats.gossip_sent++;
    }
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
  node->members = g_array_new (FALSE, TRUE, sizeof (Member));
  g_array_set_clear_func (node->members, member_clear);
  if (!next_incarnation (node, error))
    return FALSE;
  gint64 now = node_now (node);
  guint count = dk_ring_node_count (node->ring);
  for (guint i = 0; i < count; i++)
    {
      const DkRingNode *ring_node = dk_ring_node_at (node->ring, i);
      Member member = {
        .id = ring_node->id,
        .name = g_strdup (ring_node->name),
        .address = g_strdup (ring_node->id == node->config.id && node->config.address != NULL
                             ? node->config.address : ""),
        .datacenter = g_strdup (ring_node->datacenter ? ring_node->datacenter : ""),
        .rack = g_strdup (ring_node->rack ? ring_node->rack : ""),
        .vnodes = ring_node->weight,
        .incarnation = ring_node->id == node->config.id ? node->incarnation : 0,
        .claimed = ring_node->id == node->config.id && node->config.joining
                   ? DK_WIRE_MEMBER_JOINING : DK_WIRE_MEMBER_UP,
        .verdict = DK_WIRE_MEMBER_UP,
        .heard_us = now,
      };
      g_array_append_val (node->members, member);   /* ring order is ascending id */
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
  g_clear_pointer (&node->members, g_array_unref);
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

GArray *
node_ring_members (DkNode *node)
{
  GArray *members = g_array_new (FALSE, TRUE, sizeof (DkRingNode));
  for (guint i = 0; i < node->members->len; i++)
    {
      const Member *member = &g_array_index (node->members, Member, i);
      if (member->claimed == DK_WIRE_MEMBER_LEAVING)
        continue;
      DkRingNode ring_node = {
        .id = member->id,
        .name = member->name,
        .datacenter = member->datacenter,
        .rack = member->rack,
        .weight = member->vnodes,
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
}
