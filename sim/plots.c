/* plots.c — gnuplot scripts for a run's CSV files; see plots.h. */
#include "plots.h"

#include <string.h>
#include "fault_spans.h"
#include "timeseries.h"

/* The picture's geometry: both panels of timeseries.png share the time
 * axis between these screen fractions, so a fault label's width in
 * pixels tells whether it runs into the one before it. */
#define PNG_W 1100
#define PLOT_LEFT 0.08
#define PLOT_RIGHT 0.80
#define PLOT_PX ((PLOT_RIGHT - PLOT_LEFT) * PNG_W)

/* Rows of fault labels at the top of the upper panel (graph fractions),
 * the longest label, and a character's width at the labels' font. */
#define LABEL_ROWS 3
#define LABEL_TOP 0.96
#define LABEL_STEP 0.065
#define LABEL_MAX_CHARS 34
#define LABEL_CHAR_PX 6.5   /* at the labels' 9pt font */

/* The script reads the CSVs by column name, so runner columns can be
 * added without touching it.  The fault intervals go between the first
 * two parts: the shading is on both panels, the labels on the upper. */
static const char plot_head[] =
  "# Redraw with: gnuplot plots.gp (in this directory)\n"
  "set datafile separator ','\n"
  "set terminal pngcairo size " G_STRINGIFY (PNG_W) ",800 font ',10' noenhanced\n"
  "set key outside right top\n"
  "set grid\n"
  "\n"
  "set output 'timeseries.png'\n"
  "set multiplot layout 2,1 title RUN_TITLE margins " G_STRINGIFY (PLOT_LEFT) ", "
  G_STRINGIFY (PLOT_RIGHT) ", 0.08, 0.93 spacing 0.08\n";

static const char plot_timeseries[] =
  "# A row's counts and latencies cover its bucket, drawn at the middle; its\n"
  "# nodes up is a sample taken at the bucket's end, drawn there.\n"
  "stats 'timeseries.csv' using (column('t_s')) name 'T' nooutput\n"
  "BUCKET = T_records > 1 ? (T_max - T_min) / (T_records - 1) : 1\n"
  "set ylabel 'operations per second'\n"
  "plot 'timeseries.csv' using (column('t_s') + BUCKET / 2):(column('ok')) with lines lw 2 title 'ok', \\\n"
  "     '' using (column('t_s') + BUCKET / 2):(column('failed')) with lines lw 2 title 'failed', \\\n"
  "     '' using (column('t_s') + BUCKET / 2):(column('stale_reads')) with lines lw 2 title 'stale reads'\n"
  "unset label\n"
  "set offsets 0, 0, 0, 0\n"
  "set xlabel 'time (s)'\n"
  "set ylabel 'p99 latency (ms)'\n"
  "set y2label 'nodes up'\n"
  "set y2tics\n"
  "stats 'timeseries.csv' using (column('members')) name 'MEMBERS' nooutput\n"
  "set y2range [0:MEMBERS_max + 1]\n"
  "set ytics nomirror\n"
  "plot 'timeseries.csv' using (column('t_s') + BUCKET / 2):(column('latency_p99_ms')) with lines lw 2 "
  "title 'p99 latency', \\\n"
  "     '' using (column('t_s') + BUCKET):(column('nodes_up')) axes x1y2 with steps lw 2 title 'nodes up'\n"
  "unset multiplot\n"
  "unset object\n"
  "unset arrow\n"
  "set autoscale x\n"
  "unset y2tics\n"
  "unset y2label\n"
  "\n"
  "set output 'staleness.png'\n"
  "set title RUN_TITLE.': t-visibility'\n"
  "set xlabel 'time since the last acknowledged write (ms)'\n"
  "set ylabel 'P(read returns it)'\n"
  "set yrange [0:1.05]\n"
  "set logscale x\n"
  "set y2label 'reads in the bucket'\n"
  "set y2range [0.5:*]   # below 1, so a bucket of one read shows\n"
  "set logscale y2\n"
  "set y2tics\n"
  "set ytics nomirror\n"
  "plot 'staleness.csv' using ((column('t_ms')) + 0.5):(column('reads')) axes x1y2 "
  "with impulses lw 3 lc rgb '#c0c0c0' title 'reads (right axis)', \\\n"
  "     '' using ((column('t_ms')) + 0.5):(1 - column('stale') / column('reads')) "
  "with linespoints lw 2 title 'fresh reads'\n";

/* The shading of each kind of interval, as in the report's charts. */
static const char *
span_color (const char *kind)
{
  static const char *const colors[][2] = {
    { "partition", "#ff9f1c" }, { "crash", "#d62728" }, { "drop", "#9467bd" }, { "net", "#1f77b4" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (colors); i++)
    if (strcmp (kind, colors[i][0]) == 0)
      return colors[i][1];
  return "#777777";
}

/* Append TEXT as a gnuplot single-quoted string (no escapes but '' for '). */
static void
append_quoted (GString *out, const char *text)
{
  g_string_append_c (out, '\'');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\'')
        g_string_append_c (out, '\'');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '\'');
}

/* The intervals of SPANS (of DkFaultSpan) as translucent rectangles, the
 * moments as dashed lines, over a time axis 0..END_S.  A label goes in
 * the first row where it does not run into the one before; where no row
 * has room it is left out. */
