/* check_checkers.c — the history, its CSV form, and every checker, on
 * hand-written histories that must and must not count as violations, then
 * as properties over random histories of a correct sequential store into
 * which exactly one violation is injected. */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "suites.h"
#include "checkers.h"
#include "hash.h"
#include "rng.h"

/* ---- building histories by hand ----------------------------------------- */

/* A clock from "node:counter ..." ("1:2 3:1"); "" is the empty clock. */
static DkVclock *
clock_of (const char *spec)
{
  DkVclock *clock = dk_vclock_new ();
  g_auto (GStrv) entries = g_strsplit (spec, " ", -1);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      if (*entries[i] == '\0')
        continue;
      guint node = 0, counter = 0;
      g_assert (sscanf (entries[i], "%u:%u", &node, &counter) == 2);
      for (guint c = 0; c < counter; c++)
        dk_vclock_increment (clock, node, 0);
    }
  return clock;
}

static guint64
put_full (DkHistory *h, DkOpKind kind, const char *key, gint64 invoke_us,
          gint64 complete_us, const char *clock_spec)
{
  guint64 id = dk_history_invoke (h, 1, 1, kind, key, invoke_us);
  g_autoptr (DkVclock) clock = clock_of (clock_spec);
  dk_history_complete_write_ok (h, id, complete_us, clock);
  return id;
}

/* A put acknowledged at COMPLETE_US that wrote CLOCK_SPEC. */
static guint64
put (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us,
     const char *clock_spec)
{
  return put_full (h, DK_OP_PUT, key, invoke_us, complete_us, clock_spec);
}

/* A successful get returning the clocks in SPECS ("1:1|2:1"; "" for
 * nothing), the first N_VALUES of them values. */
static guint64
get (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us,
     const char *specs, guint n_values)
{
  guint64 id = dk_history_invoke (h, 2, 1, DK_OP_GET, key, invoke_us);
  g_auto (GStrv) parts = g_strsplit (specs, "|", -1);
  g_autoptr (GPtrArray) clocks = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_vclock_free);
  for (guint i = 0; *specs != '\0' && parts[i] != NULL; i++)
    g_ptr_array_add (clocks, clock_of (parts[i]));
  dk_history_complete_read_ok (h, id, complete_us, (const DkVclock *const *) clocks->pdata,
                               clocks->len, MIN (n_values, clocks->len));
  return id;
}

static guint64
failed (DkHistory *h, DkOpKind kind, const char *key, gint64 invoke_us,
        gint64 complete_us, const char *reason)
{
  guint64 id = dk_history_invoke (h, 3, 2, kind, key, invoke_us);
  dk_history_complete_failed (h, id, complete_us, reason);
  return id;
}

/* Record that NODE holds KEY as the clocks in SPECS (all values). */
static void
hold (DkFinalState *final, const char *key, DkNodeId node, const char *specs)
{
  g_auto (GStrv) parts = g_strsplit (specs, "|", -1);
  g_autoptr (GPtrArray) clocks = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_vclock_free);
  for (guint i = 0; *specs != '\0' && parts[i] != NULL; i++)
    g_ptr_array_add (clocks, clock_of (parts[i]));
  dk_final_state_add (final, key, node, (const DkVclock *const *) clocks->pdata,
                      clocks->len, clocks->len, dk_hash64 (specs, strlen (specs)));
}

static double
metric (const DkMetrics *m, const char *name)
{
  double value = -1;
  ck_assert_msg (dk_metrics_get (m, name, &value), "metric %s not measured", name);
  return value;
}

/* ---- stale reads -------------------------------------------------------- */

START_TEST (stale_read_of_older_version_after_ack_is_stale)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, "1:1");
  put (h, "k", 20, 30, "1:2");
  guint64 stale = get (h, "k", 40, 45, "1:1", 1);
  get (h, "k", 50, 55, "1:2", 1);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "stale_read_count"), 1);
  ck_assert_double_eq (metric (m, "stale_reads"), 0.5);
  guint n;
  const guint64 *ids = dk_metrics_stale_reads (m, &n);
  ck_assert_uint_eq (n, 1);
  ck_assert_uint_eq (ids[0], stale);
}
END_TEST

/* Invoked before the ack (or at the same microsecond): concurrent, so an
 * older answer is allowed. */
START_TEST (stale_read_concurrent_with_write_is_not_stale)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, "1:1");
  put (h, "k", 20, 100, "1:2");
  get (h, "k", 50, 150, "1:1", 1);
  get (h, "k", 100, 150, "1:1", 1);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "stale_read_count"), 0);
}
END_TEST

START_TEST (stale_read_returning_a_descendant_among_siblings_is_not_stale)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, "1:1");
  get (h, "k", 20, 30, "2:1|1:2 2:1", 2);
  get (h, "k", 20, 30, "1:1", 1);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "stale_read_count"), 0);
}
END_TEST

START_TEST (stale_read_returning_nothing_after_acked_put_is_stale)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, "1:1");
  get (h, "k", 20, 30, "", 0);
  get (h, "other", 20, 30, "", 0);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "stale_read_count"), 1);
}
END_TEST

/* A tombstone returned, or nothing at all, satisfies an acked delete; an
 * older value does not. */
