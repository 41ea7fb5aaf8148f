/* final_state.c — what every replica holds after settle; see final_state.h.
 *
 * A hash table maps each key to its record (the key's bytes at its end):
 * the holdings kept sorted by node (few per key, and nodes mostly come in
 * ascending order, so insertion is a short walk from the end) and the
 * preference list.  Every version held lies in blocks shared by all keys
 * (a holding's versions side by side in one block), so recording a
 * holding allocates nothing most of the time.  Listings sort the keys,
 * never exposing hash order.
 */
#include <stdlib.h>
#include <string.h>
#include "final_state.h"
#include "history.h"

typedef struct
{
  DkHolding *holdings;     /* N_HOLDINGS, ascending node */
  guint      n_holdings;
  guint      holdings_size;
  DkNodeId  *replicas;     /* N_REPLICAS; NULL until set */
  guint      n_replicas;
  char       key[];        /* NUL-terminated */
} KeyRecord;

/* Versions held, in blocks that never move (holdings point into them). */
typedef struct
{
  DkHeld *held;
  guint   used;
  guint   size;
} HeldBlock;

enum { HELD_BLOCK_SIZE = 4096 };

struct _DkFinalState
{
  GHashTable *keys;        /* KeyRecord.key -> KeyRecord* (owning) */
  GArray     *blocks;      /* HeldBlock, the last one being filled */
};

static void
key_record_free (gpointer data)
{
  KeyRecord *record = data;
  g_free (record->holdings);
  g_free (record->replicas);
  g_free (record);
}

static void
held_block_clear (gpointer data)
{
  HeldBlock *block = data;
  for (guint i = 0; i < block->used; i++)
    g_clear_pointer (&block->held[i].context, dk_vclock_free);
  g_free (block->held);
}

DkFinalState *
dk_final_state_new (void)
{
  DkFinalState *state = g_new0 (DkFinalState, 1);
  state->keys = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, key_record_free);
  state->blocks = g_array_new (FALSE, FALSE, sizeof (HeldBlock));
  g_array_set_clear_func (state->blocks, held_block_clear);
  return state;
}

void
dk_final_state_free (DkFinalState *state)
{
  if (state == NULL)
    return;
  g_hash_table_unref (state->keys);
  g_array_unref (state->blocks);
  g_free (state);
}

static KeyRecord *
key_record (DkFinalState *state, const char *key)
{
  KeyRecord *record = g_hash_table_lookup (state->keys, key);
  if (record == NULL)
    {
      gsize len = strlen (key);
      record = g_malloc0 (sizeof (KeyRecord) + len + 1);
      memcpy (record->key, key, len + 1);
      g_hash_table_insert (state->keys, record->key, record);
    }
  return record;
}

/* Room for N versions side by side. */
static DkHeld *
held_alloc (DkFinalState *state, guint n)
{
  HeldBlock *last = state->blocks->len > 0
                    ? &g_array_index (state->blocks, HeldBlock, state->blocks->len - 1) : NULL;
  if (last == NULL || last->size - last->used < n)
    {
      HeldBlock block = { NULL, 0, MAX (n, (guint) HELD_BLOCK_SIZE) };
      block.held = g_new (DkHeld, block.size);
      g_array_append_val (state->blocks, block);
      last = &g_array_index (state->blocks, HeldBlock, state->blocks->len - 1);
    }
  DkHeld *held = last->held + last->used;
  last->used += n;
  return held;
}

/* A replaced holding's versions stay in their block, their contexts freed. */
static void
holding_clear (DkHolding *holding)
{
  for (guint v = 0; v < holding->n_versions; v++)
    g_clear_pointer (&((DkHeld *) holding->versions)[v].context, dk_vclock_free);
}

