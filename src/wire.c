/* wire.c — framing, dispatch and authentication of wire messages.
 *
 * The header (layout in wire.h) is read and written here; the body of
 * each type is handed to the generic walker with that type's layout
 * (wire_layout.c, wire_messages.c).  The HMAC tag, when present, covers
 * the header, body and stamp exactly as sent, flag included, so a flag
 * flipped or a timestamp moved in transit fails verification like any
 * other byte.
 */
#include <string.h>
#include "wire_layout.h"

G_DEFINE_QUARK (dk-wire-error-quark, dk_wire_error)

/* Header offsets. */
enum
{
  HEADER_MAGIC = 0,
  HEADER_VERSION = 2,
  HEADER_TYPE = 3,
  HEADER_FLAGS = 4,
  HEADER_RESERVED = 6,
  HEADER_REQUEST_ID = 8,
  HEADER_SENDER = 16,
  HEADER_BODY_LENGTH = 20,
};

typedef struct
{
  DkWireType type;
  guint16    flags;
  guint64    request_id;
  DkNodeId   sender;
  guint32    body_length;
} DkWireHeader;

const char *
dk_wire_type_name (DkWireType type)
{
  return dk_wire_body_name (type);
}

/* Each type's owned fields (dk_wire_layout_owned), listed on first use:
 * every message is created and freed by these lists. */
typedef struct
{
  DkWireOwned fields[DK_WIRE_OWNED_MAX];
  guint       n;
} OwnedFields;

static const OwnedFields *
owned_fields (DkWireType type)
{
  static OwnedFields by_type[DK_WIRE_TYPE_LAST + 1];
  static gsize listed = 0;
  if (g_once_init_enter (&listed))
    {
      for (guint t = DK_WIRE_TYPE_FIRST; t <= DK_WIRE_TYPE_LAST; t++)
        by_type[t].n = dk_wire_layout_owned (dk_wire_body_layout (t), by_type[t].fields);
      g_once_init_leave (&listed, 1);
    }
  return &by_type[type];
}

DkWireMessage *
dk_wire_message_new (DkWireType type)
{
  g_return_val_if_fail (dk_wire_body_layout (type) != NULL, NULL);
  DkWireMessage *message = g_new (DkWireMessage, 1);
  *message = (DkWireMessage) { .type = type };
  const OwnedFields *owned = owned_fields (type);
  dk_wire_owned_init (owned->fields, owned->n, &message->body);
  return message;
}

void
dk_wire_message_free (DkWireMessage *message)
{
  if (message == NULL)
    return;
  if (dk_wire_body_layout (message->type) != NULL)
    {
      const OwnedFields *owned = owned_fields (message->type);
      dk_wire_owned_clear (owned->fields, owned->n, &message->body);
    }
  g_free (message);
}

gboolean
dk_wire_message_equal (const DkWireMessage *a, const DkWireMessage *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (a->type != b->type || a->request_id != b->request_id || a->sender != b->sender)
    return FALSE;
  const DkWireLayout *layout = dk_wire_body_layout (a->type);
  return layout != NULL && dk_wire_layout_equal (layout, &a->body, &b->body);
}

/* ---- encoding ------------------------------------------------------------ */

gsize
dk_wire_encoded_size (const DkWireMessage *message)
{
  g_return_val_if_fail (message != NULL, 0);
  const DkWireLayout *layout = dk_wire_body_layout (message->type);
  g_return_val_if_fail (layout != NULL, 0);
  return DK_WIRE_HEADER_BYTES + dk_wire_layout_size (layout, &message->body)
         + DK_WIRE_TAG_BYTES;
}

GByteArray *
dk_wire_encode (const DkWireMessage *message, GError **error)
{
  g_return_val_if_fail (message != NULL, NULL);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  if (!dk_wire_encode_into (message, out, error))
    return NULL;
  return g_steal_pointer (&out);
}

