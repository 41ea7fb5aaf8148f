/* wire_messages.c — the layout of every message body, as data.
 *
 * Adding a message: its struct and a line in the DkWireType enum
 * (wire.h), its field table and layout here, one line in message_kinds[],
 * and a generator in the tests.  Field order here is wire order, and
 * wire.h documents the same layout for readers of the bytes.
 */
#include <stddef.h>
#include "wire_layout.h"

#define FIELD(type_, member_, kind_) \
  { #member_, DK_FIELD_##kind_, offsetof (type_, member_), 0, 0, NULL }
#define STRING_FIELD(type_, member_, max_) \
  { #member_, DK_FIELD_STRING, offsetof (type_, member_), 0, max_, NULL }
#define ENUM_FIELD(type_, member_, min_, max_) \
  { #member_, DK_FIELD_ENUM, offsetof (type_, member_), min_, max_, NULL }
#define RECORD_FIELD(type_, member_, kind_, layout_) \
  { #member_, DK_FIELD_##kind_, offsetof (type_, member_), 0, 0, &layout_ }
#define STATUS_FIELD(type_, member_) \
  ENUM_FIELD (type_, member_, DK_WIRE_STATUS_OK, DK_WIRE_STATUS_LAST)

/* ---- client requests: GET, PUT, DELETE, and FORWARD around them -------- */

static gboolean
check_no_value (const void *record, GError **error)
{
  const DkWireClientRequest *request = record;
  if (request->value == NULL || g_bytes_get_size (request->value) == 0)
    return TRUE;
  g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                       "value: only a put carries a value");
  return FALSE;
}

/* A write asks for no sibling offset: only a get pages through a set. */
static gboolean
check_no_offset (const void *record, GError **error)
{
  const DkWireClientRequest *request = record;
  if (request->sibling_offset == 0)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "sibling_offset: %u, but only a get asks for an offset",
               request->sibling_offset);
  return FALSE;
}

static gboolean
check_put (const void *record, GError **error)
{
  return check_no_offset (record, error);
}

static gboolean
check_delete (const void *record, GError **error)
{
  return check_no_value (record, error) && check_no_offset (record, error);
}

/* GET and DELETE carry an empty value and PUT and DELETE a zero sibling
 * offset, so the three share one wire layout (and a stray value on a GET
 * is still freed with the message). */
static const DkWireField client_request_fields[] = {
  FIELD (DkWireClientRequest, client_id, U64),
  FIELD (DkWireClientRequest, client_request_id, U64),
  FIELD (DkWireClientRequest, r, U8),
  FIELD (DkWireClientRequest, w, U8),
  FIELD (DkWireClientRequest, key, KEY),
  FIELD (DkWireClientRequest, context, OPT_CLOCK),
  FIELD (DkWireClientRequest, value, VALUE),
  FIELD (DkWireClientRequest, sibling_offset, U8),
};
static const DkWireLayout get_layout =
  DK_WIRE_LAYOUT (client_request_fields, DkWireClientRequest, NULL, check_no_value);
static const DkWireLayout put_layout =
  DK_WIRE_LAYOUT (client_request_fields, DkWireClientRequest, NULL, check_put);
static const DkWireLayout delete_layout =
  DK_WIRE_LAYOUT (client_request_fields, DkWireClientRequest, NULL, check_delete);
/* Inside FORWARD, where the request's type is the forward's to check. */
static const DkWireLayout forwarded_request_layout =
  DK_WIRE_LAYOUT (client_request_fields, DkWireClientRequest, NULL, NULL);

static gboolean
check_forwarded_value (const void *record, GError **error)
{
  const DkWireForward *forward = record;
  gboolean ok;
  switch (forward->request_type)
    {
    case DK_WIRE_PUT:
      ok = check_put (&forward->request, error);
      break;
    case DK_WIRE_DELETE:
      ok = check_delete (&forward->request, error);
      break;
    default:
      ok = check_no_value (&forward->request, error);
      break;
    }
  if (!ok)
    g_prefix_error (error, "request.");
  return ok;
}

static const DkWireField forward_fields[] = {
  ENUM_FIELD (DkWireForward, request_type, DK_WIRE_GET, DK_WIRE_DELETE),
  FIELD (DkWireForward, hops, U8),
  STRING_FIELD (DkWireForward, client_address, DK_WIRE_ADDRESS_MAX),
  RECORD_FIELD (DkWireForward, request, NESTED, forwarded_request_layout),
};
static const DkWireLayout forward_layout =
  DK_WIRE_LAYOUT (forward_fields, DkWireForward, NULL, check_forwarded_value);

/* The siblings carried, with those before and after them, are one set. */
static gboolean
check_reply_siblings (const void *record, GError **error)
{
  const DkWireClientReply *reply = record;
  guint carried = reply->siblings != NULL ? reply->siblings->len : 0;
  guint total = reply->siblings_before + carried + reply->siblings_after;
  if (total <= DK_SIBLINGS_HARD_MAX)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
               "siblings_after: a set of %u before + %u carried + %u after exceeds the"
               " %u-sibling limit", reply->siblings_before, carried, reply->siblings_after,
               DK_SIBLINGS_HARD_MAX);
  return FALSE;
}

static const DkWireField client_reply_fields[] = {
  FIELD (DkWireClientReply, client_request_id, U64),
  STATUS_FIELD (DkWireClientReply, status),
  STRING_FIELD (DkWireClientReply, reason, DK_WIRE_REASON_MAX),
  FIELD (DkWireClientReply, siblings, SIBLINGS),
  FIELD (DkWireClientReply, context, OPT_CLOCK),
  FIELD (DkWireClientReply, siblings_before, U8),
  FIELD (DkWireClientReply, siblings_after, U8),
  FIELD (DkWireClientReply, set_digest, U64),
};
static const DkWireLayout client_reply_layout =
  DK_WIRE_LAYOUT (client_reply_fields, DkWireClientReply, NULL, check_reply_siblings);

/* ---- replica traffic ------------------------------------------------------ */

static gboolean
check_part (const void *record, GError **error)
{
  const DkWirePart *part = record;
  if (part->index <= part->last)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "index: part %u of a set whose last part is %u", part->index, part->last);
  return FALSE;
}

