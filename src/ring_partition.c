/* ring_partition.c — the equal-partition owner table (Dynamo strategy 3).
 *
 * Q equal partitions, each owned by one node.  Joins and leaves move the
 * fewest partitions that bring every node back within one partition of
 * its weighted quota, and only between the node changing and the others:
 * a joiner takes from nodes above their new quota, a leaver gives to
 * nodes below it.  Nothing moves between two nodes that stay.
 */
#include <stdlib.h>
#include <string.h>
#include "ring_private.h"
#include "hash.h"

/* floor ((P + 1) * 2^64 / Q) - 1, exactly, in 64-bit arithmetic:
 * 2^64 = whole * Q + part with part < Q, and (P + 1) * part < Q^2 <= 2^48. */
DkToken
ring_partition_hi (guint partition, guint partition_count)
{
  guint64 q = partition_count;
  guint64 whole = G_MAXUINT64 / q, part = G_MAXUINT64 % q + 1;
  if (part == q)
    {
      whole++;
      part = 0;
    }
  guint64 p = (guint64) partition + 1;
  return p * whole + (p * part) / q - 1;
}

/* The weighted quota of each member (by members index) among those
 * marked in COUNTED, 0 for the rest: floor (Q * w / W), the leftover
 * partitions going one each to the largest remainders, ties to the
 * smaller node id. */
typedef struct
{
  guint   index;
  guint64 remainder;
} QuotaRemainder;

