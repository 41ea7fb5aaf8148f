/* node_admin.c — admission of members and an operator's membership
 * changes (`dynkv admin`, riak-admin's plan and commit).
 *
 * Who is an operator.  Whoever signs an ADMIN with the cluster key: a
 * client key never verifies one (dk_wire_type_is_client_request), and an
 * unkeyed node takes none (nobody can prove to be an operator; unkeyed,
 * --allow-joins lets strangers join as before).
 *
 * Joins.  A stranger's GOSSIP (a node started with --joining, speaking
 * from an address no member has) is no longer a join by itself unless
 * the node admits automatically (DkNodeConfig.auto_admit, the simulator's
 * way): it is held as pending — at most PENDING_MAX of them, each
 * forgotten once silent for PENDING_FORGET_FACTOR x suspect_after — and
 * nothing it says is taken or answered (node_gossip.c).  An operator
 * plans joins (JOIN ID ADDRESS), reads the plan and the pending joins
 * (PLAN), and commits (COMMIT): a planned join whose node is pending here
 * at that address is admitted at once; one that has not spoken yet is
 * admitted when it does.  An admitted node is a member like any other:
 * its entry is news, and the other members take it from this one (an
 * entry relayed by a member is trusted: the member holds the cluster key
 * and admitted it), so admitting it at one member admits it everywhere.
 * The plan is this node's: plan and commit at the same node.
 *
 * Leave.  LEAVE ID asks member ID to leave (as SIGUSR2 does): here when
 * ID is this node, else carried to ID as an ADMIN of its own, whose reply
 * comes back through this node (AdminRelay).  The leave itself is ID's
 * own word, as always (node_gossip.c).
 *
 * Remove.  REMOVE ID drops a member this node judges DOWN from the ring
 * (node_member_remove): its ranges go to the next replicas, which hinted
 * handoff and anti-entropy fill.  A member up, joining or suspect is not
 * removed (leave it, or wait until it is down).  A removed node that comes
 * back (its newer claim) is a member again.
 *
 * Nothing here touches the world but through the node's environment. */
#include <string.h>
#include "node_private.h"

/* Joins held at most; the oldest heard goes first. */
#define PENDING_MAX 16
/* A pending join silent this many times suspect_after is forgotten. */
#define PENDING_FORGET_FACTOR 4
/* Planned or committed joins at most. */
#define PLAN_MAX 16
/* Leaves carried to their member and waiting for its reply, at most. */
#define RELAYS_MAX 8

typedef struct
{
  DkWireMember entry;   /* the stranger's own, as last heard (strings owned) */
  gint64       heard_us;
} PendingJoin;

typedef struct
{
  DkNodeId id;
  char    *address;
} PlannedJoin;

typedef struct
{
  guint64    client_request_id;
  DkEndpoint client;
  DkNodeId   target;
  gint64     expires_us;
} AdminRelay;

static void
pending_clear (gpointer data)
{
  DkWireMember *entry = &((PendingJoin *) data)->entry;
  g_free (entry->name);
  g_free (entry->address);
  g_free (entry->datacenter);
  g_free (entry->rack);
}

static void
planned_clear (gpointer data)
{
  g_free (((PlannedJoin *) data)->address);
}

void
node_admin_init (DkNode *node)
{
  node->pending = g_array_new (FALSE, FALSE, sizeof (PendingJoin));
  g_array_set_clear_func (node->pending, pending_clear);
  node->plan = g_array_new (FALSE, FALSE, sizeof (PlannedJoin));
  g_array_set_clear_func (node->plan, planned_clear);
  node->admitted = g_array_new (FALSE, FALSE, sizeof (PlannedJoin));
  g_array_set_clear_func (node->admitted, planned_clear);
  node->admin_relays = g_array_new (FALSE, FALSE, sizeof (AdminRelay));
}

