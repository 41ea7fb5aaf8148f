/* check_nemesis.c — random fault campaigns: the `nemesis` statement reads
 * into the spec it says (defaults and every option), every mistake is
 * refused with FILE:LINE, and the plan a seed draws keeps its promises
 * over many seeds and specs (sorted, deterministic, a majority always up,
 * each fault undone by until, one network fault at a time) and reaches
 * faults.log through the runner. */
#include <stdio.h>
#include <string.h>
#include "suites.h"
#include "nemesis.h"
#include "runner.h"

static DkScenario *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  DkScenario *scenario = dk_scenario_parse (text, "t.scn", &error);
  ck_assert_msg (scenario != NULL, "unexpected error: %s", error != NULL ? error->message : "?");
  return scenario;
}

static char *
event_to_string (const DkEvent *event)
{
  GString *text = g_string_new (NULL);
  g_string_append_printf (text, "%" G_GINT64_FORMAT " %s", event->at_us,
                          dk_event_kind_name (event->kind));
  for (guint g = 0; g < event->groups->len; g++)
    {
      const DkGroup *group = g_ptr_array_index (event->groups, g);
      g_string_append (text, " {");
      for (guint m = 0; m < group->len; m++)
        g_string_append_printf (text, " n%u", g_array_index (group, DkGroupMember, m).number);
      g_string_append (text, " }");
    }
  if (event->kind == DK_EVENT_LOSS)
    g_string_append_printf (text, " %g", event->probability);
  if (event->kind == DK_EVENT_LATENCY)
    {
      g_autofree char *latency = dk_dist_to_string (&event->latency);
      g_string_append_printf (text, " %s", latency);
    }
  return g_string_free (text, FALSE);
}

static char *
plan_to_string (const DkScenario *scenario)
{
  g_autoptr (GPtrArray) plan = dk_nemesis_plan (scenario);
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < plan->len; i++)
    {
      g_autofree char *line = event_to_string (g_ptr_array_index (plan, i));
      g_string_append_printf (text, "%s\n", line);
    }
  return g_string_free (text, FALSE);
}

static guint
member (const DkEvent *event, guint group, guint i)
{
  const DkGroup *members = g_ptr_array_index (event->groups, group);
  ck_assert_uint_lt (i, members->len);
  return g_array_index (members, DkGroupMember, i).number;
}

/* ---- the statement ----------------------------------------------------------- */

START_TEST (nemesis_statement_alone_takes_the_documented_defaults)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster nodes=5\n\nnemesis\nrun 30s\n");
  ck_assert (s->nemesis.enabled);
  ck_assert_uint_eq (s->nemesis.line, 3);
  ck_assert_int_eq (s->nemesis.every_us, 5 * DK_US_PER_S);
  ck_assert_int_eq (s->nemesis.duration_us, 3 * DK_US_PER_S);
  ck_assert_uint_eq (s->nemesis.kinds, DK_NEMESIS_KIND_BIT (DK_NEMESIS_PARTITION)
                                         | DK_NEMESIS_KIND_BIT (DK_NEMESIS_CRASH)
                                         | DK_NEMESIS_KIND_BIT (DK_NEMESIS_LOSS));
  ck_assert_int_eq (s->nemesis.from_us, 0);
  ck_assert_int_eq (s->nemesis.until_us, 0);
  ck_assert_int_eq (dk_scenario_nemesis_until_us (s), 30 * DK_US_PER_S);
  /* Nothing drawn at parse time: the events are the script's only. */
  ck_assert_uint_eq (s->events->len, 0);

  g_autoptr (DkScenario) none = parse_ok ("cluster\nrun 1s\n");
  ck_assert (!none->nemesis.enabled);
  g_autoptr (GPtrArray) plan = dk_nemesis_plan (none);
  ck_assert_uint_eq (plan->len, 0);
}
END_TEST

