/* cluster.c — simulated nodes, their environment, and the network between
 * them; see cluster.h.
 *
 * Random streams: the network draws from stream 1 of the run seed, node i
 * from stream 1000 + i, so a node's draws never depend on traffic
 * elsewhere.  Nothing here iterates a hash table where order could reach
 * a result: tables are only looked up. */
#include "cluster.h"

#include <string.h>
#include "ring_cache.h"
#include "trace.h"

#define NETWORK_STREAM 1
#define NODE_STREAM_BASE 1000
#define CLOCK_STREAM 4        /* the nodes' clock skews (nemesis: 3) */

typedef struct _SimNode SimNode;

/* A timer a node started: the event queue calls timer_fire with it.  Its
 * id is its event's, and the event queue finds it from the id; LINK keeps
 * it in its node's list, so a crash cancels every timer of the node
 * (no hashing on the path of every request's timeout). */
typedef struct
{
  SimNode    *owner;
  DkEventId   event;
  DkTimerFunc func;
  gpointer    data;
  GList       link;  /* in owner->timers; data points at this timer */
} SimTimer;

struct _SimNode
{
  DkSimCluster *cluster;
  DkNodeId      id;
  char         *name;
  char         *datacenter;
  guint         dc_number;   /* 1-based; 0 without datacenters */
  DkNode       *node;        /* NULL while crashed */
  DkStore      *store;
  DkRng         rng;
  GQueue        timers;      /* SimTimer* (intrusive links), owned */
  char         *rack;
  gboolean      member;      /* joined and not (yet) left */
  gboolean      leaving;     /* told to leave, still handing off */
  DkEventId     leave_poll;
  guint         side;        /* partition side; 0 when not partitioned */
  guint         wipes;       /* disks lost (or left behind) so far: the incarnation */
  gint64        skew_us;     /* its wall clock minus the true (virtual) time */
  gboolean      ever_started;
};

/* One datagram in flight. */
typedef struct
{
  DkSimCluster *cluster;
  DkEndpoint    from;
  DkEndpoint    to;
  DkNodeId      from_node;   /* the node end of the hop (a client's home) */
  DkNodeId      to_node;
  gint64        sent_us;     /* virtual time it left */
  gsize         len;
  guint8        bytes[];
} Datagram;

struct _DkSimCluster
{
  DkSimClusterConfig config;
  DkEventQueue *queue;
  const DkRing *ring;         /* the membership as the operator sees it */
  DkRingCache  *rings;        /* shared by every node (random tokens); NULL for partitions */
  DkStore      *store_template; /* empty: every node's store is a copy (dk_store_open_like) */
  DkMemberTable *member_table;/* member names and places, shared by every node */
  guint         initial_nodes;
  SimNode      *nodes;        /* [0] unused; nodes[i] is node id i */
  guint         n_nodes;
  DkRng         network_rng;
  DkLinkModel   network;
  GHashTable   *link_models;  /* (min id << 32 | max id) -> DkLinkModel* */
  DkLinkModel **dc_models;    /* (D+1) x (D+1), NULL when not overridden */
  GHashTable   *drops;        /* (from << 32 | to) set */
  DkNetStats    net_stats;
  DkNodeStats   retired_stats;/* counters of node objects freed by crashes */
  FILE         *fault_log;
  FILE         *node_log;
  DkLogLevel    node_log_level;
  DkClientDeliverFunc client_deliver;
  gpointer      client_data;
  DkSimTrace   *trace;        /* datagrams to record for the report, or NULL */
  gint64        fault_ended_us;  /* the last fault's end (see cluster.h), or -1 */
  gint64        last_repair_us;  /* the last event in which a node repaired, or -1 */
};

/* ---- the simulated environment ------------------------------------------ */

static void network_send (DkSimCluster *cluster, DkEndpoint from, DkNodeId from_node,
                          DkEndpoint to, const guint8 *data, gsize len);

static DkNodeId
endpoint_home (const DkSimCluster *cluster, DkEndpoint endpoint)
{
  if (dk_endpoint_is_node (endpoint))
    return (DkNodeId) endpoint;
  return dk_sim_cluster_client_home (cluster, (guint) (endpoint - DK_ENDPOINT_CLIENT_BASE));
}

static void
env_send (gpointer user_data, DkEndpoint to, const guint8 *bytes, gsize len)
{
  SimNode *sim_node = user_data;
  network_send (sim_node->cluster, sim_node->id, sim_node->id, to, bytes, len);
}

static gint64
env_now (gpointer user_data)
{
  SimNode *sim_node = user_data;
  return dk_eventq_now (sim_node->cluster->queue);
}

/* The node's wall clock: virtual time (which starts at 0), off by its
 * skew; only differences of wall times matter. */
static gint64
env_wall (gpointer user_data)
{
  SimNode *sim_node = user_data;
  return dk_eventq_now (sim_node->cluster->queue) + sim_node->skew_us;
}

/* What a node did to bring replicas together, as its counters say:
 * hinted data it took back, keys streamed or swept to it, that changed
 * its store (repairs_applied; a stand-in's stale copy pushed to a replica
 * that holds newer is no repair), hints rerouted, anti-entropy repairs.
 * Read repairs are left out: under load they also fire for reads racing
 * a write still in flight, which needs no repair. */
static guint64
repairs_made (const DkNode *node)
{
  const DkNodeStats *stats = dk_node_stats (node);
  return stats->repairs_applied + stats->hints_rerouted + stats->ae_keys_pushed
         + stats->ae_keys_pulled;
}

/* SIM_NODE's node had made BEFORE repairs before the event that ran: note
 * the time when it made more. */
