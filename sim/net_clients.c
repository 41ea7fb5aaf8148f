/* net_clients.c — the workload against real nodes; see net_clients.h.
 *
 * One timer, a timerfd kept to the microsecond (as dynkvd's delayed
 * datagrams, src/net/udp_env.c; a GLib timeout's poll rounds up to whole
 * ms), wakes the loop when the next thing is due: an arrival, a request
 * copy held for its delay, or the earliest client timeout (a FIFO: every
 * deadline is its send time plus the same timeout).  One receive source
 * per client socket matches
 * replies to pending operations by their request id.  The reply handling
 * follows sim/workload.c step for step, so the two histories mean the
 * same thing. */
#include "net_clients.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "client_model.h"
#include "net/net_config.h"
#include "net/precise_timer.h"
#include "wire.h"

#define WORKLOAD_STREAM 2   /* as sim/workload.c: the same seed, the same draws */
#define NONCE_STREAM 17
#define OP_MASK DK_WORKLOAD_OP_MASK
/* Datagrams read per wake-up of one socket, at most. */
#define RECEIVE_BATCH 64
/* Arrivals issued per wake-up, at most (a stalled loop catches up, bounded). */
#define ARRIVALS_PER_TICK 1000

typedef struct _Client Client;

typedef struct
{
  DkNetClients *clients;
  guint64     op;
  guint       client;
  guint32     key_index;
  gboolean    then_write;
  DkOpKind    write_kind;
  gint64      deadline_us;
  DkNodeId    coordinator;
  guint64     request_id;
  guint       page;
  DkClientPages pages;
} Pending;

struct _Client
{
  DkNetClients *clients;
  guint         index;
  GSocket      *socket;
  GSource      *source;
};

struct _DkNetClients
{
  DkNetClientsConfig config;
  DkHistory         *history;
  DkKeyDist         *key_dist;
  DkRng              rng;
  DkRng              nonces;
  GPtrArray         *addresses;  /* GSocketAddress*, index ID-1 */
  GPtrArray         *sockets;    /* Client*, index client */
  GHashTable        *pending;    /* guint64 op -> Pending*, owned */
  GQueue             deadlines;  /* op ids in send order (GSIZE_TO_POINTER) */
  DkPreciseTimer    *timer;
  gboolean           started;
  gint64             origin_us;
  gint64             stop_at_us;
  gint64             next_arrival_us;  /* -1: none */
  GBytes            *value_template;
  guint8            *buffer;
  GSequence         *delayed;    /* Delayed*, by due time then seq */
  guint64            delayed_seq;
  DkNetClientsStats  stats;
};

static void
pending_free (gpointer data)
{
  Pending *pending = data;
  dk_client_pages_clear (&pending->pages);
  g_free (pending);
}

gint64
dk_net_clients_now (const DkNetClients *clients)
{
  return g_get_monotonic_time () - clients->origin_us;
}

/* ---- sending --------------------------------------------------------------- */

static void
send_now (DkNetClients *clients, guint client, DkNodeId to, const GByteArray *datagram)
{
  Client *socket = g_ptr_array_index (clients->sockets, client);
  if (g_socket_send_to (socket->socket, g_ptr_array_index (clients->addresses, to - 1),
                        (const gchar *) datagram->data, datagram->len, NULL, NULL) < 0)
    clients->stats.send_errors++;
}

/* A request copy waiting for its delay (net_faults.h). */
typedef struct
{
  gint64      due_us;   /* monotonic */
  guint64     seq;      /* ties: in the order drawn */
  guint       client;
  DkNodeId    to;
  GByteArray *datagram;
} Delayed;

static void
delayed_free (gpointer data)
{
  Delayed *delayed = data;
  g_byte_array_unref (delayed->datagram);
  g_free (delayed);
}

static gint
delayed_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Delayed *x = a, *y = b;
  if (x->due_us != y->due_us)
    return x->due_us < y->due_us ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static void timer_arm (DkNetClients *clients);

