/* precise_timer.h — a main-loop timer to the microsecond.
 *
 * GLib's poll timeouts count whole milliseconds, rounded up; a timerfd
 * (CLOCK_MONOTONIC, the clock of g_get_monotonic_time) wakes the loop at
 * the microsecond asked.  Used where the delay itself is what is measured:
 * dynkvd's delayed datagrams (--net-delay) and dynkv-cluster's clients. */
#ifndef DK_PRECISE_TIMER_H
#define DK_PRECISE_TIMER_H

#include <glib.h>

typedef struct DkPreciseTimer DkPreciseTimer;

/* A timer attached to CONTEXT, disarmed: FUNC (DATA) runs from the loop
 * once the monotonic time reaches what dk_precise_timer_arm set (its
 * return value is ignored; it arms the timer again if it wants more).
 * NAME names the source.  NULL with ERROR set when no timerfd is had. */
DkPreciseTimer *dk_precise_timer_new (GMainContext *context, const char *name,
                                      GSourceFunc func, gpointer data, GError **error);

/* Fire at DUE_US (g_get_monotonic_time's clock); G_MAXINT64 disarms.  A
 * system call only when DUE_US differs from what the timer is armed for. */
void dk_precise_timer_arm (DkPreciseTimer *timer, gint64 due_us);

void dk_precise_timer_free (DkPreciseTimer *timer);

#endif /* DK_PRECISE_TIMER_H */
