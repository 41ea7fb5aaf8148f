/* cluster_events.c — the faults and membership events of a dynkv-cluster
 * run; see cluster_events.h. */
#include "cluster_events.h"

#include <string.h>
#include "net/net_config.h"
#include "wire.h"

static void
log_fault (DkClusterRun *run, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
log_fault (DkClusterRun *run, const char *format, ...)
{
  gint64 now = run->clients != NULL ? dk_net_clients_now (run->clients) : 0;
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (run->fault_log, "%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT " fault %s\n",
           now / 1000000, now % 1000000, text);
  fflush (run->fault_log);
}

static gboolean
blocked_by_drop (const DkClusterRun *run, DkNodeId from, DkNodeId to)
{
  guint64 pair = ((guint64) from << 32) | to;
  for (guint i = 0; i < run->drops->len; i++)
    if (g_array_index (run->drops, guint64, i) == pair)
      return TRUE;
  return FALSE;
}

/* The routes for the sides and drops now: every pair across two sides,
 * both ways, and every drop. */
static gboolean
apply_network (DkClusterRun *run, GError **error)
{
  if (!dk_netns_heal (run->netns, error))
    return FALSE;
  for (DkNodeId from = 1; from <= run->nodes; from++)
    for (DkNodeId to = 1; to <= run->nodes; to++)
      if (from != to && (run->side[from] != run->side[to] || blocked_by_drop (run, from, to))
          && !dk_netns_block (run->netns, from, to, error))
        return FALSE;
  return TRUE;
}

/* As sim/cluster.c: a client beside HOME reaches NODE when NODE runs, is on
 * HOME's side and HOME -> NODE is not dropped. */
gboolean
dk_cluster_client_reaches (DkNodeId home, DkNodeId node, gpointer user_data)
{
  DkClusterRun *run = user_data;
  return dk_net_daemons_running (run->daemons, node) && run->side[home] == run->side[node]
         && !blocked_by_drop (run, home, node);
}

/* As dk_sim_cluster_partition_side: 0 no partition, 1 a smaller side, 2
 * a largest one. */
guint8
dk_cluster_client_side (DkNodeId home, gpointer user_data)
{
  DkClusterRun *run = user_data;
  if (run->side[home] == 0)
    return 0;
  g_autofree guint *sizes = g_new0 (guint, run->nodes + 2);
  guint largest = 0;
  for (DkNodeId id = 1; id <= run->nodes; id++)
    sizes[MIN (run->side[id], run->nodes + 1)]++;
  for (guint side = 1; side <= run->nodes + 1; side++)
    largest = MAX (largest, sizes[side]);
  return sizes[MIN (run->side[home], run->nodes + 1)] == largest ? 2 : 1;
}

static GString *
group_text (const DkClusterRun *run, const DkGroup *group, GArray **nodes)
{
  *nodes = dk_scenario_group_nodes (run->scenario, group);
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < (*nodes)->len; i++)
    g_string_append_printf (text, "%sn%u", i > 0 ? " " : "",
                            g_array_index (*nodes, DkNodeId, i));
  return text;
}

/* The ring of the members now, as the nodes compute it (dk_net_ring_new
 * of the same peers), leaving out the awaited joiners when BUT_AWAITED. */
static DkRing *
members_ring (DkClusterRun *run, gboolean but_awaited, GError **error)
{
  g_autoptr (GArray) peers = dk_net_peers_new ();
  for (DkNodeId id = 1; id <= run->nodes; id++)
    if (dk_net_daemons_is_member (run->daemons, id) && !(but_awaited && run->awaited[id])
        && !dk_net_peers_add (peers, id, dk_net_daemons_address (run->daemons, id), error))
      return NULL;
  return dk_net_ring_new (peers, run->scenario->cluster.vnodes, error);
}

/* The members' ring, and the clients': they choose coordinators on the
 * members but a joiner not every member lists yet (probe_answered). */
gboolean
dk_cluster_update_ring (DkClusterRun *run, GError **error)
{
  DkRing *ring = members_ring (run, FALSE, error);
  if (ring == NULL)
    return FALSE;
  DkRing *client_ring = members_ring (run, TRUE, error);
  if (client_ring == NULL)
    {
      dk_ring_free (ring);
      return FALSE;
    }
  if (run->clients != NULL)
    dk_net_clients_set_ring (run->clients, client_ring);
  g_clear_pointer (&run->ring, dk_ring_free);
  g_clear_pointer (&run->client_ring, dk_ring_free);
  run->ring = ring;
  run->client_ring = client_ring;
  return TRUE;
}

