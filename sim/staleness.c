/* staleness.c — stale reads and the t-visibility curve; see staleness.h.
 *
 * One pass over the history's events in time order: each acknowledged
 * write's commit makes it its key's latest write (for the curve), its
 * acknowledgement puts it in the key's frontier (the maximal acknowledged
 * clocks, for the verdict); each successful get is judged, at its invoke
 * time, against the frontier and latest write of its key as they stand
 * then.  Events sort by time, then get invokes before commits before
 * acknowledgements (so "before" is strict), then operation id, which
 * makes the pass deterministic.
 */
#include <math.h>
#include <string.h>
#include "dist.h"
#include "staleness.h"

/* ---- the t-visibility curve ------------------------------------------- */

/* The bucket list as runs of equal-width buckets. */
typedef struct
{
  gint64 start_us;
  gint64 width_us;
  guint  count;
} BucketRun;

static const BucketRun bucket_runs[] = {
  { 0, 100, 200 },                 /* 0..20 ms by 0.1 ms */
  { 20000, 1000, 80 },             /* 20..100 ms by 1 ms */
  { 100000, 10000, 90 },           /* 100 ms..1 s by 10 ms */
  { 1000000, 100000, 90 },         /* 1..10 s by 100 ms */
  { 10000000, 1000000, 90 },       /* 10..100 s by 1 s */
  { 100000000, G_MAXINT64, 1 },    /* 100 s and later */
};
enum { VISIBILITY_BUCKETS = 200 + 80 + 90 + 90 + 90 + 1 };

/* Versions behind are counted exactly up to this many, the rest in the
 * last slot. */
#define VERSIONS_COUNTED 64

struct _DkVisibility
{
  guint64 reads[VISIBILITY_BUCKETS];
  guint64 stale[VISIBILITY_BUCKETS];
  guint64 versions[VERSIONS_COUNTED + 1]; /* [k]: reads whose newest satisfied
                                           * write was the k-th last (the last
                                           * slot: that many or more); [0] unused */
};

DkVisibility *
dk_visibility_new (void)
{
  return g_new0 (DkVisibility, 1);
}

void
dk_visibility_free (DkVisibility *curve)
{
  g_free (curve);
}

guint
dk_visibility_n_buckets (void)
{
  return VISIBILITY_BUCKETS;
}

guint
dk_visibility_bucket_of (gint64 t_us)
{
  g_return_val_if_fail (t_us >= 0, 0);
  guint first = 0;
  for (guint i = 0; i < G_N_ELEMENTS (bucket_runs); i++)
    {
      const BucketRun *run = &bucket_runs[i];
      gint64 index = (t_us - run->start_us) / run->width_us;
      if (index < run->count)
        return first + (guint) index;
      first += run->count;
    }
  g_assert_not_reached ();
}

gint64
dk_visibility_bucket_start_us (guint bucket)
{
  g_return_val_if_fail (bucket < VISIBILITY_BUCKETS, 0);
  for (guint i = 0; i < G_N_ELEMENTS (bucket_runs); i++)
    {
      if (bucket < bucket_runs[i].count)
        return bucket_runs[i].start_us + bucket * bucket_runs[i].width_us;
      bucket -= bucket_runs[i].count;
    }
  g_assert_not_reached ();
}

void
dk_visibility_record (DkVisibility *curve, gint64 t_us, gboolean fresh)
{
  g_return_if_fail (curve != NULL && t_us >= 0);
  guint bucket = dk_visibility_bucket_of (t_us);
  curve->reads[bucket]++;
  if (!fresh)
    curve->stale[bucket]++;
}

void
dk_visibility_counts (const DkVisibility *curve, guint bucket, guint64 *reads,
                      guint64 *stale)
{
  g_return_if_fail (curve != NULL && bucket < VISIBILITY_BUCKETS);
  if (reads != NULL)
    *reads = curve->reads[bucket];
  if (stale != NULL)
    *stale = curve->stale[bucket];
}

void
dk_visibility_to_csv (const DkVisibility *curve, GString *out)
{
  g_return_if_fail (curve != NULL && out != NULL);
  g_string_append (out, "t_ms,reads,stale\n");
  for (guint bucket = 0; bucket < VISIBILITY_BUCKETS; bucket++)
    if (curve->reads[bucket] > 0)
      {
        g_autofree char *t_ms = dk_number_to_string (dk_visibility_bucket_start_us (bucket)
                                                     / 1000.0);
        g_string_append_printf (out, "%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "\n", t_ms,
                                curve->reads[bucket], curve->stale[bucket]);
      }
}

