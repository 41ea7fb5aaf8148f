/* check_wedge.c — a key never wedges (issue 8, item 4).
 *
 * Eight siblings of 9 KiB do not fit one datagram (65,000 bytes).  These
 * tests drive such a key through the simulated cluster and show that
 * every path still works: a get returns the context and the sibling count
 * and the client fetches the rest; a write with that context resolves the
 * siblings; a blind write over DK_SIBLINGS_MAX is refused with the
 * context; read repair, hinted handoff, anti-entropy and streams carry the
 * set in parts and the replicas converge.  Then the pieces: the wire
 * fields that describe parts (round trips, refusals naming the field) and
 * the store, which merges past DK_SIBLINGS_MAX up to DK_SIBLINGS_HARD_MAX. */
#include <string.h>
#include "suites.h"
#include "sim_harness.h"
#include "store.h"
#include "node_private.h"

#define SIBLINGS 8u   /* = DK_SIBLINGS_MAX: the most a client may create */

/* Five nodes, N=3, R=W=2; nothing periodic but gossip unless a test
 * turns it on. */
static void
config_init (DkSimClusterConfig *config, guint64 seed)
{
  th_config_init (config, seed);
  config->node.request_timeout_us = 500000;
  config->node.anti_entropy_interval_us = 0;
  config->node.gossip_interval_us = 200000;
  config->node.suspect_after_us = 600000;
}

/* A full-size value whose first bytes name it: "value 3 ....". */
static GBytes *
big_value (guint i)
{
  guint8 *data = g_malloc (DK_VALUE_MAX_BYTES);
  memset (data, 'a' + (int) (i % 26), DK_VALUE_MAX_BYTES);
  char tag[32];
  int len = g_snprintf (tag, sizeof tag, "value %u ", i);
  memcpy (data, tag, (gsize) len);
  return g_bytes_new_take (data, DK_VALUE_MAX_BYTES);
}

/* Send a client request; returns its client request id. */
static guint64
send_request (ThHarness *harness, DkNodeId to, DkWireType type, const char *key, GBytes *value,
              const DkVclock *context, guint8 quorum, guint8 sibling_offset)
{
  guint64 id = harness->next_id++;
  g_autoptr (DkWireMessage) request = th_request_new (harness, type, id, key, NULL, context);
  DkWireClientRequest *body = &request->body.client_request;
  body->client_id = 7;
  if (value != NULL)
    body->value = g_bytes_ref (value);
  body->r = body->w = quorum;
  body->sibling_offset = sibling_offset;
  th_send (harness, to, request);
  return id;
}

static DkWireClientReply *
request_and_wait (ThHarness *harness, DkNodeId to, DkWireType type, const char *key, GBytes *value,
                  const DkVclock *context, guint8 quorum, guint8 sibling_offset)
{
  guint64 id = send_request (harness, to, type, key, value, context, quorum, sibling_offset);
  th_run_ms (harness, 600);   /* past request_timeout: every request is answered by then */
  DkWireClientReply *reply = th_reply_to (harness, id);
  ck_assert_msg (reply != NULL, "no reply to request %" G_GUINT64_FORMAT, id);
  return reply;
}

/* What a client does: get, then fetch the rest with sibling offsets until
 * the whole set is in, checking every part is of one set.  Returns the
 * set; *FIRST (may be NULL) receives the first part's reply and *PARTS
 * how many parts it took. */
static GPtrArray *
get_whole_set (ThHarness *harness, DkNodeId to, const char *key, guint8 quorum,
               DkWireClientReply **first, guint *parts)
{
  DkWireClientReply *head = request_and_wait (harness, to, DK_WIRE_GET, key, NULL, NULL, quorum, 0);
  ck_assert_msg (head->status == DK_WIRE_STATUS_OK, "get: status %d: %s", head->status,
                 head->reason);
  ck_assert_uint_eq (head->siblings_before, 0);
  GPtrArray *set = dk_siblings_copy (head->siblings);
  guint total = head->siblings_before + head->siblings->len + head->siblings_after;
  guint n = 1;
  DkWireClientReply *part = head;
  while (part->siblings_after > 0)
    {
      ck_assert_uint_ge (part->siblings->len, 1);   /* progress, always */
      part = request_and_wait (harness, to, DK_WIRE_GET, key, NULL, NULL, quorum,
                               (guint8) set->len);
      ck_assert_int_eq (part->status, DK_WIRE_STATUS_OK);
      ck_assert_uint_eq (part->siblings_before, set->len);
      ck_assert (part->set_digest == head->set_digest);
      ck_assert (part->context != NULL && dk_vclock_equal (part->context, head->context));
      ck_assert_uint_eq (part->siblings_before + part->siblings->len + part->siblings_after, total);
      for (guint i = 0; i < part->siblings->len; i++)
        g_ptr_array_add (set, dk_version_copy (g_ptr_array_index (part->siblings, i)));
      n++;
    }
  ck_assert_uint_eq (set->len, total);
  if (first != NULL)
    *first = head;
  if (parts != NULL)
    *parts = n;
  return set;
}

static gboolean
set_holds_value (const GPtrArray *set, GBytes *value)
{
  for (guint i = 0; i < set->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) set, i);
      if (!version->tombstone && g_bytes_equal (version->value, value))
        return TRUE;
    }
  return FALSE;
}

