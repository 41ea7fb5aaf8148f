/* report.c — report.html: the header, the charts over time with the
 * faults shaded, the staleness curve; see report.h.  The trace sections
 * are in report_trace.c.
 *
 * Determinism: numbers go through g_ascii_formatd (C locale), lists are
 * walked in their own order (history ids, timeseries rows, fault log
 * lines), and no hash table is iterated. */
#include "config.h"
#include "report_private.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

/* Chart geometry, in SVG pixels. */
#define CHART_W 1040
#define CHART_H 200
#define CHART_ML 58
#define CHART_MR 14
#define CHART_MT 22
#define CHART_MB 30
#define PLOT_W (CHART_W - CHART_ML - CHART_MR)
#define PLOT_H (CHART_H - CHART_MT - CHART_MB)

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

/* ---- faults ---------------------------------------------------------------- */

static void
fault_span_clear (gpointer data)
{
  DkFaultSpan *span = data;
  g_free (span->label);
  g_free (span->detail);
}

typedef struct
{
  GArray *spans;          /* of DkFaultSpan, in log order of their start */
  gint    partition;      /* index of the open partition span, or -1 */
  gint    drops;          /* ... of the open one-way drops */
  GHashTable *crashes;    /* node name -> index + 1 of its open crash span (lookups only) */
  gint    network[3];     /* open latency, loss, dup spans */
} FaultParse;

static gint
span_open (FaultParse *parse, double t, const char *label, const char *detail, const char *kind,
           gboolean moment)
{
  DkFaultSpan span = { t, moment ? -1 : t, g_strdup (label), g_strdup (detail), kind };
  g_array_append_val (parse->spans, span);
  return (gint) parse->spans->len - 1;
}

static void
span_close (FaultParse *parse, gint *index, double t)
{
  if (*index < 0)
    return;
  g_array_index (parse->spans, DkFaultSpan, *index).to_s = t;
  *index = -1;
}

/* The network settings the run ends with (its defaults, which the lines
 * after "run ends" restore): a change back to them closes an interval
 * without opening one. */
static void
read_restored (char **lines, char *restored[3])
{
  static const char *const names[3] = { "fault latency ", "fault loss ", "fault dup " };
  gboolean after_end = FALSE;
  for (char **line = lines; *line != NULL; line++)
    {
      const char *text = strchr (*line, ' ');
      if (text == NULL)
        continue;
      text++;
      if (g_str_has_prefix (text, "run ends"))
        after_end = TRUE;
      for (guint k = 0; k < 3 && after_end; k++)
        if (g_str_has_prefix (text, names[k]))
          {
            g_free (restored[k]);
            restored[k] = g_strdup (text + strlen (names[k]));
          }
    }
}

/* Turn the fault log into intervals: a partition or drops until the heal
 * (or the next partition), a crash until its restart, a latency, loss or
 * dup change until the next one; everything else is a moment.  Intervals
 * still open at the end of the run close there. */
