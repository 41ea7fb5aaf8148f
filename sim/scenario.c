/* scenario.c — reading scenario scripts: the tokenizer, the statement
 * table, the metric vocabulary, sweeps, and the scenario's lifecycle.
 * See scenario.h for the language and scenario_private.h for how the
 * module's files divide the work.
 */
#include <string.h>
#include "scenario_private.h"

G_DEFINE_QUARK (dk-scenario-error-quark, dk_scenario_error)

/* The metrics an `expect` may name, in report order.  Adding a metric the
 * runner measures is one line here. */
static const char *const metric_names[] = {
  "availability",
  "get_availability",
  "put_availability",
  "ops",
  "ok_ops",
  "failed_ops",
  "stale_reads",
  "stale_read_count",
  "lost_writes",
  "lost_updates",
  "resurrected_deletes",
  "dot_collisions",
  "unchecked_writes",
  "under_replicated_writes",
  "acknowledged_writes",
  "conflicts",
  "max_siblings",
  "divergent_keys",
  "latency_p50_ms",
  "latency_p99_ms",
  "latency_p999_ms",
  "get_latency_p50_ms",
  "get_latency_p99_ms",
  "get_latency_p999_ms",
  "put_latency_p50_ms",
  "put_latency_p99_ms",
  "put_latency_p999_ms",
  "visibility_999_ms",
  "k_staleness_999",
  "minority_availability",
  "majority_availability",
  /* what the protocol cost and what each mechanism did (sim/run_metrics.c) */
  "messages",
  "bytes",
  "messages_per_op",
  "bytes_per_op",
  "messages_lost",
  "messages_cut",
  "read_repairs",
  "forwarded_requests",
  "dropped_datagrams",
  "gossip_messages",
  "gossip_bytes_per_round",
  "suspicions",
  "false_suspicions",
  "detection_time_ms",
  "sloppy_requests",
  "hints_kept",
  "hints_delivered",
  "hints_refused",
  "hints_pending",
  "stand_in_refusals",
  "failovers",
  "failover_resends",
  "peers_marked_unreachable",
  "contexts_refused",
  "context_entries_pruned",
  "node_dot_collisions",
  "sets_split",
  "pages_fetched",
  "sibling_limit_refusals",
  "merges_refused_siblings",
  "ae_sessions",
  "ae_keys_repaired",
  "ae_bytes",
  "ae_bytes_per_repaired_key",
  "ring_changes",
  "keys_moved",
  "keys_moved_ideal",
  "keys_moved_ratio",
  "last_repair_ms",
  "converge_ms",
  "members_max",
  "members_final",
  "autoscale_joins",
  "autoscale_leaves",
  "keys_swept",
  "keys_released",
  "writes_forwarded",
  "leave_waits",
  "leaves_pending",
  "sim_events",
  NULL
};

const char *const *
dk_scenario_metric_names (void)
{
  return metric_names;
}

static const char *const compare_ops[] = {
  [DK_COMPARE_EQ] = "==", [DK_COMPARE_NE] = "!=", [DK_COMPARE_LT] = "<",
  [DK_COMPARE_LE] = "<=", [DK_COMPARE_GT] = ">",  [DK_COMPARE_GE] = ">=",
};

const char *
dk_compare_op_to_string (DkCompareOp op)
{
  g_return_val_if_fail ((gsize) op < G_N_ELEMENTS (compare_ops), "?");
  return compare_ops[op];
}

gboolean
dk_expect_holds (const DkExpect *expect, double actual)
{
  switch (expect->op)
    {
    case DK_COMPARE_EQ: return actual == expect->value;
    case DK_COMPARE_NE: return actual != expect->value;
    case DK_COMPARE_LT: return actual < expect->value;
    case DK_COMPARE_LE: return actual <= expect->value;
    case DK_COMPARE_GT: return actual > expect->value;
    case DK_COMPARE_GE: return actual >= expect->value;
    }
  return FALSE;
}

void
dk_scenario_error_at (GError **error, const DkScenario *scenario, guint line,
                      DkScenarioError code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DK_SCENARIO_ERROR, code, "%s:%u: %s", scenario->name, MAX (line, 1u), message);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void
expect_free (DkExpect *expect)
{
  g_free (expect->metric);
  g_free (expect);
}

static void
sweep_free (DkSweep *sweep)
{
  g_free (sweep->key);
  g_strfreev (sweep->values);
  g_free (sweep);
}