static void
note_repairs (SimNode *sim_node, guint64 before)
{
  if (sim_node->node != NULL && repairs_made (sim_node->node) != before)
    sim_node->cluster->last_repair_us = dk_eventq_now (sim_node->cluster->queue);
}

static void
timer_fire (gpointer data)
{
  SimTimer *timer = data;
  DkTimerFunc func = timer->func;
  gpointer func_data = timer->data;
  SimNode *owner = timer->owner;
  g_queue_unlink (&owner->timers, &timer->link);
  g_free (timer);
  guint64 before = owner->node != NULL ? repairs_made (owner->node) : 0;
  func (func_data);
  note_repairs (owner, before);
}

static DkTimerId
env_timer_start (gpointer user_data, gint64 after_us, DkTimerFunc func, gpointer data)
{
  SimNode *sim_node = user_data;
  SimTimer *timer = g_new (SimTimer, 1);
  timer->owner = sim_node;
  timer->func = func;
  timer->data = data;
  timer->event = dk_eventq_schedule (sim_node->cluster->queue, after_us, timer_fire, timer);
  timer->link = (GList) { .data = timer };
  g_queue_push_tail_link (&sim_node->timers, &timer->link);
  return timer->event;
}

static void
env_timer_cancel (gpointer user_data, DkTimerId id)
{
  SimNode *sim_node = user_data;
  DkEventFunc func;
  gpointer data;
  if (!dk_eventq_lookup (sim_node->cluster->queue, id, &func, &data) || func != timer_fire
      || ((SimTimer *) data)->owner != sim_node)
    return;   /* fired, cancelled, or not this node's */
  SimTimer *timer = data;
  g_queue_unlink (&sim_node->timers, &timer->link);
  dk_eventq_cancel (sim_node->cluster->queue, id);
  g_free (timer);
}

static guint64
env_random (gpointer user_data)
{
  SimNode *sim_node = user_data;
  return dk_rng_next (&sim_node->rng);
}

static void
env_log (gpointer user_data, DkLogLevel level, const char *message)
{
  SimNode *sim_node = user_data;
  DkSimCluster *cluster = sim_node->cluster;
  if (cluster->node_log == NULL || level > cluster->node_log_level)
    return;
  dk_sim_log_stamp (cluster->node_log, dk_eventq_now (cluster->queue));
  fprintf (cluster->node_log, "%s\n", message);
}

static const DkRing *build_ring (DkSimCluster *cluster, gboolean with_leavers, GError **error);
static void release_ring (DkSimCluster *cluster, const DkRing *ring);

/* Start SIM_NODE on its store; JOINING: as a new member (which also calls
 * off a leave its store records).  Its first view of the membership is
 * the operator's ring, with itself in it even while it is leaving (a
 * restarted leaver goes on leaving from there). */
static gboolean
sim_node_start (SimNode *sim_node, gboolean joining, GError **error)
{
  DkSimCluster *cluster = sim_node->cluster;
  const DkRing *ring = cluster->ring;
  const DkRing *own_ring = NULL;
  if (dk_ring_lookup_node (ring, sim_node->id) == NULL)
    {
      own_ring = build_ring (cluster, TRUE, error);
      if (own_ring == NULL)
        return FALSE;
      ring = own_ring;
    }
  DkEnv env = {
    .user_data = sim_node,
    .send = env_send,
    .now_us = env_now,
    .wall_us = env_wall,
    .timer_start = env_timer_start,
    .timer_cancel = env_timer_cancel,
    .random = env_random,
    .log = env_log,
    .store = sim_node->store,
    .rings = cluster->rings,
  };
  DkNodeConfig config = cluster->config.node;
  config.id = sim_node->id;
  config.incarnation = sim_node->wipes % 4096;
  config.vnodes = cluster->config.vnodes;
  config.joining = joining;
  config.member_table = cluster->member_table;
  sim_node->node = dk_node_new (&config, &env, ring, error);
  release_ring (cluster, own_ring);
  sim_node->ever_started = sim_node->ever_started || sim_node->node != NULL;
  if (sim_node->node != NULL && sim_node->leaving)
    dk_node_leave (sim_node->node);   /* a no-op when its store says so already */
  return sim_node->node != NULL;
}

/* A member joined after the start claims JOINING whenever it starts. */
static gboolean
joined_later (const SimNode *sim_node)
{
  return sim_node->id > sim_node->cluster->initial_nodes;
}

static void
add_stats (DkNodeStats *total, const DkNodeStats *more)
{
  guint64 *sum = (guint64 *) total;
  const guint64 *add = (const guint64 *) more;
  for (gsize i = 0; i < sizeof (DkNodeStats) / sizeof (guint64); i++)
    sum[i] += add[i];
}

static void
sim_node_stop (SimNode *sim_node)
{
  if (sim_node->node == NULL)
    return;
  add_stats (&sim_node->cluster->retired_stats, dk_node_stats (sim_node->node));
  g_clear_pointer (&sim_node->node, dk_node_free);
  g_autoptr(GError) error = NULL;
  if (!dk_store_flush (sim_node->store, &error))
    g_warning ("%s: %s", sim_node->name, error->message);
  /* The node cancelled what it knew of; anything left is cancelled here. */
  GList *link;
  while ((link = g_queue_pop_head_link (&sim_node->timers)) != NULL)
    {
      SimTimer *timer = link->data;
      dk_eventq_cancel (sim_node->cluster->queue, timer->event);
      g_free (timer);
    }
}

/* ---- the network -------------------------------------------------------- */