gboolean
dk_wire_encode_into (const DkWireMessage *message, GByteArray *out, GError **error)
{
  g_return_val_if_fail (message != NULL && out != NULL, FALSE);
  const DkWireLayout *layout = dk_wire_body_layout (message->type);
  if (layout == NULL)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_UNKNOWN_TYPE,
                   "header.type: %d is not a known message type", (int) message->type);
      return FALSE;
    }
  /* Sized first, allocated once, then written in place. */
  gsize size = DK_WIRE_HEADER_BYTES + dk_wire_layout_size (layout, &message->body);
  if (size > G_MAXUINT32 - DK_WIRE_TAG_BYTES)  /* past every field limit: cannot happen */
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_MESSAGE_TOO_LARGE,
                   "%s: %" G_GSIZE_FORMAT " bytes exceeds the %u-byte datagram limit",
                   dk_wire_type_name (message->type), size, DK_WIRE_MAX_DATAGRAM);
      return FALSE;
    }
  g_byte_array_set_size (out, (guint) size);
  DkWireWriter writer = { out->data, size, 0 };
  dk_wire_put_u16 (&writer, DK_WIRE_MAGIC);
  dk_wire_put_u8 (&writer, DK_WIRE_VERSION);
  dk_wire_put_u8 (&writer, (guint8) message->type);
  dk_wire_put_u16 (&writer, 0);  /* flags: only dk_wire_sign sets one */
  dk_wire_put_u16 (&writer, 0);  /* reserved */
  dk_wire_put_u64 (&writer, message->request_id);
  dk_wire_put_u32 (&writer, message->sender);
  dk_wire_put_u32 (&writer, 0);  /* body length, patched below */
  g_assert (writer.pos == DK_WIRE_HEADER_BYTES);

  if (!dk_wire_layout_encode (layout, &message->body, &writer, error))
    {
      g_prefix_error (error, "%s.", dk_wire_type_name (message->type));
      return FALSE;
    }
  g_assert (writer.pos == size);
  gsize with_tag = out->len + DK_WIRE_TAG_BYTES;
  if (with_tag > DK_WIRE_MAX_DATAGRAM)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_MESSAGE_TOO_LARGE,
                   "%s: %" G_GSIZE_FORMAT " bytes (with the %u-byte stamp and tag) exceeds the %u-byte datagram limit",
                   dk_wire_type_name (message->type), with_tag, DK_WIRE_TAG_BYTES,
                   DK_WIRE_MAX_DATAGRAM);
      return FALSE;
    }
  guint32 body_length_be = GUINT32_TO_BE (out->len - DK_WIRE_HEADER_BYTES);
  memcpy (out->data + HEADER_BODY_LENGTH, &body_length_be, sizeof body_length_be);
  return TRUE;
}

/* ---- decoding -------------------------------------------------------------- */

/* Read and check the header of the LEN-byte DATAGRAM: every header field
 * valid and the body length (plus a tag when flagged) equal to the rest. */
