/* store.h — one node's durable storage: keys, sibling sets and hints on SQLite.
 *
 * Each node owns one DkStore: an SQLite database in a file (WAL mode) or,
 * in simulation, a file or ":memory:".  It maps a key to its reconciled
 * sibling set (version.h): a put reconciles the incoming versions against
 * what is stored with dk_siblings_add and writes the result; a delete is a
 * put of a tombstone, and keys whose every sibling is a tombstone are
 * collected once they are older than a grace period.
 *
 * Every row also keeps the key's ring token (dk_hash64 of the key) and the
 * digest of its sibling set (dk_siblings_digest), both kept current on each
 * write, so anti-entropy can walk a token range in token order and hash it
 * without decoding a single value.
 *
 * Hints (Dynamo §4.6, hinted handoff) live in a second table: a version a
 * node accepted on behalf of an owner that was down, kept until handed
 * back.  Hints are bounded by count and bytes, in total and per owner;
 * past a bound a hint is refused with DK_STORE_ERROR_HINTS_FULL.
 *
 * Reads are served from a hot-key cache (LRU by bytes, budget in the
 * options) holding decoded sets; writes go through it.  Values longer than
 * a threshold are deflated with zlib when that makes them shorter.
 *
 * The store never reads a clock or a random source: the functions that
 * need the time take NOW_US.  It keeps no global state, so a process can
 * hold thousands of stores.  A store is used from one thread at a time.
 *
 * On-disk format (schema version DK_STORE_SCHEMA_VERSION, kept in PRAGMA
 * user_version; PRAGMA application_id is DK_STORE_APPLICATION_ID):
 *
 *   kv (token, key) PRIMARY KEY, WITHOUT ROWID — token is dk_hash64(key)
 *      with its top bit flipped and read as a signed 64-bit integer, so
 *      SQLite's signed order is the ring's unsigned order; digest (the
 *      set's digest as a signed integer), siblings (BLOB, below),
 *      tombstoned_us (NULL while some sibling is live; when every sibling
 *      is a tombstone, NOW_US of the last write that changed the set),
 *      saved_bytes (what compression saved in this row).  A partial index
 *      on tombstoned_us covers only all-tombstone rows, for collection.
 *   meta   name -> integer: the node's own bookkeeping (dk_store_meta_*).
 *   hints  id (never reused), owner, key, siblings, created_us, bytes;
 *      unique (owner, key): a second hint for the same owner and key is
 *      merged into the first (it keeps its id and creation time).
 *
 *   The siblings BLOB: u8 format (2), u8 count, then per version
 *      u8 flags (bit 0 tombstone, bit 1 value deflated),
 *      the dot and context as dk_version_header_encode_to writes them,
 *      u32 stored length, [u32 original length if deflated], stored bytes.
 *   All integers big-endian.  A blob that fails to decode is reported as
 *   DK_STORE_ERROR_CORRUPT naming the path and key.
 *
 * Durability: in WAL mode, DK_STORE_SYNC_NORMAL makes each commit survive
 * a crash of the process (every returned write is on disk in the WAL) but
 * the last commits may roll back after a power loss or OS crash;
 * DK_STORE_SYNC_FULL also fsyncs the WAL on each commit, so they survive
 * power loss too, at the price of one fsync per transaction (batch writes
 * with dk_store_begin/dk_store_commit to amortise it).
 */
#ifndef DK_STORE_H
#define DK_STORE_H

#include <glib.h>
#include "types.h"
#include "version.h"

G_BEGIN_DECLS

#define DK_STORE_SCHEMA_VERSION 2
#define DK_STORE_APPLICATION_ID 0x646b7631 /* "dkv1" */

typedef enum
{
  DK_STORE_SYNC_NORMAL, /* survives a process crash; may lose the last commits on power loss */
  DK_STORE_SYNC_FULL    /* fsync on every commit: survives power loss */
} DkStoreSync;