static GArray *
parse_faults (const char *log, double run_end_s)
{
  FaultParse parse = { .partition = -1, .drops = -1, .network = { -1, -1, -1 } };
  parse.spans = g_array_new (FALSE, TRUE, sizeof (DkFaultSpan));
  g_array_set_clear_func (parse.spans, fault_span_clear);
  parse.crashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = g_strsplit (log != NULL ? log : "", "\n", -1);
  char *restored[3] = { NULL, NULL, NULL };
  read_restored (lines, restored);
  gboolean after_end = FALSE;
  for (char **line = lines; *line != NULL; line++)
    {
      char *end;
      double t = g_ascii_strtod (*line, &end);
      if (end == *line || *end != ' ')
        continue;
      const char *text = end + 1;
      if (g_str_has_prefix (text, "run ends"))
        {
          after_end = TRUE;
          span_close (&parse, &parse.partition, t);
          span_close (&parse, &parse.drops, t);
          for (guint k = 0; k < 3; k++)
            span_close (&parse, &parse.network[k], t);
          span_open (&parse, t, "settle", text, "event", TRUE);
          continue;
        }
      if (!g_str_has_prefix (text, "fault "))
        {
          span_open (&parse, t, text, text, "event", TRUE);
          continue;
        }
      const char *what = text + strlen ("fault ");
      if (after_end && !g_str_has_prefix (what, "restart "))
        continue;   /* the run's end undoing every fault, shown as "settle" */
      if (g_str_has_prefix (what, "partition"))
        {
          span_close (&parse, &parse.partition, t);
          parse.partition = span_open (&parse, t, what, what, "partition", FALSE);
        }
      else if (g_str_has_prefix (what, "drop "))
        {
          if (parse.drops >= 0 && g_array_index (parse.spans, DkFaultSpan, parse.drops).from_s == t)
            {
              DkFaultSpan *span = &g_array_index (parse.spans, DkFaultSpan, parse.drops);
              char *detail = g_strdup_printf ("%s; %s", span->detail, what);
              g_free (span->detail);
              span->detail = detail;
            }
          else
            {
              span_close (&parse, &parse.drops, t);
              parse.drops = span_open (&parse, t, "one-way drops", what, "drop", FALSE);
            }
        }
      else if (strcmp (what, "heal") == 0)
        {
          span_close (&parse, &parse.partition, t);
          span_close (&parse, &parse.drops, t);
        }
      else if (g_str_has_prefix (what, "crash ") && strstr (what, "already down") == NULL)
        {
          g_auto (GStrv) words = g_strsplit (what, " ", 3);
          gint index = span_open (&parse, t, what, what, "crash", FALSE);
          g_hash_table_replace (parse.crashes, g_strdup (words[1]), GINT_TO_POINTER (index + 1));
        }
      else if (g_str_has_prefix (what, "restart ") || strstr (what, "(restarted empty)") != NULL)
        {
          g_auto (GStrv) words = g_strsplit (what, " ", 3);
          gint index = GPOINTER_TO_INT (g_hash_table_lookup (parse.crashes, words[1])) - 1;
          if (index >= 0)
            {
              DkFaultSpan *span = &g_array_index (parse.spans, DkFaultSpan, index);
              char *label = g_strdup_printf ("%s..restart", span->label);
              g_free (span->label);
              span->label = label;
              span_close (&parse, &index, t);
              g_hash_table_remove (parse.crashes, words[1]);
            }
          if (g_str_has_prefix (what, "wipe "))
            span_open (&parse, t, what, what, "event", TRUE);
        }
      else
        {
          static const char *const names[3] = { "latency ", "loss ", "dup " };
          gboolean network = FALSE;
          for (guint k = 0; k < 3 && !network; k++)
            if (g_str_has_prefix (what, names[k]))
              {
                network = TRUE;
                span_close (&parse, &parse.network[k], t);
                if (g_strcmp0 (what + strlen (names[k]), restored[k]) != 0)
                  parse.network[k] = span_open (&parse, t, what, what, "net", FALSE);
              }
          if (!network)
            span_open (&parse, t, what, what, "event", TRUE);
        }
    }
  /* Whatever is still open lasted to the end of the run. */
  span_close (&parse, &parse.partition, run_end_s);
  span_close (&parse, &parse.drops, run_end_s);
  for (guint k = 0; k < 3; k++)
    span_close (&parse, &parse.network[k], run_end_s);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, parse.crashes);
  while (g_hash_table_iter_next (&iter, NULL, &value))   /* each sets its own span: order-free */
    {
      gint index = GPOINTER_TO_INT (value) - 1;
      span_close (&parse, &index, run_end_s);
    }
  for (guint k = 0; k < 3; k++)
    g_free (restored[k]);
  g_hash_table_destroy (parse.crashes);
  return parse.spans;
}

/* ---- charts ----------------------------------------------------------------- */