static int
compare_remainders (gconstpointer a, gconstpointer b)
{
  const QuotaRemainder *x = a, *y = b;
  if (x->remainder != y->remainder)
    return x->remainder > y->remainder ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

static void
compute_quotas (const DkRing *ring, const gboolean *counted, guint *quota)
{
  guint n = ring->members->len;
  guint64 total_weight = 0;
  for (guint i = 0; i < n; i++)
    total_weight += counted[i] ? ring_member (ring, i)->node.weight : 0;

  g_autofree QuotaRemainder *remainders = g_new (QuotaRemainder, n);
  guint n_remainders = 0, assigned = 0;
  for (guint i = 0; i < n; i++)
    {
      quota[i] = 0;
      if (!counted[i])
        continue;
      guint64 share = (guint64) ring->partition_count * ring_member (ring, i)->node.weight;
      quota[i] = (guint) (share / total_weight);
      assigned += quota[i];
      remainders[n_remainders++] = (QuotaRemainder) { i, share % total_weight };
    }
  if (n_remainders == 0)
    return;
  qsort (remainders, n_remainders, sizeof *remainders, compare_remainders);
  for (guint i = 0; assigned < ring->partition_count; i++, assigned++)
    quota[remainders[i].index]++;
}

/* The owner table as member indices (DK_RING_UNOWNED for none), and the
 * partitions each member holds. */
static guint32 *
owner_indices (const DkRing *ring, guint *count)
{
  guint32 *owner = g_new (guint32, ring->partition_count);
  memset (count, 0, sizeof (guint) * ring->members->len);
  for (guint p = 0; p < ring->partition_count; p++)
    {
      gint index = ring_member_index (ring, ring->partition_owner[p]);
      owner[p] = index >= 0 ? (guint32) index : DK_RING_UNOWNED;
      if (index >= 0)
        count[index]++;
    }
  return owner;
}

static void
store_owner_ids (DkRing *ring, const guint32 *owner)
{
  for (guint p = 0; p < ring->partition_count; p++)
    ring->partition_owner[p] = owner[p] == DK_RING_UNOWNED
                               ? DK_NODE_NONE : ring_member (ring, owner[p])->node.id;
}

/* A joiner first avoids partitions this close to one it already took:
 * two of its partitions inside one preference-list window would let an
 * old node into that list (Riak's claim keeps a similar distance). */
#define CLAIM_SPACING 3u

/* The order in which a join or leave considers partitions: a walk
 * start, start + stride, start + 2 * stride, ... (mod Q) with start and
 * stride (coprime to Q, so every partition comes once) drawn from the
 * changing node's name.  What it takes or gives is thereby spread over
 * the ring, differently for every node, at O(Q) cost with no sort. */
typedef struct
{
  guint start;
  guint stride;
} PartitionWalk;

static guint
gcd (guint a, guint b)
{
  while (b != 0)
    {
      guint r = a % b;
      a = b;
      b = r;
    }
  return a;
}

static PartitionWalk
partition_walk_for (const DkRing *ring, const char *name)
{
  guint q = ring->partition_count;
  guint64 seed = dk_hash64 (name, strlen (name));
  PartitionWalk walk = { (guint) (seed % q), (guint) (dk_mix64 (seed) % q) };
  while (gcd (walk.stride, q) != 1)
    walk.stride = (walk.stride + 1) % q;
  return walk;
}

static inline guint
partition_walk_at (const PartitionWalk *walk, guint step, guint q)
{
  return (guint) (((guint64) walk->start + (guint64) step * walk->stride) % q);
}

/* TRUE when member J owns a partition within CLAIM_SPACING of P. */
static gboolean
owns_nearby (const guint32 *owner, guint q, guint p, guint32 j)
{
  for (guint d = 1; d <= CLAIM_SPACING && d < q; d++)
    if (owner[(p + d) % q] == j || owner[(p + q - d) % q] == j)
      return TRUE;
  return FALSE;
}

/* Give member J its quota among JOINED (which includes it), taking
 * unowned partitions first (only a ring that had no members has them),
 * then partitions of members above their quota, at first only those at
 * least CLAIM_SPACING + 1 partitions away from J's others, then any.
 * The surplus always covers J's quota, since the other quotas sum to Q
 * minus it. */
static void
join_one (DkRing *ring, guint j, const gboolean *joined, guint32 *owner, guint *count,
          guint *quota)
{
  guint q = ring->partition_count;
  compute_quotas (ring, joined, quota);
  PartitionWalk walk = partition_walk_for (ring, ring_member (ring, j)->node.name);
  guint need = quota[j];
  for (int round = 0; round < 3 && need > 0; round++)
    for (guint step = 0; step < q && need > 0; step++)
      {
        guint p = partition_walk_at (&walk, step, q);
        guint32 from = owner[p];
        gboolean take = round == 0 ? from == DK_RING_UNOWNED
                        : from != DK_RING_UNOWNED && from != j && count[from] > quota[from]
                          && (round == 2 || !owns_nearby (owner, q, p, j));
        if (!take)
          continue;
        if (from != DK_RING_UNOWNED)
          count[from]--;
        owner[p] = j;
        count[j]++;
        need--;
      }
  g_assert (need == 0);
}

void
ring_partitions_join (DkRing *ring, const gboolean *joining)
{
  guint n = ring->members->len;
  g_autofree guint *count = g_new (guint, n);
  g_autofree guint *quota = g_new (guint, n);
  g_autofree gboolean *joined = g_new (gboolean, n);
  g_autofree guint32 *owner = owner_indices (ring, count);
  for (guint i = 0; i < n; i++)
    joined[i] = !joining[i];
  /* Members are in id order, so a batch joins in ascending id order. */
  for (guint j = 0; j < n; j++)
    if (joining[j])
      {
        joined[j] = TRUE;
        join_one (ring, j, joined, owner, count, quota);
      }
  store_owner_ids (ring, owner);
}

void
ring_partitions_leave (DkRing *ring, guint leaver)
{
  guint n = ring->members->len, q = ring->partition_count;
  g_autofree guint *count = g_new (guint, n);
  g_autofree guint *quota = g_new (guint, n);
  g_autofree gboolean *staying = g_new (gboolean, n);
  g_autofree guint32 *owner = owner_indices (ring, count);
  for (guint i = 0; i < n; i++)
    staying[i] = i != leaver;
  compute_quotas (ring, staying, quota);

  /* Each partition goes to a member below its new quota: preferably one
   * owning one of the CLAIM_SPACING partitions just before it (so no new
   * node enters the lists passing over it and pushes an old replica out),
   * else the one furthest below (ties: smaller id).  The deficits sum to
   * at least the leaver's partitions. */
  PartitionWalk walk = partition_walk_for (ring, ring_member (ring, leaver)->node.name);
  walk.stride = 1;  /* clockwise, so a run of the leaver's partitions goes to one heir */
  for (guint step = 0; step < q; step++)
    {
      guint p = partition_walk_at (&walk, step, q);
      if (owner[p] != leaver)
        continue;
      guint32 heir = DK_RING_UNOWNED;
      gint64 best_deficit = 0;
      for (guint d = 1; d <= CLAIM_SPACING && d < q && heir == DK_RING_UNOWNED; d++)
        {
          guint32 before = owner[(p + q - d) % q];
          if (before != DK_RING_UNOWNED && before != leaver && quota[before] > count[before])
            heir = before;
        }
      gboolean nearby = heir != DK_RING_UNOWNED;
      for (guint m = 0; m < n && !nearby; m++)
        {
          gint64 deficit = (gint64) quota[m] - (gint64) count[m];
          if (staying[m] && deficit > best_deficit)
            {
              heir = m;
              best_deficit = deficit;
            }
        }
      g_assert (heir != DK_RING_UNOWNED || n == 1);
      owner[p] = heir;
      if (heir != DK_RING_UNOWNED)
        count[heir]++;
    }
  store_owner_ids (ring, owner);
}

/* ---- the table as data (for gossip) ------------------------------------ */

guint
dk_ring_partition_count (const DkRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return ring->partition_count;
}

const DkNodeId *
dk_ring_partition_owners (const DkRing *ring, guint *n_partitions)
{
  g_return_val_if_fail (ring != NULL && n_partitions != NULL, NULL);
  *n_partitions = ring->partition_count;
  return ring->partition_owner;
}

gboolean
dk_ring_set_partition_owners (DkRing *ring, const DkNodeId *owners, guint n_partitions,
                              GError **error)
{
  g_return_val_if_fail (ring != NULL, FALSE);
  g_return_val_if_fail (owners != NULL || n_partitions == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (ring->strategy != DK_RING_EQUAL_PARTITIONS)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "a random-token ring has no partition table"), FALSE;
  if (n_partitions != ring->partition_count)
    return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                        "partition table has %u entries, the ring has %u partitions",
                        n_partitions, ring->partition_count), FALSE;
  gboolean empty = ring->members->len == 0;
  for (guint p = 0; p < n_partitions; p++)
    if (empty ? owners[p] != DK_NODE_NONE : ring_member_index (ring, owners[p]) < 0)
      return g_set_error (error, DK_RING_ERROR, DK_RING_ERROR_INVALID,
                          "partition %u is owned by node %u, which is not on the ring",
                          p, owners[p]), FALSE;
  memcpy (ring->partition_owner, owners, sizeof (DkNodeId) * n_partitions);
  ring_rebuild (ring);
  return TRUE;
}
