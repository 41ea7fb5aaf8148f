/* cluster.h — a simulated cluster: real nodes on simulated links.
 *
 * The cluster hosts K DkNode objects (named n1..nK, node id i for ni), each
 * with its own SQLite store (":memory:"), its own random stream and the
 * simulated DkEnv implemented here, and carries every datagram through a
 * simulated network on the shared event queue.  Faults are injected from
 * outside (the scenario runner) with the functions below; each one is
 * reported in one line through the fault log.
 *
 * The network.  Each datagram draws its own delay from the link's latency
 * distribution (so reordering follows), is lost with the link's loss
 * probability and duplicated (a second copy with its own delay) with its
 * dup probability.  A link's model is, most specific first: a `link A B`
 * override, a `dc A B` override between the two nodes' datacenters, the
 * cluster default.  Overrides are symmetric.
 *
 * Partitions.  partition {A B} {C D E} puts each listed group on its own
 * side; nodes listed in no group share one more side.  A datagram crosses
 * between sides never; a one-way drop A -> B blocks only that direction.
 * heal removes every partition and drop.  Reachability is checked when a
 * datagram is sent and again when it arrives, so a partition also cuts
 * datagrams already in flight.
 *
 * Clients.  Client c (0-based) lives beside node (c mod K) + 1, its home:
 * it reaches exactly the nodes its home reaches, with the same links.
 * Client endpoints are DK_ENDPOINT_CLIENT_BASE + c.
 *
 * Crash, restart, wipe.  crash frees the node (volatile state and timers
 * gone, datagrams to it dropped) and keeps its store; restart builds a
 * fresh node on the same store; wipe replaces the store with an empty one
 * (a lost disk) and, when the node was up, restarts it at once.  Any of
 * them may hit a joining or leaving node: it goes on joining or leaving.
 */
#ifndef DK_SIM_CLUSTER_H
#define DK_SIM_CLUSTER_H

#include <stdio.h>
#include <glib.h>
#include "dist.h"
#include "env.h"
#include "eventq.h"
#include "node.h"
#include "ring.h"
#include "store.h"

G_BEGIN_DECLS

/* How one link (or the default) behaves. */
typedef struct
{
  DkDist   latency;      /* per-datagram delay: on a link, it replaces the per-kind
                          * delays (legs) of the default model */
  gboolean use_legs;     /* a link that sets no latency of its own: the default
                          * model's delay of each kind applies, not LATENCY */
  gint64   extra_us;     /* added to the delay of every datagram between two nodes
                          * (a WAN hop; a client's legs take client=) */
  double   loss;         /* probability a datagram is lost */
  double   dup;          /* probability a datagram is delivered twice */
} DkLinkModel;

typedef struct
{
  guint64        seed;           /* the run seed: every random stream derives from it */
  guint          nodes;          /* K >= 1 */
  guint          datacenters;    /* 0: none; else nodes spread round-robin over dc1..dcD */
  guint          racks;          /* 0: none; else racks r1..rR round-robin within a datacenter */
  DkRingStrategy ring_strategy;
  guint          vnodes;         /* random tokens per node, or partitions per node */
  guint          clients;        /* client endpoints to route */
  guint          max_nodes;      /* room for nodes joining later (ids up to this) */
  DkNodeConfig   node;           /* every node's config (id is set per node) */
  DkStoreOptions store;          /* every node's store options */
  DkLinkModel    network;        /* the default link model */
  DkDistOverride legs[DK_LEG_COUNT]; /* the default model's delay per kind of message
                                  * (unset: network.latency); a link or datacenter
                                  * override's own latency applies to every kind */
  DkDist         clock_skew;     /* how far each node's wall clock is off, drawn once per
                                  * node with a random sign (const(0ms): none) */
} DkSimClusterConfig;

/* Messages and bytes the network carried, for reports. */
typedef struct
{
  guint64 sent;
  guint64 bytes_sent;
  guint64 delivered;
  guint64 lost;            /* dropped by the loss probability */
  guint64 duplicated;
  guint64 cut;             /* dropped by a partition or one-way drop */
  guint64 to_crashed;      /* arrived at a crashed node */
} DkNetStats;

