/* wire.h — the wire codec: every message dynkv nodes and clients exchange.
 *
 * One message is one UDP datagram (or one simulated datagram: the
 * simulator carries exactly these bytes).  The codec is pure data: it
 * depends on GLib and vclock.h only, and decoding arbitrary bytes never
 * reads outside them; every refusal is a GError in DK_WIRE_ERROR whose
 * message names the offending field ("put.value: 12000 bytes exceeds the
 * 9216-byte limit").  Every limit is enforced on encode too, so a node
 * never sends what a peer would refuse, and nothing is ever truncated.
 *
 * Byte layout (all integers big-endian, no padding):
 *
 *   offset size  header
 *        0    2  magic 0x44 0x4B ("DK")
 *        2    1  protocol version (DK_WIRE_VERSION)
 *        3    1  message type (DkWireType)
 *        4    2  flags (DK_WIRE_FLAG_*; unknown bits are refused)
 *        6    2  reserved, must be 0
 *        8    8  request id: matches a reply to its request on this hop
 *       16    4  sender node id (DK_NODE_NONE for a client)
 *       20    4  body length B
 *       24    B  body (layout per type below)
 *   present exactly when DK_WIRE_FLAG_AUTHENTICATED is set (dk_wire_sign):
 *     24+B    8  stamp: i64 timestamp_us, the signer's wall clock
 *     32+B    8  stamp: u64 nonce, tells apart equal datagrams signed in
 *                the same microsecond
 *     40+B    4  stamp: u32 receiver, the node the datagram is meant for
 *                (DK_NODE_NONE: any node)
 *     44+B   32  HMAC-SHA256 tag over bytes 0 .. 44+B-1 (header, body
 *                and stamp)
 *
 *   Field encodings used by the bodies:
 *     key       u16 length (1 .. DK_KEY_MAX_BYTES) + bytes
 *     value     u16 length (0 .. DK_VALUE_MAX_BYTES) + bytes
 *     string    u16 length (per-field limit below) + UTF-8 bytes, no NUL
 *     clock     dk_vclock_encode (u16 count + count x (u64 actor, u64
 *               counter, i64 timestamp_us))
 *     ?clock    u8 present (0 or 1) + clock when present
 *     version   u8 flags (bit 0 tombstone; a tombstone's value is empty),
 *               the dot (u64 actor, u64 counter, i64 wall_us), the
 *               context (a clock), value (version.h)
 *     siblings  u8 count (0 .. DK_SIBLINGS_HARD_MAX) + count x version
 *     part      u8 index, u8 last (index <= last), u64 set digest: which
 *               part of which sibling set the message carries (0, 0 for a
 *               whole set), or an ack acknowledges
 *     range     u64 lo, u64 hi: the ring arc (lo, hi], wrapping past
 *               2^64 - 1 when hi <= lo (lo == hi is the whole ring)
 *
 *   GET, PUT, DELETE  u64 client id, u64 client request id, u8 r, u8 w,
 *                     key, ?clock context, value (empty unless a PUT),
 *                     u8 sibling offset (0 unless a GET)
 *   CLIENT_REPLY      u64 client request id, u8 status, string reason
 *                     (<= DK_WIRE_REASON_MAX), siblings, ?clock context,
 *                     u8 siblings before, u8 siblings after (before +
 *                     count + after <= DK_SIBLINGS_HARD_MAX), u64 set digest
 *   FORWARD           u8 request type (GET/PUT/DELETE), u8 hops, string
 *                     client address (<= DK_WIRE_ADDRESS_MAX), then the
 *                     request's body as above
 *   READ              key
 *   READ_REPLY        u8 status, key, part, siblings
 *   WRITE             u32 hinted owner (DK_NODE_NONE: no hint), key, part,
 *                     siblings
 *   WRITE_ACK         u8 status, key, part
 *   GOSSIP            u8 kind, u32 about (0: none), u16 count + count x
 *                     member: u32 node (not 0), string name, string
 *                     address, string datacenter, string rack, u32 vnodes,
 *                     u64 heartbeat, u64 incarnation, u8 state, u8 verdict
 *   HINT_HANDOFF      u64 hint id, u32 intended owner (not 0), key, part,
 *                     siblings
 *   HINT_ACK          u64 hint id, u8 status, part
 *   AE_TREE_REQUEST   range, u8 depth (<= DK_WIRE_AE_MAX_DEPTH), u16 count
 *                     + count x u32 node index
 *   AE_TREE_REPLY     range, u8 depth, u16 count + count x (u32 node index,
 *                     u64 hash)
 *   AE_KEYS_REQUEST   range
 *   AE_KEYS_REPLY     range, u8 complete (0 or 1), u16 count + count x
 *                     (key, u64 digest)
 *   PING, PONG        i64 timestamp_us (the pinger's clock; PONG echoes it)
 *   PARTITION_TABLE   u64 epoch, u32 partition count Q (>= 1), u16 count
 *                     + count x (u32 partition < Q, u32 owner node, not 0)
 *   NODE_STATUS       u64 client request id, i64 timestamp_us (echoed),
 *                     u32 first member, u32 member limit (1 ..
 *                     DK_WIRE_STATUS_MEMBERS_MAX), u8 counters (0 or 1)
 *   NODE_STATUS_REPLY u64 client request id, i64 timestamp_us (the
 *                     request's), string address, u8 state, u64 keys,
 *                     u64 stored bytes, u32 hints held, u32 streams
 *                     pending, i64 last anti-entropy pass age (us; -1:
 *                     none yet), i64 uptime (us), u32 members total, u32
 *                     first member, u16 count + count x status member:
 *                     u32 node (not 0), string address, u8 state, u32
 *                     ownership (parts per million, <= 1,000,000), u32
 *                     hints held here for it; u16 count + count x
 *                     counter: string name (1 .. DK_WIRE_COUNTER_NAME_MAX),
 *                     u64 value
 *   ADMIN             u64 client request id, u8 op (DkWireAdminOp), u32
 *                     node (0 for plan, commit and clear), string address
 *                     (<= DK_WIRE_ADDRESS_MAX; empty unless a join)
 *   ADMIN_REPLY       u64 client request id, u8 status, string text
 *                     (<= DK_WIRE_ADMIN_TEXT_MAX)
 *
 * Merkle node indices number a binary tree heap-style: the root is 0 and
 * node i has children 2i+1 and 2i+2, so a tree of depth D has the
 * indices 0 .. 2^(D+1) - 2.
 *
 * Sibling sets larger than one datagram.  A set travels whole when it
 * fits; otherwise as parts 0 .. last, each message carrying a subset of
 * its versions in canonical order (merging is per version, so the parts
 * merge piecewise into the whole: version.h).  Between nodes (READ_REPLY,
 * WRITE, HINT_HANDOFF) the sender pushes every part at once and an ack
 * names the part it acknowledges; a replica's answer or a delivery is
 * complete when every part is in.  To a client, a CLIENT_REPLY carries
 * the whole set's context, digest and size (siblings before + count +
 * after) and as many siblings as fit from the GET's sibling offset; the
 * client asks for the rest with GETs whose offset is siblings before +
 * count, and knows the parts belong to one set by the digest.
 *
 * Decoding is canonical: a message decodes only when re-encoding it gives
 * back the same bytes (booleans are 0 or 1, reserved bits are 0, enums
 * are in range), which the tests and the fuzzer check.
 *
 * Two request ids: the header's request id pairs a reply with its request
 * on one hop (coordinator -> replica), while a client request id is
 * chosen by the client, travels end to end (also inside FORWARD) and
 * comes back in CLIENT_REPLY.  With the client id it names the request:
 * a coordinator answers a second request of the same (client id, client
 * request id) with the first answer instead of applying it again.
 *
 * The stamp of a signed datagram lets a receiver refuse replays: it drops
 * a datagram whose timestamp is outside its window, that it has seen
 * before within the window, or that names another receiver (node.h).
 */