START_TEST (stale_read_after_delete_needs_tombstone_or_nothing)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, "1:1");
  put_full (h, DK_OP_DELETE, "k", 20, 30, "1:2");
  get (h, "k", 40, 50, "1:2", 0);
  get (h, "k", 40, 50, "", 0);
  guint64 stale = get (h, "k", 40, 50, "1:1", 1);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  guint n;
  const guint64 *ids = dk_metrics_stale_reads (m, &n);
  ck_assert_uint_eq (n, 1);
  ck_assert_uint_eq (ids[0], stale);
}
END_TEST

/* Every acked write counts, not just the latest: with two concurrent puts
 * acknowledged, a read must return both (or a descendant of each). */
START_TEST (stale_read_missing_one_of_two_concurrent_writes_is_stale)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, "1:1");
  put (h, "k", 0, 12, "2:1");
  get (h, "k", 20, 30, "1:1 2:1", 1);
  get (h, "k", 20, 30, "1:1|2:1", 2);
  guint64 stale = get (h, "k", 20, 30, "2:1", 1);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  guint n;
  const guint64 *ids = dk_metrics_stale_reads (m, &n);
  ck_assert_uint_eq (n, 1);
  ck_assert_uint_eq (ids[0], stale);
}
END_TEST

/* No write acked before: never stale; failed and unacknowledged writes
 * (pending, or with no clock) never make a read stale. */
START_TEST (stale_read_needs_an_acknowledged_write)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  get (h, "k", 0, 5, "", 0);
  failed (h, DK_OP_PUT, "k", 10, 20, "timeout");
  dk_history_invoke (h, 1, 1, DK_OP_PUT, "k", 10);
  guint64 unknown = dk_history_invoke (h, 1, 1, DK_OP_PUT, "k", 10);
  dk_history_complete_write_ok (h, unknown, 20, NULL);
  get (h, "k", 30, 40, "", 0);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "stale_read_count"), 0);
  ck_assert_double_eq (metric (m, "stale_reads"), 0);
}
END_TEST

/* ---- lost writes -------------------------------------------------------- */

START_TEST (lost_write_missing_everywhere_is_lost_but_a_descendant_saves_it)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 lost = put (h, "a", 0, 10, "1:1");
  put (h, "b", 0, 10, "1:1");      /* superseded: node 2 holds a descendant */
  put (h, "c", 0, 10, "1:1 2:1");  /* held exactly */
  failed (h, DK_OP_PUT, "d", 0, 10, "timeout"); /* never acknowledged */
  put_full (h, DK_OP_DELETE, "e", 0, 10, "3:1"); /* deletes are not counted */
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  hold (final, "a", 1, "2:5");
  hold (final, "b", 2, "1:2|3:1");
  hold (final, "c", 3, "1:1 2:1");
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "lost_writes"), 1);
  ck_assert_double_eq (metric (m, "acknowledged_writes"), 3);
  guint n;
  const guint64 *ids = dk_metrics_lost_writes (m, &n);
  ck_assert_uint_eq (n, 1);
  ck_assert_uint_eq (ids[0], lost);
}
END_TEST

/* A write held by every replica (or superseded everywhere) is fully
 * replicated; one that two of three replicas hold is under-replicated; a
 * copy on a node that is not a replica does not count. */
START_TEST (under_replicated_writes_count_missing_replica_copies)
{
  const DkNodeId replicas[] = { 1, 2, 3 };
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "full", 0, 10, "1:1");
  put (h, "short", 0, 10, "1:1");
  put (h, "outside", 0, 10, "1:1");
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  for (DkNodeId node = 1; node <= 3; node++)
    hold (final, "full", node, node == 2 ? "1:2" : "1:1");
  hold (final, "short", 1, "1:1");
  hold (final, "short", 2, "1:1");
  hold (final, "outside", 1, "1:1");
  hold (final, "outside", 2, "1:1");
  hold (final, "outside", 4, "1:1");
  dk_final_state_set_replicas (final, "full", replicas, 3);
  dk_final_state_set_replicas (final, "short", replicas, 3);
  dk_final_state_set_replicas (final, "outside", replicas, 3);
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "under_replicated_writes"), 2);
  ck_assert_double_eq (metric (m, "lost_writes"), 0);
}
END_TEST

START_TEST (lost_writes_and_divergence_are_unknown_without_final_state)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "a", 0, 10, "1:1");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  double value;
  ck_assert (!dk_metrics_get (m, "lost_writes", &value));
  ck_assert (!dk_metrics_get (m, "divergent_keys", &value));
  ck_assert (!dk_metrics_get (m, "no_such_metric", &value));
  g_autoptr (GString) json = g_string_new (NULL);
  dk_metrics_to_json (m, json);
  ck_assert_ptr_nonnull (strstr (json->str, "\"lost_writes\": null"));
  ck_assert_ptr_nonnull (strstr (json->str, "\"divergent_keys\": null"));
}
END_TEST

/* ---- divergence --------------------------------------------------------- */

