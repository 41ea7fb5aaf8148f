/* node.c — a node's life: configuration, start and stop, and the one
 * entry point for datagrams, which are verified (when the cluster is
 * keyed), decoded and dispatched by message type; see node.h.  Nothing
 * here touches the world except through the DkEnv. */
#include <string.h>
#include "node_private.h"
#include "replay.h"

/* ---- small helpers ---------------------------------------------------- */

void
node_log (DkNode *node, DkLogLevel level, const char *format, ...)
{
  if (node->env.log == NULL || level > node->config.log_level)
    return;
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *line = g_strdup_printf ("node=%u %s", node->config.id, text);
  node->env.log (node->env.user_data, level, line);
}

gint64
node_now (DkNode *node)
{
  return node->env.now_us (node->env.user_data);
}

gint64
node_wall (DkNode *node)
{
  return node->env.wall_us != NULL ? node->env.wall_us (node->env.user_data)
                                   : node->env.now_us (node->env.user_data);
}

/* Counters are leased from the store this many at a time: one durable
 * write per lease, and a restart skips what was leased but not used. */
#define DOT_LEASE 1024

gboolean
node_issue_dot (DkNode *node, DkDot *dot, GError **error)
{
  if (node->dot_next > node->dot_leased)
    {
      guint64 lease = node->dot_next + DOT_LEASE - 1;
      if (lease > DK_DOT_COUNTER_MAX)
        {
          g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                       "actor counter exhausted: this store has issued 2^62 versions");
          return FALSE;
        }
      if (!dk_store_meta_set (node->env.store, "dot_lease", (gint64) lease, error))
        return FALSE;
      node->dot_leased = lease;
    }
  if (node->config.bug == DK_NODE_BUG_REUSE_DOT && node->dot_next > 1)
    node->dot_next--;   /* injected: the counter never moves past its first dot */
  *dot = (DkDot) { node->actor, node->dot_next++, node_wall (node) };
  return TRUE;
}

/* Purged keys remembered before the whole memory is given up for a new
 * actor epoch. */
#define PURGED_KEYS_MAX 4096

/* A client context says "every dot of actor A for this key up to N was
 * seen", which holds only if every replica that learns a dot of A for the
 * key also learns A's earlier ones.  The coordinator makes that so by
 * storing first and sending its whole set (node_coordinator.c), as long
 * as its own copy of the key holds all its earlier dots.  A purge (a copy
 * handed to new owners and dropped) or a write coordinated off the
 * preference list breaks that; so the next write of such a key is issued
 * under a new actor: the next incarnation of this store, recorded before
 * use.  The old actor's dots for the key all went, with the purged copy,
 * to its owners.  tests/check_coordinator_versions.c,
 * purged_key_is_written_under_a_new_actor, and the nemesis campaign. */
gboolean
node_actor_new_epoch (DkNode *node, GError **error)
{
  guint32 incarnation = dk_actor_incarnation (node->actor) + 1;
  if (incarnation == 0)
    incarnation = 1;
  DkActor actor = dk_actor_make (node->config.id, incarnation);
  if (!dk_store_meta_set (node->env.store, "actor", (gint64) actor, error)
      || !dk_store_meta_set (node->env.store, "purged_since_epoch", 0, error))
    return FALSE;
  node->actor = actor;
  node->stats.actor_epochs++;
  node->purged_overflow = FALSE;
  g_hash_table_remove_all (node->purged_keys);
  return TRUE;
}

void
node_note_purged (DkNode *node, GBytes *key)
{
  if (g_hash_table_size (node->purged_keys) == 0 && !node->purged_overflow)
    {
      /* A restart forgets the set below: remember that it was not empty. */
      g_autoptr (GError) error = NULL;
      if (!dk_store_meta_set (node->env.store, "purged_since_epoch", 1, &error))
        {
          node->stats.store_errors++;
          node->purged_overflow = TRUE;   /* cannot be remembered: treat every key so */
        }
    }
  if (g_hash_table_size (node->purged_keys) >= PURGED_KEYS_MAX)
    {
      node->purged_overflow = TRUE;
      g_hash_table_remove_all (node->purged_keys);
    }
  if (!node->purged_overflow)
    g_hash_table_add (node->purged_keys, g_bytes_ref (key));
}