START_TEST (nemesis_statement_reads_every_option)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster\nrun 1m\n"
                                       "nemesis every=500ms duration=2s kinds=wipe,drop,latency "
                                       "from=1.5s until=40s # late\n");
  ck_assert_uint_eq (s->nemesis.line, 3);
  ck_assert_int_eq (s->nemesis.every_us, 500000);
  ck_assert_int_eq (s->nemesis.duration_us, 2000000);
  ck_assert_uint_eq (s->nemesis.kinds, DK_NEMESIS_KIND_BIT (DK_NEMESIS_WIPE)
                                         | DK_NEMESIS_KIND_BIT (DK_NEMESIS_DROP)
                                         | DK_NEMESIS_KIND_BIT (DK_NEMESIS_LATENCY));
  ck_assert_int_eq (s->nemesis.from_us, 1500000);
  ck_assert_int_eq (s->nemesis.until_us, 40000000);
  ck_assert_int_eq (dk_scenario_nemesis_until_us (s), 40000000);

  /* Every kind by name, in any order. */
  g_autoptr (DkScenario) all = parse_ok ("cluster\nrun 1m\n"
                                         "nemesis kinds=latency,drop,loss,wipe,recrash,crash,partition\n");
  ck_assert_uint_eq (all->nemesis.kinds, (1u << DK_NEMESIS_N_KINDS) - 1);
  for (guint k = 0; k < DK_NEMESIS_N_KINDS; k++)
    ck_assert_ptr_nonnull (strstr ("partition crash wipe loss drop latency recrash",
                                   dk_nemesis_kind_name (k)));
}
END_TEST

START_TEST (nemesis_spec_text_parses_back_to_the_same_spec)
{
  const char *lines[] = {
    "nemesis",
    "nemesis every=250ms",
    "nemesis every=2s duration=1500ms kinds=crash from=3s until=9s",
    "nemesis kinds=partition,crash,wipe,loss,drop,latency duration=1us",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autofree char *script = g_strdup_printf ("cluster\nrun 10s\n%s\n", lines[i]);
      g_autoptr (DkScenario) s = parse_ok (script);
      g_autofree char *text = dk_nemesis_spec_to_string (&s->nemesis);
      g_autofree char *again_script = g_strdup_printf ("cluster\nrun 10s\n%s\n", text);
      g_autoptr (DkScenario) again = parse_ok (again_script);
      ck_assert_msg (memcmp (&s->nemesis, &again->nemesis, sizeof s->nemesis) == 0, "%s -> %s",
                     lines[i], text);
      /* The run header shows it; the copy keeps it. */
      g_autofree char *described = dk_scenario_describe (s);
      g_autofree char *tail = g_strdup_printf ("; %s", text);
      ck_assert_msg (g_str_has_suffix (described, tail), "%s", described);
      g_autoptr (DkScenario) copy = dk_scenario_copy (s);
      ck_assert (memcmp (&copy->nemesis, &s->nemesis, sizeof s->nemesis) == 0);
    }
  /* Without a nemesis the header is the parameters alone. */
  g_autoptr (DkScenario) plain = parse_ok ("cluster\nrun 10s\n");
  g_autofree char *described = dk_scenario_describe (plain);
  ck_assert_ptr_null (strstr (described, "nemesis"));
}
END_TEST

