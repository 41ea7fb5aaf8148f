/* daemon_config.c — dynkvd's settings, completed and checked; see
 * daemon_config.h. */
#include "daemon_config.h"

#include <stddef.h>
#include <string.h>

#include "net_config.h"
#include "node.h"
#include "ring.h"
#include "udp_env.h"

/* ---- what a configuration file may say ----------------------------------- */

/* Every key dynkvd reads, by group; [peers] holds node ids instead. */
static const char *const node_keys[] = {
  "id", "listen", "data", "log_level", "dedup_requests", "dedup_ms", "synchronous", NULL
};
static const char *const cluster_keys[] = {
  "n", "r", "w", "request_timeout_ms", "vnodes", "gossip_ms", "suspect_ms",
  "anti_entropy_ms", "replay_window_ms", "key", "key_file", "client_key_file", "max_weight",
  "strict_quorum", "read_all", "auto_admit", NULL
};

typedef struct
{
  const char        *name;
  const char *const *keys;   /* NULL: [peers], whose keys are node ids */
} ConfigGroup;

static const ConfigGroup config_groups[] = {
  { "node", node_keys },
  { "cluster", cluster_keys },
  { "peers", NULL },
};

/* ---- the numbers: one line per setting -------------------------------------- */

/* A numeric setting: where it lives in the settings, its names in the file
 * and on the command line, and the values it may take. */
typedef struct
{
  gsize       offset;      /* of a gint in DkDaemonSettings */
  const char *group, *key, *flag;
  gint        lo, hi;
  const char *why;         /* what a value below LO would mean, or NULL */
} NumericSetting;

#define SETTING(field) offsetof (DkDaemonSettings, field)

static const NumericSetting numeric_settings[] = {
  { SETTING (vnodes), "cluster", "vnodes", "--vnodes", 1, 65536, NULL },
  { SETTING (n), "cluster", "n", "--n", 1, DK_RING_MAX_REPLICAS, NULL },
  { SETTING (r), "cluster", "r", "--r", 1, DK_RING_MAX_REPLICAS, NULL },
  { SETTING (w), "cluster", "w", "--w", 1, DK_RING_MAX_REPLICAS, NULL },
  { SETTING (request_timeout_ms), "cluster", "request_timeout_ms", "--request-timeout-ms",
    1, 3600000, "a request that may never wait" },
  { SETTING (gossip_ms), "cluster", "gossip_ms", "--gossip-ms", 0, 3600000,
    "an interval; 0 turns gossip off" },
  { SETTING (suspect_ms), "cluster", "suspect_ms", "--suspect-ms", 1, 86400000,
    "a suspected member declared down at once" },
  { SETTING (anti_entropy_ms), "cluster", "anti_entropy_ms", "--anti-entropy-ms", 0, 86400000,
    "an interval; 0 turns anti-entropy off" },
  { SETTING (replay_window_ms), "cluster", "replay_window_ms", "--replay-window-ms",
    1, 86400000, NULL },
  { SETTING (dedup_requests), "node", "dedup_requests", "--dedup-requests", 1, 16777216, NULL },
  { SETTING (dedup_ms), "node", "dedup_ms", "--dedup-ms", 1, 86400000, NULL },
  { SETTING (max_weight), "cluster", "max_weight", "--max-weight", 1, DK_RING_MAX_WEIGHT,
    "no member could be heard of" },
};

static gint
setting_value (const DkDaemonSettings *settings, const NumericSetting *setting)
{
  return *(const gint *) ((const char *) settings + setting->offset);
}

static const NumericSetting *
numeric_setting (gsize offset)
{
  for (gsize i = 0; i < G_N_ELEMENTS (numeric_settings); i++)
    if (numeric_settings[i].offset == offset)
      return &numeric_settings[i];
  g_assert_not_reached ();
}

/* The value the node will use: the setting's, or the node's default. */
static gint
effective (const DkDaemonSettings *settings, gsize offset, gint default_value)
{
  gint value = setting_value (settings, numeric_setting (offset));
  return value == DK_DAEMON_UNSET ? default_value : value;
}

/* "[cluster] n=4 (--n)", or "n (default 3)" when nobody set it. */
static char *
describe (const DkDaemonSettings *settings, gsize offset, gint default_value)
{
  const NumericSetting *setting = numeric_setting (offset);
  gint value = setting_value (settings, setting);
  if (value == DK_DAEMON_UNSET)
    return g_strdup_printf ("[%s] %s (%s, default %d)", setting->group, setting->key,
                            setting->flag, default_value);
  return g_strdup_printf ("[%s] %s=%d (%s)", setting->group, setting->key, value, setting->flag);
}