gboolean
node_key_needs_new_epoch (const DkNode *node, GBytes *key)
{
  return node->purged_overflow || g_hash_table_contains (node->purged_keys, key);
}

/* The room node_send keeps for encoding between sends: a datagram larger
 * than this (rare: most carry one value) gets a buffer of its own. */
#define SEND_BUFFER_KEPT 2048

/* Encode, sign when keyed, and send.  A message that cannot be encoded
 * (a reply over the datagram limit) is counted and reported to the caller.
 * The datagram is built in the node's one buffer: the environment's send
 * copies it (env.h). */
gboolean
node_send (DkNode *node, DkEndpoint to, DkWireMessage *message)
{
  message->sender = node->config.id;
  g_autoptr (GError) error = NULL;
  if (node->send_buffer == NULL)
    node->send_buffer = g_byte_array_sized_new (SEND_BUFFER_KEPT);
  GByteArray *datagram = node->send_buffer;
  if (!dk_wire_encode_into (message, datagram, &error))
    {
      node->stats.send_failures++;
      node_log (node, DK_LOG_WARNING, "cannot encode %s: %s",
                dk_wire_type_name (message->type), error->message);
      return FALSE;
    }
  if (node->auth_key != NULL)
    {
      /* Stamped with our wall clock and the receiver, so that it is
       * accepted once, recently, and only there (node.h).  A client
       * holds the client key, when there is one, and not the cluster's. */
      DkWireStamp stamp = { node_wall (node), node->sign_nonce++,
                            dk_endpoint_is_node (to) ? (DkNodeId) to : DK_NODE_NONE };
      /* An operator holds the cluster key: what answers its ADMIN, and
       * the PONG it learns our id with, are signed with that. */
      if (!dk_endpoint_is_node (to) && node->client_key != NULL
          && message->type != DK_WIRE_ADMIN_REPLY && !node->answering_cluster_key)
        dk_wire_sign_stamped_with (datagram, node->client_signer, &stamp);
      else
        dk_wire_sign_stamped_with (datagram, node->auth_signer, &stamp);
    }
  node->stats.messages_sent++;
  node->stats.bytes_sent += datagram->len;
  node->env.send (node->env.user_data, to, datagram->data, datagram->len);
  if (datagram->len > SEND_BUFFER_KEPT)  /* do not keep a rare large datagram's room */
    g_clear_pointer (&node->send_buffer, g_byte_array_unref);
  return TRUE;
}

/* ---- sibling sets in parts -------------------------------------------- */

void
node_parts_expect (NodeParts *parts, DkWirePart sending)
{
  memset (parts, 0, sizeof *parts);
  parts->started = TRUE;
  parts->sending = sending;
  parts->sending.index = 0;
}

gboolean
node_parts_note (NodeParts *parts, DkWirePart part)
{
  if (!parts->started)
    node_parts_expect (parts, part);
  if (part.last != parts->sending.last || part.set_digest != parts->sending.set_digest
      || part.index > part.last)
    return FALSE;
  guint32 bit = 1u << (part.index % 32);
  if (parts->seen[part.index / 32] & bit)
    return FALSE;
  parts->seen[part.index / 32] |= bit;
  parts->received++;
  return TRUE;
}

gboolean
node_parts_complete (const NodeParts *parts)
{
  return parts->started && parts->received == (guint) parts->sending.last + 1;
}

G_STATIC_ASSERT (DK_SIBLINGS_HARD_MAX < 8 * 32);  /* NodeParts.seen has a bit per part */

/* The siblings and part fields of MESSAGE, a message that carries a set. */
void
node_set_fields (DkWireMessage *message, GPtrArray ***siblings, DkWirePart **part)
{
  switch (message->type)
    {
    case DK_WIRE_READ_REPLY:
      *siblings = &message->body.read_reply.siblings;
      *part = &message->body.read_reply.part;
      return;
    case DK_WIRE_WRITE:
      *siblings = &message->body.write.siblings;
      *part = &message->body.write.part;
      return;
    case DK_WIRE_HINT_HANDOFF:
      *siblings = &message->body.hint_handoff.siblings;
      *part = &message->body.hint_handoff.part;
      return;
    default:
      g_assert_not_reached ();
    }
}

/* The versions a message can carry are bounded by the bytes left after
 * its other fields and by the u8 count of its siblings field. */
