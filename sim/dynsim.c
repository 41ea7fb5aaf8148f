/* dynsim.c — run a scenario script in the simulator (SCENARIOS.md).
 *
 * Exit status: 0 when every expectation of every run holds, 1 when one
 * failed (each failure is named), 2 when the script or the command line is
 * wrong (with FILE:LINE or the offending option). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "dist.h"
#include "plots.h"
#include "report.h"
#include "runner.h"
#include "scenario.h"
#include "store.h"

#define EXIT_EXPECT_FAILED 1
#define EXIT_USAGE 2

typedef enum
{
  FORMAT_TEXT,
  FORMAT_JSON,
  FORMAT_CSV
} OutputFormat;

typedef struct
{
  char    *seed;
  char   **sets;
  char   **sweeps;
  char    *out_dir;
  char    *format_name;
  char    *trace_key;
  char    *trace_window;
  gint     trace_limit;
  gint64   trace_from_us;
  gint64   trace_to_us;     /* < 0: to the end */
  gboolean quiet;
  gboolean verbose;
  gboolean list_settings;
  gboolean version;
  gboolean no_expect;
  gboolean force;
  gboolean sqlite_stores;
  gint     jobs;
  OutputFormat format;
} Options;

/* The most runs --jobs may put in flight at once. */
#define MAX_JOBS 64

/* The columns of the sweep table: the swept settings, then these. */
static const char *const table_metrics[] = {
  "availability", "get_availability", "put_availability", "stale_reads",
  "conflicts", "lost_writes", "lost_updates", "divergent_keys", "latency_p99_ms",
};

/* Check --trace, --trace-window and --trace-limit. */
static gboolean
parse_trace_options (Options *options, GError **error)
{
  options->trace_to_us = -1;
  if (options->trace_limit == 0)
    options->trace_limit = DK_SIM_TRACE_DEFAULT_LIMIT;
  if (options->trace_limit < 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--trace-limit %d: expected a positive number", options->trace_limit);
      return FALSE;
    }
  if (options->trace_key != NULL && options->trace_key[0] == '\0')
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--trace: expected a key, e.g. --trace k0");
      return FALSE;
    }
  if (options->trace_window != NULL)
    {
      const char *dots = strstr (options->trace_window, "..");
      g_autofree char *from = dots != NULL ? g_strndup (options->trace_window,
                                                        dots - options->trace_window) : NULL;
      g_autoptr (GError) problem = NULL;
      if (dots == NULL || !dk_duration_parse (from, &options->trace_from_us, &problem)
          || (dots[2] != '\0' && !dk_duration_parse (dots + 2, &options->trace_to_us, &problem))
          || (options->trace_to_us >= 0 && options->trace_to_us <= options->trace_from_us))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--trace-window %s: expected FROM..TO, two durations with FROM < TO "
                       "(TO may be left out), e.g. 10s..10.2s%s%s", options->trace_window,
                       problem != NULL ? ": " : "", problem != NULL ? problem->message : "");
          return FALSE;
        }
    }
  if ((options->trace_key != NULL || options->trace_window != NULL) && options->out_dir == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--trace and --trace-window need --out DIR: the trace is drawn in "
                           "DIR/report.html");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_command_line (int *argc, char ***argv, Options *options, GError **error)
{
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_STRING, &options->seed, "Override the script's seed", "N" },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->sets,
      "Override a setting (repeatable), e.g. --set r=1", "KEY=VALUE" },
    { "sweep", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->sweeps,
      "Run once per value (repeatable; several form a product), e.g. --sweep w=1..3", "KEY=A..B|KEY=A,B" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &options->out_dir,
      "Write report.html, summary.json, history.csv, timeseries.csv, staleness.csv there", "DIR" },
    { "trace", 0, 0, G_OPTION_ARG_STRING, &options->trace_key,
      "Record the messages about KEY for report.html's sequence diagram and quorum trace "
      "(needs --out)", "KEY" },
    { "trace-window", 0, 0, G_OPTION_ARG_STRING, &options->trace_window,
      "Record the messages sent in this window of virtual time, e.g. 10s..10.2s (with --trace: "
      "only those about KEY; needs --out)", "FROM..TO" },
    { "trace-limit", 0, 0, G_OPTION_ARG_INT, &options->trace_limit,
      "Record at most N messages per run (default 2000); the report says when it was reached", "N" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &options->format_name,
      "Standard output format: text (default), json (one object per run) or csv", "FORMAT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options->quiet,
      "No progress line and no text summary (json and csv are still printed)", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
      "Print every run's settings and summary in a sweep, every injected fault and node "
      "warnings on stderr", NULL },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &options->jobs,
      "Run up to N sweep points at once (output identical to one at a time)", "N" },
    { "no-expect", 0, 0, G_OPTION_ARG_NONE, &options->no_expect,
      "Explore: ignore the script's expect lines (exit 0 unless something is wrong)", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &options->force,
      "Let --out write into a directory that is not empty", NULL },
    { "sqlite-stores", 0, 0, G_OPTION_ARG_NONE, &options->sqlite_stores,
      "Keep the nodes' keys in SQLite databases, as dynkvd does, instead of in memory: "
      "slower, byte-identical output (a cross-check of the two)", NULL },
    { "list-settings", 0, 0, G_OPTION_ARG_NONE, &options->list_settings,
      "List every setting with its default, then exit", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options->version, "Print the version, then exit", NULL },
    { NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("SCENARIO.scn");
  g_option_context_set_summary (context,
    "Runs a dynkv scenario in the deterministic simulator and measures what\n"
    "clients saw: availability, stale reads, lost writes, conflicts, latency.");
  g_option_context_set_description (context,
    "The same scenario and seed always give byte-identical output.\n"
    "Exit status: 0 every expect holds, 1 an expect failed, 2 a bad script or option.\n"
    "The scenario language is described in dynsim.scn(5) (man -l doc/dynsim.scn.5 in the source tree).");
  g_option_context_add_main_entries (context, entries, NULL);
  options->jobs = 1;
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (options->jobs < 1 || options->jobs > MAX_JOBS)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--jobs %d: expected 1 to %d", options->jobs, MAX_JOBS);
      return FALSE;
    }
  if (!parse_trace_options (options, error))
    return FALSE;
  if (options->format_name == NULL || strcmp (options->format_name, "text") == 0)
    options->format = FORMAT_TEXT;
  else if (strcmp (options->format_name, "json") == 0)
    options->format = FORMAT_JSON;
  else if (strcmp (options->format_name, "csv") == 0)
    options->format = FORMAT_CSV;
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--format %s: expected text, json or csv", options->format_name);
      return FALSE;
    }
  return TRUE;
}

