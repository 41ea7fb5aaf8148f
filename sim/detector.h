/* detector.h — watching the nodes' failure detectors from outside.
 *
 * DESIGN.md measures the cluster from the history, except what only the
 * simulator can see: how long after a crash every live node has marked the
 * crashed one down, and how often a node suspects a peer that is in fact
 * up and reachable (a false suspicion, e.g. under message loss).  The
 * watch reads each node's verdicts (dk_node_peer_state) and the simulator's
 * ground truth; it never changes anything.
 */
#ifndef DK_SIM_DETECTOR_H
#define DK_SIM_DETECTOR_H

#include <glib.h>
#include "cluster.h"
#include "eventq.h"

G_BEGIN_DECLS

typedef struct _DkDetectorWatch DkDetectorWatch;

/* How often a crash watch looks at the verdicts (virtual time). */
#define DK_DETECTOR_PROBE_US 10000

DkDetectorWatch *dk_detector_watch_new (DkSimCluster *cluster, DkEventQueue *queue);
void dk_detector_watch_free (DkDetectorWatch *watch);

/* TARGET has just crashed: time how long until every node that is up
 * marks it DOWN (abandoned, and not counted, if it restarts first). */
void dk_detector_watch_crash (DkDetectorWatch *watch, DkNodeId target);

/* Look now: the number of (observer, peer) pairs, both up, where the
 * observer does not believe the peer up; *FALSE_PAIRS receives those of
 * them the network lets talk both ways (false suspicions).  A peer the
 * observer has not heard of yet is not counted.  Costs one look per node
 * (dk_node_suspected_peers) plus one per suspicion, so every cluster size
 * is sampled. */
guint dk_detector_watch_sample (DkDetectorWatch *watch, guint *false_pairs);

/* Crash-to-everyone-knows times in ms, in crash order (GArray of double). */
const GArray *dk_detector_watch_detections (const DkDetectorWatch *watch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkDetectorWatch, dk_detector_watch_free)

G_END_DECLS

#endif
