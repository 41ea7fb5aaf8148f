/* check_report.c — the run report (report.h), the gnuplot plots
 * (plots.h) and the message trace behind the report (trace.h): a short
 * simulated run with a partition and a crash, traced for one key, gives a
 * page whose charts shade exactly the logged faults, whose quorum trace
 * lists exactly the traced key's requests in the window, and which says
 * when the trace was capped; the plots shade the same intervals, and
 * none for a run without faults; the trace keeps only what concerns its
 * key, in its window; and the page is a pure function of the run. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include "suites.h"
#include "plots.h"
#include "report.h"
#include "runner.h"
#include "scenario.h"
#include "trace.h"

static const char report_script[] =
  "seed 5\n"
  "cluster nodes=5 n=3 r=2 w=2\n"
  "option request_timeout=300ms sloppy_quorum=off\n"   /* the minority fails: a failed row */
  "workload clients=6 rate=300/s keys=40 reads=0.5 value=64\n"
  "at 2s partition {n1 n2} {n3 n4 n5}\n"
  "at 3s crash n4\n"
  "at 4s heal\n"
  "at 4.5s restart n4\n"
  "run 6s settle 2s\n";

#define TRACED_KEY "k3"
#define WINDOW_FROM_US 1500000
#define WINDOW_TO_US 3500000

typedef struct
{
  DkRunResult *result;
  DkSimTrace  *trace;
  char        *faults_log;
} TracedRun;

/* Run SCRIPT with TRACE (may be NULL; taken) and the fault log in
 * memory. */
static TracedRun
logged_run (const char *script, DkSimTrace *trace)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (script, "report.scn", &error);
  g_assert_no_error (error);
  TracedRun run = { .trace = trace };
  FILE *log = tmpfile ();
  ck_assert_ptr_nonnull (log);
  DkRunOptions options = { .fault_log = log, .trace = run.trace };
  run.result = dk_run_scenario (scenario, &options, &error);
  g_assert_no_error (error);
  long size = ftell (log);
  run.faults_log = g_malloc0 ((gsize) size + 1);
  rewind (log);
  ck_assert_uint_eq (fread (run.faults_log, 1, (size_t) size, log), (size_t) size);
  fclose (log);
  return run;
}

/* Run report_script with a trace of KEY in the window, keeping at most
 * LIMIT datagrams, and the fault log in memory. */
static TracedRun
traced_run (const char *key, guint limit)
{
  return logged_run (report_script, dk_sim_trace_new (key, WINDOW_FROM_US, WINDOW_TO_US, limit));
}

static void
traced_run_clear (TracedRun *run)
{
  dk_run_result_free (run->result);
  dk_sim_trace_free (run->trace);
  g_free (run->faults_log);
}

static char *
build (const TracedRun *run)
{
  GString *page = g_string_new (NULL);
  dk_report_build (run->result, run->faults_log, run->trace, page);
  return g_string_free (page, FALSE);
}

