/* check_wire.c — the wire codec round-trips every message, refuses
 * everything else cleanly, and authenticates datagrams.
 *
 * Most tests are properties over random messages of every type from
 * random_message(); the seed of a failing case is in its message.  The
 * committed fuzzing seed corpus (tests/fuzz/corpus/wire) is checked to
 * decode here, and rewritten from the same generator with
 *   DK_WIRE_WRITE_CORPUS=$srcdir/tests/fuzz/corpus/wire \
 *     CK_RUN_SUITE=wire CK_RUN_CASE=corpus ./tests/check_dynkv
 */
#include <string.h>
#include "suites.h"
#include "wire.h"

/* ---- random messages ------------------------------------------------------ */

typedef struct
{
  GRand   *rand;
  gboolean small;  /* keep every field short (seed corpus) */
} Gen;

static guint64
random_u64 (Gen *gen)
{
  return ((guint64) g_rand_int (gen->rand) << 32) | g_rand_int (gen->rand);
}

static guint
random_below (Gen *gen, guint bound)
{
  return bound == 0 ? 0 : (guint) g_rand_int_range (gen->rand, 0, (gint32) bound);
}

static DkDot
dot_of (DkActor actor, guint64 counter)
{
  return (DkDot) { actor, counter, 0 };
}

/* Lengths favour the edges: 0 (when allowed), the limit, and short. */
/* How many list elements: 0 .. MAX, but at least one for the corpus. */
static guint
random_count (Gen *gen, guint max)
{
  return gen->small ? 1 + random_below (gen, max) : random_below (gen, max + 1);
}

static gsize
random_length (Gen *gen, gsize min, gsize max, gsize typical)
{
  if (gen->small)
    return min + random_below (gen, (guint) MIN (typical, 8) + 1);
  switch (random_below (gen, 8))
    {
    case 0:
      return min;
    case 1:
      return max;
    default:
      return min + random_below (gen, (guint) (MIN (typical, max) - min + 1));
    }
}

static GBytes *
random_bytes (Gen *gen, gsize min, gsize max, gsize typical)
{
  gsize len = random_length (gen, min, max, typical);
  guint8 *data = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) g_rand_int (gen->rand);
  return g_bytes_new_take (data, len);
}

/* UTF-8 text of at most MAX bytes mixing one-, two- and three-byte chars. */
static char *
random_text (Gen *gen, gsize max)
{
  static const char *const pieces[] = { "a", "Z", "7", "-", ":", ".", "\xc3\xa9", "\xe6\x97\xa5" };
  gsize target = random_length (gen, 0, max, 24);
  GString *text = g_string_new (NULL);
  for (;;)
    {
      const char *piece = pieces[random_below (gen, G_N_ELEMENTS (pieces))];
      if (text->len + strlen (piece) > target)
        break;
      g_string_append (text, piece);
    }
  return g_string_free (text, FALSE);
}

/* Any valid clock, built through its own decoder so actors, counters and
 * timestamps cover their whole range; counters stay within
 * 1 .. MAX_COUNTER. */
static DkVclock *
random_clock_below (Gen *gen, guint64 max_counter)
{
  guint entries = (guint) random_length (gen, 0, DK_VCLOCK_MAX_ENTRIES, 6);
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint8 count_be[2] = { (guint8) (entries >> 8), (guint8) entries };
  g_byte_array_append (bytes, count_be, 2);
  /* Ascending actors: ENTRIES steps spread over the 64-bit range. */
  guint64 stride = G_MAXUINT64 / (entries + 1), actor = 0;
  for (guint i = 0; i < entries; i++)
    {
      actor += 1 + (random_below (gen, 2) ? random_below (gen, 1000) : random_u64 (gen) % stride);
      guint64 counter = random_below (gen, 2) ? 1 + random_below (gen, 100)
                                              : 1 + random_u64 (gen) % max_counter;
      guint64 timestamp = random_u64 (gen);
      guint8 entry[24];
      for (int b = 0; b < 8; b++)
        {
          entry[b] = (guint8) (actor >> (56 - 8 * b));
          entry[8 + b] = (guint8) (counter >> (56 - 8 * b));
          entry[16 + b] = (guint8) (timestamp >> (56 - 8 * b));
        }
      g_byte_array_append (bytes, entry, sizeof entry);
    }
  DkVclock *clock = NULL;
  g_autoptr (GError) error = NULL;
  gsize consumed;
  g_assert (dk_vclock_decode (bytes->data, bytes->len, &consumed, &clock, &error));
  return clock;
}

/* A client's context may hold any counter: the coordinator, not the
 * codec, decides which contexts it accepts. */
static DkVclock *
random_optional_clock (Gen *gen)
{
  return random_below (gen, 3) == 0 ? NULL : random_clock_below (gen, G_MAXUINT64);
}

/* A valid version: any non-zero actor, a counter in 1 .. DK_DOT_COUNTER_MAX
 * (the edges often), any wall time, and a context that does not cover
 * the dot (it holds the dot's actor below the dot now and then). */
static DkVersion *
random_version (Gen *gen, GBytes *value, gboolean tombstone)
{
  DkVclock *context = random_clock_below (gen, DK_DOT_COUNTER_MAX);
  DkDot dot = { 0, 0, (gint64) random_u64 (gen) };
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (context, &n);
  if (n > 0 && random_below (gen, 3) == 0 && entries[n - 1].counter < DK_DOT_COUNTER_MAX)
    {
      dot.actor = entries[n - 1].actor;
      dot.counter = entries[n - 1].counter + 1;
    }
  else
    {
      do
        dot.actor = random_u64 (gen) | 1;
      while (dk_vclock_get (context, dot.actor) != 0);
      switch (random_below (gen, 4))
        {
        case 0: dot.counter = 1; break;
        case 1: dot.counter = DK_DOT_COUNTER_MAX; break;
        default: dot.counter = 1 + random_u64 (gen) % DK_DOT_COUNTER_MAX; break;
        }
    }
  return dk_version_new (dot, context, value, tombstone);
}

static GPtrArray *
random_siblings (Gen *gen, guint max_count)
{
  GPtrArray *siblings = dk_siblings_new ();
  guint count = random_count (gen, max_count);
  for (guint i = 0; i < count; i++)
    {
      gboolean tombstone = random_below (gen, 5) == 0;
      g_autoptr (GBytes) value = tombstone ? NULL : random_bytes (gen, 0, DK_VALUE_MAX_BYTES, 300);
      g_ptr_array_add (siblings, random_version (gen, value, tombstone));
    }
  return siblings;
}

static DkWireStatus
random_status (Gen *gen)
{
  return (DkWireStatus) random_below (gen, DK_WIRE_STATUS_LAST + 1);
}

static void
random_client_request (Gen *gen, DkWireType type, DkWireClientRequest *request)
{
  request->client_id = random_u64 (gen);
  request->client_request_id = random_u64 (gen);
  request->r = (guint8) random_below (gen, 256);
  request->w = (guint8) random_below (gen, 256);
  request->key = random_bytes (gen, 1, DK_KEY_MAX_BYTES, 40);
  request->context = random_optional_clock (gen);
  if (type == DK_WIRE_PUT)
    request->value = random_bytes (gen, 0, DK_VALUE_MAX_BYTES, 600);
  if (type == DK_WIRE_GET && random_below (gen, 2))
    request->sibling_offset = (guint8) random_below (gen, DK_SIBLINGS_HARD_MAX + 1);
}

/* Which part of a set a message carries: mostly the whole set. */
static DkWirePart
random_part (Gen *gen)
{
  DkWirePart part = { 0, 0, random_u64 (gen) };
  if (random_below (gen, 3) == 0)
    {
      part.last = (guint8) random_below (gen, 256);
      part.index = (guint8) random_below (gen, part.last + 1u);
    }
  return part;
}

static void
random_tree_range (Gen *gen, DkToken *lo, DkToken *hi, guint8 *depth)
{
  *lo = random_u64 (gen);
  *hi = random_u64 (gen);
  *depth = (guint8) random_below (gen, DK_WIRE_AE_MAX_DEPTH + 1);
}

static guint32
random_tree_index (Gen *gen, guint8 depth)
{
  guint64 nodes = (G_GUINT64_CONSTANT (1) << (depth + 1)) - 1;
  return (guint32) (random_u64 (gen) % nodes);
}

/* A valid message of TYPE that fits one datagram: sizes are bounded so
 * the sum stays under DK_WIRE_MAX_DATAGRAM while each field still
 * reaches its own limit now and then. */
