/* wire_layout.c — the generic walker behind every wire message.
 *
 * Encodes, decodes, initialises, clears and compares any struct described
 * by a DkWireLayout (see wire_layout.h), and holds the bounds-checked
 * readers of untrusted bytes.  Every limit is checked on the way out as
 * well as on the way in, with the same error, so an encoder never
 * produces what a decoder refuses.
 */
#include <string.h>
#include "wire_layout.h"

/* ENUM fields are read and written through an int. */
G_STATIC_ASSERT (sizeof (DkWireStatus) == sizeof (int));
G_STATIC_ASSERT (sizeof (DkWireMemberState) == sizeof (int));
G_STATIC_ASSERT (sizeof (DkWireType) == sizeof (int));

#define FIELD_AT(record, field) ((void *) ((guint8 *) (record) + (field)->offset))
#define CONST_FIELD_AT(record, field) \
  ((const void *) ((const guint8 *) (record) + (field)->offset))

/* ---- integers ------------------------------------------------------------ */

void
dk_wire_put_u16 (GByteArray *out, guint16 value)
{
  guint16 be = GUINT16_TO_BE (value);
  g_byte_array_append (out, (const guint8 *) &be, sizeof be);
}

void
dk_wire_put_u32 (GByteArray *out, guint32 value)
{
  guint32 be = GUINT32_TO_BE (value);
  g_byte_array_append (out, (const guint8 *) &be, sizeof be);
}

void
dk_wire_put_u64 (GByteArray *out, guint64 value)
{
  guint64 be = GUINT64_TO_BE (value);
  g_byte_array_append (out, (const guint8 *) &be, sizeof be);
}

/* TRUE when N more bytes can be read. */
static gboolean
reader_need (DkWireReader *in, gsize n, GError **error)
{
  gsize left = in->len - in->pos;
  if (n <= left)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_TRUNCATED,
               "truncated: needs %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " left",
               n, left);
  return FALSE;
}

gboolean
dk_wire_get_u8 (DkWireReader *in, guint8 *value, GError **error)
{
  if (!reader_need (in, 1, error))
    return FALSE;
  *value = in->data[in->pos++];
  return TRUE;
}

gboolean
dk_wire_get_u16 (DkWireReader *in, guint16 *value, GError **error)
{
  guint16 be;
  if (!reader_need (in, sizeof be, error))
    return FALSE;
  memcpy (&be, in->data + in->pos, sizeof be);
  in->pos += sizeof be;
  *value = GUINT16_FROM_BE (be);
  return TRUE;
}

gboolean
dk_wire_get_u32 (DkWireReader *in, guint32 *value, GError **error)
{
  guint32 be;
  if (!reader_need (in, sizeof be, error))
    return FALSE;
  memcpy (&be, in->data + in->pos, sizeof be);
  in->pos += sizeof be;
  *value = GUINT32_FROM_BE (be);
  return TRUE;
}

gboolean
dk_wire_get_u64 (DkWireReader *in, guint64 *value, GError **error)
{
  guint64 be;
  if (!reader_need (in, sizeof be, error))
    return FALSE;
  memcpy (&be, in->data + in->pos, sizeof be);
  in->pos += sizeof be;
  *value = GUINT64_FROM_BE (be);
  return TRUE;
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

static gboolean
put_bytes (GByteArray *out, GBytes *bytes, gsize min, gsize max, GError **error)
{
  gsize len = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  if (!check_length (len, min, max, error))
    return FALSE;
  dk_wire_put_u16 (out, (guint16) len);
  if (len > 0)
    g_byte_array_append (out, data, (guint) len);
  return TRUE;
}

/* The length prefix is judged before the bytes are looked for, so an
 * oversize field reports its size even when the datagram was cut. */
static gboolean
get_bytes (DkWireReader *in, gsize min, gsize max, GBytes **bytes, GError **error)
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

static gboolean
put_string (GByteArray *out, const char *text, gsize max, GError **error)
{
  gsize len = text != NULL ? strlen (text) : 0;
  if (!check_length (len, 0, max, error) || !check_text (text, len, error))
    return FALSE;
  dk_wire_put_u16 (out, (guint16) len);
  if (len > 0)
    g_byte_array_append (out, (const guint8 *) text, (guint) len);
  return TRUE;
}

static gboolean
get_string (DkWireReader *in, gsize max, char **text, GError **error)
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

static gboolean
put_clock (GByteArray *out, const DkVclock *clock, GError **error)
{
  guint entries = dk_vclock_size (clock);
  if (entries > DK_VCLOCK_MAX_ENTRIES)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   "%u entries exceeds the %u-entry limit", entries, DK_VCLOCK_MAX_ENTRIES);
      return FALSE;
    }
  dk_vclock_encode (clock, out);
  return TRUE;
}