/* ---- joiners: the clients use one once every member lists it ------------- */

#define PROBE_INTERVAL_MS 10

static guint64
probe_pair (DkNodeId joiner, DkNodeId node)
{
  return ((guint64) joiner << 32) | node;
}

/* Ask node ID (NODE_STATUS, signed) for its member list about JOINER. */
static void
probe_send (DkClusterRun *run, DkNodeId joiner, DkNodeId id)
{
  g_autoptr (DkWireMessage) request = dk_wire_message_new (DK_WIRE_NODE_STATUS);
  request->request_id = probe_pair (joiner, id);
  request->body.node_status.client_request_id = request->request_id;
  request->body.node_status.timestamp_us = g_get_monotonic_time ();
  request->body.node_status.member_limit = DK_WIRE_STATUS_MEMBERS_MAX;
  g_autoptr (GByteArray) datagram = dk_wire_encode (request, NULL);
  if (datagram == NULL)
    return;
  DkWireStamp stamp = { g_get_real_time (), g_random_int () | ((guint64) g_random_int () << 32),
                        id };
  dk_wire_sign_stamped (datagram, g_bytes_get_data (run->key, NULL),
                        g_bytes_get_size (run->key), &stamp);
  g_autoptr (GInetSocketAddress) to = dk_net_resolve (dk_net_daemons_address (run->daemons, id),
                                                      FALSE, NULL);
  if (to != NULL)
    g_socket_send_to (run->probe, G_SOCKET_ADDRESS (to), (const gchar *) datagram->data,
                      datagram->len, NULL, NULL);
}

/* Every running member, JOINER too, lists JOINER. */
static gboolean
probe_answered (const DkClusterRun *run, DkNodeId joiner)
{
  for (DkNodeId id = 1; id <= run->nodes; id++)
    if (dk_net_daemons_is_member (run->daemons, id) && dk_net_daemons_running (run->daemons, id)
        && !g_hash_table_contains (run->probe_seen, &(guint64) { probe_pair (joiner, id) }))
      return FALSE;
  return TRUE;
}

/* Every awaited joiner every member lists now joins the clients' ring;
 * the probes stop when none is awaited. */
static void
probe_settle (DkClusterRun *run)
{
  gboolean changed = FALSE, waiting = FALSE;
  for (DkNodeId id = 1; id <= run->nodes; id++)
    if (run->awaited[id])
      {
        if (!dk_net_daemons_is_member (run->daemons, id) || probe_answered (run, id))
          {
            run->awaited[id] = FALSE;
            changed = TRUE;
            if (dk_net_daemons_is_member (run->daemons, id))
              log_fault (run, "clients use n%u (every member lists it)", id);
          }
        else
          waiting = TRUE;
      }
  if (changed && run->error == NULL && !dk_cluster_update_ring (run, &run->error))
    g_prefix_error (&run->error, "ring: ");
  if (!waiting)
    dk_cluster_probe_clear (run);
}

static gboolean
probe_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  DkClusterRun *run = user_data;
  (void) condition;
  guint8 buffer[65536];
  for (;;)
    {
      gssize len = g_socket_receive (socket, (gchar *) buffer, sizeof buffer, NULL, NULL);
      if (len < 0)
        break;
      if (!dk_wire_verify (buffer, (gsize) len, g_bytes_get_data (run->key, NULL),
                           g_bytes_get_size (run->key), NULL))
        continue;
      g_autoptr (DkWireMessage) reply = dk_wire_decode (buffer, (gsize) len, NULL);
      if (reply == NULL || reply->type != DK_WIRE_NODE_STATUS_REPLY)
        continue;
      DkNodeId joiner = (DkNodeId) (reply->request_id >> 32);
      GArray *members = reply->body.node_status_reply.members;
      for (guint i = 0; i < members->len; i++)
        if (g_array_index (members, DkWireStatusMember, i).node == joiner)
          g_hash_table_add (run->probe_seen, g_memdup2 (&reply->request_id, sizeof (guint64)));
    }
  if (run->probe_seen != NULL)
    probe_settle (run);
  return G_SOURCE_CONTINUE;
}

