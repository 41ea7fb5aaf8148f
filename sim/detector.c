/* detector.c — crash-detection times and false suspicions; see detector.h. */
#include "detector.h"

typedef struct
{
  DkDetectorWatch *watch;
  DkNodeId         target;
  gint64           crashed_us;
  DkEventId        probe;
} CrashWatch;

struct _DkDetectorWatch
{
  DkSimCluster *cluster;
  DkEventQueue *queue;
  GPtrArray    *crashes;      /* CrashWatch* still open */
  GArray       *detections;   /* double ms */
};

DkDetectorWatch *
dk_detector_watch_new (DkSimCluster *cluster, DkEventQueue *queue)
{
  DkDetectorWatch *watch = g_new0 (DkDetectorWatch, 1);
  watch->cluster = cluster;
  watch->queue = queue;
  watch->crashes = g_ptr_array_new ();
  watch->detections = g_array_new (FALSE, FALSE, sizeof (double));
  return watch;
}

static void
crash_watch_close (CrashWatch *crash)
{
  DkDetectorWatch *watch = crash->watch;
  if (crash->probe != 0)
    dk_eventq_cancel (watch->queue, crash->probe);
  g_ptr_array_remove (watch->crashes, crash);
  g_free (crash);
}

void
dk_detector_watch_free (DkDetectorWatch *watch)
{
  if (watch == NULL)
    return;
  while (watch->crashes->len > 0)
    crash_watch_close (g_ptr_array_index (watch->crashes, 0));
  g_ptr_array_unref (watch->crashes);
  g_array_unref (watch->detections);
  g_free (watch);
}

static void
probe (gpointer data)
{
  CrashWatch *crash = data;
  DkDetectorWatch *watch = crash->watch;
  crash->probe = 0;
  if (dk_sim_cluster_node_is_up (watch->cluster, crash->target))
    {
      crash_watch_close (crash);   /* back before everyone noticed */
      return;
    }
  for (DkNodeId id = 1; id <= dk_sim_cluster_node_count (watch->cluster); id++)
    {
      DkNode *observer = dk_sim_cluster_node (watch->cluster, id);
      if (observer != NULL && dk_node_peer_state (observer, crash->target) != DK_WIRE_MEMBER_DOWN)
        {
          crash->probe = dk_eventq_schedule (watch->queue, DK_DETECTOR_PROBE_US, probe, crash);
          return;
        }
    }
  double ms = (double) (dk_eventq_now (watch->queue) - crash->crashed_us) / 1000.0;
  g_array_append_val (watch->detections, ms);
  crash_watch_close (crash);
}

void
dk_detector_watch_crash (DkDetectorWatch *watch, DkNodeId target)
{
  CrashWatch *crash = g_new0 (CrashWatch, 1);
  crash->watch = watch;
  crash->target = target;
  crash->crashed_us = dk_eventq_now (watch->queue);
  g_ptr_array_add (watch->crashes, crash);
  crash->probe = dk_eventq_schedule (watch->queue, DK_DETECTOR_PROBE_US, probe, crash);
}

guint
dk_detector_watch_sample (DkDetectorWatch *watch, guint *false_pairs)
{
  guint suspected = 0;
  *false_pairs = 0;
  guint nodes = dk_sim_cluster_node_count (watch->cluster);
  g_autoptr (GArray) peers = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  for (DkNodeId a = 1; a <= nodes; a++)
    {
      DkNode *observer = dk_sim_cluster_node (watch->cluster, a);
      if (observer == NULL)
        continue;
      g_array_set_size (peers, 0);
      dk_node_suspected_peers (observer, peers);   /* usually none: cheap at any size */
      for (guint i = 0; i < peers->len; i++)
        {
          DkNodeId b = g_array_index (peers, DkNodeId, i);
          if (a == b || b > nodes || !dk_sim_cluster_node_is_up (watch->cluster, b))
            continue;
          suspected++;
          if (dk_sim_cluster_reachable (watch->cluster, a, b)
              && dk_sim_cluster_reachable (watch->cluster, b, a))
            (*false_pairs)++;
        }
    }
  return suspected;
}

const GArray *
dk_detector_watch_detections (const DkDetectorWatch *watch)
{
  return watch->detections;
}
