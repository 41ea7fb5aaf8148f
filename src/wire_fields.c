/* wire_fields.c — readers and writers of the wire's field encodings.
 *
 * Big-endian integers, length-prefixed bytes and text, vector clocks and
 * sibling sets (layouts in wire.h), each read through a DkWireReader
 * that never passes the end of its bytes.  Every limit is checked on the
 * way out as well as on the way in, with the same error, so an encoder
 * never produces what a decoder refuses.  Errors say what is wrong; the
 * caller (wire_layout.c) prefixes the field's name.
 */
#include <string.h>
#include "wire_layout.h"

/* ---- integers (writers are inline in wire_layout.h) ------------------------- */

void
dk_wire_reader_short (const DkWireReader *in, gsize n, GError **error)
{
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_TRUNCATED,
               "truncated: needs %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " left",
               n, in->len - in->pos);
}

/* TRUE when N more bytes can be read. */
static inline gboolean
reader_need (DkWireReader *in, gsize n, GError **error)
{
  if (G_LIKELY (n <= in->len - in->pos))
    return TRUE;
  dk_wire_reader_short (in, n, error);
  return FALSE;
}

/* ---- byte strings, text and clocks ---------------------------------------- */

static gboolean
check_length (gsize len, gsize min, gsize max, GError **error)
{
  if (len > max)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   "%" G_GSIZE_FORMAT " bytes exceeds the %" G_GSIZE_FORMAT "-byte limit",
                   len, max);
      return FALSE;
    }
  if (len < min)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                   "%" G_GSIZE_FORMAT " bytes is below the %" G_GSIZE_FORMAT "-byte minimum",
                   len, min);
      return FALSE;
    }
  return TRUE;
}

gsize
dk_wire_bytes_size (GBytes *bytes, gsize max)
{
  return 2 + MIN (bytes != NULL ? g_bytes_get_size (bytes) : 0, max);
}

gboolean
dk_wire_put_bytes (DkWireWriter *out, GBytes *bytes, gsize min, gsize max, GError **error)
{
  gsize len = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  if (!check_length (len, min, max, error))
    return FALSE;
  dk_wire_put_u16 (out, (guint16) len);
  if (len > 0)
    memcpy (dk_wire_writer_take (out, len), data, len);
  return TRUE;
}

/* The length prefix is judged before the bytes are looked for, so an
 * oversize field reports its size even when the datagram was cut. */
gboolean
dk_wire_get_bytes (DkWireReader *in, gsize min, gsize max, GBytes **bytes, GError **error)
{
  guint16 len;
  if (!dk_wire_get_u16 (in, &len, error) || !check_length (len, min, max, error)
      || !reader_need (in, len, error))
    return FALSE;
  *bytes = g_bytes_new (in->data + in->pos, len);
  in->pos += len;
  return TRUE;
}

/* Names and addresses are nearly always ASCII: check that first. */
static gboolean
check_text (const char *text, gsize len, GError **error)
{
  gsize ascii = 0;
  while (ascii < len && (guint8) text[ascii] - 1u < 0x7fu)
    ascii++;
  if (ascii == len || g_utf8_validate (text + ascii, (gssize) (len - ascii), NULL))
    return TRUE;
  g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                       "not UTF-8 text (or holds a NUL byte)");
  return FALSE;
}

gsize
dk_wire_string_size (const char *text, gsize max)
{
  return 2 + MIN (text != NULL ? strlen (text) : 0, max);
}

gboolean
dk_wire_put_string (DkWireWriter *out, const char *text, gsize max, GError **error)
{
  gsize len = text != NULL ? strlen (text) : 0;
  if (!check_length (len, 0, max, error) || !check_text (text, len, error))
    return FALSE;
  dk_wire_put_u16 (out, (guint16) len);
  if (len > 0)
    memcpy (dk_wire_writer_take (out, len), text, len);
  return TRUE;
}

