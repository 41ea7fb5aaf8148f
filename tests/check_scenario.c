/* check_scenario.c — the scenario language and the distributions it names:
 * every documented form parses to the fields it says, every kind of
 * mistake is refused with FILE:LINE and the offending word, overrides and
 * sweeps change exactly what they name, the samplers follow their
 * theoretical laws, and no mutation of a script crashes the parser. */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "suites.h"
#include "dist.h"
#include "scenario.h"
#include "runner.h"
#include "client_model.h"

/* The example of SCENARIOS.md, verbatim. */
static const char example_script[] =
  "# A minority partition, then heal.\n"
  "seed 42\n"
  "cluster nodes=5 vnodes=64 n=3 r=2 w=2\n"
  "option sloppy_quorum=on hinted_handoff=on anti_entropy=10s gossip=1s\n"
  "network latency=exp(1ms) loss=0.001\n"
  "workload clients=20 rate=2000/s keys=10000 dist=zipf(0.99) reads=0.5 value=512\n"
  "at 10s partition {n1 n2} {n3 n4 n5}\n"
  "at 40s heal\n"
  "at 50s crash n3\n"
  "at 60s restart n3\n"
  "run 90s settle 30s\n"
  "expect availability >= 0.99\n"
  "expect lost_writes == 0\n"
  "expect stale_reads <= 0.05\n";

/* Every form of the language at least once. */
static const char every_form_script[] =
  "# every form\n"
  "seed 7   # trailing comment\n"
  "\n"
  "cluster nodes=6 vnodes=16 n=3 r=1 w=3 dcs=2 racks=2 ring=partitions partitions=64\n"
  "option sloppy_quorum=off hinted_handoff=off read_repair=off anti_entropy=off\n"
  "option gossip=500ms request_timeout=1.5s coordinator=any suspect_after=3s\n"
  "option hint_limit=50 vclock_prune=8 tombstone_grace=2m cache=64k compress_above=2kb autoscale=on\n"
  "network latency=uniform(1ms, 5ms) loss=0.01 dup=0.002\n"
  "link n1 n2 latency=const(250us) loss=0.5\n"
  "dc dc1 dc2 latency=lognormal(40ms,0.5) dup=0.1\n"
  "dc dc2 dc2 latency=normal(2ms,500us)\n"
  "workload clients=3 rate=0.5/s keys=100 dist=hotspot(0.1,0.9) reads=0.9 value=1k\n"
  "\tat 1s partition {n1 n3} {n5} {dc2}\t\n"
  "at 2s drop n1 -> n3\n"
  "at 2s drop dc1->dc2\n"
  "at 3s heal\n"
  "at 4s crash n3\n"
  "at 5s restart n3\n"
  "at 6s wipe dc2\n"
  "at 7s join n7\n"
  "at 8s leave n1\n"
  "at 9s latency pareto(1ms,2.5)\n"
  "at 10s loss 0.05\n"
  "at 11s dup 0\n"
  "at 12s rate 2000/s\n"
  "at 13s crash n7\n"
  "run 1m settle 500ms\n"
  "expect availability >= 0.9\n"
  "expect stale_reads < 0.1\n"
  "expect lost_writes == 0\n"
  "expect conflicts <= 0.5\n"
  "expect divergent_keys != 3\n"
  "expect latency_p99_ms > 1e-3\n"
  "expect latency_p50_ms >= 0\n"
  "sweep r=1..2 w=2,3\n"
  "sweep dist=uniform,zipf(1.2),hotspot(0.2,0.8)\n";

static DkScenario *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  DkScenario *scenario = dk_scenario_parse (text, "t.scn", &error);
  ck_assert_msg (scenario != NULL, "unexpected error: %s", error != NULL ? error->message : "?");
  return scenario;
}

/* TEXT is refused with a message "t.scn:LINE: ..." containing WORD. */
static void
assert_error_at (const char *text, guint line, const char *word)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkScenario) scenario = dk_scenario_parse (text, "t.scn", &error);
  ck_assert_msg (scenario == NULL, "accepted: %s", text);
  ck_assert (error->domain == DK_SCENARIO_ERROR);
  g_autofree char *prefix = g_strdup_printf ("t.scn:%u: ", line);
  ck_assert_msg (g_str_has_prefix (error->message, prefix), "want line %u: %s", line,
                 error->message);
  ck_assert_msg (strstr (error->message, word) != NULL, "want '%s' in: %s", word, error->message);
}

static const DkEvent *
event_at (const DkScenario *scenario, guint i)
{
  ck_assert_uint_lt (i, scenario->events->len);
  return g_ptr_array_index (scenario->events, i);
}

static DkGroupMember
member_of (const DkEvent *event, guint group, guint i)
{
  const DkGroup *members = g_ptr_array_index (event->groups, group);
  ck_assert_uint_lt (i, members->len);
  return g_array_index (members, DkGroupMember, i);
}

/* ---- durations and delay distributions ----------------------------------- */

