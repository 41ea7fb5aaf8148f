/* nemesis.c — drawing a random fault campaign from the seed; see nemesis.h.
 *
 * The plan walks the ticks in time order keeping its own account of what
 * is in force (which nodes are down until when, until when the network,
 * loss and latency slots are busy), so it only picks faults that can
 * happen at that moment, and schedules each one's undoing as it goes.
 */
#include "nemesis.h"
#include "rng.h"

/* A loss burst drops this fraction of messages, in thousandths (so
 * faults.log shows it exactly), drawn uniformly: 0.05 to 0.3. */
#define LOSS_BURST_MIN_PERMILLE 50
#define LOSS_BURST_MAX_PERMILLE 300
/* A latency spike multiplies the network's delays by a whole factor in this range. */
#define LATENCY_FACTOR_MIN 5
#define LATENCY_FACTOR_MAX 20

/* One planned event and what orders it: time, then ends before starts
 * (a slot freed at T can be taken again at T), then the drawing order. */
typedef struct
{
  DkEvent *event;
  gboolean is_end;
  guint sequence;
} Planned;

typedef struct
{
  const DkScenario *scenario;
  DkRng rng;
  guint nodes;
  guint max_down;                /* (nodes-1)/2: a majority stays up */
  gint64 *down_until;            /* [1..nodes]: down while the time is before this */
  gint64 network_busy_until;     /* a partition or drop is in force until then */
  gint64 loss_busy_until;
  gint64 latency_busy_until;
  gint64 wipe_allowed_from;      /* one wipe per repair window (see can_start) */
  GArray *planned;               /* of Planned */
} Plan;

static DkGroup *
group_of_nodes (const guint *nodes, guint count)
{
  DkGroup *group = g_array_sized_new (FALSE, FALSE, sizeof (DkGroupMember), count);
  for (guint i = 0; i < count; i++)
    {
      DkGroupMember member = { .is_dc = FALSE, .number = nodes[i] };
      g_array_append_val (group, member);
    }
  return group;
}

static DkEvent *
add_event (Plan *plan, DkEventKind kind, gint64 at_us, gboolean is_end)
{
  DkEvent *event = dk_event_new (kind, at_us, plan->scenario->nemesis.line);
  Planned planned = { event, is_end, plan->planned->len };
  g_array_append_val (plan->planned, planned);
  return event;
}

static void
add_node_event (Plan *plan, DkEventKind kind, gint64 at_us, gboolean is_end, guint node)
{
  DkEvent *event = add_event (plan, kind, at_us, is_end);
  g_ptr_array_add (event->groups, group_of_nodes (&node, 1));
}

static guint
down_at (const Plan *plan, gint64 t_us)
{
  guint down = 0;
  for (guint node = 1; node <= plan->nodes; node++)
    down += plan->down_until[node] > t_us;
  return down;
}

/* A node up at T_US, drawn uniformly; 0 when none is. */
static guint
random_up_node (Plan *plan, gint64 t_us)
{
  guint up = plan->nodes - down_at (plan, t_us);
  if (up == 0)
    return 0;
  guint pick = (guint) dk_rng_below (&plan->rng, up);
  for (guint node = 1; node <= plan->nodes; node++)
    if (plan->down_until[node] <= t_us && pick-- == 0)
      return node;
  g_return_val_if_reached (0);
}

/* Whether a fault of KIND can start at T_US. */
static gboolean
can_start (const Plan *plan, DkNemesisKind kind, gint64 t_us)
{
  switch (kind)
    {
    case DK_NEMESIS_PARTITION:
    case DK_NEMESIS_DROP:
      return plan->nodes >= 2 && plan->network_busy_until <= t_us;
    case DK_NEMESIS_CRASH:
    case DK_NEMESIS_RECRASH:
      return down_at (plan, t_us) < plan->max_down;
    case DK_NEMESIS_WIPE:
      return down_at (plan, t_us) < plan->nodes && t_us >= plan->wipe_allowed_from;
    case DK_NEMESIS_LOSS:
      return plan->loss_busy_until <= t_us;
    case DK_NEMESIS_LATENCY:
      return plan->latency_busy_until <= t_us;
    case DK_NEMESIS_N_KINDS:
      break;
    }
  g_return_val_if_reached (FALSE);
}

