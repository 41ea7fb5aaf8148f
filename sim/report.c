/* report.c — report.html: the page, its header and fault log, and the
 * helpers its sections share; see report.h.  The sections are in
 * report_charts.c, report_sequence.c, report_quorum.c and
 * report_versions.c; faults.log is read in fault_spans.c.
 *
 * Determinism: numbers go through g_ascii_formatd (C locale), lists are
 * walked in their own order (history ids, timeseries rows, fault log
 * lines), and no hash table is iterated. */
#include "config.h"
#include "report_private.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

/* ---- text ---------------------------------------------------------------- */

void
dk__report_escape (GString *out, const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    switch (*p)
      {
      case '&': g_string_append (out, "&amp;"); break;
      case '<': g_string_append (out, "&lt;"); break;
      case '>': g_string_append (out, "&gt;"); break;
      case '"': g_string_append (out, "&quot;"); break;
      default: g_string_append_c (out, *p); break;
      }
}

void
dk__report_number (GString *out, double value, int decimals)
{
  char format[8];
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  g_snprintf (format, sizeof format, "%%.%df", CLAMP (decimals, 0, 9));
  g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, format, value));
}

void
dk__report_seconds (GString *out, gint64 t_us)
{
  g_string_append_printf (out, "%" G_GINT64_FORMAT ".%03" G_GINT64_FORMAT, t_us / 1000000,
                          (t_us % 1000000) / 1000);
}

const char *
dk__report_status_name (DkWireStatus status)
{
  static const char *const names[] = {
    [DK_WIRE_STATUS_OK] = "ok", [DK_WIRE_STATUS_NOT_FOUND] = "not found",
    [DK_WIRE_STATUS_UNAVAILABLE] = "unavailable", [DK_WIRE_STATUS_TIMEOUT] = "timeout",
    [DK_WIRE_STATUS_INVALID] = "invalid", [DK_WIRE_STATUS_TOO_LARGE] = "too large",
    [DK_WIRE_STATUS_STORAGE_ERROR] = "storage error", [DK_WIRE_STATUS_OVERLOADED] = "overloaded",
    [DK_WIRE_STATUS_RETRY] = "retry",
  };
  return status <= DK_WIRE_STATUS_LAST ? names[status] : "?";
}


void
dk__report_endpoint (GString *out, DkEndpoint endpoint)
{
  if (dk_endpoint_is_node (endpoint))
    g_string_append_printf (out, "n%u", (guint) endpoint);
  else
    g_string_append_printf (out, "c%" G_GUINT64_FORMAT, endpoint - DK_ENDPOINT_CLIENT_BASE);
}

void
dk__report_point (GString *out, double x, double y)
{
  dk__report_number (out, x, 1);
  g_string_append_c (out, ' ');
  dk__report_number (out, y, 1);
}

/* ---- header ------------------------------------------------------------------ */

typedef struct
{
  const char *metric;
  const char *label;
  gboolean    percent;  /* a fraction, shown as a percentage */
  gboolean    bad_when_positive;
} Headline;

static const Headline headlines[] = {
  { "availability", "availability", TRUE, FALSE },
  { "stale_reads", "stale reads", TRUE, TRUE },
  { "lost_writes", "lost writes", FALSE, TRUE },
  { "lost_updates", "lost updates", FALSE, TRUE },
  { "divergent_keys", "divergent keys", FALSE, TRUE },
  { "under_replicated_writes", "under-replicated writes", FALSE, FALSE },
  { "hints_kept", "hints kept", FALSE, FALSE },
  { "hints_delivered", "hints delivered", FALSE, FALSE },
  { "latency_p50_ms", "latency p50 (ms)", FALSE, FALSE },
  { "latency_p99_ms", "latency p99 (ms)", FALSE, FALSE },
  { "detection_time_ms", "detection time (ms)", FALSE, FALSE },
  { "converge_ms", "converged after (ms)", FALSE, FALSE },
};

