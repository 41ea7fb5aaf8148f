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

/* Give every key FINAL holds, and every key HISTORY acknowledged a write
 * of (held nowhere, its replicas still should agree), its first N nodes
 * of RING's preference list as replicas. */
void dk_final_state_set_ring_replicas (DkFinalState *final, const DkRing *ring, guint n,
                                       const DkHistory *history);

G_END_DECLS

#endif /* DK_FINAL_COLLECT_H */