START_TEST (nemesis_mistakes_name_file_line_and_culprit)
{
  static const struct { const char *text; guint line; const char *word; } cases[] = {
    { "cluster\nnemesis\nnemesis every=1s\nrun 10s\n", 3, "'nemesis' given twice (first on line 2)" },
    { "cluster\nnemesis every=0s\nrun 10s\n", 2, "every=0s: expected a duration above zero" },
    { "cluster\nnemesis duration=0s\nrun 10s\n", 2, "duration=0s" },
    { "cluster\nnemesis every=5\nrun 10s\n", 2, "missing unit" },
    { "cluster\nnemesis from=-1s\nrun 10s\n", 2, "from=-1s" },
    { "cluster\nnemesis kinds=crash,fire\nrun 10s\n", 2, "got 'fire'" },
    { "cluster\nnemesis kinds=crash,\nrun 10s\n", 2, "expected fault kinds among partition,crash" },
    { "cluster\nnemesis kinds=crash,crash\nrun 10s\n", 2, "'crash' is listed twice" },
    { "cluster\nnemesis kinds=\nrun 10s\n", 2, "expected key=value after 'nemesis'" },
    { "cluster\nnemesis often\nrun 10s\n", 2, "got 'often'" },
    { "cluster\nnemesis rate=1s\nrun 10s\n", 2, "unknown nemesis setting 'rate'" },
    { "cluster\nnemesis every=1s every=2s\nrun 10s\n", 2, "'every' given twice" },
    { "cluster\nrun 10s\n\nnemesis until=20s\n", 4, "until=20s comes after the end of the run" },
    { "cluster\nnemesis from=10s\nrun 10s\n", 2, "from=10s must come before the end of the run" },
    { "cluster\nnemesis from=5s until=5s\nrun 10s\n", 2, "before until=5s" },
    { "cluster\nnemesis until=0s\nrun 10s\n", 2, "above zero" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DkScenario) s = dk_scenario_parse (cases[i].text, "t.scn", &error);
      ck_assert_msg (s == NULL, "accepted: %s", cases[i].text);
      g_autofree char *prefix = g_strdup_printf ("t.scn:%u: ", cases[i].line);
      ck_assert_msg (g_str_has_prefix (error->message, prefix), "want line %u: %s",
                     cases[i].line, error->message);
      ck_assert_msg (strstr (error->message, cases[i].word) != NULL, "want '%s' in: %s",
                     cases[i].word, error->message);
    }

  /* An override that moves the end of the run before until is refused too. */
  g_autoptr (DkScenario) s = parse_ok ("cluster\nnemesis until=8s\nrun 10s\n");
  ck_assert (dk_scenario_set (s, "run", "5s", NULL));
  g_autoptr (GError) error = NULL;
  ck_assert (!dk_scenario_validate (s, &error));
  ck_assert_msg (g_str_has_prefix (error->message, "t.scn:2: "), "%s", error->message);
}
END_TEST

/* ---- the plan ---------------------------------------------------------------- */

START_TEST (nemesis_plan_is_a_function_of_the_seed)
{
  static const char script[] =
    "cluster nodes=5\nrun 30s\nnemesis every=1s duration=3s "
    "kinds=partition,crash,wipe,loss,drop,latency\n";
  g_autoptr (DkScenario) s = parse_ok (script);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint64 seed = 1; seed <= 20; seed++)
    {
      s->seed = seed;
      char *plan = plan_to_string (s);
      g_autofree char *again = plan_to_string (s);
      ck_assert_str_eq (plan, again);
      g_autoptr (DkScenario) copy = dk_scenario_copy (s);
      g_autofree char *copied = plan_to_string (copy);
      ck_assert_str_eq (plan, copied);
      ck_assert_msg (!g_hash_table_contains (seen, plan), "seed %" G_GUINT64_FORMAT
                     " repeats another seed's plan", seed);
      g_hash_table_add (seen, plan);
    }
}
END_TEST

