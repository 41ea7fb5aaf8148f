/* fuzz_wire.c — libFuzzer target for the wire decoder.
 *
 * Feeds arbitrary bytes to dk_wire_decode (and dk_wire_verify).  Decoding
 * must never crash or read out of bounds (ASan and UBSan watch), and
 * whatever it accepts must be canonical: re-encoding the message gives
 * back the input (minus the tag and its flag) and decodes to an equal
 * message.  Any other outcome aborts, which libFuzzer reports as a crash.
 *
 *   CC=clang /path/to/configure --enable-fuzzing && make fuzz FUZZ_SECONDS=60
 *
 * Seeds: tests/fuzz/corpus/wire, one valid message per type, written by
 * the wire suite (see tests/check_wire.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
require (gboolean condition, const char *what)
{
  if (!condition)
    {
      g_printerr ("fuzz_wire: %s\n", what);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 key[] = "fuzz cluster key";
  GError *error = NULL;

  /* Verification reads the same header; it must fail cleanly too. */
  if (!dk_wire_verify (data, size, key, sizeof key, &error))
    require (error != NULL && error->domain == DK_WIRE_ERROR, "verify failed without a wire error");
  g_clear_error (&error);

  DkWireMessage *message = dk_wire_decode (data, size, &error);
  if (message == NULL)
    {
      require (error != NULL && error->domain == DK_WIRE_ERROR, "decode failed without a wire error");
      g_error_free (error);
      return 0;
    }
  require (error == NULL, "decode succeeded but set an error");

  GByteArray *again = dk_wire_encode (message, &error);
  require (again != NULL, "a decoded message does not re-encode");
  gsize signed_len = (message->flags & DK_WIRE_FLAG_AUTHENTICATED) ? size - DK_WIRE_TAG_BYTES : size;
  require (again->len == signed_len, "re-encoding has another length");
  require (memcmp (again->data, data, 4) == 0
           && memcmp (again->data + 6, data + 6, signed_len - 6) == 0,
           "re-encoding differs from the input");

  DkWireMessage *decoded = dk_wire_decode (again->data, again->len, &error);
  require (decoded != NULL, "a re-encoded message does not decode");
  require (dk_wire_message_equal (message, decoded), "round trip changed the message");

  /* Signing the re-encoding must verify. */
  dk_wire_sign (again, key, sizeof key);
  require (dk_wire_verify (again->data, again->len, key, sizeof key, NULL), "own signature rejected");

  dk_wire_message_free (decoded);
  g_byte_array_unref (again);
  dk_wire_message_free (message);
  return 0;
}
