/* report_sequence.c — the report's message-sequence (Lamport) diagram
 * of the datagrams a trace recorded (trace.h); see report.h.
 *
 * One lifeline per node (and per client, or one for every client when
 * there are many), time running down but not to scale: every instant a
 * datagram left or arrived gets a row, and a dashed line marks a jump
 * longer than SEQ_GAP_US, so a request's few milliseconds read as well as
 * the seconds between requests.  The faults of faults.log are drawn where
 * they start and end. */
#include "config.h"
#include "report_private.h"

#include <string.h>

#define SEQ_LEFT 78        /* room for the time labels */
#define SEQ_TOP 34
#define SEQ_ROW 13
#define SEQ_GAP 22         /* extra room where time jumps */
#define SEQ_GAP_US 20000   /* a jump: more than this between two instants */

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
lifeline_name (GString *out, DkEndpoint endpoint)
{
  if (endpoint == ALL_CLIENTS)
    g_string_append (out, "clients");
  else
    dk__report_endpoint (out, endpoint);
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
  dk__report_point (out, SEQ_LEFT - 4, y);
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

void
dk__report_sequence_section (GString *out, const DkSimTrace *trace, const GArray *spans)
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
  dk__report_point (out, width, height);
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
      dk__report_point (out, x, SEQ_TOP - 6);
      g_string_append (out, " V");
      dk__report_number (out, height - 4, 1);
      g_string_append (out, "\"/><text class=\"who\" x=\"");
      dk__report_number (out, x, 1);
      g_string_append (out, "\" y=\"16\">");
      lifeline_name (out, g_array_index (who, guint64, w));
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
          dk__report_point (out, 4, y);
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
      dk__report_endpoint (out, record->from);
      g_string_append (out, " → ");
      dk__report_endpoint (out, record->to);
      g_string_append_printf (out, ": %s%s", dk_wire_type_name (record->type),
                              record->duplicate ? " (a duplicate)" : "");
      if (record->key != NULL)
        {
          g_string_append (out, " key ");
          dk__report_escape (out, record->key);
        }
      if (is_reply (record->type))
        g_string_append_printf (out, ", %s", dk__report_status_name (record->status));
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
      dk__report_point (out, x0, y0);
      g_string_append (out, " L");
      dk__report_point (out, x1, y1);
      g_string_append_c (out, '"');
      if (record->fate == DK_TRACE_DELIVERED)
        g_string_append_printf (out, " marker-end=\"url(#arrow-%s)\"", kind);
      g_string_append (out, "/>");
      if (record->fate != DK_TRACE_DELIVERED && record->fate != DK_TRACE_IN_FLIGHT)
        {
          g_string_append (out, "<path class=\"x\" d=\"M");
          dk__report_point (out, x1 - 4, y1 - 4);
          g_string_append (out, " l8 8 M");
          dk__report_point (out, x1 + 4, y1 - 4);
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
        g_string_append_printf (out, " %s", dk__report_status_name (record->status));
      if (one_client_line && (from == ALL_CLIENTS || to == ALL_CLIENTS))
        {
          g_string_append_c (out, ' ');
          dk__report_endpoint (out, from == ALL_CLIENTS ? record->from : record->to);
        }
      g_string_append (out, "</text></g>\n");
    }
  g_string_append (out, "</svg></div></section>\n");
}