static gboolean
get_clock (DkWireReader *in, DkVclock **clock, GError **error)
{
  static const DkWireError from_vclock_error[] = {
    [DK_VCLOCK_ERROR_TRUNCATED] = DK_WIRE_ERROR_TRUNCATED,
    [DK_VCLOCK_ERROR_TOO_LARGE] = DK_WIRE_ERROR_FIELD_TOO_LARGE,
    [DK_VCLOCK_ERROR_INVALID] = DK_WIRE_ERROR_INVALID,
  };
  g_autoptr (GError) clock_error = NULL;
  gsize consumed = 0;
  if (!dk_vclock_decode (in->data + in->pos, in->len - in->pos, &consumed, clock, &clock_error))
    {
      DkWireError code = DK_WIRE_ERROR_INVALID;
      if (clock_error->domain == DK_VCLOCK_ERROR && clock_error->code >= 0
          && (gsize) clock_error->code < G_N_ELEMENTS (from_vclock_error))
        code = from_vclock_error[clock_error->code];
      g_set_error_literal (error, DK_WIRE_ERROR, code, clock_error->message);
      return FALSE;
    }
  in->pos += consumed;
  return TRUE;
}

static gboolean
get_flag (DkWireReader *in, gboolean *flag, GError **error)
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

static gboolean
put_optional_clock (GByteArray *out, const DkVclock *clock, GError **error)
{
  g_byte_array_append (out, (const guint8[]) { clock != NULL }, 1);
  return clock == NULL || put_clock (out, clock, error);
}

static gboolean
get_optional_clock (DkWireReader *in, DkVclock **clock, GError **error)
{
  gboolean present;
  return get_flag (in, &present, error) && (!present || get_clock (in, clock, error));
}

/* ---- sibling sets ------------------------------------------------------- */

#define VERSION_FLAG_TOMBSTONE 0x01u

static gboolean
check_sibling_count (guint count, GError **error)
{
  if (count <= DK_SIBLINGS_MAX)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
               ": %u siblings exceeds the %u-sibling limit", count, DK_SIBLINGS_MAX);
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

static gboolean
put_siblings (GByteArray *out, const GPtrArray *siblings, GError **error)
{
  guint count = siblings != NULL ? siblings->len : 0;
  if (!check_sibling_count (count, error))
    return FALSE;
  g_byte_array_append (out, (const guint8[]) { (guint8) count }, 1);
  for (guint i = 0; i < count; i++)
    {
      const DkVersion *version = g_ptr_array_index (siblings, i);
      guint8 flags = version->tombstone ? VERSION_FLAG_TOMBSTONE : 0;
      g_byte_array_append (out, &flags, 1);
      const char *failed = NULL;
      g_autoptr (GError) local_error = NULL;
      if (version->clock == NULL)
        {
          failed = "clock";
          g_set_error_literal (&local_error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID, "missing");
        }
      else if (!put_clock (out, version->clock, &local_error))
        failed = "clock";
      else if (!check_tombstone_empty (version, &local_error)
               || !put_bytes (out, version->value, 0, DK_VALUE_MAX_BYTES, &local_error))
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
  g_autoptr (DkVclock) clock = NULL;
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
  if (!get_clock (in, &clock, error))
    {
      g_prefix_error (error, "clock: ");
      return FALSE;
    }
  if (!get_bytes (in, 0, DK_VALUE_MAX_BYTES, &value, error))
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
  *version = dk_version_new (g_steal_pointer (&clock), value, tombstone);
  return TRUE;
}

static gboolean
get_siblings (DkWireReader *in, GPtrArray *siblings, GError **error)
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

/* ---- arrays of records ---------------------------------------------------- */

static gboolean
put_array (GByteArray *out, const DkWireLayout *element, const GArray *array, GError **error)
{
  guint count = array != NULL ? array->len : 0;
  if (count > G_MAXUINT16)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                   ": %u entries exceeds the %u-entry limit", count, G_MAXUINT16);
      return FALSE;
    }
  dk_wire_put_u16 (out, (guint16) count);
  for (guint i = 0; i < count; i++)
    if (!dk_wire_layout_encode (element, array->data + (gsize) i * element->record_size,
                                out, error))
      {
        g_prefix_error (error, "[%u].", i);
        return FALSE;
      }
  return TRUE;
}