#ifndef DK_WIRE_H
#define DK_WIRE_H

#include <glib.h>
#include "types.h"
#include "version.h"

G_BEGIN_DECLS

#define DK_WIRE_MAGIC        0x444Bu  /* "DK" */
#define DK_WIRE_VERSION      3u   /* 2: dots and contexts, client ids, stamps, parts;
                                   * 3: gossip kinds (probes) and verdicts */
#define DK_WIRE_HEADER_BYTES 24u
#define DK_WIRE_HMAC_BYTES   32u      /* HMAC-SHA256 */
#define DK_WIRE_STAMP_BYTES  20u      /* timestamp, nonce, receiver */
/* What signing appends to a datagram: the stamp, then the HMAC. */
#define DK_WIRE_TAG_BYTES    (DK_WIRE_STAMP_BYTES + DK_WIRE_HMAC_BYTES)

/* Largest datagram, header and tag included.  A UDP payload can be at
 * most 65,507 bytes over IPv4 (65,535 minus the 20-byte IP and 8-byte UDP
 * headers); 65,000 leaves room for IP options and IPv6 extension headers
 * so the same limit holds on every path.  Every encoded message reserves
 * room for the tag, so any message can be signed.  Note that a sibling
 * set of DK_SIBLINGS_MAX full-size values (8 x 9 KiB) does not fit:
 * encoding it fails with DK_WIRE_ERROR_MESSAGE_TOO_LARGE, never a cut;
 * senders split such a set into parts (above).  One version always fits
 * a message with room to spare. */