typedef struct
{
  DkStoreSync sync;               /* durability of a commit (see above) */
  gsize  cache_bytes;             /* hot-key cache budget in bytes; 0 disables it */
  gsize  compress_threshold_bytes;/* values longer than this are deflated (when it helps) */
  gint64 tombstone_grace_us;      /* all-tombstone keys older than this are collectable */
  guint  hints_max_count;         /* hints held in total */
  gsize  hints_max_bytes;         /* bytes of hints (key + encoded set) in total */
  guint  hints_max_count_per_owner;
  gsize  hints_max_bytes_per_owner;
  /* Writes committed together outside a batch: 0 or 1 commits every write
   * when it returns (the default, and what the daemon uses); K > 1 keeps
   * one transaction open across K writes, committed by the K-th, by
   * dk_store_flush, dk_store_begin or dk_store_close.  Only for a store
   * whose process outlives every crash it models: the simulator's nodes
   * live in one process with their in-memory stores, a simulated crash
   * flushes (so the store holds exactly what per-write commits would), and
   * readers share the connection, so they see every write at once. */
  guint  writes_per_commit;
  /* Keep the kv table (keys and sibling sets) in this process's memory
   * instead of SQLite: only for a ":memory:" store, whose rows die with it
   * anyway (the simulator's nodes).  The same rows, order, scans and
   * totals; a write or a scan costs a fraction of SQLite's, and the
   * store no memory pages.  Hints and metadata stay in SQLite.  Such a
   * store refuses batches (dk_store_begin): its kv writes cannot be rolled
   * back; they never fail for lack of space or I/O, and fail_at_call
   * never applies to them. */
  gboolean kv_in_memory;
  /* Test hook, SQLite style: when non-zero, the fail_at_call-th SQLite call
   * the store makes (prepare, step or exec, counted from open) reports
   * SQLITE_IOERR without running.  One-shot; 0 in production. */
  guint  fail_at_call;
} DkStoreOptions;

/* Fill OPTIONS with the defaults: SYNC_NORMAL, an 8 MiB cache, threshold
 * 1024 bytes, a 24 h grace, 100000 hints / 64 MiB (25000 / 16 MiB per owner). */
void dk_store_options_init (DkStoreOptions *options);

typedef struct
{
  guint64 keys;                    /* rows in the kv table, tombstoned keys included */
  guint64 stored_bytes;            /* keys + encoded sibling sets, as stored */
  guint64 compression_saved_bytes; /* what deflating values saved in those */
  guint64 cache_hits;              /* lookups (get and put) served by the cache */
  guint64 cache_misses;            /* lookups that went to SQLite */
  guint64 cache_bytes;             /* accounted bytes held by the cache now */
  guint64 cache_entries;
  guint64 hints;                   /* hints held */
  guint64 hint_bytes;
  guint64 hints_refused;           /* hints refused as over a bound, since open */
  guint64 tombstones_collected;    /* keys removed by collection, since open */
  guint64 dot_collisions;          /* one dot met with two payloads (version.h), since open */
} DkStoreStats;

typedef struct _DkStore DkStore;

/* Open (creating when absent) the store at PATH — a file, or ":memory:".
 * OPTIONS may be NULL for the defaults; it is copied.  An existing file
 * that is not an SQLite database, or is corrupted, is refused with
 * DK_STORE_ERROR_CORRUPT; an SQLite database that is not a dynkv store of
 * this schema version with DK_STORE_ERROR_FOREIGN; both name PATH. */
DkStore *dk_store_open (const char *path, const DkStoreOptions *options, GError **error);

/* A new in-memory store with MODEL's options whose empty schema is copied
 * from MODEL, an in-memory store never written to, page by page (SQLite's
 * backup), instead of being created by running the schema's SQL: a
 * simulator opening a store per node pays the CREATE statements once.
 * The result is the store dk_store_open (":memory:", options) gives. */
DkStore *dk_store_open_like (const DkStore *model, GError **error);

/* For a process that uses SQLite from one thread only (the simulator):
 * SQLite then takes no mutex at all and keeps no memory statistics, which
 * were a sixth of each write's instructions.  Call before anything in the
 * process uses SQLite; FALSE (and nothing changes) when that is too late. */
gboolean dk_store_use_from_one_thread (void);

/* For a process whose threads each use stores of their own, never one
 * store from two threads (dynsim --jobs): no mutex on a connection, SQLite's
 * own shared state still guarded, no memory statistics.  Same rules. */
