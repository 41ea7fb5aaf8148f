/* fault_spans.h — faults.log read back as intervals, for the pictures of
 * a run.
 *
 * The fault log (runner.h) has one line per injected fault, "SECONDS
 * text".  The report's charts (report.h) and the gnuplot plots (plots.h)
 * shade the same intervals, read here: a partition or one-way drops until
 * the heal (or the next partition), a crash until its restart, a latency,
 * loss or dup change until the next one unless it restores the run's own
 * setting (the one the end of the run restores); everything else (a join,
 * a leave, a wipe, the start of the settle) is a moment.
 */
#ifndef DK_SIM_FAULT_SPANS_H
#define DK_SIM_FAULT_SPANS_H

#include <glib.h>

G_BEGIN_DECLS

/* One fault interval, or a moment (to_s < 0), from faults.log. */
typedef struct
{
  double      from_s;
  double      to_s;
  char       *label;   /* short, drawn on a chart */
  char       *detail;  /* the log line(s), in a tooltip */
  const char *kind;    /* partition, crash, drop, net or event (static; the
                        * report's CSS class suffix) */
} DkFaultSpan;

/* The fault log LOG (may be NULL) as DkFaultSpans in the order they
 * start.  Intervals still open close at RUN_END_S.  Free with
 * g_array_unref. */
GArray *dk_fault_spans_parse (const char *log, double run_end_s);

G_END_DECLS

#endif /* DK_SIM_FAULT_SPANS_H */