#define DK_WIRE_MAX_DATAGRAM 65000u

/* Per-field limits of the variable-length fields beyond types.h's. */
#define DK_WIRE_NAME_MAX     64u   /* member name, datacenter, rack */
#define DK_WIRE_ADDRESS_MAX 256u   /* "host:port" or a simulated address */
#define DK_WIRE_REASON_MAX  256u   /* CLIENT_REPLY reason */
#define DK_WIRE_AE_MAX_DEPTH 24u   /* Merkle tree depth */
/* NODE_STATUS_REPLY: members per reply (a longer list is paged with
 * first_member), counters, and a counter name's bytes.  Chosen so that a
 * reply at every limit fits one datagram (wire_messages.c asserts it). */
#define DK_WIRE_STATUS_MEMBERS_MAX   200u
#define DK_WIRE_STATUS_COUNTERS_MAX  128u
#define DK_WIRE_COUNTER_NAME_MAX      48u
/* ADMIN_REPLY: the text an operator reads (a plan, a refusal). */
#define DK_WIRE_ADMIN_TEXT_MAX      8192u

typedef enum
{
  DK_WIRE_GET = 1,
  DK_WIRE_PUT,
  DK_WIRE_DELETE,
  DK_WIRE_CLIENT_REPLY,
  DK_WIRE_FORWARD,
  DK_WIRE_READ,
  DK_WIRE_READ_REPLY,
  DK_WIRE_WRITE,
  DK_WIRE_WRITE_ACK,
  DK_WIRE_GOSSIP,
  DK_WIRE_HINT_HANDOFF,
  DK_WIRE_HINT_ACK,
  DK_WIRE_AE_TREE_REQUEST,
  DK_WIRE_AE_TREE_REPLY,
  DK_WIRE_AE_KEYS_REQUEST,
  DK_WIRE_AE_KEYS_REPLY,
  DK_WIRE_PING,
  DK_WIRE_PONG,
  DK_WIRE_PARTITION_TABLE,
  DK_WIRE_NODE_STATUS,        /* a client asks a node about itself and its members */
  DK_WIRE_NODE_STATUS_REPLY,
  DK_WIRE_ADMIN,              /* an operator (cluster key) changes the membership */
  DK_WIRE_ADMIN_REPLY,
} DkWireType;
#define DK_WIRE_TYPE_FIRST DK_WIRE_GET
#define DK_WIRE_TYPE_LAST  DK_WIRE_ADMIN_REPLY

/* Header flags. */
#define DK_WIRE_FLAG_AUTHENTICATED 0x0001u  /* a 32-byte HMAC tag follows the body */
#define DK_WIRE_FLAGS_KNOWN        DK_WIRE_FLAG_AUTHENTICATED

