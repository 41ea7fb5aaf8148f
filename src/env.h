/* env.h — the node's whole view of the outside world.
 *
 * DESIGN.md's one rule: node code never touches a socket, a clock, a
 * random number generator or a global.  Everything it needs arrives
 * through one DkEnv, a struct of methods with an opaque pointer in the
 * manner of SQLite's sqlite3_vfs.  Two implementations exist and both link
 * against the same node objects: src/net/ (UDP on the GLib main loop, the
 * real clock) and sim/ (a virtual clock and simulated links).  Which one
 * a node gets is a run-time choice.
 *
 * Endpoints name whoever a datagram comes from or goes to.  A node's
 * endpoint is its DkNodeId; anything else (a client) gets an endpoint id
 * >= DK_ENDPOINT_CLIENT_BASE chosen by the environment, meaningful only to
 * the node that received it (a node never passes a client endpoint on:
 * forwarded requests are proxied).  An environment remembers a client
 * endpoint only once the node said its datagram was validated
 * (dk_node_receive, node.h), so forged source addresses and junk cannot
 * fill or churn its table.
 */
#ifndef DK_ENV_H
#define DK_ENV_H

#include <glib.h>
#include "types.h"

G_BEGIN_DECLS

typedef guint64 DkEndpoint;
#define DK_ENDPOINT_CLIENT_BASE (G_GUINT64_CONSTANT (1) << 32)

static inline gboolean
dk_endpoint_is_node (DkEndpoint endpoint)
{
  return endpoint != 0 && endpoint < DK_ENDPOINT_CLIENT_BASE;
}

typedef guint64 DkTimerId;          /* 0 is never a valid timer */
typedef void (*DkTimerFunc) (gpointer data);

typedef enum
{
  DK_LOG_ERROR,
  DK_LOG_WARNING,
  DK_LOG_INFO,
  DK_LOG_DEBUG
} DkLogLevel;

typedef struct _DkStore DkStore;

/* A named counter (DkEnv.counters, dk_node_counters); NAME is a static
 * string. */
typedef struct
{
  const char *name;
  guint64     value;
} DkCounter;

typedef struct
{
  gpointer user_data;

  /* Fire-and-forget datagram of LEN bytes to TO; the bytes are copied
   * before it returns (the node reuses them), and it never calls the node. */
  void (*send) (gpointer user_data, DkEndpoint to, const guint8 *bytes, gsize len);

  /* Monotonic microseconds. */
  gint64 (*now_us) (gpointer user_data);

  /* Optional: wall-clock microseconds since the Unix epoch, for anything
   * stored or compared across hosts by age (vector clock pruning); a
   * simulator may skew it per node.  NULL: now_us stands in. */
  gint64 (*wall_us) (gpointer user_data);

  /* Call FUNC (DATA) once, AFTER_US from now; returns an id for cancel. */
  DkTimerId (*timer_start) (gpointer user_data, gint64 after_us,
                            DkTimerFunc func, gpointer data);

  /* Cancel a timer that has not fired yet; a fired or unknown id is ignored. */
  void (*timer_cancel) (gpointer user_data, DkTimerId timer);

  /* The next 64 bits of this node's deterministic random stream. */
  guint64 (*random) (gpointer user_data);

  /* Optional: 64 bits from outside that stream (a daemon's system random
   * source), mixed into what must differ between two lives of a node even
   * when its stream is seeded alike at every start: the incarnation of a
   * fresh store (node.c, load_actor).  NULL: the stream alone, as in the
   * simulator, where a node's stream runs on across restarts and wipes. */
  guint64 (*entropy) (gpointer user_data);

  /* One structured line: MESSAGE is complete, without a newline. */
  void (*log) (gpointer user_data, DkLogLevel level, const char *message);

  /* This node's storage, owned by the environment. */
  DkStore *store;

  /* Optional: rings shared with other nodes of this process (ring_cache.h);
   * NULL: the node builds its own. */
  struct _DkRingCache *rings;

  /* Optional: gossip told us member ID lives at ADDRESS (as the member
   * itself gossips it); an environment that routes by address records it
   * unless it already knows the member.  NULL: addresses are not needed. */
  void (*learn_peer) (gpointer user_data, DkNodeId id, const char *address);

  /* Optional: TRUE when client endpoint FROM is a source this environment
   * remembers (dk_node_receive validated it before), FALSE for a source
   * heard for the first time, whose address may be forged.  A node
   * answers a request from a source not validated with nothing larger
   * than the request (node.h).  NULL: every source counts as validated
   * (a simulated network forges no addresses). */
  gboolean (*source_validated) (gpointer user_data, DkEndpoint from);

  /* Optional: append this environment's own counters (DkCounter) to OUT,
   * GArray of DkCounter, for a NODE_STATUS reply and dynkvd's report.
   * NULL: it has none to tell. */
  void (*counters) (gpointer user_data, GArray *out);
} DkEnv;

G_END_DECLS

#endif /* DK_ENV_H */
