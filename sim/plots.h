/* plots.h — pictures of a run, for people who would rather look than read.
 *
 * dk_plots_write puts a gnuplot script (plots.gp) beside a run's CSV files
 * and, when gnuplot is installed, renders it: timeseries.png (operations
 * per second that succeeded and failed, stale reads, nodes up, p99
 * latency) and staleness.png (the t-visibility curve: the probability that
 * a read started t ms after the last acknowledged write returns it).  The
 * script is plain text, so the pictures can be redrawn or restyled later.
 */
#ifndef DK_SIM_PLOTS_H
#define DK_SIM_PLOTS_H

#include <glib.h>

G_BEGIN_DECLS

/* Write DIR/plots.gp for the run titled TITLE and, when gnuplot is on the
 * PATH, render the PNGs.  *RENDERED (may be NULL) tells whether it did.
 * A missing gnuplot is not an error; a failing one is. */
gboolean dk_plots_write (const char *dir, const char *title, gboolean *rendered,
                         GError **error);

/* Write DIR/sweep.gp for the sweep table DIR/sweep.csv whose swept
 * settings are KEYS (NULL-terminated) and render sweep.png when gnuplot is
 * installed: availability, stale reads and conflicts side by side for
 * every combination, the picture a CAP lesson projects. */
gboolean dk_plots_write_sweep (const char *dir, const char *title, const char *const *keys,
                               gboolean *rendered, GError **error);

G_END_DECLS

#endif