typedef struct _DkSimCluster DkSimCluster;

/* A datagram for client CLIENT (0-based) from FROM, sent at SENT_US
 * (virtual time; the coordinator's answer to a write leaves when its W-th
 * acknowledgement arrived: the write's commit). */
typedef void (*DkClientDeliverFunc) (guint client, DkEndpoint from, const guint8 *data,
                                     gsize len, gint64 sent_us, gpointer user_data);

/* Fills CONFIG with defaults: 5 nodes, 64 random tokens each, const(1ms)
 * links without loss, node and store defaults, seed 1. */
void dk_sim_cluster_config_init (DkSimClusterConfig *config);

/* Build the cluster on QUEUE (borrowed; it must outlive the cluster).
 * Every node starts up.  FAULT_LOG (may be NULL) receives one line per
 * injected fault, stamped with the virtual time. */
DkSimCluster *dk_sim_cluster_new (const DkSimClusterConfig *config, DkEventQueue *queue,
                                  FILE *fault_log, GError **error);
void dk_sim_cluster_free (DkSimCluster *cluster);

void dk_sim_cluster_set_client_handler (DkSimCluster *cluster, DkClientDeliverFunc func,
                                        gpointer user_data);

/* Lines of node logs at or above LEVEL (DK_LOG_ERROR is the most severe)
 * go to LOG, stamped with the virtual time; NULL silences them. */
void dk_sim_cluster_set_node_log (DkSimCluster *cluster, FILE *log, DkLogLevel level);

/* Record the datagrams TRACE selects (trace.h; borrowed, it must outlive
 * the cluster's traffic; NULL: stop recording). */
struct _DkSimTrace;
void dk_sim_cluster_set_trace (DkSimCluster *cluster, struct _DkSimTrace *trace);

/* Send a datagram from client CLIENT to endpoint TO through the network. */
void dk_sim_cluster_client_send (DkSimCluster *cluster, guint client, DkEndpoint to,
                                 const guint8 *data, gsize len);

/* ---- membership and placement ------------------------------------------ */

/* Node ids run 1..count: the initial nodes and room for later joins. */
guint dk_sim_cluster_node_count (const DkSimCluster *cluster);
const DkRing *dk_sim_cluster_ring (const DkSimCluster *cluster);

/* Node ID's name ("n3") or datacenter ("dc2", "" without datacenters). */
const char *dk_sim_cluster_node_name (const DkSimCluster *cluster, DkNodeId id);
const char *dk_sim_cluster_node_datacenter (const DkSimCluster *cluster, DkNodeId id);

/* The id of the node called NAME ("n3"), or DK_NODE_NONE. */
DkNodeId dk_sim_cluster_node_by_name (const DkSimCluster *cluster, const char *name);

/* The running node ID, or NULL while it is crashed (or not a member). */
DkNode *dk_sim_cluster_node (DkSimCluster *cluster, DkNodeId id);
/* Node ID's store; NULL for an id that never joined or has left. */
DkStore *dk_sim_cluster_store (DkSimCluster *cluster, DkNodeId id);
gboolean dk_sim_cluster_node_is_up (const DkSimCluster *cluster, DkNodeId id);

/* The home node of client CLIENT. */
DkNodeId dk_sim_cluster_client_home (const DkSimCluster *cluster, guint client);

/* TRUE when a datagram from node FROM may now reach node TO (both ids):
 * no partition or drop between them and TO is up. */
gboolean dk_sim_cluster_reachable (const DkSimCluster *cluster, DkNodeId from, DkNodeId to);

/* ---- faults (each logged in one line) ------------------------------------ */

/* Put each group of GROUPS (a GPtrArray of GArray of DkNodeId) on its own
 * side; nodes in no group share one more side.  Replaces any partition. */
void dk_sim_cluster_partition (DkSimCluster *cluster, const GPtrArray *groups);

/* Block datagrams from FROM to TO (one way). */
void dk_sim_cluster_drop (DkSimCluster *cluster, DkNodeId from, DkNodeId to);

typedef enum
{
  DK_SIDE_NONE,      /* no partition */
  DK_SIDE_MINORITY,  /* a side with fewer nodes than the largest */
  DK_SIDE_MAJORITY   /* a largest side (every side, when they tie) */
} DkPartitionSide;