/* SIBLINGS blind puts of 9 KiB values through COORDINATOR: KEY then has
 * SIBLINGS concurrent versions, too many for one datagram.  *DOTS (may be
 * NULL) receives the dots the puts were given. */
static void
crowd_key (ThHarness *harness, DkNodeId coordinator, const char *key, guint8 quorum, DkDot *dots)
{
  for (guint i = 0; i < SIBLINGS; i++)
    {
      g_autoptr (GBytes) value = big_value (i);
      DkWireClientReply *put = request_and_wait (harness, coordinator, DK_WIRE_PUT, key, value,
                                                 NULL, quorum, 0);
      ck_assert_msg (put->status == DK_WIRE_STATUS_OK, "put %u: status %d: %s", i, put->status,
                     put->reason);
      ck_assert_uint_eq (put->siblings->len, 1);
      if (dots != NULL)
        dots[i] = ((const DkVersion *) g_ptr_array_index (put->siblings, 0))->dot;
    }
}

/* Every node of LIST holds the same SIBLINGS-version set of KEY. */
static void
assert_replicas_hold_the_set (ThHarness *harness, const DkNodeId *list, guint n, const char *key)
{
  g_autoptr (GPtrArray) reference = th_stored (harness, list[0], key);
  ck_assert_uint_eq (reference->len, SIBLINGS);
  for (guint i = 1; i < n; i++)
    {
      g_autoptr (GPtrArray) held = th_stored (harness, list[i], key);
      ck_assert_msg (dk_siblings_equal (held, reference),
                     "node %u holds %u versions of %s, node %u %u", list[i], held->len, key,
                     list[0], reference->len);
    }
}

/* ---- the client's view ------------------------------------------------------ */

/* The eight writes themselves reach the other replicas in parts; a get
 * answers with the whole set's context, digest and size and the first
 * siblings that fit; the rest come from later offsets, through a proxy
 * too; together they are the eight values written. */
START_TEST (wedge_get_of_eight_9k_siblings_returns_context_and_count_then_the_rest)
{
  DkSimClusterConfig config;
  config_init (&config, 1);
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  DkDot dots[SIBLINGS];
  crowd_key (harness, list[0], "crowded", 3, dots);
  ck_assert_uint_ge (th_cluster_stats (harness).sets_split, 1);
  assert_replicas_hold_the_set (harness, list, 3, "crowded");

  DkWireClientReply *first = NULL;
  guint parts = 0;
  g_autoptr (GPtrArray) set = get_whole_set (harness, list[1], "crowded", 3, &first, &parts);
  ck_assert_uint_ge (parts, 2);
  ck_assert_uint_ge (first->siblings->len, 1);
  ck_assert_uint_lt (first->siblings->len, SIBLINGS);
  ck_assert_uint_eq (first->siblings->len + first->siblings_after, SIBLINGS);
  ck_assert (first->set_digest != 0);
  ck_assert_ptr_nonnull (first->context);
  for (guint i = 0; i < SIBLINGS; i++)
    {
      ck_assert (dk_dot_covered (dots[i], first->context));
      g_autoptr (GBytes) value = big_value (i);
      ck_assert_msg (set_holds_value (set, value), "value %u missing from the parts", i);
    }
  g_autoptr (DkVclock) context = dk_siblings_context (set);
  ck_assert (dk_vclock_equal (context, first->context));

  /* Through a node off the preference list: the proxy relays each part. */
  g_autoptr (GPtrArray) relayed = get_whole_set (harness, th_outsider (harness, "crowded"),
                                                  "crowded", 2, NULL, NULL);
  ck_assert (dk_siblings_equal (relayed, set));
  th_free (harness);
}
END_TEST

