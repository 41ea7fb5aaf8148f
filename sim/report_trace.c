/* report_trace.c — the report's trace sections: the message-sequence
 * diagram and quorum trace of the recorded datagrams (trace.h), and one
 * key's version history from the history and the final state; see
 * report.h.
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

#define SEQ_LEFT 78        /* room for the time labels */
#define SEQ_TOP 34
#define SEQ_ROW 13
#define SEQ_GAP 22         /* extra room where time jumps */
#define SEQ_GAP_US 20000   /* a jump: more than this between two instants */

static const char *
status_name (DkWireStatus status)
{
  static const char *const names[] = {
    [DK_WIRE_STATUS_OK] = "ok", [DK_WIRE_STATUS_NOT_FOUND] = "not found",
    [DK_WIRE_STATUS_UNAVAILABLE] = "unavailable", [DK_WIRE_STATUS_TIMEOUT] = "timeout",
    [DK_WIRE_STATUS_INVALID] = "invalid", [DK_WIRE_STATUS_TOO_LARGE] = "too large",
    [DK_WIRE_STATUS_STORAGE_ERROR] = "storage error", [DK_WIRE_STATUS_OVERLOADED] = "overloaded",
  };
  return status <= DK_WIRE_STATUS_LAST ? names[status] : "?";
}

static gboolean
is_reply (DkWireType type)
{
  return type == DK_WIRE_CLIENT_REPLY || type == DK_WIRE_READ_REPLY || type == DK_WIRE_WRITE_ACK
         || type == DK_WIRE_HINT_ACK;
}

/* The diagram's one lifeline for every client, when there are many. */
#define ALL_CLIENTS G_MAXUINT64
#define SEPARATE_CLIENTS_MAX 4

static void
endpoint_name (GString *out, DkEndpoint endpoint)
{
  if (endpoint == ALL_CLIENTS)
    g_string_append (out, "clients");
  else if (dk_endpoint_is_node (endpoint))
    g_string_append_printf (out, "n%u", (guint) endpoint);
  else
    g_string_append_printf (out, "c%" G_GUINT64_FORMAT, endpoint - DK_ENDPOINT_CLIENT_BASE);
}

