/* autoscale.c — traffic-driven joins and leaves; see autoscale.h. */
#include "autoscale.h"

#include <math.h>

struct _DkAutoscaler
{
  DkAutoscalePolicy policy;
  DkSimCluster     *cluster;
  DkEventQueue     *queue;
  DkHistory        *history;
  FILE             *log;
  gint64            stop_us;
  guint64           ops_at_last_look;
  DkEventId         next_look;
  guint             joins;
  guint             leaves;
};

static void
note (DkAutoscaler *autoscaler, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
note (DkAutoscaler *autoscaler, const char *format, ...)
{
  if (autoscaler->log == NULL)
    return;
  va_list args;
  va_start (args, format);
  dk_sim_log_stamp (autoscaler->log, dk_eventq_now (autoscaler->queue));
  fputs ("autoscale ", autoscaler->log);
  vfprintf (autoscaler->log, format, args);
  fputc ('\n', autoscaler->log);
  va_end (args);
}

static gboolean
in_operator_ring (const DkSimCluster *cluster, DkNodeId id)
{
  return dk_ring_lookup_node (dk_sim_cluster_ring (cluster), id) != NULL;
}

static void
look (gpointer data)
{
  DkAutoscaler *autoscaler = data;
  DkSimCluster *cluster = autoscaler->cluster;
  autoscaler->next_look = 0;
  guint64 ops = dk_history_len (autoscaler->history);
  double rate = (double) (ops - autoscaler->ops_at_last_look)
                / ((double) autoscaler->policy.cooldown_us / 1e6);
  autoscaler->ops_at_last_look = ops;
  guint members = dk_sim_cluster_members (cluster);
  guint desired = (guint) ceil (rate / autoscaler->policy.target_per_s);
  desired = CLAMP (desired, autoscaler->policy.min_nodes, autoscaler->policy.max_nodes);
  g_autoptr (GError) error = NULL;
  if (desired > members)
    {
      for (DkNodeId id = 1; id <= MIN (autoscaler->policy.max_nodes, dk_sim_cluster_node_count (cluster)); id++)
        if (!dk_sim_cluster_is_member (cluster, id))
          {
            note (autoscaler, "%.0f ops/s over %u members wants %u: join %s", rate, members,
                  desired, dk_sim_cluster_node_name (cluster, id));
            if (dk_sim_cluster_join (cluster, id, &error))
              autoscaler->joins++;
            break;
          }
    }
  else if (desired < members)
    {
      for (DkNodeId id = dk_sim_cluster_node_count (cluster); id >= 1; id--)
        if (in_operator_ring (cluster, id) && dk_sim_cluster_node_is_up (cluster, id))
          {
            note (autoscaler, "%.0f ops/s over %u members wants %u: %s leaves", rate, members,
                  desired, dk_sim_cluster_node_name (cluster, id));
            if (dk_sim_cluster_leave (cluster, id, &error))
              autoscaler->leaves++;
            break;
          }
    }
  if (error != NULL)
    note (autoscaler, "failed: %s", error->message);
  if (dk_eventq_now (autoscaler->queue) + autoscaler->policy.cooldown_us <= autoscaler->stop_us)
    autoscaler->next_look = dk_eventq_schedule (autoscaler->queue, autoscaler->policy.cooldown_us,
                                                look, autoscaler);
}

DkAutoscaler *
dk_autoscaler_new (const DkAutoscalePolicy *policy, DkSimCluster *cluster, DkEventQueue *queue,
                   DkHistory *history, FILE *log, gint64 stop_us)
{
  g_return_val_if_fail (policy->target_per_s > 0 && policy->cooldown_us > 0, NULL);
  DkAutoscaler *autoscaler = g_new0 (DkAutoscaler, 1);
  autoscaler->policy = *policy;
  autoscaler->cluster = cluster;
  autoscaler->queue = queue;
  autoscaler->history = history;
  autoscaler->log = log;
  autoscaler->stop_us = stop_us;
  autoscaler->ops_at_last_look = dk_history_len (history);
  autoscaler->next_look = dk_eventq_schedule (queue, policy->cooldown_us, look, autoscaler);
  return autoscaler;
}

void
dk_autoscaler_free (DkAutoscaler *autoscaler)
{
  if (autoscaler == NULL)
    return;
  if (autoscaler->next_look != 0)
    dk_eventq_cancel (autoscaler->queue, autoscaler->next_look);
  g_free (autoscaler);
}

guint
dk_autoscaler_joins (const DkAutoscaler *autoscaler)
{
  return autoscaler->joins;
}

guint
dk_autoscaler_leaves (const DkAutoscaler *autoscaler)
{
  return autoscaler->leaves;
}
