/* checkers.c — metrics from a history and a final state; see checkers.h.
 *
 * One pass over the operations counts outcomes, reasons and latencies and
 * fills the timeseries; staleness.c judges the reads; the final state is
 * walked key by key (sorted) for lost writes and divergence.  Metrics are
 * fields of one struct of doubles, named through a static table, so adding
 * a metric is a field and a table line.
 */
#include <string.h>
#include <math.h>
#include "checkers.h"

typedef struct
{
  double availability;
  double stale_reads;
  double stale_read_count;
  double lost_writes;
  double lost_updates;
  double resurrected_deletes;
  double dot_collisions;
  double unchecked_writes;
  double under_replicated_writes;
  double acknowledged_writes;
  double conflicts;
  double divergent_keys;
  double ops;
  double ok_ops;
  double failed_ops;
  double pending_ops;
  double get_availability;
  double put_availability;
  double gets;
  double ok_gets;
  double puts;
  double ok_puts;
  double conflict_count;
  double max_siblings;
  double latency_ms[3];      /* p50, p99, p999 */
  double get_latency_ms[3];
  double put_latency_ms[3];
  double visibility_999_ms;  /* NaN: not measured (no read after a write) */
  double k_staleness_999;    /* NaN: not measured */
  double minority_availability; /* of ops invoked on a partition's smaller side; NaN: none */
  double majority_availability; /* ... on its largest side */
} MetricValues;

typedef struct
{
  const char *name;
  gsize       offset;          /* into MetricValues */
  gboolean    needs_final;     /* unknown without a final state */
} MetricDef;

#define METRIC(name, field, needs_final) \
  { name, G_STRUCT_OFFSET (MetricValues, field), needs_final }

static const MetricDef metric_table[] = {
  METRIC ("availability", availability, FALSE),
  METRIC ("stale_reads", stale_reads, FALSE),
  METRIC ("stale_read_count", stale_read_count, FALSE),
  METRIC ("lost_writes", lost_writes, TRUE),
  METRIC ("lost_updates", lost_updates, TRUE),
  METRIC ("resurrected_deletes", resurrected_deletes, TRUE),
  METRIC ("dot_collisions", dot_collisions, FALSE),
  METRIC ("unchecked_writes", unchecked_writes, FALSE),
  METRIC ("under_replicated_writes", under_replicated_writes, TRUE),
  METRIC ("acknowledged_writes", acknowledged_writes, FALSE),
  METRIC ("conflicts", conflicts, FALSE),
  METRIC ("conflict_count", conflict_count, FALSE),
  METRIC ("max_siblings", max_siblings, FALSE),
  METRIC ("divergent_keys", divergent_keys, TRUE),
  METRIC ("ops", ops, FALSE),
  METRIC ("ok_ops", ok_ops, FALSE),
  METRIC ("failed_ops", failed_ops, FALSE),
  METRIC ("pending_ops", pending_ops, FALSE),
  METRIC ("gets", gets, FALSE),
  METRIC ("ok_gets", ok_gets, FALSE),
  METRIC ("puts", puts, FALSE),
  METRIC ("ok_puts", ok_puts, FALSE),
  METRIC ("get_availability", get_availability, FALSE),
  METRIC ("put_availability", put_availability, FALSE),
  METRIC ("latency_p50_ms", latency_ms[0], FALSE),
  METRIC ("latency_p99_ms", latency_ms[1], FALSE),
  METRIC ("latency_p999_ms", latency_ms[2], FALSE),
  METRIC ("get_latency_p50_ms", get_latency_ms[0], FALSE),
  METRIC ("get_latency_p99_ms", get_latency_ms[1], FALSE),
  METRIC ("get_latency_p999_ms", get_latency_ms[2], FALSE),
  METRIC ("put_latency_p50_ms", put_latency_ms[0], FALSE),
  METRIC ("put_latency_p99_ms", put_latency_ms[1], FALSE),
  METRIC ("put_latency_p999_ms", put_latency_ms[2], FALSE),
  METRIC ("visibility_999_ms", visibility_999_ms, FALSE),
  METRIC ("k_staleness_999", k_staleness_999, FALSE),
  METRIC ("minority_availability", minority_availability, FALSE),
  METRIC ("majority_availability", majority_availability, FALSE),
};


/* Percentiles in per mille, in the order of MetricValues' arrays. */
static const guint percentile_permille[3] = { 500, 990, 999 };

struct _DkMetrics
{
  MetricValues  values;
  gboolean      final_checked;
  GArray       *reasons;        /* DkReasonCount, sorted; reason owned */
  GArray       *stale_reads;    /* guint64 op ids */
  GArray       *lost_writes;    /* guint64 op ids */
  GArray       *lost_updates;   /* guint64 op ids */
  GPtrArray    *divergent_keys; /* char*, sorted, NULL-terminated */
  DkTimeseries *timeseries;
  DkVisibility *visibility;
  struct _Written *written;     /* from _start to _finish */
};

static void written_free (struct _Written *written);

void
dk_check_options_init (DkCheckOptions *options)
{
  g_return_if_fail (options != NULL);
  options->timeseries_bucket_us = G_USEC_PER_SEC;
  options->time_origin_us = 0;
}

static void
reason_clear (gpointer data)
{
  g_free ((char *) ((DkReasonCount *) data)->reason);
}

void
dk_metrics_free (DkMetrics *metrics)
{
  if (metrics == NULL)
    return;
  g_clear_pointer (&metrics->reasons, g_array_unref);   /* NULL until measured */
  g_array_unref (metrics->stale_reads);
  g_array_unref (metrics->lost_writes);
  g_array_unref (metrics->lost_updates);
  g_ptr_array_unref (metrics->divergent_keys);
  dk_timeseries_free (metrics->timeseries);
  dk_visibility_free (metrics->visibility);
  written_free (metrics->written);
  g_free (metrics);
}

/* ---- latency ------------------------------------------------------------ */