START_TEST (dist_durations_take_units_and_decimals)
{
  static const struct { const char *text; gint64 us; } good[] = {
    { "250us", 250 }, { "1ms", 1000 }, { "1.5s", 1500000 }, { "2m", 120000000 },
    { "0.5ms", 500 }, { "0s", 0 }, { ".25s", 250000 }, { "90s", 90000000 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      gint64 us = -1;
      g_autoptr (GError) error = NULL;
      ck_assert_msg (dk_duration_parse (good[i].text, &us, &error), "%s", good[i].text);
      ck_assert_int_eq (us, good[i].us);
      g_autofree char *text = dk_duration_to_string (us);
      gint64 again = -1;
      ck_assert (dk_duration_parse (text, &again, NULL));
      ck_assert_int_eq (again, us);
    }
  static const struct { const char *text; const char *problem; } bad[] = {
    { "90", "missing unit" }, { "1.5", "missing unit" }, { "ms", "number" },
    { "-1s", "negative" }, { "1sec", "unknown unit" }, { "0.5us", "microsecond" },
    { "", "nothing" }, { "1e3ms", "unknown unit" }, { "999999999999m", "too long" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gint64 us = 0;
      g_autoptr (GError) error = NULL;
      ck_assert_msg (!dk_duration_parse (bad[i].text, &us, &error), "%s", bad[i].text);
      ck_assert_msg (strstr (error->message, bad[i].problem) != NULL, "%s", error->message);
    }
}
END_TEST

START_TEST (dist_every_form_parses_and_round_trips)
{
  static const char *const forms[] = {
    "const(1ms)", "uniform(1ms,5ms)", "exp(1ms)", "normal(10ms,2ms)",
    "lognormal(10ms,0.5)", "pareto(1ms,2.5)", "uniform( 1ms , 2.5ms )", "exp(1.5s)",
    "mix(0.9122:pareto(235us,10);0.0878:exp(602us))", "mix(1:exp(1ms))",
    "mix( 0.25:const(1ms) ; 0.75:uniform(2ms,3ms) )",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      DkDist dist, again;
      g_autoptr (GError) error = NULL;
      ck_assert_msg (dk_dist_parse (forms[i], &dist, &error), "%s: %s", forms[i],
                     error != NULL ? error->message : "");
      g_autofree char *text = dk_dist_to_string (&dist);
      ck_assert_msg (dk_dist_parse (text, &again, NULL), "%s", text);
      ck_assert (dk_dist_equal (&dist, &again));
    }
  DkDist dist;
  ck_assert (dk_dist_parse ("lognormal(10ms,0.5)", &dist, NULL));
  ck_assert_int_eq (dist.kind, DK_DIST_LOGNORMAL);
  ck_assert_int_eq (dist.a_us, 10000);
  ck_assert (dist.shape == 0.5);
}
END_TEST

START_TEST (dist_malformed_text_is_refused_with_reason)
{
  static const struct { const char *text; const char *word; } bad[] = {
    { "exp(1)", "missing unit" }, { "exp(1ms", "')'" }, { "exp()", "1 argument" },
    { "uniform(5ms,1ms)", "exceed" }, { "lognormal(10ms,0.5ms)", "without a unit" },
    { "pareto(1ms,0)", "SHAPE" }, { "foo(1ms)", "unknown distribution 'foo'" },
    { "exp(1ms)x", "after ')'" }, { "exp(0ms)", "positive" }, { "exp", "1 argument" },
    { "exp((1ms))", "nested" },
    { "mix(0.5:exp(1ms);0.4:exp(2ms))", "sum to 0.9" }, { "mix(exp(1ms))", "P:DIST" },
    { "mix(0.5:exp(1ms);0.5:mix(1:exp(1ms)))", "do not nest" },
    { "mix(1.5:exp(1ms))", "(0,1]" }, { "mix(1:exp(1))", "missing unit" },
    { "mix(1:exp(1ms)", "missing ')'" }, { "mix[0.5:exp(1ms)]", "mix(P:DIST" }, { "mix()", "P:DIST" },
    { "mix(0.1:exp(1ms);0.1:exp(1ms);0.1:exp(1ms);0.1:exp(1ms);0.1:exp(1ms);0.1:exp(1ms);"
      "0.1:exp(1ms);0.1:exp(1ms);0.2:exp(1ms))", "1 to 8 components" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DkDist dist;
      g_autoptr (GError) error = NULL;
      ck_assert_msg (!dk_dist_parse (bad[i].text, &dist, &error), "%s", bad[i].text);
      ck_assert_msg (strstr (error->message, "expected a distribution such as exp(1ms)") != NULL,
                     "%s", error->message);
      g_autofree char *quoted = g_strdup_printf ("'%s'", bad[i].text);
      ck_assert_msg (strstr (error->message, quoted) != NULL, "%s", error->message);
      ck_assert_msg (strstr (error->message, bad[i].word) != NULL, "%s", error->message);
    }
}
END_TEST

/* The sample mean of each distribution is within a few standard errors
 * of its theoretical mean, for several seeds. */
START_TEST (dist_sample_means_match_theory)
{
  static const char *const forms[] = {
    "const(3ms)", "uniform(1ms,5ms)", "exp(1ms)", "normal(10ms,2ms)",
    "lognormal(10ms,0.5)", "pareto(1ms,3)", "mix(0.9:exp(1ms);0.1:const(10ms))",
    "mix(0.9122:pareto(235us,10);0.0878:exp(602us))",
  };
  int draws = dk_test_iterations (100000);
  for (gsize f = 0; f < G_N_ELEMENTS (forms); f++)
    for (guint64 seed = 1; seed <= 4; seed++)
      {
        DkDist dist;
        ck_assert (dk_dist_parse (forms[f], &dist, NULL));
        DkRng rng;
        dk_rng_init (&rng, seed, f);
        double sum = 0, sum_sq = 0;
        for (int i = 0; i < draws; i++)
          {
            gint64 x = dk_dist_sample_us (&dist, &rng);
            if (x < 0 || x > DK_DIST_MAX_US)  /* not ck_assert: it costs a syscall */
              ck_abort_msg ("%s drew %" G_GINT64_FORMAT, forms[f], x);
            sum += (double) x;
            sum_sq += (double) x * (double) x;
          }
        double mean = sum / draws, expected = dk_dist_mean_us (&dist);
        double sd = sqrt (fmax (sum_sq / draws - mean * mean, 0));
        /* Six standard errors, plus a microsecond for rounding; pareto's
         * variance converges slowly, so allow 3% there. */
        double tolerance = 6 * sd / sqrt (draws) + 1 + (dist.kind == DK_DIST_PARETO ? 0.03 * expected : 0);
        ck_assert_msg (fabs (mean - expected) <= tolerance, "%s seed %d: mean %.1f, expected %.1f",
                       forms[f], (int) seed, mean, expected);
      }
}
END_TEST

/* Each draw of a mixture comes from one component, chosen with that
 * component's probability. */
START_TEST (dist_mixture_picks_components_by_probability)
{
  DkDist dist;
  ck_assert (dk_dist_parse ("mix(0.2:const(1ms);0.5:const(2ms);0.3:const(3ms))", &dist, NULL));
  int draws = dk_test_iterations (100000);
  for (guint64 seed = 1; seed <= 4; seed++)
    {
      DkRng rng;
      dk_rng_init (&rng, seed, 7);
      int counts[3] = { 0, 0, 0 };
      for (int i = 0; i < draws; i++)
        {
          gint64 x = dk_dist_sample_us (&dist, &rng);
          if (x != 1000 && x != 2000 && x != 3000)
            ck_abort_msg ("drew %" G_GINT64_FORMAT ", not a component's value", x);
          counts[x / 1000 - 1]++;
        }
      static const double expected[3] = { 0.2, 0.5, 0.3 };
      for (int c = 0; c < 3; c++)
        {
          double p = expected[c], sd = sqrt (p * (1 - p) / draws);
          ck_assert_msg (fabs ((double) counts[c] / draws - p) <= 6 * sd,
                         "seed %d: component %d drawn %d of %d times", (int) seed, c, counts[c],
                         draws);
        }
    }
}
END_TEST

START_TEST (dist_same_seed_gives_same_samples)
{
  static const char *const forms[] = {
    "uniform(1ms,5ms)", "exp(1ms)", "normal(1ms,2ms)", "lognormal(1ms,1)", "pareto(1ms,1.5)",
    "mix(0.5:exp(1ms);0.5:pareto(1ms,1.5))",
  };
  for (gsize f = 0; f < G_N_ELEMENTS (forms); f++)
    {
      DkDist dist;
      ck_assert (dk_dist_parse (forms[f], &dist, NULL));
      DkRng a, b, c;
      dk_rng_init (&a, 99, 1);
      dk_rng_init (&b, 99, 1);
      dk_rng_init (&c, 100, 1);
      gboolean differs = FALSE;
      for (int i = 0; i < 1000; i++)
        {
          gint64 x = dk_dist_sample_us (&dist, &a);
          if (x != dk_dist_sample_us (&dist, &b))
            ck_abort_msg ("%s: draw %d differs", forms[f], i);
          differs |= x != dk_dist_sample_us (&dist, &c);
        }
      ck_assert_msg (differs, "%s ignores the seed", forms[f]);
    }
}
END_TEST

/* ---- key distributions ------------------------------------------------------ */

START_TEST (key_dist_zipf_ranks_are_monotone_with_ratio_of_theory)
{
  static const double exponents[] = { 0.5, 0.99, 1.5 };
  enum { KEYS = 100 };
  int draws = dk_test_iterations (200000);
  for (gsize e = 0; e < G_N_ELEMENTS (exponents); e++)
    {
      DkKeyDistSpec spec = { .kind = DK_KEY_DIST_ZIPF, .zipf_exponent = exponents[e] };
      g_autoptr (DkKeyDist) dist = dk_key_dist_new (&spec, KEYS);
      int counts[KEYS] = { 0 };
      DkRng rng;
      dk_rng_init (&rng, 5 + e, 0);
      for (int i = 0; i < draws; i++)
        {
          guint32 key = dk_key_dist_sample (dist, &rng);
          if (key >= KEYS)
            ck_abort_msg ("key %u out of range", key);
          counts[key]++;
        }
      double total_probability = 0;
      for (guint32 k = 0; k < KEYS; k++)
        total_probability += dk_key_dist_probability (dist, k);
      ck_assert (fabs (total_probability - 1) < 1e-9);
      for (int rank = 0; rank < 4; rank++)
        ck_assert_msg (counts[rank] > counts[rank + 1], "s=%g rank %d: %d <= %d", exponents[e],
                       rank, counts[rank], counts[rank + 1]);
      /* P(rank 1) / P(rank 2) = 2^s */
      double ratio = (double) counts[0] / counts[1], expected = pow (2, exponents[e]);
      double tolerance = draws >= 100000 ? 0.05 : 0.3;
      ck_assert_msg (fabs (ratio / expected - 1) < tolerance, "s=%g ratio %f, expected %f",
                     exponents[e], ratio, expected);
      /* The frequency of the top key matches its exact probability. */
      double share = (double) counts[0] / draws, p = dk_key_dist_probability (dist, 0);
      ck_assert (fabs (share - p) < 6 * sqrt (p * (1 - p) / draws));
    }
}
END_TEST

START_TEST (key_dist_hotspot_share_is_close_to_p)
{
  enum { KEYS = 1000 };
  int draws = dk_test_iterations (100000);
  static const double shares[][2] = { { 0.2, 0.8 }, { 0.01, 0.5 }, { 0.5, 0.1 } };
  for (gsize s = 0; s < G_N_ELEMENTS (shares); s++)
    {
      DkKeyDistSpec spec = { .kind = DK_KEY_DIST_HOTSPOT, .hot_fraction = shares[s][0],
                             .hot_probability = shares[s][1] };
      g_autoptr (DkKeyDist) dist = dk_key_dist_new (&spec, KEYS);
      guint32 hot = dk_key_dist_hot_keys (shares[s][0], KEYS);
      ck_assert_uint_eq (hot, (guint32) lround (shares[s][0] * KEYS));
      DkRng rng;
      dk_rng_init (&rng, 11, s);
      int on_hot = 0;
      for (int i = 0; i < draws; i++)
        {
          guint32 key = dk_key_dist_sample (dist, &rng);
          if (key >= KEYS)
            ck_abort_msg ("key %u out of range", key);
          on_hot += key < hot;
        }
      double p = shares[s][1], share = (double) on_hot / draws;
      ck_assert_msg (fabs (share - p) < 6 * sqrt (p * (1 - p) / draws) + 1e-9,
                     "hotspot(%g,%g): share %f", shares[s][0], p, share);
    }
}
END_TEST

START_TEST (key_dist_same_seed_same_keys_and_uniform_covers_all)
{
  static const char *const forms[] = { "uniform", "zipf(0.99)", "hotspot(0.1,0.9)" };
  for (gsize f = 0; f < G_N_ELEMENTS (forms); f++)
    {
      DkKeyDistSpec spec, again;
      ck_assert (dk_key_dist_spec_parse (forms[f], &spec, NULL));
      g_autofree char *text = dk_key_dist_spec_to_string (&spec);
      ck_assert_str_eq (text, forms[f]);
      ck_assert (dk_key_dist_spec_parse (text, &again, NULL));
      ck_assert (dk_key_dist_spec_equal (&spec, &again));
      g_autoptr (DkKeyDist) dist = dk_key_dist_new (&spec, 10);
      DkRng a, b;
      dk_rng_init (&a, 3, 3);
      dk_rng_init (&b, 3, 3);
      gboolean seen[10] = { FALSE };
      for (int i = 0; i < 2000; i++)
        {
          guint32 key = dk_key_dist_sample (dist, &a);
          if (key >= 10 || key != dk_key_dist_sample (dist, &b))
            ck_abort_msg ("%s: draw %d differs or is out of range", forms[f], i);
          seen[key] = TRUE;
        }
      for (int k = 0; k < 10; k++)
        ck_assert_msg (seen[k], "%s never drew key %d", forms[f], k);
    }
  static const char *const bad[] = {
    "zipf", "zipf(0)", "zipf(-1)", "hotspot(0,0.5)", "hotspot(0.1,1.5)", "hotspot(0.1)",
    "uniform(3)", "gauss", "zipf(x)", "zipf(1",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DkKeyDistSpec spec;
      g_autoptr (GError) error = NULL;
      ck_assert_msg (!dk_key_dist_spec_parse (bad[i], &spec, &error), "%s", bad[i]);
      ck_assert (strstr (error->message, bad[i]) != NULL);
    }
}
END_TEST

/* ---- scenarios: what parses ------------------------------------------------- */

START_TEST (scenario_example_parses_with_every_field_as_written)
{
  g_autoptr (DkScenario) s = parse_ok (example_script);
  ck_assert_str_eq (s->name, "t.scn");
  ck_assert_uint_eq (s->seed, 42);
  ck_assert_uint_eq (s->cluster.nodes, 5);
  ck_assert_uint_eq (s->cluster.vnodes, 64);
  ck_assert_uint_eq (s->cluster.n, 3);
  ck_assert_uint_eq (s->cluster.r, 2);
  ck_assert_uint_eq (s->cluster.w, 2);
  ck_assert_uint_eq (s->cluster.dcs, 1);
  ck_assert (s->options.sloppy_quorum && s->options.hinted_handoff);
  ck_assert_int_eq (s->options.anti_entropy_us, 10000000);
  ck_assert_int_eq (s->options.gossip_us, 1000000);
  ck_assert_int_eq (s->network.latency.kind, DK_DIST_EXP);
  ck_assert_int_eq (s->network.latency.a_us, 1000);
  ck_assert (s->network.loss == 0.001);
  ck_assert (s->network.dup == 0);
  ck_assert_uint_eq (s->workload.clients, 20);
  ck_assert (s->workload.rate_per_s == 2000);
  ck_assert_uint_eq (s->workload.keys, 10000);
  ck_assert_int_eq (s->workload.dist.kind, DK_KEY_DIST_ZIPF);
  ck_assert (s->workload.dist.zipf_exponent == 0.99);
  ck_assert (s->workload.reads == 0.5);
  ck_assert_uint_eq (s->workload.value_bytes, 512);
  ck_assert_int_eq (s->run_us, 90 * DK_US_PER_S);
  ck_assert_int_eq (s->settle_us, 30 * DK_US_PER_S);

  ck_assert_uint_eq (s->events->len, 4);
  const DkEvent *partition = event_at (s, 0);
  ck_assert_int_eq (partition->kind, DK_EVENT_PARTITION);
  ck_assert_int_eq (partition->at_us, 10 * DK_US_PER_S);
  ck_assert_uint_eq (partition->line, 7);
  ck_assert_uint_eq (partition->groups->len, 2);
  ck_assert_uint_eq (((DkGroup *) g_ptr_array_index (partition->groups, 0))->len, 2);
  ck_assert_uint_eq (((DkGroup *) g_ptr_array_index (partition->groups, 1))->len, 3);
  ck_assert_uint_eq (member_of (partition, 1, 2).number, 5);
  ck_assert (!member_of (partition, 1, 2).is_dc);
  ck_assert_int_eq (event_at (s, 1)->kind, DK_EVENT_HEAL);
  ck_assert_int_eq (event_at (s, 2)->kind, DK_EVENT_CRASH);
  ck_assert_uint_eq (member_of (event_at (s, 2), 0, 0).number, 3);
  ck_assert_int_eq (event_at (s, 3)->kind, DK_EVENT_RESTART);
  ck_assert_int_eq (event_at (s, 3)->at_us, 60 * DK_US_PER_S);

  ck_assert_uint_eq (s->expects->len, 3);
  const DkExpect *availability = g_ptr_array_index (s->expects, 0);
  ck_assert_str_eq (availability->metric, "availability");
  ck_assert_int_eq (availability->op, DK_COMPARE_GE);
  ck_assert (availability->value == 0.99);
  ck_assert_uint_eq (availability->line, 12);
  const DkExpect *lost = g_ptr_array_index (s->expects, 1);
  ck_assert_int_eq (lost->op, DK_COMPARE_EQ);
  ck_assert_uint_eq (lost->line, 13);
  ck_assert (dk_expect_holds (lost, 0) && !dk_expect_holds (lost, 1));
  const DkExpect *stale = g_ptr_array_index (s->expects, 2);
  ck_assert_int_eq (stale->op, DK_COMPARE_LE);
  ck_assert_uint_eq (stale->line, 14);
  ck_assert_uint_eq (s->sweeps->len, 0);
}
END_TEST

START_TEST (scenario_every_form_parses)
{
  g_autoptr (DkScenario) s = parse_ok (every_form_script);
  ck_assert_uint_eq (s->seed, 7);
  ck_assert_uint_eq (s->cluster.dcs, 2);
  ck_assert_uint_eq (s->cluster.racks, 2);
  ck_assert_int_eq (s->cluster.ring, DK_SCENARIO_RING_PARTITIONS);
  ck_assert_uint_eq (s->cluster.partitions, 64);
  const DkOptionsSpec *o = &s->options;
  ck_assert (!o->sloppy_quorum && !o->hinted_handoff && !o->read_repair && o->autoscale);
  ck_assert_int_eq (o->anti_entropy_us, 0);
  ck_assert_int_eq (o->gossip_us, 500000);
  ck_assert_int_eq (o->request_timeout_us, 1500000);
  ck_assert_int_eq (o->coordinator, DK_SCENARIO_COORDINATOR_ANY);
  ck_assert_int_eq (o->suspect_after_us, 3000000);
  ck_assert_uint_eq (o->hint_limit, 50);
  ck_assert_uint_eq (o->vclock_prune, 8);
  ck_assert_int_eq (o->tombstone_grace_us, 120 * DK_US_PER_S);
  ck_assert_uint_eq (o->cache_bytes, 65536);
  ck_assert_uint_eq (o->compress_above_bytes, 2048);
  ck_assert_int_eq (s->network.latency.kind, DK_DIST_UNIFORM);
  ck_assert_int_eq (s->network.latency.b_us, 5000);
  ck_assert (s->network.dup == 0.002);

  ck_assert_uint_eq (s->network.links->len, 3);
  const DkLinkSpec *link = g_ptr_array_index (s->network.links, 0);
  ck_assert (!link->between_dcs && link->a == 1 && link->b == 2);
  ck_assert (link->has_latency && link->has_loss && !link->has_dup);
  ck_assert_int_eq (link->latency.a_us, 250);
  ck_assert (link->loss == 0.5);
  const DkLinkSpec *dc = g_ptr_array_index (s->network.links, 1);
  ck_assert (dc->between_dcs && dc->a == 1 && dc->b == 2 && dc->has_dup && !dc->has_loss);
  ck_assert_int_eq (dc->latency.kind, DK_DIST_LOGNORMAL);

  ck_assert (s->workload.rate_per_s == 0.5);
  ck_assert_int_eq (s->workload.dist.kind, DK_KEY_DIST_HOTSPOT);
  ck_assert_uint_eq (s->workload.value_bytes, 1024);

  static const DkEventKind kinds[] = {
    DK_EVENT_PARTITION, DK_EVENT_DROP, DK_EVENT_DROP, DK_EVENT_HEAL, DK_EVENT_CRASH,
    DK_EVENT_RESTART, DK_EVENT_WIPE, DK_EVENT_JOIN, DK_EVENT_LEAVE, DK_EVENT_LATENCY,
    DK_EVENT_LOSS, DK_EVENT_DUP, DK_EVENT_RATE, DK_EVENT_CRASH,
  };
  ck_assert_uint_eq (s->events->len, G_N_ELEMENTS (kinds));
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    ck_assert_msg (event_at (s, i)->kind == kinds[i], "event %u is %s", i,
                   dk_event_kind_name (event_at (s, i)->kind));
  ck_assert_uint_eq (event_at (s, 0)->groups->len, 3);
  ck_assert (member_of (event_at (s, 0), 2, 0).is_dc);
  const DkEvent *drop = event_at (s, 2);
  ck_assert (member_of (drop, 0, 0).is_dc && member_of (drop, 1, 0).number == 2);
  ck_assert_int_eq (event_at (s, 9)->latency.kind, DK_DIST_PARETO);
  ck_assert (event_at (s, 10)->probability == 0.05);
  ck_assert (event_at (s, 12)->rate_per_s == 2000);
  ck_assert_uint_eq (dk_scenario_max_node (s), 7);
  ck_assert_int_eq (s->run_us, 60 * DK_US_PER_S);
  ck_assert_int_eq (s->settle_us, 500000);

  static const DkCompareOp ops[] = {
    DK_COMPARE_GE, DK_COMPARE_LT, DK_COMPARE_EQ, DK_COMPARE_LE, DK_COMPARE_NE, DK_COMPARE_GT,
  };
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    ck_assert_int_eq (((DkExpect *) g_ptr_array_index (s->expects, i))->op, ops[i]);
  ck_assert_uint_eq (s->sweeps->len, 3);
}
END_TEST

/* With only the required statements, every setting has its documented default. */
START_TEST (scenario_defaults_are_the_documented_ones)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster\nrun 10s\n");
  g_autofree char *described = dk_scenario_describe (s);
  ck_assert_str_eq (described,
                    "seed=1 nodes=5 vnodes=64 n=3 r=2 w=2 dcs=1 racks=1 ring=random partitions=256 "
                    "sloppy_quorum=on hinted_handoff=on read_repair=on read_all=on anti_entropy=30s failover=on gossip=1s "
                    "request_timeout=500ms coordinator=preference suspect_after=5s hint_limit=10000 "
                    "vclock_prune=10 versioning=dvv clock_skew=const(0s) inject_bug=none tombstone_grace=60s "
                    "cache=4m "
                    "compress_above=1k autoscale=off "
                    "autoscale_target=250/s autoscale_min=3 autoscale_max=16 autoscale_cooldown=10s "
                    "latency=exp(1ms) write=latency ack=latency read=latency response=latency client=latency "
                    "loss=0 dup=0 clients=10 rate=1000/s keys=1000 dist=uniform "
                    "reads=0.5 deletes=0 value=256 context=on run=10s settle=0s");
  g_autofree char *help = dk_scenario_settings_help ();
  ck_assert (strstr (help, "sloppy_quorum=on") != NULL && strstr (help, "run (required)") != NULL);
}
END_TEST

START_TEST (scenario_events_sort_by_time_stably)
{
  g_autoptr (DkScenario) s = parse_ok ("at 5s crash n1\n"
                                       "at 1s loss 0.1\n"
                                       "at 5s restart n1\n"
                                       "at 1s loss 0.2\n"
                                       "cluster\n"
                                       "at 0s heal\n"
                                       "run 10s\n");
  static const guint lines[] = { 6, 2, 4, 1, 3 };
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    ck_assert_uint_eq (event_at (s, i)->line, lines[i]);
}
END_TEST

START_TEST (scenario_dc_members_expand_to_their_nodes)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster nodes=7 dcs=3 racks=2\n"
                                       "at 1s partition {dc1} {dc2 n3}\n"
                                       "at 2s join n8\n"
                                       "run 10s\n");
  /* n1 n4 n7 in dc1; n2 n5 n8 in dc2; n3 n6 in dc3. */
  ck_assert_uint_eq (dk_scenario_node_dc (s, 4), 1);
  ck_assert_uint_eq (dk_scenario_node_dc (s, 8), 2);
  ck_assert_uint_eq (dk_scenario_node_rack (s, 1), 1);
  ck_assert_uint_eq (dk_scenario_node_rack (s, 4), 2);
  ck_assert_uint_eq (dk_scenario_node_rack (s, 7), 1);
  const DkEvent *partition = event_at (s, 0);
  g_autoptr (GArray) dc1 = dk_scenario_group_nodes (s, g_ptr_array_index (partition->groups, 0));
  g_autoptr (GArray) dc2 = dk_scenario_group_nodes (s, g_ptr_array_index (partition->groups, 1));
  static const DkNodeId dc1_nodes[] = { 1, 4, 7 }, dc2_nodes[] = { 2, 3, 5, 8 };
  ck_assert_uint_eq (dc1->len, 3);
  ck_assert_uint_eq (dc2->len, 4);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (g_array_index (dc1, DkNodeId, i), dc1_nodes[i]);
  for (guint i = 0; i < 4; i++)
    ck_assert_uint_eq (g_array_index (dc2, DkNodeId, i), dc2_nodes[i]);
}
END_TEST