void
dk_visibility_record_versions (DkVisibility *curve, guint k)
{
  g_return_if_fail (curve != NULL && k >= 1);
  curve->versions[MIN (k, VERSIONS_COUNTED)]++;
}

gboolean
dk_visibility_k_staleness (const DkVisibility *curve, double p, guint *k)
{
  g_return_val_if_fail (curve != NULL && p > 0 && p <= 1, FALSE);
  guint64 total = 0;
  for (guint i = 1; i <= VERSIONS_COUNTED; i++)
    total += curve->versions[i];
  if (total == 0)
    return FALSE;
  guint64 within = 0;
  for (guint i = 1; i <= VERSIONS_COUNTED; i++)
    {
      within += curve->versions[i];
      if ((double) within >= p * (double) total)
        {
          *k = i;
          return TRUE;
        }
    }
  g_return_val_if_reached (FALSE);
}

/* One block of the monotone fit: pools merged, their reads and stale reads. */
typedef struct
{
  gint64  start_us;
  guint64 reads, stale;
} FitBlock;

static gboolean
block_below (const FitBlock *a, const FitBlock *b)   /* a's fraction fresh > b's */
{
  /* (a.reads - a.stale) / a.reads > (b.reads - b.stale) / b.reads, exactly */
  return (double) (a->reads - a->stale) * (double) b->reads
         > (double) (b->reads - b->stale) * (double) a->reads;
}

