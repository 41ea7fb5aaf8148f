/* netns.c — namespaces, veths, a bridge and blackhole routes through
 * ip(8); see netns.h. */
#define _GNU_SOURCE
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#define SUBNET "10.77.0."
#define BRIDGE "dkbr0"
#define PREFIX_MAX 20

struct _DkNetns
{
  char      *prefix;
  char      *hub;        /* PREFIX-hub */
  guint      nodes;
  GPtrArray *names;      /* char*, index ID-1 */
  GPtrArray *addresses;  /* char*, index ID-1 */
  GPtrArray *made;       /* char*: namespaces made so far (deleted by free) */
  GArray    *blocked;    /* guint64: FROM << 32 | TO, in the order added */
};

/* Run ip(8) with ARGS (NULL-terminated, after "ip"); FALSE with ERROR
 * naming the command and ip's message when it fails. */
static gboolean
run_ip (GError **error, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) "ip");
  va_list args;
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_autofree char *err_text = NULL;
  gint status = 0;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                     &err_text, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_autofree char *command = g_strjoinv (" ", (char **) argv->pdata);
      g_strstrip (err_text);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s' failed: %s", command,
                   err_text[0] != '\0' ? err_text : "no message");
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_netns_check (GError **error)
{
  if (geteuid () != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                           "network namespaces need root (the effective user is not 0)");
      return FALSE;
    }
  g_autofree char *ip = g_find_program_in_path ("ip");
  if (ip == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "ip(8) is not in PATH (Debian package iproute2)");
      return FALSE;
    }
  g_autofree char *probe = g_strdup_printf ("dkprobe-%d", (int) getpid ());
  if (!run_ip (error, "netns", "add", probe, NULL))
    return FALSE;
  return run_ip (error, "netns", "del", probe, NULL);
}

static gboolean
prefix_valid (const char *prefix)
{
  gsize len = strlen (prefix);
  if (len == 0 || len > PREFIX_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_islower (prefix[i]) && !g_ascii_isdigit (prefix[i]) && prefix[i] != '-')
      return FALSE;
  return TRUE;
}

static gboolean
add_namespace (DkNetns *netns, const char *name, GError **error)
{
  if (!run_ip (error, "netns", "add", name, NULL))
    return FALSE;
  g_ptr_array_add (netns->made, g_strdup (name));
  return run_ip (error, "-n", name, "link", "set", "lo", "up", NULL);
}

static gboolean
build (DkNetns *netns, GError **error)
{
  if (!add_namespace (netns, netns->hub, error)
      || !run_ip (error, "-n", netns->hub, "link", "add", BRIDGE, "type", "bridge", NULL)
      || !run_ip (error, "-n", netns->hub, "addr", "add", DK_NETNS_HUB_ADDRESS "/24", "dev",
                  BRIDGE, NULL)
      || !run_ip (error, "-n", netns->hub, "link", "set", BRIDGE, "up", NULL))
    return FALSE;
  for (DkNodeId id = 1; id <= netns->nodes; id++)
    {
      const char *name = dk_netns_node_name (netns, id);
      g_autofree char *veth = g_strdup_printf ("v%u", id);
      g_autofree char *cidr = g_strdup_printf ("%s/24", dk_netns_node_address (netns, id));
      /* Made inside the hub, its peer straight in the node's namespace:
       * no link ever appears where this program started. */
      if (!add_namespace (netns, name, error)
          || !run_ip (error, "-n", netns->hub, "link", "add", veth, "type", "veth", "peer",
                      "name", "eth0", "netns", name, NULL)
          || !run_ip (error, "-n", netns->hub, "link", "set", veth, "master", BRIDGE, "up", NULL)
          || !run_ip (error, "-n", name, "addr", "add", cidr, "dev", "eth0", NULL)
          || !run_ip (error, "-n", name, "link", "set", "eth0", "up", NULL))
        return FALSE;
    }
  return TRUE;
}

