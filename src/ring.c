/* ring.c — membership, ring building and preference lists; see ring.h.
 *
 * The ring is two parallel arrays, vnode tokens (sorted) and the member
 * index owning each, rebuilt from the membership after every change.  A
 * lookup is one binary search plus a short clockwise walk; nothing is
 * cached per vnode, so a ring costs 12 bytes per vnode (3 MB at 1,000
 * nodes x 256 vnodes) and a change never leaves stale state behind.
 */
#include <string.h>
#include "ring_private.h"
#include "hash.h"

G_DEFINE_QUARK (dk-ring-error-quark, dk_ring_error)

/* ---- lifecycle ---------------------------------------------------------- */

static void
member_clear (gpointer data)
{
  DkRingMember *member = data;
  g_free ((char *) member->node.name);
  g_free ((char *) member->node.datacenter);
  g_free ((char *) member->node.rack);
}

static DkRing *
ring_new (DkRingStrategy strategy)
{
  DkRing *ring = g_new0 (DkRing, 1);
  ring->strategy = strategy;
  ring->members = g_array_new (FALSE, TRUE, sizeof (DkRingMember));
  g_array_set_clear_func (ring->members, member_clear);
  return ring;
}

DkRing *
dk_ring_new_random_tokens (guint tokens_per_weight)
{
  g_return_val_if_fail (tokens_per_weight >= 1 && tokens_per_weight <= 65536, NULL);
  DkRing *ring = ring_new (DK_RING_RANDOM_TOKENS);
  ring->tokens_per_weight = tokens_per_weight;
  return ring;
}

DkRing *
dk_ring_new_equal_partitions (guint partition_count)
{
  g_return_val_if_fail (partition_count >= 1 && partition_count <= DK_RING_MAX_VNODES, NULL);
  DkRing *ring = ring_new (DK_RING_EQUAL_PARTITIONS);
  ring->partition_count = partition_count;
  ring->partition_owner = g_new0 (DkNodeId, partition_count);
  ring_rebuild (ring);
  return ring;
}

DkRing *
dk_ring_copy (const DkRing *ring)
{
  g_return_val_if_fail (ring != NULL, NULL);
  DkRing *copy = ring_new (ring->strategy);
  copy->tokens_per_weight = ring->tokens_per_weight;
  copy->partition_count = ring->partition_count;
  for (guint i = 0; i < ring->members->len; i++)
    {
      DkRingMember member = *ring_member (ring, i);
      member.node.name = g_strdup (member.node.name);
      member.node.datacenter = g_strdup (member.node.datacenter);
      member.node.rack = g_strdup (member.node.rack);
      g_array_append_val (copy->members, member);
    }
  if (ring->partition_owner != NULL)
    copy->partition_owner = g_memdup2 (ring->partition_owner,
                                       sizeof (DkNodeId) * ring->partition_count);
  copy->vnode_count = ring->vnode_count;
  copy->vnode_tokens = g_memdup2 (ring->vnode_tokens, sizeof (DkToken) * ring->vnode_count);
  copy->vnode_member = g_memdup2 (ring->vnode_member, sizeof (guint32) * ring->vnode_count);
  copy->datacenter_count = ring->datacenter_count;
  copy->rack_count = ring->rack_count;
  return copy;
}

void
dk_ring_free (DkRing *ring)
{
  if (ring == NULL)
    return;
  g_array_unref (ring->members);
  g_free (ring->partition_owner);
  g_free (ring->vnode_tokens);
  g_free (ring->vnode_member);
  g_free (ring);
}

DkRingStrategy
dk_ring_strategy (const DkRing *ring)
{
  g_return_val_if_fail (ring != NULL, DK_RING_RANDOM_TOKENS);
  return ring->strategy;
}

/* ---- rebuilding the derived placement ----------------------------------- */

typedef struct
{
  DkToken token;
  guint32 member;  /* ascending member index = ascending node id */
  guint32 vnode;
} VnodeEntry;

