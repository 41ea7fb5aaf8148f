/* node.h — one dynkv node: coordinator and replica in one state machine.
 *
 * A node is driven entirely from outside: the environment (env.h) hands
 * it datagrams through dk_node_receive and calls back the timers it
 * started; the node answers by sending datagrams through the environment.
 * It never reads a clock, a socket or a random source of its own and keeps
 * no global state, so the simulator can host thousands of nodes in one
 * process and the UDP daemon runs exactly the same code.
 *
 * What a node does (Dynamo §4, made concrete):
 *
 *   Coordinator.  A client GET, PUT or DELETE arrives.  When this node is
 *   not on the key's preference list it forwards the request to the list's
 *   head and relays the reply (a proxy: a client endpoint is never passed
 *   on).  Otherwise it sends READ or WRITE to the other N-1 replicas, serves
 *   its own copy from its store, and answers as soon as R reads or W write
 *   acknowledgements (its own included) are in.  After request_timeout it
 *   gives up and answers TIMEOUT, naming how many replicas answered.
 *
 *   Failover (node_reach.c; Dynamo §4.6, §4.8.3).  A replica that has
 *   not answered within a deadline derived from the round trips this node
 *   observed (srtt + 4 rttvar, within 5 ms and request_timeout / 4) is a
 *   strike against it.  A replica not marked unreachable by it is only
 *   slow: it is asked once more and waited for, never replaced, so read
 *   and write quorums of the key's own replicas overlap while nothing has
 *   failed (R+W > N reads no stale data).  One that is marked is silent:
 *   while the quorum is open, with a sloppy quorum, the next node of the
 *   extended preference list is asked in its place, carrying its hint;
 *   with nobody to ask (or a strict quorum) it is asked once more.  A proxy whose coordinator is silent for a few deadlines forwards
 *   to the next replica, or coordinates itself once it is on the list.  A
 *   peer silent twice in a row is marked unreachable here for a hold that
 *   doubles while it stays silent, so new requests skip it before gossip
 *   suspects it; anything heard from it clears the mark.
 *
 *   Versions (version.h).  A PUT or DELETE gets a fresh dot from this
 *   node's durable counter and a context: the client's (versioning=dvv,
 *   the default), or the client's raised to everything of its own the
 *   node holds for the key (versioning=vv, the classic anomaly).  The new
 *   version replaces exactly the local siblings its context covers; the
 *   coordinator stores the result first (an error ends the request: an OK
 *   is only sent for a stored version), then sends the whole reconciled
 *   set to the other replicas, so no replica learns a dot of this node
 *   without its earlier ones for the key.  Client contexts are validated
 *   (entries, actors, counters: a context claiming a counter this node
 *   never issued is refused as INVALID).  The OK carries the new version
 *   (its dot and context) as its only sibling.  Contexts are pruned past
 *   vclock_prune_entries by wall-clock age, never an entry that covers a
 *   sibling the write replaces.
 *
 *   Actors.  Dots are not keyed by the node id but by an actor kept in
 *   the store: node id + a random incarnation chosen when the store is
 *   created (vclock.h).  A node that lost its disk comes back as a new
 *   actor, so it never reissues a dot.

 *   Reads return the reconciled set of every reply, tombstones included
 *   (status NOT_FOUND when only tombstones or nothing remain), and the
 *   context: the merge of all their clocks.  With read_repair, once every
 *   replica answered (or the timeout fired), replicas whose set differs from
 *   the reconciled one are sent it.
 *
 *   Replica.  READ returns the stored set; WRITE merges the given set into
 *   the store and acknowledges.
 *
 *   A key never wedges (tests/check_wedge.c).  A client write that would
 *   leave more than DK_SIBLINGS_MAX siblings at its coordinator is refused
 *   (TOO_LARGE, naming the count, carrying the current set's context and
 *   size), so the client reads the key and resolves them with a write
 *   carrying that context.  Internal replication (read repair, hints,
 *   anti-entropy, streams) merges sets of any size up to
 *   DK_SIBLINGS_HARD_MAX without refusal.  A set too large for one
 *   datagram travels in parts (wire.h): READ_REPLY, WRITE and HINT_HANDOFF
 *   in parts pushed together, each acknowledged by part, a replica's answer
 *   or a delivery complete when every part is in; a get's CLIENT_REPLY
 *   carries the whole set's context, digest and size and as many siblings
 *   as fit from the GET's sibling offset, and the client fetches the rest.
 *
 * Malformed datagrams (and, when the cluster has a key, unauthenticated
 * ones) are dropped and counted, never trusted (dk_node_receive: which
 * key verifies which message, who may send what).
 *
 *   Requests happen once (node_dedup.c).  A client request is named by
 *   (client id, client request id).  The node it reaches first (and the
 *   coordinator a proxy forwards it to) remembers it: a second request of
 *   the same name joins the first while it is in flight (both get its
 *   answer) and is answered with the first answer afterwards (for a
 *   write: the same status and the same version, its dot included), never
 *   coordinated again (tests/check_requests_once.c, requests_once_*).  A name seen with another kind or key is refused
 *   as INVALID.  Reads are remembered only while in flight: a read asked
 *   again later reads again.  Anonymous requests (client id 0) are
 *   remembered by the address they came from, only where they arrive.
 *   Memory is bounded by dedup_requests, dedup_age_us and dedup_bytes,
 *   oldest first; a node that restarts forgets.
 *
 *   With a cluster key every datagram is signed with a stamp (wire.h):
 *   the sender's wall clock, a nonce and the node it is for.  A datagram
 *   stamped further than replay_window_us from this node's wall clock (or
 *   before this node started), seen before within the window, or stamped
 *   for another node is dropped and counted (replay.h), so a captured
 *   datagram cannot be applied again later, nor elsewhere.  Failure detection,
 * sloppy quorum, hinted handoff and anti-entropy hook in here next.
 */
