/* version.c — dots, versions, sibling sets and the issuing rules; see
 * version.h for the contract.
 *
 * Sibling sets are GPtrArrays kept in canonical order.  Reconciliation
 * keeps the versions nobody replaces (version.h's one merge rule); for two
 * versions with one dot but different payloads, which a correct node never
 * produces, the one that sorts last wins, so the surviving set does not
 * depend on the order versions arrive in either way.
 */
#include <string.h>
#include "version.h"
#include "hash.h"

#define DOT_ENCODED_BYTES 24u

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

static inline guint64
get_be64 (const guint8 *in)
{
  guint64 value;
  memcpy (&value, in, sizeof value);
  return GUINT64_FROM_BE (value);
}

/* ---- dots ---------------------------------------------------------------- */

const char *
dk_dot_format (DkDot dot, char buffer[DK_DOT_STRING_SIZE])
{
  char actor[DK_ACTOR_STRING_SIZE];
  g_snprintf (buffer, DK_DOT_STRING_SIZE, "%s:%" G_GUINT64_FORMAT,
              dk_actor_format (dot.actor, actor), dot.counter);
  return buffer;
}

gboolean
dk_dot_parse (const char *text, DkDot *dot)
{
  g_return_val_if_fail (text != NULL && dot != NULL, FALSE);
  char *end;
  DkActor actor;
  if (!dk_actor_parse (text, &end, &actor) || *end != ':' || !g_ascii_isdigit (end[1]))
    return FALSE;
  char *after;
  guint64 counter = g_ascii_strtoull (end + 1, &after, 10);
  if (*after != '\0' || counter == 0 || counter > DK_DOT_COUNTER_MAX)
    return FALSE;
  *dot = (DkDot) { actor, counter, 0 };
  return TRUE;
}

gboolean
dk_dot_covered (DkDot dot, const DkVclock *context)
{
  g_return_val_if_fail (context != NULL, FALSE);
  return dk_vclock_get (context, dot.actor) >= dot.counter;
}

static gboolean
dots_equal (DkDot a, DkDot b)
{
  return a.actor == b.actor && a.counter == b.counter;
}

guint
dk_dot_hash (gconstpointer key)
{
  const DkDot *dot = key;
  return g_int64_hash (&dot->actor) ^ g_int64_hash (&dot->counter);
}

gboolean
dk_dot_equal (gconstpointer a, gconstpointer b)
{
  return dots_equal (*(const DkDot *) a, *(const DkDot *) b);
}

const char *
dk_versioning_name (DkVersioning versioning)
{
  return versioning == DK_VERSIONING_VV ? "vv" : "dvv";
}

gboolean
dk_versioning_from_name (const char *name, DkVersioning *versioning)
{
  g_return_val_if_fail (name != NULL && versioning != NULL, FALSE);
  if (strcmp (name, "dvv") == 0)
    *versioning = DK_VERSIONING_DVV;
  else if (strcmp (name, "vv") == 0)
    *versioning = DK_VERSIONING_VV;
  else
    return FALSE;
  return TRUE;
}

/* ---- versions ------------------------------------------------------------ */

DkVersion *
dk_version_new (DkDot dot, DkVclock *context, GBytes *value, gboolean tombstone)
{
  if (dot.actor == DK_ACTOR_NONE || dot.counter == 0
      || (tombstone && value != NULL && g_bytes_get_size (value) > 0))
    {
      dk_vclock_free (context);   /* taken, even on a programmer error */
      g_return_val_if_reached (NULL);
    }
  DkVersion *version = g_new (DkVersion, 1);
  version->dot = dot;
  version->context = context != NULL ? context : dk_vclock_new ();
  version->value = value != NULL ? g_bytes_ref (value) : g_bytes_new (NULL, 0);
  version->tombstone = tombstone != FALSE;
  return version;
}

DkVersion *
dk_version_copy (const DkVersion *version)
{
  g_return_val_if_fail (version != NULL, NULL);
  return dk_version_new (version->dot, dk_vclock_copy (version->context), version->value,
                         version->tombstone);
}

void
dk_version_free (DkVersion *version)
{
  if (version == NULL)
    return;
  dk_vclock_free (version->context);
  g_bytes_unref (version->value);
  g_free (version);
}

DkVclock *
dk_version_clock (const DkVersion *version)
{
  g_return_val_if_fail (version != NULL, NULL);
  DkVclock *clock = dk_vclock_copy (version->context);
  dk_vclock_raise (clock, version->dot.actor, version->dot.counter, version->dot.wall_us);
  return clock;
}

