/* eventq.c — a binary min-heap of events keyed by (time, sequence).
 *
 * Event records live in the heap by value; cancellation looks the id up in
 * a side table (id -> heap slot is not tracked, so a cancelled id is kept
 * in a set and skipped when it surfaces).  Both the heap and the set are
 * keyed only by numbers, never by addresses. */
#include "eventq.h"

typedef struct
{
  gint64 at_us;
  DkEventId id;          /* also the tie-breaking sequence number */
  DkEventFunc func;
  gpointer data;
} Event;

struct _DkEventQueue
{
  GArray *heap;          /* of Event, heap-ordered */
  GHashTable *cancelled; /* ids (as pointers to guint64 keys) */
  gint64 now_us;
  DkEventId next_id;
  guint cancelled_in_heap;
};

static inline gboolean
event_before (const Event *a, const Event *b)
{
  return a->at_us < b->at_us || (a->at_us == b->at_us && a->id < b->id);
}

DkEventQueue *
dk_eventq_new (void)
{
  DkEventQueue *queue = g_new0 (DkEventQueue, 1);
  queue->heap = g_array_sized_new (FALSE, FALSE, sizeof (Event), 1024);
  queue->cancelled = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  queue->next_id = 1;
  return queue;
}

void
dk_eventq_free (DkEventQueue *queue)
{
  if (queue == NULL)
    return;
  g_array_free (queue->heap, TRUE);
  g_hash_table_destroy (queue->cancelled);
  g_free (queue);
}

gint64
dk_eventq_now (const DkEventQueue *queue)
{
  return queue->now_us;
}

static void
sift_up (GArray *heap, guint slot)
{
  Event *events = (Event *) heap->data;
  Event moving = events[slot];
  while (slot > 0)
    {
      guint parent = (slot - 1) / 2;
      if (!event_before (&moving, &events[parent]))
        break;
      events[slot] = events[parent];
      slot = parent;
    }
  events[slot] = moving;
}

static void
sift_down (GArray *heap, guint slot)
{
  Event *events = (Event *) heap->data;
  guint n = heap->len;
  Event moving = events[slot];
  for (;;)
    {
      guint child = 2 * slot + 1;
      if (child >= n)
        break;
      if (child + 1 < n && event_before (&events[child + 1], &events[child]))
        child++;
      if (!event_before (&events[child], &moving))
        break;
      events[slot] = events[child];
      slot = child;
    }
  events[slot] = moving;
}

DkEventId
dk_eventq_schedule_at (DkEventQueue *queue, gint64 at_us, DkEventFunc func, gpointer data)
{
  g_return_val_if_fail (func != NULL, 0);
  Event event = {
    .at_us = MAX (at_us, queue->now_us),
    .id = queue->next_id++,
    .func = func,
    .data = data,
  };
  g_array_append_val (queue->heap, event);
  sift_up (queue->heap, queue->heap->len - 1);
  return event.id;
}

DkEventId
dk_eventq_schedule (DkEventQueue *queue, gint64 after_us, DkEventFunc func, gpointer data)
{
  return dk_eventq_schedule_at (queue, queue->now_us + MAX (after_us, 0), func, data);
}

void
dk_eventq_cancel (DkEventQueue *queue, DkEventId id)
{
  if (id == 0 || id >= queue->next_id)
    return;
  /* Only ids still in the heap matter; a linear scan would be O(n), so we
   * record the id and let pop skip it.  Ids of events that already ran are
   * recorded too but never surface, so drop them when the heap empties. */
  guint64 *key = g_new (guint64, 1);
  *key = id;
  if (g_hash_table_add (queue->cancelled, key))
    queue->cancelled_in_heap++;
}

static gboolean
pop_next (DkEventQueue *queue, gint64 until_us, Event *out)
{
  GArray *heap = queue->heap;
  while (heap->len > 0)
    {
      Event *events = (Event *) heap->data;
      if (events[0].at_us > until_us)
        return FALSE;
      *out = events[0];
      events[0] = events[heap->len - 1];
      g_array_set_size (heap, heap->len - 1);
      if (heap->len > 0)
        sift_down (heap, 0);
      if (queue->cancelled_in_heap > 0 && g_hash_table_remove (queue->cancelled, &out->id))
        {
          queue->cancelled_in_heap--;
          continue;
        }
      return TRUE;
    }
  return FALSE;
}

guint64
dk_eventq_run_until (DkEventQueue *queue, gint64 until_us)
{
  guint64 ran = 0;
  Event event;
  while (pop_next (queue, until_us, &event))
    {
      queue->now_us = event.at_us;
      event.func (event.data);
      ran++;
    }
  if (queue->heap->len == 0 && queue->cancelled_in_heap > 0)
    {
      g_hash_table_remove_all (queue->cancelled);
      queue->cancelled_in_heap = 0;
    }
  if (until_us > queue->now_us)
    queue->now_us = until_us;
  return ran;
}

guint
dk_eventq_pending (const DkEventQueue *queue)
{
  /* Cancelled ids of events that already ran may inflate the set, so this
   * counts heap entries that are not cancelled. */
  guint pending = 0;
  const Event *events = (const Event *) queue->heap->data;
  for (guint i = 0; i < queue->heap->len; i++)
    if (queue->cancelled_in_heap == 0 || !g_hash_table_contains (queue->cancelled, &events[i].id))
      pending++;
  return pending;
}