/* Load the script and apply --seed, --set and --sweep, in that order. */
static DkScenario *
load_scenario (const char *path, const Options *options, const char *seed_text, GError **error)
{
  g_autoptr (DkScenario) scenario = dk_scenario_load (path, error);
  if (scenario == NULL)
    return NULL;
  if (seed_text != NULL && !dk_scenario_set (scenario, "seed", seed_text, error))
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
  for (char **sweep = options->sweeps; sweep != NULL && *sweep != NULL; sweep++)
    if (!dk_scenario_add_sweep (scenario, *sweep, error))
      {
        g_prefix_error (error, "--sweep ");
        return NULL;
      }
  if (!dk_scenario_validate (scenario, error))
    return NULL;
  return g_steal_pointer (&scenario);
}

static void
append_metric_cell (GString *out, const DkRunResult *result, const char *metric)
{
  double value;
  if (dk_run_metric (result, metric, &value))
    dk_append_number (out, value);
}

/* The seed has a column of its own in the CSV, swept or not. */
static gboolean
is_seed (const DkSetting *setting)
{
  return strcmp (setting->key, "seed") == 0;
}

static void
csv_header (GString *out, const GPtrArray *combination)
{
  g_string_append (out, "run,seed");
  for (guint i = 0; i < combination->len; i++)
    if (!is_seed (g_ptr_array_index (combination, i)))
      g_string_append_printf (out, ",%s", ((DkSetting *) g_ptr_array_index (combination, i))->key);
  for (guint i = 0; i < dk_metric_count (); i++)
    g_string_append_printf (out, ",%s", dk_metric_name (i));
  g_string_append (out, ",messages_per_op,all_expects_hold\n");
}

