/* trace.h — a record of the datagrams the simulated network carried that
 * concern one key or one time window, for the report's message-sequence
 * diagram and quorum traces (report.h).
 *
 * The simulator sees the wire bytes it carries; the trace decodes the
 * header and the fields that name what a datagram is about (its key, the
 * client request id a client request or reply carries, a hint id) with
 * src/wire.h, so node code knows nothing of it.  The cluster calls
 * dk_sim_trace_send for every datagram it sends (once per copy, or once
 * for one dropped at the sender) and dk_sim_trace_arrive when a copy
 * reaches the end of its link; both are cheap for datagrams the trace
 * does not keep.
 *
 * A datagram is kept when it was sent inside the window (when one is set)
 * and concerns the key (when one is set): it names the key, or it is a
 * CLIENT_REPLY to a client request that named it, or a HINT_ACK of a hint
 * of it.  At most LIMIT datagrams are kept, the first ones; the trace
 * counts those it had to leave out, so a report can say it was capped.
 * Recording is deterministic: records go in send order.
 */
#ifndef DK_SIM_TRACE_H
#define DK_SIM_TRACE_H

#include <glib.h>
#include "env.h"
#include "wire.h"

G_BEGIN_DECLS

/* The default LIMIT: enough for a key's requests over a short run, few
 * enough for a diagram a browser draws at once. */
#define DK_SIM_TRACE_DEFAULT_LIMIT 2000

/* What became of one datagram copy. */
typedef enum
{
  DK_TRACE_IN_FLIGHT,   /* still on its link when the run ended */
  DK_TRACE_DELIVERED,
  DK_TRACE_LOST,        /* the link's loss probability, at the sender */
  DK_TRACE_CUT,         /* a partition or one-way drop, at the sender or in flight */
  DK_TRACE_TO_CRASHED,  /* arrived at a crashed node */
} DkTraceFate;

/* One datagram copy the trace kept. */
typedef struct
{
  gint64       send_us;
  gint64       arrive_us;          /* when it reached the end of its link; send_us
                                    * when dropped at the sender */
  DkEndpoint   from;
  DkEndpoint   to;
  DkWireType   type;
  DkWireStatus status;             /* replies and acks; DK_WIRE_STATUS_OK otherwise */
  guint64      request_id;         /* the header's: pairs a reply with its request on a hop */
  gboolean     has_client_request; /* GET, PUT, DELETE, FORWARD, CLIENT_REPLY: */
  guint64      client_request_id;  /* ... the client request id they carry */
  guint64      hint_id;            /* HINT_HANDOFF, HINT_ACK; else 0 */
  char        *key;                /* the key it names, or NULL */
  DkTraceFate  fate;
  gboolean     duplicate;          /* the network's second copy of a datagram */
} DkTraceRecord;

typedef struct _DkSimTrace DkSimTrace;

/* A trace of the datagrams concerning KEY (copied; NULL: any) sent in
 * [FROM_US, TO_US) (TO_US < 0: until the end), keeping at most LIMIT
 * (> 0).  Free with dk_sim_trace_free. */
DkSimTrace *dk_sim_trace_new (const char *key, gint64 from_us, gint64 to_us, guint limit);
void dk_sim_trace_free (DkSimTrace *trace);

/* The cluster's hooks.  A copy FROM -> TO left at NOW_US and reaches the
 * end of its link at ARRIVE_US (FATE DK_TRACE_IN_FLIGHT, HANDLE the
 * cluster's pointer for the copy), or was dropped at the sender (FATE
 * DK_TRACE_LOST or DK_TRACE_CUT, HANDLE NULL, ARRIVE_US == NOW_US).
 * BYTES are the datagram's LEN bytes, read and not kept. */
void dk_sim_trace_send (DkSimTrace *trace, gconstpointer handle, DkEndpoint from,
                        DkEndpoint to, gint64 now_us, gint64 arrive_us, DkTraceFate fate,
                        const guint8 *bytes, gsize len);

/* The copy HANDLE reached the end of its link with FATE (DELIVERED, CUT
 * or TO_CRASHED).  Nothing happens for a copy the trace did not keep. */
void dk_sim_trace_arrive (DkSimTrace *trace, gconstpointer handle, DkTraceFate fate);

/* The selection: the key (NULL: any), the window (TO_US < 0: open). */
const char *dk_sim_trace_key (const DkSimTrace *trace);
void dk_sim_trace_window (const DkSimTrace *trace, gint64 *from_us, gint64 *to_us);
guint dk_sim_trace_limit (const DkSimTrace *trace);

/* The kept records, in send order (valid as long as the trace is), and
 * how many more datagrams matched but were left out by the limit. */
const DkTraceRecord *dk_sim_trace_records (const DkSimTrace *trace, guint *n_records);
guint64 dk_sim_trace_left_out (const DkSimTrace *trace);

/* "delivered", "lost", "cut", "to crashed node", "in flight" (static). */
const char *dk_trace_fate_name (DkTraceFate fate);

/* The history id of the operation a client request id names (the
 * workload numbers a get's extra pages above it: workload.h). */
guint64 dk_trace_operation_of (guint64 client_request_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkSimTrace, dk_sim_trace_free)

G_END_DECLS

#endif /* DK_SIM_TRACE_H */