/* A latency sample with the timeseries bucket of its operation. */
typedef struct
{
  gint64 bucket;
  gint64 latency_us;
  gint64 invoke_us;
} LatencySample;

static int
compare_latencies (gconstpointer a, gconstpointer b)
{
  const LatencySample *x = a, *y = b;
  return (x->latency_us > y->latency_us) - (x->latency_us < y->latency_us);
}

static int
compare_buckets_then_latencies (gconstpointer a, gconstpointer b)
{
  const LatencySample *x = a, *y = b;
  if (x->bucket != y->bucket)
    return x->bucket < y->bucket ? -1 : 1;
  return compare_latencies (a, b);
}

/* Nearest rank: the ceil (N * PERMILLE / 1000)-th smallest of the N
 * SORTED samples, in ms; 0 without samples.  Integer arithmetic, so a
 * rank never shifts by a rounding error. */
static double
nearest_rank_ms (const LatencySample *sorted, guint n, guint permille)
{
  if (n == 0)
    return 0;
  guint64 rank = ((guint64) n * permille + 999) / 1000;
  return sorted[MAX (rank, 1) - 1].latency_us / 1000.0;
}

/* Sort the N SAMPLES by latency: a stable least-significant-digit radix
 * sort, 11 bits a pass and only as many passes as the largest latency
 * needs (a run's latencies fit two or three), instead of a comparison
 * sort calling back per pair: the checkers sort every operation's
 * latency four times.  Falls back to the comparison sort for a negative
 * latency (a loaded history may hold anything). */
#define RADIX_BITS 11
static void
sort_by_latency (GArray *samples)
{
  LatencySample *a = (LatencySample *) samples->data;
  guint n = samples->len;
  if (n < 2)
    return;   /* sorted; and no data pointer to copy into when empty */
  gint64 max = 0;
  for (guint i = 0; i < n; i++)
    {
      if (a[i].latency_us < 0)
        {
          g_array_sort (samples, compare_latencies);
          return;
        }
      max = MAX (max, a[i].latency_us);
    }
  g_autofree LatencySample *buffer = g_new (LatencySample, MAX (n, 1));
  LatencySample *from = a, *to = buffer;
  for (guint shift = 0; shift < 64 && (max >> shift) > 0; shift += RADIX_BITS)
    {
      guint count[(1 << RADIX_BITS) + 1] = { 0 };
      for (guint i = 0; i < n; i++)
        count[((from[i].latency_us >> shift) & ((1 << RADIX_BITS) - 1)) + 1]++;
      for (guint d = 1; d <= (1 << RADIX_BITS); d++)
        count[d] += count[d - 1];
      for (guint i = 0; i < n; i++)
        to[count[(from[i].latency_us >> shift) & ((1 << RADIX_BITS) - 1)]++] = from[i];
      LatencySample *swap = from;
      from = to;
      to = swap;
    }
  if (from != a)
    memcpy (a, from, n * sizeof *a);
}

/* Sort the samples by bucket, then latency: by latency, then a stable
 * counting pass over the buckets (comparison sort when their range is
 * far wider than the samples). */
static void
sort_by_bucket_then_latency (GArray *samples)
{
  LatencySample *a = (LatencySample *) samples->data;
  guint n = samples->len;
  if (n == 0)
    return;
  gint64 low = a[0].bucket, high = a[0].bucket;
  for (guint i = 1; i < n; i++)
    {
      low = MIN (low, a[i].bucket);
      high = MAX (high, a[i].bucket);
    }
  if ((guint64) (high - low) > 4 * (guint64) n + 65536)
    {
      g_array_sort (samples, compare_buckets_then_latencies);
      return;
    }
  sort_by_latency (samples);
  a = (LatencySample *) samples->data;
  gsize range = (gsize) (high - low) + 1;
  g_autofree guint *start = g_new0 (guint, range + 1);
  for (guint i = 0; i < n; i++)
    start[a[i].bucket - low + 1]++;
  for (gsize b = 1; b <= range; b++)
    start[b] += start[b - 1];
  g_autofree LatencySample *sorted = g_new (LatencySample, n);
  for (guint i = 0; i < n; i++)
    sorted[start[a[i].bucket - low]++] = a[i];
  memcpy (a, sorted, n * sizeof *a);
}

static void
fill_percentiles (GArray *samples, double out_ms[3])
{
  sort_by_latency (samples);
  for (guint i = 0; i < 3; i++)
    out_ms[i] = nearest_rank_ms ((LatencySample *) samples->data, samples->len,
                                 percentile_permille[i]);
}

/* Each timeseries bucket's p50 and p99 into the two columns. */
static void
fill_bucket_percentiles (GArray *samples, DkTimeseries *series, guint p50_column,
                         guint p99_column)
{
  sort_by_bucket_then_latency (samples);
  const LatencySample *all = (const LatencySample *) samples->data;
  for (guint start = 0, end; start < samples->len; start = end)
    {
      for (end = start; end < samples->len && all[end].bucket == all[start].bucket;)
        end++;
      dk_timeseries_set (series, p50_column, all[start].invoke_us,
                         nearest_rank_ms (all + start, end - start, 500));
      dk_timeseries_set (series, p99_column, all[start].invoke_us,
                         nearest_rank_ms (all + start, end - start, 990));
    }
}

/* ---- failure reasons ---------------------------------------------------- */

static int
compare_reasons (gconstpointer a, gconstpointer b)
{
  const DkReasonCount *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp (x->reason, y->reason);
}

/* The tally of COUNTS (reason -> count) as a sorted array. */
static GArray *
sorted_reasons (GHashTable *counts)
{
  GArray *reasons = g_array_new (FALSE, FALSE, sizeof (DkReasonCount));
  g_array_set_clear_func (reasons, reason_clear);
  GHashTableIter iter;
  gpointer reason, count;
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &reason, &count))
    {
      DkReasonCount entry = { g_strdup (reason), GPOINTER_TO_SIZE (count) };
      g_array_append_val (reasons, entry);
    }
  g_array_sort (reasons, compare_reasons);
  return reasons;
}

