/* dynkv_cluster.c — run a scenario on a real cluster: dynkvd processes in
 * Linux network namespaces, driven and judged as dynsim judges a
 * simulated run.
 *
 *   dynkv-cluster run SCENARIO.scn --out DIR [--set KEY=VALUE ...]
 *   dynkv-cluster check
 *
 * A run makes a namespace per node and a hub for the clients (netns.h),
 * starts dynkvd in each with the scenario's settings (net_daemons.h),
 * waits until every node answers, then runs the scenario's workload
 * (net_clients.h: the simulator's clients, over UDP) and its events at
 * their times: partition and drop become blackhole routes between node
 * namespaces, heal removes them, crash is SIGKILL, restart starts the
 * node again on its data directory, wipe deletes it first, join starts a
 * new node with --joining (the members admit it: --auto-admit), leave
 * sends SIGUSR2 (the node hands off and exits), rate changes the
 * arrivals; the scenario's network loss, dup and latency are applied by
 * the nodes (--net-*) and by the clients for their requests.  At the end
 * of the run every fault stops (heal, crashed members restarted), the
 * cluster settles, every node's counters are collected (dynkv stats
 * --json), the nodes are stopped (SIGTERM), their stores are read into the final state (final_collect.h), and the
 * history and final state are judged by the same checkers as dynsim's
 * (checkers.h) and written as the same files.  What the scenario asks and
 * a real cluster cannot do yet is refused before anything starts, naming
 * the statement (and its line when the scenario keeps it); what it can
 * only approximate is a warning in the summary.
 *
 * Exit status: 0 every expect holds, 1 one failed, 2 a usage error or a
 * scenario refused, 3 the cluster failed (namespaces, a node that does not
 * start or answer) or the run was interrupted.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "checkers.h"
#include "cluster_events.h"
#include "cluster_run.h"
#include "final_collect.h"
#include "net/net_config.h"
#include "net_clients.h"
#include "net_daemons.h"
#include "netns.h"
#include "scenario.h"
#include "store.h"

#define EXIT_EXPECT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CLUSTER 3

#define NODE_PORT 7000
#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 10000
/* The main loop's slice: events are applied within this of their time. */
#define SLICE_MS 1

typedef struct
{
  char    *out_dir;
  char   **sets;
  char    *seed;
  char    *dynkvd;
  char    *prefix;
  char    *format_name;
  gboolean quiet;
  gboolean no_expect;
  gboolean force;
  gboolean version;
} Options;


static gboolean
on_interrupt (gpointer user_data)
{
  DkClusterRun *run = user_data;
  run->interrupted = TRUE;
  return G_SOURCE_CONTINUE;
}

/* Run the workload and the events, then settle; FALSE with ERROR when an
 * event cannot be applied or the run was interrupted. */
/* The drive loop's own wake-up, at the next thing it has to do (an
 * event, a sample, the end): the clients' timer wakes the loop only for
 * theirs. */
static gboolean
wake_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  (void) callback;
  (void) user_data;
  g_source_set_ready_time (source, -1);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs wake_source_funcs = { .dispatch = wake_dispatch };

/* The run time of the next thing drive does by itself. */
static gint64
drive_next_us (const DkClusterRun *run, gboolean faults_ended, gint64 end_us,
               gint64 hard_end_us)
{
  const DkScenario *scenario = run->scenario;
  gint64 next = hard_end_us;
  if (run->next_event < scenario->events->len)
    next = MIN (next, ((const DkEvent *) g_ptr_array_index (scenario->events,
                                                            run->next_event))->at_us);
  if ((gint64) (run->nodes_up->len + 1) * 1000000 <= end_us)
    next = MIN (next, (gint64) (run->nodes_up->len + 1) * 1000000);
  if (!faults_ended)
    next = MIN (next, scenario->run_us);
  return MIN (next, end_us);
}

