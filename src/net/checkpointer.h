/* checkpointer.h — a node's WAL checkpoints, on a thread of their own.
 *
 * SQLite checkpoints a WAL database inside the commit that takes the log
 * past 1000 pages: that commit copies the log into the database and syncs
 * both, milliseconds in which the daemon answers nobody, and its peers,
 * hearing nothing, may call it unreachable (node_reach.c).  A
 * DkCheckpointer takes that work off the node's thread: it watches the
 * store's log (dk_store_watch_log) and, once the log passes
 * DK_CHECKPOINTER_PAGES, wakes a thread that runs a passive checkpoint
 * (dk_store_checkpoint) on a second store of the same file.  The node's
 * thread only signals a condition variable.  Durability is unchanged.
 *
 * Lives in src/net/: the core library never touches a thread
 * (tests/node-symbols.sh). */
#ifndef DK_CHECKPOINTER_H
#define DK_CHECKPOINTER_H

#include "store.h"

G_BEGIN_DECLS

/* Log pages past which the thread is woken (SQLite's own threshold). */
#define DK_CHECKPOINTER_PAGES 1000u

typedef struct _DkCheckpointer DkCheckpointer;

/* Checkpoint STORE (a file store, borrowed: stop the checkpointer before
 * closing it) from a new thread, through a second store opened now on
 * dk_store_path (STORE) with OPTIONS (NULL: the defaults; their sync
 * setting is what a checkpoint's syncs follow).  NULL with an error when
 * that store cannot be opened or no thread can be made. */
DkCheckpointer *dk_checkpointer_start (DkStore *store, const DkStoreOptions *options,
                                       GError **error);

/* Give the checkpoints back to SQLite, wait for one under way, join the
 * thread and close its store.  NULL is ignored. */
void dk_checkpointer_stop (DkCheckpointer *checkpointer);

/* Checkpoints run so far (some may have found the log busy). */
guint64 dk_checkpointer_count (DkCheckpointer *checkpointer);

G_END_DECLS

#endif /* DK_CHECKPOINTER_H */