guint
node_siblings_that_fit (const DkWireMessage *message, const GPtrArray *set, guint first)
{
  if (first + 1 >= set->len)
    return set->len - MIN (first, set->len);   /* none or one left: one always fits */
  gsize base = dk_wire_encoded_size (message);
  gsize room = base < DK_WIRE_MAX_DATAGRAM ? DK_WIRE_MAX_DATAGRAM - base : 0;
  guint n = 0;
  while (first + n < set->len && n < DK_SIBLINGS_HARD_MAX)
    {
      gsize size = dk_wire_version_size (g_ptr_array_index ((GPtrArray *) set, first + n));
      if (size > room && n > 0)
        break;
      room -= MIN (size, room);
      n++;   /* one version always fits (types.h's limits); if not, sending says so */
    }
  return n;
}

gboolean
node_send_set (DkNode *node, DkEndpoint to, DkWireMessage *message, const GPtrArray *set,
               DkWirePart *sending)
{
  return node_send_set_digested (node, to, message, set, dk_siblings_digest (set), sending);
}

gboolean
node_send_set_digested (DkNode *node, DkEndpoint to, DkWireMessage *message,
                        const GPtrArray *set, guint64 digest, DkWirePart *sending)
{
  GPtrArray **siblings;
  DkWirePart *part;
  node_set_fields (message, &siblings, &part);
  *part = (DkWirePart) { 0, 0, digest };
  if (sending != NULL)
    *sending = *part;
  /* Where each part starts, planned before the first is sent: every part
   * names the last one. */
  guint starts[DK_SIBLINGS_HARD_MAX + 1];
  guint n_parts = 0, first = 0;
  do
    {
      if (n_parts > DK_SIBLINGS_HARD_MAX)
        {
          node->stats.send_failures++;
          node_log (node, DK_LOG_ERROR, "a set of %u versions is over %u parts",
                    set->len, DK_SIBLINGS_HARD_MAX + 1);
          return FALSE;
        }
      starts[n_parts++] = first;
      first += node_siblings_that_fit (message, set, first);
    }
  while (first < set->len);
  part->last = (guint8) (n_parts - 1);
  if (n_parts > 1)
    node->stats.sets_split++;
  gboolean sent = TRUE;
  if (n_parts == 1)
    {
      /* Whole: the message carries SET itself while it is encoded. */
      GPtrArray *own = *siblings;
      *siblings = (GPtrArray *) set;
      sent = node_send (node, to, message);
      *siblings = own;
    }
  else
    {
      /* In parts: the message's own array borrows SET's versions, so it
       * is emptied and made not to free what it holds. */
      g_ptr_array_set_size (*siblings, 0);
      g_ptr_array_set_free_func (*siblings, NULL);
      for (guint i = 0; i < n_parts && sent; i++)
        {
          guint end = i + 1 < n_parts ? starts[i + 1] : set->len;
          g_ptr_array_set_size (*siblings, 0);
          for (guint k = starts[i]; k < end; k++)
            g_ptr_array_add (*siblings, g_ptr_array_index ((GPtrArray *) set, k));
          part->index = (guint8) i;
          sent = node_send (node, to, message);
        }
      g_ptr_array_set_size (*siblings, 0);
    }
  if (sending != NULL)
    *sending = *part;
  return sent;
}

guint64
node_random (DkNode *node)
{
  return node->env.random (node->env.user_data);
}

/* Periodic work runs every INTERVAL_US ± 10%, the jitter drawn from the
 * node's stream, so that nodes started together do not fall into step. */
DkTimerId
node_timer_start_jittered (DkNode *node, gint64 interval_us, DkTimerFunc func)
{
  gint64 spread = MAX (interval_us / 5, 1);
  gint64 jitter = (gint64) (node_random (node) % (guint64) spread) - interval_us / 10;
  return node->env.timer_start (node->env.user_data, interval_us + jitter, func, node);
}

/* ---- handlers ---------------------------------------------------------- */

static void
on_ping (DkNode *node, DkEndpoint from, DkWireMessage *message)
{
  g_autoptr (DkWireMessage) pong = dk_wire_message_new (DK_WIRE_PONG);
  pong->request_id = message->request_id;
  pong->body.ping.timestamp_us = message->body.ping.timestamp_us;
  node_send (node, from, pong);
}

/* Message types a node handles; the rest (PONG, and what later mechanisms
 * add) are counted as unexpected until a handler is listed here. */