static const DkWireField part_fields[] = {
  FIELD (DkWirePart, index, U8),
  FIELD (DkWirePart, last, U8),
  FIELD (DkWirePart, set_digest, U64),
};
static const DkWireLayout part_layout = DK_WIRE_LAYOUT (part_fields, DkWirePart, NULL, check_part);

static const DkWireField read_fields[] = {
  FIELD (DkWireRead, key, KEY),
};
static const DkWireLayout read_layout = DK_WIRE_LAYOUT (read_fields, DkWireRead, NULL, NULL);

static const DkWireField read_reply_fields[] = {
  STATUS_FIELD (DkWireReadReply, status),
  FIELD (DkWireReadReply, key, KEY),
  RECORD_FIELD (DkWireReadReply, part, NESTED, part_layout),
  FIELD (DkWireReadReply, siblings, SIBLINGS),
};
static const DkWireLayout read_reply_layout =
  DK_WIRE_LAYOUT (read_reply_fields, DkWireReadReply, NULL, NULL);

static const DkWireField write_fields[] = {
  FIELD (DkWireWrite, hinted_owner, U32),
  FIELD (DkWireWrite, key, KEY),
  RECORD_FIELD (DkWireWrite, part, NESTED, part_layout),
  FIELD (DkWireWrite, siblings, SIBLINGS),
};
static const DkWireLayout write_layout = DK_WIRE_LAYOUT (write_fields, DkWireWrite, NULL, NULL);

static const DkWireField write_ack_fields[] = {
  STATUS_FIELD (DkWireWriteAck, status),
  FIELD (DkWireWriteAck, key, KEY),
  RECORD_FIELD (DkWireWriteAck, part, NESTED, part_layout),
};
static const DkWireLayout write_ack_layout =
  DK_WIRE_LAYOUT (write_ack_fields, DkWireWriteAck, NULL, NULL);

