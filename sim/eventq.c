/* eventq.c — an indexed binary min-heap of events keyed by (time, sequence).
 *
 * Event records live in a pool of slots reused through a free list; the
 * heap holds slot numbers and every slot remembers its heap position, so
 * cancel removes an event in O(log n).  An event id packs the slot number
 * with the slot's generation (bumped on every reuse), so a stale id can
 * never cancel a later event that reuses the slot. */
#include "eventq.h"

#define NOT_IN_HEAP G_MAXUINT32

typedef struct
{
  gint64 at_us;
  guint64 sequence;      /* scheduling order: the tie-break */
  DkEventFunc func;
  gpointer data;
  guint32 heap_position; /* NOT_IN_HEAP when free or running */
  guint32 generation;
} Slot;

struct _DkEventQueue
{
  GArray *slots;         /* of Slot */
  GArray *heap;          /* of guint32 slot numbers, heap-ordered */
  GArray *free_slots;    /* of guint32 */
  gint64 now_us;
  guint64 next_sequence;
};

static inline DkEventId
make_id (guint32 slot, guint32 generation)
{
  return ((guint64) generation << 32) | ((guint64) slot + 1);
}

DkEventQueue *
dk_eventq_new (void)
{
  DkEventQueue *queue = g_new0 (DkEventQueue, 1);
  queue->slots = g_array_sized_new (FALSE, FALSE, sizeof (Slot), 1024);
  queue->heap = g_array_sized_new (FALSE, FALSE, sizeof (guint32), 1024);
  queue->free_slots = g_array_new (FALSE, FALSE, sizeof (guint32));
  return queue;
}

void
dk_eventq_free (DkEventQueue *queue)
{
  if (queue == NULL)
    return;
  g_array_free (queue->slots, TRUE);
  g_array_free (queue->heap, TRUE);
  g_array_free (queue->free_slots, TRUE);
  g_free (queue);
}

gint64
dk_eventq_now (const DkEventQueue *queue)
{
  return queue->now_us;
}

static inline gboolean
slot_before (const Slot *slots, guint32 a, guint32 b)
{
  return slots[a].at_us < slots[b].at_us
         || (slots[a].at_us == slots[b].at_us && slots[a].sequence < slots[b].sequence);
}

static inline void
heap_place (DkEventQueue *queue, guint32 position, guint32 slot)
{
  g_array_index (queue->heap, guint32, position) = slot;
  g_array_index (queue->slots, Slot, slot).heap_position = position;
}

static void
sift_up (DkEventQueue *queue, guint32 position)
{
  const Slot *slots = (const Slot *) queue->slots->data;
  guint32 *heap = (guint32 *) queue->heap->data;
  guint32 moving = heap[position];
  while (position > 0)
    {
      guint32 parent = (position - 1) / 2;
      if (!slot_before (slots, moving, heap[parent]))
        break;
      heap_place (queue, position, heap[parent]);
      position = parent;
    }
  heap_place (queue, position, moving);
}

static void
sift_down (DkEventQueue *queue, guint32 position)
{
  const Slot *slots = (const Slot *) queue->slots->data;
  guint32 *heap = (guint32 *) queue->heap->data;
  guint32 n = queue->heap->len;
  guint32 moving = heap[position];
  for (;;)
    {
      guint32 child = 2 * position + 1;
      if (child >= n)
        break;
      if (child + 1 < n && slot_before (slots, heap[child + 1], heap[child]))
        child++;
      if (!slot_before (slots, heap[child], moving))
        break;
      heap_place (queue, position, heap[child]);
      position = child;
    }
  heap_place (queue, position, moving);
}

/* Take the event at heap POSITION out of the heap. */
static void
heap_remove (DkEventQueue *queue, guint32 position)
{
  guint32 slot = g_array_index (queue->heap, guint32, position);
  guint32 last = queue->heap->len - 1;
  g_array_index (queue->slots, Slot, slot).heap_position = NOT_IN_HEAP;
  if (position != last)
    {
      heap_place (queue, position, g_array_index (queue->heap, guint32, last));
      g_array_set_size (queue->heap, last);
      sift_down (queue, position);
      sift_up (queue, g_array_index (queue->slots, Slot,
                                     g_array_index (queue->heap, guint32, position)).heap_position);
    }
  else
    g_array_set_size (queue->heap, last);
}

static void
release_slot (DkEventQueue *queue, guint32 slot)
{
  Slot *record = &g_array_index (queue->slots, Slot, slot);
  record->func = NULL;
  record->data = NULL;
  record->generation++;
  g_array_append_val (queue->free_slots, slot);
}

DkEventId
dk_eventq_schedule_at (DkEventQueue *queue, gint64 at_us, DkEventFunc func, gpointer data)
{
  g_return_val_if_fail (func != NULL, 0);
  guint32 slot;
  if (queue->free_slots->len > 0)
    {
      slot = g_array_index (queue->free_slots, guint32, queue->free_slots->len - 1);
      g_array_set_size (queue->free_slots, queue->free_slots->len - 1);
    }
  else
    {
      Slot fresh = { .heap_position = NOT_IN_HEAP };
      g_array_append_val (queue->slots, fresh);
      slot = queue->slots->len - 1;
    }
  Slot *record = &g_array_index (queue->slots, Slot, slot);
  record->at_us = MAX (at_us, queue->now_us);
  record->sequence = queue->next_sequence++;
  record->func = func;
  record->data = data;
  guint32 position = queue->heap->len;
  g_array_append_val (queue->heap, slot);
  record->heap_position = position;
  sift_up (queue, position);
  return make_id (slot, record->generation);
}

DkEventId
dk_eventq_schedule (DkEventQueue *queue, gint64 after_us, DkEventFunc func, gpointer data)
{
  return dk_eventq_schedule_at (queue, queue->now_us + MAX (after_us, 0), func, data);
}

void
dk_eventq_cancel (DkEventQueue *queue, DkEventId id)
{
  guint64 slot_plus_one = id & G_MAXUINT32;
  if (slot_plus_one == 0 || slot_plus_one > queue->slots->len)
    return;
  guint32 slot = (guint32) (slot_plus_one - 1);
  Slot *record = &g_array_index (queue->slots, Slot, slot);
  if (record->generation != (guint32) (id >> 32) || record->heap_position == NOT_IN_HEAP)
    return;
  heap_remove (queue, record->heap_position);
  release_slot (queue, slot);
}

guint64
dk_eventq_run_until (DkEventQueue *queue, gint64 until_us)
{
  guint64 ran = 0;
  while (queue->heap->len > 0)
    {
      guint32 slot = g_array_index (queue->heap, guint32, 0);
      Slot *record = &g_array_index (queue->slots, Slot, slot);
      if (record->at_us > until_us)
        break;
      queue->now_us = record->at_us;
      DkEventFunc func = record->func;
      gpointer data = record->data;
      heap_remove (queue, 0);
      release_slot (queue, slot);
      func (data);
      ran++;
    }
  if (until_us > queue->now_us)
    queue->now_us = until_us;
  return ran;
}

guint
dk_eventq_pending (const DkEventQueue *queue)
{
  return queue->heap->len;
}
