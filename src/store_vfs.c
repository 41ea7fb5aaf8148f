/* store_vfs.c — the file stores' SQLite VFS: the default one, except that
 * a transaction's WAL frames reach the kernel in one write; see store_vfs.h.
 *
 * SQLite writes each WAL frame with two pwrite calls (its 24-byte header,
 * then the page), so a commit of F pages costs 2F system calls.  Here a
 * WAL file keeps the frames appended since the last flush in a buffer and
 * writes them at once when the commit frame's page arrives (a frame
 * header whose bytes 4..7, the database size after the commit, are not
 * zero marks a commit, as in SQLite's file format), and before anything
 * else touches the file: a read, a sync, a truncation, a size query, a
 * file control, a write elsewhere (SQLite's in-place rewrites of frames
 * and checksums are never buffered), closing.  So when a COMMIT returns,
 * and before SQLite publishes the new frames in the WAL index for other
 * connections (the checkpointer's), every one of them is in the file, as
 * with the default VFS: durability and what readers see are unchanged.
 * Files other than WAL files are the default VFS's own. */
#include <string.h>
#include <sqlite3.h>
#include "store_vfs.h"

/* Frames buffered at most before a write (a larger transaction, e.g. a
 * cache spill, is written in pieces of about this size). */
#define BUFFER_LIMIT (1u << 20)
#define WRITE_CHUNK (31u * 4096)
#define FRAME_HEADER_BYTES 24

typedef struct
{
  sqlite3_file   base;          /* pMethods = &wal_methods */
  sqlite3_file  *real;          /* the default VFS's file, right after this struct */
  guint8        *buffer;
  gsize          len;           /* bytes buffered, for file offset START */
  gsize          capacity;
  sqlite3_int64  start;
  sqlite3_int64  next_append;   /* where the next frame goes, or -1 when unknown */
  gboolean       commit_header; /* the last write was a commit frame's header */
} WalFile;

static sqlite3_vfs *base_vfs;   /* the default VFS, set once */

/* Write what is buffered, WRITE_CHUNK bytes a call: the default VFS
 * writes at most 128 KiB at once (it masks the length to 17 bits). */
static int
flush (WalFile *file)
{
  int rc = SQLITE_OK;
  for (gsize done = 0; done < file->len && rc == SQLITE_OK;)
    {
      gsize amount = MIN (file->len - done, WRITE_CHUNK);
      rc = file->real->pMethods->xWrite (file->real, file->buffer + done, (int) amount,
                                         file->start + (sqlite3_int64) done);
      done += amount;
    }
  file->len = 0;   /* on failure too: SQLite fails the transaction */
  return rc;
}

