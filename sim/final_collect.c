/* final_collect.c — a final state from stores and a ring; see
 * final_collect.h. */
#include "final_collect.h"

#include <string.h>

typedef struct
{
  DkNodeId      node;
  DkFinalState *final;
} CollectContext;

/* Keys up to this long are looked up from the stack, without a copy. */
enum { KEY_ON_STACK = 256 };

static gboolean
collect_key (DkToken token, GBytes *key, guint64 digest, const GPtrArray *siblings,
             gpointer user_data)
{
  (void) token;
  (void) digest;
  CollectContext *context = user_data;
  gsize len;
  const char *bytes = g_bytes_get_data (key, &len);
  char stack[KEY_ON_STACK];
  g_autofree char *heap = len < sizeof stack ? NULL : g_malloc (len + 1);
  char *name = heap != NULL ? heap : stack;
  memcpy (name, bytes, len);
  name[len] = '\0';
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

struct _DkCollectShare
{
  GMutex    lock;
  DkStore **stores;   /* [node - 1] */
  guint     low;      /* the next node from below */
  guint     high;     /* the next node from above; none left when low > high */
  gboolean  failed;
};

DkCollectShare *
dk_collect_share_new (DkStore *const *stores, guint n)
{
  g_return_val_if_fail (stores != NULL || n == 0, NULL);
  DkCollectShare *share = g_new0 (DkCollectShare, 1);
  g_mutex_init (&share->lock);
  share->stores = g_memdup2 (stores, n * sizeof *stores);
  share->low = 1;
  share->high = n;
  return share;
}

void
dk_collect_share_free (DkCollectShare *share)
{
  if (share == NULL)
    return;
  g_mutex_clear (&share->lock);
  g_free (share->stores);
  g_free (share);
}

/* The next node to collect from its end, or DK_NODE_NONE when done. */
static DkNodeId
take_node (DkCollectShare *share, gboolean from_top)
{
  g_mutex_lock (&share->lock);
  DkNodeId node = DK_NODE_NONE;
  if (!share->failed && share->low <= share->high)
    node = from_top ? share->high-- : share->low++;
  g_mutex_unlock (&share->lock);
  return node;
}

gboolean
dk_final_state_collect_shared (DkFinalState *final, DkCollectShare *share,
                               gboolean from_top, GError **error)
{
  g_return_val_if_fail (final != NULL && share != NULL, FALSE);
  DkNodeId node;
  while ((node = take_node (share, from_top)) != DK_NODE_NONE)
    {
      DkStore *store = share->stores[node - 1];
      if (store != NULL && !dk_final_state_collect_store (final, node, store, error))
        {
          g_mutex_lock (&share->lock);
          share->failed = TRUE;
          g_mutex_unlock (&share->lock);
          return FALSE;
        }
    }
  return TRUE;
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
  /* Each key's list is its own: the order they are set in cannot matter. */
  g_autofree const char **keys = dk_final_state_keys_unordered (final, &n_keys);
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
