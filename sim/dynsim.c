/* dynsim.c — run a scenario script in the simulator (SCENARIOS.md).
 *
 * Exit status: 0 when every expectation of every run holds, 1 when one
 * failed (each failure is named), 2 when the script or the command line is
 * wrong (with FILE:LINE or the offending option). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "plots.h"
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
  gboolean quiet;
  gboolean verbose;
  gboolean list_settings;
  gboolean version;
  OutputFormat format;
} Options;

/* The columns of the sweep table: the swept settings, then these. */
static const char *const table_metrics[] = {
  "availability", "get_availability", "put_availability", "stale_reads",
  "conflicts", "lost_writes", "lost_updates", "divergent_keys", "latency_p99_ms",
};

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
      "Write summary.json, history.csv, timeseries.csv, staleness.csv there", "DIR" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &options->format_name,
      "Standard output format: text (default), json (one object per run) or csv", "FORMAT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options->quiet,
      "No progress line and no text summary (json and csv are still printed)", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
      "Print every injected fault and node warnings on stderr", NULL },
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
    "The scenario language is described in dynsim(1).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
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

static void
csv_header (GString *out, const GPtrArray *combination)
{
  g_string_append (out, "run,seed");
  for (guint i = 0; i < combination->len; i++)
    g_string_append_printf (out, ",%s", ((DkSetting *) g_ptr_array_index (combination, i))->key);
  for (guint i = 0; i < dk_metric_count (); i++)
    g_string_append_printf (out, ",%s", dk_metric_name (i));
  g_string_append (out, ",messages_per_op,all_expects_hold\n");
}

static void
csv_row (GString *out, guint run, const DkRunResult *result, const GPtrArray *combination)
{
  g_string_append_printf (out, "%u,%" G_GUINT64_FORMAT, run, result->scenario->seed);
  for (guint i = 0; i < combination->len; i++)
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

/* A table a teacher can project: one row per run. */
static void
text_table (GString *out, GPtrArray *results, GPtrArray *combinations)
{
  const GPtrArray *first = g_ptr_array_index (combinations, 0);
  for (guint i = 0; i < first->len; i++)
    g_string_append_printf (out, "%-12s", ((DkSetting *) g_ptr_array_index (first, i))->key);
  for (gsize m = 0; m < G_N_ELEMENTS (table_metrics); m++)
    g_string_append_printf (out, " %16s", table_metrics[m]);
  g_string_append (out, "  expects\n");
  for (guint r = 0; r < results->len; r++)
    {
      const DkRunResult *result = g_ptr_array_index (results, r);
      const GPtrArray *combination = g_ptr_array_index (combinations, r);
      for (guint i = 0; i < combination->len; i++)
        g_string_append_printf (out, "%-12s", ((DkSetting *) g_ptr_array_index (combination, i))->value);
      for (gsize m = 0; m < G_N_ELEMENTS (table_metrics); m++)
        {
          double value = 0;
          gboolean measured = dk_run_metric (result, table_metrics[m], &value);
          if (!measured)
            g_string_append_printf (out, " %16s", "-");
          else if (value == (double) (gint64) value && value >= 1)
            g_string_append_printf (out, " %16.0f", value);
          else
            g_string_append_printf (out, " %16.4f", value);
        }
      g_string_append_printf (out, "  %s\n", result->all_hold ? "hold" : "FAIL");
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

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->seed, g_free);
  g_clear_pointer (&options->sets, g_strfreev);
  g_clear_pointer (&options->sweeps, g_strfreev);
  g_clear_pointer (&options->out_dir, g_free);
  g_clear_pointer (&options->format_name, g_free);
}

static int run_dynsim (int argc, char **argv, Options *options);

int
main (int argc, char **argv)
{
  Options options = { 0 };
  g_autoptr (GError) error = NULL;
  int status;
  dk_store_use_from_one_thread ();   /* the simulator is one thread */
  if (!parse_command_line (&argc, &argv, &options, &error))
    {
      g_printerr ("dynsim: %s\n", error->message);
      status = EXIT_USAGE;
    }
  else
    status = run_dynsim (argc, argv, &options);
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
  g_autoptr (GPtrArray) combinations = dk_scenario_sweep_combinations (scenario);
  guint runs = combinations->len;
  gboolean progress = !options.quiet && isatty (fileno (stderr));
  g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_run_result_free);
  g_autoptr (GString) out = g_string_new (NULL);
  gboolean all_hold = TRUE;

  for (guint run = 0; run < runs; run++)
    {
      const GPtrArray *combination = g_ptr_array_index (combinations, run);
      g_autoptr (DkScenario) effective = dk_scenario_with_combination (scenario, combination, &error);
      if (effective == NULL)
        {
          g_printerr ("dynsim: %s\n", error->message);
          return EXIT_USAGE;
        }
      g_autofree char *dir = options.out_dir != NULL ? run_dir (options.out_dir, run, runs) : NULL;
      FILE *fault_log = NULL;
      if (dir != NULL)
        {
          g_mkdir_with_parents (dir, 0755);
          g_autofree char *path = g_build_filename (dir, "faults.log", NULL);
          fault_log = g_fopen (path, "w");
          if (fault_log == NULL)
            {
              g_printerr ("dynsim: cannot write %s: %s\n", path, g_strerror (errno));
              return EXIT_USAGE;
            }
        }
      else if (options.verbose)
        fault_log = stderr;
      g_autofree char *label = runs > 1 ? g_strdup_printf ("run %u/%u", run + 1, runs) : NULL;
      DkRunOptions run_options = {
        .fault_log = fault_log,
        .node_log = options.verbose ? stderr : NULL,
        .progress = progress ? stderr : NULL,
        .progress_label = label,
      };
      DkRunResult *result = dk_run_scenario (effective, &run_options, &error);
      if (fault_log != NULL && fault_log != stderr)
        fclose (fault_log);
      if (result == NULL)
        {
          g_printerr ("dynsim: %s\n", error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (results, result);
      all_hold = all_hold && result->all_hold;
      if (dir != NULL && !dk_run_write_outputs (result, dir, &error))
        {
          g_printerr ("dynsim: %s\n", error->message);
          return EXIT_USAGE;
        }

      switch (options.format)
        {
        case FORMAT_TEXT:
          if (runs > 1)
            g_string_append_printf (out, "== run %u/%u\n", run + 1, runs);
          dk_run_to_text (result, out);
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
          fputs (out->str, stdout);
          fflush (stdout);
        }
      g_string_truncate (out, 0);
    }

  if (runs > 1)
    {
      g_autoptr (GString) table = g_string_new (NULL);
      text_table (table, results, combinations);
      if (options.format == FORMAT_TEXT && !options.quiet)
        printf ("\n%s", table->str);
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