/* ---- the pass over operations ------------------------------------------- */

enum { COL_INVOKED, COL_OK, COL_FAILED, COL_GETS, COL_PUTS, COL_STALE,
       COL_P50, COL_P99 };

static DkTimeseries *
standard_timeseries (const DkCheckOptions *options)
{
  DkTimeseries *series = dk_timeseries_new (options->time_origin_us,
                                            options->timeseries_bucket_us);
  static const char *const counts[] = { "invoked", "ok", "failed", "gets",
                                        "puts", "stale_reads" };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    dk_timeseries_add_column (series, counts[i], DK_SERIES_COUNT);
  dk_timeseries_add_column (series, "latency_p50_ms", DK_SERIES_SAMPLE);
  dk_timeseries_add_column (series, "latency_p99_ms", DK_SERIES_SAMPLE);
  return series;
}

static double
ratio (double numerator, double denominator, double when_empty)
{
  return denominator > 0 ? numerator / denominator : when_empty;
}

/* Outcomes, kinds, reasons, latencies, staleness and conflicts. */
static void
check_operations (DkMetrics *metrics, const DkHistory *history)
{
  MetricValues *v = &metrics->values;
  DkTimeseries *series = metrics->timeseries;
  g_autoptr (GHashTable) reason_counts = g_hash_table_new (g_str_hash, g_str_equal);
  /* Sized for every operation up front, filled in place, cut to size after. */
  guint64 n_ops = dk_history_len (history);
  g_autoptr (GArray) all = g_array_sized_new (FALSE, FALSE, sizeof (LatencySample), n_ops);
  g_autoptr (GArray) gets = g_array_sized_new (FALSE, FALSE, sizeof (LatencySample), n_ops);
  g_autoptr (GArray) puts = g_array_sized_new (FALSE, FALSE, sizeof (LatencySample), n_ops);
  g_array_set_size (all, n_ops);
  g_array_set_size (gets, n_ops);
  g_array_set_size (puts, n_ops);
  guint n_all = 0, n_gets = 0, n_puts = 0;
  g_autofree DkReadVerdict *verdicts = dk_staleness_check (history, metrics->visibility);
  gint64 window_us;
  v->visibility_999_ms = dk_visibility_window_us (metrics->visibility, 0.999, &window_us)
                           ? (double) window_us / 1000.0 : NAN;
  guint k;
  v->k_staleness_999 = dk_visibility_k_staleness (metrics->visibility, 0.999, &k) ? k : NAN;

  double side_ops[3] = { 0, 0, 0 }, side_ok[3] = { 0, 0, 0 };   /* by DkOp.side */
  for (guint64 id = 0; id < n_ops; id++)
    {
      const DkOp *op = dk_history_get (history, id);
      gboolean is_get = op->kind == DK_OP_GET;
      v->ops++;
      if (is_get)
        v->gets++;
      else
        v->puts++;
      guint side = MIN (op->side, 2u);
      side_ops[side]++;
      side_ok[side] += op->outcome == DK_OUTCOME_OK;
      dk_timeseries_add (series, COL_INVOKED, op->invoke_us, 1);
      dk_timeseries_add (series, is_get ? COL_GETS : COL_PUTS, op->invoke_us, 1);
      if (op->outcome == DK_OUTCOME_PENDING)
        {
          v->pending_ops++;
          continue;
        }
      if (op->outcome == DK_OUTCOME_FAILED)
        {
          v->failed_ops++;
          dk_timeseries_add (series, COL_FAILED, op->invoke_us, 1);
          gsize count = GPOINTER_TO_SIZE (g_hash_table_lookup (reason_counts, op->reason));
          g_hash_table_insert (reason_counts, op->reason, GSIZE_TO_POINTER (count + 1));
          continue;
        }
      v->ok_ops++;
      dk_timeseries_add (series, COL_OK, op->invoke_us, 1);
      LatencySample sample = { dk_timeseries_bucket_of (series, op->invoke_us),
                               op->complete_us - op->invoke_us, op->invoke_us };
      g_array_index (all, LatencySample, n_all++) = sample;
      if (is_get)
        g_array_index (gets, LatencySample, n_gets++) = sample;
      else
        g_array_index (puts, LatencySample, n_puts++) = sample;
      if (!is_get)
        {
          v->ok_puts++;
          if (op->kind == DK_OP_PUT)
            v->acknowledged_writes++;
          if (!op->has_dot)
            v->unchecked_writes++;
          continue;
        }
      v->ok_gets++;
      if (op->returned_values > 1)
        v->conflict_count++;
      v->max_siblings = MAX (v->max_siblings, (double) op->returned->len);
      if (verdicts[id] == DK_READ_STALE)
        {
          v->stale_read_count++;
          g_array_append_val (metrics->stale_reads, id);
          dk_timeseries_add (series, COL_STALE, op->invoke_us, 1);
        }
    }

  g_array_set_size (all, n_all);
  g_array_set_size (gets, n_gets);
  g_array_set_size (puts, n_puts);
  v->availability = ratio (v->ok_ops, v->ops, 1);
  v->minority_availability = side_ops[1] > 0 ? side_ok[1] / side_ops[1] : NAN;
  v->majority_availability = side_ops[2] > 0 ? side_ok[2] / side_ops[2] : NAN;
  v->get_availability = ratio (v->ok_gets, v->gets, 1);
  v->put_availability = ratio (v->ok_puts, v->puts, 1);
  v->stale_reads = ratio (v->stale_read_count, v->ok_gets, 0);
  v->conflicts = ratio (v->conflict_count, v->ok_gets, 0);
  fill_percentiles (gets, v->get_latency_ms);
  fill_percentiles (puts, v->put_latency_ms);
  fill_percentiles (all, v->latency_ms);
  fill_bucket_percentiles (all, series, COL_P50, COL_P99);
  metrics->reasons = sorted_reasons (reason_counts);
}