#ifndef DK_NODE_H
#define DK_NODE_H

#include <glib.h>
#include "types.h"
#include "env.h"
#include "member_table.h"
#include "ring.h"
#include "wire.h"

G_BEGIN_DECLS

/* Known bugs a test can switch on in a node (FoundationDB's BUGGIFY), to
 * prove that the simulator's checkers catch each of them
 * (tests/check_checkers.c, checkers_catch_every_injected_bug).  Only the
 * simulator sets one; a deployed node always runs DK_NODE_BUG_NONE. */
typedef enum
{
  DK_NODE_BUG_NONE,
  DK_NODE_BUG_REUSE_DOT,      /* issue the same dot again and again */
  DK_NODE_BUG_DROP_SIBLING,   /* a write replaces every local sibling, seen or not */
  DK_NODE_BUG_ACK_UNSTORED,   /* acknowledge writes without storing them */
  DK_NODE_BUG_STAND_IN_ONLY,  /* a stand-in keeps the write but no hint to take it home */
  DK_NODE_BUG_RESURRECT,      /* replicas drop tombstones, so deleted values stay */
  DK_NODE_BUG_OLD_VALUE,      /* a read returns an older value under the newest version's dot */
  DK_NODE_BUG_COUNT
} DkNodeBug;

typedef struct
{
  DkNodeId id;                  /* this node; must be a ring member */
  guint    n;                   /* replicas per key (1..DK_RING_MAX_REPLICAS) */
  guint    r;                   /* default read quorum (1..n) */
  guint    w;                   /* default write quorum (1..n) */
  gint64   request_timeout_us;  /* a coordinator gives up after this */
  gboolean read_repair;         /* repair stale replicas seen by a read */
  gboolean read_all_replicas;   /* a get asks all N replicas and answers with the first R
                                 * (Dynamo; the PBS paper's WARS model).  FALSE: it asks R
                                 * of them (this node's copy first), and one more for each
                                 * that fails or passes its failover deadline unheard:
                                 * fewer datagrams and wake-ups per read (dynkvd) */
  guint    vclock_prune_entries;/* prune clocks past this size (0: never) */
  guint    max_forward_hops;    /* a forwarded request is coordinated here after this many hops */
  guint    incarnation;         /* 0..4095: the high half of the gossip incarnation (disks lost) */
  DkVersioning versioning;      /* how a write's context is built (version.h); default dvv */
  DkNodeBug bug;                /* tests only: a known bug to inject; DK_NODE_BUG_NONE */
  DkLogLevel log_level;         /* lines less severe than this are not even formatted */
  gint64   gossip_interval_us;  /* gossip round period; 0: no gossip, every peer counts as up */
  gint64   suspect_after_us;    /* a suspected member not heard to refute it this long is down */
  gboolean sloppy_quorum;       /* use the first N healthy nodes, not strictly the first N */
  gboolean hinted_handoff;      /* stand-ins keep hints and hand them back */
  gboolean failover;            /* a request asks a replica (or coordinator) silent past its
                                 * deadline once more, or a stand-in; off: one message per
                                 * replica, waited for until the timeout (the PBS paper's
                                 * WARS model) */
  guint    handoff_batch;       /* hints in flight per owner (the handoff window) */
  gint64   anti_entropy_interval_us; /* a full Merkle pass over this node's ranges; 0: off */
  guint    vnodes;              /* ring tokens per unit of weight, the same on every node */
  gint64   tombstone_collect_interval_us; /* purge tombstones older than the store's grace this often; 0: never */
  gboolean joining;             /* a new member: claim JOINING for the first gossip rounds */
  const char *address;          /* where others reach this node ("host:port"), gossiped; may be NULL */
  DkMemberTable *member_table;  /* member names and addresses shared with other nodes (member_table.h);
                                 * NULL: the node keeps its own */
  const guint8 *auth_key;       /* cluster key for HMAC-SHA256, or NULL: no authentication */
  gsize    auth_key_len;
  const guint8 *client_key;     /* keyed: the key clients sign with, which verifies client
                                 * requests only (GET, PUT, DELETE, PING); NULL: clients use
                                 * the cluster key */
  gsize    client_key_len;
  guint    max_member_weight;   /* gossip entries claiming a weight above this are ignored;
                                 * 0: DK_RING_MAX_WEIGHT */
  gboolean allow_joins;         /* unkeyed: take gossip from a source that is no member's
                                 * address (a joining node).  Keyed, the cluster key is what
                                 * lets a stranger speak, and this is not needed */
  gboolean auto_admit;          /* a stranger's join is taken as it comes (the simulator's
                                 * way).  FALSE (the default): it is held as pending until
                                 * an operator admits it (node_admin.c, dynkv admin) */
  /* Requests happen once (node_dedup.c, replay.h).  0 means the default. */
  gint64   replay_window_us;    /* keyed: signed datagrams stamped further than this from our wall clock are dropped */
  guint    replay_cache_entries;/* keyed: signed datagrams remembered within the window */
  guint    dedup_requests;      /* client requests remembered (with their answers) */
  gint64   dedup_age_us;        /* ... and for how long at most */
  gsize    dedup_bytes;         /* ... and how many bytes of answers at most */
} DkNodeConfig;

