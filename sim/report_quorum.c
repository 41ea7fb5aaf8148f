/* report_quorum.c — the report's quorum trace: for each client request
 * of a trace (trace.h), where it went, which replicas its coordinator
 * asked and when, who answered and when, and what the client was told;
 * see report.h.
 *
 * Requests and replica messages are tied together without any help from
 * the nodes: a coordinator's READs and WRITEs leave while it handles the
 * client request (at the same virtual instant, or later with the same
 * hop request id), so each is given to the latest request of its key
 * that reached that coordinator by then, and each reply to the READ or
 * WRITE of its hop request id.  Tables are looked up, never iterated. */
#include "config.h"
#include "report_private.h"

#include <string.h>

typedef struct
{
  guint64     op;
  gint64      request_us;     /* the client request left (-1: not recorded) */
  DkEndpoint  coordinator;    /* where it ended up (0: not recorded) */
  GString    *request;        /* badges: the request and forwards */
  GString    *asked;
  GString    *answers;
  GString    *reply;
  guint       asked_n;
  guint       answered_ok;    /* replicas whose answer reached the coordinator */
  gboolean    local_guess;    /* asked N - 1 others: the coordinator is a replica */
  GArray     *asked_nodes;    /* DkEndpoint */
} OpTrace;

static void
op_trace_free (gpointer data)
{
  OpTrace *trace = data;
  g_string_free (trace->request, TRUE);
  g_string_free (trace->asked, TRUE);
  g_string_free (trace->answers, TRUE);
  g_string_free (trace->reply, TRUE);
  g_array_unref (trace->asked_nodes);
  g_free (trace);
}

typedef struct
{
  GPtrArray  *ops;      /* OpTrace*, owned */
  GHashTable *by_op;    /* guint64* op -> OpTrace* (lookups only) */
} OpTable;

static OpTrace *
op_trace (OpTable *table, guint64 op)
{
  OpTrace *trace = g_hash_table_lookup (table->by_op, &op);
  if (trace != NULL)
    return trace;
  trace = g_new0 (OpTrace, 1);
  trace->op = op;
  trace->request_us = -1;
  trace->request = g_string_new (NULL);
  trace->asked = g_string_new (NULL);
  trace->answers = g_string_new (NULL);
  trace->reply = g_string_new (NULL);
  trace->asked_nodes = g_array_new (FALSE, FALSE, sizeof (DkEndpoint));
  g_ptr_array_add (table->ops, trace);
  g_hash_table_insert (table->by_op, &trace->op, trace);
  return trace;
}

static void
badge_time (GString *out, const OpTrace *trace, gint64 t_us)
{
  if (trace->request_us < 0)
    {
      dk__report_seconds (out, t_us);
      g_string_append (out, " s");
      return;
    }
  g_string_append (out, "+");
  dk__report_number (out, (t_us - trace->request_us) / 1000.0, 2);
  g_string_append (out, " ms");
}

static const char *
fate_badge_class (DkTraceFate fate, DkWireStatus status)
{
  if (fate != DK_TRACE_DELIVERED)
    return "bad";
  return status == DK_WIRE_STATUS_OK || status == DK_WIRE_STATUS_NOT_FOUND ? "ok" : "late";
}

/* The operation whose client request for KEY reached COORDINATOR last by
 * T_US (among the N RECORDS), or NULL. */
static OpTrace *
request_at (OpTable *table, const DkTraceRecord *records, guint n, DkEndpoint coordinator,
            const char *key, gint64 t_us)
{
  const DkTraceRecord *best = NULL;
  for (guint i = 0; i < n; i++)
    {
      const DkTraceRecord *record = &records[i];
      if (!record->has_client_request || record->type == DK_WIRE_CLIENT_REPLY
          || record->to != coordinator || record->fate != DK_TRACE_DELIVERED
          || record->arrive_us > t_us || g_strcmp0 (record->key, key) != 0)
        continue;
      if (best == NULL || record->arrive_us >= best->arrive_us)
        best = record;
    }
  return best != NULL ? op_trace (table, dk_trace_operation_of (best->client_request_id)) : NULL;
}

