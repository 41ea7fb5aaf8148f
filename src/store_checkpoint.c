/* store_checkpoint.c — WAL checkpoints off the write path (store.h,
 * DkStoreOptions.checkpoint_in_background).
 *
 * SQLite checkpoints a WAL database from the connection that commits,
 * inside the commit that takes the log past wal_autocheckpoint pages: that
 * commit copies the log into the database and fsyncs both, milliseconds
 * during which a daemon answers nobody (and its peers, hearing nothing,
 * mark it unreachable: node_reach.c).  Instead the store's own connection
 * never checkpoints; its WAL hook tells a thread of the store's, which runs
 * PASSIVE checkpoints on a second connection to the same file.  A passive
 * checkpoint copies only frames no reader needs and never blocks the
 * writer; once it has copied every frame, the writer's next transaction
 * starts the log over, so the log stays about CHECKPOINT_PAGES long.
 * Durability is unchanged: a commit is durable (per the synchronous
 * setting) when it is in the WAL, whoever copies it later. */
#include "store_private.h"

/* Log pages past which the thread is woken (SQLite's own default). */
#define CHECKPOINT_PAGES 1000

struct _DkStoreCheckpointer
{
  char     *path;
  gboolean  full_sync;
  GThread  *thread;
  GMutex    mutex;
  GCond     cond;
  gboolean  wanted;    /* the log passed CHECKPOINT_PAGES since the last checkpoint */
  gboolean  stopping;
  guint64   checkpoints;
};

static int
wal_hook (gpointer data, sqlite3 *db, const char *name, int pages)
{
  DkStoreCheckpointer *checkpointer = data;
  if (pages < CHECKPOINT_PAGES)
    return SQLITE_OK;
  g_mutex_lock (&checkpointer->mutex);
  if (!checkpointer->wanted)
    {
      checkpointer->wanted = TRUE;
      g_cond_signal (&checkpointer->cond);
    }
  g_mutex_unlock (&checkpointer->mutex);
  return SQLITE_OK;
}

static gpointer
checkpoint_thread (gpointer data)
{
  DkStoreCheckpointer *checkpointer = data;
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (checkpointer->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                            NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db, checkpointer->full_sync ? "PRAGMA synchronous = FULL"
                                                   : "PRAGMA synchronous = NORMAL",
                       NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    g_warning ("%s: cannot open a connection for checkpoints (%s); the log grows until close",
               checkpointer->path, db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  g_mutex_lock (&checkpointer->mutex);
  for (;;)
    {
      while (!checkpointer->wanted && !checkpointer->stopping)
        g_cond_wait (&checkpointer->cond, &checkpointer->mutex);
      if (checkpointer->stopping)
        break;
      checkpointer->wanted = FALSE;
      g_mutex_unlock (&checkpointer->mutex);
      /* SQLITE_BUSY (another checkpoint, a recovery) only means "later":
       * the hook asks again after the next commit. */
      if (rc == SQLITE_OK)
        sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
      g_mutex_lock (&checkpointer->mutex);
      checkpointer->checkpoints++;
    }
  g_mutex_unlock (&checkpointer->mutex);
  sqlite3_close (db);
  return NULL;
}

gboolean
dk_store_checkpointer_start (DkStore *store, GError **error)
{
  DkStoreCheckpointer *checkpointer = g_new0 (DkStoreCheckpointer, 1);
  checkpointer->path = g_strdup (store->path);
  checkpointer->full_sync = store->options.sync == DK_STORE_SYNC_FULL;
  g_mutex_init (&checkpointer->mutex);
  g_cond_init (&checkpointer->cond);
  checkpointer->thread = g_thread_try_new ("dk-checkpoint", checkpoint_thread, checkpointer,
                                           error);
  if (checkpointer->thread == NULL)
    {
      g_prefix_error (error, "%s: cannot start the checkpoint thread: ", store->path);
      g_free (checkpointer->path);
      g_free (checkpointer);
      return FALSE;
    }
  /* Replaces SQLite's own hook, the one that checkpoints on commit. */
  sqlite3_wal_hook (store->db, wal_hook, checkpointer);
  store->checkpointer = checkpointer;
  return TRUE;
}

void
dk_store_checkpointer_stop (DkStore *store)
{
  DkStoreCheckpointer *checkpointer = store->checkpointer;
  if (checkpointer == NULL)
    return;
  sqlite3_wal_hook (store->db, NULL, NULL);
  g_mutex_lock (&checkpointer->mutex);
  checkpointer->stopping = TRUE;
  g_cond_signal (&checkpointer->cond);
  g_mutex_unlock (&checkpointer->mutex);
  g_thread_join (checkpointer->thread);
  g_mutex_clear (&checkpointer->mutex);
  g_cond_clear (&checkpointer->cond);
  g_free (checkpointer->path);
  g_free (checkpointer);
  store->checkpointer = NULL;
}