/* The defaults of the fields above.  A node remembers each client write
 * and its answer for a minute, up to 16,384 of them (a thousand requests
 * a second keeps about 16 s of them) in 16 MiB; a keyed node accepts
 * datagrams stamped within a minute of its clock and remembers up to
 * 65,536 of them (about 5 MiB). */
#define DK_NODE_REPLAY_WINDOW_US_DEFAULT     G_GINT64_CONSTANT (60000000)
#define DK_NODE_REPLAY_CACHE_ENTRIES_DEFAULT 65536u
#define DK_NODE_DEDUP_REQUESTS_DEFAULT       16384u
#define DK_NODE_DEDUP_AGE_US_DEFAULT         G_GINT64_CONSTANT (60000000)
#define DK_NODE_DEDUP_BYTES_DEFAULT          ((gsize) 16 << 20)

/* Defaults: N=3, R=2, W=2, 1 s timeout, reads from all N, read repair
 * on, prune at 10, one forwarding hop, warnings logged, gossip every 1 s
 * with suspicion after 3 s, sloppy quorum, hinted handoff (64 hints in
 * flight per owner) and per-request failover on, a full anti-entropy
 * pass every 10 s, no authentication, and the DK_NODE_*_DEFAULT bounds
 * of requests remembered.  ID is left 0. */