static const NodeHandler handlers[DK_WIRE_TYPE_LAST + 1] = {
  [DK_WIRE_GET]          = node_on_client_request,
  [DK_WIRE_PUT]          = node_on_client_request,
  [DK_WIRE_DELETE]       = node_on_client_request,
  [DK_WIRE_FORWARD]      = node_on_forward,
  [DK_WIRE_CLIENT_REPLY] = node_on_client_reply,
  [DK_WIRE_READ]         = node_on_read,
  [DK_WIRE_READ_REPLY]   = node_on_read_reply,
  [DK_WIRE_WRITE]        = node_on_write,
  [DK_WIRE_WRITE_ACK]    = node_on_write_ack,
  [DK_WIRE_PING]         = on_ping,
  [DK_WIRE_GOSSIP]       = node_on_gossip,
  [DK_WIRE_HINT_HANDOFF] = node_on_hint_handoff,
  [DK_WIRE_HINT_ACK]     = node_on_hint_ack,
  [DK_WIRE_AE_TREE_REQUEST] = node_on_ae_tree_request,
  [DK_WIRE_AE_TREE_REPLY]   = node_on_ae_tree_reply,
  [DK_WIRE_AE_KEYS_REQUEST] = node_on_ae_keys_request,
  [DK_WIRE_AE_KEYS_REPLY]   = node_on_ae_keys_reply,
  [DK_WIRE_NODE_STATUS]     = node_on_node_status,
  [DK_WIRE_ADMIN]           = node_on_admin,
  [DK_WIRE_ADMIN_REPLY]     = node_on_admin_reply,
};
/* ---- public ------------------------------------------------------------- */

G_DEFINE_QUARK (dk-node-error-quark, dk_node_error)

void
dk_node_config_init (DkNodeConfig *config)
{
  *config = (DkNodeConfig) {
    .n = 3,
    .r = 2,
    .w = 2,
    .request_timeout_us = 1000000,
    .read_repair = TRUE,
    .read_all_replicas = TRUE,
    .vclock_prune_entries = DK_VCLOCK_PRUNE_ENTRIES,
    .max_forward_hops = 1,
    .log_level = DK_LOG_WARNING,
    .gossip_interval_us = 1000000,
    .suspect_after_us = 3000000,
    .sloppy_quorum = TRUE,
    .hinted_handoff = TRUE,
    .failover = TRUE,
    .handoff_batch = 64,
    .anti_entropy_interval_us = 10000000,
    .vnodes = 64,
    .tombstone_collect_interval_us = 10000000,
    .replay_window_us = DK_NODE_REPLAY_WINDOW_US_DEFAULT,
    .replay_cache_entries = DK_NODE_REPLAY_CACHE_ENTRIES_DEFAULT,
    .dedup_requests = DK_NODE_DEDUP_REQUESTS_DEFAULT,
    .dedup_age_us = DK_NODE_DEDUP_AGE_US_DEFAULT,
    .dedup_bytes = DK_NODE_DEDUP_BYTES_DEFAULT,
  };
}

/* Purge tombstones that outlived the store's grace (Dynamo keeps deletes
 * as versions; they must go eventually, but only after every replica has
 * had time to see them, or the deleted value could come back). */
static void
collect_tombstones (gpointer data)
{
  DkNode *node = data;
  guint collected = 0;
  g_autoptr (GError) error = NULL;
  if (dk_store_collect_tombstones (node->env.store, node_now (node), &collected, &error))
    node->stats.tombstones_collected += collected;
  else
    node->stats.store_errors++;
  node->collect_timer = node->env.timer_start (node->env.user_data,
                                               node->config.tombstone_collect_interval_us,
                                               collect_tombstones, node);
}

/* The actor recorded in STORE, or a new one recorded now: this node's id
 * with a random non-zero incarnation, chosen once per store, so a wiped
 * disk or a reused id always comes back as another actor (daemon and
 * simulator alike).  The draw mixes in the environment's entropy when it
 * has one: a daemon seeded alike at every start (dynkvd --seed) would
 * otherwise draw its old incarnation on a wiped store and reissue its old
 * dots.  Also the counter lease the store last granted, and
 * whether keys were purged since the actor's epoch began (NEW_EPOCH). */
