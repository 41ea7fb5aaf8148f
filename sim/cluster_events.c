/* cluster_events.c — the faults and membership events of a dynkv-cluster
 * run; see cluster_events.h. */
#include "cluster_events.h"

#include <string.h>
#include "net/net_config.h"

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
 * of the same peers); the clients choose coordinators on it from now. */
gboolean
dk_cluster_update_ring (DkClusterRun *run, GError **error)
{
  g_autoptr (GArray) peers = dk_net_peers_new ();
  for (DkNodeId id = 1; id <= run->nodes; id++)
    if (dk_net_daemons_is_member (run->daemons, id)
        && !dk_net_peers_add (peers, id, dk_net_daemons_address (run->daemons, id), error))
      return FALSE;
  DkRing *ring = dk_net_ring_new (peers, run->scenario->cluster.vnodes, error);
  if (ring == NULL)
    return FALSE;
  if (run->clients != NULL)
    dk_net_clients_set_ring (run->clients, ring);
  g_clear_pointer (&run->ring, dk_ring_free);
  run->ring = ring;
  return TRUE;
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
      if (!dk_net_daemons_wipe (run->daemons, id, error) || !dk_cluster_update_ring (run, error))
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