static gboolean
is_commit_header (const void *data, int amount)
{
  const guint8 *bytes = data;
  return amount == FRAME_HEADER_BYTES && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

/* Buffer a write that appends to the frames of the transaction (or to
 * the log, when nothing is buffered); write anything else through, after
 * what is buffered. */
static int
wal_write (sqlite3_file *handle, const void *data, int amount, sqlite3_int64 offset)
{
  WalFile *file = (WalFile *) handle;
  gboolean commit_page = file->commit_header;
  file->commit_header = is_commit_header (data, amount);
  gboolean appends = file->len > 0 ? offset == file->start + (sqlite3_int64) file->len
                                   : offset == file->next_append;
  if (!appends || file->len + (gsize) amount > BUFFER_LIMIT)
    {
      int rc = flush (file);
      if (rc != SQLITE_OK)
        return rc;
    }
  if (!appends)
    {
      /* The log header (frames follow it), a rewrite in place, or a frame
       * where none was expected (the first after the file was opened). */
      int rc = file->real->pMethods->xWrite (file->real, data, amount, offset);
      if (rc == SQLITE_OK && (offset == 0 || offset + amount > file->next_append))
        file->next_append = offset + amount;
      return rc;
    }
  if (file->len == 0)
    file->start = offset;
  if (file->len + (gsize) amount > file->capacity)
    {
      file->capacity = MAX (file->len + (gsize) amount,
                            MIN (2 * file->capacity + 8192, BUFFER_LIMIT));
      file->buffer = g_realloc (file->buffer, file->capacity);
    }
  memcpy (file->buffer + file->len, data, (gsize) amount);
  file->len += (gsize) amount;
  file->next_append = file->start + (sqlite3_int64) file->len;
  /* The commit frame is complete: the transaction goes to the file now. */
  return commit_page ? flush (file) : SQLITE_OK;
}

static int
wal_close (sqlite3_file *handle)
{
  WalFile *file = (WalFile *) handle;
  int rc = flush (file);
  int close_rc = file->real->pMethods->xClose (file->real);
  g_clear_pointer (&file->buffer, g_free);
  return rc != SQLITE_OK ? rc : close_rc;
}

/* Everything else flushes first, then does what the default file does. */
#define REAL(handle) (((WalFile *) (handle))->real)
#define FLUSHED(handle) \
  int flush_rc = flush ((WalFile *) (handle)); \
  if (flush_rc != SQLITE_OK) \
    return flush_rc

static int
wal_read (sqlite3_file *handle, void *data, int amount, sqlite3_int64 offset)
{
  FLUSHED (handle);
  return REAL (handle)->pMethods->xRead (REAL (handle), data, amount, offset);
}

static int
wal_truncate (sqlite3_file *handle, sqlite3_int64 size)
{
  FLUSHED (handle);
  ((WalFile *) handle)->next_append = -1;
  return REAL (handle)->pMethods->xTruncate (REAL (handle), size);
}

static int
wal_sync (sqlite3_file *handle, int flags)
{
  FLUSHED (handle);
  return REAL (handle)->pMethods->xSync (REAL (handle), flags);
}

static int
wal_file_size (sqlite3_file *handle, sqlite3_int64 *size)
{
  FLUSHED (handle);
  return REAL (handle)->pMethods->xFileSize (REAL (handle), size);
}

static int
wal_file_control (sqlite3_file *handle, int op, void *arg)
{
  FLUSHED (handle);
  return REAL (handle)->pMethods->xFileControl (REAL (handle), op, arg);
}

static int
wal_fetch (sqlite3_file *handle, sqlite3_int64 offset, int amount, void **out)
{
  FLUSHED (handle);
  return REAL (handle)->pMethods->xFetch (REAL (handle), offset, amount, out);
}

static int
wal_lock (sqlite3_file *handle, int level)
{
  return REAL (handle)->pMethods->xLock (REAL (handle), level);
}

static int
wal_unlock (sqlite3_file *handle, int level)
{
  return REAL (handle)->pMethods->xUnlock (REAL (handle), level);
}

static int
wal_check_reserved_lock (sqlite3_file *handle, int *out)
{
  return REAL (handle)->pMethods->xCheckReservedLock (REAL (handle), out);
}

static int
wal_sector_size (sqlite3_file *handle)
{
  return REAL (handle)->pMethods->xSectorSize (REAL (handle));
}

static int
wal_device_characteristics (sqlite3_file *handle)
{
  return REAL (handle)->pMethods->xDeviceCharacteristics (REAL (handle));
}

static int
wal_shm_map (sqlite3_file *handle, int region, int size, int extend, void volatile **out)
{
  return REAL (handle)->pMethods->xShmMap (REAL (handle), region, size, extend, out);
}

static int
wal_shm_lock (sqlite3_file *handle, int offset, int n, int flags)
{
  return REAL (handle)->pMethods->xShmLock (REAL (handle), offset, n, flags);
}

static void
wal_shm_barrier (sqlite3_file *handle)
{
  REAL (handle)->pMethods->xShmBarrier (REAL (handle));
}

static int
wal_shm_unmap (sqlite3_file *handle, int delete_flag)
{
  return REAL (handle)->pMethods->xShmUnmap (REAL (handle), delete_flag);
}

static int
wal_unfetch (sqlite3_file *handle, sqlite3_int64 offset, void *data)
{
  return REAL (handle)->pMethods->xUnfetch (REAL (handle), offset, data);
}

static const sqlite3_io_methods wal_methods = {
  .iVersion = 3,
  .xClose = wal_close,
  .xRead = wal_read,
  .xWrite = wal_write,
  .xTruncate = wal_truncate,
  .xSync = wal_sync,
  .xFileSize = wal_file_size,
  .xLock = wal_lock,
  .xUnlock = wal_unlock,
  .xCheckReservedLock = wal_check_reserved_lock,
  .xFileControl = wal_file_control,
  .xSectorSize = wal_sector_size,
  .xDeviceCharacteristics = wal_device_characteristics,
  .xShmMap = wal_shm_map,
  .xShmLock = wal_shm_lock,
  .xShmBarrier = wal_shm_barrier,
  .xShmUnmap = wal_shm_unmap,
  .xFetch = wal_fetch,
  .xUnfetch = wal_unfetch,
};

/* A WAL file wraps the default one (placed after it in the same block,
 * which SQLite sized as szOsFile); any other file is the default's own. */
static int
vfs_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *handle, int flags, int *out_flags)
{
  if ((flags & SQLITE_OPEN_WAL) == 0)
    return base_vfs->xOpen (base_vfs, name, handle, flags, out_flags);
  WalFile *file = (WalFile *) handle;
  memset (file, 0, sizeof *file);
  file->real = (sqlite3_file *) (file + 1);
  file->next_append = -1;
  int rc = base_vfs->xOpen (base_vfs, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK)
    return rc;   /* base.pMethods stays NULL: SQLite closes nothing */
  if (file->real->pMethods == NULL)
    return SQLITE_CANTOPEN;
  file->base.pMethods = &wal_methods;
  return SQLITE_OK;
}