DkNetns *
dk_netns_new (const char *prefix, guint nodes, GError **error)
{
  if (!prefix_valid (prefix))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "namespace prefix '%s': expected 1 to %d of a-z, 0-9 and '-'", prefix,
                   PREFIX_MAX);
      return NULL;
    }
  if (nodes < 1 || nodes > DK_NETNS_MAX_NODES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%u nodes: a namespace cluster has 1 to %u", nodes, DK_NETNS_MAX_NODES);
      return NULL;
    }
  g_autoptr (DkNetns) netns = g_new0 (DkNetns, 1);
  netns->prefix = g_strdup (prefix);
  netns->hub = g_strdup_printf ("%s-hub", prefix);
  netns->nodes = nodes;
  netns->names = g_ptr_array_new_with_free_func (g_free);
  netns->addresses = g_ptr_array_new_with_free_func (g_free);
  netns->made = g_ptr_array_new_with_free_func (g_free);
  netns->blocked = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (DkNodeId id = 1; id <= nodes; id++)
    {
      g_ptr_array_add (netns->names, g_strdup_printf ("%s-n%u", prefix, id));
      g_ptr_array_add (netns->addresses, g_strdup_printf (SUBNET "%u", id));
    }
  if (!build (netns, error))
    return NULL;   /* the autoptr deletes what was made */
  return g_steal_pointer (&netns);
}

void
dk_netns_free (DkNetns *netns)
{
  if (netns == NULL)
    return;
  /* Deleting a node's namespace destroys its veth, both ends. */
  for (guint i = netns->made->len; i > 0; i--)
    {
      g_autoptr (GError) error = NULL;
      if (!run_ip (&error, "netns", "del", g_ptr_array_index (netns->made, i - 1), NULL))
        g_printerr ("dynkv-cluster: %s\n", error->message);
    }
  g_ptr_array_unref (netns->made);
  g_ptr_array_unref (netns->names);
  g_ptr_array_unref (netns->addresses);
  g_array_unref (netns->blocked);
  g_free (netns->hub);
  g_free (netns->prefix);
  g_free (netns);
}

guint
dk_netns_nodes (const DkNetns *netns)
{
  return netns->nodes;
}

const char *
dk_netns_node_name (const DkNetns *netns, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= netns->nodes, NULL);
  return g_ptr_array_index (netns->names, id - 1);
}

const char *
dk_netns_node_address (const DkNetns *netns, DkNodeId id)
{
  g_return_val_if_fail (id >= 1 && id <= netns->nodes, NULL);
  return g_ptr_array_index (netns->addresses, id - 1);
}

static int
open_namespace (const char *name, GError **error)
{
  g_autofree char *path = g_build_filename ("/run/netns", name, NULL);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot open %s: %s",
                   path, g_strerror (saved));
    }
  return fd;
}

int
dk_netns_node_fd (const DkNetns *netns, DkNodeId id, GError **error)
{
  return open_namespace (dk_netns_node_name (netns, id), error);
}

gboolean
dk_netns_enter_hub (const DkNetns *netns, GError **error)
{
  int fd = open_namespace (netns->hub, error);
  if (fd < 0)
    return FALSE;
  int result = setns (fd, CLONE_NEWNET);
  int saved = errno;
  close (fd);
  if (result != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot enter namespace %s: %s", netns->hub, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_netns_block (DkNetns *netns, DkNodeId from, DkNodeId to, GError **error)
{
  g_return_val_if_fail (from >= 1 && from <= netns->nodes && to >= 1 && to <= netns->nodes,
                        FALSE);
  guint64 pair = ((guint64) from << 32) | to;
  for (guint i = 0; i < netns->blocked->len; i++)
    if (g_array_index (netns->blocked, guint64, i) == pair)
      return TRUE;
  g_autofree char *target = g_strdup_printf ("%s/32", dk_netns_node_address (netns, to));
  if (!run_ip (error, "-n", dk_netns_node_name (netns, from), "route", "add", "blackhole",
               target, NULL))
    return FALSE;
  g_array_append_val (netns->blocked, pair);
  return TRUE;
}

gboolean
dk_netns_heal (DkNetns *netns, GError **error)
{
  while (netns->blocked->len > 0)
    {
      guint last = netns->blocked->len - 1;
      guint64 pair = g_array_index (netns->blocked, guint64, last);
      DkNodeId from = (DkNodeId) (pair >> 32), to = (DkNodeId) (pair & G_MAXUINT32);
      g_autofree char *target = g_strdup_printf ("%s/32", dk_netns_node_address (netns, to));
      if (!run_ip (error, "-n", dk_netns_node_name (netns, from), "route", "del", "blackhole",
                   target, NULL))
        return FALSE;
      g_array_remove_index (netns->blocked, last);
    }
  return TRUE;
}

guint
dk_netns_blocked (const DkNetns *netns)
{
  return netns->blocked->len;
}
