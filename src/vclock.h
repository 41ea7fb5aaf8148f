/* vclock.h — vector clocks, versions and sibling reconciliation.
 *
 * Dynamo §4.4: every stored version of a key carries a vector clock, a
 * list of (node, counter) pairs.  Clock A descends from clock B when every
 * counter of B is <= the matching counter of A; versions whose clocks do
 * not descend from each other are concurrent and are all kept as siblings
 * until a client writes back a value carrying a context that saw them.
 *
 * Each entry also keeps the time it was last incremented, so a clock that
 * grows past a size threshold can drop its oldest entries (Dynamo prunes
 * past 10).  Pruning can make a later clock look concurrent to an earlier
 * one, which yields a spurious sibling, never a lost version.
 *
 * Pure data: depends on GLib only.  Clocks are small (a handful of
 * entries) and kept sorted by node id, so compare and merge are linear.
 */
#ifndef DK_VCLOCK_H
#define DK_VCLOCK_H

#include <glib.h>
#include "types.h"

G_BEGIN_DECLS

typedef struct
{
  DkNodeId node;         /* never DK_NODE_NONE */
  guint64  counter;      /* >= 1 for every stored entry */
  gint64   timestamp_us; /* when this node last incremented it (for pruning) */
} DkVclockEntry;

typedef struct _DkVclock DkVclock;

/* How clock A relates to clock B. */
typedef enum
{
  DK_VCLOCK_EQUAL,      /* same counters */
  DK_VCLOCK_BEFORE,     /* B descends from A and differs: A happened before B */
  DK_VCLOCK_AFTER,      /* A descends from B and differs */
  DK_VCLOCK_CONCURRENT  /* neither descends from the other */
} DkVclockOrder;

/* A new empty clock (descended from by every clock). Free with dk_vclock_free. */
DkVclock *dk_vclock_new (void);
DkVclock *dk_vclock_copy (const DkVclock *clock);
void dk_vclock_free (DkVclock *clock);

/* Number of entries, and read-only access to them in ascending node order;
 * the pointer is valid until the clock is next modified. */
guint dk_vclock_size (const DkVclock *clock);
const DkVclockEntry *dk_vclock_entries (const DkVclock *clock, guint *n_entries);

/* NODE's counter, 0 when absent. */
guint64 dk_vclock_get (const DkVclock *clock, DkNodeId node);

/* Add one to NODE's counter (creating it at 1) and stamp it with NOW_US. */
void dk_vclock_increment (DkVclock *clock, DkNodeId node, gint64 now_us);

/* Set NODE's counter to max (its counter, FLOOR) + 1, stamped NOW_US: a
 * coordinator issuing a new version passes the highest counter of its own
 * it has already issued for the key, so it never reuses one. */
void dk_vclock_increment_past (DkVclock *clock, DkNodeId node, guint64 floor,
                               gint64 now_us);

/* INTO becomes the least upper bound of INTO and OTHER: per node the larger
 * counter (and the later timestamp). */
void dk_vclock_merge (DkVclock *into, const DkVclock *other);

DkVclockOrder dk_vclock_compare (const DkVclock *a, const DkVclock *b);

/* TRUE when A descends from B (A >= B pointwise; equal clocks descend). */
gboolean dk_vclock_descends (const DkVclock *a, const DkVclock *b);

/* TRUE when A and B have the same counters (timestamps are ignored). */
gboolean dk_vclock_equal (const DkVclock *a, const DkVclock *b);

/* Drop oldest entries (smallest timestamp; ties: smallest node id) until at
 * most MAX_ENTRIES remain.  Returns how many were dropped. */
guint dk_vclock_prune (DkVclock *clock, guint max_entries);

/* Append the canonical encoding to OUT: u16 entry count, then per entry
 * u32 node, u64 counter, i64 timestamp_us, all big-endian, ascending node.
 * Equal clocks with equal timestamps encode to equal bytes. */
void dk_vclock_encode (const DkVclock *clock, GByteArray *out);

/* Bytes dk_vclock_encode appends for CLOCK. */
gsize dk_vclock_encoded_size (const DkVclock *clock);