/* ---- settings ----------------------------------------------------------------- */

void
dk_daemon_settings_init (DkDaemonSettings *settings)
{
  *settings = (DkDaemonSettings) {
    .id = DK_DAEMON_UNSET64,
    .peers = dk_net_peers_new (),
    .seed = DK_DAEMON_UNSET64,
  };
  for (gsize i = 0; i < G_N_ELEMENTS (numeric_settings); i++)
    *(gint *) ((char *) settings + numeric_settings[i].offset) = DK_DAEMON_UNSET;
}

void
dk_daemon_settings_clear (DkDaemonSettings *settings)
{
  g_clear_pointer (&settings->listen, g_free);
  g_clear_pointer (&settings->data_dir, g_free);
  g_clear_pointer (&settings->peers, g_array_unref);
  g_clear_pointer (&settings->key, g_bytes_unref);
  g_clear_pointer (&settings->client_key, g_bytes_unref);
  g_clear_pointer (&settings->log_level, g_free);
  g_clear_pointer (&settings->synchronous, g_free);
}

gboolean
dk_daemon_settings_complete (DkDaemonSettings *settings, GError **error)
{
  if (settings->id < 1 || settings->id > G_MAXUINT32)
    {
      if (settings->id == DK_DAEMON_UNSET64)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "[node] id (--id N, 1 .. %u) is required", G_MAXUINT32);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "[node] id (--id) must be from 1 to %u, got %" G_GINT64_FORMAT,
                     G_MAXUINT32, settings->id);
      return FALSE;
    }
  if (settings->data_dir == NULL || settings->data_dir[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "[node] data (--data DIR) is required");
      return FALSE;
    }
  const DkNetPeer *self = NULL;
  for (guint i = 0; i < settings->peers->len; i++)
    if (g_array_index (settings->peers, DkNetPeer, i).id == settings->id)
      self = &g_array_index (settings->peers, DkNetPeer, i);
  if (settings->listen == NULL && self != NULL)
    settings->listen = g_strdup (self->address);
  if (settings->listen == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "[node] listen (--listen HOST:PORT) is required, or list this node "
                   "in [peers] (--peer %" G_GINT64_FORMAT "=HOST:PORT)", settings->id);
      return FALSE;
    }
  if (self == NULL && !dk_net_peers_add (settings->peers, (DkNodeId) settings->id,
                                         settings->listen, error))
    return FALSE;
  dk_net_peers_sort (settings->peers);
  return TRUE;
}

/* ADDRESS as "host:port" with the host canonical when it is an IP literal
 * ("127.000.0.1" is not, but "::1" and "[0::1]" are the same), lower case
 * otherwise; NULL when it does not parse.  No name is resolved. */
static char *
canonical_address (const char *address)
{
  g_autoptr (GSocketConnectable) parsed = g_network_address_parse (address, 0, NULL);
  if (parsed == NULL)
    return NULL;
  GNetworkAddress *network = G_NETWORK_ADDRESS (parsed);
  const char *host = g_network_address_get_hostname (network);
  guint port = g_network_address_get_port (network);
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
  g_autofree char *host_text = ip != NULL ? g_inet_address_to_string (ip) : g_ascii_strdown (host, -1);
  return g_strdup_printf ("%s:%u", host_text, port);
}

/* Two members on one address would each receive the other's datagrams;
 * a node listening on another member's address would be taken for it. */
