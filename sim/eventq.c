/* eventq.c — an indexed binary min-heap of events keyed by (time, sequence).
 *
 * Event records live in a pool of slots reused through a free list; the
 * heap holds (time, sequence, slot) entries, so sifting never leaves the
 * heap array, and every slot remembers its heap position, so cancel
 * removes an event in O(log n).  Keys are unique, so the order events run
 * in does not depend on how the heap happens to be arranged.  An event id packs the slot number
 * with the slot's generation (bumped on every reuse), so a stale id can
 * never cancel a later event that reuses the slot. */
#include "eventq.h"

#define NOT_IN_HEAP G_MAXUINT32

typedef struct
{
  DkEventFunc func;
  gpointer data;
  GDestroyNotify destroy;
  guint32 heap_position; /* NOT_IN_HEAP when free or running */
  guint32 generation;
} Slot;

/* A heap entry carries its own ordering key, so sifting compares
 * neighbouring entries without visiting the slots. */
typedef struct
{
  gint64 at_us;
  guint64 sequence;      /* scheduling order: the tie-break */
  guint32 slot;
} HeapEntry;

struct _DkEventQueue
{
  Slot *slots;
  guint32 n_slots, slots_capacity;
  HeapEntry *heap;       /* heap-ordered by (at_us, sequence) */
  guint32 heap_len, heap_capacity;
  guint32 *free_slots;   /* a stack of free slot numbers */
  guint32 n_free, free_capacity;
  gint64 now_us;
  guint64 next_sequence;
};

static inline DkEventId
make_id (guint32 slot, guint32 generation)
{
  return ((guint64) generation << 32) | ((guint64) slot + 1);
}

/* Room for one more element in an array of ELEMENT_SIZE-byte elements. */
static void
reserve_one (gpointer *array, guint32 len, guint32 *capacity, gsize element_size)
{
  if (len < *capacity)
    return;
  g_assert (*capacity < G_MAXUINT32 / 2);
  *capacity = MAX (1024u, *capacity * 2);
  *array = g_realloc_n (*array, *capacity, element_size);
}

DkEventQueue *
dk_eventq_new (void)
{
  return g_new0 (DkEventQueue, 1);
}

void
dk_eventq_free (DkEventQueue *queue)
{
  if (queue == NULL)
    return;
  for (guint32 i = 0; i < queue->heap_len; i++)
    {
      Slot *record = &queue->slots[queue->heap[i].slot];
      if (record->destroy != NULL)
        record->destroy (record->data);
    }
  g_free (queue->slots);
  g_free (queue->heap);
  g_free (queue->free_slots);
  g_free (queue);
}

gint64
dk_eventq_now (const DkEventQueue *queue)
{
  return queue->now_us;
}

static inline gboolean
entry_before (const HeapEntry *a, const HeapEntry *b)
{
  return a->at_us < b->at_us || (a->at_us == b->at_us && a->sequence < b->sequence);
}

static inline void
heap_place (DkEventQueue *queue, guint32 position, const HeapEntry *entry)
{
  queue->heap[position] = *entry;
  queue->slots[entry->slot].heap_position = position;
}

/* Put MOVING at POSITION or above it. */
static void
sift_up (DkEventQueue *queue, guint32 position, HeapEntry moving)
{
  while (position > 0)
    {
      guint32 parent = (position - 1) / 2;
      if (!entry_before (&moving, &queue->heap[parent]))
        break;
      heap_place (queue, position, &queue->heap[parent]);
      position = parent;
    }
  heap_place (queue, position, &moving);
}

/* Put MOVING at POSITION or below it. */
static void
sift_down (DkEventQueue *queue, guint32 position, HeapEntry moving)
{
  guint32 n = queue->heap_len;
  for (;;)
    {
      guint32 child = 2 * position + 1;
      if (child >= n)
        break;
      if (child + 1 < n && entry_before (&queue->heap[child + 1], &queue->heap[child]))
        child++;
      if (!entry_before (&queue->heap[child], &moving))
        break;
      heap_place (queue, position, &queue->heap[child]);
      position = child;
    }
  heap_place (queue, position, &moving);
}

/* Take the event at heap POSITION out of the heap: the last entry fills
 * the hole and moves down or up to where it belongs. */
