/* net_clients.h — the simulator's workload (workload.h), driven against
 * real dynkvd nodes over UDP and recorded in the same history.
 *
 * The same open-loop clients as sim/workload.c, operation for operation:
 * one Poisson arrival process at the total rate, each arrival given to a
 * client drawn uniformly; keys "k<index>" from the key distribution; a
 * get with probability reads, a delete with probability deletes, else a
 * put of value_bytes whose bytes start with the tag naming the operation
 * (dk_value_tag), so the checkers judge writes by value; with use_context
 * a write is a read-modify-write carrying the get's context (blind when
 * the get failed); a get whose set needs several replies is fetched in
 * pages, restarted when the set changed between them; a client gives up
 * after client_timeout_us ("client timeout").  Client C sits beside node
 * (C mod nodes) + 1, its home, as in the simulator, and picks the
 * coordinator as the simulator's workload does (coordinator=preference: a
 * random reachable replica of the key's preference list on RING, walking
 * on past the first N with a sloppy quorum; first/replica: the first
 * reachable one; any: a random reachable node), where "reachable" is the
 * caller's REACHABLE: the runner knows the partition and which nodes it
 * crashed, as a partition-aware load balancer would.  An operation with no
 * reachable coordinator fails at once ("unreachable").
 *
 * What differs from the simulator: time is the monotonic clock (µs from
 * dk_net_clients_start's origin), arrivals are issued from a 1 ms tick
 * (each recorded at the time it was actually sent), every datagram is
 * signed with the cluster key and stamped for its coordinator (wire.h),
 * and a write's commit time (commit_us) is when its acknowledgement left
 * the coordinator by the reply's stamp (the nodes and this program read
 * one wall clock), kept between the invoke and the completion.  Each client has its own UDP
 * socket; its client id is C + 1 and a request's id is its history id
 * (pages: id | page << DK_WORKLOAD_PAGE_SHIFT), as in the simulator.
 *
 * With FAULTS, every request goes through dk_net_faults_draw as dynkvd's
 * datagrams do (lost, sent once or twice, each copy after its delay on a
 * source of CONTEXT), so both legs of a client's round trip see the
 * scenario's network, as in the simulator.
 *
 * Everything runs on CONTEXT, in its thread.
 */
#ifndef DK_NET_CLIENTS_H
#define DK_NET_CLIENTS_H

#include <gio/gio.h>
#include "history.h"
#include "net/net_faults.h"
#include "ring.h"
#include "workload.h"

G_BEGIN_DECLS

/* May the client beside node HOME send to NODE now? */
typedef gboolean (*DkNetClientsReachable) (DkNodeId home, DkNodeId node, gpointer user_data);
/* HOME's side of a partition now: 0 none, 1 minority, 2 majority. */
typedef guint8 (*DkNetClientsSide) (DkNodeId home, gpointer user_data);

typedef struct
{
  DkWorkloadConfig      workload;   /* as for the simulator; coordinator not PROXY */
  guint                 nodes;      /* node ids 1..nodes (members or not) */
  guint                 homes;      /* clients' homes among 1..homes (the initial
                                     * members, as in the simulator); 0: nodes */
  const char *const    *addresses;  /* node ID's "IP:PORT" at [ID-1] */
  const DkRing         *ring;       /* the nodes' ring (dk_net_ring_new), borrowed */
  GBytes               *key;        /* the cluster key every datagram is signed with */
  DkNetClientsReachable reachable;
  DkNetClientsSide      side;       /* may be NULL: no sides recorded */
  gpointer              user_data;
  guint64               seed;       /* the arrivals, keys and choices (stream 2, as dynsim) */
  GMainContext         *context;    /* NULL: the global default */
  DkNetFaults          *faults;     /* the network's loss, dup and delay for what the
                                     * clients send (borrowed); NULL: none */
} DkNetClientsConfig;

typedef struct
{
  DkWorkloadStats workload;         /* as the simulator counts */
  guint64         send_errors;      /* the kernel refused a datagram */
  guint64         unauthenticated;  /* replies that failed verification */
  gint64          tick_late_max_us; /* the latest an arrival was sent after its time */
  gint64          tick_late_sum_us; /* ... all arrivals' lateness added up */
  guint64         arrivals;         /* arrivals sent on the timer */
  guint64         faults_lost;      /* requests the faults lost (FAULTS) */
  guint64         faults_duplicated;/* ... sent twice */
} DkNetClientsStats;

typedef struct _DkNetClients DkNetClients;

/* Open one socket per client (bound to any address, port 0, in the
 * calling thread's network namespace) and resolve the node addresses;
 * NULL with ERROR when that fails.  HISTORY is borrowed. */
DkNetClients *dk_net_clients_new (const DkNetClientsConfig *config, DkHistory *history,
                                  GError **error);
void dk_net_clients_free (DkNetClients *clients);

/* Start arrivals now; ORIGIN_US (g_get_monotonic_time) is time 0 of the
 * history, STOP_AT_US (from the origin) ends the arrivals. */
void dk_net_clients_start (DkNetClients *clients, gint64 origin_us, gint64 stop_at_us);

/* Choose coordinators on RING (borrowed) from now on: the members
 * changed. */
void dk_net_clients_set_ring (DkNetClients *clients, const DkRing *ring);

/* Change the total rate from now on (0 pauses arrivals). */
void dk_net_clients_set_rate (DkNetClients *clients, double rate_per_s);

/* Microseconds since the origin. */
gint64 dk_net_clients_now (const DkNetClients *clients);

/* Operations waiting for an answer (each ends by its client timeout). */
guint dk_net_clients_pending (const DkNetClients *clients);

const DkNetClientsStats *dk_net_clients_stats (const DkNetClients *clients);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkNetClients, dk_net_clients_free)

G_END_DECLS

#endif /* DK_NET_CLIENTS_H */