static void
csv_row (GString *out, guint run, const DkRunResult *result, const GPtrArray *combination)
{
  g_string_append_printf (out, "%u,%" G_GUINT64_FORMAT, run + 1, result->scenario->seed);
  for (guint i = 0; i < combination->len; i++)
    if (!is_seed (g_ptr_array_index (combination, i)))
      g_string_append_printf (out, ",%s", ((DkSetting *) g_ptr_array_index (combination, i))->value);
  for (guint i = 0; i < dk_metric_count (); i++)
    {
      g_string_append_c (out, ',');
      append_metric_cell (out, result, dk_metric_name (i));
    }
  g_string_append_c (out, ',');
  append_metric_cell (out, result, "messages_per_op");
  g_string_append_printf (out, ",%s\n", result->all_hold ? "yes" : "no");
}

/* Shown in a sweep's table as well when some run measured them above 0:
 * what the scenario's mechanisms did (hints, repairs, detection, keys
 * moved), so a lesson needs no expect to show them. */
static const char *const headline_metrics[] = {
  "minority_availability", "majority_availability", "under_replicated_writes", "failovers", "hints_kept", "hints_delivered", "hints_pending",
  "ae_keys_repaired", "detection_time_ms", "keys_moved", "converge_ms", "visibility_999_ms",
};

static void
append_cell (GString *out, const DkRunResult *result, const char *metric, int width)
{
  double value = 0;
  if (!dk_run_metric (result, metric, &value))
    g_string_append_printf (out, " %*s", width, "-");
  else if (value == (double) (gint64) value)
    g_string_append_printf (out, " %*.0f", width, value);
  else
    g_string_append_printf (out, " %*.4f", width, value);
}

/* A table a teacher can project: one row per run; the settings swept,
 * the metrics every table has, then the headline metrics some run
 * measured above 0.  Each column is as wide as its name. */
static void
text_table (GString *out, GPtrArray *results, GPtrArray *combinations)
{
  g_autoptr (GPtrArray) columns = g_ptr_array_new ();
  for (gsize m = 0; m < G_N_ELEMENTS (table_metrics); m++)
    g_ptr_array_add (columns, (gpointer) table_metrics[m]);
  for (gsize m = 0; m < G_N_ELEMENTS (headline_metrics); m++)
    for (guint r = 0; r < results->len; r++)
      {
        double value;
        if (dk_run_metric (g_ptr_array_index (results, r), headline_metrics[m], &value)
            && value > 0)
          {
            g_ptr_array_add (columns, (gpointer) headline_metrics[m]);
            break;
          }
      }
  const GPtrArray *first = g_ptr_array_index (combinations, 0);
  g_autofree int *widths = g_new0 (int, first->len + 1);
  for (guint i = 0; i < first->len; i++)
    {
      widths[i] = (int) strlen (((DkSetting *) g_ptr_array_index (first, i))->key);
      for (guint r = 0; r < combinations->len; r++)
        {
          const GPtrArray *combination = g_ptr_array_index (combinations, r);
          widths[i] = MAX (widths[i],
                           (int) strlen (((DkSetting *) g_ptr_array_index (combination, i))->value));
        }
      g_string_append_printf (out, "%-*s ", widths[i],
                              ((DkSetting *) g_ptr_array_index (first, i))->key);
    }
  for (guint c = 0; c < columns->len; c++)
    g_string_append_printf (out, " %s", (const char *) g_ptr_array_index (columns, c));
  g_string_append (out, "  expects\n");
  for (guint r = 0; r < results->len; r++)
    {
      const DkRunResult *result = g_ptr_array_index (results, r);
      const GPtrArray *combination = g_ptr_array_index (combinations, r);
      for (guint i = 0; i < combination->len; i++)
        g_string_append_printf (out, "%-*s ", widths[i],
                                ((DkSetting *) g_ptr_array_index (combination, i))->value);
      for (guint c = 0; c < columns->len; c++)
        {
          const char *metric = g_ptr_array_index (columns, c);
          append_cell (out, result, metric, MAX ((int) strlen (metric), 6));
        }
      g_string_append_printf (out, "  %s\n", result->all_hold ? "hold" : "FAIL");
    }
}

static gboolean
is_fraction (const char *metric)
{
  return g_str_has_suffix (metric, "availability") || strcmp (metric, "stale_reads") == 0
         || strcmp (metric, "conflicts") == 0;
}

/* Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom;
 * past 30 the normal 1.96 is close enough for a summary line. */