static int
vnode_entry_compare (gconstpointer a, gconstpointer b)
{
  const VnodeEntry *x = a, *y = b;
  if (x->token != y->token)
    return x->token < y->token ? -1 : 1;
  if (x->member != y->member)
    return x->member < y->member ? -1 : 1;
  return x->vnode < y->vnode ? -1 : (x->vnode > y->vnode);
}

static void
rebuild_random_tokens (DkRing *ring)
{
  gsize total = 0;
  for (guint i = 0; i < ring->members->len; i++)
    total += (gsize) ring_member (ring, i)->node.weight * ring->tokens_per_weight;

  g_autofree VnodeEntry *entries = g_new (VnodeEntry, total);
  gsize n = 0;
  for (guint i = 0; i < ring->members->len; i++)
    {
      const DkRingNode *node = &ring_member (ring, i)->node;
      gsize name_len = strlen (node->name);
      guint vnodes = node->weight * ring->tokens_per_weight;
      for (guint v = 0; v < vnodes; v++)
        entries[n++] = (VnodeEntry) { dk_hash64_seeded (node->name, name_len, v), i, v };
    }
  if (n > 1)
    qsort (entries, n, sizeof *entries, vnode_entry_compare);

  ring->vnode_tokens = g_renew (DkToken, ring->vnode_tokens, n);
  ring->vnode_member = g_renew (guint32, ring->vnode_member, n);
  guint kept = 0;
  for (gsize i = 0; i < n; i++)
    {
      /* A token collision: the first (smaller id, then vnode) keeps it. */
      if (kept > 0 && ring->vnode_tokens[kept - 1] == entries[i].token)
        continue;
      ring->vnode_tokens[kept] = entries[i].token;
      ring->vnode_member[kept] = entries[i].member;
      kept++;
    }
  ring->vnode_count = kept;
}

static void
rebuild_equal_partitions (DkRing *ring)
{
  guint q = ring->partition_count;
  if (ring->vnode_tokens == NULL)
    {
      ring->vnode_tokens = g_new (DkToken, q);
      for (guint p = 0; p < q; p++)
        ring->vnode_tokens[p] = ring_partition_hi (p, q);
      ring->vnode_member = g_new (guint32, q);
      ring->vnode_count = q;
    }
  for (guint p = 0; p < q; p++)
    {
      gint index = ring_member_index (ring, ring->partition_owner[p]);
      ring->vnode_member[p] = index >= 0 ? (guint32) index : DK_RING_UNOWNED;
    }
}

