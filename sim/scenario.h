/* scenario.h — the scenario language: parse a .scn script into plain data.
 *
 * A scenario says what cluster to build, how the network and the clients
 * behave, which faults to inject when, how long to run, and what must hold
 * at the end (see /work/shared/SCENARIOS.md for the contract).  This module
 * only reads and checks scripts; the runner (dynsim) reads the public
 * DkScenario struct below and never re-parses text.
 *
 * The language, one statement per line, `#` starting a comment anywhere:
 *
 *   seed N
 *   cluster nodes=K vnodes=V n=N r=R w=W [dcs=D] [racks=R]
 *           [ring=random|partitions] [partitions=Q]
 *   option KEY=VALUE ...              (any number of option lines)
 *   network [latency=DIST] [loss=P] [dup=P]
 *   link nA nB [latency=DIST] [loss=P] [dup=P]    one pair of nodes, both ways
 *   dc dcA dcB [latency=DIST] [loss=P] [dup=P]    a pair of datacenters (dcA may
 *                                                 equal dcB: traffic inside one DC)
 *   workload [clients=C] [rate=X/s] [keys=K] [dist=uniform|zipf(S)|hotspot(F,P)]
 *            [reads=F] [value=BYTES] [context=on|off]
 *   at T EVENT
 *   run DURATION [settle DURATION]
 *   nemesis [every=DURATION] [duration=DURATION] [kinds=KIND,...]
 *           [from=T] [until=T]        random faults drawn from the seed
 *   expect METRIC OP NUMBER           OP: == != < <= > >=
 *   sweep KEY=A..B|KEY=V1,V2,... ...  (integer range or list; several keys and
 *                                      several sweep lines form a product)
 *
 * `cluster` and `run` are required; seed, cluster, network, workload,
 * run and nemesis may each appear once; statements may come in any order (an event may
 * name a node of a cluster declared further down: names are checked once
 * the whole file is read).  Every `KEY=VALUE` of cluster, option, network
 * and workload, plus seed, run and settle, is a *setting*: one registry in
 * scenario_settings.c gives each its section, type, default and help, and
 * dk_scenario_set changes any of them by name (--set, sweeps).
 *
 * Value syntax: durations `250us 10ms 1.5s 2m`; rates `2000/s` (decimals
 * allowed); probabilities and fractions are plain numbers in [0,1]; bytes
 * are a whole number with an optional binary suffix k, m or g (`64k` =
 * 65536; `b`/`kb`/`mb` accepted too); booleans are `on` or `off`;
 * distributions as in dist.h.
 *
 * Defaults (what an omitted setting means):
 *   seed=1
 *   cluster: nodes=5 vnodes=64 n=3 r=2 w=2 dcs=1 racks=1 ring=random
 *            partitions=256 (only used with ring=partitions)
 *   option:  sloppy_quorum=on hinted_handoff=on read_repair=on read_all=on failover=on
 *            anti_entropy=30s gossip=1s request_timeout=500ms
 *            coordinator=preference suspect_after=5s hint_limit=10000
 *            vclock_prune=10 versioning=dvv clock_skew=const(0ms)
 *            inject_bug=none tombstone_grace=60s cache=4m
 *            compress_above=1k
 *            autoscale=off autoscale_target=250/s autoscale_min=3 autoscale_max=16
 *            autoscale_cooldown=10s
 *   network: latency=exp(1ms) loss=0 dup=0
 *   workload: clients=10 rate=1000/s keys=1000 dist=uniform reads=0.5 deletes=0 value=256
 *             context=on
 *   run: no default (required); settle=0s
 *
 * Nodes are named n1..nK and spread round-robin over datacenters dc1..dcD
 * (node i is in dc ((i-1) mod D)+1) and, within each datacenter,
 * round-robin over racks.  A `join nJ` event may name a node beyond K
 * (up to n10000): it joins a new node, placed by the same rule; from the
 * time of that join the node may be named by later events.  A `link` may
 * name any node the scenario ever has.
 *
 * Events (`at T EVENT`, T a duration from the start, at most the run
 * duration; kept sorted by time, in file order for equal times):
 *   partition {A B} {C D E} ...  symmetric split into two or more groups;
 *                                 a member is a node (n3) or a whole
 *                                 datacenter (dc2); groups must not overlap
 *   drop A -> B                   one-way loss of everything from A to B
 *                                 (each side a node or a datacenter)
 *   heal                          removes every partition and drop
 *   crash X, restart X, wipe X    X a node or a datacenter (all its nodes);
 *                                 wipe loses the disk
 *   join NODE, leave NODE         membership change of one node
 *   latency DIST, loss P, dup P   change the network-wide defaults
 *   rate X/s                      change the workload's rate
 * Group members are kept as written (node or datacenter, with its number);
 * dk_scenario_group_nodes expands a group to node ids.
 *
 * The nemesis (one line at most) lets the seed draw faults instead of the
 * script naming them: at each tick from, from+every, ... before until it
 * picks one of KINDS that can happen then and injects it for a time drawn
 * uniformly in [duration/2, duration] (cut short at until), then undoes it.
 * Kinds: partition (the nodes split in two random non-empty sides, or a
 * random minority cut off; then heal), crash (an up node, never more than
 * (nodes-1)/2 down at once; then restart), wipe (an up node loses its disk
 * and restarts empty at once), loss (a burst of loss in [0.05,0.3]; then
 * the network's loss again), drop (one-way, between two random nodes; then
 * heal), latency (the network latency scaled x5..x20; then back).  One
 * fault of each network kind at a time: partition and drop share a slot,
 * loss and latency have one each; crashes overlap up to the bound.
 * Defaults: every=5s duration=3s kinds=partition,crash,loss from=0s
 * until=the end of the run.  The faults are plain events (sim/nemesis.h)
 * drawn from the seed's own stream, and keep no account of scripted ones.
 *
 * Errors: every problem in a script is reported as a GError in
 * DK_SCENARIO_ERROR whose message starts with "FILE:LINE: " and names
 * what was expected and what was found; a missing statement is reported
 * at the last line of the file.
 *
 * No global or static mutable state: scenarios are independent values.
 */