static DkWireMessage *
random_message (Gen *gen, DkWireType type)
{
  DkWireMessage *message = dk_wire_message_new (type);
  message->request_id = random_u64 (gen);
  message->sender = random_below (gen, 2) ? random_below (gen, 64) : g_rand_int (gen->rand);
  guint lists = gen->small ? 3 : 60;
  switch (type)
    {
    case DK_WIRE_GET:
    case DK_WIRE_PUT:
    case DK_WIRE_DELETE:
      random_client_request (gen, type, &message->body.client_request);
      break;
    case DK_WIRE_CLIENT_REPLY:
      {
        DkWireClientReply *reply = &message->body.client_reply;
        reply->client_request_id = random_u64 (gen);
        reply->status = random_status (gen);
        reply->reason = random_text (gen, DK_WIRE_REASON_MAX);
        g_ptr_array_unref (reply->siblings);
        reply->siblings = random_siblings (gen, gen->small ? 2 : 4);
        reply->context = random_optional_clock (gen);
        guint room = DK_SIBLINGS_HARD_MAX - reply->siblings->len;
        reply->siblings_before = (guint8) random_below (gen, room + 1);
        reply->siblings_after = (guint8) random_below (gen, room - reply->siblings_before + 1);
        reply->set_digest = random_u64 (gen);
        break;
      }
    case DK_WIRE_FORWARD:
      {
        DkWireForward *forward = &message->body.forward;
        forward->request_type = DK_WIRE_GET + random_below (gen, 3);
        forward->hops = (guint8) random_below (gen, 256);
        forward->client_address = random_text (gen, DK_WIRE_ADDRESS_MAX);
        random_client_request (gen, forward->request_type, &forward->request);
        break;
      }
    case DK_WIRE_READ:
      message->body.read.key = random_bytes (gen, 1, DK_KEY_MAX_BYTES, 40);
      break;
    case DK_WIRE_READ_REPLY:
    case DK_WIRE_WRITE:
    case DK_WIRE_HINT_HANDOFF:
      {
        /* The three share key + part + siblings; each has its own head. */
        GBytes **key;
        GPtrArray **siblings;
        DkWirePart *part;
        if (type == DK_WIRE_READ_REPLY)
          {
            message->body.read_reply.status = random_status (gen);
            key = &message->body.read_reply.key;
            part = &message->body.read_reply.part;
            siblings = &message->body.read_reply.siblings;
          }
        else if (type == DK_WIRE_WRITE)
          {
            message->body.write.hinted_owner = random_below (gen, 2) ? 0 : g_rand_int (gen->rand);
            key = &message->body.write.key;
            part = &message->body.write.part;
            siblings = &message->body.write.siblings;
          }
        else
          {
            message->body.hint_handoff.hint_id = random_u64 (gen);
            message->body.hint_handoff.intended_owner = 1 + random_below (gen, G_MAXINT32);
            key = &message->body.hint_handoff.key;
            part = &message->body.hint_handoff.part;
            siblings = &message->body.hint_handoff.siblings;
          }
        *key = random_bytes (gen, 1, DK_KEY_MAX_BYTES, 40);
        *part = random_part (gen);
        g_ptr_array_unref (*siblings);
        *siblings = random_siblings (gen, gen->small ? 2 : 4);
        break;
      }
    case DK_WIRE_WRITE_ACK:
      message->body.write_ack.status = random_status (gen);
      message->body.write_ack.key = random_bytes (gen, 1, DK_KEY_MAX_BYTES, 40);
      message->body.write_ack.part = random_part (gen);
      break;
    case DK_WIRE_GOSSIP:
      message->body.gossip.kind = random_below (gen, DK_WIRE_GOSSIP_KIND_LAST + 1);
      message->body.gossip.about = random_below (gen, 8);
      for (guint i = random_count (gen, lists); i > 0; i--)
        {
          DkWireMember member = {
            .node = 1 + random_below (gen, G_MAXINT32),
            .name = random_text (gen, DK_WIRE_NAME_MAX),
            .address = random_text (gen, DK_WIRE_ADDRESS_MAX),
            .datacenter = random_text (gen, DK_WIRE_NAME_MAX),
            .rack = random_text (gen, DK_WIRE_NAME_MAX),
            .vnodes = g_rand_int (gen->rand),
            .heartbeat = random_u64 (gen),
            .incarnation = random_u64 (gen),
            .state = random_below (gen, DK_WIRE_MEMBER_STATE_LAST + 1),
            .verdict = random_below (gen, DK_WIRE_MEMBER_DOWN + 1),
          };
          g_array_append_val (message->body.gossip.members, member);
        }
      break;
    case DK_WIRE_HINT_ACK:
      message->body.hint_ack.hint_id = random_u64 (gen);
      message->body.hint_ack.status = random_status (gen);
      message->body.hint_ack.part = random_part (gen);
      break;
    case DK_WIRE_AE_TREE_REQUEST:
      {
        DkWireAeTreeRequest *request = &message->body.ae_tree_request;
        random_tree_range (gen, &request->range_lo, &request->range_hi, &request->depth);
        for (guint i = random_count (gen, lists * 4); i > 0; i--)
          {
            guint32 node_index = random_tree_index (gen, request->depth);
            g_array_append_val (request->node_indices, node_index);
          }
        break;
      }
    case DK_WIRE_AE_TREE_REPLY:
      {
        DkWireAeTreeReply *reply = &message->body.ae_tree_reply;
        random_tree_range (gen, &reply->range_lo, &reply->range_hi, &reply->depth);
        for (guint i = random_count (gen, lists * 4); i > 0; i--)
          {
            DkWireAeNodeHash node = { random_tree_index (gen, reply->depth), random_u64 (gen) };
            g_array_append_val (reply->nodes, node);
          }
        break;
      }
    case DK_WIRE_AE_KEYS_REQUEST:
      message->body.ae_keys_request.range_lo = random_u64 (gen);
      message->body.ae_keys_request.range_hi = random_u64 (gen);
      break;
    case DK_WIRE_AE_KEYS_REPLY:
      {
        DkWireAeKeysReply *reply = &message->body.ae_keys_reply;
        reply->range_lo = random_u64 (gen);
        reply->range_hi = random_u64 (gen);
        reply->complete = random_below (gen, 2);
        for (guint i = random_count (gen, lists / 2 + 1); i > 0; i--)
          {
            DkWireKeyDigest entry = { random_bytes (gen, 1, DK_KEY_MAX_BYTES, 40), random_u64 (gen) };
            g_array_append_val (reply->keys, entry);
          }
        break;
      }
    case DK_WIRE_PING:
    case DK_WIRE_PONG:
      message->body.ping.timestamp_us = (gint64) random_u64 (gen);
      break;
    case DK_WIRE_PARTITION_TABLE:
      {
        DkWirePartitionTable *table = &message->body.partition_table;
        table->epoch = random_u64 (gen);
        table->partition_count = 1 + random_below (gen, 4096);
        for (guint i = random_count (gen, lists * 16); i > 0; i--)
          {
            DkWirePartitionOwner owner = { random_below (gen, table->partition_count),
                                           1 + random_below (gen, 1000) };
            g_array_append_val (table->owners, owner);
          }
        break;
      }
    case DK_WIRE_NODE_STATUS:
      {
        DkWireNodeStatus *request = &message->body.node_status;
        request->client_request_id = random_u64 (gen);
        request->timestamp_us = (gint64) random_u64 (gen);
        request->first_member = g_rand_int (gen->rand);
        request->member_limit = 1 + random_below (gen, DK_WIRE_STATUS_MEMBERS_MAX);
        request->counters = random_below (gen, 2);
        break;
      }
    case DK_WIRE_ADMIN:
      {
        DkWireAdmin *admin = &message->body.admin;
        admin->client_request_id = random_u64 (gen);
        admin->op = random_below (gen, DK_WIRE_ADMIN_OP_LAST + 1);
        if (admin->op <= DK_WIRE_ADMIN_REMOVE)
          admin->node = 1 + random_below (gen, G_MAXINT32);
        if (admin->op == DK_WIRE_ADMIN_JOIN)
          {
            g_free (admin->address);
            admin->address = g_strdup_printf ("127.0.0.1:%u", 1 + random_below (gen, 65535));
          }
        break;
      }
    case DK_WIRE_ADMIN_REPLY:
      message->body.admin_reply.client_request_id = random_u64 (gen);
      message->body.admin_reply.status = random_status (gen);
      message->body.admin_reply.text = random_text (gen, DK_WIRE_ADMIN_TEXT_MAX);
      break;
    case DK_WIRE_NODE_STATUS_REPLY:
      {
        DkWireNodeStatusReply *reply = &message->body.node_status_reply;
        reply->client_request_id = random_u64 (gen);
        reply->timestamp_us = (gint64) random_u64 (gen);
        reply->address = random_text (gen, DK_WIRE_ADDRESS_MAX);
        reply->state = random_below (gen, DK_WIRE_MEMBER_STATE_LAST + 1);
        reply->keys = random_u64 (gen);
        reply->stored_bytes = random_u64 (gen);
        reply->hints_held = g_rand_int (gen->rand);
        reply->streams_pending = g_rand_int (gen->rand);
        reply->ae_pass_age_us = random_below (gen, 4) == 0 ? -1 : (gint64) (random_u64 (gen) >> 1);
        reply->uptime_us = (gint64) (random_u64 (gen) >> 1);
        for (guint i = MIN (random_count (gen, lists), DK_WIRE_STATUS_MEMBERS_MAX); i > 0; i--)
          {
            DkWireStatusMember member = {
              .node = 1 + random_below (gen, G_MAXINT32),
              .address = random_text (gen, DK_WIRE_ADDRESS_MAX),
              .state = random_below (gen, DK_WIRE_MEMBER_STATE_LAST + 1),
              .ownership_ppm = random_below (gen, 1000001),
              .hints_here = g_rand_int (gen->rand),
            };
            g_array_append_val (reply->members, member);
          }
        for (guint i = MIN (random_count (gen, lists), DK_WIRE_STATUS_COUNTERS_MAX); i > 0; i--)
          {
            g_autofree char *tail = random_text (gen, DK_WIRE_COUNTER_NAME_MAX - 1);
            DkWireCounter counter = { g_strconcat ("c", tail, NULL), random_u64 (gen) };
            g_array_append_val (reply->counters, counter);
          }
        reply->first_member = random_below (gen, 1000);
        reply->members_total = reply->first_member + reply->members->len + random_below (gen, 1000);
        break;
      }
    }
  return message;
}

