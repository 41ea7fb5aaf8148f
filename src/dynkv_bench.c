/* dynkv_bench.c — `dynkv bench`, the load generator (dynkv_bench.h).
 *
 *   dynkv bench --node 127.0.0.1:7001 --node 127.0.0.1:7002 \
 *     --concurrency 50 --reads 0.5 --value-size 100 --keys 1000 --duration 10
 *
 * CONCURRENCY slots each keep one request in flight; slot S sends to node
 * S mod NODES and works through its own keys (S, S + C, S + 2C, ... below
 * --keys) in turn, so no two requests in flight share a key and a put can
 * carry the context of the key's last answer: the put supersedes what is
 * there instead of adding a sibling.  A reply is matched to its slot by
 * the client request id, whose low bits are the slot's index.
 *
 * An unkeyed node answers the first request from a new address with a
 * RETRY cookie (node.h); the slot sends it again at once with the cookie
 * as header id, as dynkv does, and the address is then known.  With
 * --key-file every send is signed afresh for the node's id, learnt with a
 * PING first. */
#include "config.h"

#include "dynkv_bench.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net_config.h"
#include "wire.h"

#define BENCH_MAX_NODES 16
#define BENCH_MAX_CONCURRENCY 4096   /* slot index in the low 12 bits */
#define BENCH_SLOT_BITS 12
#define BENCH_MAX_DURATION_S 3600.0
/* Latencies kept per kind at most (about 40 MB each): enough for an hour
 * at 2.5k ops/s or ten minutes at 16k; past it the percentiles are of
 * the first ones. */
#define BENCH_MAX_SAMPLES (10u * 1000u * 1000u)
/* A node that answers RETRY again and again is not believed past this. */
#define BENCH_MAX_COOKIES 3

typedef struct
{
  GSocket        *socket;
  int             fd;
  GSocketAddress *address;
  const char     *text;
  DkNodeId        id;       /* keyed: learnt from a PONG */
} BenchNode;

typedef struct
{
  gboolean    busy;
  DkWireType  type;
  guint       node;
  guint       round;            /* which of the slot's keys is next */
  guint       key_index;
  guint64     client_request_id;
  GByteArray *datagram;         /* encoded, unsigned */
  DkWireMessage *request;       /* kept to re-encode with a cookie */
  gint64      first_send_us;
  gint64      next_send_us;
  gint64      deadline_us;
  guint       sends;
  guint       cookies;
} BenchSlot;

/* What one kind of request (put or get) did. */
typedef struct
{
  guint64 ok;
  guint64 not_found;
  guint64 errors;      /* answered with another status */
  guint64 timeouts;    /* no answer within --timeout-ms */
  GArray *latency_us;  /* of guint32, the answered ones */
} BenchKind;

typedef struct
{
  /* options */
  gint     concurrency;
  double   reads;
  gint     value_size;
  gint     keys;
  double   duration_s;
  gint64   requests;     /* 0: no limit */
  gint     timeout_ms;
  gint     retries;
  gboolean json;
  gint64   seed;
  /* state */
  BenchNode  nodes[BENCH_MAX_NODES];
  guint      node_count;
  GBytes    *key;         /* client or cluster key, or NULL */
  guint64    client_id;
  GBytes    *value;
  GPtrArray *contexts;    /* per key: DkVclock * of its last answer, or NULL */
  BenchSlot *slots;
  GRand     *rand;
  guint64    sequence;
  gint64     issued;
  guint64    resends;
  guint64    cookies;
  guint64    send_failures;
  guint64    strays;      /* datagrams that matched no slot */
  BenchKind  put, get;
  guint64    status_counts[DK_WIRE_STATUS_LAST + 1];
  guint8    *buffer;
} Bench;

static guint64
random_id (void)
{
  return ((guint64) g_random_int () << 32) | g_random_int ();
}

static BenchKind *
kind_of (Bench *bench, DkWireType type)
{
  return type == DK_WIRE_GET ? &bench->get : &bench->put;
}