#ifndef DK_SCENARIO_H
#define DK_SCENARIO_H

#include <glib.h>
#include "types.h"
#include "dist.h"
#include "version.h"

G_BEGIN_DECLS

#define DK_SCENARIO_ERROR (dk_scenario_error_quark ())
GQuark dk_scenario_error_quark (void);

typedef enum
{
  DK_SCENARIO_ERROR_IO,       /* the script file could not be read */
  DK_SCENARIO_ERROR_SYNTAX,   /* a statement or value is malformed */
  DK_SCENARIO_ERROR_INVALID   /* well formed but inconsistent (r > n, unknown node, ...) */
} DkScenarioError;

/* ---- the parts of a scenario -------------------------------------------- */

typedef enum
{
  DK_SCENARIO_RING_RANDOM,      /* each node takes vnodes random tokens (Dynamo strategy 1) */
  DK_SCENARIO_RING_PARTITIONS   /* Q equal partitions dealt to nodes (Dynamo strategy 3) */
} DkScenarioRing;

typedef enum
{
  DK_SCENARIO_COORDINATOR_PREFERENCE, /* a random reachable node of the key's preference list */
  DK_SCENARIO_COORDINATOR_FIRST,      /* the first reachable node of the key's preference list */
  DK_SCENARIO_COORDINATOR_ANY,        /* a random reachable node */
  DK_SCENARIO_COORDINATOR_REPLICA,    /* the old name of first */
  DK_SCENARIO_COORDINATOR_PROXY       /* a random reachable node that is not a replica of the
                                       * key, which coordinates (the PBS paper's WARS model) */
} DkScenarioCoordinator;

typedef struct
{
  guint nodes;             /* K: initial nodes n1..nK */
  guint vnodes;            /* virtual nodes (tokens) per node */
  guint n, r, w;           /* replicas, read quorum, write quorum */
  guint dcs;               /* datacenters dc1..dcD */
  guint racks;             /* racks per datacenter */
  DkScenarioRing ring;
  guint partitions;        /* Q, with ring=partitions */
} DkClusterSpec;

