/* udp_env.c — the DkEnv on a UDP GSocket and a GMainContext; see udp_env.h.
 *
 * Three parts: the endpoint tables (peers by address and by id, clients
 * in a bounded least-recently-heard table), the timer source (one GSource
 * whose poll timeout is the earliest deadline, firing due timers in
 * (deadline, id) order so equal deadlines fire in start order), and the
 * receive source that reads every queued datagram and hands it to the
 * node.  The socket is a GSocket, but the per-datagram path uses recvfrom
 * and sendto on its descriptor with native addresses: no GObject is made
 * per datagram, which keeps the environment's cost small next to a
 * loopback round trip (see bench/bench_net.c). */
#define _GNU_SOURCE 1   /* sendmmsg, recvmmsg */
#include "config.h"
#include "udp_env.h"
#include "precise_timer.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "checkpointer.h"
#include "net_config.h"
#include "rng.h"
#include "wire.h"

/* Room for any UDP payload, so the kernel never truncates silently and an
 * oversize datagram is seen as such. */
#define RECEIVE_BUFFER_BYTES 65536u
/* Datagrams read per wake-up before the loop gets a turn for timers. */
#define RECEIVE_BATCH 64
/* Kernel socket buffers asked for (best effort): bursts of replies. */
#define SOCKET_BUFFER_BYTES (4 << 20)

typedef struct
{
  DkTimerId   id;
  gint64      deadline_us;
  DkTimerFunc func;
  gpointer    data;
} Timer;

typedef struct
{
  GSource   source;
  DkUdpEnv *env;
} TimerSource;

/* A native socket address, the key of the endpoint tables. */
typedef struct
{
  socklen_t               len;
  struct sockaddr_storage storage;
} Address;

/* A client endpoint; LINK sits in client_order (least recently heard first). */
typedef struct
{
  DkEndpoint endpoint;
  Address    address;
  GList      link;
} Client;

struct _DkUdpEnv
{
  DkUdpEnvConfig config;     /* its strings are not kept */
  DkEnv          env;
  GMainContext  *context;
  GSocket       *socket;
  GSource       *receive_source;
  GSource       *timer_source;
  char          *address;
  guint16        port;
  DkStore       *store;
  DkCheckpointer *checkpointer;     /* a file store's checkpoints, off this thread */
  DkRng          rng;
  DkNode        *node;
  DkUdpEnvStats  stats;
  FILE          *log_file;

  int            fd;                /* the socket's descriptor */
  GHashTable    *peer_ids;          /* Address* -> node id */
  GHashTable    *peer_addresses;    /* node id -> Address*, owns them */
  GHashTable    *clients_by_key;    /* Address* -> Client* */
  GHashTable    *clients;           /* DkEndpoint* -> Client*, owns them */
  GQueue         client_order;
  guint8         endpoint_secret[32]; /* keys the endpoint of an address (endpoint_of) */
  gboolean       pending;           /* a datagram from an unremembered source is being */
  DkEndpoint     pending_endpoint;  /* delivered: its endpoint and address, which replies */
  Address        pending_address;   /* sent meanwhile may use */

  /* authentication failures are logged at most once per source per
   * AUTH_LOG_INTERVAL_US, and AUTH_LOG_LINES lines per interval in all */
  GHashTable    *auth_logged;       /* Address* -> gint64* when last logged; owns both */
  gint64         auth_window_us;    /* when the current interval began */
  guint          auth_window_lines;
  guint64        auth_suppressed;   /* failures not logged in the current interval */

  GSequence     *timers;            /* Timer*, by (deadline, id); owns them */
  GHashTable    *timer_iters;       /* DkTimerId* -> GSequenceIter* */
  DkTimerId      next_timer;

  guint8        *buffer;            /* RECEIVE_BATCH buffers with recvmmsg, else one */
#ifdef HAVE_RECVMMSG
  struct mmsghdr *receive_messages; /* RECEIVE_BATCH, each on its buffer and address */
  struct iovec  *receive_iov;
  Address       *receive_from;
#endif

  /* Datagrams sent while a receive batch is handled, held until its
   * writes are committed (send_held). */
  gboolean       holding;
  GArray        *held;              /* HeldDatagram */
  GByteArray    *held_bytes;        /* their payloads, back to back */

  DkNetFaults   *faults;            /* NULL unless active */
  /* Delayed copies (net_faults.h) wait on their own timer, a timerfd with
   * microsecond precision, not on the timer source's millisecond poll
   * timeout; only an environment with faults has one. */
  GSequence     *delayed;           /* Delayed*, by (due, seq); owns them */
  guint64        delayed_seq;
  DkPreciseTimer *delayed_timer;    /* NULL without faults */
};

/* ---- logging --------------------------------------------------------------- */

static const char *const level_names[] = { "error", "warning", "info", "debug" };

const char *
dk_log_level_name (DkLogLevel level)
{
  return (guint) level < G_N_ELEMENTS (level_names) ? level_names[level] : "?";
}

gboolean
dk_log_level_parse (const char *text, DkLogLevel *level, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (level_names); i++)
    if (g_ascii_strcasecmp (text, level_names[i]) == 0)
      {
        *level = (DkLogLevel) i;
        return TRUE;
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "log level '%s': expected error, warning, info or debug", text);
  return FALSE;
}

static void
env_log (gpointer user_data, DkLogLevel level, const char *message)
{
  DkUdpEnv *env = user_data;
  if (level > env->config.log_level)
    return;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%f");
  fprintf (env->log_file, "%s %s %s\n", stamp, dk_log_level_name (level), message);
  fflush (env->log_file);
}