static guint64
pair_key (DkNodeId a, DkNodeId b)
{
  return ((guint64) MIN (a, b) << 32) | MAX (a, b);
}

static const DkLinkModel *
link_model (const DkSimCluster *cluster, DkNodeId a, DkNodeId b)
{
  guint64 key = pair_key (a, b);
  const DkLinkModel *model = g_hash_table_lookup (cluster->link_models, &key);
  if (model != NULL)
    return model;
  guint dcs = cluster->config.datacenters;
  if (dcs > 0)
    {
      const DkLinkModel *dc_model =
        cluster->dc_models[cluster->nodes[a].dc_number * (dcs + 1) + cluster->nodes[b].dc_number];
      if (dc_model != NULL)
        return dc_model;
    }
  return &cluster->network;
}

static gboolean
link_open (const DkSimCluster *cluster, DkNodeId from, DkNodeId to)
{
  if (cluster->nodes[from].side != cluster->nodes[to].side)
    return FALSE;
  if (g_hash_table_size (cluster->drops) > 0)
    {
      guint64 key = ((guint64) from << 32) | to;
      if (g_hash_table_contains (cluster->drops, &key))
        return FALSE;
    }
  return TRUE;
}

/* What deliver does with DATAGRAM, for the trace. */
static DkTraceFate
arrival_fate (const DkSimCluster *cluster, const Datagram *datagram)
{
  if (!link_open (cluster, datagram->from_node, datagram->to_node))
    return DK_TRACE_CUT;
  if (dk_endpoint_is_node (datagram->to) && cluster->nodes[datagram->to].node == NULL)
    return DK_TRACE_TO_CRASHED;
  return DK_TRACE_DELIVERED;
}

static void
deliver (gpointer data)
{
  Datagram *datagram = data;
  DkSimCluster *cluster = datagram->cluster;
  if (cluster->trace != NULL)
    dk_sim_trace_arrive (cluster->trace, datagram, arrival_fate (cluster, datagram));
  if (!link_open (cluster, datagram->from_node, datagram->to_node))
    cluster->net_stats.cut++;
  else if (dk_endpoint_is_node (datagram->to))
    {
      SimNode *target = &cluster->nodes[datagram->to];
      if (target->node == NULL)
        cluster->net_stats.to_crashed++;
      else
        {
          cluster->net_stats.delivered++;
          guint64 before = repairs_made (target->node);
          dk_node_receive (target->node, datagram->from, datagram->bytes, datagram->len);
          note_repairs (target, before);
        }
    }
  else if (cluster->client_deliver != NULL)
    {
      cluster->net_stats.delivered++;
      cluster->client_deliver ((guint) (datagram->to - DK_ENDPOINT_CLIENT_BASE), datagram->from,
                               datagram->bytes, datagram->len, datagram->sent_us,
                               cluster->client_data);
    }
  g_free (datagram);
}

/* The distribution a datagram's delay is drawn from: a link or datacenter
 * override's latency; otherwise, on the default model, the leg of its
 * kind when the scenario set one (a client's request or answer, a
 * coordinator's READ or WRITE, a replica's reply or acknowledgement: the
 * PBS paper's W, A, R and S), else the network latency.  A datagram's
 * type is its header's fourth byte (wire.h). */
static const DkDist *
message_delay (const DkSimCluster *cluster, const DkLinkModel *model, DkEndpoint from,
               DkEndpoint to, const guint8 *data, gsize len)
{
  if (model != &cluster->network && !model->use_legs)
    return &model->latency;
  const DkDistOverride *legs = cluster->config.legs;
  int leg = -1;
  if (!dk_endpoint_is_node (from) || !dk_endpoint_is_node (to))
    leg = DK_LEG_CLIENT;
  else if (len > 3)
    switch ((DkWireType) data[3])
      {
      case DK_WIRE_WRITE:
        leg = DK_LEG_WRITE;
        break;
      case DK_WIRE_WRITE_ACK:
        leg = DK_LEG_ACK;
        break;
      case DK_WIRE_READ:
        leg = DK_LEG_READ;
        break;
      case DK_WIRE_READ_REPLY:
        leg = DK_LEG_RESPONSE;
        break;
      default:
        break;
      }
  return leg >= 0 && legs[leg].set ? &legs[leg].dist : &cluster->network.latency;
}

static void
schedule_copy (DkSimCluster *cluster, const DkLinkModel *model, DkEndpoint from,
               DkNodeId from_node, DkEndpoint to, DkNodeId to_node,
               const guint8 *data, gsize len)
{
  Datagram *datagram = g_malloc (sizeof (Datagram) + len);
  datagram->cluster = cluster;
  datagram->from = from;
  datagram->to = to;
  datagram->from_node = from_node;
  datagram->to_node = to_node;
  datagram->sent_us = dk_eventq_now (cluster->queue);
  datagram->len = len;
  memcpy (datagram->bytes, data, len);
  /* extra is a wide-area hop between nodes; a client takes its leg. */
  gint64 extra_us = dk_endpoint_is_node (from) && dk_endpoint_is_node (to) ? model->extra_us : 0;
  gint64 delay = dk_dist_sample_us (message_delay (cluster, model, from, to, data, len),
                                    &cluster->network_rng) + extra_us;
  if (cluster->trace != NULL)
    dk_sim_trace_send (cluster->trace, datagram, from, to, dk_eventq_now (cluster->queue),
                       dk_eventq_now (cluster->queue) + delay, DK_TRACE_IN_FLIGHT, data, len);
  dk_eventq_schedule_full (cluster->queue, dk_eventq_now (cluster->queue) + delay, deliver,
                           datagram, g_free);
}