/* Dense index of NAME in the sorted, distinct SORTED_NAMES. */
static guint32
sorted_name_index (GPtrArray *sorted_names, const char *name)
{
  guint lo = 0, hi = sorted_names->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (strcmp (g_ptr_array_index (sorted_names, mid), name) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The distinct strings of NAMES, sorted (NAMES itself gets sorted). */
static GPtrArray *
sorted_distinct (GPtrArray *names)
{
  g_ptr_array_sort (names, compare_strings);
  GPtrArray *distinct = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    if (distinct->len == 0
        || strcmp (g_ptr_array_index (distinct, distinct->len - 1),
                   g_ptr_array_index (names, i)) != 0)
      g_ptr_array_add (distinct, g_strdup (g_ptr_array_index (names, i)));
  return distinct;
}

/* The key numbering a member's (datacenter, rack) pair; '\n' never
 * occurs in configured names, so distinct pairs give distinct keys. */
static char *
rack_key (const DkRingNode *node)
{
  return g_strconcat (node->datacenter, "\n", node->rack, NULL);
}

/* Number datacenters and (datacenter, rack) pairs by sorted name, so the
 * numbering depends only on the membership. */
static void
number_datacenters_and_racks (DkRing *ring)
{
  g_autoptr(GPtrArray) datacenters = g_ptr_array_new ();
  g_autoptr(GPtrArray) racks = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < ring->members->len; i++)
    {
      const DkRingNode *node = &ring_member (ring, i)->node;
      g_ptr_array_add (datacenters, (gpointer) node->datacenter);
      g_ptr_array_add (racks, rack_key (node));
    }
  g_autoptr(GPtrArray) distinct_datacenters = sorted_distinct (datacenters);
  g_autoptr(GPtrArray) distinct_racks = sorted_distinct (racks);
  for (guint i = 0; i < ring->members->len; i++)
    {
      DkRingMember *member = &g_array_index (ring->members, DkRingMember, i);
      g_autofree char *key = rack_key (&member->node);
      member->datacenter_index = sorted_name_index (distinct_datacenters,
                                                    member->node.datacenter);
      member->rack_index = sorted_name_index (distinct_racks, key);
    }
  ring->datacenter_count = distinct_datacenters->len;
  ring->rack_count = distinct_racks->len;
}

void
ring_rebuild (DkRing *ring)
{
  number_datacenters_and_racks (ring);
  if (ring->strategy == DK_RING_RANDOM_TOKENS)
    rebuild_random_tokens (ring);
  else
    rebuild_equal_partitions (ring);
}

/* ---- membership --------------------------------------------------------- */

gint
ring_member_index (const DkRing *ring, DkNodeId id)
{
  guint lo = 0, hi = ring->members->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      DkNodeId mid_id = ring_member (ring, mid)->node.id;
      if (mid_id == id)
        return (gint) mid;
      if (mid_id < id)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

static gboolean
name_taken (const DkRing *ring, const char *name)
{
  for (guint i = 0; i < ring->members->len; i++)
    if (strcmp (ring_member (ring, i)->node.name, name) == 0)
      return TRUE;
  return FALSE;
}

static gsize
vnodes_needed (const DkRing *ring, const DkRingNode *node)
{
  guint weight = node->weight == 0 ? 1 : node->weight;
  return ring->strategy == DK_RING_RANDOM_TOKENS ? (gsize) weight * ring->tokens_per_weight : 0;
}

/* Check NODE could join RING; EXTRA_VNODES are already promised to others. */
static gboolean
validate_new_node (const DkRing *ring, const DkRingNode *node, gsize extra_vnodes,
                   GError **error)
{
  if (node->id == DK_NODE_NONE)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "node id 0 is reserved (node '%s')", node->name ? node->name : ""), FALSE;
  if (node->name == NULL || node->name[0] == '\0')
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "node %u has an empty name", node->id), FALSE;
  if ((node->datacenter != NULL && strchr (node->datacenter, '\n') != NULL)
      || (node->rack != NULL && strchr (node->rack, '\n') != NULL))
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "node '%s' has a newline in its datacenter or rack name",
                        node->name), FALSE;
  if (node->weight > DK_RING_MAX_WEIGHT)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "node '%s' has weight %u, more than the maximum %u",
                        node->name, node->weight, DK_RING_MAX_WEIGHT), FALSE;
  if (ring_member_index (ring, node->id) >= 0)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_DUPLICATE,
                        "node id %u ('%s') is already on the ring", node->id, node->name), FALSE;
  if (name_taken (ring, node->name))
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_DUPLICATE,
                        "node name '%s' is already on the ring", node->name), FALSE;
  if (ring->vnode_count + extra_vnodes + vnodes_needed (ring, node) > DK_RING_MAX_VNODES)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "adding node '%s' would pass %u vnodes", node->name,
                        DK_RING_MAX_VNODES), FALSE;
  return TRUE;
}

/* Insert NODE (validated) in id order. */
static void
insert_member (DkRing *ring, const DkRingNode *node)
{
  DkRingMember member = { 0 };
  member.node.id = node->id;
  member.node.name = g_strdup (node->name);
  member.node.datacenter = g_strdup (node->datacenter ? node->datacenter : "");
  member.node.rack = g_strdup (node->rack ? node->rack : "");
  member.node.weight = node->weight == 0 ? 1 : node->weight;
  member.up = TRUE;
  guint index = 0;
  while (index < ring->members->len && ring_member (ring, index)->node.id < node->id)
    index++;
  g_array_insert_val (ring->members, index, member);
}

static int
compare_nodes_by_id (gconstpointer a, gconstpointer b)
{
  DkNodeId x = ((const DkRingNode *) a)->id, y = ((const DkRingNode *) b)->id;
  return x < y ? -1 : (x > y);
}