/* Send DATAGRAM to NODE, signed afresh when keyed. */
static gboolean
bench_send (Bench *bench, BenchNode *node, const GByteArray *datagram)
{
  const guint8 *data = datagram->data;
  gsize len = datagram->len;
  g_autoptr (GByteArray) signed_datagram = NULL;
  if (bench->key != NULL)
    {
      signed_datagram = g_byte_array_sized_new (datagram->len + DK_WIRE_TAG_BYTES);
      g_byte_array_append (signed_datagram, datagram->data, datagram->len);
      DkWireStamp stamp = { g_get_real_time (), random_id (), node->id };
      dk_wire_sign_stamped (signed_datagram, g_bytes_get_data (bench->key, NULL),
                            g_bytes_get_size (bench->key), &stamp);
      data = signed_datagram->data;
      len = signed_datagram->len;
    }
  gssize sent = g_socket_send_to (node->socket, node->address, (const gchar *) data, len,
                                  NULL, NULL);
  if (sent < 0)
    bench->send_failures++;  /* e.g. a full socket buffer: the resend timer covers it */
  return sent >= 0;
}

/* The next datagram waiting on NODE that decodes (and verifies, when
 * keyed); NULL when none is waiting.  Bad datagrams are skipped, at most
 * 64 of them per call. */
static DkWireMessage *
bench_receive (Bench *bench, BenchNode *node)
{
  for (guint skipped = 0; skipped < 64; skipped++)
    {
      gssize len = recv (node->fd, bench->buffer, 65536, MSG_DONTWAIT);
      if (len < 0 && errno == EINTR)
        continue;
      if (len < 0)
        return NULL;  /* EAGAIN, or an ICMP error reported late */
      if (bench->key != NULL
          && !dk_wire_verify (bench->buffer, (gsize) len, g_bytes_get_data (bench->key, NULL),
                              g_bytes_get_size (bench->key), NULL))
        {
          bench->strays++;
          continue;
        }
      DkWireMessage *message = dk_wire_decode (bench->buffer, (gsize) len, NULL);
      if (message != NULL)
        return message;
      bench->strays++;
    }
  return NULL;
}

/* Keyed: learn each node's id with a PING, so that what is signed next is
 * stamped for that node (a node drops what is stamped for another). */
