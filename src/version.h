/* version.h — versions of a key, their identity, and how they replace
 * each other: the one place where a write's version is decided.
 *
 * Dotted version vectors (Preguiça, Baquero, Almeida et al., "Dotted
 * Version Vectors: Logical Clocks for Optimistic Replication", 2010; the
 * scheme Riak 2.0 adopted).  Every write has one identity, its dot
 * (actor, counter), issued once: the actor names a node's store
 * incarnation (vclock.h) and the counter comes from a durable per-actor
 * counter (the node's store), never from the local copy of a key.  Beside
 * its dot a version keeps its context: the vector clock of everything the
 * writer had seen (the client's context), which does not include the dot.
 *
 * The one merge rule: version X is replaced by version Y exactly when Y's
 * context covers X's dot (context[X.actor] >= X.counter).  A write thus
 * replaces exactly the siblings its context covers; every other version
 * stays a sibling.  Two puts that read the same state, even through the
 * same coordinator, get different dots and contexts that cover neither:
 * they become siblings (tests/check_version.c,
 * version_concurrent_writes_through_one_coordinator_are_siblings, and the
 * model property version_sets_match_the_reference_model).
 *
 * Two issuing rules (DkVersioning), sharing that merge rule:
 *   DK_VERSIONING_DVV  context = the client's context.  The default.
 *   DK_VERSIONING_VV   context = the client's context raised to the
 *                      coordinator's own highest counter among the key's
 *                      local versions: the classic server-side vector
 *                      clock, whose new version descends from everything
 *                      the coordinator holds and so silently replaces
 *                      concurrent updates it coordinated (kept to show
 *                      that anomaly).
 *
 * A dot that shows up twice with different payloads (which only a reused
 * counter can produce) is resolved the same way whatever the arrival
 * order, so replicas still converge, and counted as a collision for the
 * caller to report.
 *
 * Pure data: depends on GLib and vclock.h only.
 */
#ifndef DK_VERSION_H
#define DK_VERSION_H

#include <glib.h>
#include "types.h"
#include "vclock.h"

G_BEGIN_DECLS

/* A write's identity. */
typedef struct
{
  DkActor actor;    /* never DK_ACTOR_NONE */
  guint64 counter;  /* >= 1 */
  gint64  wall_us;  /* the issuer's wall clock when issued (for pruning only) */
} DkDot;

/* Counters above this are refused in contexts and never issued. */
#define DK_DOT_COUNTER_MAX (G_GUINT64_CONSTANT (1) << 62)

/* "ACTOR:COUNTER" into BUFFER, which is returned. */
#define DK_DOT_STRING_SIZE (DK_ACTOR_STRING_SIZE + 21)
const char *dk_dot_format (DkDot dot, char buffer[DK_DOT_STRING_SIZE]);

/* Parse "ACTOR:COUNTER" (the whole of TEXT); FALSE when it is not one. */
gboolean dk_dot_parse (const char *text, DkDot *dot);

/* GHashFunc / GEqualFunc on DkDot* keys: one dot is its actor and
 * counter (the wall time is not part of its identity). */
guint dk_dot_hash (gconstpointer dot);
gboolean dk_dot_equal (gconstpointer a, gconstpointer b);

/* TRUE when CONTEXT covers DOT: CONTEXT[DOT.actor] >= DOT.counter. */
gboolean dk_dot_covered (DkDot dot, const DkVclock *context);

typedef enum
{
  DK_VERSIONING_DVV,  /* dotted version vectors (default) */
  DK_VERSIONING_VV    /* classic server-side vector clocks */
} DkVersioning;

/* "dvv" / "vv", and back (FALSE for anything else). */
const char *dk_versioning_name (DkVersioning versioning);
gboolean dk_versioning_from_name (const char *name, DkVersioning *versioning);

/* One stored version of a key: a value (or a tombstone), its dot and its
 * context. */
typedef struct
{
  DkDot      dot;
  DkVclock  *context;   /* owned; never NULL; does not cover dot */
  GBytes    *value;     /* owned; empty (never NULL) for a tombstone */
  gboolean   tombstone; /* a delete */
} DkVersion;

/* Takes ownership of CONTEXT (NULL means empty); refs VALUE (NULL means
 * empty). */
