/* node_antientropy.c — Merkle-tree anti-entropy between replicas (Dynamo
 * §4.7), for what hints cannot repair: a replica that lost its disk, a
 * write no one hinted, a hint dropped because the store was full.
 *
 * A node walks the token ranges it replicates round-robin, one session
 * per range, pacing the walk so that a whole pass (every range once) takes
 * anti_entropy_interval.  For each range it picks the next other replica
 * it believes up, builds a hash tree of its keys in the range (merkle.h)
 * and runs one session with that peer:
 *
 *   1. AE_TREE_REQUEST for the root; the peer builds its own tree of the
 *      range (or reuses the one it built moments ago) and answers with the
 *      hashes asked for.  Only the children of nodes that differ are asked
 *      for next, level by level, down to the differing leaves.
 *   2. AE_KEYS_REQUEST for each differing leaf's range; the peer answers
 *      with its (key, digest) pairs there.
 *   3. Keys whose digests differ, or that one side lacks, are repaired
 *      both ways: ours are pushed with a WRITE (merged by the peer), theirs
 *      pulled with a READ whose reply we merge into our store.
 *
 * A session ends when its last reply is in, or after a timeout.  The node
 * counts sessions, keys repaired and the bytes anti-entropy sent. */
#include <stdlib.h>
#include <string.h>
#include "merkle.h"
#include "node_handover.h"
#include "node_private.h"

#define AE_SESSION_TIMEOUT_US 3000000
/* A responder reuses its tree of a range for this long. */
#define AE_TREE_REUSE_US 500000
/* Request ids of anti-entropy pulls carry this bit, so READ_REPLY knows
 * them from a coordinator's reads. */
#define AE_PULL_BIT (G_GUINT64_CONSTANT (1) << 63)
/* Sessions start at most this often, however many ranges a pass has. */
#define AE_MIN_PERIOD_US 1000
/* Tree depth, capped by what a range's width allows. */
#define AE_DEPTH 10

struct _AeSession
{
  DkNode      *node;
  guint64      id;
  DkNodeId     peer;
  DkTokenRange range;
  DkMerkle    *tree;
  guint        leaves_pending;   /* AE_KEYS replies still to come */
  DkTimerId    timer;
};

static gint64
ae_send (DkNode *node, DkEndpoint to, DkWireMessage *message)
{
  guint64 before = node->stats.bytes_sent;
  if (!node_send (node, to, message))
    return 0;
  node->stats.ae_bytes_sent += node->stats.bytes_sent - before;
  return (gint64) (node->stats.bytes_sent - before);
}

/* Push SET as MESSAGE (a WRITE), in parts when it does not fit one
 * datagram: the peer merges each part as it comes. */
static gint64
ae_send_set (DkNode *node, DkEndpoint to, DkWireMessage *message, const GPtrArray *set)
{
  guint64 before = node->stats.bytes_sent;
  if (!node_send_set (node, to, message, set, NULL))
    return 0;
  node->stats.ae_bytes_sent += node->stats.bytes_sent - before;
  return (gint64) (node->stats.bytes_sent - before);
}

static DkMerkle *
build_tree (DkNode *node, DkTokenRange range, guint depth)
{
  DkMerkle *tree = dk_merkle_new (range.lo, range.hi, depth);
  g_autoptr (GError) error = NULL;
  if (!dk_store_scan (node->env.store, range.lo, range.hi, dk_merkle_scan_add, tree, &error))
    {
      node->stats.store_errors++;
      dk_merkle_free (tree);
      return NULL;
    }
  return tree;
}

static void
session_end (AeSession *session)
{
  DkNode *node = session->node;
  if (session->timer != 0)
    node->env.timer_cancel (node->env.user_data, session->timer);
  g_clear_pointer (&session->tree, dk_merkle_free);
  if (node->ae_session == session)
    node->ae_session = NULL;
  g_free (session);
}

static void
session_timed_out (gpointer data)
{
  AeSession *session = data;
  session->timer = 0;
  session_end (session);
}

static void
request_tree_nodes (AeSession *session, const guint32 *indices, guint n)
{
  g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_AE_TREE_REQUEST);
  message->request_id = session->id;
  DkWireAeTreeRequest *body = &message->body.ae_tree_request;
  body->range_lo = session->range.lo;
  body->range_hi = session->range.hi;
  body->depth = (guint8) dk_merkle_depth (session->tree);
  g_array_append_vals (body->node_indices, indices, n);
  ae_send (session->node, session->peer, message);
}

/* The ranges this node replicates, computed once per ring: a session
 * starts every few milliseconds, and the ring changes only on joins and
 * leaves. */