START_TEST (scenario_loads_from_a_file_named_in_messages)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("scenario-XXXXXX.scn", &path, &error);
  ck_assert_int_ge (fd, 0);
  close (fd);
  ck_assert (g_file_set_contents (path, "cluster\nrun 90\n", -1, NULL));
  g_autoptr (DkScenario) s = dk_scenario_load (path, &error);
  ck_assert (s == NULL);
  g_autofree char *prefix = g_strdup_printf ("%s:2: expected a duration after 'run', got '90'", path);
  ck_assert_msg (g_str_has_prefix (error->message, prefix), "%s", error->message);
  g_clear_error (&error);
  ck_assert (g_file_set_contents (path, example_script, -1, NULL));
  g_autoptr (DkScenario) loaded = dk_scenario_load (path, &error);
  ck_assert (loaded != NULL);
  ck_assert_str_eq (loaded->name, path);
  g_unlink (path);
  g_free (path);
  ck_assert (dk_scenario_load ("/nonexistent/x.scn", &error) == NULL);
  ck_assert (g_error_matches (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_IO));
}
END_TEST

START_TEST (scenario_metric_names_cover_the_contract)
{
  static const char *const required[] = {
    "availability", "stale_reads", "stale_read_count", "lost_writes", "acknowledged_writes",
    "conflicts", "divergent_keys", "ops", "ok_ops", "failed_ops", "get_availability",
    "put_availability", "latency_p50_ms", "latency_p99_ms", "latency_p999_ms",
    "get_latency_p50_ms", "get_latency_p99_ms", "get_latency_p999_ms", "put_latency_p50_ms",
    "put_latency_p99_ms", "put_latency_p999_ms",
  };
  const char *const *names = dk_scenario_metric_names ();
  ck_assert_uint_ge (g_strv_length ((char **) names), G_N_ELEMENTS (required));
  for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
    ck_assert_msg (g_strv_contains (names, required[i]), "%s", required[i]);
}
END_TEST