START_TEST (divergent_keys_compare_preference_list_replicas)
{
  const DkNodeId replicas[] = { 1, 2, 3 };
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  /* same everywhere; a hinted copy on node 4 is not a replica */
  for (DkNodeId node = 1; node <= 3; node++)
    hold (final, "same", node, "1:1");
  hold (final, "same", 4, "1:9");
  dk_final_state_set_replicas (final, "same", replicas, 3);
  /* one replica differs */
  hold (final, "differs", 1, "1:1");
  hold (final, "differs", 2, "1:1");
  hold (final, "differs", 3, "1:2");
  dk_final_state_set_replicas (final, "differs", replicas, 3);
  /* one replica lacks a value the others hold */
  hold (final, "missing", 1, "1:1");
  hold (final, "missing", 2, "1:1");
  dk_final_state_set_replicas (final, "missing", replicas, 3);
  /* tombstone-only and absent agree: both say "not found" */
  g_autoptr (DkVclock) tombstone = clock_of ("1:3");
  const DkVclock *tombstones[] = { tombstone };
  dk_final_state_add (final, "deleted", 1, tombstones, 1, 0, 77);
  dk_final_state_add (final, "deleted", 2, tombstones, 1, 0, 77);
  dk_final_state_set_replicas (final, "deleted", replicas, 3);
  /* no list recorded: the holders are compared */
  hold (final, "unlisted", 5, "1:1");
  hold (final, "unlisted", 6, "2:1");
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "divergent_keys"), 3);
  guint n;
  const char *const *keys = dk_metrics_divergent_keys (m, &n);
  ck_assert_uint_eq (n, 3);
  ck_assert_str_eq (keys[0], "differs");
  ck_assert_str_eq (keys[1], "missing");
  ck_assert_str_eq (keys[2], "unlisted");
  ck_assert_ptr_null (keys[3]);
}
END_TEST

START_TEST (final_state_add_replaces_and_sorts_holdings)
{
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  hold (final, "k", 3, "1:1");
  hold (final, "k", 1, "1:1");
  hold (final, "k", 3, "1:2|2:1");
  hold (final, "j", 2, "");
  guint n;
  const DkHolding *holdings = dk_final_state_holdings (final, "k", &n);
  ck_assert_uint_eq (n, 2);
  ck_assert_uint_eq (holdings[0].node, 1);
  ck_assert_uint_eq (holdings[1].node, 3);
  ck_assert_uint_eq (holdings[1].clocks->len, 2);
  g_autofree const char **keys = dk_final_state_keys (final, &n);
  ck_assert_uint_eq (n, 2);
  ck_assert_str_eq (keys[0], "j");
  ck_assert_str_eq (keys[1], "k");
  ck_assert_ptr_null (dk_final_state_replicas (final, "k", &n));
  ck_assert_uint_eq (n, 0);
}
END_TEST

/* ---- conflicts, availability, latency ----------------------------------- */

START_TEST (conflicts_count_gets_with_several_value_siblings)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  get (h, "k", 0, 1, "1:1|2:1", 2);   /* conflict */
  get (h, "k", 0, 1, "1:1|2:1", 1);   /* a value and a tombstone */
  get (h, "k", 0, 1, "1:1", 1);
  get (h, "k", 0, 1, "", 0);
  failed (h, DK_OP_GET, "k", 0, 1, "timeout");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "conflict_count"), 1);
  ck_assert_double_eq (metric (m, "conflicts"), 0.25);
}
END_TEST

START_TEST (availability_counts_pending_as_not_ok_and_tallies_reasons)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  get (h, "k", 0, 1, "", 0);
  get (h, "k", 0, 1, "", 0);
  failed (h, DK_OP_GET, "k", 0, 1, "timeout");
  dk_history_invoke (h, 1, 1, DK_OP_GET, "k", 5); /* still pending */
  put (h, "k", 0, 1, "1:1");
  failed (h, DK_OP_DELETE, "k", 0, 1, "unavailable");
  failed (h, DK_OP_PUT, "k", 0, 1, "timeout");
  failed (h, DK_OP_PUT, "k", 0, 1, "b-reason");
  failed (h, DK_OP_PUT, "k", 0, 1, "a-reason");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "ops"), 9);
  ck_assert_double_eq (metric (m, "ok_ops"), 3);
  ck_assert_double_eq (metric (m, "failed_ops"), 5);
  ck_assert_double_eq (metric (m, "pending_ops"), 1);
  ck_assert_double_eq_tol (metric (m, "availability"), 3.0 / 9, 1e-12);
  ck_assert_double_eq (metric (m, "get_availability"), 0.5);
  ck_assert_double_eq (metric (m, "put_availability"), 0.2);
  guint n;
  const DkReasonCount *reasons = dk_metrics_failure_reasons (m, &n);
  ck_assert_uint_eq (n, 4);
  ck_assert_str_eq (reasons[0].reason, "timeout");
  ck_assert_uint_eq (reasons[0].count, 2);
  ck_assert_str_eq (reasons[1].reason, "a-reason");
  ck_assert_str_eq (reasons[2].reason, "b-reason");
  ck_assert_str_eq (reasons[3].reason, "unavailable");

  g_autoptr (DkHistory) empty = dk_history_new ();
  g_autoptr (DkMetrics) none = dk_check_history (empty, NULL, NULL);
  ck_assert_double_eq (metric (none, "availability"), 1);
  ck_assert_double_eq (metric (none, "latency_p99_ms"), 0);
}
END_TEST

/* Gets take 1..100 ms, puts 1 s: nearest rank gives p50 = 50 ms, p99 =
 * 99 ms, p999 = 100 ms for gets. */