typedef struct
{
  gboolean sloppy_quorum;       /* first N healthy nodes instead of the first N */
  gboolean hinted_handoff;      /* stand-ins keep hints and hand them back */
  gboolean read_repair;         /* a read fixes the stale replicas it saw */
  gboolean read_all;            /* a get asks all N replicas (off: R, then more as needed) */
  gboolean failover;            /* per-request failover: silent replicas asked again, stand-ins */
  gint64 anti_entropy_us;       /* Merkle exchange interval; 0 = off */
  gint64 gossip_us;             /* gossip round interval */
  gint64 request_timeout_us;    /* a coordinator gives up waiting after this */
  DkScenarioCoordinator coordinator;
  gint64 suspect_after_us;      /* a suspected peer that does not refute it this long is down */
  guint hint_limit;             /* hints kept per node, at most */
  guint vclock_prune;           /* prune vector clocks past this many entries */
  DkVersioning versioning;      /* dvv (index 0) or vv (1): version.h */
  guint inject_bug;             /* a DkNodeBug (node.h), in that order; 0: none */
  DkDist clock_skew;            /* each node's wall clock is off by a draw of this, +/- */
  gint64 tombstone_grace_us;    /* tombstones are purged after this */
  guint64 cache_bytes;          /* per-node in-memory cache of hot keys; 0 = none */
  guint64 compress_above_bytes; /* values larger than this are compressed */
  gboolean autoscale;           /* traffic-driven joins and leaves */
  double autoscale_target_per_s;/* client operations per second one node should carry */
  guint autoscale_min;          /* bounds on the number of members */
  guint autoscale_max;
  gint64 autoscale_cooldown_us; /* measurement window and minimum time between changes */
} DkOptionsSpec;

typedef struct
{
  gboolean between_dcs;  /* FALSE: `link nA nB`; TRUE: `dc dcA dcB` */
  guint a, b;            /* node ids, or datacenter numbers */
  gboolean has_latency, has_loss, has_dup;   /* which fields override */
  gboolean has_extra;
  gint64 extra_us;       /* extra=: added to the delay, whatever it is */
  DkDist latency;
  double loss, dup;
  guint line;
} DkLinkSpec;

typedef struct
{
  DkDist latency;     /* per-message delay, each message its own draw */
  DkDistOverride legs[DK_LEG_COUNT]; /* per kind of message; unset: latency */
  double loss;        /* probability a message is lost */
  double dup;         /* probability a message is delivered twice */
  GPtrArray *links;   /* DkLinkSpec*, in file order (a later one wins) */
} DkNetworkSpec;

typedef struct
{
  guint clients;          /* open-loop clients, round-robin beside nodes */
  double rate_per_s;      /* operations per second, all clients together */
  guint keys;             /* distinct keys */
  DkKeyDistSpec dist;     /* which keys are touched */
  double reads;           /* fraction of operations that are gets */
  double deletes;         /* fraction of operations that are deletes (of the rest) */
  guint64 value_bytes;    /* size of each put's value */
  gboolean use_context;   /* writes are read-modify-writes (get, then put with its context) */
} DkWorkloadSpec;

/* One member of an event's group: a node or a whole datacenter. */
typedef struct
{
  gboolean is_dc;
  guint number;           /* node id (n3 -> 3) or datacenter number (dc2 -> 2) */
} DkGroupMember;

typedef GArray DkGroup;   /* of DkGroupMember, as written */

typedef enum
{
  DK_EVENT_PARTITION,  /* groups: two or more */
  DK_EVENT_DROP,       /* groups: [from, to], one member each */
  DK_EVENT_HEAL,
  DK_EVENT_CRASH,      /* groups: [target], one member */
  DK_EVENT_RESTART,
  DK_EVENT_WIPE,
  DK_EVENT_JOIN,       /* groups: [node], one node member */
  DK_EVENT_LEAVE,
  DK_EVENT_LATENCY,    /* latency */
  DK_EVENT_LOSS,       /* probability */
  DK_EVENT_DUP,        /* probability */
  DK_EVENT_RATE        /* rate_per_s */
} DkEventKind;

typedef struct
{
  DkEventKind kind;
  gint64 at_us;
  guint line;
  GPtrArray *groups;   /* DkGroup*; empty for events without targets */
  DkDist latency;
  double probability;
  double rate_per_s;
} DkEvent;

/* What a nemesis may inject; see the language above. */
typedef enum
{
  DK_NEMESIS_PARTITION,
  DK_NEMESIS_CRASH,
  DK_NEMESIS_WIPE,
  DK_NEMESIS_LOSS,
  DK_NEMESIS_DROP,
  DK_NEMESIS_LATENCY,
  DK_NEMESIS_RECRASH,     /* crash, restart, and crash again before repairs finish */
  DK_NEMESIS_N_KINDS
} DkNemesisKind;

#define DK_NEMESIS_KIND_BIT(kind) (1u << (kind))

