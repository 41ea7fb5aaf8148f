/* ring_range.c — token ranges: enumerating them, what a node replicates,
 * and what changes between two rings (what rebalancing streams).
 *
 * Range i is (token of vnode i-1, token of vnode i], range 0 wrapping
 * past 2^64-1 to hold token 0.  Merkle anti-entropy keeps one tree per
 * range; a join or leave streams exactly the ranges dk_ring_diff names.
 */
#include <stdlib.h>
#include <string.h>
#include "ring_private.h"

/* 2^64 as a double, to turn range widths into fractions of the ring. */
#define TOKEN_SPACE 18446744073709551616.0

guint
dk_ring_range_count (const DkRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return ring->vnode_count;
}

DkTokenRange
dk_ring_range_at (const DkRing *ring, guint index)
{
  DkTokenRange whole = { 0, 0 };
  g_return_val_if_fail (ring != NULL && index < ring->vnode_count, whole);
  guint previous = index == 0 ? ring->vnode_count - 1 : index - 1;
  return (DkTokenRange) { ring->vnode_tokens[previous], ring->vnode_tokens[index] };
}

guint
dk_ring_range_index (const DkRing *ring, DkToken token)
{
  g_return_val_if_fail (ring != NULL, 0);
  return ring->vnode_count == 0 ? 0 : ring_first_vnode_at_or_after (ring, token);
}

gboolean
dk_token_range_contains (const DkTokenRange *range, DkToken token)
{
  g_return_val_if_fail (range != NULL, FALSE);
  if (range->lo < range->hi)
    return range->lo < token && token <= range->hi;
  if (range->lo > range->hi)
    return token > range->lo || token <= range->hi;
  return TRUE;
}

double
dk_token_range_fraction (const DkTokenRange *range)
{
  g_return_val_if_fail (range != NULL, 0.0);
  if (range->lo == range->hi)
    return 1.0;
  /* Unsigned subtraction wraps, which is exactly the clockwise width. */
  return (double) (range->hi - range->lo) / TOKEN_SPACE;
}

static int
compare_guint (const void *a, const void *b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

/* Without datacenters or racks to spread over (one of each), a list is
 * the first N distinct nodes clockwise, so MEMBER replicates range v
 * exactly when fewer than N other nodes own vnodes from v up to its own
 * next vnode.  Walk back from each of its vnodes until N others are seen
 * (or its previous vnode, whose own walk goes on from there): O(its
 * vnodes * N) instead of a preference list per vnode of the ring. */
static void
member_ranges_by_walking_back (const DkRing *ring, guint32 member, guint n, GArray *ranges)
{
  GArray *vnodes = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint own = 0; own < ring->vnode_count; own++)
    {
      if (ring->vnode_member[own] != member)
        continue;
      guint32 others[DK_RING_MAX_REPLICAS];
      guint n_others = 0;
      g_array_append_val (vnodes, own);
      for (guint step = 1, v = own; step < ring->vnode_count; step++)
        {
          v = v == 0 ? ring->vnode_count - 1 : v - 1;
          guint32 owner = ring->vnode_member[v];
          if (owner == member)
            break;
          gboolean seen = FALSE;
          for (guint i = 0; i < n_others && !seen; i++)
            seen = others[i] == owner;
          if (!seen)
            {
              if (n_others + 1 >= n)
                break;   /* OWNER would be the N-th other node from v on */
              others[n_others++] = owner;
            }
          g_array_append_val (vnodes, v);
        }
    }
  qsort (vnodes->data, vnodes->len, sizeof (guint), compare_guint);
  for (guint i = 0; i < vnodes->len; i++)
    {
      DkTokenRange range = dk_ring_range_at (ring, g_array_index (vnodes, guint, i));
      g_array_append_val (ranges, range);
    }
  g_array_free (vnodes, TRUE);
}

GArray *
dk_ring_node_ranges (const DkRing *ring, DkNodeId id, guint n)
{
  g_return_val_if_fail (ring != NULL, NULL);
  g_return_val_if_fail (n >= 1 && n <= DK_RING_MAX_REPLICAS, NULL);
  GArray *ranges = g_array_new (FALSE, FALSE, sizeof (DkTokenRange));
  gint member = ring_member_index (ring, id);
  if (member < 0)
    return ranges;
  if (ring->datacenter_count <= 1 && ring->rack_count <= 1)
    {
      member_ranges_by_walking_back (ring, (guint32) member, n, ranges);
      return ranges;
    }
  for (guint v = 0; v < ring->vnode_count; v++)
    {
      guint32 replicas[DK_RING_MAX_REPLICAS];
      guint count = ring_preference_members (ring, v, n, replicas);
      for (guint i = 0; i < count; i++)
        if (replicas[i] == (guint32) member)
          {
            DkTokenRange range = dk_ring_range_at (ring, v);
            g_array_append_val (ranges, range);
            break;
          }
    }
  return ranges;
}