/* The context of the eight resolves them all in one write. */
START_TEST (wedge_a_write_with_the_context_resolves_every_sibling)
{
  DkSimClusterConfig config;
  config_init (&config, 2);
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  crowd_key (harness, list[0], "crowded", 2, NULL);
  DkWireClientReply *first = NULL;
  g_autoptr (GPtrArray) set = get_whole_set (harness, list[2], "crowded", 2, &first, NULL);
  ck_assert_uint_eq (set->len, SIBLINGS);

  g_autoptr (GBytes) merged = g_bytes_new_static ("merged", 6);
  DkWireClientReply *put = request_and_wait (harness, list[2], DK_WIRE_PUT, "crowded", merged,
                                             first->context, 3, 0);
  ck_assert_int_eq (put->status, DK_WIRE_STATUS_OK);
  DkWireClientReply *after = request_and_wait (harness, list[0], DK_WIRE_GET, "crowded", NULL,
                                               NULL, 3, 0);
  ck_assert_int_eq (after->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (after->siblings->len, 1);
  ck_assert_uint_eq (after->siblings_before + after->siblings_after, 0);
  ck_assert (set_holds_value (after->siblings, merged));
  th_free (harness);
}
END_TEST

/* A ninth blind write would leave nine siblings: refused as TOO_LARGE,
 * naming the count and the limit, carrying the current context and the
 * set's size; nothing changes.  A write carrying that context (or a
 * delete) is accepted and resolves the eight. */
START_TEST (wedge_blind_write_over_the_limit_is_refused_with_the_context)
{
  DkSimClusterConfig config;
  config_init (&config, 3);
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  DkDot dots[SIBLINGS];
  crowd_key (harness, list[0], "crowded", 3, dots);

  g_autoptr (GBytes) ninth = big_value (SIBLINGS);
  DkWireClientReply *refused = request_and_wait (harness, list[0], DK_WIRE_PUT, "crowded", ninth,
                                                 NULL, 2, 0);
  ck_assert_int_eq (refused->status, DK_WIRE_STATUS_TOO_LARGE);
  ck_assert_msg (strstr (refused->reason, "9 siblings") != NULL
                 && strstr (refused->reason, "limit of 8") != NULL, "reason: %s", refused->reason);
  ck_assert_ptr_nonnull (refused->context);
  for (guint i = 0; i < SIBLINGS; i++)
    ck_assert (dk_dot_covered (dots[i], refused->context));
  ck_assert_uint_eq (refused->siblings->len, 0);
  ck_assert_uint_eq (refused->siblings_before + refused->siblings_after, SIBLINGS);
  ck_assert_uint_eq (th_cluster_stats (harness).sibling_limit_refusals, 1);

  /* Nothing was stored: still the eight, and not the ninth value. */
  g_autoptr (GPtrArray) unchanged = get_whole_set (harness, list[1], "crowded", 3, NULL, NULL);
  ck_assert_uint_eq (unchanged->len, SIBLINGS);
  ck_assert (!set_holds_value (unchanged, ninth));

  /* A blind delete is a ninth version too. */
  DkWireClientReply *delete = request_and_wait (harness, list[1], DK_WIRE_DELETE, "crowded", NULL,
                                                NULL, 2, 0);
  ck_assert_int_eq (delete->status, DK_WIRE_STATUS_TOO_LARGE);

  /* The refusal's context resolves them. */
  DkWireClientReply *resolved = request_and_wait (harness, list[0], DK_WIRE_PUT, "crowded", ninth,
                                                  refused->context, 3, 0);
  ck_assert_int_eq (resolved->status, DK_WIRE_STATUS_OK);
  DkWireClientReply *after = request_and_wait (harness, list[2], DK_WIRE_GET, "crowded", NULL,
                                               NULL, 3, 0);
  ck_assert_uint_eq (after->siblings->len, 1);
  ck_assert (set_holds_value (after->siblings, ninth));
  th_free (harness);
}
END_TEST

/* ---- internal replication --------------------------------------------------- */

/* A replica that missed all eight writes gets them from one read's
 * repair, in parts; the read itself, coordinated by that replica, has
 * every other replica's answer in parts. */
START_TEST (wedge_read_repair_of_a_set_in_parts_converges)
{
  DkSimClusterConfig config;
  config_init (&config, 4);
  config.node.sloppy_quorum = FALSE;
  config.node.hinted_handoff = FALSE;
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  dk_sim_cluster_crash (harness->cluster, list[2]);
  crowd_key (harness, list[0], "crowded", 2, NULL);
  ck_assert (dk_sim_cluster_restart (harness->cluster, list[2], NULL));
  g_autoptr (GPtrArray) empty = th_stored (harness, list[2], "crowded");
  ck_assert_uint_eq (empty->len, 0);
  guint64 split_before = th_cluster_stats (harness).sets_split;

  /* R=3 through the stale replica: the set comes from the others' answers
   * in parts (complete only with every part), and the stale one is
   * repaired. */
  DkWireClientReply *get = request_and_wait (harness, list[2], DK_WIRE_GET, "crowded", NULL, NULL,
                                             3, 0);
  ck_assert_int_eq (get->status, DK_WIRE_STATUS_OK);
  ck_assert_uint_eq (get->siblings->len + get->siblings_after, SIBLINGS);
  th_run_ms (harness, 200);
  assert_replicas_hold_the_set (harness, list, 3, "crowded");
  DkNodeStats stats = th_cluster_stats (harness);
  ck_assert_uint_ge (stats.read_repairs_sent, 1);
  ck_assert_uint_gt (stats.sets_split, split_before);
  ck_assert_uint_eq (stats.merges_refused_siblings, 0);
  th_free (harness);
}
END_TEST

/* The owner is down during the eight writes: a stand-in keeps the whole
 * set as a hint, hands it back in parts when the owner returns, and the
 * hint counts as delivered only once every part was acknowledged.  The
 * hints drain and the owner holds the set. */
START_TEST (wedge_hints_of_a_set_in_parts_drain)
{
  DkSimClusterConfig config;
  config_init (&config, 5);
  config.node.read_repair = FALSE;
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  dk_sim_cluster_crash (harness->cluster, list[2]);
  th_run_ms (harness, 2000);   /* suspected, then down: the stand-in takes over */
  crowd_key (harness, list[0], "crowded", 3, NULL);
  guint hints = 0;
  for (DkNodeId id = 1; id <= 5; id++)
    if (dk_sim_cluster_node (harness->cluster, id) != NULL)
      hints += dk_node_hints_held (dk_sim_cluster_node (harness->cluster, id));
  ck_assert_uint_ge (hints, 1);
  ck_assert_uint_ge (th_cluster_stats (harness).sloppy_requests, 1);

  ck_assert (dk_sim_cluster_restart (harness->cluster, list[2], NULL));
  th_run_ms (harness, 10000);
  for (DkNodeId id = 1; id <= 5; id++)
    ck_assert_uint_eq (dk_node_hints_held (dk_sim_cluster_node (harness->cluster, id)), 0);
  assert_replicas_hold_the_set (harness, list, 3, "crowded");
  DkNodeStats stats = th_cluster_stats (harness);
  ck_assert_uint_ge (stats.hints_delivered, 1);
  ck_assert_uint_ge (stats.sets_split, 1);
  ck_assert_uint_eq (stats.merges_refused_siblings, 0);
  th_free (harness);
}
END_TEST

/* Under loss some parts of hints go missing: a hint stays until its
 * owner acknowledged every part of one sending (an ack of one part alone
 * does not deliver it), so once the loss stops the hints drain and the
 * owner holds every key's whole set.  Twelve keys of the owner's, crowded
 * while it is down, handed back while 30% of datagrams are lost.  Strict
 * quorums: the coordinators, replicas themselves, keep the hints for the
 * writes the owner missed, so only handoff can bring them (no stand-in
 * holds a copy to stream back). */
START_TEST (wedge_a_hint_is_delivered_only_when_every_part_is_acknowledged)
{
  DkSimClusterConfig config;
  config_init (&config, 11);
  config.node.read_repair = FALSE;
  config.node.sloppy_quorum = FALSE;
  ThHarness *harness = th_new (&config);
  const DkNodeId owner = 1;
  dk_sim_cluster_crash (harness->cluster, owner);
  th_run_ms (harness, 2000);
  char keys[12][16];
  guint n_keys = 0;
  for (guint k = 0; n_keys < G_N_ELEMENTS (keys); k++)
    {
      char key[16];
      g_snprintf (key, sizeof key, "owned%u", k);
      DkNodeId list[3];
      th_preference (harness, key, list);
      if (list[0] != owner && (list[1] == owner || list[2] == owner))
        {
          crowd_key (harness, list[0], key, 2, NULL);
          memcpy (keys[n_keys++], key, sizeof key);
        }
    }
  ck_assert (dk_sim_cluster_restart (harness->cluster, owner, NULL));
  dk_sim_cluster_set_loss (harness->cluster, 0.3);
  th_run_ms (harness, 6000);
  dk_sim_cluster_set_loss (harness->cluster, 0);
  th_run_ms (harness, 10000);
  for (DkNodeId id = 1; id <= 5; id++)
    ck_assert_uint_eq (dk_node_hints_held (dk_sim_cluster_node (harness->cluster, id)), 0);
  for (guint k = 0; k < n_keys; k++)
    {
      g_autoptr (GPtrArray) held = th_stored (harness, owner, keys[k]);
      ck_assert_msg (held->len == SIBLINGS, "%s: the owner holds %u of %u versions", keys[k],
                     held->len, SIBLINGS);
    }
  th_free (harness);
}
END_TEST

/* Under loss, an OK names a version every replica asked (W=3) stores: a
 * replica counts only once it acknowledged every part of the set the
 * write went out in (the new version sorts last, into the last part).
 * Seven puts per key without loss, then the eighth, whose set goes in
 * two parts, with 15% of datagrams lost. */
START_TEST (wedge_a_write_is_acknowledged_only_when_every_part_is_stored)
{
  DkSimClusterConfig config;
  config_init (&config, 12);
  config.node.sloppy_quorum = FALSE;
  config.node.hinted_handoff = FALSE;
  config.node.read_repair = FALSE;
  ThHarness *harness = th_new (&config);
  guint checked = 0;
  for (guint k = 0; k < 40; k++)
    {
      char key[16];
      g_snprintf (key, sizeof key, "crowded%u", k);
      DkNodeId list[3];
      th_preference (harness, key, list);
      for (guint i = 0; i + 1 < SIBLINGS; i++)
        {
          g_autoptr (GBytes) value = big_value (i);
          DkWireClientReply *put = request_and_wait (harness, list[0], DK_WIRE_PUT, key, value,
                                                     NULL, 3, 0);
          ck_assert_int_eq (put->status, DK_WIRE_STATUS_OK);
        }
      dk_sim_cluster_set_loss (harness->cluster, 0.15);
      g_autoptr (GBytes) value = big_value (SIBLINGS - 1);
      guint64 id = send_request (harness, list[0], DK_WIRE_PUT, key, value, NULL, 3, 0);
      th_run_ms (harness, 600);
      dk_sim_cluster_set_loss (harness->cluster, 0);
      DkWireClientReply *put = th_reply_to (harness, id);   /* NULL: the reply was lost */
      if (put == NULL || put->status != DK_WIRE_STATUS_OK)
        continue;
      DkDot dot = ((const DkVersion *) g_ptr_array_index (put->siblings, 0))->dot;
      for (guint r = 0; r < 3; r++)
        {
          g_autoptr (GPtrArray) held = th_stored (harness, list[r], key);
          gboolean holds = FALSE;
          for (guint v = 0; v < held->len; v++)
            {
              const DkVersion *version = g_ptr_array_index (held, v);
              holds = holds || (version->dot.actor == dot.actor && version->dot.counter == dot.counter);
            }
          ck_assert_msg (holds, "%s: the eighth put was acknowledged, but node %u lacks it", key,
                         list[r]);
        }
      checked++;
    }
  ck_assert_uint_ge (checked, 5);
  ck_assert_uint_ge (th_cluster_stats (harness).sets_split, checked);
  th_free (harness);
}
END_TEST

/* With no hints and no read repair, anti-entropy alone brings a replica
 * that missed the eight writes up to date: pushes and pulls in parts. */
START_TEST (wedge_anti_entropy_of_a_set_in_parts_converges)
{
  DkSimClusterConfig config;
  config_init (&config, 6);
  config.node.sloppy_quorum = FALSE;
  config.node.hinted_handoff = FALSE;
  config.node.read_repair = FALSE;
  config.node.anti_entropy_interval_us = 1000000;
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  dk_sim_cluster_crash (harness->cluster, list[2]);
  crowd_key (harness, list[0], "crowded", 2, NULL);
  ck_assert (dk_sim_cluster_wipe (harness->cluster, list[2], NULL));
  ck_assert (dk_sim_cluster_restart (harness->cluster, list[2], NULL)
             || dk_sim_cluster_node_is_up (harness->cluster, list[2]));
  th_run_ms (harness, 8000);
  assert_replicas_hold_the_set (harness, list, 3, "crowded");
  DkNodeStats stats = th_cluster_stats (harness);
  ck_assert_uint_ge (stats.ae_keys_pushed + stats.ae_keys_pulled, 1);
  ck_assert_uint_ge (stats.sets_split, 1);
  ck_assert_uint_eq (stats.merges_refused_siblings, 0);
  th_free (harness);
}
END_TEST

/* A replica of the key leaves: the set streams to the new replica in
 * parts, each push held only once every part is acknowledged, and the
 * leave completes. */
START_TEST (wedge_streams_of_a_set_in_parts_complete)
{
  DkSimClusterConfig config;
  config_init (&config, 7);
  config.node.read_repair = FALSE;
  config.node.hinted_handoff = FALSE;
  config.max_nodes = 5;
  ThHarness *harness = th_new (&config);
  DkNodeId list[3];
  th_preference (harness, "crowded", list);
  crowd_key (harness, list[0], "crowded", 3, NULL);
  guint64 split_before = th_cluster_stats (harness).sets_split;

  ck_assert (dk_sim_cluster_leave (harness->cluster, list[0], NULL));
  th_run_ms (harness, 30000);
  ck_assert (!dk_sim_cluster_is_member (harness->cluster, list[0]));
  DkNodeId after[3];
  th_preference (harness, "crowded", after);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_ne (after[i], list[0]);
  assert_replicas_hold_the_set (harness, after, 3, "crowded");
  DkNodeStats stats = th_cluster_stats (harness);
  ck_assert_uint_ge (stats.keys_streamed, 1);
  ck_assert_uint_gt (stats.sets_split, split_before);
  ck_assert_uint_eq (stats.merges_refused_siblings, 0);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (dk_node_streams_pending (dk_sim_cluster_node (harness->cluster, after[i])), 0);
  th_free (harness);
}
END_TEST

/* The leaver is the only node holding twelve crowded keys (written with
 * W=1 while the others were down, no repair of any kind).  It leaves
 * while 30% of datagrams are lost: a push is held only once the target
 * acknowledged every part of one sending, so nothing is released before
 * the new replicas hold every version, and every one of them ends with
 * the whole set. */
START_TEST (wedge_a_stream_is_held_only_when_every_part_is_acknowledged)
{
  DkSimClusterConfig config;
  config_init (&config, 13);
  config.node.sloppy_quorum = FALSE;
  config.node.hinted_handoff = FALSE;
  config.node.read_repair = FALSE;
  ThHarness *harness = th_new (&config);
  const DkNodeId leaver = 1;
  for (DkNodeId id = 2; id <= 5; id++)
    dk_sim_cluster_crash (harness->cluster, id);
  char keys[12][16];
  guint n_keys = 0;
  for (guint k = 0; n_keys < G_N_ELEMENTS (keys); k++)
    {
      char key[16];
      g_snprintf (key, sizeof key, "only%u", k);
      DkNodeId list[3];
      th_preference (harness, key, list);
      if (list[0] == leaver || list[1] == leaver || list[2] == leaver)
        {
          crowd_key (harness, leaver, key, 1, NULL);
          memcpy (keys[n_keys++], key, sizeof key);
        }
    }
  for (DkNodeId id = 2; id <= 5; id++)
    ck_assert (dk_sim_cluster_restart (harness->cluster, id, NULL));
  th_run_ms (harness, 3000);
  dk_sim_cluster_set_loss (harness->cluster, 0.3);
  ck_assert (dk_sim_cluster_leave (harness->cluster, leaver, NULL));
  th_run_ms (harness, 8000);
  dk_sim_cluster_set_loss (harness->cluster, 0);
  th_run_ms (harness, 40000);
  ck_assert (!dk_sim_cluster_is_member (harness->cluster, leaver));
  for (guint k = 0; k < n_keys; k++)
    {
      DkNodeId after[3];
      th_preference (harness, keys[k], after);
      for (guint r = 0; r < 3; r++)
        {
          g_autoptr (GPtrArray) held = th_stored (harness, after[r], keys[k]);
          ck_assert_msg (held->len == SIBLINGS, "%s: node %u holds %u of %u versions", keys[k],
                         after[r], held->len, SIBLINGS);
        }
    }
  th_free (harness);
}
END_TEST

/* ---- the wire ----------------------------------------------------------------- */

static DkVersion *
small_version (DkNodeId node, guint64 counter, const char *value)
{
  DkDot dot = { dk_actor_make (node, 1), counter, 1000 };
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));
  return dk_version_new (dot, NULL, bytes, FALSE);
}