static gboolean
drive_loop (DkClusterRun *run, GSource *wake, GError **error)
{
  const DkScenario *scenario = run->scenario;
  gint64 run_us = scenario->run_us;
  gint64 end_us = run_us + scenario->settle_us;
  /* Operations still out at the end get their client timeout to finish. */
  gint64 hard_end_us = end_us + 2 * scenario->options.request_timeout_us + 1500000;
  gboolean faults_ended = FALSE;
  gint64 origin_us = g_get_monotonic_time ();
  dk_net_clients_start (run->clients, origin_us, run_us);
  for (;;)
    {
      g_main_context_iteration (NULL, FALSE);
      if (run->interrupted)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted");
          return FALSE;
        }
      if (run->error != NULL)   /* a joiner's probe could not update the rings */
        {
          g_propagate_error (error, g_steal_pointer (&run->error));
          return FALSE;
        }
      gint64 now = dk_net_clients_now (run->clients);
      while (run->next_event < scenario->events->len)
        {
          const DkEvent *event = g_ptr_array_index (scenario->events, run->next_event);
          if (event->at_us > now)
            break;
          run->next_event++;
          if (!dk_cluster_apply_event (run, event, error))
            {
              g_prefix_error (error, "%s:%u: %s: ", scenario->name, event->line,
                              dk_event_kind_name (event->kind));
              return FALSE;
            }
        }
      if (now >= (gint64) (run->nodes_up->len + 1) * 1000000 && now <= end_us)
        {
          guint up = 0, members = 0;
          for (DkNodeId id = 1; id <= run->nodes; id++)
            {
              up += dk_net_daemons_running (run->daemons, id);
              members += dk_net_daemons_is_member (run->daemons, id);
            }
          g_array_append_val (run->nodes_up, up);
          g_array_append_val (run->members_up, members);
        }
      if (!faults_ended && now >= run_us)
        {
          faults_ended = TRUE;
          if (!dk_cluster_end_faults (run, error))
            return FALSE;
        }
      if ((now >= end_us && dk_net_clients_pending (run->clients) == 0) || now >= hard_end_us)
        return TRUE;
      /* Sleep until something is due: the clients' timer, a reply, a
       * child's exit, or the next thing here. */
      g_source_set_ready_time (wake, origin_us + drive_next_us (run, faults_ended, end_us,
                                                                hard_end_us));
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
drive (DkClusterRun *run, GError **error)
{
  GSource *wake = g_source_new (&wake_source_funcs, sizeof (GSource));
  g_source_attach (wake, NULL);
  gboolean ok = drive_loop (run, wake, error);
  g_source_destroy (wake);
  g_source_unref (wake);
  return ok;
}

/* ---- the end ------------------------------------------------------------------ */

static DkFinalState *
collect_final_state (DkClusterRun *run, const DkRing *ring, GError **error)
{
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  for (DkNodeId id = 1; id <= run->nodes; id++)
    {
      g_autofree char *path = g_build_filename (dk_net_daemons_data_dir (run->daemons, id),
                                                "node.db", NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        continue;
      g_autoptr (DkStore) store = dk_store_open (path, NULL, error);
      if (store == NULL || !dk_final_state_collect_store (final, id, store, error))
        {
          g_prefix_error (error, "%s: ", path);
          return NULL;
        }
    }
  dk_final_state_set_ring_replicas (final, ring, run->scenario->cluster.n, run->history);
  return g_steal_pointer (&final);
}

/* ---- the command ---------------------------------------------------------------- */

static DkScenario *
load_scenario (const char *path, const Options *options, GPtrArray *warnings, GError **error)
{
  g_autoptr (DkScenario) scenario = dk_scenario_load (path, error);
  if (scenario == NULL)
    return NULL;
  if (options->seed != NULL && !dk_scenario_set (scenario, "seed", options->seed, error))
    {
      g_prefix_error (error, "--seed: ");
      return NULL;
    }
  for (char **set = options->sets; set != NULL && *set != NULL; set++)
    {
      g_auto (GStrv) pair = g_strsplit (*set, "=", 2);
      if (pair[0] == NULL || pair[1] == NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--set %s: expected KEY=VALUE", *set);
          return NULL;
        }
      if (!dk_scenario_set (scenario, g_strstrip (pair[0]), g_strstrip (pair[1]), error))
        {
          g_prefix_error (error, "--set ");
          return NULL;
        }
    }
  if (scenario->sweeps->len > 0)
    {
      g_autoptr (GString) keys = g_string_new (NULL);
      for (guint i = 0; i < scenario->sweeps->len; i++)
        g_string_append_printf (keys, "%s%s", i > 0 ? ", " : "",
                                ((const DkSweep *) g_ptr_array_index (scenario->sweeps, i))->key);
      g_ptr_array_add (warnings, g_strdup_printf (
        "the sweep over %s is not run: one run with the script's own values "
        "(--set KEY=VALUE runs another)", keys->str));
      g_ptr_array_set_size (scenario->sweeps, 0);
    }
  if (options->no_expect)
    g_ptr_array_set_size (scenario->expects, 0);
  if (!dk_scenario_validate (scenario, error))
    return NULL;
  return g_steal_pointer (&scenario);
}

/* dynkvd beside this program (the build tree, or the installed bin), or
 * the one on the PATH. */
static char *
find_dynkvd (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      char *beside = g_build_filename (dir, "dynkvd", NULL);
      if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
        return beside;
      g_free (beside);
    }
  char *found = g_find_program_in_path ("dynkvd");
  return found != NULL ? found : g_strdup ("dynkvd");
}

/* PROGRAM in the directory of SIBLING when it is there, else on the PATH. */
static char *
find_beside (const char *sibling, const char *program)
{
  g_autofree char *dir = g_path_get_dirname (sibling);
  char *beside = g_build_filename (dir, program, NULL);
  if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
    return beside;
  g_free (beside);
  char *found = g_find_program_in_path (program);
  return found != NULL ? found : g_strdup (program);
}

static gboolean
directory_is_empty (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  return dir == NULL || g_dir_read_name (dir) == NULL;
}

/* The columns of timeseries.csv the plots draw beside the checkers': the
 * nodes running (sampled each second, as dynsim does) and the members. */
static void
add_sample_columns (const DkClusterRun *run, DkMetrics *metrics)
{
  DkTimeseries *series = dk_metrics_timeseries (metrics);
  guint nodes_up = dk_timeseries_add_column (series, "nodes_up", DK_SERIES_SAMPLE);
  guint members = dk_timeseries_add_column (series, "members", DK_SERIES_SAMPLE);
  for (guint i = 0; i < run->nodes_up->len; i++)
    {
      /* A sample at the end of second I describes second I. */
      gint64 t = (gint64) i * 1000000;
      dk_timeseries_set (series, nodes_up, t, g_array_index (run->nodes_up, guint, i));
      dk_timeseries_set (series, members, t, g_array_index (run->members_up, guint, i));
    }
}

/* Fail with MESSAGE's text on stderr: the cluster's fault. */
static int
cluster_failed (const char *what, const GError *error)
{
  g_printerr ("dynkv-cluster: %s%s\n", what, error->message);
  return EXIT_CLUSTER;
}

/* Everything of a run between making RUN's namespaces and tearing them
 * down; returns the exit status. */
static int
run_phases (DkClusterRun *run, const Options *options, const char *prefix, GBytes *key,
            const char *key_file, GPtrArray *warnings)
{
  const DkScenario *scenario = run->scenario;
  g_autoptr (GError) error = NULL;
  run->netns = dk_netns_new (prefix, run->nodes, &error);
  if (run->netns == NULL || !dk_netns_enter_hub (run->netns, &error))
    return cluster_failed ("network namespaces: ", error);
  g_autofree char *dynkvd = options->dynkvd != NULL ? g_strdup (options->dynkvd) : find_dynkvd ();
  g_autofree char *abs_key = g_canonicalize_filename (key_file, NULL);
  g_autofree char *abs_dir = g_canonicalize_filename (run->dir, NULL);
  g_autoptr (GPtrArray) flags = dk_cluster_daemon_flags (scenario, abs_key);
  run->daemons = dk_net_daemons_new (run->netns, dynkvd, abs_dir, NODE_PORT,
                                     (const char *const *) flags->pdata);
  for (DkNodeId id = 1; id <= run->nodes; id++)
    {
      g_autoptr (GPtrArray) own = dk_cluster_node_flags (scenario, id);
      for (guint i = 0; i < own->len; i++)
        dk_net_daemons_add_arg (run->daemons, id, g_ptr_array_index (own, i));
    }
  g_autoptr (GPtrArray) addresses = g_ptr_array_new ();
  for (DkNodeId id = 1; id <= run->nodes; id++)
    {
      g_ptr_array_add (addresses, (gpointer) dk_net_daemons_address (run->daemons, id));
      dk_net_daemons_set_member (run->daemons, id, id <= run->initial, FALSE);
    }
  for (DkNodeId id = 1; id <= run->initial; id++)
    if (!dk_net_daemons_start (run->daemons, id, &error))
      return cluster_failed ("", error);
  if (!dk_net_daemons_wait_ready (run->daemons, key, READY_TIMEOUT_MS, &error))
    return cluster_failed ("the nodes did not start: ", error);
  if (!dk_cluster_update_ring (run, &error))
    return cluster_failed ("ring: ", error);
  static const DkCoordinatorChoice coordinators[] = {
    [DK_SCENARIO_COORDINATOR_PREFERENCE] = DK_COORDINATOR_PREFERENCE,
    [DK_SCENARIO_COORDINATOR_FIRST] = DK_COORDINATOR_REPLICA,
    [DK_SCENARIO_COORDINATOR_ANY] = DK_COORDINATOR_ANY,
    [DK_SCENARIO_COORDINATOR_REPLICA] = DK_COORDINATOR_REPLICA,
    [DK_SCENARIO_COORDINATOR_PROXY] = DK_COORDINATOR_PROXY,
  };
  DkNetClientsConfig config = {
    .nodes = run->nodes,
    .homes = run->initial,
    .addresses = (const char *const *) addresses->pdata,
    .ring = run->client_ring,
    .key = key,
    .reachable = dk_cluster_client_reaches,
    .side = dk_cluster_client_side,
    .user_data = run,
    .seed = scenario->seed,
    .faults = run->client_faults,
  };
  /* As sim/runner.c configures the simulator's workload. */
  dk_workload_config_init (&config.workload);
  config.workload.clients = scenario->workload.clients;
  config.workload.rate_per_s = scenario->workload.rate_per_s;
  config.workload.keys = scenario->workload.keys;
  config.workload.key_dist = scenario->workload.dist;
  config.workload.read_fraction = scenario->workload.reads;
  config.workload.delete_fraction = scenario->workload.deletes;
  config.workload.value_bytes = (guint) scenario->workload.value_bytes;
  config.workload.coordinator = coordinators[scenario->options.coordinator];
  config.workload.replicas = scenario->cluster.n;
  config.workload.extended_list = scenario->options.sloppy_quorum;
  config.workload.use_context = scenario->workload.use_context;
  config.workload.client_timeout_us = 2 * scenario->options.request_timeout_us + 500000;
  run->clients = dk_net_clients_new (&config, run->history, &error);
  if (run->clients == NULL)
    return cluster_failed ("clients: ", error);
  if (!options->quiet)
    g_printerr ("dynkv-cluster: %u nodes up in namespaces %s-*; running %.1f s + %.1f s "
                "settle\n", run->nodes, prefix, scenario->run_us / 1e6, scenario->settle_us / 1e6);
  if (!drive (run, &error))
    return cluster_failed ("", error);
  g_autoptr (GHashTable) counters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           g_free);
  g_autofree char *dynkv = find_beside (dynkvd, "dynkv");
  guint counted = dk_net_daemons_collect_stats (run->daemons, dynkv, abs_key, counters, &error);
  if (error != NULL)
    {
      g_ptr_array_add (warnings, g_strdup (error->message));
      g_clear_error (&error);
    }
  if (!dk_net_daemons_stop_all (run->daemons, STOP_TIMEOUT_MS, &error))
    {
      g_ptr_array_add (warnings, g_strdup (error->message));
      g_clear_error (&error);
    }
  g_autoptr (DkFinalState) final = collect_final_state (run, run->ring, &error);
  if (final == NULL)
    return cluster_failed ("", error);
  DkCheckOptions check_options;
  dk_check_options_init (&check_options);
  g_autoptr (DkMetrics) metrics = dk_check_history (run->history, final, &check_options);
  add_sample_columns (run, metrics);
  DkClusterReport report = { scenario, metrics, dk_net_clients_stats (run->clients), warnings,
                    run->nodes, counters, counted };
  g_autoptr (GString) json = g_string_new (NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  gboolean all_hold = dk_cluster_build_summaries (&report, json, text);
  fflush (run->fault_log);
  if (!dk_cluster_write_outputs (run->dir, scenario, run->history, final, metrics, json, text, &error))
    return cluster_failed ("", error);
  fputs (options->format_name != NULL && strcmp (options->format_name, "json") == 0
         ? json->str : text->str, stdout);
  return all_hold ? EXIT_SUCCESS : EXIT_EXPECT_FAILED;
}

/* The scenario's network model for what the clients send (the nodes
 * apply it to what they send: dk_cluster_daemon_flags), or NULL when it
 * does nothing. */
static DkNetFaults *
client_faults_new (const DkScenario *scenario)
{
  g_autoptr (DkNetFaults) faults = dk_net_faults_new (scenario->seed, 0);
  g_autofree char *loss = dk_number_to_string (scenario->network.loss);
  g_autofree char *dup = dk_number_to_string (scenario->network.dup);
  g_autofree char *delay = dk_dist_to_string (&scenario->network.latency);
  gboolean parsed = dk_net_faults_set_loss (faults, loss, NULL)
                    && dk_net_faults_set_dup (faults, dup, NULL)
                    && dk_net_faults_set_delay (faults, delay, NULL);
  g_assert (parsed);   /* the scenario checked them */
  return dk_net_faults_active (faults) ? g_steal_pointer (&faults) : NULL;
}

/* Build, drive, measure and tear down one run of SCENARIO into --out. */
static int
run_cluster (const DkScenario *scenario, const Options *options, GPtrArray *warnings)
{
  g_autoptr (GError) error = NULL;
  const char *dir = options->out_dir;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_printerr ("dynkv-cluster: cannot create %s: %s\n", dir, g_strerror (errno));
      return EXIT_USAGE;
    }
  g_autofree char *key_file = g_build_filename (dir, "cluster.key", NULL);
  g_unlink (key_file);
  g_autoptr (GBytes) key = NULL;
  if (!dk_net_write_key_file (key_file, &error)
      || (key = dk_net_load_key_file (key_file, &error)) == NULL)
    return cluster_failed ("", error);
  g_autofree char *fault_path = g_build_filename (dir, "faults.log", NULL);
  FILE *fault_log = fopen (fault_path, "w");
  if (fault_log == NULL)
    {
      g_printerr ("dynkv-cluster: cannot write %s: %s\n", fault_path, g_strerror (errno));
      return EXIT_CLUSTER;
    }
  g_autofree char *prefix = options->prefix != NULL ? g_strdup (options->prefix)
                                                    : g_strdup_printf ("dk-%d", (int) getpid ());
  DkClusterRun run = {
    .scenario = scenario,
    .dir = dir,
    .nodes = dk_scenario_max_node (scenario),
    .initial = scenario->cluster.nodes,
    .side = g_new0 (guint, dk_scenario_max_node (scenario) + 1),
    .drops = g_array_new (FALSE, FALSE, sizeof (guint64)),
    .nodes_up = g_array_new (FALSE, FALSE, sizeof (guint)),
    .members_up = g_array_new (FALSE, FALSE, sizeof (guint)),
    .history = dk_history_new (),
    .fault_log = fault_log,
    .key = key,
    .awaited = g_new0 (gboolean, dk_scenario_max_node (scenario) + 1),
  };
  run.client_faults = client_faults_new (scenario);
  guint interrupt_sources[2] = {
    g_unix_signal_add (SIGINT, on_interrupt, &run),
    g_unix_signal_add (SIGTERM, on_interrupt, &run),
  };
  int status = run_phases (&run, options, prefix, key, key_file, warnings);
  /* Whatever happened: no process, namespace or link is left behind. */
  dk_cluster_probe_clear (&run);
  g_clear_pointer (&run.clients, dk_net_clients_free);
  g_clear_pointer (&run.daemons, dk_net_daemons_free);
  g_clear_pointer (&run.netns, dk_netns_free);
  g_clear_pointer (&run.history, dk_history_free);
  g_clear_pointer (&run.client_faults, dk_net_faults_free);
  fclose (run.fault_log);
  g_free (run.side);
  g_array_unref (run.drops);
  g_array_unref (run.nodes_up);
  g_array_unref (run.members_up);
  g_clear_pointer (&run.ring, dk_ring_free);
  g_clear_pointer (&run.client_ring, dk_ring_free);
  g_free (run.awaited);
  for (guint i = 0; i < G_N_ELEMENTS (interrupt_sources); i++)
    g_source_remove (interrupt_sources[i]);
  return status;
}

