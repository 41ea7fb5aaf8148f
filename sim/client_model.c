/* client_model.c — the client model both transports run; see
 * client_model.h. */
#include "client_model.h"

#include <string.h>

DkNodeId
dk_client_choose_coordinator (const DkClientChoice *choice, const char *key, DkRng *rng)
{
  const DkWorkloadConfig *config = choice->config;
  DkNodeId home = choice->home;
  g_return_val_if_fail (config->coordinator != DK_COORDINATOR_PROXY, DK_NODE_NONE);
  if (config->coordinator != DK_COORDINATOR_ANY)
    {
      DkNodeId list[DK_RING_MAX_REPLICAS];
      guint n = dk_ring_preference_list (choice->ring, dk_ring_key_token (key, strlen (key)),
                                         MIN (config->extended_list ? choice->nodes
                                                                    : config->replicas,
                                              DK_RING_MAX_REPLICAS), list);
      if (config->coordinator == DK_COORDINATOR_PREFERENCE)
        {
          /* A partition-aware client or load balancer (Dynamo §4.5):
           * any reachable replica of the key, drawn at random. */
          guint replicas = MIN (n, config->replicas), reachable = 0;
          DkNodeId candidates[DK_RING_MAX_REPLICAS];
          for (guint i = 0; i < replicas; i++)
            if (choice->reachable (home, list[i], choice->user_data))
              candidates[reachable++] = list[i];
          if (reachable > 0)
            return candidates[dk_rng_below (rng, reachable)];
        }
      /* The first reachable one, walking on past the first N with a
       * sloppy quorum, so a client cut off from every replica still finds
       * a node to coordinate. */
      for (guint i = 0; i < n; i++)
        if (choice->reachable (home, list[i], choice->user_data))
          return list[i];
      return DK_NODE_NONE;
    }
  guint reachable = 0;
  for (DkNodeId id = 1; id <= choice->nodes; id++)
    reachable += choice->reachable (home, id, choice->user_data);
  if (reachable == 0)
    return DK_NODE_NONE;
  guint pick = (guint) dk_rng_below (rng, reachable);
  for (DkNodeId id = 1; id <= choice->nodes; id++)
    if (choice->reachable (home, id, choice->user_data) && pick-- == 0)
      return id;
  g_assert_not_reached ();
}

DkWireMessage *
dk_client_request_new (DkHistory *history, guint64 op, DkOpKind kind, guint client,
                       const char *key, const DkVclock *context, guint64 read_op,
                       GBytes *value_template, gsize value_bytes)
{
  static const DkWireType wire_types[] = {
    [DK_OP_GET] = DK_WIRE_GET, [DK_OP_PUT] = DK_WIRE_PUT, [DK_OP_DELETE] = DK_WIRE_DELETE,
  };
  DkWireMessage *request = dk_wire_message_new (wire_types[kind]);
  request->request_id = op;
  DkWireClientRequest *body = &request->body.client_request;
  body->client_request_id = op;
  body->client_id = client + 1;  /* one client, one id (0 is anonymous) */
  body->key = g_bytes_new (key, strlen (key));
  if (kind == DK_OP_GET)
    return request;
  if (kind == DK_OP_PUT)
    {
      /* The value names its operation so every write is distinct. */
      guint8 *value = g_malloc (MAX (value_bytes, 1));
      memcpy (value, g_bytes_get_data (value_template, NULL), value_bytes);
      char tag[DK_VALUE_TAG_SIZE];
      gsize tag_len = dk_value_tag (op, tag);
      memcpy (value, tag, MIN (tag_len, value_bytes));
      body->value = g_bytes_new_take (value, value_bytes);
    }
  if (context != NULL)
    body->context = dk_vclock_copy (context);
  dk_history_set_context (history, op, context, read_op);
  return request;
}

void
dk_client_draw_operation (const DkWorkloadConfig *config, DkKeyDist *key_dist, DkRng *rng,
                          guint *client, guint32 *key_index, DkOpKind *kind)
{
  *client = (guint) dk_rng_below (rng, config->clients);
  *key_index = dk_key_dist_sample (key_dist, rng);
  double roll = dk_rng_double (rng);
  *kind = roll < config->read_fraction ? DK_OP_GET
          : roll < config->read_fraction + config->delete_fraction ? DK_OP_DELETE : DK_OP_PUT;
}

