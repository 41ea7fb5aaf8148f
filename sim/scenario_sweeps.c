/* scenario_sweeps.c — `sweep` statements and --sweep: reading the value
 * lists, expanding their cartesian product in a fixed order, and checking
 * that every run of the product is a valid scenario.
 */
#include <string.h>
#include "scenario_private.h"

/* Sweep values: "A..B" (whole numbers, A <= B) or "V1,V2,..." (commas inside
 * parentheses do not split: "uniform,zipf(0.99),hotspot(0.1,0.9)"). */
static GStrv
sweep_values_parse (const char *text, GError **error)
{
  const char *dots = strstr (text, "..");
  if (dots != NULL && strchr (text, '(') == NULL)
    {
      g_autofree char *low_text = g_strndup (text, (gsize) (dots - text));
      guint64 low, high;
      if (!g_ascii_string_to_unsigned (low_text, 10, 0, G_MAXUINT32, &low, NULL)
          || !g_ascii_string_to_unsigned (dots + 2, 10, 0, G_MAXUINT32, &high, NULL))
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected a range of whole numbers such as 1..3, got '%s'", text);
          return NULL;
        }
      if (low > high || high - low >= DK_SCENARIO_MAX_SWEEP_RUNS)
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected a range A..B with A <= B and at most %d values, got '%s'",
                       DK_SCENARIO_MAX_SWEEP_RUNS, text);
          return NULL;
        }
      GPtrArray *values = g_ptr_array_new ();
      for (guint64 v = low; v <= high; v++)
        g_ptr_array_add (values, g_strdup_printf ("%" G_GUINT64_FORMAT, v));
      g_ptr_array_add (values, NULL);
      return (GStrv) g_ptr_array_free (values, FALSE);
    }

  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);
  int depth = 0;
  const char *start = text;
  for (const char *p = text;; p++)
    {
      if (*p == '(')
        depth++;
      else if (*p == ')' && depth > 0)
        depth--;
      if (*p == '\0' || (*p == ',' && depth == 0))
        {
          if (p == start)
            {
              g_ptr_array_unref (values);
              g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "expected values separated by single commas, got '%s'", text);
              return NULL;
            }
          g_ptr_array_add (values, g_strndup (start, (gsize) (p - start)));
          start = p + 1;
        }
      if (*p == '\0')
        break;
    }
  g_ptr_array_add (values, NULL);
  g_ptr_array_set_free_func (values, NULL);
  return (GStrv) g_ptr_array_free (values, FALSE);
}

/* Add one KEY=VALUES sweep from WORD, checking the key and every value. */
gboolean
dk_scenario_sweep_add (DkScenario *scenario, const char *word, guint line, GError **error)
{
  g_autofree char *key = NULL, *spec = NULL;
  if (!dk_split_assignment (word, &key, &spec))
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected key=A..B or key=V1,V2,... (as in 'sweep r=1..3'), got '%s'", word);
      return FALSE;
    }
  const DkSettingDescriptor *setting = dk_setting_lookup (key);
  if (setting == NULL)
    {
      g_autofree char *known = dk_settings_known (NULL);
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "sweep of unknown setting '%s' (known: %s)", key, known);
      return FALSE;
    }
  for (guint i = 0; i < scenario->sweeps->len; i++)
    if (strcmp (((DkSweep *) g_ptr_array_index (scenario->sweeps, i))->key, key) == 0)
      {
        g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                     "'%s' is swept twice", key);
        return FALSE;
      }
  g_auto (GStrv) values = sweep_values_parse (spec, error);
  if (values == NULL)
    {
      g_prefix_error (error, "sweep %s: ", key);
      return FALSE;
    }
  for (char **value = values; *value != NULL; value++)
    if (!dk_setting_check (setting, *value, error))
      {
        g_prefix_error (error, "sweep %s=%s: ", key, *value);
        return FALSE;
      }
  DkSweep *sweep = g_new (DkSweep, 1);
  sweep->key = g_steal_pointer (&key);
  sweep->values = g_steal_pointer (&values);
  sweep->line = line;
  g_ptr_array_add (scenario->sweeps, sweep);
  return TRUE;
}

gboolean
dk_scenario_add_sweep (DkScenario *scenario, const char *spec, GError **error)
{
  if (!dk_scenario_sweep_add (scenario, spec, 0, error))
    {
      g_prefix_error (error, "--sweep %s: ", spec);
      return FALSE;
    }
  return TRUE;
}

/* ---- sweeps -------------------------------------------------------------------- */

static void
combination_free (gpointer combination)
{
  g_ptr_array_unref (combination);
}

