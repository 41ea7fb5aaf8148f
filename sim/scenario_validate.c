/* scenario_validate.c — the checks that relate parts of a scenario, and the
 * naming rules for nodes, datacenters and racks.
 *
 * Statements may come in any order, so everything that depends on another
 * statement (r against n, a node name against the cluster size, an event
 * time against the run length) is checked here, once the file is read and
 * again after overrides.  Messages point at the line of the statement
 * that has to change.
 */
#include <string.h>
#include <unistd.h>
#include "scenario_private.h"

guint
dk_scenario_max_node (const DkScenario *scenario)
{
  return MAX (scenario->cluster.nodes, dk_events_max_joined_node (scenario->events));
}

guint
dk_scenario_node_dc (const DkScenario *scenario, DkNodeId node)
{
  g_return_val_if_fail (node != DK_NODE_NONE, 1);
  return (node - 1) % scenario->cluster.dcs + 1;
}

guint
dk_scenario_node_rack (const DkScenario *scenario, DkNodeId node)
{
  g_return_val_if_fail (node != DK_NODE_NONE, 1);
  guint index_in_dc = (node - 1) / scenario->cluster.dcs;
  return index_in_dc % scenario->cluster.racks + 1;
}

GArray *
dk_scenario_group_nodes (const DkScenario *scenario, const DkGroup *group)
{
  guint max_node = dk_scenario_max_node (scenario);
  g_autofree gboolean *chosen = g_new0 (gboolean, max_node + 1);
  for (guint i = 0; i < group->len; i++)
    {
      const DkGroupMember *member = &g_array_index (group, DkGroupMember, i);
      if (!member->is_dc)
        {
          if (member->number <= max_node)
            chosen[member->number] = TRUE;
          continue;
        }
      for (DkNodeId node = 1; node <= max_node; node++)
        if (dk_scenario_node_dc (scenario, node) == member->number)
          chosen[node] = TRUE;
    }
  GArray *nodes = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  for (DkNodeId node = 1; node <= max_node; node++)
    if (chosen[node])
      g_array_append_val (nodes, node);
  return nodes;
}

static gboolean
validate_cluster (const DkScenario *scenario, GError **error)
{
  const DkClusterSpec *cluster = &scenario->cluster;
  g_autofree char *problem = NULL;
  if (cluster->n > cluster->nodes)
    problem = g_strdup_printf ("n=%u is more replicas than nodes=%u", cluster->n, cluster->nodes);
  else if (cluster->r > cluster->n)
    problem = g_strdup_printf ("r=%u must not exceed n=%u", cluster->r, cluster->n);
  else if (cluster->w > cluster->n)
    problem = g_strdup_printf ("w=%u must not exceed n=%u", cluster->w, cluster->n);
  else if (cluster->dcs > cluster->nodes)
    problem = g_strdup_printf ("dcs=%u is more datacenters than nodes=%u", cluster->dcs,
                               cluster->nodes);
  else if (cluster->ring == DK_SCENARIO_RING_PARTITIONS && cluster->partitions < cluster->nodes)
    problem = g_strdup_printf ("partitions=%u must be at least nodes=%u with ring=partitions",
                               cluster->partitions, cluster->nodes);
  else if (scenario->options.coordinator == DK_SCENARIO_COORDINATOR_PROXY
           && cluster->n >= cluster->nodes)
    problem = g_strdup_printf ("coordinator=proxy needs a node that is none of a key's "
                               "n=%u replicas: nodes=%u is too few", cluster->n, cluster->nodes);
  if (problem == NULL)
    return TRUE;
  dk_scenario_error_at (error, scenario, scenario->cluster_line, DK_SCENARIO_ERROR_INVALID,
                        "%s", problem);
  return FALSE;
}

/* ---- memory --------------------------------------------------------------- */

/* What a run holds at its peak, fitted to healthy runs of 64 vnodes
 * (1 s: 3,000 nodes 562 MB, 10,000 nodes 3.3 GB; 60 s at 2,000 ops/s:
 * 500 nodes 258 MB, 1,000 nodes 347 MB) with a quarter to spare: per
 * node its store, caches and tables; per node and member its view of the
 * member (node_private.h's Member, 20 bytes); per ring token its place in
 * the few rings the nodes share; per stored copy of a key its value and
 * bookkeeping; per client operation what the run records of it. */