static gboolean
load_actor (const DkNodeConfig *config, const DkEnv *env, DkActor *actor, guint64 *leased,
            gboolean *new_epoch, GError **error)
{
  *new_epoch = FALSE;
  gint64 stored = 0, lease = 0;
  gboolean found = FALSE, lease_found = FALSE;
  if (!dk_store_meta_get (env->store, "actor", &stored, &found, error)
      || !dk_store_meta_get (env->store, "dot_lease", &lease, &lease_found, error))
    return FALSE;
  *leased = lease_found && lease > 0 ? (guint64) lease : 0;
  if (found && dk_actor_node ((DkActor) stored) == config->id
      && dk_actor_incarnation ((DkActor) stored) != 0)
    {
      *actor = (DkActor) stored;
      gint64 purged = 0;
      gboolean purged_found = FALSE;
      if (!dk_store_meta_get (env->store, "purged_since_epoch", &purged, &purged_found, error))
        return FALSE;
      *new_epoch = purged_found && purged != 0;  /* which keys went is forgotten */
      return TRUE;
    }
  guint32 incarnation = 0;
  while (incarnation == 0)
    incarnation = (guint32) (env->random (env->user_data)
                             ^ (env->entropy != NULL ? env->entropy (env->user_data) : 0));
  *actor = dk_actor_make (config->id, incarnation);
  *leased = 0;
  return dk_store_meta_set (env->store, "dot_lease", 0, error)
         && dk_store_meta_set (env->store, "actor", (gint64) *actor, error);
}

DkNode *
dk_node_new (const DkNodeConfig *config, const DkEnv *env, const DkRing *ring, GError **error)
{
  g_return_val_if_fail (config != NULL && env != NULL && ring != NULL, NULL);
  g_return_val_if_fail (env->send && env->now_us && env->timer_start && env->timer_cancel
                        && env->random && env->store, NULL);
  if (config->n < 1 || config->n > DK_RING_MAX_REPLICAS
      || config->r < 1 || config->r > config->n || config->w < 1 || config->w > config->n)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "node %u: need 1 <= r, w <= n <= %u, got n=%u r=%u w=%u",
                   config->id, DK_RING_MAX_REPLICAS, config->n, config->r, config->w);
      return NULL;
    }
  if (dk_ring_lookup_node (ring, config->id) == NULL)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "node %u is not a member of the ring", config->id);
      return NULL;
    }
  if (config->id == DK_NODE_NONE || config->id >= DK_NODE_ID_LIMIT || config->incarnation >= 4096)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "node %u: ids must be 1..%u and incarnations 0..4095", config->id,
                   DK_NODE_ID_LIMIT - 1);
      return NULL;
    }
  DkActor actor;
  guint64 leased;
  gboolean new_epoch;
  if (!load_actor (config, env, &actor, &leased, &new_epoch, error))
    return NULL;
  DkNode *node = g_new0 (DkNode, 1);
  node->actor = actor;
  node->purged_keys = g_hash_table_new_full ((GHashFunc) g_bytes_hash, (GEqualFunc) g_bytes_equal,
                                             (GDestroyNotify) g_bytes_unref, NULL);
  node->env = *env;
  node->config.id = config->id;
  if (new_epoch && !node_actor_new_epoch (node, error))
    {
      g_hash_table_unref (node->purged_keys);
      g_free (node);
      return NULL;
    }
  node->dot_next = leased + 1;  /* whatever the last lease covered may have been used */
  node->dot_leased = leased;
  node->config = *config;
  if (config->auth_key != NULL && config->auth_key_len > 0)
    node->auth_key = g_memdup2 (config->auth_key, config->auth_key_len);
  node->config.auth_key = node->auth_key;
  if (node->auth_key != NULL && config->client_key != NULL && config->client_key_len > 0)
    node->client_key = g_memdup2 (config->client_key, config->client_key_len);
  node->config.client_key = node->client_key;
  if (node->auth_key != NULL)
    node->auth_signer = dk_wire_key_new (node->auth_key, node->config.auth_key_len);
  if (node->client_key != NULL)
    node->client_signer = dk_wire_key_new (node->client_key, node->config.client_key_len);
  if (node->config.max_member_weight == 0 || node->config.max_member_weight > DK_RING_MAX_WEIGHT)
    node->config.max_member_weight = DK_RING_MAX_WEIGHT;
  node->address = g_strdup (config->address);
  node->config.address = node->address;
  node->env = *env;
  node->started_us = node_now (node);
  node->next_request_id = 1;
  node->requests = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, node_request_free);
  node_dedup_init (node);
  if (node->auth_key != NULL)
    {
      if (node->config.replay_window_us <= 0)
        node->config.replay_window_us = DK_NODE_REPLAY_WINDOW_US_DEFAULT;
      if (node->config.replay_cache_entries == 0)
        node->config.replay_cache_entries = DK_NODE_REPLAY_CACHE_ENTRIES_DEFAULT;
      /* What was signed before we started we cannot have remembered. */
      node->replays = dk_replay_cache_new (node->config.replay_window_us,
                                           node->config.replay_cache_entries, node_wall (node));
    }
  node_handoff_init (node);
  node_admin_init (node);
  node_reach_init (node);
  node_reassembly_init (node);
  node_rebalance_init (node);
  if (node->config.vnodes == 0)
    node->config.vnodes = 64;
  if (!node_ring_adopt_initial (node, ring, error))
    {
      dk_node_free (node);
      return NULL;
    }
  if (config->gossip_interval_us > 0 && config->suspect_after_us <= 0)
    node->config.suspect_after_us = 3 * config->gossip_interval_us;
  if (!node_membership_init (node, error))
    {
      dk_node_free (node);
      return NULL;
    }
  node_antientropy_init (node);
  if (node->config.tombstone_collect_interval_us > 0)
    node->collect_timer = node->env.timer_start (node->env.user_data,
                                                 node->config.tombstone_collect_interval_us,
                                                 collect_tombstones, node);
  return node;
}

