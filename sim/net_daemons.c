/* net_daemons.c — start, crash, wipe and stop dynkvd in namespaces; see
 * net_daemons.h. */
#define _GNU_SOURCE
#include "net_daemons.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "net/net_config.h"
#include "wire.h"

/* How often wait_ready asks again, and stop_all looks for exits. */
#define PING_INTERVAL_US 200000
#define REAP_POLL_US 10000

typedef struct
{
  char  *address;   /* "10.77.0.ID:PORT" */
  char  *data_dir;
  char  *log_path;
  GPtrArray *args;  /* this node's own flags (char*), after the common ones */
  gboolean member;  /* listed as --peer to every node started */
  gboolean joiner;  /* started with --joining (it joined after the start) */
  GPid   pid;       /* 0: not running */
  /* A crash or wipe does not wait for the killed process: it is reaped
   * from the loop (DYING_WATCH), and a start meanwhile (START_PENDING)
   * spawns once it is, when its port is free.  PID is 0 while DYING is
   * not. */
  GPid   dying;     /* killed, not reaped yet: 0 none */
  guint  dying_watch;
  gboolean start_pending;
} Daemon;

struct _DkNetDaemons
{
  const DkNetns *netns;
  char          *program;
  GStrv          args;
  guint          nodes;
  Daemon        *daemons;  /* index ID-1 */
  GError        *deferred; /* the first start after a reap that failed */
};

DkNetDaemons *
dk_net_daemons_new (const DkNetns *netns, const char *program, const char *dir, guint16 port,
                    const char *const *args)
{
  DkNetDaemons *daemons = g_new0 (DkNetDaemons, 1);
  daemons->netns = netns;
  daemons->program = g_strdup (program);
  daemons->args = g_strdupv ((char **) args);
  daemons->nodes = dk_netns_nodes (netns);
  daemons->daemons = g_new0 (Daemon, daemons->nodes);
  for (DkNodeId id = 1; id <= daemons->nodes; id++)
    {
      Daemon *daemon = &daemons->daemons[id - 1];
      daemon->address = g_strdup_printf ("%s:%u", dk_netns_node_address (netns, id), port);
      daemon->data_dir = g_strdup_printf ("%s/nodes/n%u", dir, id);
      daemon->log_path = g_strdup_printf ("%s/nodes/n%u.log", dir, id);
      daemon->args = g_ptr_array_new_with_free_func (g_free);
      daemon->member = TRUE;
    }
  return daemons;
}