static gboolean
learn_node_ids (Bench *bench, GError **error)
{
  for (guint i = 0; bench->key != NULL && i < bench->node_count; i++)
    {
      BenchNode *node = &bench->nodes[i];
      g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
      ping->request_id = random_id ();
      ping->body.ping.timestamp_us = g_get_monotonic_time ();
      g_autoptr (GByteArray) datagram = dk_wire_encode (ping, error);
      if (datagram == NULL)
        return FALSE;
      gint64 deadline = g_get_monotonic_time () + (gint64) bench->timeout_ms * 1000;
      gboolean answered = FALSE;
      for (guint sends = 0; !answered && sends <= (guint) bench->retries; sends++)
        {
          bench_send (bench, node, datagram);
          gint64 wait_until = MIN (deadline, g_get_monotonic_time ()
                                             + (gint64) bench->timeout_ms * 1000
                                               / (bench->retries + 1));
          for (gint64 now = g_get_monotonic_time (); !answered && now < wait_until;
               now = g_get_monotonic_time ())
            {
              struct pollfd poll_fd = { node->fd, POLLIN, 0 };
              if (poll (&poll_fd, 1, (int) MAX ((wait_until - now) / 1000, 1)) <= 0)
                continue;
              g_autoptr (DkWireMessage) pong = bench_receive (bench, node);
              if (pong != NULL && pong->type == DK_WIRE_PONG
                  && pong->request_id == ping->request_id)
                {
                  node->id = pong->sender;
                  answered = TRUE;
                }
            }
        }
      if (!answered)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "%s did not answer a PING within %d ms", node->text, bench->timeout_ms);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- slots ----------------------------------------------------------------- */

/* Start the next request of slot INDEX (a put or a get of its next key). */
static void
slot_start (Bench *bench, guint index, gint64 now)
{
  BenchSlot *slot = &bench->slots[index];
  guint keys_per_slot = ((guint) bench->keys - index + (guint) bench->concurrency - 1)
                        / (guint) bench->concurrency;
  slot->key_index = index + (guint) bench->concurrency * (slot->round % keys_per_slot);
  slot->round++;
  slot->type = g_rand_double (bench->rand) < bench->reads ? DK_WIRE_GET : DK_WIRE_PUT;
  slot->client_request_id = (++bench->sequence << BENCH_SLOT_BITS) | index;

  g_clear_pointer (&slot->request, dk_wire_message_free);
  slot->request = dk_wire_message_new (slot->type);
  slot->request->request_id = random_id ();
  DkWireClientRequest *body = &slot->request->body.client_request;
  body->client_id = bench->client_id;
  body->client_request_id = slot->client_request_id;
  char key[32];
  int key_len = g_snprintf (key, sizeof key, "bench-%u", slot->key_index);
  body->key = g_bytes_new (key, (gsize) key_len);
  if (slot->type == DK_WIRE_PUT)
    {
      body->value = g_bytes_ref (bench->value);
      const DkVclock *context = g_ptr_array_index (bench->contexts, slot->key_index);
      body->context = context != NULL ? dk_vclock_copy (context) : NULL;
    }
  g_clear_pointer (&slot->datagram, g_byte_array_unref);
  slot->datagram = dk_wire_encode (slot->request, NULL);
  g_assert (slot->datagram != NULL);  /* keys and values are within the limits */

  slot->busy = TRUE;
  slot->sends = 1;
  slot->cookies = 0;
  slot->first_send_us = now;
  slot->deadline_us = now + (gint64) bench->timeout_ms * 1000;
  slot->next_send_us = now + (gint64) bench->timeout_ms * 1000 / (bench->retries + 1);
  bench->issued++;
  bench_send (bench, &bench->nodes[slot->node], slot->datagram);
}

static void
record_latency (BenchKind *kind, gint64 latency_us)
{
  if (kind->latency_us->len < BENCH_MAX_SAMPLES)
    {
      guint32 value = (guint32) CLAMP (latency_us, 0, G_MAXUINT32);
      g_array_append_val (kind->latency_us, value);
    }
}

/* A CLIENT_REPLY for slot INDEX: finish it, or follow a RETRY cookie. */
static void
slot_answered (Bench *bench, guint index, DkWireMessage *reply, gint64 now)
{
  BenchSlot *slot = &bench->slots[index];
  const DkWireClientReply *answer = &reply->body.client_reply;
  if (answer->status == DK_WIRE_STATUS_RETRY && slot->cookies < BENCH_MAX_COOKIES)
    {
      slot->cookies++;
      bench->cookies++;
      slot->request->request_id = reply->request_id;
      g_byte_array_unref (slot->datagram);
      slot->datagram = dk_wire_encode (slot->request, NULL);
      g_assert (slot->datagram != NULL);
      bench_send (bench, &bench->nodes[slot->node], slot->datagram);
      return;
    }
  BenchKind *kind = kind_of (bench, slot->type);
  bench->status_counts[MIN ((guint) answer->status, DK_WIRE_STATUS_LAST)]++;
  if (answer->status == DK_WIRE_STATUS_OK || answer->status == DK_WIRE_STATUS_NOT_FOUND)
    {
      if (answer->status == DK_WIRE_STATUS_OK)
        kind->ok++;
      else
        kind->not_found++;
      record_latency (kind, now - slot->first_send_us);
      if (answer->context != NULL)
        {
          DkVclock **context = (DkVclock **) &g_ptr_array_index (bench->contexts,
                                                                  slot->key_index);
          g_clear_pointer (context, dk_vclock_free);
          *context = dk_vclock_copy (answer->context);
        }
    }
  else
    kind->errors++;
  slot->busy = FALSE;
}

/* Resend or give up the slots whose timers passed. */
static void
slots_expire (Bench *bench, gint64 now)
{
  for (guint i = 0; i < (guint) bench->concurrency; i++)
    {
      BenchSlot *slot = &bench->slots[i];
      if (!slot->busy)
        continue;
      if (now >= slot->deadline_us)
        {
          kind_of (bench, slot->type)->timeouts++;
          slot->busy = FALSE;
        }
      else if (now >= slot->next_send_us && slot->sends <= (guint) bench->retries)
        {
          slot->sends++;
          slot->next_send_us = slot->first_send_us
                               + (gint64) bench->timeout_ms * 1000 / (bench->retries + 1)
                                 * slot->sends;
          bench->resends++;
          bench_send (bench, &bench->nodes[slot->node], slot->datagram);
        }
    }
}

/* The earliest timer of a busy slot, or LIMIT. */
static gint64
slots_next_timer (const Bench *bench, gint64 limit)
{
  gint64 next = limit;
  for (guint i = 0; i < (guint) bench->concurrency; i++)
    {
      const BenchSlot *slot = &bench->slots[i];
      if (slot->busy)
        next = MIN (next, slot->sends <= (guint) bench->retries
                          ? MIN (slot->next_send_us, slot->deadline_us) : slot->deadline_us);
    }
  return next;
}

/* Run the load: returns the seconds from the first send to the last
 * answer (or give-up). */
static double
bench_run (Bench *bench)
{
  gint64 start = g_get_monotonic_time ();
  gint64 stop_issuing = start + (gint64) (bench->duration_s * G_USEC_PER_SEC);
  /* Draining waits at most one timeout past the end. */
  gint64 hard_stop = stop_issuing + (gint64) bench->timeout_ms * 1000 + G_USEC_PER_SEC;
  gint64 last_event = start;
  struct pollfd poll_fds[BENCH_MAX_NODES];
  for (guint i = 0; i < bench->node_count; i++)
    poll_fds[i] = (struct pollfd) { bench->nodes[i].fd, POLLIN, 0 };

  for (gint64 now = start; now < hard_stop; now = g_get_monotonic_time ())
    {
      gboolean issuing = now < stop_issuing
                         && (bench->requests == 0 || bench->issued < bench->requests);
      guint busy = 0;
      for (guint i = 0; i < (guint) bench->concurrency; i++)
        {
          if (!bench->slots[i].busy && issuing
              && (bench->requests == 0 || bench->issued < bench->requests))
            slot_start (bench, i, now);
          busy += bench->slots[i].busy;
        }
      if (busy == 0 && !issuing)
        break;
      gint64 wake = slots_next_timer (bench, issuing ? stop_issuing : hard_stop);
      int wait_ms = (int) CLAMP ((wake - now + 999) / 1000, 0, 1000);
      int ready = poll (poll_fds, bench->node_count, wait_ms);
      now = g_get_monotonic_time ();
      for (guint n = 0; ready > 0 && n < bench->node_count; n++)
        {
          if ((poll_fds[n].revents & (POLLIN | POLLERR)) == 0)
            continue;
          /* Drain what is waiting, at most a few thousand at a time. */
          for (guint k = 0; k < 4096; k++)
            {
              g_autoptr (DkWireMessage) reply = bench_receive (bench, &bench->nodes[n]);
              if (reply == NULL)
                break;
              guint64 id = reply->type == DK_WIRE_CLIENT_REPLY
                           ? reply->body.client_reply.client_request_id : 0;
              guint index = (guint) (id & ((1u << BENCH_SLOT_BITS) - 1));
              if (reply->type != DK_WIRE_CLIENT_REPLY || index >= (guint) bench->concurrency
                  || !bench->slots[index].busy || bench->slots[index].client_request_id != id)
                {
                  bench->strays++;  /* a late answer to a resent or given-up request */
                  continue;
                }
              slot_answered (bench, index, reply, now);
              last_event = now;
            }
        }
      slots_expire (bench, now);
    }
  /* Past the hard stop: whatever is still out counts as timed out. */
  for (guint i = 0; i < (guint) bench->concurrency; i++)
    if (bench->slots[i].busy)
      {
        kind_of (bench, bench->slots[i].type)->timeouts++;
        bench->slots[i].busy = FALSE;
      }
  return (double) MAX (last_event - start, 1) / G_USEC_PER_SEC;
}

/* ---- report ---------------------------------------------------------------- */

static gint
compare_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* The Q-quantile of the sorted LATENCIES in milliseconds (nearest rank),
 * 0 when there are none. */
static double
quantile_ms (const GArray *latencies, double q)
{
  if (latencies->len == 0)
    return 0.0;
  guint rank = (guint) (q * (latencies->len - 1) + 0.5);
  return g_array_index (latencies, guint32, rank) / 1000.0;
}

static void
print_kind_text (const char *name, BenchKind *kind, double seconds)
{
  guint64 answered = kind->ok + kind->not_found;
  printf ("%-4s %10.0f ops/s  p50 %8.3f ms  p99 %8.3f ms  (%" G_GUINT64_FORMAT " ok, %"
          G_GUINT64_FORMAT " not found, %" G_GUINT64_FORMAT " errors, %" G_GUINT64_FORMAT
          " timeouts)\n", name, answered / seconds, quantile_ms (kind->latency_us, 0.5),
          quantile_ms (kind->latency_us, 0.99), kind->ok, kind->not_found, kind->errors,
          kind->timeouts);
}

static void
print_kind_json (GString *out, const char *name, BenchKind *kind, double seconds)
{
  guint64 answered = kind->ok + kind->not_found;
  g_string_append_printf (out, "\"%s\":{\"ops\":%" G_GUINT64_FORMAT ",\"ok\":%" G_GUINT64_FORMAT
                          ",\"not_found\":%" G_GUINT64_FORMAT ",\"errors\":%" G_GUINT64_FORMAT
                          ",\"timeouts\":%" G_GUINT64_FORMAT, name, answered, kind->ok,
                          kind->not_found, kind->errors, kind->timeouts);
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (out, ",\"ops_per_s\":%s",
                          g_ascii_formatd (number, sizeof number, "%.1f", answered / seconds));
  g_string_append_printf (out, ",\"p50_ms\":%s",
                          g_ascii_formatd (number, sizeof number, "%.3f",
                                           quantile_ms (kind->latency_us, 0.5)));
  g_string_append_printf (out, ",\"p99_ms\":%s}",
                          g_ascii_formatd (number, sizeof number, "%.3f",
                                           quantile_ms (kind->latency_us, 0.99)));
}

static void
bench_report (Bench *bench, double seconds)
{
  g_array_sort (bench->put.latency_us, compare_u32);
  g_array_sort (bench->get.latency_us, compare_u32);
  guint64 errors = bench->put.errors + bench->get.errors;
  guint64 timeouts = bench->put.timeouts + bench->get.timeouts;
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  if (bench->json)
    {
      g_autoptr (GString) out = g_string_new ("{");
      g_string_append_printf (out, "\"nodes\":%u,\"concurrency\":%d,", bench->node_count,
                              bench->concurrency);
      g_string_append_printf (out, "\"reads\":%s,",
                              g_ascii_formatd (number, sizeof number, "%.3f", bench->reads));
      g_string_append_printf (out, "\"value_size\":%d,\"keys\":%d,\"seed\":%" G_GINT64_FORMAT ",",
                              bench->value_size, bench->keys, bench->seed);
      g_string_append_printf (out, "\"seconds\":%s,",
                              g_ascii_formatd (number, sizeof number, "%.3f", seconds));
      print_kind_json (out, "put", &bench->put, seconds);
      g_string_append_c (out, ',');
      print_kind_json (out, "get", &bench->get, seconds);
      g_string_append_printf (out, ",\"errors\":%" G_GUINT64_FORMAT ",\"timeouts\":%"
                              G_GUINT64_FORMAT ",\"resends\":%" G_GUINT64_FORMAT
                              ",\"cookies\":%" G_GUINT64_FORMAT ",\"send_failures\":%"
                              G_GUINT64_FORMAT ",\"strays\":%" G_GUINT64_FORMAT "}",
                              errors, timeouts, bench->resends, bench->cookies,
                              bench->send_failures, bench->strays);
      printf ("%s\n", out->str);
      return;
    }
  printf ("dynkv bench: %u node%s, concurrency %d, reads %.2f, value %d bytes, %d keys, "
          "seed %" G_GINT64_FORMAT ", %.2f s\n", bench->node_count,
          bench->node_count == 1 ? "" : "s", bench->concurrency, bench->reads,
          bench->value_size, bench->keys, bench->seed, seconds);
  print_kind_text ("put", &bench->put, seconds);
  print_kind_text ("get", &bench->get, seconds);
  printf ("errors %" G_GUINT64_FORMAT "  timeouts %" G_GUINT64_FORMAT "  resends %"
          G_GUINT64_FORMAT "  cookies %" G_GUINT64_FORMAT "  send failures %" G_GUINT64_FORMAT
          "  strays %" G_GUINT64_FORMAT "\n", errors, timeouts, bench->resends, bench->cookies,
          bench->send_failures, bench->strays);
  static const char *const status_names[] = {
    [DK_WIRE_STATUS_UNAVAILABLE] = "unavailable (quorum not met)",
    [DK_WIRE_STATUS_TIMEOUT] = "timeout at the coordinator",
    [DK_WIRE_STATUS_INVALID] = "invalid request",
    [DK_WIRE_STATUS_TOO_LARGE] = "too large",
    [DK_WIRE_STATUS_STORAGE_ERROR] = "storage error",
    [DK_WIRE_STATUS_OVERLOADED] = "overloaded",
    [DK_WIRE_STATUS_RETRY] = "retry with a cookie, past the limit",
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (status_names) == DK_WIRE_STATUS_LAST + 1);
  for (guint s = DK_WIRE_STATUS_UNAVAILABLE; s <= DK_WIRE_STATUS_LAST; s++)
    if (bench->status_counts[s] > 0)
      printf ("errors answered %s: %" G_GUINT64_FORMAT "\n", status_names[s],
              bench->status_counts[s]);
}

/* ---- options and main -------------------------------------------------------- */

static gboolean
bench_open_node (BenchNode *node, const char *text, GError **error)
{
  g_autoptr (GInetSocketAddress) address = dk_net_resolve (text, FALSE, error);
  if (address == NULL)
    return FALSE;
  GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (address));
  node->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (node->socket == NULL)
    return FALSE;
  g_socket_set_blocking (node->socket, FALSE);
  g_autoptr (GInetAddress) any = g_inet_address_new_any (family);
  g_autoptr (GSocketAddress) local = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (node->socket, local, FALSE, error))
    return FALSE;
  node->fd = g_socket_get_fd (node->socket);
  node->address = G_SOCKET_ADDRESS (g_steal_pointer (&address));
  node->text = text;
  return TRUE;
}

