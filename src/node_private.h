/* node_private.h — what the node's files share; not for outside use.
 *
 * The node is one state machine split by concern:
 *   node.c              lifecycle, datagram verification (stamps, replays) and dispatch
 *   node_dedup.c        client requests remembered: a retry is answered, not applied again
 *   node_coordinator.c  client requests, quorums, read repair, replica reads/writes
 *   node_gossip.c       membership, heartbeats and failure detection
 *   node_reach.c        round trips and silences seen by our own requests: failover
 *                       deadlines, peers marked unreachable before gossip says so
 *   node_handoff.c      hints kept for down owners and handed back (Dynamo §4.6)
 *   node_antientropy.c  Merkle-tree comparison and repair between replicas (§4.7)
 *   node_rebalance.c    ring changes on join and leave, sweeps, the leave
 *   node_stream.c       the offer that hands keys to the replicas that should hold them
 *   node_reassembly.c   sets sent in parts are handled whole
 *   node_admin.c        admission of members: joins held, planned and committed;
 *                       an operator's leave and remove (dynkv admin)
 * Each file handles its own message types; node.c's table lists them. */
#ifndef DK_NODE_PRIVATE_H
#define DK_NODE_PRIVATE_H

#include "node.h"
#include "store.h"
#include "version.h"
#include "wire.h"

G_BEGIN_DECLS

/* The parts of one sending of a sibling set (node_send_set), as they come
 * back: a sender's acknowledgements, or a coordinator's parts of one
 * replica's answer.  Parts of another sending (another set digest or
 * part count) are not counted. */
typedef struct
{
  gboolean   started;   /* SENDING is known */
  DkWirePart sending;   /* its last part and set digest (index unused) */
  guint      received;  /* distinct parts in */
  guint32    seen[8];   /* bit i: part i is in */
} NodeParts;

/* Expect the parts of SENDING (from node_send_set) afresh. */
void node_parts_expect (NodeParts *parts, DkWirePart sending);
/* Note PART; TRUE when it is new and of the sending expected (a receiver
 * that expected none takes PART's sending). */
gboolean node_parts_note (NodeParts *parts, DkWirePart part);
/* TRUE when every part of the sending is in. */
gboolean node_parts_complete (const NodeParts *parts);

typedef enum
{
  ROLE_COORDINATOR,  /* we run the quorum */
  ROLE_PROXY         /* we forwarded to a replica and relay its answer */
} RequestRole;

