/* etcd_load.c — the etcd side of bench/peers.sh: a load generator of the
 * shape of `dynkv bench`, over etcd v3's HTTP/JSON gateway.
 *
 *   bench/etcd_load --endpoint 127.0.0.1:2379 [--endpoint ...] \
 *     --concurrency 50 --reads 0 --value-size 100 --keys 1000 --duration 5 [--json]
 *
 * CONCURRENCY keep-alive HTTP/1.1 connections, spread over the endpoints
 * in turn, each with one request in flight (POST /v3/kv/put or
 * /v3/kv/range, key and value in base64), a fraction --reads of them
 * ranges (gets); slot S works through keys S, S + C, ... as dynkv bench
 * does.  Latency runs from the request's write to its whole answer.  A
 * request unanswered after --timeout-ms counts as a timeout and its
 * connection is opened anew.  It prints the lines (and JSON members)
 * `dynkv bench` prints, so peers.sh reads both alike.  Debian ships no
 * etcd `benchmark` tool (a gRPC client), hence this one. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <glib.h>

#define MAX_CONCURRENCY 1024
#define MAX_SAMPLES (10u * 1000u * 1000u)
#define RESPONSE_MAX 65536

typedef struct
{
  int        fd;
  guint      endpoint;
  gboolean   busy;
  gboolean   is_get;
  guint      round;
  gint64     start_us;
  GByteArray *in;          /* the answer so far */
} Slot;

typedef struct
{
  guint64 ok, not_found, errors, timeouts;
  GArray *latency_us;
} Kind;

static struct sockaddr_in endpoints[16];
static guint endpoint_count;

static int
connect_to (guint endpoint)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &endpoints[endpoint], sizeof endpoints[endpoint]) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Write all of DATA (the socket is blocking: a request is small). */
static gboolean
write_all (int fd, const char *data, gsize len)
{
  for (guint tries = 0; len > 0 && tries < 1000; tries++)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return len == 0;
}

/* Whether IN holds a whole HTTP answer; *STATUS gets its code and *BODY
 * (into IN) and *BODY_LEN its body.  Only Content-Length bodies (what
 * etcd's gateway sends for answers this small). */
static gboolean
answer_complete (GByteArray *in, int *status, const char **body, gsize *body_len)
{
  const char *text = (const char *) in->data;
  const char *end = g_strstr_len (text, in->len, "\r\n\r\n");
  if (end == NULL)
    return FALSE;
  gsize header_len = (gsize) (end - text) + 4;
  g_autofree char *headers = g_ascii_strdown (text, (gssize) header_len);
  const char *length = strstr (headers, "\r\ncontent-length:");
  gsize content_length = length != NULL ? g_ascii_strtoull (length + 17, NULL, 10) : 0;
  if (in->len < header_len + content_length)
    return FALSE;
  *status = (int) g_ascii_strtoull (text + 9, NULL, 10);  /* "HTTP/1.1 200" */
  *body = text + header_len;
  *body_len = content_length;
  return TRUE;
}

static void
record (Kind *kind, gint64 latency_us)
{
  if (kind->latency_us->len < MAX_SAMPLES)
    {
      guint32 value = (guint32) CLAMP (latency_us, 0, G_MAXUINT32);
      g_array_append_val (kind->latency_us, value);
    }
}

static gint
compare_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static double
quantile_ms (const GArray *latencies, double q)
{
  if (latencies->len == 0)
    return 0.0;
  return g_array_index (latencies, guint32, (guint) (q * (latencies->len - 1) + 0.5)) / 1000.0;
}

static void
print_kind (GString *out, gboolean json, const char *name, Kind *kind, double seconds)
{
  g_array_sort (kind->latency_us, compare_u32);
  guint64 answered = kind->ok + kind->not_found;
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (a, sizeof a, "%.1f", answered / seconds);
  g_ascii_formatd (b, sizeof b, "%.3f", quantile_ms (kind->latency_us, 0.5));
  g_ascii_formatd (c, sizeof c, "%.3f", quantile_ms (kind->latency_us, 0.99));
  if (json)
    g_string_append_printf (out, "\"%s\":{\"ops\":%" G_GUINT64_FORMAT ",\"ok\":%" G_GUINT64_FORMAT
                            ",\"not_found\":%" G_GUINT64_FORMAT ",\"errors\":%" G_GUINT64_FORMAT
                            ",\"timeouts\":%" G_GUINT64_FORMAT ",\"ops_per_s\":%s,\"p50_ms\":%s,"
                            "\"p99_ms\":%s}", name, answered, kind->ok, kind->not_found,
                            kind->errors, kind->timeouts, a, b, c);
  else
    g_string_append_printf (out, "%-4s %10.0f ops/s  p50 %8.3f ms  p99 %8.3f ms  (%"
                            G_GUINT64_FORMAT " ok, %" G_GUINT64_FORMAT " not found, %"
                            G_GUINT64_FORMAT " errors, %" G_GUINT64_FORMAT " timeouts)\n",
                            name, answered / seconds, quantile_ms (kind->latency_us, 0.5),
                            quantile_ms (kind->latency_us, 0.99), kind->ok, kind->not_found,
                            kind->errors, kind->timeouts);
}