static gboolean
check_options (const Bench *bench, guint nodes, GError **error)
{
  const char *problem = NULL;
  if (nodes == 0)
    problem = "--node HOST:PORT is required (repeat it for several nodes)";
  else if (nodes > BENCH_MAX_NODES)
    problem = "at most 16 --node";
  else if (bench->concurrency < 1 || bench->concurrency > BENCH_MAX_CONCURRENCY)
    problem = "--concurrency must be from 1 to 4096";
  else if (!(bench->reads >= 0.0 && bench->reads <= 1.0))
    problem = "--reads must be from 0 to 1";
  else if (bench->value_size < 0 || bench->value_size > (gint) DK_VALUE_MAX_BYTES)
    problem = "--value-size must be from 0 to 9216";
  else if (bench->keys < bench->concurrency || bench->keys > 100000000)
    problem = "--keys must be at least --concurrency (no two requests in flight share a key) "
              "and at most 100000000";
  else if (!(bench->duration_s > 0.0 && bench->duration_s <= BENCH_MAX_DURATION_S))
    problem = "--duration must be more than 0 and at most 3600 seconds";
  else if (bench->requests < 0)
    problem = "--requests must be >= 0";
  else if (bench->timeout_ms < 1 || bench->timeout_ms > 60000 || bench->retries < 0
           || bench->retries > 100)
    problem = "--timeout-ms must be from 1 to 60000, --retries from 0 to 100";
  if (problem == NULL)
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, problem);
  return FALSE;
}