static gboolean
read_header (const guint8 *datagram, gsize len, DkWireHeader *header, GError **error)
{
  if (len < DK_WIRE_HEADER_BYTES)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_TRUNCATED,
                   "header: %" G_GSIZE_FORMAT " bytes, a header needs %u",
                   len, DK_WIRE_HEADER_BYTES);
      return FALSE;
    }
  DkWireReader in = { datagram, DK_WIRE_HEADER_BYTES, 0 };
  guint16 magic = 0, reserved = 0;
  guint8 version = 0, type = 0;
  /* Cannot fail: the header is all there. */
  dk_wire_get_u16 (&in, &magic, NULL);
  dk_wire_get_u8 (&in, &version, NULL);
  dk_wire_get_u8 (&in, &type, NULL);
  dk_wire_get_u16 (&in, &header->flags, NULL);
  dk_wire_get_u16 (&in, &reserved, NULL);
  dk_wire_get_u64 (&in, &header->request_id, NULL);
  dk_wire_get_u32 (&in, &header->sender, NULL);
  dk_wire_get_u32 (&in, &header->body_length, NULL);
  header->type = type;

  if (magic != DK_WIRE_MAGIC)
    g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_BAD_MAGIC,
                 "header.magic: 0x%04x is not dynkv's 0x%04x", magic, DK_WIRE_MAGIC);
  else if (version != DK_WIRE_VERSION)
    g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_BAD_VERSION,
                 "header.version: %u, but this node speaks version %u", version, DK_WIRE_VERSION);
  else if (dk_wire_body_layout (header->type) == NULL)
    g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_UNKNOWN_TYPE,
                 "header.type: %u is not a known message type", type);
  else if ((header->flags & ~DK_WIRE_FLAGS_KNOWN) != 0)
    g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                 "header.flags: unknown bits 0x%04x", header->flags & ~DK_WIRE_FLAGS_KNOWN);
  else if (reserved != 0)
    g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID,
                 "header.reserved: 0x%04x where 0 is required", reserved);
  else if (len > DK_WIRE_MAX_DATAGRAM)
    g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_MESSAGE_TOO_LARGE,
                 "%" G_GSIZE_FORMAT "-byte datagram exceeds the %u-byte limit",
                 len, DK_WIRE_MAX_DATAGRAM);
  else
    {
      guint64 tag = (header->flags & DK_WIRE_FLAG_AUTHENTICATED) ? DK_WIRE_TAG_BYTES : 0;
      guint64 expected = (guint64) DK_WIRE_HEADER_BYTES + header->body_length + tag;
      if (expected == len)
        return TRUE;
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_LENGTH_MISMATCH,
                   "header.body_length: %u body bytes%s need a %" G_GUINT64_FORMAT
                   "-byte datagram, got %" G_GSIZE_FORMAT,
                   header->body_length, tag ? " and a tag" : "", expected, len);
    }
  return FALSE;
}

DkWireMessage *
dk_wire_decode (const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  DkWireHeader header;
  if (!read_header (data, len, &header, error))
    return NULL;

  g_autoptr (DkWireMessage) message = dk_wire_message_new (header.type);
  message->flags = header.flags;
  message->request_id = header.request_id;
  message->sender = header.sender;
  DkWireReader body = { data + DK_WIRE_HEADER_BYTES, header.body_length, 0 };
  const char *name = dk_wire_type_name (header.type);
  if (!dk_wire_layout_decode (dk_wire_body_layout (header.type), &message->body, &body, error))
    {
      g_prefix_error (error, "%s.", name);
      return NULL;
    }
  if (body.pos != body.len)
    {
      g_set_error (error, DK_WIRE_ERROR, DK_WIRE_ERROR_LENGTH_MISMATCH,
                   "%s: %" G_GSIZE_FORMAT " unexpected bytes after the body",
                   name, body.len - body.pos);
      return NULL;
    }
  return g_steal_pointer (&message);
}

gboolean
dk_wire_peek_type (const guint8 *datagram, gsize len, DkWireType *type)
{
  if (datagram == NULL || len < DK_WIRE_HEADER_BYTES)
    return FALSE;
  guint16 magic = (guint16) (datagram[HEADER_MAGIC] << 8 | datagram[HEADER_MAGIC + 1]);
  DkWireType found = datagram[HEADER_TYPE];
  if (magic != DK_WIRE_MAGIC || datagram[HEADER_VERSION] != DK_WIRE_VERSION
      || dk_wire_body_layout (found) == NULL)
    return FALSE;
  *type = found;
  return TRUE;
}

gboolean
dk_wire_type_is_client_request (DkWireType type)
{
  return type == DK_WIRE_GET || type == DK_WIRE_PUT || type == DK_WIRE_DELETE
         || type == DK_WIRE_PING || type == DK_WIRE_NODE_STATUS;
}

/* ---- authentication ---------------------------------------------------- */

/* HMAC-SHA256 (RFC 2104) with its two pad blocks hashed once: signing
 * and verifying copy the two states instead of keying a GHmac, two
 * SHA-256 blocks and a key schedule fewer per datagram. */
struct _DkWireKey
{
  GChecksum *inner;   /* SHA-256 over key ^ ipad */
  GChecksum *outer;   /* SHA-256 over key ^ opad */
};

#define HMAC_BLOCK_BYTES 64

