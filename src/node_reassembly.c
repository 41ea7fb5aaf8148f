/* node_reassembly.c — a sibling set sent in parts is stored whole.
 *
 * node_send_set splits a set that does not fit one datagram into parts.
 * A replica that stored each part as it came could, until the rest
 * arrived, hold a coordinator's later dot of a key without its earlier
 * ones, and a read there would hand out a context covering versions
 * nobody had seen (version.h: sets travel whole).  So the parts of a
 * WRITE, HINT_HANDOFF or READ_REPLY are kept here until every one has
 * arrived; then each part's handler runs, in index order, with the whole
 * set (storing it once; the later merges change nothing) and acknowledges
 * its own part.  Incomplete sendings are bounded in number and age; a
 * sending whose parts never all arrive is dropped, and its sender, which
 * counts only complete acknowledgements, sends it again or gives up.
 */
#include <string.h>
#include "node_private.h"

/* Sendings being reassembled at once, and how long one may wait. */
#define REASSEMBLY_MAX_PENDING 64
#define REASSEMBLY_MAX_AGE_US (10 * G_USEC_PER_SEC)

typedef struct
{
  char         *name;       /* "from/type/request/digest", the table's key */
  DkWireMessage *parts[DK_SIBLINGS_HARD_MAX + 1]; /* by index; NULL until arrived */
  guint         last;
  guint         received;
  gint64        started_us;
} Sending;

static void
sending_free (gpointer data)
{
  Sending *sending = data;
  for (guint i = 0; i <= sending->last; i++)
    g_clear_pointer (&sending->parts[i], dk_wire_message_free);
  g_free (sending->name);
  g_free (sending);
}

void
node_reassembly_init (DkNode *node)
{
  node->reassembly = g_hash_table_new (g_str_hash, g_str_equal);
  node->reassembly_order = g_queue_new ();
}

void
node_reassembly_clear (DkNode *node)
{
  if (node->reassembly_order != NULL)
    g_queue_free_full (node->reassembly_order, sending_free);
  g_clear_pointer (&node->reassembly, g_hash_table_unref);
  node->reassembly_order = NULL;
}

static void
forget (DkNode *node, Sending *sending)
{
  g_hash_table_remove (node->reassembly, sending->name);
  g_queue_remove (node->reassembly_order, sending);
  sending_free (sending);
}

/* Drop sendings that waited too long, and the oldest when full (the
 * queue is in arrival order, so no hash order decides). */
static void
make_room (DkNode *node, gint64 now)
{
  for (;;)
    {
      Sending *oldest = g_queue_peek_head (node->reassembly_order);
      if (oldest == NULL)
        return;
      if (now - oldest->started_us < REASSEMBLY_MAX_AGE_US
          && g_queue_get_length (node->reassembly_order) < REASSEMBLY_MAX_PENDING)
        return;
      node->stats.parts_abandoned += oldest->received;
      forget (node, oldest);
    }
}

gboolean
node_reassemble (DkNode *node, DkEndpoint from, DkWireMessage **message, NodeHandler handler)
{
  DkWireMessage *arrived = *message;
  if (arrived->type != DK_WIRE_WRITE && arrived->type != DK_WIRE_HINT_HANDOFF
      && arrived->type != DK_WIRE_READ_REPLY)
    return TRUE;
  GPtrArray **siblings;
  DkWirePart *part;
  node_set_fields (arrived, &siblings, &part);
  if (part->last == 0)
    return TRUE;   /* a whole set: nothing to wait for */

  gint64 now = node_now (node);
  make_room (node, now);
  g_autofree char *name = g_strdup_printf ("%" G_GUINT64_FORMAT "/%u/%" G_GUINT64_FORMAT
                                           "/%" G_GUINT64_FORMAT, from, arrived->type,
                                           arrived->request_id, part->set_digest);
  Sending *sending = g_hash_table_lookup (node->reassembly, name);
  if (sending != NULL && sending->last != part->last)
    {
      forget (node, sending);   /* another sending under the same name: start over */
      sending = NULL;
    }
  if (sending == NULL)
    {
      sending = g_new0 (Sending, 1);
      sending->name = g_steal_pointer (&name);
      sending->last = part->last;
      sending->started_us = now;
      g_hash_table_insert (node->reassembly, sending->name, sending);
      g_queue_push_tail (node->reassembly_order, sending);
    }
  if (sending->parts[part->index] != NULL)
    return FALSE;   /* a duplicate of a part already here */
  sending->parts[part->index] = g_steal_pointer (message);
  if (++sending->received <= sending->last)
    return FALSE;

  /* Complete: every part's handler sees the whole set. */
  g_autoptr (GPtrArray) whole = dk_siblings_new ();
  for (guint i = 0; i <= sending->last; i++)
    {
      node_set_fields (sending->parts[i], &siblings, &part);
      dk_siblings_merge (whole, *siblings, &node->stats.dot_collisions);
    }
  g_hash_table_remove (node->reassembly, sending->name);
  g_queue_remove (node->reassembly_order, sending);
  for (guint i = 0; i <= sending->last; i++)
    {
      node_set_fields (sending->parts[i], &siblings, &part);
      g_ptr_array_unref (*siblings);
      *siblings = g_ptr_array_ref (whole);
      handler (node, from, sending->parts[i]);
    }
  sending_free (sending);
  return FALSE;
}