/* Elements are appended one at a time, so a lying count costs nothing
 * beyond the bytes actually present. */
static gboolean
get_array (DkWireReader *in, const DkWireLayout *element, GArray *array, GError **error)
{
  guint16 count;
  if (!dk_wire_get_u16 (in, &count, error))
    {
      g_prefix_error (error, ": ");
      return FALSE;
    }
  for (guint i = 0; i < count; i++)
    {
      g_array_set_size (array, i + 1);
      if (!dk_wire_layout_decode (element, &g_array_index (array, guint8, (gsize) i * element->record_size),
                                  in, error))
        {
          g_prefix_error (error, "[%u].", i);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- the walker ------------------------------------------------------------ */

static gboolean
check_enum (const DkWireField *field, guint value, GError **error)
{
  if (value >= field->min && value <= field->max)
    return TRUE;
  g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
               "%u is not one of %u .. %u", value, field->min, field->max);
  return FALSE;
}

static gboolean
check_node (guint32 node, GError **error)
{
  if (node != DK_NODE_NONE)
    return TRUE;
  g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                       "node id 0 (none) where a node is required");
  return FALSE;
}

/* Fields whose errors come back as "[i].sub: ..." or ": ..." take no
 * ": " after their name. */
static const char *
field_separator (const DkWireField *field)
{
  switch (field->kind)
    {
    case DK_FIELD_SIBLINGS:
    case DK_FIELD_ARRAY:
      return "";
    case DK_FIELD_NESTED:
      return ".";
    default:
      return ": ";
    }
}

static gboolean
encode_field (const DkWireField *field, const void *at, GByteArray *out, GError **error)
{
  switch (field->kind)
    {
    case DK_FIELD_U8:
      g_byte_array_append (out, at, 1);
      return TRUE;
    case DK_FIELD_U32:
      dk_wire_put_u32 (out, *(const guint32 *) at);
      return TRUE;
    case DK_FIELD_U64:
      dk_wire_put_u64 (out, *(const guint64 *) at);
      return TRUE;
    case DK_FIELD_I64:
      dk_wire_put_u64 (out, (guint64) *(const gint64 *) at);
      return TRUE;
    case DK_FIELD_BOOL:
      g_byte_array_append (out, (const guint8[]) { *(const gboolean *) at != FALSE }, 1);
      return TRUE;
    case DK_FIELD_NODE:
      if (!check_node (*(const guint32 *) at, error))
        return FALSE;
      dk_wire_put_u32 (out, *(const guint32 *) at);
      return TRUE;
    case DK_FIELD_ENUM:
      if (!check_enum (field, (guint) *(const int *) at, error))
        return FALSE;
      g_byte_array_append (out, (const guint8[]) { (guint8) *(const int *) at }, 1);
      return TRUE;
    case DK_FIELD_KEY:
      return put_bytes (out, *(GBytes *const *) at, 1, DK_KEY_MAX_BYTES, error);
    case DK_FIELD_VALUE:
      return put_bytes (out, *(GBytes *const *) at, 0, DK_VALUE_MAX_BYTES, error);
    case DK_FIELD_STRING:
      return put_string (out, *(char *const *) at, field->max, error);
    case DK_FIELD_OPT_CLOCK:
      return put_optional_clock (out, *(DkVclock *const *) at, error);
    case DK_FIELD_SIBLINGS:
      return put_siblings (out, *(GPtrArray *const *) at, error);
    case DK_FIELD_ARRAY:
      return put_array (out, field->element, *(GArray *const *) at, error);
    case DK_FIELD_NESTED:
      return dk_wire_layout_encode (field->element, at, out, error);
    }
  g_assert_not_reached ();
}

static gboolean
decode_field (const DkWireField *field, void *at, DkWireReader *in, GError **error)
{
  guint8 byte;
  guint32 word;
  switch (field->kind)
    {
    case DK_FIELD_U8:
      return dk_wire_get_u8 (in, at, error);
    case DK_FIELD_U32:
      return dk_wire_get_u32 (in, at, error);
    case DK_FIELD_U64:
    case DK_FIELD_I64:
      return dk_wire_get_u64 (in, at, error);
    case DK_FIELD_BOOL:
      return get_flag (in, at, error);
    case DK_FIELD_NODE:
      if (!dk_wire_get_u32 (in, &word, error) || !check_node (word, error))
        return FALSE;
      *(guint32 *) at = word;
      return TRUE;
    case DK_FIELD_ENUM:
      if (!dk_wire_get_u8 (in, &byte, error) || !check_enum (field, byte, error))
        return FALSE;
      *(int *) at = byte;
      return TRUE;
    case DK_FIELD_KEY:
      return get_bytes (in, 1, DK_KEY_MAX_BYTES, at, error);
    case DK_FIELD_VALUE:
      return get_bytes (in, 0, DK_VALUE_MAX_BYTES, at, error);
    case DK_FIELD_STRING:
      return get_string (in, field->max, at, error);
    case DK_FIELD_OPT_CLOCK:
      return get_optional_clock (in, at, error);
    case DK_FIELD_SIBLINGS:
      return get_siblings (in, *(GPtrArray **) at, error);
    case DK_FIELD_ARRAY:
      return get_array (in, field->element, *(GArray **) at, error);
    case DK_FIELD_NESTED:
      return dk_wire_layout_decode (field->element, at, in, error);
    }
  g_assert_not_reached ();
}

gboolean
dk_wire_layout_encode (const DkWireLayout *layout, const void *record,
                       GByteArray *out, GError **error)
{
  if (layout->check != NULL && !layout->check (record, error))
    return FALSE;
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      if (!encode_field (field, CONST_FIELD_AT (record, field), out, error))
        {
          g_prefix_error (error, "%s%s", field->name, field_separator (field));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
dk_wire_layout_decode (const DkWireLayout *layout, void *record,
                       DkWireReader *in, GError **error)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      if (!decode_field (field, FIELD_AT (record, field), in, error))
        {
          g_prefix_error (error, "%s%s", field->name, field_separator (field));
          return FALSE;
        }
    }
  return layout->check == NULL || layout->check (record, error);
}

void
dk_wire_layout_init (const DkWireLayout *layout, void *record)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      void *at = FIELD_AT (record, field);
      if (field->kind == DK_FIELD_SIBLINGS)
        *(GPtrArray **) at = dk_siblings_new ();
      else if (field->kind == DK_FIELD_ARRAY)
        {
          GArray *array = g_array_new (FALSE, TRUE, (guint) field->element->record_size);
          if (field->element->element_clear != NULL)
            g_array_set_clear_func (array, field->element->element_clear);
          *(GArray **) at = array;
        }
      else if (field->kind == DK_FIELD_NESTED)
        dk_wire_layout_init (field->element, at);
    }
}