static void
trace_dropped (DkSimCluster *cluster, DkEndpoint from, DkEndpoint to, DkTraceFate fate,
               const guint8 *data, gsize len)
{
  gint64 now = dk_eventq_now (cluster->queue);
  dk_sim_trace_send (cluster->trace, NULL, from, to, now, now, fate, data, len);
}

static void
network_send (DkSimCluster *cluster, DkEndpoint from, DkNodeId from_node, DkEndpoint to,
              const guint8 *data, gsize len)
{
  DkNodeId to_node = endpoint_home (cluster, to);
  cluster->net_stats.sent++;
  cluster->net_stats.bytes_sent += len;
  if (to_node == DK_NODE_NONE || to_node > cluster->n_nodes)
    {
      cluster->net_stats.cut++;
      return;
    }
  if (!link_open (cluster, from_node, to_node))
    {
      cluster->net_stats.cut++;
      if (cluster->trace != NULL)
        trace_dropped (cluster, from, to, DK_TRACE_CUT, data, len);
      return;
    }
  /* A datagram between a client and its home node, or within one node,
   * crosses no link; everything else uses the link model. */
  const DkLinkModel *model = link_model (cluster, from_node, to_node);
  if (model->loss > 0 && dk_rng_double (&cluster->network_rng) < model->loss)
    {
      cluster->net_stats.lost++;
      if (cluster->trace != NULL)
        trace_dropped (cluster, from, to, DK_TRACE_LOST, data, len);
      return;
    }
  schedule_copy (cluster, model, from, from_node, to, to_node, data, len);
  if (model->dup > 0 && dk_rng_double (&cluster->network_rng) < model->dup)
    {
      cluster->net_stats.duplicated++;
      schedule_copy (cluster, model, from, from_node, to, to_node, data, len);
    }
}

void
dk_sim_cluster_client_send (DkSimCluster *cluster, guint client, DkEndpoint to,
                            const guint8 *data, gsize len)
{
  network_send (cluster, DK_ENDPOINT_CLIENT_BASE + client,
                dk_sim_cluster_client_home (cluster, client), to, data, len);
}

/* ---- building ------------------------------------------------------------ */

void
dk_sim_cluster_config_init (DkSimClusterConfig *config)
{
  *config = (DkSimClusterConfig) {
    .seed = 1,
    .nodes = 5,
    .ring_strategy = DK_RING_RANDOM_TOKENS,
    .vnodes = 64,
    .network = { .latency = { .kind = DK_DIST_CONST, .a_us = 1000 } },
  };
  dk_node_config_init (&config->node);
  /* Scenario joins happen unasked: no operator admits them here. */
  config->node.auto_admit = TRUE;
  dk_store_options_init (&config->store);
  /* One SQLite transaction per write was a third of a run's time.  The
   * stores live in this process, which no simulated crash ends, and a
   * crash flushes the group (sim_node_stop): the store holds exactly what
   * per-write commits would have left.  A long group also journals each
   * page once instead of once per few writes: 1,024 runs 7% faster than
   * 64 at 100 nodes (bench_sim), for about 5% more memory. */
  config->store.writes_per_commit = 1024;
  /* The kv rows in memory rather than in SQLite pages: nothing outlives
   * the process anyway, and a put spread over 1,000 SQLite databases
   * costs ~5x one into a single small database, in cache misses
   * (bench_store store.put.spread); the rows in memory take ~4x less
   * (store.put.spread.memkv). */
  config->store.kv_in_memory = TRUE;
}

