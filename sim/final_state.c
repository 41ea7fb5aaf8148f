/* final_state.c — what every replica holds after settle; see final_state.h.
 *
 * A hash table maps each key to its record: the holdings kept sorted by
 * node (few per key, so insertion is a short linear walk) and the
 * preference list.  Listings sort the keys, never exposing hash order.
 */
#include <stdlib.h>
#include <string.h>
#include "final_state.h"

typedef struct
{
  GArray *holdings; /* DkHolding, ascending node */
  GArray *replicas; /* DkNodeId; NULL until set */
} KeyRecord;

struct _DkFinalState
{
  GHashTable *keys; /* char* -> KeyRecord* */
};

static void
holding_clear (gpointer data)
{
  DkHolding *holding = data;
  g_clear_pointer (&holding->clocks, g_ptr_array_unref);
}

static void
key_record_free (gpointer data)
{
  KeyRecord *record = data;
  g_array_unref (record->holdings);
  g_clear_pointer (&record->replicas, g_array_unref);
  g_free (record);
}

DkFinalState *
dk_final_state_new (void)
{
  DkFinalState *state = g_new0 (DkFinalState, 1);
  state->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       key_record_free);
  return state;
}

void
dk_final_state_free (DkFinalState *state)
{
  if (state == NULL)
    return;
  g_hash_table_unref (state->keys);
  g_free (state);
}

static KeyRecord *
key_record (DkFinalState *state, const char *key)
{
  KeyRecord *record = g_hash_table_lookup (state->keys, key);
  if (record == NULL)
    {
      record = g_new0 (KeyRecord, 1);
      record->holdings = g_array_new (FALSE, TRUE, sizeof (DkHolding));
      g_array_set_clear_func (record->holdings, holding_clear);
      g_hash_table_insert (state->keys, g_strdup (key), record);
    }
  return record;
}

void
dk_final_state_add (DkFinalState *state, const char *key, DkNodeId node,
                    const DkVclock *const *clocks, guint n_clocks,
                    guint n_values, guint64 digest)
{
  g_return_if_fail (state != NULL && key != NULL && node != DK_NODE_NONE);
  g_return_if_fail (n_values <= n_clocks && (clocks != NULL || n_clocks == 0));
  KeyRecord *record = key_record (state, key);
  DkHolding holding = { node, g_ptr_array_new_full (n_clocks, (GDestroyNotify) dk_vclock_free),
                        n_values, digest };
  for (guint i = 0; i < n_clocks; i++)
    g_ptr_array_add (holding.clocks, dk_vclock_copy (clocks[i]));
  guint at = 0;
  while (at < record->holdings->len
         && g_array_index (record->holdings, DkHolding, at).node < node)
    at++;
  if (at < record->holdings->len
      && g_array_index (record->holdings, DkHolding, at).node == node)
    g_array_remove_index (record->holdings, at);
  g_array_insert_val (record->holdings, at, holding);
}

void
dk_final_state_add_siblings (DkFinalState *state, const char *key, DkNodeId node,
                             const GPtrArray *siblings)
{
  g_return_if_fail (siblings != NULL);
  g_autofree const DkVclock **clocks = g_new (const DkVclock *, siblings->len + 1);
  guint n_values = 0;
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      clocks[i] = version->clock;
      n_values += version->tombstone ? 0 : 1;
    }
  dk_final_state_add (state, key, node, clocks, siblings->len, n_values,
                      dk_siblings_digest (siblings));
}

void
dk_final_state_set_replicas (DkFinalState *state, const char *key,
                             const DkNodeId *nodes, guint n)
{
  g_return_if_fail (state != NULL && key != NULL && (nodes != NULL || n == 0));
  KeyRecord *record = key_record (state, key);
  g_clear_pointer (&record->replicas, g_array_unref);
  record->replicas = g_array_sized_new (FALSE, FALSE, sizeof (DkNodeId), n);
  g_array_append_vals (record->replicas, nodes, n);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

const char **
dk_final_state_keys (const DkFinalState *state, guint *n_keys)
{
  g_return_val_if_fail (state != NULL, NULL);
  guint n = 0;
  const char **keys = (const char **) g_hash_table_get_keys_as_array (state->keys, &n);
  qsort (keys, n, sizeof *keys, compare_strings);
  if (n_keys != NULL)
    *n_keys = n;
  return keys;
}

const DkHolding *
dk_final_state_holdings (const DkFinalState *state, const char *key,
                         guint *n_holdings)
{
  g_return_val_if_fail (state != NULL && key != NULL && n_holdings != NULL, NULL);
  const KeyRecord *record = g_hash_table_lookup (state->keys, key);
  *n_holdings = record != NULL ? record->holdings->len : 0;
  return *n_holdings > 0 ? (const DkHolding *) record->holdings->data : NULL;
}

const DkNodeId *
dk_final_state_replicas (const DkFinalState *state, const char *key,
                         guint *n_replicas)
{
  g_return_val_if_fail (state != NULL && key != NULL && n_replicas != NULL, NULL);
  const KeyRecord *record = g_hash_table_lookup (state->keys, key);
  if (record == NULL || record->replicas == NULL)
    {
      *n_replicas = 0;
      return NULL;
    }
  *n_replicas = record->replicas->len;
  return (const DkNodeId *) record->replicas->data;
}