/* ---- end-of-run checks -------------------------------------------------- */

/* What the end-of-run checks know of each operation, for the key being
 * checked: one record per operation id, valid while its KEY stamp is the
 * key's generation (a new key starts afresh without clearing the array;
 * sets of pointers in hash tables, made and destroyed for every key,
 * cost more than the checks themselves). */
enum
{
  MARK_HELD = 1 << 0,       /* a preference-list replica holds its version */
  MARK_ACCOUNTED = 1 << 1,  /* held, or knowingly replaced by an accounted write */
  MARK_EXPLAINED = 1 << 2,  /* accounted before issued deletes counted */
};

typedef struct
{
  guint32 key;       /* the key generation this record is valid for */
  guint32 replica;   /* the replica generation that last accounted for it */
  guint32 holding;   /* how many of the key's replicas account for it */
  guint8  flags;     /* MARK_* */
} OpMarks;

typedef struct
{
  OpMarks *ops;      /* indexed by operation id */
  guint64  n_ops;
  guint32  key_generation;
  guint32  replica_generation;
} Marks;

static void
marks_init (Marks *marks, guint64 n_ops)
{
  marks->ops = g_new0 (OpMarks, MAX (n_ops, 1));
  marks->n_ops = n_ops;
  marks->key_generation = marks->replica_generation = 0;
}

/* Every record stale: a generation about to wrap starts the array anew. */
static void
marks_wrap (Marks *marks)
{
  memset (marks->ops, 0, MAX (marks->n_ops, 1) * sizeof (OpMarks));
  marks->key_generation = marks->replica_generation = 0;
}

static void
marks_next_key (Marks *marks)
{
  if (marks->key_generation == G_MAXUINT32 || marks->replica_generation == G_MAXUINT32)
    marks_wrap (marks);
  marks->key_generation++;
}

static void
marks_next_replica (Marks *marks)
{
  if (marks->replica_generation == G_MAXUINT32)
    {
      /* Keeps the key's records: only replica stamps must never repeat. */
      for (guint64 i = 0; i < MAX (marks->n_ops, 1); i++)
        marks->ops[i].replica = 0;
      marks->replica_generation = 0;
    }
  marks->replica_generation++;
}

/* OP's record for the key being checked. */
static OpMarks *
marks_of (Marks *marks, const DkOp *op)
{
  OpMarks *mark = &marks->ops[op->id];
  if (mark->key != marks->key_generation)
    *mark = (OpMarks) { .key = marks->key_generation };
  return mark;
}

static gboolean
marked (Marks *marks, const DkOp *op, guint8 flag)
{
  return (marks_of (marks, op)->flags & flag) != 0;
}

/* The writes of one key, and what its replicas hold at the end.  A
 * replica's state (REPLICA) accounts into the replica generation, and
 * counts each write it accounts for in the write's HOLDING. */
typedef struct
{
  const char       *key;
  GPtrArray        *writes;   /* const DkOp*: puts and deletes, any outcome, by id */
  Marks            *marks;
  gboolean          replica;
  const DkFinalKey *final;    /* what the final state recorded of the key */
} KeyState;

/* The write that wrote HELD: by its value id, else by its dot. */
static const DkOp *
writer_of_held (const DkHistory *history, const DkHeld *held)
{
  guint64 id = held->value != DK_VALUE_UNKNOWN ? held->value
                                                : dk_history_write_of_dot (history, held->dot);
  if (id >= dk_history_len (history))
    return NULL;
  const DkOp *op = dk_history_get (history, id);
  return op->kind != DK_OP_GET ? op : NULL;
}

/* Mark WRITE accounted for, and queue it to look at what it knew. */
static void
account (KeyState *state, GPtrArray *queue, const DkOp *write)
{
  OpMarks *mark = marks_of (state->marks, write);
  if (state->replica)
    {
      if (mark->replica == state->marks->replica_generation)
        return;
      mark->replica = state->marks->replica_generation;
      mark->holding++;
    }
  else
    {
      if (mark->flags & MARK_ACCOUNTED)
        return;
      mark->flags |= MARK_ACCOUNTED;
    }
  g_ptr_array_add (queue, (gpointer) write);
}

/* Account for the writes of the key whose dot CONTEXT covers: what a
 * writer without a known read, or a version no write explains, replaced. */
static void
account_covered (KeyState *state, GPtrArray *queue, const DkVclock *context)
{
  for (guint i = 0; i < state->writes->len; i++)
    {
      const DkOp *write = g_ptr_array_index (state->writes, i);
      if (write->has_dot && dk_dot_covered (write->dot, context))
        account (state, queue, write);
    }
}

/* Account for everything the queued writes knew, and on. */
static void
account_known (KeyState *state, const DkHistory *history, GPtrArray *queue)
{
  while (queue->len > 0)
    {
      const DkOp *writer = g_ptr_array_steal_index_fast (queue, queue->len - 1);
      const DkOp *read = writer->read < dk_history_len (history)
                         ? dk_history_get (history, writer->read) : NULL;
      if (read == NULL || read->kind != DK_OP_GET || read->returned == NULL)
        {
          account_covered (state, queue, writer->context);
          continue;
        }
      for (guint i = 0; i < read->returned->len; i++)
        {
          const DkReturned *returned = &g_array_index (read->returned, DkReturned, i);
          guint64 value = dk_history_returned_value (history, returned);
          const DkOp *seen = value < dk_history_len (history) ? dk_history_get (history, value) : NULL;
          if (seen == NULL)
            account_covered (state, queue, returned->context);
          /* Knowing needs the sent context to cover the dot (dk_history_knew);
           * a write whose dot never came back cannot be checked. */
          else if (seen->kind != DK_OP_GET && strcmp (seen->key, state->key) == 0
                   && (!seen->has_dot || dk_dot_covered (seen->dot, writer->context)))
            account (state, queue, seen);
        }
    }
}