START_TEST (latency_percentiles_use_nearest_rank)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  for (int i = 100; i >= 1; i--)
    get (h, "k", 0, i * 1000, "", 0);
  put (h, "k", 0, 1000000, "1:1");
  failed (h, DK_OP_PUT, "k", 0, 5000000, "timeout");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "get_latency_p50_ms"), 50);
  ck_assert_double_eq (metric (m, "get_latency_p99_ms"), 99);
  ck_assert_double_eq (metric (m, "get_latency_p999_ms"), 100);
  ck_assert_double_eq (metric (m, "put_latency_p50_ms"), 1000);
  ck_assert_double_eq (metric (m, "put_latency_p999_ms"), 1000);
  ck_assert_double_eq (metric (m, "latency_p50_ms"), 51);
  ck_assert_double_eq (metric (m, "latency_p99_ms"), 100);
  ck_assert_double_eq (metric (m, "latency_p999_ms"), 1000);
}
END_TEST

/* ---- t-visibility and the timeseries ------------------------------------ */

START_TEST (visibility_buckets_time_since_latest_acked_write)
{
  ck_assert_uint_eq (dk_visibility_n_buckets (), 38);
  ck_assert_uint_eq (dk_visibility_bucket_of (0), 0);
  ck_assert_uint_eq (dk_visibility_bucket_of (999), 0);
  ck_assert_uint_eq (dk_visibility_bucket_of (1000), 1);
  ck_assert_uint_eq (dk_visibility_bucket_of (15000), 10);
  ck_assert_int_eq (dk_visibility_bucket_start_us (10), 10000);
  ck_assert_int_eq (dk_visibility_bucket_start_us (dk_visibility_bucket_of (999999)), 900000);
  ck_assert_uint_eq (dk_visibility_bucket_of (G_GINT64_CONSTANT (3600000000)), 37);

  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 1000, "1:1");
  put (h, "k", 1000, 2000, "1:2");
  get (h, "k", 2500, 3000, "1:1", 1);      /* t 0.5 ms, misses the latest */
  get (h, "k", 2700, 3000, "1:2", 1);      /* t 0.7 ms, fresh */
  get (h, "k", 17000, 18000, "1:2", 1);    /* t 15 ms */
  get (h, "k", 15002000, 15003000, "1:2", 1); /* t 15 s */
  get (h, "j", 5000, 6000, "", 0);         /* no write: not on the curve */
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_visibility_to_csv (dk_metrics_visibility (m), csv);
  ck_assert_str_eq (csv->str, "t_ms,reads,stale\n0,2,1\n10,1,0\n10000,1,0\n");
}
END_TEST

START_TEST (timeseries_buckets_by_invoke_time_and_takes_runner_columns)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 100000, 102000, "1:1");
  get (h, "k", 200000, 201000, "", 0);       /* stale */
  failed (h, DK_OP_GET, "k", 2500000, 3500000, "timeout");
  DkCheckOptions options;
  dk_check_options_init (&options);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, &options);
  DkTimeseries *series = dk_metrics_timeseries (m);
  guint nodes_up = dk_timeseries_add_column (series, "nodes_up", DK_SERIES_SAMPLE);
  dk_timeseries_set (series, nodes_up, 0, 5);
  dk_timeseries_set (series, nodes_up, 3200000, 4);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_timeseries_to_csv (series, csv);
  ck_assert_str_eq (csv->str,
                    "t_s,invoked,ok,failed,gets,puts,stale_reads,latency_p50_ms,"
                    "latency_p99_ms,nodes_up\n"
                    "0,2,2,0,1,1,1,1,2,5\n"
                    "1,0,0,0,0,0,0,,,\n"
                    "2,1,0,1,1,0,0,,,\n"
                    "3,0,0,0,0,0,0,,,4\n");
  guint column;
  ck_assert (dk_timeseries_find_column (series, "stale_reads", &column));
  ck_assert_uint_eq (column, 5);
}
END_TEST

START_TEST (timeseries_grows_both_ways_and_floors_negative_times)
{
  g_autoptr (DkTimeseries) series = dk_timeseries_new (1000, 500);
  guint count = dk_timeseries_add_column (series, "count", DK_SERIES_COUNT);
  dk_timeseries_add (series, count, 2000, 1.5);
  dk_timeseries_add (series, count, 999, 1);
  dk_timeseries_add (series, count, 2400, 1);
  ck_assert_int_eq (dk_timeseries_bucket_of (series, 999), -1);
  ck_assert_uint_eq (dk_timeseries_n_buckets (series), 4);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_timeseries_to_csv (series, csv);
  ck_assert_str_eq (csv->str, "t_s,count\n-0.0005,1\n0,0\n0.0005,0\n0.001,2.5\n");
}
END_TEST

/* ---- output -------------------------------------------------------------- */