static const GArray *
our_ranges (DkNode *node)
{
  if (node->ae_ranges == NULL || node->ae_ranges_ring != node->ring
      || node->ae_ranges_epoch != node->handover->ring_epoch)
    {
      g_clear_pointer (&node->ae_ranges, g_array_unref);
      node->ae_ranges = dk_ring_node_ranges (node->ring, node->config.id, node->config.n);
      node->ae_ranges_ring = node->ring;
      node->ae_ranges_epoch = node->handover->ring_epoch;
    }
  return node->ae_ranges;
}

/* The next range this node replicates and a healthy peer for it, in turn. */
static gboolean
next_range_and_peer (DkNode *node, DkTokenRange *range, DkNodeId *peer, guint *n_ranges)
{
  const GArray *ranges = our_ranges (node);
  *n_ranges = ranges->len;
  if (ranges->len == 0)
    return FALSE;
  for (guint attempt = 0; attempt < ranges->len; attempt++)
    {
      *range = g_array_index (ranges, DkTokenRange, node->ae_cursor % ranges->len);
      node->ae_cursor++;
      if (node->ae_cursor / ranges->len > node->ae_passes)
        {
          /* The cursor went round every range once more: a full pass
           * (NODE_STATUS reports its age). */
          node->ae_passes = node->ae_cursor / ranges->len;
          node->ae_last_pass_us = node_now (node);
        }
      DkNodeId replicas[DK_RING_MAX_REPLICAS];
      guint n = dk_ring_preference_list (node->ring, range->hi, node->config.n, replicas);
      guint start = (guint) (node->ae_cursor / ranges->len);   /* alternate peers per pass */
      for (guint k = 0; k < n; k++)
        {
          DkNodeId candidate = replicas[(start + k) % n];
          if (candidate != node->config.id && node_peer_healthy (node, candidate))
            {
              *peer = candidate;
              return TRUE;
            }
        }
    }
  return FALSE;
}

static void
ae_round (gpointer data)
{
  DkNode *node = data;
  node->ae_timer = 0;
  DkTokenRange range;
  DkNodeId peer;
  guint n_ranges = 1;
  if (node->ae_session == NULL && next_range_and_peer (node, &range, &peer, &n_ranges))
    {
      guint depth = MIN (AE_DEPTH, dk_merkle_depth_limit (range.lo, range.hi));
      DkMerkle *tree = build_tree (node, range, depth);
      if (tree != NULL)
        {
          AeSession *session = g_new0 (AeSession, 1);
          session->node = node;
          session->id = node->next_request_id++;
          session->peer = peer;
          session->range = range;
          session->tree = tree;
          session->timer = node->env.timer_start (node->env.user_data, AE_SESSION_TIMEOUT_US,
                                                  session_timed_out, session);
          node->ae_session = session;
          node->stats.ae_sessions++;
          guint32 root = 0;
          request_tree_nodes (session, &root, 1);
        }
    }
  /* The interval is a whole pass: every range once. */
  gint64 period = MAX (node->config.anti_entropy_interval_us / MAX (n_ranges, 1u), AE_MIN_PERIOD_US);
  node->ae_timer = node_timer_start_jittered (node, period, ae_round);
}

/* ---- the responder ------------------------------------------------------- */

void
node_on_ae_tree_request (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  DkWireAeTreeRequest *request = &message->body.ae_tree_request;
  if (!dk_endpoint_is_node (from)
      || request->depth > dk_merkle_depth_limit (request->range_lo, request->range_hi))
    {
      node->stats.dropped_unexpected++;
      return;
    }
  gint64 now = node_now (node);
  DkMerkle *cached = node->ae_cached_tree;
  if (cached == NULL || now - node->ae_cached_us > AE_TREE_REUSE_US
      || dk_merkle_range (cached).lo != request->range_lo
      || dk_merkle_range (cached).hi != request->range_hi
      || dk_merkle_depth (cached) != request->depth)
    {
      DkTokenRange range = { request->range_lo, request->range_hi };
      g_clear_pointer (&node->ae_cached_tree, dk_merkle_free);
      node->ae_cached_tree = build_tree (node, range, request->depth);
      node->ae_cached_us = now;
      if (node->ae_cached_tree == NULL)
        return;
    }
  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_AE_TREE_REPLY);
  reply->request_id = message->request_id;
  DkWireAeTreeReply *body = &reply->body.ae_tree_reply;
  body->range_lo = request->range_lo;
  body->range_hi = request->range_hi;
  body->depth = request->depth;
  guint32 node_count = dk_merkle_node_count (node->ae_cached_tree);
  for (guint i = 0; i < request->node_indices->len; i++)
    {
      guint32 index = g_array_index (request->node_indices, guint32, i);
      if (index >= node_count)
        continue;
      DkWireAeNodeHash hash = { index, dk_merkle_node_hash (node->ae_cached_tree, index) };
      g_array_append_val (body->nodes, hash);
    }
  ae_send (node, from, reply);
}