/* Held: what the key's preference-list replicas hold.  Accounted: the
 * held writes, and every write an accounted write knew (history.h's
 * dk_history_knew, walked forward: what its read returned, and on). */
static void
account_key (KeyState *state, const DkHistory *history, GPtrArray *queue)
{
  const DkHolding *holdings = state->final->holdings;
  for (guint h = 0; h < state->final->n_holdings; h++)
    {
      if (!dk_final_key_is_replica (state->final, holdings[h].node))
        continue;
      for (guint v = 0; v < holdings[h].n_versions; v++)
        {
          const DkHeld *held = &holdings[h].versions[v];
          const DkOp *writer = writer_of_held (history, held);
          if (writer == NULL)
            {
              account_covered (state, queue, held->context);
              continue;
            }
          marks_of (state->marks, writer)->flags |= MARK_HELD;
          account (state, queue, writer);
        }
    }
  account_known (state, history, queue);
  /* What the held writes explain, before deletes are taken at their word:
   * a delete no held write knew, replaced on nobody's knowledge, is a
   * lost update too.  (Asked of the key's own writes only.) */
  for (guint i = 0; i < state->writes->len; i++)
    {
      OpMarks *mark = marks_of (state->marks, g_ptr_array_index (state->writes, i));
      if (mark->flags & MARK_ACCOUNTED)
        mark->flags |= MARK_EXPLAINED;
    }
  /* A delete's effect is absence, which collecting its tombstone keeps
   * (resurrected_deletes checks that it holds): an issued delete is
   * accounted for whether or not a replica still holds its tombstone. */
  for (guint i = 0; i < state->writes->len; i++)
    {
      const DkOp *write = g_ptr_array_index (state->writes, i);
      if (write->kind == DK_OP_DELETE && write->has_dot)
        account (state, queue, write);
    }
  account_known (state, history, queue);
}

/* TRUE when some write of the key was stored with a context covering
 * LOST's dot although the context its client sent did not: the store
 * replaced LOST on nobody's knowledge (the server-side clock anomaly). */
static gboolean
replaced_unknowingly (const KeyState *state, const DkHistory *history, const DkOp *lost)
{
  for (guint i = 0; i < state->writes->len; i++)
    {
      const DkOp *write = g_ptr_array_index (state->writes, i);
      if (write != lost && write->stored_context != NULL
          && dk_dot_covered (lost->dot, write->stored_context) && !dk_history_knew (history, write, lost))
        return TRUE;
    }
  return FALSE;
}

/* For each of the key's preference-list replicas that holds anything,
 * what it accounts for: the writes it holds and everything they knew
 * (account_known, seeded with this replica's holdings only), counted in
 * each write's HOLDING.  Returns the list's length (the holders' count
 * when no list was recorded). */
static guint
replicas_knowledge (const KeyState *state, const DkHistory *history, GPtrArray *queue)
{
  const DkHolding *holdings = state->final->holdings;
  guint n_holdings = state->final->n_holdings;
  for (guint h = 0; h < n_holdings; h++)
    {
      if (!dk_final_key_is_replica (state->final, holdings[h].node))
        continue;
      KeyState replica = { state->key, state->writes, state->marks, TRUE, state->final };
      marks_next_replica (state->marks);
      for (guint v = 0; v < holdings[h].n_versions; v++)
        {
          const DkHeld *held = &holdings[h].versions[v];
          const DkOp *writer = writer_of_held (history, held);
          if (writer != NULL)
            account (&replica, queue, writer);
          else
            account_covered (&replica, queue, held->context);
        }
      account_known (&replica, history, queue);
    }
  return state->final->replicas != NULL ? state->final->n_replicas : n_holdings;
}

/* A delete whose knowingly replaced values a replica holds again. */
static gboolean
delete_resurrected (const KeyState *state, const DkHistory *history, const DkOp *delete)
{
  for (guint i = 0; i < state->writes->len; i++)
    {
      const DkOp *write = g_ptr_array_index (state->writes, i);
      if (write->kind == DK_OP_PUT && dk_history_knew (history, delete, write)
          && marked (state->marks, write, MARK_HELD))
        return TRUE;
    }
  return FALSE;
}

static int
compare_key_names (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return (x > y) - (x < y);
}

/* What the end-of-run checks need of the operations alone: _start
 * gathers it, so that _finish, which waits for the final state, does
 * less. */
typedef struct _Written
{
  GHashTable  *writes;    /* key -> GPtrArray of its writes (const DkOp*), by id */
  const char **keys;      /* the written keys, sorted (strcmp) */
  guint        n_keys;
  GHashTable  *dots;      /* const DkDot* -> value id + 1 (observe_dot) */
  GHashTable  *collided;  /* const DkDot*: seen with two values */
} Written;

static void
written_free (Written *written)
{
  if (written == NULL)
    return;
  g_hash_table_unref (written->writes);
  g_free (written->keys);
  g_hash_table_unref (written->dots);
  g_hash_table_unref (written->collided);
  g_free (written);
}

static void observe_operation_dots (Written *written, const DkHistory *history);

/* A dot's hash, mixing every bit of both fields: dk_dot_hash's XOR of
 * actor and counter gives many dots of a run one value, and a table of
 * all a run's dots then spends its time walking collisions.  (Never
 * iterated: only the number of collided dots is read.) */
static guint
dot_hash (gconstpointer key)
{
  const DkDot *dot = key;
  guint64 x = dot->actor * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) ^ dot->counter;
  x ^= x >> 31;
  x *= G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  x ^= x >> 29;
  return (guint) x;
}