/* Write CLOCK's encoding (the bytes dk_vclock_encode appends) at OUT,
 * which has room for dk_vclock_encoded_size (CLOCK) bytes; returns that
 * size.  For encoders that size their whole output first. */
gsize dk_vclock_encode_to (const DkVclock *clock, guint8 *out);

/* Decode one clock from the LEN bytes at DATA; on success store it in *OUT
 * and the number of bytes used in *CONSUMED.  Refuses (with a
 * DK_VCLOCK_ERROR naming the problem, never reading past LEN) truncated
 * input, more than DK_VCLOCK_MAX_ENTRIES entries, node 0, counter 0, and
 * entries out of ascending order or repeated. */
gboolean dk_vclock_decode (const guint8 *data, gsize len, gsize *consumed,
                           DkVclock **out, GError **error);

/* Human form for logs and the client: "{n1:3, n4:1}" style, with node ids
 * as numbers ("{1:3, 4:1}").  Free with g_free. */
char *dk_vclock_to_string (const DkVclock *clock);

#define DK_VCLOCK_ERROR (dk_vclock_error_quark ())
GQuark dk_vclock_error_quark (void);
typedef enum
{
  DK_VCLOCK_ERROR_TRUNCATED,
  DK_VCLOCK_ERROR_TOO_LARGE,
  DK_VCLOCK_ERROR_INVALID
} DkVclockError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkVclock, dk_vclock_free)

/* ---- versions and siblings ---------------------------------------------- */

/* One stored version of a key: a value (or a tombstone) and its clock. */
typedef struct
{
  DkVclock *clock;     /* owned */
  GBytes   *value;     /* owned; empty (never NULL) for a tombstone */
  gboolean  tombstone; /* a delete */
} DkVersion;

/* Takes ownership of CLOCK; refs VALUE (NULL means empty). */
DkVersion *dk_version_new (DkVclock *clock, GBytes *value, gboolean tombstone);
DkVersion *dk_version_copy (const DkVersion *version);
void dk_version_free (DkVersion *version);

/* The canonical order of versions (see below) as a qsort-style result;
 * 0 only for versions with identical clocks (timestamps included),
 * tombstone flag and value bytes.  Value bytes compare as g_bytes_compare. */
int dk_version_compare (const DkVersion *a, const DkVersion *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkVersion, dk_version_free)

/* A sibling set is a GPtrArray of DkVersion* created with
 * dk_siblings_new (it frees its elements).  A reconciled set holds no
 * version whose clock another one descends from, and is kept in canonical
 * order (by encoded clock bytes, then tombstone flag, then value bytes),
 * so two replicas holding the same versions hold identical sets. */
GPtrArray *dk_siblings_new (void);
GPtrArray *dk_siblings_copy (const GPtrArray *siblings);

/* Add INCOMING (ownership taken) to the reconciled set SIBLINGS: it is
 * dropped when some sibling's clock descends from it; otherwise every
 * sibling it descends from is removed and it is inserted.  Two versions
 * with equal clocks but different payloads (which only a node reusing a
 * counter can create) resolve deterministically to the one that sorts
 * last, so replicas still converge.  Returns TRUE when the set changed.
 * Never drops a version concurrent with all the others, and so never
 * enforces DK_SIBLINGS_MAX: dropping a concurrent version would lose a
 * write, so the caller checks siblings->len against the limit. */
gboolean dk_siblings_add (GPtrArray *siblings, DkVersion *incoming);

/* Add copies of every version of OTHER to SIBLINGS; TRUE if it changed. */
gboolean dk_siblings_merge (GPtrArray *siblings, const GPtrArray *other);

/* The context handed to a client with a read: the merge of all sibling
 * clocks.  A put carrying it supersedes every version the read returned. */
DkVclock *dk_siblings_context (const GPtrArray *siblings);

/* TRUE when the two reconciled sets hold the same versions. */
gboolean dk_siblings_equal (const GPtrArray *a, const GPtrArray *b);

/* 64-bit digest of a reconciled set (dk_hash64 over its canonical
 * encoding); equal sets give equal digests.  Used by anti-entropy. */
guint64 dk_siblings_digest (const GPtrArray *siblings);

G_END_DECLS

#endif /* DK_VCLOCK_H */
