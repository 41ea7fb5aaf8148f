/* vclock.c — vector clocks, versions and sibling reconciliation; see
 * vclock.h for the contract.
 *
 * A clock is a malloc'd array of entries sorted by node id, so every
 * binary operation is one linear walk over both clocks.  Sibling sets are
 * GPtrArrays kept in canonical order; reconciliation keeps the maximal
 * versions under "beats" (a strictly newer clock, or an equal clock with a
 * payload that sorts later), which makes the result independent of the
 * order versions arrive in.  No static mutable state.
 */
#include <string.h>
#include "vclock.h"
#include "hash.h"

/* u32 node + u64 counter + i64 timestamp_us */
#define ENTRY_ENCODED_BYTES 20u
/* u16 entry count */
#define HEADER_ENCODED_BYTES 2u

struct _DkVclock
{
  DkVclockEntry *entries; /* ascending node id, no duplicates; may be inline */
  guint size;
  guint capacity;
};

/* Copies and decoded clocks are one allocation: the entries follow the
 * struct ("inline") until the clock outgrows them. */
#define INLINE_ENTRIES(clock) ((DkVclockEntry *) ((DkVclock *) (clock) + 1))
G_STATIC_ASSERT (sizeof (DkVclock) % G_ALIGNOF (DkVclockEntry) == 0);

static DkVclock *
clock_new_inline (guint capacity)
{
  DkVclock *clock = g_malloc (sizeof (DkVclock) + (gsize) capacity * sizeof (DkVclockEntry));
  clock->entries = capacity > 0 ? INLINE_ENTRIES (clock) : NULL;
  clock->size = 0;
  clock->capacity = capacity;
  return clock;
}

/* Free CLOCK's entries unless they are inline. */
static void
release_entries (DkVclock *clock)
{
  if (clock->entries != INLINE_ENTRIES (clock))
    g_free (clock->entries);
}

G_DEFINE_QUARK (dk-vclock-error-quark, dk_vclock_error)

/* ---- clocks ------------------------------------------------------------- */

static void
reserve (DkVclock *clock, guint capacity)
{
  if (capacity <= clock->capacity)
    return;
  guint grown = MAX (capacity, MAX (4u, clock->capacity * 2));
  if (clock->entries != NULL && clock->entries == INLINE_ENTRIES (clock))
    {
      DkVclockEntry *moved = g_new (DkVclockEntry, grown);
      memcpy (moved, clock->entries, clock->size * sizeof (DkVclockEntry));
      clock->entries = moved;
    }
  else
    clock->entries = g_renew (DkVclockEntry, clock->entries, grown);
  clock->capacity = grown;
}

/* Index of NODE's entry, or of where it would be inserted; *FOUND says which. */
static guint
find_index (const DkVclock *clock, DkNodeId node, gboolean *found)
{
  guint low = 0, high = clock->size;
  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      if (clock->entries[middle].node < node)
        low = middle + 1;
      else
        high = middle;
    }
  *found = low < clock->size && clock->entries[low].node == node;
  return low;
}

DkVclock *
dk_vclock_new (void)
{
  return g_new0 (DkVclock, 1);
}

DkVclock *
dk_vclock_copy (const DkVclock *clock)
{
  g_return_val_if_fail (clock != NULL, NULL);
  DkVclock *copy = clock_new_inline (clock->size);
  if (clock->size > 0)
    memcpy (copy->entries, clock->entries, clock->size * sizeof (DkVclockEntry));
  copy->size = clock->size;
  return copy;
}

void
dk_vclock_free (DkVclock *clock)
{
  if (clock == NULL)
    return;
  release_entries (clock);
  g_free (clock);
}

guint
dk_vclock_size (const DkVclock *clock)
{
  g_return_val_if_fail (clock != NULL, 0);
  return clock->size;
}

const DkVclockEntry *
dk_vclock_entries (const DkVclock *clock, guint *n_entries)
{
  g_return_val_if_fail (clock != NULL, NULL);
  if (n_entries != NULL)
    *n_entries = clock->size;
  return clock->entries;
}

guint64
dk_vclock_get (const DkVclock *clock, DkNodeId node)
{
  g_return_val_if_fail (clock != NULL, 0);
  gboolean found;
  guint index = find_index (clock, node, &found);
  return found ? clock->entries[index].counter : 0;
}

