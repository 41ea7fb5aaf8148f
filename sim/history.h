/* history.h — what a run observed: every client operation, with the
 * values and versions it wrote or read.
 *
 * DESIGN.md "Measurement vocabulary": the checkers (checkers.h) measure
 * consistency and availability from this record and the replicas' final
 * state (final_state.h) only.  A history is append-only: a client invokes
 * an operation (dk_history_invoke) and later completes it exactly once, as
 * ok or failed; an operation still pending at the end of a run counts as
 * not ok.  Operation ids are dense (0, 1, 2, ...) in invoke order.
 *
 * Writes are identified by value, never by clock alone.  Every put stores
 * a value that names it: its value id is its history id, carried in the
 * value bytes as the tag "op<ID>;" (dk_value_tag), so any sibling a get
 * returns or a replica holds names the put that wrote it.  A tombstone has
 * no bytes; it is named by its dot, which the delete's reply reported.
 * A write also records the context the client sent and, when the
 * coordinator reported it (always with an OK; also with a failure that
 * came after the version was issued), the new version's dot and clock.
 *
 * A history saves to, and loads back from, a CSV file (one row per
 * operation, in id order):
 *
 *   id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,
 *   values,versions,value,dot,context,read,commit_us
 *
 *   kind         get | put | delete
 *   coordinator  the node the client contacted, 0 when none
 *   complete_us  empty while pending
 *   outcome      pending | ok | failed
 *   reason       why it failed; empty unless failed
 *   values       successful get: how many returned siblings were values
 *                (not tombstones); empty otherwise
 *   versions     put/delete: the context the coordinator stored with the
 *                new version, when reported (the sent one under
 *                versioning=dvv; under vv raised to the coordinator's own
 *                entries); successful get: every returned sibling as its
 *                dot, a space and its stored context ("3.9c1f02ab:12
 *                {3.9c1f02ab:11}"), tombstones included, joined by '|';
 *                contexts in dk_vclock_to_string form ("{1.5e:3, 4.a0:1}")
 *   value        put/delete: its value id (its own id); successful get:
 *                the value ids of the returned siblings in the order of
 *                versions, joined by '|', a tombstone as the id of its
 *                delete, '?' for one that cannot be told
 *   dot          put/delete: the new version's dot "ACTOR:COUNTER" when
 *                reported; empty otherwise
 *   context      put/delete: the context the client sent ("{}" for a
 *                blind write); empty otherwise
 *   read         put/delete: the id of the get whose reply gave that
 *                context (a read-modify-write); empty for a blind write
 *   commit_us    successful put/delete: when the coordinator sent its
 *                acknowledgement (its W-th replica acknowledgement had
 *                arrived: the commit, from which the PBS paper's t is
 *                counted), between invoke_us and complete_us; empty when
 *                not recorded
 *
 * Fields are quoted as RFC 4180 says.  Writing is deterministic: the same
 * history gives the same bytes.  Clock timestamps are not saved, so a
 * loaded clock has every timestamp 0.
 */
#ifndef DK_HISTORY_H
#define DK_HISTORY_H

#include <stdio.h>
#include <glib.h>
#include "types.h"
#include "version.h"

G_BEGIN_DECLS

typedef enum
{
  DK_OP_GET,
  DK_OP_PUT,
  DK_OP_DELETE
} DkOpKind;

typedef enum
{
  DK_OUTCOME_PENDING,
  DK_OUTCOME_OK,
  DK_OUTCOME_FAILED
} DkOutcome;

/* A value id that cannot be told (a value too short for its tag, a
 * tombstone whose delete never reported its dot). */
#define DK_VALUE_UNKNOWN G_MAXUINT64

/* One sibling a successful get returned. */
typedef struct
{
  guint64   value;      /* the id of the write that wrote it, or DK_VALUE_UNKNOWN */
  DkDot     dot;
  gboolean  tombstone;
  DkVclock *context;    /* its stored context */
} DkReturned;

/* One client operation.  Plain data owned by the history: read it, never
 * modify or free it. */
typedef struct
{
  guint64     id;              /* dense, in invoke order; a write's value id */
  guint32     client;
  DkNodeId    coordinator;     /* node the client contacted; DK_NODE_NONE if none */
  DkOpKind    kind;
  char       *key;
  gint64      invoke_us;
  gint64      complete_us;     /* -1 while pending */
  DkOutcome   outcome;
  char       *reason;          /* failed: why ("timeout", ...); NULL otherwise */
  DkVclock   *context;         /* put/delete: the context sent (empty: blind); NULL for a get */
  guint64     read;            /* put/delete: the get whose reply gave that context, or
                                * DK_VALUE_UNKNOWN (a blind write) */
  gboolean    has_dot;         /* put/delete: the coordinator reported the new version */
  DkDot       dot;             /* ... its dot */
  DkVclock   *stored_context;  /* ... and the context stored with it; NULL without has_dot */
  GArray     *returned;        /* get ok: DkReturned, in reply order; NULL otherwise */
  guint       returned_values; /* get ok: returned siblings that are values */
  guint8      side;            /* the client's side of a partition at invoke:
                                * 0 none, 1 minority, 2 majority */
  gint64      commit_us;       /* put/delete ok: when the coordinator acknowledged it
                                * (the commit); -1 when not recorded */
} DkOp;

/* Write the tag naming value ID ("op<ID>;") into BUFFER; returns its
 * length.  A put's value starts with it (truncated when shorter). */