static DkWireMessage *
round_trip (const DkWireMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (message, &error);
  ck_assert_msg (datagram != NULL, "%s", error ? error->message : "?");
  ck_assert_uint_eq (datagram->len + DK_WIRE_TAG_BYTES, dk_wire_encoded_size (message));
  DkWireMessage *decoded = dk_wire_decode (datagram->data, datagram->len, &error);
  ck_assert_msg (decoded != NULL, "%s", error ? error->message : "?");
  ck_assert (dk_wire_message_equal (message, decoded));
  g_autoptr (GByteArray) again = dk_wire_encode (decoded, NULL);
  ck_assert (again->len == datagram->len && memcmp (again->data, datagram->data, again->len) == 0);
  return decoded;
}

static void
assert_encode_refused (const DkWireMessage *message, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) datagram = dk_wire_encode (message, &error);
  ck_assert_ptr_null (datagram);
  ck_assert_msg (error != NULL && strstr (error->message, expected) != NULL,
                 "expected '%s', got '%s'", expected, error ? error->message : "no error");
}

/* Every field that describes parts survives a round trip, canonically. */
START_TEST (wedge_wire_parts_and_offsets_round_trip)
{
  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->request_id = 9;
  write->body.write.key = g_bytes_new_static ("k", 1);
  write->body.write.part = (DkWirePart) { 1, 2, G_GUINT64_CONSTANT (0x1234567890abcdef) };
  g_ptr_array_add (write->body.write.siblings, small_version (1, 1, "a"));
  g_autoptr (DkWireMessage) write_back = round_trip (write);
  ck_assert_uint_eq (write_back->body.write.part.last, 2);

  g_autoptr (DkWireMessage) ack = dk_wire_message_new (DK_WIRE_WRITE_ACK);
  ack->body.write_ack.key = g_bytes_new_static ("k", 1);
  ack->body.write_ack.part = (DkWirePart) { 2, 2, 77 };
  g_autoptr (DkWireMessage) ack_back = round_trip (ack);

  g_autoptr (DkWireMessage) read_reply = dk_wire_message_new (DK_WIRE_READ_REPLY);
  read_reply->body.read_reply.key = g_bytes_new_static ("k", 1);
  read_reply->body.read_reply.part = (DkWirePart) { 0, 254, 5 };
  g_autoptr (DkWireMessage) read_back = round_trip (read_reply);

  g_autoptr (DkWireMessage) hint = dk_wire_message_new (DK_WIRE_HINT_HANDOFF);
  hint->body.hint_handoff.hint_id = 3;
  hint->body.hint_handoff.intended_owner = 2;
  hint->body.hint_handoff.key = g_bytes_new_static ("k", 1);
  hint->body.hint_handoff.part = (DkWirePart) { 3, 4, 6 };
  g_ptr_array_add (hint->body.hint_handoff.siblings, small_version (2, 5, "b"));
  g_autoptr (DkWireMessage) hint_back = round_trip (hint);

  g_autoptr (DkWireMessage) hint_ack = dk_wire_message_new (DK_WIRE_HINT_ACK);
  hint_ack->body.hint_ack.part = (DkWirePart) { 4, 4, 6 };
  g_autoptr (DkWireMessage) hint_ack_back = round_trip (hint_ack);

  g_autoptr (DkWireMessage) get = dk_wire_message_new (DK_WIRE_GET);
  get->body.client_request.key = g_bytes_new_static ("k", 1);
  get->body.client_request.sibling_offset = 6;
  g_autoptr (DkWireMessage) get_back = round_trip (get);
  ck_assert_uint_eq (get_back->body.client_request.sibling_offset, 6);

  g_autoptr (DkWireMessage) forward = dk_wire_message_new (DK_WIRE_FORWARD);
  forward->body.forward.request_type = DK_WIRE_GET;
  forward->body.forward.request.key = g_bytes_new_static ("k", 1);
  forward->body.forward.request.sibling_offset = 6;
  g_autoptr (DkWireMessage) forward_back = round_trip (forward);

  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  reply->body.client_reply.siblings_before = 6;
  reply->body.client_reply.siblings_after = 1;
  reply->body.client_reply.set_digest = 42;
  reply->body.client_reply.context = dk_vclock_new ();
  g_ptr_array_add (reply->body.client_reply.siblings, small_version (3, 1, "c"));
  g_autoptr (DkWireMessage) reply_back = round_trip (reply);
  ck_assert_uint_eq (reply_back->body.client_reply.siblings_after, 1);

  /* One message carries up to DK_SIBLINGS_HARD_MAX small versions. */
  g_autoptr (DkWireMessage) many = dk_wire_message_new (DK_WIRE_READ_REPLY);
  many->body.read_reply.key = g_bytes_new_static ("k", 1);
  for (guint i = 0; i < DK_SIBLINGS_HARD_MAX; i++)
    g_ptr_array_add (many->body.read_reply.siblings, small_version (1 + i, 1, "v"));
  g_autoptr (DkWireMessage) many_back = round_trip (many);
  ck_assert_uint_eq (many_back->body.read_reply.siblings->len, DK_SIBLINGS_HARD_MAX);
}
END_TEST

