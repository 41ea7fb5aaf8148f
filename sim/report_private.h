/* report_private.h — what the files of the report (report.c and its
 * sections, report_*.c) share. */
#ifndef DK_SIM_REPORT_PRIVATE_H
#define DK_SIM_REPORT_PRIVATE_H

#include <glib.h>
#include "fault_spans.h"
#include "report.h"
#include "wire.h"

G_BEGIN_DECLS

/* Append TEXT to OUT with &, <, >, " escaped. */
G_GNUC_INTERNAL void dk__report_escape (GString *out, const char *text);

/* Append VALUE with DECIMALS digits after the point, C locale. */
G_GNUC_INTERNAL void dk__report_number (GString *out, double value, int decimals);

/* Append "X Y", an SVG point, to a tenth of a pixel. */
G_GNUC_INTERNAL void dk__report_point (GString *out, double x, double y);

/* Append a time in seconds with millisecond precision ("12.345"). */
G_GNUC_INTERNAL void dk__report_seconds (GString *out, gint64 t_us);

/* Append a node ("n3") or client ("c7") name. */
G_GNUC_INTERNAL void dk__report_endpoint (GString *out, DkEndpoint endpoint);

/* "ok", "unavailable", ... (static). */
G_GNUC_INTERNAL const char *dk__report_status_name (DkWireStatus status);

/* The sections, in page order: the charts over time (with SPANS, of
 * DkFaultSpan, shaded) and the t-visibility curve; the sequence diagram
 * of TRACE (with the starts and ends of SPANS inside it); the quorum
 * trace of TRACE; the version history of KEY (CHOSEN: picked by the
 * report, not traced) from the writes invoked at FROM_US on. */
G_GNUC_INTERNAL void dk__report_charts (GString *out, const DkRunResult *result,
                                        const GArray *spans);
G_GNUC_INTERNAL void dk__report_sequence_section (GString *out, const DkSimTrace *trace,
                                                  const GArray *spans);
G_GNUC_INTERNAL void dk__report_quorum_section (GString *out, const DkRunResult *result,
                                                const DkSimTrace *trace);
G_GNUC_INTERNAL void dk__report_versions_section (GString *out, const DkRunResult *result,
                                                  const char *key, gboolean chosen,
                                                  gint64 from_us);

G_END_DECLS

#endif