static guint
occurrences (const char *text, const char *needle)
{
  guint n = 0;
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

START_TEST (report_shades_the_logged_faults_on_every_time_chart)
{
  TracedRun run = traced_run (TRACED_KEY, DK_SIM_TRACE_DEFAULT_LIMIT);
  g_autofree char *page = build (&run);
  /* Seven charts over time, each with the partition and the crash. */
  ck_assert_uint_eq (occurrences (page, "<svg class=\"timechart\""), 7);
  ck_assert_uint_eq (occurrences (page, "<g class=\"fault fault-partition\"><title>2.000–4.000 s: "
                                        "partition {n1 n2} {n3 n4 n5}</title>"), 7);
  ck_assert_uint_eq (occurrences (page, "<g class=\"fault fault-crash\"><title>3.000–4.500 s: "
                                        "crash n4</title>"), 7);
  ck_assert_uint_eq (occurrences (page, ">crash n4..restart</text>"), 7);
  /* The end of the run restores the network: no latency or loss interval. */
  ck_assert_uint_eq (occurrences (page, "fault fault-net"), 0);
  ck_assert_ptr_nonnull (strstr (page, "from here: partition {n1 n2} {n3 n4 n5}"));
  /* Without a fault log nothing is shaded. */
  g_autoptr (GString) bare = g_string_new (NULL);
  dk_report_build (run.result, NULL, NULL, bare);
  ck_assert_ptr_null (strstr (bare->str, "class=\"fault "));
  ck_assert_ptr_nonnull (strstr (bare->str, "No trace was recorded"));
  traced_run_clear (&run);
}
END_TEST

/* A hand-written log: intervals close where the log says, a fault still
 * open at the end closes at the end of the run, and a change back to the
 * network's own setting is not an interval. */
START_TEST (report_turns_the_fault_log_into_intervals)
{
  TracedRun run = traced_run (TRACED_KEY, 10);
  static const char log[] =
    "1.000000 fault latency const(50ms)\n"
    "1.500000 fault latency exp(1ms)\n"
    "2.000000 fault crash n2\n"
    "2.500000 fault drop n1 -> n3\n"
    "2.500000 fault drop n1 -> n4\n"
    "3.000000 fault heal\n"
    "3.500000 fault join n6 (6 members)\n"
    "6.000000 run ends: every fault stops, the cluster settles for 2.000 s\n"
    "6.000000 fault heal\n"
    "6.000000 fault latency exp(1ms)\n";
  g_autoptr (GString) page = g_string_new (NULL);
  dk_report_build (run.result, log, NULL, page);
  ck_assert_ptr_nonnull (strstr (page->str, "<title>1.000–1.500 s: latency const(50ms)</title>"));
  ck_assert_ptr_nonnull (strstr (page->str, "<title>2.000–6.000 s: crash n2</title>"));
  ck_assert_ptr_nonnull (strstr (page->str, "<title>2.500–3.000 s: drop n1 -&gt; n3; drop n1 -&gt; n4"
                                            "</title>"));
  ck_assert_ptr_nonnull (strstr (page->str, "<title>3.500 s: join n6 (6 members)</title>"));
  ck_assert_ptr_null (strstr (page->str, "s: latency exp(1ms)</title>"));
  traced_run_clear (&run);
}
END_TEST

/* The gnuplot script shades the intervals the report does, one rectangle
 * each, labelled; a run without faults (whose log still has the end of
 * the run restoring the network) gets none.  With gnuplot installed, the
 * script renders from the run's directory. */
START_TEST (plots_shade_one_rectangle_per_fault_interval)
{
  TracedRun run = traced_run (TRACED_KEY, 10);
  g_autoptr (GString) script = g_string_new (NULL);
  dk_plots_build ("report.scn, seed 5", run.faults_log, 6, 2, script);
  ck_assert_uint_eq (occurrences (script->str, "set object rect "), 2);
  ck_assert_ptr_nonnull (strstr (script->str, "set object rect from 2, graph 0 to 4, graph 1 "
                                              "fillcolor rgb '#ff9f1c' fillstyle transparent solid "
                                              "0.15 noborder"));
  ck_assert_ptr_nonnull (strstr (script->str, "set object rect from 3, graph 0 to 4.5, graph 1 "
                                              "fillcolor rgb '#d62728'"));
  ck_assert_ptr_nonnull (strstr (script->str, "set label 'partition {n1 n2} {n3 n4 n5}' at 2, "));
  ck_assert_ptr_nonnull (strstr (script->str, "set label 'crash n4..restart' at 3, "));
  ck_assert_ptr_nonnull (strstr (script->str, "set xrange [0:8]\n"));
  /* The start of the settle is a moment: a dashed line, no rectangle. */
  ck_assert_uint_eq (occurrences (script->str, "set arrow from 6, graph 0 to 6, graph 1 nohead"), 1);

  TracedRun quiet = logged_run ("seed 5\n"
                                "cluster nodes=3 n=3 r=2 w=2\n"
                                "network latency=exp(1ms) loss=0.01\n"
                                "workload clients=2 rate=100/s keys=10\n"
                                "run 2s settle 1s\n", NULL);
  ck_assert_ptr_nonnull (strstr (quiet.faults_log, "run ends"));
  g_string_truncate (script, 0);
  dk_plots_build ("quiet.scn, seed 5", quiet.faults_log, 2, 1, script);
  ck_assert_uint_eq (occurrences (script->str, "set object rect "), 0);
  ck_assert_uint_eq (occurrences (script->str, "set label "), 1);   /* "settle" */
  g_string_truncate (script, 0);
  dk_plots_build ("quiet.scn, seed 5", NULL, 2, 1, script);
  ck_assert_uint_eq (occurrences (script->str, "set object rect "), 0);
  ck_assert_uint_eq (occurrences (script->str, "set arrow "), 0);
  ck_assert_uint_eq (occurrences (script->str, "set label "), 0);
  traced_run_clear (&quiet);

  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dk-plots-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *log_path = g_build_filename (dir, "faults.log", NULL);
  ck_assert (g_file_set_contents (log_path, run.faults_log, -1, NULL));
  ck_assert (dk_run_write_outputs (run.result, dir, &error));
  g_assert_no_error (error);
  g_autofree char *written = NULL;
  g_autofree char *plots_path = g_build_filename (dir, "plots.gp", NULL);
  ck_assert (g_file_get_contents (plots_path, &written, NULL, NULL));
  ck_assert_uint_eq (occurrences (written, "set object rect "), 2);
  g_autofree char *gnuplot = g_find_program_in_path ("gnuplot");
  g_autofree char *png = g_build_filename (dir, "timeseries.png", NULL);
  ck_assert (g_file_test (png, G_FILE_TEST_EXISTS) == (gnuplot != NULL));
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
  traced_run_clear (&run);
}
END_TEST

START_TEST (trace_keeps_only_the_key_in_its_window)
{
  TracedRun run = traced_run (TRACED_KEY, DK_SIM_TRACE_DEFAULT_LIMIT);
  guint n;
  const DkTraceRecord *records = dk_sim_trace_records (run.trace, &n);
  ck_assert_uint_gt (n, 20);
  ck_assert_uint_eq (dk_sim_trace_left_out (run.trace), 0);
  guint cut = 0, replies = 0;
  for (guint i = 0; i < n; i++)
    {
      const DkTraceRecord *record = &records[i];
      ck_assert_int_ge (record->send_us, WINDOW_FROM_US);
      ck_assert_int_lt (record->send_us, WINDOW_TO_US);
      ck_assert_int_ge (record->arrive_us, record->send_us);
      if (i > 0)
        ck_assert_int_ge (record->send_us, records[i - 1].send_us);
      if (record->type == DK_WIRE_CLIENT_REPLY)
        {
          /* A reply names no key: it is kept for a request on the key. */
          ck_assert_ptr_null (record->key);
          const DkOp *op = dk_history_get (run.result->history,
                                           dk_trace_operation_of (record->client_request_id));
          ck_assert_str_eq (op->key, TRACED_KEY);
          replies++;
        }
      else
        ck_assert_str_eq (record->key, TRACED_KEY);
      cut += record->fate == DK_TRACE_CUT || record->fate == DK_TRACE_TO_CRASHED;
      ck_assert (record->fate != DK_TRACE_IN_FLIGHT);   /* the run settled long after */
    }
  ck_assert_uint_gt (replies, 0);
  ck_assert_uint_gt (cut, 0);   /* the partition and the crash cut some */
  traced_run_clear (&run);
}
END_TEST

START_TEST (report_quorum_trace_lists_the_traced_keys_requests)
{
  TracedRun run = traced_run (TRACED_KEY, DK_SIM_TRACE_DEFAULT_LIMIT);
  g_autofree char *page = build (&run);
  const char *table = strstr (page, "<table id=\"quorum-table\">");
  ck_assert_ptr_nonnull (table);
  const char *table_end = strstr (table, "</table>");
  g_autofree char *rows = g_strndup (table, table_end - table);
  guint expected = 0;
  for (guint64 id = 0; id < dk_history_len (run.result->history); id++)
    {
      const DkOp *op = dk_history_get (run.result->history, id);
      g_autofree char *cell = g_strdup_printf ("<b>%" G_GUINT64_FORMAT "</b> %s %s<br>", id,
                                               dk_op_kind_name (op->kind), op->key);
      gboolean in_window = op->invoke_us >= WINDOW_FROM_US && op->invoke_us < WINDOW_TO_US;
      if (strcmp (op->key, TRACED_KEY) == 0 && in_window)
        {
          ck_assert_msg (strstr (rows, cell) != NULL, "operation %" G_GUINT64_FORMAT " missing", id);
          expected++;
        }
      else
        ck_assert_msg (strstr (rows, cell) == NULL, "operation %" G_GUINT64_FORMAT " listed", id);
    }
  ck_assert_uint_gt (expected, 3);
  ck_assert_uint_eq (occurrences (rows, "<tr data-ok="), expected);
  /* A request that failed during the partition shows what went wrong. */
  ck_assert_ptr_nonnull (strstr (rows, "class=\"failed\""));
  ck_assert_ptr_nonnull (strstr (rows, "(cut)"));
  ck_assert_ptr_nonnull (strstr (page, "<svg class=\"seq\""));
  ck_assert_ptr_null (strstr (page, "class=\"capped\">The trace was capped"));
  traced_run_clear (&run);
}
END_TEST

START_TEST (trace_limit_caps_the_record_and_the_report_says_so)
{
  TracedRun run = traced_run (TRACED_KEY, 5);
  guint n;
  dk_sim_trace_records (run.trace, &n);
  ck_assert_uint_eq (n, 5);
  ck_assert_uint_gt (dk_sim_trace_left_out (run.trace), 0);
  g_autofree char *page = build (&run);
  g_autofree char *said = g_strdup_printf ("The trace was capped at 5 datagrams (--trace-limit): %"
                                           G_GUINT64_FORMAT " more matched",
                                           dk_sim_trace_left_out (run.trace));
  ck_assert_ptr_nonnull (strstr (page, said));
  /* Requests the limit cut off are listed, as not recorded. */
  ck_assert_ptr_nonnull (strstr (page, "not recorded (outside the window or over the limit)"));
  traced_run_clear (&run);
}
END_TEST

START_TEST (report_is_a_pure_function_of_the_run)
{
  TracedRun first = traced_run (TRACED_KEY, DK_SIM_TRACE_DEFAULT_LIMIT);
  TracedRun second = traced_run (TRACED_KEY, DK_SIM_TRACE_DEFAULT_LIMIT);
  g_autofree char *a = build (&first);
  g_autofree char *b = build (&second);
  ck_assert_str_eq (a, b);
  /* A whole-window trace (no key) sees the other traffic too. */
  TracedRun all = traced_run (NULL, 100000);
  guint n_key, n_all;
  dk_sim_trace_records (first.trace, &n_key);
  dk_sim_trace_records (all.trace, &n_all);
  ck_assert_uint_gt (n_all, n_key);
  traced_run_clear (&first);
  traced_run_clear (&second);
  traced_run_clear (&all);
}
END_TEST

START_TEST (report_versions_section_names_the_key_and_its_writes)
{
  TracedRun run = traced_run (TRACED_KEY, DK_SIM_TRACE_DEFAULT_LIMIT);
  g_autofree char *page = build (&run);
  const char *section = strstr (page, "<section id=\"versions\">");
  ck_assert_ptr_nonnull (section);
  ck_assert_ptr_nonnull (strstr (section, "Key <code>" TRACED_KEY "</code> (the traced key)"));
  ck_assert_ptr_nonnull (strstr (section, "<svg class=\"dag\""));
  /* Every acknowledged write of the key from the window's start on is a
   * node of the graph, with its dot. */
  for (guint64 id = 0; id < dk_history_len (run.result->history); id++)
    {
      const DkOp *op = dk_history_get (run.result->history, id);
      if (op->kind == DK_OP_GET || strcmp (op->key, TRACED_KEY) != 0 || !op->has_dot
          || op->invoke_us < WINDOW_FROM_US)
        continue;
      char dot[DK_DOT_STRING_SIZE];
      g_autofree char *title = g_strdup_printf ("<title>operation %" G_GUINT64_FORMAT " %s at", id,
                                                dk_op_kind_name (op->kind));
      g_autofree char *dot_line = g_strdup_printf ("dot %s\n", dk_dot_format (op->dot, dot));
      const char *node = strstr (section, title);
      ck_assert_msg (node != NULL, "write %" G_GUINT64_FORMAT " missing", id);
      ck_assert_ptr_nonnull (strstr (node, dot_line));
    }
  traced_run_clear (&run);
}
END_TEST

Suite *
report_suite (void)
{
  Suite *suite = suite_create ("report");
  TCase *tc = tcase_create ("report");
  dk_tcase_no_wall_limit (tc);
  tcase_add_test (tc, report_shades_the_logged_faults_on_every_time_chart);
  tcase_add_test (tc, report_turns_the_fault_log_into_intervals);
  tcase_add_test (tc, plots_shade_one_rectangle_per_fault_interval);
  tcase_add_test (tc, trace_keeps_only_the_key_in_its_window);
  tcase_add_test (tc, report_quorum_trace_lists_the_traced_keys_requests);
  tcase_add_test (tc, trace_limit_caps_the_record_and_the_report_says_so);
  tcase_add_test (tc, report_is_a_pure_function_of_the_run);
  tcase_add_test (tc, report_versions_section_names_the_key_and_its_writes);
  suite_add_tcase (suite, tc);
  return suite;
}
