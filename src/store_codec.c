/* store_codec.c — the siblings BLOB of a store row: encode with optional
 * zlib compression per value, and a decoder that refuses anything
 * malformed (never reads past the blob, never trusts a length).
 *
 * Layout (big-endian): u8 format (2), u8 count, then per version
 *   u8 flags (bit 0 tombstone, bit 1 deflated), the version's dot and
 *   context (dk_version_header_encode_to),
 *   u32 stored length, [u32 original length when deflated], stored bytes.
 */
#include <string.h>
#include <zlib.h>
#include "store_private.h"

#define CODEC_FORMAT        2
#define FLAG_TOMBSTONE      0x01
#define FLAG_DEFLATED       0x02
#define FLAGS_KNOWN         (FLAG_TOMBSTONE | FLAG_DEFLATED)

/* Room for N more bytes at the end of OUT, returned for writing. */
static guint8 *
grow (GByteArray *out, gsize n)
{
  guint start = out->len;
  g_byte_array_set_size (out, start + (guint) n);
  return out->data + start;
}

static guint8 *
put_u32 (guint8 *at, guint32 value)
{
  guint32 big_endian = GUINT32_TO_BE (value);
  memcpy (at, &big_endian, 4);
  return at + 4;
}

static guint32
get_u32 (const guint8 *data)
{
  return ((guint32) data[0] << 24) | ((guint32) data[1] << 16)
         | ((guint32) data[2] << 8) | (guint32) data[3];
}

/* Deflate VALUE into a new buffer when that saves bytes; NULL otherwise. */
static guint8 *
deflate_if_smaller (const guint8 *value, gsize len, gsize *deflated_len)
{
  uLongf bound = compressBound ((uLong) len);
  g_autofree guint8 *buffer = g_malloc (bound);
  if (compress2 (buffer, &bound, value, (uLong) len, Z_DEFAULT_COMPRESSION) != Z_OK
      || bound >= len)
    return NULL;
  *deflated_len = bound;
  return g_steal_pointer (&buffer);
}

/* Each version's bytes are written in place once their size is known
 * (after the value is deflated, when it is). */
void
dk_store_encode_siblings (const GPtrArray *siblings, gsize threshold,
                          GByteArray *out, gsize *saved)
{
  g_return_if_fail (siblings->len <= DK_SIBLINGS_HARD_MAX);
  gsize total_saved = 0;
  guint8 *header = grow (out, 2);
  header[0] = CODEC_FORMAT;
  header[1] = (guint8) siblings->len;
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      gsize len = 0;
      const guint8 *value = g_bytes_get_data (version->value, &len);
      gsize deflated_len = 0;
      g_autofree guint8 *deflated = len > threshold
                                      ? deflate_if_smaller (value, len, &deflated_len) : NULL;
      guint8 flags = (version->tombstone ? FLAG_TOMBSTONE : 0)
                     | (deflated != NULL ? FLAG_DEFLATED : 0);
      gsize clock_len = dk_version_header_size (version);
      gsize stored_len = deflated != NULL ? deflated_len : len;
      guint8 *at = grow (out, 1 + clock_len + (deflated != NULL ? 8 : 4) + stored_len);
      *at++ = flags;
      at += dk_version_header_encode_to (version, at);
      at = put_u32 (at, (guint32) stored_len);
      if (deflated != NULL)
        {
          at = put_u32 (at, (guint32) len);
          memcpy (at, deflated, deflated_len);
          total_saved += len - deflated_len - 4;
        }
      else if (len > 0)
        memcpy (at, value, len);
    }
  if (saved != NULL)
    *saved = total_saved;
}

gsize
dk_store_encoded_size (const GPtrArray *siblings, gsize threshold, GByteArray *scratch,
                       gsize *saved)
{
  gsize size = 2;
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      gsize len = g_bytes_get_size (version->value);
      if (len > threshold)
        {
          /* Deflating decides the size: encode for real. */
          g_byte_array_set_size (scratch, 0);
          dk_store_encode_siblings (siblings, threshold, scratch, saved);
          return scratch->len;
        }
      size += 1 + dk_version_header_size (version) + 4 + len;
    }
  *saved = 0;
  return size;
}