#define NODE_BYTES          (G_GUINT64_CONSTANT (160) << 10)
#define MEMBER_VIEW_BYTES   G_GUINT64_CONSTANT (24)
#define TOKEN_BYTES         G_GUINT64_CONSTANT (48)
#define COPY_OVERHEAD_BYTES G_GUINT64_CONSTANT (256)
#define OPERATION_BYTES     G_GUINT64_CONSTANT (1536)

guint64
dk_scenario_memory_estimate (const DkScenario *scenario)
{
  guint64 nodes = dk_scenario_max_node (scenario);
  guint64 copies = (guint64) scenario->workload.keys * scenario->cluster.n;
  double seconds = (double) (scenario->run_us + scenario->settle_us) / G_USEC_PER_SEC;
  guint64 operations = (guint64) (scenario->workload.rate_per_s * MAX (seconds, 0));
  return nodes * NODE_BYTES + nodes * nodes * MEMBER_VIEW_BYTES
         + nodes * scenario->cluster.vnodes * TOKEN_BYTES
         + copies * (scenario->workload.value_bytes + COPY_OVERHEAD_BYTES)
         + operations * OPERATION_BYTES;
}

/* The machine's memory: DYNSIM_MEMORY_MB when set (tests), else its
 * physical memory; 0 when unknown. */
