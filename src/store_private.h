/* store_private.h — what the store's files share: the DkStore struct, the
 * fault-injecting SQLite wrappers, the sibling-set codec and the cache.
 * Not for use outside src/store*.c. */
#ifndef DK_STORE_PRIVATE_H
#define DK_STORE_PRIVATE_H

#include <sqlite3.h>
#include "store.h"

G_BEGIN_DECLS

typedef struct _DkStoreCache DkStoreCache;
typedef struct _DkStoreMemTable DkStoreMemTable;
typedef struct _DkStoreMemOrder DkStoreMemOrder;

/* The ring tokens of every key written to the kv table since it was
 * created empty by this open: a key whose token is not in it has no row,
 * so a cache miss on it needs no SELECT (store_kv.c).  Open addressing
 * with linear probing; 0 is the empty slot, so token 0 is a flag. */
typedef struct
{
  guint64 *slots;      /* capacity entries, a power of two */
  gsize    capacity;
  gsize    used;
  gboolean has_zero;
} DkStoreTokenSet;

/* Per-owner hint accounting, kept in memory and rebuilt from the table on
 * open and after a rolled-back batch. */
typedef struct
{
  guint64 count;
  guint64 bytes;
} DkHintUsage;

struct _DkStore
{
  sqlite3       *db;
  char          *path;
  DkStoreOptions options;
  guint64        sqlite_calls;   /* counted for options.fail_at_call */
  gboolean       in_batch;
  gboolean       batch_aborted;  /* SQLite rolled the batch back on an error */
  gboolean       scanning;       /* the scan statement is in use */
  gboolean       group_open;     /* a transaction of grouped writes is open */
  guint          group_writes;   /* writes in it so far */
  gboolean       deferring;      /* dk_store_defer_begin: the group stays open */
  gboolean       deferred_lost;  /* a deferred write was rolled back since */

  /* kv */
  sqlite3_stmt *select_row;
  sqlite3_stmt *upsert_row;
  sqlite3_stmt *insert_row;    /* with upsert_row's parameters: a key known absent */
  sqlite3_stmt *update_row;    /* the same, for a key known present */
  sqlite3_stmt *delete_row;
  sqlite3_stmt *scan_range;
  sqlite3_stmt *select_dead;
  sqlite3_stmt *delete_dead;
  sqlite3_stmt *totals;
  /* hints */
  sqlite3_stmt *hint_select;
  sqlite3_stmt *hint_insert;
  sqlite3_stmt *hint_update;
  sqlite3_stmt *hint_lookup_id;
  sqlite3_stmt *hint_delete;
  sqlite3_stmt *hint_list;
  sqlite3_stmt *hint_list_all;
  sqlite3_stmt *hint_by_id;
  sqlite3_stmt *hint_usage;
  /* node metadata */
  sqlite3_stmt *meta_select;
  sqlite3_stmt *meta_upsert;
  /* transactions */
  sqlite3_stmt *begin;
  sqlite3_stmt *commit;
  sqlite3_stmt *rollback;

  DkStoreCache *cache;
  DkStoreMemTable *mem;        /* options.kv_in_memory: the kv rows; else NULL */
  DkStoreLogWatch log_watch;      /* dk_store_watch_log, or NULL */
  gpointer        log_watch_data;
  /* Tokens written since the table was created empty (see above); NULL
   * for a table that held rows at open, whose misses always ask SQLite. */
  DkStoreTokenSet *written_tokens;
  GByteArray   *row_buffer;    /* reused for each encoded siblings BLOB */
  sqlite3_stmt *scan_sets_range; /* prepared on first use (dk_store_scan_sets) */

  GHashTable   *hint_usage_by_owner; /* GUINT_TO_POINTER (owner) -> DkHintUsage* */
  DkHintUsage   hint_usage_total;
  guint64       hints_refused;
  guint64       tombstones_collected;
  guint64       dot_collisions;
};

/* ---- SQLite calls, counted for fault injection (store.c) ---------------- */