START_TEST (metrics_json_names_every_metric_in_a_fixed_order)
{
  static const char *const required[] = {
    "availability", "stale_reads", "stale_read_count", "lost_writes",
    "acknowledged_writes", "conflicts", "divergent_keys", "ops", "ok_ops",
    "failed_ops", "get_availability", "put_availability", "latency_p50_ms",
    "latency_p99_ms", "latency_p999_ms", "get_latency_p50_ms",
    "get_latency_p99_ms", "get_latency_p999_ms", "put_latency_p50_ms",
    "put_latency_p99_ms", "put_latency_p999_ms" };
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 1500, "1:1");
  get (h, "k", 2000, 2250, "1:1", 1);
  failed (h, DK_OP_GET, "k", 3000, 4000, "say \"no\"");
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  hold (final, "k", 1, "1:1");
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    {
      double value;
      ck_assert_msg (dk_metric_name_valid (required[i]), "%s", required[i]);
      ck_assert_msg (dk_metrics_get (m, required[i], &value), "%s", required[i]);
    }
  ck_assert_uint_eq (dk_metric_count (), 28);
  g_autoptr (GString) json = g_string_new (NULL);
  dk_metrics_to_json (m, json);
  ck_assert_msg (g_str_has_prefix (json->str, "{\"availability\": 0.6666666666666666, "
                                   "\"stale_reads\": 0, "), "%s", json->str);
  ck_assert_ptr_nonnull (strstr (json->str, "\"put_latency_p50_ms\": 1.5, "));
  ck_assert_ptr_nonnull (strstr (json->str, "\"get_latency_p50_ms\": 0.25, "));
  ck_assert (g_str_has_suffix (json->str, "\"failure_reasons\": {\"say \\\"no\\\"\": 1}}"));
  g_autoptr (GString) again = g_string_new (NULL);
  g_autoptr (DkMetrics) m2 = dk_check_history (h, final, NULL);
  dk_metrics_to_json (m2, again);
  ck_assert_str_eq (json->str, again->str);
  g_autoptr (GString) summary = g_string_new (NULL);
  dk_metrics_summary (m, summary);
  ck_assert_ptr_nonnull (strstr (summary->str, "lost writes     0 of 1 acknowledged puts"));
}
END_TEST

/* ---- the history's CSV form --------------------------------------------- */

START_TEST (history_csv_round_trips_awkward_keys_and_every_outcome)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "plain", 0, 10, "1:1 2:3");
  get (h, "comma,key", 5, 20, "1:1 2:3|4:1|", 1);
  get (h, "quote\"d\nline", 6, 21, "", 0);
  failed (h, DK_OP_DELETE, "k", 7, 30, "unavailable: 1 of 2 replicas");
  dk_history_invoke (h, 9, 0, DK_OP_GET, "pending", 40);
  guint64 unknown = dk_history_invoke (h, 1, 1, DK_OP_PUT, "k", 50);
  dk_history_complete_write_ok (h, unknown, 60, NULL);
  put_full (h, DK_OP_DELETE, "k", 70, 80, "");
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_history_to_csv (h, csv);
  ck_assert (g_str_has_prefix (csv->str,
    "id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions\n"
    "0,1,1,put,plain,0,10,ok,,,\"{1:1, 2:3}\"\n"
    "1,2,1,get,\"comma,key\",5,20,ok,,1,\"{1:1, 2:3}|{4:1}|{}\"\n"
    "2,2,1,get,\"quote\"\"d\nline\",6,21,ok,,0,\n"
    "3,3,2,delete,k,7,30,failed,unavailable: 1 of 2 replicas,,\n"
    "4,9,0,get,pending,40,,pending,,,\n"));

  g_autoptr (GError) error = NULL;
  g_autoptr (DkHistory) back = dk_history_parse (csv->str, -1, "test", &error);
  ck_assert_msg (back != NULL, "%s", error != NULL ? error->message : "");
  ck_assert_uint_eq (dk_history_len (back), dk_history_len (h));
  const DkOp *quoted = dk_history_get (back, 2);
  ck_assert_str_eq (quoted->key, "quote\"d\nline");
  const DkOp *siblings = dk_history_get (back, 1);
  ck_assert_uint_eq (siblings->returned->len, 3);
  ck_assert_uint_eq (siblings->returned_values, 1);
  ck_assert_uint_eq (dk_vclock_get (g_ptr_array_index (siblings->returned, 0), 2), 3);
  ck_assert_ptr_null (dk_history_get (back, 5)->written);
  ck_assert_ptr_nonnull (dk_history_get (back, 6)->written);
  ck_assert_int_eq (dk_history_get (back, 4)->complete_us, -1);
  ck_assert_str_eq (dk_history_get (back, 3)->reason, "unavailable: 1 of 2 replicas");
  g_autoptr (GString) again = g_string_new (NULL);
  dk_history_to_csv (back, again);
  ck_assert_str_eq (csv->str, again->str);

  /* through a file, too */
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "dk-history-XXXXXX", NULL);
  int fd = g_mkstemp (path);
  ck_assert_int_ge (fd, 0);
  close (fd);
  ck_assert (dk_history_save (h, path, &error));
  g_autoptr (DkHistory) loaded = dk_history_load (path, &error);
  ck_assert_msg (loaded != NULL, "%s", error != NULL ? error->message : "");
  g_string_truncate (again, 0);
  dk_history_to_csv (loaded, again);
  ck_assert_str_eq (csv->str, again->str);
  g_unlink (path);
}
END_TEST

