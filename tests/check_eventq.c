/* check_eventq.c — the event queue runs events in (time, scheduling) order
 * and honours cancellation. */
#include "suites.h"
#include "eventq.h"

typedef struct
{
  GArray *ran;       /* of guint: the tags in the order they ran */
} Log;

typedef struct
{
  Log *log;
  guint tag;
  gint64 at_us;
  DkEventQueue *queue;
} Probe;

static void
record (gpointer data)
{
  Probe *probe = data;
  ck_assert_int_eq (dk_eventq_now (probe->queue), probe->at_us);
  g_array_append_val (probe->log->ran, probe->tag);
}

static gint
compare_probe (gconstpointer a, gconstpointer b)
{
  const Probe *x = a, *y = b;
  if (x->at_us != y->at_us)
    return x->at_us < y->at_us ? -1 : 1;
  return x->tag < y->tag ? -1 : x->tag > y->tag;
}

/* Random times with many ties and random cancellations: the run order is
 * the stable sort of the survivors by time, and the clock shows each
 * event's own time while it runs. */
START_TEST (eventq_runs_in_time_then_schedule_order)
{
  int rounds = dk_test_iterations (200);
  for (int seed = 0; seed < rounds; seed++)
    {
      GRand *rand = g_rand_new_with_seed ((guint32) seed);
      g_autoptr (DkEventQueue) queue = dk_eventq_new ();
      Log log = { g_array_new (FALSE, FALSE, sizeof (guint)) };
      guint n = 1 + g_rand_int_range (rand, 0, 300);
      Probe *probes = g_new0 (Probe, n);
      DkEventId *ids = g_new0 (DkEventId, n);
      gboolean *cancelled = g_new0 (gboolean, n);
      for (guint i = 0; i < n; i++)
        {
          probes[i] = (Probe) { &log, i, g_rand_int_range (rand, 0, 50), queue };
          ids[i] = dk_eventq_schedule_at (queue, probes[i].at_us, record, &probes[i]);
        }
      for (guint i = 0; i < n; i++)
        if (g_rand_int_range (rand, 0, 4) == 0)
          {
            dk_eventq_cancel (queue, ids[i]);
            cancelled[i] = TRUE;
          }
      GArray *expected = g_array_new (FALSE, FALSE, sizeof (Probe));
      for (guint i = 0; i < n; i++)
        if (!cancelled[i])
          g_array_append_val (expected, probes[i]);
      g_array_sort (expected, compare_probe);
      ck_assert_uint_eq (dk_eventq_pending (queue), expected->len);

      ck_assert_uint_eq (dk_eventq_run_until (queue, 1000), expected->len);
      ck_assert_uint_eq (log.ran->len, expected->len);
      for (guint i = 0; i < expected->len; i++)
        ck_assert_uint_eq (g_array_index (log.ran, guint, i),
                           g_array_index (expected, Probe, i).tag);
      ck_assert_int_eq (dk_eventq_now (queue), 1000);
      ck_assert_uint_eq (dk_eventq_pending (queue), 0);

      g_array_free (expected, TRUE);
      g_array_free (log.ran, TRUE);
      g_free (probes);
      g_free (ids);
      g_free (cancelled);
      g_rand_free (rand);
    }
}
END_TEST

typedef struct
{
  DkEventQueue *queue;
  int remaining;
  GArray *times;
} Chain;

static void
reschedule (gpointer data)
{
  Chain *chain = data;
  gint64 now = dk_eventq_now (chain->queue);
  g_array_append_val (chain->times, now);
  if (--chain->remaining > 0)
    dk_eventq_schedule (chain->queue, 10, reschedule, chain);
}