static void
append_faults (GString *out, const GArray *spans, double end_s)
{
  if (spans->len == 0)
    return;
  g_string_append (out, "# The faults of faults.log: intervals shaded, moments dashed.\n");
  double row_free_px[LABEL_ROWS] = { 0 };
  for (guint i = 0; i < spans->len; i++)
    {
      const DkFaultSpan *span = &g_array_index (spans, DkFaultSpan, i);
      if (span->to_s >= 0)
        {
          g_string_append (out, "set object rect from ");
          dk_append_number (out, span->from_s);
          g_string_append (out, ", graph 0 to ");
          dk_append_number (out, span->to_s);
          g_string_append_printf (out, ", graph 1 fillcolor rgb '%s' fillstyle transparent solid "
                                  "0.15 noborder behind\n", span_color (span->kind));
        }
      else
        {
          g_string_append (out, "set arrow from ");
          dk_append_number (out, span->from_s);
          g_string_append (out, ", graph 0 to ");
          dk_append_number (out, span->from_s);
          g_string_append (out, ", graph 1 nohead dashtype 2 linecolor rgb '#777777' back\n");
        }
      double x_px = PLOT_PX * CLAMP (span->from_s / end_s, 0.0, 1.0);
      glong label_chars = MIN (g_utf8_strlen (span->label, -1), LABEL_MAX_CHARS);
      gint label_row = -1;
      for (gint row = 0; row < LABEL_ROWS && label_row < 0; row++)
        if (x_px >= row_free_px[row])
          label_row = row;
      if (label_row < 0)
        continue;
      row_free_px[label_row] = x_px + 3 + label_chars * LABEL_CHAR_PX + 6;
      g_autofree char *label = g_utf8_substring (span->label, 0, label_chars);
      g_string_append (out, "set label ");
      append_quoted (out, label);
      g_string_append (out, " at ");
      dk_append_number (out, span->from_s);
      g_string_append (out, ", graph ");
      dk_append_number (out, LABEL_TOP - LABEL_STEP * label_row);
      g_string_append (out, " offset character 0.3, 0 font ',9' textcolor rgb '#5b3b00' front\n");
    }
  /* Room above the curves for the labels. */
  g_string_append (out, "set offsets 0, 0, graph 0.25, 0\n");
}

void
dk_plots_build (const char *title, const char *faults_log, double run_s, double settle_s,
                GString *out)
{
  g_autofree char *quoted = g_strescape (title, NULL);
  g_string_append_printf (out, "RUN_TITLE = \"%s\"\n%s", quoted, plot_head);
  double end_s = run_s + settle_s > 0 ? run_s + settle_s : 1;
  g_string_append (out, "set xrange [0:");
  dk_append_number (out, end_s);
  g_string_append (out, "]\n");
  g_autoptr (GArray) spans = dk_fault_spans_parse (faults_log, run_s);
  append_faults (out, spans, end_s);
  g_string_append (out, plot_timeseries);
}

/* Write SCRIPT as DIR/NAME and run gnuplot on it when installed. */
static gboolean
render (const char *dir, const char *name, const GString *script, gboolean *rendered,
        GError **error)
{
  if (rendered != NULL)
    *rendered = FALSE;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (!g_file_set_contents (path, script->str, (gssize) script->len, error))
    return FALSE;
  g_autofree char *gnuplot = g_find_program_in_path ("gnuplot");
  if (gnuplot == NULL)
    return TRUE;
  char *argv[] = { gnuplot, (char *) name, NULL };
  g_autofree char *standard_error = NULL;
  int status;
  if (!g_spawn_sync (dir, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                     &standard_error, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "gnuplot %s: %s: ", path, standard_error ? standard_error : "");
      return FALSE;
    }
  if (rendered != NULL)
    *rendered = TRUE;
  return TRUE;
}

gboolean
dk_plots_write (const char *dir, const char *title, double run_s, double settle_s,
                gboolean *rendered, GError **error)
{
  g_autofree char *log_path = g_build_filename (dir, "faults.log", NULL);
  g_autofree char *faults_log = NULL;
  if (g_file_test (log_path, G_FILE_TEST_EXISTS)
      && !g_file_get_contents (log_path, &faults_log, NULL, error))
    return FALSE;
  g_autoptr (GString) script = g_string_new (NULL);
  dk_plots_build (title, faults_log, run_s, settle_s, script);
  return render (dir, "plots.gp", script, rendered, error);
}

gboolean
dk_plots_write_sweep (const char *dir, const char *title, const char *const *keys,
                      gboolean *rendered, GError **error)
{
  g_autoptr (GString) label = g_string_new ("''");
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    g_string_append_printf (label, ".'%s%s='.strcol('%s')", i > 0 ? " " : "", keys[i], keys[i]);
  g_autofree char *quoted = g_strescape (title, NULL);
  g_autoptr (GString) script = g_string_new (NULL);
  g_string_append_printf (script,
    "# Redraw with: gnuplot sweep.gp (in this directory)\n"
    "set datafile separator ','\n"
    "set terminal pngcairo size 1100,600 font ',11' noenhanced\n"  /* sloppy_quorum: no subscript */
    "set output 'sweep.png'\n"
    "set title \"%s\"\n"
    "set style data histograms\n"
    "set style histogram clustered gap 1\n"
    "set style fill solid 0.8 border -1\n"
    "set yrange [0:1.05]\n"
    "set ylabel 'fraction'\n"
    "set grid ytics\n"
    "set key outside right top\n"
    "set xtics rotate by -20\n"
    "plot 'sweep.csv' using (column('availability')):xticlabels(%s) title 'availability', \\\n"
    "     '' using (column('stale_reads')) title 'stale reads', \\\n"
    "     '' using (column('conflicts')) title 'conflicts'\n",
    quoted, label->str);
  return render (dir, "sweep.gp", script, rendered, error);
}
