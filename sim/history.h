/* history.h — what a run observed: every client operation, and the
 * replicas' state once the run has settled.
 *
 * DESIGN.md "Measurement vocabulary": the checkers (checkers.h) measure
 * consistency and availability from these two records only.  A history is
 * append-only: a client invokes an operation (dk_history_invoke) and later
 * completes it exactly once, as ok or failed; an operation still pending at
 * the end of a run counts as not ok.  Operation ids are dense (0, 1, 2,
 * ...) in invoke order.  Clocks are copied in, so callers keep theirs.
 *
 * A history saves to, and loads back from, a CSV file (one row per
 * operation, in id order) so external tools and tests can check a saved
 * run:
 *
 *   id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions
 *
 *   kind         get | put | delete
 *   coordinator  the node the client contacted, 0 when none
 *   complete_us  empty while pending
 *   outcome      pending | ok | failed
 *   reason       why it failed; empty unless failed
 *   values       successful get: how many returned siblings were values
 *                (not tombstones); empty otherwise
 *   versions     successful put/delete: the written clock (empty when the
 *                store did not report one); successful get: every returned
 *                sibling's clock, tombstones included, joined by '|'; each
 *                clock in dk_vclock_to_string form ("{1:3, 4:1}")
 *
 * Fields are quoted as RFC 4180 says (a field holding a comma, a double
 * quote or a line break is wrapped in double quotes, inner quotes doubled).
 * Writing is deterministic: the same history gives the same bytes.  Clock
 * timestamps are not saved (the checkers compare counters only), so a
 * loaded clock has every timestamp 0.
 *
 * The replicas' state at the end of a run is recorded in final_state.h.
 */
#ifndef DK_HISTORY_H
#define DK_HISTORY_H

#include <stdio.h>
#include <glib.h>
#include "types.h"
#include "vclock.h"

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

/* One client operation.  Plain data owned by the history: read it, never
 * modify or free it. */
typedef struct
{
  guint64     id;              /* dense, in invoke order */
  guint32     client;
  DkNodeId    coordinator;     /* node the client contacted; DK_NODE_NONE if none */
  DkOpKind    kind;
  char       *key;
  gint64      invoke_us;
  gint64      complete_us;     /* -1 while pending */
  DkOutcome   outcome;
  char       *reason;          /* failed: why ("timeout", ...); NULL otherwise */
  DkVclock   *written;         /* put/delete ok: the written version's clock;
                                * NULL when unknown or not ok */
  GPtrArray  *returned;        /* get ok: DkVclock* of every returned sibling,
                                * tombstones included; NULL otherwise */
  guint       returned_values; /* get ok: returned siblings that are values */
} DkOp;

/* "get", "put", "delete" (static strings). */
const char *dk_op_kind_name (DkOpKind kind);
/* "pending", "ok", "failed" (static strings). */
const char *dk_outcome_name (DkOutcome outcome);

typedef struct _DkHistory DkHistory;

DkHistory *dk_history_new (void);
void dk_history_free (DkHistory *history);

/* Record that CLIENT invoked an operation of KIND on KEY (copied) at
 * INVOKE_US through COORDINATOR; returns its id (the previous length). */
guint64 dk_history_invoke (DkHistory *history, guint32 client,
                           DkNodeId coordinator, DkOpKind kind,
                           const char *key, gint64 invoke_us);

/* Complete the pending put or delete ID as acknowledged at COMPLETE_US;
 * WRITTEN (copied; may be NULL when unknown) is the clock of the version
 * the store wrote. */
void dk_history_complete_write_ok (DkHistory *history, guint64 id,
                                   gint64 complete_us, const DkVclock *written);

/* Complete the pending get ID as successful at COMPLETE_US, returning the
 * N_CLOCKS sibling clocks CLOCKS (copied; tombstones included), N_VALUES of
 * which are values rather than tombstones (N_VALUES <= N_CLOCKS). */
void dk_history_complete_read_ok (DkHistory *history, guint64 id,
                                  gint64 complete_us,
                                  const DkVclock *const *clocks, guint n_clocks,
                                  guint n_values);

/* Complete the pending operation ID as failed at COMPLETE_US for REASON
 * (copied; NULL is recorded as "unknown").  A failed write may still have
 * been applied by some replicas. */
void dk_history_complete_failed (DkHistory *history, guint64 id,
                                 gint64 complete_us, const char *reason);

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
