/* run_metrics.c — what a run measured beyond the checkers' metrics: the
 * cost of the protocol (messages, bytes), and what each mechanism did
 * (read repair, gossip, hinted handoff, anti-entropy, failure detection).
 * One table, one line per metric; dk_run_metric looks up either kind. */
#include "runner.h"

#include <string.h>

typedef double (*RunMetricFunc) (const DkRunResult *result);

static double
per_op (const DkRunResult *result, double amount)
{
  double ops = (double) result->clients.invoked;
  return ops > 0 ? amount / ops : 0;
}

static double messages_sent (const DkRunResult *r) { return (double) r->network.sent; }
static double bytes_sent (const DkRunResult *r) { return (double) r->network.bytes_sent; }
static double messages_per_op (const DkRunResult *r) { return per_op (r, (double) r->network.sent); }
static double bytes_per_op (const DkRunResult *r) { return per_op (r, (double) r->network.bytes_sent); }
static double messages_lost (const DkRunResult *r) { return (double) r->network.lost; }
static double messages_cut (const DkRunResult *r) { return (double) (r->network.cut + r->network.to_crashed); }
static double read_repairs (const DkRunResult *r) { return (double) r->nodes.read_repairs_sent; }
static double forwarded (const DkRunResult *r) { return (double) r->nodes.requests_forwarded; }
static double dropped_datagrams (const DkRunResult *r)
{
  return (double) (r->nodes.dropped_malformed + r->nodes.dropped_unauthenticated);
}
static double gossip_messages (const DkRunResult *r) { return (double) r->nodes.gossip_sent; }
static double contexts_refused (const DkRunResult *r) { return (double) r->nodes.contexts_refused; }
static double context_entries_pruned (const DkRunResult *r)
{
  return (double) r->nodes.context_entries_pruned;
}
static double stand_in_refusals (const DkRunResult *r) { return (double) r->nodes.stand_in_refusals; }
static double failovers (const DkRunResult *r) { return (double) r->nodes.failovers; }
static double failover_resends (const DkRunResult *r) { return (double) r->nodes.failover_resends; }
static double peers_marked (const DkRunResult *r) { return (double) r->nodes.peers_marked_unreachable; }
static double node_dot_collisions (const DkRunResult *r) { return (double) r->nodes.dot_collisions; }
static double sets_split (const DkRunResult *r) { return (double) r->nodes.sets_split; }
static double pages_fetched (const DkRunResult *r) { return (double) r->clients.pages_fetched; }
static double sibling_limit_refusals (const DkRunResult *r)
{
  return (double) r->nodes.sibling_limit_refusals;
}
static double merges_refused_siblings (const DkRunResult *r)
{
  return (double) r->nodes.merges_refused_siblings;
}
static double suspicions (const DkRunResult *r) { return (double) r->nodes.suspicions; }
static double false_suspicions (const DkRunResult *r) { return (double) r->false_suspicion_samples; }
/* Per node per gossip round: the failure detector's cost, flat in the
 * cluster's size (node_gossip.c). */
static double gossip_bytes_per_round (const DkRunResult *r)
{
  return (double) r->nodes.gossip_bytes / (double) r->nodes.gossip_rounds;
}
static gboolean has_gossip_rounds (const DkRunResult *r) { return r->nodes.gossip_rounds > 0; }
static double sloppy_requests (const DkRunResult *r) { return (double) r->nodes.sloppy_requests; }
static double hints_kept (const DkRunResult *r) { return (double) r->nodes.hints_kept; }
static double hints_delivered (const DkRunResult *r) { return (double) r->nodes.hints_delivered; }
static double hints_refused (const DkRunResult *r) { return (double) r->nodes.hints_refused; }
static double hints_pending (const DkRunResult *r) { return (double) r->hints_pending; }
static double ae_sessions (const DkRunResult *r) { return (double) r->nodes.ae_sessions; }
static double ae_keys_repaired (const DkRunResult *r)
{
  return (double) (r->nodes.ae_keys_pushed + r->nodes.ae_keys_pulled);
}
static double ae_bytes (const DkRunResult *r) { return (double) r->nodes.ae_bytes_sent; }
static double ae_bytes_per_repaired_key (const DkRunResult *r)
{
  double keys = ae_keys_repaired (r);
  return keys > 0 ? ae_bytes (r) / keys : 0;
}
static double sim_events (const DkRunResult *r) { return (double) r->events_run; }
static double keys_moved (const DkRunResult *r) { return (double) r->nodes.keys_streamed; }
static double keys_moved_ideal (const DkRunResult *r) { return (double) r->keys_moved_ideal; }
static double keys_moved_ratio (const DkRunResult *r)
{
  return r->keys_moved_ideal > 0 ? keys_moved (r) / (double) r->keys_moved_ideal : 0;
}
static gboolean had_moves (const DkRunResult *r) { return r->keys_moved_ideal > 0; }
/* Sampled at every size now; kept so that an unsampled run would say so. */
static gboolean suspicions_sampled (const DkRunResult *r) { return r->false_suspicions_sampled; }
static double ring_changes (const DkRunResult *r) { return (double) r->nodes.ring_changes; }
static double members_max (const DkRunResult *r) { return r->members_max; }
static double last_repair_ms (const DkRunResult *r) { return r->last_repair_ms; }
static double converge_ms (const DkRunResult *r) { return r->converge_ms; }
/* No fault, or a leave never finished: not measured, never 0. */
static gboolean converge_measured (const DkRunResult *r) { return r->converge_measured; }
static double writes_forwarded (const DkRunResult *r) { return (double) r->nodes.writes_forwarded; }
static double members_final (const DkRunResult *r) { return r->members_final; }
static double autoscale_joins (const DkRunResult *r) { return r->autoscale_joins; }
static double autoscale_leaves (const DkRunResult *r) { return r->autoscale_leaves; }
static double keys_swept (const DkRunResult *r) { return (double) r->nodes.keys_swept; }
static double keys_released (const DkRunResult *r) { return (double) r->nodes.keys_released; }
static double leave_waits (const DkRunResult *r) { return (double) r->nodes.leave_waits; }
static double leaves_pending (const DkRunResult *r) { return r->leaves_pending; }