void
dk_vclock_increment (DkVclock *clock, DkNodeId node, gint64 now_us)
{
  dk_vclock_increment_past (clock, node, 0, now_us);
}

void
dk_vclock_increment_past (DkVclock *clock, DkNodeId node, guint64 floor, gint64 now_us)
{
  g_return_if_fail (clock != NULL);
  g_return_if_fail (node != DK_NODE_NONE);
  gboolean found;
  guint index = find_index (clock, node, &found);
  if (found)
    {
      DkVclockEntry *entry = &clock->entries[index];
      guint64 base = MAX (entry->counter, floor);
      g_return_if_fail (base < G_MAXUINT64);
      entry->counter = base + 1;
      entry->timestamp_us = now_us;
      return;
    }
  g_return_if_fail (floor < G_MAXUINT64);
  reserve (clock, clock->size + 1);
  memmove (&clock->entries[index + 1], &clock->entries[index],
           (clock->size - index) * sizeof (DkVclockEntry));
  clock->entries[index] = (DkVclockEntry) { node, floor + 1, now_us };
  clock->size++;
}

/* Number of distinct nodes in A and B together. */
static guint
union_size (const DkVclock *a, const DkVclock *b)
{
  guint i = 0, j = 0, count = 0;
  while (i < a->size && j < b->size)
    {
      DkNodeId node_a = a->entries[i].node, node_b = b->entries[j].node;
      i += node_a <= node_b;
      j += node_b <= node_a;
      count++;
    }
  return count + (a->size - i) + (b->size - j);
}

static void
merge_entry (DkVclockEntry *into, const DkVclockEntry *other)
{
  into->counter = MAX (into->counter, other->counter);
  into->timestamp_us = MAX (into->timestamp_us, other->timestamp_us);
}

/* Least upper bound.  When OTHER's nodes are a subset of INTO's (the usual
 * case: a key's clock is touched by the same few coordinators) it works in
 * place; otherwise it merges both sorted arrays into a fresh one. */
void
dk_vclock_merge (DkVclock *into, const DkVclock *other)
{
  g_return_if_fail (into != NULL);
  g_return_if_fail (other != NULL);
  guint merged_size = union_size (into, other);
  if (merged_size == into->size)
    {
      for (guint i = 0, j = 0; j < other->size; i++)
        if (into->entries[i].node == other->entries[j].node)
          merge_entry (&into->entries[i], &other->entries[j++]);
      return;
    }

  DkVclockEntry *merged = g_new (DkVclockEntry, merged_size);
  guint i = 0, j = 0, k = 0;
  while (i < into->size || j < other->size)
    {
      if (j == other->size || (i < into->size && into->entries[i].node < other->entries[j].node))
        merged[k++] = into->entries[i++];
      else if (i == into->size || other->entries[j].node < into->entries[i].node)
        merged[k++] = other->entries[j++];
      else
        {
          merged[k] = into->entries[i++];
          merge_entry (&merged[k++], &other->entries[j++]);
        }
    }
  release_entries (into);
  into->entries = merged;
  into->size = into->capacity = merged_size;
}

/* One walk over both clocks, noting whether each has a counter the other
 * lacks or exceeds; stops as soon as both do. */
DkVclockOrder
dk_vclock_compare (const DkVclock *a, const DkVclock *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, DK_VCLOCK_CONCURRENT);
  gboolean a_ahead = FALSE, b_ahead = FALSE;
  guint i = 0, j = 0;
  while ((i < a->size || j < b->size) && !(a_ahead && b_ahead))
    {
      if (j == b->size || (i < a->size && a->entries[i].node < b->entries[j].node))
        {
          a_ahead = TRUE; /* counters are >= 1, so a node B lacks puts A ahead */
          i++;
        }
      else if (i == a->size || b->entries[j].node < a->entries[i].node)
        {
          b_ahead = TRUE;
          j++;
        }
      else
        {
          guint64 counter_a = a->entries[i++].counter, counter_b = b->entries[j++].counter;
          a_ahead |= counter_a > counter_b;
          b_ahead |= counter_b > counter_a;
        }
    }
  if (a_ahead && b_ahead)
    return DK_VCLOCK_CONCURRENT;
  if (a_ahead)
    return DK_VCLOCK_AFTER;
  if (b_ahead)
    return DK_VCLOCK_BEFORE;
  return DK_VCLOCK_EQUAL;
}

