/* wire_layout.c — the generic walker behind every wire message.
 *
 * Encodes, decodes, initialises, clears and compares any struct described
 * by a DkWireLayout (see wire_layout.h), field by field, with the field
 * readers and writers of wire_fields.c; prefixes each error with the
 * path of the field it came from.
 */
#include "wire_layout.h"

/* ENUM fields are read and written through an int. */
G_STATIC_ASSERT (sizeof (DkWireStatus) == sizeof (int));
G_STATIC_ASSERT (sizeof (DkWireMemberState) == sizeof (int));
G_STATIC_ASSERT (sizeof (DkWireType) == sizeof (int));

#define FIELD_AT(record, field) ((void *) ((guint8 *) (record) + (field)->offset))
#define CONST_FIELD_AT(record, field) \
  ((const void *) ((const guint8 *) (record) + (field)->offset))

/* ---- arrays of records ---------------------------------------------------- */

static gsize
array_size (const DkWireLayout *element, const GArray *array)
{
  gsize size = 2;
  guint count = array != NULL ? array->len : 0;
  if (count > G_MAXUINT16)
    return size;  /* refused before anything is written */
  for (guint i = 0; i < count; i++)
    size += dk_wire_layout_size (element, array->data + (gsize) i * element->record_size);
  return size;
}

static gboolean
put_array (DkWireWriter *out, const DkWireLayout *element, const GArray *array, GError **error)
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

static gsize
field_size (const DkWireField *field, const void *at)
{
  switch (field->kind)
    {
    case DK_FIELD_U8:
    case DK_FIELD_BOOL:
    case DK_FIELD_ENUM:
      return 1;
    case DK_FIELD_U32:
    case DK_FIELD_NODE:
      return 4;
    case DK_FIELD_U64:
    case DK_FIELD_I64:
      return 8;
    case DK_FIELD_KEY:
      return dk_wire_bytes_size (*(GBytes *const *) at, DK_KEY_MAX_BYTES);
    case DK_FIELD_VALUE:
      return dk_wire_bytes_size (*(GBytes *const *) at, DK_VALUE_MAX_BYTES);
    case DK_FIELD_STRING:
      return dk_wire_string_size (*(char *const *) at, field->max);
    case DK_FIELD_OPT_CLOCK:
      return dk_wire_optional_clock_size (*(DkVclock *const *) at);
    case DK_FIELD_SIBLINGS:
      return dk_wire_siblings_size (*(GPtrArray *const *) at);
    case DK_FIELD_ARRAY:
      return array_size (field->element, *(GArray *const *) at);
    case DK_FIELD_NESTED:
      return dk_wire_layout_size (field->element, at);
    }
  g_assert_not_reached ();
}

gsize
dk_wire_layout_size (const DkWireLayout *layout, const void *record)
{
  gsize size = 0;
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      size += field_size (field, CONST_FIELD_AT (record, field));
    }
  return size;
}

static gboolean
encode_field (const DkWireField *field, const void *at, DkWireWriter *out, GError **error)
{
  switch (field->kind)
    {
    case DK_FIELD_U8:
      dk_wire_put_u8 (out, *(const guint8 *) at);
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
      dk_wire_put_u8 (out, *(const gboolean *) at != FALSE);
      return TRUE;
    case DK_FIELD_NODE:
      if (!check_node (*(const guint32 *) at, error))
        return FALSE;
      dk_wire_put_u32 (out, *(const guint32 *) at);
      return TRUE;
    case DK_FIELD_ENUM:
      if (!check_enum (field, (guint) *(const int *) at, error))
        return FALSE;
      dk_wire_put_u8 (out, (guint8) *(const int *) at);
      return TRUE;
    case DK_FIELD_KEY:
      return dk_wire_put_bytes (out, *(GBytes *const *) at, 1, DK_KEY_MAX_BYTES, error);
    case DK_FIELD_VALUE:
      return dk_wire_put_bytes (out, *(GBytes *const *) at, 0, DK_VALUE_MAX_BYTES, error);
    case DK_FIELD_STRING:
      return dk_wire_put_string (out, *(char *const *) at, field->max, error);
    case DK_FIELD_OPT_CLOCK:
      return dk_wire_put_optional_clock (out, *(DkVclock *const *) at, error);
    case DK_FIELD_SIBLINGS:
      return dk_wire_put_siblings (out, *(GPtrArray *const *) at, error);
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
      return dk_wire_get_flag (in, at, error);
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
      return dk_wire_get_bytes (in, 1, DK_KEY_MAX_BYTES, at, error);
    case DK_FIELD_VALUE:
      return dk_wire_get_bytes (in, 0, DK_VALUE_MAX_BYTES, at, error);
    case DK_FIELD_STRING:
      return dk_wire_get_string (in, field->max, at, error);
    case DK_FIELD_OPT_CLOCK:
      return dk_wire_get_optional_clock (in, at, error);
    case DK_FIELD_SIBLINGS:
      return dk_wire_get_siblings (in, *(GPtrArray **) at, error);
    case DK_FIELD_ARRAY:
      return get_array (in, field->element, *(GArray **) at, error);
    case DK_FIELD_NESTED:
      return dk_wire_layout_decode (field->element, at, in, error);
    }
  g_assert_not_reached ();
}