/* What no encoder produces is refused, naming the field. */
START_TEST (wedge_wire_refuses_bad_parts_and_offsets_naming_the_field)
{
  g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
  write->body.write.key = g_bytes_new_static ("k", 1);
  write->body.write.part = (DkWirePart) { 3, 2, 0 };
  assert_encode_refused (write, "write.part.index: part 3 of a set whose last part is 2");

  g_autoptr (DkWireMessage) hint_ack = dk_wire_message_new (DK_WIRE_HINT_ACK);
  hint_ack->body.hint_ack.part = (DkWirePart) { 1, 0, 0 };
  assert_encode_refused (hint_ack, "hint_ack.part.index: part 1 of a set whose last part is 0");

  g_autoptr (DkWireMessage) put = dk_wire_message_new (DK_WIRE_PUT);
  put->body.client_request.key = g_bytes_new_static ("k", 1);
  put->body.client_request.sibling_offset = 1;
  assert_encode_refused (put, "put.sibling_offset: 1, but only a get asks for an offset");
  g_autoptr (DkWireMessage) delete = dk_wire_message_new (DK_WIRE_DELETE);
  delete->body.client_request.key = g_bytes_new_static ("k", 1);
  delete->body.client_request.sibling_offset = 2;
  assert_encode_refused (delete, "delete.sibling_offset: 2");
  g_autoptr (DkWireMessage) forward = dk_wire_message_new (DK_WIRE_FORWARD);
  forward->body.forward.request_type = DK_WIRE_PUT;
  forward->body.forward.request.key = g_bytes_new_static ("k", 1);
  forward->body.forward.request.sibling_offset = 3;
  assert_encode_refused (forward, "forward.request.sibling_offset: 3");

  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  reply->body.client_reply.siblings_before = 200;
  reply->body.client_reply.siblings_after = 100;
  assert_encode_refused (reply, "client_reply.siblings_after: a set of 200 before + 0 carried"
                                " + 100 after exceeds the 255-sibling limit");

  /* Eight full values do not fit one message: refused whole, never cut
   * (senders split them: node_send_set). */
  g_autoptr (DkWireMessage) full = dk_wire_message_new (DK_WIRE_WRITE);
  full->body.write.key = g_bytes_new_static ("k", 1);
  for (guint i = 0; i < SIBLINGS; i++)
    {
      g_autoptr (GBytes) value = big_value (i);
      DkDot dot = { dk_actor_make (1, 1), 1 + i, 0 };
      g_ptr_array_add (full->body.write.siblings, dk_version_new (dot, NULL, value, FALSE));
    }
  ck_assert_uint_gt (dk_wire_encoded_size (full), DK_WIRE_MAX_DATAGRAM);
  assert_encode_refused (full, "exceeds the 65000-byte datagram limit");

  /* Decode side: a valid WRITE with its part index byte raised past the
   * last part. */
  g_autoptr (DkWireMessage) small = dk_wire_message_new (DK_WIRE_WRITE);
  small->body.write.key = g_bytes_new_static ("k", 1);
  g_autoptr (GByteArray) datagram = dk_wire_encode (small, NULL);
  gsize index_at = DK_WIRE_HEADER_BYTES + 4 /* hinted owner */ + 2 + 1 /* key */;
  ck_assert_uint_eq (datagram->data[index_at], 0);
  datagram->data[index_at] = 1;
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) decoded = dk_wire_decode (datagram->data, datagram->len, &error);
  ck_assert_ptr_null (decoded);
  ck_assert_msg (strstr (error->message, "write.part.index: part 1 of a set whose last part is 0")
                 != NULL, "%s", error->message);
}
END_TEST

