/* net_faults.h — loss, delay and duplication that a UDP environment
 * applies to the datagrams it sends: the simulator's network model
 * (dynsim.scn(5) `network` and `link` lines) on a real network, for
 * dynkv-cluster, whose kernel may have no netem.  dynkvd takes them as
 * --net-loss, --net-dup, --net-delay and --net-link (dynkvd.1).
 *
 * A model says, for every datagram, the probability it is lost (LOSS),
 * the probability a second copy leaves too (DUP), and each copy's delay:
 * a draw of DELAY (a dynsim distribution, "exp(2ms)") plus EXTRA, a
 * constant that applies between nodes only (a client's datagram takes the
 * delay alone), as dynsim's link extra=.  The network model serves every
 * destination; a link model for peer ID overrides the fields it sets for
 * datagrams to that peer.  Draws come from their own DkRng, seeded by
 * (seed, node id), so a seeded daemon loses the same datagrams of the same
 * sequence of sends; the node's own random stream is not touched.
 */
#ifndef DK_NET_FAULTS_H
#define DK_NET_FAULTS_H

#include <glib.h>
#include "dist.h"
#include "types.h"

G_BEGIN_DECLS

#define DK_NET_FAULTS_MAX_LINKS 256u

typedef struct _DkNetFaults DkNetFaults;

/* No loss, no duplication, no delay; the stream is (SEED, ID). */
DkNetFaults *dk_net_faults_new (guint64 seed, DkNodeId id);
void dk_net_faults_free (DkNetFaults *faults);

/* The network's model: a probability in [0, 1] ("0.05"), a distribution
 * ("exp(2ms)").  FALSE with an error quoting TEXT. */
gboolean dk_net_faults_set_loss (DkNetFaults *faults, const char *text, GError **error);
gboolean dk_net_faults_set_dup (DkNetFaults *faults, const char *text, GError **error);
gboolean dk_net_faults_set_delay (DkNetFaults *faults, const char *text, GError **error);

/* A link to one peer: "ID:FIELD=VALUE,..." with FIELD loss, dup, delay or
 * extra (a duration); a field not given follows the network's.  A later
 * link to the same peer replaces the earlier.  FALSE with an error
 * naming the part that is wrong. */
gboolean dk_net_faults_add_link (DkNetFaults *faults, const char *spec, GError **error);

/* TRUE when any model loses, duplicates or delays anything. */
gboolean dk_net_faults_active (const DkNetFaults *faults);

/* The fate of one datagram to peer TO (DK_NODE_NONE: a client): how many
 * copies leave (0 lost, 1, or 2 duplicated) and each one's delay in
 * DELAYS_US. */
guint dk_net_faults_draw (DkNetFaults *faults, DkNodeId to, gint64 delays_us[2]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkNetFaults, dk_net_faults_free)

G_END_DECLS

#endif /* DK_NET_FAULTS_H */