static void
fault (DkSimCluster *cluster, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* A fault ended now. */
static void
fault_ended (DkSimCluster *cluster)
{
  cluster->fault_ended_us = dk_eventq_now (cluster->queue);
}

static void poll_leaver (gpointer data);

static void
fault (DkSimCluster *cluster, const char *format, ...)
{
  if (cluster->fault_log == NULL)
    return;
  va_list args;
  va_start (args, format);
  dk_sim_log_stamp (cluster->fault_log, dk_eventq_now (cluster->queue));
  fputs ("fault ", cluster->fault_log);
  vfprintf (cluster->fault_log, format, args);
  fputc ('\n', cluster->fault_log);
  va_end (args);
}

/* The operator's ring: every member node but those leaving (WITH_LEAVERS:
 * them too).  Random-token rings come from the cache the nodes share; an
 * equal-partitions ring is built once (its table is not a function of the
 * membership, so it cannot change). */
static const DkRing *
build_ring (DkSimCluster *cluster, gboolean with_leavers, GError **error)
{
  g_autoptr (GArray) members = g_array_new (FALSE, TRUE, sizeof (DkRingNode));
  for (guint i = 1; i <= cluster->n_nodes; i++)
    {
      SimNode *sim_node = &cluster->nodes[i];
      if (!sim_node->member || (sim_node->leaving && !with_leavers))
        continue;
      DkRingNode member = {
        .id = i,
        .name = sim_node->name,
        .datacenter = sim_node->datacenter,
        .rack = sim_node->rack,
        .weight = 1,
      };
      g_array_append_val (members, member);
    }
  if (cluster->rings != NULL)
    return dk_ring_cache_acquire (cluster->rings, (DkRingNode *) members->data, members->len, error);
  g_autoptr (DkRing) ring = dk_ring_new_equal_partitions (members->len * cluster->config.vnodes);
  if (!dk_ring_add_nodes (ring, (DkRingNode *) members->data, members->len, error))
    return NULL;
  return g_steal_pointer (&ring);
}

static void
release_ring (DkSimCluster *cluster, const DkRing *ring)
{
  if (ring == NULL)
    return;
  if (cluster->rings != NULL)
    dk_ring_cache_release (cluster->rings, ring);
  else
    dk_ring_free ((DkRing *) ring);
}

DkSimCluster *
dk_sim_cluster_new (const DkSimClusterConfig *config, DkEventQueue *queue,
                    FILE *fault_log, GError **error)
{
  g_return_val_if_fail (config->nodes >= 1, NULL);
  g_autoptr (DkSimCluster) cluster = g_new0 (DkSimCluster, 1);
  cluster->config = *config;
  cluster->queue = queue;
  cluster->initial_nodes = config->nodes;
  cluster->n_nodes = MAX (config->nodes, config->max_nodes);
  if (config->ring_strategy == DK_RING_RANDOM_TOKENS)
    cluster->rings = dk_ring_cache_new (config->vnodes);
  cluster->member_table = dk_member_table_new ();
  cluster->network = config->network;
  cluster->fault_ended_us = -1;
  cluster->last_repair_us = -1;
  cluster->fault_log = fault_log;
  cluster->node_log_level = DK_LOG_WARNING;
  cluster->link_models = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  cluster->drops = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  cluster->dc_models = g_new0 (DkLinkModel *, (config->datacenters + 1) * (config->datacenters + 1));
  dk_rng_init (&cluster->network_rng, config->seed, NETWORK_STREAM);

  cluster->nodes = g_new0 (SimNode, cluster->n_nodes + 1);
  DkRng clock_rng;
  dk_rng_init (&clock_rng, config->seed, CLOCK_STREAM);
  for (guint i = 1; i <= cluster->n_nodes; i++)
    {
      SimNode *sim_node = &cluster->nodes[i];
      sim_node->cluster = cluster;
      sim_node->id = i;
      sim_node->name = g_strdup_printf ("n%u", i);
      sim_node->dc_number = config->datacenters > 0 ? (i - 1) % config->datacenters + 1 : 0;
      sim_node->datacenter = sim_node->dc_number > 0
                             ? g_strdup_printf ("dc%u", sim_node->dc_number) : g_strdup ("");
      sim_node->rack = NULL;
      if (config->racks > 0)
        {
          guint position_in_dc = config->datacenters > 0 ? (i - 1) / config->datacenters : i - 1;
          sim_node->rack = g_strdup_printf ("r%u", position_in_dc % config->racks + 1);
        }
      sim_node->member = i <= config->nodes;
      g_queue_init (&sim_node->timers);
      dk_rng_init (&sim_node->rng, config->seed, NODE_STREAM_BASE + i);
      gint64 skew = dk_dist_sample_us (&config->clock_skew, &clock_rng);
      sim_node->skew_us = dk_rng_below (&clock_rng, 2) == 0 ? skew : -skew;
    }
  cluster->ring = build_ring (cluster, FALSE, error);
  if (cluster->ring == NULL)
    return NULL;
  cluster->store_template = dk_store_open (":memory:", &config->store, error);
  if (cluster->store_template == NULL)
    return NULL;

  for (guint i = 1; i <= config->nodes; i++)
    {
      SimNode *sim_node = &cluster->nodes[i];
      sim_node->store = dk_store_open_like (cluster->store_template, error);
      if (sim_node->store == NULL || !sim_node_start (sim_node, FALSE, error))
        return NULL;
    }
  return g_steal_pointer (&cluster);
}

void
dk_sim_cluster_free (DkSimCluster *cluster)
{
  if (cluster == NULL)
    return;
  if (cluster->nodes != NULL)
    for (guint i = 1; i <= cluster->n_nodes; i++)
      {
        SimNode *sim_node = &cluster->nodes[i];
        if (sim_node->cluster == NULL)
          continue;   /* the build stopped before this node */
        sim_node_stop (sim_node);
        if (sim_node->leave_poll != 0)
          dk_eventq_cancel (cluster->queue, sim_node->leave_poll);
        g_clear_pointer (&sim_node->store, dk_store_close);
        g_free (sim_node->name);
        g_free (sim_node->datacenter);
        g_free (sim_node->rack);
      }
  g_free (cluster->nodes);
  g_clear_pointer (&cluster->store_template, dk_store_close);
  release_ring (cluster, cluster->ring);
  g_clear_pointer (&cluster->rings, dk_ring_cache_free);
  g_clear_pointer (&cluster->member_table, dk_member_table_unref);
  guint cells = (cluster->config.datacenters + 1) * (cluster->config.datacenters + 1);
  for (guint i = 0; i < cells; i++)
    g_free (cluster->dc_models[i]);
  g_free (cluster->dc_models);
  g_hash_table_destroy (cluster->link_models);
  g_hash_table_destroy (cluster->drops);
  g_free (cluster);
}

void
dk_sim_cluster_set_client_handler (DkSimCluster *cluster, DkClientDeliverFunc func,
                                   gpointer user_data)
{
  cluster->client_deliver = func;
  cluster->client_data = user_data;
}

void
dk_sim_cluster_set_trace (DkSimCluster *cluster, DkSimTrace *trace)
{
  cluster->trace = trace;
}

void
dk_sim_cluster_set_node_log (DkSimCluster *cluster, FILE *log, DkLogLevel level)
{
  cluster->node_log = log;
  cluster->node_log_level = level;
}

/* ---- membership and placement --------------------------------------------- */

guint
dk_sim_cluster_node_count (const DkSimCluster *cluster)
{
  return cluster->n_nodes;
}

const DkRing *
dk_sim_cluster_ring (const DkSimCluster *cluster)
{
  return cluster->ring;
}

const char *
dk_sim_cluster_node_name (const DkSimCluster *cluster, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, NULL);
  return cluster->nodes[id].name;
}

