/* store_vfs.h — the VFS the file stores open SQLite with: the default
 * VFS, except that the frames of a WAL transaction are written to the
 * log in one system call instead of two per page (store_vfs.c).  A COMMIT
 * returns with every frame of it in the file, as with the default VFS, so
 * what survives a crash and what other connections read are unchanged.
 * Not for use outside src/store*.c. */
#ifndef DK_STORE_VFS_H
#define DK_STORE_VFS_H

#include <glib.h>

G_BEGIN_DECLS

#define DK_STORE_VFS_NAME "dynkv-wal"

/* Register the VFS (once, thread-safe) and return its name for
 * sqlite3_open_v2; NULL when SQLite has no default VFS to wrap (then
 * the caller opens with the default). */
const char *dk_store_vfs_name (void);

G_END_DECLS

#endif