typedef struct
{
  DkWireAeKeysReply *reply;
  gsize              bytes;
} KeysCollector;

/* Room for (key, digest) pairs in one reply, well inside a datagram. */
#define AE_KEYS_REPLY_BUDGET 48000

static gboolean
collect_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  KeysCollector *collector = user_data;
  gsize size = g_bytes_get_size (key) + 10;
  if (collector->bytes + size > AE_KEYS_REPLY_BUDGET)
    {
      collector->reply->complete = FALSE;
      return FALSE;
    }
  DkWireKeyDigest pair = { g_bytes_ref (key), digest };
  g_array_append_val (collector->reply->keys, pair);
  collector->bytes += size;
  return TRUE;
}

void
node_on_ae_keys_request (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if (!dk_endpoint_is_node (from))
    {
      node->stats.dropped_unexpected++;
      return;
    }
  node_stream_note_offer (node, message);
  DkWireAeKeysRequest *request = &message->body.ae_keys_request;
  g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_AE_KEYS_REPLY);
  reply->request_id = message->request_id;
  DkWireAeKeysReply *body = &reply->body.ae_keys_reply;
  body->range_lo = request->range_lo;
  body->range_hi = request->range_hi;
  body->complete = TRUE;
  KeysCollector collector = { body, 0 };
  g_autoptr (GError) error = NULL;
  if (!dk_store_scan (node->env.store, request->range_lo, request->range_hi, collect_key,
                      &collector, &error))
    {
      node->stats.store_errors++;
      return;
    }
  ae_send (node, from, reply);
}

/* ---- the initiator ------------------------------------------------------- */

static AeSession *
session_for (DkNode *node, DkEndpoint from, guint64 id)
{
  AeSession *session = node->ae_session;
  if (session == NULL || session->id != id || session->peer != from)
    {
      node->stats.dropped_unexpected++;
      return NULL;
    }
  return session;
}

static void
request_leaf_keys (AeSession *session, DkTokenRange range)
{
  g_autoptr (DkWireMessage) message = dk_wire_message_new (DK_WIRE_AE_KEYS_REQUEST);
  message->request_id = session->id;
  message->body.ae_keys_request.range_lo = range.lo;
  message->body.ae_keys_request.range_hi = range.hi;
  if (ae_send (session->node, session->peer, message) > 0)
    session->leaves_pending++;
}

void
node_on_ae_tree_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  AeSession *session = session_for (node, from, message->request_id);
  if (session == NULL)
    return;
  const GArray *nodes = message->body.ae_tree_reply.nodes;
  g_autoptr (GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) next = g_array_new (FALSE, FALSE, sizeof (guint32));
  G_STATIC_ASSERT (sizeof (DkMerkleNodeHash) == sizeof (DkWireAeNodeHash));
  if (dk_merkle_compare_nodes (session->tree, (const DkMerkleNodeHash *) nodes->data,
                               nodes->len, leaves, next) < 0)
    {
      session_end (session);
      return;
    }
  if (next->len > 0)
    request_tree_nodes (session, (const guint32 *) next->data, next->len);
  for (guint i = 0; i < leaves->len; i++)
    request_leaf_keys (session, dk_merkle_leaf_range (session->tree,
                                                      g_array_index (leaves, guint32, i)));
  if (next->len == 0 && session->leaves_pending == 0)
    session_end (session);   /* the trees agree */
}

typedef struct
{
  GHashTable *remote;    /* key bytes -> digest, from the peer */
  GPtrArray  *push;      /* GBytes keys we hold that the peer lacks or holds otherwise */
} LocalWalk;

static gboolean
compare_local_key (DkToken token, GBytes *key, guint64 digest, gpointer user_data)
{
  LocalWalk *walk = user_data;
  gpointer remote_digest;
  if (g_hash_table_lookup_extended (walk->remote, key, NULL, &remote_digest))
    {
      guint64 theirs = *(guint64 *) remote_digest;
      g_hash_table_remove (walk->remote, key);
      if (theirs == digest)
        return TRUE;
    }
  g_ptr_array_add (walk->push, g_bytes_ref (key));
  return TRUE;
}

