/* vclock.h — vector clocks: a counter per actor.
 *
 * Dynamo §4.4 versions every write with a vector clock.  Here a clock is
 * the causal context of a version (version.h): for each actor (a node
 * under one incarnation of its store, see DkActor) the highest counter of
 * that actor's writes the context has seen.  Clock A descends from clock
 * B when every counter of B is <= the matching counter of A.
 *
 * Each entry also keeps a wall-clock time (from the environment's wall
 * clock, never compared across hosts for ordering, only for age), so a
 * clock that grows past a size threshold can drop its oldest entries
 * (Dynamo prunes past 10).  Pruning a context makes it cover less, which
 * yields a spurious sibling, never a lost version.
 *
 * Pure data: depends on GLib only.  Clocks are small (a handful of
 * entries) and kept sorted by actor, so compare and merge are linear.
 */
#ifndef DK_VCLOCK_H
#define DK_VCLOCK_H

#include <glib.h>
#include "types.h"

G_BEGIN_DECLS

/* An actor names whoever issues versions: a node id in the high 32 bits
 * and, in the low 32 bits, the incarnation of the node's store, a random
 * non-zero number chosen when the store is created.  A node that lost its
 * disk comes back as a new actor, so it never reissues a dot.  Written
 * "NODE.INCARNATION" (decimal node, hexadecimal incarnation): "3.9c1f02ab". */
typedef guint64 DkActor;
#define DK_ACTOR_NONE ((DkActor) 0)
#define DK_ACTOR_STRING_SIZE 24

static inline DkActor
dk_actor_make (DkNodeId node, guint32 incarnation)
{
  return ((DkActor) node << 32) | incarnation;
}

static inline DkNodeId dk_actor_node (DkActor actor) { return (DkNodeId) (actor >> 32); }
static inline guint32 dk_actor_incarnation (DkActor actor) { return (guint32) actor; }

/* ACTOR in its written form, in BUFFER, which is returned. */
const char *dk_actor_format (DkActor actor, char buffer[DK_ACTOR_STRING_SIZE]);

/* Parse an actor at the start of TEXT; *END points past it.  FALSE (and
 * *END = TEXT) when TEXT does not start with NODE.INCARNATION, both > 0. */
gboolean dk_actor_parse (const char *text, char **end, DkActor *actor);

typedef struct
{
  DkActor actor;         /* never DK_ACTOR_NONE */
  guint64 counter;       /* >= 1 for every stored entry */
  gint64  timestamp_us;  /* wall-clock time the actor issued that counter (for pruning) */
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

/* ACTOR's counter, 0 when absent. */
guint64 dk_vclock_get (const DkVclock *clock, DkActor actor);

/* ACTOR's counter becomes max (its counter, COUNTER >= 1), and its time
 * the later of the two: the clock now covers every counter up to COUNTER. */
void dk_vclock_raise (DkVclock *clock, DkActor actor, guint64 counter, gint64 timestamp_us);

/* ACTOR's counter plus one, stamped TIMESTAMP_US (for tests and tools;
 * the node issues counters through version.h). */
void dk_vclock_increment (DkVclock *clock, DkActor actor, gint64 timestamp_us);

/* INTO becomes the least upper bound of INTO and OTHER: per node the larger
 * counter (and the later timestamp). */
void dk_vclock_merge (DkVclock *into, const DkVclock *other);

DkVclockOrder dk_vclock_compare (const DkVclock *a, const DkVclock *b);

/* TRUE when A descends from B (A >= B pointwise; equal clocks descend). */
gboolean dk_vclock_descends (const DkVclock *a, const DkVclock *b);

/* TRUE when A and B have the same counters (timestamps are ignored). */
gboolean dk_vclock_equal (const DkVclock *a, const DkVclock *b);

/* Drop oldest entries (smallest timestamp; ties: smallest actor) until at
 * most MAX_ENTRIES remain, never the entries of the N_KEEP actors KEEP
 * (KEEP may be NULL when N_KEEP is 0).  Returns how many were dropped. */
guint dk_vclock_prune (DkVclock *clock, guint max_entries, const DkActor *keep, guint n_keep);

/* Append the canonical encoding to OUT: u16 entry count, then per entry
 * u64 actor, u64 counter, i64 timestamp_us, all big-endian, ascending actor.
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
 * input, more than DK_VCLOCK_MAX_ENTRIES entries, actor 0, counter 0, and
 * entries out of ascending order or repeated. */
gboolean dk_vclock_decode (const guint8 *data, gsize len, gsize *consumed,
                           DkVclock **out, GError **error);

/* Human form for logs, the client and history files: "{1.5e:3, 4.a0:1}"
 * (actors ascending, timestamps left out).  Free with g_free. */
char *dk_vclock_to_string (const DkVclock *clock);
void dk_vclock_append_string (const DkVclock *clock, GString *out);

/* Parse the form dk_vclock_to_string writes (timestamps 0); NULL with a
 * DK_VCLOCK_ERROR_INVALID naming TEXT otherwise. */
DkVclock *dk_vclock_parse (const char *text, GError **error);

#define DK_VCLOCK_ERROR (dk_vclock_error_quark ())
GQuark dk_vclock_error_quark (void);
typedef enum
{
  DK_VCLOCK_ERROR_TRUNCATED,
  DK_VCLOCK_ERROR_TOO_LARGE,
  DK_VCLOCK_ERROR_INVALID
} DkVclockError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkVclock, dk_vclock_free)

G_END_DECLS

#endif /* DK_VCLOCK_H */