/* Which side of the current partition NODE is on. */
DkPartitionSide dk_sim_cluster_partition_side (const DkSimCluster *cluster, DkNodeId node);

/* Remove every partition and one-way drop. */
void dk_sim_cluster_heal (DkSimCluster *cluster);

void dk_sim_cluster_crash (DkSimCluster *cluster, DkNodeId id);
gboolean dk_sim_cluster_restart (DkSimCluster *cluster, DkNodeId id, GError **error);
gboolean dk_sim_cluster_wipe (DkSimCluster *cluster, DkNodeId id, GError **error);

/* Change the default link model's latency, loss or duplication. */
void dk_sim_cluster_set_latency (DkSimCluster *cluster, const DkDist *latency);
void dk_sim_cluster_set_loss (DkSimCluster *cluster, double loss);
void dk_sim_cluster_set_dup (DkSimCluster *cluster, double dup);

/* Override the model between two nodes, or between two datacenters
 * (1-based dc numbers; A == B is the model inside one datacenter). */
void dk_sim_cluster_set_link (DkSimCluster *cluster, DkNodeId a, DkNodeId b,
                              const DkLinkModel *model);
void dk_sim_cluster_set_dc_link (DkSimCluster *cluster, guint dc_a, guint dc_b,
                                 const DkLinkModel *model);

/* ---- membership change (each logged in one line) ------------------------ */

/* How often a leaving node is checked for having handed everything off. */
#define DK_SIM_LEAVE_POLL_US 50000

/* Start node ID (<= max_nodes, not a member) with an empty store as a new
 * member; it claims JOINING and gossip spreads it.  A node that left
 * before joins again this way, as a new incarnation.  A member still
 * leaving has its leave called off instead: it restarts as a joining
 * member on its own store.  Needs ring=random. */
gboolean dk_sim_cluster_join (DkSimCluster *cluster, DkNodeId id, GError **error);

/* Tell member ID to leave: it drops out of the operator's ring at once and
 * hands every key to its replicas; once they all hold them and a peer has
 * acknowledged the leave it stops and its store is discarded.  It may
 * crash and restart meanwhile (it goes on leaving); one that is down when
 * told leaves when it restarts. */
gboolean dk_sim_cluster_leave (DkSimCluster *cluster, DkNodeId id, GError **error);

/* Nodes told to leave that have not left yet. */
guint dk_sim_cluster_leaving (const DkSimCluster *cluster);

/* When the last fault ended (virtual time), or -1 when none did: a heal
 * of a cut, a restart (a wipe of a running node restarts it at once), a
 * join, a leaver gone at last, the network's latency, loss or
 * duplication set back to the configured ones. */
gint64 dk_sim_cluster_fault_ended_us (const DkSimCluster *cluster);

/* The last time (virtual) a node repaired, or -1: handed a hint back (or
 * rerouted it), pushed or pulled a key by anti-entropy, streamed or swept
 * a key to a replica.  Exact to the event, not sampled. */
gint64 dk_sim_cluster_last_repair_us (const DkSimCluster *cluster);

/* TRUE while ID is a member (joined, and not yet gone after a leave). */
gboolean dk_sim_cluster_is_member (const DkSimCluster *cluster, DkNodeId id);

/* Members of the operator's ring now (leaving nodes excluded). */
guint dk_sim_cluster_members (const DkSimCluster *cluster);

/* ---- observation --------------------------------------------------------- */

const DkNetStats *dk_sim_cluster_net_stats (const DkSimCluster *cluster);

/* The sum of every node's counters (crashed nodes' counters are kept). */
void dk_sim_cluster_node_stats (const DkSimCluster *cluster, DkNodeStats *total);

/* Nodes up now. */
guint dk_sim_cluster_nodes_up (const DkSimCluster *cluster);

/* The member names and places every node shares (member_table.h). */
DkMemberTable *dk_sim_cluster_member_table (const DkSimCluster *cluster);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkSimCluster, dk_sim_cluster_free)

G_END_DECLS

#endif /* DK_SIM_CLUSTER_H */
