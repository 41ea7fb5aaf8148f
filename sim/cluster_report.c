/* cluster_report.c — what dynkv-cluster writes at the end of a run;
 * see cluster_run.h. */
#include "config.h"
#include "cluster_run.h"

#include <string.h>
#include "plots.h"

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


/* TRUE when every expect holds; appends the JSON array of the judged
 * expects to JSON and their PASS/FAIL lines to TEXT. */
static gboolean
judge_expects (const DkClusterReport *report, GString *json, GString *text)
{
  gboolean all_hold = TRUE;
  g_string_append_c (json, '[');
  for (guint i = 0; i < report->scenario->expects->len; i++)
    {
      const DkExpect *expect = g_ptr_array_index (report->scenario->expects, i);
      double actual = 0;
      gboolean measured = dk_metrics_get (report->metrics, expect->metric, &actual);
      gboolean holds = measured && dk_expect_holds (expect, actual);
      all_hold = all_hold && holds;
      g_autoptr (GString) got = g_string_new (NULL);
      if (measured)
        dk_append_number (got, actual);
      else
        g_string_append (got, "null");
      g_autoptr (GString) wanted = g_string_new (NULL);
      dk_append_number (wanted, expect->value);
      g_string_append_printf (json, "%s{\"line\": %u, \"metric\": ", i > 0 ? ", " : "",
                              expect->line);
      append_json_string (json, expect->metric);
      g_string_append_printf (json, ", \"op\": \"%s\", \"value\": %s, \"actual\": %s, "
                              "\"holds\": %s}", dk_compare_op_to_string (expect->op),
                              wanted->str, got->str, holds ? "true" : "false");
      g_string_append_printf (text, "%s  %s:%u: expect %s %s %s (got %s)\n",
                              holds ? "PASS" : "FAIL", report->scenario->name, expect->line,
                              expect->metric, dk_compare_op_to_string (expect->op), wanted->str,
                              measured ? got->str : "not measured on a real cluster");
    }
  g_string_append_c (json, ']');
  return all_hold;
}

/* The node counters summed over the nodes (dynkv stats --json, asked at
 * the end of the settle): all in JSON, by name; the few that tell a run's
 * story in TEXT. */
static void
append_node_counters (const DkClusterReport *report, GString *json, GString *text)
{
  static const char *const told[] = {
    "requests_coordinated", "requests_failed", "dot_collisions", "net_faults_lost",
    "net_faults_duplicated", "net_faults_delayed", "hints_kept", "ae_keys_repaired",
  };
  g_string_append_printf (json, ", \"node_counters\": {\"nodes_counted\": %u",
                          report->nodes_counted);
  g_autoptr (GList) names = g_hash_table_get_keys (report->node_counters);
  names = g_list_sort (names, (GCompareFunc) strcmp);
  for (GList *name = names; name != NULL; name = name->next)
    {
      const guint64 *total = g_hash_table_lookup (report->node_counters, name->data);
      g_string_append (json, ", ");
      append_json_string (json, name->data);
      g_string_append_printf (json, ": %" G_GUINT64_FORMAT, *total);
    }
  g_string_append_c (json, '}');
  g_string_append_printf (text, "nodes           counters of %u (nodes/n*.stats.json):",
                          report->nodes_counted);
  for (gsize i = 0; i < G_N_ELEMENTS (told); i++)
    {
      const guint64 *total = g_hash_table_lookup (report->node_counters, told[i]);
      g_string_append_printf (text, "%s %s %" G_GUINT64_FORMAT, i > 0 ? "," : "", told[i],
                              total != NULL ? *total : 0);
    }
  g_string_append_c (text, '\n');
}

/* summary.json and summary.txt: the checkers' metrics as dynsim writes
 * them, the client counters, the expects.  TRUE when every expect holds. */