const char *
dk_sim_cluster_node_datacenter (const DkSimCluster *cluster, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, NULL);
  return cluster->nodes[id].datacenter;
}

DkNodeId
dk_sim_cluster_node_by_name (const DkSimCluster *cluster, const char *name)
{
  if (name[0] != 'n')
    return DK_NODE_NONE;
  guint64 id;
  if (!g_ascii_string_to_unsigned (name + 1, 10, 1, cluster->n_nodes, &id, NULL))
    return DK_NODE_NONE;
  return (DkNodeId) id;
}

DkNode *
dk_sim_cluster_node (DkSimCluster *cluster, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, NULL);
  return cluster->nodes[id].node;
}

DkStore *
dk_sim_cluster_store (DkSimCluster *cluster, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, NULL);
  return cluster->nodes[id].store;
}

gboolean
dk_sim_cluster_node_is_up (const DkSimCluster *cluster, DkNodeId id)
{
  return id >= 1 && id <= cluster->n_nodes && cluster->nodes[id].node != NULL;
}

DkNodeId
dk_sim_cluster_client_home (const DkSimCluster *cluster, guint client)
{
  return client % cluster->initial_nodes + 1;
}

gboolean
dk_sim_cluster_reachable (const DkSimCluster *cluster, DkNodeId from, DkNodeId to)
{
  return dk_sim_cluster_node_is_up (cluster, to) && link_open (cluster, from, to);
}

/* ---- faults ---------------------------------------------------------------- */

void
dk_sim_cluster_partition (DkSimCluster *cluster, const GPtrArray *groups)
{
  g_autoptr (GString) line = g_string_new ("partition");
  guint rest_side = groups->len + 1;
  for (guint i = 1; i <= cluster->n_nodes; i++)
    cluster->nodes[i].side = rest_side;
  for (guint g = 0; g < groups->len; g++)
    {
      const GArray *group = g_ptr_array_index (groups, g);
      g_string_append (line, " {");
      for (guint j = 0; j < group->len; j++)
        {
          DkNodeId id = g_array_index (group, DkNodeId, j);
          g_return_if_fail (id >= 1 && id <= cluster->n_nodes);
          cluster->nodes[id].side = g + 1;
          g_string_append_printf (line, "%s%s", j > 0 ? " " : "", cluster->nodes[id].name);
        }
      g_string_append (line, "}");
    }
  fault (cluster, "%s", line->str);
}

DkPartitionSide
dk_sim_cluster_partition_side (const DkSimCluster *cluster, DkNodeId node)
{
  g_return_val_if_fail (node >= 1 && node <= cluster->n_nodes, DK_SIDE_NONE);
  guint side = cluster->nodes[node].side;
  if (side == 0)
    return DK_SIDE_NONE;
  /* Nodes per side (sides are numbered from 1, the rest last). */
  guint own = 0, largest = 0;
  g_autofree guint *sizes = g_new0 (guint, cluster->n_nodes + 2);
  for (guint i = 1; i <= cluster->n_nodes; i++)
    {
      guint s = MIN (cluster->nodes[i].side, cluster->n_nodes + 1);
      sizes[s]++;
    }
  for (guint s = 1; s <= cluster->n_nodes + 1; s++)
    largest = MAX (largest, sizes[s]);
  own = sizes[MIN (side, cluster->n_nodes + 1)];
  return own == largest ? DK_SIDE_MAJORITY : DK_SIDE_MINORITY;
}

void
dk_sim_cluster_drop (DkSimCluster *cluster, DkNodeId from, DkNodeId to)
{
  guint64 *key = g_new (guint64, 1);
  *key = ((guint64) from << 32) | to;
  g_hash_table_add (cluster->drops, key);
  fault (cluster, "drop %s -> %s", cluster->nodes[from].name, cluster->nodes[to].name);
}

void
dk_sim_cluster_heal (DkSimCluster *cluster)
{
  gboolean cut = g_hash_table_size (cluster->drops) > 0;
  for (guint i = 1; i <= cluster->n_nodes; i++)
    cut = cut || cluster->nodes[i].side != 0;
  if (cut)
    fault_ended (cluster);
  for (guint i = 1; i <= cluster->n_nodes; i++)
    cluster->nodes[i].side = 0;
  g_hash_table_remove_all (cluster->drops);
  fault (cluster, "heal");
}

void
dk_sim_cluster_crash (DkSimCluster *cluster, DkNodeId id)
{
  g_return_if_fail (id >= 1 && id <= cluster->n_nodes);
  SimNode *sim_node = &cluster->nodes[id];
  if (sim_node->node == NULL)
    {
      fault (cluster, "crash %s (already down)", sim_node->name);
      return;
    }
  sim_node_stop (sim_node);
  fault (cluster, "crash %s", sim_node->name);
}

/* Poll a leaving node until it has left (a crashed one is polled again
 * when it restarts). */
static void
watch_leaver (SimNode *sim_node)
{
  if (sim_node->leave_poll == 0 && sim_node->node != NULL)
    sim_node->leave_poll = dk_eventq_schedule (sim_node->cluster->queue, DK_SIM_LEAVE_POLL_US,
                                               poll_leaver, sim_node);
}