/* g_memdup2 needs GLib 2.68; configure asks for 2.66. */
static guint8 *
duplicate (const guint8 *data, gsize len)
{
  guint8 *copy = g_malloc (len + 1);
  memcpy (copy, data, len);
  return copy;
}

static GByteArray *
encode_or_fail (const DkWireMessage *message)
{
  g_autoptr (GError) error = NULL;
  GByteArray *bytes = dk_wire_encode (message, &error);
  ck_assert_msg (bytes != NULL, "%s did not encode: %s",
                 dk_wire_type_name (message->type), error ? error->message : "?");
  return bytes;
}

static void
assert_error (const GError *error, DkWireError code, const char *fragment)
{
  ck_assert_msg (error != NULL, "expected an error containing \"%s\"", fragment);
  ck_assert_msg (error->domain == DK_WIRE_ERROR && error->code == (int) code,
                 "expected code %d, got %d: %s", code, error->code, error->message);
  ck_assert_msg (strstr (error->message, fragment) != NULL,
                 "\"%s\" does not contain \"%s\"", error->message, fragment);
}

/* Decoding BYTES either fails with a DK_WIRE_ERROR or yields a message
 * that encodes back to exactly BYTES (so within every limit). */
static gboolean
assert_decodes_canonically_or_fails (const guint8 *bytes, gsize len, const char *what)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) message = dk_wire_decode (bytes, len, &error);
  if (message == NULL)
    {
      ck_assert_msg (error != NULL && error->domain == DK_WIRE_ERROR,
                     "%s: decode failed without a wire error", what);
      return FALSE;
    }
  ck_assert_msg (error == NULL, "%s: success with an error set", what);
  ck_assert_msg ((message->flags & DK_WIRE_FLAG_AUTHENTICATED) == 0 || len >= DK_WIRE_TAG_BYTES,
                 "%s", what);
  g_autoptr (GByteArray) again = encode_or_fail (message);
  gsize signed_len = (message->flags & DK_WIRE_FLAG_AUTHENTICATED) ? len - DK_WIRE_TAG_BYTES : len;
  ck_assert_msg (again->len == signed_len, "%s: re-encoding has %u bytes, not %" G_GSIZE_FORMAT,
                 what, again->len, signed_len);
  /* Bytes 4-5 are the flags, which encoding leaves clear. */
  ck_assert_msg (memcmp (again->data, bytes, 4) == 0
                 && memcmp (again->data + 6, bytes + 6, signed_len - 6) == 0,
                 "%s: re-encoding differs", what);
  return TRUE;
}

/* ---- round trips ------------------------------------------------------------ */

START_TEST (wire_every_message_type_round_trips_over_many_seeds)
{
  int seeds = dk_test_iterations (300);
  for (DkWireType type = DK_WIRE_TYPE_FIRST; type <= DK_WIRE_TYPE_LAST; type++)
    for (int seed = 0; seed < seeds; seed++)
      {
        Gen gen = { g_rand_new_with_seed ((guint32) (type * 100003 + seed)), FALSE };
        g_autoptr (DkWireMessage) message = random_message (&gen, type);
        g_autoptr (GByteArray) bytes = encode_or_fail (message);
        ck_assert_uint_le (bytes->len + DK_WIRE_TAG_BYTES, DK_WIRE_MAX_DATAGRAM);
        g_autoptr (GError) error = NULL;
        g_autoptr (DkWireMessage) decoded = dk_wire_decode (bytes->data, bytes->len, &error);
        ck_assert_msg (decoded != NULL, "%s seed %d: %s", dk_wire_type_name (type), seed,
                       error ? error->message : "?");
        ck_assert_msg (dk_wire_message_equal (message, decoded), "%s seed %d: decoded differs",
                       dk_wire_type_name (type), seed);
        g_autoptr (GByteArray) again = encode_or_fail (decoded);
        ck_assert_msg (again->len == bytes->len && memcmp (again->data, bytes->data, bytes->len) == 0,
                       "%s seed %d: re-encoding differs", dk_wire_type_name (type), seed);
        g_rand_free (gen.rand);
      }
}
END_TEST

/* One buffer reused for every message, as node_send reuses its own: each
 * encoding gives exactly the bytes of a fresh one, whatever the buffer
 * held before (longer or shorter), and a failed encoding does not spoil
 * the next. */
START_TEST (wire_encoding_into_a_reused_buffer_gives_a_fresh_encodings_bytes)
{
  int seeds = dk_test_iterations (100);
  g_autoptr (GByteArray) reused = g_byte_array_new ();
  for (int seed = 0; seed < seeds; seed++)
    for (DkWireType type = DK_WIRE_TYPE_FIRST; type <= DK_WIRE_TYPE_LAST; type++)
      {
        Gen gen = { g_rand_new_with_seed ((guint32) (type * 7919 + seed)), FALSE };
        g_autoptr (DkWireMessage) message = random_message (&gen, type);
        g_autoptr (GByteArray) fresh = encode_or_fail (message);
        g_autoptr (GError) error = NULL;
        ck_assert_msg (dk_wire_encode_into (message, reused, &error), "%s seed %d: %s",
                       dk_wire_type_name (type), seed, error ? error->message : "?");
        ck_assert_msg (reused->len == fresh->len
                       && memcmp (reused->data, fresh->data, fresh->len) == 0,
                       "%s seed %d: %u bytes into a reused buffer, %u fresh",
                       dk_wire_type_name (type), seed, reused->len, fresh->len);
        if (seed % 10 == 0)
          {
            /* A message over the datagram limit fails, and the next
             * encoding into the same buffer is whole again. */
            g_autoptr (DkWireMessage) huge = dk_wire_message_new (DK_WIRE_PUT);
            huge->body.client_request.key = g_bytes_new ("k", 1);
            g_autofree guint8 *big = g_malloc0 (DK_WIRE_MAX_DATAGRAM);
            huge->body.client_request.value = g_bytes_new (big, DK_WIRE_MAX_DATAGRAM);
            g_autoptr (GError) refused = NULL;
            ck_assert (!dk_wire_encode_into (huge, reused, &refused));
            ck_assert (refused != NULL);
          }
        g_rand_free (gen.rand);
      }
}
END_TEST

/* Equality is not vacuous: changing one field makes messages differ. */
START_TEST (wire_message_equal_notices_a_changed_field)
{
  Gen gen = { g_rand_new_with_seed (5), FALSE };
  g_autoptr (DkWireMessage) a = random_message (&gen, DK_WIRE_PUT);
  g_autoptr (GByteArray) bytes = encode_or_fail (a);
  g_autoptr (DkWireMessage) b = dk_wire_decode (bytes->data, bytes->len, NULL);
  ck_assert (dk_wire_message_equal (a, b));
  b->body.client_request.w ^= 1;
  ck_assert (!dk_wire_message_equal (a, b));
  b->body.client_request.w ^= 1;
  g_clear_pointer (&b->body.client_request.key, g_bytes_unref);
  b->body.client_request.key = g_bytes_new_static ("other", 5);
  ck_assert (!dk_wire_message_equal (a, b));
  g_rand_free (gen.rand);
}
END_TEST