gboolean dk_store_use_one_store_per_thread (void);

/* Close the store (an open batch is rolled back, grouped writes are
 * committed).  NULL is ignored. */
void dk_store_close (DkStore *store);

const char *dk_store_path (const DkStore *store);

/* An explicit transaction around many writes (the node uses one per
 * event): writes between begin and commit are committed together, or not
 * at all.  Batches do not nest.  When commit fails, the batch is rolled
 * back and every write in it is lost (the error says so). */
gboolean dk_store_begin (DkStore *store, GError **error);
gboolean dk_store_commit (DkStore *store, GError **error);
void dk_store_rollback (DkStore *store);

/* Commit the writes grouped so far (options.writes_per_commit > 1); a
 * no-op otherwise.  When the commit fails the group is rolled back and
 * its writes are lost (the error says so). */
gboolean dk_store_flush (DkStore *store, GError **error);

/* Deferred commits, for an environment that holds back every message a
 * run of events sends until their writes are durable (udp_env.c: one
 * transaction per receive batch instead of one per write).  Between
 * dk_store_defer_begin and dk_store_defer_end, every write outside a batch
 * joins one open transaction, whatever writes_per_commit says; reads on
 * this store see those writes at once.  dk_store_defer_end commits it and
 * returns TRUE only when every write made since dk_store_defer_begin is
 * committed: FALSE (with an error) when the commit failed, or when an
 * earlier failure rolled some of them back.  On FALSE the caller must
 * treat every write since dk_store_defer_begin as lost (never acknowledge
 * one).  A dk_store_begin or a write needing a transaction of its own may
 * commit the deferred writes earlier, which is always safe.  Not nested. */
void dk_store_defer_begin (DkStore *store);
gboolean dk_store_defer_end (DkStore *store, GError **error);

/* Called after each commit of a file store with the length of its
 * write-ahead log in pages, on the thread that committed. */
typedef void (*DkStoreLogWatch) (gpointer data, guint log_pages);

/* Take over checkpointing: with FUNC set, STORE never checkpoints its log
 * inside a commit (SQLite's default, past 1000 pages: that commit then
 * copies the log into the database and syncs both, a stall of
 * milliseconds); FUNC (DATA) hears the log's length after each commit and
 * should have dk_store_checkpoint run on another connection to the same
 * file (src/net/checkpointer.c does it on a thread).  NULL gives the
 * checkpoints back to SQLite.  Durability is unchanged: a commit is as
 * durable as the sync setting says once it is in the log. */
void dk_store_watch_log (DkStore *store, DkStoreLogWatch func, gpointer data);

/* Copy into the database every log frame no reader of it needs (SQLite's
 * PASSIVE checkpoint): never waits for a writer or a reader, and once
 * every frame is copied the writer starts the log over.  FALSE with an
 * error when SQLite fails (a busy log is not a failure: it is tried on
 * the next call).  Meant for a second store on the same file, used by
 * its own thread, while the first one writes. */
gboolean dk_store_checkpoint (DkStore *store, GError **error);

/* Reconcile the versions in INCOMING (a GPtrArray of DkVersion*, not
 * modified; copies are stored) with the set stored under KEY and store the
 * result; *CHANGED (may be NULL) tells whether the stored set changed.  The
 * key must be 1..DK_KEY_MAX_BYTES, each value at most DK_VALUE_MAX_BYTES,
 * tombstones empty, the result at most DK_SIBLINGS_HARD_MAX versions:
 * otherwise DK_STORE_ERROR_TOO_LARGE / _INVALID naming the limit, and
 * nothing is stored.  This is a merge, as internal replication needs it:
 * it is never refused for holding more than DK_SIBLINGS_MAX siblings (the
 * client's limit, which a coordinator applies before it stores a client's
 * write: types.h).  Outside a batch the write is committed when this
 * returns TRUE. */
gboolean dk_store_put (DkStore *store, GBytes *key, const GPtrArray *incoming,
                       gint64 now_us, gboolean *changed, GError **error);

