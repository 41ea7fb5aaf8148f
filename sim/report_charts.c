/* report_charts.c — the report's charts over time, with the faults
 * shaded, and the t-visibility curve; see report.h.  Plain SVG: axes,
 * one path per series, and one hover strip per second whose <title>
 * lists the values, so the charts read without any script. */
#include "config.h"
#include "report_private.h"

#include <math.h>

/* Chart geometry, in SVG pixels. */
#define CHART_W 1040
#define CHART_H 200
#define CHART_ML 58
#define CHART_MR 14
#define CHART_MT 22
#define CHART_MB 30
#define PLOT_W (CHART_W - CHART_ML - CHART_MR)
#define PLOT_H (CHART_H - CHART_MT - CHART_MB)

typedef struct
{
  const DkRunResult *result;
  DkTimeseries *series;
  guint   n_buckets;
  double  bucket_s;
  double  end_s;        /* run + settle */
  const GArray *spans;  /* of DkFaultSpan */
} Page;

typedef struct
{
  const char *name;
  const char *color;
  gboolean    dashed;
  double     *values;   /* one per bucket; NAN: no value */
} ChartSeries;

static double
nice_step (double range, guint target)
{
  if (range <= 0)
    return 1;
  double raw = range / target;
  double power = pow (10, floor (log10 (raw)));
  double fraction = raw / power;
  double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

static double
chart_x (const Page *page, double t_s)
{
  return CHART_ML + PLOT_W * CLAMP (t_s / page->end_s, 0.0, 1.0);
}

/* Rows of fault labels at the top of a chart, and the widest label. */
#define LABEL_ROWS 3
#define LABEL_MAX_CHARS 34
#define LABEL_CHAR_PX 5.6   /* at the labels' 10px font */

/* The shaded fault intervals and moments over a plot TOP..TOP+HEIGHT.  A
 * label goes in the first row where it does not run into the one before;
 * where no row has room it is left out (the tooltip still names it). */
static void
draw_spans (GString *out, const Page *page, double top, double height)
{
  double row_free_x[LABEL_ROWS] = { 0 };
  for (guint i = 0; i < page->spans->len; i++)
    {
      const DkFaultSpan *span = &g_array_index (page->spans, DkFaultSpan, i);
      double x0 = chart_x (page, span->from_s);
      glong label_chars = MIN (g_utf8_strlen (span->label, -1), LABEL_MAX_CHARS);
      gint label_row = -1;
      for (gint row = 0; row < LABEL_ROWS && label_row < 0; row++)
        if (x0 >= row_free_x[row])
          label_row = row;
      if (label_row >= 0)
        row_free_x[label_row] = x0 + 3 + label_chars * LABEL_CHAR_PX + 6;
      double label_y = top + 10 + 10 * MAX (label_row, 0);
      g_string_append_printf (out, "<g class=\"fault fault-%s\"><title>", span->kind);
      dk__report_number (out, span->from_s, 3);
      if (span->to_s >= 0)
        {
          g_string_append (out, "–");
          dk__report_number (out, span->to_s, 3);
        }
      g_string_append (out, " s: ");
      dk__report_escape (out, span->detail);
      g_string_append (out, "</title>");
      if (span->to_s >= 0)
        {
          double x1 = chart_x (page, span->to_s);
          g_string_append (out, "<rect x=\"");
          dk__report_number (out, x0, 1);
          g_string_append (out, "\" y=\"");
          dk__report_number (out, top, 1);
          g_string_append (out, "\" width=\"");
          dk__report_number (out, MAX (x1 - x0, 1.0), 1);
          g_string_append (out, "\" height=\"");
          dk__report_number (out, height, 1);
          g_string_append (out, "\"/>");
        }
      else
        {
          g_string_append (out, "<path class=\"moment\" d=\"M");
          dk__report_point (out, x0, top);
          g_string_append (out, " V");
          dk__report_number (out, top + height, 1);
          g_string_append (out, "\"/>");
        }
      if (label_row >= 0)
        {
          g_string_append (out, "<text x=\"");
          dk__report_number (out, x0 + 3, 1);
          g_string_append (out, "\" y=\"");
          dk__report_number (out, label_y, 1);
          g_string_append (out, "\">");
          g_autofree char *label = g_utf8_substring (span->label, 0, label_chars);
          dk__report_escape (out, label);
          g_string_append (out, "</text>");
        }
      g_string_append (out, "</g>\n");
    }
}

/* A line chart over the run's time: axes, the faults shaded, one path per
 * series (gaps where a series has no value) and one hover strip per
 * bucket whose tooltip lists every series there.  FRACTION: the values
 * are fractions, drawn 0..100%. */
static void
chart (GString *out, const Page *page, const char *id, const char *title, const char *unit,
       gboolean fraction, const ChartSeries *series, guint n_series)
{
  double y_max = fraction ? 1 : 0;
  for (guint s = 0; s < n_series && !fraction; s++)
    for (guint b = 0; b < page->n_buckets; b++)
      if (!isnan (series[s].values[b]))
        y_max = MAX (y_max, series[s].values[b]);
  double step = fraction ? 0.25 : nice_step (y_max > 0 ? y_max : 1, 4);
  y_max = fraction ? 1 : step * ceil ((y_max > 0 ? y_max : 1) / step);

  g_string_append_printf (out, "<figure class=\"chart\" id=\"%s\"><figcaption>%s", id, title);
  g_string_append (out, "<span class=\"legend\">");
  for (guint s = 0; s < n_series; s++)
    g_string_append_printf (out, "<span><i style=\"background:%s\"></i>%s</span>", series[s].color,
                            series[s].name);
  g_string_append_printf (out, "</span></figcaption>\n<svg class=\"timechart\" viewBox=\"0 0 %d %d\" "
                          "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
                          CHART_W, CHART_H, CHART_W, CHART_H, title);
  draw_spans (out, page, CHART_MT, PLOT_H);

  /* Axes and grid. */
  g_string_append (out, "<g class=\"axis\">");
  for (double y = 0; y <= y_max * 1.0000001; y += step)
    {
      double py = CHART_MT + PLOT_H * (1 - y / y_max);
      g_string_append (out, "<path class=\"grid\" d=\"M");
      dk__report_point (out, CHART_ML, py);
      g_string_append_printf (out, " H%d\"/><text class=\"ylabel\" x=\"%d\" y=\"", CHART_ML + PLOT_W,
                              CHART_ML - 4);
      dk__report_number (out, py + 3, 1);
      g_string_append (out, "\">");
      if (fraction)
        g_string_append_printf (out, "%d%%", (int) lround (y * 100));
      else
        dk__report_number (out, y, step < 1 ? (step < 0.1 ? 2 : 1) : 0);
      g_string_append (out, "</text>");
    }
  double x_step = nice_step (page->end_s, 8);
  for (double t = 0; t <= page->end_s * 1.0000001; t += x_step)
    {
      double px = chart_x (page, t);
      g_string_append (out, "<path class=\"tick\" d=\"M");
      dk__report_point (out, px, CHART_MT + PLOT_H);
      g_string_append (out, " v4\"/><text class=\"xlabel\" x=\"");
      dk__report_number (out, px, 1);
      g_string_append_printf (out, "\" y=\"%d\">", CHART_MT + PLOT_H + 15);
      dk__report_number (out, t, x_step < 1 ? 1 : 0);
      g_string_append (out, "</text>");
    }
  g_string_append_printf (out, "<text class=\"xlabel\" x=\"%d\" y=\"%d\">time (s)</text>",
                          CHART_ML + PLOT_W / 2, CHART_H - 2);
  g_string_append_printf (out, "<text class=\"unit\" x=\"%d\" y=\"%d\">%s</text>", CHART_ML - 4,
                          CHART_MT - 10, unit);
  g_string_append_printf (out, "<path class=\"frame\" d=\"M%d %d V%d H%d\"/></g>\n", CHART_ML,
                          CHART_MT, CHART_MT + PLOT_H, CHART_ML + PLOT_W);

  /* The series. */
  for (guint s = 0; s < n_series; s++)
    {
      g_string_append_printf (out, "<path class=\"series\" stroke=\"%s\"%s d=\"", series[s].color,
                              series[s].dashed ? " stroke-dasharray=\"5 3\"" : "");
      gboolean drawing = FALSE;
      for (guint b = 0; b < page->n_buckets; b++)
        {
          double value = series[s].values[b];
          if (isnan (value))
            {
              drawing = FALSE;
              continue;
            }
          double px = chart_x (page, (b + 0.5) * page->bucket_s);
          double py = CHART_MT + PLOT_H * (1 - CLAMP (value / y_max, 0.0, 1.0));
          g_string_append (out, drawing ? " L" : " M");
          dk__report_point (out, px, py);
          gboolean next_missing = b + 1 >= page->n_buckets || isnan (series[s].values[b + 1]);
          if (!drawing && next_missing)
            g_string_append (out, " l0 0");   /* a lone value: a round dot */
          drawing = TRUE;
        }
      g_string_append_printf (out, "\"><title>%s</title></path>\n", series[s].name);
    }

  /* Hover strips, one per bucket. */
  g_string_append (out, "<g class=\"hover\">");
  double strip = PLOT_W * page->bucket_s / page->end_s;
  for (guint b = 0; b < page->n_buckets; b++)
    {
      double x0 = chart_x (page, b * page->bucket_s);
      if (x0 >= CHART_ML + PLOT_W)
        break;
      g_string_append (out, "<rect x=\"");
      dk__report_number (out, x0, 1);
      g_string_append_printf (out, "\" y=\"%d\" width=\"", CHART_MT);
      dk__report_number (out, MIN (strip, CHART_ML + PLOT_W - x0), 1);
      g_string_append_printf (out, "\" height=\"%d\"><title>", PLOT_H);
      dk__report_number (out, b * page->bucket_s, page->bucket_s < 1 ? 1 : 0);
      g_string_append (out, "–");
      dk__report_number (out, (b + 1) * page->bucket_s, page->bucket_s < 1 ? 1 : 0);
      g_string_append (out, " s");
      for (guint s = 0; s < n_series; s++)
        {
          g_string_append_printf (out, "\n%s: ", series[s].name);
          double value = series[s].values[b];
          if (isnan (value))
            g_string_append (out, "–");
          else if (fraction)
            {
              dk__report_number (out, value * 100, 1);
              g_string_append_c (out, '%');
            }
          else
            dk__report_number (out, value, value == floor (value) ? 0 : 3);
        }
      g_string_append (out, "</title></rect>");
    }
  g_string_append (out, "</g>\n</svg></figure>\n");
}

/* COLUMN's values per bucket (NAN where empty or missing); g_free. */
static double *
column_values (const Page *page, const char *column)
{
  double *values = g_new (double, MAX (page->n_buckets, 1));
  guint index;
  gboolean found = dk_timeseries_find_column (page->series, column, &index);
  for (guint b = 0; b < page->n_buckets; b++)
    if (!found || !dk_timeseries_value (page->series, index, b, &values[b]))
      values[b] = NAN;
  return values;
}

static void
time_charts (GString *out, const Page *page)
{
  g_autofree double *ok = column_values (page, "ok");
  g_autofree double *failed = column_values (page, "failed");
  g_autofree double *invoked = column_values (page, "invoked");
  g_autofree double *availability = g_new (double, MAX (page->n_buckets, 1));
  for (guint b = 0; b < page->n_buckets; b++)
    availability[b] = invoked[b] > 0 ? ok[b] / invoked[b] : NAN;
  g_autofree double *stale = column_values (page, "stale_reads");
  g_autofree double *p50 = column_values (page, "latency_p50_ms");
  g_autofree double *p99 = column_values (page, "latency_p99_ms");
  g_autofree double *nodes_up = column_values (page, "nodes_up");
  g_autofree double *members = column_values (page, "members");
  g_autofree double *hints = column_values (page, "hints_held");
  g_autofree double *suspected = column_values (page, "suspected_pairs");
  g_autofree double *false_suspicions = column_values (page, "false_suspicions");

  g_string_append (out, "<section id=\"charts\"><h2>Over time</h2>\n<p class=\"note\">Shaded: "
                   "the faults of <code>faults.log</code> (<span class=\"sw fault-partition\"></span>"
                   "partition, <span class=\"sw fault-crash\"></span>crash..restart, "
                   "<span class=\"sw fault-drop\"></span>one-way drops, <span class=\"sw fault-net\">"
                   "</span>latency, loss or duplication changed); dashed lines are moments "
                   "(joins, leaves, wipes, the start of the settle).  Hover for the values of "
                   "each second.</p>\n");
  ChartSeries operations[] = { { "ok", "#2a9d3a", FALSE, ok }, { "failed", "#d62728", FALSE, failed } };
  chart (out, page, "chart-ops", "Operations per second", "ops/s", FALSE, operations, 2);
  ChartSeries available[] = { { "availability", "#1f77b4", FALSE, availability } };
  chart (out, page, "chart-availability", "Availability (ok / invoked, per second)", "", TRUE,
         available, 1);
  ChartSeries stale_series[] = { { "stale reads", "#e67e22", FALSE, stale } };
  chart (out, page, "chart-stale", "Stale reads per second", "reads/s", FALSE, stale_series, 1);
  ChartSeries latency[] = { { "p50", "#1f77b4", FALSE, p50 }, { "p99", "#9467bd", FALSE, p99 } };
  chart (out, page, "chart-latency", "Latency of successful operations", "ms", FALSE, latency, 2);
  ChartSeries nodes[] = { { "nodes up", "#2a9d3a", FALSE, nodes_up },
                          { "members", "#7f7f7f", TRUE, members } };
  chart (out, page, "chart-nodes", "Nodes up", "nodes", FALSE, nodes, 2);
  ChartSeries hint_series[] = { { "hints held", "#8c564b", FALSE, hints } };
  chart (out, page, "chart-hints", "Hints held by stand-ins", "hints", FALSE, hint_series, 1);
  ChartSeries suspicion[] = { { "suspected pairs", "#d62728", FALSE, suspected },
                              { "of which falsely", "#e67e22", TRUE, false_suspicions } };
  chart (out, page, "chart-suspected", "Suspected (observer, peer) pairs", "pairs", FALSE,
         suspicion, 2);
  g_string_append (out, "</section>\n");
}

/* The t-visibility curve on a log(1 + t) axis, with a table of counts. */
static void
staleness_section (GString *out, const DkRunResult *result)
{
  const DkVisibility *curve = dk_metrics_visibility (result->metrics);
  g_string_append (out, "<section id=\"staleness\"><h2>Staleness: t-visibility</h2>\n<p class=\"note\">"
                   "The probability that a read started <var>t</var> ms after the last "
                   "acknowledged write on its key returns that write (or a newer one that saw "
                   "it): the PBS curve.  Each point is one bucket of <var>t</var>; the table "
                   "gives how many reads it rests on.</p>\n");
  guint n = dk_visibility_n_buckets ();
  guint64 total = 0;
  guint points = 0;
  for (guint b = 0; b < n; b++)
    {
      guint64 reads, stale;
      dk_visibility_counts (curve, b, &reads, &stale);
      total += reads;
      points += reads > 0;
    }
  if (total == 0)
    {
      g_string_append (out, "<p>No read followed an acknowledged write on its key.</p></section>\n");
      return;
    }
  const double max_log = log10 (1 + 200000.0);   /* the last bucket starts at 100 s */
  g_string_append_printf (out, "<svg class=\"pbs\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                          "role=\"img\" aria-label=\"t-visibility\">\n<g class=\"axis\">",
                          CHART_W, CHART_H, CHART_W, CHART_H);
  for (guint k = 0; k <= 4; k++)
    {
      double py = CHART_MT + PLOT_H * (1 - k / 4.0);
      g_string_append (out, "<path class=\"grid\" d=\"M");
      dk__report_point (out, CHART_ML, py);
      g_string_append_printf (out, " H%d\"/><text class=\"ylabel\" x=\"%d\" y=\"", CHART_ML + PLOT_W,
                              CHART_ML - 4);
      dk__report_number (out, py + 3, 1);
      g_string_append_printf (out, "\">%u%%</text>", k * 25);
    }
  static const double ticks_ms[] = { 0, 1, 10, 100, 1000, 10000, 100000 };
  for (gsize k = 0; k < G_N_ELEMENTS (ticks_ms); k++)
    {
      double px = CHART_ML + PLOT_W * log10 (1 + ticks_ms[k]) / max_log;
      g_string_append (out, "<path class=\"tick\" d=\"M");
      dk__report_point (out, px, CHART_MT + PLOT_H);
      g_string_append (out, " v4\"/><text class=\"xlabel\" x=\"");
      dk__report_number (out, px, 1);
      g_string_append_printf (out, "\" y=\"%d\">", CHART_MT + PLOT_H + 15);
      dk__report_number (out, ticks_ms[k], 0);
      g_string_append (out, "</text>");
    }
  g_string_append_printf (out, "<text class=\"xlabel\" x=\"%d\" y=\"%d\">t since the write was "
                          "acknowledged (ms, log scale)</text><text class=\"unit\" x=\"%d\" y=\"%d\">"
                          "P(fresh)</text>", CHART_ML + PLOT_W / 2, CHART_H - 2, CHART_ML - 4, CHART_MT - 10);
  g_string_append_printf (out, "<path class=\"frame\" d=\"M%d %d V%d H%d\"/></g>\n", CHART_ML,
                          CHART_MT, CHART_MT + PLOT_H, CHART_ML + PLOT_W);
  g_autoptr (GString) path = g_string_new (NULL);
  g_autoptr (GString) dots = g_string_new (NULL);
  g_autoptr (GString) table = g_string_new (NULL);
  for (guint b = 0; b < n; b++)
    {
      guint64 reads, stale;
      dk_visibility_counts (curve, b, &reads, &stale);
      if (reads == 0)
        continue;
      double t_ms = dk_visibility_bucket_start_us (b) / 1000.0;
      double fresh = 1 - (double) stale / (double) reads;
      double px = CHART_ML + PLOT_W * MIN (log10 (1 + t_ms) / max_log, 1.0);
      double py = CHART_MT + PLOT_H * (1 - fresh);
      g_string_append (path, path->len == 0 ? "M" : " L");
      dk__report_point (path, px, py);
      g_string_append_printf (dots, "<circle r=\"%s\" cx=\"", points > 60 ? "1.8" : "3");
      dk__report_number (dots, px, 1);
      g_string_append (dots, "\" cy=\"");
      dk__report_number (dots, py, 1);
      g_string_append (dots, "\"><title>t ≥ ");
      dk__report_number (dots, t_ms, t_ms < 20 ? 1 : 0);
      g_string_append (dots, " ms: ");
      dk__report_number (dots, fresh * 100, 2);
      g_string_append_printf (dots, "%% fresh (%" G_GUINT64_FORMAT " reads, %" G_GUINT64_FORMAT
                              " stale)</title></circle>", reads, stale);
      g_string_append (table, "<tr><td>");
      dk__report_number (table, t_ms, t_ms < 20 ? 1 : 0);
      g_string_append_printf (table, "</td><td>%" G_GUINT64_FORMAT "</td><td>%" G_GUINT64_FORMAT
                              "</td><td>", reads, stale);
      dk__report_number (table, fresh * 100, 2);
      g_string_append (table, "%</td></tr>\n");
    }
  g_string_append_printf (out, "<path class=\"series\" stroke=\"#1f77b4\" d=\"%s\"/>"
                          "<g class=\"dots\" fill=\"#1f77b4\">%s</g>\n</svg>\n", path->str, dots->str);
  g_string_append_printf (out, "<details><summary>Sample counts (%" G_GUINT64_FORMAT " reads)"
                          "</summary><table class=\"numbers\"><thead><tr><th>t from (ms)</th>"
                          "<th>reads</th><th>stale</th><th>P(fresh)</th></tr></thead><tbody>\n%s"
                          "</tbody></table></details></section>\n", total, table->str);
}


void
dk__report_charts (GString *out, const DkRunResult *result, const GArray *spans)
{
  const DkScenario *scenario = result->scenario;
  Page page = { .result = result, .spans = spans };
  page.series = dk_metrics_timeseries (result->metrics);
  page.n_buckets = dk_timeseries_n_buckets (page.series);
  page.bucket_s = dk_timeseries_bucket_us (page.series) / 1e6;
  page.end_s = MAX ((scenario->run_us + scenario->settle_us) / 1e6, page.n_buckets * page.bucket_s);
  if (page.end_s <= 0)
    page.end_s = 1;
  time_charts (out, &page);
  staleness_section (out, result);
}