void
node_admin_clear (DkNode *node)
{
  g_clear_pointer (&node->pending, g_array_unref);
  g_clear_pointer (&node->plan, g_array_unref);
  g_clear_pointer (&node->admitted, g_array_unref);
  g_clear_pointer (&node->admin_relays, g_array_unref);
}

/* ---- joins held --------------------------------------------------------------- */

static gint
find_join (const GArray *joins, DkNodeId id)
{
  for (guint i = 0; i < joins->len; i++)
    if (g_array_index (joins, PlannedJoin, i).id == id)
      return (gint) i;
  return -1;
}

static gint
find_pending (const GArray *pending, DkNodeId id)
{
  for (guint i = 0; i < pending->len; i++)
    if (g_array_index (pending, PendingJoin, i).entry.node == id)
      return (gint) i;
  return -1;
}

/* Forget the pending joins silent too long. */
static void
pending_expire (DkNode *node)
{
  gint64 now = node_now (node);
  gint64 forget_after = PENDING_FORGET_FACTOR * MAX (node->config.suspect_after_us, 1);
  for (guint i = node->pending->len; i-- > 0;)
    if (now - g_array_index (node->pending, PendingJoin, i).heard_us > forget_after)
      g_array_remove_index (node->pending, i);
}

/* Hold ENTRY's join (afresh when held already). */
static void
pending_note (DkNode *node, const DkWireMember *entry)
{
  pending_expire (node);
  gint at = find_pending (node->pending, entry->node);
  if (at >= 0)
    g_array_remove_index (node->pending, (guint) at);
  else
    node_log (node, DK_LOG_WARNING, "node %u (%s) asks to join from %s: held until an operator "
              "admits it (dynkv admin join %u=%s, then dynkv admin commit)", entry->node,
              entry->name, entry->address, entry->node, entry->address);
  if (node->pending->len >= PENDING_MAX)
    {
      guint oldest = 0;
      for (guint i = 1; i < node->pending->len; i++)
        if (g_array_index (node->pending, PendingJoin, i).heard_us
            < g_array_index (node->pending, PendingJoin, oldest).heard_us)
          oldest = i;
      g_array_remove_index (node->pending, oldest);
    }
  PendingJoin held = { *entry, node_now (node) };
  held.entry.name = g_strdup (entry->name);
  held.entry.address = g_strdup (entry->address);
  held.entry.datacenter = g_strdup (entry->datacenter);
  held.entry.rack = g_strdup (entry->rack);
  g_array_append_val (node->pending, held);
}

gboolean
node_admin_admits (DkNode *node, const DkWireMember *entry)
{
  gint at = find_join (node->admitted, entry->node);
  if (at >= 0 && g_strcmp0 (g_array_index (node->admitted, PlannedJoin, at).address,
                            entry->address) == 0)
    {
      g_array_remove_index (node->admitted, (guint) at);
      node->stats.members_admitted++;
      node_log (node, DK_LOG_INFO, "node %u at %s admitted as it spoke", entry->node,
                entry->address);
      return TRUE;
    }
  node->stats.joins_held++;
  pending_note (node, entry);
  return FALSE;
}

void
node_admin_member_added (DkNode *node, DkNodeId id)
{
  gint at = find_pending (node->pending, id);
  if (at >= 0)
    g_array_remove_index (node->pending, (guint) at);
}

guint
dk_node_joins_pending (const DkNode *node)
{
  return node->pending->len;
}

/* ---- answering ------------------------------------------------------------------ */

/* Answer REQUEST (from FROM) with STATUS and TEXT (taken). */
static void
admin_reply (DkNode *node, DkEndpoint from, const DkWireMessage *request, DkWireStatus status,
             char *text)
{
  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_ADMIN_REPLY);
  reply->request_id = request->request_id;
  reply->body.admin_reply.client_request_id = request->body.admin.client_request_id;
  reply->body.admin_reply.status = status;
  if (strlen (text) > DK_WIRE_ADMIN_TEXT_MAX)
    {
      /* Cut at a character's start: the wire takes UTF-8 only. */
      const gchar *end = text;
      g_utf8_validate (text, DK_WIRE_ADMIN_TEXT_MAX, &end);
      text[end - text] = '\0';
    }
  reply->body.admin_reply.text = text;
  node_send (node, from, reply);
}