gsize
dk_client_key_name (guint32 key_index, char name[DK_CLIENT_KEY_NAME_SIZE])
{
  char digits[10];
  gsize n = 0;
  do
    {
      digits[n++] = (char) ('0' + key_index % 10);
      key_index /= 10;
    }
  while (key_index > 0);
  name[0] = 'k';
  for (gsize i = 0; i < n; i++)
    name[1 + i] = digits[n - 1 - i];
  name[1 + n] = '\0';
  return 1 + n;
}

DkWireMessage *
dk_client_page_request_new (guint64 op, guint *page, guint client, guint32 key_index,
                            guint offset, guint64 *request_id)
{
  char key[DK_CLIENT_KEY_NAME_SIZE];
  dk_client_key_name (key_index, key);
  (*page)++;
  *request_id = op | ((guint64) *page << DK_WORKLOAD_PAGE_SHIFT);
  DkWireMessage *request = dk_wire_message_new (DK_WIRE_GET);
  request->request_id = *request_id;
  DkWireClientRequest *body = &request->body.client_request;
  body->client_request_id = *request_id;
  body->client_id = client + 1;
  body->key = g_bytes_new (key, strlen (key));
  body->sibling_offset = (guint8) offset;
  return request;
}

DkClientPagesStep
dk_client_pages_add (DkClientPages *pages, const DkWireClientReply *reply)
{
  gboolean consistent = pages->gathered == NULL
                        ? reply->siblings_before == 0
                        : reply->set_digest == pages->set_digest
                          && reply->siblings_before == pages->gathered->len;
  if (!consistent)
    {
      /* Another set than the pages so far (a write came in between):
       * start over, so the read returns one set, whole. */
      g_clear_pointer (&pages->gathered, g_ptr_array_unref);
      return ++pages->restarts > DK_CLIENT_MAX_PAGE_RESTARTS ? DK_CLIENT_PAGES_GAVE_UP
                                                              : DK_CLIENT_PAGES_RESTART;
    }
  if (pages->gathered == NULL)
    {
      pages->gathered = dk_siblings_new ();
      pages->set_digest = reply->set_digest;
    }
  for (guint i = 0; i < reply->siblings->len; i++)
    g_ptr_array_add (pages->gathered, dk_version_copy (g_ptr_array_index (reply->siblings, i)));
  return reply->siblings_after == 0 ? DK_CLIENT_PAGES_DONE : DK_CLIENT_PAGES_NEXT;
}

void
dk_client_pages_clear (DkClientPages *pages)
{
  g_clear_pointer (&pages->gathered, g_ptr_array_unref);
}

void
dk_client_complete (DkHistory *history, guint64 op_id, gint64 now,
                    const DkWireClientReply *reply, const GPtrArray *siblings, gint64 commit_us)
{
  const DkOp *op = dk_history_get (history, op_id);
  /* A write's reply names the version it issued (an OK always; a
   * failure when it came after the version was issued). */
  const DkVersion *written = op->kind != DK_OP_GET && reply->siblings->len == 1
                             ? g_ptr_array_index (reply->siblings, 0) : NULL;
  if (reply->status == DK_WIRE_STATUS_OK || reply->status == DK_WIRE_STATUS_NOT_FOUND)
    {
      if (op->kind == DK_OP_GET)
        dk_history_complete_read_ok (history, op_id, now, siblings);
      else
        {
          dk_history_set_commit (history, op_id, commit_us);
          dk_history_complete_write_ok (history, op_id, now, written);
        }
      return;
    }
  if (written != NULL)
    dk_history_set_written (history, op_id, written);
  static const char *const status_names[] = {
    [DK_WIRE_STATUS_OK] = "ok",
    [DK_WIRE_STATUS_NOT_FOUND] = "not found",
    [DK_WIRE_STATUS_UNAVAILABLE] = "unavailable",
    [DK_WIRE_STATUS_TIMEOUT] = "timeout",
    [DK_WIRE_STATUS_INVALID] = "invalid",
    [DK_WIRE_STATUS_TOO_LARGE] = "too large",
    [DK_WIRE_STATUS_STORAGE_ERROR] = "storage error",
    [DK_WIRE_STATUS_OVERLOADED] = "overloaded",
    [DK_WIRE_STATUS_RETRY] = "retry",
  };
  /* The reason's numbers vary from operation to operation; the status
   * name is what failures are tallied by. */
  dk_history_complete_failed (history, op_id, now, status_names[reply->status]);
}
