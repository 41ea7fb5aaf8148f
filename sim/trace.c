/* trace.c — the datagrams concerning one key or one window; see trace.h.
 *
 * Tables here are only looked up (a copy in flight by its handle, the
 * client requests and hints of the key), never iterated, so nothing about
 * hashing reaches a record. */
#include "trace.h"

#include <string.h>
#include "workload.h"

struct _DkSimTrace
{
  char       *key;
  gint64      from_us;
  gint64      to_us;
  guint       limit;
  GArray     *records;         /* of DkTraceRecord */
  guint64     left_out;
  GHashTable *in_flight;       /* handle -> record index + 1 */
  GHashTable *client_requests; /* guint64 client request id set: requests naming the key */
  GHashTable *hints;           /* "STAND-IN:HINT-ID" set: hints of the key (hint ids are
                                * per stand-in) */
};

DkSimTrace *
dk_sim_trace_new (const char *key, gint64 from_us, gint64 to_us, guint limit)
{
  g_return_val_if_fail (limit > 0, NULL);
  DkSimTrace *trace = g_new0 (DkSimTrace, 1);
  trace->key = g_strdup (key);
  trace->from_us = from_us;
  trace->to_us = to_us;
  trace->limit = limit;
  trace->records = g_array_new (FALSE, TRUE, sizeof (DkTraceRecord));
  trace->in_flight = g_hash_table_new (g_direct_hash, g_direct_equal);
  trace->client_requests = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  trace->hints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return trace;
}

void
dk_sim_trace_free (DkSimTrace *trace)
{
  if (trace == NULL)
    return;
  for (guint i = 0; i < trace->records->len; i++)
    g_free (g_array_index (trace->records, DkTraceRecord, i).key);
  g_array_unref (trace->records);
  g_hash_table_destroy (trace->in_flight);
  g_hash_table_destroy (trace->client_requests);
  g_hash_table_destroy (trace->hints);
  g_free (trace->key);
  g_free (trace);
}

static void
add_id (GHashTable *set, guint64 id)
{
  guint64 *copy = g_new (guint64, 1);
  *copy = id;
  g_hash_table_add (set, copy);
}

static char *
key_string (GBytes *key)
{
  if (key == NULL)
    return NULL;
  gsize len;
  const char *bytes = g_bytes_get_data (key, &len);
  return g_strndup (bytes, len);
}

/* Fill RECORD's fields from MESSAGE. */
static void
describe (DkTraceRecord *record, const DkWireMessage *message)
{
  record->type = message->type;
  record->request_id = message->request_id;
  record->status = DK_WIRE_STATUS_OK;
  GBytes *key = NULL;
  switch (message->type)
    {
    case DK_WIRE_GET:
    case DK_WIRE_PUT:
    case DK_WIRE_DELETE:
      key = message->body.client_request.key;
      record->has_client_request = TRUE;
      record->client_request_id = message->body.client_request.client_request_id;
      break;
    case DK_WIRE_FORWARD:
      key = message->body.forward.request.key;
      record->has_client_request = TRUE;
      record->client_request_id = message->body.forward.request.client_request_id;
      break;
    case DK_WIRE_CLIENT_REPLY:
      record->has_client_request = TRUE;
      record->client_request_id = message->body.client_reply.client_request_id;
      record->status = message->body.client_reply.status;
      break;
    case DK_WIRE_READ:
      key = message->body.read.key;
      break;
    case DK_WIRE_READ_REPLY:
      key = message->body.read_reply.key;
      record->status = message->body.read_reply.status;
      break;
    case DK_WIRE_WRITE:
      key = message->body.write.key;
      break;
    case DK_WIRE_WRITE_ACK:
      key = message->body.write_ack.key;
      record->status = message->body.write_ack.status;
      break;
    case DK_WIRE_HINT_HANDOFF:
      key = message->body.hint_handoff.key;
      record->hint_id = message->body.hint_handoff.hint_id;
      break;
    case DK_WIRE_HINT_ACK:
      record->hint_id = message->body.hint_ack.hint_id;
      record->status = message->body.hint_ack.status;
      break;
    default:
      break;
    }
  record->key = key_string (key);
}

/* TRUE when a datagram of TYPE can concern a single key at all: the
 * membership, failure detection and anti-entropy traffic never does, so a
 * keyed trace skips it without decoding. */
static gboolean
type_may_name_key (guint type)
{
  switch (type)
    {
    case DK_WIRE_GET:
    case DK_WIRE_PUT:
    case DK_WIRE_DELETE:
    case DK_WIRE_CLIENT_REPLY:
    case DK_WIRE_FORWARD:
    case DK_WIRE_READ:
    case DK_WIRE_READ_REPLY:
    case DK_WIRE_WRITE:
    case DK_WIRE_WRITE_ACK:
    case DK_WIRE_HINT_HANDOFF:
    case DK_WIRE_HINT_ACK:
      return TRUE;
    default:
      return FALSE;
    }
}