void dk_node_config_init (DkNodeConfig *config);

/* Counters a node keeps about itself (monotonic since it started). */
typedef struct
{
  guint64 datagrams_received;
  guint64 dropped_malformed;      /* failed to decode */
  guint64 dropped_unauthenticated;/* missing or wrong HMAC tag */
  guint64 dropped_unexpected;     /* well-formed but not for us (late reply, wrong sender) */
  guint64 messages_sent;
  guint64 bytes_sent;
  guint64 send_failures;          /* a message that could not be encoded */
  guint64 requests_coordinated;
  guint64 requests_forwarded;
  guint64 requests_succeeded;
  guint64 requests_failed;
  guint64 read_repairs_sent;
  guint64 store_errors;
  guint64 gossip_sent;
  guint64 gossip_bytes;           /* bytes of the GOSSIP datagrams it sent */
  guint64 gossip_rounds;          /* gossip rounds it ran (each probes one member) */
  guint64 suspicions;             /* a peer's verdict went from up to suspect */
  guint64 downs;                  /* ... and on to down */
  guint64 recoveries;             /* a suspect or down peer was heard from again */
  guint64 sloppy_requests;        /* coordinated with at least one stand-in */
  guint64 hints_kept;             /* hinted writes this node stored for an owner */
  guint64 hints_refused;          /* hints the store refused as over its bounds */
  guint64 hints_sent;             /* HINT_HANDOFF datagrams sent (resends included) */
  guint64 hints_delivered;        /* hints an owner acknowledged, then removed */
  guint64 hints_received;         /* hinted data this node took back as owner */
  guint64 hints_rerouted;         /* hints for an owner that left, sent to the current replicas */
  guint64 ae_sessions;            /* anti-entropy sessions this node started */
  guint64 ae_keys_pushed;         /* keys it sent a peer that lacked or differed */
  guint64 ae_keys_pulled;         /* keys it took from a peer and that changed its store */
  guint64 ae_bytes_sent;          /* every anti-entropy byte it sent (trees, keys, repairs) */
  guint64 ring_changes;           /* times its ring changed (joins and leaves it heard of) */
  guint64 keys_streamed;          /* (key, replica) pairs it pushed after a ring change */
  guint64 keys_swept;             /* (key, replica) pairs it pushed from copies outside its ranges, found by sweeps */
  guint64 stream_abandoned;       /* pushes given up unacknowledged (offered again later) */
  guint64 keys_released;          /* copies outside its ranges dropped once every replica held them */
  guint64 leave_waits;            /* gossip rounds it spent leaving and not yet done */
  guint64 tombstones_collected;   /* keys whose tombstones outlived the grace and were purged */
  guint64 contexts_refused;       /* client writes refused for an invalid context */
  guint64 context_entries_pruned; /* clock entries pruned from new versions' contexts */
  guint64 dot_collisions;         /* a dot seen with two payloads while merging replies or storing */
  guint64 stand_in_refusals;      /* writes refused as a stand-in because the hint store was full */
  guint64 actor_epochs;           /* new actors taken after purges (node.c, node_actor_new_epoch) */
  guint64 parts_abandoned;        /* parts of sets whose other parts never came (node_reassembly.c) */
  guint64 requests_deduplicated;  /* client requests seen before: answered with the first answer or
                                   * joined to the same request in flight, never applied again */
  guint64 requests_id_reused;     /* a (client id, request id) seen again with another request: refused */
  guint64 requests_forgotten;     /* remembered requests dropped before their age by the count or byte bound */
  guint64 dropped_stale_timestamp;/* signed datagrams stamped outside the replay window (or before we started) */
  guint64 dropped_replayed;       /* signed datagrams accepted once already within the window */
  guint64 dropped_misdirected;    /* signed datagrams stamped for another node */
  guint64 replay_cache_overflows; /* datagrams forgotten early because the replay cache was full */
  guint64 sets_split;             /* sibling sets too large for one datagram, sent in parts */
  guint64 sibling_limit_refusals; /* client writes refused: more than DK_SIBLINGS_MAX siblings */
  guint64 merges_refused_siblings;/* internal merges refused past DK_SIBLINGS_HARD_MAX siblings */
  guint64 failovers;              /* a replica or coordinator silent past its deadline was
                                   * replaced within the request (node_reach.c) */
  guint64 failover_resends;       /* ... or, with nobody to replace it, asked once more */
  guint64 peers_marked_unreachable;/* a peer silent again was marked unreachable here, before gossip */
  guint64 repairs_applied;        /* hinted data handed back, keys streamed or swept, that changed
                                   * this node's store (a push of what it held already is not) */
  guint64 writes_forwarded;       /* coordinators' writes that reached this non-replica (a stale
                                   * view) and were sent on to the key's replicas */
  guint64 dropped_not_member;     /* node-to-node messages from a source that is no member's
                                   * address (or a member speaking as another) */
  guint64 gossip_entries_refused; /* gossip entries ignored: a weight over max_member_weight,
                                   * or a leave announced by another than the member itself */
  guint64 address_validations;    /* client requests from a new, unkeyed source answered
                                   * RETRY with a cookie instead of being handled */
  guint64 status_requests;        /* NODE_STATUS requests answered (dynkv status, stats) */
  guint64 joins_held;             /* join gossip from strangers not admitted: held as pending */
  guint64 members_admitted;       /* joins admitted here by dynkv admin commit */
  guint64 members_removed;        /* down members dropped from the ring (dynkv admin remove,
                                   * here or heard of) */
  guint64 admin_requests;         /* ADMIN requests handled (dynkv admin) */
} DkNodeStats;

