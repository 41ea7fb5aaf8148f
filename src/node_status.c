/* node_status.c — what a node tells about itself: its counters by name
 * (dk_node_counters, the one list dynkvd's SIGUSR1 report and the
 * NODE_STATUS reply both use) and the NODE_STATUS handler behind `dynkv
 * status` and `dynkv stats` (node.h). */
#include <stddef.h>
#include <string.h>
#include "node_private.h"

/* Every DkNodeStats field, by name, in the struct's order. */
#define COUNTER(field_) { #field_, offsetof (DkNodeStats, field_) }
static const struct
{
  const char *name;
  gsize       offset;
} node_counters[] = {
  COUNTER (datagrams_received),
  COUNTER (dropped_malformed),
  COUNTER (dropped_unauthenticated),
  COUNTER (dropped_unexpected),
  COUNTER (messages_sent),
  COUNTER (bytes_sent),
  COUNTER (send_failures),
  COUNTER (requests_coordinated),
  COUNTER (requests_forwarded),
  COUNTER (requests_succeeded),
  COUNTER (requests_failed),
  COUNTER (read_repairs_sent),
  COUNTER (store_errors),
  COUNTER (gossip_sent),
  COUNTER (gossip_bytes),
  COUNTER (gossip_rounds),
  COUNTER (suspicions),
  COUNTER (downs),
  COUNTER (recoveries),
  COUNTER (sloppy_requests),
  COUNTER (hints_kept),
  COUNTER (hints_refused),
  COUNTER (hints_sent),
  COUNTER (hints_delivered),
  COUNTER (hints_received),
  COUNTER (hints_rerouted),
  COUNTER (ae_sessions),
  COUNTER (ae_keys_pushed),
  COUNTER (ae_keys_pulled),
  COUNTER (ae_bytes_sent),
  COUNTER (ring_changes),
  COUNTER (keys_streamed),
  COUNTER (keys_swept),
  COUNTER (stream_abandoned),
  COUNTER (keys_released),
  COUNTER (leave_waits),
  COUNTER (tombstones_collected),
  COUNTER (contexts_refused),
  COUNTER (context_entries_pruned),
  COUNTER (dot_collisions),
  COUNTER (stand_in_refusals),
  COUNTER (actor_epochs),
  COUNTER (parts_abandoned),
  COUNTER (requests_deduplicated),
  COUNTER (requests_id_reused),
  COUNTER (requests_forgotten),
  COUNTER (dropped_stale_timestamp),
  COUNTER (dropped_replayed),
  COUNTER (dropped_misdirected),
  COUNTER (replay_cache_overflows),
  COUNTER (sets_split),
  COUNTER (sibling_limit_refusals),
  COUNTER (merges_refused_siblings),
  COUNTER (failovers),
  COUNTER (failover_resends),
  COUNTER (peers_marked_unreachable),
  COUNTER (repairs_applied),
  COUNTER (writes_forwarded),
  COUNTER (dropped_not_member),
  COUNTER (gossip_entries_refused),
  COUNTER (address_validations),
  COUNTER (status_requests),
  COUNTER (joins_held),
  COUNTER (members_admitted),
  COUNTER (members_removed),
  COUNTER (admin_requests),
};
/* A field added to DkNodeStats and not here fails to compile. */
G_STATIC_ASSERT (G_N_ELEMENTS (node_counters) == sizeof (DkNodeStats) / sizeof (guint64));

static void
add_counter (GArray *out, const char *name, guint64 value)
{
  DkCounter counter = { name, value };
  g_array_append_val (out, counter);
}