static gint
compare_keys (gconstpointer a, gconstpointer b)
{
  return g_bytes_compare (*(GBytes *const *) a, *(GBytes *const *) b);
}

/* Repair one leaf: push what differs from us, pull what differs from them. */
void
node_on_ae_keys_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if (node_stream_take_keys_reply (node, from, message))
    return;
  AeSession *session = session_for (node, from, message->request_id);
  if (session == NULL)
    return;
  DkWireAeKeysReply *reply = &message->body.ae_keys_reply;
  g_autoptr (GHashTable) remote = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                         (GDestroyNotify) g_bytes_unref, NULL);
  for (guint i = 0; i < reply->keys->len; i++)
    {
      DkWireKeyDigest *pair = &g_array_index (reply->keys, DkWireKeyDigest, i);
      g_hash_table_insert (remote, g_bytes_ref (pair->key), &pair->digest);
    }
  LocalWalk walk = { remote, g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  g_autoptr (GError) error = NULL;
  /* An incomplete reply covers its range only up to its last key: then we
   * compare (and repair) only keys the peer listed, leaving the rest of
   * the leaf to a later pass. */
  if (reply->complete
      && !dk_store_scan (node->env.store, reply->range_lo, reply->range_hi,
                         compare_local_key, &walk, &error))
    node->stats.store_errors++;

  g_ptr_array_sort (walk.push, compare_keys);
  for (guint i = 0; i < walk.push->len; i++)
    {
      GBytes *key = g_ptr_array_index (walk.push, i);
      g_autoptr (GPtrArray) held = dk_store_get (node->env.store, key, &error);
      if (held == NULL)
        {
          node->stats.store_errors++;
          g_clear_error (&error);
          continue;
        }
      g_autoptr (DkWireMessage) write = dk_wire_message_new (DK_WIRE_WRITE);
      write->request_id = 0;
      write->body.write.key = g_bytes_ref (key);
      if (ae_send_set (node, session->peer, write, held) > 0)
        node->stats.ae_keys_pushed++;
    }
  g_ptr_array_unref (walk.push);

  /* Keys left in REMOTE are theirs alone or differ from ours: pull them,
   * in key order so the run stays deterministic. */
  guint n_pull;
  g_autofree gpointer *pull = g_hash_table_get_keys_as_array (remote, &n_pull);
  qsort (pull, n_pull, sizeof (gpointer), compare_keys);
  for (guint i = 0; i < n_pull; i++)
    {
      g_autoptr (DkWireMessage) read = dk_wire_message_new (DK_WIRE_READ);
      read->request_id = AE_PULL_BIT | session->id;
      read->body.read.key = g_bytes_ref (pull[i]);
      ae_send (node, session->peer, read);
    }

  if (session->leaves_pending > 0)
    session->leaves_pending--;
  if (session->leaves_pending == 0)
    session_end (session);
}

gboolean
node_ae_take_read_reply (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  if ((message->request_id & AE_PULL_BIT) == 0)
    return FALSE;
  DkWireReadReply *reply = &message->body.read_reply;
  if (!dk_endpoint_is_node (from) || reply->status != DK_WIRE_STATUS_OK)
    return TRUE;
  /* A set in parts arrives as several replies, each merged as it comes
   * (version.h: merging is per version). */
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;
  if (!dk_store_put (node->env.store, reply->key, reply->siblings, node_now (node), &changed, &error))
    {
      node->stats.store_errors++;
      if (g_error_matches (error, DK_STORE_ERROR, DK_STORE_ERROR_TOO_LARGE))
        {
          node->stats.merges_refused_siblings++;
          node_log (node, DK_LOG_ERROR, "anti-entropy merge refused: %s", error->message);
        }
    }
  else if (changed)
    node->stats.ae_keys_pulled++;
  return TRUE;
}

/* ---- lifecycle --------------------------------------------------------------- */

void
node_antientropy_init (DkNode *node)
{
  if (node->config.anti_entropy_interval_us <= 0)
    return;
  gint64 first = (gint64) (node_random (node) % (guint64) node->config.anti_entropy_interval_us);
  node->ae_timer = node->env.timer_start (node->env.user_data, first, ae_round, node);
}

void
node_antientropy_clear (DkNode *node)
{
  if (node->ae_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->ae_timer);
  node->ae_timer = 0;
  if (node->ae_session != NULL)
    session_end (node->ae_session);
  g_clear_pointer (&node->ae_cached_tree, dk_merkle_free);
  g_clear_pointer (&node->ae_ranges, g_array_unref);
  node->ae_ranges_ring = NULL;
}