void
dk_wire_layout_clear (const DkWireLayout *layout, void *record)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      void *at = FIELD_AT (record, field);
      switch (field->kind)
        {
        case DK_FIELD_KEY:
        case DK_FIELD_VALUE:
          g_clear_pointer ((GBytes **) at, g_bytes_unref);
          break;
        case DK_FIELD_STRING:
          g_clear_pointer ((char **) at, g_free);
          break;
        case DK_FIELD_OPT_CLOCK:
          g_clear_pointer ((DkVclock **) at, dk_vclock_free);
          break;
        case DK_FIELD_SIBLINGS:
          g_clear_pointer ((GPtrArray **) at, g_ptr_array_unref);
          break;
        case DK_FIELD_ARRAY:
          g_clear_pointer ((GArray **) at, g_array_unref);
          break;
        case DK_FIELD_NESTED:
          dk_wire_layout_clear (field->element, at);
          break;
        default:
          break;
        }
    }
}

/* ---- equality ---------------------------------------------------------------- */

/* NULL and empty are the same payload: both encode as length 0. */
static gboolean
bytes_equal (GBytes *a, GBytes *b)
{
  gsize a_len = 0, b_len = 0;
  const guint8 *a_data = a != NULL ? g_bytes_get_data (a, &a_len) : NULL;
  const guint8 *b_data = b != NULL ? g_bytes_get_data (b, &b_len) : NULL;
  return a_len == b_len && (a_len == 0 || memcmp (a_data, b_data, a_len) == 0);
}