void
dk_node_counters (const DkNode *node, GArray *out)
{
  const guint8 *stats = (const guint8 *) &node->stats;
  for (guint i = 0; i < G_N_ELEMENTS (node_counters); i++)
    {
      guint64 value;
      memcpy (&value, stats + node_counters[i].offset, sizeof value);
      add_counter (out, node_counters[i].name, value);
    }
  /* Gauges and sums, named as dynkvd.1 documents them. */
  add_counter (out, "ae_keys_repaired", node->stats.ae_keys_pushed + node->stats.ae_keys_pulled);
  add_counter (out, "hints_held", dk_node_hints_held (node));
  add_counter (out, "streams_pending", dk_node_streams_pending (node));
  add_counter (out, "requests_in_flight", dk_node_requests_in_flight (node));
  add_counter (out, "joins_pending", dk_node_joins_pending (node));
  if (node->env.counters != NULL)
    node->env.counters (node->env.user_data, out);
}

/* ---- NODE_STATUS ----------------------------------------------------------- */

static guint32
ownership_ppm (const DkNode *node, DkNodeId id)
{
  double fraction = dk_ring_owned_fraction (node->ring, id);
  return (guint32) CLAMP (fraction * 1e6 + 0.5, 0.0, 1e6);
}

/* The reply goes only to a validated source (dk_node_receive): it is far
 * larger than the request. */
void
node_on_node_status (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  const DkWireNodeStatus *request = &message->body.node_status;
  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_NODE_STATUS_REPLY);
  reply->request_id = message->request_id;
  DkWireNodeStatusReply *body = &reply->body.node_status_reply;
  body->client_request_id = request->client_request_id;
  body->timestamp_us = request->timestamp_us;
  body->address = g_strdup (node->address != NULL ? node->address : "");
  body->state = dk_node_is_leaving (node) ? DK_WIRE_MEMBER_LEAVING
                : node->joining_rounds > 0 ? DK_WIRE_MEMBER_JOINING : DK_WIRE_MEMBER_UP;
  DkStoreStats store_stats;
  g_autoptr (GError) error = NULL;
  if (dk_store_get_stats (node->env.store, &store_stats, &error))
    {
      body->keys = store_stats.keys;
      body->stored_bytes = store_stats.stored_bytes;
    }
  else
    node->stats.store_errors++;
  body->hints_held = dk_node_hints_held (node);
  body->streams_pending = dk_node_streams_pending (node);
  gint64 now = node_now (node);
  body->ae_pass_age_us = node->ae_passes > 0 ? MAX (now - node->ae_last_pass_us, 0) : -1;
  body->uptime_us = MAX (now - node->started_us, 0);
  /* Members removed by an operator are gone: not listed, not counted. */
  guint listed = node->n_members - node->removed->len;
  body->members_total = listed;
  body->first_member = MIN (request->first_member, listed);
  guint end = body->first_member + MIN (request->member_limit, listed - body->first_member);
  for (guint i = 0, index = 0; i < node->n_members && index < end; i++)
    {
      const Member *member = &node->members[i];
      if (node_member_removed (node, member->id) || index++ < body->first_member)
        continue;
      const DkMemberInfo *info = dk_member_table_info (node->member_table, member->info);
      DkWireStatusMember entry = {
        .node = member->id,
        .address = g_strdup (info->address != NULL ? info->address : ""),
        .state = dk_node_peer_state (node, member->id),
        .ownership_ppm = ownership_ppm (node, member->id),
        .hints_here = member->id == node->config.id
                      ? 0 : dk_store_hint_count (node->env.store, member->id),
      };
      g_array_append_val (body->members, entry);
    }
  if (request->counters)
    {
      g_autoptr (GArray) counters = g_array_new (FALSE, FALSE, sizeof (DkCounter));
      dk_node_counters (node, counters);
      for (guint i = 0; i < counters->len && i < DK_WIRE_STATUS_COUNTERS_MAX; i++)
        {
          const DkCounter *counter = &g_array_index (counters, DkCounter, i);
          DkWireCounter entry = { g_strdup (counter->name), counter->value };
          g_array_append_val (body->counters, entry);
        }
    }
  node->stats.status_requests++;
  node_send (node, from, reply);
}
