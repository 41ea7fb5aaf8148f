/* vclock.c — vector clocks of actors; see vclock.h for the contract.
 *
 * A clock is a malloc'd array of entries sorted by actor, so every binary
 * operation is one linear walk over both clocks.  No static mutable state.
 * Versions and sibling sets, which are built on clocks, live in version.c.
 */
#include <errno.h>
#include <string.h>
#include "vclock.h"
#include "hash.h"

/* u64 actor + u64 counter + i64 timestamp_us */
#define ENTRY_ENCODED_BYTES 24u
/* u16 entry count */
#define HEADER_ENCODED_BYTES 2u

struct _DkVclock
{
  DkVclockEntry *entries; /* ascending actor, no duplicates; may be inline */
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

/* Index of ACTOR's entry, or of where it would be inserted; *FOUND says which. */
static guint
find_index (const DkVclock *clock, DkActor actor, gboolean *found)
{
  guint low = 0, high = clock->size;
  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      if (clock->entries[middle].actor < actor)
        low = middle + 1;
      else
        high = middle;
    }
  *found = low < clock->size && clock->entries[low].actor == actor;
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
dk_vclock_get (const DkVclock *clock, DkActor actor)
{
  g_return_val_if_fail (clock != NULL, 0);
  gboolean found;
  guint index = find_index (clock, actor, &found);
  return found ? clock->entries[index].counter : 0;
}

void
dk_vclock_increment (DkVclock *clock, DkActor actor, gint64 timestamp_us)
{
  g_return_if_fail (clock != NULL);
  guint64 counter = dk_vclock_get (clock, actor);
  g_return_if_fail (counter < G_MAXUINT64);
  dk_vclock_raise (clock, actor, counter + 1, timestamp_us);
}

void
dk_vclock_raise (DkVclock *clock, DkActor actor, guint64 counter, gint64 timestamp_us)
{
  g_return_if_fail (clock != NULL);
  g_return_if_fail (actor != DK_ACTOR_NONE && counter > 0);
  gboolean found;
  guint index = find_index (clock, actor, &found);
  if (found)
    {
      DkVclockEntry *entry = &clock->entries[index];
      entry->counter = MAX (entry->counter, counter);
      entry->timestamp_us = MAX (entry->timestamp_us, timestamp_us);
      return;
    }
  reserve (clock, clock->size + 1);
  memmove (&clock->entries[index + 1], &clock->entries[index],
           (clock->size - index) * sizeof (DkVclockEntry));
  clock->entries[index] = (DkVclockEntry) { actor, counter, timestamp_us };
  clock->size++;
}

/* Number of distinct actors in A and B together. */
static guint
union_size (const DkVclock *a, const DkVclock *b)
{
  guint i = 0, j = 0, count = 0;
  while (i < a->size && j < b->size)
    {
      DkActor actor_a = a->entries[i].actor, actor_b = b->entries[j].actor;
      i += actor_a <= actor_b;
      j += actor_b <= actor_a;
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

/* Least upper bound.  When OTHER's actors are a subset of INTO's (the usual
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
        if (into->entries[i].actor == other->entries[j].actor)
          merge_entry (&into->entries[i], &other->entries[j++]);
      return;
    }

  DkVclockEntry *merged = g_new (DkVclockEntry, merged_size);
  guint i = 0, j = 0, k = 0;
  while (i < into->size || j < other->size)
    {
      if (j == other->size || (i < into->size && into->entries[i].actor < other->entries[j].actor))
        merged[k++] = into->entries[i++];
      else if (i == into->size || other->entries[j].actor < into->entries[i].actor)
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
      if (j == b->size || (i < a->size && a->entries[i].actor < b->entries[j].actor))
        {
          a_ahead = TRUE; /* counters are >= 1, so an actor B lacks puts A ahead */
          i++;
        }
      else if (i == a->size || b->entries[j].actor < a->entries[i].actor)
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
    return FALSE; /* B has an actor A lacks */
  guint i = 0;
  for (guint j = 0; j < b->size; j++)
    {
      while (i < a->size && a->entries[i].actor < b->entries[j].actor)
        i++;
      if (i == a->size || a->entries[i].actor != b->entries[j].actor
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
    if (a->entries[i].actor != b->entries[i].actor || a->entries[i].counter != b->entries[i].counter)
      return FALSE;
  return TRUE;
}

/* Pruning order: older timestamp first, then smaller actor. */
static int
compare_by_age (const DkVclockEntry *a, const DkVclockEntry *b)
{
  if (a->timestamp_us != b->timestamp_us)
    return a->timestamp_us < b->timestamp_us ? -1 : 1;
  return a->actor < b->actor ? -1 : a->actor > b->actor;
}

static int
compare_by_age_func (gconstpointer a, gconstpointer b)
{
  return compare_by_age (a, b);
}

static gboolean
actor_kept (DkActor actor, const DkActor *keep, guint n_keep)
{
  for (guint i = 0; i < n_keep; i++)
    if (keep[i] == actor)
      return TRUE;
  return FALSE;
}

/* Sort the entries that may go by age and drop the oldest ones, keeping
 * the survivors in actor order.  Entries of KEEP never go, so a clock
 * whose kept actors alone exceed MAX_ENTRIES stays longer than it. */
guint
dk_vclock_prune (DkVclock *clock, guint max_entries, const DkActor *keep, guint n_keep)
{
  g_return_val_if_fail (clock != NULL, 0);
  g_return_val_if_fail (keep != NULL || n_keep == 0, 0);
  if (clock->size <= max_entries)
    return 0;
  g_autofree DkVclockEntry *candidates = g_new (DkVclockEntry, clock->size);
  guint n_candidates = 0;
  for (guint i = 0; i < clock->size; i++)
    if (!actor_kept (clock->entries[i].actor, keep, n_keep))
      candidates[n_candidates++] = clock->entries[i];
  guint dropped = MIN (clock->size - max_entries, n_candidates);
  if (dropped == 0)
    return 0;
  qsort (candidates, n_candidates, sizeof (DkVclockEntry), compare_by_age_func);
  /* (timestamp, actor) is unique within a clock: the DROPPED oldest
   * candidates are exactly those not younger than the last of them. */
  DkVclockEntry youngest_dropped = candidates[dropped - 1];
  guint kept = 0;
  for (guint i = 0; i < clock->size; i++)
    if (actor_kept (clock->entries[i].actor, keep, n_keep)
        || compare_by_age (&clock->entries[i], &youngest_dropped) > 0)
      clock->entries[kept++] = clock->entries[i];
  g_assert (kept == clock->size - dropped);
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
      put_be64 (cursor, clock->entries[i].actor);
      put_be64 (cursor + 8, clock->entries[i].counter);
      put_be64 (cursor + 16, (guint64) clock->entries[i].timestamp_us);
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
  char shown[DK_ACTOR_STRING_SIZE];
  const guint8 *cursor = data + HEADER_ENCODED_BYTES;
  for (guint i = 0; i < count; i++, cursor += ENTRY_ENCODED_BYTES)
    {
      DkVclockEntry entry = {
        .actor = get_be64 (cursor),
        .counter = get_be64 (cursor + 8),
        .timestamp_us = (gint64) get_be64 (cursor + 16),
      };
      if (entry.actor == DK_ACTOR_NONE)
        {
          g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                       "vector clock entry %u has actor 0 (no such actor)", i);
          return FALSE;
        }
      if (entry.counter == 0)
        {
          g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                       "vector clock entry %u (actor %s) has counter 0", i,
                       dk_actor_format (entry.actor, shown));
          return FALSE;
        }
      if (i > 0 && entry.actor <= clock->entries[i - 1].actor)
        {
          char previous[DK_ACTOR_STRING_SIZE];
          g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                       "vector clock entry %u (actor %s) %s actor %s: entries must ascend by actor",
                       i, dk_actor_format (entry.actor, shown),
                       entry.actor == clock->entries[i - 1].actor ? "repeats" : "follows",
                       dk_actor_format (clock->entries[i - 1].actor, previous));
          return FALSE;
        }
      clock->entries[clock->size++] = entry;
    }
  if (consumed != NULL)
    *consumed = needed;
  *out = g_steal_pointer (&clock);
  return TRUE;
}