static const DkWireField hint_handoff_fields[] = {
  FIELD (DkWireHintHandoff, hint_id, U64),
  FIELD (DkWireHintHandoff, intended_owner, NODE),
  FIELD (DkWireHintHandoff, key, KEY),
  RECORD_FIELD (DkWireHintHandoff, part, NESTED, part_layout),
  FIELD (DkWireHintHandoff, siblings, SIBLINGS),
};
static const DkWireLayout hint_handoff_layout =
  DK_WIRE_LAYOUT (hint_handoff_fields, DkWireHintHandoff, NULL, NULL);

static const DkWireField hint_ack_fields[] = {
  FIELD (DkWireHintAck, hint_id, U64),
  STATUS_FIELD (DkWireHintAck, status),
  RECORD_FIELD (DkWireHintAck, part, NESTED, part_layout),
};
static const DkWireLayout hint_ack_layout =
  DK_WIRE_LAYOUT (hint_ack_fields, DkWireHintAck, NULL, NULL);

/* ---- membership ------------------------------------------------------------ */

static void
member_clear (gpointer element)
{
  DkWireMember *member = element;
  g_clear_pointer (&member->name, g_free);
  g_clear_pointer (&member->address, g_free);
  g_clear_pointer (&member->datacenter, g_free);
  g_clear_pointer (&member->rack, g_free);
}

static const DkWireField member_fields[] = {
  FIELD (DkWireMember, node, NODE),
  STRING_FIELD (DkWireMember, name, DK_WIRE_NAME_MAX),
  STRING_FIELD (DkWireMember, address, DK_WIRE_ADDRESS_MAX),
  STRING_FIELD (DkWireMember, datacenter, DK_WIRE_NAME_MAX),
  STRING_FIELD (DkWireMember, rack, DK_WIRE_NAME_MAX),
  FIELD (DkWireMember, vnodes, U32),
  FIELD (DkWireMember, heartbeat, U64),
  FIELD (DkWireMember, incarnation, U64),
  ENUM_FIELD (DkWireMember, state, DK_WIRE_MEMBER_UP, DK_WIRE_MEMBER_STATE_LAST),
  ENUM_FIELD (DkWireMember, verdict, DK_WIRE_MEMBER_UP, DK_WIRE_MEMBER_DOWN),
};
static const DkWireLayout member_layout =
  DK_WIRE_LAYOUT (member_fields, DkWireMember, member_clear, NULL);

static const DkWireField gossip_fields[] = {
  ENUM_FIELD (DkWireGossip, kind, DK_WIRE_GOSSIP_PUSH, DK_WIRE_GOSSIP_KIND_LAST),
  FIELD (DkWireGossip, about, U32),
  RECORD_FIELD (DkWireGossip, members, ARRAY, member_layout),
};
static const DkWireLayout gossip_layout = DK_WIRE_LAYOUT (gossip_fields, DkWireGossip, NULL, NULL);

static const DkWireField partition_owner_fields[] = {
  FIELD (DkWirePartitionOwner, partition, U32),
  FIELD (DkWirePartitionOwner, owner, NODE),
};
static const DkWireLayout partition_owner_layout =
  DK_WIRE_LAYOUT (partition_owner_fields, DkWirePartitionOwner, NULL, NULL);

static gboolean
check_partitions (const void *record, GError **error)
{
  const DkWirePartitionTable *table = record;
  if (table->partition_count == 0)
    {
      g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                           "partition_count: a ring has at least one partition");
      return FALSE;
    }
  for (guint i = 0; table->owners != NULL && i < table->owners->len; i++)
    {
      guint32 partition = g_array_index (table->owners, DkWirePartitionOwner, i).partition;
      if (partition >= table->partition_count)
        {
          g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                       "owners[%u].partition: %u is not below the partition count %u",
                       i, partition, table->partition_count);
          return FALSE;
        }
    }
  return TRUE;
}

static const DkWireField partition_table_fields[] = {
  FIELD (DkWirePartitionTable, epoch, U64),
  FIELD (DkWirePartitionTable, partition_count, U32),
  RECORD_FIELD (DkWirePartitionTable, owners, ARRAY, partition_owner_layout),
};
static const DkWireLayout partition_table_layout =
  DK_WIRE_LAYOUT (partition_table_fields, DkWirePartitionTable, NULL, check_partitions);