typedef struct _DkNode DkNode;

/* A node using ENV (copied; ENV->store must stay open for the node's life)
 * whose first view of the membership is RING's members (RING is only read
 * here; the node keeps a ring of its own, or shares one through
 * ENV->rings, and changes it as gossip brings joins and leaves).  NULL with an error when
 * CONFIG is inconsistent (quorums out of range, node not in the ring). */
DkNode *dk_node_new (const DkNodeConfig *config, const DkEnv *env,
                     const DkRing *ring, GError **error);

/* Stop the node: cancels its timers and forgets requests in flight
 * (their clients get no answer, as after a crash).  NULL is ignored. */
void dk_node_free (DkNode *node);

/* What became of a datagram (dk_node_receive), for the environment: it
 * remembers a client source only when VALIDATED, and may report
 * authentication failures with the source address it alone knows. */
typedef enum
{
  DK_NODE_RECEIPT_DROPPED,        /* malformed, unexpected, refused or a replay */
  DK_NODE_RECEIPT_UNSIGNED,       /* keyed: the datagram carries no tag */
  DK_NODE_RECEIPT_BAD_TAG,        /* keyed: the tag does not verify with the key its type
                                   * needs (a wrong key, or a client key on a node message) */
  DK_NODE_RECEIPT_HANDLED,        /* handled; its source is not validated (an unkeyed PING,
                                   * a RETRY sent): do not remember it */
  DK_NODE_RECEIPT_VALIDATED,      /* handled, and its source proved itself: signed with a
                                   * key, or (unkeyed) it echoed its cookie */
} DkNodeReceipt;

