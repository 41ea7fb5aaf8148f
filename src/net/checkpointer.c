/* checkpointer.c — WAL checkpoints on a thread; see checkpointer.h.
 *
 * The watched store's log hook runs on the node's thread after each
 * commit; past DK_CHECKPOINTER_PAGES it sets WANTED and signals.  The
 * thread waits for WANTED (or STOPPING), runs one passive checkpoint on
 * its own store, and waits again: a passive checkpoint never blocks the
 * writer, and once it has copied every frame the writer's next
 * transaction starts the log over, so the log stays near the threshold. */
#include "checkpointer.h"

struct _DkCheckpointer
{
  DkStore  *watched;      /* the node's store, borrowed */
  DkStore  *own;          /* the thread's store on the same file */
  GThread  *thread;
  GMutex    mutex;
  GCond     cond;
  gboolean  wanted;       /* the log passed the threshold since the last checkpoint */
  gboolean  stopping;
  guint64   checkpoints;
};

static void
log_watch (gpointer data, guint log_pages)
{
  DkCheckpointer *checkpointer = data;
  if (log_pages < DK_CHECKPOINTER_PAGES)
    return;
  g_mutex_lock (&checkpointer->mutex);
  if (!checkpointer->wanted)
    {
      checkpointer->wanted = TRUE;
      g_cond_signal (&checkpointer->cond);
    }
  g_mutex_unlock (&checkpointer->mutex);
}

static gpointer
checkpoint_thread (gpointer data)
{
  DkCheckpointer *checkpointer = data;
  gboolean warned = FALSE;
  g_mutex_lock (&checkpointer->mutex);
  for (;;)
    {
      while (!checkpointer->wanted && !checkpointer->stopping)
        g_cond_wait (&checkpointer->cond, &checkpointer->mutex);
      if (checkpointer->stopping)
        break;
      checkpointer->wanted = FALSE;
      g_mutex_unlock (&checkpointer->mutex);
      g_autoptr (GError) error = NULL;
      if (!dk_store_checkpoint (checkpointer->own, &error) && !warned)
        {
          /* The log only grows longer; the next commit asks again. */
          g_warning ("%s", error->message);
          warned = TRUE;
        }
      g_mutex_lock (&checkpointer->mutex);
      checkpointer->checkpoints++;
    }
  g_mutex_unlock (&checkpointer->mutex);
  return NULL;
}

DkCheckpointer *
dk_checkpointer_start (DkStore *store, const DkStoreOptions *options, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  DkStore *own = dk_store_open (dk_store_path (store), options, error);
  if (own == NULL)
    return NULL;
  DkCheckpointer *checkpointer = g_new0 (DkCheckpointer, 1);
  checkpointer->watched = store;
  checkpointer->own = own;
  g_mutex_init (&checkpointer->mutex);
  g_cond_init (&checkpointer->cond);
  checkpointer->thread = g_thread_try_new ("dk-checkpoint", checkpoint_thread, checkpointer,
                                           error);
  if (checkpointer->thread == NULL)
    {
      g_prefix_error (error, "%s: no thread for checkpoints: ", dk_store_path (store));
      g_mutex_clear (&checkpointer->mutex);
      g_cond_clear (&checkpointer->cond);
      dk_store_close (own);
      g_free (checkpointer);
      return NULL;
    }
  dk_store_watch_log (store, log_watch, checkpointer);
  return checkpointer;
}

void
dk_checkpointer_stop (DkCheckpointer *checkpointer)
{
  if (checkpointer == NULL)
    return;
  dk_store_watch_log (checkpointer->watched, NULL, NULL);
  g_mutex_lock (&checkpointer->mutex);
  checkpointer->stopping = TRUE;
  g_cond_signal (&checkpointer->cond);
  g_mutex_unlock (&checkpointer->mutex);
  g_thread_join (checkpointer->thread);
  g_mutex_clear (&checkpointer->mutex);
  g_cond_clear (&checkpointer->cond);
  dk_store_close (checkpointer->own);
  g_free (checkpointer);
}

guint64
dk_checkpointer_count (DkCheckpointer *checkpointer)
{
  g_mutex_lock (&checkpointer->mutex);
  guint64 count = checkpointer->checkpoints;
  g_mutex_unlock (&checkpointer->mutex);
  return count;
}