/* Entry by entry, timestamps included: what survives a round trip. */
static gboolean
clocks_identical (const DkVclock *a, const DkVclock *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  guint a_len, b_len;
  const DkVclockEntry *a_entries = dk_vclock_entries (a, &a_len);
  const DkVclockEntry *b_entries = dk_vclock_entries (b, &b_len);
  if (a_len != b_len)
    return FALSE;
  for (guint i = 0; i < a_len; i++)
    if (a_entries[i].node != b_entries[i].node || a_entries[i].counter != b_entries[i].counter
        || a_entries[i].timestamp_us != b_entries[i].timestamp_us)
      return FALSE;
  return TRUE;
}

static gboolean
siblings_identical (const GPtrArray *a, const GPtrArray *b)
{
  guint a_len = a != NULL ? a->len : 0, b_len = b != NULL ? b->len : 0;
  if (a_len != b_len)
    return FALSE;
  for (guint i = 0; i < a_len; i++)
    {
      const DkVersion *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);
      if (!x->tombstone != !y->tombstone || !clocks_identical (x->clock, y->clock)
          || !bytes_equal (x->value, y->value))
        return FALSE;
    }
  return TRUE;
}

static gboolean
arrays_equal (const DkWireLayout *element, const GArray *a, const GArray *b)
{
  guint a_len = a != NULL ? a->len : 0, b_len = b != NULL ? b->len : 0;
  if (a_len != b_len)
    return FALSE;
  for (guint i = 0; i < a_len; i++)
    if (!dk_wire_layout_equal (element, a->data + (gsize) i * element->record_size,
                               b->data + (gsize) i * element->record_size))
      return FALSE;
  return TRUE;
}

static gboolean
field_equal (const DkWireField *field, const void *a, const void *b)
{
  switch (field->kind)
    {
    case DK_FIELD_U8:
      return *(const guint8 *) a == *(const guint8 *) b;
    case DK_FIELD_U32:
    case DK_FIELD_NODE:
      return *(const guint32 *) a == *(const guint32 *) b;
    case DK_FIELD_U64:
      return *(const guint64 *) a == *(const guint64 *) b;
    case DK_FIELD_I64:
      return *(const gint64 *) a == *(const gint64 *) b;
    case DK_FIELD_BOOL:
      return !*(const gboolean *) a == !*(const gboolean *) b;
    case DK_FIELD_ENUM:
      return *(const int *) a == *(const int *) b;
    case DK_FIELD_KEY:
    case DK_FIELD_VALUE:
      return bytes_equal (*(GBytes *const *) a, *(GBytes *const *) b);
    case DK_FIELD_STRING:
      {
        const char *x = *(char *const *) a, *y = *(char *const *) b;
        return g_strcmp0 (x != NULL ? x : "", y != NULL ? y : "") == 0;
      }
    case DK_FIELD_OPT_CLOCK:
      return clocks_identical (*(DkVclock *const *) a, *(DkVclock *const *) b);
    case DK_FIELD_SIBLINGS:
      return siblings_identical (*(GPtrArray *const *) a, *(GPtrArray *const *) b);
    case DK_FIELD_ARRAY:
      return arrays_equal (field->element, *(GArray *const *) a, *(GArray *const *) b);
    case DK_FIELD_NESTED:
      return dk_wire_layout_equal (field->element, a, b);
    }
  g_assert_not_reached ();
}

gboolean
dk_wire_layout_equal (const DkWireLayout *layout, const void *a, const void *b)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      if (!field_equal (field, CONST_FIELD_AT (a, field), CONST_FIELD_AT (b, field)))
        return FALSE;
    }
  return TRUE;
}