static void
header_section (GString *out, const DkRunResult *result)
{
  const DkScenario *scenario = result->scenario;
  g_autofree char *base = g_path_get_basename (scenario->name);
  g_autofree char *description = dk_scenario_describe (scenario);
  g_string_append (out, "<header><h1>");
  dk__report_escape (out, base);
  g_string_append_printf (out, "</h1>\n<p class=\"run\">seed <b>%" G_GUINT64_FORMAT "</b> · dynsim %s · ",
                          scenario->seed, PACKAGE_VERSION);
  dk__report_escape (out, scenario->name);
  g_string_append (out, "</p>\n<p class=\"description\">");
  dk__report_escape (out, description);
  g_string_append (out, "</p>\n<div class=\"tiles\">");
  for (gsize i = 0; i < G_N_ELEMENTS (headlines); i++)
    {
      double value;
      if (!dk_run_metric (result, headlines[i].metric, &value))
        continue;   /* not measured in this run, or not a metric of this version */
      gboolean bad = headlines[i].bad_when_positive && value > 0;
      g_string_append_printf (out, "<div class=\"tile%s\" title=\"%s\"><b>", bad ? " bad" : "",
                              headlines[i].metric);
      if (headlines[i].percent)
        {
          dk__report_number (out, value * 100, 2);
          g_string_append_c (out, '%');
        }
      else
        dk__report_number (out, value, value == floor (value) ? 0 : 2);
      g_string_append_printf (out, "</b><span>%s</span></div>", headlines[i].label);
    }
  g_string_append (out, "</div>\n");
  g_string_append_printf (out, "<p class=\"counts\">%" G_GUINT64_FORMAT " operations invoked, "
                          "%" G_GUINT64_FORMAT " messages (%" G_GUINT64_FORMAT " lost, %"
                          G_GUINT64_FORMAT " cut by faults), %" G_GUINT64_FORMAT
                          " simulator events.</p>\n", result->clients.invoked, result->network.sent,
                          result->network.lost, result->network.cut + result->network.to_crashed,
                          result->events_run);
  if (result->expects->len > 0)
    {
      g_string_append (out, "<table class=\"expects\"><tbody>");
      for (guint i = 0; i < result->expects->len; i++)
        {
          const DkExpectResult *judged = &g_array_index (result->expects, DkExpectResult, i);
          g_string_append_printf (out, "<tr class=\"%s\"><td>%s</td><td>line %u</td><td>expect %s %s ",
                                  judged->holds ? "pass" : "fail", judged->holds ? "PASS" : "FAIL",
                                  judged->expect->line, judged->expect->metric,
                                  dk_compare_op_to_string (judged->expect->op));
          g_autoptr (GString) number = g_string_new (NULL);
          dk_append_number (number, judged->expect->value);
          dk__report_escape (out, number->str);
          g_string_append (out, "</td><td>got ");
          g_string_truncate (number, 0);
          if (judged->measured)
            dk_append_number (number, judged->actual);
          else
            g_string_append (number, "not measured");
          dk__report_escape (out, number->str);
          g_string_append (out, "</td></tr>");
        }
      g_string_append (out, "</tbody></table>\n");
    }
  for (guint i = 0; i < result->warnings->len; i++)
    {
      g_string_append (out, "<p class=\"warning\">warning: ");
      dk__report_escape (out, g_ptr_array_index (result->warnings, i));
      g_string_append (out, "</p>\n");
    }
  g_string_append (out, "<nav><a href=\"#charts\">over time</a> · <a href=\"#staleness\">staleness"
                   "</a> · <a href=\"#faults\">faults</a> · <a href=\"#sequence\">message sequence"
                   "</a> · <a href=\"#quorum\">quorum trace</a> · <a href=\"#versions\">versions"
                   "</a></nav></header>\n");
}

static void
faults_section (GString *out, const char *faults_log)
{
  g_string_append (out, "<section id=\"faults\"><h2>Faults</h2>\n");
  if (faults_log == NULL || faults_log[0] == '\0')
    {
      g_string_append (out, "<p>No fault log (<code>faults.log</code>) was given.</p></section>\n");
      return;
    }
  g_string_append (out, "<details open><summary><code>faults.log</code>: every injected fault, "
                   "one line each (virtual seconds)</summary><pre class=\"log\">");
  g_auto (GStrv) lines = g_strsplit (faults_log, "\n", -1);
  guint shown = 0, total = 0;
  for (char **line = lines; *line != NULL; line++)
    {
      if (**line == '\0')
        continue;
      total++;
      if (shown >= 300)
        continue;
      dk__report_escape (out, *line);
      g_string_append_c (out, '\n');
      shown++;
    }
  g_string_append (out, "</pre>");
  if (shown < total)
    g_string_append_printf (out, "<p class=\"capped\">The first %u of %u lines; the rest are in "
                            "faults.log.</p>", shown, total);
  g_string_append (out, "</details></section>\n");
}