/* Outcome carried by CLIENT_REPLY, READ_REPLY, WRITE_ACK and HINT_ACK. */
typedef enum
{
  DK_WIRE_STATUS_OK = 0,
  DK_WIRE_STATUS_NOT_FOUND,     /* no version (or only tombstones) */
  DK_WIRE_STATUS_UNAVAILABLE,   /* too few replicas answered: quorum not met */
  DK_WIRE_STATUS_TIMEOUT,       /* the coordinator gave up waiting */
  DK_WIRE_STATUS_INVALID,       /* a malformed or refused request */
  DK_WIRE_STATUS_TOO_LARGE,     /* key, value or reply over a limit */
  DK_WIRE_STATUS_STORAGE_ERROR, /* the replica's store failed */
  DK_WIRE_STATUS_OVERLOADED,    /* shed: too many requests in flight */
  DK_WIRE_STATUS_RETRY,         /* the source address is not validated yet: send
                                 * the request again with the reply's header
                                 * request id (a cookie) as its own (node.h) */
} DkWireStatus;
#define DK_WIRE_STATUS_LAST DK_WIRE_STATUS_RETRY

/* A member's state as its gossip says. */
typedef enum
{
  DK_WIRE_MEMBER_UP = 0,
  DK_WIRE_MEMBER_SUSPECT,
  DK_WIRE_MEMBER_DOWN,
  DK_WIRE_MEMBER_JOINING,
  DK_WIRE_MEMBER_LEAVING,
} DkWireMemberState;
#define DK_WIRE_MEMBER_STATE_LAST DK_WIRE_MEMBER_LEAVING

/* What a GOSSIP is for (node_gossip.c: SWIM-style probing). */
typedef enum
{
  DK_WIRE_GOSSIP_PUSH = 0,     /* news; no answer wanted */
  DK_WIRE_GOSSIP_PROBE,        /* are you alive?  Answer with an ACK */
  DK_WIRE_GOSSIP_ACK,          /* the answer to a PROBE */
  DK_WIRE_GOSSIP_PROBE_FOR,    /* probe ABOUT for me (I could not reach it) */
  DK_WIRE_GOSSIP_RELAYED_ACK,  /* ABOUT answered the probe you asked me for */
} DkWireGossipKind;
#define DK_WIRE_GOSSIP_KIND_LAST DK_WIRE_GOSSIP_RELAYED_ACK

/* ---- message bodies ------------------------------------------------------
 * Containers are never NULL in a message from dk_wire_message_new or
 * dk_wire_decode; strings and optional clocks may be NULL before encoding
 * (NULL strings encode as "").  Sibling sets are GPtrArrays of DkVersion*
 * from dk_siblings_new and are carried in the order given. */

/* GET, PUT and DELETE from a client (and inside FORWARD). */
typedef struct
{
  guint64   client_id;          /* chosen by the client, the same for its
                                 * retries; 0: anonymous (remembered by
                                 * address, and only where it arrives) */
  guint64   client_request_id;  /* unique among the client's requests */
  GBytes   *key;      /* 1 .. DK_KEY_MAX_BYTES */
  GBytes   *value;    /* PUT only; NULL encodes as empty, and a GET or
                       * DELETE must leave it NULL or empty (decoded: empty) */
  DkVclock *context;  /* optional: the context of an earlier get, or NULL */
  guint8    r;        /* per-request read quorum; 0 = the configured default */
  guint8    w;        /* per-request write quorum; 0 = the configured default */
  guint8    sibling_offset; /* GET only: the first sibling wanted, in the set's
                             * canonical order (the rest of a set too large for
                             * one reply); 0 otherwise */
} DkWireClientRequest;

typedef struct
{
  guint64      client_request_id;
  DkWireStatus status;
  char        *reason;    /* human-readable, "" on success */
  GPtrArray   *siblings;  /* a get's versions (siblings_before onwards, as many
                           * as fit); a write's new version; else empty */
  DkVclock    *context;   /* a get's context (dk_siblings_context of the whole
                           * set), a write's clock, a refused write's current
                           * context, or NULL */
  guint8       siblings_before; /* versions of the whole set ahead of SIBLINGS */
  guint8       siblings_after;  /* ... and after them: fetch with sibling_offset
                                 * = siblings_before + siblings->len */
  guint64      set_digest;      /* a get: dk_siblings_digest of the whole set, so
                                 * its parts are known to be of one set; else 0 */
} DkWireClientReply;