static void
send_message (DkNetClients *clients, guint client, DkNodeId to, const DkWireMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (message, &error);
  g_assert_no_error (error);  /* sizes were validated with the scenario */
  DkWireStamp stamp = { g_get_real_time (), dk_rng_next (&clients->nonces), to };
  dk_wire_sign_stamped (datagram, g_bytes_get_data (clients->config.key, NULL),
                        g_bytes_get_size (clients->config.key), &stamp);
  if (clients->config.faults == NULL)
    {
      send_now (clients, client, to, datagram);
      return;
    }
  gint64 delays_us[2];
  guint copies = dk_net_faults_draw (clients->config.faults, to, delays_us);
  clients->stats.faults_lost += copies == 0;
  clients->stats.faults_duplicated += copies == 2;
  for (guint i = 0; i < copies; i++)
    {
      if (delays_us[i] <= 0)
        {
          send_now (clients, client, to, datagram);
          continue;
        }
      Delayed *delayed = g_new0 (Delayed, 1);
      delayed->due_us = g_get_monotonic_time () + delays_us[i];
      delayed->seq = clients->delayed_seq++;
      delayed->client = client;
      delayed->to = to;
      delayed->datagram = g_byte_array_ref (datagram);
      g_sequence_insert_sorted (clients->delayed, delayed, delayed_compare, NULL);
    }
  timer_arm (clients);
}

static void
send_page (DkNetClients *clients, Pending *pending, guint offset)
{
  g_autoptr (DkWireMessage) request = dk_client_page_request_new (pending->op, &pending->page,
                                                                 pending->client,
                                                                 pending->key_index, offset,
                                                                 &pending->request_id);
  clients->stats.workload.pages_fetched++;
  send_message (clients, pending->client, pending->coordinator, request);
}

static DkNodeId
client_home (const DkNetClients *clients, guint client)
{
  return client % (clients->config.homes > 0 ? clients->config.homes
                                             : clients->config.nodes) + 1;
}

/* As sim/workload.c's, with the runner's reachability. */
static DkNodeId
choose_coordinator (DkNetClients *clients, guint client, const char *key)
{
  DkClientChoice choice = {
    .config = &clients->config.workload,
    .ring = clients->config.ring,
    .nodes = clients->config.nodes,
    .home = client_home (clients, client),
    .reachable = clients->config.reachable,
    .user_data = clients->config.user_data,
  };
  return dk_client_choose_coordinator (&choice, key, &clients->rng);
}

/* As sim/workload.c's send_operation. */
static void
send_operation (DkNetClients *clients, guint client, guint32 key_index, DkOpKind kind,
                gboolean then_write, DkOpKind write_kind, const DkVclock *context,
                guint64 read_op)
{
  char key[DK_CLIENT_KEY_NAME_SIZE];
  dk_client_key_name (key_index, key);
  DkNodeId coordinator = choose_coordinator (clients, client, key);
  gint64 now = dk_net_clients_now (clients);
  guint64 op = dk_history_invoke (clients->history, client, coordinator, kind, key, now);
  if (clients->config.side != NULL)
    dk_history_set_side (clients->history, op,
                         clients->config.side (client_home (clients, client),
                                               clients->config.user_data));
  clients->stats.workload.invoked++;
  if (coordinator == DK_NODE_NONE)
    {
      clients->stats.workload.unreachable++;
      dk_history_complete_failed (clients->history, op, now, "unreachable");
      if (then_write)
        send_operation (clients, client, key_index, write_kind, FALSE, write_kind, NULL,
                        DK_VALUE_UNKNOWN);
      return;
    }
  g_autoptr (DkWireMessage) request = dk_client_request_new (clients->history, op, kind, client,
                                                            key, context, read_op,
                                                            clients->value_template,
                                                            clients->config.workload.value_bytes);
  g_assert (op <= OP_MASK);
  Pending *pending = g_new0 (Pending, 1);
  pending->clients = clients;
  pending->op = op;
  pending->request_id = op;
  pending->coordinator = coordinator;
  pending->client = client;
  pending->key_index = key_index;
  pending->then_write = then_write;
  pending->write_kind = write_kind;
  pending->deadline_us = now + clients->config.workload.client_timeout_us;
  g_hash_table_insert (clients->pending, &pending->op, pending);
  g_queue_push_tail (&clients->deadlines, GSIZE_TO_POINTER ((gsize) op));
  send_message (clients, client, coordinator, request);
  timer_arm (clients);
}

static void
issue_operation (DkNetClients *clients)
{
  guint client;
  guint32 key_index;
  DkOpKind kind;
  dk_client_draw_operation (&clients->config.workload, clients->key_dist, &clients->rng, &client,
                            &key_index, &kind);
  if (kind != DK_OP_GET && clients->config.workload.use_context)
    send_operation (clients, client, key_index, DK_OP_GET, TRUE, kind, NULL, DK_VALUE_UNKNOWN);
  else
    send_operation (clients, client, key_index, kind, FALSE, kind, NULL, DK_VALUE_UNKNOWN);
}