/* The key whose reads returned the most siblings (ties: the most writes,
 * then the first by name), for the version history when none is traced;
 * NULL when nothing was written. */
static char *
busiest_key (const DkHistory *history)
{
  g_autoptr (GHashTable) scores = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  const char *best = NULL;
  guint64 best_score = 0;
  for (guint64 id = 0; id < dk_history_len (history); id++)
    {
      const DkOp *op = dk_history_get (history, id);
      guint64 gain = op->kind == DK_OP_GET ? (op->returned != NULL && op->returned->len > 1
                                              ? 1000000 : 0)
                                           : (op->has_dot ? 1 : 0);
      if (gain == 0)
        continue;
      guint64 *score = g_hash_table_lookup (scores, op->key);
      if (score == NULL)
        {
          score = g_new0 (guint64, 1);
          g_hash_table_insert (scores, op->key, score);
        }
      *score += gain;
      if (*score > best_score || (*score == best_score && strcmp (op->key, best) < 0))
        {
          best = op->key;
          best_score = *score;
        }
    }
  return g_strdup (best);
}

/* The sequence diagram and the quorum trace, or how to ask for them. */
static void
trace_sections (GString *out, const DkRunResult *result, const DkSimTrace *trace,
                const GArray *spans)
{
  if (trace == NULL)
    {
      g_string_append (out, "<section id=\"sequence\"><h2>Message sequence</h2>\n<p>No trace was "
                       "recorded.  Run with <code>--trace KEY</code> (the datagrams about one key) "
                       "and/or <code>--trace-window FROM..TO</code> (every datagram sent in a time "
                       "window, e.g. <code>10s..10.2s</code>) to draw the messages of this run and "
                       "each request's quorum.</p></section>\n<section id=\"quorum\"></section>\n");
      return;
    }
  dk__report_sequence_section (out, trace, spans);
  dk__report_quorum_section (out, result, trace);
}

/* ---- the page ----------------------------------------------------------------- */

