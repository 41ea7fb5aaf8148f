/* udp_env.h — the real-world DkEnv: UDP on a GLib main context.
 *
 * The twin of the simulator's environment (sim/cluster.c).  One DkUdpEnv
 * serves one node: a UDP GSocket bound to the node's HOST:PORT whose
 * receive source runs on a GMainContext, timers kept in one GSource of
 * that context (fired in deadline order, with microsecond deadlines on
 * g_get_monotonic_time), the wall clock (g_get_real_time: signed
 * datagrams carry it, vector clocks are pruned by it), a DkRng per node,
 * the node's SQLite store in DIR/node.db, and log lines on stderr.
 *
 * Endpoints.  Peers' configured addresses map to their node ids (added
 * with dk_udp_env_add_peer).  Any other source address is a client: its
 * endpoint id (>= DK_ENDPOINT_CLIENT_BASE) is a MAC of the address under
 * a secret of this environment, the same every time.  A client is
 * remembered in a bounded table (least recently heard evicted past
 * max_clients), so a reply goes back to where the request came from, but
 * only once the node validated one of its datagrams (dk_node_receive:
 * signed with a key, or unkeyed, a request echoing its cookie): junk and
 * forged source addresses never enter the table, so they cannot evict
 * real clients.  While the node handles a datagram from a source not
 * remembered, replies to it still go out (a PONG, a RETRY).  A datagram
 * larger than DK_WIRE_MAX_DATAGRAM is dropped and counted, as is a send
 * to an endpoint the table does not know.
 *
 * Writes and replies.  The datagrams read in one wake-up of the receive
 * source (up to a bound) are handled inside one store transaction
 * (dk_store_defer_begin/_end): every datagram the node sends meanwhile is
 * held, the transaction commits, and only then do the held datagrams go
 * out, so no acknowledgement ever leaves before its write is committed.
 * When the commit fails, the held datagrams are dropped (counted, and
 * logged): the writes are lost and nobody was told otherwise.  Datagrams
 * sent from timers go out at once (their writes commit one by one).
 *
 * Faults.  With config.faults active (dynkvd --net-loss and the rest),
 * every datagram that leaves, held or not, goes through
 * dk_net_faults_draw when it would be sent: lost, sent, or sent twice,
 * each copy after its delay (a timer of this environment: the loop goes
 * on meanwhile).  A held reply is judged only after its batch committed.
 *
 * Authentication failures the node reports are counted and logged as
 * warnings with the source address: at most one line per source per 10 s
 * and 10 lines per 10 s in all; the rest is summed up in one line.
 *
 * Use: dk_udp_env_new, dk_udp_env_add_peer for every member, dk_node_new
 * with dk_udp_env_get, dk_udp_env_set_node, then run the context.  Free
 * the node before the environment.  Not thread-safe: one context, one
 * thread.
 */
#ifndef DK_UDP_ENV_H
#define DK_UDP_ENV_H

#include <stdio.h>
#include <gio/gio.h>
#include "env.h"
#include "net/net_faults.h"
#include "node.h"
#include "store.h"

G_BEGIN_DECLS

#define DK_UDP_ENV_MAX_CLIENTS_DEFAULT 4096u

typedef struct
{
  DkNodeId      id;            /* this node */
  const char   *listen;        /* "HOST:PORT"; port 0 lets the kernel choose */
  const char   *data_dir;      /* the store is DATA_DIR/node.db (created);
                                * NULL for an in-memory store */
  const DkStoreOptions *store_options;  /* NULL: dk_store_options_init */
  GMainContext *context;       /* where the sources run; NULL: the global default */
  gboolean      have_seed;     /* FALSE: seed the DkRng from /dev/urandom */
  guint64       seed;          /* the random stream is (seed, node id) */
  DkLogLevel    log_level;     /* lines above this level are not written */
  FILE         *log_file;      /* NULL: stderr */
  guint         max_clients;   /* client endpoints remembered; 0: the default */
  gint64        wall_offset_us;/* added to the wall clock (g_get_real_time); tests only */
  DkNetFaults  *faults;        /* borrowed, outlives the environment; NULL: none */
} DkUdpEnvConfig;

/* Defaults: id 0, listen NULL, in-memory store, default context, random
 * seed, DK_LOG_INFO to stderr, DK_UDP_ENV_MAX_CLIENTS_DEFAULT clients. */
void dk_udp_env_config_init (DkUdpEnvConfig *config);

/* What the environment counts (the node keeps its own DkNodeStats). */
typedef struct
{
  guint64 datagrams_received;   /* handed to the node */
  guint64 datagrams_sent;
  guint64 bytes_received;
  guint64 bytes_sent;
  guint64 dropped_oversize;     /* larger than DK_WIRE_MAX_DATAGRAM */
  guint64 dropped_no_node;      /* arrived before dk_udp_env_set_node */
  guint64 receive_errors;
  guint64 send_errors;          /* the kernel refused a datagram */
  guint64 unknown_destination;  /* no address for the endpoint (evicted client) */
  guint64 clients_seen;         /* client sources remembered (validated by the node) */
  guint64 clients_evicted;
  guint64 sources_not_remembered; /* datagrams from a source not remembered that the node
                                 * did not validate (junk, forgeries, RETRY, unkeyed PING) */
  guint64 auth_failures;        /* datagrams the node refused as unsigned or badly signed */
  guint64 auth_failures_logged; /* ... of which logged with the source address */
  guint64 timers_fired;
  guint64 receive_batches;      /* wake-ups that read datagrams: one store commit each */
  guint64 dropped_uncommitted;  /* replies not sent: their batch's commit failed */
  guint64 faults_lost;          /* datagrams the faults (net_faults.h) dropped */
  guint64 faults_duplicated;    /* ... sent twice */
  guint64 faults_delayed;       /* copies held back for a delay */
} DkUdpEnvStats;

typedef struct _DkUdpEnv DkUdpEnv;

/* Bind the socket and open the store; NULL with an error naming the
 * address or the file when either fails. */
DkUdpEnv *dk_udp_env_new (const DkUdpEnvConfig *config, GError **error);

/* Close the socket and the store and cancel every timer.  Free the node
 * first: it still holds the DkEnv.  NULL is ignored. */
void dk_udp_env_free (DkUdpEnv *env);

/* Datagrams from ADDRESS ("HOST:PORT", resolved now) come from node ID and
 * datagrams to ID go there.  The node's own id may be given too. */
gboolean dk_udp_env_add_peer (DkUdpEnv *env, DkNodeId id, const char *address,
                              GError **error);

/* The DkEnv to give dk_node_new (valid while ENV lives). */
const DkEnv *dk_udp_env_get (DkUdpEnv *env);

/* Deliver received datagrams to NODE (borrowed; NULL stops delivery). */
void dk_udp_env_set_node (DkUdpEnv *env, DkNode *node);

/* The bound address, canonical "IP:PORT", and its port. */
const char *dk_udp_env_address (const DkUdpEnv *env);
guint16 dk_udp_env_port (const DkUdpEnv *env);

const DkUdpEnvStats *dk_udp_env_stats (const DkUdpEnv *env);

/* Timers started and not yet fired or cancelled. */
guint dk_udp_env_timers_pending (const DkUdpEnv *env);

/* Client endpoints remembered now. */
guint dk_udp_env_client_count (const DkUdpEnv *env);

/* Parse "error", "warning", "info" or "debug". */
gboolean dk_log_level_parse (const char *text, DkLogLevel *level, GError **error);
const char *dk_log_level_name (DkLogLevel level);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkUdpEnv, dk_udp_env_free)

G_END_DECLS

#endif /* DK_UDP_ENV_H */