static DkScenario *
scenario_new (const char *name)
{
  DkScenario *scenario = g_new0 (DkScenario, 1);
  scenario->name = g_strdup (name);
  scenario->network.links = g_ptr_array_new_with_free_func (g_free);
  scenario->events = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_event_free);
  scenario->expects = g_ptr_array_new_with_free_func ((GDestroyNotify) expect_free);
  scenario->sweeps = g_ptr_array_new_with_free_func ((GDestroyNotify) sweep_free);
  dk_scenario_apply_defaults (scenario);
  return scenario;
}

void
dk_scenario_free (DkScenario *scenario)
{
  if (scenario == NULL)
    return;
  g_free (scenario->name);
  g_ptr_array_unref (scenario->network.links);
  g_ptr_array_unref (scenario->events);
  g_ptr_array_unref (scenario->expects);
  g_ptr_array_unref (scenario->sweeps);
  g_free (scenario);
}

DkScenario *
dk_scenario_copy (const DkScenario *scenario)
{
  DkScenario *copy = scenario_new (scenario->name);
  /* Take every plain field, then replace the owned pointers. */
  GPtrArray *links = copy->network.links, *events = copy->events;
  GPtrArray *expects = copy->expects, *sweeps = copy->sweeps;
  char *name = copy->name;
  *copy = *scenario;
  copy->name = name;
  copy->network.links = links;
  copy->events = events;
  copy->expects = expects;
  copy->sweeps = sweeps;

  for (guint i = 0; i < scenario->network.links->len; i++)
    {
      DkLinkSpec *link_copy = g_new (DkLinkSpec, 1);
      *link_copy = *(const DkLinkSpec *) g_ptr_array_index (scenario->network.links, i);
      g_ptr_array_add (links, link_copy);
    }
  for (guint i = 0; i < scenario->events->len; i++)
    g_ptr_array_add (events, dk_event_copy (g_ptr_array_index (scenario->events, i)));
  for (guint i = 0; i < scenario->expects->len; i++)
    {
      const DkExpect *expect = g_ptr_array_index (scenario->expects, i);
      DkExpect *expect_copy = g_new (DkExpect, 1);
      *expect_copy = *expect;
      expect_copy->metric = g_strdup (expect->metric);
      g_ptr_array_add (expects, expect_copy);
    }
  for (guint i = 0; i < scenario->sweeps->len; i++)
    {
      const DkSweep *sweep = g_ptr_array_index (scenario->sweeps, i);
      DkSweep *sweep_copy = g_new (DkSweep, 1);
      sweep_copy->key = g_strdup (sweep->key);
      sweep_copy->values = g_strdupv (sweep->values);
      sweep_copy->line = sweep->line;
      g_ptr_array_add (sweeps, sweep_copy);
    }
  return copy;
}

/* ---- tokens ----------------------------------------------------------------- */

/* One statement: its words and its line.  Words are split at blanks, except
 * inside parentheses (so "uniform(1ms, 5ms)" stays one word); '{', '}' and
 * "->" are words of their own even when written without spaces. */
typedef struct
{
  guint line;
  GPtrArray *words;   /* char* */
} Statement;

/* Split one line (without its comment) into STATEMENT->words.  Scripts are
 * ASCII outside comments; anything else is refused here, so every later
 * message quotes printable text. */
static gboolean
tokenize_line (const char *text, Statement *statement, const DkScenario *scenario,
               GError **error)
{
  GString *word = g_string_new (NULL);
  int depth = 0;
  for (const char *p = text;; p++)
    {
      unsigned char c = (unsigned char) *p;
      gboolean blank = c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
      gboolean end = c == '\0';
      if (!end && !blank && (c < 0x21 || c > 0x7e))
        {
          g_string_free (word, TRUE);
          dk_scenario_error_at (error, scenario, statement->line, DK_SCENARIO_ERROR_SYNTAX,
                                "unexpected character (byte 0x%02x) in column %u; scripts are "
                                "ASCII outside comments", c, (guint) (p - text) + 1);
          return FALSE;
        }
      gboolean lone = depth == 0 && (c == '{' || c == '}' || (c == '-' && p[1] == '>'));
      if (end || (blank && depth == 0) || lone)
        {
          if (word->len > 0)
            g_ptr_array_add (statement->words, g_strdup (word->str));
          g_string_truncate (word, 0);
          if (lone)
            g_ptr_array_add (statement->words, g_strdup (c == '-' ? "->" : (c == '{' ? "{" : "}")));
          if (c == '-')
            p++;
          if (end)
            break;
          continue;
        }
      if (c == '(')
        depth++;
      else if (c == ')' && depth > 0)
        depth--;
      g_string_append_c (word, (char) c);
    }
  g_string_free (word, TRUE);
  return TRUE;
}