static double
t_quantile_95 (guint df)
{
  static const double table[] = {
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
  };
  return df >= 1 && df <= G_N_ELEMENTS (table) ? table[df - 1] : 1.96;
}

/* The settings of COMBINATION other than the seed, as "r=1 w=2" (or
 * "all" when the seed is the only one swept). */
static char *
without_seed (const GPtrArray *combination)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < combination->len; i++)
    {
      const DkSetting *setting = g_ptr_array_index (combination, i);
      if (!is_seed (setting))
        g_string_append_printf (text, "%s%s=%s", text->len > 0 ? " " : "", setting->key,
                                setting->value);
    }
  if (text->len == 0)
    g_string_append (text, "all");
  return g_string_free (text, FALSE);
}

/* When a sweep varies the seed: each table metric's mean over the seeds,
 * with a 95% confidence interval (Student's t), per combination of the
 * other swept settings. */
static void
seed_summary (GString *out, GPtrArray *results, GPtrArray *combinations)
{
  const GPtrArray *first = g_ptr_array_index (combinations, 0);
  gboolean seeds = FALSE;
  for (guint i = 0; i < first->len; i++)
    seeds |= is_seed (g_ptr_array_index (first, i));
  if (!seeds || results->len < 2)
    return;
  /* Groups in the order they first appear. */
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  for (guint r = 0; r < combinations->len; r++)
    {
      char *group = without_seed (g_ptr_array_index (combinations, r));
      if (g_ptr_array_find_with_equal_func (groups, group, g_str_equal, NULL))
        g_free (group);
      else
        g_ptr_array_add (groups, group);
    }
  g_string_append (out, "\nover the seeds: mean [95% confidence interval]\n");
  for (guint g = 0; g < groups->len; g++)
    {
      const char *group = g_ptr_array_index (groups, g);
      guint n = 0, held = 0;
      for (guint r = 0; r < results->len; r++)
        {
          g_autofree char *of = without_seed (g_ptr_array_index (combinations, r));
          if (strcmp (of, group) == 0)
            n++, held += ((const DkRunResult *) g_ptr_array_index (results, r))->all_hold;
        }
      g_string_append_printf (out, "%s (%u seeds, expects held in %u)\n", group, n, held);
      for (gsize m = 0; m < G_N_ELEMENTS (table_metrics); m++)
        {
          double sum = 0, sum_sq = 0;
          guint measured = 0;
          for (guint r = 0; r < results->len; r++)
            {
              g_autofree char *of = without_seed (g_ptr_array_index (combinations, r));
              double value;
              if (strcmp (of, group) == 0
                  && dk_run_metric (g_ptr_array_index (results, r), table_metrics[m], &value))
                measured++, sum += value, sum_sq += value * value;
            }
          if (measured == 0)
            {
              g_string_append_printf (out, "  %-18s not measured\n", table_metrics[m]);
              continue;
            }
          double mean = sum / measured;
          double variance = measured > 1
                              ? MAX (0.0, (sum_sq - measured * mean * mean) / (measured - 1)) : 0;
          double half = measured > 1 ? t_quantile_95 (measured - 1) * sqrt (variance / measured) : 0;
          /* Every table metric is a count or a fraction: the interval is
           * clipped to where the metric can be. */
          double low = MAX (0.0, mean - half), high = mean + half;
          if (is_fraction (table_metrics[m]))
            high = MIN (1.0, high);
          g_string_append_printf (out, "  %-18s %.6g [%.6g, %.6g]%s\n", table_metrics[m], mean,
                                  low, high,
                                  measured < n ? " (not measured in every run)" : "");
        }
    }
}

static char *
run_dir (const char *out_dir, guint run, guint runs)
{
  if (runs == 1)
    return g_strdup (out_dir);
  g_autofree char *name = g_strdup_printf ("run-%03u", run + 1);
  return g_build_filename (out_dir, name, NULL);
}

/* ---- runs as jobs ------------------------------------------------------------ */

typedef struct _Jobs Jobs;

typedef struct
{
  Jobs        *jobs;
  DkScenario  *scenario;   /* this run's settings; NULL: error says why */
  char        *dir;        /* its --out directory, or NULL */
  char        *label;      /* "run 2/9" in a sweep */
  FILE        *progress;   /* a terminal for the progress line, or NULL */
  gboolean     verbose;
  gboolean     sqlite_stores;
  DkSimTrace  *trace;      /* the datagrams --trace records, or NULL */
  DkRunResult *result;     /* when done: the run, or NULL and error */
  GError      *error;
  gboolean     done;       /* under jobs->lock */
} Job;