/* Events scheduled from inside events run, but none past the horizon. */
START_TEST (eventq_stops_at_the_horizon_and_resumes)
{
  g_autoptr (DkEventQueue) queue = dk_eventq_new ();
  Chain chain = { queue, 10, g_array_new (FALSE, FALSE, sizeof (gint64)) };
  dk_eventq_schedule (queue, 5, reschedule, &chain);
  ck_assert_uint_eq (dk_eventq_run_until (queue, 40), 4);   /* 5 15 25 35 */
  ck_assert_int_eq (dk_eventq_now (queue), 40);
  ck_assert_uint_eq (dk_eventq_pending (queue), 1);
  ck_assert_uint_eq (dk_eventq_run_until (queue, 1000), 6);
  ck_assert_int_eq (g_array_index (chain.times, gint64, 9), 95);
  /* Scheduling in the past runs at "now", never earlier. */
  dk_eventq_schedule_at (queue, 3, reschedule, &chain);
  chain.remaining = 1;
  dk_eventq_run_until (queue, 2000);
  ck_assert_int_eq (g_array_index (chain.times, gint64, 10), 1000);
  g_array_free (chain.times, TRUE);
}
END_TEST

static void
count_destroy (gpointer data)
{
  (*(int *) data)++;
}

static void
count_run (gpointer data)
{
  (*(int *) data) += 100;
}

/* Data scheduled with a destroy function is destroyed exactly once when
 * the event is cancelled or the queue freed, never after it ran. */
START_TEST (eventq_destroys_data_of_events_that_never_run)
{
  int ran = 0, cancelled = 0, pending = 0;
  DkEventQueue *queue = dk_eventq_new ();
  dk_eventq_schedule_full (queue, 10, count_run, &ran, count_destroy);
  DkEventId doomed = dk_eventq_schedule_full (queue, 20, count_run, &cancelled, count_destroy);
  dk_eventq_schedule_full (queue, 1000, count_run, &pending, count_destroy);
  dk_eventq_cancel (queue, doomed);
  dk_eventq_cancel (queue, doomed);   /* a second cancel is ignored */
  dk_eventq_run_until (queue, 100);
  ck_assert_int_eq (ran, 100);
  ck_assert_int_eq (cancelled, 1);
  ck_assert_int_eq (pending, 0);
  dk_eventq_free (queue);
  ck_assert_int_eq (pending, 1);
}
END_TEST

static void
ignore (gpointer data)
{
}

/* A waiting event is found by its id with what it will run; once it ran
 * or was cancelled its id finds nothing, even after its slot is reused. */
START_TEST (eventq_lookup_finds_only_waiting_events)
{
  g_autoptr (DkEventQueue) queue = dk_eventq_new ();
  int marks[3];
  DkEventId first = dk_eventq_schedule (queue, 10, ignore, &marks[0]);
  DkEventId second = dk_eventq_schedule (queue, 20, ignore, &marks[1]);
  DkEventFunc func = NULL;
  gpointer data = NULL;
  ck_assert (dk_eventq_lookup (queue, first, &func, &data));
  ck_assert (func == ignore && data == &marks[0]);
  ck_assert (dk_eventq_lookup (queue, second, NULL, &data) && data == &marks[1]);
  dk_eventq_cancel (queue, second);
  ck_assert (!dk_eventq_lookup (queue, second, NULL, NULL));
  DkEventId reused = dk_eventq_schedule (queue, 30, ignore, &marks[2]);  /* second's slot */
  ck_assert (!dk_eventq_lookup (queue, second, NULL, NULL));
  ck_assert (dk_eventq_lookup (queue, reused, NULL, &data) && data == &marks[2]);
  dk_eventq_run_until (queue, 15);
  ck_assert (!dk_eventq_lookup (queue, first, NULL, NULL));
  ck_assert (!dk_eventq_lookup (queue, 0, NULL, NULL));
  ck_assert (!dk_eventq_lookup (queue, G_MAXUINT64, NULL, NULL));
}
END_TEST

Suite *
eventq_suite (void)
{
  Suite *suite = suite_create ("eventq");
  TCase *tc = tcase_create ("eventq");
  tcase_add_test (tc, eventq_runs_in_time_then_schedule_order);
  tcase_add_test (tc, eventq_stops_at_the_horizon_and_resumes);
  tcase_add_test (tc, eventq_destroys_data_of_events_that_never_run);
  tcase_add_test (tc, eventq_lookup_finds_only_waiting_events);
  suite_add_tcase (suite, tc);
  return suite;
}
