/* runner.c — one simulated run from a scenario to its measurements; see
 * runner.h. */
#include "config.h"
#include "runner.h"
#include "autoscale.h"
#include "detector.h"
#include "final_collect.h"
#include "nemesis.h"
#include "plots.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

/* How often the runner samples cluster-level series (nodes up, messages). */
#define SAMPLE_INTERVAL_US 1000000

typedef struct _Run Run;

typedef struct
{
  Run            *run;
  const DkEvent  *event;
} ScheduledEvent;

typedef struct
{
  gint64  t_us;
  guint   nodes_up;
  guint64 messages;
  guint   suspected_pairs;   /* (observer, peer) both up, peer not believed up */
  guint   false_suspicions;  /* ... of which the network lets them talk */
  guint   members;           /* the operator's ring */
  guint64 hints_held;
} Sample;

struct _Run
{
  const DkScenario *scenario;
  const DkRunOptions *options;
  DkEventQueue     *queue;
  DkSimCluster     *cluster;
  DkWorkload       *workload;
  DkHistory        *history;
  DkDetectorWatch  *detector;
  GArray           *samples;       /* of Sample */
  guint64           messages_at_last_sample;
  guint64           false_suspicion_total;
  guint64           keys_moved_ideal;
  guint             members_max;
  GArray           *scheduled;     /* of ScheduledEvent */
  gint64            wall_last_progress_us;
  GError           *error;         /* why the run cannot go on (the first reason), or NULL */
};

/* EVENT (NULL: the end of the run) could not be applied.  The run stops
 * at the next slice and ends as an error naming the line and the reason
 * (dynsim exits 2), never as an abort. */
static void
run_fail (Run *run, const DkEvent *event, const GError *error)
{
  if (run->error != NULL)
    return;
  if (event != NULL)
    run->error = g_error_new (DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_INVALID,
                              "%s:%u: the run cannot go on: %s", run->scenario->name,
                              event->line, error->message);
  else
    run->error = g_error_new (DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_INVALID,
                              "%s: the run cannot settle: %s", run->scenario->name,
                              error->message);
}

/* ---- translating the scenario ------------------------------------------- */

static void
link_model_from_spec (const DkScenario *scenario, const DkLinkSpec *spec, DkLinkModel *model)
{
  model->latency = spec->has_latency ? spec->latency : scenario->network.latency;
  model->use_legs = !spec->has_latency;
  model->extra_us = spec->has_extra ? spec->extra_us : 0;
  model->loss = spec->has_loss ? spec->loss : scenario->network.loss;
  model->dup = spec->has_dup ? spec->dup : scenario->network.dup;
}

static void
cluster_config_from_scenario (const DkScenario *scenario, DkSimClusterConfig *config,
                              GPtrArray *warnings)
{
  const DkClusterSpec *spec = &scenario->cluster;
  const DkOptionsSpec *options = &scenario->options;
  dk_sim_cluster_config_init (config);
  config->seed = scenario->seed;
  config->nodes = spec->nodes;
  config->datacenters = spec->dcs > 1 ? spec->dcs : 0;
  config->racks = spec->racks > 1 ? spec->racks : 0;
  if (spec->ring == DK_SCENARIO_RING_PARTITIONS)
    {
      config->ring_strategy = DK_RING_EQUAL_PARTITIONS;
      config->vnodes = MAX (1u, spec->partitions / MAX (spec->nodes, 1u));
    }
  else
    config->vnodes = spec->vnodes;
  config->clients = scenario->workload.clients;
  config->max_nodes = MAX (dk_scenario_max_node (scenario),
                           options->autoscale ? options->autoscale_max : 0);
  config->node.n = spec->n;
  config->node.r = spec->r;
  config->node.w = spec->w;
  config->node.request_timeout_us = options->request_timeout_us;
  config->node.read_repair = options->read_repair;
  config->node.read_all_replicas = options->read_all;
  config->node.vclock_prune_entries = options->vclock_prune;
  config->node.versioning = options->versioning;
  config->node.bug = (DkNodeBug) options->inject_bug;
  config->node.gossip_interval_us = options->gossip_us;
  config->node.suspect_after_us = options->suspect_after_us;
  config->node.sloppy_quorum = options->sloppy_quorum;
  config->node.hinted_handoff = options->hinted_handoff;
  config->node.failover = options->failover;
  config->node.anti_entropy_interval_us = options->anti_entropy_us;
  config->store.cache_bytes = options->cache_bytes;
  config->store.compress_threshold_bytes = options->compress_above_bytes;
  config->store.tombstone_grace_us = options->tombstone_grace_us;
  config->store.hints_max_count = options->hint_limit;
  config->network.latency = scenario->network.latency;
  for (int leg = 0; leg < DK_LEG_COUNT; leg++)
    config->legs[leg] = dk_scenario_leg (scenario, leg);
  /* The PBS paper's WARS model: a coordinator that is none of the key's
   * replicas coordinates the request itself, with no forwarding hop. */
  if (options->coordinator == DK_SCENARIO_COORDINATOR_PROXY)
    config->node.max_forward_hops = 0;
  config->clock_skew = scenario->options.clock_skew;
  config->network.loss = scenario->network.loss;
  config->network.dup = scenario->network.dup;

  /* Mechanisms not built yet: say plainly that they are off. */
  if (options->hinted_handoff && !options->sloppy_quorum)
    g_ptr_array_add (warnings, g_strdup ("hinted_handoff=on does nothing without sloppy_quorum=on: "
                                         "only stand-ins keep hints"));
}