static Written *
written_new (const DkHistory *history)
{
  Written *written = g_new0 (Written, 1);
  written->writes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) g_ptr_array_unref);
  for (guint64 id = 0; id < dk_history_len (history); id++)
    {
      const DkOp *op = dk_history_get (history, id);
      if (op->kind == DK_OP_GET)
        continue;
      GPtrArray *writes = g_hash_table_lookup (written->writes, op->key);
      if (writes == NULL)
        g_hash_table_insert (written->writes, op->key, writes = g_ptr_array_new ());
      g_ptr_array_add (writes, (gpointer) op);
    }
  written->keys = (const char **) g_hash_table_get_keys_as_array (written->writes,
                                                                  &written->n_keys);
  qsort (written->keys, written->n_keys, sizeof *written->keys, compare_key_names);
  written->dots = g_hash_table_new (dot_hash, dk_dot_equal);
  written->collided = g_hash_table_new (dot_hash, dk_dot_equal);
  observe_operation_dots (written, history);
  return written;
}

/* Lost writes, lost updates, under-replicated writes and resurrected
 * deletes, key by key (keys in strcmp order). */
static void
check_final_state (DkMetrics *metrics, const DkHistory *history, const DkFinalState *final)
{
  MetricValues *v = &metrics->values;
  const Written *written = metrics->written;
  g_autoptr (GPtrArray) queue = g_ptr_array_new ();
  Marks marks;
  marks_init (&marks, dk_history_len (history));
  for (guint k = 0; k < written->n_keys; k++)
    {
      DkFinalKey record;
      dk_final_state_lookup (final, written->keys[k], &record);
      KeyState state = { written->keys[k], g_hash_table_lookup (written->writes, written->keys[k]),
                         &marks, FALSE, &record };
      marks_next_key (&marks);
      account_key (&state, history, queue);
      guint n_replicas = replicas_knowledge (&state, history, queue);
      for (guint i = 0; i < state.writes->len; i++)
        {
          const DkOp *write = g_ptr_array_index (state.writes, i);
          if (write->outcome != DK_OUTCOME_OK || !write->has_dot)
            continue;
          gboolean accounted = marked (&marks, write, MARK_ACCOUNTED);
          if (!accounted && write->kind == DK_OP_PUT)
            g_array_append_val (metrics->lost_writes, write->id);
          if (!marked (&marks, write, MARK_EXPLAINED)
              && replaced_unknowingly (&state, history, write))
            g_array_append_val (metrics->lost_updates, write->id);
          if (write->kind == DK_OP_DELETE && delete_resurrected (&state, history, write))
            v->resurrected_deletes++;
          if (accounted && write->kind == DK_OP_PUT
              && marks_of (&marks, write)->holding < n_replicas)
            v->under_replicated_writes++;
        }
    }
  g_free (marks.ops);
  g_array_sort (metrics->lost_writes, compare_ids);
  g_array_sort (metrics->lost_updates, compare_ids);
  v->lost_writes = metrics->lost_writes->len;
  v->lost_updates = metrics->lost_updates->len;
}

/* TRUE when KEY's replicas (its holders when no list was recorded) hold
 * different sets, a tombstone-only set counting as not holding the key. */
static gboolean
key_diverges (const DkFinalKey *key)
{
  const DkHolding *holdings = key->holdings;
  const DkNodeId *replicas = key->replicas;
  guint n_holdings = key->n_holdings;
  gboolean have_list = replicas != NULL;
  guint n = have_list ? key->n_replicas : n_holdings;
  gboolean seen_first = FALSE, first_has_values = FALSE;
  guint64 first_digest = 0;
  for (guint i = 0; i < n; i++)
    {
      const DkHolding *holding = NULL;
      if (!have_list)
        holding = &holdings[i];
      for (guint h = 0; have_list && h < n_holdings && holding == NULL; h++)
        if (holdings[h].node == replicas[i])
          holding = &holdings[h];
      gboolean has_values = holding != NULL && holding->n_values > 0;
      guint64 digest = has_values ? holding->digest : 0;
      if (!seen_first)
        {
          seen_first = TRUE;
          first_has_values = has_values;
          first_digest = digest;
        }
      else if (has_values != first_has_values || digest != first_digest)
        return TRUE;
    }
  return FALSE;
}

/* ---- dot collisions --------------------------------------------------- */

/* Note that DOT was seen carrying VALUE (a value id, unknown ignored);
 * a second value for one dot puts the dot in COLLIDED. */
static void
observe_dot (GHashTable *values, GHashTable *collided, const DkDot *dot, guint64 value)
{
  if (value == DK_VALUE_UNKNOWN || dot->actor == DK_ACTOR_NONE)
    return;
  gpointer seen;
  if (!g_hash_table_lookup_extended (values, dot, NULL, &seen))
    g_hash_table_insert (values, (gpointer) dot, GSIZE_TO_POINTER ((gsize) value + 1));
  else if (GPOINTER_TO_SIZE (seen) != (gsize) value + 1)
    g_hash_table_add (collided, (gpointer) dot);
}

/* Dots seen with two values: two writes reporting one dot, or a get or a
 * replica holding under a write's dot a value that write did not write
 * (an old value under a new clock).  Values are told by their bytes here,
 * never through the dot itself.  The operations' dots first (_start),
 * then the held ones (check_holdings). */
static void
observe_operation_dots (Written *written, const DkHistory *history)
{
  for (guint64 id = 0; id < dk_history_len (history); id++)
    {
      const DkOp *op = dk_history_get (history, id);
      if (op->has_dot)
        observe_dot (written->dots, written->collided, &op->dot, op->id);
      for (guint i = 0; op->returned != NULL && i < op->returned->len; i++)
        {
          const DkReturned *returned = &g_array_index (op->returned, DkReturned, i);
          if (!returned->tombstone)
            observe_dot (written->dots, written->collided, &returned->dot, returned->value);
        }
    }
}

/* The held dots (for dot collisions) and the divergent keys, in one pass
 * over the keys in strcmp order. */