START_TEST (history_parse_rejects_malformed_rows_naming_the_line)
{
  static const struct { const char *row; const char *message; } cases[] = {
    { "0,1,1,put,k,0,10,ok,,,{1:x}", "test:2: expected a clock" },
    { "0,1,1,put,k,0,10,ok,,,\"{2:1, 1:1}\"", "test:2: invalid clock" },
    { "0,1,1,put,k,0,10,ok,,,{1:1}|{2:1}", "test:2: a put writes one version" },
    { "1,1,1,put,k,0,10,ok,,,", "test:2: expected operation id 0" },
    { "0,1,1,post,k,0,10,ok,,,", "test:2: unknown kind 'post'" },
    { "0,1,1,get,k,0,10,ok,,2,{1:1}", "test:2: expected an integer in column values" },
    { "0,1,1,get,k,0,,pending,,,{1:1}", "test:2: a pending operation" },
    { "0,1,1,get,k,0,10,ok,,", "test:2: expected 11 fields" },
    { "0,1,1,get,\"k\"x,0,10,ok,,,", "test:2: text after a closing quote" },
    { "0,1,1,get,\"k,0,10,ok,,,", "test:2: unterminated quoted field" },
    { "0,1,1,get,k,soon,10,ok,,,", "test:2: expected an integer in column invoke_us" },
  };
  const char *header =
    "id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions\n";
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat (header, cases[i].row, "\n", NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (DkHistory) h = dk_history_parse (text, -1, "test", &error);
      ck_assert_msg (h == NULL, "accepted %s", cases[i].row);
      ck_assert_msg (g_str_has_prefix (error->message, cases[i].message),
                     "%s: got '%s'", cases[i].row, error->message);
    }
  g_autoptr (GError) error = NULL;
  ck_assert_ptr_null (dk_history_parse ("id,kind\n", -1, "test", &error));
  ck_assert (g_str_has_prefix (error->message, "test:1: expected the header"));
  g_clear_error (&error);
  ck_assert_ptr_null (dk_history_parse ("", 0, "test", &error));
  g_autoptr (DkHistory) only_header = dk_history_parse (header, -1, "test", NULL);
  ck_assert_ptr_nonnull (only_header);
  ck_assert_uint_eq (dk_history_len (only_header), 0);
}
END_TEST

/* ---- properties: a correct sequential store, then one injected fault ---- */

typedef enum { INJECT_NOTHING, INJECT_STALE_READ, INJECT_LOST_WRITE,
               INJECT_DIVERGENCE } Injection;

enum { MODEL_KEYS = 6, MODEL_NODES = 5, MODEL_REPLICAS = 3 };

/* One key of the model store: its current version and the parent of the
 * latest acknowledged put (what a stale or lossy replica would still have). */
typedef struct
{
  DkVclock *current;          /* NULL until first written */
  gboolean  current_tombstone;
  gboolean  acked_any;        /* some write acknowledged */
  gboolean  latest_acked_is_put;
  guint64   latest_acked_put; /* op id */
  gint64    latest_acked_put_us; /* when it was acknowledged */
  DkVclock *before_latest_acked_put; /* its parent; NULL when none */
} ModelKey;

typedef struct
{
  DkHistory    *history;
  DkFinalState *final;
  guint64       injected_op;   /* stale get or lost put */
  char         *injected_key;  /* divergent key */
  gboolean      injected;
} ModelRun;

static void
model_run_clear (ModelRun *run)
{
  dk_history_free (run->history);
  dk_final_state_free (run->final);
  g_free (run->injected_key);
}

static void
model_record_get (ModelRun *run, guint64 id, gint64 complete_us, const ModelKey *key,
                  gboolean stale)
{
  const DkVclock *clock = stale ? key->before_latest_acked_put : key->current;
  gboolean value = stale ? clock != NULL : clock != NULL && !key->current_tombstone;
  dk_history_complete_read_ok (run->history, id, complete_us, &clock,
                               clock != NULL ? 1 : 0, value ? 1 : 0);
}

static guint64
model_digest (const DkVclock *clock, gboolean tombstone)
{
  g_autofree char *text = dk_vclock_to_string (clock);
  return dk_hash64_seeded (text, strlen (text), tombstone);
}

/* The final state of the model: every replica holds the current version;
 * INJECT_LOST_WRITE rolls one key back past its latest acknowledged put,
 * INJECT_DIVERGENCE rolls back one replica of one key. */
static void
model_final_state (ModelRun *run, ModelKey *keys, DkRng *rng, Injection inject)
{
  guint target = (guint) dk_rng_below (rng, MODEL_KEYS);
  for (guint k = 0; k < MODEL_KEYS; k++)
    {
      guint pick = (target + k) % MODEL_KEYS;
      if (!run->injected && inject == INJECT_LOST_WRITE && keys[pick].acked_any
          && keys[pick].latest_acked_is_put)
        {
          target = pick;
          run->injected = TRUE;
          run->injected_op = keys[pick].latest_acked_put;
        }
    }
  for (guint k = 0; k < MODEL_KEYS; k++)
    {
      g_autofree char *name = g_strdup_printf ("key%u", k);
      DkNodeId replicas[MODEL_REPLICAS];
      for (guint r = 0; r < MODEL_REPLICAS; r++)
        replicas[r] = 1 + (k + r) % MODEL_NODES;
      dk_final_state_set_replicas (run->final, name, replicas, MODEL_REPLICAS);
      for (guint r = 0; r < MODEL_REPLICAS; r++)
        {
          const DkVclock *clock = keys[k].current;
          gboolean tombstone = keys[k].current_tombstone;
          gboolean roll_back = (run->injected && inject == INJECT_LOST_WRITE && k == target)
            || (inject == INJECT_DIVERGENCE && k == target && r == 1
                && keys[k].current != NULL && !keys[k].current_tombstone);
          if (roll_back)
            {
              clock = keys[k].before_latest_acked_put;
              tombstone = FALSE;
              if (inject == INJECT_DIVERGENCE)
                {
                  run->injected = TRUE;
                  run->injected_key = g_strdup (name);
                  clock = NULL; /* the replica lost the key */
                }
            }
          if (clock != NULL)
            dk_final_state_add (run->final, name, replicas[r], &clock, 1,
                                tombstone ? 0 : 1, model_digest (clock, tombstone));
        }
    }
}