static gboolean
check_supported (const DkScenario *scenario, GError **error)
{
  for (guint i = 0; i < scenario->events->len; i++)
    {
      const DkEvent *event = g_ptr_array_index (scenario->events, i);
      if ((event->kind == DK_EVENT_JOIN || event->kind == DK_EVENT_LEAVE)
          && scenario->cluster.ring == DK_SCENARIO_RING_PARTITIONS)
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_INVALID,
                       "%s:%u: '%s' needs ring=random: an equal-partitions ring is fixed "
                       "in this version", scenario->name, event->line,
                       dk_event_kind_name (event->kind));
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- events -------------------------------------------------------------- */

static GArray *
group_nodes (Run *run, const DkEvent *event, guint index)
{
  return dk_scenario_group_nodes (run->scenario, g_ptr_array_index (event->groups, index));
}

typedef struct
{
  GHashTable *keys;   /* every key some member holds: GBytes set */
} KeySet;

static gboolean
note_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  g_hash_table_add (((KeySet *) user_data)->keys, g_bytes_ref (key));
  return TRUE;
}

/* The ideal cost of NODE joining (or leaving): how many (key, new replica)
 * pairs the membership change creates, over the keys the cluster holds
 * now.  A perfect rebalance streams exactly these. */
static guint64
ideal_moves (Run *run, DkNodeId node, gboolean joining)
{
  DkSimCluster *cluster = run->cluster;
  if (joining == dk_sim_cluster_is_member (cluster, node))
    return 0;
  KeySet set = { g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                        (GDestroyNotify) g_bytes_unref, NULL) };
  for (DkNodeId id = 1; id <= dk_sim_cluster_node_count (cluster); id++)
    {
      DkStore *store = dk_sim_cluster_store (cluster, id);
      if (store != NULL)
        dk_store_scan (store, 0, 0, note_key, &set, NULL);
    }
  /* The ring after the change: the operator's ring plus or minus NODE. */
  const DkRing *before = dk_sim_cluster_ring (cluster);
  g_autoptr (DkRing) after = dk_ring_copy (before);
  if (joining)
    {
      DkRingNode member = { .id = node, .name = dk_sim_cluster_node_name (cluster, node),
                            .datacenter = dk_sim_cluster_node_datacenter (cluster, node),
                            .weight = 1 };
      dk_ring_add_node (after, &member, NULL);
    }
  else
    dk_ring_remove_node (after, node, NULL);
  guint n = run->scenario->cluster.n;
  guint64 moves = 0;
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, set.keys);
  while (g_hash_table_iter_next (&iter, &key, NULL))   /* a sum: the order cannot matter */
    {
      gsize len;
      const guint8 *bytes = g_bytes_get_data (key, &len);
      DkToken token = dk_ring_key_token (bytes, len);
      DkNodeId old_list[DK_RING_MAX_REPLICAS], new_list[DK_RING_MAX_REPLICAS];
      guint old_n = dk_ring_preference_list (before, token, n, old_list);
      guint new_n = dk_ring_preference_list (after, token, n, new_list);
      for (guint i = 0; i < new_n; i++)
        {
          gboolean had = FALSE;
          for (guint j = 0; j < old_n; j++)
            had = had || old_list[j] == new_list[i];
          moves += !had;
        }
    }
  g_hash_table_destroy (set.keys);
  return moves;
}