static void
trace_requests (OpTable *table, const DkTraceRecord *records, guint n, guint replicas)
{
  /* Client requests, forwards, client replies. */
  for (guint i = 0; i < n; i++)
    {
      const DkTraceRecord *record = &records[i];
      if (!record->has_client_request)
        continue;
      OpTrace *trace = op_trace (table, dk_trace_operation_of (record->client_request_id));
      if (record->type == DK_WIRE_CLIENT_REPLY)
        {
          g_string_append_printf (trace->reply, "<span class=\"b %s\">", fate_badge_class (record->fate,
                                                                                         record->status));
          dk__report_endpoint (trace->reply, record->from);
          g_string_append_printf (trace->reply, " → client: %s ", dk__report_status_name (record->status));
          badge_time (trace->reply, trace, record->send_us);
          if (record->fate != DK_TRACE_DELIVERED)
            g_string_append_printf (trace->reply, " (%s)", dk_trace_fate_name (record->fate));
          g_string_append (trace->reply, "</span>");
          continue;
        }
      if (record->type != DK_WIRE_FORWARD && !dk_endpoint_is_node (record->from)
          && trace->request_us < 0)
        trace->request_us = record->send_us;
      if (record->fate == DK_TRACE_DELIVERED)
        trace->coordinator = record->to;
      g_string_append_printf (trace->request, "<span class=\"b %s\">",
                              fate_badge_class (record->fate, DK_WIRE_STATUS_OK));
      dk__report_endpoint (trace->request, record->from);
      g_string_append_printf (trace->request, " → ");
      dk__report_endpoint (trace->request, record->to);
      g_string_append_printf (trace->request, " %s ", dk_wire_type_name (record->type));
      badge_time (trace->request, trace, record->send_us);
      if (record->fate != DK_TRACE_DELIVERED)
        g_string_append_printf (trace->request, " (%s)", dk_trace_fate_name (record->fate));
      g_string_append (trace->request, "</span>");
    }
  /* Replica requests (and read repairs), then their replies. */
  for (guint i = 0; i < n; i++)
    {
      const DkTraceRecord *record = &records[i];
      if (record->type != DK_WIRE_READ && record->type != DK_WIRE_WRITE)
        continue;
      OpTrace *trace = request_at (table, records, n, record->from, record->key, record->send_us);
      if (trace == NULL)
        continue;
      gboolean repair = record->type == DK_WIRE_WRITE && record->request_id == 0;
      g_string_append_printf (trace->asked, "<span class=\"b %s\">",
                              fate_badge_class (record->fate, DK_WIRE_STATUS_OK));
      dk__report_endpoint (trace->asked, record->to);
      g_string_append_printf (trace->asked, " %s ", repair ? "read repair" : dk_wire_type_name (record->type));
      badge_time (trace->asked, trace, record->send_us);
      if (record->fate != DK_TRACE_DELIVERED)
        g_string_append_printf (trace->asked, " (%s)", dk_trace_fate_name (record->fate));
      g_string_append (trace->asked, "</span>");
      if (repair)
        continue;
      gboolean seen = FALSE;
      for (guint k = 0; k < trace->asked_nodes->len; k++)
        seen = seen || g_array_index (trace->asked_nodes, DkEndpoint, k) == record->to;
      if (!seen)
        {
          g_array_append_val (trace->asked_nodes, record->to);
          trace->asked_n++;
        }
      trace->local_guess = replicas > 1 && trace->asked_n == replicas - 1;
      /* Its replies: the same hop request id back to the coordinator. */
      for (guint j = i + 1; j < n; j++)
        {
          const DkTraceRecord *reply = &records[j];
          if ((reply->type != DK_WIRE_READ_REPLY && reply->type != DK_WIRE_WRITE_ACK)
              || reply->to != record->from || reply->from != record->to
              || reply->request_id != record->request_id || reply->duplicate)
            continue;
          g_string_append_printf (trace->answers, "<span class=\"b %s\">",
                                  fate_badge_class (reply->fate, reply->status));
          dk__report_endpoint (trace->answers, reply->from);
          g_string_append_printf (trace->answers, " %s ", dk__report_status_name (reply->status));
          badge_time (trace->answers, trace, reply->arrive_us);
          if (reply->fate != DK_TRACE_DELIVERED)
            g_string_append_printf (trace->answers, " (%s)", dk_trace_fate_name (reply->fate));
          g_string_append (trace->answers, "</span>");
          trace->answered_ok += reply->fate == DK_TRACE_DELIVERED
                                && (reply->status == DK_WIRE_STATUS_OK
                                    || reply->status == DK_WIRE_STATUS_NOT_FOUND);
          break;
        }
    }
}

static gint
compare_op_traces (gconstpointer a, gconstpointer b)
{
  const OpTrace *x = *(OpTrace *const *) a, *y = *(OpTrace *const *) b;
  return x->op < y->op ? -1 : x->op > y->op;
}

