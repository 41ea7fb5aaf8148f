/* data_lock.h — one dynkvd per data directory.
 *
 * Two daemons writing one store would each believe its versions its own
 * (the same actor issuing the same dots twice), so the daemon takes an
 * exclusive lock on DIR/lock before it opens DIR/node.db and keeps it
 * until it exits.  The lock is an fcntl() record lock: the kernel drops it
 * when the process ends, however it ends, so a crash never leaves a stale
 * lock behind, and F_GETLK names the holder's pid for the error message.
 * The file also holds the holder's pid as text, for people.
 */
#ifndef DK_DATA_LOCK_H
#define DK_DATA_LOCK_H

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct DkDataLock DkDataLock;

/* Create DIR when absent (mode 0700) and lock DIR/lock.  NULL with
 * G_IO_ERROR_BUSY when another process holds it, the message naming DIR
 * and that process's pid; another G_IO_ERROR when DIR or the file cannot
 * be made or opened. */
DkDataLock *dk_data_lock_acquire (const char *dir, GError **error);

/* Release the lock and close the file (the file stays). */
void dk_data_lock_release (DkDataLock *lock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkDataLock, dk_data_lock_release)

G_END_DECLS

#endif /* DK_DATA_LOCK_H */