/* Which part of a sibling set a READ_REPLY, WRITE or HINT_HANDOFF carries,
 * and which one an ack acknowledges (it echoes the part): parts 0 .. last,
 * each a subset of the set's versions; index 0 of last 0 is the whole
 * set.  The digest tells the parts of one sending from another's (a set
 * sent again after it changed). */
typedef struct
{
  guint8  index;       /* <= last */
  guint8  last;
  guint64 set_digest;  /* dk_siblings_digest of the whole set */
} DkWirePart;

/* A client request passed on to a node of the key's preference list;
 * that node coordinates and replies to the client directly. */
typedef struct
{
  DkWireType          request_type;    /* DK_WIRE_GET, PUT or DELETE */
  guint8              hops;            /* forwards so far, to stop loops */
  char               *client_address;  /* where the CLIENT_REPLY goes */
  DkWireClientRequest request;
} DkWireForward;

typedef struct
{
  GBytes *key;
} DkWireRead;

typedef struct
{
  DkWireStatus status;
  GBytes      *key;
  DkWirePart   part;
  GPtrArray   *siblings;
} DkWireReadReply;

/* Replica write; also read repair and anti-entropy repair.  Dynamo §4.6:
 * a write to a stand-in carries the intended owner as a hint. */
typedef struct
{
  DkNodeId   hinted_owner;  /* DK_NODE_NONE when this replica is an owner */
  GBytes    *key;
  DkWirePart part;
  GPtrArray *siblings;      /* merged into the replica's set */
} DkWireWrite;

typedef struct
{
  DkWireStatus status;
  GBytes      *key;
  DkWirePart   part;        /* the part of the WRITE acknowledged */
} DkWireWriteAck;

typedef struct
{
  DkNodeId          node;         /* never DK_NODE_NONE */
  char             *name;         /* <= DK_WIRE_NAME_MAX bytes */
  char             *address;      /* <= DK_WIRE_ADDRESS_MAX bytes */
  char             *datacenter;   /* <= DK_WIRE_NAME_MAX bytes */
  char             *rack;         /* <= DK_WIRE_NAME_MAX bytes */
  guint32           vnodes;       /* weight: its number of virtual nodes */
  guint64           heartbeat;    /* advanced by the member itself */
  guint64           incarnation;  /* bumped on restart / to refute suspicion */
  DkWireMemberState state;        /* what the member claims: JOINING, UP, LEAVING */
  DkWireMemberState verdict;      /* how the sender judges it: UP, SUSPECT, DOWN */
} DkWireMember;

typedef struct
{
  DkWireGossipKind kind;
  DkNodeId         about;    /* PROBE_FOR, RELAYED_ACK: the probed member; else DK_NODE_NONE */
  GArray          *members;  /* of DkWireMember; the array frees their strings */
} DkWireGossip;

typedef struct
{
  guint64    hint_id;
  DkNodeId   intended_owner;  /* never DK_NODE_NONE */
  GBytes    *key;
  DkWirePart part;
  GPtrArray *siblings;
} DkWireHintHandoff;

typedef struct
{
  guint64      hint_id;
  DkWireStatus status;
  DkWirePart   part;          /* the part of the HINT_HANDOFF acknowledged */
} DkWireHintAck;

typedef struct
{
  DkToken range_lo;
  DkToken range_hi;
  guint8  depth;         /* <= DK_WIRE_AE_MAX_DEPTH */
  GArray *node_indices;  /* of guint32, each a node of a tree of DEPTH */
} DkWireAeTreeRequest;

typedef struct
{
  guint32 node_index;
  guint64 hash;
} DkWireAeNodeHash;

typedef struct
{
  DkToken range_lo;
  DkToken range_hi;
  guint8  depth;
  GArray *nodes;  /* of DkWireAeNodeHash */
} DkWireAeTreeReply;

typedef struct
{
  DkToken range_lo;
  DkToken range_hi;
} DkWireAeKeysRequest;

typedef struct
{
  GBytes *key;
  guint64 digest;  /* dk_siblings_digest of the key's set */
} DkWireKeyDigest;

typedef struct
{
  DkToken  range_lo;
  DkToken  range_hi;
  gboolean complete;  /* FALSE: more keys follow in a later reply */
  GArray  *keys;      /* of DkWireKeyDigest; the array unrefs the keys */
} DkWireAeKeysReply;