gboolean
dk_sim_cluster_restart (DkSimCluster *cluster, DkNodeId id, GError **error)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, FALSE);
  SimNode *sim_node = &cluster->nodes[id];
  if (sim_node->node != NULL || !sim_node->member)
    {
      fault (cluster, "restart %s (%s)", sim_node->name,
             sim_node->member ? "already up" : "not a member");
      return TRUE;
    }
  if (!sim_node_start (sim_node, joined_later (sim_node), error))
    {
      g_prefix_error (error, "restart %s: ", sim_node->name);
      return FALSE;
    }
  fault_ended (cluster);
  fault (cluster, "restart %s%s", sim_node->name, sim_node->leaving ? " (still leaving)" : "");
  if (sim_node->leaving)
    watch_leaver (sim_node);
  return TRUE;
}

gboolean
dk_sim_cluster_wipe (DkSimCluster *cluster, DkNodeId id, GError **error)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, FALSE);
  SimNode *sim_node = &cluster->nodes[id];
  gboolean was_up = sim_node->node != NULL;
  if (!sim_node->member)
    {
      fault (cluster, "wipe %s (not a member)", sim_node->name);
      return TRUE;
    }
  DkStore *fresh = dk_store_open_like (cluster->store_template, error);
  if (fresh == NULL)
    return FALSE;
  sim_node_stop (sim_node);
  dk_store_close (sim_node->store);
  sim_node->store = fresh;
  sim_node->wipes++;
  if (was_up && !sim_node_start (sim_node, joined_later (sim_node), error))
    {
      g_prefix_error (error, "wipe %s: ", sim_node->name);
      return FALSE;
    }
  if (was_up && sim_node->leaving)
    watch_leaver (sim_node);
  if (was_up)
    fault_ended (cluster);   /* restarted at once, empty */
  fault (cluster, "wipe %s%s", sim_node->name, was_up ? " (restarted empty)" : " (stays down)");
  return TRUE;
}

static gboolean
dist_equal (const DkDist *a, const DkDist *b)
{
  return a->kind == b->kind && a->a_us == b->a_us && a->b_us == b->b_us && a->shape == b->shape;
}

void
dk_sim_cluster_set_latency (DkSimCluster *cluster, const DkDist *latency)
{
  if (!dist_equal (&cluster->network.latency, latency)
      && dist_equal (latency, &cluster->config.network.latency))
    fault_ended (cluster);   /* back to the network's own latency */
  cluster->network.latency = *latency;
  g_autofree char *text = dk_dist_to_string (latency);
  fault (cluster, "latency %s", text);
}

void
dk_sim_cluster_set_loss (DkSimCluster *cluster, double loss)
{
  if (cluster->network.loss != loss && loss == cluster->config.network.loss)
    fault_ended (cluster);
  cluster->network.loss = loss;
  fault (cluster, "loss %g", loss);
}

void
dk_sim_cluster_set_dup (DkSimCluster *cluster, double dup)
{
  if (cluster->network.dup != dup && dup == cluster->config.network.dup)
    fault_ended (cluster);
  cluster->network.dup = dup;
  fault (cluster, "dup %g", dup);
}

void
dk_sim_cluster_set_link (DkSimCluster *cluster, DkNodeId a, DkNodeId b, const DkLinkModel *model)
{
  guint64 *key = g_new (guint64, 1);
  *key = pair_key (a, b);
  g_hash_table_replace (cluster->link_models, key, g_memdup2 (model, sizeof *model));
  g_autofree char *text = dk_dist_to_string (&model->latency);
  fault (cluster, "link %s %s latency=%s extra=%" G_GINT64_FORMAT "us loss=%g dup=%g",
         cluster->nodes[a].name, cluster->nodes[b].name, !model->use_legs ? text : "default",
         model->extra_us, model->loss, model->dup);
}

void
dk_sim_cluster_set_dc_link (DkSimCluster *cluster, guint dc_a, guint dc_b, const DkLinkModel *model)
{
  guint dcs = cluster->config.datacenters;
  g_return_if_fail (dc_a >= 1 && dc_a <= dcs && dc_b >= 1 && dc_b <= dcs);
  for (int flip = 0; flip < 2; flip++)
    {
      guint cell = flip ? dc_b * (dcs + 1) + dc_a : dc_a * (dcs + 1) + dc_b;
      g_free (cluster->dc_models[cell]);
      cluster->dc_models[cell] = g_memdup2 (model, sizeof *model);
    }
  g_autofree char *text = dk_dist_to_string (&model->latency);
  fault (cluster, "dc dc%u dc%u latency=%s extra=%" G_GINT64_FORMAT "us loss=%g dup=%g", dc_a, dc_b,
         !model->use_legs ? text : "default", model->extra_us, model->loss, model->dup);
}

/* ---- membership change --------------------------------------------------- */

/* Point the operator's ring at the current members. */
static gboolean
rebuild_operator_ring (DkSimCluster *cluster, GError **error)
{
  const DkRing *ring = build_ring (cluster, FALSE, error);
  if (ring == NULL)
    return FALSE;
  release_ring (cluster, cluster->ring);
  cluster->ring = ring;
  return TRUE;
}

/* Join a node that is still leaving: the leave is called off.  It starts
 * again (a new incarnation) as a joining member, keeping its store. */
static gboolean
call_off_leave (DkSimCluster *cluster, SimNode *sim_node, GError **error)
{
  sim_node_stop (sim_node);
  if (sim_node->leave_poll != 0)
    dk_eventq_cancel (cluster->queue, sim_node->leave_poll);
  sim_node->leave_poll = 0;
  sim_node->leaving = FALSE;
  if (!rebuild_operator_ring (cluster, error) || !sim_node_start (sim_node, TRUE, error))
    {
      g_prefix_error (error, "join %s: ", sim_node->name);
      return FALSE;
    }
  fault_ended (cluster);
  fault (cluster, "join %s (its leave is called off; it keeps its data; %u members)",
         sim_node->name, dk_ring_node_count (cluster->ring));
  return TRUE;
}