gboolean
dk_vclock_descends (const DkVclock *a, const DkVclock *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (b->size > a->size)
    return FALSE; /* B has a node A lacks */
  guint i = 0;
  for (guint j = 0; j < b->size; j++)
    {
      while (i < a->size && a->entries[i].node < b->entries[j].node)
        i++;
      if (i == a->size || a->entries[i].node != b->entries[j].node
          || a->entries[i].counter < b->entries[j].counter)
        return FALSE;
    }
  return TRUE;
}

/* Same counters; timestamps are bookkeeping for pruning and do not count. */
gboolean
dk_vclock_equal (const DkVclock *a, const DkVclock *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (a->size != b->size)
    return FALSE;
  for (guint i = 0; i < a->size; i++)
    if (a->entries[i].node != b->entries[i].node || a->entries[i].counter != b->entries[i].counter)
      return FALSE;
  return TRUE;
}

/* Pruning order: older timestamp first, then smaller node id. */
static int
compare_by_age (const DkVclockEntry *a, const DkVclockEntry *b)
{
  if (a->timestamp_us != b->timestamp_us)
    return a->timestamp_us < b->timestamp_us ? -1 : 1;
  return a->node < b->node ? -1 : a->node > b->node;
}

static int
compare_by_age_func (gconstpointer a, gconstpointer b)
{
  return compare_by_age (a, b);
}

/* Sort a scratch copy by age to find the youngest entry that must go, then
 * keep (in node order) every entry younger than it.  (timestamp, node) is
 * unique within a clock, so exactly SIZE - MAX_ENTRIES are dropped. */
guint
dk_vclock_prune (DkVclock *clock, guint max_entries)
{
  g_return_val_if_fail (clock != NULL, 0);
  if (clock->size <= max_entries)
    return 0;
  guint dropped = clock->size - max_entries;
  g_autofree DkVclockEntry *by_age = g_memdup2 (clock->entries, clock->size * sizeof (DkVclockEntry));
  qsort (by_age, clock->size, sizeof (DkVclockEntry), compare_by_age_func);
  DkVclockEntry youngest_dropped = by_age[dropped - 1];

  guint kept = 0;
  for (guint i = 0; i < clock->size; i++)
    if (compare_by_age (&clock->entries[i], &youngest_dropped) > 0)
      clock->entries[kept++] = clock->entries[i];
  g_assert (kept == max_entries);
  clock->size = kept;
  return dropped;
}

gsize
dk_vclock_encoded_size (const DkVclock *clock)
{
  g_return_val_if_fail (clock != NULL, 0);
  return HEADER_ENCODED_BYTES + (gsize) clock->size * ENTRY_ENCODED_BYTES;
}

static inline void
put_be16 (guint8 *out, guint16 value)
{
  value = GUINT16_TO_BE (value);
  memcpy (out, &value, sizeof value);
}

static inline void
put_be32 (guint8 *out, guint32 value)
{
  value = GUINT32_TO_BE (value);
  memcpy (out, &value, sizeof value);
}

static inline void
put_be64 (guint8 *out, guint64 value)
{
  value = GUINT64_TO_BE (value);
  memcpy (out, &value, sizeof value);
}

static inline guint16
get_be16 (const guint8 *in)
{
  guint16 value;
  memcpy (&value, in, sizeof value);
  return GUINT16_FROM_BE (value);
}

static inline guint32
get_be32 (const guint8 *in)
{
  guint32 value;
  memcpy (&value, in, sizeof value);
  return GUINT32_FROM_BE (value);
}

static inline guint64
get_be64 (const guint8 *in)
{
  guint64 value;
  memcpy (&value, in, sizeof value);
  return GUINT64_FROM_BE (value);
}