gboolean
dk_wire_get_string (DkWireReader *in, gsize max, char **text, GError **error)
{
  guint16 len;
  if (!dk_wire_get_u16 (in, &len, error) || !check_length (len, 0, max, error)
      || !reader_need (in, len, error)
      || !check_text ((const char *) in->data + in->pos, len, error))
    return FALSE;
  *text = g_strndup ((const char *) in->data + in->pos, len);
  in->pos += len;
  return TRUE;
}

/* A clock over the entry limit is refused before it is written. */
static gsize
clock_size (const DkVclock *clock)
{
  if (clock == NULL || dk_vclock_size (clock) > DK_VCLOCK_MAX_ENTRIES)
    return 0;
  return dk_vclock_encoded_size (clock);
}

static gboolean
put_clock (DkWireWriter *out, const DkVclock *clock, GError **error)
{
  guint entries = dk_vclock_size (clock);
  if (entries > DK_VCLOCK_MAX_ENTRIES)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   "%u entries exceeds the %u-entry limit", entries, DK_VCLOCK_MAX_ENTRIES);
      return FALSE;
    }
  dk_vclock_encode_to (clock, dk_wire_writer_take (out, dk_vclock_encoded_size (clock)));
  return TRUE;
}

/* A DK_VCLOCK_ERROR as the DK_WIRE_ERROR it means, into ERROR. */
static void
wire_error_from_clock (GError *clock_error, GError **error)
{
  static const DkWireError from_vclock_error[] = {
    [DK_VCLOCK_ERROR_TRUNCATED] = DK_WIRE_ERROR_TRUNCATED,
    [DK_VCLOCK_ERROR_TOO_LARGE] = DK_WIRE_ERROR_FIELD_TOO_LARGE,
    [DK_VCLOCK_ERROR_INVALID] = DK_WIRE_ERROR_INVALID,
  };
  DkWireError code = DK_WIRE_ERROR_INVALID;
  if (clock_error->domain == DK_VCLOCK_ERROR && clock_error->code >= 0
      && (gsize) clock_error->code < G_N_ELEMENTS (from_vclock_error))
    code = from_vclock_error[clock_error->code];
  g_set_error_literal (error, DK_WIRE_ERROR, code, clock_error->message);
}

static gboolean
get_clock (DkWireReader *in, DkVclock **clock, GError **error)
{
  g_autoptr (GError) clock_error = NULL;
  gsize consumed = 0;
  if (!dk_vclock_decode (in->data + in->pos, in->len - in->pos, &consumed, clock, &clock_error))
    {
      wire_error_from_clock (clock_error, error);
      return FALSE;
    }
  in->pos += consumed;
  return TRUE;
}

static gboolean
get_version_header (DkWireReader *in, DkDot *dot, DkVclock **context, GError **error)
{
  g_autoptr (GError) clock_error = NULL;
  gsize consumed = 0;
  if (!dk_version_header_decode (in->data + in->pos, in->len - in->pos, &consumed, dot,
                                 context, &clock_error))
    {
      wire_error_from_clock (clock_error, error);
      return FALSE;
    }
  in->pos += consumed;
  return TRUE;
}

gboolean
dk_wire_get_flag (DkWireReader *in, gboolean *flag, GError **error)
{
  guint8 byte;
  if (!dk_wire_get_u8 (in, &byte, error))
    return FALSE;
  if (byte > 1)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                   "%u is neither 0 nor 1", byte);
      return FALSE;
    }
  *flag = byte;
  return TRUE;
}

gsize
dk_wire_optional_clock_size (const DkVclock *clock)
{
  return 1 + clock_size (clock);
}

gboolean
dk_wire_put_optional_clock (DkWireWriter *out, const DkVclock *clock, GError **error)
{
  dk_wire_put_u8 (out, clock != NULL);
  return clock == NULL || put_clock (out, clock, error);
}