/* The documented byte layout, pinned: a change here breaks every peer. */
START_TEST (wire_encoding_matches_the_documented_layout)
{
  g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
  ping->request_id = G_GUINT64_CONSTANT (0x0102030405060708);
  ping->sender = 7;
  ping->body.ping.timestamp_us = 1000;
  static const guint8 expected_ping[] = {
    0x44, 0x4B, DK_WIRE_VERSION, DK_WIRE_PING, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,
  };
  g_autoptr (GByteArray) bytes = encode_or_fail (ping);
  ck_assert_uint_eq (bytes->len, sizeof expected_ping);
  ck_assert (memcmp (bytes->data, expected_ping, sizeof expected_ping) == 0);

  g_autoptr (DkWireMessage) put = dk_wire_message_new (DK_WIRE_PUT);
  put->request_id = 1;
  put->body.client_request.client_id = 0x0A0B;
  put->body.client_request.client_request_id = 9;
  put->body.client_request.w = 2;
  put->body.client_request.key = g_bytes_new_static ("k", 1);
  put->body.client_request.value = g_bytes_new_static ("vv", 2);
  static const guint8 expected_put_body[] = {
    0, 0, 0, 0, 0, 0, 0x0A, 0x0B,  /* client id */
    0, 0, 0, 0, 0, 0, 0, 9,  /* client request id */
    0, 2,                    /* r, w */
    0, 1, 'k',               /* key */
    0,                       /* no context */
    0, 2, 'v', 'v',          /* value */
    0,                       /* sibling offset (a get's) */
  };
  g_autoptr (GByteArray) put_bytes = encode_or_fail (put);
  ck_assert_uint_eq (put_bytes->len, DK_WIRE_HEADER_BYTES + sizeof expected_put_body);
  ck_assert_uint_eq (put_bytes->data[23], sizeof expected_put_body);
  ck_assert (memcmp (put_bytes->data + DK_WIRE_HEADER_BYTES, expected_put_body,
                     sizeof expected_put_body) == 0);
}
END_TEST

/* ---- refusing bad input ------------------------------------------------------ */

/* Every proper prefix fails: as sent (the length field disagrees) and
 * with the length field patched to match (the body parser runs dry). */
START_TEST (wire_every_truncation_of_a_valid_message_fails_cleanly)
{
  int seeds = dk_test_iterations (10);
  for (DkWireType type = DK_WIRE_TYPE_FIRST; type <= DK_WIRE_TYPE_LAST; type++)
    for (int seed = 0; seed < seeds; seed++)
      {
        Gen gen = { g_rand_new_with_seed ((guint32) (type * 7919 + seed)), seed % 2 == 0 };
        g_autoptr (DkWireMessage) message = random_message (&gen, type);
        g_autoptr (GByteArray) bytes = encode_or_fail (message);
        gboolean every_prefix = bytes->len <= 2000;
        int samples = every_prefix ? (int) bytes->len : 400;
        for (int s = 0; s < samples; s++)
          {
            gsize cut = every_prefix ? (gsize) s : random_below (&gen, bytes->len);
            g_autoptr (GError) error = NULL;
            ck_assert (dk_wire_decode (bytes->data, cut, &error) == NULL);
            ck_assert (error != NULL && error->domain == DK_WIRE_ERROR
                       && (error->code == DK_WIRE_ERROR_TRUNCATED
                           || error->code == DK_WIRE_ERROR_LENGTH_MISMATCH));
            if (cut < DK_WIRE_HEADER_BYTES)
              continue;
            g_autofree guint8 *patched = duplicate (bytes->data, cut);
            guint32 body_be = GUINT32_TO_BE ((guint32) (cut - DK_WIRE_HEADER_BYTES));
            memcpy (patched + 20, &body_be, 4);
            g_clear_error (&error);
            ck_assert (dk_wire_decode (patched, cut, &error) == NULL);
            ck_assert_msg (error->code == DK_WIRE_ERROR_TRUNCATED, "%s cut at %zu: %s",
                           dk_wire_type_name (type), cut, error->message);
          }
        g_rand_free (gen.rand);
      }
}
END_TEST

/* Random bytes, with and without a plausible header, never crash the
 * decoder and never decode to anything but a canonical, in-limit message. */
START_TEST (wire_random_bytes_never_decode_to_out_of_limit_messages)
{
  GRand *rand = g_rand_new_with_seed (11);
  int cases = dk_test_iterations (60000);
  guint8 buffer[600];
  for (int c = 0; c < cases; c++)
    {
      /* A third are short enough for fixed-size bodies (PING, HINT_ACK). */
      gsize len = c % 3 == 0 ? DK_WIRE_HEADER_BYTES + (gsize) g_rand_int_range (rand, 0, 48)
                             : (gsize) g_rand_int_range (rand, 0, sizeof buffer);
      for (gsize i = 0; i < len; i++)
        buffer[i] = (guint8) (g_rand_int_range (rand, 0, 4) == 0 ? 0 : g_rand_int (rand));
      if (len >= DK_WIRE_HEADER_BYTES && c % 4 != 0)
        {
          /* A valid header over a random body reaches the body parsers. */
          static const guint8 head[4] = { 0x44, 0x4B, DK_WIRE_VERSION, 0 };
          memcpy (buffer, head, 4);
          buffer[3] = (guint8) g_rand_int_range (rand, DK_WIRE_TYPE_FIRST, DK_WIRE_TYPE_LAST + 1);
          memset (buffer + 4, 0, 4);
          guint32 body_be = GUINT32_TO_BE ((guint32) (len - DK_WIRE_HEADER_BYTES));
          memcpy (buffer + 20, &body_be, 4);
        }
      assert_decodes_canonically_or_fails (buffer, len, "random bytes");
    }
  g_rand_free (rand);
}
END_TEST

START_TEST (wire_bit_flips_of_valid_messages_fail_cleanly_or_reencode_identically)
{
  int seeds = dk_test_iterations (100), decoded = 0, flipped_cases = 0;
  for (DkWireType type = DK_WIRE_TYPE_FIRST; type <= DK_WIRE_TYPE_LAST; type++)
    for (int seed = 0; seed < seeds; seed++)
      {
        Gen gen = { g_rand_new_with_seed ((guint32) (type * 31337 + seed)), seed % 2 == 0 };
        g_autoptr (DkWireMessage) message = random_message (&gen, type);
        g_autoptr (GByteArray) bytes = encode_or_fail (message);
        for (int trial = 0; trial < 20; trial++)
          {
            g_autofree guint8 *flipped = duplicate (bytes->data, bytes->len);
            for (guint f = 1 + random_below (&gen, 3); f > 0; f--)
              {
                /* Mostly in the body: header flips fail early. */
                gsize bit = random_below (&gen, bytes->len * 8);
                flipped[bit / 8] ^= (guint8) (1u << (bit % 8));
              }
            decoded += assert_decodes_canonically_or_fails (flipped, bytes->len, "bit flip");
            flipped_cases++;
          }
        g_rand_free (gen.rand);
      }
  /* The codec has no checksum (the HMAC is the integrity check), so flips
   * inside payload bytes decode: the re-encoding branch is exercised. */
  ck_assert_msg (decoded > 0 && decoded < flipped_cases, "%d of %d flipped messages decoded",
                 decoded, flipped_cases);
}
END_TEST

START_TEST (wire_header_errors_name_the_problem)
{
  g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
  g_autoptr (GByteArray) bytes = encode_or_fail (ping);
  g_autoptr (GError) error = NULL;
  struct { gsize offset; guint8 value; DkWireError code; const char *fragment; } cases[] = {
    { 0, 0x45, DK_WIRE_ERROR_BAD_MAGIC, "header.magic" },
    { 2, DK_WIRE_VERSION + 1, DK_WIRE_ERROR_BAD_VERSION, "but this node speaks version" },
    { 2, 1, DK_WIRE_ERROR_BAD_VERSION, "header.version: 1" },
    { 3, 0, DK_WIRE_ERROR_UNKNOWN_TYPE, "header.type: 0" },
    { 3, DK_WIRE_TYPE_LAST + 1, DK_WIRE_ERROR_UNKNOWN_TYPE, "is not a known message type" },
    { 4, 0x80, DK_WIRE_ERROR_INVALID, "header.flags: unknown bits" },
    { 7, 1, DK_WIRE_ERROR_INVALID, "header.reserved" },
    { 23, 9, DK_WIRE_ERROR_LENGTH_MISMATCH, "header.body_length" },
    { 5, 1, DK_WIRE_ERROR_LENGTH_MISMATCH, "and a tag" },  /* flagged, no tag */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree guint8 *bad = duplicate (bytes->data, bytes->len);
      bad[cases[i].offset] = cases[i].value;
      g_clear_error (&error);
      ck_assert (dk_wire_decode (bad, bytes->len, &error) == NULL);
      assert_error (error, cases[i].code, cases[i].fragment);
    }

  /* A body longer than its type reads. */
  g_autoptr (GByteArray) longer = g_byte_array_new ();
  g_byte_array_append (longer, bytes->data, bytes->len);
  g_byte_array_append (longer, (const guint8 *) "xy", 2);
  longer->data[23] += 2;
  g_clear_error (&error);
  ck_assert (dk_wire_decode (longer->data, longer->len, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_LENGTH_MISMATCH, "ping: 2 unexpected bytes after the body");

  g_clear_error (&error);
  ck_assert (dk_wire_decode (bytes->data, 3, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_TRUNCATED, "header: 3 bytes");
}
END_TEST

static GBytes *
filled_bytes (gsize len)
{
  guint8 *data = g_malloc (len + 1);
  memset (data, 'x', len);
  return g_bytes_new_take (data, len);
}

/* Encode MESSAGE, expecting CODE with FRAGMENT in the message. */
static void
assert_encode_refused (const DkWireMessage *message, DkWireError code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) bytes = dk_wire_encode (message, &error);
  ck_assert_msg (bytes == NULL, "encoded despite \"%s\"", fragment);
  assert_error (error, code, fragment);
}

/* Re-frame BODY under HEADER_FROM's header and decode, expecting CODE. */
static void
assert_body_refused (const GByteArray *header_from, const guint8 *body, gsize body_len,
                     DkWireError code, const char *fragment)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  g_byte_array_append (bytes, header_from->data, DK_WIRE_HEADER_BYTES);
  g_byte_array_append (bytes, body, (guint) body_len);
  guint32 body_be = GUINT32_TO_BE ((guint32) body_len);
  memcpy (bytes->data + 20, &body_be, 4);
  g_autoptr (GError) error = NULL;
  ck_assert (dk_wire_decode (bytes->data, bytes->len, &error) == NULL);
  assert_error (error, code, fragment);
}