void
dk_vclock_append_string (const DkVclock *clock, GString *out)
{
  g_return_if_fail (clock != NULL && out != NULL);
  char shown[DK_ACTOR_STRING_SIZE];
  g_string_append_c (out, '{');
  for (guint i = 0; i < clock->size; i++)
    g_string_append_printf (out, "%s%s:%" G_GUINT64_FORMAT, i > 0 ? ", " : "",
                            dk_actor_format (clock->entries[i].actor, shown),
                            clock->entries[i].counter);
  g_string_append_c (out, '}');
}

char *
dk_vclock_to_string (const DkVclock *clock)
{
  g_return_val_if_fail (clock != NULL, NULL);
  GString *text = g_string_new (NULL);
  dk_vclock_append_string (clock, text);
  return g_string_free (text, FALSE);
}

/* "{" [ACTOR ":" COUNTER {", " ACTOR ":" COUNTER}] "}", spaces optional. */
DkVclock *
dk_vclock_parse (const char *text, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  const char *p = text;
  g_autoptr (DkVclock) clock = dk_vclock_new ();
  while (*p == ' ')
    p++;
  if (*p++ != '{')
    goto bad;
  while (*p == ' ')
    p++;
  while (*p != '}')
    {
      char *end;
      DkActor actor;
      if (!dk_actor_parse (p, &end, &actor) || *end != ':')
        goto bad;
      p = end + 1;
      if (!g_ascii_isdigit (*p))
        goto bad;
      errno = 0;
      guint64 counter = g_ascii_strtoull (p, &end, 10);
      if (errno != 0)
        goto bad;   /* past 2^64 - 1 */
      if (counter == 0 || dk_vclock_get (clock, actor) != 0
          || (clock->size > 0 && actor < clock->entries[clock->size - 1].actor))
        goto bad;
      dk_vclock_raise (clock, actor, counter, 0);
      p = end;
      while (*p == ' ')
        p++;
      if (*p == ',')
        {
          p++;
          while (*p == ' ')
            p++;
          if (*p == '}')
            goto bad;
        }
      else if (*p != '}')
        goto bad;
    }
  p++;
  while (*p == ' ')
    p++;
  if (*p != '\0')
    goto bad;
  return g_steal_pointer (&clock);

bad:
  g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
               "'%s' is not a clock: expected {ACTOR:COUNTER, ...} with ACTOR as NODE.INCARNATION,"
               " ascending, counters >= 1", text);
  return NULL;
}