static void
apply_event (gpointer data)
{
  ScheduledEvent *scheduled = data;
  Run *run = scheduled->run;
  const DkEvent *event = scheduled->event;
  DkSimCluster *cluster = run->cluster;
  switch (event->kind)
    {
    case DK_EVENT_PARTITION:
      {
        g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
        for (guint g = 0; g < event->groups->len; g++)
          g_ptr_array_add (groups, group_nodes (run, event, g));
        dk_sim_cluster_partition (cluster, groups);
        break;
      }
    case DK_EVENT_DROP:
      {
        g_autoptr (GArray) from = group_nodes (run, event, 0);
        g_autoptr (GArray) to = group_nodes (run, event, 1);
        for (guint i = 0; i < from->len; i++)
          for (guint j = 0; j < to->len; j++)
            dk_sim_cluster_drop (cluster, g_array_index (from, DkNodeId, i),
                                 g_array_index (to, DkNodeId, j));
        break;
      }
    case DK_EVENT_HEAL:
      dk_sim_cluster_heal (cluster);
      break;
    case DK_EVENT_CRASH:
    case DK_EVENT_RESTART:
    case DK_EVENT_WIPE:
      {
        g_autoptr (GArray) targets = group_nodes (run, event, 0);
        for (guint i = 0; i < targets->len; i++)
          {
            DkNodeId id = g_array_index (targets, DkNodeId, i);
            g_autoptr (GError) error = NULL;
            if (event->kind == DK_EVENT_CRASH)
              {
                gboolean was_up = dk_sim_cluster_node_is_up (cluster, id);
                dk_sim_cluster_crash (cluster, id);
                if (was_up)
                  dk_detector_watch_crash (run->detector, id);
              }
            else if (event->kind == DK_EVENT_RESTART)
              dk_sim_cluster_restart (cluster, id, &error);
            else
              dk_sim_cluster_wipe (cluster, id, &error);
            if (error != NULL)
              run_fail (run, event, error);
          }
        break;
      }
    case DK_EVENT_LATENCY:
      dk_sim_cluster_set_latency (cluster, &event->latency);
      break;
    case DK_EVENT_LOSS:
      dk_sim_cluster_set_loss (cluster, event->probability);
      break;
    case DK_EVENT_DUP:
      dk_sim_cluster_set_dup (cluster, event->probability);
      break;
    case DK_EVENT_RATE:
      dk_workload_set_rate (run->workload, event->rate_per_s);
      if (run->options->fault_log != NULL)
        {
          dk_sim_log_stamp (run->options->fault_log, dk_eventq_now (run->queue));
          fprintf (run->options->fault_log, "workload rate %g/s\n", event->rate_per_s);
        }
      break;
    case DK_EVENT_JOIN:
    case DK_EVENT_LEAVE:
      {
        g_autoptr (GArray) targets = group_nodes (run, event, 0);
        for (guint i = 0; i < targets->len; i++)
          {
            DkNodeId id = g_array_index (targets, DkNodeId, i);
            g_autoptr (GError) error = NULL;
            run->keys_moved_ideal += ideal_moves (run, id, event->kind == DK_EVENT_JOIN);
            gboolean ok = event->kind == DK_EVENT_JOIN ? dk_sim_cluster_join (cluster, id, &error)
                                                       : dk_sim_cluster_leave (cluster, id, &error);
            if (!ok)
              run_fail (run, event, error);
          }
        break;
      }
    }
}

/* The end of the run: stop every fault so the cluster can settle. */
static void
stop_faults (gpointer data)
{
  Run *run = data;
  const DkScenario *scenario = run->scenario;
  if (run->options->fault_log != NULL)
    {
      dk_sim_log_stamp (run->options->fault_log, scenario->run_us);
      fprintf (run->options->fault_log, "run ends: every fault stops, the cluster settles for %.3f s\n",
               scenario->settle_us / 1e6);
    }
  dk_sim_cluster_heal (run->cluster);
  for (DkNodeId id = 1; id <= dk_sim_cluster_node_count (run->cluster); id++)
    if (dk_sim_cluster_is_member (run->cluster, id) && !dk_sim_cluster_node_is_up (run->cluster, id))
      {
        g_autoptr (GError) error = NULL;
        if (!dk_sim_cluster_restart (run->cluster, id, &error))
          run_fail (run, NULL, error);
      }
  dk_sim_cluster_set_latency (run->cluster, &scenario->network.latency);
  dk_sim_cluster_set_loss (run->cluster, scenario->network.loss);
  dk_sim_cluster_set_dup (run->cluster, scenario->network.dup);
}

static void
show_progress (Run *run, gboolean final)
{
  FILE *terminal = run->options->progress;
  if (terminal == NULL)
    return;
  gint64 wall = g_get_monotonic_time ();
  if (!final && wall - run->wall_last_progress_us < 200000)
    return;
  run->wall_last_progress_us = wall;
  gint64 total = run->scenario->run_us + run->scenario->settle_us;
  gint64 now = MIN (dk_eventq_now (run->queue), total);
  fprintf (terminal, "\r%s%s%5.1f / %.1f s simulated, %" G_GUINT64_FORMAT " operations%s",
           run->options->progress_label ? run->options->progress_label : "",
           run->options->progress_label ? ": " : "",
           now / 1e6, total / 1e6, dk_history_len (run->history), final ? "\n" : "");
  fflush (terminal);
}