gboolean
dk_visibility_window_us (const DkVisibility *curve, double p, gint64 *window_us)
{
  g_return_val_if_fail (curve != NULL && p > 0 && p < 1, FALSE);
  /* Pool buckets, left to right, until each pool holds enough reads to
   * tell a fraction p apart from 1 (one stale read in 1/(1-p)).  The
   * probability that a read is fresh does not fall as t grows, so the
   * pools' fractions are fitted by the closest non-decreasing sequence
   * (pool-adjacent-violators, weighted by reads): a late pool below its
   * neighbours by chance is averaged with them instead of moving the
   * window past it, which the raw pools, a few stale reads each near p,
   * would do almost surely.  The window is the start of the first block
   * of the fit at or above P. */
  guint64 enough = (guint64) ceil (1.0 / (1.0 - p));
  g_autoptr (GArray) fit = g_array_new (FALSE, FALSE, sizeof (FitBlock));
  FitBlock pool = { 0, 0, 0 };
  for (guint bucket = 0; bucket < VISIBILITY_BUCKETS; bucket++)
    {
      if (curve->reads[bucket] == 0)
        continue;
      if (pool.reads == 0)
        pool.start_us = dk_visibility_bucket_start_us (bucket);
      pool.reads += curve->reads[bucket];
      pool.stale += curve->stale[bucket];
      gboolean last = TRUE;
      for (guint later = bucket + 1; later < VISIBILITY_BUCKETS && last; later++)
        last = curve->reads[later] == 0;
      if (pool.reads < enough && !last)
        continue;
      /* Merge backwards while the fit would fall. */
      while (fit->len > 0 && block_below (&g_array_index (fit, FitBlock, fit->len - 1), &pool))
        {
          const FitBlock *before = &g_array_index (fit, FitBlock, fit->len - 1);
          pool.start_us = before->start_us;
          pool.reads += before->reads;
          pool.stale += before->stale;
          g_array_set_size (fit, fit->len - 1);
        }
      g_array_append_val (fit, pool);
      pool = (FitBlock) { 0, 0, 0 };
    }
  for (guint i = 0; i < fit->len; i++)
    {
      const FitBlock *block = &g_array_index (fit, FitBlock, i);
      if ((double) (block->reads - block->stale) >= p * (double) block->reads)
        {
          *window_us = block->start_us;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
dk_visibility_save_csv (const DkVisibility *curve, const char *path, GError **error)
{
  g_return_val_if_fail (curve != NULL && path != NULL, FALSE);
  g_autoptr (GString) text = g_string_new (NULL);
  dk_visibility_to_csv (curve, text);
  return g_file_set_contents (path, text->str, (gssize) text->len, error);
}

/* ---- judging reads ------------------------------------------------------ */

typedef enum
{
  EVENT_GET_INVOKE, /* sorts first at equal times: "before" is strict */
  EVENT_WRITE_COMMIT,
  EVENT_WRITE_ACK
} EventKind;

typedef struct
{
  gint64     time_us;
  EventKind  kind;
  const DkOp *op;
} Event;

static int
compare_events (gconstpointer a, gconstpointer b)
{
  const Event *x = a, *y = b;
  if (x->time_us != y->time_us)
    return x->time_us < y->time_us ? -1 : 1;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  return x->op->id < y->op->id ? -1 : x->op->id > y->op->id;
}

/* Sort EVENTS as compare_events orders them, without calling it per pair:
 * they were appended in operation id order, so a stable pass by kind and
 * then a stable least-significant-digit radix sort by time (11 bits a
 * pass, as many as the latest time needs) leave equal times in kind, then
 * id, order.  A negative time, or events out of id order, fall back to
 * the comparison sort. */
#define RADIX_BITS 11
static void
sort_events (GArray *events)
{
  Event *a = (Event *) events->data;
  guint n = events->len;
  if (n < 2)
    return;   /* sorted; and no data pointer to copy into when empty */
  gint64 max = 0;
  for (guint i = 0; i < n; i++)
    {
      if (a[i].time_us < 0 || (i > 0 && a[i].op->id < a[i - 1].op->id))
        {
          g_array_sort (events, compare_events);
          return;
        }
      max = MAX (max, a[i].time_us);
    }
  g_autofree Event *buffer = g_new (Event, MAX (n, 1));
  guint by_kind[EVENT_WRITE_ACK + 2] = { 0 };
  for (guint i = 0; i < n; i++)
    by_kind[a[i].kind + 1]++;
  for (guint k = 1; k <= EVENT_WRITE_ACK + 1; k++)
    by_kind[k] += by_kind[k - 1];
  for (guint i = 0; i < n; i++)
    buffer[by_kind[a[i].kind]++] = a[i];
  Event *from = buffer, *to = a;
  for (guint shift = 0; shift < 64 && (max >> shift) > 0; shift += RADIX_BITS)
    {
      guint count[(1 << RADIX_BITS) + 1] = { 0 };
      for (guint i = 0; i < n; i++)
        count[((from[i].time_us >> shift) & ((1 << RADIX_BITS) - 1)) + 1]++;
      for (guint d = 1; d <= (1 << RADIX_BITS); d++)
        count[d] += count[d - 1];
      for (guint i = 0; i < n; i++)
        to[count[(from[i].time_us >> shift) & ((1 << RADIX_BITS) - 1)]++] = from[i];
      Event *swap = from;
      from = to;
      to = swap;
    }
  if (from != a)
    memcpy (a, from, n * sizeof *a);
}

/* What one key's acknowledged writes look like at the current time. */
typedef struct
{
  GPtrArray  *frontier;  /* const DkOp*: writes no other acked write knew */
  const DkOp *latest;    /* the write committed last; NULL before the first */
  GPtrArray  *committed; /* const DkOp*: every committed write, in commit order */
} KeyWrites;

static void
key_writes_free (gpointer data)
{
  KeyWrites *writes = data;
  g_ptr_array_unref (writes->frontier);
  g_ptr_array_unref (writes->committed);
  g_free (writes);
}

/* TRUE when GET returned WRITE's value, or a value (a tombstone included)
 * whose writer knew WRITE.  Judged by value ids, never by clocks: a
 * version that carries a new clock but an old value is stale.  A get that
 * returned nothing satisfies a delete (its tombstone may be collected). */
static gboolean
get_satisfies (const DkHistory *history, const DkOp *get, const DkOp *write)
{
  if (write->kind == DK_OP_DELETE && get->returned->len == 0)
    return TRUE;
  for (guint i = 0; i < get->returned->len; i++)
    {
      guint64 value = dk_history_returned_value (history,
                                                 &g_array_index (get->returned, DkReturned, i));
      if (value == write->id)
        return TRUE;
      if (value < dk_history_len (history)
          && dk_history_knew (history, dk_history_get (history, value), write))
        return TRUE;
    }
  return FALSE;
}

static void
frontier_add (const DkHistory *history, GPtrArray *frontier, const DkOp *write)
{
  for (guint i = 0; i < frontier->len; i++)
    if (dk_history_knew (history, g_ptr_array_index (frontier, i), write))
      return;
  for (guint i = frontier->len; i-- > 0;)
    if (dk_history_knew (history, write, g_ptr_array_index (frontier, i)))
      g_ptr_array_remove_index (frontier, i);
  g_ptr_array_add (frontier, (gpointer) write);
}

/* When WRITE (acknowledged) committed: its commit_us, else its
 * acknowledgement (a history that did not record the commit). */
static gint64
commit_time (const DkOp *write)
{
  return write->commit_us >= 0 ? write->commit_us : write->complete_us;
}

static DkReadVerdict
judge_get (const DkHistory *history, const DkOp *get, const KeyWrites *writes,
           DkVisibility *curve)
{
  if (writes == NULL)
    return DK_READ_FRESH;
  if (curve != NULL && writes->latest != NULL)
    {
      gboolean fresh = get_satisfies (history, get, writes->latest);
      dk_visibility_record (curve, get->invoke_us - commit_time (writes->latest), fresh);
      /* k-staleness: the newest committed write it satisfies is the k-th
       * last (counted up to the histogram's end). */
      guint k = 1;
      for (guint i = writes->committed->len - 1; !fresh && i-- > 0 && k < VERSIONS_COUNTED;)
        {
          k++;
          fresh = get_satisfies (history, get, g_ptr_array_index (writes->committed, i));
        }
      dk_visibility_record_versions (curve, fresh ? k : k + 1);
    }
  for (guint i = 0; i < writes->frontier->len; i++)
    if (!get_satisfies (history, get, g_ptr_array_index (writes->frontier, i)))
      return DK_READ_STALE;
  return DK_READ_FRESH;
}

DkReadVerdict *
dk_staleness_check (const DkHistory *history, DkVisibility *curve)
{
  g_return_val_if_fail (history != NULL, NULL);
  guint64 n_ops = dk_history_len (history);
  DkReadVerdict *verdicts = g_new0 (DkReadVerdict, MAX (n_ops, 1));
  /* At most two events an operation: room for all, filled in place. */
  g_autoptr (GArray) events = g_array_sized_new (FALSE, FALSE, sizeof (Event), 2 * n_ops);
  g_array_set_size (events, 2 * n_ops);
  Event *event_at = (Event *) events->data;
  guint n_events = 0;
  for (guint64 id = 0; id < n_ops; id++)
    {
      const DkOp *op = dk_history_get (history, id);
      if (op->outcome != DK_OUTCOME_OK)
        continue;
      if (op->kind == DK_OP_GET)
        event_at[n_events++] = (Event) { op->invoke_us, EVENT_GET_INVOKE, op };
      else if (op->has_dot)
        {
          event_at[n_events++] = (Event) { commit_time (op), EVENT_WRITE_COMMIT, op };
          event_at[n_events++] = (Event) { op->complete_us, EVENT_WRITE_ACK, op };
        }
    }
  g_array_set_size (events, n_events);
  sort_events (events);

  /* Looked up by key only, never iterated: no hash order reaches output. */
  g_autoptr (GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                         NULL, key_writes_free);
  for (guint i = 0; i < events->len; i++)
    {
      const Event *event = &g_array_index (events, Event, i);
      KeyWrites *writes = g_hash_table_lookup (by_key, event->op->key);
      if (event->kind == EVENT_GET_INVOKE)
        {
          verdicts[event->op->id] = judge_get (history, event->op, writes, curve);
          continue;
        }
      if (writes == NULL)
        {
          writes = g_new0 (KeyWrites, 1);
          writes->frontier = g_ptr_array_new ();
          writes->committed = g_ptr_array_new ();
          g_hash_table_insert (by_key, event->op->key, writes);
        }
      if (event->kind == EVENT_WRITE_ACK)
        frontier_add (history, writes->frontier, event->op);
      else
        {
          g_ptr_array_add (writes->committed, (gpointer) event->op);
          writes->latest = event->op;
        }
    }
  return verdicts;
}
