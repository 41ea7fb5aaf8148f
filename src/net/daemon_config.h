/* daemon_config.h — dynkvd's settings: what a configuration file may say,
 * and whether the settings, once the file and the flags are merged, make a
 * node that can run.
 *
 * dynkvd reads a GLib key file and its flags into one DkDaemonSettings,
 * completes it (its own address, the member list sorted) and checks it
 * before it binds a socket or opens a store, so that a typo or an
 * impossible combination stops the daemon at start with a message naming
 * the field, instead of running a node that misbehaves.  Everything here is
 * pure (no socket, no store, no name resolution), so the unit tests call
 * it directly.  Errors are G_IO_ERROR_INVALID_ARGUMENT and name the
 * offending field as "[group] key (--flag)", or "FILE:LINE" for the file's
 * own mistakes.
 */
#ifndef DK_DAEMON_CONFIG_H
#define DK_DAEMON_CONFIG_H

#include <gio/gio.h>
#include "store.h"
#include "types.h"

G_BEGIN_DECLS

/* A number nobody set (neither the file nor a flag): the node's default
 * applies.  Any other value, negative ones included, is checked. */
#define DK_DAEMON_UNSET   G_MININT
#define DK_DAEMON_UNSET64 G_MININT64

/* Everything dynkvd needs, after the file and the flags are merged. */
typedef struct
{
  gint64   id;                  /* this node; DK_DAEMON_UNSET64 while unset */
  char    *listen;              /* HOST:PORT to bind; NULL: this node's peer address */
  char    *data_dir;            /* required */
  GArray  *peers;               /* DkNetPeer: every member, this node included once completed */
  gint     n, r, w;             /* replicas and default quorums */
  gint     request_timeout_ms;
  gint     vnodes;              /* virtual nodes per member */
  GBytes  *key;                 /* cluster key, NULL: none */
  GBytes  *client_key;          /* clients sign with it; NULL: they use the cluster key */
  gint     max_weight;          /* gossip claiming a larger member weight is ignored */
  gboolean allow_joins;         /* unkeyed: take a stranger's gossip (a join) */
  char    *log_level;           /* error, warning, info, debug; NULL: info */
  gint64   seed;                /* DK_DAEMON_UNSET64: from the system's random source */
  gint     gossip_ms;           /* 0: no gossip */
  gint     suspect_ms;
  gint     anti_entropy_ms;     /* 0: no anti-entropy */
  gint     replay_window_ms;
  gint     dedup_requests;
  gint     dedup_ms;
  char    *synchronous;         /* "normal" or "full"; NULL: normal */
  gboolean strict_quorum;
  gboolean read_all;            /* a get asks all N replicas (FALSE: R, then more as needed) */
  gboolean joining;
  gboolean auto_admit;          /* keyed: take a stranger's join without an operator */
} DkDaemonSettings;

/* Every number unset, no strings, an empty member list. */
void dk_daemon_settings_init (DkDaemonSettings *settings);

/* Free what SETTINGS holds; it may be initialised again. */
void dk_daemon_settings_clear (DkDaemonSettings *settings);

/* Fill in what follows from the rest: the listening address from this
 * node's peer entry (or this node's peer entry from the listening
 * address), the member list sorted by id.  Fails when the id, the data
 * directory or any address for this node is missing. */
gboolean dk_daemon_settings_complete (DkDaemonSettings *settings, GError **error);

/* Check completed SETTINGS as a whole: every number in its range (an
 * interval negative, or zero where zero means nothing), R and W at most
 * N, N at most the number of members, suspect_ms no shorter than
 * gossip_ms, no two members on one address and no other member on this
 * node's listening address, a known log level and synchronous mode.  The
 * first problem found is the error. */
gboolean dk_daemon_settings_check (const DkDaemonSettings *settings, GError **error);

/* The store durability named by TEXT ("normal" or "full"). */
gboolean dk_daemon_parse_synchronous (const char *text, DkStoreSync *sync, GError **error);

/* Check the text of a configuration file before GKeyFile reads it: every
 * group and key is one dynkvd knows (a typo is an error, not a silently
 * ignored line), no key is set twice in a group, [peers] names each node
 * id once, and no value ends in a comment (GKeyFile would read "3  # x"
 * as the value).  PATH only names the file in the message
 * ("PATH:LINE: ..."). */
gboolean dk_daemon_config_check_text (const char *path, const char *contents, GError **error);

G_END_DECLS

#endif /* DK_DAEMON_CONFIG_H */
