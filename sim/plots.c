/* plots.c — gnuplot scripts for a run's CSV files; see plots.h. */
#include "plots.h"

#include <string.h>

/* The script reads the CSVs by column name, so runner columns can be
 * added without touching it. */
static const char plot_script[] =
  "# Redraw with: gnuplot plots.gp (in this directory)\n"
  "set datafile separator ','\n"
  "set terminal pngcairo size 1100,800 font ',10'\n"
  "set key outside right top\n"
  "set grid\n"
  "\n"
  "set output 'timeseries.png'\n"
  "set multiplot layout 2,1 title RUN_TITLE\n"
  "set ylabel 'operations per second'\n"
  "plot 'timeseries.csv' using (column('t_s')):(column('ok')) with lines lw 2 title 'ok', \\\n"
  "     '' using (column('t_s')):(column('failed')) with lines lw 2 title 'failed', \\\n"
  "     '' using (column('t_s')):(column('stale_reads')) with lines lw 2 title 'stale reads'\n"
  "set xlabel 'time (s)'\n"
  "set ylabel 'p99 latency (ms)'\n"
  "set y2label 'nodes up'\n"
  "set y2tics\n"
  "stats 'timeseries.csv' using (column('members')) name 'MEMBERS' nooutput\n"
  "set y2range [0:MEMBERS_max + 1]\n"
  "set ytics nomirror\n"
  "plot 'timeseries.csv' using (column('t_s')):(column('latency_p99_ms')) with lines lw 2 title 'p99 latency', \\\n"
  "     '' using (column('t_s')):(column('nodes_up')) axes x1y2 with steps lw 2 title 'nodes up'\n"
  "unset multiplot\n"
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
  "set autoscale y2\n"
  "set logscale y2\n"
  "set y2tics\n"
  "set ytics nomirror\n"
  "plot 'staleness.csv' using ((column('t_ms')) + 0.5):(column('reads')) axes x1y2 "
  "with impulses lw 3 lc rgb '#c0c0c0' title 'reads (right axis)', \\\n"
  "     '' using ((column('t_ms')) + 0.5):(1 - column('stale') / column('reads')) "
  "with linespoints lw 2 title 'fresh reads'\n";

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
dk_plots_write (const char *dir, const char *title, gboolean *rendered, GError **error)
{
  g_autoptr (GString) script = g_string_new (NULL);
  g_autofree char *quoted = g_strescape (title, NULL);
  g_string_append_printf (script, "RUN_TITLE = \"%s\"\n%s", quoted, plot_script);
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
    "set terminal pngcairo size 1100,600 font ',11'\n"
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