static const DkWireField ping_fields[] = {
  FIELD (DkWirePing, timestamp_us, I64),
};
static const DkWireLayout ping_layout = DK_WIRE_LAYOUT (ping_fields, DkWirePing, NULL, NULL);

/* ---- status: `dynkv status` and `dynkv stats` ------------------------------ */

static gboolean
check_node_status (const void *record, GError **error)
{
  const DkWireNodeStatus *request = record;
  if (request->member_limit >= 1 && request->member_limit <= DK_WIRE_STATUS_MEMBERS_MAX)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "member_limit: %u is not one of 1 .. %u", request->member_limit,
               DK_WIRE_STATUS_MEMBERS_MAX);
  return FALSE;
}

static const DkWireField node_status_fields[] = {
  FIELD (DkWireNodeStatus, client_request_id, U64),
  FIELD (DkWireNodeStatus, timestamp_us, I64),
  FIELD (DkWireNodeStatus, first_member, U32),
  FIELD (DkWireNodeStatus, member_limit, U32),
  FIELD (DkWireNodeStatus, counters, BOOL),
};
static const DkWireLayout node_status_layout =
  DK_WIRE_LAYOUT (node_status_fields, DkWireNodeStatus, NULL, check_node_status);

static void
status_member_clear (gpointer element)
{
  g_clear_pointer (&((DkWireStatusMember *) element)->address, g_free);
}

#define PPM_WHOLE 1000000u

static gboolean
check_status_member (const void *record, GError **error)
{
  const DkWireStatusMember *member = record;
  if (member->ownership_ppm <= PPM_WHOLE)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "ownership_ppm: %u is more than the whole ring (%u)", member->ownership_ppm,
               PPM_WHOLE);
  return FALSE;
}

static const DkWireField status_member_fields[] = {
  FIELD (DkWireStatusMember, node, NODE),
  STRING_FIELD (DkWireStatusMember, address, DK_WIRE_ADDRESS_MAX),
  ENUM_FIELD (DkWireStatusMember, state, DK_WIRE_MEMBER_UP, DK_WIRE_MEMBER_STATE_LAST),
  FIELD (DkWireStatusMember, ownership_ppm, U32),
  FIELD (DkWireStatusMember, hints_here, U32),
};
static const DkWireLayout status_member_layout =
  DK_WIRE_LAYOUT (status_member_fields, DkWireStatusMember, status_member_clear,
                  check_status_member);

static void
counter_clear (gpointer element)
{
  g_clear_pointer (&((DkWireCounter *) element)->name, g_free);
}

static gboolean
check_counter (const void *record, GError **error)
{
  const DkWireCounter *counter = record;
  if (counter->name != NULL && counter->name[0] != '\0')
    return TRUE;
  g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                       "name: a counter has a name");
  return FALSE;
}

static const DkWireField counter_fields[] = {
  STRING_FIELD (DkWireCounter, name, DK_WIRE_COUNTER_NAME_MAX),
  FIELD (DkWireCounter, value, U64),
};
static const DkWireLayout counter_layout =
  DK_WIRE_LAYOUT (counter_fields, DkWireCounter, counter_clear, check_counter);

/* The members carried are a window of the list, and both lists are
 * bounded so that any reply fits one datagram (below). */
static gboolean
check_node_status_reply (const void *record, GError **error)
{
  const DkWireNodeStatusReply *reply = record;
  guint members = reply->members != NULL ? reply->members->len : 0;
  guint counters = reply->counters != NULL ? reply->counters->len : 0;
  if (members > DK_WIRE_STATUS_MEMBERS_MAX)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   "members: %u entries exceeds the %u-entry limit", members,
                   DK_WIRE_STATUS_MEMBERS_MAX);
      return FALSE;
    }
  if (counters > DK_WIRE_STATUS_COUNTERS_MAX)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   "counters: %u entries exceeds the %u-entry limit", counters,
                   DK_WIRE_STATUS_COUNTERS_MAX);
      return FALSE;
    }
  if ((guint64) reply->first_member + members > reply->members_total)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                   "members: %u from %u is past the %u members in all", members,
                   reply->first_member, reply->members_total);
      return FALSE;
    }
  if (reply->ae_pass_age_us < -1 || reply->uptime_us < 0)
    {
      g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                           "ae_pass_age_us or uptime_us: negative (only -1: no pass yet)");
      return FALSE;
    }
  return TRUE;
}