/* The reconciled set stored under KEY (a new dk_siblings_new array, the
 * caller's to free; empty when the key is absent), or NULL with an error
 * (DK_STORE_ERROR_CORRUPT when the row does not decode). */
GPtrArray *dk_store_get (DkStore *store, GBytes *key, GError **error);

/* dk_store_get that also gives *DIGEST, the set's dk_siblings_digest:
 * the one kept with the row when the store holds its rows in memory
 * (kv_in_memory), else computed. */
GPtrArray *dk_store_get_digested (DkStore *store, GBytes *key, guint64 *digest,
                                  GError **error);

/* dk_store_get_digested for a caller that only reads the set before the
 * store next changes: when the store holds its rows in memory the row's
 * own set is lent (*LENT TRUE: not to be modified or freed), else a new
 * array is the caller's to free (*LENT FALSE).  Absent keys give an
 * empty new array; NULL with an error as dk_store_get. */
GPtrArray *dk_store_read (DkStore *store, GBytes *key, guint64 *digest, gboolean *lent,
                          GError **error);

/* Free every kv row of a store that keeps them in memory (kv_in_memory),
 * which is then empty; nothing else of it changes (hints, metadata,
 * counters).  For the simulator, once a finished run's stores are read:
 * their rows are freed on the thread that read them, and closing them
 * later is quick.  Does nothing to a store whose rows are in SQLite. */
void dk_store_discard_memory_rows (DkStore *store);

/* Remove KEY and its whole set outright (not a tombstone): for a key
 * handed off to its new owner.  Removing an absent key succeeds. */
gboolean dk_store_purge (DkStore *store, GBytes *key, GError **error);

/* Remove every key whose siblings are all tombstones and whose set last
 * changed more than tombstone_grace_us before NOW_US.  *COLLECTED (may be
 * NULL) receives how many keys went. */
gboolean dk_store_collect_tombstones (DkStore *store, gint64 now_us,
                                      guint *collected, GError **error);

/* Called for each key of a scan; return FALSE to stop the scan early.
 * The callback may read the store (dk_store_get) but must not write it. */
typedef gboolean (*DkStoreScanFunc) (DkToken token, GBytes *key, guint64 digest,
                                     gpointer user_data);

/* Call FUNC for every key whose token lies in the ring range (LO, HI], in
 * ring order starting just after LO: ascending token, then key bytes.  A
 * range with LO >= HI wraps past the top of the ring; LO == HI is the
 * whole ring (so dk_store_scan (s, 0, 0, ...) visits every key). */
gboolean dk_store_scan (DkStore *store, DkToken lo, DkToken hi,
                        DkStoreScanFunc func, gpointer user_data, GError **error);

/* Called for each key of dk_store_scan_sets with its token, its digest and
 * its reconciled set, borrowed: valid during the call only, not to be
 * modified.  Return FALSE to stop the scan early; must not write the store. */
typedef gboolean (*DkStoreSetScanFunc) (DkToken token, GBytes *key, guint64 digest,
                                        const GPtrArray *siblings, gpointer user_data);

/* dk_store_scan that also hands FUNC each key's set, read in the same
 * pass (from the hot-key cache when it holds the key, leaving its recency
 * and counters alone; else decoded from the row), so visiting every set
 * costs one walk instead of a lookup per key.  A row that does not decode
 * stops the scan with DK_STORE_ERROR_CORRUPT naming the path and key. */
gboolean dk_store_scan_sets (DkStore *store, DkToken lo, DkToken hi,
                             DkStoreSetScanFunc func, gpointer user_data, GError **error);

/* The combined hash of the range (LO, HI]: a fold, in scan order, of each
 * key's token and digest (dk_hash64_seeded of the 16 big-endian bytes,
 * seeded with the running hash, starting at 0); 0 for an empty range.
 * *N_KEYS (may be NULL) receives the number of keys. */
gboolean dk_store_range_digest (DkStore *store, DkToken lo, DkToken hi,
                                guint64 *digest, guint64 *n_keys, GError **error);

/* Number of keys held (tombstoned ones included). */
gboolean dk_store_count_keys (DkStore *store, guint64 *n_keys, GError **error);

