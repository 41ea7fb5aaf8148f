/* final_collect.h — build a DkFinalState from node stores and a ring.
 *
 * The one way a run's final state is gathered, in the simulator (each
 * node's in-process store, sim/runner.c) and on a real cluster (each
 * dynkvd's DIR/node.db once it stopped, sim/dynkv_cluster.c), so both
 * worlds write the same final.csv and the checkers judge them alike.
 */
#ifndef DK_FINAL_COLLECT_H
#define DK_FINAL_COLLECT_H

#include <glib.h>
#include "final_state.h"
#include "history.h"
#include "ring.h"
#include "store.h"

G_BEGIN_DECLS

/* Record in FINAL every key STORE holds, as node NODE's reconciled set.
 * FALSE with ERROR when the store cannot be read. */
gboolean dk_final_state_collect_store (DkFinalState *final, DkNodeId node, DkStore *store,
                                       GError **error);

/* The stores of nodes 1..N for two threads to collect at once, each into
 * its own state: one takes them from node 1 up, the other from node N
 * down, until they meet.  Merging the second state into the first
 * (dk_final_state_merge) gives what one thread collecting every store in
 * node order gives. */
typedef struct _DkCollectShare DkCollectShare;

/* STORES[i] is node i + 1's store (NULL: skipped); the array is copied,
 * the stores are not (they must stay open until both threads are done).
 * With DISCARD, each store's rows in memory are freed once collected
 * (dk_store_discard_memory_rows), by the thread that collected it. */
DkCollectShare *dk_collect_share_new (DkStore *const *stores, guint n, gboolean discard);
void dk_collect_share_free (DkCollectShare *share);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkCollectShare, dk_collect_share_free)

/* Collect into FINAL the stores of SHARE not yet taken, from the top when
 * FROM_TOP, until none is left.  FALSE with ERROR when a store cannot be
 * read (the other thread then stops at its next store). */
gboolean dk_final_state_collect_shared (DkFinalState *final, DkCollectShare *share,
                                        gboolean from_top, GError **error);

/* Give every key FINAL holds, and every key HISTORY acknowledged a write
 * of (held nowhere, its replicas still should agree), its first N nodes
 * of RING's preference list as replicas. */
void dk_final_state_set_ring_replicas (DkFinalState *final, const DkRing *ring, guint n,
                                       const DkHistory *history);

G_END_DECLS

#endif /* DK_FINAL_COLLECT_H */