static void
check_holdings (DkMetrics *metrics, const DkFinalState *final)
{
  Written *written = metrics->written;
  guint n_keys;
  g_autofree DkFinalKey *keys = dk_final_state_sorted (final, &n_keys);
  for (guint k = 0; k < n_keys; k++)
    {
      for (guint h = 0; h < keys[k].n_holdings; h++)
        {
          const DkHolding *holding = &keys[k].holdings[h];
          for (guint i = 0; i < holding->n_versions; i++)
            if (!holding->versions[i].tombstone)
              observe_dot (written->dots, written->collided, &holding->versions[i].dot,
                           holding->versions[i].value);
        }
      if (key_diverges (&keys[k]))
        g_ptr_array_add (metrics->divergent_keys, g_strdup (keys[k].key));
    }
  metrics->values.divergent_keys = metrics->divergent_keys->len;
}

DkMetrics *
dk_check_history (const DkHistory *history, const DkFinalState *final,
                  const DkCheckOptions *options)
{
  DkMetrics *metrics = dk_check_history_start (history, options);
  if (metrics != NULL)
    dk_check_history_finish (metrics, history, final);
  return metrics;
}

DkMetrics *
dk_check_history_new (const DkCheckOptions *options)
{
  DkCheckOptions defaults;
  dk_check_options_init (&defaults);
  if (options == NULL)
    options = &defaults;
  g_return_val_if_fail (options->timeseries_bucket_us > 0, NULL);

  DkMetrics *metrics = g_new0 (DkMetrics, 1);
  metrics->stale_reads = g_array_new (FALSE, FALSE, sizeof (guint64));
  metrics->lost_writes = g_array_new (FALSE, FALSE, sizeof (guint64));
  metrics->lost_updates = g_array_new (FALSE, FALSE, sizeof (guint64));
  metrics->divergent_keys = g_ptr_array_new_with_free_func (g_free);
  metrics->timeseries = standard_timeseries (options);
  metrics->visibility = dk_visibility_new ();
  return metrics;
}

void
dk_check_history_operations (DkMetrics *metrics, const DkHistory *history)
{
  g_return_if_fail (metrics != NULL && history != NULL && metrics->reasons == NULL);
  check_operations (metrics, history);
}

void
dk_check_history_prepare (DkMetrics *metrics, const DkHistory *history)
{
  g_return_if_fail (metrics != NULL && history != NULL && metrics->written == NULL);
  metrics->written = written_new (history);
}

DkMetrics *
dk_check_history_start (const DkHistory *history, const DkCheckOptions *options)
{
  g_return_val_if_fail (history != NULL, NULL);
  DkMetrics *metrics = dk_check_history_new (options);
  if (metrics != NULL)
    {
      dk_check_history_operations (metrics, history);
      dk_check_history_prepare (metrics, history);
    }
  return metrics;
}

void
dk_check_history_finish (DkMetrics *metrics, const DkHistory *history,
                         const DkFinalState *final)
{
  g_return_if_fail (metrics != NULL && history != NULL && metrics->written != NULL);
  if (final != NULL)
    {
      metrics->final_checked = TRUE;
      check_holdings (metrics, final);
      check_final_state (metrics, history, final);
    }
  metrics->values.dot_collisions = g_hash_table_size (metrics->written->collided);
  g_clear_pointer (&metrics->written, written_free);
  g_ptr_array_add (metrics->divergent_keys, NULL);
}

/* ---- lookup and output -------------------------------------------------- */

static const MetricDef *
find_metric (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (metric_table); i++)
    if (strcmp (metric_table[i].name, name) == 0)
      return &metric_table[i];
  return NULL;
}

gboolean
dk_metric_name_valid (const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);
  return find_metric (name) != NULL;
}

guint
dk_metric_count (void)
{
  return G_N_ELEMENTS (metric_table);
}

const char *
dk_metric_name (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (metric_table), NULL);
  return metric_table[index].name;
}

/* DEF's value in METRICS, or FALSE when it was not measured. */
static gboolean
metric_value (const DkMetrics *metrics, const MetricDef *def, double *value)
{
  if (def->needs_final && !metrics->final_checked)
    return FALSE;
  *value = G_STRUCT_MEMBER (double, &metrics->values, def->offset);
  return !isnan (*value);
}

gboolean
dk_metrics_get (const DkMetrics *metrics, const char *name, double *value)
{
  g_return_val_if_fail (metrics != NULL && name != NULL && value != NULL, FALSE);
  const MetricDef *def = find_metric (name);
  return def != NULL && metric_value (metrics, def, value);
}

/* The JSON lists at most this many ids of each kind of violation. */
#define MAX_IDS_LISTED 100

/* Append S as a JSON string literal. */
static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  g_string_append_c (out, '"');
}

void
dk_metrics_append_json_members (const DkMetrics *metrics, GString *out)
{
  g_return_if_fail (metrics != NULL && out != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (metric_table); i++)
    {
      double value;
      append_json_string (out, metric_table[i].name);
      g_string_append (out, ": ");
      if (metric_value (metrics, &metric_table[i], &value))
        dk_append_number (out, value);
      else
        g_string_append (out, "null");
      g_string_append (out, ", ");
    }
  g_string_append (out, "\"failure_reasons\": {");
  for (guint i = 0; i < metrics->reasons->len; i++)
    {
      const DkReasonCount *entry = &g_array_index (metrics->reasons, DkReasonCount, i);
      if (i > 0)
        g_string_append (out, ", ");
      append_json_string (out, entry->reason);
      g_string_append_printf (out, ": %" G_GUINT64_FORMAT, entry->count);
    }
  g_string_append_c (out, '}');
  /* The operations behind the counts, so a failing run names them. */
  static const struct { const char *name; gsize offset; gboolean needs_final; } id_lists[] = {
    { "lost_write_ids", G_STRUCT_OFFSET (DkMetrics, lost_writes), TRUE },
    { "lost_update_ids", G_STRUCT_OFFSET (DkMetrics, lost_updates), TRUE },
    { "stale_read_ids", G_STRUCT_OFFSET (DkMetrics, stale_reads), FALSE },
  };
  for (guint l = 0; l < G_N_ELEMENTS (id_lists); l++)
    {
      const GArray *ids = G_STRUCT_MEMBER (GArray *, metrics, id_lists[l].offset);
      g_string_append_printf (out, ", \"%s\": ", id_lists[l].name);
      if (id_lists[l].needs_final && !metrics->final_checked)
        {
          g_string_append (out, "null");   /* not measured, as the counts */
          continue;
        }
      g_string_append_c (out, '[');
      for (guint i = 0; i < MIN (ids->len, MAX_IDS_LISTED); i++)
        g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, i > 0 ? ", " : "",
                                g_array_index (ids, guint64, i));
      g_string_append_c (out, ']');
    }
}

