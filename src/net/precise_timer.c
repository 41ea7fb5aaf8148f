/* precise_timer.c — a GSource on a timerfd; see precise_timer.h. */
#include "precise_timer.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <gio/gio.h>

struct DkPreciseTimer
{
  GSource     source;
  int         fd;
  gint64      armed_us;   /* what fd is armed for; G_MAXINT64: nothing */
  GSourceFunc func;
  gpointer    data;
};

/* The timerfd is readable: it expired.  Re-arming clears its
 * expirations, so it is never read. */
static gboolean
precise_timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  (void) callback;
  (void) user_data;
  DkPreciseTimer *timer = (DkPreciseTimer *) source;
  timer->armed_us = G_MAXINT64 - 1;   /* spent: whatever comes next re-arms it */
  timer->func (timer->data);
  return G_SOURCE_CONTINUE;
}

static void
precise_timer_finalize (GSource *source)
{
  DkPreciseTimer *timer = (DkPreciseTimer *) source;
  if (timer->fd >= 0)
    close (timer->fd);
}

static GSourceFuncs precise_timer_funcs = {
  .dispatch = precise_timer_dispatch,   /* ready when its descriptor is */
  .finalize = precise_timer_finalize,
};

DkPreciseTimer *
dk_precise_timer_new (GMainContext *context, const char *name, GSourceFunc func,
                      gpointer data, GError **error)
{
  int fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create the %s timer: %s", name, g_strerror (saved));
      return NULL;
    }
  GSource *source = g_source_new (&precise_timer_funcs, sizeof (DkPreciseTimer));
  DkPreciseTimer *timer = (DkPreciseTimer *) source;
  timer->fd = fd;
  timer->armed_us = G_MAXINT64;
  timer->func = func;
  timer->data = data;
  g_source_set_name (source, name);
  g_source_add_unix_fd (source, fd, G_IO_IN);
  /* It may fire from a loop turn run inside another dispatch, as a
   * socket's source does in udp_env.c. */
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, context);
  return timer;
}

void
dk_precise_timer_arm (DkPreciseTimer *timer, gint64 due_us)
{
  if (due_us == timer->armed_us)
    return;
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };
  if (due_us != G_MAXINT64)
    {
      gint64 at = MAX (due_us, 1);   /* 0 would disarm it */
      spec.it_value.tv_sec = at / G_USEC_PER_SEC;
      spec.it_value.tv_nsec = (long) (at % G_USEC_PER_SEC) * 1000;
    }
  if (timerfd_settime (timer->fd, TFD_TIMER_ABSTIME, &spec, NULL) < 0)
    g_warning ("cannot arm the %s timer: %s", g_source_get_name (&timer->source),
               g_strerror (errno));
  timer->armed_us = due_us;
}

void
dk_precise_timer_free (DkPreciseTimer *timer)
{
  if (timer == NULL)
    return;
  g_source_destroy (&timer->source);
  g_source_unref (&timer->source);
}