/* Put HOLDING in RECORD at its node's place, replacing that node's. */
static void
insert_holding (KeyRecord *record, const DkHolding *holding)
{
  guint at = record->n_holdings;
  while (at > 0 && record->holdings[at - 1].node > holding->node)
    at--;
  if (at > 0 && record->holdings[at - 1].node == holding->node)
    {
      holding_clear (&record->holdings[at - 1]);
      record->holdings[at - 1] = *holding;
      return;
    }
  if (record->n_holdings == record->holdings_size)
    {
      record->holdings_size = MAX (4, 2 * record->holdings_size);
      record->holdings = g_renew (DkHolding, record->holdings, record->holdings_size);
    }
  memmove (record->holdings + at + 1, record->holdings + at,
           (record->n_holdings - at) * sizeof (DkHolding));
  record->holdings[at] = *holding;
  record->n_holdings++;
}

void
dk_final_state_add_siblings (DkFinalState *state, const char *key, DkNodeId node,
                             const GPtrArray *siblings)
{
  g_return_if_fail (state != NULL && key != NULL && node != DK_NODE_NONE && siblings != NULL);
  KeyRecord *record = key_record (state, key);
  DkHeld *versions = siblings->len > 0 ? held_alloc (state, siblings->len) : NULL;
  DkHolding holding = { node, versions, siblings->len, 0, dk_siblings_digest (siblings) };
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      versions[i] = (DkHeld) {
        .value = version->tombstone ? DK_VALUE_UNKNOWN : dk_value_id (version->value),
        .dot = version->dot,
        .context = dk_vclock_copy (version->context),
        .tombstone = version->tombstone,
      };
      holding.n_values += !version->tombstone;
    }
  insert_holding (record, &holding);
}

void
dk_final_state_set_replicas (DkFinalState *state, const char *key,
                             const DkNodeId *nodes, guint n)
{
  g_return_if_fail (state != NULL && key != NULL && (nodes != NULL || n == 0));
  KeyRecord *record = key_record (state, key);
  /* An empty list reads as none recorded (every node a replica). */
  g_free (record->replicas);
  record->replicas = n > 0 ? g_memdup2 (nodes, n * sizeof (DkNodeId)) : NULL;
  record->n_replicas = n;
}

void
dk_final_state_merge (DkFinalState *state, DkFinalState *from)
{
  g_return_if_fail (state != NULL && from != NULL);
  /* The blocks change hands: the holdings moved keep pointing into them. */
  g_array_append_vals (state->blocks, from->blocks->data, from->blocks->len);
  g_array_set_clear_func (from->blocks, NULL);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, from->keys);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      KeyRecord *moved = value;
      KeyRecord *record = g_hash_table_lookup (state->keys, moved->key);
      if (record == NULL)
        {
          g_hash_table_iter_steal (&iter);
          g_hash_table_insert (state->keys, moved->key, moved);
          continue;
        }
      for (guint h = 0; h < moved->n_holdings; h++)
        insert_holding (record, &moved->holdings[h]);
      moved->n_holdings = 0;
      if (moved->replicas != NULL)
        {
          g_free (record->replicas);
          record->replicas = g_steal_pointer (&moved->replicas);
          record->n_replicas = moved->n_replicas;
        }
    }
  dk_final_state_free (from);
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

const char **
dk_final_state_keys_unordered (const DkFinalState *state, guint *n_keys)
{
  g_return_val_if_fail (state != NULL, NULL);
  guint n = 0;
  const char **keys = (const char **) g_hash_table_get_keys_as_array (state->keys, &n);
  if (n_keys != NULL)
    *n_keys = n;
  return keys;
}

static void
record_view (const KeyRecord *record, DkFinalKey *out)
{
  *out = (DkFinalKey) {
    .key = record->key,
    .holdings = record->n_holdings > 0 ? record->holdings : NULL,
    .n_holdings = record->n_holdings,
    .replicas = record->replicas,
    .n_replicas = record->replicas != NULL ? record->n_replicas : 0,
  };
}

gboolean
dk_final_state_lookup (const DkFinalState *state, const char *key, DkFinalKey *out)
{
  g_return_val_if_fail (state != NULL && key != NULL && out != NULL, FALSE);
  const KeyRecord *record = g_hash_table_lookup (state->keys, key);
  if (record == NULL)
    {
      *out = (DkFinalKey) { .key = key };
      return FALSE;
    }
  record_view (record, out);
  return TRUE;
}

