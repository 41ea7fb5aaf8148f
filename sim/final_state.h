/* final_state.h — what every replica holds once a run has settled.
 *
 * DESIGN.md: "nothing is measured by peeking at internal state except
 * end-of-run replica convergence".  After the settle phase the runner
 * records, for each key, the reconciled sibling set every node holds (its
 * clocks, tombstones included, how many are values, and its digest) and
 * the key's preference list.  The checkers (checkers.h) use it to find
 * lost writes and divergent keys.  Pure data: clocks and strings are
 * copied in, and every listing is sorted so no hash order leaks out.
 */
#ifndef DK_FINAL_STATE_H
#define DK_FINAL_STATE_H

#include <glib.h>
#include "types.h"
#include "vclock.h"

G_BEGIN_DECLS

typedef struct _DkFinalState DkFinalState;

DkFinalState *dk_final_state_new (void);
void dk_final_state_free (DkFinalState *state);

/* Record that NODE holds KEY as the reconciled sibling set whose clocks are
 * the N_CLOCKS CLOCKS (copied; tombstones included), N_VALUES of them
 * values, with digest DIGEST (dk_siblings_digest of the set).  Recording
 * the same KEY and NODE again replaces the earlier record. */
void dk_final_state_add (DkFinalState *state, const char *key, DkNodeId node,
                         const DkVclock *const *clocks, guint n_clocks,
                         guint n_values, guint64 digest);

/* dk_final_state_add for a reconciled sibling set (GPtrArray of DkVersion*,
 * see vclock.h), taking clocks, value count and digest from it. */
void dk_final_state_add_siblings (DkFinalState *state, const char *key,
                                  DkNodeId node, const GPtrArray *siblings);

/* Record KEY's preference-list replicas: the N NODES (copied) that should
 * hold it.  Replaces an earlier list for KEY. */
void dk_final_state_set_replicas (DkFinalState *state, const char *key,
                                  const DkNodeId *nodes, guint n);

/* What one node holds of one key. */
typedef struct
{
  DkNodeId   node;
  GPtrArray *clocks;   /* DkVclock*, tombstones included */
  guint      n_values; /* of which values (not tombstones) */
  guint64    digest;
} DkHolding;

/* Every key recorded (held by some node or given replicas), sorted by
 * strcmp, as a NULL-terminated array.  Free the array with g_free; the
 * strings belong to the state. */
const char **dk_final_state_keys (const DkFinalState *state, guint *n_keys);

/* KEY's holdings in ascending node order; NULL (*N_HOLDINGS 0) when none.
 * Valid until the state is next modified. */
const DkHolding *dk_final_state_holdings (const DkFinalState *state,
                                          const char *key, guint *n_holdings);

/* KEY's preference list as set, or NULL (*N_REPLICAS 0) when never set. */
const DkNodeId *dk_final_state_replicas (const DkFinalState *state,
                                         const char *key, guint *n_replicas);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkFinalState, dk_final_state_free)

G_END_DECLS

#endif /* DK_FINAL_STATE_H */