/* Replays a plan as the cluster would, failing on any inconsistency. */
static void
check_plan (const DkScenario *s, const GPtrArray *plan)
{
  const DkNemesisSpec *spec = &s->nemesis;
  guint nodes = s->cluster.nodes, max_down = (nodes - 1) / 2, down = 0;
  g_autofree gboolean *is_down = g_new0 (gboolean, nodes + 1);
  gboolean network = FALSE, loss = FALSE, latency = FALSE;
  gint64 until = dk_scenario_nemesis_until_us (s), last = 0;
  for (guint i = 0; i < plan->len; i++)
    {
      const DkEvent *e = g_ptr_array_index (plan, i);
      g_autofree char *what = event_to_string (e);
      ck_assert_msg (e->at_us >= last, "out of order: %s", what);
      ck_assert_msg (e->at_us >= spec->from_us && e->at_us <= until, "outside [from, until]: %s", what);
      ck_assert_uint_eq (e->line, spec->line);
      last = e->at_us;
      switch (e->kind)
        {
        case DK_EVENT_CRASH:
        case DK_EVENT_RESTART:
        case DK_EVENT_WIPE:
          {
            ck_assert_uint_eq (e->groups->len, 1);
            guint node = member (e, 0, 0);
            ck_assert (node >= 1 && node <= nodes);
            ck_assert_msg (e->kind == DK_EVENT_RESTART ? is_down[node] : !is_down[node],
                           "%s: n%u is %s", what, node, is_down[node] ? "down" : "up");
            ck_assert_msg (e->at_us < until || e->kind == DK_EVENT_RESTART,
                           "a fault starts at until: %s", what);
            if (e->kind != DK_EVENT_WIPE)
              {
                is_down[node] = e->kind == DK_EVENT_CRASH;
                down = e->kind == DK_EVENT_CRASH ? down + 1 : down - 1;
              }
            ck_assert_msg (down <= max_down, "%u of %u nodes down at %s", down, nodes, what);
            break;
          }
        case DK_EVENT_PARTITION:
          {
            ck_assert (!network && e->at_us < until);
            network = TRUE;
            ck_assert_uint_eq (e->groups->len, 2);
            g_autofree guint *side = g_new0 (guint, nodes + 1);
            for (guint g = 0; g < 2; g++)
              {
                const DkGroup *group = g_ptr_array_index (e->groups, g);
                ck_assert_uint_gt (group->len, 0);
                for (guint m = 0; m < group->len; m++)
                  {
                    guint node = member (e, g, m);
                    ck_assert (node >= 1 && node <= nodes && side[node] == 0);
                    side[node] = g + 1;
                  }
              }
            for (guint node = 1; node <= nodes; node++)
              ck_assert_msg (side[node] != 0, "n%u on no side: %s", node, what);
            break;
          }
        case DK_EVENT_DROP:
          ck_assert (!network && e->at_us < until);
          network = TRUE;
          ck_assert_uint_eq (e->groups->len, 2);
          ck_assert_uint_ne (member (e, 0, 0), member (e, 1, 0));
          ck_assert (member (e, 0, 0) <= nodes && member (e, 1, 0) <= nodes);
          break;
        case DK_EVENT_HEAL:
          ck_assert_msg (network, "heal without a fault: %s", what);
          network = FALSE;
          break;
        case DK_EVENT_LOSS:
          if (!loss)
            ck_assert_msg (e->probability >= 0.05 && e->probability <= 0.3 && e->at_us < until,
                           "%s", what);
          else
            ck_assert (e->probability == s->network.loss);
          loss = !loss;
          break;
        case DK_EVENT_LATENCY:
          if (!latency)
            ck_assert_msg (dk_dist_mean_us (&e->latency) >= 5 * dk_dist_mean_us (&s->network.latency)
                           && e->at_us < until, "%s", what);
          else
            ck_assert (dk_dist_equal (&e->latency, &s->network.latency));
          latency = !latency;
          break;
        default:
          ck_abort_msg ("a nemesis never plans %s", what);
        }
    }
  /* Every fault was undone by until. */
  ck_assert (!network && !loss && !latency);
  ck_assert_uint_eq (down, 0);
}

/* Over many seeds, cluster sizes and specs, the plan replays cleanly:
 * sorted, within [from, until], a majority always up, every fault undone. */