gboolean
dk_ring_add_nodes (DkRing *ring, const DkRingNode *nodes, guint n_nodes, GError **error)
{
  g_return_val_if_fail (ring != NULL, FALSE);
  g_return_val_if_fail (nodes != NULL || n_nodes == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Join in ascending id order so the batch's order never matters. */
  g_autofree DkRingNode *sorted = g_memdup2 (nodes, sizeof (DkRingNode) * n_nodes);
  if (n_nodes > 1)
    qsort (sorted, n_nodes, sizeof (DkRingNode), compare_nodes_by_id);
  gsize promised = 0;
  for (guint i = 0; i < n_nodes; i++)
    {
      if (!validate_new_node (ring, &sorted[i], promised, error))
        return FALSE;
      for (guint j = 0; j < i; j++)
        if (sorted[j].id == sorted[i].id || g_strcmp0 (sorted[j].name, sorted[i].name) == 0)
          return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_DUPLICATE,
                              "node %u ('%s') is listed twice", sorted[i].id,
                              sorted[i].name), FALSE;
      promised += vnodes_needed (ring, &sorted[i]);
    }
  for (guint i = 0; i < n_nodes; i++)
    insert_member (ring, &sorted[i]);
  if (ring->strategy == DK_RING_EQUAL_PARTITIONS)
    {
      g_autofree gboolean *joining = g_new0 (gboolean, ring->members->len);
      for (guint i = 0; i < n_nodes; i++)
        joining[ring_member_index (ring, sorted[i].id)] = TRUE;
      ring_partitions_join (ring, joining);
    }
  ring_rebuild (ring);
  return TRUE;
}

gboolean
dk_ring_add_node (DkRing *ring, const DkRingNode *node, GError **error)
{
  g_return_val_if_fail (node != NULL, FALSE);
  return dk_ring_add_nodes (ring, node, 1, error);
}

gboolean
dk_ring_remove_node (DkRing *ring, DkNodeId id, GError **error)
{
  g_return_val_if_fail (ring != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  gint index = ring_member_index (ring, id);
  if (index < 0)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_UNKNOWN_NODE,
                        "node %u is not on the ring", id), FALSE;
  if (ring->strategy == DK_RING_EQUAL_PARTITIONS)
    ring_partitions_leave (ring, (guint) index);
  g_array_remove_index (ring->members, (guint) index);
  ring_rebuild (ring);
  return TRUE;
}

guint
dk_ring_node_count (const DkRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return ring->members->len;
}

const DkRingNode *
dk_ring_node_at (const DkRing *ring, guint index)
{
  g_return_val_if_fail (ring != NULL && index < ring->members->len, NULL);
  return &ring_member (ring, index)->node;
}

const DkRingNode *
dk_ring_lookup_node (const DkRing *ring, DkNodeId id)
{
  g_return_val_if_fail (ring != NULL, NULL);
  gint index = ring_member_index (ring, id);
  return index >= 0 ? &ring_member (ring, (guint) index)->node : NULL;
}

gboolean
dk_ring_set_node_up (DkRing *ring, DkNodeId id, gboolean up)
{
  g_return_val_if_fail (ring != NULL, FALSE);
  gint index = ring_member_index (ring, id);
  if (index < 0)
    return FALSE;
  g_array_index (ring->members, DkRingMember, index).up = up != FALSE;
  return TRUE;
}

gboolean
dk_ring_node_is_up (const DkRing *ring, DkNodeId id)
{
  g_return_val_if_fail (ring != NULL, FALSE);
  gint index = ring_member_index (ring, id);
  return index >= 0 && ring_member (ring, (guint) index)->up;
}

/* ---- lookups ------------------------------------------------------------ */

DkToken
dk_ring_key_token (const void *key, gsize len)
{
  return dk_hash64 (key, len);
}

guint
ring_first_vnode_at_or_after (const DkRing *ring, DkToken token)
{
  /* Branch-free lower bound: the answer stays within [lo, lo + n]. */
  const DkToken *tokens = ring->vnode_tokens;
  gsize lo = 0, n = ring->vnode_count;
  while (n > 1)
    {
      gsize half = n / 2;
      lo = tokens[lo + half] < token ? lo + half : lo;
      n -= half;
    }
  lo += tokens[lo] < token;
  return lo == ring->vnode_count ? 0 : (guint) lo;
}