void
dk_node_free (DkNode *node)
{
  if (node == NULL)
    return;
  if (node->collect_timer != 0)
    node->env.timer_cancel (node->env.user_data, node->collect_timer);
  node_requests_clear (node);
  g_clear_pointer (&node->purged_keys, g_hash_table_unref);
  node_dedup_clear (node);
  g_clear_pointer (&node->replays, dk_replay_cache_free);
  node_antientropy_clear (node);
  node_rebalance_clear (node);
  node_membership_clear (node);
  node_handoff_clear (node);
  node_admin_clear (node);
  node_reach_clear (node);
  node_reassembly_clear (node);
  node_ring_release (node, node->ring);
  g_free (node->address);
  g_clear_pointer (&node->send_buffer, g_byte_array_unref);
  dk_wire_key_free (node->auth_signer);
  dk_wire_key_free (node->client_signer);
  if (node->auth_key != NULL)
    {
      memset (node->auth_key, 0, node->config.auth_key_len);
      g_free (node->auth_key);
    }
  if (node->client_key != NULL)
    {
      memset (node->client_key, 0, node->config.client_key_len);
      g_free (node->client_key);
    }
  g_free (node);
}

/* The stamp of a datagram that verified: meant for us, stamped within
 * the window of our wall clock and after we started, and not accepted
 * before (replay.h).  FALSE (counted) otherwise: a replay, or a clock
 * too far off ours. */
static gboolean
stamp_admitted (DkNode *node, DkEndpoint from, const guint8 *data, gsize len)
{
  DkWireStamp stamp;
  const guint8 *tag = NULL;
  if (!dk_wire_read_stamp (data, len, &stamp, &tag))
    {
      node->stats.dropped_unauthenticated++;  /* cannot happen once verified */
      return FALSE;
    }
  if (stamp.receiver != DK_NODE_NONE && stamp.receiver != node->config.id)
    {
      node->stats.dropped_misdirected++;
      node_log (node, DK_LOG_DEBUG, "dropped a datagram from %" G_GUINT64_FORMAT
                " signed for node %u", from, stamp.receiver);
      return FALSE;
    }
  gint64 now = node_wall (node);
  guint64 overflows = dk_replay_cache_overflows (node->replays);
  DkReplayVerdict verdict = dk_replay_cache_admit (node->replays, now, stamp.timestamp_us, tag);
  node->stats.replay_cache_overflows += dk_replay_cache_overflows (node->replays) - overflows;
  switch (verdict)
    {
    case DK_REPLAY_FRESH:
      return TRUE;
    case DK_REPLAY_STALE:
      node->stats.dropped_stale_timestamp++;
      node_log (node, DK_LOG_DEBUG, "dropped a datagram from %" G_GUINT64_FORMAT
                " stamped %" G_GINT64_FORMAT " us from our clock (window %" G_GINT64_FORMAT
                " us, or before we started)", from, stamp.timestamp_us - now,
                node->config.replay_window_us);
      return FALSE;
    case DK_REPLAY_SEEN:
      node->stats.dropped_replayed++;
      node_log (node, DK_LOG_DEBUG, "dropped a replayed datagram from %" G_GUINT64_FORMAT, from);
      return FALSE;
    }
  g_assert_not_reached ();
}