/* A WRITE of one version {dot 3.9c1f02ab:5 @16us, context {1.a:2 @7us},
 * value "v"}: flags, the dot, the context, the value. */
static const guint8 pinned_write_body[] = {
  0, 0, 0, 0,                                     /* no hinted owner */
  0, 1, 'k',                                      /* key */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                   /* part 0 of 0, no set digest */
  1,                                              /* one sibling */
  0,                                              /* flags: a value */
  0x00, 0x00, 0x00, 0x03, 0x9c, 0x1f, 0x02, 0xab, /* dot actor: node 3, incarnation 9c1f02ab */
  0, 0, 0, 0, 0, 0, 0, 5,                         /* dot counter */
  0, 0, 0, 0, 0, 0, 0, 16,                        /* dot wall time */
  0, 1,                                           /* context: one entry */
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, /* actor 1.a */
  0, 0, 0, 0, 0, 0, 0, 2,                         /* counter */
  0, 0, 0, 0, 0, 0, 0, 7,                         /* timestamp */
  0, 1, 'v',                                      /* value */
};
#define PINNED_DOT_OFFSET 19
#define PINNED_CONTEXT_OFFSET (PINNED_DOT_OFFSET + 24)

static DkWireMessage *
pinned_write (void)
{
  DkWireMessage *write = dk_wire_message_new (DK_WIRE_WRITE);
  write->body.write.key = g_bytes_new_static ("k", 1);
  g_autoptr (GBytes) value = g_bytes_new_static ("v", 1);
  DkVclock *context = dk_vclock_new ();
  dk_vclock_raise (context, dk_actor_make (1, 0xa), 2, 7);
  DkDot dot = { dk_actor_make (3, 0x9c1f02ab), 5, 16 };
  g_ptr_array_add (write->body.write.siblings, dk_version_new (dot, context, value, FALSE));
  return write;
}

START_TEST (wire_sibling_dot_and_context_follow_the_documented_layout)
{
  g_autoptr (DkWireMessage) write = pinned_write ();
  g_autoptr (GByteArray) bytes = encode_or_fail (write);
  ck_assert_uint_eq (bytes->len, DK_WIRE_HEADER_BYTES + sizeof pinned_write_body);
  ck_assert (memcmp (bytes->data + DK_WIRE_HEADER_BYTES, pinned_write_body, sizeof pinned_write_body) == 0);
  g_autoptr (DkWireMessage) decoded = dk_wire_decode (bytes->data, bytes->len, NULL);
  ck_assert (decoded != NULL && dk_wire_message_equal (write, decoded));
  const DkVersion *version = g_ptr_array_index (decoded->body.write.siblings, 0);
  ck_assert (version->dot.actor == dk_actor_make (3, 0x9c1f02ab));
  ck_assert_uint_eq (version->dot.counter, 5);
  ck_assert_int_eq (version->dot.wall_us, 16);
  ck_assert_uint_eq (dk_vclock_get (version->context, dk_actor_make (1, 0xa)), 2);

  /* Equality sees the dot's wall time and the context's timestamps. */
  ((DkVersion *) g_ptr_array_index (decoded->body.write.siblings, 0))->dot.wall_us = 17;
  ck_assert (!dk_wire_message_equal (write, decoded));
}
END_TEST

/* A sibling whose dot or context a replica must not accept is refused on
 * decode, naming the sibling; the encoder refuses a dot it cannot send. */