/* ---- actors ------------------------------------------------------------- */

const char *
dk_actor_format (DkActor actor, char buffer[DK_ACTOR_STRING_SIZE])
{
  g_snprintf (buffer, DK_ACTOR_STRING_SIZE, "%u.%x", dk_actor_node (actor),
              dk_actor_incarnation (actor));
  return buffer;
}

gboolean
dk_actor_parse (const char *text, char **end, DkActor *actor)
{
  g_return_val_if_fail (text != NULL && end != NULL && actor != NULL, FALSE);
  *end = (char *) text;
  if (!g_ascii_isdigit (text[0]))
    return FALSE;
  char *dot;
  guint64 node = g_ascii_strtoull (text, &dot, 10);
  if (*dot != '.' || !g_ascii_isxdigit (dot[1]) || node == 0 || node > G_MAXUINT32)
    return FALSE;
  /* Hex digits only (strtoull would also take a "0x" prefix), at most 8. */
  const char *after = dot + 1;
  guint64 incarnation = 0;
  while (g_ascii_isxdigit (*after) && after - dot <= 8)
    incarnation = incarnation * 16 + (guint64) g_ascii_xdigit_value (*after++);
  if (incarnation == 0 || g_ascii_isxdigit (*after))
    return FALSE;
  *actor = dk_actor_make ((DkNodeId) node, (guint32) incarnation);
  *end = (char *) after;
  return TRUE;
}
