/* fault_spans.c — faults.log read back as intervals for the report's
 * charts and diagram and the gnuplot plots; see fault_spans.h. */
#include "fault_spans.h"

#include <string.h>

static void
fault_span_clear (gpointer data)
{
  DkFaultSpan *span = data;
  g_free (span->label);
  g_free (span->detail);
}

typedef struct
{
  GArray *spans;          /* of DkFaultSpan, in log order of their start */
  gint    partition;      /* index of the open partition span, or -1 */
  gint    drops;          /* ... of the open one-way drops */
  GHashTable *crashes;    /* node name -> index + 1 of its open crash span (lookups only) */
  gint    network[3];     /* open latency, loss, dup spans */
} FaultParse;

static gint
span_open (FaultParse *parse, double t, const char *label, const char *detail, const char *kind,
           gboolean moment)
{
  DkFaultSpan span = { t, moment ? -1 : t, g_strdup (label), g_strdup (detail), kind };
  g_array_append_val (parse->spans, span);
  return (gint) parse->spans->len - 1;
}

static void
span_close (FaultParse *parse, gint *index, double t)
{
  if (*index < 0)
    return;
  g_array_index (parse->spans, DkFaultSpan, *index).to_s = t;
  *index = -1;
}

/* The network settings the run ends with (its defaults, which the lines
 * after "run ends" restore): a change back to them closes an interval
 * without opening one. */
static void
read_restored (char **lines, char *restored[3])
{
  static const char *const names[3] = { "fault latency ", "fault loss ", "fault dup " };
  gboolean after_end = FALSE;
  for (char **line = lines; *line != NULL; line++)
    {
      const char *text = strchr (*line, ' ');
      if (text == NULL)
        continue;
      text++;
      if (g_str_has_prefix (text, "run ends"))
        after_end = TRUE;
      for (guint k = 0; k < 3 && after_end; k++)
        if (g_str_has_prefix (text, names[k]))
          {
            g_free (restored[k]);
            restored[k] = g_strdup (text + strlen (names[k]));
          }
    }
}

/* Turn the fault log into intervals: a partition or drops until the heal
 * (or the next partition), a crash until its restart, a latency, loss or
 * dup change until the next one; everything else is a moment.  Intervals
 * still open at the end of the run close there. */
GArray *
dk_fault_spans_parse (const char *log, double run_end_s)
{
  FaultParse parse = { .partition = -1, .drops = -1, .network = { -1, -1, -1 } };
  parse.spans = g_array_new (FALSE, TRUE, sizeof (DkFaultSpan));
  g_array_set_clear_func (parse.spans, fault_span_clear);
  parse.crashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = g_strsplit (log != NULL ? log : "", "\n", -1);
  char *restored[3] = { NULL, NULL, NULL };
  read_restored (lines, restored);
  gboolean after_end = FALSE;
  for (char **line = lines; *line != NULL; line++)
    {
      char *end;
      double t = g_ascii_strtod (*line, &end);
      if (end == *line || *end != ' ')
        continue;
      const char *text = end + 1;
      if (g_str_has_prefix (text, "run ends"))
        {
          after_end = TRUE;
          span_close (&parse, &parse.partition, t);
          span_close (&parse, &parse.drops, t);
          for (guint k = 0; k < 3; k++)
            span_close (&parse, &parse.network[k], t);
          span_open (&parse, t, "settle", text, "event", TRUE);
          continue;
        }
      if (!g_str_has_prefix (text, "fault "))
        {
          span_open (&parse, t, text, text, "event", TRUE);
          continue;
        }
      const char *what = text + strlen ("fault ");
      if (after_end && !g_str_has_prefix (what, "restart "))
        continue;   /* the run's end undoing every fault, shown as "settle" */
      if (g_str_has_prefix (what, "partition"))
        {
          span_close (&parse, &parse.partition, t);
          parse.partition = span_open (&parse, t, what, what, "partition", FALSE);
        }
      else if (g_str_has_prefix (what, "drop "))
        {
          if (parse.drops >= 0 && g_array_index (parse.spans, DkFaultSpan, parse.drops).from_s == t)
            {
              DkFaultSpan *span = &g_array_index (parse.spans, DkFaultSpan, parse.drops);
              char *detail = g_strdup_printf ("%s; %s", span->detail, what);
              g_free (span->detail);
              span->detail = detail;
            }
          else
            {
              span_close (&parse, &parse.drops, t);
              parse.drops = span_open (&parse, t, "one-way drops", what, "drop", FALSE);
            }
        }
      else if (strcmp (what, "heal") == 0)
        {
          span_close (&parse, &parse.partition, t);
          span_close (&parse, &parse.drops, t);
        }
      else if (g_str_has_prefix (what, "crash ") && strstr (what, "already down") == NULL)
        {
          g_auto (GStrv) words = g_strsplit (what, " ", 3);
          gint index = span_open (&parse, t, what, what, "crash", FALSE);
          g_hash_table_replace (parse.crashes, g_strdup (words[1]), GINT_TO_POINTER (index + 1));
        }
      else if (g_str_has_prefix (what, "restart ") || strstr (what, "(restarted empty)") != NULL)
        {
          g_auto (GStrv) words = g_strsplit (what, " ", 3);
          gint index = GPOINTER_TO_INT (g_hash_table_lookup (parse.crashes, words[1])) - 1;
          if (index >= 0)
            {
              DkFaultSpan *span = &g_array_index (parse.spans, DkFaultSpan, index);
              char *label = g_strdup_printf ("%s..restart", span->label);
              g_free (span->label);
              span->label = label;
              span_close (&parse, &index, t);
              g_hash_table_remove (parse.crashes, words[1]);
            }
          if (g_str_has_prefix (what, "wipe "))
            span_open (&parse, t, what, what, "event", TRUE);
        }
      else
        {
          static const char *const names[3] = { "latency ", "loss ", "dup " };
          gboolean network = FALSE;
          for (guint k = 0; k < 3 && !network; k++)
            if (g_str_has_prefix (what, names[k]))
              {
                network = TRUE;
                span_close (&parse, &parse.network[k], t);
                if (g_strcmp0 (what + strlen (names[k]), restored[k]) != 0)
                  parse.network[k] = span_open (&parse, t, what, what, "net", FALSE);
              }
          if (!network)
            span_open (&parse, t, what, what, "event", TRUE);
        }
    }
  /* Whatever is still open lasted to the end of the run. */
  span_close (&parse, &parse.partition, run_end_s);
  span_close (&parse, &parse.drops, run_end_s);
  for (guint k = 0; k < 3; k++)
    span_close (&parse, &parse.network[k], run_end_s);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, parse.crashes);
  while (g_hash_table_iter_next (&iter, NULL, &value))   /* each sets its own span: order-free */
    {
      gint index = GPOINTER_TO_INT (value) - 1;
      span_close (&parse, &index, run_end_s);
    }
  for (guint k = 0; k < 3; k++)
    g_free (restored[k]);
  g_hash_table_destroy (parse.crashes);
  return parse.spans;
}
