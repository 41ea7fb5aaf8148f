/* staleness.h — which successful gets are stale, and the t-visibility
 * (PBS) curve.
 *
 * DESIGN.md: a stale read is a successful get that returns neither the
 * value of some put on that key acknowledged before the get was invoked
 * nor a value whose writer had seen it.  Judged by value ids and the
 * contexts clients sent, never by clocks alone.  Precisely:
 *
 *  - "Writes" are successful puts and deletes that reported their dot (a
 *    delete writes a tombstone, which a later get must not miss either).
 *    Writes with no reported dot (counted as unchecked_writes), and failed
 *    writes (which may have applied partially), never make a read stale.
 *  - "Before" is strict, by time: a write acknowledged at the same
 *    microsecond as the get's invoke is concurrent with it, not before it.
 *  - A get satisfies write W when it returns W's value, or a value (or a
 *    tombstone) whose writer sent a context covering W's dot
 *    (dk_op_knew).  A returned value whose id cannot be told satisfies
 *    nothing.  A get that returns no version at all satisfies an
 *    acknowledged delete (its tombstone may have been collected), but
 *    never a put.
 *  - A get is stale when some write acknowledged before its invoke is not
 *    satisfied.  Only the frontier is checked per key: the acknowledged
 *    writes no other acknowledged write knew.
 *
 * t-visibility: for each successful get with at least one acknowledged
 * write on its key committed before its invoke, t = invoke time - commit
 * time of the latest such write, and the read is fresh when it satisfies
 * that latest write (as above).  A write's commit is when its coordinator
 * acknowledged it (history.h's commit_us: its W-th replica acknowledgement
 * had arrived, where the PBS paper counts t from), or its acknowledgement
 * at the client when the history has no commit time.  Unlike a stale read
 * this looks at the latest write only, as the PBS curve P(fresh | t) does;
 * k-staleness counts versions in commit order too.  Reads are counted in
 * fixed buckets of t: 0.1 ms wide below 20 ms, 1 ms below 100 ms, 10 ms
 * below 1 s, 100 ms below 10 s, 1 s below 100 s, and one open bucket from
 * 100 s on (551 buckets).
 */
#ifndef DK_STALENESS_H
#define DK_STALENESS_H

#include <glib.h>
#include "history.h"

G_BEGIN_DECLS

typedef enum
{
  DK_READ_UNCHECKED, /* not a successful get */
  DK_READ_FRESH,
  DK_READ_STALE
} DkReadVerdict;

typedef struct _DkVisibility DkVisibility;

/* An empty curve: every bucket holds 0 reads. */
DkVisibility *dk_visibility_new (void);
void dk_visibility_free (DkVisibility *curve);

/* Count one read started T_US (>= 0) after the latest acknowledged write. */
void dk_visibility_record (DkVisibility *curve, gint64 t_us, gboolean fresh);

/* The fixed bucket list: how many, the bucket holding T_US (>= 0), and
 * where bucket B starts. */
guint dk_visibility_n_buckets (void);
guint dk_visibility_bucket_of (gint64 t_us);
gint64 dk_visibility_bucket_start_us (guint bucket);

/* Reads counted in BUCKET, and how many of them were stale. */
void dk_visibility_counts (const DkVisibility *curve, guint bucket,
                           guint64 *reads, guint64 *stale);

/* Append staleness.csv to OUT: the header "t_ms,reads,stale", then one row
 * per non-empty bucket in ascending order, t_ms the bucket's start in
 * milliseconds (with a decimal below 20 ms: 0.1, 0.2, ...). */
void dk_visibility_to_csv (const DkVisibility *curve, GString *out);
gboolean dk_visibility_save_csv (const DkVisibility *curve, const char *path,
                                 GError **error);

/* The t-visibility window for probability P (0 < P < 1; 0.999 for
 * visibility_999_ms): the start of the earliest bucket from which on the
 * curve stays at or above P.  Buckets are pooled left to right until a
 * pool holds at least 1/(1-P) reads (the last pool takes what is left),
 * and each pool's fresh fraction is compared with P.  FALSE when there
 * are no reads or the last pool is below P. */
gboolean dk_visibility_window_us (const DkVisibility *curve, double p, gint64 *window_us);

/* k-staleness (PBS): count one read whose newest satisfied acknowledged
 * write was the K-th last on its key (1: the latest; reads that satisfy
 * none count as one more than the writes there were).  K is counted
 * exactly up to 64, larger as 64. */
void dk_visibility_record_versions (DkVisibility *curve, guint k);
/* The smallest K with at least a fraction P of reads within the last K
 * versions; FALSE when no read was counted. */
gboolean dk_visibility_k_staleness (const DkVisibility *curve, double p, guint *k);

/* Judge every successful get of HISTORY as above: returns one verdict per
 * operation, indexed by id (free with g_free), and, when CURVE is not
 * NULL, records each get that has an earlier acknowledged write in it. */
DkReadVerdict *dk_staleness_check (const DkHistory *history, DkVisibility *curve);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkVisibility, dk_visibility_free)

G_END_DECLS

#endif /* DK_STALENESS_H */
