/* scenario_nemesis.c — the `nemesis` statement: random faults the seed
 * draws (see scenario.h for the language, nemesis.h for the drawing).
 *
 *   nemesis [every=DURATION] [duration=DURATION] [kinds=KIND,...]
 *           [from=T] [until=T]
 *
 * This file only reads and checks the line into DkNemesisSpec; which
 * faults a seed gives is sim/nemesis.c's business.
 */
#include <string.h>
#include "scenario_private.h"

static const char *const kind_names[DK_NEMESIS_N_KINDS] = {
  [DK_NEMESIS_PARTITION] = "partition",
  [DK_NEMESIS_CRASH] = "crash",
  [DK_NEMESIS_WIPE] = "wipe",
  [DK_NEMESIS_LOSS] = "loss",
  [DK_NEMESIS_DROP] = "drop",
  [DK_NEMESIS_LATENCY] = "latency",
  [DK_NEMESIS_RECRASH] = "recrash",
};

#define DEFAULT_EVERY_US (5 * DK_US_PER_S)
#define DEFAULT_DURATION_US (3 * DK_US_PER_S)
#define DEFAULT_KINDS (DK_NEMESIS_KIND_BIT (DK_NEMESIS_PARTITION) \
                       | DK_NEMESIS_KIND_BIT (DK_NEMESIS_CRASH)   \
                       | DK_NEMESIS_KIND_BIT (DK_NEMESIS_LOSS))

const char *
dk_nemesis_kind_name (DkNemesisKind kind)
{
  g_return_val_if_fail ((guint) kind < DK_NEMESIS_N_KINDS, "?");
  return kind_names[kind];
}

static char *
known_kinds (void)
{
  return g_strjoinv (",", (char **) kind_names);
}

/* "partition,crash" into a set of kind bits; an unknown or repeated name
 * is an error naming it. */
static gboolean
parse_kinds (const char *text, guint *out, GError **error)
{
  g_auto (GStrv) names = g_strsplit (text, ",", -1);
  guint kinds = 0;
  for (char **name = names; *name != NULL; name++)
    {
      guint kind = DK_NEMESIS_N_KINDS;
      for (guint k = 0; k < DK_NEMESIS_N_KINDS; k++)
        if (strcmp (kind_names[k], *name) == 0)
          kind = k;
      if (kind == DK_NEMESIS_N_KINDS)
        {
          g_autofree char *known = known_kinds ();
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected fault kinds among %s separated by commas, got '%s'", known,
                       (*name)[0] == '\0' ? text : *name);
          return FALSE;
        }
      if (kinds & DK_NEMESIS_KIND_BIT (kind))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "fault kind '%s' is listed twice", *name);
          return FALSE;
        }
      kinds |= DK_NEMESIS_KIND_BIT (kind);
    }
  *out = kinds;
  return TRUE;
}

/* A duration above zero (every, duration, until) or at least zero (from). */
static gboolean
parse_time (const char *text, gboolean zero_ok, gint64 *out_us, GError **error)
{
  const char *problem = dk_duration_problem (text, out_us);
  if (problem != NULL)
    g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                 "expected a duration such as 500ms or 5s, got '%s': %s", text, problem);
  else if (!zero_ok && *out_us == 0)
    g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                 "expected a duration above zero, got '%s'", text);
  return problem == NULL && (zero_ok || *out_us > 0);
}

gboolean
dk_nemesis_parse (DkScenario *scenario, char **args, guint n_args, guint line, GError **error)
{
  static const char *const keys[] = { "every", "duration", "kinds", "from", "until" };
  DkNemesisSpec spec = {
    .enabled = TRUE,
    .every_us = DEFAULT_EVERY_US,
    .duration_us = DEFAULT_DURATION_US,
    .kinds = DEFAULT_KINDS,
    .line = line,
  };
  guint seen = 0;
  for (guint i = 0; i < n_args; i++)
    {
      g_autofree char *key = NULL, *value = NULL;
      if (!dk_split_assignment (args[i], &key, &value))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected key=value after 'nemesis' (every=, duration=, kinds=, from=, "
                       "until=), as in 'nemesis every=2s duration=3s kinds=crash,partition', "
                       "got '%s'", args[i]);
          return FALSE;
        }
      guint index = G_N_ELEMENTS (keys);
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        if (strcmp (keys[k], key) == 0)
          index = k;
      if (index == G_N_ELEMENTS (keys))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "unknown nemesis setting '%s' (known: every, duration, kinds, from, until)",
                       key);
          return FALSE;
        }
      if (seen & (1u << index))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "nemesis setting '%s' given twice", key);
          return FALSE;
        }
      seen |= 1u << index;
      gboolean ok;
      switch (index)
        {
        case 0: ok = parse_time (value, FALSE, &spec.every_us, error); break;
        case 1: ok = parse_time (value, FALSE, &spec.duration_us, error); break;
        case 2: ok = parse_kinds (value, &spec.kinds, error); break;
        case 3: ok = parse_time (value, TRUE, &spec.from_us, error); break;
        default: ok = parse_time (value, FALSE, &spec.until_us, error); break;
        }
      if (!ok)
        {
          g_prefix_error (error, "nemesis %s=%s: ", key, value);
          return FALSE;
        }
    }
  scenario->nemesis = spec;
  return TRUE;
}

gint64
dk_scenario_nemesis_until_us (const DkScenario *scenario)
{
  return scenario->nemesis.until_us > 0 ? scenario->nemesis.until_us : scenario->run_us;
}

gboolean
dk_nemesis_validate (const DkScenario *scenario, GError **error)
{
  const DkNemesisSpec *spec = &scenario->nemesis;
  if (!spec->enabled)
    return TRUE;
  gint64 until = dk_scenario_nemesis_until_us (scenario);
  g_autofree char *run = dk_duration_to_string (scenario->run_us);
  g_autofree char *until_text = dk_duration_to_string (until);
  g_autofree char *from_text = dk_duration_to_string (spec->from_us);
  if (until > scenario->run_us)
    {
      dk_scenario_error_at (error, scenario, spec->line, DK_SCENARIO_ERROR_INVALID,
                            "nemesis until=%s comes after the end of the run (run %s)",
                            until_text, run);
      return FALSE;
    }
  if (spec->from_us >= until)
    {
      dk_scenario_error_at (error, scenario, spec->line, DK_SCENARIO_ERROR_INVALID,
                            "nemesis from=%s must come before %s%s", from_text,
                            spec->until_us > 0 ? "until=" : "the end of the run at ", until_text);
      return FALSE;
    }
  return TRUE;
}

char *
dk_nemesis_spec_to_string (const DkNemesisSpec *spec)
{
  g_autofree char *every = dk_duration_to_string (spec->every_us);
  g_autofree char *duration = dk_duration_to_string (spec->duration_us);
  g_autofree char *from = dk_duration_to_string (spec->from_us);
  GString *text = g_string_new (NULL);
  g_string_append_printf (text, "nemesis every=%s duration=%s kinds=", every, duration);
  const char *separator = "";
  for (guint k = 0; k < DK_NEMESIS_N_KINDS; k++)
    if (spec->kinds & DK_NEMESIS_KIND_BIT (k))
      {
        g_string_append_printf (text, "%s%s", separator, kind_names[k]);
        separator = ",";
      }
  g_string_append_printf (text, " from=%s", from);
  if (spec->until_us > 0)
    {
      g_autofree char *until = dk_duration_to_string (spec->until_us);
      g_string_append_printf (text, " until=%s", until);
    }
  return g_string_free (text, FALSE);
}