static void udp_log (DkUdpEnv *env, DkLogLevel level, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
udp_log (DkUdpEnv *env, DkLogLevel level, const char *format, ...)
{
  if (level > env->config.log_level)
    return;
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *line = g_strdup_printf ("node=%u udp %s", env->config.id, text);
  env_log (env, level, line);
}

/* ---- endpoints ------------------------------------------------------------- */

/* Addresses compare by family, port and IP (and IPv6 scope), never by
 * padding bytes the kernel may or may not clear. */
static guint
address_hash (gconstpointer data)
{
  const Address *address = data;
  const struct sockaddr *sa = (const struct sockaddr *) &address->storage;
  if (sa->sa_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
      return in->sin_addr.s_addr * 31u + in->sin_port;
    }
  if (sa->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
      guint hash = in6->sin6_port + in6->sin6_scope_id;
      for (int i = 0; i < 16; i++)
        hash = hash * 31u + in6->sin6_addr.s6_addr[i];
      return hash;
    }
  return sa->sa_family;
}

static gboolean
address_equal (gconstpointer a, gconstpointer b)
{
  const struct sockaddr *x = (const struct sockaddr *) &((const Address *) a)->storage;
  const struct sockaddr *y = (const struct sockaddr *) &((const Address *) b)->storage;
  if (x->sa_family != y->sa_family)
    return FALSE;
  if (x->sa_family == AF_INET)
    {
      const struct sockaddr_in *p = (const struct sockaddr_in *) x;
      const struct sockaddr_in *q = (const struct sockaddr_in *) y;
      return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
    }
  if (x->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *p = (const struct sockaddr_in6 *) x;
      const struct sockaddr_in6 *q = (const struct sockaddr_in6 *) y;
      return p->sin6_port == q->sin6_port && p->sin6_scope_id == q->sin6_scope_id
             && memcmp (&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
    }
  return FALSE;
}

static gboolean
address_from_gio (GSocketAddress *gio, Address *address)
{
  memset (address, 0, sizeof *address);
  gssize size = g_socket_address_get_native_size (gio);
  if (size <= 0 || (gsize) size > sizeof address->storage
      || !g_socket_address_to_native (gio, &address->storage, sizeof address->storage, NULL))
    return FALSE;
  address->len = (socklen_t) size;
  return TRUE;
}

static void
client_evict_oldest (DkUdpEnv *env)
{
  GList *oldest = g_queue_peek_head_link (&env->client_order);
  Client *client = oldest->data;
  g_queue_unlink (&env->client_order, oldest);
  g_hash_table_remove (env->clients_by_key, &client->address);
  env->stats.clients_evicted++;
  g_hash_table_remove (env->clients, &client->endpoint);  /* frees CLIENT */
}

/* The bytes that name ADDRESS (family, port, IP, IPv6 scope), as
 * address_equal compares it; returns how many were written to OUT. */
static gsize
address_bytes (const Address *address, guint8 out[32])
{
  const struct sockaddr *sa = (const struct sockaddr *) &address->storage;
  gsize n = 0;
  out[n++] = (guint8) sa->sa_family;
  if (sa->sa_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
      memcpy (out + n, &in->sin_port, 2);
      memcpy (out + n + 2, &in->sin_addr, 4);
      n += 6;
    }
  else if (sa->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
      memcpy (out + n, &in6->sin6_port, 2);
      memcpy (out + n + 2, &in6->sin6_addr, 16);
      memcpy (out + n + 18, &in6->sin6_scope_id, 4);
      n += 22;
    }
  return n;
}

/* The client endpoint of ADDRESS: a MAC of the address under this
 * environment's secret, so the same address gets the same endpoint
 * whether or not the table remembers it (the node's cookie of a source
 * names its endpoint, node.h), and nobody can aim at another's. */
static DkEndpoint
endpoint_of (const DkUdpEnv *env, const Address *address)
{
  guint8 bytes[32];
  gsize len = address_bytes (address, bytes);
  GHmac *hmac = g_hmac_new (G_CHECKSUM_SHA256, env->endpoint_secret, sizeof env->endpoint_secret);
  g_hmac_update (hmac, bytes, (gssize) len);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_hmac_get_digest (hmac, digest, &digest_len);
  g_hmac_unref (hmac);
  guint64 endpoint;
  memcpy (&endpoint, digest, sizeof endpoint);
  return endpoint | (G_GUINT64_CONSTANT (1) << 63);   /* >= DK_ENDPOINT_CLIENT_BASE */
}

/* The endpoint of whoever sent from ADDRESS: a peer's node id, a client
 * remembered (now the most recently heard), or, for a source not
 * remembered, its endpoint_of, made pending: replies the node sends
 * while it handles the datagram reach ADDRESS, and the source is
 * remembered only if the node validates it (client_remember). */
static DkEndpoint
endpoint_for (DkUdpEnv *env, const Address *address)
{
  gpointer peer = g_hash_table_lookup (env->peer_ids, address);
  if (peer != NULL)
    return GPOINTER_TO_UINT (peer);
  Client *client = g_hash_table_lookup (env->clients_by_key, address);
  if (client != NULL)
    {
      g_queue_unlink (&env->client_order, &client->link);
      g_queue_push_tail_link (&env->client_order, &client->link);
      return client->endpoint;
    }
  env->pending = TRUE;
  env->pending_endpoint = endpoint_of (env, address);
  env->pending_address = *address;
  return env->pending_endpoint;
}

/* The node validated the pending source: remember it, evicting the
 * least recently heard past max_clients. */
static void
client_remember (DkUdpEnv *env)
{
  Client *same = g_hash_table_lookup (env->clients, &env->pending_endpoint);
  if (same != NULL)
    {
      /* Two addresses with one endpoint (a 2^-63 chance): the newer wins. */
      g_queue_unlink (&env->client_order, &same->link);
      g_hash_table_remove (env->clients_by_key, &same->address);
      g_hash_table_remove (env->clients, &same->endpoint);
    }
  Client *client = g_new0 (Client, 1);
  client->endpoint = env->pending_endpoint;
  client->address = env->pending_address;
  client->link.data = client;
  g_hash_table_insert (env->clients_by_key, &client->address, client);
  g_hash_table_insert (env->clients, &client->endpoint, client);
  g_queue_push_tail_link (&env->client_order, &client->link);
  env->stats.clients_seen++;
  while (env->client_order.length > env->config.max_clients)
    client_evict_oldest (env);
}

static const Address *
address_for (DkUdpEnv *env, DkEndpoint to)
{
  if (dk_endpoint_is_node (to))
    return g_hash_table_lookup (env->peer_addresses, GUINT_TO_POINTER ((guint) to));
  Client *client = g_hash_table_lookup (env->clients, &to);
  if (client != NULL)
    return &client->address;
  return env->pending && to == env->pending_endpoint ? &env->pending_address : NULL;
}

static gboolean
env_source_validated (gpointer user_data, DkEndpoint from)
{
  DkUdpEnv *env = user_data;
  return g_hash_table_contains (env->clients, &from);
}

/* Every DkUdpEnvStats field by name, for DkEnv.counters: dynkvd's
 * report and a NODE_STATUS reply.  The traffic totals carry a udp_
 * prefix: the node counts its own datagrams_received and bytes_sent. */
#define UDP_COUNTER(name_, field_) { name_, offsetof (DkUdpEnvStats, field_) }
static const struct
{
  const char *name;
  gsize       offset;
} udp_counters[] = {
  UDP_COUNTER ("udp_datagrams_received", datagrams_received),
  UDP_COUNTER ("udp_datagrams_sent", datagrams_sent),
  UDP_COUNTER ("udp_bytes_received", bytes_received),
  UDP_COUNTER ("udp_bytes_sent", bytes_sent),
  UDP_COUNTER ("dropped_oversize", dropped_oversize),
  UDP_COUNTER ("dropped_no_node", dropped_no_node),
  UDP_COUNTER ("receive_errors", receive_errors),
  UDP_COUNTER ("send_errors", send_errors),
  UDP_COUNTER ("unknown_destination", unknown_destination),
  UDP_COUNTER ("clients_seen", clients_seen),
  UDP_COUNTER ("clients_evicted", clients_evicted),
  UDP_COUNTER ("sources_not_remembered", sources_not_remembered),
  UDP_COUNTER ("auth_failures", auth_failures),
  UDP_COUNTER ("auth_failures_logged", auth_failures_logged),
  UDP_COUNTER ("timers_fired", timers_fired),
  UDP_COUNTER ("receive_batches", receive_batches),
  UDP_COUNTER ("dropped_uncommitted", dropped_uncommitted),
  UDP_COUNTER ("net_faults_lost", faults_lost),
  UDP_COUNTER ("net_faults_duplicated", faults_duplicated),
  UDP_COUNTER ("net_faults_delayed", faults_delayed),
};
G_STATIC_ASSERT (G_N_ELEMENTS (udp_counters) == sizeof (DkUdpEnvStats) / sizeof (guint64));

static void
env_counters (gpointer user_data, GArray *out)
{
  DkUdpEnv *env = user_data;
  const guint8 *stats = (const guint8 *) &env->stats;
  for (guint i = 0; i < G_N_ELEMENTS (udp_counters); i++)
    {
      DkCounter counter = { udp_counters[i].name, 0 };
      memcpy (&counter.value, stats + udp_counters[i].offset, sizeof counter.value);
      g_array_append_val (out, counter);
    }
  DkCounter clients = { "clients_remembered", g_hash_table_size (env->clients) };
  g_array_append_val (out, clients);
}

/* ---- authentication failures ---------------------------------------------- */

#define AUTH_LOG_INTERVAL_US G_GINT64_CONSTANT (10000000)
#define AUTH_LOG_LINES 10u
#define AUTH_LOG_SOURCES 1024u

static char *
address_string (const Address *address)
{
  g_autoptr (GSocketAddress) gio = g_socket_address_new_from_native ((gpointer) &address->storage,
                                                                     address->len);
  if (gio == NULL || !G_IS_INET_SOCKET_ADDRESS (gio))
    return g_strdup ("?");
  return dk_net_address_string (G_INET_SOCKET_ADDRESS (gio));
}

/* A datagram from FROM failed authentication (RECEIPT says how): count
 * it, and log it with the address unless FROM was logged within the
 * interval or the interval's lines are spent (a flood of forgeries must
 * not flood the log).  What was not logged is summed up in the next
 * interval's first line. */
static void
auth_failure (DkUdpEnv *env, const Address *from, DkNodeReceipt receipt)
{
  env->stats.auth_failures++;
  gint64 now = g_get_monotonic_time ();
  if (now - env->auth_window_us >= AUTH_LOG_INTERVAL_US)
    {
      if (env->auth_suppressed > 0)
        udp_log (env, DK_LOG_WARNING, "%" G_GUINT64_FORMAT " more datagrams failed "
                 "authentication in the last %" G_GINT64_FORMAT " s (not logged one by one)",
                 env->auth_suppressed, AUTH_LOG_INTERVAL_US / G_USEC_PER_SEC);
      env->auth_window_us = now;
      env->auth_window_lines = 0;
      env->auth_suppressed = 0;
    }
  const gint64 *last = g_hash_table_lookup (env->auth_logged, from);
  if ((last != NULL && now - *last < AUTH_LOG_INTERVAL_US)
      || env->auth_window_lines >= AUTH_LOG_LINES)
    {
      env->auth_suppressed++;
      return;
    }
  if (g_hash_table_size (env->auth_logged) >= AUTH_LOG_SOURCES)
    g_hash_table_remove_all (env->auth_logged);   /* a bound, not a history */
  g_hash_table_replace (env->auth_logged, g_memdup2 (from, sizeof *from),
                        g_memdup2 (&now, sizeof now));
  env->auth_window_lines++;
  env->stats.auth_failures_logged++;
  g_autofree char *text = address_string (from);
  udp_log (env, DK_LOG_WARNING, "dropped a datagram from %s: %s", text,
           receipt == DK_NODE_RECEIPT_UNSIGNED
           ? "not signed, and this cluster is keyed"
           : "its tag does not verify (a wrong key, or a client key on a node-to-node message)");
}

/* ---- sending, and holding replies until their writes commit -------------- */

/* A datagram held during a receive batch: its destination, resolved when
 * it was sent (a pending source's address is only known then), and where
 * its bytes lie in held_bytes. */
typedef struct
{
  Address  address;
  DkNodeId to_node;   /* DK_NODE_NONE: a client */
  gsize    offset;
  gsize    len;
} HeldDatagram;

/* A copy waiting for its delay (net_faults.h) until DUE_US; SEQ keeps
 * copies due at the same microsecond in the order they were sent. */
typedef struct
{
  gint64    due_us;
  guint64   seq;
  Address   address;
  gsize     len;
  guint8    bytes[];
} Delayed;

/* Datagrams handed to one sendmmsg call. */
#define SEND_BATCH 64

static void
count_sent (DkUdpEnv *env, gsize len)
{
  env->stats.datagrams_sent++;
  env->stats.bytes_sent += len;
}

static void
send_failed (DkUdpEnv *env, int saved)
{
  env->stats.send_errors++;
  udp_log (env, DK_LOG_DEBUG, "send failed: %s", g_strerror (saved));
}

static void
send_one (DkUdpEnv *env, const Address *address, const guint8 *bytes, gsize len)
{
  ssize_t sent;
  do
    sent = sendto (env->fd, bytes, len, 0, (const struct sockaddr *) &address->storage,
                   address->len);
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    send_failed (env, errno);
  else
    count_sent (env, len);
}

static gint
delayed_order (gconstpointer a, gconstpointer b, gpointer unused)
{
  const Delayed *x = a, *y = b;
  if (x->due_us != y->due_us)
    return x->due_us < y->due_us ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Arm the timer for the earliest delayed copy (disarm with none); no
 * system call unless that changed (precise_timer.h). */
static void
delayed_arm (DkUdpEnv *env)
{
  GSequenceIter *first = g_sequence_get_begin_iter (env->delayed);
  dk_precise_timer_arm (env->delayed_timer,
                        g_sequence_iter_is_end (first)
                          ? G_MAXINT64 : ((Delayed *) g_sequence_get (first))->due_us);
}

/* The timer fired: send every copy now due, earliest first, and arm it
 * for the next. */
static gboolean
delayed_fire_due (gpointer data)
{
  DkUdpEnv *env = data;
  gint64 now = g_get_monotonic_time ();
  for (;;)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (env->delayed);
      if (g_sequence_iter_is_end (first))
        break;
      Delayed *delayed = g_sequence_get (first);
      if (delayed->due_us > now)
        break;
      send_one (env, &delayed->address, delayed->bytes, delayed->len);
      g_sequence_remove (first);   /* frees it */
    }
  delayed_arm (env);
  return G_SOURCE_CONTINUE;
}

/* The delayed copies' timer, for an environment with faults. */
static gboolean
delayed_open (DkUdpEnv *env, GError **error)
{
  env->delayed_timer = dk_precise_timer_new (env->context, "delayed datagrams",
                                             delayed_fire_due, env, error);
  return env->delayed_timer != NULL;
}

/* Send one datagram to TO_NODE through the faults: lost, once or twice,
 * each copy now or after its delay. */
static void
send_faulty (DkUdpEnv *env, const Address *address, DkNodeId to_node, const guint8 *bytes,
             gsize len)
{
  gint64 delays_us[2];
  guint copies = dk_net_faults_draw (env->faults, to_node, delays_us);
  if (copies == 0)
    env->stats.faults_lost++;
  else if (copies == 2)
    env->stats.faults_duplicated++;
  for (guint i = 0; i < copies; i++)
    {
      if (delays_us[i] <= 0)
        {
          send_one (env, address, bytes, len);
          continue;
        }
      Delayed *delayed = g_malloc (sizeof (Delayed) + len);
      delayed->due_us = g_get_monotonic_time () + delays_us[i];
      delayed->seq = env->delayed_seq++;
      delayed->address = *address;
      delayed->len = len;
      memcpy (delayed->bytes, bytes, len);
      g_sequence_insert_sorted (env->delayed, delayed, delayed_order, NULL);
      env->stats.faults_delayed++;
      delayed_arm (env);
    }
}

/* Send every held datagram, in the order the node sent them, SEND_BATCH
 * to a system call where sendmmsg exists.  A datagram the kernel refuses
 * is counted and skipped, as send_one does. */
static void
send_held (DkUdpEnv *env)
{
  const HeldDatagram *held = (const HeldDatagram *) (gpointer) env->held->data;
  guint n = env->held->len;
  if (env->faults != NULL)
    {
      for (guint i = 0; i < n; i++)
        send_faulty (env, &held[i].address, held[i].to_node,
                     env->held_bytes->data + held[i].offset, held[i].len);
      n = 0;
    }
#ifdef HAVE_SENDMMSG
  for (guint first = 0; first < n;)
    {
      struct mmsghdr messages[SEND_BATCH];
      struct iovec iov[SEND_BATCH];
      guint count = MIN (n - first, (guint) SEND_BATCH);
      memset (messages, 0, sizeof messages[0] * count);
      for (guint i = 0; i < count; i++)
        {
          const HeldDatagram *one = &held[first + i];
          iov[i].iov_base = env->held_bytes->data + one->offset;
          iov[i].iov_len = one->len;
          messages[i].msg_hdr.msg_name = (gpointer) &one->address.storage;
          messages[i].msg_hdr.msg_namelen = one->address.len;
          messages[i].msg_hdr.msg_iov = &iov[i];
          messages[i].msg_hdr.msg_iovlen = 1;
        }
      int sent = sendmmsg (env->fd, messages, count, 0);
      if (sent < 0)
        {
          int saved = errno;
          if (saved == EINTR)
            continue;
          send_failed (env, saved);   /* the first one failed: skip it */
          first++;
          continue;
        }
      for (int i = 0; i < sent; i++)
        count_sent (env, held[first + (guint) i].len);
      first += (guint) sent;
    }
#else
  for (guint i = 0; i < n; i++)
    send_one (env, &held[i].address, env->held_bytes->data + held[i].offset, held[i].len);
#endif
  g_array_set_size (env->held, 0);
  g_byte_array_set_size (env->held_bytes, 0);
}

/* ---- the DkEnv methods ----------------------------------------------------- */

static void
env_send (gpointer user_data, DkEndpoint to, const guint8 *bytes, gsize len)
{
  DkUdpEnv *env = user_data;
  const Address *address = address_for (env, to);
  if (address == NULL)
    {
      env->stats.unknown_destination++;
      udp_log (env, DK_LOG_DEBUG, "no address for endpoint %" G_GUINT64_FORMAT
               ": %" G_GSIZE_FORMAT " bytes dropped", to, len);
      return;
    }
  DkNodeId to_node = dk_endpoint_is_node (to) ? (DkNodeId) to : DK_NODE_NONE;
  if (env->holding)
    {
      HeldDatagram held = { *address, to_node, env->held_bytes->len, len };
      g_array_append_val (env->held, held);
      g_byte_array_append (env->held_bytes, bytes, (guint) len);
      return;
    }
  if (env->faults != NULL)
    send_faulty (env, address, to_node, bytes, len);
  else
    send_one (env, address, bytes, len);
}

static gint64
env_now (gpointer user_data)
{
  return g_get_monotonic_time ();
}

/* The wall clock, shifted by the configured offset (tests: a node whose
 * clock is off, as the replay window sees it). */
static gint64
env_wall (gpointer user_data)
{
  DkUdpEnv *env = user_data;
  return g_get_real_time () + env->config.wall_offset_us;
}

static gint
timer_order (gconstpointer a, gconstpointer b, gpointer unused)
{
  const Timer *x = a, *y = b;
  if (x->deadline_us != y->deadline_us)
    return x->deadline_us < y->deadline_us ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

static DkTimerId
env_timer_start (gpointer user_data, gint64 after_us, DkTimerFunc func, gpointer data)
{
  DkUdpEnv *env = user_data;
  Timer *timer = g_new (Timer, 1);
  timer->id = env->next_timer++;
  timer->deadline_us = g_get_monotonic_time () + MAX (after_us, 0);
  timer->func = func;
  timer->data = data;
  GSequenceIter *iter = g_sequence_insert_sorted (env->timers, timer, timer_order, NULL);
  g_hash_table_insert (env->timer_iters, &timer->id, iter);
  return timer->id;   /* timer_source_prepare sees it before the next poll */
}

static void
env_timer_cancel (gpointer user_data, DkTimerId id)
{
  DkUdpEnv *env = user_data;
  GSequenceIter *iter = g_hash_table_lookup (env->timer_iters, &id);
  if (iter == NULL)
    return;
  g_hash_table_remove (env->timer_iters, &id);
  g_sequence_remove (iter);  /* frees the timer */
}

static guint64
env_random (gpointer user_data)
{
  DkUdpEnv *env = user_data;
  return dk_rng_next (&env->rng);
}

/* The system's random source, whatever --seed says (env.h). */
static guint64
env_entropy (gpointer user_data)
{
  return ((guint64) g_random_int () << 32) | g_random_int ();
}

/* ---- sources ------------------------------------------------------------- */

static void receive_and_reply (DkUdpEnv *env);

/* The earliest deadline, or G_MAXINT64 with no timer. */
static gint64
first_deadline (DkUdpEnv *env)
{
  GSequenceIter *first = g_sequence_get_begin_iter (env->timers);
  return g_sequence_iter_is_end (first) ? G_MAXINT64
                                        : ((Timer *) g_sequence_get (first))->deadline_us;
}

/* The timer source tells the loop its timeout itself, each time before
 * it polls, instead of keeping a ready time: g_source_set_ready_time
 * wakes the context (a write to its eventfd, then a read and one more
 * loop turn), which per request cost three system calls of seven. */
static gboolean
timer_source_prepare (GSource *source, gint *timeout)
{
  DkUdpEnv *env = ((TimerSource *) source)->env;
  gint64 deadline = first_deadline (env);
  if (deadline == G_MAXINT64)
    {
      *timeout = -1;
      return FALSE;
    }
  gint64 remaining = deadline - g_source_get_time (source);
  if (remaining <= 0)
    {
      *timeout = 0;
      return TRUE;
    }
  *timeout = (gint) MIN ((remaining + 999) / 1000, G_MAXINT);   /* never early */
  return FALSE;
}

static gboolean
timer_source_check (GSource *source)
{
  DkUdpEnv *env = ((TimerSource *) source)->env;
  return first_deadline (env) <= g_get_monotonic_time ();
}

/* Fire every timer due now, earliest first.  Timers started meanwhile
 * wait for the next dispatch even when already due, so a timer re-arming
 * itself with no delay cannot starve the socket.  Before any timer fires,
 * the datagrams already queued on the socket are read: a node that was
 * not scheduled for a while (a loaded machine) must see the replies that
 * arrived meanwhile before its failover timers call their senders silent
 * (node_reach.c), or it marks healthy peers unreachable and fails
 * requests that quorum would have met. */
static gboolean
timer_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  DkUdpEnv *env = ((TimerSource *) source)->env;
  gint64 now = g_get_monotonic_time ();
  DkTimerId newest = env->next_timer - 1;
  if (first_deadline (env) <= now)
    receive_and_reply (env);
  for (;;)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (env->timers);
      if (g_sequence_iter_is_end (first))
        break;
      Timer *timer = g_sequence_get (first);
      if (timer->deadline_us > now || timer->id > newest)
        break;  /* sorted by deadline, then id: nothing after it is due and old */
      DkTimerFunc func = timer->func;
      gpointer data = timer->data;
      g_hash_table_remove (env->timer_iters, &timer->id);
      g_sequence_remove (first);
      env->stats.timers_fired++;
      func (data);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
  .prepare = timer_source_prepare,
  .check = timer_source_check,
  .dispatch = timer_source_dispatch,
};

static guint receive_batch (DkUdpEnv *env);

static void
deliver (DkUdpEnv *env, const Address *from, const guint8 *data, gsize len)
{
  if (len > DK_WIRE_MAX_DATAGRAM)
    {
      env->stats.dropped_oversize++;
      udp_log (env, DK_LOG_DEBUG, "dropped a %" G_GSIZE_FORMAT "-byte datagram: over the %u-byte limit",
               len, DK_WIRE_MAX_DATAGRAM);
      return;
    }
  if (env->node == NULL)
    {
      env->stats.dropped_no_node++;
      return;
    }
  DkEndpoint endpoint = endpoint_for (env, from);
  env->stats.datagrams_received++;
  env->stats.bytes_received += len;
  DkNodeReceipt receipt = dk_node_receive (env->node, endpoint, data, len);
  if (receipt == DK_NODE_RECEIPT_UNSIGNED || receipt == DK_NODE_RECEIPT_BAD_TAG)
    auth_failure (env, from, receipt);
  if (env->pending)
    {
      if (receipt == DK_NODE_RECEIPT_VALIDATED)
        client_remember (env);
      else
        env->stats.sources_not_remembered++;
      env->pending = FALSE;
    }
}

/* Read up to RECEIVE_BATCH datagrams and hand each to the node, all
 * inside one deferred store transaction with every datagram the node
 * sends held; commit, then send them (udp_env.h).  A failed commit drops
 * what was held: its writes are lost, and no acknowledgement says
 * otherwise (tests/check_net.c: net_ack_never_precedes_its_commit). */
static void
receive_and_reply (DkUdpEnv *env)
{
  dk_store_defer_begin (env->store);
  env->holding = TRUE;
  if (receive_batch (env) > 0)
    env->stats.receive_batches++;
  env->holding = FALSE;
  g_autoptr (GError) error = NULL;
  if (dk_store_defer_end (env->store, &error))
    {
      send_held (env);
      return;
    }
  env->stats.dropped_uncommitted += env->held->len;
  udp_log (env, DK_LOG_WARNING, "%u replies not sent: %s", env->held->len, error->message);
  g_array_set_size (env->held, 0);
  g_byte_array_set_size (env->held_bytes, 0);
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  receive_and_reply (user_data);
  return G_SOURCE_CONTINUE;
}

#ifdef HAVE_RECVMMSG
/* Read and deliver up to RECEIVE_BATCH datagrams; returns how many.  One
 * recvmmsg for the whole batch: a wake-up costs one system call, not one
 * per datagram plus the one that finds the socket empty. */
static guint
receive_batch (DkUdpEnv *env)
{
  struct mmsghdr *messages = env->receive_messages;
  for (guint i = 0; i < RECEIVE_BATCH; i++)
    {
      messages[i].msg_hdr.msg_namelen = sizeof env->receive_from[i].storage;
      messages[i].msg_hdr.msg_flags = 0;
    }
  int n;
  do
    n = recvmmsg (env->fd, messages, RECEIVE_BATCH, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      int saved = errno;
      if (saved != EAGAIN && saved != EWOULDBLOCK)
        {
          env->stats.receive_errors++;
          udp_log (env, DK_LOG_DEBUG, "receive failed: %s", g_strerror (saved));
        }
      return 0;
    }
  for (int i = 0; i < n; i++)
    {
      Address *from = &env->receive_from[i];
      from->len = messages[i].msg_hdr.msg_namelen;
      deliver (env, from, env->buffer + (gsize) i * RECEIVE_BUFFER_BYTES, messages[i].msg_len);
    }
  return (guint) n;
}
#else
static guint
receive_batch (DkUdpEnv *env)
{
  guint received = 0;
  for (int i = 0; i < RECEIVE_BATCH; i++)
    {
      Address from;
      memset (&from, 0, sizeof from);
      from.len = sizeof from.storage;
      ssize_t len = recvfrom (env->fd, env->buffer, RECEIVE_BUFFER_BYTES, 0,
                              (struct sockaddr *) &from.storage, &from.len);
      if (len < 0)
        {
          int saved = errno;
          if (saved == EINTR)
            continue;
          if (saved != EAGAIN && saved != EWOULDBLOCK)
            {
              env->stats.receive_errors++;
              udp_log (env, DK_LOG_DEBUG, "receive failed: %s", g_strerror (saved));
            }
          break;
        }
      deliver (env, &from, env->buffer, (gsize) len);
      received++;
    }
  return received;
}
#endif

/* ---- building ---------------------------------------------------------- */

void
dk_udp_env_config_init (DkUdpEnvConfig *config)
{
  *config = (DkUdpEnvConfig) {
    .log_level = DK_LOG_INFO,
    .max_clients = DK_UDP_ENV_MAX_CLIENTS_DEFAULT,
  };
}

static gboolean
bind_socket (DkUdpEnv *env, const char *listen, GError **error)
{
  g_autoptr (GInetSocketAddress) address = dk_net_resolve (listen, TRUE, error);
  if (address == NULL)
    return FALSE;
  GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (address));
  env->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (env->socket == NULL)
    return FALSE;
  g_socket_set_blocking (env->socket, FALSE);
  /* allow_reuse FALSE: for UDP it would let two daemons share a port. */
  g_autoptr (GError) bind_error = NULL;
  if (!g_socket_bind (env->socket, G_SOCKET_ADDRESS (address), FALSE, &bind_error))
    {
      g_set_error (error, G_IO_ERROR, bind_error->code, "cannot listen on %s: %s",
                   listen, bind_error->message);
      return FALSE;
    }
  g_socket_set_option (env->socket, SOL_SOCKET, SO_RCVBUF, SOCKET_BUFFER_BYTES, NULL);
  g_socket_set_option (env->socket, SOL_SOCKET, SO_SNDBUF, SOCKET_BUFFER_BYTES, NULL);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (env->socket, error);
  if (local == NULL)
    return FALSE;
  env->fd = g_socket_get_fd (env->socket);
  env->address = dk_net_address_string (G_INET_SOCKET_ADDRESS (local));
  env->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return TRUE;
}

static gboolean
open_store (DkUdpEnv *env, const char *data_dir, const DkStoreOptions *options,
            GError **error)
{
  if (data_dir == NULL)
    {
      env->store = dk_store_open (":memory:", options, error);
      return env->store != NULL;
    }
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create the data directory %s: %s", data_dir, g_strerror (saved));
      return FALSE;
    }
  g_autofree char *path = g_build_filename (data_dir, "node.db", NULL);
  env->store = dk_store_open (path, options, error);
  if (env->store == NULL)
    return FALSE;
  DkStoreOptions checkpoint_options;
  dk_store_options_init (&checkpoint_options);
  if (options != NULL)
    checkpoint_options.sync = options->sync;
  env->checkpointer = dk_checkpointer_start (env->store, &checkpoint_options, error);
  return env->checkpointer != NULL;
}

