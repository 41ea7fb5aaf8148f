/* scenario_private.h — what the scenario module's files share, and no one
 * else uses.
 *
 *   scenario.c           lifecycle, tokenizer, statements, metrics
 *   scenario_sweeps.c    sweep values, their product, checking every run
 *   scenario_settings.c  the registry of KEY=VALUE settings and value syntax
 *   scenario_events.c    the registry of `at T EVENT` events
 *   scenario_validate.c  checks that relate parts, node and datacenter names
 *   scenario_nemesis.c   the `nemesis` statement
 *
 * Helpers that parse one piece of text set errors *without* a location;
 * the statement loop in scenario.c prefixes "FILE:LINE: " to them.
 */
#ifndef DK_SCENARIO_PRIVATE_H
#define DK_SCENARIO_PRIVATE_H

#include "scenario.h"

G_BEGIN_DECLS

/* Set ERROR to "NAME:LINE: <message>" (LINE at least 1). */
void dk_scenario_error_at (GError **error, const DkScenario *scenario, guint line,
                           DkScenarioError code, const char *format, ...) G_GNUC_PRINTF (5, 6);

/* Split "key=value" into fresh halves; FALSE when WORD is not of that form
 * (no '=', or an empty key or value). */
gboolean dk_split_assignment (const char *word, char **key, char **value);

/* ---- sweeps (scenario_sweeps.c) ------------------------------------------ */

/* Add the sweep written as WORD ("r=1..3") on LINE (0: command line),
 * checking the key, the syntax and every value; unlocated errors. */
gboolean dk_scenario_sweep_add (DkScenario *scenario, const char *word, guint line, GError **error);

/* ---- settings (scenario_settings.c) ------------------------------------- */

typedef struct _DkSettingDescriptor DkSettingDescriptor;

/* The descriptor of setting KEY, or NULL. */
const DkSettingDescriptor *dk_setting_lookup (const char *key);

/* The section a setting belongs to: "seed", "cluster", "option", "network",
 * "workload" or "run". */
const char *dk_setting_section (const DkSettingDescriptor *setting);

/* ", "-separated names of the settings of SECTION, for messages. */
char *dk_settings_known (const char *section);

/* Check VALUE for SETTING without storing it; error "expected ..., got 'VALUE'". */
gboolean dk_setting_check (const DkSettingDescriptor *setting, const char *value, GError **error);

/* Apply VALUE to SETTING in SCENARIO; the scenario is unchanged on error. */
gboolean dk_setting_apply (DkScenario *scenario, const DkSettingDescriptor *setting,
                           const char *value, GError **error);

/* Give every setting its documented default. */
void dk_scenario_apply_defaults (DkScenario *scenario);

/* Value syntax shared with events and links; errors say what was expected. */
gboolean dk_parse_probability (const char *text, double *out, GError **error);
gboolean dk_parse_rate (const char *text, double *out_per_s, GError **error);
/* dk_dist_parse, with its message moved into DK_SCENARIO_ERROR. */
gboolean dk_parse_latency (const char *text, DkDist *out, GError **error);

/* ---- events (scenario_events.c) ---------------------------------------- */

/* Parse the words after `at T` (WORDS[0] is the event name) into a new
 * event at AT_US on LINE.  NULL and an unlocated ERROR when malformed. */
DkEvent *dk_event_parse (char **words, guint n_words, gint64 at_us, guint line, GError **error);
DkEvent *dk_event_copy (const DkEvent *event);

/* Parse "n3" or "dc2"; FALSE when TEXT is neither. */
gboolean dk_group_member_parse (const char *text, DkGroupMember *out);

/* "n3" or "dc2" for MEMBER.  Free with g_free. */
char *dk_group_member_to_string (const DkGroupMember *member);

/* Largest node number any `join` event names (0 when none). */
guint dk_events_max_joined_node (const GPtrArray *events);

/* ---- the nemesis (scenario_nemesis.c) ------------------------------------- */

/* Read the words after `nemesis` into SCENARIO->nemesis (LINE its line);
 * unlocated errors naming the offending word. */
gboolean dk_nemesis_parse (DkScenario *scenario, char **args, guint n_args, guint line,
                           GError **error);

/* Check the nemesis against the run: from and until within it, from
 * before until; errors located at the nemesis line. */
gboolean dk_nemesis_validate (const DkScenario *scenario, GError **error);

/* ---- validation (scenario_validate.c) ------------------------------------ */

/* dk_scenario_validate without the sweeps. */
gboolean dk_scenario_validate_one (const DkScenario *scenario, GError **error);

G_END_DECLS

#endif /* DK_SCENARIO_PRIVATE_H */