static void
bench_clear (Bench *bench)
{
  for (guint i = 0; i < BENCH_MAX_NODES; i++)
    {
      if (bench->nodes[i].socket != NULL)
        g_socket_close (bench->nodes[i].socket, NULL);
      g_clear_object (&bench->nodes[i].socket);
      g_clear_object (&bench->nodes[i].address);
    }
  for (gint i = 0; bench->slots != NULL && i < bench->concurrency; i++)
    {
      g_clear_pointer (&bench->slots[i].request, dk_wire_message_free);
      g_clear_pointer (&bench->slots[i].datagram, g_byte_array_unref);
    }
  g_clear_pointer (&bench->slots, g_free);
  g_clear_pointer (&bench->contexts, g_ptr_array_unref);
  g_clear_pointer (&bench->key, g_bytes_unref);
  g_clear_pointer (&bench->value, g_bytes_unref);
  g_clear_pointer (&bench->rand, g_rand_free);
  g_clear_pointer (&bench->put.latency_us, g_array_unref);
  g_clear_pointer (&bench->get.latency_us, g_array_unref);
  g_clear_pointer (&bench->buffer, g_free);
}

int
dk_bench_main (int argc, char **argv)
{
  Bench bench = {
    .concurrency = 50, .reads = 0.5, .value_size = 100, .keys = 1000, .duration_s = 10.0,
    .timeout_ms = 1000, .retries = 2,
  };
  char **node_texts = NULL;
  char *key_file = NULL;
  GOptionEntry entries[] = {
    { "node", 'n', 0, G_OPTION_ARG_STRING_ARRAY, &node_texts,
      "A node to send requests to; repeat it to spread them over several", "HOST:PORT" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT, &bench.concurrency,
      "Requests in flight at once (default 50)", "C" },
    { "reads", 0, 0, G_OPTION_ARG_DOUBLE, &bench.reads,
      "The fraction of requests that are gets, the rest puts (default 0.5)", "F" },
    { "value-size", 0, 0, G_OPTION_ARG_INT, &bench.value_size,
      "Bytes per value put (default 100)", "B" },
    { "keys", 0, 0, G_OPTION_ARG_INT, &bench.keys,
      "Distinct keys bench-0 .. bench-K-1 (default 1000; at least C)", "K" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &bench.duration_s,
      "Stop sending after this many seconds (default 10, at most 3600)", "S" },
    { "requests", 0, 0, G_OPTION_ARG_INT64, &bench.requests,
      "Stop after this many requests, if sooner (default: no limit)", "N" },
    { "timeout-ms", 't', 0, G_OPTION_ARG_INT, &bench.timeout_ms,
      "Give a request up after this long (default 1000)", "MS" },
    { "retries", 0, 0, G_OPTION_ARG_INT, &bench.retries,
      "Resend an unanswered request this many times within the timeout (default 2)", "K" },
    { "key-file", 'k', 0, G_OPTION_ARG_FILENAME, &key_file,
      "The client key, when the nodes use one (as for the other commands)", "FILE" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &bench.seed,
      "Seed of the read/write mix (default: a random one, printed)", "SEED" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &bench.json, "Print the report as one JSON object",
      NULL },
    { NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- load a dynkv cluster");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Keep C requests in flight against the --node(s), a fraction --reads of them gets,\n"
    "the rest puts of --value-size bytes, and print put and get throughput, p50 and\n"
    "p99 latency, errors and timeouts.  Exit 0 when every request succeeded, 3 when one\n"
    "failed or timed out.");
  g_autoptr (GError) error = NULL;
  int status = 2;
  guint nodes = 0;
  g_set_prgname ("dynkv bench");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto usage;
  if (argc > 1)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "bench takes no arguments, got '%s'", argv[1]);
      goto usage;
    }
  nodes = node_texts != NULL ? g_strv_length (node_texts) : 0;
  if (!check_options (&bench, nodes, &error))
    goto usage;
  if (key_file != NULL && (bench.key = dk_net_load_key_file (key_file, &error)) == NULL)
    goto usage;
  for (guint i = 0; i < nodes; i++)
    {
      if (!bench_open_node (&bench.nodes[i], node_texts[i], &error))
        goto usage;
      bench.node_count++;
    }
  if (bench.seed == 0)
    bench.seed = g_random_int_range (1, G_MAXINT32);
  bench.rand = g_rand_new_with_seed ((guint32) bench.seed);
  bench.client_id = random_id () | 1;
  bench.buffer = g_malloc (65536);
  guint8 *value = g_malloc ((gsize) bench.value_size);
  for (gint i = 0; i < bench.value_size; i++)
    value[i] = (guint8) ('a' + i % 26);
  bench.value = g_bytes_new_take (value, (gsize) bench.value_size);
  bench.contexts = g_ptr_array_new_full ((guint) bench.keys, (GDestroyNotify) dk_vclock_free);
  g_ptr_array_set_size (bench.contexts, bench.keys);
  bench.slots = g_new0 (BenchSlot, bench.concurrency);
  for (gint i = 0; i < bench.concurrency; i++)
    bench.slots[i].node = (guint) i % bench.node_count;
  bench.put.latency_us = g_array_new (FALSE, FALSE, sizeof (guint32));
  bench.get.latency_us = g_array_new (FALSE, FALSE, sizeof (guint32));

  if (!learn_node_ids (&bench, &error))
    {
      g_printerr ("dynkv: bench: %s\n", error->message);
      status = 3;
      goto out;
    }
  double seconds = bench_run (&bench);
  bench_report (&bench, seconds);
  gboolean all_ok = bench.put.errors + bench.get.errors + bench.put.timeouts
                    + bench.get.timeouts == 0
                    && bench.put.ok + bench.put.not_found + bench.get.ok + bench.get.not_found > 0;
  status = all_ok ? 0 : 3;
  goto out;

usage:
  g_printerr ("dynkv: bench: %s\nTry 'dynkv bench --help'.\n", error->message);
out:
  bench_clear (&bench);
  g_strfreev (node_texts);
  g_free (key_file);
  return status;
}