typedef struct
{
  gint64 timestamp_us;
} DkWirePing;

typedef struct
{
  guint32  partition;
  DkNodeId owner;
} DkWirePartitionOwner;

/* The equal-partitions ring: Q fixed partitions and who owns each. */
typedef struct
{
  guint64 epoch;            /* newer tables win */
  guint32 partition_count;  /* Q >= 1 */
  GArray *owners;           /* of DkWirePartitionOwner */
} DkWirePartitionTable;

/* NODE_STATUS: what `dynkv status` and `dynkv stats` ask a node.  Its
 * reply is large, so a node sends it only to a validated source (node.h);
 * the request is never smaller than a RETRY (tests/check_wire.c,
 * wire_node_status_is_never_smaller_than_a_retry). */
typedef struct
{
  guint64  client_request_id;  /* echoed by the reply, or by a RETRY */
  gint64   timestamp_us;       /* the client's clock, echoed: a round trip */
  guint32  first_member;       /* the member list from this index on (paging) */
  guint32  member_limit;       /* at most this many members (1 .. DK_WIRE_STATUS_MEMBERS_MAX) */
  gboolean counters;           /* TRUE: include the node's counters */
} DkWireNodeStatus;

/* One member as the answering node sees it. */
typedef struct
{
  DkNodeId          node;           /* never DK_NODE_NONE */
  char             *address;        /* "" when not learnt yet */
  DkWireMemberState state;          /* the answering node's verdict (or the member's
                                     * JOINING / LEAVING claim) */
  guint32           ownership_ppm;  /* its share of the ring (primary ranges), per million */
  guint32           hints_here;     /* hints the answering node holds for it */
} DkWireStatusMember;

typedef struct
{
  char   *name;   /* 1 .. DK_WIRE_COUNTER_NAME_MAX bytes */
  guint64 value;
} DkWireCounter;

typedef struct
{
  guint64           client_request_id;
  gint64            timestamp_us;     /* the request's, echoed */
  char             *address;          /* the answering node's own */
  DkWireMemberState state;            /* what it claims: UP, JOINING or LEAVING */
  guint64           keys;             /* keys in its store, tombstoned ones included */
  guint64           stored_bytes;     /* keys + encoded sets, as stored */
  guint32           hints_held;       /* hints it holds for other owners */
  guint32           streams_pending;  /* ranges, chunks and pushes of streaming outstanding */
  gint64            ae_pass_age_us;   /* since its last full anti-entropy pass; -1: none yet */
  gint64            uptime_us;        /* since the node started */
  guint32           members_total;    /* members it knows, itself included */
  guint32           first_member;     /* index of MEMBERS[0] in its member list (by id) */
  GArray           *members;          /* of DkWireStatusMember (first_member + len <= total) */
  GArray           *counters;         /* of DkWireCounter (when asked; else empty) */
} DkWireNodeStatusReply;

/* ADMIN: what `dynkv admin` asks (node_admin.c).  Signed with the
 * cluster key only: a client key never verifies one. */
typedef enum
{
  DK_WIRE_ADMIN_JOIN = 0,   /* plan admitting NODE at ADDRESS */
  DK_WIRE_ADMIN_LEAVE,      /* member NODE is to leave (carried to it) */
  DK_WIRE_ADMIN_REMOVE,     /* member NODE, down, is dropped from the ring */
  DK_WIRE_ADMIN_PLAN,       /* show the planned changes and the joins held */
  DK_WIRE_ADMIN_COMMIT,     /* apply the planned changes */
  DK_WIRE_ADMIN_CLEAR,      /* forget the planned changes */
} DkWireAdminOp;
#define DK_WIRE_ADMIN_OP_LAST DK_WIRE_ADMIN_CLEAR

typedef struct
{
  guint64       client_request_id;  /* echoed by the reply */
  DkWireAdminOp op;
  DkNodeId      node;               /* JOIN, LEAVE, REMOVE: the member; else 0 */
  char         *address;            /* JOIN: "host:port"; else "" */
} DkWireAdmin;

typedef struct
{
  guint64      client_request_id;
  DkWireStatus status;              /* OK, or INVALID (the text says why) */
  char        *text;                /* what to print */
} DkWireAdminReply;