/* Gossip named a member's address: route to it, unless configured. */
static void
env_learn_peer (gpointer user_data, DkNodeId id, const char *address)
{
  DkUdpEnv *env = user_data;
  if (g_hash_table_contains (env->peer_addresses, GUINT_TO_POINTER (id)))
    return;
  g_autoptr (GError) error = NULL;
  if (!dk_udp_env_add_peer (env, id, address, &error))
    env_log (env, DK_LOG_WARNING, error->message);
}

DkUdpEnv *
dk_udp_env_new (const DkUdpEnvConfig *config, GError **error)
{
  g_return_val_if_fail (config != NULL && config->listen != NULL, NULL);
  g_return_val_if_fail (config->id != DK_NODE_NONE, NULL);
  g_autoptr (DkUdpEnv) env = g_new0 (DkUdpEnv, 1);
  env->config = *config;
  env->config.listen = NULL;
  env->config.data_dir = NULL;
  env->config.store_options = NULL;
  if (env->config.max_clients == 0)
    env->config.max_clients = DK_UDP_ENV_MAX_CLIENTS_DEFAULT;
  env->log_file = config->log_file != NULL ? config->log_file : stderr;
  env->context = config->context != NULL ? g_main_context_ref (config->context)
                                         : g_main_context_ref (g_main_context_default ());
#ifdef HAVE_RECVMMSG
  /* 4 MiB of address space; only the pages datagrams land on are touched. */
  env->buffer = g_malloc ((gsize) RECEIVE_BATCH * RECEIVE_BUFFER_BYTES);
  env->receive_messages = g_new0 (struct mmsghdr, RECEIVE_BATCH);
  env->receive_iov = g_new0 (struct iovec, RECEIVE_BATCH);
  env->receive_from = g_new0 (Address, RECEIVE_BATCH);
  for (guint i = 0; i < RECEIVE_BATCH; i++)
    {
      env->receive_iov[i].iov_base = env->buffer + (gsize) i * RECEIVE_BUFFER_BYTES;
      env->receive_iov[i].iov_len = RECEIVE_BUFFER_BYTES;
      env->receive_messages[i].msg_hdr.msg_iov = &env->receive_iov[i];
      env->receive_messages[i].msg_hdr.msg_iovlen = 1;
      env->receive_messages[i].msg_hdr.msg_name = &env->receive_from[i].storage;
    }
#else
  env->buffer = g_malloc (RECEIVE_BUFFER_BYTES);
#endif
  env->held = g_array_new (FALSE, FALSE, sizeof (HeldDatagram));
  env->held_bytes = g_byte_array_new ();
  if (config->faults != NULL && dk_net_faults_active (config->faults))
    env->faults = config->faults;
  env->delayed = g_sequence_new (g_free);
  env->peer_ids = g_hash_table_new (address_hash, address_equal);
  env->peer_addresses = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  env->clients_by_key = g_hash_table_new (address_hash, address_equal);
  env->clients = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  g_queue_init (&env->client_order);
  for (guint i = 0; i < sizeof env->endpoint_secret; i += 4)
    {
      guint32 bits = g_random_int ();
      memcpy (env->endpoint_secret + i, &bits, 4);
    }
  env->auth_logged = g_hash_table_new_full (address_hash, address_equal, g_free, g_free);
  env->auth_window_us = G_MININT64 / 2;
  env->timers = g_sequence_new (g_free);
  env->timer_iters = g_hash_table_new (g_int64_hash, g_int64_equal);
  env->next_timer = 1;

  guint64 seed = config->have_seed ? config->seed
                                   : ((guint64) g_random_int () << 32) | g_random_int ();
  dk_rng_init (&env->rng, seed, config->id);

  if (!bind_socket (env, config->listen, error)
      || !open_store (env, config->data_dir, config->store_options, error))
    return NULL;

  env->timer_source = g_source_new (&timer_source_funcs, sizeof (TimerSource));
  ((TimerSource *) env->timer_source)->env = env;
  g_source_set_name (env->timer_source, "dynkv timers");
  g_source_attach (env->timer_source, env->context);
  if (env->faults != NULL && !delayed_open (env, error))
    return NULL;

  env->receive_source = g_socket_create_source (env->socket, G_IO_IN, NULL);
  g_source_set_callback (env->receive_source, G_SOURCE_FUNC (on_readable), env, NULL);
  g_source_set_name (env->receive_source, "dynkv socket");
  /* GLib blocks a source that cannot recurse while it dispatches, which
   * for a source with a descriptor means removing it from the poll set
   * and adding it back, each a write to the context's eventfd, then a
   * read and one more loop turn: three system calls per wake-up for
   * nothing, as no loop here ever runs inside a dispatch. */
  g_source_set_can_recurse (env->receive_source, TRUE);
  g_source_attach (env->receive_source, env->context);

  env->env = (DkEnv) {
    .learn_peer = env_learn_peer,
    .source_validated = env_source_validated,
    .counters = env_counters,
    .user_data = env,
    .send = env_send,
    .now_us = env_now,
    .wall_us = env_wall,
    .timer_start = env_timer_start,
    .timer_cancel = env_timer_cancel,
    .random = env_random,
    .entropy = env_entropy,
    .log = env_log,
    .store = env->store,
  };
  return g_steal_pointer (&env);
}