/* ---- the store ---------------------------------------------------------------- */

/* Internal merges go past DK_SIBLINGS_MAX without refusal, up to the hard
 * cap; past it the merge is refused whole, naming the limit, and nothing
 * changes.  Hints hold sets past DK_SIBLINGS_MAX too. */
START_TEST (wedge_store_merges_past_the_client_limit_up_to_the_hard_cap)
{
  g_autoptr (GError) error = NULL;
  DkStore *store = dk_store_open (":memory:", NULL, &error);
  ck_assert_msg (store != NULL, "%s", error ? error->message : "?");
  g_autoptr (GBytes) key = g_bytes_new_static ("crowded", 7);
  g_autoptr (GPtrArray) nine = dk_siblings_new ();
  for (guint i = 0; i < DK_SIBLINGS_MAX + 1; i++)
    g_ptr_array_add (nine, small_version (1 + i, 1, "x"));
  ck_assert_msg (dk_store_put (store, key, nine, 1, NULL, &error), "%s",
                 error ? error->message : "?");
  ck_assert (dk_store_hint_add (store, 4, key, nine, 1, NULL, &error));

  /* Up to DK_SIBLINGS_HARD_MAX, one merge at a time. */
  for (guint i = DK_SIBLINGS_MAX + 1; i < DK_SIBLINGS_HARD_MAX; i++)
    {
      g_autoptr (GPtrArray) one = dk_siblings_new ();
      g_ptr_array_add (one, small_version (1 + i, 1, "y"));
      gboolean changed = FALSE;
      ck_assert_msg (dk_store_put (store, key, one, 2, &changed, &error), "merge %u: %s", i,
                     error ? error->message : "?");
      ck_assert (changed);
    }
  g_autoptr (GPtrArray) full = dk_store_get (store, key, NULL);
  ck_assert_uint_eq (full->len, DK_SIBLINGS_HARD_MAX);

  g_autoptr (GPtrArray) extra = dk_siblings_new ();
  g_ptr_array_add (extra, small_version (3000, 1, "z"));
  ck_assert (!dk_store_put (store, key, extra, 3, NULL, &error));
  ck_assert (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE));
  ck_assert_msg (strstr (error->message, "DK_SIBLINGS_HARD_MAX") != NULL, "%s", error->message);
  g_clear_error (&error);
  g_autoptr (GPtrArray) same = dk_store_get (store, key, NULL);
  ck_assert (dk_siblings_equal (same, full));
  dk_store_close (store);
}
END_TEST