DkWireKey *
dk_wire_key_new (const guint8 *key, gsize key_len)
{
  guint8 block[HMAC_BLOCK_BYTES] = { 0 };
  if (key_len > HMAC_BLOCK_BYTES)
    {
      gsize digest_len = DK_WIRE_HMAC_BYTES;
      GChecksum *hashed = g_checksum_new (G_CHECKSUM_SHA256);
      g_checksum_update (hashed, key, (gssize) key_len);
      g_checksum_get_digest (hashed, block, &digest_len);
      g_checksum_free (hashed);
    }
  else if (key_len > 0)
    memcpy (block, key, key_len);
  DkWireKey *prepared = g_new (DkWireKey, 1);
  guint8 pad[HMAC_BLOCK_BYTES];
  for (guint i = 0; i < HMAC_BLOCK_BYTES; i++)
    pad[i] = block[i] ^ 0x36;
  prepared->inner = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (prepared->inner, pad, sizeof pad);
  for (guint i = 0; i < HMAC_BLOCK_BYTES; i++)
    pad[i] = block[i] ^ 0x5c;
  prepared->outer = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (prepared->outer, pad, sizeof pad);
  memset (block, 0, sizeof block);
  memset (pad, 0, sizeof pad);
  return prepared;
}

void
dk_wire_key_free (DkWireKey *key)
{
  if (key == NULL)
    return;
  g_checksum_free (key->inner);
  g_checksum_free (key->outer);
  g_free (key);
}

static void
compute_tag_with (const guint8 *data, gsize len, const DkWireKey *key,
                  guint8 tag[DK_WIRE_HMAC_BYTES])
{
  guint8 inner_digest[DK_WIRE_HMAC_BYTES];
  gsize digest_len = sizeof inner_digest;
  GChecksum *inner = g_checksum_copy (key->inner);
  g_checksum_update (inner, data, (gssize) len);
  g_checksum_get_digest (inner, inner_digest, &digest_len);
  g_checksum_free (inner);
  GChecksum *outer = g_checksum_copy (key->outer);
  g_checksum_update (outer, inner_digest, sizeof inner_digest);
  digest_len = DK_WIRE_HMAC_BYTES;
  g_checksum_get_digest (outer, tag, &digest_len);
  g_checksum_free (outer);
  g_assert (digest_len == DK_WIRE_HMAC_BYTES);
}

/* The tag under KEY, prepared (PREPARED) or as bytes (RAW, RAW_LEN). */
static void
compute_tag (const guint8 *data, gsize len, const DkWireKey *prepared, const guint8 *raw,
             gsize raw_len, guint8 tag[DK_WIRE_HMAC_BYTES])
{
  if (prepared != NULL)
    {
      compute_tag_with (data, len, prepared, tag);
      return;
    }
  GHmac *hmac = g_hmac_new (G_CHECKSUM_SHA256, raw, raw_len);
  gsize tag_len = DK_WIRE_HMAC_BYTES;
  g_hmac_update (hmac, data, (gssize) len);
  g_hmac_get_digest (hmac, tag, &tag_len);
  g_hmac_unref (hmac);
  g_assert (tag_len == DK_WIRE_HMAC_BYTES);
}

static void
sign_stamped (GByteArray *datagram, const DkWireKey *prepared, const guint8 *key,
              gsize key_len, const DkWireStamp *stamp)
{
  g_return_if_fail (datagram != NULL && datagram->len >= DK_WIRE_HEADER_BYTES);
  g_return_if_fail (stamp != NULL);
  g_return_if_fail ((datagram->data[HEADER_FLAGS + 1] & DK_WIRE_FLAG_AUTHENTICATED) == 0);
  g_return_if_fail (datagram->len + DK_WIRE_TAG_BYTES <= DK_WIRE_MAX_DATAGRAM);
  datagram->data[HEADER_FLAGS + 1] |= DK_WIRE_FLAG_AUTHENTICATED;
  guint8 stamp_bytes[DK_WIRE_STAMP_BYTES];
  DkWireWriter writer = { stamp_bytes, sizeof stamp_bytes, 0 };
  dk_wire_put_u64 (&writer, (guint64) stamp->timestamp_us);
  dk_wire_put_u64 (&writer, stamp->nonce);
  dk_wire_put_u32 (&writer, stamp->receiver);
  g_byte_array_append (datagram, stamp_bytes, sizeof stamp_bytes);
  guint8 tag[DK_WIRE_HMAC_BYTES];
  compute_tag (datagram->data, datagram->len, prepared, key, key_len, tag);
  g_byte_array_append (datagram, tag, sizeof tag);
}