static char *
describe_plan (DkNode *node)
{
  pending_expire (node);
  GString *text = g_string_new (NULL);
  if (node->plan->len == 0)
    g_string_append (text, "no planned changes\n");
  else
    g_string_append (text, "planned (dynkv admin commit applies them):\n");
  for (guint i = 0; i < node->plan->len; i++)
    {
      const PlannedJoin *join = &g_array_index (node->plan, PlannedJoin, i);
      g_string_append_printf (text, "  join %u at %s\n", join->id, join->address);
    }
  if (node->admitted->len > 0)
    g_string_append (text, "committed, admitted when the node first speaks:\n");
  for (guint i = 0; i < node->admitted->len; i++)
    {
      const PlannedJoin *join = &g_array_index (node->admitted, PlannedJoin, i);
      g_string_append_printf (text, "  join %u at %s\n", join->id, join->address);
    }
  if (node->pending->len == 0)
    g_string_append (text, "no joins pending\n");
  else
    g_string_append (text, "pending (asked to join, not admitted):\n");
  gint64 now = node_now (node);
  for (guint i = 0; i < node->pending->len; i++)
    {
      const PendingJoin *held = &g_array_index (node->pending, PendingJoin, i);
      const DkWireMember *entry = &held->entry;
      g_string_append_printf (text, "  node %u name %s at %s weight %u%s%s%s%s, heard %.1fs ago\n",
                              entry->node, entry->name, entry->address, entry->vnodes,
                              entry->datacenter[0] != '\0' ? " dc " : "", entry->datacenter,
                              entry->rack[0] != '\0' ? " rack " : "", entry->rack,
                              (double) (now - held->heard_us) / 1e6);
    }
  return g_string_free (text, FALSE);
}

/* JOIN: plan admitting ID at ADDRESS (a plan of one join per id). */
static DkWireStatus
plan_join (DkNode *node, DkNodeId id, const char *address, char **text)
{
  if (id >= DK_NODE_ID_LIMIT)
    {
      *text = g_strdup_printf ("node ids are 1..%u, not %u", DK_NODE_ID_LIMIT - 1, id);
      return DK_WIRE_STATUS_INVALID;
    }
  if (node_member_in_ring (node, id))
    {
      *text = g_strdup_printf ("node %u is a member already", id);
      return DK_WIRE_STATUS_INVALID;
    }
  gint at = find_join (node->plan, id);
  if (at >= 0)
    g_array_remove_index (node->plan, (guint) at);
  else if (node->plan->len >= PLAN_MAX)
    {
      *text = g_strdup_printf ("the plan holds %u joins already: commit or clear it", PLAN_MAX);
      return DK_WIRE_STATUS_INVALID;
    }
  PlannedJoin join = { id, g_strdup (address) };
  g_array_append_val (node->plan, join);
  gint held = find_pending (node->pending, id);
  const char *held_address = held >= 0
                             ? g_array_index (node->pending, PendingJoin, held).entry.address : NULL;
  *text = g_strdup_printf ("planned: join node %u at %s (%s); dynkv admin commit applies it\n",
                           id, address,
                           held_address == NULL ? "it has not asked to join here yet"
                           : g_strcmp0 (held_address, address) == 0 ? "it is pending here"
                           : "it is pending here from another address: it will not match");
  return DK_WIRE_STATUS_OK;
}