static gboolean
check_addresses (const DkDaemonSettings *settings, GError **error)
{
  guint count = settings->peers->len;
  g_autoptr (GPtrArray) canonical = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < count; i++)
    {
      const DkNetPeer *peer = &g_array_index (settings->peers, DkNetPeer, i);
      char *text = canonical_address (peer->address);
      g_ptr_array_add (canonical, text != NULL ? text : g_strdup (peer->address));
    }
  for (guint i = 0; i < count; i++)
    for (guint j = i + 1; j < count; j++)
      {
        const DkNetPeer *a = &g_array_index (settings->peers, DkNetPeer, i);
        const DkNetPeer *b = &g_array_index (settings->peers, DkNetPeer, j);
        if (a->id == b->id)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "[peers] (--peer): node %u is listed twice", a->id);
            return FALSE;
          }
        if (strcmp (g_ptr_array_index (canonical, i), g_ptr_array_index (canonical, j)) == 0)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "[peers] (--peer): nodes %u and %u have the same address %s; "
                         "every member needs its own", a->id, b->id, b->address);
            return FALSE;
          }
      }
  g_autofree char *listen = canonical_address (settings->listen);
  for (guint i = 0; listen != NULL && i < count; i++)
    {
      const DkNetPeer *peer = &g_array_index (settings->peers, DkNetPeer, i);
      if (peer->id != settings->id && strcmp (listen, g_ptr_array_index (canonical, i)) == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "[node] listen=%s (--listen) is node %u's address in [peers], "
                       "but this node is %" G_GINT64_FORMAT,
                       settings->listen, peer->id, settings->id);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_ranges (const DkDaemonSettings *settings, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (numeric_settings); i++)
    {
      const NumericSetting *setting = &numeric_settings[i];
      gint value = setting_value (settings, setting);
      if (value == DK_DAEMON_UNSET || (value >= setting->lo && value <= setting->hi))
        continue;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "[%s] %s (%s) must be from %d to %d, got %d%s%s%s", setting->group,
                   setting->key, setting->flag, setting->lo, setting->hi, value,
                   setting->why != NULL && value < setting->lo ? " (" : "",
                   setting->why != NULL && value < setting->lo ? setting->why : "",
                   setting->why != NULL && value < setting->lo ? ")" : "");
      return FALSE;
    }
  return TRUE;
}

/* R and W at most N, N at most the members; suspect_ms no shorter than a
 * gossip round.  The node's own defaults stand in for unset values. */
static gboolean
check_combinations (const DkDaemonSettings *settings, GError **error)
{
  DkNodeConfig defaults;
  dk_node_config_init (&defaults);
  gint n = effective (settings, SETTING (n), (gint) defaults.n);
  gint r = effective (settings, SETTING (r), (gint) defaults.r);
  gint w = effective (settings, SETTING (w), (gint) defaults.w);
  const gsize quorums[] = { SETTING (r), SETTING (w) };
  for (gsize i = 0; i < G_N_ELEMENTS (quorums); i++)
    {
      gint quorum = quorums[i] == SETTING (r) ? r : w;
      if (quorum <= n)
        continue;
      g_autofree char *what = describe (settings, quorums[i], quorums[i] == SETTING (r)
                                        ? (gint) defaults.r : (gint) defaults.w);
      g_autofree char *replicas = describe (settings, SETTING (n), (gint) defaults.n);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is larger than %s: a quorum cannot exceed the replicas", what, replicas);
      return FALSE;
    }
  if ((guint) n > settings->peers->len)
    {
      g_autofree char *replicas = describe (settings, SETTING (n), (gint) defaults.n);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is larger than the %u member%s in [peers] (--peer, this node included): "
                   "a key needs n distinct replicas", replicas, settings->peers->len,
                   settings->peers->len == 1 ? "" : "s");
      return FALSE;
    }
  gint gossip_ms = effective (settings, SETTING (gossip_ms),
                              (gint) (defaults.gossip_interval_us / 1000));
  gint suspect_ms = effective (settings, SETTING (suspect_ms),
                               (gint) (defaults.suspect_after_us / 1000));
  if (gossip_ms > 0 && suspect_ms < gossip_ms)
    {
      g_autofree char *suspect = describe (settings, SETTING (suspect_ms),
                                           (gint) (defaults.suspect_after_us / 1000));
      g_autofree char *gossip = describe (settings, SETTING (gossip_ms),
                                          (gint) (defaults.gossip_interval_us / 1000));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is shorter than %s: a suspected member would be declared down "
                   "before one gossip round could clear it", suspect, gossip);
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_daemon_parse_synchronous (const char *text, DkStoreSync *sync, GError **error)
{
  if (g_strcmp0 (text, "normal") == 0)
    *sync = DK_STORE_SYNC_NORMAL;
  else if (g_strcmp0 (text, "full") == 0)
    *sync = DK_STORE_SYNC_FULL;
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "[node] synchronous (--synchronous): expected normal or full, got '%s'", text);
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_daemon_settings_check (const DkDaemonSettings *settings, GError **error)
{
  g_return_val_if_fail (settings->listen != NULL, FALSE);  /* completed first */
  DkLogLevel level;
  DkStoreSync sync;
  if (settings->seed != DK_DAEMON_UNSET64 && settings->seed < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--seed must be 0 or more, got %" G_GINT64_FORMAT, settings->seed);
      return FALSE;
    }
  if (settings->log_level != NULL && !dk_log_level_parse (settings->log_level, &level, error))
    {
      g_prefix_error (error, "[node] log_level (--log-level): ");
      return FALSE;
    }
  if (settings->synchronous != NULL
      && !dk_daemon_parse_synchronous (settings->synchronous, &sync, error))
    return FALSE;
  return check_ranges (settings, error) && check_combinations (settings, error)
         && check_addresses (settings, error);
}