int dk_store_sql_step (DkStore *store, sqlite3_stmt *stmt);
int dk_store_sql_prepare (DkStore *store, const char *sql, sqlite3_stmt **stmt);
int dk_store_sql_exec (DkStore *store, const char *sql);
/* Step STMT once (rows are ignored), reset it; FALSE with an error. */
gboolean dk_store_sql_run (DkStore *store, sqlite3_stmt *stmt, const char *what, GError **error);
/* Reset STMT for its next use and drop its bindings. */
void dk_store_sql_done (sqlite3_stmt *stmt);
/* Set ERROR for the SQLite result RC of doing WHAT; always returns FALSE. */
gboolean dk_store_sql_fail (DkStore *store, int rc, const char *what, GError **error);

/* Check KEY and every version of SIBLINGS against the limits; FALSE with
 * DK_STORE_ERROR_TOO_LARGE / _INVALID naming the offender. */
gboolean dk_store_check_limits (GBytes *key, const GPtrArray *siblings, GError **error);

/* Grouped commits (options.writes_per_commit > 1, store.c): before a
 * write outside a batch, join the group's transaction (opening it); after
 * the write succeeded, count it, committing the group when it is full. */
gboolean dk_store_group_join (DkStore *store, GError **error);
gboolean dk_store_group_count (DkStore *store, GError **error);

/* Open the SQLite side of a store whose kv table is in memory, which
 * waits for its first hint (store.c); TRUE at once when it is open. */
gboolean dk_store_sql_ready (DkStore *store, GError **error);

/* Run an explicit transaction unless a batch is open (store.c). */
gboolean dk_store_write_begin (DkStore *store, gboolean *started, GError **error);
gboolean dk_store_write_end (DkStore *store, gboolean started, gboolean ok, GError **error);

/* The written-token set (store_cache.c): started for a table created
 * empty by this open; a token is added before its row is written. */
void dk_store_tokens_start (DkStore *store);
void dk_store_tokens_free (DkStore *store);
gboolean dk_store_tokens_contain (const DkStoreTokenSet *set, DkToken token);
void dk_store_tokens_add (DkStoreTokenSet *set, DkToken token);

/* Rebuild the in-memory hint accounting from the table (store_hints.c). */
gboolean dk_store_hints_reload (DkStore *store, GError **error);

/* ---- the siblings BLOB (store_codec.c) ---------------------------------- */

/* Append the encoding of SIBLINGS to OUT, deflating values longer than
 * THRESHOLD when that makes them shorter; *SAVED receives the bytes saved. */
void dk_store_encode_siblings (const GPtrArray *siblings, gsize threshold,
                               GByteArray *out, gsize *saved);

/* The length dk_store_encode_siblings would give SIBLINGS, and *SAVED;
 * encodes into SCRATCH only when a value is long enough to be deflated. */
gsize dk_store_encoded_size (const GPtrArray *siblings, gsize threshold, GByteArray *scratch,
                             gsize *saved);

/* Decode a siblings BLOB; NULL with a DK_STORE_ERROR_CORRUPT message that
 * says what is wrong (the caller adds the path and key). */
GPtrArray *dk_store_decode_siblings (const guint8 *data, gsize len, GError **error);

/* Key bytes as printable text for error messages (escaped, cut at 64). */
char *dk_store_key_display (GBytes *key);

/* ---- hot-key cache (store_cache.c) -------------------------------------- */

DkStoreCache *dk_store_cache_new (gsize budget_bytes);
void dk_store_cache_free (DkStoreCache *cache);

/* The set cached for KEY (owned by the cache, valid until the next cache
 * call), or NULL; counts a hit or a miss and marks the entry recently used. */
const GPtrArray *dk_store_cache_lookup (DkStoreCache *cache, GBytes *key);

/* For a put: the set cached for KEY, to be modified in place, or NULL;
 * counts a hit or a miss.  Once the set is written the put calls
 * dk_store_cache_refresh; when the write fails it calls
 * dk_store_cache_remove, so nothing stale stays behind.  No copy is made. */
GPtrArray *dk_store_cache_lookup_for_put (DkStoreCache *cache, GBytes *key);

/* KEY's cached set was modified in place (or just used): charge its new
 * size, mark it most recently used and evict least recently used entries
 * to stay within the budget; a set larger than the whole budget leaves
 * the cache.  The same outcome as taking the set out and inserting it. */
void dk_store_cache_refresh (DkStoreCache *cache, GBytes *key);

/* Cache SIBLINGS (ownership taken) for KEY, replacing any entry and
 * evicting least recently used ones to stay within the budget; a set
 * larger than the whole budget is not cached. */