/* A random run of a correct store where one operation completes before the
 * next starts and every read returns the current version; some writes
 * fail (half of them having applied anyway), the last few stay pending. */
static void
model_run (ModelRun *run, guint64 seed, Injection inject)
{
  DkRng rng;
  dk_rng_init (&rng, seed, 0);
  run->history = dk_history_new ();
  run->final = dk_final_state_new ();
  ModelKey keys[MODEL_KEYS] = { { 0 } };
  int n_ops = 20 + (int) dk_rng_below (&rng, 200);
  guint64 stale_after = dk_rng_below (&rng, (guint64) n_ops);
  gint64 now = (gint64) dk_rng_below (&rng, 1000);
  for (int i = 0; i < n_ops; i++)
    {
      guint k = (guint) dk_rng_below (&rng, MODEL_KEYS);
      ModelKey *key = &keys[k];
      g_autofree char *name = g_strdup_printf ("key%u", k);
      DkNodeId coordinator = 1 + (DkNodeId) dk_rng_below (&rng, MODEL_NODES);
      double choice = dk_rng_double (&rng);
      DkOpKind kind = choice < 0.5 ? DK_OP_GET : choice < 0.9 ? DK_OP_PUT : DK_OP_DELETE;
      gint64 complete = now + 1 + (gint64) dk_rng_below (&rng, 5000);
      guint64 id = dk_history_invoke (run->history, (guint32) dk_rng_below (&rng, 4),
                                      coordinator, kind, name, now);
      if (i >= n_ops - 3)
        continue; /* pending at the end: never completes, never applies */
      gboolean fails = dk_rng_below (&rng, 10) == 0;
      if (kind == DK_OP_GET && fails)
        dk_history_complete_failed (run->history, id, complete, "timeout");
      else if (kind == DK_OP_GET)
        {
          gboolean stale = inject == INJECT_STALE_READ && !run->injected
            && (guint64) i >= stale_after && key->acked_any && key->latest_acked_is_put
            && key->latest_acked_put_us < now;
          model_record_get (run, id, complete, key, stale);
          if (stale)
            {
              run->injected = TRUE;
              run->injected_op = id;
            }
        }
      else if (!fails || dk_rng_below (&rng, 2) == 0)
        {
          DkVclock *parent = key->current != NULL ? dk_vclock_copy (key->current) : NULL;
          if (key->current == NULL)
            key->current = dk_vclock_new ();
          dk_vclock_increment (key->current, coordinator, now);
          key->current_tombstone = kind == DK_OP_DELETE;
          if (fails)
            dk_history_complete_failed (run->history, id, complete, "timeout");
          else
            {
              dk_history_complete_write_ok (run->history, id, complete, key->current);
              key->acked_any = TRUE;
              key->latest_acked_is_put = kind == DK_OP_PUT;
            }
          if (!fails && kind == DK_OP_PUT)
            {
              key->latest_acked_put = id;
              key->latest_acked_put_us = complete;
              g_clear_pointer (&key->before_latest_acked_put, dk_vclock_free);
              key->before_latest_acked_put = g_steal_pointer (&parent);
            }
          g_clear_pointer (&parent, dk_vclock_free);
        }
      else
        dk_history_complete_failed (run->history, id, complete, "unavailable");
      now = complete + (gint64) dk_rng_below (&rng, 3);
    }
  model_final_state (run, keys, &rng, inject);
  for (guint k = 0; k < MODEL_KEYS; k++)
    {
      g_clear_pointer (&keys[k].current, dk_vclock_free);
      g_clear_pointer (&keys[k].before_latest_acked_put, dk_vclock_free);
    }
}

START_TEST (property_correct_store_has_no_violations)
{
  int iterations = dk_test_iterations (300);
  for (int seed = 1; seed <= iterations; seed++)
    {
      ModelRun run = { 0 };
      model_run (&run, (guint64) seed, INJECT_NOTHING);
      g_autoptr (DkMetrics) m = dk_check_history (run.history, run.final, NULL);
      ck_assert_msg (metric (m, "stale_read_count") == 0, "seed %d", seed);
      ck_assert_msg (metric (m, "lost_writes") == 0, "seed %d", seed);
      ck_assert_msg (metric (m, "divergent_keys") == 0, "seed %d", seed);
      ck_assert_msg (metric (m, "conflicts") == 0, "seed %d", seed);
      ck_assert_msg (metric (m, "pending_ops") == 3, "seed %d", seed);
      /* a correct store's reads all see the latest write: no stale point */
      for (guint b = 0; b < dk_visibility_n_buckets (); b++)
        {
          guint64 stale;
          dk_visibility_counts (dk_metrics_visibility (m), b, NULL, &stale);
          ck_assert_msg (stale == 0, "seed %d bucket %u", seed, b);
        }
      model_run_clear (&run);
    }
}
END_TEST

