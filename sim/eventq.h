/* eventq.h — the simulator's virtual clock and event queue.
 *
 * Events run in order of (time, sequence number): the sequence number is
 * handed out at scheduling, so two events at the same microsecond run in
 * the order they were scheduled.  That tie-break is what keeps a run
 * deterministic; nothing here depends on addresses or hash order.
 * Cancelling removes the event from the heap at once (O(log n)), so a run
 * that cancels millions of timers keeps no trace of them.
 */
#ifndef DK_EVENTQ_H
#define DK_EVENTQ_H

#include <stdio.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _DkEventQueue DkEventQueue;
typedef void (*DkEventFunc) (gpointer data);
typedef guint64 DkEventId;   /* 0 is never a valid id */

DkEventQueue *dk_eventq_new (void);

/* Frees the queue and every event still in it (their data is freed only
 * when they were scheduled with a destroy function). */
void dk_eventq_free (DkEventQueue *queue);

/* Current virtual time in microseconds (starts at 0, never goes back). */
gint64 dk_eventq_now (const DkEventQueue *queue);

/* Run FUNC (DATA) at absolute time AT_US (clamped to now). */
DkEventId dk_eventq_schedule_at (DkEventQueue *queue, gint64 at_us,
                                 DkEventFunc func, gpointer data);

/* As dk_eventq_schedule_at; DESTROY (DATA) is called when the event is
 * cancelled or the queue is freed before it runs (not after it ran: FUNC
 * then owns DATA). */
DkEventId dk_eventq_schedule_full (DkEventQueue *queue, gint64 at_us, DkEventFunc func,
                                   gpointer data, GDestroyNotify destroy);

/* Run FUNC (DATA) AFTER_US from now (negative is treated as 0). */
DkEventId dk_eventq_schedule (DkEventQueue *queue, gint64 after_us,
                              DkEventFunc func, gpointer data);

/* TRUE when event ID is still waiting; *FUNC and *DATA (either may be
 * NULL) receive what it will run.  Ids of run, cancelled or unknown events
 * give FALSE. */
gboolean dk_eventq_lookup (const DkEventQueue *queue, DkEventId id, DkEventFunc *func,
                           gpointer *data);

/* Cancel an event that has not run; ids of run or unknown events are ignored. */
void dk_eventq_cancel (DkEventQueue *queue, DkEventId id);

/* Run events in order until none is due at or before UNTIL_US, then set
 * the clock to UNTIL_US.  Returns the number of events run. */
guint64 dk_eventq_run_until (DkEventQueue *queue, gint64 until_us);

/* Events waiting (cancelled ones excluded). */
guint dk_eventq_pending (const DkEventQueue *queue);

/* Write T_US as "S.UUUUUU " (seconds with microseconds and a space), the
 * stamp every simulator log line starts with. */
void dk_sim_log_stamp (FILE *log, gint64 t_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkEventQueue, dk_eventq_free)

G_END_DECLS

#endif
