/* scenario_events.c — the `at T EVENT` vocabulary.
 *
 * One row of `event_forms` per event: its name, its kind, an example for
 * messages and the function that reads its arguments.  Adding an event is
 * a DkEventKind, a row and (when its arguments are new) a parser.  Parsers
 * check form only; whether the nodes and datacenters named exist at that
 * time is scenario_validate.c's business, once the whole file is read.
 */
#include <string.h>
#include "scenario_private.h"

/* Read ARGS (the words after the event name) into EVENT. */
typedef gboolean (*EventArgsParser) (DkEvent *event, char **args, guint n_args, GError **error);

typedef struct
{
  const char *name;
  DkEventKind kind;
  const char *example;
  EventArgsParser parse_args;
} EventForm;

static gboolean parse_no_args (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_partition (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_drop (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_target (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_node (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_latency (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_probability (DkEvent *event, char **args, guint n_args, GError **error);
static gboolean parse_rate (DkEvent *event, char **args, guint n_args, GError **error);

static const EventForm event_forms[] = {
  { "partition", DK_EVENT_PARTITION, "partition {n1 n2} {n3 n4 n5}", parse_partition },
  { "drop", DK_EVENT_DROP, "drop n1 -> n2", parse_drop },
  { "heal", DK_EVENT_HEAL, "heal", parse_no_args },
  { "crash", DK_EVENT_CRASH, "crash n3", parse_target },
  { "restart", DK_EVENT_RESTART, "restart n3", parse_target },
  { "wipe", DK_EVENT_WIPE, "wipe n3", parse_target },
  { "join", DK_EVENT_JOIN, "join n6", parse_node },
  { "leave", DK_EVENT_LEAVE, "leave n2", parse_node },
  { "latency", DK_EVENT_LATENCY, "latency exp(5ms)", parse_latency },
  { "loss", DK_EVENT_LOSS, "loss 0.01", parse_probability },
  { "dup", DK_EVENT_DUP, "dup 0.01", parse_probability },
  { "rate", DK_EVENT_RATE, "rate 500/s", parse_rate },
};

static const EventForm *
event_form_for_kind (DkEventKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (event_forms); i++)
    if (event_forms[i].kind == kind)
      return &event_forms[i];
  g_return_val_if_reached (&event_forms[0]);
}

const char *
dk_event_kind_name (DkEventKind kind)
{
  return event_form_for_kind (kind)->name;
}

/* ---- members and groups ---------------------------------------------------- */

/* Largest number a node or datacenter name may carry (the most nodes a
 * cluster may have). */
#define MAX_MEMBER_NUMBER 10000u

gboolean
dk_group_member_parse (const char *text, DkGroupMember *out)
{
  gboolean is_dc = g_str_has_prefix (text, "dc");
  const char *digits = text + (is_dc ? 2 : 1);
  if (!is_dc && text[0] != 'n')
    return FALSE;
  if (digits[0] == '0')  /* no leading zeros: n01 is not n1 */
    return FALSE;
  guint64 number;
  if (!g_ascii_string_to_unsigned (digits, 10, 1, MAX_MEMBER_NUMBER, &number, NULL))
    return FALSE;
  out->is_dc = is_dc;
  out->number = (guint) number;
  return TRUE;
}

char *
dk_group_member_to_string (const DkGroupMember *member)
{
  return g_strdup_printf ("%s%u", member->is_dc ? "dc" : "n", member->number);
}

static DkGroup *
group_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (DkGroupMember));
}

/* Append TEXT as a member of GROUP; NODES_ONLY refuses datacenters. */
static gboolean
group_add (DkGroup *group, const char *text, gboolean nodes_only, GError **error)
{
  DkGroupMember member;
  if (!dk_group_member_parse (text, &member) || (nodes_only && member.is_dc))
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected %s, got '%s'",
                   nodes_only ? "a node name such as n3" : "a node (n3) or datacenter (dc2) name",
                   text);
      return FALSE;
    }
  g_array_append_val (group, member);
  return TRUE;
}

static gboolean
expect_args (guint n_args, guint wanted, const DkEvent *event, GError **error)
{
  if (n_args == wanted)
    return TRUE;
  const EventForm *form = event_form_for_kind (event->kind);
  g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
               "%s takes %u argument%s, as in 'at 10s %s', got %u", form->name, wanted,
               wanted == 1 ? "" : "s", form->example, n_args);
  return FALSE;
}

/* ---- argument parsers ------------------------------------------------------- */

static gboolean
parse_no_args (DkEvent *event, char **args, guint n_args, GError **error)
{
  return expect_args (n_args, 0, event, error);
}