typedef struct
{
  DkWireType type;
  guint16    flags;       /* as received; dk_wire_sign sets AUTHENTICATED */
  guint64    request_id;
  DkNodeId   sender;
  union
  {
    DkWireClientRequest  client_request;  /* GET, PUT, DELETE */
    DkWireClientReply    client_reply;
    DkWireForward        forward;
    DkWireRead           read;
    DkWireReadReply      read_reply;
    DkWireWrite          write;
    DkWireWriteAck       write_ack;
    DkWireGossip         gossip;
    DkWireHintHandoff    hint_handoff;
    DkWireHintAck        hint_ack;
    DkWireAeTreeRequest  ae_tree_request;
    DkWireAeTreeReply    ae_tree_reply;
    DkWireAeKeysRequest  ae_keys_request;
    DkWireAeKeysReply    ae_keys_reply;
    DkWirePing           ping;            /* PING and PONG */
    DkWirePartitionTable partition_table;
    DkWireNodeStatus     node_status;
    DkWireNodeStatusReply node_status_reply;
    DkWireAdmin          admin;
    DkWireAdminReply     admin_reply;
  } body;
} DkWireMessage;

/* ---- functions ------------------------------------------------------------ */

/* A message of TYPE with zeroed fields and empty containers.  Free with
 * dk_wire_message_free. */
DkWireMessage *dk_wire_message_new (DkWireType type);
void dk_wire_message_free (DkWireMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkWireMessage, dk_wire_message_free)

/* TRUE when A and B have the same type, request id, sender and body
 * (clocks compared entry by entry, timestamps included; siblings in
 * order).  Flags are ignored: signing does not change a message. */
gboolean dk_wire_message_equal (const DkWireMessage *a, const DkWireMessage *b);

/* "get", "read_reply", ... for a known type, NULL otherwise. */
const char *dk_wire_type_name (DkWireType type);

/* The bytes dk_wire_encode would produce for MESSAGE plus the stamp and
 * tag signing adds: what it takes of DK_WIRE_MAX_DATAGRAM.  Meaningful
 * for a message within its field limits (a field over one is sized as
 * if cut at the limit). */
gsize dk_wire_encoded_size (const DkWireMessage *message);

/* The bytes VERSION takes inside a sibling set on the wire. */
gsize dk_wire_version_size (const DkVersion *version);

/* Encode MESSAGE into a new unsigned datagram (its AUTHENTICATED flag is
 * ignored; sign the result with dk_wire_sign).  Returns NULL with a
 * DK_WIRE_ERROR naming the field when a field breaks a limit or the
 * message would not fit DK_WIRE_MAX_DATAGRAM with a tag. */
GByteArray *dk_wire_encode (const DkWireMessage *message, GError **error);

/* dk_wire_encode into OUT, an array the caller keeps and reuses: its
 * bytes are replaced by the datagram (OUT's contents are unspecified when
 * this fails). */
gboolean dk_wire_encode_into (const DkWireMessage *message, GByteArray *out, GError **error);

/* Decode the LEN bytes of one datagram into a new message, or NULL with a
 * DK_WIRE_ERROR.  Never reads outside DATA .. DATA+LEN.  A stamp and tag,
 * when the header announces them, are skipped, not checked: call
 * dk_wire_verify first when the cluster is keyed. */
DkWireMessage *dk_wire_decode (const guint8 *data, gsize len, GError **error);

/* The message type of the LEN-byte DATAGRAM as its header says, without
 * decoding the rest: what a receiver needs to pick the key a datagram
 * must verify with.  FALSE when the bytes are too short for a header, or
 * the magic, version or type is not dynkv's. */
gboolean dk_wire_peek_type (const guint8 *datagram, gsize len, DkWireType *type);

/* TRUE for the types a client sends a node (GET, PUT, DELETE, PING,
 * NODE_STATUS); every
 * other type is node to node, or a node's answer to a client. */
gboolean dk_wire_type_is_client_request (DkWireType type);