static guint64
machine_memory (void)
{
  const char *forced = g_getenv ("DYNSIM_MEMORY_MB");
  if (forced != NULL)
    return g_ascii_strtoull (forced, NULL, 10) << 20;
  long pages = sysconf (_SC_PHYS_PAGES), page_size = sysconf (_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? (guint64) pages * (guint64) page_size : 0;
}

/* Refuse, before anything is allocated, a run that cannot fit in memory. */
static gboolean
validate_memory (const DkScenario *scenario, GError **error)
{
  guint64 estimate = dk_scenario_memory_estimate (scenario);
  guint64 machine = machine_memory ();
  if (machine == 0 || estimate <= machine)
    return TRUE;
  dk_scenario_error_at (error, scenario, scenario->cluster_line, DK_SCENARIO_ERROR_INVALID,
                        "nodes=%u vnodes=%u needs an estimated %.1f GiB of memory (%u nodes, each "
                        "with a view of every member), more than this machine's %.1f GiB",
                        dk_scenario_max_node (scenario), scenario->cluster.vnodes,
                        (double) estimate / (1 << 30), dk_scenario_max_node (scenario),
                        (double) machine / (1 << 30));
  return FALSE;
}

/* Whether MEMBER names something that exists; KNOWN[i] says node i has
 * been part of the cluster by now. */
static gboolean
member_exists (const DkScenario *scenario, const DkGroupMember *member, const gboolean *known,
               guint max_node, guint line, GError **error)
{
  g_autofree char *name = dk_group_member_to_string (member);
  if (member->is_dc && member->number > scenario->cluster.dcs)
    {
      dk_scenario_error_at (error, scenario, line, DK_SCENARIO_ERROR_INVALID,
                            "unknown datacenter '%s' (the cluster has dc1..dc%u)", name,
                            scenario->cluster.dcs);
      return FALSE;
    }
  if (!member->is_dc && (member->number > max_node || !known[member->number]))
    {
      dk_scenario_error_at (error, scenario, line, DK_SCENARIO_ERROR_INVALID,
                            "unknown node '%s' (the cluster has n1..n%u%s)", name,
                            scenario->cluster.nodes,
                            max_node > scenario->cluster.nodes ? " and the nodes joined so far" : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_links (const DkScenario *scenario, GError **error)
{
  guint max_node = dk_scenario_max_node (scenario);
  g_autofree gboolean *known = g_new (gboolean, max_node + 1);
  for (guint node = 0; node <= max_node; node++)
    known[node] = node >= 1;
  for (guint i = 0; i < scenario->network.links->len; i++)
    {
      const DkLinkSpec *link = g_ptr_array_index (scenario->network.links, i);
      DkGroupMember ends[] = { { link->between_dcs, link->a }, { link->between_dcs, link->b } };
      for (guint e = 0; e < 2; e++)
        if (!member_exists (scenario, &ends[e], known, max_node, link->line, error))
          return FALSE;
      if (!link->between_dcs && link->a == link->b)
        {
          dk_scenario_error_at (error, scenario, link->line, DK_SCENARIO_ERROR_INVALID,
                                "a link joins two different nodes, got n%u twice", link->a);
          return FALSE;
        }
    }
  return TRUE;
}

/* Groups of one event must not share a node. */
static gboolean
groups_disjoint (const DkScenario *scenario, const DkEvent *event, GError **error)
{
  guint max_node = dk_scenario_max_node (scenario);
  g_autofree guint *owner = g_new0 (guint, max_node + 1);
  for (guint g = 0; g < event->groups->len; g++)
    {
      g_autoptr (GArray) nodes = dk_scenario_group_nodes (scenario,
                                                          g_ptr_array_index (event->groups, g));
      for (guint i = 0; i < nodes->len; i++)
        {
          DkNodeId node = g_array_index (nodes, DkNodeId, i);
          if (owner[node] != 0)
            {
              dk_scenario_error_at (error, scenario, event->line, DK_SCENARIO_ERROR_INVALID,
                                    "%s: n%u is on both sides (groups %u and %u)",
                                    dk_event_kind_name (event->kind), node, owner[node], g + 1);
              return FALSE;
            }
          owner[node] = g + 1;
        }
    }
  return TRUE;
}

/* Replay the events in time order, tracking membership, and check each. */
static gboolean
validate_events (const DkScenario *scenario, GError **error)
{
  guint max_node = dk_scenario_max_node (scenario);
  g_autofree gboolean *member = g_new0 (gboolean, max_node + 1);
  g_autofree gboolean *known = g_new0 (gboolean, max_node + 1);
  for (guint node = 1; node <= scenario->cluster.nodes; node++)
    member[node] = known[node] = TRUE;

  for (guint i = 0; i < scenario->events->len; i++)
    {
      const DkEvent *event = g_ptr_array_index (scenario->events, i);
      const char *name = dk_event_kind_name (event->kind);
      if (event->at_us > scenario->run_us)
        {
          g_autofree char *at = dk_duration_to_string (event->at_us);
          g_autofree char *run = dk_duration_to_string (scenario->run_us);
          dk_scenario_error_at (error, scenario, event->line, DK_SCENARIO_ERROR_INVALID,
                                "event '%s' at %s comes after the end of the run (run %s)", name,
                                at, run);
          return FALSE;
        }
      if (event->kind == DK_EVENT_JOIN || event->kind == DK_EVENT_LEAVE)
        {
          const DkGroup *target = g_ptr_array_index (event->groups, 0);
          guint node = g_array_index (target, DkGroupMember, 0).number;
          gboolean joining = event->kind == DK_EVENT_JOIN;
          /* A join names at most max_node by definition; a leave may not. */
          if (node > max_node || member[node] == joining)
            {
              dk_scenario_error_at (error, scenario, event->line, DK_SCENARIO_ERROR_INVALID,
                                    "%s n%u: n%u is %s a member then", name, node, node,
                                    joining ? "already" : "not");
              return FALSE;
            }
          member[node] = joining;
          known[node] = TRUE;
          continue;
        }
      for (guint g = 0; g < event->groups->len; g++)
        {
          const DkGroup *group = g_ptr_array_index (event->groups, g);
          for (guint m = 0; m < group->len; m++)
            if (!member_exists (scenario, &g_array_index (group, DkGroupMember, m), known,
                                max_node, event->line, error))
              return FALSE;
        }
      if (event->groups->len > 1 && !groups_disjoint (scenario, event, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
validate_workload (const DkScenario *scenario, GError **error)
{
  const DkWorkloadSpec *workload = &scenario->workload;
  if (workload->reads + workload->deletes <= 1.0 + 1e-9)
    return TRUE;
  dk_scenario_error_at (error, scenario,
                        scenario->workload_line > 0 ? scenario->workload_line : scenario->last_line,
                        DK_SCENARIO_ERROR_INVALID,
                        "reads=%g and deletes=%g add up to more than 1", workload->reads,
                        workload->deletes);
  return FALSE;
}

gboolean
dk_scenario_validate_one (const DkScenario *scenario, GError **error)
{
  if (scenario->cluster_line == 0)
    {
      dk_scenario_error_at (error, scenario, scenario->last_line, DK_SCENARIO_ERROR_INVALID,
                            "missing 'cluster' statement, such as "
                            "'cluster nodes=5 vnodes=64 n=3 r=2 w=2'");
      return FALSE;
    }
  if (scenario->run_us <= 0)
    {
      dk_scenario_error_at (error, scenario, scenario->last_line, DK_SCENARIO_ERROR_INVALID,
                            "missing 'run' statement, such as 'run 60s settle 10s'");
      return FALSE;
    }
  return validate_cluster (scenario, error) && validate_workload (scenario, error)
         && validate_links (scenario, error) && validate_memory (scenario, error)
         && validate_events (scenario, error) && dk_nemesis_validate (scenario, error);
}