/* Two non-empty sides: either any split, or a random minority cut off. */
static void
start_partition (Plan *plan, gint64 start_us, gint64 end_us)
{
  guint n = plan->nodes;
  g_autofree guint *order = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    order[i] = i + 1;
  for (guint i = n - 1; i > 0; i--)
    {
      guint j = (guint) dk_rng_below (&plan->rng, i + 1);
      guint swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
  guint largest_minority = MAX (1u, (n - 1) / 2);
  gboolean minority = dk_rng_below (&plan->rng, 2) == 0;
  guint side = minority ? 1 + (guint) dk_rng_below (&plan->rng, largest_minority)
                        : 1 + (guint) dk_rng_below (&plan->rng, n - 1);
  /* Each side in ascending order, so faults.log reads naturally. */
  g_autofree gboolean *first = g_new0 (gboolean, n + 1);
  for (guint i = 0; i < side; i++)
    first[order[i]] = TRUE;
  g_autofree guint *a = g_new (guint, n);
  g_autofree guint *b = g_new (guint, n);
  guint n_a = 0, n_b = 0;
  for (guint node = 1; node <= n; node++)
    {
      if (first[node])
        a[n_a++] = node;
      else
        b[n_b++] = node;
    }
  DkEvent *event = add_event (plan, DK_EVENT_PARTITION, start_us, FALSE);
  g_ptr_array_add (event->groups, group_of_nodes (a, n_a));
  g_ptr_array_add (event->groups, group_of_nodes (b, n_b));
  add_event (plan, DK_EVENT_HEAL, end_us, TRUE);
  plan->network_busy_until = end_us;
}

static void
start_drop (Plan *plan, gint64 start_us, gint64 end_us)
{
  guint from = 1 + (guint) dk_rng_below (&plan->rng, plan->nodes);
  guint to = 1 + (guint) dk_rng_below (&plan->rng, plan->nodes - 1);
  if (to >= from)
    to++;
  DkEvent *event = add_event (plan, DK_EVENT_DROP, start_us, FALSE);
  g_ptr_array_add (event->groups, group_of_nodes (&from, 1));
  g_ptr_array_add (event->groups, group_of_nodes (&to, 1));
  add_event (plan, DK_EVENT_HEAL, end_us, TRUE);
  plan->network_busy_until = end_us;
}

/* One simple form made FACTOR times slower: it scales by its duration
 * parameters. */
static void
slow_part (gint64 *a_us, gint64 *b_us, gint64 factor)
{
  *a_us = MIN (*a_us * factor, DK_DIST_MAX_US);
  *b_us = MIN (*b_us * factor, DK_DIST_MAX_US);
}

/* The network's latency made FACTOR times slower: every kind of DkDist
 * (each component of a mixture) scales by its duration parameters; a
 * latency of zero becomes exp(FACTOR ms). */
static DkDist
latency_spike (const DkDist *base, gint64 factor)
{
  DkDist spike = *base;
  if (spike.kind == DK_DIST_MIX)
    {
      for (guint i = 0; i < spike.n_parts; i++)
        slow_part (&spike.parts[i].a_us, &spike.parts[i].b_us, factor);
      return spike;
    }
  if (spike.a_us == 0 && spike.b_us == 0)
    return (DkDist) { .kind = DK_DIST_EXP, .a_us = factor * DK_US_PER_MS };
  slow_part (&spike.a_us, &spike.b_us, factor);
  return spike;
}

static void
start_fault (Plan *plan, DkNemesisKind kind, gint64 start_us, gint64 end_us)
{
  const DkScenario *scenario = plan->scenario;
  switch (kind)
    {
    case DK_NEMESIS_PARTITION:
      start_partition (plan, start_us, end_us);
      break;
    case DK_NEMESIS_DROP:
      start_drop (plan, start_us, end_us);
      break;
    case DK_NEMESIS_CRASH:
      {
        guint node = random_up_node (plan, start_us);
        add_node_event (plan, DK_EVENT_CRASH, start_us, FALSE, node);
        add_node_event (plan, DK_EVENT_RESTART, end_us, TRUE, node);
        plan->down_until[node] = end_us;
        break;
      }
    case DK_NEMESIS_RECRASH:
      {
        /* Down, briefly up (hints and repairs only begin), down again. */
        guint node = random_up_node (plan, start_us);
        gint64 middle = start_us + (end_us - start_us) / 2;
        gint64 again = middle + MAX ((end_us - middle) / 4, 1);
        add_node_event (plan, DK_EVENT_CRASH, start_us, FALSE, node);
        add_node_event (plan, DK_EVENT_RESTART, middle, TRUE, node);
        add_node_event (plan, DK_EVENT_CRASH, again, FALSE, node);
        add_node_event (plan, DK_EVENT_RESTART, end_us, TRUE, node);
        plan->down_until[node] = end_us;
        break;
      }
    case DK_NEMESIS_WIPE:
      /* An up node's disk is lost; the simulator restarts it empty at
       * once.  N=3 survives losing one replica's disk per repair window
       * (anti-entropy then copies it back), not two.  Crashes of the other
       * replicas can stall the repair, and two passes proved too short for
       * some seeds (a write then held by one replica, whose disk went
       * next): the next wipe waits four anti-entropy intervals, and for
       * the end of the run when anti-entropy is off. */
      add_node_event (plan, DK_EVENT_WIPE, start_us, FALSE, random_up_node (plan, start_us));
      plan->wipe_allowed_from = scenario->options.anti_entropy_us > 0
                                ? start_us + 4 * scenario->options.anti_entropy_us : G_MAXINT64;
      break;
    case DK_NEMESIS_LOSS:
      {
        guint64 permille = LOSS_BURST_MIN_PERMILLE
                           + dk_rng_below (&plan->rng,
                                           LOSS_BURST_MAX_PERMILLE - LOSS_BURST_MIN_PERMILLE + 1);
        double loss = (double) permille / 1000;
        add_event (plan, DK_EVENT_LOSS, start_us, FALSE)->probability = loss;
        add_event (plan, DK_EVENT_LOSS, end_us, TRUE)->probability = scenario->network.loss;
        plan->loss_busy_until = end_us;
        break;
      }
    case DK_NEMESIS_LATENCY:
      {
        gint64 factor = LATENCY_FACTOR_MIN
                        + (gint64) dk_rng_below (&plan->rng, LATENCY_FACTOR_MAX - LATENCY_FACTOR_MIN + 1);
        add_event (plan, DK_EVENT_LATENCY, start_us, FALSE)->latency
          = latency_spike (&scenario->network.latency, factor);
        add_event (plan, DK_EVENT_LATENCY, end_us, TRUE)->latency = scenario->network.latency;
        plan->latency_busy_until = end_us;
        break;
      }
    case DK_NEMESIS_N_KINDS:
      g_assert_not_reached ();
    }
}

static gint
planned_order (gconstpointer a, gconstpointer b)
{
  const Planned *x = a, *y = b;
  if (x->event->at_us != y->event->at_us)
    return x->event->at_us < y->event->at_us ? -1 : 1;
  if (x->is_end != y->is_end)
    return x->is_end ? -1 : 1;
  return x->sequence < y->sequence ? -1 : (x->sequence > y->sequence);
}

GPtrArray *
dk_nemesis_plan (const DkScenario *scenario)
{
  g_return_val_if_fail (scenario != NULL, NULL);
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_event_free);
  const DkNemesisSpec *spec = &scenario->nemesis;
  if (!spec->enabled)
    return events;
  g_return_val_if_fail (spec->every_us > 0 && spec->duration_us > 0, events);

  Plan plan = {
    .scenario = scenario,
    .nodes = scenario->cluster.nodes,
    .max_down = (scenario->cluster.nodes - 1) / 2,
    .down_until = g_new0 (gint64, scenario->cluster.nodes + 1),
    .planned = g_array_new (FALSE, FALSE, sizeof (Planned)),
  };
  dk_rng_init (&plan.rng, scenario->seed, DK_NEMESIS_STREAM);
  gint64 until = dk_scenario_nemesis_until_us (scenario);
  gint64 shortest = MAX (spec->duration_us / 2, 1);

  for (gint64 tick = spec->from_us; tick < until; tick += spec->every_us)
    {
      DkNemesisKind possible[DK_NEMESIS_N_KINDS];
      guint n_possible = 0;
      for (guint k = 0; k < DK_NEMESIS_N_KINDS; k++)
        if ((spec->kinds & DK_NEMESIS_KIND_BIT (k)) && can_start (&plan, k, tick))
          possible[n_possible++] = k;
      if (n_possible == 0)
        continue;
      DkNemesisKind kind = possible[dk_rng_below (&plan.rng, n_possible)];
      gint64 lasts = shortest + (gint64) dk_rng_below (&plan.rng,
                                                       (guint64) (spec->duration_us - shortest) + 1);
      start_fault (&plan, kind, tick, MIN (tick + lasts, until));
    }

  g_array_sort (plan.planned, planned_order);
  for (guint i = 0; i < plan.planned->len; i++)
    g_ptr_array_add (events, g_array_index (plan.planned, Planned, i).event);
  g_array_unref (plan.planned);
  g_free (plan.down_until);
  return events;
}