gsize
dk_vclock_encode_to (const DkVclock *clock, guint8 *out)
{
  g_return_val_if_fail (clock != NULL && out != NULL, 0);
  g_return_val_if_fail (clock->size <= G_MAXUINT16, 0);
  put_be16 (out, (guint16) clock->size);
  guint8 *cursor = out + HEADER_ENCODED_BYTES;
  for (guint i = 0; i < clock->size; i++, cursor += ENTRY_ENCODED_BYTES)
    {
      put_be32 (cursor, clock->entries[i].node);
      put_be64 (cursor + 4, clock->entries[i].counter);
      put_be64 (cursor + 12, (guint64) clock->entries[i].timestamp_us);
    }
  return (gsize) (cursor - out);
}

/* A clock never legitimately exceeds the u16 count (it is pruned at
 * DK_VCLOCK_PRUNE_ENTRIES); one that exceeds DK_VCLOCK_MAX_ENTRIES still
 * encodes, but peers will refuse it, so callers prune before sending. */
void
dk_vclock_encode (const DkVclock *clock, GByteArray *out)
{
  g_return_if_fail (clock != NULL && out != NULL);
  g_return_if_fail (clock->size <= G_MAXUINT16);
  guint start = out->len;
  g_byte_array_set_size (out, start + (guint) dk_vclock_encoded_size (clock));
  dk_vclock_encode_to (clock, out->data + start);
}

/* Checks the count against DK_VCLOCK_MAX_ENTRIES and the length before
 * touching any entry, so it never reads past LEN; then validates each
 * entry in order, naming the first bad one. */
gboolean
dk_vclock_decode (const guint8 *data, gsize len, gsize *consumed,
                  DkVclock **out, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len < HEADER_ENCODED_BYTES)
    {
      g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TRUNCATED,
                   "vector clock truncated: %" G_GSIZE_FORMAT " bytes, need 2 for the entry count", len);
      return FALSE;
    }
  guint count = get_be16 (data);
  if (count > DK_VCLOCK_MAX_ENTRIES)
    {
      g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TOO_LARGE,
                   "vector clock has %u entries, at most %u allowed", count, DK_VCLOCK_MAX_ENTRIES);
      return FALSE;
    }
  gsize needed = HEADER_ENCODED_BYTES + (gsize) count * ENTRY_ENCODED_BYTES;
  if (len < needed)
    {
      g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TRUNCATED,
                   "vector clock truncated: %u entries need %" G_GSIZE_FORMAT " bytes, got %" G_GSIZE_FORMAT,
                   count, needed, len);
      return FALSE;
    }

  g_autoptr (DkVclock) clock = clock_new_inline (count);
  const guint8 *cursor = data + HEADER_ENCODED_BYTES;
  for (guint i = 0; i < count; i++, cursor += ENTRY_ENCODED_BYTES)
    {
      DkVclockEntry entry = {
        .node = (DkNodeId) get_be32 (cursor),
        .counter = get_be64 (cursor + 4),
        .timestamp_us = (gint64) get_be64 (cursor + 12),
      };
      if (entry.node == DK_NODE_NONE)
        {
          g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                       "vector clock entry %u has node 0 (no such node)", i);
          return FALSE;
        }
      if (entry.counter == 0)
        {
          g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                       "vector clock entry %u (node %u) has counter 0", i, entry.node);
          return FALSE;
        }
      if (i > 0 && entry.node <= clock->entries[i - 1].node)
        {
          g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                       "vector clock entry %u (node %u) %s node %u: entries must ascend by node",
                       i, entry.node, entry.node == clock->entries[i - 1].node ? "repeats" : "follows",
                       clock->entries[i - 1].node);
          return FALSE;
        }
      clock->entries[clock->size++] = entry;
    }
  if (consumed != NULL)
    *consumed = needed;
  *out = g_steal_pointer (&clock);
  return TRUE;
}

char *
dk_vclock_to_string (const DkVclock *clock)
{
  g_return_val_if_fail (clock != NULL, NULL);
  GString *text = g_string_new ("{");
  for (guint i = 0; i < clock->size; i++)
    g_string_append_printf (text, "%s%u:%" G_GUINT64_FORMAT, i > 0 ? ", " : "",
                            clock->entries[i].node, clock->entries[i].counter);
  g_string_append_c (text, '}');
  return g_string_free (text, FALSE);
}

