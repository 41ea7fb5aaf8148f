/* netns.h — a private network of Linux network namespaces for a real
 * cluster: one namespace per node, joined by veth pairs to a bridge in a
 * hub namespace, where the clients live.
 *
 *   PREFIX-hub   bridge dkbr0, 10.77.0.254/24: the clients' address
 *   PREFIX-nID   eth0, 10.77.0.ID/24, lo up; its veth peer, vID in the
 *                hub, is a port of dkbr0
 *
 * Nothing is added to the namespace the program started in: every
 * address, link and route lives in the namespaces made here, so runs in
 * parallel (each its own PREFIX) cannot meet, and deleting the
 * namespaces removes everything.  Faults are routes in a node's
 * namespace: blocking FROM -> TO adds `blackhole 10.77.0.TO/32` in FROM,
 * so FROM's datagrams to TO are dropped silently as they leave (UDP sees
 * no error), which is what an iptables DROP rule would do, with nothing
 * to install.  A partition blocks every pair across its sides, both
 * ways; the hub (clients) is never cut off.
 *
 * The commands are ip(8)'s ("ip netns add", "ip -n NS ..."), run
 * synchronously; any that fails is an error in G_IO_ERROR naming the
 * command and what ip printed.  Needs root (CAP_SYS_ADMIN and
 * CAP_NET_ADMIN); dk_netns_check says why not.
 */
#ifndef DK_NETNS_H
#define DK_NETNS_H

#include <gio/gio.h>
#include "types.h"

G_BEGIN_DECLS

/* Node addresses: 10.77.0.ID, so at most this many nodes. */
#define DK_NETNS_MAX_NODES 250u
#define DK_NETNS_HUB_ADDRESS "10.77.0.254"

typedef struct _DkNetns DkNetns;

/* TRUE when this process may make namespaces (root, ip(8) present, a
 * namespace can be made and deleted); else FALSE and ERROR says why. */
gboolean dk_netns_check (GError **error);

/* Make the hub and NODES node namespaces named PREFIX-... (PREFIX: 1 to
 * 20 characters of [a-z0-9-]).  On failure whatever was made is
 * deleted again.  Free (which deletes them all) with dk_netns_free. */
DkNetns *dk_netns_new (const char *prefix, guint nodes, GError **error);

/* Delete every namespace (their links and routes go with them). */
void dk_netns_free (DkNetns *netns);

/* How many nodes (ids 1..N). */
guint dk_netns_nodes (const DkNetns *netns);

/* The namespace of node ID ("PREFIX-n3") and its address ("10.77.0.3"). */
const char *dk_netns_node_name (const DkNetns *netns, DkNodeId id);
const char *dk_netns_node_address (const DkNetns *netns, DkNodeId id);

/* Open /run/netns/NAME of node ID (O_CLOEXEC), for setns(2) in a child
 * about to exec; -1 with ERROR when it cannot. */
int dk_netns_node_fd (const DkNetns *netns, DkNodeId id, GError **error);

/* Move the calling thread (the program: call it before making threads)
 * into the hub namespace: sockets made afterwards are the clients'. */
gboolean dk_netns_enter_hub (const DkNetns *netns, GError **error);

/* Drop everything FROM sends to TO (a blackhole route in FROM); a pair
 * already blocked is left alone. */
gboolean dk_netns_block (DkNetns *netns, DkNodeId from, DkNodeId to, GError **error);

/* Remove every block. */
gboolean dk_netns_heal (DkNetns *netns, GError **error);

/* Pairs blocked now. */
guint dk_netns_blocked (const DkNetns *netns);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkNetns, dk_netns_free)

G_END_DECLS

#endif /* DK_NETNS_H */
