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

/* The next nodes to take are claimed with one compare-and-swap on both
 * ends packed in a word (atomics, not a GMutex: ThreadSanitizer sees
 * these, and a claim is a few instructions). */
struct _DkCollectShare
{
  DkStore **stores;   /* [node - 1] */
  gboolean  discard;  /* free each store's rows once collected */
  guint64   next;     /* the next node from below in the low 32 bits, from
                       * above in the high ones; none left when low > high */
  gint      failed;
};

static guint64
pack_ends (guint32 low, guint32 high)
{
  return (guint64) high << 32 | low;
}

DkCollectShare *
dk_collect_share_new (DkStore *const *stores, guint n, gboolean discard)
{
  g_return_val_if_fail (stores != NULL || n == 0, NULL);
  DkCollectShare *share = g_new0 (DkCollectShare, 1);
  share->stores = g_memdup2 (stores, n * sizeof *stores);
  share->next = pack_ends (1, n);
  share->discard = discard;
  return share;
}

void
dk_collect_share_free (DkCollectShare *share)
{
  if (share == NULL)
    return;
  g_free (share->stores);
  g_free (share);
}

/* The next node to collect from its end, or DK_NODE_NONE when done. */
static DkNodeId
take_node (DkCollectShare *share, gboolean from_top)
{
  guint64 seen = __atomic_load_n (&share->next, __ATOMIC_ACQUIRE);
  while (!g_atomic_int_get (&share->failed))
    {
      guint32 low = (guint32) seen, high = (guint32) (seen >> 32);
      if (low > high)
        break;
      guint64 claimed = from_top ? pack_ends (low, high - 1) : pack_ends (low + 1, high);
      if (__atomic_compare_exchange_n (&share->next, &seen, claimed, FALSE,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return from_top ? high : low;
    }
  return DK_NODE_NONE;
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
      if (store == NULL)
        continue;
      if (!dk_final_state_collect_store (final, node, store, error))
        {
          g_atomic_int_set (&share->failed, TRUE);
          return FALSE;
        }
      if (share->discard)
        dk_store_discard_memory_rows (store);
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