static void
reap (Daemon *daemon)
{
  int status;
  while (waitpid (daemon->pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (daemon->pid);
  daemon->pid = 0;
}

/* Reap DAEMON's killed process now, whatever its watch: the end of a
 * run. */
static void
reap_dying (Daemon *daemon)
{
  if (daemon->dying == 0)
    return;
  g_source_remove (daemon->dying_watch);   /* GLib may have reaped it already: ECHILD */
  daemon->dying_watch = 0;
  int status;
  while (waitpid (daemon->dying, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (daemon->dying);
  daemon->dying = 0;
}

void
dk_net_daemons_free (DkNetDaemons *daemons)
{
  if (daemons == NULL)
    return;
  g_clear_error (&daemons->deferred);
  for (guint i = 0; i < daemons->nodes; i++)
    {
      Daemon *daemon = &daemons->daemons[i];
      reap_dying (daemon);
      if (daemon->pid != 0)
        {
          kill (daemon->pid, SIGKILL);
          reap (daemon);
        }
      g_free (daemon->address);
      g_free (daemon->data_dir);
      g_free (daemon->log_path);
      g_ptr_array_unref (daemon->args);
    }
  g_free (daemons->daemons);
  g_strfreev (daemons->args);
  g_free (daemons->program);
  g_free (daemons);
}

static Daemon *
daemon_of (const DkNetDaemons *daemons, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= daemons->nodes, NULL);
  return &daemons->daemons[id - 1];
}

void
dk_net_daemons_set_member (DkNetDaemons *daemons, DkNodeId id, gboolean member,
                           gboolean joiner)
{
  Daemon *daemon = daemon_of (daemons, id);
  daemon->member = member;
  daemon->joiner = joiner;
}

gboolean
dk_net_daemons_is_member (const DkNetDaemons *daemons, DkNodeId id)
{
  return daemon_of (daemons, id)->member;
}

void
dk_net_daemons_leave (DkNetDaemons *daemons, DkNodeId id)
{
  Daemon *daemon = daemon_of (daemons, id);
  daemon->member = FALSE;
  if (daemon->pid != 0)
    kill (daemon->pid, SIGUSR2);   /* it hands its ranges off, then exits */
}

void
dk_net_daemons_add_arg (DkNetDaemons *daemons, DkNodeId id, const char *arg)
{
  g_ptr_array_add (daemon_of (daemons, id)->args, g_strdup (arg));
}

const char *
dk_net_daemons_address (const DkNetDaemons *daemons, DkNodeId id)
{
  return daemon_of (daemons, id)->address;
}

const char *
dk_net_daemons_data_dir (const DkNetDaemons *daemons, DkNodeId id)
{
  return daemon_of (daemons, id)->data_dir;
}

/* In the child, before exec: into the node's namespace, and dead with
 * this program. */
static void
child_setup (gpointer user_data)
{
  int fd = GPOINTER_TO_INT (user_data);
  if (setns (fd, CLONE_NEWNET) != 0)
    _exit (126);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    _exit (126);   /* the parent died before the line above */
}

static gboolean
spawn (DkNetDaemons *daemons, DkNodeId id, GError **error)
{
  Daemon *daemon = daemon_of (daemons, id);
  g_return_val_if_fail (daemon->pid == 0 && daemon->dying == 0, FALSE);
  if (g_mkdir_with_parents (daemon->data_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   daemon->data_dir, g_strerror (saved));
      return FALSE;
    }
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (daemons->program));
  g_ptr_array_add (argv, g_strdup_printf ("--id=%u", id));
  g_ptr_array_add (argv, g_strdup_printf ("--listen=%s", daemon->address));
  g_ptr_array_add (argv, g_strdup_printf ("--data=%s", daemon->data_dir));
  for (DkNodeId peer = 1; peer <= daemons->nodes; peer++)
    if (peer == id || daemon_of (daemons, peer)->member)
      g_ptr_array_add (argv, g_strdup_printf ("--peer=%u=%s", peer,
                                              daemon_of (daemons, peer)->address));
  if (daemon->joiner)
    g_ptr_array_add (argv, g_strdup ("--joining"));
  for (char **arg = daemons->args; *arg != NULL; arg++)
    g_ptr_array_add (argv, g_strdup (*arg));
  for (guint i = 0; i < daemon->args->len; i++)
    g_ptr_array_add (argv, g_strdup (g_ptr_array_index (daemon->args, i)));
  g_ptr_array_add (argv, NULL);

  int log_fd = open (daemon->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot open %s: %s",
                   daemon->log_path, g_strerror (saved));
      return FALSE;
    }
  int netns_fd = dk_netns_node_fd (daemons->netns, id, error);
  if (netns_fd < 0)
    {
      close (log_fd);
      return FALSE;
    }
  gboolean spawned = g_spawn_async_with_fds (NULL, (char **) argv->pdata, NULL,
                                             G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
                                             GINT_TO_POINTER (netns_fd), &daemon->pid,
                                             -1, log_fd, log_fd, error);
  close (netns_fd);
  close (log_fd);
  if (!spawned)
    {
      daemon->pid = 0;
      g_prefix_error (error, "node %u: ", id);
    }
  return spawned;
}

/* A start that waited for its node's reap, and failed: kept for the next
 * call that can say so (start, wipe, stop_all). */
static gboolean
take_deferred (DkNetDaemons *daemons, GError **error)
{
  if (daemons->deferred == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&daemons->deferred));
  return FALSE;
}

typedef struct
{
  DkNetDaemons *daemons;
  DkNodeId      id;
} Reaping;

/* The loop reaped a killed node (GLib has waited for it): start it if a
 * start waits. */
static void
on_reaped (GPid pid, gint status, gpointer user_data)
{
  const Reaping *reaping = user_data;
  Daemon *daemon = daemon_of (reaping->daemons, reaping->id);
  g_spawn_close_pid (pid);
  daemon->dying = 0;
  daemon->dying_watch = 0;
  if (!daemon->start_pending)
    return;
  daemon->start_pending = FALSE;
  g_autoptr (GError) error = NULL;
  if (!spawn (reaping->daemons, reaping->id, &error) && reaping->daemons->deferred == NULL)
    reaping->daemons->deferred = g_steal_pointer (&error);
}

gboolean
dk_net_daemons_start (DkNetDaemons *daemons, DkNodeId id, GError **error)
{
  Daemon *daemon = daemon_of (daemons, id);
  if (!take_deferred (daemons, error))
    return FALSE;
  if (daemon->dying == 0)
    return spawn (daemons, id, error);
  daemon->start_pending = TRUE;   /* on_reaped starts it */
  return TRUE;
}

void
dk_net_daemons_crash (DkNetDaemons *daemons, DkNodeId id)
{
  Daemon *daemon = daemon_of (daemons, id);
  daemon->start_pending = FALSE;
  if (daemon->pid == 0)
    return;
  kill (daemon->pid, SIGKILL);
  Reaping *reaping = g_new (Reaping, 1);
  *reaping = (Reaping) { daemons, id };
  daemon->dying = daemon->pid;
  daemon->pid = 0;
  daemon->dying_watch = g_child_watch_add_full (G_PRIORITY_DEFAULT, daemon->dying, on_reaped,
                                                reaping, g_free);
}

