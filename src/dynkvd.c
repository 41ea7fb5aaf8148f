/* dynkvd.c — the dynkv node daemon on the real UDP transport.
 *
 *   dynkvd --id 1 --listen 127.0.0.1:7001 --data /var/lib/dynkv/n1 \
 *          --peer 1=127.0.0.1:7001 --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003
 *
 * Settings come from an optional GKeyFile (--config) and then from the
 * flags, which override it.  Every member (this node included) goes into
 * one ring built the same way on every node, so all compute the same
 * preference lists.  The settings are checked as a whole before anything
 * starts (daemon_config.h); the data directory is locked for the process's
 * life (data_lock.h).  The node runs on the default main context until
 * SIGINT or SIGTERM; SIGUSR1 prints the counters, which are printed again
 * on exit; SIGHUP is logged and ignored. */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "net/daemon_config.h"
#include "net/daemon_init.h"
#include "net/data_lock.h"
#include "net/net_config.h"
#include "net/net_faults.h"
#include "net/udp_env.h"
#include "node.h"
#include "ring.h"

#define EXIT_USAGE 2
#define DEFAULT_VNODES 64

typedef DkDaemonSettings Settings;

/* Replace (or add) PEER's entry in PEERS: a flag overrides the file. */
static gboolean
peers_set (GArray *peers, const char *spec, GError **error)
{
  g_autoptr (GArray) one = dk_net_peers_new ();
  if (!dk_net_peers_add_spec (one, spec, error))
    return FALSE;
  const DkNetPeer *peer = &g_array_index (one, DkNetPeer, 0);
  for (guint i = 0; i < peers->len; i++)
    if (g_array_index (peers, DkNetPeer, i).id == peer->id)
      {
        g_array_remove_index (peers, i);
        break;
      }
  return dk_net_peers_add (peers, peer->id, peer->address, error);
}

static gboolean
file_int (GKeyFile *file, const char *group, const char *name, gint *out, GError **error)
{
  if (!g_key_file_has_key (file, group, name, NULL))
    return TRUE;
  g_autoptr (GError) local = NULL;
  gint value = g_key_file_get_integer (file, group, name, &local);
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "[%s] %s: ", group, name);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
file_boolean (GKeyFile *file, const char *group, const char *name, gboolean *out, GError **error)
{
  if (!g_key_file_has_key (file, group, name, NULL))
    return TRUE;
  g_autoptr (GError) local = NULL;
  gboolean value = g_key_file_get_boolean (file, group, name, &local);
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "[%s] %s: ", group, name);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
file_string (GKeyFile *file, const char *group, const char *name, char **out)
{
  if (!g_key_file_has_key (file, group, name, NULL))
    return TRUE;
  g_free (*out);
  *out = g_key_file_get_string (file, group, name, NULL);
  return *out != NULL;
}

