/* wire_layout.h — private to the wire codec: messages described as data.
 *
 * Each message body is a C struct (wire.h) described by a DkWireLayout: an
 * ordered list of fields, each with its wire kind, its offset in the
 * struct and its limits.  The field encodings live in wire_fields.c, and
 * one generic walker (wire_layout.c) encodes, decodes, initialises,
 * clears and compares any described struct, so a new message type is a
 * struct, a layout table and one line in the type table of
 * wire_messages.c — no new parsing code to get wrong.
 *
 * Error messages are built from the inside out with g_prefix_error: a
 * leaf says what is wrong ("12000 bytes exceeds the 9216-byte limit"),
 * the walker prefixes the field path ("siblings[3].value: "), and
 * wire.c prefixes the message type ("put.").
 */
#ifndef DK_WIRE_LAYOUT_H
#define DK_WIRE_LAYOUT_H

#include <glib.h>
#include <string.h>
#include "wire.h"

G_BEGIN_DECLS

typedef enum
{
  DK_FIELD_U8,        /* guint8 */
  DK_FIELD_U32,       /* guint32 */
  DK_FIELD_U64,       /* guint64 */
  DK_FIELD_I64,       /* gint64 */
  DK_FIELD_BOOL,      /* gboolean; u8 0 or 1 on the wire */
  DK_FIELD_NODE,      /* DkNodeId, never DK_NODE_NONE */
  DK_FIELD_ENUM,      /* an enum (int-sized); u8 on the wire, MIN .. MAX */
  DK_FIELD_KEY,       /* GBytes *, 1 .. DK_KEY_MAX_BYTES */
  DK_FIELD_VALUE,     /* GBytes *, 0 .. DK_VALUE_MAX_BYTES; NULL = empty */
  DK_FIELD_STRING,    /* char *, UTF-8, 0 .. MAX bytes; NULL = "" */
  DK_FIELD_OPT_CLOCK, /* DkVclock *, NULL = absent */
  DK_FIELD_SIBLINGS,  /* GPtrArray * of DkVersion * */
  DK_FIELD_ARRAY,     /* GArray * of ELEMENT records, u16 count */
  DK_FIELD_NESTED,    /* an embedded ELEMENT record */
} DkWireFieldKind;

typedef struct _DkWireLayout DkWireLayout;

typedef struct
{
  const char         *name;
  DkWireFieldKind     kind;
  gsize               offset;   /* of the field inside its record */
  guint32             min;      /* ENUM: smallest value */
  guint32             max;      /* ENUM: largest value; STRING: byte limit */
  const DkWireLayout *element;  /* ARRAY and NESTED */
} DkWireField;

struct _DkWireLayout
{
  const DkWireField *fields;
  guint              n_fields;
  gsize              record_size;   /* sizeof the record (array elements) */
  GDestroyNotify     element_clear; /* ARRAY: frees one element's contents */
  /* Cross-field rules (a partition below Q, a value only in a PUT);
   * run after decoding and before encoding a record; may be NULL. */
  gboolean (*check) (const void *record, GError **error);
};

#define DK_WIRE_LAYOUT(fields_, type_, clear_, check_) \
  { fields_, G_N_ELEMENTS (fields_), sizeof (type_), clear_, check_ }

/* A cursor over untrusted bytes: reads never pass LEN. */
typedef struct
{
  const guint8 *data;
  gsize         len;
  gsize         pos;
} DkWireReader;

/* A cursor over an output buffer whose size was computed beforehand (the
 * *_size functions below): an encoder sizes the whole datagram, allocates
 * it once and writes every field in place.  Writing past LEN is a
 * programmer error (the sizes disagree with the writers) and aborts. */
typedef struct
{
  guint8 *data;
  gsize   len;
  gsize   pos;
} DkWireWriter;

/* Room for N more bytes at OUT's position, which then moves past them. */
static inline guint8 *
dk_wire_writer_take (DkWireWriter *out, gsize n)
{
  g_assert (n <= out->len - out->pos);
  guint8 *at = out->data + out->pos;
  out->pos += n;
  return at;
}