/* Keyed: verify the datagram with the key its type needs (node.h).  A
 * client request may carry the client key or the cluster key; anything
 * else the cluster key only.  VALIDATED when it verified, else what to
 * report (counted). */
static DkNodeReceipt
verify_credentials (DkNode *node, DkEndpoint from, const guint8 *data, gsize len)
{
  DkWireType type;
  if (!dk_wire_peek_type (data, len, &type))
    {
      node->stats.dropped_unauthenticated++;   /* no dynkv datagram at all: not worth a log line */
      return DK_NODE_RECEIPT_DROPPED;
    }
  g_autoptr (GError) error = NULL;
  if (dk_wire_type_is_client_request (type) && node->client_key != NULL
      && dk_wire_verify_with (data, len, node->client_signer, NULL))
    return DK_NODE_RECEIPT_VALIDATED;
  if (dk_wire_verify_with (data, len, node->auth_signer, &error))
    {
      node->answering_cluster_key = !dk_endpoint_is_node (from) && type == DK_WIRE_PING;
      return DK_NODE_RECEIPT_VALIDATED;
    }
  if (g_error_matches (error, DK_WIRE_ERROR, DK_WIRE_ERROR_UNAUTHENTICATED))
    {
      node->stats.dropped_unauthenticated++;
      return DK_NODE_RECEIPT_UNSIGNED;
    }
  if (g_error_matches (error, DK_WIRE_ERROR, DK_WIRE_ERROR_BAD_TAG))
    {
      node->stats.dropped_unauthenticated++;
      node_log (node, DK_LOG_DEBUG, "dropped a %s from %" G_GUINT64_FORMAT
                ": its tag does not verify with the %s key", dk_wire_type_name (type), from,
                dk_wire_type_is_client_request (type) && node->client_key != NULL
                ? "client or the cluster" : "cluster");
      return DK_NODE_RECEIPT_BAD_TAG;
    }
  node->stats.dropped_unauthenticated++;   /* a header that does not add up */
  return DK_NODE_RECEIPT_DROPPED;
}

/* Who may send what (node.h): client requests come from anyone; every
 * other message from a member's address, naming that member as its
 * sender, except a stranger's GOSSIP (a join) on a keyed cluster or one
 * that allows joins, and an operator's ADMIN on a keyed cluster (it
 * verified with the cluster key).  FALSE: drop it (counted). */
static gboolean
source_may_send (DkNode *node, DkEndpoint from, const DkWireMessage *message)
{
  if (dk_wire_type_is_client_request (message->type))
    return TRUE;
  if (dk_endpoint_is_node (from))
    return message->sender == (DkNodeId) from;
  if (message->type == DK_WIRE_ADMIN)
    return node->auth_key != NULL;
  return message->type == DK_WIRE_GOSSIP
         && (node->auth_key != NULL || node->config.allow_joins);
}

/* The cookie of client endpoint FROM for cookie period PERIOD: a MAC
 * under this node's secret, so only a source that receives at FROM's
 * address learns it. */
static guint64
cookie_for (DkNode *node, DkEndpoint from, gint64 period)
{
  if (!node->cookie_secret_drawn)
    {
      /* Drawn when first needed: an environment that forges no addresses
       * (the simulator) never needs it, and its random streams stay as
       * they were. */
      for (guint i = 0; i < sizeof node->cookie_secret; i += 8)
        {
          guint64 bits = node_random (node);
          memcpy (node->cookie_secret + i, &bits, 8);
        }
      node->cookie_secret_drawn = TRUE;
    }
  guint8 input[16];
  guint64 endpoint_be = GUINT64_TO_BE (from), period_be = GUINT64_TO_BE ((guint64) period);
  memcpy (input, &endpoint_be, 8);
  memcpy (input + 8, &period_be, 8);
  GHmac *hmac = g_hmac_new (G_CHECKSUM_SHA256, node->cookie_secret, sizeof node->cookie_secret);
  g_hmac_update (hmac, input, sizeof input);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_hmac_get_digest (hmac, digest, &digest_len);
  g_hmac_unref (hmac);
  guint64 cookie;
  memcpy (&cookie, digest, sizeof cookie);
  return cookie;
}