static gboolean
corrupt (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
corrupt (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, DK_STORE_ERROR, DK_STORE_ERROR_CORRUPT, message);
  return FALSE;
}

/* Decode one version at DATA[*POS..LEN), advancing *POS. */
static DkVersion *
decode_version (const guint8 *data, gsize len, gsize *pos, guint index, GError **error)
{
  if (*pos >= len)
    return corrupt (error, "siblings blob truncated before version %u", index), NULL;
  guint8 flags = data[(*pos)++];
  if ((flags & ~FLAGS_KNOWN) != 0)
    return corrupt (error, "version %u has unknown flags 0x%02x", index, flags), NULL;
  gsize consumed = 0;
  DkDot dot;
  g_autoptr(DkVclock) context = NULL;
  g_autoptr(GError) clock_error = NULL;
  if (!dk_version_header_decode (data + *pos, len - *pos, &consumed, &dot, &context,
                                 &clock_error))
    return corrupt (error, "version %u: bad dot or context: %s", index,
                    clock_error->message), NULL;
  *pos += consumed;

  gboolean deflated = (flags & FLAG_DEFLATED) != 0;
  gsize header = deflated ? 8 : 4;
  if (len - *pos < header)
    return corrupt (error, "version %u: truncated value header", index), NULL;
  gsize stored_len = get_u32 (data + *pos);
  gsize value_len = deflated ? get_u32 (data + *pos + 4) : stored_len;
  *pos += header;
  if (len - *pos < stored_len)
    return corrupt (error, "version %u: value of %zu bytes overruns the blob", index,
                    stored_len), NULL;
  if (value_len > DK_VALUE_MAX_BYTES)
    return corrupt (error, "version %u: value of %zu bytes is over the %u-byte limit",
                    index, value_len, DK_VALUE_MAX_BYTES), NULL;
  if ((flags & FLAG_TOMBSTONE) && value_len != 0)
    return corrupt (error, "version %u: tombstone with a %zu-byte value", index,
                    value_len), NULL;

  g_autoptr(GBytes) value = NULL;
  if (deflated)
    {
      guint8 *buffer = g_malloc (value_len > 0 ? value_len : 1);
      uLongf out_len = (uLongf) value_len;
      int rc = uncompress (buffer, &out_len, data + *pos, (uLong) stored_len);
      if (rc != Z_OK || out_len != value_len)
        {
          g_free (buffer);
          return corrupt (error, "version %u: deflated value does not inflate to %zu bytes"
                          " (zlib %d)", index, value_len, rc), NULL;
        }
      value = g_bytes_new_take (buffer, value_len);
    }
  else
    value = g_bytes_new (data + *pos, stored_len);
  *pos += stored_len;
  return dk_version_new (dot, g_steal_pointer (&context), value, (flags & FLAG_TOMBSTONE) != 0);
}

GPtrArray *
dk_store_decode_siblings (const guint8 *data, gsize len, GError **error)
{
  if (len < 2)
    return corrupt (error, "siblings blob of %zu bytes is too short", len), NULL;
  if (data[0] != CODEC_FORMAT)
    return corrupt (error, "siblings blob has unknown format %u", data[0]), NULL;
  guint count = data[1];
  if (count > DK_SIBLINGS_HARD_MAX)
    return corrupt (error, "siblings blob holds %u versions, over the limit of %u",
                    count, DK_SIBLINGS_HARD_MAX), NULL;
  g_autoptr(GPtrArray) siblings = dk_siblings_new ();
  gsize pos = 2;
  for (guint i = 0; i < count; i++)
    {
      DkVersion *version = decode_version (data, len, &pos, i, error);
      if (version == NULL)
        return NULL;
      g_ptr_array_add (siblings, version);
    }
  if (pos != len)
    return corrupt (error, "siblings blob has %zu trailing bytes", len - pos), NULL;
  return g_steal_pointer (&siblings);
}

char *
dk_store_key_display (GBytes *key)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (key, &len);
  GString *text = g_string_new (NULL);
  for (gsize i = 0; i < len && i < 64; i++)
    {
      if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\' && data[i] != '\'')
        g_string_append_c (text, (char) data[i]);
      else
        g_string_append_printf (text, "\\x%02x", data[i]);
    }
  if (len > 64)
    g_string_append (text, "...");
  return g_string_free (text, FALSE);
}