static int
vfs_delete (sqlite3_vfs *vfs, const char *name, int sync_dir)
{
  return base_vfs->xDelete (base_vfs, name, sync_dir);
}

static int
vfs_access (sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
  return base_vfs->xAccess (base_vfs, name, flags, out);
}

static int
vfs_full_pathname (sqlite3_vfs *vfs, const char *name, int size, char *out)
{
  return base_vfs->xFullPathname (base_vfs, name, size, out);
}

static void *
vfs_dl_open (sqlite3_vfs *vfs, const char *name)
{
  return base_vfs->xDlOpen (base_vfs, name);
}

static void
vfs_dl_error (sqlite3_vfs *vfs, int size, char *out)
{
  base_vfs->xDlError (base_vfs, size, out);
}

static void
(*vfs_dl_sym (sqlite3_vfs *vfs, void *library, const char *symbol)) (void)
{
  return base_vfs->xDlSym (base_vfs, library, symbol);
}

static void
vfs_dl_close (sqlite3_vfs *vfs, void *library)
{
  base_vfs->xDlClose (base_vfs, library);
}

static int
vfs_randomness (sqlite3_vfs *vfs, int size, char *out)
{
  return base_vfs->xRandomness (base_vfs, size, out);
}

static int
vfs_sleep (sqlite3_vfs *vfs, int microseconds)
{
  return base_vfs->xSleep (base_vfs, microseconds);
}

static int
vfs_current_time (sqlite3_vfs *vfs, double *out)
{
  return base_vfs->xCurrentTime (base_vfs, out);
}

static int
vfs_get_last_error (sqlite3_vfs *vfs, int size, char *out)
{
  return base_vfs->xGetLastError != NULL ? base_vfs->xGetLastError (base_vfs, size, out) : 0;
}

static int
vfs_current_time_int64 (sqlite3_vfs *vfs, sqlite3_int64 *out)
{
  return base_vfs->xCurrentTimeInt64 (base_vfs, out);
}

static sqlite3_vfs vfs = {
  .iVersion = 2,
  .mxPathname = 0,     /* the default's, at registration */
  .zName = DK_STORE_VFS_NAME,
  .xOpen = vfs_open,
  .xDelete = vfs_delete,
  .xAccess = vfs_access,
  .xFullPathname = vfs_full_pathname,
  .xDlOpen = vfs_dl_open,
  .xDlError = vfs_dl_error,
  .xDlSym = vfs_dl_sym,
  .xDlClose = vfs_dl_close,
  .xRandomness = vfs_randomness,
  .xSleep = vfs_sleep,
  .xCurrentTime = vfs_current_time,
  .xGetLastError = vfs_get_last_error,
  .xCurrentTimeInt64 = vfs_current_time_int64,
};

const char *
dk_store_vfs_name (void)
{
  static gsize registered = 0;
  if (g_once_init_enter (&registered))
    {
      gsize ok = 1;
      base_vfs = sqlite3_vfs_find (NULL);
      /* The default VFS of SQLite's unix build: its files are of version 3. */
      if (base_vfs == NULL || base_vfs->iVersion < 2)
        ok = 2;
      else
        {
          vfs.mxPathname = base_vfs->mxPathname;
          vfs.szOsFile = (int) sizeof (WalFile) + base_vfs->szOsFile;
          if (sqlite3_vfs_register (&vfs, 0) != SQLITE_OK)
            ok = 2;
        }
      g_once_init_leave (&registered, ok);
    }
  return registered == 1 ? DK_STORE_VFS_NAME : NULL;
}