void
dk_wire_sign_stamped (GByteArray *datagram, const guint8 *key, gsize key_len,
                      const DkWireStamp *stamp)
{
  sign_stamped (datagram, NULL, key, key_len, stamp);
}

void
dk_wire_sign_stamped_with (GByteArray *datagram, const DkWireKey *key, const DkWireStamp *stamp)
{
  g_return_if_fail (key != NULL);
  sign_stamped (datagram, key, NULL, 0, stamp);
}

void
dk_wire_sign (GByteArray *datagram, const guint8 *key, gsize key_len)
{
  static const DkWireStamp unstamped = { 0, 0, DK_NODE_NONE };
  dk_wire_sign_stamped (datagram, key, key_len, &unstamped);
}

gboolean
dk_wire_read_stamp (const guint8 *datagram, gsize len, DkWireStamp *stamp, const guint8 **tag)
{
  if (datagram == NULL || len < DK_WIRE_HEADER_BYTES + DK_WIRE_TAG_BYTES
      || (datagram[HEADER_FLAGS + 1] & DK_WIRE_FLAG_AUTHENTICATED) == 0)
    return FALSE;
  gsize at = len - DK_WIRE_TAG_BYTES;
  DkWireReader in = { datagram + at, DK_WIRE_STAMP_BYTES, 0 };
  guint64 timestamp = 0;
  /* Cannot fail: the stamp is all there. */
  dk_wire_get_u64 (&in, &timestamp, NULL);
  dk_wire_get_u64 (&in, &stamp->nonce, NULL);
  dk_wire_get_u32 (&in, &stamp->receiver, NULL);
  stamp->timestamp_us = (gint64) timestamp;
  if (tag != NULL)
    *tag = datagram + at + DK_WIRE_STAMP_BYTES;
  return TRUE;
}

static gboolean
verify (const guint8 *datagram, gsize len, const DkWireKey *prepared, const guint8 *key,
        gsize key_len, GError **error)
{
  DkWireHeader header;
  if (!read_header (datagram, len, &header, error))
    return FALSE;
  if ((header.flags & DK_WIRE_FLAG_AUTHENTICATED) == 0)
    {
      g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_UNAUTHENTICATED,
                           "datagram carries no authentication tag");
      return FALSE;
    }
  /* The stamp is signed with the header and body: only the HMAC is not. */
  guint8 expected[DK_WIRE_HMAC_BYTES];
  gsize signed_len = len - DK_WIRE_HMAC_BYTES;
  compute_tag (datagram, signed_len, prepared, key, key_len, expected);
  /* Constant time: every byte is looked at whatever the first mismatch. */
  guint8 difference = 0;
  for (gsize i = 0; i < DK_WIRE_HMAC_BYTES; i++)
    difference |= expected[i] ^ datagram[signed_len + i];
  if (difference == 0)
    return TRUE;
  g_set_error_literal (error, DK_WIRE_ERROR, DK_WIRE_ERROR_BAD_TAG,
                       "authentication tag does not match the cluster key");
  return FALSE;
}

gboolean
dk_wire_verify (const guint8 *datagram, gsize len, const guint8 *key, gsize key_len,
                GError **error)
{
  return verify (datagram, len, NULL, key, key_len, error);
}

gboolean
dk_wire_verify_with (const guint8 *datagram, gsize len, const DkWireKey *key, GError **error)
{
  g_return_val_if_fail (key != NULL, FALSE);
  return verify (datagram, len, key, NULL, 0, error);
}