typedef struct
{
  DkNode     *node;
  guint64     id;               /* hop request id, key of node->requests */
  RequestRole role;
  DkWireType  kind;             /* GET, PUT or DELETE */
  DkEndpoint  client;           /* who gets the CLIENT_REPLY */
  guint64     client_hop_id;    /* header request id of the client's datagram */
  guint64     client_id;        /* with client_request_id, the request's name (node_dedup.c) */
  guint64     client_request_id;
  GBytes     *key;
  guint       needed;           /* R or W */
  guint       n_replicas;
  DkNodeId    replicas[DK_RING_MAX_REPLICAS];
  DkNodeId    hinted_for[DK_RING_MAX_REPLICAS]; /* sloppy stand-ins: whom they cover */
  DkNodeId    uncovered[DK_RING_MAX_REPLICAS];  /* down replicas no stand-in covers */
  guint       n_uncovered;
  gboolean    asked[DK_RING_MAX_REPLICAS];   /* its READ or WRITE was sent, or served here */
  gboolean    replied[DK_RING_MAX_REPLICAS];
  gboolean    succeeded[DK_RING_MAX_REPLICAS]; /* replied OK (or NOT_FOUND) */
  GPtrArray  *replica_sets[DK_RING_MAX_REPLICAS]; /* GET: what each returned (parts so far) */
  NodeParts   replica_parts[DK_RING_MAX_REPLICAS];/* GET: parts of each answer; else acks */
  guint8      sibling_offset;   /* GET: the first sibling the client asks for */
  guint       successes;
  guint       failures;
  GPtrArray  *merged;           /* GET: reconciled set of all replies */
  DkVersion  *written;          /* PUT/DELETE: the new version */
  GPtrArray  *written_set;      /* PUT/DELETE: the reconciled set sent to replicas */
  guint64     written_digest;   /* PUT/DELETE: dk_siblings_digest of written_set */
  DkWireStatus failure_status;  /* the worst replica status seen */
  gboolean    client_answered;
  DkTimerId   timer;
  /* failover (node_reach.c): a replica silent past its deadline gets a
   * stand-in; a coordinator silent past its deadline, another one */
  gint64      sent_us[DK_RING_MAX_REPLICAS]; /* node_now the READ/WRITE left; 0: heard, or local */
  gboolean    silent[DK_RING_MAX_REPLICAS];  /* passed its deadline unheard */
  gboolean    resent[DK_RING_MAX_REPLICAS];  /* asked again after a silence */
  gboolean    late[DK_RING_MAX_REPLICAS];    /* passed a failover deadline unheard */
  DkTimerId   failover_timer;
  DkWireMessage *forward;       /* PROXY: the FORWARD, to send again elsewhere */
  DkNodeId    tried[DK_RING_MAX_REPLICAS];   /* PROXY: coordinators tried, the last one current */
  guint       n_tried;
  gint64      forwarded_us;     /* PROXY: node_now the current FORWARD left */
  gboolean    forward_resent;   /* PROXY: the current coordinator was asked again */
} Request;

/* What this node knows of one member (itself included).  Every node keeps
 * one for every member, so it is 20 bytes: the rest is shared
 * (member_table.h). */
typedef struct
{
  DkNodeId          id;
  guint32           info;          /* name, address, dc, rack, vnodes: member_table index */
  guint32           heartbeat;     /* bumped by the member at every claim and refutation */
  guint32           incarnation_low;  /* the incarnation, bumped by the member at every */
  guint16           incarnation_high; /* start: (disk incarnation << 32) | starts (< 2^48) */
  guint8            claimed;       /* DkWireMemberState the member gossips about itself */
  guint8            verdict;       /* DkWireMemberState: this node's failure-detector verdict */
} Member;

/* A hint handed off and waiting for its owner's acknowledgement of every
 * part. */
typedef struct
{
  gint64    hint_id;
  DkNodeId  owner;
  NodeParts parts;      /* acks of the sending; its digest is of the set sent:
                         * the hint is removed only if unchanged */
  gint64    sent_us;
  gboolean  probe;      /* sent while the owner was believed down */
} HintInFlight;

typedef struct _NodeReach NodeReach;
typedef struct _AeSession AeSession;
typedef struct _Handover Handover;
typedef struct _DkMerkle DkMerkle;

struct _DkNode
{
  DkNodeConfig config;
  GByteArray  *send_buffer;     /* node_send encodes here, every datagram in turn */
  guint8      *auth_key;        /* owned copy of config.auth_key */
  guint8      *client_key;      /* owned copy of config.client_key, or NULL */
  DkWireKey   *auth_signer;     /* auth_key prepared for signing and verifying, or NULL */
  DkWireKey   *client_signer;   /* client_key prepared, or NULL */
  guint8       cookie_secret[32]; /* keys the cookies of address validation (node.c) */
  gboolean     cookie_secret_drawn;
  gboolean     answering_cluster_key; /* handling a client's PING signed with the cluster
                                       * key: its PONG is signed so too (an operator's) */
  char        *address;         /* owned copy of config.address */
  DkEnv        env;
  const DkRing *ring;           /* owned (or a ring cache reference) */
  DkActor      actor;           /* the dots this node issues are ours under this id */
  guint64      dot_next;        /* the counter of the next dot */
  guint64      dot_leased;      /* counters up to this are leased in the store */
  GHashTable  *purged_keys;     /* GBytes* set: keys purged in this actor epoch */
  GHashTable  *reassembly;      /* name -> Sending*: sets arriving in parts (node_reassembly.c) */
  GQueue      *reassembly_order;/* the same Sending*s, oldest first; owns them */
  gboolean     purged_overflow; /* too many (or unrecordable): every key needs a new epoch */
  DkNodeStats  stats;
  guint64      next_request_id;
  GHashTable  *requests;        /* guint64 id -> Request*, owns them */
  gpointer     spare_requests[4];/* finished Requests kept for reuse (large: no malloc) */
  guint        n_spare_requests;