/* The language and the runner agree: every name an `expect` may use is
 * one the runner measures (or reports as not measured). */
START_TEST (scenario_every_metric_name_is_known_to_the_runner)
{
  const char *const *names = dk_scenario_metric_names ();
  for (guint i = 0; names[i] != NULL; i++)
    ck_assert_msg (dk_run_metric_known (names[i]), "expect %s: the runner does not know it", names[i]);
  ck_assert (!dk_run_metric_known ("no_such_metric"));
}
END_TEST

/* ---- scenarios: what is refused, and where ---------------------------------- */

START_TEST (scenario_errors_name_file_line_and_culprit)
{
  static const struct { const char *text; guint line; const char *word; } cases[] = {
    /* statements */
    { "cluster\nrun 10s\nclutser nodes=3\n", 3, "unknown statement 'clutser'" },
    { "cluster\n\nrun 90\n", 3, "expected a duration after 'run', got '90'" },
    { "cluster\nrun 90sec\n", 2, "unknown unit" },
    { "cluster\nrun 10s settle\n", 2, "settle" },
    { "cluster\nrun 0s\n", 2, "above zero" },
    { "cluster\nrun 10s\nrun 20s\n", 3, "twice" },
    { "seed 1\ncluster\n# no run here\n", 3, "missing 'run'" },
    { "run 10s\n", 1, "missing 'cluster'" },
    { "", 1, "missing 'cluster'" },
    { "seed x\ncluster\nrun 1s\n", 1, "seed" },
    /* settings */
    { "cluster nodes=5 n=3 r=4\nrun 1s\n", 1, "r=4 must not exceed n=3" },
    { "run 1s\ncluster nodes=2 n=3 r=1 w=1\n", 2, "n=3" },
    { "cluster w=9 n=3\nrun 1s\n", 1, "w=9" },
    { "cluster nodes=x\nrun 1s\n", 1, "nodes=x: expected a whole number" },
    { "cluster nodes=3 dcs=4\nrun 1s\n", 1, "dcs=4" },
    { "cluster bogus=1\nrun 1s\n", 1, "unknown setting 'bogus'" },
    { "cluster sloppy_quorum=on\nrun 1s\n", 1, "belongs in 'option'" },
    { "cluster nodes 5\nrun 1s\n", 1, "key=value" },
    { "cluster ring=circle\nrun 1s\n", 1, "random or partitions" },
    { "cluster nodes=10 ring=partitions partitions=4\nrun 1s\n", 1, "partitions=4" },
    { "cluster\noption slopy_quorum=on\nrun 1s\n", 2, "unknown option 'slopy_quorum' (known: sloppy_quorum, hinted_handoff" },
    { "cluster\noption sloppy_quorum=yes\nrun 1s\n", 2, "on or off" },
    { "cluster\noption gossip=0s\nrun 1s\n", 2, "gossip=0s" },
    { "cluster\noption cache=12q\nrun 1s\n", 2, "size in bytes" },
    { "cluster\nnetwork latency=exp(1)\nrun 1s\n", 2, "missing unit" },
    { "cluster\nnetwork loss=1.5\nrun 1s\n", 2, "from 0 to 1" },
    { "cluster\nworkload rate=2000\nrun 1s\n", 2, "2000/s" },
    { "cluster\nworkload dist=zipf(0)\nrun 1s\n", 2, "zipf(0)" },
    { "cluster\nworkload value=20k\nrun 1s\n", 2, "value=20k" },
    { "cluster\nnetwork loss=0\nnetwork dup=0\nrun 1s\n", 3, "twice" },
    /* links */
    { "cluster nodes=3\nlink n1 n4 loss=1\nrun 1s\n", 2, "unknown node 'n4'" },
    { "cluster nodes=3\nlink n1 n1 loss=1\nrun 1s\n", 2, "two different nodes" },
    { "cluster nodes=3\nlink n1 n2\nrun 1s\n", 2, "at least one of" },
    { "cluster nodes=3\nlink n1 dc1 loss=1\nrun 1s\n", 2, "node (n3)" },
    { "cluster nodes=3\ndc dc1 dc2 loss=1\nrun 1s\n", 2, "unknown datacenter 'dc2'" },
    { "cluster nodes=3\nlink n1 n2 jitter=1ms\nrun 1s\n", 2, "unknown link setting 'jitter'" },
    /* events */
    { "cluster nodes=5\nat 10s crash n9\nrun 20s\n", 2, "unknown node 'n9'" },
    { "cluster nodes=5\nrun 20s\nat 1s crash dc2\n", 3, "unknown datacenter 'dc2'" },
    { "cluster\nat 10s explode n1\nrun 20s\n", 2, "unknown event 'explode'" },
    { "cluster\nat 10 heal\nrun 20s\n", 2, "expected a duration after 'at', got '10'" },
    { "cluster\nat 10s\nrun 20s\n", 2, "expected an event" },
    { "cluster\nrun 90s\nat 100s heal\n", 3, "after the end of the run" },
    { "cluster\nat 1s partition {n1 n2 {n3}\nrun 9s\n", 2, "'}'" },
    { "cluster\nat 1s partition {n1 n2} {n3\nrun 9s\n", 2, "'}' to close" },
    { "cluster\nat 1s partition n1 n2\nrun 9s\n", 2, "expected '{'" },
    { "cluster\nat 1s partition {n1 n2}\nrun 9s\n", 2, "two or more groups" },
    { "cluster\nat 1s partition {n1} {}\nrun 9s\n", 2, "empty group" },
    { "cluster\nat 1s partition {n1 x} {n2}\nrun 9s\n", 2, "got 'x'" },
    { "cluster\nat 1s partition {n1 n2} {n2 n3}\nrun 9s\n", 2, "n2 is on both sides" },
    { "cluster\nat 1s drop n1 n2\nrun 9s\n", 2, "drop A -> B" },
    { "cluster\nat 1s heal now\nrun 9s\n", 2, "heal takes 0 arguments" },
    { "cluster\nat 1s crash\nrun 9s\n", 2, "crash takes 1 argument" },
    { "cluster\nat 1s join dc1\nrun 9s\n", 2, "a node name" },
    { "cluster\nat 1s join n3\nrun 9s\n", 2, "already a member" },
    { "cluster\nat 1s leave n3\nat 2s leave n3\nrun 9s\n", 3, "not a member" },
    { "cluster\nat 1s leave n9\nrun 9s\n", 2, "not a member" },
    { "cluster\nat 2s crash n6\nat 3s join n6\nrun 9s\n", 2, "unknown node 'n6'" },
    { "cluster\nat 1s loss 2\nrun 9s\n", 2, "from 0 to 1" },
    { "cluster\nat 1s rate fast\nrun 9s\n", 2, "2000/s" },
    { "cluster\nat 1s latency exp(1)\nrun 9s\n", 2, "missing unit" },
    /* expects */
    { "cluster\nrun 1s\nexpect availabilty >= 1\n", 3, "unknown metric 'availabilty'" },
    { "cluster\nrun 1s\nexpect availability => 0.9\n", 3, "comparison" },
    { "cluster\nrun 1s\nexpect availability >= high\n", 3, "expected a number" },
    { "cluster\nrun 1s\nexpect availability\n", 3, "METRIC OP NUMBER" },
    /* sweeps */
    { "cluster\nrun 1s\nsweep r=3..1\n", 3, "A <= B" },
    { "cluster\nrun 1s\nsweep r=a..b\n", 3, "range of whole numbers" },
    { "cluster\nrun 1s\nsweep r=1,,2\n", 3, "single commas" },
    { "cluster\nrun 1s\nsweep r=\n", 3, "key=A..B" },
    { "cluster\nrun 1s\nsweep\n", 3, "after 'sweep'" },
    { "cluster\nrun 1s\nsweep bogus=1,2\n", 3, "unknown setting 'bogus'" },
    { "cluster\nrun 1s\nsweep r=1 r=2\n", 3, "swept twice" },
    { "cluster\nrun 1s\nsweep loss=0.1,2\n", 3, "loss=2" },
    { "cluster n=3\nrun 1s\nsweep r=1..4\n", 3, "r=4" },
    { "cluster\nrun 1s\nsweep nodes=1..100 r=1..64 w=1..2\n", 3, "more than 10000 runs" },
    /* characters */
    { "cluster\nrun 1s \xc3\xa9\n", 2, "byte 0xc3" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_error_at (cases[i].text, cases[i].line, cases[i].word);
}
END_TEST

/* Comments may hold anything, including '#' and non-ASCII text. */
START_TEST (scenario_comments_and_blank_lines_are_ignored)
{
  g_autoptr (DkScenario) s = parse_ok ("   # caf\xc3\xa9 # again\n\n\t\ncluster n=3 # r=9\r\nrun 5s#end\n");
  ck_assert_uint_eq (s->cluster.r, 2);
  ck_assert_int_eq (s->run_us, 5 * DK_US_PER_S);
}
END_TEST

/* A sweep that only works as a whole is fine: the base values are never run. */
START_TEST (scenario_sweep_validates_each_run_not_the_base)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster nodes=2 n=3 r=1 w=1\nrun 1s\nsweep nodes=3..4\n");
  ck_assert_uint_eq (s->sweeps->len, 1);
  /* A problem unrelated to the sweep is reported where it is. */
  assert_error_at ("cluster\nat 1s crash n9\nrun 2s\nsweep r=1..2\n", 2, "unknown node 'n9'");
}
END_TEST

/* ---- overrides and sweeps ---------------------------------------------------- */

START_TEST (scenario_set_changes_the_named_field)
{
  g_autoptr (DkScenario) s = parse_ok (example_script);
  static const struct { const char *key, *value; } sets[] = {
    { "seed", "9" }, { "nodes", "7" }, { "r", "3" }, { "w", "1" }, { "dcs", "2" },
    { "sloppy_quorum", "off" }, { "anti_entropy", "off" }, { "coordinator", "any" },
    { "latency", "const(3ms)" }, { "loss", "0.25" }, { "rate", "10/s" },
    { "dist", "hotspot(0.1,0.9)" }, { "value", "2k" }, { "run", "2m" }, { "settle", "0s" },
    { "cache", "1g" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (sets); i++)
    {
      g_autoptr (GError) error = NULL;
      ck_assert_msg (dk_scenario_set (s, sets[i].key, sets[i].value, &error), "%s",
                     error != NULL ? error->message : "");
    }
  ck_assert (dk_scenario_validate (s, NULL));
  ck_assert_uint_eq (s->seed, 9);
  ck_assert_uint_eq (s->cluster.nodes, 7);
  ck_assert_uint_eq (s->cluster.r, 3);
  ck_assert_uint_eq (s->cluster.w, 1);
  ck_assert_uint_eq (s->cluster.dcs, 2);
  ck_assert (!s->options.sloppy_quorum);
  ck_assert_int_eq (s->options.anti_entropy_us, 0);
  ck_assert_int_eq (s->options.coordinator, DK_SCENARIO_COORDINATOR_ANY);
  ck_assert_int_eq (s->network.latency.kind, DK_DIST_CONST);
  ck_assert (s->network.loss == 0.25);
  ck_assert (s->workload.rate_per_s == 10);
  ck_assert_int_eq (s->workload.dist.kind, DK_KEY_DIST_HOTSPOT);
  ck_assert_uint_eq (s->workload.value_bytes, 2048);
  ck_assert_int_eq (s->run_us, 120 * DK_US_PER_S);
  ck_assert_int_eq (s->settle_us, 0);
  ck_assert_uint_eq (s->options.cache_bytes, G_GUINT64_CONSTANT (1) << 30);
  /* Untouched fields stay. */
  ck_assert_uint_eq (s->cluster.vnodes, 64);
  ck_assert (s->options.hinted_handoff);
}
END_TEST

START_TEST (scenario_set_rejects_bad_values_naming_the_key)
{
  g_autoptr (DkScenario) s = parse_ok (example_script);
  static const struct { const char *key, *value, *word; } bad[] = {
    { "r", "x", "r=x: expected a whole number" }, { "r", "0", "r=0:" },
    { "nodes", "-1", "nodes=-1:" }, { "loss", "1.5", "loss=1.5: expected a number from 0 to 1" },
    { "latency", "exp(1)", "missing unit" }, { "run", "0s", "run=0s:" },
    { "sloppy_quorum", "maybe", "on or off" }, { "bogus", "1", "unknown setting 'bogus'" },
    { "rate", "5", "rate=5:" }, { "seed", "1.5", "seed=1.5:" }, { "value", "10k", "value=10k" },
  };
  g_autofree char *before = dk_scenario_describe (s);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      ck_assert_msg (!dk_scenario_set (s, bad[i].key, bad[i].value, &error), "%s=%s accepted",
                     bad[i].key, bad[i].value);
      ck_assert_msg (strstr (error->message, bad[i].word) != NULL, "%s", error->message);
    }
  g_autofree char *after = dk_scenario_describe (s);
  ck_assert_str_eq (before, after);
  /* A value fine alone but inconsistent is caught by validation. */
  ck_assert (dk_scenario_set (s, "n", "5", NULL));
  ck_assert (dk_scenario_set (s, "r", "6", NULL));
  ck_assert (dk_scenario_set (s, "nodes", "4", NULL));
  g_autoptr (GError) error = NULL;
  ck_assert (!dk_scenario_validate (s, &error));
  ck_assert_msg (g_str_has_prefix (error->message, "t.scn:3: n=5"), "%s", error->message);
}
END_TEST

/* Each parameter's value reads back through dk_scenario_set unchanged. */
START_TEST (scenario_parameters_round_trip_through_set)
{
  static const char *const scripts[] = { example_script, every_form_script };
  for (gsize k = 0; k < G_N_ELEMENTS (scripts); k++)
    {
      g_autoptr (DkScenario) s = parse_ok (scripts[k]);
      g_autoptr (DkScenario) copy = parse_ok ("cluster\nrun 1s\n");
      g_autoptr (GPtrArray) parameters = dk_scenario_parameters (s);
      for (guint i = 0; i < parameters->len; i++)
        {
          const DkSetting *p = g_ptr_array_index (parameters, i);
          g_autoptr (GError) error = NULL;
          ck_assert_msg (dk_scenario_set (copy, p->key, p->value, &error), "%s",
                         error != NULL ? error->message : "");
        }
      g_autofree char *original = dk_scenario_describe (s);
      g_autofree char *rebuilt = dk_scenario_describe (copy);
      ck_assert_str_eq (original, rebuilt);
      ck_assert (memcmp (&s->cluster, &copy->cluster, sizeof s->cluster) == 0);
      ck_assert (memcmp (&s->options, &copy->options, sizeof s->options) == 0);
      ck_assert (dk_dist_equal (&s->network.latency, &copy->network.latency));
      ck_assert (dk_key_dist_spec_equal (&s->workload.dist, &copy->workload.dist));
      ck_assert (s->workload.rate_per_s == copy->workload.rate_per_s);
    }
}
END_TEST

START_TEST (scenario_sweeps_expand_to_the_ordered_product)
{
  g_autoptr (DkScenario) s = parse_ok ("cluster n=3\nrun 1s\nsweep r=1..3 w=2,3\n"
                                       "sweep dist=uniform,zipf(1.5)\n");
  g_autoptr (GError) error = NULL;
  ck_assert (dk_scenario_add_sweep (s, "seed=5..6", &error));
  g_autoptr (GPtrArray) combinations = dk_scenario_sweep_combinations (s);
  ck_assert_uint_eq (combinations->len, 3 * 2 * 2 * 2);
  GString *listing = g_string_new (NULL);
  for (guint c = 0; c < combinations->len; c++)
    {
      const GPtrArray *combination = g_ptr_array_index (combinations, c);
      ck_assert_uint_eq (combination->len, 4);
      for (guint i = 0; i < combination->len; i++)
        {
          const DkSetting *setting = g_ptr_array_index (combination, i);
          g_string_append_printf (listing, "%s%s=%s", i ? " " : "", setting->key, setting->value);
        }
      g_string_append_c (listing, '\n');
      g_autoptr (DkScenario) run = dk_scenario_with_combination (s, combination, &error);
      ck_assert_msg (run != NULL, "%s", error != NULL ? error->message : "");
      ck_assert_uint_eq (run->sweeps->len, 0);
      ck_assert_uint_eq (run->cluster.r, 1 + c / 8);
      ck_assert_uint_eq (run->cluster.w, 2 + (c / 4) % 2);
      ck_assert_uint_eq (run->seed, 5 + c % 2);
    }
  g_autofree char *text = g_string_free (listing, FALSE);
  ck_assert (g_str_has_prefix (text, "r=1 w=2 dist=uniform seed=5\n"
                                     "r=1 w=2 dist=uniform seed=6\n"
                                     "r=1 w=2 dist=zipf(1.5) seed=5\n"));
  ck_assert (g_str_has_suffix (text, "r=3 w=3 dist=zipf(1.5) seed=6\n"));

  /* No sweep: one empty combination, i.e. one run. */
  g_autoptr (DkScenario) plain = parse_ok (example_script);
  g_autoptr (GPtrArray) single = dk_scenario_sweep_combinations (plain);
  ck_assert_uint_eq (single->len, 1);
  ck_assert_uint_eq (((GPtrArray *) g_ptr_array_index (single, 0))->len, 0);

  /* Command-line sweeps are checked like script ones. */
  ck_assert (!dk_scenario_add_sweep (s, "r=1..2", &error));
  ck_assert (strstr (error->message, "--sweep r=1..2") != NULL);
  g_clear_error (&error);
  ck_assert (dk_scenario_add_sweep (plain, "r=1..4", NULL));
  ck_assert (!dk_scenario_validate (plain, &error));
  ck_assert_msg (g_str_has_prefix (error->message, "--sweep") && strstr (error->message, "r=4"),
                 "%s", error->message);
}
END_TEST

START_TEST (scenario_copy_is_deep)
{
  g_autoptr (DkScenario) s = parse_ok (every_form_script);
  DkScenario *copy = dk_scenario_copy (s);
  g_autofree char *a = dk_scenario_describe (s);
  g_autofree char *b = dk_scenario_describe (copy);
  ck_assert_str_eq (a, b);
  ck_assert_uint_eq (copy->events->len, s->events->len);
  ck_assert (g_ptr_array_index (copy->events, 0) != g_ptr_array_index (s->events, 0));
  ck_assert_uint_eq (copy->sweeps->len, s->sweeps->len);
  ck_assert (copy->network.links->len == s->network.links->len);
  dk_scenario_free (copy);
  /* The original survives its copy. */
  ck_assert_uint_eq (member_of (event_at (s, 0), 0, 1).number, 3);
  ck_assert (dk_scenario_validate (s, NULL));
}
END_TEST

/* ---- robustness ---------------------------------------------------------------- */

/* Random deletions, insertions and replacements of characters never crash
 * the parser: the result either parses or is refused with "FILE:LINE: ". */
START_TEST (scenario_mutated_scripts_parse_or_fail_with_location)
{
  static const char alphabet[] = "{}()=,.-># \n\t0123456789nmsdcux_/r\x01\xff";
  /* Whole words of the language, so mutations also reach deep checks. */
  static const char *const vocabulary[] = {
    " at 1s ", " leave n9 ", " join n6 ", " join n1000000 ", " crash dc3 ", " n0 ", " dc0 ",
    " partition {dc1} {n2} ", " drop n1 -> dc2 ", " sweep nodes=1..3 ", " sweep r=1,2,3 ",
    " run 1us ", " settle 0s ", "\ncluster nodes=1 n=1 r=1 w=1\n", " exp(0us) ", " pareto(1us,0.01) ",
    " zipf(100) ", " hotspot(1,1) ", "=off", "=on", " 99999999999999999999 ", " 1e308 ",
    "\nlink n1 n7 loss=1\n", "\ndc dc1 dc1 dup=1\n", " rate 0/s ", " value=0 ", " keys=1 ",
  };
  const char *bases[] = { example_script, every_form_script };
  int iterations = dk_test_iterations (1500);
  int accepted = 0;
  for (int seed = 0; seed < iterations; seed++)
    {
      DkRng rng;
      dk_rng_init (&rng, (guint64) seed, 77);
      GString *text = g_string_new (bases[seed % 2]);
      guint mutations = 1 + (guint) dk_rng_below (&rng, 6);
      for (guint m = 0; m < mutations; m++)
        {
          gsize at = (gsize) dk_rng_below (&rng, text->len + 1);
          char c = alphabet[dk_rng_below (&rng, sizeof alphabet - 1)];
          switch (dk_rng_below (&rng, 4))
            {
            case 3:
              g_string_insert (text, (gssize) at,
                               vocabulary[dk_rng_below (&rng, G_N_ELEMENTS (vocabulary))]);
              break;
            case 0:
              if (at < text->len)
                g_string_erase (text, (gssize) at, 1);
              break;
            case 1:
              g_string_insert_c (text, (gssize) at, c);
              break;
            default:
              if (at < text->len)
                text->str[at] = c;
              break;
            }
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (DkScenario) s = dk_scenario_parse (text->str, "fuzz.scn", &error);
      if (s != NULL)
        {
          accepted++;
          g_autofree char *described = dk_scenario_describe (s);
          ck_assert (g_str_has_prefix (described, "seed="));
          g_autoptr (GPtrArray) combinations = dk_scenario_sweep_combinations (s);
          ck_assert_uint_ge (combinations->len, 1);
        }
      else
        {
          const char *p = error->message;
          ck_assert_msg (g_str_has_prefix (p, "fuzz.scn:"), "%s", p);
          p += strlen ("fuzz.scn:");
          ck_assert_msg (g_ascii_isdigit (*p), "%s", error->message);
          while (g_ascii_isdigit (*p))
            p++;
          ck_assert_msg (g_str_has_prefix (p, ": "), "%s", error->message);
          ck_assert (g_utf8_validate (error->message, -1, NULL));
        }
      g_string_free (text, TRUE);
    }
  /* Some mutations are harmless (inside comments, digits for digits), so a
   * full-size run must see both outcomes. */
  if (iterations >= 500)
    ck_assert_msg (accepted > 0 && accepted < iterations, "%d of %d accepted", accepted, iterations);
}
END_TEST

/* The workload's key names are "k" and the index in decimal, as printf
 * writes it: the edges of each digit count, the largest index, and many
 * random ones. */
START_TEST (key_dist_key_names_are_k_and_the_decimal_index)
{
  GRand *rand = g_rand_new_with_seed (3);
  int rounds = dk_test_iterations (20000);
  for (int round = 0; round < rounds + 22; round++)
    {
      guint32 index = round < 11 ? (round == 10 ? G_MAXUINT32 : (guint32) round * 7)
                      : round < 22 ? (guint32) (1ull << (3 * (round - 11))) - 1
                      : g_rand_int (rand) >> g_rand_int_range (rand, 0, 32);
      char name[DK_CLIENT_KEY_NAME_SIZE];
      gsize len = dk_client_key_name (index, name);
      g_autofree char *expected = g_strdup_printf ("k%u", index);
      ck_assert_str_eq (name, expected);
      ck_assert_uint_eq (len, strlen (expected));
    }
  g_rand_free (rand);
}
END_TEST

Suite *
scenario_suite (void)
{
  Suite *suite = suite_create ("scenario");

  TCase *dist = tcase_create ("dist");
  tcase_add_test (dist, dist_durations_take_units_and_decimals);
  tcase_add_test (dist, dist_every_form_parses_and_round_trips);
  tcase_add_test (dist, dist_malformed_text_is_refused_with_reason);
  tcase_add_test (dist, dist_sample_means_match_theory);
  tcase_add_test (dist, dist_same_seed_gives_same_samples);
  tcase_add_test (dist, dist_mixture_picks_components_by_probability);
  tcase_add_test (dist, key_dist_zipf_ranks_are_monotone_with_ratio_of_theory);
  tcase_add_test (dist, key_dist_hotspot_share_is_close_to_p);
  tcase_add_test (dist, key_dist_same_seed_same_keys_and_uniform_covers_all);
  tcase_add_test (dist, key_dist_key_names_are_k_and_the_decimal_index);
  suite_add_tcase (suite, dist);

  TCase *language = tcase_create ("language");
  tcase_add_test (language, scenario_example_parses_with_every_field_as_written);
  tcase_add_test (language, scenario_every_form_parses);
  tcase_add_test (language, scenario_defaults_are_the_documented_ones);
  tcase_add_test (language, scenario_events_sort_by_time_stably);
  tcase_add_test (language, scenario_dc_members_expand_to_their_nodes);
  tcase_add_test (language, scenario_loads_from_a_file_named_in_messages);
  tcase_add_test (language, scenario_metric_names_cover_the_contract);
  tcase_add_test (language, scenario_every_metric_name_is_known_to_the_runner);
  tcase_add_test (language, scenario_errors_name_file_line_and_culprit);
  tcase_add_test (language, scenario_comments_and_blank_lines_are_ignored);
  tcase_add_test (language, scenario_sweep_validates_each_run_not_the_base);
  suite_add_tcase (suite, language);

  TCase *overrides = tcase_create ("overrides");
  tcase_add_test (overrides, scenario_set_changes_the_named_field);
  tcase_add_test (overrides, scenario_set_rejects_bad_values_naming_the_key);
  tcase_add_test (overrides, scenario_parameters_round_trip_through_set);
  tcase_add_test (overrides, scenario_sweeps_expand_to_the_ordered_product);
  tcase_add_test (overrides, scenario_copy_is_deep);
  suite_add_tcase (suite, overrides);

  TCase *robustness = tcase_create ("robustness");
  tcase_add_test (robustness, scenario_mutated_scripts_parse_or_fail_with_location);
  suite_add_tcase (suite, robustness);
  return suite;
}