static void
take_sample (gpointer data)
{
  Run *run = data;
  guint64 sent = dk_sim_cluster_net_stats (run->cluster)->sent;
  Sample sample = {
    .t_us = dk_eventq_now (run->queue),
    .nodes_up = dk_sim_cluster_nodes_up (run->cluster),
    .messages = sent - run->messages_at_last_sample,
    .members = dk_sim_cluster_members (run->cluster),
  };
  run->members_max = MAX (run->members_max, sample.members);
  sample.suspected_pairs = dk_detector_watch_sample (run->detector, &sample.false_suspicions);
  for (DkNodeId id = 1; id <= dk_sim_cluster_node_count (run->cluster); id++)
    {
      DkNode *node = dk_sim_cluster_node (run->cluster, id);
      if (node != NULL)
        sample.hints_held += dk_node_hints_held (node);
    }
  run->messages_at_last_sample = sent;
  g_array_append_val (run->samples, sample);
  show_progress (run, FALSE);
  if (sample.t_us + SAMPLE_INTERVAL_US <= run->scenario->run_us + run->scenario->settle_us)
    dk_eventq_schedule (run->queue, SAMPLE_INTERVAL_US, take_sample, run);
}

/* ---- the end of a run ----------------------------------------------------- */

/* The stores of the cluster's nodes, for two threads to collect. */
static DkCollectShare *
share_stores (Run *run)
{
  guint n = dk_sim_cluster_node_count (run->cluster);
  g_autofree DkStore **stores = g_new0 (DkStore *, MAX (n, 1));
  for (DkNodeId id = 1; id <= n; id++)
    stores[id - 1] = dk_sim_cluster_store (run->cluster, id);   /* NULL: never joined, or left */
  /* Nothing reads the rows after this (the teardown only closes the
   * stores), so each is freed by the thread that collected it, while the
   * other thread collects: the teardown has less to free. */
  return dk_collect_share_new (stores, n, TRUE);
}

/* The final state from this thread's part of SHARE and the part OTHER
 * (collected from the top by the other thread, NULL when it failed with
 * OTHER_ERROR, taken); the preference lists are set later. */
static DkFinalState *
collect_final_state (Run *run, DkCollectShare *share, GThread *other_thread,
                     DkFinalState **other, GError **other_error, GError **error)
{
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  gboolean ok = dk_final_state_collect_shared (final, share, FALSE, error);
  if (other_thread != NULL)
    g_thread_join (other_thread);
  if (ok && *other_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (other_error));
      ok = FALSE;
    }
  g_clear_error (other_error);
  if (!ok)
    return NULL;
  dk_final_state_merge (final, g_steal_pointer (other));
  return g_steal_pointer (&final);
}

static void
add_sample_columns (Run *run, DkMetrics *metrics)
{
  DkTimeseries *series = dk_metrics_timeseries (metrics);
  guint nodes_up = dk_timeseries_add_column (series, "nodes_up", DK_SERIES_SAMPLE);
  guint messages = dk_timeseries_add_column (series, "messages", DK_SERIES_COUNT);
  guint suspected = dk_timeseries_add_column (series, "suspected_pairs", DK_SERIES_SAMPLE);
  guint false_suspicions = dk_timeseries_add_column (series, "false_suspicions", DK_SERIES_SAMPLE);
  guint hints = dk_timeseries_add_column (series, "hints_held", DK_SERIES_SAMPLE);
  guint members = dk_timeseries_add_column (series, "members", DK_SERIES_SAMPLE);
  for (guint i = 0; i < run->samples->len; i++)
    {
      const Sample *sample = &g_array_index (run->samples, Sample, i);
      /* A sample at time T describes the second that ends at T. */
      gint64 t = MAX (sample->t_us - 1, 0);
      dk_timeseries_set (series, nodes_up, t, sample->nodes_up);
      dk_timeseries_add (series, messages, t, (double) sample->messages);
      dk_timeseries_set (series, suspected, t, sample->suspected_pairs);
      dk_timeseries_set (series, false_suspicions, t, sample->false_suspicions);
      dk_timeseries_set (series, hints, t, (double) sample->hints_held);
      dk_timeseries_set (series, members, t, sample->members);
      run->false_suspicion_total += sample->false_suspicions;
    }
}

static void
judge_expects (DkRunResult *result)
{
  result->expects = g_array_new (FALSE, TRUE, sizeof (DkExpectResult));
  result->all_hold = TRUE;
  for (guint i = 0; i < result->scenario->expects->len; i++)
    {
      DkExpectResult judged = { .expect = g_ptr_array_index (result->scenario->expects, i) };
      judged.measured = dk_run_metric (result, judged.expect->metric, &judged.actual);
      judged.holds = judged.measured && dk_expect_holds (judged.expect, judged.actual);
      result->all_hold = result->all_hold && judged.holds;
      g_array_append_val (result->expects, judged);
    }
}

/* The operations' checks (dk_check_history_operations), then a share of
 * the final state's collection, from the top: only when the stores keep
 * their rows in memory, since SQLite is set up for one thread at a time
 * (dk_store_use_from_one_thread) and two connections read at once on two
 * threads would break that. */