/* ---- versions ----------------------------------------------------------- */

DkVersion *
dk_version_new (DkVclock *clock, GBytes *value, gboolean tombstone)
{
  g_return_val_if_fail (clock != NULL, NULL);
  g_return_val_if_fail (!tombstone || value == NULL || g_bytes_get_size (value) == 0, NULL);
  DkVersion *version = g_new (DkVersion, 1);
  version->clock = clock;
  version->value = value != NULL ? g_bytes_ref (value) : g_bytes_new (NULL, 0);
  version->tombstone = tombstone != FALSE;
  return version;
}

/* A copy is one allocation: the version, its clock and the clock's
 * entries, in that order ("embedded" clock; dk_version_free knows). */
#define EMBEDDED_CLOCK(version) ((DkVclock *) ((DkVersion *) (version) + 1))
G_STATIC_ASSERT (sizeof (DkVersion) % G_ALIGNOF (DkVclock) == 0);

DkVersion *
dk_version_copy (const DkVersion *version)
{
  g_return_val_if_fail (version != NULL, NULL);
  const DkVclock *clock = version->clock;
  g_return_val_if_fail (clock != NULL, NULL);
  DkVersion *copy = g_malloc (sizeof (DkVersion) + sizeof (DkVclock)
                              + (gsize) clock->size * sizeof (DkVclockEntry));
  DkVclock *embedded = EMBEDDED_CLOCK (copy);
  embedded->entries = clock->size > 0 ? INLINE_ENTRIES (embedded) : NULL;
  embedded->size = embedded->capacity = clock->size;
  if (clock->size > 0)
    memcpy (embedded->entries, clock->entries, clock->size * sizeof (DkVclockEntry));
  copy->clock = embedded;
  copy->value = version->value != NULL ? g_bytes_ref (version->value) : g_bytes_new (NULL, 0);
  copy->tombstone = version->tombstone != FALSE;
  return copy;
}

void
dk_version_free (DkVersion *version)
{
  if (version == NULL)
    return;
  if (version->clock == EMBEDDED_CLOCK (version))
    release_entries (version->clock);  /* they may have outgrown the block */
  else
    dk_vclock_free (version->clock);
  g_bytes_unref (version->value);
  g_free (version);
}

/* Byte-wise comparison of the canonical clock encodings, without encoding:
 * the count comes first, then fixed-width big-endian fields, so comparing
 * the fields as unsigned numbers in order gives the same answer. */
static int
compare_encoded_clocks (const DkVclock *a, const DkVclock *b)
{
  if (a->size != b->size)
    return a->size < b->size ? -1 : 1;
  for (guint i = 0; i < a->size; i++)
    {
      const DkVclockEntry *x = &a->entries[i], *y = &b->entries[i];
      if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
      if (x->counter != y->counter)
        return x->counter < y->counter ? -1 : 1;
      if (x->timestamp_us != y->timestamp_us)
        return (guint64) x->timestamp_us < (guint64) y->timestamp_us ? -1 : 1;
    }
  return 0;
}

int
dk_version_compare (const DkVersion *a, const DkVersion *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, 0);
  int order = compare_encoded_clocks (a->clock, b->clock);
  if (order != 0)
    return order;
  if (a->tombstone != b->tombstone)
    return a->tombstone ? 1 : -1;
  return g_bytes_compare (a->value, b->value);
}

/* ---- sibling sets ------------------------------------------------------- */

GPtrArray *
dk_siblings_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) dk_version_free);
}

GPtrArray *
dk_siblings_copy (const GPtrArray *siblings)
{
  g_return_val_if_fail (siblings != NULL, NULL);
  GPtrArray *copy = g_ptr_array_new_full (siblings->len, (GDestroyNotify) dk_version_free);
  for (guint i = 0; i < siblings->len; i++)
    g_ptr_array_add (copy, dk_version_copy (g_ptr_array_index (siblings, i)));
  return copy;
}

/* WINNER beats LOSER when its clock is strictly newer, or the clocks are
 * equal and WINNER sorts later.  This is a strict partial order, so the set
 * of unbeaten versions does not depend on arrival order. */
