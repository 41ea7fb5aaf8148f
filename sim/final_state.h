/* final_state.h — what every replica holds once a run has settled.
 *
 * DESIGN.md: "nothing is measured by peeking at internal state except
 * end-of-run replica convergence".  After the settle phase the runner
 * records, for each key, the reconciled sibling set every node holds (each
 * version's value id, dot, context and tombstone flag; how many are
 * values; the set's digest) and the key's preference list.  The checkers
 * (checkers.h) use it to find lost writes and divergent keys; the runner
 * writes it out as final.csv.  Pure data: everything is copied in, and
 * every listing is sorted so no hash order leaks out.
 */
#ifndef DK_FINAL_STATE_H
#define DK_FINAL_STATE_H

#include <glib.h>
#include "types.h"
#include "version.h"

G_BEGIN_DECLS

typedef struct _DkFinalState DkFinalState;

DkFinalState *dk_final_state_new (void);
void dk_final_state_free (DkFinalState *state);

/* One version a node holds. */
typedef struct
{
  guint64   value;     /* value id (history.h's dk_value_id); DK_VALUE_UNKNOWN for a tombstone */
  DkDot     dot;
  DkVclock *context;   /* owned by the state */
  gboolean  tombstone;
} DkHeld;

/* Record that NODE holds KEY as the reconciled sibling set SIBLINGS (a
 * GPtrArray of DkVersion*; read, not kept).  Recording the same KEY and
 * NODE again replaces the earlier record. */
void dk_final_state_add_siblings (DkFinalState *state, const char *key,
                                  DkNodeId node, const GPtrArray *siblings);

/* Record KEY's preference-list replicas: the N NODES (copied) that should
 * hold it.  Replaces an earlier list for KEY. */
void dk_final_state_set_replicas (DkFinalState *state, const char *key,
                                  const DkNodeId *nodes, guint n);

/* What one node holds of one key. */
typedef struct
{
  DkNodeId      node;
  const DkHeld *versions;   /* N_VERSIONS, in the set's canonical order, tombstones included */
  guint         n_versions;
  guint         n_values;   /* of which values (not tombstones) */
  guint64       digest;     /* dk_siblings_digest of the set */
} DkHolding;

/* Every key recorded (held by some node or given replicas), sorted by
 * strcmp, as a NULL-terminated array.  Free the array with g_free; the
 * strings belong to the state. */
const char **dk_final_state_keys (const DkFinalState *state, guint *n_keys);

/* The same keys in no particular order, for work whose result cannot
 * depend on it (setting each key's preference list); cheaper than
 * sorting.  Free the array with g_free. */
const char **dk_final_state_keys_unordered (const DkFinalState *state, guint *n_keys);

/* KEY's holdings in ascending node order; NULL (*N_HOLDINGS 0) when none.
 * Valid until the state is next modified. */
const DkHolding *dk_final_state_holdings (const DkFinalState *state,
                                          const char *key, guint *n_holdings);

/* KEY's preference list as set, or NULL (*N_REPLICAS 0) when never set. */
const DkNodeId *dk_final_state_replicas (const DkFinalState *state,
                                         const char *key, guint *n_replicas);

/* TRUE when NODE is on KEY's recorded preference list; every node is when
 * no list was recorded. */
gboolean dk_final_state_is_replica (const DkFinalState *state, const char *key, DkNodeId node);

/* Everything recorded of one key, as dk_final_state_holdings and
 * dk_final_state_replicas give it (pointers into the state, valid until
 * it is next modified). */
typedef struct
{
  const char      *key;
  const DkHolding *holdings;   /* ascending node; NULL when none */
  guint            n_holdings;
  const DkNodeId  *replicas;   /* NULL when never set */
  guint            n_replicas;
} DkFinalKey;

/* KEY's record into *OUT; FALSE (and *OUT empty but for the key) when
 * nothing was recorded of KEY. */
gboolean dk_final_state_lookup (const DkFinalState *state, const char *key, DkFinalKey *out);

/* Every key's record, sorted by key (strcmp); free the array with g_free. */
DkFinalKey *dk_final_state_sorted (const DkFinalState *state, guint *n_keys);

/* TRUE when NODE is on the recorded preference list of KEY (every node is
 * when none was recorded). */
gboolean dk_final_key_is_replica (const DkFinalKey *key, DkNodeId node);

/* Move everything FROM records into STATE, as if each of FROM's records
 * had been added to STATE after STATE's own (a holding of a node STATE
 * also has replaces it, a preference list set in FROM replaces STATE's);
 * frees FROM.  Lets two threads each collect part of the nodes. */
void dk_final_state_merge (DkFinalState *state, DkFinalState *from);

struct _DkHistory;

/* Append the CSV form to OUT (header included), one row per version held:
 *
 *   node,key,dot,context,value,tombstone,replica
 *
 * node is the node id; dot "ACTOR:COUNTER"; context in
 * dk_vclock_to_string form; value the value id (a tombstone's resolved
 * through HISTORY, which may be NULL, by its delete's dot; '?' when it
 * cannot be told); tombstone 0 or 1; replica 1 when the node is on the
 * key's recorded preference list (always 1 when none was recorded).  A
 * preference-list replica that holds nothing of the key gets one row with
 * only node, key and replica (1) filled in, first among the key's rows;
 * the other rows go by key (strcmp), then node, then the set's canonical
 * order. */
void dk_final_state_to_csv (const DkFinalState *state, const struct _DkHistory *history,
                            GString *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkFinalState, dk_final_state_free)

G_END_DECLS

#endif /* DK_FINAL_STATE_H */