int
main (int argc, char **argv)
{
  Options options = { 0 };
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &options.out_dir,
      "Write history.csv, final.csv, summary.json, summary.txt, faults.log, the nodes' data "
      "and logs (nodes/) into DIR", "DIR" },
    { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &options.sets,
      "Override a setting of the script, as dynsim --set (repeatable)", "KEY=VALUE" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &options.seed, "Override the script's seed", "N" },
    { "dynkvd", 0, 0, G_OPTION_ARG_FILENAME, &options.dynkvd,
      "The node program (default: the dynkvd beside this program, else on the PATH)", "PATH" },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &options.prefix,
      "Name the namespaces PREFIX-hub, PREFIX-n1, ... (default dk-PID)", "PREFIX" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &options.format_name,
      "What to print on standard output: text (default) or json", "FORMAT" },
    { "no-expect", 0, 0, G_OPTION_ARG_NONE, &options.no_expect,
      "Ignore the script's expect lines", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &options.force,
      "Write into --out even when it is not empty", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options.quiet, "No progress line on stderr", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options.version,
      "Print the version, then exit", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
    "run SCENARIO.scn --out DIR | check");
  g_option_context_set_summary (context,
    "Run a dynsim scenario on a real cluster: one dynkvd per Linux network namespace,\n"
    "the scenario's clients and faults (partition, drop, heal, crash, restart, wipe,\n"
    "join, leave, rate; the network's loss, dup and latency) applied for real,\n"
    "judged by dynsim's checkers.  Needs root.\n"
    "  run SCENARIO   run it; writes the same history.csv and final.csv as dynsim --out\n"
    "  check          say whether this machine can run namespaces (exit 0) or why not (1)");
  g_option_context_set_description (context,
    "Exit status: 0 every expect holds, 1 one failed, 2 usage error or a scenario\n"
    "dynkv-cluster cannot run (named with its line), 3 the cluster failed.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  int status;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dynkv-cluster: %s\n", error->message);
      status = EXIT_USAGE;
    }
  else if (options.version)
    {
      printf ("dynkv-cluster %s\n", PACKAGE_VERSION);
      status = EXIT_SUCCESS;
    }
  else if (argc == 2 && strcmp (argv[1], "check") == 0)
    {
      status = dk_netns_check (&error) ? EXIT_SUCCESS : 1;
      if (error != NULL)
        g_printerr ("dynkv-cluster: cannot run a namespace cluster: %s\n", error->message);
      else
        printf ("network namespaces: available\n");
    }
  else if (argc != 3 || strcmp (argv[1], "run") != 0)
    {
      g_printerr ("dynkv-cluster: expected 'run SCENARIO.scn' or 'check' (try --help)\n");
      status = EXIT_USAGE;
    }
  else if (options.out_dir == NULL)
    {
      g_printerr ("dynkv-cluster: run needs --out DIR\n");
      status = EXIT_USAGE;
    }
  else if (options.format_name != NULL && strcmp (options.format_name, "text") != 0
           && strcmp (options.format_name, "json") != 0)
    {
      g_printerr ("dynkv-cluster: --format %s: expected text or json\n", options.format_name);
      status = EXIT_USAGE;
    }
  else if (!options.force && !directory_is_empty (options.out_dir))
    {
      g_printerr ("dynkv-cluster: --out %s: the directory is not empty (use --force to write "
                  "into it anyway)\n", options.out_dir);
      status = EXIT_USAGE;
    }
  else
    {
      g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (DkScenario) scenario = load_scenario (argv[2], &options, warnings, &error);
      if (scenario == NULL || !dk_cluster_check_runnable (scenario, warnings, &error))
        {
          g_printerr ("dynkv-cluster: %s\n", error->message);
          status = EXIT_USAGE;
        }
      else if (!dk_netns_check (&error))
        {
          g_printerr ("dynkv-cluster: cannot run a namespace cluster: %s\n", error->message);
          status = EXIT_CLUSTER;
        }
      else
        {
          dk_store_use_from_one_thread ();
          status = run_cluster (scenario, &options, warnings);
        }
    }
  g_free (options.out_dir);
  g_strfreev (options.sets);
  g_free (options.seed);
  g_free (options.dynkvd);
  g_free (options.prefix);
  g_free (options.format_name);
  return status;
}