gboolean
dk_split_assignment (const char *word, char **key, char **value)
{
  const char *equals = strchr (word, '=');
  if (equals == NULL || equals == word || equals[1] == '\0')
    return FALSE;
  *key = g_strndup (word, (gsize) (equals - word));
  *value = g_strdup (equals + 1);
  return TRUE;
}

#define WORD(statement, i) ((const char *) g_ptr_array_index ((statement)->words, (i)))

/* ---- statements ------------------------------------------------------------- */

/* Each statement parser reads one line; errors it sets carry no location,
 * which parse_statement adds. */
typedef gboolean (*StatementParser) (DkScenario *scenario, const Statement *statement,
                                     GError **error);

/* Refuse a second occurrence of a statement that may appear once. */
static gboolean
check_once (guint *declared_line, const Statement *statement, GError **error)
{
  if (*declared_line != 0)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "'%s' given twice (first on line %u)", WORD (statement, 0), *declared_line);
      return FALSE;
    }
  *declared_line = statement->line;
  return TRUE;
}

static gboolean
parse_seed (DkScenario *scenario, const Statement *statement, GError **error)
{
  if (!check_once (&scenario->seed_line, statement, error))
    return FALSE;
  if (statement->words->len != 2)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected one number after 'seed', as in 'seed 42'");
      return FALSE;
    }
  if (!dk_setting_apply (scenario, dk_setting_lookup ("seed"), WORD (statement, 1), error))
    {
      g_prefix_error (error, "seed: ");
      return FALSE;
    }
  return TRUE;
}

/* KEY=VALUE words for one section (cluster, option, network, workload). */
static gboolean
parse_section_settings (DkScenario *scenario, const Statement *statement, const char *section,
                        GError **error)
{
  if (statement->words->len < 2 && strcmp (section, "option") == 0)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected key=value after 'option', as in 'option sloppy_quorum=on'");
      return FALSE;
    }
  for (guint i = 1; i < statement->words->len; i++)
    {
      g_autofree char *key = NULL, *value = NULL;
      if (!dk_split_assignment (WORD (statement, i), &key, &value))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected key=value after '%s', got '%s'", section, WORD (statement, i));
          return FALSE;
        }
      const DkSettingDescriptor *setting = dk_setting_lookup (key);
      if (setting == NULL || strcmp (dk_setting_section (setting), section) != 0)
        {
          g_autofree char *known = dk_settings_known (section);
          g_autofree char *elsewhere = setting != NULL
                                         ? g_strdup_printf (" ('%s' belongs in '%s')", key,
                                                            dk_setting_section (setting))
                                         : g_strdup ("");
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "unknown %s '%s'%s (known: %s)",
                       strcmp (section, "option") == 0 ? "option" : "setting", key, elsewhere,
                       known);
          return FALSE;
        }
      if (!dk_setting_apply (scenario, setting, value, error))
        {
          g_prefix_error (error, "%s=%s: ", key, value);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
parse_cluster (DkScenario *scenario, const Statement *statement, GError **error)
{
  return check_once (&scenario->cluster_line, statement, error)
         && parse_section_settings (scenario, statement, "cluster", error);
}

static gboolean
parse_option (DkScenario *scenario, const Statement *statement, GError **error)
{
  return parse_section_settings (scenario, statement, "option", error);
}

static gboolean
parse_network (DkScenario *scenario, const Statement *statement, GError **error)
{
  return check_once (&scenario->network_line, statement, error)
         && parse_section_settings (scenario, statement, "network", error);
}

static gboolean
parse_workload (DkScenario *scenario, const Statement *statement, GError **error)
{
  return check_once (&scenario->workload_line, statement, error)
         && parse_section_settings (scenario, statement, "workload", error);
}

/* link nA nB ... and dc dcA dcB ...: an override for one pair. */
static gboolean
parse_pair_override (DkScenario *scenario, const Statement *statement, GError **error)
{
  gboolean between_dcs = strcmp (WORD (statement, 0), "dc") == 0;
  const char *example = between_dcs ? "'dc dc1 dc2 latency=exp(40ms)'"
                                    : "'link n1 n2 latency=exp(5ms) loss=0.1'";
  if (statement->words->len < 4)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected two %s and at least one of latency=, loss=, dup=, as in %s",
                   between_dcs ? "datacenters" : "nodes", example);
      return FALSE;
    }
  DkLinkSpec link = { .between_dcs = between_dcs, .line = statement->line };
  guint *ends[] = { &link.a, &link.b };
  for (guint i = 0; i < 2; i++)
    {
      DkGroupMember member;
      if (!dk_group_member_parse (WORD (statement, i + 1), &member) || member.is_dc != between_dcs)
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected a %s name after '%s', got '%s'",
                       between_dcs ? "datacenter (dc2)" : "node (n3)", WORD (statement, 0),
                       WORD (statement, i + 1));
          return FALSE;
        }
      *ends[i] = member.number;
    }
  for (guint i = 3; i < statement->words->len; i++)
    {
      g_autofree char *key = NULL, *value = NULL;
      gboolean ok;
      if (!dk_split_assignment (WORD (statement, i), &key, &value))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected latency=, extra=, loss= or dup=, got '%s' (as in %s)",
                       WORD (statement, i), example);
          return FALSE;
        }
      if (strcmp (key, "latency") == 0)
        ok = link.has_latency = dk_parse_latency (value, &link.latency, error);
      else if (strcmp (key, "loss") == 0)
        ok = link.has_loss = dk_parse_probability (value, &link.loss, error);
      else if (strcmp (key, "dup") == 0)
        ok = link.has_dup = dk_parse_probability (value, &link.dup, error);
      else if (strcmp (key, "extra") == 0)
        ok = link.has_extra = dk_duration_parse (value, &link.extra_us, error);
      else
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "unknown %s setting '%s' (known: latency, extra, loss, dup)",
                       WORD (statement, 0), key);
          return FALSE;
        }
      if (!ok)
        {
          g_prefix_error (error, "%s=%s: ", key, value);
          return FALSE;
        }
    }
  DkLinkSpec *stored = g_new (DkLinkSpec, 1);
  *stored = link;
  g_ptr_array_add (scenario->network.links, stored);
  return TRUE;
}