gboolean
dk_version_replaces (const DkVersion *newer, const DkVersion *older)
{
  g_return_val_if_fail (newer != NULL && older != NULL, FALSE);
  return !dots_equal (newer->dot, older->dot) && dk_dot_covered (older->dot, newer->context);
}

/* Field-wise comparison of the canonical clock encodings, without encoding:
 * the count comes first, then fixed-width big-endian fields. */
static int
compare_encoded_clocks (const DkVclock *a, const DkVclock *b)
{
  guint a_size, b_size;
  const DkVclockEntry *x = dk_vclock_entries (a, &a_size), *y = dk_vclock_entries (b, &b_size);
  if (a_size != b_size)
    return a_size < b_size ? -1 : 1;
  for (guint i = 0; i < a_size; i++)
    {
      if (x[i].actor != y[i].actor)
        return x[i].actor < y[i].actor ? -1 : 1;
      if (x[i].counter != y[i].counter)
        return x[i].counter < y[i].counter ? -1 : 1;
      if (x[i].timestamp_us != y[i].timestamp_us)
        return (guint64) x[i].timestamp_us < (guint64) y[i].timestamp_us ? -1 : 1;
    }
  return 0;
}

static int
compare_dots (DkDot a, DkDot b)
{
  if (a.actor != b.actor)
    return a.actor < b.actor ? -1 : 1;
  if (a.counter != b.counter)
    return a.counter < b.counter ? -1 : 1;
  return 0;
}

int
dk_version_compare (const DkVersion *a, const DkVersion *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, 0);
  int order = compare_dots (a->dot, b->dot);
  if (order != 0)
    return order;
  if (a->dot.wall_us != b->dot.wall_us)
    return (guint64) a->dot.wall_us < (guint64) b->dot.wall_us ? -1 : 1;
  order = compare_encoded_clocks (a->context, b->context);
  if (order != 0)
    return order;
  if (a->tombstone != b->tombstone)
    return a->tombstone ? 1 : -1;
  return g_bytes_compare (a->value, b->value);
}

/* ---- sibling sets --------------------------------------------------------- */

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
    g_ptr_array_add (copy, dk_version_copy (g_ptr_array_index ((GPtrArray *) siblings, i)));
  return copy;
}

/* The payload order of two versions with one dot: wall time, tombstone
 * flag, then value bytes. */
static int
compare_payloads (const DkVersion *a, const DkVersion *b)
{
  if (a->dot.wall_us != b->dot.wall_us)
    return (guint64) a->dot.wall_us < (guint64) b->dot.wall_us ? -1 : 1;
  if (a->tombstone != b->tombstone)
    return a->tombstone ? 1 : -1;
  if (a->value == b->value)   /* one value shared by copies of a version */
    return 0;
  return g_bytes_compare (a->value, b->value);
}

/* MEMBER and INCOMING (taken) carry one dot: the one version they become
 * is the payload that sorts last with the union of both contexts, so the
 * outcome does not depend on which arrived first (a different payload is
 * a collision, counted in *COLLISIONS).  NULL when MEMBER already is it. */
static DkVersion *
fold_same_dot (const DkVersion *member, DkVersion *incoming, guint64 *collisions)
{
  int payload = compare_payloads (member, incoming);
  if (payload != 0 && collisions != NULL)
    (*collisions)++;
  if (payload >= 0 && compare_encoded_clocks (member->context, incoming->context) == 0)
    {
      /* The same version again (a copy of it): nothing to merge. */
      dk_version_free (incoming);
      return NULL;
    }
  const DkVersion *winner = payload >= 0 ? member : incoming;
  DkVclock *context = dk_vclock_copy (member->context);
  dk_vclock_merge (context, incoming->context);
  if (payload >= 0 && compare_encoded_clocks (context, member->context) == 0)
    {
      dk_vclock_free (context);
      dk_version_free (incoming);
      return NULL;
    }
  DkVersion *folded = dk_version_new (winner->dot, context, winner->value, winner->tombstone);
  dk_version_free (incoming);
  return folded;
}