void
dk_udp_env_free (DkUdpEnv *env)
{
  if (env == NULL)
    return;
  if (env->receive_source != NULL)
    {
      g_source_destroy (env->receive_source);
      g_source_unref (env->receive_source);
    }
  if (env->timer_source != NULL)
    {
      g_source_destroy (env->timer_source);
      g_source_unref (env->timer_source);
    }
  dk_precise_timer_free (env->delayed_timer);
  if (env->socket != NULL)
    {
      g_socket_close (env->socket, NULL);
      g_object_unref (env->socket);
    }
  g_clear_pointer (&env->checkpointer, dk_checkpointer_stop);
  g_clear_pointer (&env->store, dk_store_close);
  g_hash_table_destroy (env->timer_iters);
  g_sequence_free (env->timers);
  g_queue_init (&env->client_order);  /* its links live inside the clients */
  g_hash_table_destroy (env->clients_by_key);
  g_hash_table_destroy (env->clients);
  g_hash_table_destroy (env->auth_logged);
  g_hash_table_destroy (env->peer_addresses);
  g_hash_table_destroy (env->peer_ids);
  g_main_context_unref (env->context);
  g_free (env->buffer);
#ifdef HAVE_RECVMMSG
  g_free (env->receive_messages);
  g_free (env->receive_iov);
  g_free (env->receive_from);
#endif
  g_array_unref (env->held);
  g_byte_array_unref (env->held_bytes);
  g_sequence_free (env->delayed);   /* copies whose delay had not passed: lost */
  g_free (env->address);
  g_free (env);
}