static const char page_style[] =
  "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;"
  "max-width:1100px;padding:0 18px 60px;color:#1d232a;background:#fff}"
  "h1{font-size:28px;margin:18px 0 2px}h2{font-size:21px;margin:34px 0 6px;border-bottom:2px solid "
  "#e3e7ec;padding-bottom:3px}h3{font-size:16px;margin:18px 0 4px}"
  ".run,.description,.counts,.note{color:#4a5560;margin:4px 0}.note{font-size:14px}"
  ".description{font-size:12.5px}"
  ".tiles{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}.tile{border:1px solid #d5dbe1;"
  "border-radius:6px;padding:6px 12px;min-width:110px;background:#f7f9fb}.tile b{display:block;"
  "font-size:22px}.tile span{font-size:12.5px;color:#4a5560}.tile.bad{border-color:#d62728;"
  "background:#fdeeee}.tile.bad b{color:#b71c1c}"
  "table{border-collapse:collapse;font-size:13.5px;margin:6px 0}td,th{border-bottom:1px solid "
  "#e3e7ec;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f4f7}"
  "table.numbers td{text-align:right;font-variant-numeric:tabular-nums}"
  ".expects .pass td:first-child{color:#2a7d32;font-weight:bold}.expects .fail td:first-child{"
  "color:#b71c1c;font-weight:bold}.warning{color:#9a5b00}.capped{color:#9a5b00;font-weight:600}"
  "nav{margin:10px 0;font-size:14px}a{color:#1a5fb4}code,pre{font:12.5px/1.4 ui-monospace,"
  "SFMono-Regular,Menlo,monospace}pre.log{background:#f7f9fb;border:1px solid #e3e7ec;padding:8px;"
  "max-height:260px;overflow:auto}"
  "figure{margin:14px 0}figcaption{font-weight:600;font-size:14.5px}.legend{font-weight:normal;"
  "margin-left:14px;font-size:13px}.legend span{margin-right:12px}.legend i{display:inline-block;"
  "width:14px;height:4px;margin:0 5px 3px 0;vertical-align:middle}"
  "svg{max-width:100%;height:auto;display:block}svg.seq,svg.dag{max-width:none}svg text{font:11px system-ui,sans-serif;"
  "fill:#33404d}.ylabel{text-anchor:end}.xlabel{text-anchor:middle}.unit{font-weight:600;text-anchor:end}"
  ".grid{stroke:#eceff2}.tick,.frame{stroke:#8a96a3;fill:none}.series{fill:none;stroke-width:2;"
  "stroke-linejoin:round;stroke-linecap:round}.hover rect{fill:transparent}.hover rect:hover{"
  "fill:rgba(0,0,0,.05)}.cursor{stroke:#555;stroke-dasharray:2 2}"
  ".fault rect{fill-opacity:.16}.fault text{font-size:10px;fill:#5b3b00}.moment{stroke:#777;"
  "stroke-dasharray:3 3}.fault-partition rect,.sw.fault-partition{fill:#ff9f1c;background:#ffd9a6}"
  ".fault-crash rect,.sw.fault-crash{fill:#d62728;background:#f4b5b5}.fault-drop rect,"
  ".sw.fault-drop{fill:#9467bd;background:#d9c9ea}.fault-net rect,.sw.fault-net{fill:#1f77b4;"
  "background:#b9d3ea}.sw{display:inline-block;width:14px;height:10px;margin:0 3px 0 2px}"
  ".seq .life{stroke:#b8c0c8}.seq .who{font-weight:600;text-anchor:middle}.seq .msg{stroke-width:1.4;"
  "fill:none}.seq .t{font-size:9.5px;fill:#6b7682;text-anchor:end}.seq .lbl{font-size:9.5px}"
  ".seq .gap{stroke:#c7ccd2;stroke-dasharray:6 4}.seq .gaplbl{font-size:9.5px;fill:#8a96a3}"
  ".seq .dropped{stroke:#d62728;stroke-dasharray:4 3}.seq .x{stroke:#d62728;stroke-width:2}"
  ".faultline path{stroke-width:2;stroke-dasharray:8 3}.faultline text{font-size:10.5px;"
  "text-anchor:end;font-weight:600}.faultline.fault-partition path{stroke:#ff9f1c}"
  ".faultline.fault-partition text{fill:#a85d00}.faultline.fault-crash path{stroke:#d62728}"
  ".faultline.fault-crash text{fill:#b71c1c}.faultline.fault-drop path{stroke:#9467bd}"
  ".faultline.fault-net path{stroke:#1f77b4}.faultline.fault-event path{stroke:#777}"
  ".seq .inflight{stroke:#9aa5b1;stroke-dasharray:2 3}"
  ".k-client{stroke:#1a5fb4;fill:#1a5fb4}.k-read{stroke:#2a9d3a;fill:#2a9d3a}.k-write{stroke:#c0392b;"
  "fill:#c0392b}.k-hint{stroke:#8c564b;fill:#8c564b}.k-other{stroke:#7f7f7f;fill:#7f7f7f}"
  ".seq text.k-client,.seq text.k-read,.seq text.k-write,.seq text.k-hint,.seq text.k-other{"
  "stroke:none}"
  ".b{display:inline-block;padding:0 5px;border-radius:3px;margin:1px 2px;font-size:12.5px;"
  "background:#eef1f4;white-space:nowrap}.b.ok{background:#dff3e2}.b.bad{background:#fbe0e0}"
  ".b.late{background:#fff0d0}tr.failed td:first-child{border-left:3px solid #d62728}"
  ".dag .edge{stroke:#8a96a3;fill:none;stroke-width:1.3}.dag circle,.dag rect.v{stroke:#33404d;"
  "stroke-width:1.3}.dag .acked{fill:#7fb3e6}.dag .unacked{fill:#fff}.dag .lost{fill:#f28b82}"
  ".dag .held{stroke:#2a9d3a;stroke-width:3.5}.dag text{font-size:10px}";