/* Delete DIR and what it holds (a data directory: files only). */
static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  for (const char *name; listing != NULL && (name = g_dir_read_name (listing)) != NULL;)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

gboolean
dk_net_daemons_wipe (DkNetDaemons *daemons, DkNodeId id, GError **error)
{
  dk_net_daemons_crash (daemons, id);
  remove_tree (daemon_of (daemons, id)->data_dir);
  return dk_net_daemons_start (daemons, id, error);
}

gboolean
dk_net_daemons_running (DkNetDaemons *daemons, DkNodeId id)
{
  Daemon *daemon = daemon_of (daemons, id);
  if (daemon->start_pending)
    return TRUE;   /* it starts as soon as its killed process is reaped */
  if (daemon->pid == 0)
    return FALSE;
  int status;
  pid_t got = waitpid (daemon->pid, &status, WNOHANG);
  if (got == daemon->pid)
    {
      g_spawn_close_pid (daemon->pid);
      daemon->pid = 0;
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_net_daemons_stop_all (DkNetDaemons *daemons, guint timeout_ms, GError **error)
{
  g_autoptr (GString) trouble = g_string_new (NULL);
  /* A node still dying is reaped now, and started if it was to be (then
   * stopped with the others), as if the loop had got to it. */
  for (guint i = 0; i < daemons->nodes; i++)
    {
      Daemon *daemon = &daemons->daemons[i];
      reap_dying (daemon);
      g_autoptr (GError) spawn_error = NULL;
      if (daemon->start_pending && !spawn (daemons, i + 1, &spawn_error))
        g_string_append_printf (trouble, "%s%s", trouble->len > 0 ? "; " : "",
                                spawn_error->message);
      daemon->start_pending = FALSE;
    }
  if (daemons->deferred != NULL)
    {
      g_string_append_printf (trouble, "%s%s", trouble->len > 0 ? "; " : "",
                              daemons->deferred->message);
      g_clear_error (&daemons->deferred);
    }
  for (guint i = 0; i < daemons->nodes; i++)
    if (daemons->daemons[i].pid != 0)
      kill (daemons->daemons[i].pid, SIGTERM);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (guint i = 0; i < daemons->nodes; i++)
    {
      Daemon *daemon = &daemons->daemons[i];
      while (daemon->pid != 0)
        {
          int status;
          pid_t got = waitpid (daemon->pid, &status, WNOHANG);
          if (got == daemon->pid)
            {
              if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
                g_string_append_printf (trouble, "%snode %u exited with status %d (see %s)",
                                        trouble->len > 0 ? "; " : "", i + 1,
                                        WIFEXITED (status) ? WEXITSTATUS (status)
                                                           : 128 + WTERMSIG (status),
                                        daemon->log_path);
              g_spawn_close_pid (daemon->pid);
              daemon->pid = 0;
            }
          else if (g_get_monotonic_time () >= deadline)
            {
              g_string_append_printf (trouble, "%snode %u did not stop within %u ms: killed",
                                      trouble->len > 0 ? "; " : "", i + 1, timeout_ms);
              kill (daemon->pid, SIGKILL);
              reap (daemon);
            }
          else
            g_usleep (REAP_POLL_US);
        }
    }
  if (trouble->len > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, trouble->str);
      return FALSE;
    }
  return TRUE;
}

/* Send a signed PING from SOCKET to node ID; its header id is ID. */
static void
send_ping (GSocket *socket, GSocketAddress *to, DkNodeId id, GBytes *key)
{
  g_autoptr (DkWireMessage) ping = dk_wire_message_new (DK_WIRE_PING);
  ping->request_id = id;
  ping->body.ping.timestamp_us = g_get_monotonic_time ();
  g_autoptr (GByteArray) datagram = dk_wire_encode (ping, NULL);
  DkWireStamp stamp = { g_get_real_time (), g_random_int () | ((guint64) g_random_int () << 32),
                        id };
  dk_wire_sign_stamped (datagram, g_bytes_get_data (key, NULL), g_bytes_get_size (key), &stamp);
  g_socket_send_to (socket, to, (const gchar *) datagram->data, datagram->len, NULL, NULL);
}

gboolean
dk_net_daemons_wait_ready (DkNetDaemons *daemons, GBytes *key, guint timeout_ms,
                           GError **error)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  g_autoptr (GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) local = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (socket, local, FALSE, error))
    return FALSE;
  g_autofree gboolean *ready = g_new0 (gboolean, daemons->nodes + 1);
  g_autoptr (GPtrArray) addresses = g_ptr_array_new_with_free_func (g_object_unref);
  for (DkNodeId id = 1; id <= daemons->nodes; id++)
    {
      GInetSocketAddress *address = dk_net_resolve (daemon_of (daemons, id)->address, FALSE,
                                                    error);
      if (address == NULL)
        return FALSE;
      g_ptr_array_add (addresses, address);
    }
  g_autofree guint8 *buffer = g_malloc (65536);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;)
    {
      guint missing = 0;
      for (DkNodeId id = 1; id <= daemons->nodes; id++)
        if (!ready[id] && dk_net_daemons_running (daemons, id))
          {
            missing++;
            send_ping (socket, g_ptr_array_index (addresses, id - 1), id, key);
          }
      if (missing == 0 || g_get_monotonic_time () >= deadline)
        break;
      gint64 wake = MIN (g_get_monotonic_time () + PING_INTERVAL_US, deadline);
      while (g_get_monotonic_time () < wake
             && g_socket_condition_timed_wait (socket, G_IO_IN,
                                               MAX (wake - g_get_monotonic_time (), 1), NULL,
                                               NULL))
        {
          gssize len = g_socket_receive (socket, (gchar *) buffer, 65536, NULL, NULL);
          if (len <= 0 || !dk_wire_verify (buffer, (gsize) len, g_bytes_get_data (key, NULL),
                                           g_bytes_get_size (key), NULL))
            continue;
          g_autoptr (DkWireMessage) pong = dk_wire_decode (buffer, (gsize) len, NULL);
          if (pong != NULL && pong->type == DK_WIRE_PONG && pong->request_id >= 1
              && pong->request_id <= daemons->nodes)
            ready[pong->request_id] = TRUE;
        }
    }
  g_autoptr (GString) missing = g_string_new (NULL);
  for (DkNodeId id = 1; id <= daemons->nodes; id++)
    if (!ready[id] && daemon_of (daemons, id)->member)
      g_string_append_printf (missing, "%sn%u (%s, log %s%s)", missing->len > 0 ? ", " : "", id,
                              daemon_of (daemons, id)->address, daemon_of (daemons, id)->log_path,
                              dk_net_daemons_running (daemons, id) ? "" : "; it exited");
  if (missing->len > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "no answer within %u ms from %s", timeout_ms, missing->str);
      return FALSE;
    }
  return TRUE;
}

