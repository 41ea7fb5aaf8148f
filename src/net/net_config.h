/* net_config.h — what the real-network programs share: addresses, peer
 * lists, cluster keys and the ring every node computes from them.
 *
 * dynkvd, dynkv, the net tests and the net benchmark all turn the same
 * text ("2=127.0.0.1:7002", a hex key, a key file) into the same values,
 * so they live here once.  Every function reports bad input as a GError
 * in G_IO_ERROR (G_IO_ERROR_INVALID_ARGUMENT) whose message names the
 * offending text; none of them keeps state.
 */
#ifndef DK_NET_CONFIG_H
#define DK_NET_CONFIG_H

#include <gio/gio.h>
#include "types.h"
#include "ring.h"

G_BEGIN_DECLS

/* Keys shorter than this are refused: an HMAC key should not be guessable. */
#define DK_NET_KEY_MIN_BYTES 16u
#define DK_NET_KEY_MAX_BYTES 1024u

/* One cluster member: its node id and "HOST:PORT". */
typedef struct
{
  DkNodeId id;
  char    *address;
} DkNetPeer;

/* A GArray of DkNetPeer that frees the addresses. */
GArray *dk_net_peers_new (void);

/* Parse "ID=HOST:PORT" and add it to PEERS; an id given twice is accepted
 * only with the same address. */
gboolean dk_net_peers_add_spec (GArray *peers, const char *spec, GError **error);

/* Add ID at ADDRESS (copied) to PEERS, with the same duplicate rule. */
gboolean dk_net_peers_add (GArray *peers, DkNodeId id, const char *address, GError **error);

/* Sort PEERS by node id so every node lists them alike. */
void dk_net_peers_sort (GArray *peers);

/* Resolve "HOST:PORT" ("[v6]:PORT" for IPv6 literals; HOST may be a name,
 * resolved synchronously) to a socket address.  Port 0 is accepted only
 * when ALLOW_PORT_ZERO (a listening address: the kernel picks one). */
GInetSocketAddress *dk_net_resolve (const char *text, gboolean allow_port_zero,
                                    GError **error);

/* The canonical "IP:PORT" ("[IP]:PORT" for IPv6) of ADDRESS; the endpoint
 * tables are keyed by it.  Free with g_free. */
char *dk_net_address_string (GInetSocketAddress *address);

/* Lower-case hexadecimal of LEN bytes.  Free with g_free. */
char *dk_net_hex_encode (const guint8 *data, gsize len);

/* Decode hexadecimal TEXT (whitespace ignored) into new bytes. */
GBytes *dk_net_hex_decode (const char *text, GError **error);

/* A cluster key: the file at PATH holds it as hexadecimal text
 * (whitespace ignored) or, when the content is not hex, as raw bytes.
 * Refuses keys outside DK_NET_KEY_MIN_BYTES .. DK_NET_KEY_MAX_BYTES. */
GBytes *dk_net_load_key_file (const char *path, GError **error);

/* Write a new random key (DK_NET_KEY_GENERATED_BYTES from getrandom(2),
 * as hex and a newline) to a new file at PATH with mode 0600; an
 * existing file is never overwritten (an error names it). */
#define DK_NET_KEY_GENERATED_BYTES 32u
gboolean dk_net_write_key_file (const char *path, GError **error);

/* A key given as hex text (a config file's [cluster] key), same bounds. */
GBytes *dk_net_parse_key_hex (const char *text, GError **error);

/* The ring of PEERS: random tokens, VNODES per node, node ID named "nID".
 * Every node and client given the same peers and vnodes computes the same
 * ring. */
DkRing *dk_net_ring_new (const GArray *peers, guint vnodes, GError **error);

G_END_DECLS

#endif /* DK_NET_CONFIG_H */
