/* net_daemons.h — the dynkvd processes of a namespace cluster.
 *
 * Node ID runs as `dynkvd --id ID --listen ADDRESS --peer ...` inside its
 * namespace (setns(2) in the child before exec), with its data directory
 * DIR/nodes/nID and its stdout and stderr appended to DIR/nodes/nID.log
 * (every start of it: a restart continues the same log).  A child is
 * killed with SIGKILL should this program die first (PR_SET_PDEATHSIG).
 * Crash is SIGKILL, stop is SIGTERM (the node closes its store), wipe is a
 * crash, the data directory deleted, and a start on the empty directory.
 */
#ifndef DK_NET_DAEMONS_H
#define DK_NET_DAEMONS_H

#include <glib.h>
#include "netns.h"
#include "types.h"

G_BEGIN_DECLS

typedef struct _DkNetDaemons DkNetDaemons;

/* Daemons for every node of NETNS (borrowed), not started yet: PROGRAM is
 * dynkvd's path, DIR the run's directory, ARGS (copied, NULL-terminated)
 * the flags every node gets after its own --id, --listen, --data and
 * --peer list (every member at ADDRESS:PORT). */
DkNetDaemons *dk_net_daemons_new (const DkNetns *netns, const char *program, const char *dir,
                                  guint16 port, const char *const *args);

/* Whether node ID is a member (every node is at first): members are the
 * --peer list of every node started; JOINER: ID starts with --joining
 * (a member that joined after the start). */
void dk_net_daemons_set_member (DkNetDaemons *daemons, DkNodeId id, gboolean member,
                                gboolean joiner);
gboolean dk_net_daemons_is_member (const DkNetDaemons *daemons, DkNodeId id);

/* Node ID leaves: no longer a member, and SIGUSR2 when it runs (dynkvd
 * hands its ranges to their new replicas, then exits on its own). */
void dk_net_daemons_leave (DkNetDaemons *daemons, DkNodeId id);

/* Give node ID one more flag, ARG (copied), from its next start on. */
void dk_net_daemons_add_arg (DkNetDaemons *daemons, DkNodeId id, const char *arg);

/* SIGKILL every daemon still running and reap it. */
void dk_net_daemons_free (DkNetDaemons *daemons);

/* "10.77.0.ID:PORT". */
const char *dk_net_daemons_address (const DkNetDaemons *daemons, DkNodeId id);

/* Start node ID (not running); FALSE with ERROR when it cannot spawn.
 * A node killed and not reaped yet (its port may still be bound) starts
 * as soon as the default main context reaps it; should that spawn fail,
 * the next start, wipe or stop_all says so. */
gboolean dk_net_daemons_start (DkNetDaemons *daemons, DkNodeId id, GError **error);

/* SIGKILL node ID (nothing when not running) without waiting for it: the
 * default main context reaps it (a child watch), so the caller's loop
 * goes on meanwhile. */
void dk_net_daemons_crash (DkNetDaemons *daemons, DkNodeId id);

/* Crash node ID, delete its data directory, start it again. */
gboolean dk_net_daemons_wipe (DkNetDaemons *daemons, DkNodeId id, GError **error);

/* SIGTERM every running daemon and wait up to TIMEOUT_MS for them all to
 * exit (SIGKILL after that); FALSE with ERROR naming a node that had to be
 * killed or exited with an error. */
gboolean dk_net_daemons_stop_all (DkNetDaemons *daemons, guint timeout_ms, GError **error);

/* TRUE while node ID's process runs or is to start once its killed one is
 * reaped (as far as this program knows: a daemon that exited on its own
 * is noticed here and reaped). */
gboolean dk_net_daemons_running (DkNetDaemons *daemons, DkNodeId id);

/* The data directory of node ID (DIR/nodes/nID). */
const char *dk_net_daemons_data_dir (const DkNetDaemons *daemons, DkNodeId id);

/* Wait until every running node (every member: one not running fails)
 * answers a signed PING (KEY) from this
 * process's namespace, up to TIMEOUT_MS; FALSE with ERROR naming the
 * nodes that did not, and where their logs are. */
gboolean dk_net_daemons_wait_ready (DkNetDaemons *daemons, GBytes *key, guint timeout_ms,
                                    GError **error);

/* Ask every running node for its counters with DYNKV (its path) stats
 * --json, signed with KEY_FILE; write each answer to DIR/nodes/nID.stats.json
 * and add its counters to TOTALS (name -> guint64*, owning both).
 * Returns how many answered; ERROR names those that did not. */
guint dk_net_daemons_collect_stats (DkNetDaemons *daemons, const char *dynkv,
                                    const char *key_file, GHashTable *totals, GError **error);

G_END_DECLS

#endif /* DK_NET_DAEMONS_H */