static char *
hint_name (DkEndpoint stand_in, guint64 hint_id)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, stand_in, hint_id);
}

/* TRUE when RECORD concerns the trace's key; learns the key's client
 * requests and hints so that their replies and acks are kept too. */
static gboolean
concerns_key (DkSimTrace *trace, const DkTraceRecord *record)
{
  if (record->key != NULL)
    {
      if (strcmp (record->key, trace->key) != 0)
        return FALSE;
      if (record->has_client_request)
        add_id (trace->client_requests, record->client_request_id);
      if (record->type == DK_WIRE_HINT_HANDOFF)
        g_hash_table_add (trace->hints, hint_name (record->from, record->hint_id));
      return TRUE;
    }
  if (record->type == DK_WIRE_CLIENT_REPLY)
    return g_hash_table_contains (trace->client_requests, &record->client_request_id);
  if (record->type == DK_WIRE_HINT_ACK)
    {
      g_autofree char *name = hint_name (record->to, record->hint_id);
      return g_hash_table_contains (trace->hints, name);
    }
  return FALSE;
}

void
dk_sim_trace_send (DkSimTrace *trace, gconstpointer handle, DkEndpoint from, DkEndpoint to,
                   gint64 now_us, gint64 arrive_us, DkTraceFate fate, const guint8 *bytes,
                   gsize len)
{
  if (now_us < trace->from_us || (trace->to_us >= 0 && now_us >= trace->to_us))
    return;
  if (trace->key != NULL && (len < DK_WIRE_HEADER_BYTES || !type_may_name_key (bytes[3])))
    return;
  g_autoptr (DkWireMessage) message = dk_wire_decode (bytes, len, NULL);
  if (message == NULL)
    return;   /* not a datagram a node would accept either */
  DkTraceRecord record = {
    .send_us = now_us,
    .arrive_us = arrive_us,
    .from = from,
    .to = to,
    .fate = fate,
  };
  describe (&record, message);
  if (trace->key != NULL && !concerns_key (trace, &record))
    {
      g_free (record.key);
      return;
    }
  if (trace->records->len >= trace->limit)
    {
      trace->left_out++;
      g_free (record.key);
      return;
    }
  /* The network sends a duplicate right after the first copy. */
  if (handle != NULL && trace->records->len > 0)
    {
      const DkTraceRecord *last = &g_array_index (trace->records, DkTraceRecord,
                                                  trace->records->len - 1);
      record.duplicate = last->send_us == now_us && last->from == from && last->to == to
                         && last->type == record.type && last->request_id == record.request_id
                         && last->fate != DK_TRACE_LOST && last->fate != DK_TRACE_CUT
                         && g_strcmp0 (last->key, record.key) == 0
                         && last->client_request_id == record.client_request_id;
    }
  g_array_append_val (trace->records, record);
  if (handle != NULL)
    g_hash_table_insert (trace->in_flight, (gpointer) handle,
                         GUINT_TO_POINTER (trace->records->len));
}

void
dk_sim_trace_arrive (DkSimTrace *trace, gconstpointer handle, DkTraceFate fate)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (trace->in_flight, handle));
  if (index == 0)
    return;
  g_hash_table_remove (trace->in_flight, handle);
  g_array_index (trace->records, DkTraceRecord, index - 1).fate = fate;
}

const char *
dk_sim_trace_key (const DkSimTrace *trace)
{
  return trace->key;
}

void
dk_sim_trace_window (const DkSimTrace *trace, gint64 *from_us, gint64 *to_us)
{
  *from_us = trace->from_us;
  *to_us = trace->to_us;
}

guint
dk_sim_trace_limit (const DkSimTrace *trace)
{
  return trace->limit;
}

const DkTraceRecord *
dk_sim_trace_records (const DkSimTrace *trace, guint *n_records)
{
  *n_records = trace->records->len;
  return (const DkTraceRecord *) trace->records->data;
}

guint64
dk_sim_trace_left_out (const DkSimTrace *trace)
{
  return trace->left_out;
}

const char *
dk_trace_fate_name (DkTraceFate fate)
{
  switch (fate)
    {
    case DK_TRACE_IN_FLIGHT: return "in flight";
    case DK_TRACE_DELIVERED: return "delivered";
    case DK_TRACE_LOST: return "lost";
    case DK_TRACE_CUT: return "cut";
    case DK_TRACE_TO_CRASHED: return "to crashed node";
    }
  return "?";
}

guint64
dk_trace_operation_of (guint64 client_request_id)
{
  return client_request_id & DK_WORKLOAD_OP_MASK;
}