/* {A B} {C D E} ...: two or more non-empty brace groups and nothing else. */
static gboolean
parse_partition (DkEvent *event, char **args, guint n_args, GError **error)
{
  guint i = 0;
  while (i < n_args)
    {
      if (strcmp (args[i], "{") != 0)
        {
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "partition: expected '{' to open a group, got '%s' "
                       "(write groups as {n1 n2} {n3 n4 n5})", args[i]);
          return FALSE;
        }
      DkGroup *group = group_new ();
      g_ptr_array_add (event->groups, group);
      for (i++; i < n_args && strcmp (args[i], "}") != 0; i++)
        if (strcmp (args[i], "{") == 0)
          {
            g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                                 "partition: expected '}' before the next '{' (groups do not nest)");
            return FALSE;
          }
        else if (!group_add (group, args[i], FALSE, error))
          {
            g_prefix_error (error, "partition: ");
            return FALSE;
          }
      if (i == n_args)
        {
          g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                               "partition: expected '}' to close the last group");
          return FALSE;
        }
      if (group->len == 0)
        {
          g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                               "partition: expected a node or datacenter inside '{}', got an empty group");
          return FALSE;
        }
      i++;  /* past '}' */
    }
  if (event->groups->len < 2)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "partition: expected two or more groups such as {n1 n2} {n3 n4 n5}, got %u",
                   event->groups->len);
      return FALSE;
    }
  return TRUE;
}

/* A -> B */
static gboolean
parse_drop (DkEvent *event, char **args, guint n_args, GError **error)
{
  if (n_args != 3 || strcmp (args[1], "->") != 0)
    {
      g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                           "drop: expected 'drop A -> B' such as 'drop n1 -> n2'");
      return FALSE;
    }
  for (guint i = 0; i < 3; i += 2)
    {
      DkGroup *side = group_new ();
      g_ptr_array_add (event->groups, side);
      if (!group_add (side, args[i], FALSE, error))
        {
          g_prefix_error (error, "drop: ");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
parse_one_member (DkEvent *event, char **args, guint n_args, gboolean nodes_only, GError **error)
{
  if (!expect_args (n_args, 1, event, error))
    return FALSE;
  DkGroup *target = group_new ();
  g_ptr_array_add (event->groups, target);
  if (!group_add (target, args[0], nodes_only, error))
    {
      g_prefix_error (error, "%s: ", dk_event_kind_name (event->kind));
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_target (DkEvent *event, char **args, guint n_args, GError **error)
{
  return parse_one_member (event, args, n_args, FALSE, error);
}

static gboolean
parse_node (DkEvent *event, char **args, guint n_args, GError **error)
{
  return parse_one_member (event, args, n_args, TRUE, error);
}

static gboolean
parse_latency (DkEvent *event, char **args, guint n_args, GError **error)
{
  if (!expect_args (n_args, 1, event, error))
    return FALSE;
  if (!dk_parse_latency (args[0], &event->latency, error))
    {
      g_prefix_error (error, "latency: ");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_probability (DkEvent *event, char **args, guint n_args, GError **error)
{
  if (!expect_args (n_args, 1, event, error))
    return FALSE;
  if (!dk_parse_probability (args[0], &event->probability, error))
    {
      g_prefix_error (error, "%s: ", dk_event_kind_name (event->kind));
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_rate (DkEvent *event, char **args, guint n_args, GError **error)
{
  if (!expect_args (n_args, 1, event, error))
    return FALSE;
  if (!dk_parse_rate (args[0], &event->rate_per_s, error))
    {
      g_prefix_error (error, "rate: ");
      return FALSE;
    }
  return TRUE;
}

/* ---- events ------------------------------------------------------------------ */

DkEvent *
dk_event_new (DkEventKind kind, gint64 at_us, guint line)
{
  DkEvent *event = g_new0 (DkEvent, 1);
  event->kind = kind;
  event->at_us = at_us;
  event->line = line;
  event->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  return event;
}

DkEvent *
dk_event_parse (char **words, guint n_words, gint64 at_us, guint line, GError **error)
{
  g_return_val_if_fail (n_words >= 1, NULL);
  const EventForm *form = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (event_forms); i++)
    if (strcmp (event_forms[i].name, words[0]) == 0)
      form = &event_forms[i];
  if (form == NULL)
    {
      GString *known = g_string_new (NULL);
      for (gsize i = 0; i < G_N_ELEMENTS (event_forms); i++)
        g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", event_forms[i].name);
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "unknown event '%s' (known: %s)", words[0], known->str);
      g_string_free (known, TRUE);
      return NULL;
    }
  DkEvent *event = dk_event_new (form->kind, at_us, line);
  if (!form->parse_args (event, words + 1, n_words - 1, error))
    {
      dk_event_free (event);
      return NULL;
    }
  return event;
}

DkEvent *
dk_event_copy (const DkEvent *event)
{
  DkEvent *copy = dk_event_new (event->kind, event->at_us, event->line);
  copy->latency = event->latency;
  copy->probability = event->probability;
  copy->rate_per_s = event->rate_per_s;
  for (guint i = 0; i < event->groups->len; i++)
    {
      const DkGroup *group = g_ptr_array_index (event->groups, i);
      DkGroup *group_copy = group_new ();
      g_array_append_vals (group_copy, group->data, group->len);
      g_ptr_array_add (copy->groups, group_copy);
    }
  return copy;
}

void
dk_event_free (DkEvent *event)
{
  if (event == NULL)
    return;
  g_ptr_array_unref (event->groups);
  g_free (event);
}

guint
dk_events_max_joined_node (const GPtrArray *events)
{
  guint highest = 0;
  for (guint i = 0; i < events->len; i++)
    {
      const DkEvent *event = g_ptr_array_index (events, i);
      if (event->kind != DK_EVENT_JOIN)
        continue;
      const DkGroup *group = g_ptr_array_index (event->groups, 0);
      highest = MAX (highest, g_array_index (group, DkGroupMember, 0).number);
    }
  return highest;
}