/* The `nemesis` line, plain data (no owned pointers). */
typedef struct
{
  gboolean enabled;       /* a nemesis line was given */
  gint64 every_us;        /* a fault is drawn at each tick of this period */
  gint64 duration_us;     /* each lasts uniformly in [duration/2, duration] */
  guint kinds;            /* DK_NEMESIS_KIND_BIT of each kind allowed */
  gint64 from_us;         /* the first tick */
  gint64 until_us;        /* faults start before and end by this; 0 = the end of the run */
  guint line;             /* the nemesis line: every planned event carries it */
} DkNemesisSpec;

typedef enum
{
  DK_COMPARE_EQ, DK_COMPARE_NE, DK_COMPARE_LT,
  DK_COMPARE_LE, DK_COMPARE_GT, DK_COMPARE_GE
} DkCompareOp;

typedef struct
{
  char *metric;        /* one of dk_scenario_metric_names () */
  DkCompareOp op;
  double value;
  guint line;
} DkExpect;

typedef struct
{
  char *key;           /* a setting name */
  GStrv values;        /* as dk_scenario_set accepts them, in order */
  guint line;          /* 0 for a sweep added from the command line */
} DkSweep;

/* One `key=value` pair: a setting applied by a sweep, or one line of the
 * effective parameters. */
typedef struct
{
  char *key;
  char *value;
} DkSetting;

/* A whole scenario.  Public plain data: the runner reads the fields;
 * change them only through dk_scenario_set so the checks stay true. */
typedef struct
{
  char *name;                 /* file name used in messages */
  guint64 seed;
  DkClusterSpec cluster;
  DkOptionsSpec options;
  DkNetworkSpec network;
  DkWorkloadSpec workload;
  gint64 run_us;              /* how long the workload and faults run */
  gint64 settle_us;           /* quiet time after, before the final checks */
  GPtrArray *events;          /* DkEvent*, sorted by at_us, stable */
  GPtrArray *expects;         /* DkExpect*, in file order */
  GPtrArray *sweeps;          /* DkSweep*, in file order (one key each) */
  DkNemesisSpec nemesis;      /* random faults; .enabled FALSE without a nemesis line */

  /* Where things were declared, for messages; 0 = not in the file. */
  guint seed_line, cluster_line, network_line, workload_line, run_line;
  guint last_line;            /* the number of lines of the script */
} DkScenario;

/* ---- parsing and checking ---------------------------------------------- */

/* Parse TEXT; NAME (e.g. the file name) prefixes every message.  The
 * result has been through dk_scenario_validate.  Free with dk_scenario_free. */
DkScenario *dk_scenario_parse (const char *text, const char *name, GError **error);

/* Read and parse the file at PATH, which names it in messages. */
DkScenario *dk_scenario_load (const char *path, GError **error);

/* Check everything that relates parts of a scenario to each other: both
 * `cluster` and `run` given; 1 <= r, w <= n <= nodes; dcs <= nodes;
 * nodes and datacenters named by links and events exist when they act;
 * join/leave keep membership consistent; partition groups are disjoint;
 * events happen at or before the end of the run; every combination of the
 * sweeps (at most DK_SCENARIO_MAX_SWEEP_RUNS) is itself valid.  Run it
 * after parsing (done for you) and after applying overrides. */
gboolean dk_scenario_validate (const DkScenario *scenario, GError **error);

/* Set the setting KEY (a cluster, option, network or workload key, or
 * seed, run, settle) to VALUE, written as in a script.  Checks VALUE alone
 * (type and range); relations between settings are dk_scenario_validate's
 * job, to be run once all overrides are in.  On failure the scenario is
 * unchanged and ERROR reads "KEY=VALUE: expected ..., got ..." (callers
 * prefix "--set " or "FILE:LINE: "). */
gboolean dk_scenario_set (DkScenario *scenario, const char *key, const char *value,
                          GError **error);

/* Add a sweep given as on the command line ("r=1..3" or "dist=uniform,zipf(1)");
 * it is appended after the script's sweeps.  Checks syntax and each value;
 * a key already swept is an error. */
gboolean dk_scenario_add_sweep (DkScenario *scenario, const char *spec, GError **error);

#define DK_SCENARIO_MAX_SWEEP_RUNS 10000

/* ---- using a scenario -------------------------------------------------- */

/* A deep copy. */
DkScenario *dk_scenario_copy (const DkScenario *scenario);
void dk_scenario_free (DkScenario *scenario);