gboolean
dk_wire_get_optional_clock (DkWireReader *in, DkVclock **clock, GError **error)
{
  gboolean present;
  return dk_wire_get_flag (in, &present, error) && (!present || get_clock (in, clock, error));
}

/* ---- sibling sets ------------------------------------------------------- */

#define VERSION_FLAG_TOMBSTONE 0x01u

/* One message carries at most DK_SIBLINGS_HARD_MAX versions (its u8
 * count); a larger set goes in parts (wire.h). */
static gboolean
check_sibling_count (guint count, GError **error)
{
  if (count <= DK_SIBLINGS_HARD_MAX)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
               ": %u siblings exceeds the %u-sibling limit of one message", count,
               DK_SIBLINGS_HARD_MAX);
  return FALSE;
}

static gboolean
check_tombstone_empty (const DkVersion *version, GError **error)
{
  gsize value_len = version->value != NULL ? g_bytes_get_size (version->value) : 0;
  if (!version->tombstone || value_len == 0)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "a tombstone carries a %" G_GSIZE_FORMAT "-byte value", value_len);
  return FALSE;
}

gsize
dk_wire_version_size (const DkVersion *version)
{
  return 1 + dk_version_header_size (version)
         + dk_wire_bytes_size (version->value, DK_VALUE_MAX_BYTES);
}

gsize
dk_wire_siblings_size (const GPtrArray *siblings)
{
  gsize size = 1;
  guint count = siblings != NULL ? siblings->len : 0;
  if (count > DK_SIBLINGS_HARD_MAX)
    return size;  /* refused before anything is written */
  for (guint i = 0; i < count; i++)
    size += dk_wire_version_size (g_ptr_array_index ((GPtrArray *) siblings, i));
  return size;
}

gboolean
dk_wire_put_siblings (DkWireWriter *out, const GPtrArray *siblings, GError **error)
{
  guint count = siblings != NULL ? siblings->len : 0;
  if (!check_sibling_count (count, error))
    return FALSE;
  dk_wire_put_u8 (out, (guint8) count);
  for (guint i = 0; i < count; i++)
    {
      const DkVersion *version = g_ptr_array_index (siblings, i);
      guint8 flags = version->tombstone ? VERSION_FLAG_TOMBSTONE : 0;
      dk_wire_put_u8 (out, flags);
      const char *failed = NULL;
      g_autoptr (GError) local_error = NULL;
      if (version->context == NULL)
        {
          failed = "context";
          g_set_error_literal (&local_error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID, "missing");
        }
      else if (clock_size (version->context) == 0)
        {
          failed = "context";
          g_set_error (&local_error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                       "%u entries exceeds the %u-entry limit",
                       dk_vclock_size (version->context), DK_VCLOCK_MAX_ENTRIES);
        }
      else if (version->dot.actor == DK_ACTOR_NONE || version->dot.counter == 0
               || version->dot.counter > DK_DOT_COUNTER_MAX
               || dk_dot_covered (version->dot, version->context))
        {
          /* What the decoder would refuse is refused before it is sent. */
          failed = "dot";
          g_set_error_literal (&local_error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                               "the actor must be non-zero, the counter in 1..2^62 and not"
                               " covered by the version's own context");
        }
      else
        dk_version_header_encode_to (version, dk_wire_writer_take (out, dk_version_header_size (version)));
      if (failed == NULL
          && (!check_tombstone_empty (version, &local_error)
              || !dk_wire_put_bytes (out, version->value, 0, DK_VALUE_MAX_BYTES, &local_error)))
        failed = "value";
      if (failed != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "[%u].%s: ", i, failed);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
get_version (DkWireReader *in, DkVersion **version, GError **error)
{
  guint8 flags;
  DkDot dot;
  g_autoptr (DkVclock) context = NULL;
  g_autoptr (GBytes) value = NULL;
  if (!dk_wire_get_u8 (in, &flags, error))
    {
      g_prefix_error (error, "flags: ");
      return FALSE;
    }
  if ((flags & ~VERSION_FLAG_TOMBSTONE) != 0)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                   "flags: unknown bits 0x%02x", flags & ~VERSION_FLAG_TOMBSTONE);
      return FALSE;
    }
  if (!get_version_header (in, &dot, &context, error))
    {
      g_prefix_error (error, "dot/context: ");
      return FALSE;
    }
  if (!dk_wire_get_bytes (in, 0, DK_VALUE_MAX_BYTES, &value, error))
    {
      g_prefix_error (error, "value: ");
      return FALSE;
    }
  gboolean tombstone = (flags & VERSION_FLAG_TOMBSTONE) != 0;
  if (tombstone && g_bytes_get_size (value) > 0)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                   "value: a tombstone carries a %" G_GSIZE_FORMAT "-byte value",
                   g_bytes_get_size (value));
      return FALSE;
    }
  /* What dk_version_new builds, taking the value instead of a new ref. */
  DkVersion *decoded = g_new (DkVersion, 1);
  decoded->dot = dot;
  decoded->context = g_steal_pointer (&context);
  decoded->value = g_steal_pointer (&value);
  decoded->tombstone = tombstone;
  *version = decoded;
  return TRUE;
}