/* The next arrival after FROM_US, or -1 past the stop time. */
static void
plan_arrival (DkNetClients *clients, gint64 from_us)
{
  clients->next_arrival_us = -1;
  double rate = clients->config.workload.rate_per_s;
  if (rate <= 0)
    return;
  double gap_s = -log (1.0 - dk_rng_double (&clients->rng)) / rate;
  gint64 at = from_us + (gint64) llround (gap_s * 1e6);
  if (at < clients->stop_at_us)
    clients->next_arrival_us = at;
}

/* ---- replies --------------------------------------------------------------- */

/* As sim/workload.c's gather_page (client_model.h). */
static gboolean
gather_page (DkNetClients *clients, Pending *pending, const DkWireClientReply *reply,
             gboolean *gave_up)
{
  DkClientPagesStep step = dk_client_pages_add (&pending->pages, reply);
  *gave_up = step == DK_CLIENT_PAGES_GAVE_UP;
  if (step == DK_CLIENT_PAGES_RESTART || step == DK_CLIENT_PAGES_GAVE_UP)
    clients->stats.workload.page_restarts++;
  if (step == DK_CLIENT_PAGES_RESTART)
    send_page (clients, pending, 0);
  else if (step == DK_CLIENT_PAGES_NEXT)
    send_page (clients, pending, pending->pages.gathered->len);
  return step == DK_CLIENT_PAGES_DONE;
}