/* The cartesian product of the sweeps: a GPtrArray (owning its elements)
 * of GPtrArray of DkSetting*, one per run, in the order of nested loops
 * over the sweeps as declared (the first sweep varies slowest).  With no
 * sweep it holds one empty combination. */
GPtrArray *dk_scenario_sweep_combinations (const DkScenario *scenario);

/* A copy of SCENARIO with one COMBINATION (an element of the above)
 * applied and validated; the copy has no sweeps of its own.  NULL and
 * ERROR if the combination makes the scenario inconsistent. */
DkScenario *dk_scenario_with_combination (const DkScenario *scenario,
                                          const GPtrArray *combination,
                                          GError **error);

/* The effective value of every setting, as DkSetting*, in the registry's
 * fixed order (seed, cluster, options, network, workload, run, settle);
 * each value reads back through dk_scenario_set unchanged.  Link
 * overrides, events, expects and sweeps are not settings and not listed. */
GPtrArray *dk_scenario_parameters (const DkScenario *scenario);

/* The parameters as one JSON object, typed: numbers as numbers with the
 * unit in the name ("gossip_ms": 1000, "value_bytes": 256, "rate_per_s":
 * 2000), switches as true/false, a duration that is off as null,
 * distributions and choices as their text ("latency": "exp(1ms)"). */
void dk_scenario_parameters_to_json (const DkScenario *scenario, GString *out);

/* The delay a run gives messages of kind LEG: the scenario's own, or
 * under coordinator=proxy (the PBS model) no time for the client's legs
 * the scenario leaves to `latency`; unset: the latency model's. */
DkDistOverride dk_scenario_leg (const DkScenario *scenario, DkLeg leg);

/* The parameters as one line "seed=42 nodes=5 ...", for run headers;
 * with a nemesis, its line follows after "; ". */
char *dk_scenario_describe (const DkScenario *scenario);

/* A help text listing every setting with its section, default and meaning. */
char *dk_scenario_settings_help (void);

/* The metric names an `expect` may use, NULL-terminated, in a fixed order. */
const char *const *dk_scenario_metric_names (void);

/* "<=" etc. for OP, and whether ACTUAL OP EXPECTED holds. */
const char *dk_compare_op_to_string (DkCompareOp op);
gboolean dk_expect_holds (const DkExpect *expect, double actual);

/* A new event of KIND at AT_US from LINE with no groups yet (add DkGroup*
 * to ->groups; they are freed with it).  Free with dk_event_free. */
DkEvent *dk_event_new (DkEventKind kind, gint64 at_us, guint line);
void dk_event_free (DkEvent *event);

/* The event's name as written in scripts ("partition", "crash", ...). */
const char *dk_event_kind_name (DkEventKind kind);

/* "partition", "crash", ... for KIND, as written after kinds=. */
const char *dk_nemesis_kind_name (DkNemesisKind kind);

/* The nemesis line for SPEC, every option written out ("nemesis every=5s
 * duration=3s kinds=partition,crash,loss from=0s", plus until= when set);
 * parsing it gives SPEC back.  Free with g_free. */
char *dk_nemesis_spec_to_string (const DkNemesisSpec *spec);

/* The time the nemesis stops at: until_us, or the end of the run. */
gint64 dk_scenario_nemesis_until_us (const DkScenario *scenario);

/* The highest node id the scenario ever uses: nodes, or more when events
 * join new nodes. */
guint dk_scenario_max_node (const DkScenario *scenario);

/* The bytes a run of SCENARIO is estimated to need at its peak (mostly
 * nodes x members: every node has a view of every member).  Validation
 * refuses a scenario whose estimate exceeds the machine's memory (or
 * DYNSIM_MEMORY_MB). */
guint64 dk_scenario_memory_estimate (const DkScenario *scenario);

/* The datacenter (1..dcs) and rack (1..racks) of NODE (>= 1). */
guint dk_scenario_node_dc (const DkScenario *scenario, DkNodeId node);
guint dk_scenario_node_rack (const DkScenario *scenario, DkNodeId node);

/* The node ids GROUP stands for, ascending, without repeats; a datacenter
 * member expands to every node up to dk_scenario_max_node in it.
 * Free with g_array_unref. */
GArray *dk_scenario_group_nodes (const DkScenario *scenario, const DkGroup *group);

void dk_setting_free (DkSetting *setting);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkScenario, dk_scenario_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkSetting, dk_setting_free)

G_END_DECLS

#endif /* DK_SCENARIO_H */
