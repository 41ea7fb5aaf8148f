/* runner.h — run one scenario in the simulator and measure it.
 *
 * A run builds the cluster and the clients the scenario describes, injects
 * its events at their times, runs the workload for the run duration, then
 * stops the faults (heal, restart every crashed node, restore the
 * network's loss and duplication) and lets the cluster settle for the
 * settle duration with no client traffic.  The checkers then read the
 * history and every replica's final state, and each `expect` is judged.
 *
 * A run is a pure function of (scenario, seed, program version): nothing
 * here reads the wall clock except the optional progress line, which goes
 * to a terminal only and never into results.
 */
#ifndef DK_SIM_RUNNER_H
#define DK_SIM_RUNNER_H

#include <stdio.h>
#include <glib.h>
#include "checkers.h"
#include "cluster.h"
#include "history.h"
#include "scenario.h"
#include "trace.h"
#include "workload.h"

G_BEGIN_DECLS

typedef struct
{
  FILE       *fault_log;      /* one line per injected fault; NULL: none */
  FILE       *node_log;       /* node warnings; NULL: none */
  FILE       *progress;       /* a terminal for the progress line; NULL: none */
  const char *progress_label; /* e.g. "run 2/9", or NULL */
  DkSimTrace *trace;          /* records the datagrams it selects (report.h); NULL: none */
  gboolean    sqlite_stores;  /* the nodes' kv rows in SQLite, not in memory: same results */
} DkRunOptions;

/* One expectation and what the run measured for it. */
typedef struct
{
  const DkExpect *expect;   /* borrowed from the result's scenario */
  gboolean measured;        /* FALSE when the metric has no value in this run */
  double actual;
  gboolean holds;
} DkExpectResult;

typedef struct
{
  DkScenario     *scenario;     /* the effective scenario (owned copy) */
  DkHistory      *history;
  DkFinalState   *final;        /* every replica's versions after the settle */
  DkMetrics      *metrics;
  DkNetStats      network;
  DkNodeStats     nodes;
  DkWorkloadStats clients;
  guint64         events_run;   /* simulator events, a cost measure */
  GArray         *expects;      /* of DkExpectResult, in file order */
  gboolean        all_hold;
  GPtrArray      *warnings;     /* char*: options the simulator ignores, ... */
  GArray         *detections;   /* double: ms from each crash until every live node marked it down */
  guint64         false_suspicion_samples; /* (observer, peer) pairs wrongly suspected, summed per second */
  gboolean        false_suspicions_sampled; /* FALSE: not measured (reported as such) */
  guint64         hints_pending;/* hints still held when the run ended */
  guint64         keys_moved_ideal; /* (key, new replica) pairs joins and leaves created */
  guint           members_max;  /* the largest the cluster was (sampled each second) */
  guint           members_final;
  double          last_repair_ms; /* virtual time of the last repair (0: none), as
                                   * dk_sim_cluster_last_repair_us: when the cluster converged */
  double          fault_ended_ms; /* virtual time the last fault ended (dk_sim_cluster_fault_ended_us) */
  double          converge_ms;    /* from fault_ended_ms to the last repair after it (0: none) */
  gboolean        converge_measured; /* a fault ended and every leave finished */
  guint           autoscale_joins;
  guint           autoscale_leaves;
  guint           leaves_pending; /* nodes told to leave that had not left at the end */
} DkRunResult;

/* Run SCENARIO (not modified).  NULL with an error only when the scenario
 * asks for something the simulator cannot do, before or during the run
 * (an event that cannot be applied stops it, naming the line); failed
 * expectations are a result, not an error. */
DkRunResult *dk_run_scenario (const DkScenario *scenario, const DkRunOptions *options,
                              GError **error);
void dk_run_result_free (DkRunResult *result);

/* Extra metrics the runner measures beyond the checkers' (network and
 * node counters); dk_run_metric looks up either kind by name. */
gboolean dk_run_metric (const DkRunResult *result, const char *name, double *value);

/* TRUE when NAME is a metric dk_run_metric knows (measured or not). */
gboolean dk_run_metric_known (const char *name);

/* Append ", \"name\": value" for every runner metric (null: not measured). */
void dk_run_metrics_append_json (const DkRunResult *result, GString *out);

/* Write summary.json, summary.txt, history.csv, final.csv,
 * timeseries.csv, staleness.csv and plots.gp (plots.h: with the faults of
 * DIR/faults.log shaded when there is one) into DIR (created when
 * missing). */
gboolean dk_run_write_outputs (const DkRunResult *result, const char *dir, GError **error);

/* The run as one JSON object: every metric by name at the top level, plus
 * "scenario", "seed", "version", "parameters", "expects" and counters. */
void dk_run_to_json (const DkRunResult *result, GString *out);

/* A human summary of the run; with SETTINGS, the line of every setting
 * it ran with too (long: summary.txt and --verbose have it). */
void dk_run_to_text (const DkRunResult *result, gboolean settings, GString *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkRunResult, dk_run_result_free)

G_END_DECLS

#endif
