/* final_state.c — what every replica holds after settle; see final_state.h.
 *
 * A hash table maps each key to its record: the holdings kept sorted by
 * node (few per key, so insertion is a short linear walk) and the
 * preference list.  Listings sort the keys, never exposing hash order.
 */
#include <stdlib.h>
#include <string.h>
#include "final_state.h"
#include "history.h"

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
held_clear (gpointer data)
{
  g_clear_pointer (&((DkHeld *) data)->context, dk_vclock_free);
}

static void
holding_clear (gpointer data)
{
  DkHolding *holding = data;
  g_clear_pointer (&holding->versions, g_array_unref);
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
dk_final_state_add_siblings (DkFinalState *state, const char *key, DkNodeId node,
                             const GPtrArray *siblings)
{
  g_return_if_fail (state != NULL && key != NULL && node != DK_NODE_NONE && siblings != NULL);
  KeyRecord *record = key_record (state, key);
  DkHolding holding = { node, g_array_sized_new (FALSE, TRUE, sizeof (DkHeld), siblings->len),
                        0, dk_siblings_digest (siblings) };
  g_array_set_clear_func (holding.versions, held_clear);
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      DkHeld held = {
        .value = version->tombstone ? DK_VALUE_UNKNOWN : dk_value_id (version->value),
        .dot = version->dot,
        .context = dk_vclock_copy (version->context),
        .tombstone = version->tombstone,
      };
      g_array_append_val (holding.versions, held);
      holding.n_values += !version->tombstone;
    }
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

/* TRUE when NODE is on LIST (N entries); every node is when LIST is NULL. */
static gboolean
on_list (const DkNodeId *list, guint n, DkNodeId node)
{
  if (list == NULL)
    return TRUE;
  for (guint i = 0; i < n; i++)
    if (list[i] == node)
      return TRUE;
  return FALSE;
}

gboolean
dk_final_state_is_replica (const DkFinalState *state, const char *key, DkNodeId node)
{
  guint n_list;
  const DkNodeId *list = dk_final_state_replicas (state, key, &n_list);
  return on_list (list, n_list, node);
}

void
dk_final_state_to_csv (const DkFinalState *state, const DkHistory *history, GString *out)
{
  g_return_if_fail (state != NULL && out != NULL);
  g_string_append (out, "node,key,dot,context,value,tombstone,replica\n");
  guint n_keys;
  g_autofree const char **keys = dk_final_state_keys (state, &n_keys);
  for (guint k = 0; k < n_keys; k++)
    {
      guint n_holdings, n_list;
      const DkHolding *holdings = dk_final_state_holdings (state, keys[k], &n_holdings);
      const DkNodeId *list = dk_final_state_replicas (state, keys[k], &n_list);
      g_autofree char *key_field = NULL;
      if (strpbrk (keys[k], ",\"\r\n") != NULL)
        {
          g_auto (GStrv) parts = g_strsplit (keys[k], "\"", -1);
          g_autofree char *doubled = g_strjoinv ("\"\"", parts);
          key_field = g_strdup_printf ("\"%s\"", doubled);
        }
      /* A replica that holds nothing still gets a row (empty but for
       * node, key and replica), so the preference list can be rebuilt. */
      for (guint r = 0; r < n_list; r++)
        {
          gboolean holds = FALSE;
          for (guint h = 0; h < n_holdings && !holds; h++)
            holds = holdings[h].node == list[r] && holdings[h].versions->len > 0;
          if (!holds)
            g_string_append_printf (out, "%u,%s,,,,,1\n", list[r],
                                    key_field != NULL ? key_field : keys[k]);
        }
      for (guint h = 0; h < n_holdings; h++)
        for (guint v = 0; v < holdings[h].versions->len; v++)
          {
            const DkHeld *held = &g_array_index (holdings[h].versions, DkHeld, v);
            char dot[DK_DOT_STRING_SIZE];
            g_string_append_printf (out, "%u,%s,%s,\"", holdings[h].node,
                                    key_field != NULL ? key_field : keys[k],
                                    dk_dot_format (held->dot, dot));
            dk_vclock_append_string (held->context, out);
            g_string_append (out, "\",");
            guint64 value = held->value;
            if (held->tombstone && history != NULL)
              value = dk_history_write_of_dot (history, held->dot);
            if (value == DK_VALUE_UNKNOWN)
              g_string_append_c (out, '?');
            else
              g_string_append_printf (out, "%" G_GUINT64_FORMAT, value);
            g_string_append_printf (out, ",%d,%d\n", held->tombstone ? 1 : 0,
                                    on_list (list, n_list, holdings[h].node) ? 1 : 0);
          }
    }
}