  /* requests happen once (node_dedup.c; the replay cache in node.c) */
  GHashTable  *remembered;      /* RequestName* -> Remembered*, owns them */
  GQueue       remembered_order;/* Remembered*, oldest first */
  gsize        remembered_bytes;
  struct _DkReplayCache *replays; /* keyed: signed datagrams accepted within the window */
  guint64      sign_nonce;      /* the nonce of the next datagram we sign */
  DkTimerId    collect_timer;   /* tombstone collection */
  gint64       started_us;      /* node_now at dk_node_new (NODE_STATUS uptime) */

  /* membership (node_gossip.c) */
  Member      *members;         /* ascending id; self included (allocated to fit) */
  guint        n_members;
  DkMemberTable *member_table;  /* where member infos come from (a reference) */
  guint        unhealthy;       /* members (not leaving) whose verdict is not UP */
  guint        departed;        /* other members that claimed LEAVING */
  guint32      heartbeat;
  guint64      incarnation;
  DkTimerId    gossip_timer;
  GArray      *suspects;        /* of Suspect: members we judge SUSPECT, since when */
  GArray      *news;            /* of News: member entries still to piggyback */
  GArray      *relays;          /* of Relay: probes we run for members that asked */
  DkNodeId     probe_target;    /* probed this round and not yet answered, or DK_NODE_NONE */
  DkTimerId    probe_timer;     /* then asks others to probe it */
  guint        eager_left;      /* pushes of fresh news left this round */

  GArray      *removed;         /* DkNodeId, ascending: members dropped as down by an
                                 * operator (dynkv admin remove), here or heard of */

  /* admission (node_admin.c) */
  GArray      *pending;         /* of PendingJoin: strangers' joins not admitted */
  GArray      *plan;            /* of PlannedJoin: joins planned, not committed */
  GArray      *admitted;        /* of PlannedJoin: committed, taken when the node speaks */
  GArray      *admin_relays;    /* of AdminRelay: leaves carried to their member */

  /* what our own requests tell of each peer (node_reach.c) */
  NodeReach   *reach;

  /* hinted handoff (node_handoff.c) */
  GHashTable  *hints_in_flight; /* gint64 hint id -> HintInFlight*, owns them */
  GHashTable  *handoff_windows; /* owner -> hints in flight to it (GUINT_TO_POINTER both) */
  GHashTable  *handoff_answers; /* owner -> gint64*: when it last acknowledged a hint */
  DkTimerId    handoff_timer;   /* the handoff round, while hints are held */
  gint64       handoff_due_us;  /* ... and when it comes */

  /* membership change (node_rebalance.c) */
  Handover    *handover;        /* fills, releases and the leave (node_handover.h) */
  guint        joining_rounds;  /* gossip rounds left claiming JOINING */

  /* anti-entropy (node_antientropy.c) */
  DkTimerId    ae_timer;
  guint64      ae_cursor;       /* which of our ranges comes next */
  AeSession   *ae_session;      /* the one session we run, or NULL */
  DkMerkle    *ae_cached_tree;  /* the last tree we built for a peer */
  gint64       ae_cached_us;
  GArray      *ae_ranges;       /* DkTokenRange: what we replicate on ... */
  const DkRing *ae_ranges_ring; /* ... this ring, */
  guint64      ae_ranges_epoch; /* ... at this ring epoch (node_handover.h) */
  guint64      ae_passes;       /* full passes over our ranges so far ... */
  gint64       ae_last_pass_us; /* ... the last one completed at this node_now */
};

