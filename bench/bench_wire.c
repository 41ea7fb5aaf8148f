/* bench_wire.c — wire codec throughput on typical messages.
 *
 * For a 512-byte-value PUT (put512), a READ_REPLY with two 512-byte
 * siblings (reply2) and a GOSSIP with 100 members (gossip100), prints
 * encode and decode MB/s (of datagram bytes) next to SHA-256 over the
 * same bytes measured in the same run: every datagram of a keyed
 * cluster is HMAC-SHA256'd anyway, so a codec at a ratio >= 1 costs no
 * more than authenticating the message.  The HMAC sign+verify figure
 * (wire.hmac.*) comes last.  DK_BENCH_SCALE scales the work; the default
 * run takes about two seconds.
 */
#include <string.h>
#include "bench.h"
#include "wire.h"

typedef struct
{
  const char    *name;
  DkWireMessage *message;
  long           rounds;
} Workload;

static GBytes *
pattern_bytes (gsize len, guint seed)
{
  guint8 *data = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (i * 131 + seed);
  return g_bytes_new_take (data, len);
}

static DkVclock *
typical_clock (guint entries)
{
  DkVclock *clock = dk_vclock_new ();
  for (guint node = 1; node <= entries; node++)
    dk_vclock_raise (clock, dk_actor_make (node, 0x5a17e000u + node), node * 3, 1700000000000000 + node);
  return clock;
}

static DkWireMessage *
typical_put (void)
{
  DkWireMessage *put = dk_wire_message_new (DK_WIRE_PUT);
  put->request_id = 77;
  put->body.client_request.client_request_id = 1234;
  put->body.client_request.key = g_bytes_new_static ("user:42:profile", 15);
  put->body.client_request.value = pattern_bytes (512, 1);
  put->body.client_request.context = typical_clock (3);
  return put;
}

static DkWireMessage *
typical_read_reply (void)
{
  DkWireMessage *reply = dk_wire_message_new (DK_WIRE_READ_REPLY);
  reply->sender = 3;
  reply->body.read_reply.key = g_bytes_new_static ("user:42:profile", 15);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (GBytes) value = pattern_bytes (512, i);
      /* Two concurrent writes by nodes 4 and 5 over a 2- or 3-entry context. */
      DkDot dot = { dk_actor_make (4 + i, 0x5a17e004u + i), 7, 1700000000000000 };
      g_ptr_array_add (reply->body.read_reply.siblings,
                       dk_version_new (dot, typical_clock (2 + i), value, FALSE));
    }
  return reply;
}

static DkWireMessage *
typical_gossip (void)
{
  DkWireMessage *gossip = dk_wire_message_new (DK_WIRE_GOSSIP);
  gossip->sender = 1;
  for (guint i = 1; i <= 100; i++)
    {
      DkWireMember member = {
        .node = i,
        .name = g_strdup_printf ("n%u", i),
        .address = g_strdup_printf ("10.0.%u.%u:7400", i / 250, i % 250),
        .datacenter = g_strdup_printf ("dc%u", i % 3),
        .rack = g_strdup_printf ("rack%u", i % 7),
        .vnodes = 64,
        .heartbeat = 100000 + i,
        .incarnation = 2,
        .state = DK_WIRE_MEMBER_UP,
      };
      g_array_append_val (gossip->body.gossip.members, member);
    }
  return gossip;
}

/* MB/s from BYTES processed in SECONDS. */
static double
mb_per_s (double bytes, double seconds)
{
  return seconds > 0 ? bytes / seconds / 1e6 : 0;
}

static void
bench_workload (const Workload *work)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (work->message, &error);
  g_assert_no_error (error);
  double total_bytes = (double) datagram->len * (double) work->rounds;

  double start = bench_now ();
  for (long i = 0; i < work->rounds; i++)
    {
      GByteArray *bytes = dk_wire_encode (work->message, NULL);
      g_byte_array_unref (bytes);
    }
  double encode_s = bench_now () - start;

  start = bench_now ();
  for (long i = 0; i < work->rounds; i++)
    dk_wire_message_free (dk_wire_decode (datagram->data, datagram->len, NULL));
  double decode_s = bench_now () - start;

  start = bench_now ();
  GChecksum *checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len;
  for (long i = 0; i < work->rounds; i++)
    {
      g_checksum_reset (checksum);
      g_checksum_update (checksum, datagram->data, datagram->len);
      digest_len = sizeof digest;
      g_checksum_get_digest (checksum, digest, &digest_len);
    }
  g_checksum_free (checksum);
  double sha_s = bench_now () - start;

  static const guint8 key[] = "bench cluster key";
  start = bench_now ();
  for (long i = 0; i < work->rounds; i++)
    {
      GByteArray *signed_copy = g_byte_array_sized_new (datagram->len + DK_WIRE_TAG_BYTES);
      g_byte_array_append (signed_copy, datagram->data, datagram->len);
      dk_wire_sign (signed_copy, key, sizeof key);
      if (!dk_wire_verify (signed_copy->data, signed_copy->len, key, sizeof key, NULL))
        g_error ("own signature rejected");
      g_byte_array_unref (signed_copy);
    }
  double auth_s = bench_now () - start;

  g_autofree char *encode_name = g_strdup_printf ("wire.encode.%s", work->name);
  g_autofree char *decode_name = g_strdup_printf ("wire.decode.%s", work->name);
  g_autofree char *auth_name = g_strdup_printf ("wire.hmac.%s", work->name);
  g_autofree char *size_note = g_strdup_printf ("%u-byte datagram, baseline SHA-256", datagram->len);
  double sha = mb_per_s (total_bytes, sha_s);
  g_autofree char *size_name = g_strdup_printf ("wire.size.%s", work->name);
  bench_report (size_name, (double) datagram->len, "bytes", size_note);
  bench_report_ratio (encode_name, mb_per_s (total_bytes, encode_s), sha, "MB/s", ">= 1");
  bench_report_ratio (decode_name, mb_per_s (total_bytes, decode_s), sha, "MB/s", ">= 1");
  bench_report_ratio (auth_name, mb_per_s (total_bytes, auth_s), sha, "MB/s", NULL);
}

int
main (void)
{
  Workload workloads[] = {
    { "put512", typical_put (), bench_scaled (100000) },
    { "reply2", typical_read_reply (), bench_scaled (60000) },
    { "gossip100", typical_gossip (), bench_scaled (8000) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (workloads); i++)
    {
      bench_workload (&workloads[i]);
      dk_wire_message_free (workloads[i].message);
    }
  return 0;
}