DkNodeId
dk_ring_primary (const DkRing *ring, DkToken token)
{
  g_return_val_if_fail (ring != NULL, DK_NODE_NONE);
  if (ring->members->len == 0)
    return DK_NODE_NONE;
  guint32 member = ring->vnode_member[ring_first_vnode_at_or_after (ring, token)];
  return ring_member (ring, member)->node.id;
}

/* The picks of one walk: member indices in pick order, with enough
 * bookkeeping to know when to stop (see the rule in ring.h). */
typedef struct
{
  guint32 *picked;
  guint    count;
  guint    capacity;       /* never pick more than this */
  guint    want_total;     /* stop at this many picks ... */
  guint    want_up;        /* ... of which this many are up */
  guint    up;
  DkRingUpFunc is_up;      /* who counts as up; NULL: the ring's marks */
  gpointer is_up_data;
  guint    datacenters;    /* distinct datacenters among the picks */
  guint    racks;          /* distinct (datacenter, rack) pairs among the picks */
} Picks;

typedef enum { PASS_NEW_DATACENTER, PASS_NEW_RACK, PASS_ANY_NODE } PickPass;

static gboolean
picks_member_up (const Picks *picks, const DkRingMember *member)
{
  return picks->is_up != NULL ? picks->is_up (member->node.id, picks->is_up_data) != FALSE
                              : member->up;
}

static gboolean
picks_done (const Picks *picks, guint node_count)
{
  return picks->count == picks->capacity || picks->count == node_count
         || (picks->count >= picks->want_total && picks->up >= picks->want_up);
}

/* Walk every vnode once from START, picking what PASS accepts. */
static void
pick_pass (const DkRing *ring, guint start, PickPass pass, Picks *picks)
{
  guint node_count = ring->members->len;
  for (guint step = 0, v = start; step < ring->vnode_count; step++, v++)
    {
      if (picks_done (picks, node_count)
          || (pass == PASS_NEW_DATACENTER && picks->datacenters == ring->datacenter_count)
          || (pass == PASS_NEW_RACK && picks->racks == ring->rack_count))
        return;
      if (v == ring->vnode_count)
        v = 0;
      guint32 candidate = ring->vnode_member[v];
      const DkRingMember *member = ring_member (ring, candidate);
      gboolean new_datacenter = TRUE, new_rack = TRUE, new_node = TRUE;
      for (guint i = 0; i < picks->count && new_node; i++)
        {
          const DkRingMember *picked = ring_member (ring, picks->picked[i]);
          new_node = picks->picked[i] != candidate;
          new_datacenter &= picked->datacenter_index != member->datacenter_index;
          new_rack &= picked->rack_index != member->rack_index;
        }
      if (!new_node || (pass == PASS_NEW_DATACENTER && !new_datacenter)
          || (pass == PASS_NEW_RACK && !new_rack))
        continue;
      picks->picked[picks->count++] = candidate;
      picks->up += picks_member_up (picks, member);
      picks->datacenters += new_datacenter;
      picks->racks += new_rack;
    }
}

static void
pick_all_passes (const DkRing *ring, guint start, Picks *picks)
{
  pick_pass (ring, start, PASS_NEW_DATACENTER, picks);
  pick_pass (ring, start, PASS_NEW_RACK, picks);
  pick_pass (ring, start, PASS_ANY_NODE, picks);
}

guint
ring_preference_members (const DkRing *ring, guint start, guint n, guint32 *out)
{
  if (ring->members->len == 0)
    return 0;
  Picks picks = { .picked = out, .capacity = n, .want_total = n };
  pick_all_passes (ring, start, &picks);
  return picks.count;
}