/* COMMIT: admit the planned joins pending here; the others when they speak. */
static DkWireStatus
commit_plan (DkNode *node, char **text)
{
  if (node->plan->len == 0)
    {
      *text = g_strdup ("nothing planned (dynkv admin join ID=HOST:PORT plans a join)");
      return DK_WIRE_STATUS_INVALID;
    }
  pending_expire (node);
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) plan = g_steal_pointer (&node->plan);
  node->plan = g_array_new (FALSE, FALSE, sizeof (PlannedJoin));
  g_array_set_clear_func (node->plan, planned_clear);
  for (guint i = 0; i < plan->len; i++)
    {
      PlannedJoin *join = &g_array_index (plan, PlannedJoin, i);
      gint held = find_pending (node->pending, join->id);
      if (node_member_in_ring (node, join->id))
        g_string_append_printf (out, "node %u is a member already\n", join->id);
      else if (held >= 0 && g_strcmp0 (g_array_index (node->pending, PendingJoin, held).entry.address,
                                        join->address) == 0)
        {
          /* Admitted now: the stranger's own entry, as if it had spoken
           * as a member (node_member_admit drops it from pending). */
          PendingJoin taken = g_array_index (node->pending, PendingJoin, held);
          taken.entry.name = g_strdup (taken.entry.name);
          taken.entry.address = g_strdup (taken.entry.address);
          taken.entry.datacenter = g_strdup (taken.entry.datacenter);
          taken.entry.rack = g_strdup (taken.entry.rack);
          g_array_remove_index (node->pending, (guint) held);   /* frees the held strings */
          node->stats.members_admitted++;
          node_member_admit (node, &taken.entry);
          pending_clear (&taken);
          g_string_append_printf (out, "node %u at %s admitted\n", join->id, join->address);
        }
      else if (held >= 0)
        g_string_append_printf (out, "node %u not admitted: it asks to join from %s, not %s\n",
                                join->id,
                                g_array_index (node->pending, PendingJoin, held).entry.address,
                                join->address);
      else
        {
          gint at = find_join (node->admitted, join->id);
          if (at >= 0)
            g_array_remove_index (node->admitted, (guint) at);
          if (node->admitted->len >= PLAN_MAX)
            g_array_remove_index (node->admitted, 0);
          PlannedJoin kept = { join->id, g_steal_pointer (&join->address) };
          g_array_append_val (node->admitted, kept);
          g_string_append_printf (out, "node %u at %s will be admitted when it first speaks\n",
                                  kept.id, kept.address);
        }
    }
  *text = g_string_free (out, FALSE);
  return DK_WIRE_STATUS_OK;
}

/* LEAVE: this node leaves, or the request is carried to ID. */
static gboolean
ask_leave (DkNode *node, DkEndpoint from, DkWireMessage *message, char **text)
{
  DkNodeId id = message->body.admin.node;
  if (id == node->config.id)
    {
      gboolean already = dk_node_is_leaving (node);
      dk_node_leave (node);
      *text = g_strdup_printf ("node %u %s: handing its ranges to their new replicas",
                               id, already ? "is leaving already" : "leaves");
      return TRUE;
    }
  if (dk_endpoint_is_node (from))
    {
      *text = g_strdup_printf ("node %u was asked to make node %u leave", node->config.id, id);
      return FALSE;   /* carried once, never on */
    }
  if (!node_member_in_ring (node, id))
    {
      *text = g_strdup_printf ("node %u is no member (or leaves already)", id);
      return FALSE;
    }
  gint64 now = node_now (node);
  for (guint i = node->admin_relays->len; i-- > 0;)
    {
      const AdminRelay *relay = &g_array_index (node->admin_relays, AdminRelay, i);
      if (relay->expires_us < now
          || relay->client_request_id == message->body.admin.client_request_id)
        g_array_remove_index (node->admin_relays, i);
    }
  if (node->admin_relays->len >= RELAYS_MAX)
    g_array_remove_index (node->admin_relays, 0);
  AdminRelay relay = { message->body.admin.client_request_id, from, id,
                       now + MAX (node->config.request_timeout_us, 1000000) };
  g_array_append_val (node->admin_relays, relay);
  node_send (node, (DkEndpoint) id, message);   /* its reply comes back here */
  *text = NULL;
  return TRUE;
}

