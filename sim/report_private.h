/* report_private.h — what report.c (the page, the charts) and
 * report_trace.c (the trace sections) share. */
#ifndef DK_SIM_REPORT_PRIVATE_H
#define DK_SIM_REPORT_PRIVATE_H

#include <glib.h>
#include "report.h"

G_BEGIN_DECLS

/* One fault interval, or a moment (to_s < 0), from faults.log. */
typedef struct
{
  double      from_s;
  double      to_s;
  char       *label;   /* short, drawn on the chart */
  char       *detail;  /* the log line(s), in the tooltip */
  const char *kind;    /* CSS class suffix: partition, crash, drop, net, event */
} DkFaultSpan;

/* Append TEXT to OUT with &, <, >, " escaped. */
G_GNUC_INTERNAL void dk__report_escape (GString *out, const char *text);

/* Append VALUE with DECIMALS digits after the point, C locale. */
G_GNUC_INTERNAL void dk__report_number (GString *out, double value, int decimals);

/* Append a time in seconds with millisecond precision ("12.345"). */
G_GNUC_INTERNAL void dk__report_seconds (GString *out, gint64 t_us);

/* The trace sections: the sequence diagram (with the starts and ends of
 * the faults SPANS, of DkFaultSpan, that fall inside it) and quorum trace
 * (nothing but a hint on how to ask for them when TRACE is NULL), and the version
 * history of KEY (CHOSEN: picked by the report, not traced) from the
 * writes invoked at FROM_US on. */
G_GNUC_INTERNAL void dk__report_trace_sections (GString *out, const DkRunResult *result,
                                                const DkSimTrace *trace, const GArray *spans);
G_GNUC_INTERNAL void dk__report_versions_section (GString *out, const DkRunResult *result,
                                                  const char *key, gboolean chosen,
                                                  gint64 from_us);

G_END_DECLS

#endif