gboolean
dk_wire_layout_encode (const DkWireLayout *layout, const void *record,
                       DkWireWriter *out, GError **error)
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

/* Create the empty container a field of KIND holds at AT (ELEMENT: its
 * nested record's or array element's layout); one walker's step for
 * init and for the owned-field lists alike. */
static inline void
init_field (DkWireFieldKind kind, const DkWireLayout *element, void *at)
{
  if (kind == DK_FIELD_SIBLINGS)
    *(GPtrArray **) at = dk_siblings_new ();
  else if (kind == DK_FIELD_ARRAY)
    {
      GArray *array = g_array_new (FALSE, TRUE, (guint) element->record_size);
      if (element->element_clear != NULL)
        g_array_set_clear_func (array, element->element_clear);
      *(GArray **) at = array;
    }
  else if (kind == DK_FIELD_NESTED)
    dk_wire_layout_init (element, at);
}

/* Free what a field of KIND owns at AT; as init_field. */
static inline void
clear_field (DkWireFieldKind kind, const DkWireLayout *element, void *at)
{
  switch (kind)
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
      dk_wire_layout_clear (element, at);
      break;
    default:
      break;
    }
}

void
dk_wire_layout_init (const DkWireLayout *layout, void *record)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      init_field (field->kind, field->element, FIELD_AT (record, field));
    }
}

void
dk_wire_layout_clear (const DkWireLayout *layout, void *record)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      clear_field (field->kind, field->element, FIELD_AT (record, field));
    }
}

static void
owned_add (const DkWireLayout *layout, gsize base, DkWireOwned *out, guint *n)
{
  for (guint i = 0; i < layout->n_fields; i++)
    {
      const DkWireField *field = &layout->fields[i];
      switch (field->kind)
        {
        case DK_FIELD_NESTED:
          owned_add (field->element, base + field->offset, out, n);
          break;
        case DK_FIELD_KEY:
        case DK_FIELD_VALUE:
        case DK_FIELD_STRING:
        case DK_FIELD_OPT_CLOCK:
        case DK_FIELD_SIBLINGS:
        case DK_FIELD_ARRAY:
          g_assert (*n < DK_WIRE_OWNED_MAX);
          out[(*n)++] = (DkWireOwned) { base + field->offset, field->kind, field->element };
          break;
        default:
          break;
        }
    }
}

guint
dk_wire_layout_owned (const DkWireLayout *layout, DkWireOwned *out)
{
  guint n = 0;
  owned_add (layout, 0, out, &n);
  return n;
}

void
dk_wire_owned_init (const DkWireOwned *owned, guint n, void *record)
{
  for (guint i = 0; i < n; i++)
    init_field (owned[i].kind, owned[i].element, (guint8 *) record + owned[i].offset);
}

void
dk_wire_owned_clear (const DkWireOwned *owned, guint n, void *record)
{
  for (guint i = 0; i < n; i++)
    clear_field (owned[i].kind, owned[i].element, (guint8 *) record + owned[i].offset);
}

/* ---- equality ---------------------------------------------------------------- */

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
      return dk_wire_bytes_equal (*(GBytes *const *) a, *(GBytes *const *) b);
    case DK_FIELD_STRING:
      {
        const char *x = *(char *const *) a, *y = *(char *const *) b;
        return g_strcmp0 (x != NULL ? x : "", y != NULL ? y : "") == 0;
      }
    case DK_FIELD_OPT_CLOCK:
      return dk_wire_clocks_identical (*(DkVclock *const *) a, *(DkVclock *const *) b);
    case DK_FIELD_SIBLINGS:
      return dk_wire_siblings_identical (*(GPtrArray *const *) a, *(GPtrArray *const *) b);
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