static void
on_datagram (DkNetClients *clients, guint client, const guint8 *data, gsize len)
{
  if (!dk_wire_verify (data, len, g_bytes_get_data (clients->config.key, NULL),
                       g_bytes_get_size (clients->config.key), NULL))
    {
      clients->stats.unauthenticated++;
      return;
    }
  g_autoptr (DkWireMessage) message = dk_wire_decode (data, len, NULL);
  if (message == NULL || message->type != DK_WIRE_CLIENT_REPLY)
    {
      clients->stats.workload.malformed_replies++;
      return;
    }
  clients->stats.workload.replies++;
  guint64 request_id = message->body.client_reply.client_request_id;
  guint64 op_id = request_id & OP_MASK;
  Pending *pending = g_hash_table_lookup (clients->pending, &op_id);
  if (pending == NULL || pending->client != client || pending->request_id != request_id)
    {
      clients->stats.workload.late_replies++;
      return;
    }
  DkWireClientReply *reply = &message->body.client_reply;
  gboolean read_ok = reply->status == DK_WIRE_STATUS_OK
                     || reply->status == DK_WIRE_STATUS_NOT_FOUND;
  const GPtrArray *siblings = reply->siblings;
  gboolean gave_up = FALSE;
  if (read_ok && (reply->siblings_before > 0 || reply->siblings_after > 0)
      && dk_history_get (clients->history, op_id)->kind == DK_OP_GET)
    {
      if (gather_page (clients, pending, reply, &gave_up))
        siblings = pending->pages.gathered;
      else if (!gave_up)
        return;
    }
  if (gave_up)
    {
      read_ok = FALSE;
      dk_history_complete_failed (clients->history, op_id, dk_net_clients_now (clients),
                                  "set changed while paging");
    }
  else
    {
      /* A write's commit: when the reply left its node, by its stamp
       * (every namespace reads the machine's one wall clock), kept within
       * the operation. */
      DkWireStamp stamp;
      gint64 now = dk_net_clients_now (clients);
      gint64 sent_us = dk_wire_read_stamp (data, len, &stamp, NULL)
                       ? now - (g_get_real_time () - stamp.timestamp_us) : now;
      sent_us = CLAMP (sent_us, dk_history_get (clients->history, op_id)->invoke_us, now);
      dk_client_complete (clients->history, op_id, now, reply, siblings, sent_us);
    }
  gboolean write_next = pending->then_write;
  DkOpKind write_kind = pending->write_kind;
  guint32 key_index = pending->key_index;
  g_hash_table_remove (clients->pending, &op_id);
  if (write_next)
    send_operation (clients, client, key_index, write_kind, FALSE, write_kind,
                    read_ok ? reply->context : NULL, read_ok ? op_id : DK_VALUE_UNKNOWN);
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Client *client = user_data;
  DkNetClients *clients = client->clients;
  for (guint i = 0; i < RECEIVE_BATCH; i++)
    {
      gssize len = g_socket_receive (socket, (gchar *) clients->buffer, 65536, NULL, NULL);
      if (len < 0)
        break;   /* would block, or an ICMP error reported late */
      on_datagram (clients, client->index, clients->buffer, (gsize) len);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the timer -------------------------------------------------------------- */

static void
expire (DkNetClients *clients, gint64 now)
{
  while (!g_queue_is_empty (&clients->deadlines))
    {
      guint64 op = GPOINTER_TO_SIZE (g_queue_peek_head (&clients->deadlines));
      Pending *pending = g_hash_table_lookup (clients->pending, &op);
      if (pending != NULL && pending->deadline_us > now)
        return;
      g_queue_pop_head (&clients->deadlines);
      if (pending == NULL)
        continue;   /* answered */
      clients->stats.workload.client_timeouts++;
      dk_history_complete_failed (clients->history, op, now, "client timeout");
      gboolean write_next = pending->then_write;
      DkOpKind write_kind = pending->write_kind;
      guint client = pending->client;
      guint32 key_index = pending->key_index;
      g_hash_table_remove (clients->pending, &op);
      if (write_next)
        send_operation (clients, client, key_index, write_kind, FALSE, write_kind, NULL,
                        DK_VALUE_UNKNOWN);
    }
}

/* Send every delayed copy due by NOW_MONO, earliest first. */
static void
send_delayed (DkNetClients *clients, gint64 now_mono)
{
  for (;;)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (clients->delayed);
      if (g_sequence_iter_is_end (first))
        return;
      Delayed *delayed = g_sequence_get (first);
      if (delayed->due_us > now_mono)
        return;
      send_now (clients, delayed->client, delayed->to, delayed->datagram);
      g_sequence_remove (first);   /* frees it */
    }
}

/* The monotonic time the timer is next due: the next arrival, the
 * earliest delayed copy or the earliest deadline of an operation still
 * pending (the answered ones ahead of it are dropped), G_MAXINT64 for
 * none. */
static gint64
timer_due (DkNetClients *clients)
{
  gint64 due = G_MAXINT64;
  if (clients->next_arrival_us >= 0)
    due = clients->origin_us + clients->next_arrival_us;
  GSequenceIter *first = g_sequence_get_begin_iter (clients->delayed);
  if (!g_sequence_iter_is_end (first))
    due = MIN (due, ((Delayed *) g_sequence_get (first))->due_us);
  while (!g_queue_is_empty (&clients->deadlines))
    {
      guint64 op = GPOINTER_TO_SIZE (g_queue_peek_head (&clients->deadlines));
      const Pending *pending = g_hash_table_lookup (clients->pending, &op);
      if (pending != NULL)
        return MIN (due, clients->origin_us + pending->deadline_us);
      g_queue_pop_head (&clients->deadlines);   /* answered */
    }
  return due;
}

/* Arm the timer for timer_due (a system call only when that changed),
 * not before the clients start. */
static void
timer_arm (DkNetClients *clients)
{
  if (clients->started)
    dk_precise_timer_arm (clients->timer, timer_due (clients));
}

static gboolean
on_timer (gpointer data)
{
  DkNetClients *clients = data;
  send_delayed (clients, g_get_monotonic_time ());
  gint64 now = dk_net_clients_now (clients);
  for (guint i = 0; i < ARRIVALS_PER_TICK && clients->next_arrival_us >= 0
                    && clients->next_arrival_us <= now; i++)
    {
      clients->stats.tick_late_max_us = MAX (clients->stats.tick_late_max_us,
                                             now - clients->next_arrival_us);
      clients->stats.tick_late_sum_us += now - clients->next_arrival_us;
      clients->stats.arrivals++;
      issue_operation (clients);
      plan_arrival (clients, clients->next_arrival_us);
    }
  expire (clients, dk_net_clients_now (clients));
  timer_arm (clients);
  return G_SOURCE_CONTINUE;
}

/* ---- public ------------------------------------------------------------------ */

DkNetClients *
dk_net_clients_new (const DkNetClientsConfig *config, DkHistory *history, GError **error)
{
  g_return_val_if_fail (config->workload.clients >= 1 && config->workload.keys >= 1, NULL);
  g_return_val_if_fail (config->workload.coordinator != DK_COORDINATOR_PROXY, NULL);
  g_return_val_if_fail (config->key != NULL && config->reachable != NULL, NULL);
  g_autoptr (DkNetClients) clients = g_new0 (DkNetClients, 1);
  clients->config = *config;
  clients->history = history;
  clients->key_dist = dk_key_dist_new (&config->workload.key_dist, config->workload.keys);
  dk_rng_init (&clients->rng, config->seed, WORKLOAD_STREAM);
  dk_rng_init (&clients->nonces, config->seed ^ (guint64) g_get_real_time (), NONCE_STREAM);
  clients->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, pending_free);
  g_queue_init (&clients->deadlines);
  clients->delayed = g_sequence_new (delayed_free);
  clients->next_arrival_us = -1;
  clients->buffer = g_malloc (65536);
  guint8 *template = g_malloc (MAX (config->workload.value_bytes, 1));
  for (guint i = 0; i < config->workload.value_bytes; i++)
    template[i] = (guint8) ('a' + i % 26);
  clients->value_template = g_bytes_new_take (template, config->workload.value_bytes);
  clients->timer = dk_precise_timer_new (config->context, "dynkv-cluster clients'",
                                         on_timer, clients, error);
  if (clients->timer == NULL)
    return NULL;
  clients->addresses = g_ptr_array_new_with_free_func (g_object_unref);
  clients->sockets = g_ptr_array_new ();
  for (guint id = 1; id <= config->nodes; id++)
    {
      GInetSocketAddress *address = dk_net_resolve (config->addresses[id - 1], FALSE, error);
      if (address == NULL)
        return NULL;
      g_ptr_array_add (clients->addresses, address);
    }
  for (guint c = 0; c < config->workload.clients; c++)
    {
      Client *client = g_new0 (Client, 1);
      client->clients = clients;
      client->index = c;
      g_ptr_array_add (clients->sockets, client);
      client->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                     G_SOCKET_PROTOCOL_UDP, error);
      if (client->socket == NULL)
        return NULL;
      g_socket_set_blocking (client->socket, FALSE);
      g_autoptr (GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GSocketAddress) local = g_inet_socket_address_new (any, 0);
      if (!g_socket_bind (client->socket, local, FALSE, error))
        return NULL;
      client->source = g_socket_create_source (client->socket, G_IO_IN, NULL);
      g_source_set_callback (client->source, G_SOURCE_FUNC (on_readable), client, NULL);
      g_source_attach (client->source, config->context);
    }
  return g_steal_pointer (&clients);
}