static gboolean
probe_tick (gpointer user_data)
{
  DkClusterRun *run = user_data;
  for (DkNodeId joiner = 1; joiner <= run->nodes; joiner++)
    if (run->awaited[joiner])
      for (DkNodeId id = 1; id <= run->nodes; id++)
        if (dk_net_daemons_is_member (run->daemons, id) && dk_net_daemons_running (run->daemons, id)
            && !g_hash_table_contains (run->probe_seen, &(guint64) { probe_pair (joiner, id) }))
          probe_send (run, joiner, id);
  probe_settle (run);   /* a joiner that left meanwhile, or a member down */
  return G_SOURCE_CONTINUE;
}

/* Await JOINER: the clients leave it out of their ring until every
 * member lists it. */
static gboolean
probe_start (DkClusterRun *run, DkNodeId joiner, GError **error)
{
  run->awaited[joiner] = TRUE;
  if (run->probe == NULL)
    {
      run->probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_UDP, error);
      if (run->probe == NULL)
        return FALSE;
      g_socket_set_blocking (run->probe, FALSE);
      g_autoptr (GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GSocketAddress) local = g_inet_socket_address_new (any, 0);
      if (!g_socket_bind (run->probe, local, FALSE, error))
        return FALSE;
      run->probe_seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      run->probe_source = g_socket_create_source (run->probe, G_IO_IN, NULL);
      g_source_set_callback (run->probe_source, G_SOURCE_FUNC (probe_readable), run, NULL);
      g_source_attach (run->probe_source, NULL);
      run->probe_timer = g_timeout_source_new (PROBE_INTERVAL_MS);
      g_source_set_callback (run->probe_timer, probe_tick, run, NULL);
      g_source_attach (run->probe_timer, NULL);
    }
  /* A joiner that joins again is asked about afresh. */
  for (DkNodeId id = 1; id <= run->nodes; id++)
    g_hash_table_remove (run->probe_seen, &(guint64) { probe_pair (joiner, id) });
  probe_tick (run);
  return TRUE;
}

void
dk_cluster_probe_clear (DkClusterRun *run)
{
  if (run->probe_source != NULL)
    g_source_destroy (run->probe_source);
  if (run->probe_timer != NULL)
    g_source_destroy (run->probe_timer);
  g_clear_pointer (&run->probe_source, g_source_unref);
  g_clear_pointer (&run->probe_timer, g_source_unref);
  g_clear_pointer (&run->probe_seen, g_hash_table_destroy);
  if (run->probe != NULL)
    g_socket_close (run->probe, NULL);
  g_clear_object (&run->probe);
}

/* join and leave, as the simulator's: a join starts the node with
 * --joining (the members admit it as it asks: --auto-admit), a leave
 * sends SIGUSR2 (the node hands its ranges off and exits). */
static gboolean
apply_membership (DkClusterRun *run, const DkEvent *event, DkNodeId id, GError **error)
{
  gboolean member = dk_net_daemons_is_member (run->daemons, id);
  if (event->kind == DK_EVENT_JOIN)
    {
      if (member)
        {
          log_fault (run, "join n%u (already a member)", id);
          return TRUE;
        }
      /* A new life on an empty store, as the simulator's (a node that left
       * and joins again, or is still handing off, loses what it had). */
      dk_net_daemons_set_member (run->daemons, id, TRUE, TRUE);
      if (!dk_net_daemons_wipe (run->daemons, id, error) || !probe_start (run, id, error)
          || !dk_cluster_update_ring (run, error))
        return FALSE;
      log_fault (run, "join n%u (%u members)", id, dk_ring_node_count (run->ring));
      return TRUE;
    }
  if (!member)
    {
      log_fault (run, "leave n%u (not a member)", id);
      return TRUE;
    }
  log_fault (run, "leave n%u%s", id, dk_net_daemons_running (run->daemons, id)
                                     ? "" : " (down: nobody is told, it stays out of the ring)");
  dk_net_daemons_leave (run->daemons, id);
  return dk_cluster_update_ring (run, error);
}