gboolean
dk_sim_cluster_join (DkSimCluster *cluster, DkNodeId id, GError **error)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, FALSE);
  SimNode *sim_node = &cluster->nodes[id];
  if (sim_node->member && !sim_node->leaving)
    {
      fault (cluster, "join %s (already a member)", sim_node->name);
      return TRUE;
    }
  if (cluster->rings == NULL)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "join %s: membership can change only with ring=random", sim_node->name);
      return FALSE;
    }
  if (sim_node->member)
    return call_off_leave (cluster, sim_node, error);
  g_clear_pointer (&sim_node->store, dk_store_close);
  sim_node->store = dk_store_open_like (cluster->store_template, error);
  if (sim_node->store == NULL)
    return FALSE;
  if (sim_node->ever_started)
    sim_node->wipes++;   /* a new life: newer than anything heard of the old one */
  sim_node->member = TRUE;
  sim_node->leaving = FALSE;
  if (!rebuild_operator_ring (cluster, error) || !sim_node_start (sim_node, TRUE, error))
    {
      g_prefix_error (error, "join %s: ", sim_node->name);
      return FALSE;
    }
  fault_ended (cluster);
  fault (cluster, "join %s (%u members)", sim_node->name, dk_ring_node_count (cluster->ring));
  return TRUE;
}

static void
poll_leaver (gpointer data)
{
  SimNode *sim_node = data;
  DkSimCluster *cluster = sim_node->cluster;
  sim_node->leave_poll = 0;
  if (!sim_node->leaving || sim_node->node == NULL)
    return;   /* called off, or crashed while leaving: it goes on when it restarts */
  if (!dk_node_has_left (sim_node->node))
    {
      watch_leaver (sim_node);
      return;
    }
  const DkNodeStats *stats = dk_node_stats (sim_node->node);
  guint64 released = stats->keys_released, waits = stats->leave_waits;
  sim_node_stop (sim_node);
  sim_node->member = FALSE;
  sim_node->leaving = FALSE;
  g_clear_pointer (&sim_node->store, dk_store_close);
  fault_ended (cluster);
  fault (cluster, "%s left after handing off %" G_GUINT64_FORMAT " keys (%" G_GUINT64_FORMAT
         " gossip rounds leaving)", sim_node->name, released, waits);
}

/* A node that is down when told to leave leaves when it restarts (the
 * run's settle restarts every member); until then it is out of the
 * operator's ring, and its peers learn of the leave from it. */
gboolean
dk_sim_cluster_leave (DkSimCluster *cluster, DkNodeId id, GError **error)
{
  g_return_val_if_fail (id >= 1 && id <= cluster->n_nodes, FALSE);
  SimNode *sim_node = &cluster->nodes[id];
  if (!sim_node->member || sim_node->leaving)
    {
      fault (cluster, "leave %s (%s)", sim_node->name,
             !sim_node->member ? "not a member" : "already leaving");
      return TRUE;
    }
  if (cluster->rings == NULL)
    {
      g_set_error (error, DK_NODE_ERROR, DK_NODE_ERROR_CONFIG,
                   "leave %s: membership can change only with ring=random", sim_node->name);
      return FALSE;
    }
  sim_node->leaving = TRUE;   /* out of the operator's ring now; its data follows */
  if (!rebuild_operator_ring (cluster, error))
    {
      g_prefix_error (error, "leave %s: ", sim_node->name);
      return FALSE;
    }
  if (sim_node->node != NULL)
    dk_node_leave (sim_node->node);
  fault (cluster, "leave %s (%u members remain%s)", sim_node->name,
         dk_ring_node_count (cluster->ring),
         sim_node->node != NULL ? "" : "; it is down and leaves when it restarts");
  watch_leaver (sim_node);
  return TRUE;
}

gint64
dk_sim_cluster_fault_ended_us (const DkSimCluster *cluster)
{
  return cluster->fault_ended_us;
}

gint64
dk_sim_cluster_last_repair_us (const DkSimCluster *cluster)
{
  return cluster->last_repair_us;
}

/* Nodes told to leave that have not left yet. */
guint
dk_sim_cluster_leaving (const DkSimCluster *cluster)
{
  guint leaving = 0;
  for (guint i = 1; i <= cluster->n_nodes; i++)
    leaving += cluster->nodes[i].leaving;
  return leaving;
}

gboolean
dk_sim_cluster_is_member (const DkSimCluster *cluster, DkNodeId id)
{
  return id >= 1 && id <= cluster->n_nodes && cluster->nodes[id].member;
}

guint
dk_sim_cluster_members (const DkSimCluster *cluster)
{
  return dk_ring_node_count (cluster->ring);
}

/* ---- observation ----------------------------------------------------------- */

const DkNetStats *
dk_sim_cluster_net_stats (const DkSimCluster *cluster)
{
  return &cluster->net_stats;
}

void
dk_sim_cluster_node_stats (const DkSimCluster *cluster, DkNodeStats *total)
{
  *total = cluster->retired_stats;
  for (guint i = 1; i <= cluster->n_nodes; i++)
    if (cluster->nodes[i].node != NULL)
      add_stats (total, dk_node_stats (cluster->nodes[i].node));
}

guint
dk_sim_cluster_nodes_up (const DkSimCluster *cluster)
{
  guint up = 0;
  for (guint i = 1; i <= cluster->n_nodes; i++)
    up += cluster->nodes[i].node != NULL;
  return up;
}

DkMemberTable *
dk_sim_cluster_member_table (const DkSimCluster *cluster)
{
  return cluster->member_table;
}