/* ---- field encodings (wire_fields.c) ----------------------------------------
 * Writers write at OUT and refuse (GError) what breaks a limit, which
 * fails the whole encoding; readers advance IN and refuse what is
 * truncated, oversize or non-canonical.  Neither names the field: the
 * walker prefixes it.  Each writer has a size function: the bytes it
 * writes when it succeeds, and never fewer than it writes before refusing
 * (a field over a limit is sized as if cut at the limit, since it is
 * refused before its bytes are written), so a buffer of that size is
 * both exact and safe. */

/* Big-endian integers; a reader fails only when the bytes run out. */
static inline void
dk_wire_put_u8 (DkWireWriter *out, guint8 value)
{
  *dk_wire_writer_take (out, 1) = value;
}

static inline void
dk_wire_put_u16 (DkWireWriter *out, guint16 value)
{
  guint16 be = GUINT16_TO_BE (value);
  memcpy (dk_wire_writer_take (out, sizeof be), &be, sizeof be);
}

static inline void
dk_wire_put_u32 (DkWireWriter *out, guint32 value)
{
  guint32 be = GUINT32_TO_BE (value);
  memcpy (dk_wire_writer_take (out, sizeof be), &be, sizeof be);
}

static inline void
dk_wire_put_u64 (DkWireWriter *out, guint64 value)
{
  guint64 be = GUINT64_TO_BE (value);
  memcpy (dk_wire_writer_take (out, sizeof be), &be, sizeof be);
}

/* Set the truncation error for N bytes wanted at IN.  The readers below
 * are inline and call it only when the bytes run out. */
void dk_wire_reader_short (const DkWireReader *in, gsize n, GError **error);

static inline gboolean
dk_wire_get_u8 (DkWireReader *in, guint8 *value, GError **error)
{
  if (G_UNLIKELY (in->pos >= in->len))
    {
      dk_wire_reader_short (in, 1, error);
      return FALSE;
    }
  *value = in->data[in->pos++];
  return TRUE;
}

/* The next N bytes of IN, consumed; NULL (and ERROR set) when fewer remain. */
static inline const guint8 *
dk_wire_take (DkWireReader *in, gsize n, GError **error)
{
  if (G_UNLIKELY (in->len - in->pos < n))
    {
      dk_wire_reader_short (in, n, error);
      return NULL;
    }
  const guint8 *at = in->data + in->pos;
  in->pos += n;
  return at;
}

/* Big-endian unsigned integers of 2, 4 and 8 bytes. */
static inline gboolean
dk_wire_get_u16 (DkWireReader *in, guint16 *value, GError **error)
{
  guint16 be;
  const guint8 *at = dk_wire_take (in, sizeof be, error);
  if (at == NULL)
    return FALSE;
  memcpy (&be, at, sizeof be);
  *value = GUINT16_FROM_BE (be);
  return TRUE;
}

static inline gboolean
dk_wire_get_u32 (DkWireReader *in, guint32 *value, GError **error)
{
  guint32 be;
  const guint8 *at = dk_wire_take (in, sizeof be, error);
  if (at == NULL)
    return FALSE;
  memcpy (&be, at, sizeof be);
  *value = GUINT32_FROM_BE (be);
  return TRUE;
}

static inline gboolean
dk_wire_get_u64 (DkWireReader *in, guint64 *value, GError **error)
{
  guint64 be;
  const guint8 *at = dk_wire_take (in, sizeof be, error);
  if (at == NULL)
    return FALSE;
  memcpy (&be, at, sizeof be);
  *value = GUINT64_FROM_BE (be);
  return TRUE;
}

/* A u8 that must be 0 or 1. */
gboolean dk_wire_get_flag (DkWireReader *in, gboolean *flag, GError **error);

/* u16-length-prefixed bytes of MIN .. MAX bytes; NULL writes as empty.
 * The reader returns a new GBytes. */
gsize dk_wire_bytes_size (GBytes *bytes, gsize max);
gboolean dk_wire_put_bytes (DkWireWriter *out, GBytes *bytes, gsize min, gsize max,
                            GError **error);
