/* cluster_run.h — the parts of dynkv-cluster (sim/dynkv_cluster.c) that
 * are not driving the run: what of a scenario a real cluster can run and
 * the dynkvd flags its settings become (cluster_plan.c), and the summary
 * and files a run writes (cluster_report.c). */
#ifndef DK_CLUSTER_RUN_H
#define DK_CLUSTER_RUN_H

#include <glib.h>
#include "checkers.h"
#include "final_state.h"
#include "history.h"
#include "net_clients.h"
#include "scenario.h"

G_BEGIN_DECLS

/* FALSE with an error in DK_SCENARIO_ERROR naming the statement (and its
 * line when the scenario keeps it) when SCENARIO asks what a real cluster
 * cannot do yet; adds to WARNINGS (char*, owned) what it only
 * approximates: settings dynkvd has no flag for, when not the default. */
gboolean dk_cluster_check_runnable (const DkScenario *scenario, GPtrArray *warnings,
                                    GError **error);

/* The flags every dynkvd gets besides its id, address, data directory
 * and peers, NULL-terminated (owns its strings). */
GPtrArray *dk_cluster_daemon_flags (const DkScenario *scenario, const char *key_file);

/* Node ID's own flags: a --net-link for every `link` line naming it
 * (owns its strings; not NULL-terminated). */
GPtrArray *dk_cluster_node_flags (const DkScenario *scenario, DkNodeId id);

/* "NAME=P", P in dk_number_to_string's shortest exact form. */
char *dk_cluster_flag (const char *name, double probability);

typedef struct
{
  const DkScenario        *scenario;
  const DkMetrics         *metrics;
  const DkNetClientsStats *clients;
  const GPtrArray         *warnings;   /* char* */
  guint                    nodes;
  GHashTable              *node_counters; /* name -> guint64*: summed over the nodes */
  guint                    nodes_counted;  /* nodes whose counters are summed */
} DkClusterReport;

/* Append summary.json's text to JSON and summary.txt's to TEXT: the
 * checkers' metrics under dynsim's names, the client counters, the
 * parameters, the judged expects, the warnings.  TRUE when every expect
 * holds (an expect on a metric the checkers do not measure fails, "not
 * measured on a real cluster"). */
gboolean dk_cluster_build_summaries (const DkClusterReport *report, GString *json,
                                     GString *text);

/* Write history.csv, final.csv, timeseries.csv, staleness.csv, JSON as
 * summary.json, TEXT as summary.txt and plots.gp into DIR. */
gboolean dk_cluster_write_outputs (const char *dir, const DkScenario *scenario,
                                   const DkHistory *history, const DkFinalState *final,
                                   DkMetrics *metrics, const GString *json, const GString *text,
                                   GError **error);

G_END_DECLS

#endif /* DK_CLUSTER_RUN_H */