START_TEST (wire_bad_dots_and_contexts_are_refused_naming_the_sibling)
{
  g_autoptr (DkWireMessage) write = pinned_write ();
  g_autoptr (GByteArray) header = encode_or_fail (write);
  struct { gsize offset; guint64 value; const char *fragment; } cases[] = {
    { PINNED_DOT_OFFSET, 0, "actor 0" },
    { PINNED_DOT_OFFSET + 8, 0, "counter 0" },
    { PINNED_DOT_OFFSET + 8, DK_DOT_COUNTER_MAX + 1, "counter 4611686018427387905" },
    { PINNED_CONTEXT_OFFSET + 2, 0, "actor 0" },
    { PINNED_CONTEXT_OFFSET + 2 + 8, 0, "counter 0" },
    /* The context names the dot's own actor at the dot's counter. */
    { PINNED_CONTEXT_OFFSET + 2, G_GUINT64_CONSTANT (0x000000039c1f02ab), "has a context that covers its own dot" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 body[sizeof pinned_write_body];
      memcpy (body, pinned_write_body, sizeof body);
      for (int b = 0; b < 8; b++)
        body[cases[i].offset + b] = (guint8) (cases[i].value >> (56 - 8 * b));
      if (i == G_N_ELEMENTS (cases) - 1)
        body[PINNED_CONTEXT_OFFSET + 2 + 8 + 7] = 5;  /* counter 5, the dot's */
      assert_body_refused (header, body, sizeof body, DK_WIRE_ERROR_INVALID, cases[i].fragment);
      assert_body_refused (header, body, sizeof body, DK_WIRE_ERROR_INVALID, "write.siblings[0]");
    }

  DkVersion *version = g_ptr_array_index (write->body.write.siblings, 0);
  version->dot.actor = DK_ACTOR_NONE;
  assert_encode_refused (write, DK_WIRE_ERROR_INVALID, "write.siblings[0].dot: the actor must be non-zero");
  version->dot = (DkDot) { dk_actor_make (3, 1), 0, 0 };
  assert_encode_refused (write, DK_WIRE_ERROR_INVALID, "write.siblings[0].dot");
}
END_TEST

START_TEST (wire_oversize_fields_are_refused_on_encode_and_decode_naming_the_field)
{
  /* Encode side. */
  g_autoptr (DkWireMessage) put = dk_wire_message_new (DK_WIRE_PUT);
  put->body.client_request.key = filled_bytes (DK_KEY_MAX_BYTES);
  put->body.client_request.value = filled_bytes (12000);
  assert_encode_refused (put, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                         "put.value: 12000 bytes exceeds the 9216-byte limit");
  g_bytes_unref (put->body.client_request.value);
  put->body.client_request.value = filled_bytes (DK_VALUE_MAX_BYTES);
  g_bytes_unref (put->body.client_request.key);
  put->body.client_request.key = filled_bytes (DK_KEY_MAX_BYTES + 1);
  assert_encode_refused (put, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                         "put.key: 513 bytes exceeds the 512-byte limit");
  g_clear_pointer (&put->body.client_request.key, g_bytes_unref);
  assert_encode_refused (put, DK_WIRE_ERROR_INVALID, "put.key: 0 bytes is below");

  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_READ_REPLY);
  reply->body.read_reply.key = filled_bytes (1);
  g_autoptr (DkVclock) big_clock = dk_vclock_new ();
  for (DkNodeId node = 1; node <= DK_VCLOCK_MAX_ENTRIES + 1; node++)
    dk_vclock_increment (big_clock, dk_actor_make (node, 1), 0);
  g_ptr_array_add (reply->body.read_reply.siblings,
                   dk_version_new (dot_of (1000, 1), dk_vclock_copy (big_clock), NULL, FALSE));
  assert_encode_refused (reply, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                         "read_reply.siblings[0].context: 65 entries exceeds the 64-entry limit");
  g_ptr_array_set_size (reply->body.read_reply.siblings, 0);
  for (guint i = 0; i < DK_SIBLINGS_HARD_MAX + 1; i++)
    g_ptr_array_add (reply->body.read_reply.siblings, dk_version_new (dot_of (1, i + 1), NULL, NULL, FALSE));
  g_autofree char *too_many = g_strdup_printf ("read_reply.siblings: %u siblings exceeds the %u-sibling limit",
                                               DK_SIBLINGS_HARD_MAX + 1, DK_SIBLINGS_HARD_MAX);
  assert_encode_refused (reply, DK_WIRE_ERROR_FIELD_TOO_LARGE, too_many);
  /* A client reply's set, carried part and the rest, stays within it too. */
  g_autoptr (DkWireMessage) page = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  g_ptr_array_add (page->body.client_reply.siblings, dk_version_new (dot_of (1, 1), NULL, NULL, FALSE));
  page->body.client_reply.siblings_before = 200;
  page->body.client_reply.siblings_after = DK_SIBLINGS_HARD_MAX - 200;
  assert_encode_refused (page, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                         "client_reply.siblings_after: a set of 200 before + 1 carried + 55 after");
  page->body.client_reply.siblings_after--;
  g_autoptr (GByteArray) page_bytes = encode_or_fail (page);  /* the limit itself is fine */
  ck_assert_uint_gt (page_bytes->len, DK_WIRE_HEADER_BYTES);
  /* A full sibling set of full values is legal field by field but does
   * not fit one datagram: refused whole, never cut. */
  g_ptr_array_set_size (reply->body.read_reply.siblings, 0);
  for (guint i = 0; i < DK_SIBLINGS_MAX; i++)
    {
      g_autoptr (GBytes) value = filled_bytes (DK_VALUE_MAX_BYTES);
      g_ptr_array_add (reply->body.read_reply.siblings, dk_version_new (dot_of (1, i + 1), NULL, value, FALSE));
    }
  assert_encode_refused (reply, DK_WIRE_ERROR_MESSAGE_TOO_LARGE,
                         "exceeds the 65000-byte datagram limit");

  g_autoptr (DkWireMessage) gossip = dk_wire_message_new (DK_WIRE_GOSSIP);
  DkWireMember member = { .node = 3, .name = g_strnfill (DK_WIRE_NAME_MAX + 1, 'n') };
  g_array_append_val (gossip->body.gossip.members, member);
  assert_encode_refused (gossip, DK_WIRE_ERROR_FIELD_TOO_LARGE,
                         "gossip.members[0].name: 65 bytes exceeds the 64-byte limit");

  /* Decode side: hand-built bodies that claim too much. */
  g_autoptr (DkWireMessage) small_put = dk_wire_message_new (DK_WIRE_PUT);
  small_put->body.client_request.key = filled_bytes (1);
  g_autoptr (GByteArray) put_header = encode_or_fail (small_put);
  /* Client id, client request id, r, w, key, context, value. */
  static const guint8 oversize_value[] = { 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1,
                                           0, 0, 0, 1, 'k', 0, 0x2E, 0xE0 /* 12000 */ };
  assert_body_refused (put_header, oversize_value, sizeof oversize_value,
                       DK_WIRE_ERROR_FIELD_TOO_LARGE,
                       "put.value: 12000 bytes exceeds the 9216-byte limit");
  static const guint8 oversize_key[] = { 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1,
                                         0, 0, 0x02, 0x01 /* 513 */ };
  assert_body_refused (put_header, oversize_key, sizeof oversize_key,
                       DK_WIRE_ERROR_FIELD_TOO_LARGE, "put.key: 513 bytes exceeds");
  static const guint8 oversize_clock[] = { 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1,
                                           0, 0, 0, 1, 'k', 1, 0, 65 };
  assert_body_refused (put_header, oversize_clock, sizeof oversize_clock,
                       DK_WIRE_ERROR_FIELD_TOO_LARGE, "put.context: ");

  g_autoptr (DkWireMessage) empty_reply = dk_wire_message_new (DK_WIRE_READ_REPLY);
  empty_reply->body.read_reply.key = filled_bytes (1);
  g_autoptr (GByteArray) reply_header = encode_or_fail (empty_reply);
  /* (A read reply's u8 count cannot claim more than DK_SIBLINGS_HARD_MAX.) */
  static const guint8 bad_part[] = { 0, 0, 1, 'k', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  assert_body_refused (reply_header, bad_part, sizeof bad_part,
                       DK_WIRE_ERROR_INVALID, "read_reply.part.index: part 1 of a set whose last part is 0");

  /* A datagram over the limit is refused before its body is read. */
  g_autofree guint8 *huge = g_malloc0 (DK_WIRE_MAX_DATAGRAM + 1);
  memcpy (huge, reply_header->data, DK_WIRE_HEADER_BYTES);
  g_autoptr (GError) error = NULL;
  ck_assert (dk_wire_decode (huge, DK_WIRE_MAX_DATAGRAM + 1, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_MESSAGE_TOO_LARGE, "65001-byte datagram");
}
END_TEST

START_TEST (wire_out_of_range_values_are_refused_naming_the_field)
{
  g_autoptr (DkWireMessage) ack = dk_wire_message_new (DK_WIRE_WRITE_ACK);
  ack->body.write_ack.key = filled_bytes (1);
  ack->body.write_ack.status = DK_WIRE_STATUS_LAST + 1;
  assert_encode_refused (ack, DK_WIRE_ERROR_INVALID, "write_ack.status: 9 is not one of 0 .. 8");
  ack->body.write_ack.status = DK_WIRE_STATUS_OK;
  g_autoptr (GByteArray) ack_bytes = encode_or_fail (ack);
  ack_bytes->data[DK_WIRE_HEADER_BYTES] = 200;
  g_autoptr (GError) error = NULL;
  ck_assert (dk_wire_decode (ack_bytes->data, ack_bytes->len, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_INVALID, "write_ack.status: 200 is not one of");

  g_autoptr (DkWireMessage) gossip = dk_wire_message_new (DK_WIRE_GOSSIP);
  DkWireMember member = { .node = DK_NODE_NONE };
  g_array_append_val (gossip->body.gossip.members, member);
  assert_encode_refused (gossip, DK_WIRE_ERROR_INVALID, "gossip.members[0].node: node id 0");
  g_array_index (gossip->body.gossip.members, DkWireMember, 0).node = 1;
  g_array_index (gossip->body.gossip.members, DkWireMember, 0).rack = g_strdup ("r\xff");
  assert_encode_refused (gossip, DK_WIRE_ERROR_INVALID, "gossip.members[0].rack: not UTF-8");

  g_autoptr (DkWireMessage) hint = dk_wire_message_new (DK_WIRE_HINT_HANDOFF);
  hint->body.hint_handoff.key = filled_bytes (1);
  assert_encode_refused (hint, DK_WIRE_ERROR_INVALID, "hint_handoff.intended_owner: node id 0");

  g_autoptr (DkWireMessage) table = dk_wire_message_new (DK_WIRE_PARTITION_TABLE);
  assert_encode_refused (table, DK_WIRE_ERROR_INVALID, "partition_count: a ring has at least one");
  table->body.partition_table.partition_count = 4;
  DkWirePartitionOwner owner = { 4, 1 };
  g_array_append_val (table->body.partition_table.owners, owner);
  assert_encode_refused (table, DK_WIRE_ERROR_INVALID,
                         "partition_table.owners[0].partition: 4 is not below the partition count 4");

  g_autoptr (DkWireMessage) tree = dk_wire_message_new (DK_WIRE_AE_TREE_REQUEST);
  tree->body.ae_tree_request.depth = 2;
  guint32 outside = 7;  /* a depth-2 tree has nodes 0 .. 6 */
  g_array_append_val (tree->body.ae_tree_request.node_indices, outside);
  assert_encode_refused (tree, DK_WIRE_ERROR_INVALID,
                         "ae_tree_request.node_indices[0]: node index 7 is outside a depth-2 tree");
  tree->body.ae_tree_request.depth = DK_WIRE_AE_MAX_DEPTH + 1;
  assert_encode_refused (tree, DK_WIRE_ERROR_FIELD_TOO_LARGE, "ae_tree_request.depth: 25 exceeds");

  g_autoptr (DkWireMessage) get = dk_wire_message_new (DK_WIRE_GET);
  get->body.client_request.key = filled_bytes (1);
  get->body.client_request.value = filled_bytes (3);
  assert_encode_refused (get, DK_WIRE_ERROR_INVALID, "get.value: only a put carries a value");
  g_autoptr (DkWireMessage) paged_put = dk_wire_message_new (DK_WIRE_PUT);
  paged_put->body.client_request.key = filled_bytes (1);
  paged_put->body.client_request.sibling_offset = 2;
  assert_encode_refused (paged_put, DK_WIRE_ERROR_INVALID, "put.sibling_offset: 2, but only a get");

  g_autoptr (DkWireMessage) forward = dk_wire_message_new (DK_WIRE_FORWARD);
  forward->body.forward.request_type = DK_WIRE_DELETE;
  forward->body.forward.request.key = filled_bytes (1);
  forward->body.forward.request.value = filled_bytes (3);
  assert_encode_refused (forward, DK_WIRE_ERROR_INVALID, "forward.request.value: only a put");
  g_clear_pointer (&forward->body.forward.request.value, g_bytes_unref);
  forward->body.forward.request_type = DK_WIRE_READ;
  assert_encode_refused (forward, DK_WIRE_ERROR_INVALID, "forward.request_type: 6 is not one of 1 .. 3");

  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->body.write.key = filled_bytes (1);
  g_autoptr (GBytes) value = filled_bytes (2);
  DkVersion *tombstone = dk_version_new (dot_of (1, 1), NULL, value, FALSE);
  tombstone->tombstone = TRUE;  /* dk_version_new refuses this; a peer might not */
  g_ptr_array_add (write->body.write.siblings, tombstone);
  assert_encode_refused (write, DK_WIRE_ERROR_INVALID,
                         "write.siblings[0].value: a tombstone carries a 2-byte value");
}
END_TEST

/* ---- NODE_STATUS ------------------------------------------------------------- */

/* An unvalidated source asking for a status is answered with a RETRY
 * (node.h), which must be no larger than the smallest request. */
START_TEST (wire_node_status_is_never_smaller_than_a_retry)
{
  g_autoptr (DkWireMessage) ask = dk_wire_message_new (DK_WIRE_NODE_STATUS);
  ask->body.node_status.member_limit = 1;
  g_autoptr (DkWireMessage) retry = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  retry->body.client_reply.status = DK_WIRE_STATUS_RETRY;
  g_autoptr (GByteArray) ask_bytes = encode_or_fail (ask);
  g_autoptr (GByteArray) retry_bytes = encode_or_fail (retry);
  ck_assert_uint_le (retry_bytes->len, ask_bytes->len);
}
END_TEST

static DkWireMessage *
full_status_reply (void)
{
  DkWireMessage *message = dk_wire_message_new (DK_WIRE_NODE_STATUS_REPLY);
  DkWireNodeStatusReply *reply = &message->body.node_status_reply;
  reply->address = g_strnfill (DK_WIRE_ADDRESS_MAX, 'a');
  for (guint i = 0; i < DK_WIRE_STATUS_MEMBERS_MAX; i++)
    {
      DkWireStatusMember member = { i + 1, g_strnfill (DK_WIRE_ADDRESS_MAX, 'b'),
                                    DK_WIRE_MEMBER_UP, 1000000, G_MAXUINT32 };
      g_array_append_val (reply->members, member);
    }
  for (guint i = 0; i < DK_WIRE_STATUS_COUNTERS_MAX; i++)
    {
      DkWireCounter counter = { g_strnfill (DK_WIRE_COUNTER_NAME_MAX, 'c'), G_MAXUINT64 };
      g_array_append_val (reply->counters, counter);
    }
  reply->members_total = DK_WIRE_STATUS_MEMBERS_MAX;
  return message;
}

/* A reply at every limit fits one datagram; one entry or byte past a
 * limit, or a window past the member list, is refused on encode and on
 * decode, naming the field. */
START_TEST (wire_node_status_limits_are_refused_naming_the_field)
{
  g_autoptr (DkWireMessage) full = full_status_reply ();
  g_autoptr (GByteArray) bytes = encode_or_fail (full);
  ck_assert_uint_le (bytes->len + DK_WIRE_TAG_BYTES, DK_WIRE_MAX_DATAGRAM);
  g_autoptr (DkWireMessage) decoded = dk_wire_decode (bytes->data, bytes->len, NULL);
  ck_assert (decoded != NULL && dk_wire_message_equal (full, decoded));

  g_autoptr (GError) error = NULL;
  DkWireNodeStatusReply *reply = &full->body.node_status_reply;
  reply->members_total = DK_WIRE_STATUS_MEMBERS_MAX - 1;
  ck_assert (dk_wire_encode (full, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_INVALID, "node_status_reply.members: 200 from 0 is past");
  g_clear_error (&error);
  reply->members_total = G_MAXUINT32;
  reply->first_member = G_MAXUINT32;   /* first + count overflows 32 bits: still refused */
  ck_assert (dk_wire_encode (full, &error) == NULL);
  g_clear_error (&error);
  reply->first_member = 0;

  g_array_index (reply->members, DkWireStatusMember, 3).ownership_ppm = 1000001;
  ck_assert (dk_wire_encode (full, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_INVALID, "members[3].ownership_ppm");
  g_clear_error (&error);
  g_array_index (reply->members, DkWireStatusMember, 3).ownership_ppm = 0;

  DkWireCounter *counter = &g_array_index (reply->counters, DkWireCounter, 5);
  g_free (counter->name);
  counter->name = g_strdup ("");
  ck_assert (dk_wire_encode (full, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_INVALID, "counters[5].name");
  g_clear_error (&error);
  g_free (counter->name);
  counter->name = g_strnfill (DK_WIRE_COUNTER_NAME_MAX + 1, 'c');
  ck_assert (dk_wire_encode (full, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_FIELD_TOO_LARGE, "counters[5].name");
  g_clear_error (&error);
  g_free (counter->name);
  counter->name = g_strdup ("fine");

  DkWireStatusMember extra = { 999, g_strdup ("x"), DK_WIRE_MEMBER_UP, 0, 0 };
  g_array_append_val (reply->members, extra);
  reply->members_total = reply->members->len;
  ck_assert (dk_wire_encode (full, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_FIELD_TOO_LARGE, "201 entries exceeds the 200-entry limit");
  g_clear_error (&error);

  /* Decoding refuses the same: a request's member_limit of 0, patched in. */
  g_autoptr (DkWireMessage) ask = dk_wire_message_new (DK_WIRE_NODE_STATUS);
  ask->body.node_status.member_limit = 1;
  g_autoptr (GByteArray) ask_bytes = encode_or_fail (ask);
  ask_bytes->data[DK_WIRE_HEADER_BYTES + 8 + 8 + 4 + 3] = 0;
  ck_assert (dk_wire_decode (ask_bytes->data, ask_bytes->len, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_INVALID, "node_status.member_limit: 0");
  g_clear_error (&error);
  ask->body.node_status.member_limit = DK_WIRE_STATUS_MEMBERS_MAX + 1;
  ck_assert (dk_wire_encode (ask, &error) == NULL);
  assert_error (error, DK_WIRE_ERROR_INVALID, "member_limit: 201");
}
END_TEST

/* ---- ADMIN ---------------------------------------------------------------- */

/* An ADMIN names a member exactly when its op needs one, and carries an
 * address exactly for a join: anything else no encoder sends, nor does a
 * decoder take. */
START_TEST (wire_admin_names_a_member_and_an_address_only_where_its_op_does)
{
  static const struct
  {
    DkWireAdminOp op;
    DkNodeId      node;
    const char   *address;
    gboolean      valid;
  } cases[] = {
    { DK_WIRE_ADMIN_JOIN, 4, "127.0.0.1:7004", TRUE },
    { DK_WIRE_ADMIN_JOIN, 4, "", FALSE },
    { DK_WIRE_ADMIN_JOIN, 0, "127.0.0.1:7004", FALSE },
    { DK_WIRE_ADMIN_LEAVE, 4, "", TRUE },
    { DK_WIRE_ADMIN_LEAVE, 0, "", FALSE },
    { DK_WIRE_ADMIN_REMOVE, 3, "127.0.0.1:7003", FALSE },
    { DK_WIRE_ADMIN_PLAN, 0, "", TRUE },
    { DK_WIRE_ADMIN_PLAN, 2, "", FALSE },
    { DK_WIRE_ADMIN_COMMIT, 0, "", TRUE },
    { DK_WIRE_ADMIN_CLEAR, 0, "x:1", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DkWireMessage) admin = dk_wire_message_new (DK_WIRE_ADMIN);
      admin->body.admin.client_request_id = 77;
      admin->body.admin.op = cases[i].op;
      admin->body.admin.node = cases[i].node;
      admin->body.admin.address = g_strdup (cases[i].address);
      g_autoptr (GError) error = NULL;
      g_autoptr (GByteArray) datagram = dk_wire_encode (admin, &error);
      ck_assert_msg ((datagram != NULL) == cases[i].valid, "case %u: %s", i,
                     error != NULL ? error->message : "encoded");
      if (datagram == NULL)
        {
          ck_assert (g_error_matches (error, DK_WIRE_ERROR, DK_WIRE_ERROR_INVALID));
          continue;
        }
      g_autoptr (DkWireMessage) back = dk_wire_decode (datagram->data, datagram->len, &error);
      ck_assert_msg (back != NULL && dk_wire_message_equal (admin, back), "case %u", i);
      ck_assert (!dk_wire_type_is_client_request (DK_WIRE_ADMIN));   /* no client key signs it */
    }
}
END_TEST

/* ---- authentication ----------------------------------------------------------- */

START_TEST (wire_sign_verify_rejects_a_tampered_byte_and_a_wrong_key)
{
  static const guint8 key[] = "cluster secret";
  static const guint8 other_key[] = "cluster secreT";
  int seeds = dk_test_iterations (20);
  for (int seed = 0; seed < seeds; seed++)
    {
      Gen gen = { g_rand_new_with_seed ((guint32) (4242 + seed)), TRUE };
      DkWireType type = DK_WIRE_TYPE_FIRST + random_below (&gen, DK_WIRE_TYPE_LAST);
      g_autoptr (DkWireMessage) message = random_message (&gen, type);
      g_autoptr (GByteArray) datagram = encode_or_fail (message);
      g_autoptr (GError) error = NULL;

      ck_assert (!dk_wire_verify (datagram->data, datagram->len, key, sizeof key, &error));
      assert_error (error, DK_WIRE_ERROR_UNAUTHENTICATED, "no authentication tag");
      g_clear_error (&error);

      dk_wire_sign (datagram, key, sizeof key);
      ck_assert_msg (dk_wire_verify (datagram->data, datagram->len, key, sizeof key, &error),
                     "%s", error ? error->message : "");
      g_autoptr (DkWireMessage) decoded = dk_wire_decode (datagram->data, datagram->len, &error);
      ck_assert (decoded != NULL && dk_wire_message_equal (message, decoded));
      ck_assert (decoded->flags & DK_WIRE_FLAG_AUTHENTICATED);

      ck_assert (!dk_wire_verify (datagram->data, datagram->len, other_key, sizeof other_key, &error));
      assert_error (error, DK_WIRE_ERROR_BAD_TAG, "does not match");
      g_clear_error (&error);

      for (guint i = 0; i < datagram->len; i++)
        {
          guint8 mask = (guint8) (1u << random_below (&gen, 8));
          datagram->data[i] ^= mask;
          ck_assert_msg (!dk_wire_verify (datagram->data, datagram->len, key, sizeof key, NULL),
                         "byte %u flipped still verifies", i);
          datagram->data[i] ^= mask;
        }
      ck_assert (!dk_wire_verify (datagram->data, datagram->len - 1, key, sizeof key, NULL));
      g_rand_free (gen.rand);
    }
}
END_TEST

/* A prepared key (dk_wire_key_new) signs exactly as its bytes do, for
 * keys shorter than, as long as and longer than SHA-256's block (hashed
 * first, RFC 2104), and each side verifies the other's tags. */
START_TEST (wire_prepared_key_signs_as_its_bytes_do)
{
  static const gsize key_lengths[] = { 1, 14, 32, 63, 64, 65, 200 };
  int seeds = dk_test_iterations (10);
  for (int seed = 0; seed < seeds; seed++)
    for (guint k = 0; k < G_N_ELEMENTS (key_lengths); k++)
      {
        Gen gen = { g_rand_new_with_seed ((guint32) (777 + seed * 31 + (int) k)), TRUE };
        guint8 key[200];
        for (gsize i = 0; i < key_lengths[k]; i++)
          key[i] = (guint8) random_below (&gen, 256);
        g_autoptr (DkWireKey) prepared = dk_wire_key_new (key, key_lengths[k]);
        DkWireType type = DK_WIRE_TYPE_FIRST + random_below (&gen, DK_WIRE_TYPE_LAST);
        g_autoptr (DkWireMessage) message = random_message (&gen, type);
        g_autoptr (GByteArray) by_bytes = encode_or_fail (message);
        g_autoptr (GByteArray) by_prepared = encode_or_fail (message);
        DkWireStamp stamp = { 1700000000000000 + seed, (guint64) k, 3 };
        dk_wire_sign_stamped (by_bytes, key, key_lengths[k], &stamp);
        dk_wire_sign_stamped_with (by_prepared, prepared, &stamp);
        ck_assert_uint_eq (by_bytes->len, by_prepared->len);
        ck_assert_msg (memcmp (by_bytes->data, by_prepared->data, by_bytes->len) == 0,
                       "key of %" G_GSIZE_FORMAT " bytes: the tags differ", key_lengths[k]);
        g_autoptr (GError) error = NULL;
        ck_assert_msg (dk_wire_verify_with (by_bytes->data, by_bytes->len, prepared, &error),
                       "%s", error ? error->message : "");
        by_bytes->data[by_bytes->len / 2] ^= 1;
        ck_assert (!dk_wire_verify_with (by_bytes->data, by_bytes->len, prepared, NULL));
        g_rand_free (gen.rand);
      }
}
END_TEST

/* ---- the fuzzing seed corpus ---------------------------------------------------- */

START_TEST (wire_seed_corpus_has_one_decodable_message_per_type)
{
  const char *write_to = g_getenv ("DK_WIRE_WRITE_CORPUS");
  const char *srcdir = g_getenv ("srcdir");
  g_autofree char *dir = write_to != NULL ? g_strdup (write_to)
                         : srcdir != NULL ? g_build_filename (srcdir, "tests", "fuzz", "corpus", "wire", NULL)
                         : NULL;
  if (dir == NULL)
    return;  /* run outside `make check`: nothing to find */
  for (DkWireType type = DK_WIRE_TYPE_FIRST; type <= DK_WIRE_TYPE_LAST; type++)
    {
      g_autofree char *path = g_build_filename (dir, dk_wire_type_name (type), NULL);
      if (write_to != NULL)
        {
          Gen gen = { g_rand_new_with_seed (type), TRUE };
          g_autoptr (DkWireMessage) message = random_message (&gen, type);
          g_autoptr (GByteArray) bytes = encode_or_fail (message);
          ck_assert (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));
          g_rand_free (gen.rand);
        }
      g_autofree char *contents = NULL;
      gsize len = 0;
      g_autoptr (GError) error = NULL;
      ck_assert_msg (g_file_get_contents (path, &contents, &len, &error), "%s", error ? error->message : "");
      g_autoptr (DkWireMessage) message = dk_wire_decode ((const guint8 *) contents, len, &error);
      ck_assert_msg (message != NULL && message->type == type, "%s: %s", path,
                     error ? error->message : "wrong type");
    }
}
END_TEST

Suite *
wire_suite (void)
{
  Suite *suite = suite_create ("wire");
  TCase *round_trip = tcase_create ("round_trip");
  dk_tcase_no_wall_limit (round_trip);
  tcase_add_test (round_trip, wire_every_message_type_round_trips_over_many_seeds);
  tcase_add_test (round_trip, wire_encoding_into_a_reused_buffer_gives_a_fresh_encodings_bytes);
  tcase_add_test (round_trip, wire_message_equal_notices_a_changed_field);
  tcase_add_test (round_trip, wire_encoding_matches_the_documented_layout);
  tcase_add_test (round_trip, wire_sibling_dot_and_context_follow_the_documented_layout);
  suite_add_tcase (suite, round_trip);

  TCase *refusal = tcase_create ("refusal");
  dk_tcase_no_wall_limit (refusal);
  tcase_add_test (refusal, wire_every_truncation_of_a_valid_message_fails_cleanly);
  tcase_add_test (refusal, wire_random_bytes_never_decode_to_out_of_limit_messages);
  tcase_add_test (refusal, wire_bit_flips_of_valid_messages_fail_cleanly_or_reencode_identically);
  tcase_add_test (refusal, wire_header_errors_name_the_problem);
  tcase_add_test (refusal, wire_oversize_fields_are_refused_on_encode_and_decode_naming_the_field);
  tcase_add_test (refusal, wire_out_of_range_values_are_refused_naming_the_field);
  tcase_add_test (refusal, wire_node_status_is_never_smaller_than_a_retry);
  tcase_add_test (refusal, wire_node_status_limits_are_refused_naming_the_field);
  tcase_add_test (refusal, wire_bad_dots_and_contexts_are_refused_naming_the_sibling);
  suite_add_tcase (suite, refusal);

  TCase *auth = tcase_create ("authentication");
  tcase_add_test (auth, wire_admin_names_a_member_and_an_address_only_where_its_op_does);
  tcase_add_test (auth, wire_sign_verify_rejects_a_tampered_byte_and_a_wrong_key);
  tcase_add_test (auth, wire_prepared_key_signs_as_its_bytes_do);
  suite_add_tcase (suite, auth);

  TCase *corpus = tcase_create ("corpus");
  tcase_add_test (corpus, wire_seed_corpus_has_one_decodable_message_per_type);
  suite_add_tcase (suite, corpus);
  return suite;
}