static int
compare_views (gconstpointer a, gconstpointer b)
{
  return strcmp (((const DkFinalKey *) a)->key, ((const DkFinalKey *) b)->key);
}

DkFinalKey *
dk_final_state_sorted (const DkFinalState *state, guint *n_keys)
{
  g_return_val_if_fail (state != NULL && n_keys != NULL, NULL);
  guint n = g_hash_table_size (state->keys), i = 0;
  DkFinalKey *views = g_new (DkFinalKey, MAX (n, 1));
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, state->keys);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    record_view (value, &views[i++]);
  qsort (views, n, sizeof *views, compare_views);
  *n_keys = n;
  return views;
}

const DkHolding *
dk_final_state_holdings (const DkFinalState *state, const char *key,
                         guint *n_holdings)
{
  g_return_val_if_fail (state != NULL && key != NULL && n_holdings != NULL, NULL);
  DkFinalKey view;
  dk_final_state_lookup (state, key, &view);
  *n_holdings = view.n_holdings;
  return view.holdings;
}

const DkNodeId *
dk_final_state_replicas (const DkFinalState *state, const char *key,
                         guint *n_replicas)
{
  g_return_val_if_fail (state != NULL && key != NULL && n_replicas != NULL, NULL);
  DkFinalKey view;
  dk_final_state_lookup (state, key, &view);
  *n_replicas = view.n_replicas;
  return view.replicas;
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
dk_final_key_is_replica (const DkFinalKey *key, DkNodeId node)
{
  g_return_val_if_fail (key != NULL, FALSE);
  return on_list (key->replicas, key->n_replicas, node);
}

gboolean
dk_final_state_is_replica (const DkFinalState *state, const char *key, DkNodeId node)
{
  DkFinalKey view;
  dk_final_state_lookup (state, key, &view);
  return dk_final_key_is_replica (&view, node);
}

void
dk_final_state_to_csv (const DkFinalState *state, const DkHistory *history, GString *out)
{
  g_return_if_fail (state != NULL && out != NULL);
  g_string_append (out, "node,key,dot,context,value,tombstone,replica\n");
  guint n_keys;
  g_autofree DkFinalKey *sorted = dk_final_state_sorted (state, &n_keys);
  for (guint k = 0; k < n_keys; k++)
    {
      const char *key = sorted[k].key;
      guint n_holdings = sorted[k].n_holdings, n_list = sorted[k].n_replicas;
      const DkHolding *holdings = sorted[k].holdings;
      const DkNodeId *list = sorted[k].replicas;
      g_autofree char *key_field = NULL;
      if (strpbrk (key, ",\"\r\n") != NULL)
        {
          g_auto (GStrv) parts = g_strsplit (key, "\"", -1);
          g_autofree char *doubled = g_strjoinv ("\"\"", parts);
          key_field = g_strdup_printf ("\"%s\"", doubled);
        }
      /* A replica that holds nothing still gets a row (empty but for
       * node, key and replica), so the preference list can be rebuilt. */
      for (guint r = 0; r < n_list; r++)
        {
          gboolean holds = FALSE;
          for (guint h = 0; h < n_holdings && !holds; h++)
            holds = holdings[h].node == list[r] && holdings[h].n_versions > 0;
          if (!holds)
            g_string_append_printf (out, "%u,%s,,,,,1\n", list[r],
                                    key_field != NULL ? key_field : key);
        }
      for (guint h = 0; h < n_holdings; h++)
        for (guint v = 0; v < holdings[h].n_versions; v++)
          {
            const DkHeld *held = &holdings[h].versions[v];
            char dot[DK_DOT_STRING_SIZE];
            g_string_append_printf (out, "%u,%s,%s,\"", holdings[h].node,
                                    key_field != NULL ? key_field : key,
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