/* Unkeyed: a client request from a source the environment does not
 * remember is handled only when it echoes its cookie (this period's or
 * the last one's) as its header request id; otherwise it is answered with
 * RETRY and the cookie, smaller than any request (node.h).  TRUE when the
 * request may be handled. */
static gboolean
address_validated (DkNode *node, DkEndpoint from, const DkWireMessage *message)
{
  gint64 period = node_now (node) / DK_NODE_COOKIE_PERIOD_US;
  guint64 cookie = cookie_for (node, from, period);
  if (message->request_id == cookie || message->request_id == cookie_for (node, from, period - 1))
    return TRUE;
  node->stats.address_validations++;
  g_autoptr (DkWireMessage) retry = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
  retry->request_id = cookie;
  retry->body.client_reply.client_request_id = message->type == DK_WIRE_NODE_STATUS
                                               ? message->body.node_status.client_request_id
                                               : message->body.client_request.client_request_id;
  retry->body.client_reply.status = DK_WIRE_STATUS_RETRY;
  retry->body.client_reply.reason = g_strdup ("");
  node_send (node, from, retry);
  return FALSE;
}

DkNodeReceipt
dk_node_receive (DkNode *node, DkEndpoint from, const guint8 *data, gsize len)
{
  node->stats.datagrams_received++;
  node->answering_cluster_key = FALSE;
  if (node->auth_key != NULL)
    {
      DkNodeReceipt verified = verify_credentials (node, from, data, len);
      if (verified != DK_NODE_RECEIPT_VALIDATED)
        return verified;
      if (!stamp_admitted (node, from, data, len))
        return DK_NODE_RECEIPT_DROPPED;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (DkWireMessage) message = dk_wire_decode (data, len, &error);
  if (message == NULL)
    {
      node->stats.dropped_malformed++;
      node_log (node, DK_LOG_DEBUG, "dropped a datagram from %" G_GUINT64_FORMAT ": %s",
                from, error->message);
      return DK_NODE_RECEIPT_DROPPED;
    }
  if (!source_may_send (node, from, message))
    {
      node->stats.dropped_not_member++;
      node_log (node, DK_LOG_DEBUG, "dropped a %s from %" G_GUINT64_FORMAT
                " (sender %u): no member's address", dk_wire_type_name (message->type), from,
                message->sender);
      return DK_NODE_RECEIPT_DROPPED;
    }
  if (dk_endpoint_is_node (from))
    node_reach_heard (node, (DkNodeId) from);   /* it is reachable, whatever it says */
  NodeHandler handler = handlers[message->type];
  if (handler == NULL)
    {
      node->stats.dropped_unexpected++;
      return DK_NODE_RECEIPT_DROPPED;
    }
  /* Signed with a key, or remembered by the environment: validated.  A
   * PING is answered alike (a PONG is its size) and validates nothing; an
   * unkeyed stranger's GOSSIP (allow_joins) neither. */
  gboolean validated = node->auth_key != NULL || dk_endpoint_is_node (from)
                       || node->env.source_validated == NULL
                       || node->env.source_validated (node->env.user_data, from);
  if (!validated && message->type != DK_WIRE_PING && dk_wire_type_is_client_request (message->type))
    {
      if (!address_validated (node, from, message))
        return DK_NODE_RECEIPT_HANDLED;
      validated = TRUE;
    }
  if (node_reassemble (node, from, &message, handler))
    handler (node, from, message);
  node->answering_cluster_key = FALSE;
  return validated ? DK_NODE_RECEIPT_VALIDATED : DK_NODE_RECEIPT_HANDLED;
}

DkNodeId
dk_node_id (const DkNode *node)
{
  return node->config.id;
}

DkActor
dk_node_actor (const DkNode *node)
{
  return node->actor;
}

const DkNodeStats *
dk_node_stats (const DkNode *node)
{
  return &node->stats;
}

guint
dk_node_requests_in_flight (const DkNode *node)
{
  return g_hash_table_size (node->requests);
}