void
dk__report_quorum_section (GString *out, const DkRunResult *result, const DkSimTrace *trace)
{
  guint n_records;
  const DkTraceRecord *records = dk_sim_trace_records (trace, &n_records);
  const DkHistory *history = result->history;
  const char *key = dk_sim_trace_key (trace);
  OpTable table = { g_ptr_array_new_with_free_func (op_trace_free),
                    g_hash_table_new (g_int64_hash, g_int64_equal) };
  /* With a key, every operation on it invoked in the window, recorded or
   * not (the limit may have cut it off). */
  gint64 from_us, to_us;
  dk_sim_trace_window (trace, &from_us, &to_us);
  if (key != NULL)
    for (guint64 id = 0; id < dk_history_len (history); id++)
      {
        const DkOp *op = dk_history_get (history, id);
        if (strcmp (op->key, key) == 0 && op->invoke_us >= from_us
            && (to_us < 0 || op->invoke_us < to_us))
          op_trace (&table, id);
      }
  trace_requests (&table, records, n_records, result->scenario->cluster.n);
  g_ptr_array_sort (table.ops, compare_op_traces);

  g_string_append_printf (out, "<section id=\"quorum\"><h2>Quorum trace</h2>\n<p class=\"note\">Each "
                          "client request of the trace: where it went, which replicas its "
                          "coordinator asked and when (ms after the client sent it), who answered "
                          "and when the answer arrived, and what the client was told.  N=%u R=%u "
                          "W=%u; a coordinator that is itself a replica reads or writes its own "
                          "copy without a message (shown as <i>local</i> when it asked N-1 "
                          "others).</p>\n<p><label><input type=\"checkbox\" id=\"failed-only\" "
                          "disabled> failed requests only</label></p>\n",
                          result->scenario->cluster.n, result->scenario->cluster.r,
                          result->scenario->cluster.w);
  guint shown = MIN (table.ops->len, DK_REPORT_REQUESTS_MAX);
  if (shown < table.ops->len)
    g_string_append_printf (out, "<p class=\"capped\">The first %u of %u requests.</p>\n", shown,
                            table.ops->len);
  if (table.ops->len == 0)
    g_string_append (out, "<p>No client request in the trace.</p>\n");
  else
    g_string_append (out, "<table id=\"quorum-table\"><thead><tr><th>operation</th><th>request</th>"
                     "<th>asked</th><th>answered</th><th>reply</th></tr></thead><tbody>\n");
  for (guint i = 0; i < shown; i++)
    {
      const OpTrace *op_trace_row = g_ptr_array_index (table.ops, i);
      const DkOp *op = op_trace_row->op < dk_history_len (history)
                       ? dk_history_get (history, op_trace_row->op) : NULL;
      gboolean ok = op != NULL && op->outcome == DK_OUTCOME_OK;
      g_string_append_printf (out, "<tr data-ok=\"%s\"%s><td><b>%" G_GUINT64_FORMAT "</b> ",
                              ok ? "yes" : "no", ok ? "" : " class=\"failed\"", op_trace_row->op);
      if (op != NULL)
        {
          g_string_append_printf (out, "%s ", dk_op_kind_name (op->kind));
          dk__report_escape (out, op->key);
          g_string_append_printf (out, "<br>c%u at ", op->client);
          dk__report_seconds (out, op->invoke_us);
          g_string_append (out, " s<br>");
          if (op->outcome == DK_OUTCOME_OK)
            {
              g_string_append (out, "<span class=\"b ok\">ok ");
              dk__report_number (out, (op->complete_us - op->invoke_us) / 1000.0, 2);
              g_string_append (out, " ms</span>");
            }
          else
            {
              g_string_append_printf (out, "<span class=\"b bad\">%s ", dk_outcome_name (op->outcome));
              dk__report_escape (out, op->reason != NULL ? op->reason : "");
              g_string_append (out, "</span>");
            }
        }
      g_string_append (out, "</td><td>");
      if (op_trace_row->request->len == 0)
        g_string_append (out, "<i>not recorded (outside the window or over the limit)</i>");
      g_string_append (out, op_trace_row->request->str);
      g_string_append (out, "</td><td>");
      if (op_trace_row->local_guess && op_trace_row->coordinator != 0)
        {
          g_string_append (out, "<span class=\"b\">");
          dk__report_endpoint (out, op_trace_row->coordinator);
          g_string_append (out, " <i>local</i></span>");
        }
      g_string_append (out, op_trace_row->asked->str);
      g_string_append (out, "</td><td>");
      g_string_append (out, op_trace_row->answers->str);
      g_string_append (out, "</td><td>");
      g_string_append (out, op_trace_row->reply->str);
      if (op != NULL && op_trace_row->asked_n > 0)
        {
          gboolean read = op->kind == DK_OP_GET;
          guint needed = read ? result->scenario->cluster.r : result->scenario->cluster.w;
          guint answers = op_trace_row->answered_ok + (op_trace_row->local_guess ? 1 : 0);
          g_string_append_printf (out, "<br><span class=\"b %s\">%u answer%s%s, %s=%u needed</span>",
                                  answers >= needed ? "ok" : "bad", answers, answers == 1 ? "" : "s",
                                  op_trace_row->local_guess ? " with its own" : "",
                                  read ? "R" : "W", needed);
        }
      g_string_append (out, "</td></tr>\n");
    }
  if (table.ops->len > 0)
    g_string_append (out, "</tbody></table>\n");
  g_string_append (out, "</section>\n");
  g_hash_table_destroy (table.by_op);
  g_ptr_array_unref (table.ops);
}