static gboolean
version_beats (const DkVersion *winner, const DkVersion *loser)
{
  switch (dk_vclock_compare (winner->clock, loser->clock))
    {
    case DK_VCLOCK_AFTER:
      return TRUE;
    case DK_VCLOCK_EQUAL:
      return dk_version_compare (winner, loser) > 0;
    case DK_VCLOCK_BEFORE:
    case DK_VCLOCK_CONCURRENT:
    default:
      return FALSE;
    }
}

/* Adds INCOMING unless a member beats it or equals it exactly, removing
 * the members it beats, and inserts it at its canonical position. */
gboolean
dk_siblings_add (GPtrArray *siblings, DkVersion *incoming)
{
  g_return_val_if_fail (siblings != NULL, FALSE);
  g_return_val_if_fail (incoming != NULL, FALSE);
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *member = g_ptr_array_index (siblings, i);
      if (version_beats (member, incoming) || dk_version_compare (member, incoming) == 0)
        {
          dk_version_free (incoming);
          return FALSE;
        }
    }
  for (guint i = siblings->len; i-- > 0;)
    if (version_beats (incoming, g_ptr_array_index (siblings, i)))
      g_ptr_array_remove_index (siblings, i);

  guint position = 0;
  while (position < siblings->len
         && dk_version_compare (g_ptr_array_index (siblings, position), incoming) < 0)
    position++;
  g_ptr_array_insert (siblings, (gint) position, incoming);
  return TRUE;
}

gboolean
dk_siblings_merge (GPtrArray *siblings, const GPtrArray *other)
{
  g_return_val_if_fail (siblings != NULL && other != NULL, FALSE);
  g_return_val_if_fail (siblings != other, FALSE);
  gboolean changed = FALSE;
  for (guint i = 0; i < other->len; i++)
    changed |= dk_siblings_add (siblings, dk_version_copy (g_ptr_array_index (other, i)));
  return changed;
}

DkVclock *
dk_siblings_context (const GPtrArray *siblings)
{
  g_return_val_if_fail (siblings != NULL, NULL);
  DkVclock *context = dk_vclock_new ();
  for (guint i = 0; i < siblings->len; i++)
    dk_vclock_merge (context, ((const DkVersion *) g_ptr_array_index (siblings, i))->clock);
  return context;
}

gboolean
dk_siblings_equal (const GPtrArray *a, const GPtrArray *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (dk_version_compare (g_ptr_array_index (a, i), g_ptr_array_index (b, i)) != 0)
      return FALSE;
  return TRUE;
}

/* Digest input: u32 version count, then per version its clock encoding, a
 * tombstone byte, u32 value length and the value, in canonical order.  The
 * input is hashed piece by piece, never gathered: a clock is encoded into
 * a small stack buffer (the largest one allowed fits), a value is hashed
 * where it lies. */
guint64
dk_siblings_digest (const GPtrArray *siblings)
{
  g_return_val_if_fail (siblings != NULL, 0);
  gsize total = 4;
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      total += dk_vclock_encoded_size (version->clock) + 1 + 4
               + g_bytes_get_size (version->value);
    }
  DkHash64Stream stream;
  dk_hash64_stream_init (&stream, total, 0);
  guint8 word[4];
  put_be32 (word, siblings->len);
  dk_hash64_stream_update (&stream, word, sizeof word);
  guint8 small[HEADER_ENCODED_BYTES + 16 * ENTRY_ENCODED_BYTES + 5];
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      gsize value_len;
      const guint8 *value = g_bytes_get_data (version->value, &value_len);
      gsize clock_len = dk_vclock_encoded_size (version->clock);
      /* Clock, tombstone byte and value length in one piece when they fit. */
      g_autofree guint8 *large = clock_len + 5 > sizeof small ? g_malloc (clock_len + 5) : NULL;
      guint8 *piece = large != NULL ? large : small;
      dk_vclock_encode_to (version->clock, piece);
      piece[clock_len] = version->tombstone ? 1 : 0;
      put_be32 (piece + clock_len + 1, (guint32) value_len);
      dk_hash64_stream_update (&stream, piece, clock_len + 5);
      if (value_len > 0)
        dk_hash64_stream_update (&stream, value, value_len);
    }
  return dk_hash64_stream_finish (&stream);
}