gboolean
dk_wire_get_siblings (DkWireReader *in, GPtrArray *siblings, GError **error)
{
  guint8 count;
  if (!dk_wire_get_u8 (in, &count, error))
    {
      g_prefix_error (error, ": ");
      return FALSE;
    }
  if (!check_sibling_count (count, error))
    return FALSE;
  for (guint i = 0; i < count; i++)
    {
      DkVersion *version = NULL;
      if (!get_version (in, &version, error))
        {
          g_prefix_error (error, "[%u].", i);
          return FALSE;
        }
      g_ptr_array_add (siblings, version);
    }
  return TRUE;
}

/* ---- equality of what survives a round trip -------------------------------- */

/* NULL and empty are the same payload: both encode as length 0. */
gboolean
dk_wire_bytes_equal (GBytes *a, GBytes *b)
{
  gsize a_len = 0, b_len = 0;
  const guint8 *a_data = a != NULL ? g_bytes_get_data (a, &a_len) : NULL;
  const guint8 *b_data = b != NULL ? g_bytes_get_data (b, &b_len) : NULL;
  return a_len == b_len && (a_len == 0 || memcmp (a_data, b_data, a_len) == 0);
}

/* Entry by entry, timestamps included: what survives a round trip. */
gboolean
dk_wire_clocks_identical (const DkVclock *a, const DkVclock *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  guint a_len, b_len;
  const DkVclockEntry *a_entries = dk_vclock_entries (a, &a_len);
  const DkVclockEntry *b_entries = dk_vclock_entries (b, &b_len);
  if (a_len != b_len)
    return FALSE;
  for (guint i = 0; i < a_len; i++)
    if (a_entries[i].actor != b_entries[i].actor || a_entries[i].counter != b_entries[i].counter
        || a_entries[i].timestamp_us != b_entries[i].timestamp_us)
      return FALSE;
  return TRUE;
}

gboolean
dk_wire_siblings_identical (const GPtrArray *a, const GPtrArray *b)
{
  guint a_len = a != NULL ? a->len : 0, b_len = b != NULL ? b->len : 0;
  if (a_len != b_len)
    return FALSE;
  for (guint i = 0; i < a_len; i++)
    {
      const DkVersion *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);
      if (!x->tombstone != !y->tombstone || x->dot.actor != y->dot.actor
          || x->dot.counter != y->dot.counter || x->dot.wall_us != y->dot.wall_us
          || !dk_wire_clocks_identical (x->context, y->context)
          || !dk_wire_bytes_equal (x->value, y->value))
        return FALSE;
    }
  return TRUE;
}