DkVersion *dk_version_new (DkDot dot, DkVclock *context, GBytes *value, gboolean tombstone);
DkVersion *dk_version_copy (const DkVersion *version);
void dk_version_free (DkVersion *version);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkVersion, dk_version_free)

/* The version's whole history as one clock: its context with its dot
 * added.  Free with dk_vclock_free. */
DkVclock *dk_version_clock (const DkVersion *version);

/* TRUE when NEWER replaces OLDER: their dots differ and NEWER's context
 * covers OLDER's dot. */
gboolean dk_version_replaces (const DkVersion *newer, const DkVersion *older);

/* The canonical order of versions, qsort-style: by dot (actor, counter),
 * then context encoding, tombstone flag and value bytes; 0 only for
 * identical versions (timestamps included). */
int dk_version_compare (const DkVersion *a, const DkVersion *b);

/* ---- sibling sets -------------------------------------------------------- */

/* A sibling set is a GPtrArray of DkVersion* created with dk_siblings_new
 * (it frees its elements).  A reconciled set holds no version another one
 * replaces and no two versions with one dot, in canonical order, so two
 * replicas holding the same versions hold identical sets. */
GPtrArray *dk_siblings_new (void);
GPtrArray *dk_siblings_copy (const GPtrArray *siblings);

/* Add INCOMING (ownership taken) to the reconciled set SIBLINGS: dropped
 * when a member replaces it or is identical; otherwise every member it
 * replaces goes and it is inserted.  A member with INCOMING's dot becomes
 * one version with it: the payload (wall time, tombstone, value) that
 * sorts last, with the union of both contexts, so the result does not
 * depend on arrival order; two different payloads are a collision, and
 * *COLLISIONS (may be NULL) is incremented.  Returns TRUE when the set
 * changed.  Never drops a version no other version replaces, and so never
 * enforces DK_SIBLINGS_MAX: that is the caller's decision. */
gboolean dk_siblings_add (GPtrArray *siblings, DkVersion *incoming, guint64 *collisions);

/* Add copies of every version of OTHER to SIBLINGS; TRUE if it changed. */
gboolean dk_siblings_merge (GPtrArray *siblings, const GPtrArray *other, guint64 *collisions);

/* The context handed to a client with a read: the merge of every
 * version's clock (context and dot).  A write carrying it replaces every
 * version the read returned. */
DkVclock *dk_siblings_context (const GPtrArray *siblings);

/* TRUE when the two reconciled sets hold the same versions. */
gboolean dk_siblings_equal (const GPtrArray *a, const GPtrArray *b);

/* 64-bit digest of a reconciled set (dk_hash64 over its canonical
 * encoding); equal sets give equal digests.  Used by anti-entropy. */
guint64 dk_siblings_digest (const GPtrArray *siblings);

/* ---- issuing -------------------------------------------------------------- */

/* The new version a coordinator writes for a client: DOT (freshly issued,
 * never used before), VALUE or a tombstone, and a context built by
 * VERSIONING from CLIENT_CONTEXT (NULL: a blind write) and LOCAL, the
 * key's reconciled set at the coordinator.  The context is pruned past
 * PRUNE_ENTRIES (0: never) by age, never dropping an entry that covers a
 * LOCAL version the context replaces (else that version would outlive
 * every resolution); *PRUNED (may be NULL) receives how many went. */
DkVersion *dk_version_issue (DkVersioning versioning, DkDot dot, const GPtrArray *local,
                             const DkVclock *client_context, GBytes *value,
                             gboolean tombstone, guint prune_entries, guint *pruned);

/* ---- encoding ------------------------------------------------------------- */

/* A version's dot and context in the canonical encoding: u64 actor, u64
 * counter, i64 wall_us, then the context as dk_vclock_encode writes it. */
gsize dk_version_header_size (const DkVersion *version);
gsize dk_version_header_encode_to (const DkVersion *version, guint8 *out);

/* Decode a dot and context from the LEN bytes at DATA; *CONSUMED receives
 * the bytes used.  Refuses truncated input, actor 0, counter 0 or above
 * DK_DOT_COUNTER_MAX, and bad contexts, with a DK_VCLOCK_ERROR. */
gboolean dk_version_header_decode (const guint8 *data, gsize len, gsize *consumed,
                                   DkDot *dot, DkVclock **context, GError **error);

G_END_DECLS

#endif /* DK_VERSION_H */