/* Fill *STATS; the key and byte totals are counted from the table. */
gboolean dk_store_get_stats (DkStore *store, DkStoreStats *stats, GError **error);

/* Dots met with two payloads while reconciling (version.h), since open:
 * what dk_store_get_stats reports, without its table walk. */
guint64 dk_store_dot_collisions (const DkStore *store);

/* Run PRAGMA integrity_check; DK_STORE_ERROR_CORRUPT with its first
 * complaint when the database is damaged. */
gboolean dk_store_integrity_check (DkStore *store, GError **error);

/* ---- node metadata ------------------------------------------------------ */

/* A small durable name -> integer table for the node's own bookkeeping
 * (e.g. the actor id its vector clock entries use).  *FOUND tells whether
 * NAME was set; *VALUE is untouched when it was not. */
gboolean dk_store_meta_get (DkStore *store, const char *name, gint64 *value,
                            gboolean *found, GError **error);

/* Set NAME to VALUE durably (inside a batch: when the batch commits). */
gboolean dk_store_meta_set (DkStore *store, const char *name, gint64 value, GError **error);

/* ---- hints (hinted handoff) --------------------------------------------- */

/* A hint: a sibling set accepted for KEY on behalf of OWNER. */
typedef struct
{
  gint64     id;          /* unique in this store, never reused */
  DkNodeId   owner;       /* the intended owner */
  GBytes    *key;         /* owned */
  GPtrArray *siblings;    /* owned, reconciled */
  gint64     created_us;  /* NOW_US when first added */
} DkStoreHint;

void dk_store_hint_free (DkStoreHint *hint);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkStoreHint, dk_store_hint_free)

/* Keep SIBLINGS (copied) for KEY until OWNER takes them back.  A hint for
 * an (owner, key) already held is merged into it.  Refused with
 * DK_STORE_ERROR_HINTS_FULL (counted in hints_refused) when it would take
 * the store past a count or byte bound, in total or for OWNER; with
 * _TOO_LARGE / _INVALID for limits as dk_store_put.  *ID (may be NULL)
 * receives the hint's id. */
gboolean dk_store_hint_add (DkStore *store, DkNodeId owner, GBytes *key,
                            const GPtrArray *siblings, gint64 now_us,
                            gint64 *id, GError **error);

/* Up to LIMIT (0: no limit) hints for OWNER, oldest first (creation time,
 * then id), as a GPtrArray of DkStoreHint* that frees its elements. */
GPtrArray *dk_store_hints_for_owner (DkStore *store, DkNodeId owner, guint limit,
                                     GError **error);

/* The owners that have hints, ascending, as a GArray of DkNodeId. */
GArray *dk_store_hint_owners (DkStore *store, GError **error);

/* The hint with ID, or NULL: absent (ERROR untouched) or unreadable
 * (ERROR set). */
DkStoreHint *dk_store_hint_get (DkStore *store, gint64 id, GError **error);

/* Remove the hint with ID (after its owner acknowledged it); removing an
 * absent id succeeds. */
gboolean dk_store_hint_remove (DkStore *store, gint64 id, GError **error);

/* Hints held for OWNER, or in total when OWNER is DK_NODE_NONE. */
guint dk_store_hint_count (DkStore *store, DkNodeId owner);

/* ---- errors -------------------------------------------------------------- */

#define DK_STORE_ERROR (dk_store_error_quark ())
GQuark dk_store_error_quark (void);
typedef enum
{
  DK_STORE_ERROR_IO,          /* SQLite reported a failure (disk, I/O, busy) */
  DK_STORE_ERROR_CORRUPT,     /* not an SQLite file, damaged, or a row that does not decode */
  DK_STORE_ERROR_FOREIGN,     /* an SQLite database that is not a dynkv store of this version */
  DK_STORE_ERROR_TOO_LARGE,   /* a key, value, clock or sibling set past its limit */
  DK_STORE_ERROR_INVALID,     /* malformed input (empty key, tombstone with a value) */
  DK_STORE_ERROR_HINTS_FULL   /* a hint over the count or byte bounds */
} DkStoreError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkStore, dk_store_close)

G_END_DECLS

#endif /* DK_STORE_H */
