/* plots.h — pictures of a run, for people who would rather look than read.
 *
 * dk_plots_write puts a gnuplot script (plots.gp) beside a run's CSV files
 * and, when gnuplot is installed, renders it: timeseries.png (operations
 * per second that succeeded and failed, stale reads, nodes up, p99
 * latency, with the fault intervals of faults.log shaded and labelled as
 * in the report's charts) and staleness.png (the t-visibility curve: the
 * probability that a read started t ms after the last acknowledged write
 * returns it, over the number of reads in each bucket).  The script is
 * plain text, so the pictures can be redrawn or restyled later.
 */
#ifndef DK_SIM_PLOTS_H
#define DK_SIM_PLOTS_H

#include <glib.h>

G_BEGIN_DECLS

/* Append the script plots.gp to OUT for the run titled TITLE, whose
 * faults ran RUN_S seconds and which then settled SETTLE_S more: on the
 * time axis 0..RUN_S + SETTLE_S, each interval of FAULTS_LOG (the text of
 * faults.log, fault_spans.h; NULL or "": none) is one translucent
 * rectangle ("set object rect") and each moment a dashed line, labelled
 * where there is room.  A pure function of its arguments. */
void dk_plots_build (const char *title, const char *faults_log, double run_s, double settle_s,
                     GString *out);

/* Write DIR/plots.gp as dk_plots_build does, with the fault log
 * DIR/faults.log when there is one, and, when gnuplot is on the PATH,
 * render the PNGs.  *RENDERED (may be NULL) tells whether it did.  A
 * missing gnuplot is not an error; a failing one is. */
gboolean dk_plots_write (const char *dir, const char *title, double run_s, double settle_s,
                         gboolean *rendered, GError **error);

/* Write DIR/sweep.gp for the sweep table DIR/sweep.csv whose swept
 * settings are KEYS (NULL-terminated) and render sweep.png when gnuplot is
 * installed: availability, stale reads and conflicts side by side for
 * every combination, the picture a CAP lesson projects. */
gboolean dk_plots_write_sweep (const char *dir, const char *title, const char *const *keys,
                               gboolean *rendered, GError **error);

G_END_DECLS

#endif