guint
dk_ring_preference_list (const DkRing *ring, DkToken token, guint n, DkNodeId *out)
{
  g_return_val_if_fail (ring != NULL && out != NULL, 0);
  g_return_val_if_fail (n >= 1 && n <= DK_RING_MAX_REPLICAS, 0);
  if (ring->members->len == 0)
    return 0;
  guint32 members[DK_RING_MAX_REPLICAS];
  guint count = ring_preference_members (ring, ring_first_vnode_at_or_after (ring, token),
                                         n, members);
  for (guint i = 0; i < count; i++)
    out[i] = ring_member (ring, members[i])->node.id;
  return count;
}

/* Dynamo §4.6: walk the extended list until N up nodes are found; a node
 * past the first N stands in for a down one among them and carries a
 * hint naming it, so it can hand the data back when that node returns. */
guint
dk_ring_sloppy_preference_list_by (const DkRing *ring, DkToken token, guint n,
                                   DkRingUpFunc is_up, gpointer data, DkRingReplica *out,
                                   DkNodeId *uncovered, guint *n_uncovered)
{
  g_return_val_if_fail (ring != NULL && out != NULL, 0);
  g_return_val_if_fail (n >= 1 && n <= DK_RING_MAX_REPLICAS, 0);
  if (n_uncovered != NULL)
    *n_uncovered = 0;
  guint node_count = ring->members->len;
  if (node_count == 0)
    return 0;

  /* Most walks end within a few dozen picks; only mass failures need more. */
  guint32 small[64];
  g_autofree guint32 *large = NULL;
  guint start = ring_first_vnode_at_or_after (ring, token);
  Picks picks = { .picked = small, .capacity = MIN (node_count, G_N_ELEMENTS (small)),
                  .want_total = n, .want_up = n, .is_up = is_up, .is_up_data = data };
  pick_all_passes (ring, start, &picks);
  if (picks.up < n && picks.count < node_count)
    {
      large = g_new (guint32, node_count);
      picks = (Picks) { .picked = large, .capacity = node_count,
                        .want_total = n, .want_up = n, .is_up = is_up, .is_up_data = data };
      pick_all_passes (ring, start, &picks);
    }

  DkNodeId down_intended[DK_RING_MAX_REPLICAS];
  guint n_down = 0, n_hints_used = 0, count = 0;
  for (guint i = 0; i < picks.count && count < n; i++)
    {
      const DkRingMember *member = ring_member (ring, picks.picked[i]);
      if (!picks_member_up (&picks, member))
        {
          if (i < n)
            down_intended[n_down++] = member->node.id;
          continue;
        }
      DkNodeId hint = DK_NODE_NONE;
      if (i >= n)
        {
          g_assert (n_hints_used < n_down);
          hint = down_intended[n_hints_used++];
        }
      out[count++] = (DkRingReplica) { member->node.id, hint };
    }
  /* Too few nodes up: the down intended replicas left uncovered. */
  for (guint k = n_hints_used; k < n_down && uncovered != NULL && n_uncovered != NULL; k++)
    uncovered[(*n_uncovered)++] = down_intended[k];
  return count;
}

guint
dk_ring_sloppy_preference_list (const DkRing *ring, DkToken token, guint n,
                                DkRingReplica *out)
{
  return dk_ring_sloppy_preference_list_by (ring, token, n, NULL, NULL, out, NULL, NULL);
}

/* ---- comparison --------------------------------------------------------- */

gboolean
dk_ring_equal (const DkRing *a, const DkRing *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (a->strategy != b->strategy || a->tokens_per_weight != b->tokens_per_weight
      || a->partition_count != b->partition_count || a->members->len != b->members->len
      || a->vnode_count != b->vnode_count)
    return FALSE;
  for (guint i = 0; i < a->members->len; i++)
    {
      const DkRingNode *x = &ring_member (a, i)->node, *y = &ring_member (b, i)->node;
      if (x->id != y->id || x->weight != y->weight || strcmp (x->name, y->name) != 0
          || strcmp (x->datacenter, y->datacenter) != 0 || strcmp (x->rack, y->rack) != 0)
        return FALSE;
    }
  return a->vnode_count == 0
         || (memcmp (a->vnode_tokens, b->vnode_tokens, sizeof (DkToken) * a->vnode_count) == 0
             && memcmp (a->vnode_member, b->vnode_member,
                        sizeof (guint32) * a->vnode_count) == 0);
}