double
dk_ring_owned_fraction (const DkRing *ring, DkNodeId id)
{
  g_return_val_if_fail (ring != NULL, 0.0);
  gint member = ring_member_index (ring, id);
  if (member < 0)
    return 0.0;
  double fraction = 0.0;
  for (guint v = 0; v < ring->vnode_count; v++)
    if (ring->vnode_member[v] == (guint32) member)
      {
        DkTokenRange range = dk_ring_range_at (ring, v);
        fraction += dk_token_range_fraction (&range);
      }
  return fraction;
}

/* ---- diff --------------------------------------------------------------- */

/* Every vnode token of A and B, ascending and distinct. */
static GArray *
merged_boundaries (const DkRing *a, const DkRing *b)
{
  GArray *tokens = g_array_sized_new (FALSE, FALSE, sizeof (DkToken),
                                      a->vnode_count + b->vnode_count);
  guint i = 0, j = 0;
  while (i < a->vnode_count || j < b->vnode_count)
    {
      DkToken next;
      if (j == b->vnode_count || (i < a->vnode_count && a->vnode_tokens[i] <= b->vnode_tokens[j]))
        next = a->vnode_tokens[i++];
      else
        next = b->vnode_tokens[j++];
      if (tokens->len == 0 || g_array_index (tokens, DkToken, tokens->len - 1) != next)
        g_array_append_val (tokens, next);
    }
  return tokens;
}

static gboolean
same_replica_set (const DkNodeId *a, guint n_a, const DkNodeId *b, guint n_b)
{
  if (n_a != n_b)
    return FALSE;
  for (guint i = 0; i < n_a; i++)
    {
      gboolean found = FALSE;
      for (guint k = 0; k < n_b && !found; k++)
        found = a[i] == b[k];
      if (!found)
        return FALSE;
    }
  return TRUE;
}

static gboolean
same_lists (const DkRingRangeChange *x, const DkRingRangeChange *y)
{
  return x->n_before == y->n_before && x->n_after == y->n_after
         && memcmp (x->before, y->before, sizeof (DkNodeId) * x->n_before) == 0
         && memcmp (x->after, y->after, sizeof (DkNodeId) * x->n_after) == 0;
}

/* Cut the ring at every boundary of either ring: within one piece both
 * preference lists are constant, so a piece either moves or it does not.
 * A change of order alone (same primary, same set) moves no data. */
GArray *
dk_ring_diff (const DkRing *before, const DkRing *after, guint n)
{
  g_return_val_if_fail (before != NULL && after != NULL, NULL);
  g_return_val_if_fail (n >= 1 && n <= DK_RING_MAX_REPLICAS, NULL);
  GArray *changes = g_array_new (FALSE, TRUE, sizeof (DkRingRangeChange));
  g_autoptr(GArray) boundaries = merged_boundaries (before, after);
  guint n_boundaries = boundaries->len;
  for (guint i = 0; i < n_boundaries; i++)
    {
      DkRingRangeChange change = { 0 };
      change.range.hi = g_array_index (boundaries, DkToken, i);
      change.range.lo = g_array_index (boundaries, DkToken, i == 0 ? n_boundaries - 1 : i - 1);
      change.n_before = dk_ring_preference_list (before, change.range.hi, n, change.before);
      change.n_after = dk_ring_preference_list (after, change.range.hi, n, change.after);
      gboolean same_primary = change.n_before > 0 && change.n_after > 0
                              && change.before[0] == change.after[0];
      if ((same_primary || (change.n_before == 0 && change.n_after == 0))
          && same_replica_set (change.before, change.n_before, change.after, change.n_after))
        continue;
      if (changes->len > 0)
        {
          DkRingRangeChange *last = &g_array_index (changes, DkRingRangeChange,
                                                    changes->len - 1);
          if (last->range.hi == change.range.lo && same_lists (last, &change))
            {
              last->range.hi = change.range.hi;
              continue;
            }
        }
      g_array_append_val (changes, change);
    }
  return changes;
}
