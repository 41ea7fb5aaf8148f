/* daemon_init.c — `dynkvd --init DIR`; see daemon_init.h. */
#include "net/daemon_init.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include "net/net_config.h"

static const char *const made_files[] = { "dynkvd.conf", "cluster.key", "client.key" };

static char *
config_text (const char *data_dir, DkNodeId id, const char *listen, const GArray *peers)
{
  guint members = peers != NULL && peers->len > 0 ? peers->len : 1;
  guint n = MIN (members, 3u), quorum = n / 2 + 1;
  GString *text = g_string_new (NULL);
  g_string_append_printf (text,
    "# dynkvd.conf — made by dynkvd --init: node %u, keyed from the start.\n"
    "# Start it:  dynkvd --config %s/dynkvd.conf\n"
    "# Reach it:  dynkv --node %s --key-file %s/client.key put KEY VALUE\n"
    "# Every node of a cluster needs the same cluster.key (copy it, mode 0600);\n"
    "# clients sign with client.key, which can sign no node message.  A '#'\n"
    "# starts a comment only at the start of a line.  See dynkvd(1).\n"
    "\n[node]\nid=%u\nlisten=%s\ndata=%s\nlog_level=info\nsynchronous=normal\n"
    "\n[cluster]\nn=%u\nr=%u\nw=%u\nrequest_timeout_ms=1000\nvnodes=64\n"
    "# Relative to this file.\nkey_file=cluster.key\nclient_key_file=client.key\n"
    "auto_admit=false\n\n[peers]\n",
    id, data_dir, listen, data_dir, id, listen, data_dir, n, quorum, quorum);
  if (peers == NULL || peers->len == 0)
    g_string_append_printf (text, "%u=%s\n", id, listen);
  for (guint i = 0; peers != NULL && i < peers->len; i++)
    {
      const DkNetPeer *peer = &g_array_index (peers, DkNetPeer, i);
      g_string_append_printf (text, "%u=%s\n", peer->id, peer->address);
    }
  return g_string_free (text, FALSE);
}

gboolean
dk_daemon_init_dir (const char *dir, DkNodeId id, const char *listen, const GArray *peers,
                    GString *report, GError **error)
{
  g_autofree char *data_dir = g_canonicalize_filename (dir, NULL);
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "--init %s: cannot create the directory: %s", data_dir, g_strerror (saved));
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (made_files); i++)
    {
      g_autofree char *path = g_build_filename (data_dir, made_files[i], NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                       "--init %s: %s exists already; nothing was written (remove it, or "
                       "init another directory)", data_dir, path);
          return FALSE;
        }
    }
  if (peers != NULL && peers->len > 0)
    {
      gboolean listed = FALSE;
      for (guint i = 0; i < peers->len; i++)
        listed = listed || g_array_index (peers, DkNetPeer, i).id == id;
      if (!listed)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--init: node %u is not among the --peer members", id);
          return FALSE;
        }
    }
  g_autofree char *config_path = g_build_filename (data_dir, "dynkvd.conf", NULL);
  g_autofree char *cluster_key = g_build_filename (data_dir, "cluster.key", NULL);
  g_autofree char *client_key = g_build_filename (data_dir, "client.key", NULL);
  g_autofree char *text = config_text (data_dir, id, listen, peers);
  if (!dk_net_write_key_file (cluster_key, error)
      || !dk_net_write_key_file (client_key, error))
    return FALSE;
  if (!g_file_set_contents_full (config_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 error))
    return FALSE;
  g_string_append_printf (report,
    "%s: the cluster key (mode 0600)\n%s: the client key (mode 0600)\n"
    "%s: node %u at %s, data in %s\n"
    "Start it:  dynkvd --config %s\n"
    "Reach it:  dynkv --node %s --key-file %s put KEY VALUE\n",
    cluster_key, client_key, config_path, id, listen, data_dir, config_path, listen, client_key);
  return TRUE;
}