void
dk_net_clients_free (DkNetClients *clients)
{
  if (clients == NULL)
    return;
  dk_precise_timer_free (clients->timer);
  for (guint i = 0; clients->sockets != NULL && i < clients->sockets->len; i++)
    {
      Client *client = g_ptr_array_index (clients->sockets, i);
      if (client->source != NULL)
        {
          g_source_destroy (client->source);
          g_source_unref (client->source);
        }
      if (client->socket != NULL)
        g_socket_close (client->socket, NULL);
      g_clear_object (&client->socket);
      g_free (client);
    }
  g_clear_pointer (&clients->delayed, g_sequence_free);
  g_clear_pointer (&clients->sockets, g_ptr_array_unref);
  g_clear_pointer (&clients->addresses, g_ptr_array_unref);
  g_clear_pointer (&clients->pending, g_hash_table_destroy);
  g_queue_clear (&clients->deadlines);
  g_clear_pointer (&clients->key_dist, dk_key_dist_free);
  g_clear_pointer (&clients->value_template, g_bytes_unref);
  g_free (clients->buffer);
  g_free (clients);
}

void
dk_net_clients_start (DkNetClients *clients, gint64 origin_us, gint64 stop_at_us)
{
  clients->origin_us = origin_us;
  clients->stop_at_us = stop_at_us;
  plan_arrival (clients, 0);
  clients->started = TRUE;
  timer_arm (clients);
}

void
dk_net_clients_set_ring (DkNetClients *clients, const DkRing *ring)
{
  clients->config.ring = ring;
}

void
dk_net_clients_set_rate (DkNetClients *clients, double rate_per_s)
{
  clients->config.workload.rate_per_s = MAX (rate_per_s, 0);
  plan_arrival (clients, dk_net_clients_now (clients));
  timer_arm (clients);
}

guint
dk_net_clients_pending (const DkNetClients *clients)
{
  return g_hash_table_size (clients->pending);
}

const DkNetClientsStats *
dk_net_clients_stats (const DkNetClients *clients)
{
  return &clients->stats;
}