/* Add every "NAME": NUMBER of the "counters" object in TEXT (dynkv stats
 * --json) to TOTALS. */
static void
add_counters (const char *text, GHashTable *totals)
{
  const char *p = strstr (text, "\"counters\"");
  const char *end = p != NULL ? strchr (p, '}') : NULL;
  if (p == NULL || end == NULL)
    return;
  for (p = strchr (p + 10, '"'); p != NULL && p < end; p = strchr (p, '"'))
    {
      const char *name_end = strchr (p + 1, '"');
      if (name_end == NULL || name_end > end || strncmp (name_end, "\": ", 3) != 0)
        break;
      char *number_end = NULL;
      guint64 value = g_ascii_strtoull (name_end + 3, &number_end, 10);
      g_autofree char *name = g_strndup (p + 1, (gsize) (name_end - p - 1));
      if (number_end == name_end + 3)
        {
          p = name_end + 1;
          continue;
        }
      guint64 *total = g_hash_table_lookup (totals, name);
      if (total == NULL)
        {
          total = g_new0 (guint64, 1);
          g_hash_table_insert (totals, g_steal_pointer (&name), total);
        }
      *total += value;
      p = number_end;
    }
}

guint
dk_net_daemons_collect_stats (DkNetDaemons *daemons, const char *dynkv, const char *key_file,
                              GHashTable *totals, GError **error)
{
  guint answered = 0;
  g_autoptr (GString) silent = g_string_new (NULL);
  for (DkNodeId id = 1; id <= daemons->nodes; id++)
    {
      Daemon *daemon = daemon_of (daemons, id);
      if (daemon->pid == 0)
        continue;
      g_autofree char *node = g_strdup_printf ("--node=%s", daemon->address);
      g_autofree char *key = g_strdup_printf ("--key-file=%s", key_file);
      char *argv[] = { (char *) dynkv, node, key, (char *) "--timeout-ms=3000", (char *) "stats",
                       (char *) "--json", NULL };
      g_autofree char *out = NULL;
      gint status = 0;
      if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                         &status, NULL)
          || !g_spawn_check_wait_status (status, NULL))
        {
          g_string_append_printf (silent, " n%u", id);
          continue;
        }
      g_autofree char *path = g_strdup_printf ("%s.stats.json", daemon->data_dir);
      if (!g_file_set_contents (path, out, -1, error))
        return answered;
      add_counters (out, totals);
      answered++;
    }
  if (silent->len > 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "no counters from%s (%s stats --json failed)", silent->str, dynkv);
  return answered;
}
