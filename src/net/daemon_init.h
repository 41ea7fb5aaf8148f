/* daemon_init.h — `dynkvd --init DIR`: a data directory that is keyed
 * from the start.
 *
 * DIR (made with mode 0700 when missing) gets a new cluster key and a new
 * client key (cluster.key, client.key: dk_net_write_key_file, random,
 * mode 0600) and dynkvd.conf, a configuration naming them (relative paths
 * are found next to the file), DIR as the data directory, this node's id
 * and address, and the members: PEERS when given (n, r, w 3, 2, 2, or
 * fewer with fewer members), else this node alone (n=r=w=1), so that
 * `dynkvd --config DIR/dynkvd.conf` starts a keyed node at once.  Nothing
 * is ever overwritten: when DIR holds any of the three files already,
 * nothing is written and the error names the file.
 */
#ifndef DK_DAEMON_INIT_H
#define DK_DAEMON_INIT_H

#include <glib.h>
#include "types.h"

G_BEGIN_DECLS

/* Make DIR as above for node ID at LISTEN ("HOST:PORT"); PEERS (DkNetPeer,
 * may be NULL or empty) the members.  Appends to REPORT what was written
 * and how to start and reach the node.  FALSE with an error naming the
 * file or the setting. */
gboolean dk_daemon_init_dir (const char *dir, DkNodeId id, const char *listen,
                             const GArray *peers, GString *report, GError **error);

G_END_DECLS

#endif /* DK_DAEMON_INIT_H */
