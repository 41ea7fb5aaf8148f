/* nemesis.h — random fault campaigns: the faults a seed draws.
 *
 * A scenario's `nemesis` line (scenario.h) asks for faults picked at
 * random instead of named by the script; this module turns it into plain
 * DkEvents, the same the script's `at T EVENT` lines give, so the runner
 * injects and logs them on its one path (apply_event, faults.log).  A plan
 * is a pure function of the scenario: it draws only from its own stream
 * (DK_NEMESIS_STREAM) of the run's seed, so it leaves the network's, the
 * workload's and the nodes' draws as they were, and a failing seed
 * replays with `dynsim --seed N`.
 *
 * What a plan promises, for any seed:
 *   - events are sorted by time; at equal times, the end of one fault
 *     comes before the start of the next;
 *   - every fault started at a tick in [from, until) has its end event
 *     (heal, restart, loss back, latency back) after it and at or before
 *     until; a wipe restarts its node at once and has none;
 *   - never more than (nodes-1)/2 nodes are down at once, so a majority is
 *     always up; a crash or wipe picks a node that is up;
 *   - at most one partition or drop, one loss burst and one latency spike
 *     are in force at a time, so each end undoes only its own fault.
 * Scripted events are not taken into account: a script that crashes nodes
 * itself may exceed the bound.
 */
#ifndef DK_NEMESIS_H
#define DK_NEMESIS_H

#include <glib.h>
#include "scenario.h"

G_BEGIN_DECLS

/* The seed's stream for the nemesis (cluster: 1 and 1000+, workload: 2). */
#define DK_NEMESIS_STREAM 3

/* The faults SCENARIO's nemesis injects, as DkEvent* (owned by the array,
 * each event's line the nemesis line), in the order to apply them; empty
 * when the scenario has no nemesis.  Free with g_ptr_array_unref. */
GPtrArray *dk_nemesis_plan (const DkScenario *scenario);

G_END_DECLS

#endif /* DK_NEMESIS_H */