typedef void (*NodeHandler) (DkNode *node, DkEndpoint from, DkWireMessage *message);

/* node.c: the siblings and part fields of a WRITE, HINT_HANDOFF or
 * READ_REPLY. */
void node_set_fields (DkWireMessage *message, GPtrArray ***siblings, DkWirePart **part);

/* node_reassembly.c: a set sent in parts is handled whole.  TRUE when
 * *MESSAGE is to be handled as it is; FALSE when it was taken (*MESSAGE
 * becomes NULL) to wait for its other parts, or when the set it completed
 * has been handled, each part by HANDLER with the whole set. */
void node_reassembly_init (DkNode *node);
void node_reassembly_clear (DkNode *node);
gboolean node_reassemble (DkNode *node, DkEndpoint from, DkWireMessage **message,
                          NodeHandler handler);

/* node.c */
void node_log (DkNode *node, DkLogLevel level, const char *format, ...) G_GNUC_PRINTF (3, 4);
gint64 node_now (DkNode *node);
/* Wall-clock microseconds from the environment (node_now without one). */
gint64 node_wall (DkNode *node);
/* A fresh dot of this node's actor, from the durable counter lease; FALSE
 * when the lease cannot be recorded. */
gboolean node_issue_dot (DkNode *node, DkDot *dot, GError **error);
/* Actor epochs (node.c): a key this node purged (or wrote without
 * storing) is next written under a new actor. */
void node_note_purged (DkNode *node, GBytes *key);
gboolean node_key_needs_new_epoch (const DkNode *node, GBytes *key);
gboolean node_actor_new_epoch (DkNode *node, GError **error);
guint64 node_random (DkNode *node);
/* FUNC (NODE) in INTERVAL_US ± 10% (jitter from the node's stream). */
DkTimerId node_timer_start_jittered (DkNode *node, gint64 interval_us, DkTimerFunc func);
gboolean node_send (DkNode *node, DkEndpoint to, DkWireMessage *message);
/* Send SET to TO as MESSAGE, a READ_REPLY, WRITE or HINT_HANDOFF whose
 * other fields are filled (its siblings and part are set here): whole
 * when it fits one datagram, else in parts of as many versions as fit, in
 * SET's order, all at once.  Every datagram of a key's set goes through
 * here, so no set is ever too large to send.  *SENDING (may be NULL)
 * receives the last part's index and the set's digest, as acks echo them.
 * FALSE when a part could not be sent (counted by node_send). */
gboolean node_send_set (DkNode *node, DkEndpoint to, DkWireMessage *message,
                        const GPtrArray *set, DkWirePart *sending);
/* node_send_set of a set whose digest (dk_siblings_digest) the caller
 * already has. */
gboolean node_send_set_digested (DkNode *node, DkEndpoint to, DkWireMessage *message,
                                 const GPtrArray *set, guint64 digest, DkWirePart *sending);
/* How many versions of SET, from FIRST on, MESSAGE can carry in its
 * (empty) siblings field within one datagram: at least one while any
 * remain, at most DK_SIBLINGS_HARD_MAX. */
guint node_siblings_that_fit (const DkWireMessage *message, const GPtrArray *set, guint first);