struct _Jobs
{
  Job   *jobs;
  guint  n;
  GMutex lock;
  GCond  changed;
};

/* Run JOB (a GFunc for the thread pool, or called directly). */
static void
job_run (gpointer data, gpointer unused)
{
  (void) unused;
  Job *job = data;
  FILE *fault_log = NULL;
  if (job->scenario != NULL && job->dir != NULL)
    {
      g_autofree char *path = g_build_filename (job->dir, "faults.log", NULL);
      g_mkdir_with_parents (job->dir, 0755);
      fault_log = g_fopen (path, "w");
      if (fault_log == NULL)
        g_set_error (&job->error, G_FILE_ERROR, g_file_error_from_errno (errno),
                     "cannot write %s: %s", path, g_strerror (errno));
    }
  else if (job->verbose)
    fault_log = stderr;
  if (job->scenario != NULL && job->error == NULL)
    {
      DkRunOptions run_options = {
        .fault_log = fault_log,
        .node_log = job->verbose ? stderr : NULL,
        .progress = job->progress,
        .progress_label = job->label,
        .trace = job->trace,
        .sqlite_stores = job->sqlite_stores,
      };
      job->result = dk_run_scenario (job->scenario, &run_options, &job->error);
    }
  if (fault_log != NULL && fault_log != stderr)
    fclose (fault_log);
  g_mutex_lock (&job->jobs->lock);
  job->done = TRUE;
  g_cond_broadcast (&job->jobs->changed);
  g_mutex_unlock (&job->jobs->lock);
}

static void
jobs_clear (Jobs *jobs)
{
  for (guint i = 0; i < jobs->n; i++)
    {
      Job *job = &jobs->jobs[i];
      g_clear_pointer (&job->scenario, dk_scenario_free);
      g_clear_pointer (&job->dir, g_free);
      g_clear_pointer (&job->label, g_free);
      g_clear_pointer (&job->trace, dk_sim_trace_free);
      g_clear_pointer (&job->result, dk_run_result_free);
      g_clear_error (&job->error);
    }
  g_free (jobs->jobs);
  g_mutex_clear (&jobs->lock);
  g_cond_clear (&jobs->changed);
}

/* TRUE when PATH does not exist or is an empty directory. */
static gboolean
directory_is_empty (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return !g_file_test (path, G_FILE_TEST_EXISTS);
  return g_dir_read_name (dir) == NULL;
}

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->seed, g_free);
  g_clear_pointer (&options->sets, g_strfreev);
  g_clear_pointer (&options->sweeps, g_strfreev);
  g_clear_pointer (&options->out_dir, g_free);
  g_clear_pointer (&options->format_name, g_free);
  g_clear_pointer (&options->trace_key, g_free);
  g_clear_pointer (&options->trace_window, g_free);
}

static int run_dynsim (int argc, char **argv, Options *options);

int
main (int argc, char **argv)
{
  Options options = { 0 };
  g_autoptr (GError) error = NULL;
  int status;
  if (!parse_command_line (&argc, &argv, &options, &error))
    {
      g_printerr ("dynsim: %s\n", error->message);
      status = EXIT_USAGE;
    }
  else
    {
      /* One run at a time is one thread; --jobs runs each on its own
       * thread, with stores of its own.  Before any store is opened. */
      if (options.jobs > 1)
        dk_store_use_one_store_per_thread ();
      else
        dk_store_use_from_one_thread ();
      status = run_dynsim (argc, argv, &options);
    }
  options_clear (&options);
  return status;
}