/* node_siblings_that_fit against its definition, on random sets of values
 * from empty to the largest: at least one version while any remain; the
 * versions it counts fit one datagram with the message (unless it is one
 * alone); one more would not, or the count is at its cap. */
START_TEST (wedge_siblings_that_fit_are_as_many_as_fit_one_datagram)
{
  GRand *rand = g_rand_new_with_seed (11);
  int rounds = dk_test_iterations (300);
  for (int round = 0; round < rounds; round++)
    {
      g_autoptr (GPtrArray) set = dk_siblings_new ();
      guint n = (guint) g_rand_int_range (rand, 0, 14);
      for (guint i = 0; i < n; i++)
        {
          /* Mostly near the limit, so that the cut falls anywhere. */
          gsize len = g_rand_int_range (rand, 0, 5) == 0
                      ? (gsize) g_rand_int_range (rand, 0, 64)
                      : DK_VALUE_MAX_BYTES - (gsize) g_rand_int_range (rand, 0, 2048);
          g_autoptr (GBytes) value = g_bytes_new_take (g_malloc0 (MAX (len, 1)), len);
          DkDot dot = { i + 1, 1, 0 };
          g_ptr_array_add (set, dk_version_new (dot, dk_vclock_new (), value, FALSE));
        }
      g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_READ_REPLY);
      message->body.read_reply.key = g_bytes_new ("k", 1);
      guint first = n == 0 ? 0 : (guint) g_rand_int_range (rand, 0, (gint32) n + 1);
      guint fit = node_siblings_that_fit (message, set, first);
      ck_assert_uint_le (first + fit, n);
      if (first < n)
        ck_assert_uint_ge (fit, 1);
      GPtrArray *own = message->body.read_reply.siblings;
      g_autoptr (GPtrArray) carried = g_ptr_array_new ();
      message->body.read_reply.siblings = carried;
      for (guint k = first; k < first + fit; k++)
        g_ptr_array_add (carried, g_ptr_array_index (set, k));
      if (fit > 1)
        ck_assert_msg (dk_wire_encoded_size (message) <= DK_WIRE_MAX_DATAGRAM,
                       "round %d: %u versions counted from %u do not fit", round, fit, first);
      if (first + fit < n && fit < DK_SIBLINGS_HARD_MAX)
        {
          g_ptr_array_add (carried, g_ptr_array_index (set, first + fit));
          ck_assert_msg (dk_wire_encoded_size (message) > DK_WIRE_MAX_DATAGRAM,
                         "round %d: %u versions from %u would fit, %u counted", round,
                         fit + 1, first, fit);
        }
      message->body.read_reply.siblings = own;
    }
  g_rand_free (rand);
}
END_TEST

