/* autoscale.h — the operator who adds and removes nodes by traffic.
 *
 * The seed asks for servers "added and removed automatically based on
 * traffic".  Every cooldown the autoscaler measures the client operations
 * invoked over the last cooldown, and sizes the cluster for them:
 * desired = ceil (rate / target_per_node), kept within [min, max].  When
 * the cluster is smaller it joins one node (the lowest free id); when
 * larger it asks one node to leave (the highest member id) — one change
 * per cooldown, through the same join and leave paths a script uses, so
 * data moves exactly as it does there.  Each decision is one line in the
 * fault log.
 */
#ifndef DK_SIM_AUTOSCALE_H
#define DK_SIM_AUTOSCALE_H

#include <stdio.h>
#include <glib.h>
#include "cluster.h"
#include "eventq.h"
#include "history.h"

G_BEGIN_DECLS

typedef struct
{
  double target_per_s;   /* operations per second one node should carry (> 0) */
  guint  min_nodes;
  guint  max_nodes;      /* <= the cluster's node capacity */
  gint64 cooldown_us;
} DkAutoscalePolicy;

typedef struct _DkAutoscaler DkAutoscaler;

/* Watch HISTORY and resize CLUSTER from now until STOP_US (borrowed). */
DkAutoscaler *dk_autoscaler_new (const DkAutoscalePolicy *policy, DkSimCluster *cluster,
                                 DkEventQueue *queue, DkHistory *history, FILE *log,
                                 gint64 stop_us);
void dk_autoscaler_free (DkAutoscaler *autoscaler);

guint dk_autoscaler_joins (const DkAutoscaler *autoscaler);
guint dk_autoscaler_leaves (const DkAutoscaler *autoscaler);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkAutoscaler, dk_autoscaler_free)

G_END_DECLS

#endif
