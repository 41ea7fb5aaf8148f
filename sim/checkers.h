/* checkers.h — consistency and availability measured from a history.
 *
 * DESIGN.md "Measurement vocabulary", computed from a DkHistory and, for
 * the two end-of-run checks, a DkFinalState.  Every metric has a name (the
 * one scenarios' `expect` lines and summary.json use) and is a double.
 * The choices where the vocabulary leaves room:
 *
 *  - ops, ok_ops, failed_ops, pending_ops: invoked operations by outcome;
 *    an operation still pending at the end counts as invoked, not ok.
 *  - availability = ok_ops / ops (1 when nothing was invoked);
 *    get_availability likewise over gets; put_availability over puts AND
 *    deletes (both are writes the client needs acknowledged).
 *  - stale_reads = stale successful gets / successful gets (0 when there
 *    are none); stale_read_count the numerator.  "Stale" is defined in
 *    staleness.h (deletes count as writes; "before" is strict).
 *  - conflicts = successful gets returning more than one value sibling
 *    (tombstones not counted) / successful gets; conflict_count the
 *    numerator.  max_siblings: the most versions (tombstones included)
 *    one successful get returned.
 *  - acknowledged_writes: successful puts (deletes excluded, as DESIGN.md
 *    says "an acknowledged put").  Writes are told apart by value (the
 *    value id each put's bytes carry, history.h) and by the contexts
 *    clients sent, never by clock alone.  A write is "held" when a
 *    preference-list replica holds its value (a tombstone: its dot) at the
 *    end; it is "accounted for" when held, when it is a delete that
 *    reported its dot (its effect is absence, which a collected tombstone
 *    keeps; resurrected_deletes checks that), or when an accounted-for
 *    write knew it (history.h's dk_history_knew).
 *  - lost_writes: acknowledged puts not accounted for.
 *  - lost_updates: acknowledged puts and deletes that the held writes do
 *    not explain (before issued deletes are taken as accounted for) and
 *    that some write was stored with a context covering although that
 *    write did not know them (dk_history_knew): replaced by a write that
 *    never saw them.  This is the server-side vector clock anomaly, and
 *    also a context that covers a dot only by a vector clock's contiguity
 *    assumption; 0 with dotted version vectors unless the store misbehaves.
 *  - resurrected_deletes: acknowledged deletes some of whose knowingly
 *    replaced values a preference-list replica holds again at the end.
 *  - dot_collisions: dots seen with two different values: two writes
 *    reporting one dot, or a get or replica holding under some write's
 *    dot another value than that write's (judged by the value bytes).
 *    Measured from the history alone, and the final state when given.
 *  - unchecked_writes: successful puts and deletes whose new version was
 *    never reported (no dot): they cannot be judged and are counted here
 *    instead of being called lost or fresh.
 *  - under_replicated_writes: acknowledged puts, accounted for, that fewer
 *    than all of their key's preference-list replicas hold (their value,
 *    or a value whose writer knew them): DESIGN.md's "every acknowledged
 *    write has N copies again".
 *  - divergent_keys: keys whose preference-list replicas (all nodes
 *    holding the key when no list was recorded) do not all hold the same
 *    sibling set, compared by digest.  A replica holding only tombstones
 *    and a replica missing the key agree (both answer "not found"); a
 *    replica missing a key another replica holds a value of disagrees.
 *  - latency_pXX_ms: nearest-rank percentiles (the smallest sample with at
 *    least XX% of samples <= it) of complete_us - invoke_us over successful
 *    operations, in milliseconds; get_* over gets, put_* over puts and
 *    deletes; 0 when there are no samples.
 *
 * Without a final state lost_writes, lost_updates, resurrected_deletes,
 * under_replicated_writes and divergent_keys are unknown:
 * dk_metrics_get returns FALSE for them and the JSON carries null.
 *
 * The timeseries (timeseries.h) has, per bucket of invoke time: invoked,
 * ok, failed, gets, puts (deletes included), stale_reads (counts) and
 * latency_p50_ms, latency_p99_ms of the bucket's successful operations
 * (samples).  The t-visibility curve is described in staleness.h.
 *
 * Deterministic: the same history and final state give the same metrics
 * and byte-identical text.
 */
#ifndef DK_CHECKERS_H
#define DK_CHECKERS_H