/* Everything after the command line is parsed; OPTIONS is the caller's. */
static int
run_dynsim (int argc, char **argv, Options *opts)
{
  Options options = *opts;
  g_autoptr (GError) error = NULL;
  if (options.version)
    {
      printf ("dynsim %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (options.list_settings)
    {
      g_autofree char *help = dk_scenario_settings_help ();
      fputs (help, stdout);
      return EXIT_SUCCESS;
    }
  if (argc != 2)
    {
      g_printerr ("dynsim: expected one scenario file (try --help)\n");
      return EXIT_USAGE;
    }

  g_autoptr (DkScenario) scenario = load_scenario (argv[1], &options, options.seed, &error);
  if (scenario == NULL)
    {
      g_printerr ("dynsim: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (options.no_expect)
    g_ptr_array_set_size (scenario->expects, 0);
  if (options.out_dir != NULL && !options.force && !directory_is_empty (options.out_dir))
    {
      g_printerr ("dynsim: --out %s: the directory is not empty (use --force to write into "
                  "it anyway)\n", options.out_dir);
      return EXIT_USAGE;
    }
  g_autoptr (GPtrArray) combinations = dk_scenario_sweep_combinations (scenario);
  guint runs = combinations->len;
  gboolean progress = !options.quiet && isatty (fileno (stderr));
  g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_run_result_free);
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) pending_text = g_string_new (NULL);
  gboolean all_hold = TRUE;

  /* Every run is a job; with --jobs N up to N run at once on threads (a
   * run shares nothing with another), and results are still taken, written
   * and printed in run order, so the output is the serial one. */
  Jobs jobs = { .jobs = g_new0 (Job, runs), .n = runs };
  g_mutex_init (&jobs.lock);
  g_cond_init (&jobs.changed);
  for (guint run = 0; run < runs; run++)
    {
      Job *job = &jobs.jobs[run];
      job->jobs = &jobs;
      job->scenario = dk_scenario_with_combination (scenario, g_ptr_array_index (combinations, run),
                                                    &job->error);
      job->dir = options.out_dir != NULL ? run_dir (options.out_dir, run, runs) : NULL;
      job->verbose = options.verbose;
      job->sqlite_stores = options.sqlite_stores;
      if (options.trace_key != NULL || options.trace_window != NULL)
        job->trace = dk_sim_trace_new (options.trace_key, options.trace_from_us, options.trace_to_us,
                                       (guint) options.trace_limit);
      job->progress = progress && options.jobs == 1 ? stderr : NULL;
      job->label = runs > 1 ? g_strdup_printf ("run %u/%u", run + 1, runs) : NULL;
    }
  GThreadPool *pool = NULL;
  if (options.jobs > 1 && runs > 1)
    {
      pool = g_thread_pool_new (job_run, NULL, MIN ((guint) options.jobs, runs), TRUE, NULL);
      for (guint run = 0; run < runs; run++)
        g_thread_pool_push (pool, &jobs.jobs[run], NULL);
    }

  int status = EXIT_SUCCESS;
  for (guint run = 0; run < runs && status == EXIT_SUCCESS; run++)
    {
      const GPtrArray *combination = g_ptr_array_index (combinations, run);
      Job *job = &jobs.jobs[run];
      if (pool == NULL)
        job_run (job, NULL);
      g_mutex_lock (&jobs.lock);
      while (!job->done)
        g_cond_wait (&jobs.changed, &jobs.lock);
      g_mutex_unlock (&jobs.lock);
      if (pool != NULL && progress)
        fprintf (stderr, "\r%u of %u runs done", run + 1, runs);
      if (job->result == NULL)
        {
          g_printerr ("%sdynsim: %s\n", pool != NULL && progress ? "\n" : "", job->error->message);
          status = EXIT_USAGE;
          break;
        }
      DkRunResult *result = g_steal_pointer (&job->result);
      g_ptr_array_add (results, result);
      all_hold = all_hold && result->all_hold;
      if (job->dir != NULL && (!dk_run_write_outputs (result, job->dir, &error)
                               || !dk_report_write (result, job->trace, job->dir, &error)))
        {
          g_printerr ("dynsim: %s\n", error->message);
          status = EXIT_USAGE;
          break;
        }

      switch (options.format)
        {
        case FORMAT_TEXT:
          /* A sweep shows its table; each run's summary only when asked. */
          if (runs == 1 || options.verbose)
            {
              if (runs > 1)
                g_string_append_printf (out, "== run %u/%u\n", run + 1, runs);
              dk_run_to_text (result, options.verbose, out);
            }
          break;
        case FORMAT_JSON:
          dk_run_to_json (result, out);
          g_string_append_c (out, '\n');
          break;
        case FORMAT_CSV:
          if (run == 0)
            csv_header (out, combination);
          csv_row (out, run, result, combination);
          break;
        }
      if (!options.quiet || options.format != FORMAT_TEXT)
        {
          /* A sweep's table comes first in text; the summaries follow it. */
          if (options.format == FORMAT_TEXT && runs > 1)
            g_string_append (pending_text, out->str);
          else
            fputs (out->str, stdout);
          fflush (stdout);
        }
      g_string_truncate (out, 0);
    }
  if (pool != NULL)
    {
      if (progress)
        fputc ('\n', stderr);
      /* After an error, the runs not started are dropped, not waited for. */
      g_thread_pool_free (pool, status != EXIT_SUCCESS, TRUE);
    }
  jobs_clear (&jobs);
  if (status != EXIT_SUCCESS)
    return status;

  if (runs > 1)
    {
      g_autoptr (GString) table = g_string_new (NULL);
      text_table (table, results, combinations);
      seed_summary (table, results, combinations);
      if (options.format == FORMAT_TEXT && !options.quiet)
        {
          fputs (table->str, stdout);
          if (pending_text->len > 0)
            printf ("\n%s", pending_text->str);
        }
      if (options.out_dir != NULL)
        {
          g_autoptr (GString) csv = g_string_new (NULL);
          for (guint run = 0; run < runs; run++)
            {
              if (run == 0)
                csv_header (csv, g_ptr_array_index (combinations, 0));
              csv_row (csv, run, g_ptr_array_index (results, run), g_ptr_array_index (combinations, run));
            }
          g_autofree char *table_path = g_build_filename (options.out_dir, "sweep.txt", NULL);
          g_autofree char *csv_path = g_build_filename (options.out_dir, "sweep.csv", NULL);
          const GPtrArray *first = g_ptr_array_index (combinations, 0);
          g_autofree const char **keys = g_new0 (const char *, first->len + 1);
          for (guint i = 0; i < first->len; i++)
            keys[i] = ((DkSetting *) g_ptr_array_index (first, i))->key;
          g_autofree char *base = g_path_get_basename (scenario->name);
          if (!g_file_set_contents (table_path, table->str, -1, &error)
              || !g_file_set_contents (csv_path, csv->str, -1, &error)
              || !dk_plots_write_sweep (options.out_dir, base, keys, NULL, &error))
            {
              g_printerr ("dynsim: %s\n", error->message);
              return EXIT_USAGE;
            }
        }
    }

  if (options.out_dir != NULL && !options.quiet)
    {
      g_autofree char *gnuplot = g_find_program_in_path ("gnuplot");
      if (gnuplot == NULL)
        g_printerr ("dynsim: note: gnuplot is not installed, so no PNG plots were drawn; the "
                    "scripts beside the CSVs (plots.gp%s) draw them once it is "
                    "(apt-get install gnuplot-nox)\n", runs > 1 ? ", sweep.gp" : "");
    }

  /* Name every failed expectation, with the run's swept settings. */
  for (guint run = 0; run < runs; run++)
    {
      const DkRunResult *result = g_ptr_array_index (results, run);
      const GPtrArray *combination = g_ptr_array_index (combinations, run);
      g_autoptr (GString) where = g_string_new (NULL);
      for (guint i = 0; i < combination->len; i++)
        {
          const DkSetting *setting = g_ptr_array_index (combination, i);
          g_string_append_printf (where, "%s%s=%s", i == 0 ? " (with " : " ", setting->key,
                                  setting->value);
        }
      if (where->len > 0)
        g_string_append_c (where, ')');
      for (guint i = 0; i < result->expects->len; i++)
        {
          const DkExpectResult *judged = &g_array_index (result->expects, DkExpectResult, i);
          if (judged->holds)
            continue;
          g_autoptr (GString) wanted = g_string_new (NULL);
          dk_append_number (wanted, judged->expect->value);
          g_autoptr (GString) actual = g_string_new (NULL);
          if (judged->measured)
            dk_append_number (actual, judged->actual);
          else
            g_string_append (actual, "not measured");
          g_printerr ("dynsim: %s:%u: expect %s %s %s failed: got %s%s\n", result->scenario->name,
                      judged->expect->line, judged->expect->metric,
                      dk_compare_op_to_string (judged->expect->op), wanted->str, actual->str,
                      where->str);
        }
    }
  return all_hold ? EXIT_SUCCESS : EXIT_EXPECT_FAILED;
}
