/* cluster_events.h — the state of one dynkv-cluster run and the faults
 * and membership events it applies to the real cluster (cluster_events.c):
 * partitions and drops as blackhole routes, crash, restart, wipe, join and
 * leave on the dynkvd processes, rate changes on the clients, and the end
 * of the faults before the settle.  Each is a line of faults.log. */
#ifndef DK_CLUSTER_EVENTS_H
#define DK_CLUSTER_EVENTS_H

#include <stdio.h>
#include <glib.h>
#include "history.h"
#include "net/net_faults.h"
#include "net_clients.h"
#include "net_daemons.h"
#include "netns.h"
#include "ring.h"
#include "scenario.h"

G_BEGIN_DECLS

/* One run in progress. */
typedef struct
{
  const DkScenario *scenario;
  const char       *dir;
  DkNetns          *netns;
  DkNetDaemons     *daemons;
  DkNetClients     *clients;
  DkHistory        *history;
  guint             nodes;       /* every node the scenario ever has (joins too) */
  guint             initial;     /* the members at the start: n1..nINITIAL */
  DkRing           *ring;        /* the members' ring now */
  DkRing           *client_ring; /* the clients choose on it: the members but the awaited */
  GBytes           *key;         /* signs the joiners' probes */
  gboolean         *awaited;     /* index ID: joined, not yet listed by every member */
  GSocket          *probe;       /* asks the members for their lists (NODE_STATUS) */
  GSource          *probe_source; /* PROBE readable */
  GSource          *probe_timer; /* asks again while a joiner is awaited */
  GHashTable       *probe_seen;  /* guint64 JOINER << 32 | NODE: NODE listed JOINER */
  guint            *side;        /* index ID: partition side, 0 none */
  GArray           *drops;       /* guint64 FROM << 32 | TO */
  FILE             *fault_log;
  GArray           *nodes_up;    /* guint: nodes running at the end of each second */
  GArray           *members_up;  /* guint: members at the end of each second */
  DkNetFaults      *client_faults; /* the network's model for the clients' requests */
  guint             next_event;
  gboolean          interrupted;
  GError           *error;       /* why the run stopped early, or NULL */
} DkClusterRun;

/* Apply EVENT now; FALSE with ERROR when the cluster could not. */
gboolean dk_cluster_apply_event (DkClusterRun *run, const DkEvent *event, GError **error);

/* The end of the run, as the simulator's: every fault stops (heal, the
 * members not running restarted). */
gboolean dk_cluster_end_faults (DkClusterRun *run, GError **error);

/* The members' ring now (dk_net_ring_new of the same peers as the nodes);
 * the clients, once made, choose coordinators on it. */
gboolean dk_cluster_update_ring (DkClusterRun *run, GError **error);

/* Stop probing for joiners and free what the probes hold. */
void dk_cluster_probe_clear (DkClusterRun *run);

/* DkNetClientsReachable and DkNetClientsSide for the clients (USER_DATA
 * the run), as sim/cluster.c judges them. */
gboolean dk_cluster_client_reaches (DkNodeId home, DkNodeId node, gpointer user_data);
guint8 dk_cluster_client_side (DkNodeId home, gpointer user_data);

G_END_DECLS

#endif /* DK_CLUSTER_EVENTS_H */
