/* data_lock.c — an fcntl() lock on DIR/lock; see data_lock.h. */
#include "data_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

struct DkDataLock
{
  int   fd;
  char *path;
};

/* The pid holding a write lock on FD's whole file, or 0 when none could
 * be learnt (the holder just went away, or the file system cannot say). */
static pid_t
lock_holder (int fd)
{
  struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
  if (fcntl (fd, F_GETLK, &probe) != 0 || probe.l_type == F_UNLCK)
    return 0;
  return probe.l_pid;
}

DkDataLock *
dk_data_lock_acquire (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create the data directory %s: %s", dir, g_strerror (saved));
      return NULL;
    }
  g_autofree char *path = g_build_filename (dir, "lock", NULL);
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open %s: %s", path, g_strerror (saved));
      return NULL;
    }
  struct flock whole = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
  if (fcntl (fd, F_SETLK, &whole) != 0)
    {
      int saved = errno;
      pid_t holder = (saved == EACCES || saved == EAGAIN) ? lock_holder (fd) : 0;
      close (fd);
      if (saved == EACCES || saved == EAGAIN)
        {
          g_autofree char *who = holder > 0 ? g_strdup_printf ("pid %ld", (long) holder)
                                            : g_strdup ("a process that has just exited, or one on another host");
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       "the data directory %s is in use by another dynkvd (%s holds %s); "
                       "one node per data directory", dir, who, path);
        }
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     "cannot lock %s: %s", path, g_strerror (saved));
      return NULL;
    }
  /* The pid as text, for whoever looks; the lock itself is what counts. */
  char pid_text[32];
  int len = g_snprintf (pid_text, sizeof pid_text, "%ld\n", (long) getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid_text, (size_t) len, 0) != len)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot write %s: %s", path, g_strerror (saved));
      return NULL;
    }
  DkDataLock *lock = g_new0 (DkDataLock, 1);
  lock->fd = fd;
  lock->path = g_steal_pointer (&path);
  return lock;
}

void
dk_data_lock_release (DkDataLock *lock)
{
  if (lock == NULL)
    return;
  close (lock->fd);  /* closing drops the fcntl lock */
  g_free (lock->path);
  g_free (lock);
}
