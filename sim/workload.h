/* workload.h — open-loop simulated clients that drive a cluster and record
 * every operation in the history.
 *
 * Operations arrive as one Poisson process at the total rate, each given
 * to a client drawn uniformly (so every client is itself Poisson at
 * rate / clients).  Open loop: a client does not wait for one answer
 * before its next operation, as real traffic does not.  Each operation
 * picks its key from the key distribution ("k<index>"), is a get with
 * probability `reads`, a delete with probability `deletes`, else a write
 * of `value` bytes whose content starts with the tag naming the operation
 * (history.h's dk_value_tag), so every write is distinct and identifiable.
 * Deletes are read-modify-writes too (with use_context).  A get whose
 * set does not fit one reply is completed by fetching the rest (GETs with
 * a sibling offset, to the same coordinator), so the history records the
 * whole set; when the set changes between pages (its digest), the read
 * starts over, at most MAX_PAGE_RESTARTS times before it fails ("set
 * changed while paging").  A write refused as over the sibling limit
 * fails ("too large"); a read-modify-write resolves the siblings.  With use_context (the default) a write is a
 * read-modify-write, as Dynamo's clients do (§4.4): the client gets the
 * key, then puts the new value with the context the get returned,
 * superseding every sibling it saw; when the get fails the client writes
 * anyway, blind (Dynamo's "always writeable" shopping cart), so write
 * availability is measured whatever reads do.  Both operations go into
 * the history.  Without use_context every put is blind, and siblings,
 * once created, are never resolved.
 *
 * Where it goes (the scenario option `coordinator`): with
 * DK_COORDINATOR_PREFERENCE (the default) to a random node of the key's
 * preference list that it can reach from its side of any partition, as a
 * partition-aware client or load balancer does (Dynamo §4.5); with
 * DK_COORDINATOR_REPLICA to the first such node; with either, when it
 * reaches none of the first N and the quorum is sloppy (extended_list),
 * to the first reachable node further along the ring, so a client cut off
 * from every replica still finds a node to coordinate; with
 * DK_COORDINATOR_ANY to a node drawn uniformly among those it can reach;
 * with DK_COORDINATOR_PROXY to a node drawn uniformly among those it can
 * reach that are none of the first N of the key's preference list (the
 * runner has such a node coordinate, not forward: every replica's copy
 * then crosses the network, as in the PBS paper's WARS model).
 * When it can reach none, the operation fails at once ("unreachable: ...").  A client gives
 * up on an operation after client_timeout_us ("client timeout").
 */
#ifndef DK_SIM_WORKLOAD_H
#define DK_SIM_WORKLOAD_H

#include <glib.h>
#include "cluster.h"
#include "dist.h"
#include "eventq.h"
#include "history.h"

G_BEGIN_DECLS

/* The client request id of an operation is its history id; a get's extra
 * pages are named id | page << DK_WORKLOAD_PAGE_SHIFT (history ids stay
 * far below 2^DK_WORKLOAD_PAGE_SHIFT). */
#define DK_WORKLOAD_PAGE_SHIFT 40
#define DK_WORKLOAD_OP_MASK ((G_GUINT64_CONSTANT (1) << DK_WORKLOAD_PAGE_SHIFT) - 1)

typedef enum
{
  DK_COORDINATOR_REPLICA,     /* the first reachable node of the key's preference list */
  DK_COORDINATOR_ANY,         /* a random reachable node */
  DK_COORDINATOR_PREFERENCE,  /* a random reachable node of the key's preference list */
  DK_COORDINATOR_PROXY        /* a random reachable node that is none of the key's N replicas */
} DkCoordinatorChoice;

typedef struct
{
  guint               clients;           /* >= 1 */
  double              rate_per_s;        /* operations per second, all clients together */
  guint32             keys;              /* >= 1 */
  DkKeyDistSpec       key_dist;
  double              read_fraction;     /* in [0, 1] */
  double              delete_fraction;   /* in [0, 1]: of all operations; reads + deletes <= 1 */
  guint               value_bytes;       /* <= DK_VALUE_MAX_BYTES */
  DkCoordinatorChoice coordinator;
  guint               replicas;          /* N: the preference list's length */
  gboolean            extended_list;     /* with sloppy quorums: walk on past the first N */
  gboolean            use_context;       /* writes are read-modify-writes */
  gint64              client_timeout_us; /* a client gives up after this */
} DkWorkloadConfig;

/* Client-side counters. */
typedef struct
{
  guint64 invoked;
  guint64 replies;
  guint64 late_replies;        /* for an operation already completed */
  guint64 malformed_replies;
  guint64 unreachable;
  guint64 client_timeouts;
  guint64 pages_fetched;       /* GETs for the rest of a set too large for one reply */
  guint64 page_restarts;       /* reads started over: the set changed between its pages */
} DkWorkloadStats;

typedef struct _DkWorkload DkWorkload;

/* Defaults: 10 clients, 100/s, 1000 uniform keys, half reads, 100-byte
 * values, replica coordinators, a 2 s client timeout. */
void dk_workload_config_init (DkWorkloadConfig *config);

/* A workload on CLUSTER and QUEUE (borrowed) recording into HISTORY
 * (borrowed), drawing from stream 2 of SEED.  It installs itself as the
 * cluster's client handler. */
DkWorkload *dk_workload_new (const DkWorkloadConfig *config, DkSimCluster *cluster,
                             DkEventQueue *queue, DkHistory *history, guint64 seed);
void dk_workload_free (DkWorkload *workload);

/* Issue operations from now until STOP_AT_US (exclusive). */
void dk_workload_start (DkWorkload *workload, gint64 stop_at_us);

/* Change the total rate from now on (0 pauses arrivals). */
void dk_workload_set_rate (DkWorkload *workload, double rate_per_s);

const DkWorkloadStats *dk_workload_stats (const DkWorkload *workload);

/* Operations still waiting for an answer. */
guint dk_workload_pending (const DkWorkload *workload);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkWorkload, dk_workload_free)

G_END_DECLS

#endif