static void
heap_remove (DkEventQueue *queue, guint32 position)
{
  queue->slots[queue->heap[position].slot].heap_position = NOT_IN_HEAP;
  guint32 last = --queue->heap_len;
  if (position == last)
    return;
  HeapEntry moving = queue->heap[last];
  if (position > 0 && entry_before (&moving, &queue->heap[(position - 1) / 2]))
    sift_up (queue, position, moving);
  else
    sift_down (queue, position, moving);
}

static void
release_slot (DkEventQueue *queue, guint32 slot)
{
  Slot *record = &queue->slots[slot];
  record->func = NULL;
  record->data = NULL;
  record->destroy = NULL;
  record->generation++;
  reserve_one ((gpointer *) &queue->free_slots, queue->n_free, &queue->free_capacity,
               sizeof (guint32));
  queue->free_slots[queue->n_free++] = slot;
}

DkEventId
dk_eventq_schedule_at (DkEventQueue *queue, gint64 at_us, DkEventFunc func, gpointer data)
{
  return dk_eventq_schedule_full (queue, at_us, func, data, NULL);
}

DkEventId
dk_eventq_schedule_full (DkEventQueue *queue, gint64 at_us, DkEventFunc func, gpointer data,
                         GDestroyNotify destroy)
{
  g_return_val_if_fail (func != NULL, 0);
  guint32 slot;
  if (queue->n_free > 0)
    slot = queue->free_slots[--queue->n_free];
  else
    {
      reserve_one ((gpointer *) &queue->slots, queue->n_slots, &queue->slots_capacity,
                   sizeof (Slot));
      slot = queue->n_slots++;
      queue->slots[slot] = (Slot) { .heap_position = NOT_IN_HEAP };
    }
  Slot *record = &queue->slots[slot];
  record->func = func;
  record->data = data;
  record->destroy = destroy;
  HeapEntry entry = {
    .at_us = MAX (at_us, queue->now_us),
    .sequence = queue->next_sequence++,
    .slot = slot,
  };
  reserve_one ((gpointer *) &queue->heap, queue->heap_len, &queue->heap_capacity,
               sizeof (HeapEntry));
  sift_up (queue, queue->heap_len++, entry);
  return make_id (slot, record->generation);
}

DkEventId
dk_eventq_schedule (DkEventQueue *queue, gint64 after_us, DkEventFunc func, gpointer data)
{
  return dk_eventq_schedule_at (queue, queue->now_us + MAX (after_us, 0), func, data);
}

/* The slot of the waiting event ID, or NULL. */
static Slot *
waiting_slot (const DkEventQueue *queue, DkEventId id)
{
  guint64 slot_plus_one = id & G_MAXUINT32;
  if (slot_plus_one == 0 || slot_plus_one > queue->n_slots)
    return NULL;
  Slot *record = &queue->slots[slot_plus_one - 1];
  if (record->generation != (guint32) (id >> 32) || record->heap_position == NOT_IN_HEAP)
    return NULL;
  return record;
}

gboolean
dk_eventq_lookup (const DkEventQueue *queue, DkEventId id, DkEventFunc *func, gpointer *data)
{
  const Slot *record = waiting_slot (queue, id);
  if (record == NULL)
    return FALSE;
  if (func != NULL)
    *func = record->func;
  if (data != NULL)
    *data = record->data;
  return TRUE;
}

void
dk_eventq_cancel (DkEventQueue *queue, DkEventId id)
{
  Slot *record = waiting_slot (queue, id);
  if (record == NULL)
    return;
  guint32 slot = (guint32) (record - queue->slots);
  GDestroyNotify destroy = record->destroy;
  gpointer data = record->data;
  heap_remove (queue, record->heap_position);
  release_slot (queue, slot);
  if (destroy != NULL)
    destroy (data);
}

guint64
dk_eventq_run_until (DkEventQueue *queue, gint64 until_us)
{
  guint64 ran = 0;
  while (queue->heap_len > 0 && queue->heap[0].at_us <= until_us)
    {
      guint32 slot = queue->heap[0].slot;
      queue->now_us = queue->heap[0].at_us;
      DkEventFunc func = queue->slots[slot].func;
      gpointer data = queue->slots[slot].data;
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
  return queue->heap_len;
}

void
dk_sim_log_stamp (FILE *log, gint64 t_us)
{
  fprintf (log, "%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT " ", t_us / 1000000, t_us % 1000000);
}
