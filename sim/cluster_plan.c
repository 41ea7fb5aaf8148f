/* cluster_plan.c — what dynkv-cluster can run of a scenario, and the
 * dynkvd flags it maps the settings to; see cluster_run.h. */
#include "cluster_run.h"

#include <string.h>
#include "netns.h"

/* Settings the nodes have no flag for: a value other than the default is
 * a warning (the nodes run with their own behaviour), never silent. */
static const struct
{
  const char *key;
  const char *why;
} approximated[] = {
  { "read_repair", "dynkvd always repairs stale replicas it reads" },
  { "failover", "dynkvd always fails over to other replicas" },
  { "hinted_handoff", "dynkvd keeps hints whenever its quorum is sloppy" },
  { "hint_limit", "dynkvd uses its own hint limit" },
  { "vclock_prune", "dynkvd uses its own pruning threshold" },
  { "tombstone_grace", "dynkvd uses its own tombstone grace" },
  { "cache", "dynkvd uses its own cache size" },
  { "compress_above", "dynkvd uses its own compression threshold" },
  { "clock_skew", "the nodes share the machine's wall clock" },
};

static const char *
setting_value (const GPtrArray *settings, const char *key)
{
  for (guint i = 0; i < settings->len; i++)
    {
      const DkSetting *setting = g_ptr_array_index (settings, i);
      if (strcmp (setting->key, key) == 0)
        return setting->value;
    }
  return NULL;
}

static gboolean
refuse (GError **error, const DkScenario *scenario, guint line, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static gboolean
refuse (GError **error, const DkScenario *scenario, guint line, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  if (line > 0)
    g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_INVALID,
                 "%s:%u: %s (dynkv-cluster cannot run it yet)", scenario->name, line, text);
  else
    g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_INVALID,
                 "%s: %s (dynkv-cluster cannot run it yet)", scenario->name, text);
  return FALSE;
}

/* FALSE with an error naming the statement when SCENARIO asks what a
 * real cluster cannot do; WARNINGS gets what it only approximates. */
gboolean
dk_cluster_check_runnable (const DkScenario *scenario, GPtrArray *warnings, GError **error)
{
  const DkClusterSpec *cluster = &scenario->cluster;
  const DkOptionsSpec *options = &scenario->options;
  if (dk_scenario_max_node (scenario) > DK_NETNS_MAX_NODES)
    return refuse (error, scenario, scenario->cluster_line,
                   "cluster nodes=%u and its joins name n%u: at most %u nodes", cluster->nodes,
                   dk_scenario_max_node (scenario), DK_NETNS_MAX_NODES);
  if (cluster->dcs > 1 || cluster->racks > 1)
    return refuse (error, scenario, scenario->cluster_line,
                   "cluster dcs=%u racks=%u: dynkvd's ring has no datacenter or rack placement",
                   cluster->dcs, cluster->racks);
  if (cluster->ring != DK_SCENARIO_RING_RANDOM)
    return refuse (error, scenario, scenario->cluster_line,
                   "cluster ring=partitions: dynkvd's ring is random tokens only");
  if (options->versioning != DK_VERSIONING_DVV)
    return refuse (error, scenario, 0, "option versioning=vv: dynkvd uses dotted version vectors");
  if (options->inject_bug != 0)
    return refuse (error, scenario, 0, "option inject_bug: bugs are injected in the simulator only");
  if (options->autoscale)
    return refuse (error, scenario, 0, "option autoscale=on: no autoscaler drives real nodes");
  if (options->coordinator == DK_SCENARIO_COORDINATOR_PROXY)
    return refuse (error, scenario, 0, "option coordinator=proxy");
  static const char *const leg_names[DK_LEG_COUNT] = {
    [DK_LEG_WRITE] = "write", [DK_LEG_ACK] = "ack", [DK_LEG_READ] = "read",
    [DK_LEG_RESPONSE] = "response", [DK_LEG_CLIENT] = "client",
  };
  for (guint leg = 0; leg < DK_LEG_COUNT; leg++)
    if (scenario->network.legs[leg].set)
      return refuse (error, scenario, scenario->network_line,
                     "network %s=: dynkvd delays every datagram alike (--net-delay), "
                     "not by the kind of message", leg_names[leg]);
  for (guint i = 0; i < scenario->network.links->len; i++)
    {
      const DkLinkSpec *link = g_ptr_array_index (scenario->network.links, i);
      if (link->between_dcs)
        return refuse (error, scenario, link->line, "dc: dynkvd's ring has no datacenters");
    }
  for (guint i = 0; i < scenario->network.links->len; i++)
    if (!((const DkLinkSpec *) g_ptr_array_index (scenario->network.links, i))->between_dcs)
      {
        g_ptr_array_add (warnings, g_strdup (
          "link lines apply between nodes (dynkvd --net-link): a client's datagrams take "
          "the network's loss and delay, not its home node's link"));
        break;
      }
  if (scenario->nemesis.enabled)
    return refuse (error, scenario, scenario->nemesis.line, "nemesis");
  for (guint i = 0; i < scenario->events->len; i++)
    {
      const DkEvent *event = g_ptr_array_index (scenario->events, i);
      switch (event->kind)
        {
        case DK_EVENT_PARTITION:
        case DK_EVENT_DROP:
        case DK_EVENT_HEAL:
        case DK_EVENT_CRASH:
        case DK_EVENT_RESTART:
        case DK_EVENT_WIPE:
        case DK_EVENT_RATE:
        case DK_EVENT_JOIN:
        case DK_EVENT_LEAVE:
          break;
        default:
          return refuse (error, scenario, event->line, "event '%s'",
                         dk_event_kind_name (event->kind));
        }
    }
  g_autoptr (GError) defaults_error = NULL;
  g_autoptr (DkScenario) defaults = dk_scenario_parse ("cluster nodes=1 n=1 r=1 w=1\nrun 1s\n",
                                                       "defaults", &defaults_error);
  g_assert_no_error (defaults_error);
  g_autoptr (GPtrArray) mine = dk_scenario_parameters (scenario);
  g_autoptr (GPtrArray) theirs = dk_scenario_parameters (defaults);
  for (gsize i = 0; i < G_N_ELEMENTS (approximated); i++)
    {
      const char *value = setting_value (mine, approximated[i].key);
      const char *standard = setting_value (theirs, approximated[i].key);
      if (value == NULL || standard == NULL || strcmp (value, standard) == 0)
        continue;
      if (strcmp (approximated[i].key, "hinted_handoff") == 0 && !options->sloppy_quorum)
        continue;   /* strict quorum: no hints either way */
      g_ptr_array_add (warnings, g_strdup_printf ("%s=%s not applied: %s", approximated[i].key,
                                                  value, approximated[i].why));
    }
  return TRUE;
}