gboolean
dk_siblings_add (GPtrArray *siblings, DkVersion *incoming, guint64 *collisions)
{
  g_return_val_if_fail (siblings != NULL, FALSE);
  g_return_val_if_fail (incoming != NULL, FALSE);
  gboolean changed = FALSE;
  /* A reconciled set holds at most one version per dot. */
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *member = g_ptr_array_index (siblings, i);
      if (!dots_equal (member->dot, incoming->dot))
        continue;
      incoming = fold_same_dot (member, incoming, collisions);
      if (incoming == NULL)
        return FALSE;
      g_ptr_array_remove_index (siblings, i);
      changed = TRUE;
      break;
    }
  for (guint i = 0; i < siblings->len; i++)
    if (dk_version_replaces (g_ptr_array_index (siblings, i), incoming))
      {
        dk_version_free (incoming);
        return changed;
      }
  for (guint i = siblings->len; i-- > 0;)
    if (dk_version_replaces (incoming, g_ptr_array_index (siblings, i)))
      g_ptr_array_remove_index (siblings, i);

  guint position = 0;
  while (position < siblings->len
         && dk_version_compare (g_ptr_array_index (siblings, position), incoming) < 0)
    position++;
  g_ptr_array_insert (siblings, (gint) position, incoming);
  return TRUE;
}

gboolean
dk_siblings_merge (GPtrArray *siblings, const GPtrArray *other, guint64 *collisions)
{
  g_return_val_if_fail (siblings != NULL && other != NULL, FALSE);
  g_return_val_if_fail (siblings != other, FALSE);
  gboolean changed = FALSE;
  for (guint i = 0; i < other->len; i++)
    changed |= dk_siblings_add (siblings, dk_version_copy (g_ptr_array_index ((GPtrArray *) other, i)),
                                collisions);
  return changed;
}

DkVclock *
dk_siblings_context (const GPtrArray *siblings)
{
  g_return_val_if_fail (siblings != NULL, NULL);
  DkVclock *context = dk_vclock_new ();
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      dk_vclock_merge (context, version->context);
      dk_vclock_raise (context, version->dot.actor, version->dot.counter, version->dot.wall_us);
    }
  return context;
}

gboolean
dk_siblings_equal (const GPtrArray *a, const GPtrArray *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (dk_version_compare (g_ptr_array_index ((GPtrArray *) a, i),
                            g_ptr_array_index ((GPtrArray *) b, i)) != 0)
      return FALSE;
  return TRUE;
}

/* Digest input: u32 version count, then per version its header encoding,
 * a tombstone byte, u32 value length and the value, in canonical order,
 * hashed piece by piece, never gathered. */
guint64
dk_siblings_digest (const GPtrArray *siblings)
{
  g_return_val_if_fail (siblings != NULL, 0);
  gsize total = 4;
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      total += dk_version_header_size (version) + 1 + 4 + g_bytes_get_size (version->value);
    }
  DkHash64Stream stream;
  dk_hash64_stream_init (&stream, total, 0);
  guint8 word[4];
  put_be32 (word, siblings->len);
  dk_hash64_stream_update (&stream, word, sizeof word);
  guint8 small[DOT_ENCODED_BYTES + 2 + 16 * 24 + 5];
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      gsize value_len;
      const guint8 *value = g_bytes_get_data (version->value, &value_len);
      gsize header_len = dk_version_header_size (version);
      g_autofree guint8 *large = header_len + 5 > sizeof small ? g_malloc (header_len + 5) : NULL;
      guint8 *piece = large != NULL ? large : small;
      dk_version_header_encode_to (version, piece);
      piece[header_len] = version->tombstone ? 1 : 0;
      put_be32 (piece + header_len + 1, (guint32) value_len);
      dk_hash64_stream_update (&stream, piece, header_len + 5);
      if (value_len > 0)
        dk_hash64_stream_update (&stream, value, value_len);
    }
  return dk_hash64_stream_finish (&stream);
}

/* ---- issuing -------------------------------------------------------------- */

/* Actors of the LOCAL versions CONTEXT replaces, at most ROOM of them in
 * KEEP (pruning must leave them covered); returns how many.  They are
 * entries of CONTEXT, so ROOM = DK_VCLOCK_MAX_ENTRIES holds them all. */
static guint
replaced_actors (const GPtrArray *local, const DkVclock *context, DkActor *keep, guint room)
{
  guint n = 0;
  for (guint i = 0; i < local->len && n < room; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) local, i);
      if (!dk_dot_covered (version->dot, context))
        continue;
      gboolean seen = FALSE;
      for (guint k = 0; k < n && !seen; k++)
        seen = keep[k] == version->dot.actor;
      if (!seen)
        keep[n++] = version->dot.actor;
    }
  return n;
}