#define DK_VALUE_TAG_SIZE 32
gsize dk_value_tag (guint64 id, char buffer[DK_VALUE_TAG_SIZE]);

/* The value id a value's bytes name, or DK_VALUE_UNKNOWN. */
guint64 dk_value_id (GBytes *value);

/* "get", "put", "delete" (static strings). */
const char *dk_op_kind_name (DkOpKind kind);
/* "pending", "ok", "failed" (static strings). */
const char *dk_outcome_name (DkOutcome outcome);

typedef struct _DkHistory DkHistory;
#define DK_HISTORY_COLUMNS \
  "id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions," \
  "value,dot,context,read,commit_us"

DkHistory *dk_history_new (void);
void dk_history_free (DkHistory *history);

/* Operation ID's client was on SIDE of a partition when it invoked it
 * (0 none, 1 minority, 2 majority; sim/cluster.h's DkPartitionSide). */
void dk_history_set_side (DkHistory *history, guint64 id, guint8 side);

/* Record that CLIENT invoked an operation of KIND on KEY (copied) at
 * INVOKE_US through COORDINATOR; returns its id (the previous length). */
guint64 dk_history_invoke (DkHistory *history, guint32 client,
                           DkNodeId coordinator, DkOpKind kind,
                           const char *key, gint64 invoke_us);

/* Record the context CONTEXT (copied; NULL: a blind write) that the
 * pending put or delete ID sends, and READ, the successful get whose
 * reply it came from (DK_VALUE_UNKNOWN when none). */
void dk_history_set_context (DkHistory *history, guint64 id, const DkVclock *context,
                             guint64 read);

/* Record the new version VERSION (its dot and context are copied) that the
 * coordinator reported for the put or delete ID, acknowledged or not. */
void dk_history_set_written (DkHistory *history, guint64 id, const DkVersion *version);

/* The pending put or delete ID was committed at COMMIT_US (>= its invoke
 * time): its coordinator sent the acknowledgement then.  Kept only when
 * it completes ok (dk_history_complete_write_ok, at or after COMMIT_US). */
void dk_history_set_commit (DkHistory *history, guint64 id, gint64 commit_us);

/* Complete the pending put or delete ID as acknowledged at COMPLETE_US;
 * WRITTEN (may be NULL when the reply named none) is the new version. */
void dk_history_complete_write_ok (DkHistory *history, guint64 id,
                                   gint64 complete_us, const DkVersion *written);

/* Complete the pending get ID as successful at COMPLETE_US, returning the
 * versions SIBLINGS (a GPtrArray of DkVersion*, read, not kept;
 * tombstones included). */
void dk_history_complete_read_ok (DkHistory *history, guint64 id,
                                  gint64 complete_us, const GPtrArray *siblings);

/* Complete the pending operation ID as failed at COMPLETE_US for REASON
 * (copied; NULL is recorded as "unknown").  A failed write may still have
 * been applied by some replicas. */
void dk_history_complete_failed (DkHistory *history, guint64 id,
                                 gint64 complete_us, const char *reason);

/* The put or delete whose reported dot is DOT, or DK_VALUE_UNKNOWN. */
guint64 dk_history_write_of_dot (const DkHistory *history, DkDot dot);

/* RETURNED's value id; a tombstone, or a value too short for its tag, is
 * resolved through its dot once its write has reported it. */
guint64 dk_history_returned_value (const DkHistory *history, const DkReturned *returned);

/* TRUE when WRITER (a put or delete) wrote knowing WRITE: the get its
 * context came from returned WRITE's value, or a value whose writer knew
 * WRITE (transitively).  A writer whose read is unknown knew what its
 * sent context covers.  Knowing needs the context to cover WRITE's dot,
 * so a context that covers a dot nobody returned (a vector clock's
 * contiguity assumption) does not count as knowing.  FALSE when WRITE
 * reported no dot. */
gboolean dk_history_knew (const DkHistory *history, const DkOp *writer, const DkOp *write);

/* Number of operations invoked so far. */
guint64 dk_history_len (const DkHistory *history);

/* Operation ID (< dk_history_len); valid as long as the history is. */
const DkOp *dk_history_get (const DkHistory *history, guint64 id);

/* Append the CSV form (header included) to OUT. */
void dk_history_to_csv (const DkHistory *history, GString *out);

/* Write the CSV form to OUT; fails (G_IO_ERROR) when the stream does. */
gboolean dk_history_write (const DkHistory *history, FILE *out, GError **error);

/* Write the CSV form to the file PATH (created or truncated). */
gboolean dk_history_save (const DkHistory *history, const char *path,
                          GError **error);

/* Parse the CSV form in the LEN bytes at TEXT (LEN -1: NUL-terminated);
 * NAME names the input in error messages ("run/history:12: ...").
 * Returns NULL with a DK_HISTORY_ERROR on malformed input. */
DkHistory *dk_history_parse (const char *text, gssize len, const char *name,
                             GError **error);

/* Load a history saved with dk_history_save. */
DkHistory *dk_history_load (const char *path, GError **error);

#define DK_HISTORY_ERROR (dk_history_error_quark ())
GQuark dk_history_error_quark (void);
typedef enum
{
  DK_HISTORY_ERROR_PARSE
} DkHistoryError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkHistory, dk_history_free)

G_END_DECLS

#endif /* DK_HISTORY_H */
