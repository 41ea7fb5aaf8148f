/* sim_harness.h — a simulated cluster and one client, for the Check tests
 * that drive real nodes through the simulator (check_node.c,
 * check_wedge.c, check_requests_once.c, check_coordinator_versions.c).
 *
 * A harness owns an event queue and a DkSimCluster built on it, and is
 * client 0 of that cluster: every datagram a node sends the client is
 * decoded and kept, in arrival order, and requests are encoded and sent
 * from it.  Time only moves in th_run_ms.  Failures are Check assertions
 * (fork mode isolates them), so no function here returns an error.
 *
 * The struct is open: tests reach harness->cluster and harness->queue
 * directly for faults and observation, and may set the fields marked
 * "set by the test" right after th_new, before any time runs. */
#ifndef DK_TEST_SIM_HARNESS_H
#define DK_TEST_SIM_HARNESS_H

#include <glib.h>
#include "cluster.h"
#include "wire.h"

typedef struct
{
  DkEventQueue *queue;
  DkSimCluster *cluster;
  GPtrArray    *replies;        /* DkWireMessage* (CLIENT_REPLY), in arrival order */
  guint64       client_id;      /* set by the test: the client id requests carry (0) */
  guint64       next_id;        /* for tests that number their requests: starts at 1 */
  const guint8 *reply_key;      /* set by the test: when non-NULL, every reply must be
                                 * signed with this key (borrowed) */
  gsize         reply_key_len;
} ThHarness;

/* Fill CONFIG with the cluster most tests start from: the simulator's
 * defaults with SEED, 5 nodes, 1 client and a 200 ms request timeout. */
void th_config_init (DkSimClusterConfig *config, guint64 seed);

/* Build the cluster of CONFIG (copied) on a new queue; asserts it builds.
 * Free with th_free. */
ThHarness *th_new (const DkSimClusterConfig *config);

/* th_new with th_config_init's cluster for SEED. */
ThHarness *th_new_for_seed (guint64 seed);

/* Free the cluster, the queue and every reply kept (pointers into them
 * go with it). */
void th_free (ThHarness *harness);

/* Run the event queue MS milliseconds of virtual time past now. */
void th_run_ms (ThHarness *harness, gint64 ms);

/* Fill LIST with KEY's preference list (N = 3); asserts it has three
 * nodes. */
void th_preference (ThHarness *harness, const char *key, DkNodeId list[3]);

/* A node of 1..5 that is not on KEY's preference list. */
DkNodeId th_outsider (ThHarness *harness, const char *key);

/* A new client request (free it with dk_wire_message_free): header id
 * and client request id ID, the harness's client id, KEY, VALUE and
 * CONTEXT (each may be NULL but KEY; copied).  Quorums and offsets are
 * left at 0 for the caller to set. */
DkWireMessage *th_request_new (ThHarness *harness, DkWireType type, guint64 id, const char *key,
                               const char *value, const DkVclock *context);

/* Encode REQUEST (asserts it encodes) and send it from the client to TO. */
void th_send (ThHarness *harness, DkNodeId to, const DkWireMessage *request);

/* Send DATAGRAM, as it is, from the client to TO. */
void th_send_datagram (ThHarness *harness, DkNodeId to, const GByteArray *datagram);

/* th_request_new with R = W = QUORUM (0: the node's default), sent to TO. */
void th_send_request (ThHarness *harness, DkNodeId to, DkWireType type, guint64 id,
                      const char *key, const char *value, const DkVclock *context,
                      guint8 quorum);

/* Up to MAX of the replies to client request ID into OUT, in arrival
 * order; returns how many.  They belong to the harness. */
guint th_replies_to (ThHarness *harness, guint64 id, DkWireClientReply **out, guint max);

/* The first reply to client request ID, or NULL. */
DkWireClientReply *th_reply_to (ThHarness *harness, guint64 id);

/* How many of REPLY's siblings are values rather than tombstones. */
guint th_count_live_values (const DkWireClientReply *reply);

/* TRUE when one of REPLY's live siblings is the string VALUE. */
gboolean th_holds_value (const DkWireClientReply *reply, const char *value);

/* The versions node NODE stores for KEY (a new array); asserts the store
 * answers. */
GPtrArray *th_stored (ThHarness *harness, DkNodeId node, const char *key);

/* Node ID's counters (it must be up), and the sum over every node. */
const DkNodeStats *th_node_stats (ThHarness *harness, DkNodeId id);
DkNodeStats th_cluster_stats (ThHarness *harness);

#endif /* DK_TEST_SIM_HARNESS_H */