typedef struct
{
  const DkHistory *history;
  DkMetrics       *metrics;
  gboolean         collect;
  DkCollectShare  *share;
  DkFinalState    *final;     /* out: the stores collected; NULL on an error */
  GError          *error;     /* out */
} CheckStart;

static gpointer
check_start_run (gpointer data)
{
  CheckStart *start = data;
  dk_check_history_operations (start->metrics, start->history);
  start->final = dk_final_state_new ();
  if (start->collect && !dk_final_state_collect_shared (start->final, start->share, TRUE, &start->error))
    g_clear_pointer (&start->final, dk_final_state_free);
  return NULL;
}

/* What a finished run frees, in dependency order: the workload uses the
 * cluster, both the queue. */
typedef struct
{
  DkAutoscaler    *autoscaler;
  DkWorkload      *workload;
  DkDetectorWatch *detector;
  DkSimCluster    *cluster;
  DkEventQueue    *queue;
} Teardown;

static gpointer
teardown_run (gpointer data)
{
  Teardown *teardown = data;
  g_clear_pointer (&teardown->autoscaler, dk_autoscaler_free);
  g_clear_pointer (&teardown->workload, dk_workload_free);
  g_clear_pointer (&teardown->detector, dk_detector_watch_free);
  g_clear_pointer (&teardown->cluster, dk_sim_cluster_free);
  g_clear_pointer (&teardown->queue, dk_eventq_free);
  g_free (teardown);
  return NULL;
}

/* ---- running --------------------------------------------------------------- */