gboolean
dk_cluster_build_summaries (const DkClusterReport *report, GString *json, GString *text)
{
  const DkScenario *scenario = report->scenario;
  const DkWorkloadStats *w = &report->clients->workload;
  g_string_append_printf (text, "dynkv-cluster %s  %s  seed %" G_GUINT64_FORMAT
                          "  (%u dynkvd in network namespaces)\n", PACKAGE_VERSION,
                          scenario->name, scenario->seed, report->nodes);
  g_autofree char *description = dk_scenario_describe (scenario);
  g_string_append_printf (text, "  %s\n", description);
  for (guint i = 0; i < report->warnings->len; i++)
    g_string_append_printf (text, "  warning: %s\n",
                            (const char *) g_ptr_array_index (report->warnings, i));
  dk_metrics_summary (report->metrics, text);
  g_string_append_printf (text, "clients         %" G_GUINT64_FORMAT " invoked, %" G_GUINT64_FORMAT
                          " replies (%" G_GUINT64_FORMAT " late), %" G_GUINT64_FORMAT
                          " client timeouts, %" G_GUINT64_FORMAT " unreachable, %"
                          G_GUINT64_FORMAT " send errors; arrivals at most %.1f ms late\n",
                          w->invoked, w->replies, w->late_replies, w->client_timeouts,
                          w->unreachable, report->clients->send_errors,
                          report->clients->tick_late_max_us / 1000.0);

  g_string_append (json, "{\"runner\": \"dynkv-cluster\", \"scenario\": ");
  append_json_string (json, scenario->name);
  g_string_append_printf (json, ", \"version\": \"%s\", \"seed\": %" G_GUINT64_FORMAT
                          ", \"nodes\": %u, ", PACKAGE_VERSION, scenario->seed, report->nodes);
  dk_metrics_append_json_members (report->metrics, json);
  g_string_append_printf (json, ", \"clients\": {\"invoked\": %" G_GUINT64_FORMAT
                          ", \"replies\": %" G_GUINT64_FORMAT ", \"late_replies\": %"
                          G_GUINT64_FORMAT ", \"client_timeouts\": %" G_GUINT64_FORMAT
                          ", \"unreachable\": %" G_GUINT64_FORMAT ", \"pages_fetched\": %"
                          G_GUINT64_FORMAT ", \"send_errors\": %" G_GUINT64_FORMAT
                          ", \"unauthenticated\": %" G_GUINT64_FORMAT
                          ", \"arrival_late_max_ms\": %.3f"
                          ", \"arrival_late_mean_ms\": %.3f}",
                          w->invoked, w->replies, w->late_replies, w->client_timeouts,
                          w->unreachable, w->pages_fetched, report->clients->send_errors,
                          report->clients->unauthenticated,
                          report->clients->tick_late_max_us / 1000.0,
                          report->clients->arrivals == 0 ? 0.0
                          : report->clients->tick_late_sum_us / 1000.0
                            / (double) report->clients->arrivals);
  append_node_counters (report, json, text);
  g_string_append (json, ", \"parameters\": ");
  dk_scenario_parameters_to_json (scenario, json);
  g_string_append (json, ", \"expects\": ");
  gboolean all_hold = judge_expects (report, json, text);
  g_string_append_printf (json, ", \"all_expects_hold\": %s, \"warnings\": [",
                          all_hold ? "true" : "false");
  for (guint i = 0; i < report->warnings->len; i++)
    {
      if (i > 0)
        g_string_append (json, ", ");
      append_json_string (json, g_ptr_array_index (report->warnings, i));
    }
  g_string_append (json, "]}\n");
  return all_hold;
}

static gboolean
save_text (const char *dir, const char *file, const GString *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  return g_file_set_contents (path, text->str, (gssize) text->len, error);
}

gboolean
dk_cluster_write_outputs (const char *dir, const DkScenario *scenario, const DkHistory *history,
               const DkFinalState *final, DkMetrics *metrics, const GString *json,
               const GString *text, GError **error)
{
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_history_to_csv (history, csv);
  if (!save_text (dir, "history.csv", csv, error))
    return FALSE;
  g_string_truncate (csv, 0);
  dk_final_state_to_csv (final, history, csv);
  if (!save_text (dir, "final.csv", csv, error))
    return FALSE;
  g_string_truncate (csv, 0);
  dk_timeseries_to_csv (dk_metrics_timeseries (metrics), csv);
  if (!save_text (dir, "timeseries.csv", csv, error))
    return FALSE;
  g_string_truncate (csv, 0);
  dk_visibility_to_csv (dk_metrics_visibility (metrics), csv);
  if (!save_text (dir, "staleness.csv", csv, error)
      || !save_text (dir, "summary.json", json, error)
      || !save_text (dir, "summary.txt", text, error))
    return FALSE;
  g_autofree char *base = g_path_get_basename (scenario->name);
  g_autofree char *title = g_strdup_printf ("%s, seed %" G_GUINT64_FORMAT " (real cluster)",
                                            base, scenario->seed);
  return dk_plots_write (dir, title, scenario->run_us / 1e6, scenario->settle_us / 1e6, NULL,
                         error);
}