/* REMOVE: drop member ID, down, from the ring. */
static DkWireStatus
remove_member (DkNode *node, DkNodeId id, char **text)
{
  if (id == node->config.id)
    {
      *text = g_strdup_printf ("node %u cannot remove itself: ask another member, or make it "
                               "leave (dynkv admin leave %u)", id, id);
      return DK_WIRE_STATUS_INVALID;
    }
  if (node_member_removed (node, id))
    {
      *text = g_strdup_printf ("node %u is removed already", id);
      return DK_WIRE_STATUS_OK;
    }
  if (!node_member_in_ring (node, id))
    {
      *text = g_strdup_printf ("node %u is no member (or leaves by itself)", id);
      return DK_WIRE_STATUS_INVALID;
    }
  DkWireMemberState state = dk_node_peer_state (node, id);
  if (state != DK_WIRE_MEMBER_DOWN)
    {
      *text = g_strdup_printf ("node %u is %s as node %u sees it: only a down member is removed%s",
                               id, state == DK_WIRE_MEMBER_SUSPECT ? "suspect"
                               : state == DK_WIRE_MEMBER_JOINING ? "joining" : "up",
                               node->config.id,
                               state == DK_WIRE_MEMBER_SUSPECT
                               ? " (try again once it is down)"
                               : "; a live member leaves (dynkv admin leave)");
      return DK_WIRE_STATUS_INVALID;
    }
  node_member_remove (node, id);
  *text = g_strdup_printf ("node %u removed from the ring: its ranges go to the next replicas", id);
  return DK_WIRE_STATUS_OK;
}

void
node_on_admin (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if (node->auth_key == NULL)
    {
      node->stats.dropped_unexpected++;   /* unkeyed: no operator can prove to be one */
      return;
    }
  node->stats.admin_requests++;
  const DkWireAdmin *admin = &message->body.admin;
  char *text = NULL;
  DkWireStatus status = DK_WIRE_STATUS_OK;
  switch (admin->op)
    {
    case DK_WIRE_ADMIN_JOIN:
      status = plan_join (node, admin->node, admin->address, &text);
      break;
    case DK_WIRE_ADMIN_PLAN:
      text = describe_plan (node);
      break;
    case DK_WIRE_ADMIN_COMMIT:
      status = commit_plan (node, &text);
      break;
    case DK_WIRE_ADMIN_CLEAR:
      text = g_strdup_printf ("%u planned change%s forgotten", node->plan->len,
                              node->plan->len == 1 ? "" : "s");
      g_array_set_size (node->plan, 0);
      break;
    case DK_WIRE_ADMIN_LEAVE:
      if (!ask_leave (node, from, message, &text))
        status = DK_WIRE_STATUS_INVALID;
      else if (text == NULL)
        return;   /* carried: the member answers */
      break;
    case DK_WIRE_ADMIN_REMOVE:
      status = remove_member (node, admin->node, &text);
      break;
    }
  node_log (node, DK_LOG_INFO, "admin %s from %" G_GUINT64_FORMAT ": %s",
            status == DK_WIRE_STATUS_OK ? "done" : "refused", from, text);
  admin_reply (node, from, message, status, text);
}

/* The answer of a member a leave was carried to: on to the operator. */
void
node_on_admin_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  guint64 id = message->body.admin_reply.client_request_id;
  for (guint i = 0; dk_endpoint_is_node (from) && i < node->admin_relays->len; i++)
    {
      AdminRelay relay = g_array_index (node->admin_relays, AdminRelay, i);
      if (relay.client_request_id != id || relay.target != (DkNodeId) from)
        continue;
      g_array_remove_index (node->admin_relays, i);
      node_send (node, relay.client, message);
      return;
    }
  node->stats.dropped_unexpected++;
}