gboolean
dk_cluster_apply_event (DkClusterRun *run, const DkEvent *event, GError **error)
{
  switch (event->kind)
    {
    case DK_EVENT_PARTITION:
      {
        g_autoptr (GString) line = g_string_new ("partition");
        for (DkNodeId id = 1; id <= run->nodes; id++)
          run->side[id] = event->groups->len + 1;
        for (guint g = 0; g < event->groups->len; g++)
          {
            g_autoptr (GArray) nodes = NULL;
            g_autoptr (GString) text = group_text (run, g_ptr_array_index (event->groups, g),
                                                   &nodes);
            for (guint i = 0; i < nodes->len; i++)
              run->side[g_array_index (nodes, DkNodeId, i)] = g + 1;
            g_string_append_printf (line, " {%s}", text->str);
          }
        log_fault (run, "%s", line->str);
        return apply_network (run, error);
      }
    case DK_EVENT_DROP:
      {
        g_autoptr (GArray) from = dk_scenario_group_nodes (run->scenario,
                                                           g_ptr_array_index (event->groups, 0));
        g_autoptr (GArray) to = dk_scenario_group_nodes (run->scenario,
                                                         g_ptr_array_index (event->groups, 1));
        for (guint i = 0; i < from->len; i++)
          for (guint j = 0; j < to->len; j++)
            {
              DkNodeId a = g_array_index (from, DkNodeId, i), b = g_array_index (to, DkNodeId, j);
              guint64 pair = ((guint64) a << 32) | b;
              if (a != b && !blocked_by_drop (run, a, b))
                g_array_append_val (run->drops, pair);
              log_fault (run, "drop n%u -> n%u", a, b);
            }
        return apply_network (run, error);
      }
    case DK_EVENT_HEAL:
      memset (run->side, 0, (run->nodes + 1) * sizeof *run->side);
      g_array_set_size (run->drops, 0);
      log_fault (run, "heal");
      return apply_network (run, error);
    case DK_EVENT_JOIN:
    case DK_EVENT_LEAVE:
      {
        g_autoptr (GArray) nodes = NULL;
        g_autoptr (GString) text = group_text (run, g_ptr_array_index (event->groups, 0), &nodes);
        for (guint i = 0; i < nodes->len; i++)
          if (!apply_membership (run, event, g_array_index (nodes, DkNodeId, i), error))
            return FALSE;
        return TRUE;
      }
    case DK_EVENT_CRASH:
    case DK_EVENT_RESTART:
    case DK_EVENT_WIPE:
      {
        g_autoptr (GArray) nodes = NULL;
        g_autoptr (GString) text = group_text (run, g_ptr_array_index (event->groups, 0), &nodes);
        for (guint i = 0; i < nodes->len; i++)
          {
            DkNodeId id = g_array_index (nodes, DkNodeId, i);
            gboolean running = dk_net_daemons_running (run->daemons, id);
            if (event->kind != DK_EVENT_CRASH && !dk_net_daemons_is_member (run->daemons, id))
              {
                log_fault (run, "%s n%u (not a member)", dk_event_kind_name (event->kind), id);
                continue;
              }
            log_fault (run, "%s n%u", dk_event_kind_name (event->kind), id);
            if (event->kind == DK_EVENT_CRASH)
              dk_net_daemons_crash (run->daemons, id);
            else if (event->kind == DK_EVENT_WIPE)
              {
                if (!dk_net_daemons_wipe (run->daemons, id, error))
                  return FALSE;
              }
            else if (!running && !dk_net_daemons_start (run->daemons, id, error))
              return FALSE;
          }
        return TRUE;
      }
    case DK_EVENT_RATE:
      log_fault (run, "rate %g/s", event->rate_per_s);
      dk_net_clients_set_rate (run->clients, event->rate_per_s);
      return TRUE;
    default:
      g_assert_not_reached ();   /* check_runnable refused it */
    }
}

/* The end of the run, as the simulator's: every fault stops. */
gboolean
dk_cluster_end_faults (DkClusterRun *run, GError **error)
{
  gint64 now = dk_net_clients_now (run->clients);
  fprintf (run->fault_log, "%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT
           " run ends: every fault stops, the cluster settles for %.3f s\n",
           now / 1000000, now % 1000000, run->scenario->settle_us / 1e6);
  memset (run->side, 0, (run->nodes + 1) * sizeof *run->side);
  g_array_set_size (run->drops, 0);
  log_fault (run, "heal");
  if (!apply_network (run, error))
    return FALSE;
  for (DkNodeId id = 1; id <= run->nodes; id++)
    if (dk_net_daemons_is_member (run->daemons, id) && !dk_net_daemons_running (run->daemons, id))
      {
        log_fault (run, "restart n%u", id);
        if (!dk_net_daemons_start (run->daemons, id, error))
          return FALSE;
      }
  return TRUE;
}