START_TEST (nemesis_plan_keeps_a_majority_up_and_undoes_every_fault)
{
  static const char *const latencies[] = {
    "exp(1ms)", "const(0us)", "uniform(1ms,3ms)", "normal(2ms,500us)", "lognormal(1ms,0.5)",
    "pareto(500us,2.5)",
  };
  int iterations = dk_test_iterations (400);
  guint kinds_seen = 0;
  for (int i = 0; i < iterations; i++)
    {
      DkRng rng;
      dk_rng_init (&rng, (guint64) i, 91);
      guint nodes = 1 + (guint) dk_rng_below (&rng, 9);
      gint64 run_ms = 1000 + (gint64) dk_rng_below (&rng, 60000);
      gint64 every_ms = 1 + (gint64) dk_rng_below (&rng, 5000);
      gint64 duration_us = 1 + (gint64) dk_rng_below (&rng, 10000000);
      gint64 from_ms = (gint64) dk_rng_below (&rng, (guint64) run_ms / 2);
      gint64 until_ms = dk_rng_below (&rng, 2) ? 0 : from_ms + 1 + (gint64) dk_rng_below (&rng, (guint64) (run_ms - from_ms));
      guint kinds = 1 + (guint) dk_rng_below (&rng, (1u << DK_NEMESIS_N_KINDS) - 1);
      GString *kind_list = g_string_new (NULL);
      for (guint k = 0; k < DK_NEMESIS_N_KINDS; k++)
        if (kinds & (1u << k))
          g_string_append_printf (kind_list, "%s%s", kind_list->len ? "," : "", dk_nemesis_kind_name (k));
      g_autofree char *until = until_ms > 0 ? g_strdup_printf (" until=%" G_GINT64_FORMAT "ms", until_ms)
                                            : g_strdup ("");
      g_autofree char *script = g_strdup_printf (
        "seed %d\ncluster nodes=%u n=1 r=1 w=1\nnetwork latency=%s loss=%s\nrun %" G_GINT64_FORMAT "ms\n"
        "nemesis every=%" G_GINT64_FORMAT "ms duration=%" G_GINT64_FORMAT "us kinds=%s from=%"
        G_GINT64_FORMAT "ms%s\n",
        i, nodes, latencies[i % G_N_ELEMENTS (latencies)], i % 3 ? "0" : "0.01", run_ms, every_ms,
        duration_us, kind_list->str, from_ms, until);
      g_string_free (kind_list, TRUE);
      g_autoptr (DkScenario) s = parse_ok (script);
      g_autoptr (GPtrArray) plan = dk_nemesis_plan (s);
      check_plan (s, plan);
      for (guint e = 0; e < plan->len; e++)
        kinds_seen |= 1u << ((const DkEvent *) g_ptr_array_index (plan, e))->kind;
    }
  /* Every event a nemesis can plan came up somewhere. */
  static const DkEventKind planned[] = {
    DK_EVENT_PARTITION, DK_EVENT_DROP, DK_EVENT_HEAL, DK_EVENT_CRASH, DK_EVENT_RESTART,
    DK_EVENT_WIPE, DK_EVENT_LATENCY, DK_EVENT_LOSS,
  };
  for (gsize k = 0; k < G_N_ELEMENTS (planned); k++)
    ck_assert_msg (kinds_seen & (1u << planned[k]), "never planned: %s",
                   dk_event_kind_name (planned[k]));
}
END_TEST

/* A crash-only nemesis on five nodes reaches the bound (two down at once)
 * and never passes it; one tick per `every`, nothing outside [from, until). */
START_TEST (nemesis_plan_crashes_up_to_the_minority_and_no_further)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster nodes=5\nrun 60s\n"
                                       "nemesis every=1s duration=10s kinds=crash from=5s until=50s\n");
  gboolean reached_bound = FALSE;
  for (guint64 seed = 1; seed <= 20; seed++)
    {
      s->seed = seed;
      g_autoptr (GPtrArray) plan = dk_nemesis_plan (s);
      check_plan (s, plan);
      guint down = 0;
      for (guint i = 0; i < plan->len; i++)
        {
          const DkEvent *e = g_ptr_array_index (plan, i);
          down += e->kind == DK_EVENT_CRASH;
          down -= e->kind == DK_EVENT_RESTART;
          reached_bound = reached_bound || down == 2;
          if (e->kind == DK_EVENT_CRASH)
            ck_assert_int_eq (e->at_us % DK_US_PER_S, 0);
        }
      ck_assert_uint_gt (plan->len, 0);
      ck_assert_int_ge (((const DkEvent *) g_ptr_array_index (plan, 0))->at_us, 5 * DK_US_PER_S);
    }
  ck_assert (reached_bound);

  /* Three nodes allow one down; one or two nodes allow none. */
  for (guint nodes = 1; nodes <= 3; nodes++)
    {
      g_autofree char *script = g_strdup_printf ("cluster nodes=%u n=1 r=1 w=1\nrun 20s\n"
                                                 "nemesis every=100ms duration=5s kinds=crash\n",
                                                 nodes);
      g_autoptr (DkScenario) small = parse_ok (script);
      g_autoptr (GPtrArray) plan = dk_nemesis_plan (small);
      check_plan (small, plan);
      ck_assert_uint_eq (plan->len > 0, nodes == 3);
    }
}
END_TEST