static const DkWireField node_status_reply_fields[] = {
  FIELD (DkWireNodeStatusReply, client_request_id, U64),
  FIELD (DkWireNodeStatusReply, timestamp_us, I64),
  STRING_FIELD (DkWireNodeStatusReply, address, DK_WIRE_ADDRESS_MAX),
  ENUM_FIELD (DkWireNodeStatusReply, state, DK_WIRE_MEMBER_UP, DK_WIRE_MEMBER_STATE_LAST),
  FIELD (DkWireNodeStatusReply, keys, U64),
  FIELD (DkWireNodeStatusReply, stored_bytes, U64),
  FIELD (DkWireNodeStatusReply, hints_held, U32),
  FIELD (DkWireNodeStatusReply, streams_pending, U32),
  FIELD (DkWireNodeStatusReply, ae_pass_age_us, I64),
  FIELD (DkWireNodeStatusReply, uptime_us, I64),
  FIELD (DkWireNodeStatusReply, members_total, U32),
  FIELD (DkWireNodeStatusReply, first_member, U32),
  RECORD_FIELD (DkWireNodeStatusReply, members, ARRAY, status_member_layout),
  RECORD_FIELD (DkWireNodeStatusReply, counters, ARRAY, counter_layout),
};
static const DkWireLayout node_status_reply_layout =
  DK_WIRE_LAYOUT (node_status_reply_fields, DkWireNodeStatusReply, NULL,
                  check_node_status_reply);

/* A reply with every field at its limit still fits one signed datagram:
 * header, fixed fields, the longest address, then each list full of its
 * largest entries. */
G_STATIC_ASSERT (DK_WIRE_HEADER_BYTES + 8 + 8 + (2 + DK_WIRE_ADDRESS_MAX) + 1 + 8 + 8 + 4 + 4
                 + 8 + 8 + 4 + 4
                 + 2 + DK_WIRE_STATUS_MEMBERS_MAX * (4 + 2 + DK_WIRE_ADDRESS_MAX + 1 + 4 + 4)
                 + 2 + DK_WIRE_STATUS_COUNTERS_MAX * (2 + DK_WIRE_COUNTER_NAME_MAX + 8)
                 + DK_WIRE_TAG_BYTES <= DK_WIRE_MAX_DATAGRAM);

/* ---- anti-entropy ------------------------------------------------------------ */

/* Heap numbering: a binary tree of depth D has nodes 0 .. 2^(D+1) - 2. */
static gboolean
check_tree_index (guint8 depth, guint i, guint32 node_index, const char *array_name,
                  GError **error)
{
  if (depth > DK_WIRE_AE_MAX_DEPTH)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   "depth: %u exceeds the maximum depth %u", depth, DK_WIRE_AE_MAX_DEPTH);
      return FALSE;
    }
  guint64 nodes_in_tree = (G_GUINT64_CONSTANT (1) << (depth + 1)) - 1;
  if (node_index < nodes_in_tree)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "%s[%u]: node index %u is outside a depth-%u tree", array_name, i,
               node_index, depth);
  return FALSE;
}

static gboolean
check_tree_request (const void *record, GError **error)
{
  const DkWireAeTreeRequest *request = record;
  guint count = request->node_indices != NULL ? request->node_indices->len : 0;
  if (!check_tree_index (request->depth, 0, 0, "node_indices", error))
    return FALSE;
  for (guint i = 0; i < count; i++)
    if (!check_tree_index (request->depth, i, g_array_index (request->node_indices, guint32, i),
                           "node_indices", error))
      return FALSE;
  return TRUE;
}