DkRunResult *
dk_run_scenario (const DkScenario *scenario, const DkRunOptions *options, GError **error)
{
  static const DkRunOptions no_options = { 0 };
  if (options == NULL)
    options = &no_options;
  if (!check_supported (scenario, error))
    return NULL;

  g_autoptr (DkRunResult) result = g_new0 (DkRunResult, 1);
  result->scenario = dk_scenario_copy (scenario);
  result->warnings = g_ptr_array_new_with_free_func (g_free);
  result->history = dk_history_new ();

  DkSimClusterConfig cluster_config;
  cluster_config_from_scenario (scenario, &cluster_config, result->warnings);
  if (options->sqlite_stores)
    cluster_config.store.kv_in_memory = FALSE;

  Run run = {
    .scenario = result->scenario,
    .options = options,
    .history = result->history,
    .samples = g_array_new (FALSE, FALSE, sizeof (Sample)),
    .scheduled = g_array_sized_new (FALSE, FALSE, sizeof (ScheduledEvent), scenario->events->len),
  };
  g_autoptr (DkEventQueue) queue = dk_eventq_new ();
  run.queue = queue;
  g_autoptr (DkSimCluster) cluster = dk_sim_cluster_new (&cluster_config, queue,
                                                         options->fault_log, error);
  if (cluster == NULL)
    {
      g_array_unref (run.samples);
      g_array_unref (run.scheduled);
      return NULL;
    }
  run.cluster = cluster;
  g_autoptr (DkDetectorWatch) detector = dk_detector_watch_new (cluster, queue);
  run.detector = detector;
  dk_sim_cluster_set_node_log (cluster, options->node_log, DK_LOG_WARNING);
  dk_sim_cluster_set_trace (cluster, options->trace);
  for (guint i = 0; i < scenario->network.links->len; i++)
    {
      const DkLinkSpec *spec = g_ptr_array_index (scenario->network.links, i);
      DkLinkModel model;
      link_model_from_spec (scenario, spec, &model);
      if (spec->between_dcs)
        dk_sim_cluster_set_dc_link (cluster, spec->a, spec->b, &model);
      else
        dk_sim_cluster_set_link (cluster, spec->a, spec->b, &model);
    }

  DkWorkloadConfig workload_config;
  dk_workload_config_init (&workload_config);
  workload_config.clients = scenario->workload.clients;
  workload_config.rate_per_s = scenario->workload.rate_per_s;
  workload_config.keys = scenario->workload.keys;
  workload_config.key_dist = scenario->workload.dist;
  workload_config.read_fraction = scenario->workload.reads;
  workload_config.delete_fraction = scenario->workload.deletes;
  workload_config.value_bytes = (guint) scenario->workload.value_bytes;
  static const DkCoordinatorChoice coordinators[] = {
    [DK_SCENARIO_COORDINATOR_PREFERENCE] = DK_COORDINATOR_PREFERENCE,
    [DK_SCENARIO_COORDINATOR_FIRST] = DK_COORDINATOR_REPLICA,
    [DK_SCENARIO_COORDINATOR_ANY] = DK_COORDINATOR_ANY,
    [DK_SCENARIO_COORDINATOR_REPLICA] = DK_COORDINATOR_REPLICA,
    [DK_SCENARIO_COORDINATOR_PROXY] = DK_COORDINATOR_PROXY,
  };
  workload_config.coordinator = coordinators[scenario->options.coordinator];
  workload_config.replicas = scenario->cluster.n;
  workload_config.extended_list = scenario->options.sloppy_quorum;
  workload_config.use_context = scenario->workload.use_context;
  workload_config.client_timeout_us = 2 * scenario->options.request_timeout_us + 500000;
  g_autoptr (DkWorkload) workload = dk_workload_new (&workload_config, cluster, queue,
                                                     result->history, scenario->seed);
  run.workload = workload;
  g_autoptr (DkAutoscaler) autoscaler = NULL;
  if (scenario->options.autoscale)
    {
      DkAutoscalePolicy policy = {
        .target_per_s = scenario->options.autoscale_target_per_s,
        .min_nodes = scenario->options.autoscale_min,
        .max_nodes = scenario->options.autoscale_max,
        .cooldown_us = scenario->options.autoscale_cooldown_us,
      };
      autoscaler = dk_autoscaler_new (&policy, cluster, queue, result->history,
                                      options->fault_log, scenario->run_us);
    }

  /* Events go in at their times, in file order among equal times; the
   * nemesis's faults after them (the queue keeps scheduling order on ties,
   * so a scripted event comes first at an equal time). */
  for (guint i = 0; i < result->scenario->events->len; i++)
    {
      ScheduledEvent scheduled = { &run, g_ptr_array_index (result->scenario->events, i) };
      g_array_append_val (run.scheduled, scheduled);
    }
  g_autoptr (GPtrArray) nemesis_events = dk_nemesis_plan (result->scenario);
  for (guint i = 0; i < nemesis_events->len; i++)
    {
      ScheduledEvent scheduled = { &run, g_ptr_array_index (nemesis_events, i) };
      g_array_append_val (run.scheduled, scheduled);
    }
  for (guint i = 0; i < run.scheduled->len; i++)
    {
      ScheduledEvent *scheduled = &g_array_index (run.scheduled, ScheduledEvent, i);
      dk_eventq_schedule_at (queue, scheduled->event->at_us, apply_event, scheduled);
    }
  dk_eventq_schedule_at (queue, scenario->run_us, stop_faults, &run);
  dk_eventq_schedule (queue, SAMPLE_INTERVAL_US, take_sample, &run);

  dk_workload_start (workload, scenario->run_us);
  /* A second at a time, so that an event that cannot be applied stops the
   * run (the slices change nothing: every event is scheduled by another). */
  gint64 end_us = scenario->run_us + scenario->settle_us;
  for (gint64 slice_us = 0; slice_us < end_us && run.error == NULL;)
    {
      slice_us = MIN (slice_us + SAMPLE_INTERVAL_US, end_us);
      result->events_run += dk_eventq_run_until (queue, slice_us);
    }
  show_progress (&run, TRUE);
  if (run.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&run.error));
      g_array_unref (run.samples);
      g_array_unref (run.scheduled);
      return NULL;
    }
  result->leaves_pending = dk_sim_cluster_leaving (cluster);

  /* The operations are checked on another thread while this one gathers
   * what the end-of-run checks need of them, then collects the final state
   * from the stores, node 1 up; once done checking, the other thread
   * collects too, from the top node down, until they meet.  (The checks
   * only read the history, each writing its own part of the metrics; the
   * collection only reads the stores.) */
  DkCheckOptions check_options;
  dk_check_options_init (&check_options);
  g_autoptr (DkCollectShare) share = share_stores (&run);
  result->metrics = dk_check_history_new (&check_options);
  CheckStart start = { result->history, result->metrics, !options->sqlite_stores, share, NULL,
                       NULL };
  GThread *checking = g_thread_try_new ("dynsim-check", check_start_run, &start, NULL);
  if (checking == NULL)
    check_start_run (&start);
  dk_check_history_prepare (result->metrics, result->history);
  DkFinalState *final = result->final
    = collect_final_state (&run, share, checking, &start.final, &start.error, error);
  g_clear_pointer (&start.final, dk_final_state_free);
  if (final == NULL)
    {
      g_array_unref (run.samples);
      g_array_unref (run.scheduled);
      return NULL;
    }
  result->network = *dk_sim_cluster_net_stats (cluster);
  dk_sim_cluster_node_stats (cluster, &result->nodes);
  result->clients = *dk_workload_stats (workload);
  result->false_suspicions_sampled = TRUE;   /* at every size (detector.h) */
  result->keys_moved_ideal = run.keys_moved_ideal;
  result->members_max = MAX (run.members_max, dk_sim_cluster_members (cluster));
  result->members_final = dk_sim_cluster_members (cluster);
  /* Converged: from the end of the last fault to the last repair after it
   * (0: none was needed).  Not measured without a fault, or while a leave
   * has not finished (its fault never ended). */
  gint64 repaired_us = dk_sim_cluster_last_repair_us (cluster);
  gint64 fault_ended_us = dk_sim_cluster_fault_ended_us (cluster);
  result->last_repair_ms = (double) MAX (repaired_us, 0) / 1000.0;
  result->fault_ended_ms = (double) fault_ended_us / 1000.0;
  result->converge_measured = fault_ended_us >= 0 && result->leaves_pending == 0;
  result->converge_ms = (double) MAX (repaired_us - fault_ended_us, 0) / 1000.0;
  if (autoscaler != NULL)
    {
      result->autoscale_joins = dk_autoscaler_joins (autoscaler);
      result->autoscale_leaves = dk_autoscaler_leaves (autoscaler);
    }
  result->detections = g_array_copy ((GArray *) dk_detector_watch_detections (detector));
  for (DkNodeId id = 1; id <= dk_sim_cluster_node_count (cluster); id++)
    if (dk_sim_cluster_node (cluster, id) != NULL)
      result->hints_pending += dk_node_hints_held (dk_sim_cluster_node (cluster, id));

  /* Everything the result needs from the cluster is taken (the ring as a
   * copy, for the preference lists): it is freed on another thread while
   * this one checks the history against the final state (neither touches
   * what the other uses, so the result is the same). */
  g_autoptr (DkRing) ring = dk_ring_copy (dk_sim_cluster_ring (cluster));
  Teardown *teardown = g_new (Teardown, 1);
  *teardown = (Teardown) {
    g_steal_pointer (&autoscaler), g_steal_pointer (&workload), g_steal_pointer (&detector),
    g_steal_pointer (&cluster), g_steal_pointer (&queue),
  };
  GThread *freeing = g_thread_try_new ("dynsim-free", teardown_run, teardown, NULL);
  if (freeing == NULL)
    teardown_run (teardown);
  dk_final_state_set_ring_replicas (final, ring, result->scenario->cluster.n, result->history);
  dk_check_history_finish (result->metrics, result->history, final);
  add_sample_columns (&run, result->metrics);
  result->false_suspicion_samples = run.false_suspicion_total;
  judge_expects (result);
  if (freeing != NULL)
    g_thread_join (freeing);
  g_array_unref (run.samples);
  g_array_unref (run.scheduled);
  return g_steal_pointer (&result);
}