gboolean dk_wire_get_bytes (DkWireReader *in, gsize min, gsize max, GBytes **bytes,
                            GError **error);

/* u16-length-prefixed UTF-8 without NUL, at most MAX bytes; NULL writes
 * as "".  The reader returns a new string. */
gsize dk_wire_string_size (const char *text, gsize max);
gboolean dk_wire_put_string (DkWireWriter *out, const char *text, gsize max, GError **error);
gboolean dk_wire_get_string (DkWireReader *in, gsize max, char **text, GError **error);

/* A presence byte and, when present, a dk_vclock_encode clock; NULL is
 * absent.  The reader returns a new clock or leaves *CLOCK NULL. */
gsize dk_wire_optional_clock_size (const DkVclock *clock);
gboolean dk_wire_put_optional_clock (DkWireWriter *out, const DkVclock *clock, GError **error);
gboolean dk_wire_get_optional_clock (DkWireReader *in, DkVclock **clock, GError **error);

/* A sibling set (count, then flags, clock and value per version); the
 * reader appends new versions to SIBLINGS.  Errors start with ": " or
 * "[i].field: " so they read after the field name. */
gsize dk_wire_siblings_size (const GPtrArray *siblings);
gboolean dk_wire_put_siblings (DkWireWriter *out, const GPtrArray *siblings, GError **error);
gboolean dk_wire_get_siblings (DkWireReader *in, GPtrArray *siblings, GError **error);

/* Equality of what survives a round trip: NULL bytes equal empty ones;
 * clocks entry by entry with timestamps; siblings in order. */
gboolean dk_wire_bytes_equal (GBytes *a, GBytes *b);
gboolean dk_wire_clocks_identical (const DkVclock *a, const DkVclock *b);
gboolean dk_wire_siblings_identical (const GPtrArray *a, const GPtrArray *b);

/* ---- the walker (wire_layout.c) ------------------------------------------------ */

/* RECORD points at a struct described by LAYOUT.  Init creates its empty
 * containers; clear frees what it owns; size is what encode writes (when
 * it succeeds); decode fills a freshly initialised record (clear it on
 * failure too). */
void dk_wire_layout_init (const DkWireLayout *layout, void *record);
void dk_wire_layout_clear (const DkWireLayout *layout, void *record);

/* The fields of a record that own memory (keys, values, strings, clocks,
 * sibling sets, arrays), nested records flattened to offsets from the
 * outer one: what init and clear must visit, listed once per layout so
 * that creating and freeing a message skips its plain numbers. */
typedef struct
{
  gsize               offset;
  DkWireFieldKind     kind;
  const DkWireLayout *element;   /* ARRAY */
} DkWireOwned;

#define DK_WIRE_OWNED_MAX 16

/* LAYOUT's owned fields into OUT (room for DK_WIRE_OWNED_MAX; more is a
 * programmer error); returns how many. */
guint dk_wire_layout_owned (const DkWireLayout *layout, DkWireOwned *out);
/* dk_wire_layout_init and _clear of a record whose owned fields are
 * OWNED (N of them); init expects the record zeroed. */
void dk_wire_owned_init (const DkWireOwned *owned, guint n, void *record);
void dk_wire_owned_clear (const DkWireOwned *owned, guint n, void *record);
gsize dk_wire_layout_size (const DkWireLayout *layout, const void *record);
gboolean dk_wire_layout_encode (const DkWireLayout *layout, const void *record,
                                DkWireWriter *out, GError **error);
gboolean dk_wire_layout_decode (const DkWireLayout *layout, void *record,
                                DkWireReader *in, GError **error);
gboolean dk_wire_layout_equal (const DkWireLayout *layout, const void *a, const void *b);

/* The body layout and name of a message type (wire_messages.c); NULL for
 * an unknown type. */
const DkWireLayout *dk_wire_body_layout (DkWireType type);
const char *dk_wire_body_name (DkWireType type);

G_END_DECLS

#endif /* DK_WIRE_LAYOUT_H */
