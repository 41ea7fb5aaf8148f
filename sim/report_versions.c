/* report_versions.c — the report's version history of one key, from the
 * history and the final state only: each write's dot, the versions its
 * context replaced (drawn as a graph in which siblings sit in lanes side
 * by side), the siblings reads returned, and what every node holds at the
 * end; see report.h. */
#include "config.h"
#include "report_private.h"

#include <string.h>

typedef struct
{
  const DkOp *op;
  gint        lane;
  gboolean    held;      /* some preference-list replica holds it at the end */
  gboolean    lost;
  GString    *held_by;
} WriteNode;

static const DkVclock *
write_context (const DkOp *op)
{
  return op->stored_context != NULL ? op->stored_context : op->context;
}

static char *
context_string (const DkOp *op)
{
  const DkVclock *context = write_context (op);
  return context != NULL ? dk_vclock_to_string (context) : g_strdup ("{}");
}

void
dk__report_versions_section (GString *out, const DkRunResult *result, const char *key,
                             gboolean chosen, gint64 from_us)
{
  const DkHistory *history = result->history;
  g_string_append (out, "<section id=\"versions\"><h2>Versions of one key</h2>\n");
  if (key == NULL)
    {
      g_string_append (out, "<p>Nothing was written.</p></section>\n");
      return;
    }
  g_string_append (out, "<p class=\"note\">Key <code>");
  dk__report_escape (out, key);
  g_string_append (out, chosen ? "</code> (the key whose reads returned the most siblings; "
                                 "<code>--trace KEY</code> picks another).  "
                               : "</code> (the traced key).  ");
  g_string_append (out, "Each write's version is named by its dot; an edge runs from each version "
                   "its context replaced to the write that replaced it, so versions side by side "
                   "(in different lanes) were siblings.  Filled: acknowledged; hollow: failed "
                   "(it may still be stored); square: a delete (tombstone); red: counted as lost; "
                   "green ring: held by a preference-list replica at the end.</p>\n");

  guint n_lost;
  const guint64 *lost = dk_metrics_lost_writes (result->metrics, &n_lost);
  guint n_holdings;
  const DkHolding *holdings = dk_final_state_holdings (result->final, key, &n_holdings);
  g_autoptr (GArray) writes = g_array_new (FALSE, TRUE, sizeof (WriteNode));
  guint64 total_writes = 0, undotted = 0;
  for (guint64 id = 0; id < dk_history_len (history); id++)
    {
      const DkOp *op = dk_history_get (history, id);
      if (op->kind == DK_OP_GET || strcmp (op->key, key) != 0 || op->invoke_us < from_us)
        continue;
      total_writes++;
      if (!op->has_dot)
        {
          undotted++;
          continue;
        }
      if (writes->len >= DK_REPORT_WRITES_MAX)
        continue;
      WriteNode node = { .op = op, .held_by = g_string_new (NULL) };
      for (guint k = 0; k < n_lost; k++)
        node.lost = node.lost || lost[k] == id;
      for (guint h = 0; h < n_holdings; h++)
        {
          if (!dk_final_state_is_replica (result->final, key, holdings[h].node))
            continue;
          for (guint v = 0; v < holdings[h].n_versions; v++)
            {
              const DkHeld *held = &holdings[h].versions[v];
              if (held->dot.actor == op->dot.actor && held->dot.counter == op->dot.counter)
                {
                  node.held = TRUE;
                  g_string_append_printf (node.held_by, "%sn%u", node.held_by->len ? " " : "",
                                          holdings[h].node);
                }
            }
        }
      g_array_append_val (writes, node);
    }
  guint64 dotted = total_writes - undotted;
  if (from_us > 0)
    {
      g_string_append (out, "<p class=\"note\">Writes from ");
      dk__report_seconds (out, from_us);
      g_string_append (out, " s on (the start of the trace window).</p>\n");
    }
  if (dotted > writes->len)
    g_string_append_printf (out, "<p class=\"capped\">The first %u of %" G_GUINT64_FORMAT
                            " versions written.</p>\n", writes->len, dotted);
  if (undotted > 0)
    g_string_append_printf (out, "<p class=\"note\">%" G_GUINT64_FORMAT " writes reported no version "
                            "(they failed before one was issued) and are left out.</p>\n", undotted);

  /* Lanes: a write continues the lane of a version it replaced, else takes
   * the lowest lane no live version holds. */
  guint n = writes->len;
  g_autofree gboolean *live = g_new0 (gboolean, MAX (n, 1));
  g_autofree gint *first_pred = g_new (gint, MAX (n, 1));
  gint lanes = 1;
  for (guint i = 0; i < n; i++)
    {
      WriteNode *node = &g_array_index (writes, WriteNode, i);
      const DkVclock *context = write_context (node->op);
      first_pred[i] = -1;
      gint lane = -1;
      for (guint j = 0; j < i; j++)
        {
          WriteNode *before = &g_array_index (writes, WriteNode, j);
          if (!live[j] || context == NULL || !dk_dot_covered (before->op->dot, context))
            continue;
          live[j] = FALSE;
          if (lane < 0 || before->lane < lane)
            lane = before->lane;
          if (first_pred[i] < 0)
            first_pred[i] = (gint) j;
        }
      if (lane < 0)
        for (lane = 0;; lane++)
          {
            gboolean taken = FALSE;
            for (guint j = 0; j < i && !taken; j++)
              taken = live[j] && g_array_index (writes, WriteNode, j).lane == lane;
            if (!taken)
              break;
          }
      node->lane = lane;
      lanes = MAX (lanes, lane + 1);
      live[i] = TRUE;
    }

  if (n > 0)
    {
      const double step = 58, left = 24, top = 26, lane_h = 40;
      double width = left * 2 + step * n;
      double height = top + lane_h * lanes + 10;
      g_string_append (out, "<div style=\"overflow-x:auto\"><svg class=\"dag\" viewBox=\"0 0 ");
      dk__report_point (out, width, height);
      g_string_append (out, "\" width=\"");
      dk__report_number (out, width, 0);
      g_string_append (out, "\" height=\"");
      dk__report_number (out, height, 0);
      g_string_append (out, "\" role=\"img\" aria-label=\"version history\">\n");
      /* Edges: from every version a write's context covers directly. */
      for (guint i = 0; i < n; i++)
        {
          const WriteNode *node = &g_array_index (writes, WriteNode, i);
          const DkVclock *context = write_context (node->op);
          if (context == NULL)
            continue;
          for (guint j = 0; j < i; j++)
            {
              const WriteNode *before = &g_array_index (writes, WriteNode, j);
              if (!dk_dot_covered (before->op->dot, context))
                continue;
              /* Direct only: no write in between that covers it and is covered. */
              gboolean direct = TRUE;
              for (guint k = j + 1; k < i && direct; k++)
                {
                  const WriteNode *middle = &g_array_index (writes, WriteNode, k);
                  const DkVclock *middle_context = write_context (middle->op);
                  direct = !(dk_dot_covered (middle->op->dot, context) && middle_context != NULL
                             && dk_dot_covered (before->op->dot, middle_context));
                }
              if (!direct)
                continue;
              double x0 = left + step * (j + 0.5), y0 = top + lane_h * (before->lane + 0.5);
              double x1 = left + step * (i + 0.5), y1 = top + lane_h * (node->lane + 0.5);
              g_string_append (out, "<path class=\"edge\" d=\"M");
              dk__report_point (out, x0 + 9, y0);
              g_string_append (out, " C");
              dk__report_point (out, (x0 + x1) / 2, y0);
              g_string_append_c (out, ' ');
              dk__report_point (out, (x0 + x1) / 2, y1);
              g_string_append_c (out, ' ');
              dk__report_point (out, x1 - 9, y1);
              g_string_append (out, "\"/>\n");
            }
        }
      for (guint i = 0; i < n; i++)
        {
          const WriteNode *node = &g_array_index (writes, WriteNode, i);
          const DkOp *op = node->op;
          double x = left + step * (i + 0.5), y = top + lane_h * (node->lane + 0.5);
          char dot[DK_DOT_STRING_SIZE];
          g_autofree char *context = context_string (op);
          const char *fill = node->lost ? "lost" : op->outcome == DK_OUTCOME_OK ? "acked" : "unacked";
          g_string_append_printf (out, "<g><title>operation %" G_GUINT64_FORMAT " %s at ", op->id,
                                  dk_op_kind_name (op->kind));
          dk__report_seconds (out, op->invoke_us);
          g_string_append_printf (out, " s by c%u via n%u: %s\ndot %s\ncontext ", op->client,
                                  op->coordinator, dk_outcome_name (op->outcome),
                                  dk_dot_format (op->dot, dot));
          dk__report_escape (out, context);
          g_string_append_printf (out, "\nheld at the end by: %s</title>",
                                  node->held_by->len > 0 ? node->held_by->str : "no replica");
          if (op->kind == DK_OP_DELETE)
            {
              g_string_append_printf (out, "<rect class=\"v %s%s\" x=\"", fill, node->held ? " held" : "");
              dk__report_number (out, x - 8, 1);
              g_string_append (out, "\" y=\"");
              dk__report_number (out, y - 8, 1);
              g_string_append (out, "\" width=\"16\" height=\"16\"/>");
            }
          else
            {
              g_string_append_printf (out, "<circle class=\"%s%s\" r=\"8\" cx=\"", fill,
                                      node->held ? " held" : "");
              dk__report_number (out, x, 1);
              g_string_append (out, "\" cy=\"");
              dk__report_number (out, y, 1);
              g_string_append (out, "\"/>");
            }
          g_string_append (out, "<text x=\"");
          dk__report_number (out, x, 1);
          g_string_append (out, "\" y=\"");
          dk__report_number (out, y - 12, 1);
          g_string_append_printf (out, "\" text-anchor=\"middle\">%" G_GUINT64_FORMAT "</text></g>\n",
                                  op->id);
        }
      g_string_append (out, "</svg></div>\n");
    }

  /* The same as a table. */
  if (n > 0)
    {
      g_string_append (out, "<details><summary>Every version as a table</summary><table><thead><tr>"
                       "<th>operation</th><th>time (s)</th><th>outcome</th><th>dot</th>"
                       "<th>context (what it replaced)</th><th>held at the end by</th></tr></thead>"
                       "<tbody>\n");
      for (guint i = 0; i < n; i++)
        {
          const WriteNode *node = &g_array_index (writes, WriteNode, i);
          const DkOp *op = node->op;
          char dot[DK_DOT_STRING_SIZE];
          g_autofree char *context = context_string (op);
          g_string_append_printf (out, "<tr><td>%" G_GUINT64_FORMAT " %s</td><td>", op->id,
                                  dk_op_kind_name (op->kind));
          dk__report_seconds (out, op->invoke_us);
          g_string_append_printf (out, "</td><td>%s%s</td><td><code>%s</code></td><td><code>",
                                  dk_outcome_name (op->outcome), node->lost ? " (lost)" : "",
                                  dk_dot_format (op->dot, dot));
          dk__report_escape (out, context);
          g_string_append (out, "</code>");
          if (first_pred[i] >= 0)
            {
              g_string_append (out, " replaced");
              for (guint j = 0; j < i; j++)
                {
                  const WriteNode *before = &g_array_index (writes, WriteNode, j);
                  if (write_context (op) != NULL && dk_dot_covered (before->op->dot, write_context (op)))
                    g_string_append_printf (out, " %" G_GUINT64_FORMAT, before->op->id);
                }
            }
          g_string_append_printf (out, "</td><td>%s</td></tr>\n",
                                  node->held_by->len > 0 ? node->held_by->str : "—");
        }
      g_string_append (out, "</tbody></table></details>\n");
    }

  /* Reads that saw siblings. */
  guint64 gets = 0, with_siblings = 0;
  g_autoptr (GString) rows = g_string_new (NULL);
  for (guint64 id = 0; id < dk_history_len (history); id++)
    {
      const DkOp *op = dk_history_get (history, id);
      if (op->kind != DK_OP_GET || op->returned == NULL || strcmp (op->key, key) != 0)
        continue;
      gets++;
      if (op->returned->len < 2)
        continue;
      if (with_siblings++ >= DK_REPORT_REQUESTS_MAX)
        continue;
      g_string_append_printf (rows, "<tr><td>%" G_GUINT64_FORMAT "</td><td>", id);
      dk__report_seconds (rows, op->invoke_us);
      g_string_append (rows, "</td><td>");
      for (guint r = 0; r < op->returned->len; r++)
        {
          const DkReturned *returned = &g_array_index (op->returned, DkReturned, r);
          guint64 value = dk_history_returned_value (history, returned);
          char dot[DK_DOT_STRING_SIZE];
          g_string_append (rows, "<span class=\"b\">");
          if (value == DK_VALUE_UNKNOWN)
            g_string_append (rows, "?");
          else
            g_string_append_printf (rows, "%s%" G_GUINT64_FORMAT, returned->tombstone ? "delete " : "",
                                    value);
          g_string_append_printf (rows, " <code>%s</code></span>", dk_dot_format (returned->dot, dot));
        }
      g_string_append (rows, "</td></tr>\n");
    }
  g_string_append_printf (out, "<h3>Siblings reads returned</h3>\n<p class=\"note\">%" G_GUINT64_FORMAT
                          " successful reads of the key, %" G_GUINT64_FORMAT " of them returned more "
                          "than one version (by the operation that wrote each).</p>\n", gets,
                          with_siblings);
  if (with_siblings > DK_REPORT_REQUESTS_MAX)
    g_string_append_printf (out, "<p class=\"capped\">The first %u of them.</p>\n",
                            DK_REPORT_REQUESTS_MAX);
  if (with_siblings > 0)
    g_string_append_printf (out, "<table><thead><tr><th>read</th><th>time (s)</th><th>versions returned"
                            "</th></tr></thead><tbody>\n%s</tbody></table>\n", rows->str);

  /* What each node holds at the end. */
  g_string_append (out, "<h3>At the end of the run</h3>\n");
  if (n_holdings == 0)
    g_string_append (out, "<p>No node holds the key.</p>\n");
  else
    {
      g_string_append (out, "<table><thead><tr><th>node</th><th>versions held</th></tr></thead><tbody>\n");
      for (guint h = 0; h < n_holdings; h++)
        {
          gboolean replica = dk_final_state_is_replica (result->final, key, holdings[h].node);
          g_string_append_printf (out, "<tr><td>n%u%s</td><td>", holdings[h].node,
                                  replica ? "" : " (not a replica)");
          for (guint v = 0; v < holdings[h].n_versions; v++)
            {
              const DkHeld *held = &holdings[h].versions[v];
              char dot[DK_DOT_STRING_SIZE];
              guint64 writer = dk_history_write_of_dot (history, held->dot);
              g_string_append (out, "<span class=\"b\">");
              if (writer != DK_VALUE_UNKNOWN)
                g_string_append_printf (out, "%s%" G_GUINT64_FORMAT " ", held->tombstone ? "delete " : "",
                                        writer);
              g_string_append_printf (out, "<code>%s</code></span>", dk_dot_format (held->dot, dot));
            }
          g_string_append (out, "</td></tr>\n");
        }
      g_string_append (out, "</tbody></table>\n");
    }
  for (guint i = 0; i < n; i++)
    g_string_free (g_array_index (writes, WriteNode, i).held_by, TRUE);
  g_string_append (out, "</section>\n");
}