static const char page_script_head[] =
  "document.documentElement.setAttribute('data-script-ran','no');"
  "window.onerror=function(m){document.documentElement.setAttribute('data-script-error',"
  "String(m));};";

static const char page_script[] =
  "(function(){var root=document.documentElement;"
  "var box=document.getElementById('failed-only');"
  "if(box){box.disabled=false;box.addEventListener('change',function(){"
  "var rows=document.querySelectorAll('#quorum-table tbody tr');"
  "for(var i=0;i<rows.length;i++){rows[i].style.display=box.checked&&"
  "rows[i].getAttribute('data-ok')==='yes'?'none':'';}});}"
  "var ns='http://www.w3.org/2000/svg';var charts=document.querySelectorAll('svg.timechart');"
  "for(var c=0;c<charts.length;c++){(function(svg){var line=document.createElementNS(ns,'path');"
  "line.setAttribute('class','cursor');line.setAttribute('d','M0 0');svg.appendChild(line);"
  "svg.addEventListener('mousemove',function(e){var r=svg.getBoundingClientRect();"
  "var x=(e.clientX-r.left)*svg.viewBox.baseVal.width/r.width;"
  "line.setAttribute('d','M'+x.toFixed(1)+' 22V170');});})(charts[c]);}"
  "root.setAttribute('data-charts',String(charts.length));"
  "var drawn=0,paths=document.querySelectorAll('svg path.series');"
  "for(var p=0;p<paths.length;p++){var b=paths[p].getBBox();if(b.width>0||b.height>0)drawn++;}"
  "root.setAttribute('data-drawn-paths',String(drawn));"
  "root.setAttribute('data-script-ran','yes');})();";

void
dk_report_build (const DkRunResult *result, const char *faults_log, const DkSimTrace *trace,
                 GString *out)
{
  const DkScenario *scenario = result->scenario;
  g_autoptr (GArray) spans = dk_fault_spans_parse (faults_log, scenario->run_us / 1e6);

  g_autofree char *base = g_path_get_basename (scenario->name);
  g_string_append (out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  dk__report_escape (out, base);
  g_string_append_printf (out, ", seed %" G_GUINT64_FORMAT " — dynsim report</title>\n<style>%s</style>\n"
                          "<script>%s</script>\n</head>\n<body>\n", scenario->seed, page_style,
                          page_script_head);
  header_section (out, result);
  dk__report_charts (out, result, spans);
  faults_section (out, faults_log);
  trace_sections (out, result, trace, spans);
  const char *traced_key = trace != NULL ? dk_sim_trace_key (trace) : NULL;
  g_autofree char *key = traced_key != NULL ? g_strdup (traced_key) : busiest_key (result->history);
  gint64 from_us = 0, to_us = -1;
  if (trace != NULL)
    dk_sim_trace_window (trace, &from_us, &to_us);
  dk__report_versions_section (out, result, key, traced_key == NULL, from_us);
  g_string_append_printf (out, "<footer class=\"note\">Written by dynsim %s from %s, seed %"
                          G_GUINT64_FORMAT ": the same scenario and seed give this page byte for "
                          "byte.</footer>\n<script>%s</script>\n</body>\n</html>\n", PACKAGE_VERSION,
                          base, scenario->seed, page_script);
}

gboolean
dk_report_write (const DkRunResult *result, const DkSimTrace *trace, const char *dir,
                 GError **error)
{
  g_autofree char *log_path = g_build_filename (dir, "faults.log", NULL);
  g_autofree char *faults_log = NULL;
  if (g_file_test (log_path, G_FILE_TEST_EXISTS)
      && !g_file_get_contents (log_path, &faults_log, NULL, error))
    return FALSE;
  g_autoptr (GString) page = g_string_new (NULL);
  dk_report_build (result, faults_log, trace, page);
  g_autofree char *path = g_build_filename (dir, "report.html", NULL);
  return g_file_set_contents (path, page->str, (gssize) page->len, error);
}