typedef struct
{
  const DkRunResult *result;
  DkTimeseries *series;
  guint   n_buckets;
  double  bucket_s;
  double  end_s;        /* run + settle */
  GArray *spans;        /* of DkFaultSpan */
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

static void
point (GString *out, double x, double y)
{
  dk__report_number (out, x, 1);
  g_string_append_c (out, ' ');
  dk__report_number (out, y, 1);
}

/* The shaded fault intervals and moments over a plot TOP..TOP+HEIGHT. */
static void
draw_spans (GString *out, const Page *page, double top, double height)
{
  guint label_row = 0;
  for (guint i = 0; i < page->spans->len; i++)
    {
      const DkFaultSpan *span = &g_array_index (page->spans, DkFaultSpan, i);
      double x0 = chart_x (page, span->from_s);
      double label_y = top + 10 + 10 * (label_row++ % 3);
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
          point (out, x0, top);
          g_string_append (out, " V");
          dk__report_number (out, top + height, 1);
          g_string_append (out, "\"/>");
        }
      g_string_append (out, "<text x=\"");
      dk__report_number (out, x0 + 3, 1);
      g_string_append (out, "\" y=\"");
      dk__report_number (out, label_y, 1);
      g_string_append (out, "\">");
      g_autofree char *label = g_utf8_substring (span->label, 0,
                                                 MIN (g_utf8_strlen (span->label, -1), 34));
      dk__report_escape (out, label);
      g_string_append (out, "</text></g>\n");
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
      point (out, CHART_ML, py);
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
      point (out, px, CHART_MT + PLOT_H);
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
          point (out, px, py);
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
  for (guint b = 0; b < n; b++)
    {
      guint64 reads, stale;
      dk_visibility_counts (curve, b, &reads, &stale);
      total += reads;
    }
  if (total == 0)
    {
      g_string_append (out, "<p>No read followed an acknowledged write on its key.</p></section>\n");
      return;
    }
  const double max_log = log10 (1 + 20000.0);
  g_string_append_printf (out, "<svg class=\"pbs\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                          "role=\"img\" aria-label=\"t-visibility\">\n<g class=\"axis\">",
                          CHART_W, CHART_H, CHART_W, CHART_H);
  for (guint k = 0; k <= 4; k++)
    {
      double py = CHART_MT + PLOT_H * (1 - k / 4.0);
      g_string_append (out, "<path class=\"grid\" d=\"M");
      point (out, CHART_ML, py);
      g_string_append_printf (out, " H%d\"/><text class=\"ylabel\" x=\"%d\" y=\"", CHART_ML + PLOT_W,
                              CHART_ML - 4);
      dk__report_number (out, py + 3, 1);
      g_string_append_printf (out, "\">%u%%</text>", k * 25);
    }
  static const double ticks_ms[] = { 0, 1, 10, 100, 1000, 10000 };
  for (gsize k = 0; k < G_N_ELEMENTS (ticks_ms); k++)
    {
      double px = CHART_ML + PLOT_W * log10 (1 + ticks_ms[k]) / max_log;
      g_string_append (out, "<path class=\"tick\" d=\"M");
      point (out, px, CHART_MT + PLOT_H);
      g_string_append (out, " v4\"/><text class=\"xlabel\" x=\"");
      dk__report_number (out, px, 1);
      g_string_append_printf (out, "\" y=\"%d\">", CHART_MT + PLOT_H + 15);
      dk__report_number (out, ticks_ms[k], 0);
      g_string_append (out, "</text>");
    }
  g_string_append_printf (out, "<text class=\"xlabel\" x=\"%d\" y=\"%d\">t since the write was "
                          "acknowledged (ms, log scale)</text><text class=\"unit\" x=\"4\" y=\"%d\">"
                          "P(fresh)</text>", CHART_ML + PLOT_W / 2, CHART_H - 2, CHART_MT - 10);
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
      point (path, px, py);
      g_string_append (dots, "<circle r=\"3\" cx=\"");
      dk__report_number (dots, px, 1);
      g_string_append (dots, "\" cy=\"");
      dk__report_number (dots, py, 1);
      g_string_append (dots, "\"><title>t ≥ ");
      dk__report_number (dots, t_ms, 0);
      g_string_append (dots, " ms: ");
      dk__report_number (dots, fresh * 100, 2);
      g_string_append_printf (dots, "%% fresh (%" G_GUINT64_FORMAT " reads, %" G_GUINT64_FORMAT
                              " stale)</title></circle>", reads, stale);
      g_string_append (table, "<tr><td>");
      dk__report_number (table, t_ms, 0);
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

/* ---- the page ----------------------------------------------------------------- */

static const char page_style[] =
  "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;"
  "max-width:1100px;padding:0 18px 60px;color:#1d232a;background:#fff}"
  "h1{font-size:28px;margin:18px 0 2px}h2{font-size:21px;margin:34px 0 6px;border-bottom:2px solid "
  "#e3e7ec;padding-bottom:3px}h3{font-size:16px;margin:18px 0 4px}"
  ".run,.description,.counts,.note{color:#4a5560;margin:4px 0}.note{font-size:14px}"
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
  Page page = { .result = result };
  page.series = dk_metrics_timeseries (result->metrics);
  page.n_buckets = dk_timeseries_n_buckets (page.series);
  page.bucket_s = dk_timeseries_bucket_us (page.series) / 1e6;
  page.end_s = MAX ((scenario->run_us + scenario->settle_us) / 1e6, page.n_buckets * page.bucket_s);
  if (page.end_s <= 0)
    page.end_s = 1;
  page.spans = parse_faults (faults_log, scenario->run_us / 1e6);

  g_autofree char *base = g_path_get_basename (scenario->name);
  g_string_append (out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  dk__report_escape (out, base);
  g_string_append_printf (out, ", seed %" G_GUINT64_FORMAT " — dynsim report</title>\n<style>%s</style>\n"
                          "<script>%s</script>\n</head>\n<body>\n", scenario->seed, page_style,
                          page_script_head);
  header_section (out, result);
  time_charts (out, &page);
  staleness_section (out, result);
  faults_section (out, faults_log);
  dk__report_trace_sections (out, result, trace, page.spans);
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
  g_array_unref (page.spans);
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