int
main (int argc, char **argv)
{
  char **endpoint_texts = NULL;
  gint concurrency = 50, value_size = 100, keys = 1000, timeout_ms = 1000;
  double reads = 0.5, duration_s = 5.0;
  gint64 requests = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "endpoint", 0, 0, G_OPTION_ARG_STRING_ARRAY, &endpoint_texts, "etcd client URL host",
      "IP:PORT" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT, &concurrency, "Requests in flight", "C" },
    { "reads", 0, 0, G_OPTION_ARG_DOUBLE, &reads, "Fraction of gets", "F" },
    { "value-size", 0, 0, G_OPTION_ARG_INT, &value_size, "Bytes per value", "B" },
    { "keys", 0, 0, G_OPTION_ARG_INT, &keys, "Distinct keys", "K" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration_s, "Seconds", "S" },
    { "requests", 0, 0, G_OPTION_ARG_INT64, &requests, "Stop after N requests", "N" },
    { "timeout-ms", 0, 0, G_OPTION_ARG_INT, &timeout_ms, "Per request", "MS" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "JSON report", NULL },
    { NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- load etcd over HTTP/JSON");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("etcd_load: %s\n", error->message);
      return 2;
    }
  for (guint i = 0; endpoint_texts != NULL && endpoint_texts[i] != NULL && i < 16; i++)
    {
      g_auto (GStrv) parts = g_strsplit (endpoint_texts[i], ":", 2);
      struct sockaddr_in *address = &endpoints[endpoint_count];
      address->sin_family = AF_INET;
      if (parts[1] == NULL || inet_pton (AF_INET, parts[0], &address->sin_addr) != 1)
        {
          g_printerr ("etcd_load: --endpoint %s: not IP:PORT\n", endpoint_texts[i]);
          return 2;
        }
      address->sin_port = htons ((guint16) g_ascii_strtoull (parts[1], NULL, 10));
      endpoint_count++;
    }
  if (endpoint_count == 0 || concurrency < 1 || concurrency > MAX_CONCURRENCY
      || keys < concurrency || value_size < 0 || value_size > 1 << 20
      || !(duration_s > 0 && duration_s <= 3600) || !(reads >= 0 && reads <= 1)
      || timeout_ms < 1)
    {
      g_printerr ("etcd_load: bad options (see --help)\n");
      return 2;
    }

  g_autofree char *value = g_malloc ((gsize) value_size + 1);
  for (gint i = 0; i < value_size; i++)
    value[i] = (char) ('a' + i % 26);
  g_autofree char *value64 = g_base64_encode ((const guchar *) value, (gsize) value_size);
  GRand *rand = g_rand_new_with_seed (7);
  Slot *slots = g_new0 (Slot, concurrency);
  Kind put = { 0 }, get = { 0 };
  put.latency_us = g_array_new (FALSE, FALSE, sizeof (guint32));
  get.latency_us = g_array_new (FALSE, FALSE, sizeof (guint32));
  struct pollfd *poll_fds = g_new0 (struct pollfd, concurrency);
  gint *poll_slot = g_new0 (gint, concurrency);
  guint64 connect_failures = 0;
  gint64 issued = 0;
  char buffer[RESPONSE_MAX];

  gint64 start = g_get_monotonic_time ();
  gint64 stop_issuing = start + (gint64) (duration_s * G_USEC_PER_SEC);
  gint64 hard_stop = stop_issuing + (gint64) timeout_ms * 1000 + G_USEC_PER_SEC;
  gint64 last_event = start;
  for (gint i = 0; i < concurrency; i++)
    {
      slots[i].endpoint = (guint) i % endpoint_count;
      slots[i].fd = connect_to (slots[i].endpoint);
      slots[i].in = g_byte_array_new ();
      if (slots[i].fd < 0)
        connect_failures++;
    }
  for (gint64 now = g_get_monotonic_time (); now < hard_stop; now = g_get_monotonic_time ())
    {
      gboolean issuing = now < stop_issuing && (requests == 0 || issued < requests);
      guint busy = 0;
      for (gint i = 0; i < concurrency; i++)
        {
          Slot *slot = &slots[i];
          if (!slot->busy && issuing && slot->fd >= 0 && (requests == 0 || issued < requests))
            {
              guint keys_per_slot = ((guint) keys - (guint) i + (guint) concurrency - 1)
                                    / (guint) concurrency;
              guint key = (guint) i + (guint) concurrency * (slot->round++ % keys_per_slot);
              g_autofree char *key_text = g_strdup_printf ("bench-%u", key);
              g_autofree char *key64 = g_base64_encode ((const guchar *) key_text,
                                                        strlen (key_text));
              slot->is_get = g_rand_double (rand) < reads;
              g_autofree char *body = slot->is_get
                ? g_strdup_printf ("{\"key\":\"%s\"}", key64)
                : g_strdup_printf ("{\"key\":\"%s\",\"value\":\"%s\"}", key64, value64);
              g_autofree char *request = g_strdup_printf (
                "POST /v3/kv/%s HTTP/1.1\r\nHost: etcd\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\n\r\n%s", slot->is_get ? "range" : "put", strlen (body),
                body);
              g_byte_array_set_size (slot->in, 0);
              slot->start_us = now;
              slot->busy = TRUE;
              issued++;
              if (!write_all (slot->fd, request, strlen (request)))
                {
                  (slot->is_get ? &get : &put)->errors++;
                  slot->busy = FALSE;
                  close (slot->fd);
                  slot->fd = connect_to (slot->endpoint);
                }
            }
          busy += slot->busy;
        }
      if (busy == 0 && !issuing)
        break;
      guint watched = 0;
      for (gint i = 0; i < concurrency; i++)
        if (slots[i].busy)
          {
            poll_slot[watched] = i;
            poll_fds[watched++] = (struct pollfd) { slots[i].fd, POLLIN, 0 };
          }
      int ready = poll (poll_fds, watched, 10);
      now = g_get_monotonic_time ();
      for (guint w = 0; w < watched; w++)
        {
          Slot *slot = &slots[poll_slot[w]];
          Kind *kind = slot->is_get ? &get : &put;
          if (ready > 0 && (poll_fds[w].revents & (POLLIN | POLLERR | POLLHUP)) != 0)
            {
              ssize_t n = recv (slot->fd, buffer, sizeof buffer, MSG_DONTWAIT);
              if (n > 0)
                g_byte_array_append (slot->in, (const guint8 *) buffer, (guint) n);
              int status = 0;
              const char *body = NULL;
              gsize body_len = 0;
              if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                {
                  kind->errors++;
                  slot->busy = FALSE;
                  close (slot->fd);
                  slot->fd = connect_to (slot->endpoint);
                  continue;
                }
              if (answer_complete (slot->in, &status, &body, &body_len))
                {
                  slot->busy = FALSE;
                  last_event = now;
                  if (status != 200)
                    kind->errors++;
                  else if (slot->is_get && g_strstr_len (body, (gssize) body_len, "\"kvs\"") == NULL)
                    kind->not_found++, record (kind, now - slot->start_us);
                  else
                    kind->ok++, record (kind, now - slot->start_us);
                  continue;
                }
            }
          if (now - slot->start_us > (gint64) timeout_ms * 1000)
            {
              kind->timeouts++;
              slot->busy = FALSE;
              close (slot->fd);
              slot->fd = connect_to (slot->endpoint);
            }
        }
    }
  double seconds = (double) MAX (last_event - start, 1) / G_USEC_PER_SEC;
  g_autoptr (GString) out = g_string_new (NULL);
  if (json)
    {
      g_string_append_printf (out, "{\"generator\":\"etcd_load (HTTP/JSON gateway)\","
                              "\"endpoints\":%u,\"concurrency\":%d,\"value_size\":%d,\"keys\":%d,",
                              endpoint_count, concurrency, value_size, keys);
      print_kind (out, TRUE, "put", &put, seconds);
      g_string_append_c (out, ',');
      print_kind (out, TRUE, "get", &get, seconds);
      g_string_append_printf (out, ",\"errors\":%" G_GUINT64_FORMAT ",\"timeouts\":%"
                              G_GUINT64_FORMAT ",\"connect_failures\":%" G_GUINT64_FORMAT "}\n",
                              put.errors + get.errors, put.timeouts + get.timeouts,
                              connect_failures);
    }
  else
    {
      g_string_append_printf (out, "etcd_load (HTTP/JSON gateway): %u endpoints, concurrency %d, "
                              "reads %.2f, value %d bytes, %d keys, %.2f s\n", endpoint_count,
                              concurrency, reads, value_size, keys, seconds);
      print_kind (out, FALSE, "put", &put, seconds);
      print_kind (out, FALSE, "get", &get, seconds);
      g_string_append_printf (out, "errors %" G_GUINT64_FORMAT "  timeouts %" G_GUINT64_FORMAT
                              "  connect failures %" G_GUINT64_FORMAT "\n",
                              put.errors + get.errors, put.timeouts + get.timeouts,
                              connect_failures);
    }
  fputs (out->str, stdout);
  for (gint i = 0; i < concurrency; i++)
    {
      if (slots[i].fd >= 0)
        close (slots[i].fd);
      g_byte_array_unref (slots[i].in);
    }
  g_free (slots);
  g_free (poll_fds);
  g_free (poll_slot);
  g_array_unref (put.latency_us);
  g_array_unref (get.latency_us);
  g_rand_free (rand);
  g_strfreev (endpoint_texts);
  return put.ok + put.not_found + get.ok + get.not_found > 0 ? 0 : 3;
}