/* The runner injects the plan on its normal path: each planned event is
 * one line of the fault log, in order, before the run ends. */
START_TEST (nemesis_faults_reach_the_fault_log_one_line_each)
{
  g_autoptr (DkScenario) s = parse_ok (
    "seed 4\ncluster nodes=5 vnodes=8\nworkload clients=2 rate=50/s keys=50\n"
    "option gossip=200ms suspect_after=1s\n"
    "nemesis every=500ms duration=1s kinds=partition,crash,wipe,loss,drop,latency\n"
    "at 1s dup 0\n"
    "run 6s settle 1s\n");
  g_autoptr (GPtrArray) plan = dk_nemesis_plan (s);
  ck_assert_uint_gt (plan->len, 6);
  FILE *log = tmpfile ();
  ck_assert_ptr_nonnull (log);
  DkRunOptions options = { .fault_log = log };
  g_autoptr (GError) error = NULL;
  DkRunResult *result = dk_run_scenario (s, &options, &error);
  ck_assert_msg (result != NULL, "%s", error != NULL ? error->message : "?");
  dk_run_result_free (result);
  long size = ftell (log);
  ck_assert_int_gt (size, 0);
  g_autofree char *text = g_new0 (char, (gsize) size + 1);
  rewind (log);
  ck_assert_uint_eq (fread (text, 1, (gsize) size, log), (gsize) size);
  fclose (log);

  /* The lines before "run ends": the scripted dup and the plan, in order. */
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint faults = 0, next = 0;
  gboolean dup_seen = FALSE;
  for (char **line = lines; *line != NULL && strstr (*line, "run ends") == NULL; line++)
    {
      const char *fault = strstr (*line, " fault ");
      if (fault == NULL)
        continue;
      faults++;
      fault += strlen (" fault ");
      if (g_str_has_prefix (fault, "dup "))
        {
          dup_seen = TRUE;
          continue;
        }
      ck_assert_uint_lt (next, plan->len);
      const DkEvent *e = g_ptr_array_index (plan, next++);
      ck_assert_msg (g_str_has_prefix (fault, dk_event_kind_name (e->kind)), "plan says %s, log: %s",
                     dk_event_kind_name (e->kind), *line);
      g_autofree char *at = g_strdup_printf ("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT " ",
                                             e->at_us / DK_US_PER_S, e->at_us % DK_US_PER_S);
      ck_assert_msg (g_str_has_prefix (*line, at), "want %s: %s", at, *line);
    }
  ck_assert (dup_seen);
  ck_assert_uint_eq (next, plan->len);
  ck_assert_uint_eq (faults, plan->len + 1);
}
END_TEST

Suite *
nemesis_suite (void)
{
  Suite *suite = suite_create ("nemesis");
  TCase *statement = tcase_create ("statement");
  tcase_add_test (statement, nemesis_statement_alone_takes_the_documented_defaults);
  tcase_add_test (statement, nemesis_statement_reads_every_option);
  tcase_add_test (statement, nemesis_spec_text_parses_back_to_the_same_spec);
  tcase_add_test (statement, nemesis_mistakes_name_file_line_and_culprit);
  suite_add_tcase (suite, statement);

  TCase *plan = tcase_create ("plan");
  dk_tcase_no_wall_limit (plan);
  tcase_add_test (plan, nemesis_plan_is_a_function_of_the_seed);
  tcase_add_test (plan, nemesis_plan_keeps_a_majority_up_and_undoes_every_fault);
  tcase_add_test (plan, nemesis_plan_crashes_up_to_the_minority_and_no_further);
  tcase_add_test (plan, nemesis_faults_reach_the_fault_log_one_line_each);
  suite_add_tcase (suite, plan);
  return suite;
}