/* "expected a duration after 'WHAT', got 'TEXT': problem" */
static gboolean
parse_duration_after (const char *what, const char *text, gint64 *out_us, GError **error)
{
  const char *problem = dk_duration_problem (text, out_us);
  if (problem != NULL)
    g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                 "expected a duration after '%s', got '%s': %s", what, text, problem);
  return problem == NULL;
}

static gboolean
parse_run (DkScenario *scenario, const Statement *statement, GError **error)
{
  if (!check_once (&scenario->run_line, statement, error))
    return FALSE;
  guint n = statement->words->len;
  if (n < 2)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected a duration after 'run', as in 'run 60s settle 10s'");
      return FALSE;
    }
  if (!parse_duration_after ("run", WORD (statement, 1), &scenario->run_us, error))
    return FALSE;
  if (scenario->run_us <= 0)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected a run duration above zero, got '%s'", WORD (statement, 1));
      return FALSE;
    }
  if (n == 2)
    return TRUE;
  if (n != 4 || strcmp (WORD (statement, 2), "settle") != 0)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected 'settle DURATION' or nothing after 'run %s', got '%s'",
                   WORD (statement, 1), WORD (statement, 2));
      return FALSE;
    }
  return parse_duration_after ("settle", WORD (statement, 3), &scenario->settle_us, error);
}

static gboolean
parse_at (DkScenario *scenario, const Statement *statement, GError **error)
{
  gint64 at_us;
  if (statement->words->len < 2)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected a time after 'at', as in 'at 10s crash n3'");
      return FALSE;
    }
  if (!parse_duration_after ("at", WORD (statement, 1), &at_us, error))
    return FALSE;
  if (statement->words->len < 3)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected an event after 'at %s', as in 'at 10s crash n3'", WORD (statement, 1));
      return FALSE;
    }
  DkEvent *event = dk_event_parse ((char **) statement->words->pdata + 2,
                                   statement->words->len - 2, at_us, statement->line, error);
  if (event == NULL)
    return FALSE;
  g_ptr_array_add (scenario->events, event);
  return TRUE;
}

static gboolean
parse_nemesis (DkScenario *scenario, const Statement *statement, GError **error)
{
  return check_once (&scenario->nemesis.line, statement, error)
         && dk_nemesis_parse (scenario, (char **) statement->words->pdata + 1,
                              statement->words->len - 1, statement->line, error);
}

