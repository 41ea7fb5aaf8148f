/* node_handover.h — what node_rebalance.c (rings, what moves where,
 * sweeps, the leave) and node_stream.c (the offer that moves it) share;
 * nothing else includes it. */
#ifndef DK_NODE_HANDOVER_H
#define DK_NODE_HANDOVER_H

#include "node_private.h"

G_BEGIN_DECLS

/* While there is work, the offers are driven this often. */
#define NODE_HANDOVER_TICK_US 20000

/* A range to offer to its targets, a chunk of keys at a time. */
typedef struct
{
  DkTokenRange range;
  DkToken      cursor;       /* keys after this token are still to offer */
  gboolean     started;      /* cursor has moved (a whole-ring range has lo == hi) */
  gboolean     release;      /* purge what every target holds */
  gboolean     sweep;        /* planned by a sweep, not by a ring change */
  gboolean     retry;        /* a failed fill offer tried again */
  gint64       not_before_us;
  gint64       release_due_us; /* purge no earlier than this */
  guint        n_targets;
  DkNodeId     targets[DK_RING_MAX_REPLICAS];
} Task;

/* A node's membership-change state (node->handover). */
struct _Handover
{
  GQueue     *tasks;          /* Task*, in planning order */
  GQueue     *chunks;         /* Chunk*, being offered, oldest first */
  GQueue     *releasing;      /* Chunk*, held by every target, purged when due */
  GHashTable *pushes;         /* guint64 seq -> Push*, owns them */
  DkTimerId   tick_timer;
  DkTimerId   sweep_timer;
  guint64     ring_epoch;     /* ring changes so far */
  gint64      ring_changed_us;
  gint64      offered_us;     /* a peer last offered us keys (its ring changed) */
  gboolean    left;           /* leaving, and nothing left to hand off */
  guint       leave_acks;     /* gossip answers that showed our leave */
  gint64      wait_logged_us;
};

/* node_rebalance.c */
Task *node_handover_task_new (DkTokenRange range, gboolean release, gint64 not_before_us);
gboolean node_handover_self_leaving (const DkNode *node);
/* Streaming went idle: a leaver with nothing left to hand off has left. */
void node_handover_check_left (DkNode *node);

/* node_stream.c */
void node_handover_stream_init (Handover *handover);
void node_handover_stream_clear (DkNode *node);
/* Work on the tasks AFTER_US from now (unless a tick is due already). */
void node_handover_schedule (DkNode *node, gint64 after_us);
/* TRUE when TARGET can be offered anything now: a member believed up. */
gboolean node_handover_reachable (const DkNode *node, DkNodeId target);
/* Chunks out or waiting to be released, or tasks other than retries. */
gboolean node_handover_busy (const DkNode *node);
/* Tasks, chunks and pushes outstanding. */
guint node_handover_pending (const Handover *handover);

G_END_DECLS

#endif