gboolean
dk_udp_env_add_peer (DkUdpEnv *env, DkNodeId id, const char *address, GError **error)
{
  g_return_val_if_fail (id != DK_NODE_NONE, FALSE);
  g_autoptr (GInetSocketAddress) resolved = dk_net_resolve (address, FALSE, error);
  if (resolved == NULL)
    return FALSE;
  g_autofree Address *native = g_new (Address, 1);
  if (!address_from_gio (G_SOCKET_ADDRESS (resolved), native))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "peer %u: unusable address %s", id, address);
      return FALSE;
    }
  /* A re-added id forgets its old address. */
  const Address *old = g_hash_table_lookup (env->peer_addresses, GUINT_TO_POINTER (id));
  if (old != NULL)
    g_hash_table_remove (env->peer_ids, old);
  g_hash_table_insert (env->peer_ids, native, GUINT_TO_POINTER (id));
  g_hash_table_replace (env->peer_addresses, GUINT_TO_POINTER (id), g_steal_pointer (&native));
  return TRUE;
}

const DkEnv *
dk_udp_env_get (DkUdpEnv *env)
{
  return &env->env;
}

void
dk_udp_env_set_node (DkUdpEnv *env, DkNode *node)
{
  env->node = node;
}

const char *
dk_udp_env_address (const DkUdpEnv *env)
{
  return env->address;
}

guint16
dk_udp_env_port (const DkUdpEnv *env)
{
  return env->port;
}

const DkUdpEnvStats *
dk_udp_env_stats (const DkUdpEnv *env)
{
  return &env->stats;
}

guint
dk_udp_env_timers_pending (const DkUdpEnv *env)
{
  /* delayed copies wait on a timer of their own, and count as timers */
  return (guint) (g_sequence_get_length (env->timers) + g_sequence_get_length (env->delayed));
}

guint
dk_udp_env_client_count (const DkUdpEnv *env)
{
  return env->client_order.length;
}