DkVersion *
dk_version_issue (DkVersioning versioning, DkDot dot, const GPtrArray *local,
                  const DkVclock *client_context, GBytes *value, gboolean tombstone,
                  guint prune_entries, guint *pruned)
{
  g_return_val_if_fail (local != NULL, NULL);
  g_return_val_if_fail (dot.actor != DK_ACTOR_NONE && dot.counter > 0, NULL);
  DkVclock *context = client_context != NULL ? dk_vclock_copy (client_context) : dk_vclock_new ();
  if (versioning == DK_VERSIONING_VV)
    {
      /* The server-side clock: everything of our own we hold counts as
       * seen, with the history it carries (so what it replaced stays
       * replaced, whatever order replicas merge in). */
      for (guint i = 0; i < local->len; i++)
        {
          const DkVersion *version = g_ptr_array_index ((GPtrArray *) local, i);
          if (version->dot.actor == dot.actor)
            {
              dk_vclock_merge (context, version->context);
              dk_vclock_raise (context, dot.actor, version->dot.counter, version->dot.wall_us);
            }
          else if (dk_vclock_get (version->context, dot.actor) > 0)
            dk_vclock_merge (context, version->context);
        }
    }
  guint dropped = 0;
  if (prune_entries > 0 && dk_vclock_size (context) > prune_entries)
    {
      DkActor keep[DK_VCLOCK_MAX_ENTRIES + 1];
      guint n_keep = replaced_actors (local, context, keep, G_N_ELEMENTS (keep));
      dropped = dk_vclock_prune (context, prune_entries, keep, n_keep);
    }
  if (pruned != NULL)
    *pruned = dropped;
  return dk_version_new (dot, context, tombstone ? NULL : value, tombstone);
}

/* ---- encoding ------------------------------------------------------------- */

gsize
dk_version_header_size (const DkVersion *version)
{
  g_return_val_if_fail (version != NULL, 0);
  return DOT_ENCODED_BYTES + dk_vclock_encoded_size (version->context);
}

gsize
dk_version_header_encode_to (const DkVersion *version, guint8 *out)
{
  g_return_val_if_fail (version != NULL && out != NULL, 0);
  put_be64 (out, version->dot.actor);
  put_be64 (out + 8, version->dot.counter);
  put_be64 (out + 16, (guint64) version->dot.wall_us);
  return DOT_ENCODED_BYTES + dk_vclock_encode_to (version->context, out + DOT_ENCODED_BYTES);
}

gboolean
dk_version_header_decode (const guint8 *data, gsize len, gsize *consumed, DkDot *dot,
                          DkVclock **context, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (dot != NULL && context != NULL, FALSE);
  if (len < DOT_ENCODED_BYTES)
    {
      g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TRUNCATED,
                   "dot truncated: %" G_GSIZE_FORMAT " bytes, need %u", len, DOT_ENCODED_BYTES);
      return FALSE;
    }
  DkDot decoded = { get_be64 (data), get_be64 (data + 8), (gint64) get_be64 (data + 16) };
  if (decoded.actor == DK_ACTOR_NONE || decoded.counter == 0
      || decoded.counter > DK_DOT_COUNTER_MAX)
    {
      g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                   "dot has actor %" G_GUINT64_FORMAT " and counter %" G_GUINT64_FORMAT
                   ": need a non-zero actor and a counter in 1..2^62",
                   decoded.actor, decoded.counter);
      return FALSE;
    }
  gsize used = 0;
  g_autoptr (DkVclock) decoded_context = NULL;
  if (!dk_vclock_decode (data + DOT_ENCODED_BYTES, len - DOT_ENCODED_BYTES, &used,
                         &decoded_context, error))
    return FALSE;
  guint n_entries;
  const DkVclockEntry *entries = dk_vclock_entries (decoded_context, &n_entries);
  for (guint i = 0; i < n_entries; i++)
    if (entries[i].counter > DK_DOT_COUNTER_MAX)
      {
        g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                     "context entry %u has counter %" G_GUINT64_FORMAT ", past 2^62", i,
                     entries[i].counter);
        return FALSE;
      }
  if (dk_dot_covered (decoded, decoded_context))
    {
      char shown[DK_DOT_STRING_SIZE];
      g_set_error (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_INVALID,
                   "version %s has a context that covers its own dot",
                   dk_dot_format (decoded, shown));
      return FALSE;
    }
  *dot = decoded;
  *context = g_steal_pointer (&decoded_context);
  if (consumed != NULL)
    *consumed = DOT_ENCODED_BYTES + used;
  return TRUE;
}