static gboolean
check_tree_reply (const void *record, GError **error)
{
  const DkWireAeTreeReply *reply = record;
  guint count = reply->nodes != NULL ? reply->nodes->len : 0;
  if (!check_tree_index (reply->depth, 0, 0, "nodes", error))
    return FALSE;
  for (guint i = 0; i < count; i++)
    if (!check_tree_index (reply->depth, i,
                           g_array_index (reply->nodes, DkWireAeNodeHash, i).node_index,
                           "nodes", error))
      return FALSE;
  return TRUE;
}

static const DkWireField node_index_fields[] = {
  { "node_index", DK_FIELD_U32, 0, 0, 0, NULL },
};
static const DkWireLayout node_index_layout =
  DK_WIRE_LAYOUT (node_index_fields, guint32, NULL, NULL);

static const DkWireField tree_request_fields[] = {
  FIELD (DkWireAeTreeRequest, range_lo, U64),
  FIELD (DkWireAeTreeRequest, range_hi, U64),
  FIELD (DkWireAeTreeRequest, depth, U8),
  RECORD_FIELD (DkWireAeTreeRequest, node_indices, ARRAY, node_index_layout),
};
static const DkWireLayout tree_request_layout =
  DK_WIRE_LAYOUT (tree_request_fields, DkWireAeTreeRequest, NULL, check_tree_request);

static const DkWireField node_hash_fields[] = {
  FIELD (DkWireAeNodeHash, node_index, U32),
  FIELD (DkWireAeNodeHash, hash, U64),
};
static const DkWireLayout node_hash_layout =
  DK_WIRE_LAYOUT (node_hash_fields, DkWireAeNodeHash, NULL, NULL);

static const DkWireField tree_reply_fields[] = {
  FIELD (DkWireAeTreeReply, range_lo, U64),
  FIELD (DkWireAeTreeReply, range_hi, U64),
  FIELD (DkWireAeTreeReply, depth, U8),
  RECORD_FIELD (DkWireAeTreeReply, nodes, ARRAY, node_hash_layout),
};
static const DkWireLayout tree_reply_layout =
  DK_WIRE_LAYOUT (tree_reply_fields, DkWireAeTreeReply, NULL, check_tree_reply);

static const DkWireField keys_request_fields[] = {
  FIELD (DkWireAeKeysRequest, range_lo, U64),
  FIELD (DkWireAeKeysRequest, range_hi, U64),
};
static const DkWireLayout keys_request_layout =
  DK_WIRE_LAYOUT (keys_request_fields, DkWireAeKeysRequest, NULL, NULL);

static void
key_digest_clear (gpointer element)
{
  g_clear_pointer (&((DkWireKeyDigest *) element)->key, g_bytes_unref);
}

static const DkWireField key_digest_fields[] = {
  FIELD (DkWireKeyDigest, key, KEY),
  FIELD (DkWireKeyDigest, digest, U64),
};
static const DkWireLayout key_digest_layout =
  DK_WIRE_LAYOUT (key_digest_fields, DkWireKeyDigest, key_digest_clear, NULL);

static const DkWireField keys_reply_fields[] = {
  FIELD (DkWireAeKeysReply, range_lo, U64),
  FIELD (DkWireAeKeysReply, range_hi, U64),
  FIELD (DkWireAeKeysReply, complete, BOOL),
  RECORD_FIELD (DkWireAeKeysReply, keys, ARRAY, key_digest_layout),
};
static const DkWireLayout keys_reply_layout =
  DK_WIRE_LAYOUT (keys_reply_fields, DkWireAeKeysReply, NULL, NULL);

/* ---- admin: `dynkv admin` ------------------------------------------------ */

/* A join names a member and its address; leave and remove a member;
 * plan, commit and clear nobody. */
static gboolean
check_admin (const void *record, GError **error)
{
  const DkWireAdmin *admin = record;
  gboolean names_node = admin->op == DK_WIRE_ADMIN_JOIN || admin->op == DK_WIRE_ADMIN_LEAVE
                        || admin->op == DK_WIRE_ADMIN_REMOVE;
  gboolean has_address = admin->address != NULL && admin->address[0] != '\0';
  if (names_node != (admin->node != DK_NODE_NONE))
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                   "node: %u given to an op that %s a member", admin->node,
                   names_node ? "names" : "names no");
      return FALSE;
    }
  if (has_address != (admin->op == DK_WIRE_ADMIN_JOIN))
    {
      g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                           "address: a join, and only a join, carries one");
      return FALSE;
    }
  return TRUE;
}