static gboolean
parse_expect (DkScenario *scenario, const Statement *statement, GError **error)
{
  if (statement->words->len != 4)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected 'expect METRIC OP NUMBER', as in 'expect availability >= 0.99'");
      return FALSE;
    }
  const char *metric = WORD (statement, 1), *op = WORD (statement, 2), *number = WORD (statement, 3);
  if (!g_strv_contains (metric_names, metric))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) metric_names);
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "unknown metric '%s' (known: %s)", metric, known);
      return FALSE;
    }
  DkExpect expect = { .line = statement->line, .op = G_N_ELEMENTS (compare_ops) };
  for (gsize i = 0; i < G_N_ELEMENTS (compare_ops); i++)
    if (strcmp (compare_ops[i], op) == 0)
      expect.op = (DkCompareOp) i;
  if (expect.op == G_N_ELEMENTS (compare_ops))
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected a comparison (== != < <= > >=) after '%s', got '%s'", metric, op);
      return FALSE;
    }
  if (!dk_number_parse (number, &expect.value))
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected a number after '%s %s', got '%s'", metric, op, number);
      return FALSE;
    }
  expect.metric = g_strdup (metric);
  DkExpect *stored = g_new (DkExpect, 1);
  *stored = expect;
  g_ptr_array_add (scenario->expects, stored);
  return TRUE;
}

static gboolean
parse_sweep (DkScenario *scenario, const Statement *statement, GError **error)
{
  if (statement->words->len < 2)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected key=A..B or key=V1,V2,... after 'sweep', as in 'sweep r=1..3 w=1..3'");
      return FALSE;
    }
  for (guint i = 1; i < statement->words->len; i++)
    if (!dk_scenario_sweep_add (scenario, WORD (statement, i), statement->line, error))
      return FALSE;
  return TRUE;
}

/* One row per statement keyword; adding a statement is a parser and a row. */
static const struct
{
  const char *keyword;
  StatementParser parse;
} statement_forms[] = {
  { "seed", parse_seed },
  { "cluster", parse_cluster },
  { "option", parse_option },
  { "network", parse_network },
  { "link", parse_pair_override },
  { "dc", parse_pair_override },
  { "workload", parse_workload },
  { "at", parse_at },
  { "run", parse_run },
  { "nemesis", parse_nemesis },
  { "expect", parse_expect },
  { "sweep", parse_sweep },
};

static gboolean
parse_statement (DkScenario *scenario, const Statement *statement, GError **error)
{
  const char *keyword = WORD (statement, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (statement_forms); i++)
    if (strcmp (statement_forms[i].keyword, keyword) == 0)
      {
        if (statement_forms[i].parse (scenario, statement, error))
          return TRUE;
        g_prefix_error (error, "%s:%u: ", scenario->name, statement->line);
        return FALSE;
      }
  GString *known = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (statement_forms); i++)
    g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", statement_forms[i].keyword);
  dk_scenario_error_at (error, scenario, statement->line, DK_SCENARIO_ERROR_SYNTAX,
                        "unknown statement '%s' (known: %s)", keyword, known->str);
  g_string_free (known, TRUE);
  return FALSE;
}

/* Events by time, then by line: the stable order the runner replays. */
static gint
event_order (gconstpointer a, gconstpointer b)
{
  const DkEvent *x = *(const DkEvent *const *) a, *y = *(const DkEvent *const *) b;
  if (x->at_us != y->at_us)
    return x->at_us < y->at_us ? -1 : 1;
  return x->line < y->line ? -1 : (x->line > y->line);
}

DkScenario *
dk_scenario_parse (const char *text, const char *name, GError **error)
{
  g_return_val_if_fail (text != NULL && name != NULL, NULL);
  g_autoptr (DkScenario) scenario = scenario_new (name);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n_lines = g_strv_length (lines);
  /* A final newline does not start another line. */
  scenario->last_line = n_lines > 0 && lines[n_lines - 1][0] == '\0' ? n_lines - 1 : n_lines;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *comment = strchr (lines[i], '#');
      if (comment != NULL)
        *comment = '\0';
      Statement statement = { .line = i + 1, .words = g_ptr_array_new_with_free_func (g_free) };
      gboolean ok = tokenize_line (lines[i], &statement, scenario, error)
                    && (statement.words->len == 0 || parse_statement (scenario, &statement, error));
      g_ptr_array_unref (statement.words);
      if (!ok)
        return NULL;
    }
  g_ptr_array_sort (scenario->events, event_order);
  if (!dk_scenario_validate (scenario, error))
    return NULL;
  return g_steal_pointer (&scenario);
}

DkScenario *
dk_scenario_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) read_error = NULL;
  if (!g_file_get_contents (path, &text, NULL, &read_error))
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_IO, "%s: cannot read the scenario: %s",
                   path, read_error->message);
      return NULL;
    }
  return dk_scenario_parse (text, path, error);
}
