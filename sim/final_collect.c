/* final_collect.c — a final state from stores and a ring; see
 * final_collect.h. */
#include "final_collect.h"

#include <string.h>

typedef struct
{
  DkNodeId      node;
  DkFinalState *final;
} CollectContext;

static gboolean
collect_key (DkToken token, GBytes *key, guint64 digest, const GPtrArray *siblings,
             gpointer user_data)
{
  (void) token;
  (void) digest;
  CollectContext *context = user_data;
  gsize len;
  const char *bytes = g_bytes_get_data (key, &len);
  g_autofree char *name = g_strndup (bytes, len);
  dk_final_state_add_siblings (context->final, name, context->node, siblings);
  return TRUE;
}

gboolean
dk_final_state_collect_store (DkFinalState *final, DkNodeId node, DkStore *store,
                              GError **error)
{
  /* One walk per store, each set read with its row. */
  CollectContext context = { node, final };
  return dk_store_scan_sets (store, 0, 0, collect_key, &context, error);
}

static void
set_replicas (DkFinalState *final, const DkRing *ring, guint n, const char *key)
{
  DkNodeId list[DK_RING_MAX_REPLICAS];
  guint count = dk_ring_preference_list (ring, dk_ring_key_token (key, strlen (key)),
                                         MIN (n, DK_RING_MAX_REPLICAS), list);
  dk_final_state_set_replicas (final, key, list, count);
}

void
dk_final_state_set_ring_replicas (DkFinalState *final, const DkRing *ring, guint n,
                                  const DkHistory *history)
{
  guint n_keys;
  g_autofree const char **keys = dk_final_state_keys (final, &n_keys);
  for (guint i = 0; i < n_keys; i++)
    set_replicas (final, ring, n, keys[i]);
  /* Keys written but held nowhere still have replicas that should agree. */
  for (guint64 op = 0; op < dk_history_len (history); op++)
    {
      const DkOp *record = dk_history_get (history, op);
      if (record->kind != DK_OP_GET && record->outcome == DK_OUTCOME_OK
          && dk_final_state_replicas (final, record->key, &n_keys) == NULL)
        set_replicas (final, ring, n, record->key);
    }
}