GPtrArray *
dk_scenario_sweep_combinations (const DkScenario *scenario)
{
  GPtrArray *combinations = g_ptr_array_new_with_free_func (combination_free);
  guint n_sweeps = scenario->sweeps->len;
  g_autofree guint *position = g_new0 (guint, n_sweeps + 1);
  /* An odometer over the sweeps, the last one turning fastest. */
  for (;;)
    {
      GPtrArray *combination = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_setting_free);
      for (guint s = 0; s < n_sweeps; s++)
        {
          const DkSweep *sweep = g_ptr_array_index (scenario->sweeps, s);
          DkSetting *setting = g_new (DkSetting, 1);
          setting->key = g_strdup (sweep->key);
          setting->value = g_strdup (sweep->values[position[s]]);
          g_ptr_array_add (combination, setting);
        }
      g_ptr_array_add (combinations, combination);
      guint s = n_sweeps;
      while (s > 0)
        {
          const DkSweep *sweep = g_ptr_array_index (scenario->sweeps, s - 1);
          if (sweep->values[++position[s - 1]] != NULL)
            break;
          position[s - 1] = 0;
          s--;
        }
      if (s == 0)
        return combinations;
    }
}

/* The copy with COMBINATION applied, not yet validated. */
static DkScenario *
apply_combination (const DkScenario *scenario, const GPtrArray *combination, GError **error)
{
  g_autoptr (DkScenario) copy = dk_scenario_copy (scenario);
  g_ptr_array_set_size (copy->sweeps, 0);
  for (guint i = 0; i < combination->len; i++)
    {
      const DkSetting *setting = g_ptr_array_index (combination, i);
      if (!dk_scenario_set (copy, setting->key, setting->value, error))
        return NULL;
    }
  return g_steal_pointer (&copy);
}

DkScenario *
dk_scenario_with_combination (const DkScenario *scenario, const GPtrArray *combination,
                              GError **error)
{
  g_autoptr (DkScenario) copy = apply_combination (scenario, combination, error);
  if (copy == NULL || !dk_scenario_validate_one (copy, error))
    return NULL;
  return g_steal_pointer (&copy);
}

/* "r=1 w=3" for messages. */
static char *
combination_to_string (const GPtrArray *combination)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < combination->len; i++)
    {
      const DkSetting *setting = g_ptr_array_index (combination, i);
      g_string_append_printf (text, "%s%s=%s", i > 0 ? " " : "", setting->key, setting->value);
    }
  return g_string_free (text, FALSE);
}

gboolean
dk_scenario_validate (const DkScenario *scenario, GError **error)
{
  g_return_val_if_fail (scenario != NULL, FALSE);
  if (scenario->sweeps->len == 0)
    return dk_scenario_validate_one (scenario, error);

  /* With sweeps, what runs is each combination, so each must be valid;
   * a problem that does not depend on the sweep is reported as is. */
  guint64 runs = 1;
  guint last_sweep_line = 0;
  for (guint i = 0; i < scenario->sweeps->len; i++)
    {
      const DkSweep *sweep = g_ptr_array_index (scenario->sweeps, i);
      runs *= g_strv_length (sweep->values);
      last_sweep_line = MAX (last_sweep_line, sweep->line);
      if (runs > DK_SCENARIO_MAX_SWEEP_RUNS)
        {
          dk_scenario_error_at (error, scenario, sweep->line, DK_SCENARIO_ERROR_INVALID,
                                "the sweeps ask for more than %d runs", DK_SCENARIO_MAX_SWEEP_RUNS);
          return FALSE;
        }
    }
  g_autoptr (GError) base_error = NULL;
  dk_scenario_validate_one (scenario, &base_error);
  g_autoptr (GPtrArray) combinations = dk_scenario_sweep_combinations (scenario);
  for (guint i = 0; i < combinations->len; i++)
    {
      const GPtrArray *combination = g_ptr_array_index (combinations, i);
      g_autoptr (GError) run_error = NULL;
      g_autoptr (DkScenario) run = apply_combination (scenario, combination, &run_error);
      if (run != NULL && dk_scenario_validate_one (run, &run_error))
        continue;
      if (base_error != NULL && strcmp (base_error->message, run_error->message) == 0)
        {
          g_propagate_error (error, g_steal_pointer (&run_error));
          return FALSE;
        }
      g_autofree char *described = combination_to_string (combination);
      if (last_sweep_line == 0)
        g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_INVALID,
                     "--sweep: the run with %s is invalid: %s", described, run_error->message);
      else
        dk_scenario_error_at (error, scenario, last_sweep_line, DK_SCENARIO_ERROR_INVALID,
                              "the sweep run with %s is invalid: %s", described,
                              run_error->message);
      return FALSE;
    }
  return TRUE;
}