void
dk_metrics_to_json (const DkMetrics *metrics, GString *out)
{
  g_return_if_fail (metrics != NULL && out != NULL);
  g_string_append_c (out, '{');
  dk_metrics_append_json_members (metrics, out);
  g_string_append_c (out, '}');
}

/* Append LABEL then metric NAME to six significant digits (C locale), or
 * "n/a" when it was not measured. */
static void
append_named (GString *out, const DkMetrics *metrics, const char *label,
              const char *name)
{
  double value;
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, label);
  if (dk_metrics_get (metrics, name, &value))
    g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.6g", value));
  else
    g_string_append (out, "n/a");
}

void
dk_metrics_summary (const DkMetrics *metrics, GString *out)
{
  g_return_if_fail (metrics != NULL && out != NULL);
  const MetricValues *v = &metrics->values;
  g_string_append_printf (out, "operations      %.0f invoked, %.0f ok, %.0f failed, "
                          "%.0f pending\n", v->ops, v->ok_ops, v->failed_ops,
                          v->pending_ops);
  append_named (out, metrics, "availability    ", "availability");
  append_named (out, metrics, " (get ", "get_availability");
  append_named (out, metrics, ", put ", "put_availability");
  append_named (out, metrics, ")\nstale reads     ", "stale_reads");
  g_string_append_printf (out, " (%.0f of %.0f successful gets)\n",
                          v->stale_read_count, v->ok_gets);
  append_named (out, metrics, "lost writes     ", "lost_writes");
  g_string_append_printf (out, " of %.0f acknowledged puts", v->acknowledged_writes);
  append_named (out, metrics, "; lost updates ", "lost_updates");
  append_named (out, metrics, "; resurrected deletes ", "resurrected_deletes");
  append_named (out, metrics, "\ndot collisions  ", "dot_collisions");
  append_named (out, metrics, " (unchecked writes ", "unchecked_writes");
  g_string_append (out, ")\n");
  append_named (out, metrics, "conflicts       ", "conflicts");
  append_named (out, metrics, "\ndivergent keys  ", "divergent_keys");
  static const char *const kinds[] = { "", "get_", "put_" };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_string_append_printf (out, "\n%-16s", k == 0 ? "latency ms" : k == 1 ? "  get" : "  put");
      static const char *const percentiles[] = { "p50", "p99", "p999" };
      for (guint p = 0; p < G_N_ELEMENTS (percentiles); p++)
        {
          g_autofree char *name = g_strdup_printf ("%slatency_%s_ms", kinds[k], percentiles[p]);
          g_autofree char *label = g_strdup_printf ("%s%s ", p > 0 ? "  " : "", percentiles[p]);
          append_named (out, metrics, label, name);
        }
    }
  g_string_append (out, "\n");
  if (metrics->reasons->len > 0)
    {
      g_string_append (out, "failures        ");
      for (guint i = 0; i < metrics->reasons->len; i++)
        {
          const DkReasonCount *entry = &g_array_index (metrics->reasons, DkReasonCount, i);
          g_string_append_printf (out, "%s%s: %" G_GUINT64_FORMAT, i > 0 ? ", " : "",
                                  entry->reason, entry->count);
        }
      g_string_append_c (out, '\n');
    }
}

const DkReasonCount *
dk_metrics_failure_reasons (const DkMetrics *metrics, guint *n_reasons)
{
  g_return_val_if_fail (metrics != NULL && n_reasons != NULL, NULL);
  *n_reasons = metrics->reasons->len;
  return (const DkReasonCount *) metrics->reasons->data;
}

const guint64 *
dk_metrics_stale_reads (const DkMetrics *metrics, guint *n)
{
  g_return_val_if_fail (metrics != NULL && n != NULL, NULL);
  *n = metrics->stale_reads->len;
  return (const guint64 *) metrics->stale_reads->data;
}

const guint64 *
dk_metrics_lost_writes (const DkMetrics *metrics, guint *n)
{
  g_return_val_if_fail (metrics != NULL && n != NULL, NULL);
  *n = metrics->lost_writes->len;
  return (const guint64 *) metrics->lost_writes->data;
}

const guint64 *
dk_metrics_lost_updates (const DkMetrics *metrics, guint *n)
{
  g_return_val_if_fail (metrics != NULL && n != NULL, NULL);
  *n = metrics->lost_updates->len;
  return (const guint64 *) metrics->lost_updates->data;
}

const char *const *
dk_metrics_divergent_keys (const DkMetrics *metrics, guint *n)
{
  g_return_val_if_fail (metrics != NULL && n != NULL, NULL);
  *n = metrics->divergent_keys->len - 1;
  return (const char *const *) metrics->divergent_keys->pdata;
}

DkTimeseries *
dk_metrics_timeseries (DkMetrics *metrics)
{
  g_return_val_if_fail (metrics != NULL, NULL);
  return metrics->timeseries;
}

const DkVisibility *
dk_metrics_visibility (const DkMetrics *metrics)
{
  g_return_val_if_fail (metrics != NULL, NULL);
  return metrics->visibility;
}