#include <glib.h>
#include "history.h"
#include "final_state.h"
#include "staleness.h"
#include "timeseries.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 timeseries_bucket_us; /* width of a timeseries row; default 1 s */
  gint64 time_origin_us;       /* time that is t_s = 0; default 0 */
} DkCheckOptions;

/* Fill OPTIONS with the defaults. */
void dk_check_options_init (DkCheckOptions *options);

typedef struct _DkMetrics DkMetrics;

/* Measure HISTORY.  FINAL (may be NULL: lost writes and divergence are then
 * not measured) is the state after settle; OPTIONS may be NULL for the
 * defaults.  Free the result with dk_metrics_free. */
DkMetrics *dk_check_history (const DkHistory *history, const DkFinalState *final,
                             const DkCheckOptions *options);
void dk_metrics_free (DkMetrics *metrics);

/* dk_check_history in two steps, so that a caller can measure what does
 * not need the final state while it collects that state: _start measures
 * the operations alone, _finish (FINAL may be NULL, as above) the rest.
 * dk_check_history_finish (dk_check_history_start (h, o), h, f) gives
 * what dk_check_history (h, f, o) gives. */
DkMetrics *dk_check_history_start (const DkHistory *history, const DkCheckOptions *options);
void dk_check_history_finish (DkMetrics *metrics, const DkHistory *history,
                              const DkFinalState *final);

/* _start in halves that two threads may run at once (each writes only its
 * own part of the metrics): _new makes the metrics (NULL for invalid
 * OPTIONS), _operations measures the operations, _prepare gathers what
 * _finish needs of them.  _start is _new, then the two, once each. */
DkMetrics *dk_check_history_new (const DkCheckOptions *options);
void dk_check_history_operations (DkMetrics *metrics, const DkHistory *history);
void dk_check_history_prepare (DkMetrics *metrics, const DkHistory *history);

/* TRUE when NAME is a metric name (whether or not measured in a run). */
gboolean dk_metric_name_valid (const char *name);

/* The metric names, in the fixed order of the JSON: dk_metric_name (i)
 * for i < dk_metric_count () (static strings). */
guint dk_metric_count (void);
const char *dk_metric_name (guint index);

/* Store metric NAME in *VALUE; FALSE when NAME is unknown or the metric
 * was not measured (lost_writes, divergent_keys without a final state). */
gboolean dk_metrics_get (const DkMetrics *metrics, const char *name, double *value);

/* Append the metrics as JSON members ("name": value, ...) with no braces,
 * every name in dk_metric_name order then "failure_reasons": {reason:
 * count, ...} in dk_metrics_failure_reasons order; unmeasured ones null;
 * then "lost_write_ids", "lost_update_ids" and "stale_read_ids": the
 * first 100 operation ids of each, ascending. */
void dk_metrics_append_json_members (const DkMetrics *metrics, GString *out);

/* Append the metrics as one JSON object (the members above in braces). */
void dk_metrics_to_json (const DkMetrics *metrics, GString *out);

/* Append a human summary of a few lines to OUT. */
void dk_metrics_summary (const DkMetrics *metrics, GString *out);

/* How many failed operations gave one reason. */
typedef struct
{
  const char *reason;
  guint64     count;
} DkReasonCount;

/* Failure reasons, most frequent first, ties by name (strcmp). */
const DkReasonCount *dk_metrics_failure_reasons (const DkMetrics *metrics,
                                                 guint *n_reasons);

/* Ids of the stale gets / lost puts, ascending; keys that diverge, sorted
 * by strcmp.  Valid as long as METRICS is. */
const guint64 *dk_metrics_stale_reads (const DkMetrics *metrics, guint *n);
const guint64 *dk_metrics_lost_writes (const DkMetrics *metrics, guint *n);
const guint64 *dk_metrics_lost_updates (const DkMetrics *metrics, guint *n);
const char *const *dk_metrics_divergent_keys (const DkMetrics *metrics, guint *n);

/* The per-bucket table, owned by METRICS: the runner may add its own
 * columns before writing it out as timeseries.csv. */
DkTimeseries *dk_metrics_timeseries (DkMetrics *metrics);

/* The t-visibility curve, written out as staleness.csv. */
const DkVisibility *dk_metrics_visibility (const DkMetrics *metrics);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkMetrics, dk_metrics_free)

G_END_DECLS

#endif /* DK_CHECKERS_H */