/* node_coordinator.c */
void node_request_free (gpointer request);
/* Free every request in flight and the spares (dk_node_free). */
void node_requests_clear (DkNode *node);
void node_on_client_request (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_forward (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_client_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_read (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_read_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_write (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_write_ack (DkNode *node, DkEndpoint from, DkWireMessage *message);

/* node_status.c: NODE_STATUS (dynkv status, dynkv stats) */
void node_on_node_status (DkNode *node, DkEndpoint from, DkWireMessage *message);

/* node_dedup.c: client requests remembered, so that a retry or a replay
 * is answered, not applied again (node.h) */
typedef struct _Remembered Remembered;
void node_dedup_init (DkNode *node);
void node_dedup_clear (DkNode *node);
/* FALSE when the client request (arriving from FROM in a datagram of
 * header id HOP_ID, after HOPS forwards) was seen before: it has been
 * handled here (answered from memory, joined to the request in flight,
 * or refused).  TRUE for a new request, remembered now as in flight when
 * it can be: *ENTRY is its record, for node_dedup_bind, or NULL. */
gboolean node_dedup_admit (DkNode *node, DkEndpoint from, guint64 hop_id, DkWireType kind,
                           const DkWireClientRequest *client_request, guint hops,
                           Remembered **entry);
/* ENTRY (from node_dedup_admit) is being handled by REQUEST. */
void node_dedup_bind (Remembered *entry, const Request *request);
/* REQUEST answered its client with REPLY (a CLIENT_REPLY, taken): send
 * it to the duplicates that joined, and keep it for later ones. */
void node_dedup_answered (DkNode *node, const Request *request, DkWireMessage *reply);

/* node_gossip.c */
gboolean node_membership_init (DkNode *node, GError **error);
void node_membership_clear (DkNode *node);
void node_on_gossip (DkNode *node, DkEndpoint from, DkWireMessage *message);
/* TRUE when ID is a member this node believes up (always, without gossip). */
gboolean node_peer_healthy (const DkNode *node, DkNodeId id);

/* node_gossip.c, admission (node_admin.c decides, gossip carries) */
/* Take ENTRY, a stranger's own entry an operator admitted, as if the
 * member had spoken: it becomes a member and news. */
void node_member_admit (DkNode *node, const DkWireMember *entry);
/* Drop member ID, down, from the ring: it departs as if it had left, and
 * the removal travels as its LEAVING entry judged DOWN, which members
 * take from any member (a leave only from the member itself). */
void node_member_remove (DkNode *node, DkNodeId id);
/* TRUE when ID was removed (dynkv admin remove), here or heard of. */
gboolean node_member_removed (const DkNode *node, DkNodeId id);

/* node_admin.c */
void node_admin_init (DkNode *node);
void node_admin_clear (DkNode *node);
/* ENTRY is a stranger's own entry (a join) and this node does not admit
 * automatically: TRUE when an operator admitted it (a committed join of
 * that id and address), FALSE when it is held as pending (counted). */
gboolean node_admin_admits (DkNode *node, const DkWireMember *entry);
/* ID became a member: it is no longer pending here. */
void node_admin_member_added (DkNode *node, DkNodeId id);
void node_on_admin (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_admin_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);

/* node_reach.c: round trips and silences seen by this node's requests */
void node_reach_init (DkNode *node);
void node_reach_clear (DkNode *node);
/* A reply from PEER came RTT_US after its request: a round-trip sample
 * (and PEER is heard). */
void node_reach_sample (DkNode *node, DkNodeId peer, gint64 rtt_us);
/* Something came from PEER: it is reachable; its strikes and mark go. */
void node_reach_heard (DkNode *node, DkNodeId peer);
/* How long to wait for PEER's reply before asking another node: from the
 * round trips observed (PEER's, else every peer's), within a floor and a
 * quarter of request_timeout. */
gint64 node_reach_deadline (const DkNode *node, DkNodeId peer);
/* PEER stayed silent past its deadline: a strike; TRUE when it is (now)
 * marked unreachable. */
gboolean node_reach_silent (DkNode *node, DkNodeId peer);
/* TRUE while PEER is marked unreachable here. */
gboolean node_reach_marked (DkNode *node, DkNodeId peer);
/* TRUE when requests may use ID: this node, or a peer not marked
 * unreachable here that gossip believes up (node_peer_healthy) or that
 * spoke to us directly within suspect_after. */
gboolean node_peer_usable (DkNode *node, DkNodeId id);
/* node_peer_usable as of NOW (node_now): the same answer however often
 * it is asked with the same NOW, as a ring walk needs. */
gboolean node_peer_usable_at (const DkNode *node, DkNodeId id, gint64 now);

/* node_handoff.c */
void node_handoff_init (DkNode *node);
void node_handoff_clear (DkNode *node);
/* Keep SIBLINGS for KEY on behalf of OWNER; FALSE (and counted) when the
 * store refused it.  TRUE without keeping anything when handoff is off. */
gboolean node_hint_keep (DkNode *node, DkNodeId owner, GBytes *key, const GPtrArray *siblings);
/* Send due hints to owners that are up again: fill each reachable
 * owner's window (called every handoff round and gossip round). */
void node_handoff_tick (DkNode *node);
/* OWNER was just seen reachable (its verdict turned UP): hand its hints
 * back now rather than at the next round. */
void node_handoff_owner_up (DkNode *node, DkNodeId owner);
void node_on_hint_handoff (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_hint_ack (DkNode *node, DkEndpoint from, DkWireMessage *message);

/* node_gossip.c, membership */
/* The in-ring members (claimed state not LEAVING) as DkRingNode, ascending
 * id; the strings belong to the member table. */
GArray *node_ring_members (DkNode *node);
gboolean node_member_leaving (const DkNode *node, DkNodeId id);
gboolean node_member_in_ring (const DkNode *node, DkNodeId id);
/* Change the state this node claims for itself, and gossip it. */
void node_member_claim (DkNode *node, DkWireMemberState state);

/* node_rebalance.c */
void node_rebalance_init (DkNode *node);
void node_rebalance_clear (DkNode *node);
gboolean node_ring_adopt_initial (DkNode *node, const DkRing *given, GError **error);
void node_ring_release (DkNode *node, const DkRing *ring);
/* Rebuild the ring from the member table; stream what moved. */
void node_ring_rebuild (DkNode *node);
/* A peer's gossip showed it knows of our leave. */
void node_leave_acknowledged (DkNode *node);
/* Once per gossip round while leaving: count and say what the leave waits for. */
void node_leave_tick (DkNode *node);
/* Go on leaving when the store records an unfinished leave (after a
 * restart); a joining start calls the leave off instead. */
gboolean node_leave_resume (DkNode *node, GError **error);

/* node_stream.c */
/* MESSAGE, a WRITE, was stored here (CHANGED: it changed our set): count
 * a streamed key that repaired us; send a coordinator's write that came
 * by a stale view on to the key's replicas when our ring says we are not
 * one. */
void node_stream_after_write (DkNode *node, DkEndpoint from, const DkWireMessage *message,
                              gboolean changed);
/* TRUE when MESSAGE (a WRITE_ACK) acknowledges a streamed write; taken. */
gboolean node_stream_take_ack (DkNode *node, DkEndpoint from, DkWireMessage *message);
/* TRUE when MESSAGE (an AE_KEYS_REPLY) answers a stream offer; taken. */
gboolean node_stream_take_keys_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);
/* MESSAGE is an AE_KEYS_REQUEST: when a peer's stream offers us keys its
 * ring changed, and ours is about to (no sweep until that settles). */
void node_stream_note_offer (DkNode *node, const DkWireMessage *message);

/* node_antientropy.c */
void node_antientropy_init (DkNode *node);
void node_antientropy_clear (DkNode *node);
void node_on_ae_tree_request (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_ae_tree_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_ae_keys_request (DkNode *node, DkEndpoint from, DkWireMessage *message);
void node_on_ae_keys_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);
/* TRUE when MESSAGE (a READ_REPLY) answers an anti-entropy pull; taken. */
gboolean node_ae_take_read_reply (DkNode *node, DkEndpoint from, DkWireMessage *message);

G_END_DECLS

#endif