Suite *
wedge_suite (void)
{
  Suite *suite = suite_create ("wedge");
  TCase *client = tcase_create ("client");
  dk_tcase_no_wall_limit (client);
  tcase_add_test (client, wedge_get_of_eight_9k_siblings_returns_context_and_count_then_the_rest);
  tcase_add_test (client, wedge_a_write_with_the_context_resolves_every_sibling);
  tcase_add_test (client, wedge_blind_write_over_the_limit_is_refused_with_the_context);
  suite_add_tcase (suite, client);

  TCase *replication = tcase_create ("replication");
  dk_tcase_no_wall_limit (replication);
  tcase_add_test (replication, wedge_read_repair_of_a_set_in_parts_converges);
  tcase_add_test (replication, wedge_hints_of_a_set_in_parts_drain);
  tcase_add_test (replication, wedge_a_hint_is_delivered_only_when_every_part_is_acknowledged);
  tcase_add_test (replication, wedge_a_write_is_acknowledged_only_when_every_part_is_stored);
  tcase_add_test (replication, wedge_anti_entropy_of_a_set_in_parts_converges);
  tcase_add_test (replication, wedge_streams_of_a_set_in_parts_complete);
  tcase_add_test (replication, wedge_a_stream_is_held_only_when_every_part_is_acknowledged);
  suite_add_tcase (suite, replication);

  TCase *pieces = tcase_create ("pieces");
  tcase_add_test (pieces, wedge_wire_parts_and_offsets_round_trip);
  tcase_add_test (pieces, wedge_wire_refuses_bad_parts_and_offsets_naming_the_field);
  tcase_add_test (pieces, wedge_store_merges_past_the_client_limit_up_to_the_hard_cap);
  tcase_add_test (pieces, wedge_siblings_that_fit_are_as_many_as_fit_one_datagram);
  suite_add_tcase (suite, pieces);
  return suite;
}