/* The stamp a signed datagram carries (layout above). */
typedef struct
{
  gint64   timestamp_us;  /* the signer's wall clock, microseconds since the epoch */
  guint64  nonce;         /* the signer's: differs between datagrams it signs */
  DkNodeId receiver;      /* the node it is meant for; DK_NODE_NONE: any */
} DkWireStamp;

/* Append STAMP and an HMAC-SHA256 tag keyed with KEY (KEY_LEN bytes) over
 * header, body and stamp to the unsigned DATAGRAM from dk_wire_encode,
 * and set its AUTHENTICATED flag. */
void dk_wire_sign_stamped (GByteArray *datagram, const guint8 *key, gsize key_len,
                           const DkWireStamp *stamp);

/* dk_wire_sign_stamped with an all-zero stamp (timestamp 0, any
 * receiver): for tests of the tag itself.  A node refuses it as stale
 * unless its own wall clock is within its replay window of the epoch (a
 * simulator's clock early in a run). */
void dk_wire_sign (GByteArray *datagram, const guint8 *key, gsize key_len);

/* The stamp of the LEN-byte DATAGRAM into *STAMP and a pointer to its
 * DK_WIRE_HMAC_BYTES-byte tag into *TAG (may be NULL); FALSE when the
 * datagram is not flagged AUTHENTICATED or too short.  Meaningful only
 * once dk_wire_verify accepted the datagram. */
gboolean dk_wire_read_stamp (const guint8 *datagram, gsize len, DkWireStamp *stamp,
                             const guint8 **tag);

/* TRUE when the LEN-byte DATAGRAM is flagged AUTHENTICATED, its lengths
 * agree and its tag matches KEY over header, body and stamp (compared in
 * constant time); the stamp's freshness is the receiver's to judge
 * (replay.h).  Otherwise
 * FALSE with DK_WIRE_ERROR_UNAUTHENTICATED (no tag) or
 * DK_WIRE_ERROR_BAD_TAG (a tag that does not match), or a header error;
 * the receiver drops the datagram and counts it. */
gboolean dk_wire_verify (const guint8 *datagram, gsize len,
                         const guint8 *key, gsize key_len, GError **error);

/* A key made ready for many datagrams: HMAC-SHA256's two pad blocks
 * hashed once (RFC 2104), so each datagram signed or verified with it
 * costs two SHA-256 blocks and a key schedule fewer than with the key's
 * bytes.  Tags are the same either way.  Immutable once made: one key may
 * serve several threads.  The hashed pads it keeps sign as the key does:
 * guard it as the key.  dk_wire_key_free ignores NULL. */
typedef struct _DkWireKey DkWireKey;
DkWireKey *dk_wire_key_new (const guint8 *key, gsize key_len);
void dk_wire_key_free (DkWireKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkWireKey, dk_wire_key_free)

/* dk_wire_sign_stamped and dk_wire_verify with a prepared KEY. */
void dk_wire_sign_stamped_with (GByteArray *datagram, const DkWireKey *key,
                                const DkWireStamp *stamp);
gboolean dk_wire_verify_with (const guint8 *datagram, gsize len, const DkWireKey *key,
                              GError **error);

#define DK_WIRE_ERROR (dk_wire_error_quark ())
GQuark dk_wire_error_quark (void);
typedef enum
{
  DK_WIRE_ERROR_TRUNCATED,          /* a field runs past the end */
  DK_WIRE_ERROR_BAD_MAGIC,          /* not a dynkv datagram */
  DK_WIRE_ERROR_BAD_VERSION,        /* another protocol version */
  DK_WIRE_ERROR_UNKNOWN_TYPE,       /* message type out of range */
  DK_WIRE_ERROR_LENGTH_MISMATCH,    /* body length disagrees with the datagram */
  DK_WIRE_ERROR_FIELD_TOO_LARGE,    /* a field over its limit */
  DK_WIRE_ERROR_MESSAGE_TOO_LARGE,  /* over DK_WIRE_MAX_DATAGRAM */
  DK_WIRE_ERROR_INVALID,            /* a value no encoder produces */
  DK_WIRE_ERROR_UNAUTHENTICATED,    /* no tag where one is required */
  DK_WIRE_ERROR_BAD_TAG,            /* a tag that does not match the key */
} DkWireError;

G_END_DECLS

#endif /* DK_WIRE_H */