static const char *
type_class (DkWireType type)
{
  switch (type)
    {
    case DK_WIRE_GET: case DK_WIRE_PUT: case DK_WIRE_DELETE: case DK_WIRE_FORWARD:
    case DK_WIRE_CLIENT_REPLY:
      return "k-client";
    case DK_WIRE_READ: case DK_WIRE_READ_REPLY:
      return "k-read";
    case DK_WIRE_WRITE: case DK_WIRE_WRITE_ACK:
      return "k-write";
    case DK_WIRE_HINT_HANDOFF: case DK_WIRE_HINT_ACK:
      return "k-hint";
    default:
      return "k-other";
    }
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

static gint
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* Sort ARRAY (of 8-byte values) and drop repeats. */
static void
sort_unique (GArray *array, GCompareFunc compare)
{
  g_array_sort (array, compare);
  guint kept = 0;
  for (guint i = 0; i < array->len; i++)
    if (kept == 0 || compare (&g_array_index (array, guint64, i),
                              &g_array_index (array, guint64, kept - 1)) != 0)
      g_array_index (array, guint64, kept++) = g_array_index (array, guint64, i);
  g_array_set_size (array, kept);
}

static guint
index_of (const GArray *sorted, gint64 value)
{
  guint lo = 0, hi = sorted->len;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      if (g_array_index (sorted, gint64, mid) < value)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* The column of lifeline ENDPOINT in the sorted WHO. */
static guint
column_of (const GArray *who, guint64 endpoint)
{
  guint lo = 0, hi = who->len;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      if (g_array_index (who, guint64, mid) < endpoint)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static void
pt (GString *out, double x, double y)
{
  dk__report_number (out, x, 1);
  g_string_append_c (out, ' ');
  dk__report_number (out, y, 1);
}

static void
selection_text (GString *out, const DkSimTrace *trace)
{
  gint64 from_us, to_us;
  dk_sim_trace_window (trace, &from_us, &to_us);
  const char *key = dk_sim_trace_key (trace);
  if (key != NULL)
    {
      g_string_append (out, "the datagrams about key <code>");
      dk__report_escape (out, key);
      g_string_append (out, "</code>");
    }
  else
    g_string_append (out, "every datagram");
  if (from_us > 0 || to_us >= 0)
    {
      g_string_append (out, " sent from ");
      dk__report_seconds (out, from_us);
      g_string_append (out, " s");
      if (to_us >= 0)
        {
          g_string_append (out, " to ");
          dk__report_seconds (out, to_us);
          g_string_append (out, " s");
        }
    }
}

/* ---- the message-sequence diagram ---------------------------------------------- */

/* A horizontal line across the diagram at T_US where a fault starts or
 * ends (between the rows of the instants around it). */
static void
fault_line (GString *out, const GArray *times, const double *row_y, double width, gint64 t_us,
            const char *kind, const char *text)
{
  guint row = index_of (times, t_us);
  if (row == 0 || row >= times->len)
    return;   /* outside the diagram */
  double y = g_array_index (times, gint64, row) == t_us ? row_y[row] - SEQ_ROW / 2.0
                                                        : (row_y[row - 1] + row_y[row]) / 2.0;
  g_string_append_printf (out, "<g class=\"faultline fault-%s\"><path d=\"M", kind);
  pt (out, SEQ_LEFT - 4, y);
  g_string_append (out, " H");
  dk__report_number (out, width - 4, 1);
  g_string_append (out, "\"/><text x=\"");
  dk__report_number (out, width - 6, 1);
  g_string_append (out, "\" y=\"");
  dk__report_number (out, y - 3, 1);
  g_string_append (out, "\">");
  dk__report_escape (out, text);
  g_string_append (out, "</text></g>\n");
}

static void
sequence_diagram (GString *out, const DkSimTrace *trace, const GArray *spans)
{
  guint n_records;
  const DkTraceRecord *records = dk_sim_trace_records (trace, &n_records);
  guint shown = MIN (n_records, DK_REPORT_DIAGRAM_MAX);
  g_string_append (out, "<section id=\"sequence\"><h2>Message sequence</h2>\n<p class=\"note\">");
  selection_text (out, trace);
  g_string_append (out, ".  One vertical line per node and client, time running down; an arrow "
                   "leaves its sender when sent and meets its receiver when it arrives.  Time is "
                   "not to scale: each instant gets a row, and a dashed line marks a jump.  "
                   "<span class=\"b\" style=\"color:#1a5fb4\">client requests and replies</span>"
                   "<span class=\"b\" style=\"color:#2a9d3a\">reads</span><span class=\"b\" "
                   "style=\"color:#c0392b\">writes</span><span class=\"b\" style=\"color:#8c564b\">"
                   "hints</span>; red dashes ending in ✕: lost, cut by a fault or sent to a crashed "
                   "node.  Hover an arrow for its details.</p>\n");
  guint64 left_out = dk_sim_trace_left_out (trace);
  if (left_out > 0)
    g_string_append_printf (out, "<p class=\"capped\">The trace was capped at %u datagrams (--trace-limit): "
                            "%" G_GUINT64_FORMAT " more matched and were not recorded.</p>\n",
                            dk_sim_trace_limit (trace), left_out);
  if (shown < n_records)
    g_string_append_printf (out, "<p class=\"capped\">The diagram shows the first %u of the %u recorded "
                            "datagrams; the quorum trace below covers them all.</p>\n", shown,
                            n_records);
  if (shown == 0)
    {
      g_string_append (out, "<p>No datagram matched.</p></section>\n");
      return;
    }

  /* Lifelines: every node, and every client, or one for all of them
   * when there are more than a few. */
  g_autoptr (GArray) who = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint clients = 0;
  for (guint i = 0; i < shown; i++)
    {
      g_array_append_val (who, records[i].from);
      g_array_append_val (who, records[i].to);
      g_array_append_val (times, records[i].send_us);
      g_array_append_val (times, records[i].arrive_us);
    }
  sort_unique (who, compare_u64);   /* nodes first (ids), then clients */
  sort_unique (times, compare_i64);
  for (guint w = 0; w < who->len; w++)
    clients += !dk_endpoint_is_node (g_array_index (who, guint64, w));
  gboolean one_client_line = clients > SEPARATE_CLIENTS_MAX;
  if (one_client_line)
    {
      g_array_set_size (who, who->len - clients);
      guint64 all = ALL_CLIENTS;
      g_array_append_val (who, all);
    }
  double spacing = CLAMP (900.0 / who->len, 64.0, 190.0);
  g_autofree double *row_y = g_new (double, times->len);
  for (guint i = 0; i < times->len; i++)
    {
      gint64 gap = i > 0 ? g_array_index (times, gint64, i) - g_array_index (times, gint64, i - 1) : 0;
      row_y[i] = i == 0 ? SEQ_TOP + 12 : row_y[i - 1] + SEQ_ROW + (gap > SEQ_GAP_US ? SEQ_GAP : 0);
    }
  double height = row_y[times->len - 1] + 20;
  double width = SEQ_LEFT + spacing * who->len;
  g_string_append (out, "<div style=\"overflow:auto;max-height:900px;border:1px solid #e3e7ec\">");
  g_string_append (out, "<svg class=\"seq\" viewBox=\"0 0 ");
  pt (out, width, height);
  g_string_append (out, "\" width=\"");
  dk__report_number (out, width, 0);
  g_string_append (out, "\" height=\"");
  dk__report_number (out, height, 0);
  g_string_append (out, "\" role=\"img\" aria-label=\"message sequence diagram\">\n<defs>");
  static const char *const classes[] = { "k-client", "k-read", "k-write", "k-hint", "k-other" };
  for (gsize c = 0; c < G_N_ELEMENTS (classes); c++)
    g_string_append_printf (out, "<marker id=\"arrow-%s\" class=\"%s\" viewBox=\"0 0 8 8\" refX=\"8\" "
                            "refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
                            "<path d=\"M0 0L8 4L0 8z\"/></marker>", classes[c], classes[c]);
  g_string_append (out, "</defs>\n");
  /* Lifelines and names. */
  for (guint w = 0; w < who->len; w++)
    {
      double x = SEQ_LEFT + spacing * (w + 0.5);
      g_string_append (out, "<path class=\"life\" d=\"M");
      pt (out, x, SEQ_TOP - 6);
      g_string_append (out, " V");
      dk__report_number (out, height - 4, 1);
      g_string_append (out, "\"/><text class=\"who\" x=\"");
      dk__report_number (out, x, 1);
      g_string_append (out, "\" y=\"16\">");
      endpoint_name (out, g_array_index (who, guint64, w));
      g_string_append (out, "</text>\n");
    }
  /* Instants and jumps. */
  for (guint i = 0; i < times->len; i++)
    {
      gint64 t = g_array_index (times, gint64, i);
      gint64 gap = i > 0 ? t - g_array_index (times, gint64, i - 1) : 0;
      if (gap > SEQ_GAP_US)
        {
          double y = row_y[i] - SEQ_ROW / 2.0 - SEQ_GAP / 2.0;
          g_string_append (out, "<path class=\"gap\" d=\"M");
          pt (out, 4, y);
          g_string_append (out, " H");
          dk__report_number (out, width - 4, 1);
          g_string_append (out, "\"/><text class=\"gaplbl\" x=\"6\" y=\"");
          dk__report_number (out, y - 3, 1);
          g_string_append (out, "\">+");
          dk__report_number (out, gap / 1e6, 3);
          g_string_append (out, " s</text>");
        }
      g_string_append (out, "<text class=\"t\" x=\"");
      dk__report_number (out, SEQ_LEFT - 6, 1);
      g_string_append (out, "\" y=\"");
      dk__report_number (out, row_y[i] + 3, 1);
      g_string_append (out, "\">");
      dk__report_number (out, t / 1e6, 4);
      g_string_append (out, "</text>\n");
    }
  /* Faults starting or ending inside the diagram. */
  for (guint i = 0; i < spans->len; i++)
    {
      const DkFaultSpan *span = &g_array_index (spans, DkFaultSpan, i);
      gint64 from_us = (gint64) (span->from_s * 1e6 + 0.5);
      g_autofree char *start = g_strdup_printf ("%s%s", span->to_s >= 0 ? "from here: " : "",
                                                span->label);
      fault_line (out, times, row_y, width, from_us, span->kind, start);
      if (span->to_s >= 0)
        {
          g_autofree char *end = g_strdup_printf ("%s ends", span->label);
          fault_line (out, times, row_y, width, (gint64) (span->to_s * 1e6 + 0.5), span->kind, end);
        }
    }
  /* The datagrams. */
  for (guint i = 0; i < shown; i++)
    {
      const DkTraceRecord *record = &records[i];
      const char *kind = type_class (record->type);
      DkEndpoint from = one_client_line && !dk_endpoint_is_node (record->from) ? ALL_CLIENTS
                                                                                : record->from;
      DkEndpoint to = one_client_line && !dk_endpoint_is_node (record->to) ? ALL_CLIENTS : record->to;
      double x0 = SEQ_LEFT + spacing * (column_of (who, from) + 0.5);
      double x1 = SEQ_LEFT + spacing * (column_of (who, to) + 0.5);
      double y0 = row_y[index_of (times, record->send_us)];
      double y1 = row_y[index_of (times, record->arrive_us)];
      gboolean at_sender = record->arrive_us == record->send_us
                           && (record->fate == DK_TRACE_LOST || record->fate == DK_TRACE_CUT);
      if (at_sender)
        {
          x1 = x0 + (x1 - x0) * 0.35;
          y1 = y0 + SEQ_ROW * 0.6;
        }
      g_string_append_printf (out, "<g class=\"%s\"><title>", kind);
      endpoint_name (out, record->from);
      g_string_append (out, " → ");
      endpoint_name (out, record->to);
      g_string_append_printf (out, ": %s%s", dk_wire_type_name (record->type),
                              record->duplicate ? " (a duplicate)" : "");
      if (record->key != NULL)
        {
          g_string_append (out, " key ");
          dk__report_escape (out, record->key);
        }
      if (is_reply (record->type))
        g_string_append_printf (out, ", %s", status_name (record->status));
      if (record->has_client_request)
        g_string_append_printf (out, ", operation %" G_GUINT64_FORMAT,
                                dk_trace_operation_of (record->client_request_id));
      g_string_append_printf (out, ", hop request %" G_GUINT64_FORMAT "\nsent ", record->request_id);
      dk__report_seconds (out, record->send_us);
      g_string_append_printf (out, " s (+%" G_GINT64_FORMAT " µs)", record->send_us % 1000);
      if (!at_sender)
        {
          g_string_append (out, ", reached the end of its link ");
          dk__report_seconds (out, record->arrive_us);
          g_string_append_printf (out, " s (%" G_GINT64_FORMAT " µs later)",
                                  record->arrive_us - record->send_us);
        }
      g_string_append_printf (out, ": %s</title>", dk_trace_fate_name (record->fate));
      const char *line_class = record->fate == DK_TRACE_DELIVERED ? "msg"
                               : record->fate == DK_TRACE_IN_FLIGHT ? "msg inflight" : "msg dropped";
      g_string_append_printf (out, "<path class=\"%s\" d=\"M", line_class);
      pt (out, x0, y0);
      g_string_append (out, " L");
      pt (out, x1, y1);
      g_string_append_c (out, '"');
      if (record->fate == DK_TRACE_DELIVERED)
        g_string_append_printf (out, " marker-end=\"url(#arrow-%s)\"", kind);
      g_string_append (out, "/>");
      if (record->fate != DK_TRACE_DELIVERED && record->fate != DK_TRACE_IN_FLIGHT)
        {
          g_string_append (out, "<path class=\"x\" d=\"M");
          pt (out, x1 - 4, y1 - 4);
          g_string_append (out, " l8 8 M");
          pt (out, x1 + 4, y1 - 4);
          g_string_append (out, " l-8 8\"/>");
        }
      double lx = x0 + (x1 - x0) * 0.3;
      double ly = y0 + (y1 - y0) * 0.3 - 2;
      g_string_append_printf (out, "<text class=\"lbl %s\" x=\"", kind);
      dk__report_number (out, lx, 1);
      g_string_append (out, "\" y=\"");
      dk__report_number (out, ly, 1);
      g_string_append_printf (out, "\"%s>%s", x1 < x0 ? " text-anchor=\"end\"" : "",
                              dk_wire_type_name (record->type));
      if (is_reply (record->type) && record->status != DK_WIRE_STATUS_OK)
        g_string_append_printf (out, " %s", status_name (record->status));
      if (one_client_line && (from == ALL_CLIENTS || to == ALL_CLIENTS))
        {
          g_string_append_c (out, ' ');
          endpoint_name (out, from == ALL_CLIENTS ? record->from : record->to);
        }
      g_string_append (out, "</text></g>\n");
    }
  g_string_append (out, "</svg></div></section>\n");
}

/* ---- the quorum trace ------------------------------------------------------------ */

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

/* The client request RECORDS[I] is the latest of its key to reach COORDINATOR
 * by T_US, or NULL. */
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
          endpoint_name (trace->reply, record->from);
          g_string_append_printf (trace->reply, " → client: %s ", status_name (record->status));
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
      endpoint_name (trace->request, record->from);
      g_string_append_printf (trace->request, " → ");
      endpoint_name (trace->request, record->to);
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
      endpoint_name (trace->asked, record->to);
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
          endpoint_name (trace->answers, reply->from);
          g_string_append_printf (trace->answers, " %s ", status_name (reply->status));
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

static void
quorum_section (GString *out, const DkRunResult *result, const DkSimTrace *trace)
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
          endpoint_name (out, op_trace_row->coordinator);
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

void
dk__report_trace_sections (GString *out, const DkRunResult *result, const DkSimTrace *trace,
                           const GArray *spans)
{
  if (trace == NULL)
    {
      g_string_append (out, "<section id=\"sequence\"><h2>Message sequence</h2>\n<p>No trace was "
                       "recorded.  Run with <code>--trace KEY</code> (the datagrams about one key) "
                       "and/or <code>--trace-window FROM..TO</code> (every datagram sent in a time "
                       "window, e.g. <code>10s..10.2s</code>) to draw the messages of this run and "
                       "each request's quorum.</p></section>\n<section id=\"quorum\"></section>\n");
      return;
    }
  sequence_diagram (out, trace, spans);
  quorum_section (out, result, trace);
}

/* ---- one key's versions ------------------------------------------------------------- */

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
          for (guint v = 0; v < holdings[h].versions->len; v++)
            {
              const DkHeld *held = &g_array_index (holdings[h].versions, DkHeld, v);
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
      pt (out, width, height);
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
              pt (out, x0 + 9, y0);
              g_string_append (out, " C");
              pt (out, (x0 + x1) / 2, y0);
              g_string_append_c (out, ' ');
              pt (out, (x0 + x1) / 2, y1);
              g_string_append_c (out, ' ');
              pt (out, x1 - 9, y1);
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
          for (guint v = 0; v < holdings[h].versions->len; v++)
            {
              const DkHeld *held = &g_array_index (holdings[h].versions, DkHeld, v);
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