/* ---- the file's text ----------------------------------------------------------- */

static const ConfigGroup *
find_group (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_groups); i++)
    if (strcmp (config_groups[i].name, name) == 0)
      return &config_groups[i];
  return NULL;
}

static char *
known_keys (const ConfigGroup *group)
{
  g_autoptr (GString) list = g_string_new (NULL);
  for (gsize i = 0; group->keys[i] != NULL; i++)
    g_string_append_printf (list, "%s%s", i > 0 ? ", " : "", group->keys[i]);
  return g_string_free (g_steal_pointer (&list), FALSE);
}

/* Where each key of the current group was first set: "group\nkey" -> line,
 * and in [peers] "peers\nID" with the id normalised. */
static gboolean
check_key (const char *path, guint line, const ConfigGroup *group, const char *key,
           const char *value, GHashTable *seen, GError **error)
{
  g_autofree char *name = NULL;
  if (group->keys == NULL)
    {
      guint64 id = 0;
      if (!g_ascii_string_to_unsigned (key, 10, 1, G_MAXUINT32, &id, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s:%u: [peers] %s: a key in [peers] is a node id from 1 to %u",
                       path, line, key, G_MAXUINT32);
          return FALSE;
        }
      name = g_strdup_printf ("peers\n%" G_GUINT64_FORMAT, id);
    }
  else
    {
      gboolean known = FALSE;
      for (gsize i = 0; group->keys[i] != NULL && !known; i++)
        known = strcmp (group->keys[i], key) == 0;
      if (!known)
        {
          g_autofree char *list = known_keys (group);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s:%u: [%s] %s: unknown key (known: %s)", path, line, group->name,
                       key, list);
          return FALSE;
        }
      name = g_strdup_printf ("%s\n%s", group->name, key);
    }
  gpointer first = g_hash_table_lookup (seen, name);
  if (first != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   group->keys == NULL ? "%s:%u: [%s] node %s is listed twice (first on line %u)"
                                       : "%s:%u: [%s] %s is set twice (first on line %u)",
                   path, line, group->name, strchr (name, '\n') + 1, GPOINTER_TO_UINT (first));
      return FALSE;
    }
  g_hash_table_insert (seen, g_steal_pointer (&name), GUINT_TO_POINTER (line));
  /* GKeyFile has no trailing comments: "n=3  # three" is the value
   * "3  # three", and a path or address keeps the comment silently. */
  const char *hash = strchr (value, '#');
  if (hash != NULL && hash > value && g_ascii_isspace (hash[-1]))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s:%u: [%s] %s: '#' after the value is part of the value in a key file; "
                   "put the comment on a line of its own", path, line, group->name, key);
      return FALSE;
    }
  return TRUE;
}

gboolean
dk_daemon_config_check_text (const char *path, const char *contents, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const ConfigGroup *group = NULL;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint line = i + 1;
      g_autofree char *text = g_strstrip (g_strdup (lines[i]));
      if (text[0] == '\0' || text[0] == '#')
        continue;
      if (text[0] == '[')
        {
          char *close = strchr (text, ']');
          if (close == NULL || close[1] != '\0')
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "%s:%u: expected a group such as [node], got '%s'", path, line, text);
              return FALSE;
            }
          *close = '\0';
          group = find_group (text + 1);
          if (group == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "%s:%u: unknown group [%s] (known: node, cluster, peers)",
                           path, line, text + 1);
              return FALSE;
            }
          continue;
        }
      char *equals = strchr (text, '=');
      if (group == NULL || equals == NULL || equals == text)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       group == NULL ? "%s:%u: '%s' comes before any group ([node], [cluster], [peers])"
                                     : "%s:%u: expected KEY=VALUE, got '%s'",
                       path, line, text);
          return FALSE;
        }
      *equals = '\0';
      g_strchomp (text);
      if (!check_key (path, line, group, text, g_strchug (equals + 1), seen, error))
        return FALSE;
    }
  return TRUE;
}