void dk_store_cache_insert (DkStoreCache *cache, GBytes *key, GPtrArray *siblings);

/* The set cached for KEY (owned by the cache) or NULL, without counting a
 * hit or a miss or touching recency: for whole-store walks. */
const GPtrArray *dk_store_cache_peek (DkStoreCache *cache, GBytes *key);

void dk_store_cache_remove (DkStoreCache *cache, GBytes *key);
void dk_store_cache_clear (DkStoreCache *cache);
void dk_store_cache_counters (const DkStoreCache *cache, guint64 *hits, guint64 *misses,
                              guint64 *bytes, guint64 *entries);

/* ---- the kv table in memory (store_memkv.c, options.kv_in_memory) ------- */

/* A row as the SQLite table has it, but for the set: decoded, with the
 * length of its encoding (what the SQLite row would store). */
typedef struct _DkStoreMemRow
{
  DkToken    token;
  GPtrArray *siblings;         /* never empty */
  GBytes    *key;              /* for callers; lookups compare key_bytes */
  guint64    digest;
  gint64     tombstoned_us;
  guint64    saved;            /* saved_bytes */
  guint32    stored_len;       /* length of the encoded set */
  gboolean   all_tombstones;   /* tombstoned_us is not NULL */
  guint32    key_len;
  guint8     key_bytes[];      /* the key again, inline: a lookup reads the row only */
} DkStoreMemRow;

DkStoreMemTable *dk_store_mem_new (void);
void dk_store_mem_free (DkStoreMemTable *table);
/* Free every row, leaving TABLE empty (its metadata stays). */
void dk_store_mem_clear (DkStoreMemTable *table);
/* KEY's row (owned by the table, valid until it changes), or NULL.  Its
 * set may be changed in place when dk_store_mem_write follows. */
DkStoreMemRow *dk_store_mem_lookup (DkStoreMemTable *table, DkToken token, GBytes *key);
/* Insert or replace KEY's row (the key is copied): with SIBLINGS
 * (ownership taken), or NULL when the row's own set was changed in place. */
void dk_store_mem_write (DkStoreMemTable *table, DkToken token, GBytes *key, guint64 digest,
                         GPtrArray *siblings, gsize stored_len, gboolean all_tombstones,
                         gint64 now_us, guint64 saved);
void dk_store_mem_delete (DkStoreMemTable *table, DkToken token, GBytes *key);
/* Called for each row of a scan, in order; FALSE stops it. */
typedef gboolean (*DkStoreMemVisit) (const DkStoreMemRow *row, gpointer user_data);
/* Visit the rows whose tokens are in [FIRST, LAST]; FALSE when VISIT stopped. */
gboolean dk_store_mem_scan (DkStoreMemTable *table, DkToken first, DkToken last,
                            DkStoreMemVisit visit, gpointer user_data);
/* Remove the all-tombstone rows tombstoned before CHANGED_BEFORE_US (and
 * their entries in CACHE); how many went. */
guint dk_store_mem_collect (DkStoreMemTable *table, gint64 changed_before_us,
                            DkStoreCache *cache);
void dk_store_mem_totals (const DkStoreMemTable *table, guint64 *keys, guint64 *bytes,
                          guint64 *saved);
/* The node metadata of such a store (dk_store_meta_*), in memory too. */
gboolean dk_store_mem_meta_get (const DkStoreMemTable *table, const char *name, gint64 *value);
void dk_store_mem_meta_set (DkStoreMemTable *table, const char *name, gint64 value);

/* The rows in primary-key order (store_memorder.c); rows are borrowed. */
DkStoreMemOrder *dk_store_order_new (void);
void dk_store_order_free (DkStoreMemOrder *order);
void dk_store_order_insert (DkStoreMemOrder *order, DkStoreMemRow *row);
void dk_store_order_remove (DkStoreMemOrder *order, DkStoreMemRow *row);
/* Visit the rows whose tokens are in [FIRST, LAST]; FALSE when VISIT stopped. */
gboolean dk_store_order_scan (const DkStoreMemOrder *order, DkToken first, DkToken last,
                              DkStoreMemVisit visit, gpointer user_data);
/* The primary key's order: token, then key bytes. */
int dk_store_mem_compare_rows (const DkStoreMemRow *x, const DkStoreMemRow *y);

G_END_DECLS

#endif /* DK_STORE_PRIVATE_H */