static const DkWireField admin_fields[] = {
  FIELD (DkWireAdmin, client_request_id, U64),
  ENUM_FIELD (DkWireAdmin, op, DK_WIRE_ADMIN_JOIN, DK_WIRE_ADMIN_OP_LAST),
  FIELD (DkWireAdmin, node, U32),
  STRING_FIELD (DkWireAdmin, address, DK_WIRE_ADDRESS_MAX),
};
static const DkWireLayout admin_layout = DK_WIRE_LAYOUT (admin_fields, DkWireAdmin, NULL, check_admin);

static const DkWireField admin_reply_fields[] = {
  FIELD (DkWireAdminReply, client_request_id, U64),
  STATUS_FIELD (DkWireAdminReply, status),
  STRING_FIELD (DkWireAdminReply, text, DK_WIRE_ADMIN_TEXT_MAX),
};
static const DkWireLayout admin_reply_layout =
  DK_WIRE_LAYOUT (admin_reply_fields, DkWireAdminReply, NULL, NULL);

/* ---- the type table -------------------------------------------------------- */

static const struct
{
  const char         *name;
  const DkWireLayout *layout;
} message_kinds[] = {
  [DK_WIRE_GET]             = { "get", &get_layout },
  [DK_WIRE_PUT]             = { "put", &put_layout },
  [DK_WIRE_DELETE]          = { "delete", &delete_layout },
  [DK_WIRE_CLIENT_REPLY]    = { "client_reply", &client_reply_layout },
  [DK_WIRE_FORWARD]         = { "forward", &forward_layout },
  [DK_WIRE_READ]            = { "read", &read_layout },
  [DK_WIRE_READ_REPLY]      = { "read_reply", &read_reply_layout },
  [DK_WIRE_WRITE]           = { "write", &write_layout },
  [DK_WIRE_WRITE_ACK]       = { "write_ack", &write_ack_layout },
  [DK_WIRE_GOSSIP]          = { "gossip", &gossip_layout },
  [DK_WIRE_HINT_HANDOFF]    = { "hint_handoff", &hint_handoff_layout },
  [DK_WIRE_HINT_ACK]        = { "hint_ack", &hint_ack_layout },
  [DK_WIRE_AE_TREE_REQUEST] = { "ae_tree_request", &tree_request_layout },
  [DK_WIRE_AE_TREE_REPLY]   = { "ae_tree_reply", &tree_reply_layout },
  [DK_WIRE_AE_KEYS_REQUEST] = { "ae_keys_request", &keys_request_layout },
  [DK_WIRE_AE_KEYS_REPLY]   = { "ae_keys_reply", &keys_reply_layout },
  [DK_WIRE_PING]            = { "ping", &ping_layout },
  [DK_WIRE_PONG]            = { "pong", &ping_layout },
  [DK_WIRE_PARTITION_TABLE] = { "partition_table", &partition_table_layout },
  [DK_WIRE_NODE_STATUS]     = { "node_status", &node_status_layout },
  [DK_WIRE_NODE_STATUS_REPLY] = { "node_status_reply", &node_status_reply_layout },
  [DK_WIRE_ADMIN]           = { "admin", &admin_layout },
  [DK_WIRE_ADMIN_REPLY]     = { "admin_reply", &admin_reply_layout },
};
G_STATIC_ASSERT (G_N_ELEMENTS (message_kinds) == DK_WIRE_TYPE_LAST + 1);

const DkWireLayout *
dk_wire_body_layout (DkWireType type)
{
  if ((guint) type < DK_WIRE_TYPE_FIRST || (guint) type > DK_WIRE_TYPE_LAST)
    return NULL;
  return message_kinds[type].layout;
}

const char *
dk_wire_body_name (DkWireType type)
{
  if ((guint) type < DK_WIRE_TYPE_FIRST || (guint) type > DK_WIRE_TYPE_LAST)
    return NULL;
  return message_kinds[type].name;
}
