/* report.h — one self-contained HTML page about a run, for a classroom
 * projector or a paper's appendix.
 *
 * report.html needs no network and no other file: CSS, SVG and a small
 * script are inline, and everything reads without the script (tooltips
 * are SVG <title>s; the script only adds a hover line on the charts and a
 * "failed requests only" filter, and records any error of its own in the
 * page, as data-script-error on <html>, for tests/report-chromium.sh).
 * The page holds, in order:
 *
 *  - a header: scenario, seed, version, the description, the headline
 *    metrics (availability, stale reads, lost writes and updates,
 *    divergent keys, under-replicated writes, hints, latency p50/p99, and
 *    detection_time_ms / converge_ms when measured) and every expect;
 *  - charts over time (operations ok and failed, availability, stale
 *    reads, latency p50/p99, nodes up, hints held, suspected pairs), each
 *    with the fault intervals of faults.log shaded and labelled, and the
 *    t-visibility (staleness) curve with its sample counts;
 *  - with a trace (trace.h): a message-sequence (Lamport) diagram of the
 *    recorded datagrams and each client request's quorum trace;
 *  - the version history of one key (the traced key, else the key whose
 *    reads saw the most siblings): every write's dot, the versions its
 *    context replaced, the siblings reads returned, what replicas hold.
 *
 * A report is a pure function of the run, the fault log and the trace:
 * the same scenario and seed give a byte-identical page.
 */
#ifndef DK_SIM_REPORT_H
#define DK_SIM_REPORT_H

#include <glib.h>
#include "runner.h"
#include "trace.h"

G_BEGIN_DECLS

/* Most messages the sequence diagram draws, request rows the quorum
 * trace lists, and writes the version history shows; the page says when
 * there were more. */
#define DK_REPORT_DIAGRAM_MAX 240
#define DK_REPORT_REQUESTS_MAX 200
#define DK_REPORT_WRITES_MAX 120

/* Append the page for RESULT to OUT.  FAULTS_LOG is the text of the
 * run's fault log (NULL or "": no faults shaded); TRACE may be NULL. */
void dk_report_build (const DkRunResult *result, const char *faults_log,
                      const DkSimTrace *trace, GString *out);

/* Write DIR/report.html, reading the fault log from DIR/faults.log when
 * there is one. */
gboolean dk_report_write (const DkRunResult *result, const DkSimTrace *trace,
                          const char *dir, GError **error);

G_END_DECLS

#endif /* DK_SIM_REPORT_H */