void
dk_run_result_free (DkRunResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->scenario, dk_scenario_free);
  g_clear_pointer (&result->history, dk_history_free);
  g_clear_pointer (&result->final, dk_final_state_free);
  g_clear_pointer (&result->metrics, dk_metrics_free);
  g_clear_pointer (&result->expects, g_array_unref);
  g_clear_pointer (&result->warnings, g_ptr_array_unref);
  g_clear_pointer (&result->detections, g_array_unref);
  g_free (result);
}

/* ---- output ---------------------------------------------------------------- */

static void
append_json_string (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

void
dk_run_to_json (const DkRunResult *result, GString *out)
{
  const DkScenario *scenario = result->scenario;
  g_string_append (out, "{\"scenario\": ");
  append_json_string (out, scenario->name);
  g_string_append_printf (out, ", \"version\": \"%s\", \"seed\": %" G_GUINT64_FORMAT ", ",
                          PACKAGE_VERSION, scenario->seed);
  dk_metrics_append_json_members (result->metrics, out);
  dk_run_metrics_append_json (result, out);
  g_string_append (out, ", \"parameters\": ");
  dk_scenario_parameters_to_json (scenario, out);
  g_string_append (out, ", \"expects\": [");
  for (guint i = 0; i < result->expects->len; i++)
    {
      const DkExpectResult *judged = &g_array_index (result->expects, DkExpectResult, i);
      g_string_append_printf (out, "%s{\"line\": %u, \"metric\": ", i > 0 ? ", " : "",
                              judged->expect->line);
      append_json_string (out, judged->expect->metric);
      g_string_append_printf (out, ", \"op\": \"%s\", \"value\": ",
                              dk_compare_op_to_string (judged->expect->op));
      dk_append_number (out, judged->expect->value);
      g_string_append (out, ", \"actual\": ");
      if (judged->measured)
        dk_append_number (out, judged->actual);
      else
        g_string_append (out, "null");
      g_string_append_printf (out, ", \"holds\": %s}", judged->holds ? "true" : "false");
    }
  g_string_append_printf (out, "], \"all_expects_hold\": %s, \"warnings\": [",
                          result->all_hold ? "true" : "false");
  for (guint i = 0; i < result->warnings->len; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_json_string (out, g_ptr_array_index (result->warnings, i));
    }
  g_string_append (out, "]}");
}

void
dk_run_to_text (const DkRunResult *result, gboolean settings, GString *out)
{
  const DkScenario *scenario = result->scenario;
  g_string_append_printf (out, "dynsim %s  %s  seed %" G_GUINT64_FORMAT "\n", PACKAGE_VERSION,
                          scenario->name, scenario->seed);
  if (settings)
    {
      g_autofree char *description = dk_scenario_describe (scenario);
      g_string_append_printf (out, "  %s\n", description);
    }
  for (guint i = 0; i < result->warnings->len; i++)
    g_string_append_printf (out, "  warning: %s\n", (char *) g_ptr_array_index (result->warnings, i));
  dk_metrics_summary (result->metrics, out);
  g_string_append_printf (out, "network         %" G_GUINT64_FORMAT " messages (%.1f per operation), "
                          "%" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT " cut by faults\n",
                          result->network.sent,
                          result->clients.invoked > 0
                          ? (double) result->network.sent / (double) result->clients.invoked : 0.0,
                          result->network.lost, result->network.cut + result->network.to_crashed);
  /* What the scenario's mechanisms did, whatever its expects ask. */
  static const char *const headline[] = {
    "minority_availability", "majority_availability", "under_replicated_writes", "failovers", "sloppy_requests", "hints_kept", "hints_delivered",
    "hints_pending", "read_repairs", "ae_keys_repaired", "suspicions", "detection_time_ms",
    "keys_moved", "members_max", "members_final", "converge_ms", "visibility_999_ms",
    "k_staleness_999",
  };
  guint shown = 0;
  for (gsize m = 0; m < G_N_ELEMENTS (headline); m++)
    {
      double value;
      if (!dk_run_metric (result, headline[m], &value) || value <= 0)
        continue;
      g_string_append (out, shown % 4 == 0 ? (shown == 0 ? "mechanisms      " : "\n                ")
                                           : ", ");
      g_string_append_printf (out, "%s ", headline[m]);
      dk_append_number (out, value);
      shown++;
    }
  if (shown > 0)
    g_string_append_c (out, '\n');
  if (result->converge_measured)
    g_string_append_printf (out, "converged       %.0f ms after the last fault ended (at %.3f s;"
                            " last repair at %.3f s)\n", result->converge_ms,
                            result->fault_ended_ms / 1000.0, result->last_repair_ms / 1000.0);
  else
    g_string_append_printf (out, "converged       not measured (%s)\n",
                            result->leaves_pending > 0 ? "a leave never finished" : "no fault");
  for (guint i = 0; i < result->expects->len; i++)
    {
      const DkExpectResult *judged = &g_array_index (result->expects, DkExpectResult, i);
      g_autoptr (GString) actual = g_string_new (NULL);
      if (judged->measured)
        dk_append_number (actual, judged->actual);
      else
        g_string_append (actual, "not measured");
      g_autoptr (GString) wanted = g_string_new (NULL);
      dk_append_number (wanted, judged->expect->value);
      g_string_append_printf (out, "%s  %s:%u: expect %s %s %s (got %s)\n",
                              judged->holds ? "PASS" : "FAIL", scenario->name,
                              judged->expect->line, judged->expect->metric,
                              dk_compare_op_to_string (judged->expect->op), wanted->str,
                              actual->str);
    }
}

static gboolean
save_text (const char *dir, const char *file, const GString *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  return g_file_set_contents (path, text->str, (gssize) text->len, error);
}

gboolean
dk_run_write_outputs (const DkRunResult *result, const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  g_autoptr (GString) text = g_string_new (NULL);
  dk_run_to_json (result, text);
  g_string_append_c (text, '\n');
  if (!save_text (dir, "summary.json", text, error))
    return FALSE;

  g_string_truncate (text, 0);
  dk_history_to_csv (result->history, text);
  if (!save_text (dir, "history.csv", text, error))
    return FALSE;

  g_string_truncate (text, 0);
  dk_final_state_to_csv (result->final, result->history, text);
  if (!save_text (dir, "final.csv", text, error))
    return FALSE;

  g_string_truncate (text, 0);
  dk_timeseries_to_csv (dk_metrics_timeseries (result->metrics), text);
  if (!save_text (dir, "timeseries.csv", text, error))
    return FALSE;

  g_string_truncate (text, 0);
  dk_visibility_to_csv (dk_metrics_visibility (result->metrics), text);
  if (!save_text (dir, "staleness.csv", text, error))
    return FALSE;

  g_string_truncate (text, 0);
  dk_run_to_text (result, TRUE, text);
  if (!save_text (dir, "summary.txt", text, error))
    return FALSE;

  g_autofree char *base = g_path_get_basename (result->scenario->name);
  g_autofree char *title = g_strdup_printf ("%s, seed %" G_GUINT64_FORMAT, base,
                                            result->scenario->seed);
  return dk_plots_write (dir, title, result->scenario->run_us / 1e6,
                         result->scenario->settle_us / 1e6, NULL, error);
}