START_TEST (property_one_injected_violation_is_found_exactly_once)
{
  int iterations = dk_test_iterations (300);
  int found[3] = { 0, 0, 0 };
  for (int seed = 1; seed <= iterations; seed++)
    for (Injection inject = INJECT_STALE_READ; inject <= INJECT_DIVERGENCE; inject++)
      {
        ModelRun run = { 0 };
        model_run (&run, (guint64) seed, inject);
        g_autoptr (DkMetrics) m = dk_check_history (run.history, run.final, NULL);
        guint n_stale, n_lost, n_divergent;
        const guint64 *stale = dk_metrics_stale_reads (m, &n_stale);
        const guint64 *lost = dk_metrics_lost_writes (m, &n_lost);
        const char *const *divergent = dk_metrics_divergent_keys (m, &n_divergent);
        guint expected[3] = { 0, 0, 0 };
        expected[inject - INJECT_STALE_READ] = run.injected ? 1 : 0;
        ck_assert_msg (n_stale == expected[0], "seed %d inject %d: %u stale", seed,
                       inject, n_stale);
        ck_assert_msg (n_lost == expected[1], "seed %d inject %d: %u lost", seed,
                       inject, n_lost);
        ck_assert_msg (n_divergent == expected[2], "seed %d inject %d: %u divergent",
                       seed, inject, n_divergent);
        if (run.injected && inject == INJECT_STALE_READ)
          ck_assert_uint_eq (stale[0], run.injected_op);
        if (run.injected && inject == INJECT_LOST_WRITE)
          ck_assert_uint_eq (lost[0], run.injected_op);
        if (run.injected && inject == INJECT_DIVERGENCE)
          ck_assert_str_eq (divergent[0], run.injected_key);
        found[inject - INJECT_STALE_READ] += run.injected;
        model_run_clear (&run);
      }
  /* the injections really happened in most runs */
  for (int i = 0; i < 3; i++)
    ck_assert_msg (found[i] * 2 > iterations, "injection %d only %d times", i, found[i]);
}
END_TEST

START_TEST (property_history_csv_round_trips)
{
  int iterations = dk_test_iterations (100);
  for (int seed = 1; seed <= iterations; seed++)
    {
      ModelRun run = { 0 };
      model_run (&run, (guint64) seed, INJECT_STALE_READ);
      g_autoptr (GString) csv = g_string_new (NULL);
      dk_history_to_csv (run.history, csv);
      g_autoptr (GError) error = NULL;
      g_autoptr (DkHistory) back = dk_history_parse (csv->str, (gssize) csv->len, "model", &error);
      ck_assert_msg (back != NULL, "seed %d: %s", seed, error->message);
      g_autoptr (GString) again = g_string_new (NULL);
      dk_history_to_csv (back, again);
      ck_assert_str_eq (csv->str, again->str);
      g_autoptr (DkMetrics) original = dk_check_history (run.history, run.final, NULL);
      g_autoptr (DkMetrics) reloaded = dk_check_history (back, run.final, NULL);
      g_autoptr (GString) json1 = g_string_new (NULL);
      g_autoptr (GString) json2 = g_string_new (NULL);
      dk_metrics_to_json (original, json1);
      dk_metrics_to_json (reloaded, json2);
      ck_assert_str_eq (json1->str, json2->str);
      model_run_clear (&run);
    }
}
END_TEST

Suite *
checkers_suite (void)
{
  Suite *suite = suite_create ("checkers");
  TCase *stale = tcase_create ("stale_reads");
  tcase_add_test (stale, stale_read_of_older_version_after_ack_is_stale);
  tcase_add_test (stale, stale_read_concurrent_with_write_is_not_stale);
  tcase_add_test (stale, stale_read_returning_a_descendant_among_siblings_is_not_stale);
  tcase_add_test (stale, stale_read_returning_nothing_after_acked_put_is_stale);
  tcase_add_test (stale, stale_read_after_delete_needs_tombstone_or_nothing);
  tcase_add_test (stale, stale_read_missing_one_of_two_concurrent_writes_is_stale);
  tcase_add_test (stale, stale_read_needs_an_acknowledged_write);
  suite_add_tcase (suite, stale);

  TCase *final = tcase_create ("final_state");
  tcase_add_test (final, lost_write_missing_everywhere_is_lost_but_a_descendant_saves_it);
  tcase_add_test (final, under_replicated_writes_count_missing_replica_copies);
  tcase_add_test (final, lost_writes_and_divergence_are_unknown_without_final_state);
  tcase_add_test (final, divergent_keys_compare_preference_list_replicas);
  tcase_add_test (final, final_state_add_replaces_and_sorts_holdings);
  suite_add_tcase (suite, final);

  TCase *counts = tcase_create ("counts");
  tcase_add_test (counts, conflicts_count_gets_with_several_value_siblings);
  tcase_add_test (counts, availability_counts_pending_as_not_ok_and_tallies_reasons);
  tcase_add_test (counts, latency_percentiles_use_nearest_rank);
  tcase_add_test (counts, visibility_buckets_time_since_latest_acked_write);
  tcase_add_test (counts, timeseries_buckets_by_invoke_time_and_takes_runner_columns);
  tcase_add_test (counts, timeseries_grows_both_ways_and_floors_negative_times);
  tcase_add_test (counts, metrics_json_names_every_metric_in_a_fixed_order);
  suite_add_tcase (suite, counts);

  TCase *csv = tcase_create ("history_csv");
  tcase_add_test (csv, history_csv_round_trips_awkward_keys_and_every_outcome);
  tcase_add_test (csv, history_parse_rejects_malformed_rows_naming_the_line);
  suite_add_tcase (suite, csv);

  TCase *properties = tcase_create ("properties");
  tcase_set_timeout (properties, 60);
  tcase_add_test (properties, property_correct_store_has_no_violations);
  tcase_add_test (properties, property_one_injected_violation_is_found_exactly_once);
  tcase_add_test (properties, property_history_csv_round_trips);
  suite_add_tcase (suite, properties);
  return suite;
}