/* Read PATH's [node], [cluster] and [peers] into SETTINGS. */
static gboolean
load_config_file (Settings *settings, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  if (!dk_daemon_config_check_text (path, contents, error))
    return FALSE;
  g_autoptr (GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_data (file, contents, length, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  gint id = DK_DAEMON_UNSET;
  g_autofree char *key_hex = NULL, *key_file = NULL, *client_key_file = NULL;
  if (!file_int (file, "node", "id", &id, error)
      || !file_string (file, "node", "listen", &settings->listen)
      || !file_string (file, "node", "data", &settings->data_dir)
      || !file_string (file, "node", "log_level", &settings->log_level)
      || !file_string (file, "node", "synchronous", &settings->synchronous)
      || !file_boolean (file, "cluster", "strict_quorum", &settings->strict_quorum, error)
      || !file_boolean (file, "cluster", "read_all", &settings->read_all, error)
      || !file_boolean (file, "cluster", "auto_admit", &settings->auto_admit, error)
      || !file_int (file, "cluster", "n", &settings->n, error)
      || !file_int (file, "cluster", "r", &settings->r, error)
      || !file_int (file, "cluster", "w", &settings->w, error)
      || !file_int (file, "cluster", "request_timeout_ms", &settings->request_timeout_ms, error)
      || !file_int (file, "cluster", "vnodes", &settings->vnodes, error)
      || !file_int (file, "cluster", "gossip_ms", &settings->gossip_ms, error)
      || !file_int (file, "cluster", "suspect_ms", &settings->suspect_ms, error)
      || !file_int (file, "cluster", "anti_entropy_ms", &settings->anti_entropy_ms, error)
      || !file_int (file, "cluster", "replay_window_ms", &settings->replay_window_ms, error)
      || !file_int (file, "node", "dedup_requests", &settings->dedup_requests, error)
      || !file_int (file, "node", "dedup_ms", &settings->dedup_ms, error)
      || !file_string (file, "cluster", "key", &key_hex)
      || !file_string (file, "cluster", "key_file", &key_file)
      || !file_string (file, "cluster", "client_key_file", &client_key_file)
      || !file_int (file, "cluster", "max_weight", &settings->max_weight, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (id != DK_DAEMON_UNSET)
    settings->id = id;
  if (key_hex != NULL && key_file != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: [cluster] has both key and key_file; keep one", path);
      return FALSE;
    }
  if (key_hex != NULL)
    settings->key = dk_net_parse_key_hex (key_hex, error);
  else if (key_file != NULL)
    {
      /* A relative key file is found next to the config file. */
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *full = g_path_is_absolute (key_file) ? g_strdup (key_file)
                              : g_build_filename (dir, key_file, NULL);
      settings->key = dk_net_load_key_file (full, error);
    }
  if ((key_hex != NULL || key_file != NULL) && settings->key == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (client_key_file != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *full = g_path_is_absolute (client_key_file) ? g_strdup (client_key_file)
                              : g_build_filename (dir, client_key_file, NULL);
      settings->client_key = dk_net_load_key_file (full, error);
      if (settings->client_key == NULL)
        {
          g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
    }
  g_auto (GStrv) names = g_key_file_get_keys (file, "peers", NULL, NULL);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree char *address = g_key_file_get_string (file, "peers", names[i], NULL);
      g_autofree char *spec = g_strdup_printf ("%s=%s", names[i], address ? address : "");
      if (!peers_set (settings->peers, spec, error))
        {
          g_prefix_error (error, "%s: [peers]: ", path);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- running ---------------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  DkNode    *node;
  DkUdpEnv  *env;
  guint      leave_watch; /* watch_for_leave, until the node leaves */
} Daemon;

static void
print_stats (const Daemon *state)
{
  /* The node's list, with the environment's counters (dk_node_counters):
   * the same names `dynkv stats` shows. */
  g_autoptr (GArray) counters = g_array_new (FALSE, FALSE, sizeof (DkCounter));
  dk_node_counters (state->node, counters);
  fprintf (stderr, "dynkvd: node %u counters:\n", dk_node_id (state->node));
  for (guint i = 0; i < counters->len; i++)
    {
      const DkCounter *counter = &g_array_index (counters, DkCounter, i);
      fprintf (stderr, "  %-24s %" G_GUINT64_FORMAT "\n", counter->name, counter->value);
    }
  fflush (stderr);
}

static gboolean
on_stop_signal (gpointer data)
{
  Daemon *state = data;
  g_main_loop_quit (state->loop);
  return G_SOURCE_CONTINUE;
}

/* A reload is not something dynkvd does (every node must be restarted
 * with the same members and ring settings anyway), but a stray SIGHUP, a
 * closed terminal or a `systemctl kill -s HUP`, must not stop a node. */
static gboolean
on_hangup_signal (gpointer data)
{
  const Daemon *state = data;
  const DkEnv *env = dk_udp_env_get (state->env);
  env->log (env->user_data, DK_LOG_WARNING,
            "SIGHUP ignored: dynkvd does not reload its settings; restart it to apply changes");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stats_signal (gpointer data)
{
  print_stats (data);
  return G_SOURCE_CONTINUE;
}

/* While leaving: stop once everything is handed off. */
static gboolean
check_left (gpointer data)
{
  Daemon *state = data;
  if (!dk_node_has_left (state->node))
    return G_SOURCE_CONTINUE;
  const DkEnv *env = dk_udp_env_get (state->env);
  env->log (env->user_data, DK_LOG_INFO, "handed every range off: leaving the cluster");
  g_main_loop_quit (state->loop);
  return G_SOURCE_REMOVE;
}

/* An operator's leave (dynkv admin leave) reaches the node, not us:
 * notice it, and stop once done as after SIGUSR2. */
static gboolean
watch_for_leave (gpointer data)
{
  Daemon *state = data;
  if (!dk_node_is_leaving (state->node))
    return G_SOURCE_CONTINUE;
  const DkEnv *env = dk_udp_env_get (state->env);
  env->log (env->user_data, DK_LOG_INFO, "leaving as an operator asked: handing every range "
            "to its new replicas");
  g_timeout_add (100, check_left, state);
  state->leave_watch = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
on_leave_signal (gpointer data)
{
  Daemon *state = data;
  const DkEnv *env = dk_udp_env_get (state->env);
  env->log (env->user_data, DK_LOG_INFO, "leaving: handing every range to its new replicas");
  if (state->leave_watch != 0)
    g_source_remove (state->leave_watch);
  state->leave_watch = 0;
  if (!dk_node_is_leaving (state->node))
    g_timeout_add (100, check_left, state);
  dk_node_leave (state->node);
  return G_SOURCE_CONTINUE;
}

/* The datagram faults the flags ask for (net_faults.h), drawn from the
 * node's seed when it has one; NULL with none; FALSE with an error naming
 * the flag. */
typedef struct
{
  char  *loss, *dup, *delay;
  char **links;
} FaultFlags;

static gboolean
make_faults (const FaultFlags *flags, const Settings *settings, DkNetFaults **out,
             GError **error)
{
  *out = NULL;
  if (flags->loss == NULL && flags->dup == NULL && flags->delay == NULL && flags->links == NULL)
    return TRUE;
  guint64 seed = settings->seed != DK_DAEMON_UNSET64
                 ? (guint64) settings->seed : ((guint64) g_random_int () << 32) | g_random_int ();
  g_autoptr (DkNetFaults) faults = dk_net_faults_new (seed, (DkNodeId) MAX (settings->id, 0));
  if ((flags->loss != NULL && !dk_net_faults_set_loss (faults, flags->loss, error))
      || (flags->dup != NULL && !dk_net_faults_set_dup (faults, flags->dup, error))
      || (flags->delay != NULL && !dk_net_faults_set_delay (faults, flags->delay, error)))
    return FALSE;
  for (char **link = flags->links; link != NULL && *link != NULL; link++)
    if (!dk_net_faults_add_link (faults, *link, error))
      return FALSE;
  *out = g_steal_pointer (&faults);
  return TRUE;
}

static int
run (const Settings *settings, DkLogLevel log_level, DkNetFaults *faults)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkRing) ring = dk_net_ring_new (settings->peers, (guint) settings->vnodes, &error);
  if (ring == NULL)
    {
      g_printerr ("dynkvd: %s\n", error->message);
      return EXIT_FAILURE;
    }
  /* Before the store is opened, and held until the process ends. */
  g_autoptr (DkDataLock) lock = dk_data_lock_acquire (settings->data_dir, &error);
  if (lock == NULL)
    {
      g_printerr ("dynkvd: node %" G_GINT64_FORMAT ": %s\n", settings->id, error->message);
      return EXIT_FAILURE;
    }
  DkStoreOptions store_options;
  dk_store_options_init (&store_options);
  if (settings->synchronous != NULL)  /* checked in main */
    (void) dk_daemon_parse_synchronous (settings->synchronous, &store_options.sync, NULL);
  DkUdpEnvConfig env_config;
  dk_udp_env_config_init (&env_config);
  env_config.id = (DkNodeId) settings->id;
  env_config.listen = settings->listen;
  env_config.data_dir = settings->data_dir;
  env_config.store_options = &store_options;
  env_config.have_seed = settings->seed != DK_DAEMON_UNSET64;
  env_config.seed = (guint64) MAX (settings->seed, 0);
  env_config.log_level = log_level;
  env_config.faults = faults;
  g_autoptr (DkUdpEnv) env = dk_udp_env_new (&env_config, &error);
  if (env == NULL)
    {
      g_printerr ("dynkvd: node %" G_GINT64_FORMAT ": %s\n", settings->id, error->message);
      return EXIT_FAILURE;
    }
  for (guint i = 0; i < settings->peers->len; i++)
    {
      const DkNetPeer *peer = &g_array_index (settings->peers, DkNetPeer, i);
      if (!dk_udp_env_add_peer (env, peer->id, peer->address, &error))
        {
          g_printerr ("dynkvd: %s\n", error->message);
          return EXIT_FAILURE;
        }
    }

  DkNodeConfig config;
  dk_node_config_init (&config);
  config.id = (DkNodeId) settings->id;
  if (settings->n != DK_DAEMON_UNSET)
    config.n = (guint) settings->n;
  if (settings->r != DK_DAEMON_UNSET)
    config.r = (guint) settings->r;
  if (settings->w != DK_DAEMON_UNSET)
    config.w = (guint) settings->w;
  if (settings->request_timeout_ms != DK_DAEMON_UNSET)
    config.request_timeout_us = (gint64) settings->request_timeout_ms * 1000;
  if (settings->key != NULL)
    config.auth_key = g_bytes_get_data (settings->key, &config.auth_key_len);
  if (settings->client_key != NULL)
    config.client_key = g_bytes_get_data (settings->client_key, &config.client_key_len);
  config.max_member_weight = (guint) settings->max_weight;
  config.allow_joins = settings->allow_joins;
  /* Keyed, a join waits for an operator (dynkv admin) unless --auto-admit;
   * unkeyed, nobody can prove to be an operator, and --allow-joins admits
   * every join as it always did. */
  config.auto_admit = settings->key != NULL ? settings->auto_admit : settings->allow_joins;
  config.vnodes = (guint) settings->vnodes;
  config.log_level = log_level;
  config.address = dk_udp_env_address (env);
  config.joining = settings->joining;
  if (settings->gossip_ms != DK_DAEMON_UNSET)
    config.gossip_interval_us = (gint64) settings->gossip_ms * 1000;
  if (settings->suspect_ms != DK_DAEMON_UNSET)
    config.suspect_after_us = (gint64) settings->suspect_ms * 1000;
  if (settings->anti_entropy_ms != DK_DAEMON_UNSET)
    config.anti_entropy_interval_us = (gint64) settings->anti_entropy_ms * 1000;
  if (settings->replay_window_ms != DK_DAEMON_UNSET)
    config.replay_window_us = (gint64) settings->replay_window_ms * 1000;
  if (settings->dedup_requests != DK_DAEMON_UNSET)
    config.dedup_requests = (guint) settings->dedup_requests;
  if (settings->dedup_ms != DK_DAEMON_UNSET)
    config.dedup_age_us = (gint64) settings->dedup_ms * 1000;
  if (settings->strict_quorum)
    config.sloppy_quorum = config.hinted_handoff = FALSE;
  config.read_all_replicas = settings->read_all;   /* default: R replicas, then more (dynkvd.1) */
  g_autoptr (DkNode) node = dk_node_new (&config, dk_udp_env_get (env), ring, &error);
  if (node == NULL)
    {
      g_printerr ("dynkvd: %s\n", error->message);
      return EXIT_FAILURE;
    }
  dk_udp_env_set_node (env, node);

  Daemon state = { .loop = g_main_loop_new (NULL, FALSE), .node = node, .env = env };
  guint sigint = g_unix_signal_add (SIGINT, on_stop_signal, &state);
  guint sigterm = g_unix_signal_add (SIGTERM, on_stop_signal, &state);
  guint sigusr1 = g_unix_signal_add (SIGUSR1, on_stats_signal, &state);
  guint sigusr2 = g_unix_signal_add (SIGUSR2, on_leave_signal, &state);
  guint sighup = g_unix_signal_add (SIGHUP, on_hangup_signal, &state);

  g_autofree char *line =
    g_strdup_printf ("dynkvd %s: node=%u listening on %s, %u members, N=%u R=%u W=%u, "
                     "timeout %" G_GINT64_FORMAT " ms, %s, data %s (synchronous=%s)",
                     PACKAGE_VERSION, config.id, dk_udp_env_address (env), settings->peers->len,
                     config.n, config.r, config.w, config.request_timeout_us / 1000,
                     config.auth_key == NULL ? "no authentication"
                     : config.client_key != NULL ? "authenticated (cluster and client keys)"
                     : "authenticated (one key for nodes and clients)",
                     settings->data_dir,
                     store_options.sync == DK_STORE_SYNC_FULL ? "full" : "normal");
  if (config.auth_key != NULL)
    {
      g_autofree char *window = g_strdup_printf ("%s; replay window %" G_GINT64_FORMAT " ms",
                                                 line, config.replay_window_us / 1000);
      g_free (line);
      line = g_steal_pointer (&window);
    }
  const DkEnv *log_env = dk_udp_env_get (env);
  log_env->log (log_env->user_data, DK_LOG_INFO, line);
  /* Restarted in the middle of a leave (the store records it): it goes on
   * leaving, and stops once done, as after SIGUSR2. */
  if (dk_node_is_leaving (node))
    g_timeout_add (100, check_left, &state);
  else
    state.leave_watch = g_timeout_add (200, watch_for_leave, &state);

  g_main_loop_run (state.loop);

  g_autofree char *stopping = g_strdup_printf ("node=%u stopping: closing the store", config.id);
  log_env->log (log_env->user_data, DK_LOG_INFO, stopping);
  print_stats (&state);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_source_remove (sigusr1);
  g_source_remove (sigusr2);
  g_source_remove (sighup);
  if (state.leave_watch != 0)
    g_source_remove (state.leave_watch);
  g_main_loop_unref (state.loop);
  dk_udp_env_set_node (env, NULL);
  g_clear_pointer (&node, dk_node_free);
  g_clear_pointer (&env, dk_udp_env_free);
  return EXIT_SUCCESS;
}

/* dynkvd --init DIR (daemon_init.h): EXIT_SUCCESS, EXIT_FAILURE when
 * a file cannot be written (said on stderr), EXIT_USAGE with ERROR. */
static int
init_data_dir (const char *dir, gint64 id, const char *listen, char **peer_specs,
               GError **error)
{
  if (id == DK_DAEMON_UNSET64)
    id = 1;
  if (id < 1 || id >= DK_NODE_ID_LIMIT)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--init: --id must be from 1 to %u, got %" G_GINT64_FORMAT,
                   DK_NODE_ID_LIMIT - 1, id);
      return EXIT_USAGE;
    }
  g_autoptr (GArray) peers = dk_net_peers_new ();
  for (guint i = 0; peer_specs != NULL && peer_specs[i] != NULL; i++)
    if (!peers_set (peers, peer_specs[i], error))
      return EXIT_USAGE;
  const char *address = listen;
  for (guint i = 0; address == NULL && i < peers->len; i++)
    if (g_array_index (peers, DkNetPeer, i).id == (DkNodeId) id)
      address = g_array_index (peers, DkNetPeer, i).address;
  g_autoptr (GString) report = g_string_new (NULL);
  g_autoptr (GError) local = NULL;
  if (!dk_daemon_init_dir (dir, (DkNodeId) id, address != NULL ? address : "127.0.0.1:7001",
                           peers, report, &local))
    {
      if (g_error_matches (local, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return EXIT_USAGE;
        }
      g_printerr ("dynkvd: %s\n", local->message);
      return EXIT_FAILURE;
    }
  fputs (report->str, stdout);
  return EXIT_SUCCESS;
}

/* Merge the flags over SETTINGS (the file's): a flag given wins. */
static void
merge_int (gint *setting, gint flag)
{
  if (flag != DK_DAEMON_UNSET)
    *setting = flag;
}

static void
merge_string (char **setting, const char *flag)
{
  if (flag == NULL)
    return;
  g_free (*setting);
  *setting = g_strdup (flag);
}

int
main (int argc, char **argv)
{
  Settings settings;
  dk_daemon_settings_init (&settings);
  char *config_path = NULL, *key_file = NULL, *listen_address = NULL, *data = NULL;
  char *log_level_text = NULL, *synchronous = NULL, *client_key_file = NULL;
  gboolean allow_joins = FALSE, auto_admit = FALSE;
  char **peer_specs = NULL;
  /* Unset until given, so that a negative value reaches the checks. */
  gint64 id = DK_DAEMON_UNSET64, seed = DK_DAEMON_UNSET64;
  gint n = DK_DAEMON_UNSET, r = DK_DAEMON_UNSET, w = DK_DAEMON_UNSET;
  gint timeout_ms = DK_DAEMON_UNSET, vnodes = DK_DAEMON_UNSET;
  gint gossip_ms = DK_DAEMON_UNSET, suspect_ms = DK_DAEMON_UNSET;
  gint anti_entropy_ms = DK_DAEMON_UNSET, replay_window_ms = DK_DAEMON_UNSET;
  gint dedup_requests = DK_DAEMON_UNSET, dedup_ms = DK_DAEMON_UNSET;
  gint max_weight = DK_DAEMON_UNSET;
  gboolean strict_quorum = FALSE, read_all = FALSE, joining = FALSE, check_config = FALSE, version = FALSE;
  FaultFlags fault_flags = { 0 };
  char *init_dir = NULL;
  g_autoptr (DkNetFaults) faults = NULL;
  setlocale (LC_ALL, "");
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Read settings from FILE ([node], [cluster], [peers]); flags override it", "FILE" },
    { "id", 'i', 0, G_OPTION_ARG_INT64, &id, "This node's id (1, 2, ...)", "N" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen_address,
      "UDP address to bind (default: this node's --peer address)", "HOST:PORT" },
    { "peer", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &peer_specs,
      "A cluster member, repeated for each (this node may be listed too)", "ID=HOST:PORT" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data,
      "Data directory; the store is DIR/node.db", "DIR" },
    { "n", 0, 0, G_OPTION_ARG_INT, &n, "Replicas per key (default 3)", "N" },
    { "r", 0, 0, G_OPTION_ARG_INT, &r, "Default read quorum (default 2)", "R" },
    { "w", 0, 0, G_OPTION_ARG_INT, &w, "Default write quorum (default 2)", "W" },
    { "request-timeout-ms", 't', 0, G_OPTION_ARG_INT, &timeout_ms,
      "A coordinator gives up after this (default 1000)", "MS" },
    { "key-file", 'k', 0, G_OPTION_ARG_FILENAME, &key_file,
      "Cluster key (hex text, or raw bytes) for HMAC-SHA256 on every datagram; "
      "clients need it too unless there is a client key", "FILE" },
    { "client-key-file", 0, 0, G_OPTION_ARG_FILENAME, &client_key_file,
      "With --key-file: the key clients sign with (dynkv --key-file); it verifies "
      "client requests only, never node-to-node messages", "FILE" },
    { "max-weight", 0, 0, G_OPTION_ARG_INT, &max_weight,
      "Ignore gossip claiming a member weight above W (default 1, the weight of every dynkvd)",
      "W" },
    { "allow-joins", 0, 0, G_OPTION_ARG_NONE, &allow_joins,
      "Without a key: accept gossip from addresses of no member (joining nodes); keyed, "
      "with a key, --auto-admit does that; this admits every join without an operator", NULL },
    { "auto-admit", 0, 0, G_OPTION_ARG_NONE, &auto_admit,
      "With a key: admit a joining node as it asks (the old way); by default a join is held "
      "until an operator admits it (dynkv admin join, dynkv admin commit)", NULL },
    { "vnodes", 'v', 0, G_OPTION_ARG_INT, &vnodes,
      "Virtual nodes per member (default 64; the same on every node)", "V" },
    { "log-level", 'L', 0, G_OPTION_ARG_STRING, &log_level_text,
      "error, warning, info (default) or debug", "LEVEL" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed,
      "Seed of the node's random stream (default: from /dev/urandom)", "S" },
    { "gossip-ms", 0, 0, G_OPTION_ARG_INT, &gossip_ms,
      "Gossip round period (default 1000; 0: no gossip, every peer counts as up)", "MS" },
    { "suspect-ms", 0, 0, G_OPTION_ARG_INT, &suspect_ms,
      "A peer silent this long is suspect, twice as long down (default 3000)", "MS" },
    { "anti-entropy-ms", 0, 0, G_OPTION_ARG_INT, &anti_entropy_ms,
      "A full Merkle anti-entropy pass over this node's ranges per period (default 10000; 0: off)", "MS" },
    { "replay-window-ms", 0, 0, G_OPTION_ARG_INT, &replay_window_ms,
      "With a key: drop signed datagrams stamped further than this from our clock, "
      "and replays within it (default 60000)", "MS" },
    { "dedup-requests", 0, 0, G_OPTION_ARG_INT, &dedup_requests,
      "Client requests remembered, so a retry is answered, not applied again (default 16384)",
      "N" },
    { "dedup-ms", 0, 0, G_OPTION_ARG_INT, &dedup_ms,
      "How long a client request is remembered at most (default 60000)", "MS" },
    { "strict-quorum", 0, 0, G_OPTION_ARG_NONE, &strict_quorum,
      "Strict quorums: no sloppy quorum, no hinted handoff", NULL },
    { "read-all", 0, 0, G_OPTION_ARG_NONE, &read_all,
      "A get asks all N replicas and answers with the first R, as the simulator does "
      "(default: it asks R, and one more for each that fails or stays silent)", NULL },
    { "joining", 0, 0, G_OPTION_ARG_NONE, &joining,
      "A new member: list the current members as --peer; gossip announces this node", NULL },
    { "synchronous", 0, 0, G_OPTION_ARG_STRING, &synchronous,
      "normal (default): a commit survives a crash of the process; full: an fsync per "
      "commit, so it survives power loss too", "MODE" },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
      "Check the settings (file and flags), print them, and exit: 0 when they would run", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version, then exit", NULL },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init_dir,
      "Make DIR a keyed data directory (a new cluster key and client key, mode 0600, and "
      "DIR/dynkvd.conf for --id, default 1, at --listen, default 127.0.0.1:7001, with the "
      "--peer members, default itself), then exit; never overwrites", "DIR" },
    { "net-loss", 0, 0, G_OPTION_ARG_STRING, &fault_flags.loss,
      "Testing: lose each datagram this node sends with probability P", "P" },
    { "net-dup", 0, 0, G_OPTION_ARG_STRING, &fault_flags.dup,
      "Testing: send each datagram twice with probability P", "P" },
    { "net-delay", 0, 0, G_OPTION_ARG_STRING, &fault_flags.delay,
      "Testing: delay each datagram by a draw of DIST (dynsim's, e.g. exp(2ms))", "DIST" },
    { "net-link", 0, 0, G_OPTION_ARG_STRING_ARRAY, &fault_flags.links,
      "Testing: other faults toward one peer (repeatable)",
      "ID:loss=P,dup=P,delay=DIST,extra=DURATION" },
    { NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "A dynkv storage node on the real UDP transport.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Every node must be given the same members (--peer or [peers]) and --vnodes,\n"
    "so that all compute the same ring.  The settings are checked before the node\n"
    "starts (--check-config checks them and exits); one node may use a data\n"
    "directory at a time.  SIGINT or SIGTERM stops the node and closes its store;\n"
    "SIGUSR1 prints its counters to stderr; SIGUSR2 makes the node leave the\n"
    "cluster: it hands every range to its new replicas, then exits.  SIGHUP is\n"
    "logged and ignored.\n"
    "\n"
    "Config file example (a '#' starts a comment only at the start of a line):\n"
    "  [node]\n  id=1\n  listen=127.0.0.1:7001\n  data=/var/lib/dynkv/n1\n"
    "  synchronous=normal\n"
    "  [cluster]\n  n=3\n  r=2\n  w=2\n  request_timeout_ms=1000\n"
    "  # or key=<hex>\n"
    "  key_file=cluster.key\n"
    "  replay_window_ms=60000\n"
    "  [peers]\n  1=127.0.0.1:7001\n  2=127.0.0.1:7002\n  3=127.0.0.1:7003\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 when the node cannot start, 2 on a usage error.");

  g_autoptr (GError) error = NULL;
  int status = EXIT_USAGE;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto usage;
  if (version)
    {
      printf ("dynkvd %s\n", PACKAGE_VERSION);
      status = EXIT_SUCCESS;
      goto out;
    }
  if (init_dir != NULL)
    {
      status = init_data_dir (init_dir, id, listen_address, peer_specs, &error);
      if (status == EXIT_USAGE)
        goto usage;
      goto out;
    }
  if (argc > 1)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "unexpected argument '%s'", argv[1]);
      goto usage;
    }
  if (config_path != NULL && !load_config_file (&settings, config_path, &error))
    goto usage;

  /* Flags override the file. */
  if (id != DK_DAEMON_UNSET64)
    settings.id = id;
  if (seed != DK_DAEMON_UNSET64)
    settings.seed = seed;
  merge_string (&settings.listen, listen_address);
  merge_string (&settings.data_dir, data);
  merge_string (&settings.log_level, log_level_text);
  merge_string (&settings.synchronous, synchronous);
  merge_int (&settings.n, n);
  merge_int (&settings.r, r);
  merge_int (&settings.w, w);
  merge_int (&settings.request_timeout_ms, timeout_ms);
  merge_int (&settings.vnodes, vnodes);
  merge_int (&settings.gossip_ms, gossip_ms);
  merge_int (&settings.suspect_ms, suspect_ms);
  merge_int (&settings.anti_entropy_ms, anti_entropy_ms);
  merge_int (&settings.replay_window_ms, replay_window_ms);
  merge_int (&settings.dedup_requests, dedup_requests);
  merge_int (&settings.dedup_ms, dedup_ms);
  settings.strict_quorum = settings.strict_quorum || strict_quorum;
  settings.read_all = settings.read_all || read_all;
  settings.joining = joining;
  merge_int (&settings.max_weight, max_weight);
  settings.allow_joins = allow_joins;
  settings.auto_admit = settings.auto_admit || auto_admit;
  if (client_key_file != NULL)
    {
      g_clear_pointer (&settings.client_key, g_bytes_unref);
      settings.client_key = dk_net_load_key_file (client_key_file, &error);
      if (settings.client_key == NULL)
        goto usage;
    }
  if (key_file != NULL)
    {
      g_clear_pointer (&settings.key, g_bytes_unref);
      settings.key = dk_net_load_key_file (key_file, &error);
      if (settings.key == NULL)
        goto usage;
    }
  if (settings.client_key != NULL && settings.key == NULL)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a client key needs a cluster key (--key-file) too");
      goto usage;
    }
  if (settings.client_key != NULL && g_bytes_equal (settings.client_key, settings.key))
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the client key is the cluster key: give clients a key of their own "
                   "(dynkv keygen FILE)");
      goto usage;
    }
  for (guint i = 0; peer_specs != NULL && peer_specs[i] != NULL; i++)
    if (!peers_set (settings.peers, peer_specs[i], &error))
      goto usage;

  if (!dk_daemon_settings_complete (&settings, &error)
      || !dk_daemon_settings_check (&settings, &error))
    goto usage;
  if (settings.vnodes == DK_DAEMON_UNSET)
    settings.vnodes = DEFAULT_VNODES;
  DkLogLevel log_level = DK_LOG_INFO;
  if (settings.log_level != NULL)  /* dk_daemon_settings_check parsed it */
    (void) dk_log_level_parse (settings.log_level, &log_level, NULL);
  if (settings.max_weight == DK_DAEMON_UNSET)
    settings.max_weight = 1;   /* every dynkvd has weight 1 */
  if (!make_faults (&fault_flags, &settings, &faults, &error))
    goto usage;
  if (check_config)
    {
      printf ("%s: node %" G_GINT64_FORMAT ", %u members, data %s: settings OK\n",
              config_path != NULL ? config_path : "flags", settings.id, settings.peers->len,
              settings.data_dir);
      status = EXIT_SUCCESS;
      goto out;
    }

  status = run (&settings, log_level, faults);
  goto out;

usage:
  g_printerr ("dynkvd: %s\nTry 'dynkvd --help'.\n", error->message);
out:
  dk_daemon_settings_clear (&settings);
  g_free (config_path);
  g_free (key_file);
  g_free (client_key_file);
  g_free (listen_address);
  g_free (data);
  g_free (log_level_text);
  g_free (synchronous);
  g_strfreev (peer_specs);
  g_free (init_dir);
  g_free (fault_flags.loss);
  g_free (fault_flags.dup);
  g_free (fault_flags.delay);
  g_strfreev (fault_flags.links);
  return status;
}