static double
detection_time_ms (const DkRunResult *r)
{
  double worst = 0;
  for (guint i = 0; i < r->detections->len; i++)
    worst = MAX (worst, g_array_index (r->detections, double, i));
  return worst;
}

static gboolean
has_detections (const DkRunResult *r)
{
  return r->detections->len > 0;
}

/* Name, how to compute it, and (NULL: always) whether this run measured it. */
static const struct
{
  const char *name;
  RunMetricFunc func;
  gboolean (*measured) (const DkRunResult *result);
} run_metrics[] = {
  { "messages", messages_sent, NULL },
  { "bytes", bytes_sent, NULL },
  { "messages_per_op", messages_per_op, NULL },
  { "bytes_per_op", bytes_per_op, NULL },
  { "messages_lost", messages_lost, NULL },
  { "messages_cut", messages_cut, NULL },
  { "read_repairs", read_repairs, NULL },
  { "forwarded_requests", forwarded, NULL },
  { "dropped_datagrams", dropped_datagrams, NULL },
  { "gossip_messages", gossip_messages, NULL },
  { "gossip_bytes_per_round", gossip_bytes_per_round, has_gossip_rounds },
  { "suspicions", suspicions, NULL },
  { "false_suspicions", false_suspicions, suspicions_sampled },
  { "detection_time_ms", detection_time_ms, has_detections },
  { "sloppy_requests", sloppy_requests, NULL },
  { "hints_kept", hints_kept, NULL },
  { "hints_delivered", hints_delivered, NULL },
  { "hints_refused", hints_refused, NULL },
  { "hints_pending", hints_pending, NULL },
  { "stand_in_refusals", stand_in_refusals, NULL },
  { "failovers", failovers, NULL },
  { "failover_resends", failover_resends, NULL },
  { "peers_marked_unreachable", peers_marked, NULL },
  { "contexts_refused", contexts_refused, NULL },
  { "context_entries_pruned", context_entries_pruned, NULL },
  { "node_dot_collisions", node_dot_collisions, NULL },
  { "sets_split", sets_split, NULL },
  { "pages_fetched", pages_fetched, NULL },
  { "sibling_limit_refusals", sibling_limit_refusals, NULL },
  { "merges_refused_siblings", merges_refused_siblings, NULL },
  { "ae_sessions", ae_sessions, NULL },
  { "ae_keys_repaired", ae_keys_repaired, NULL },
  { "ae_bytes", ae_bytes, NULL },
  { "ae_bytes_per_repaired_key", ae_bytes_per_repaired_key, NULL },
  { "ring_changes", ring_changes, NULL },
  { "keys_moved", keys_moved, NULL },
  { "keys_moved_ideal", keys_moved_ideal, NULL },
  { "keys_moved_ratio", keys_moved_ratio, had_moves },
  { "last_repair_ms", last_repair_ms, NULL },
  { "converge_ms", converge_ms, converge_measured },
  { "members_max", members_max, NULL },
  { "members_final", members_final, NULL },
  { "autoscale_joins", autoscale_joins, NULL },
  { "autoscale_leaves", autoscale_leaves, NULL },
  { "keys_swept", keys_swept, NULL },
  { "keys_released", keys_released, NULL },
  { "writes_forwarded", writes_forwarded, NULL },
  { "leave_waits", leave_waits, NULL },
  { "leaves_pending", leaves_pending, NULL },
  { "sim_events", sim_events, NULL },
};

gboolean
dk_run_metric (const DkRunResult *result, const char *name, double *value)
{
  if (dk_metric_name_valid (name))
    return dk_metrics_get (result->metrics, name, value);
  for (gsize i = 0; i < G_N_ELEMENTS (run_metrics); i++)
    if (strcmp (run_metrics[i].name, name) == 0)
      {
        if (run_metrics[i].measured != NULL && !run_metrics[i].measured (result))
          return FALSE;
        *value = run_metrics[i].func (result);
        return TRUE;
      }
  return FALSE;
}

gboolean
dk_run_metric_known (const char *name)
{
  if (dk_metric_name_valid (name))
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (run_metrics); i++)
    if (strcmp (run_metrics[i].name, name) == 0)
      return TRUE;
  return FALSE;
}

void
dk_run_metrics_append_json (const DkRunResult *result, GString *out)
{
  for (gsize i = 0; i < G_N_ELEMENTS (run_metrics); i++)
    {
      g_string_append_printf (out, ", \"%s\": ", run_metrics[i].name);
      double value;
      if (dk_run_metric (result, run_metrics[i].name, &value))
        dk_append_number (out, value);
      else
        g_string_append (out, "null");
    }
}