/* The flags every dynkvd gets besides its id, address, data and peers. */
GPtrArray *
dk_cluster_daemon_flags (const DkScenario *scenario, const char *key_file)
{
  const DkOptionsSpec *options = &scenario->options;
  GPtrArray *flags = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (flags, g_strdup_printf ("--n=%u", scenario->cluster.n));
  g_ptr_array_add (flags, g_strdup_printf ("--r=%u", scenario->cluster.r));
  g_ptr_array_add (flags, g_strdup_printf ("--w=%u", scenario->cluster.w));
  g_ptr_array_add (flags, g_strdup_printf ("--vnodes=%u", scenario->cluster.vnodes));
  g_ptr_array_add (flags, g_strdup_printf ("--request-timeout-ms=%" G_GINT64_FORMAT,
                                           MAX (options->request_timeout_us / 1000, 1)));
  g_ptr_array_add (flags, g_strdup_printf ("--gossip-ms=%" G_GINT64_FORMAT,
                                           MAX (options->gossip_us / 1000, 1)));
  g_ptr_array_add (flags, g_strdup_printf ("--suspect-ms=%" G_GINT64_FORMAT,
                                           MAX (options->suspect_after_us / 1000, 1)));
  g_ptr_array_add (flags, g_strdup_printf ("--anti-entropy-ms=%" G_GINT64_FORMAT,
                                           options->anti_entropy_us / 1000));
  if (!options->sloppy_quorum)
    g_ptr_array_add (flags, g_strdup ("--strict-quorum"));
  if (options->read_all)
    g_ptr_array_add (flags, g_strdup ("--read-all"));
  g_ptr_array_add (flags, g_strdup_printf ("--key-file=%s", key_file));
  /* A join event's node is admitted as it asks, as in the simulator. */
  g_ptr_array_add (flags, g_strdup ("--auto-admit"));
  /* The nodes' random streams and their datagram faults follow the
   * scenario's seed (a wiped store still draws a fresh incarnation). */
  g_ptr_array_add (flags, g_strdup_printf ("--seed=%" G_GUINT64_FORMAT, scenario->seed));
  const DkNetworkSpec *network = &scenario->network;
  if (network->loss > 0)
    g_ptr_array_add (flags, dk_cluster_flag ("--net-loss", network->loss));
  if (network->dup > 0)
    g_ptr_array_add (flags, dk_cluster_flag ("--net-dup", network->dup));
  g_autofree char *delay = dk_dist_to_string (&network->latency);
  g_ptr_array_add (flags, g_strdup_printf ("--net-delay=%s", delay));
  g_ptr_array_add (flags, g_strdup ("--log-level=warning"));
  g_ptr_array_add (flags, NULL);
  return flags;
}

char *
dk_cluster_flag (const char *name, double probability)
{
  g_autofree char *text = dk_number_to_string (probability);
  return g_strdup_printf ("%s=%s", name, text);
}

GPtrArray *
dk_cluster_node_flags (const DkScenario *scenario, DkNodeId id)
{
  GPtrArray *flags = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < scenario->network.links->len; i++)
    {
      const DkLinkSpec *link = g_ptr_array_index (scenario->network.links, i);
      if (link->between_dcs || (link->a != id && link->b != id) || link->a == link->b)
        continue;
      /* Both ends delay, lose and duplicate what they send on it. */
      g_autoptr (GString) flag = g_string_new (NULL);
      g_string_append_printf (flag, "--net-link=%u:", link->a == id ? link->b : link->a);
      if (link->has_latency)
        {
          g_autofree char *text = dk_dist_to_string (&link->latency);
          g_string_append_printf (flag, "delay=%s,", text);
        }
      if (link->has_loss)
        {
          g_autofree char *text = dk_number_to_string (link->loss);
          g_string_append_printf (flag, "loss=%s,", text);
        }
      if (link->has_dup)
        {
          g_autofree char *text = dk_number_to_string (link->dup);
          g_string_append_printf (flag, "dup=%s,", text);
        }
      if (link->has_extra)
        {
          g_autofree char *text = dk_duration_to_string (link->extra_us);
          g_string_append_printf (flag, "extra=%s,", text);
        }
      if (flag->str[flag->len - 1] == ',')
        g_string_truncate (flag, flag->len - 1);
      else
        continue;   /* a link that sets nothing */
      g_ptr_array_add (flags, g_string_free (g_steal_pointer (&flag), FALSE));
    }
  return flags;
}