/* Handle one datagram of LEN bytes from FROM.
 *
 * Credentials (keyed).  A client request type (GET, PUT, DELETE, PING)
 * must verify with the client key (or the cluster key); every other type
 * with the cluster key only, so a client key cannot sign gossip, replica
 * traffic, hints, anti-entropy or streams.  Node-to-node types must come
 * from a member's address (and name that member as sender); a stranger's
 * GOSSIP is a join, heard only when keyed or with allow_joins, and taken
 * only with auto_admit or once an operator admitted it (node_admin.c).
 * An ADMIN (an operator's) verifies with the cluster key only and comes
 * from anywhere; an unkeyed node takes none.  A client's PING signed
 * with the cluster key is answered signed with it, as is an ADMIN.  Replies
 * (READ_REPLY, WRITE_ACK, the CLIENT_REPLY of a forwarded request) are
 * taken only from the node the request went to.
 *
 * No amplification.  A source the environment does not remember
 * (env.h, source_validated) gets no reply larger than its datagram:
 * unkeyed, its GET, PUT or DELETE is answered with a CLIENT_REPLY of
 * status RETRY (47 bytes, less than any request) whose header request id
 * is a cookie, a MAC of the source endpoint under a secret of this node
 * that changes every DK_NODE_COOKIE_PERIOD_US; the request sent again with
 * the cookie as its header request id is handled, and its source becomes
 * VALIDATED.  A PING is answered with a PONG of its own size.  A
 * NODE_STATUS (dynkv status and stats) is a client request like GET: its
 * reply, far larger than it, goes to a validated source only (signed, or
 * unkeyed after the cookie). */
DkNodeReceipt dk_node_receive (DkNode *node, DkEndpoint from, const guint8 *data, gsize len);

/* A cookie is good for this long, and the one before it too. */
#define DK_NODE_COOKIE_PERIOD_US G_GINT64_CONSTANT (120000000)

DkNodeId dk_node_id (const DkNode *node);

/* The actor this node's dots carry. */
DkActor dk_node_actor (const DkNode *node);

/* Node ids stay below this. */
#define DK_NODE_ID_LIMIT (1u << 20)
const DkNodeStats *dk_node_stats (const DkNode *node);

/* Append NODE's counters to OUT, a GArray of DkCounter (env.h): every
 * DkNodeStats field by its name, the gauges ae_keys_repaired (pushed +
 * pulled), hints_held, streams_pending and requests_in_flight, then the
 * environment's own (DkEnv.counters).  The one list both dynkvd's SIGUSR1
 * report and a NODE_STATUS reply carry (node_status.c). */
void dk_node_counters (const DkNode *node, GArray *out);

/* Requests this node coordinates or proxies right now. */
guint dk_node_requests_in_flight (const DkNode *node);

/* This node's failure-detector verdict on member ID (UP, SUSPECT, DOWN; or
 * the member's own JOINING / LEAVING claim); DOWN for a non-member. */
DkWireMemberState dk_node_peer_state (const DkNode *node, DkNodeId id);
/* Append to IDS (a GArray of DkNodeId) the members whose dk_node_peer_state
 * is SUSPECT or DOWN; cheap when there are none (the usual case). */
void dk_node_suspected_peers (const DkNode *node, GArray *ids);

/* Joins held here waiting for an operator's admission (node_admin.c). */
guint dk_node_joins_pending (const DkNode *node);

/* Hints this node holds for other owners. */
guint dk_node_hints_held (const DkNode *node);

/* Start leaving the cluster: claim LEAVING (gossip spreads it, and every
 * node that hears drops this one from its ring), record it in the store
 * (a restart goes on leaving; a start with config.joining calls it off)
 * and hand every key to its replicas.  Calling it again does nothing.
 * Keep driving the node until dk_node_has_left — its store is empty and
 * peers acknowledged the leave; a node cut off from its peers waits, and
 * says so — then it may be stopped and its data discarded. */
void dk_node_leave (DkNode *node);
gboolean dk_node_has_left (const DkNode *node);
/* TRUE once the node leaves: told to, or restarted in the middle of it. */
gboolean dk_node_is_leaving (const DkNode *node);

/* Ranges, chunks and pushes of streaming still outstanding. */
guint dk_node_streams_pending (const DkNode *node);

/* The ring this node routes by now (valid until its membership changes). */
const DkRing *dk_node_ring (const DkNode *node);

#define DK_NODE_ERROR (dk_node_error_quark ())
GQuark dk_node_error_quark (void);
typedef enum
{
  DK_NODE_ERROR_CONFIG   /* an inconsistent DkNodeConfig */
} DkNodeError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkNode, dk_node_free)

G_END_DECLS

#endif /* DK_NODE_H */
