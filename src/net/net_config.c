/* net_config.c — addresses, peer lists, keys and the ring; see net_config.h. */
#include "net_config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/random.h>

#include <string.h>

static void
peer_clear (gpointer data)
{
  DkNetPeer *peer = data;
  g_clear_pointer (&peer->address, g_free);
}

GArray *
dk_net_peers_new (void)
{
  GArray *peers = g_array_new (FALSE, TRUE, sizeof (DkNetPeer));
  g_array_set_clear_func (peers, peer_clear);
  return peers;
}

gboolean
dk_net_peers_add (GArray *peers, DkNodeId id, const char *address, GError **error)
{
  if (id == DK_NODE_NONE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "peer %s: node id 0 is reserved; ids start at 1", address);
      return FALSE;
    }
  for (guint i = 0; i < peers->len; i++)
    {
      const DkNetPeer *known = &g_array_index (peers, DkNetPeer, i);
      if (known->id != id)
        continue;
      if (strcmp (known->address, address) == 0)
        return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "node %u is given two addresses: %s and %s", id, known->address, address);
      return FALSE;
    }
  DkNetPeer peer = { .id = id, .address = g_strdup (address) };
  g_array_append_val (peers, peer);
  return TRUE;
}

gboolean
dk_net_peers_add_spec (GArray *peers, const char *spec, GError **error)
{
  const char *equals = strchr (spec, '=');
  if (equals == NULL || equals == spec || equals[1] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "peer '%s': expected ID=HOST:PORT, e.g. 2=127.0.0.1:7002", spec);
      return FALSE;
    }
  g_autofree char *id_text = g_strndup (spec, (gsize) (equals - spec));
  guint64 id = 0;
  if (!g_ascii_string_to_unsigned (id_text, 10, 1, G_MAXUINT32, &id, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "peer '%s': the node id '%s' is not a number from 1 to %u",
                   spec, id_text, G_MAXUINT32);
      return FALSE;
    }
  /* Resolve now so a typo fails at start-up, not at the first send. */
  g_autoptr (GInetSocketAddress) resolved = dk_net_resolve (equals + 1, FALSE, error);
  if (resolved == NULL)
    return FALSE;
  return dk_net_peers_add (peers, (DkNodeId) id, equals + 1, error);
}

static gint
peer_compare (gconstpointer a, gconstpointer b)
{
  DkNodeId x = ((const DkNetPeer *) a)->id, y = ((const DkNetPeer *) b)->id;
  return (x > y) - (x < y);
}

void
dk_net_peers_sort (GArray *peers)
{
  g_array_sort (peers, peer_compare);
}

GInetSocketAddress *
dk_net_resolve (const char *text, gboolean allow_port_zero, GError **error)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GSocketConnectable) connectable = g_network_address_parse (text, 0, &parse_error);
  if (connectable == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "address '%s': %s (expected HOST:PORT)", text, parse_error->message);
      return NULL;
    }
  GNetworkAddress *network = G_NETWORK_ADDRESS (connectable);
  const char *host = g_network_address_get_hostname (network);
  guint16 port = g_network_address_get_port (network);
  if (port == 0 && !allow_port_zero)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "address '%s': needs a port from 1 to 65535 (HOST:PORT)", text);
      return NULL;
    }
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
  if (ip == NULL)
    {
      g_autoptr (GResolver) resolver = g_resolver_get_default ();
      g_autoptr (GError) resolve_error = NULL;
      GList *found = g_resolver_lookup_by_name (resolver, host, NULL, &resolve_error);
      if (found == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "address '%s': cannot resolve '%s': %s", text, host,
                       resolve_error != NULL ? resolve_error->message : "no address");
          return NULL;
        }
      /* Prefer IPv4, which every loopback set-up has. */
      GInetAddress *chosen = found->data;
      for (GList *l = found; l != NULL; l = l->next)
        if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
          {
            chosen = l->data;
            break;
          }
      ip = g_object_ref (chosen);
      g_resolver_free_addresses (found);
    }
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, port));
}

char *
dk_net_address_string (GInetSocketAddress *address)
{
  GInetAddress *ip = g_inet_socket_address_get_address (address);
  g_autofree char *ip_text = g_inet_address_to_string (ip);
  guint16 port = g_inet_socket_address_get_port (address);
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", ip_text, port);
  return g_strdup_printf ("%s:%u", ip_text, port);
}

char *
dk_net_hex_encode (const guint8 *data, gsize len)
{
  static const char digits[] = "0123456789abcdef";
  char *text = g_malloc (len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    {
      text[2 * i] = digits[data[i] >> 4];
      text[2 * i + 1] = digits[data[i] & 15];
    }
  text[len * 2] = '\0';
  return text;
}

GBytes *
dk_net_hex_decode (const char *text, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  int high = -1;
  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        continue;
      int digit = g_ascii_xdigit_value (*p);
      if (digit < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "'%c' at offset %u is not a hexadecimal digit",
                       *p, (guint) (p - text));
          return NULL;
        }
      if (high < 0)
        high = digit;
      else
        {
          guint8 byte = (guint8) (high << 4 | digit);
          g_byte_array_append (out, &byte, 1);
          high = -1;
        }
    }
  if (high >= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "odd number of hexadecimal digits");
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static gboolean
key_size_ok (GBytes *key, const char *what, GError **error)
{
  gsize len = g_bytes_get_size (key);
  if (len >= DK_NET_KEY_MIN_BYTES && len <= DK_NET_KEY_MAX_BYTES)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "%s: a cluster key must be %u to %u bytes, got %" G_GSIZE_FORMAT
               " (make one with: head -c 32 /dev/urandom | od -An -tx1)",
               what, DK_NET_KEY_MIN_BYTES, DK_NET_KEY_MAX_BYTES, len);
  return FALSE;
}

GBytes *
dk_net_parse_key_hex (const char *text, GError **error)
{
  g_autoptr (GError) hex_error = NULL;
  g_autoptr (GBytes) key = dk_net_hex_decode (text, &hex_error);
  if (key == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cluster key: %s", hex_error->message);
      return NULL;
    }
  if (!key_size_ok (key, "cluster key", error))
    return NULL;
  return g_steal_pointer (&key);
}

GBytes *
dk_net_load_key_file (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  g_autoptr (GBytes) key = NULL;
  if (strlen (contents) == len)
    key = dk_net_hex_decode (contents, NULL);
  if (key == NULL || g_bytes_get_size (key) == 0)
    {
      g_clear_pointer (&key, g_bytes_unref);
      key = g_bytes_new (contents, len);
    }
  memset (contents, 0, len);
  if (!key_size_ok (key, path, error))
    return NULL;
  return g_steal_pointer (&key);
}

gboolean
dk_net_write_key_file (const char *path, GError **error)
{
  guint8 key[DK_NET_KEY_GENERATED_BYTES];
  gsize got = 0;
  while (got < sizeof key)
    {
      ssize_t n = getrandom (key + got, sizeof key - got, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "%s: no random bytes from the kernel: %s", path, g_strerror (saved));
          return FALSE;
        }
      got += (gsize) n;
    }
  g_autofree char *hex = dk_net_hex_encode (key, sizeof key);
  memset (key, 0, sizeof key);
  g_autofree char *text = g_strconcat (hex, "\n", NULL);
  memset (hex, 0, strlen (hex));
  /* O_EXCL: never overwrite a key (a cluster would lose its own). */
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create the key file %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  gsize len = strlen (text), written = 0;
  while (written < len)
    {
      ssize_t n = write (fd, text + written, len - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          unlink (path);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "cannot write the key file %s: %s", path, g_strerror (saved));
          return FALSE;
        }
      written += (gsize) n;
    }
  memset (text, 0, len);
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      int saved = errno;
      unlink (path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot write the key file %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

DkRing *
dk_net_ring_new (const GArray *peers, guint vnodes, GError **error)
{
  if (vnodes < 1 || vnodes > 65536)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "vnodes: %u is outside 1 .. 65536", vnodes);
      return NULL;
    }
  g_autoptr (DkRing) ring = dk_ring_new_random_tokens (vnodes);
  for (guint i = 0; i < peers->len; i++)
    {
      const DkNetPeer *peer = &g_array_index (peers, DkNetPeer, i);
      g_autofree char *name = g_strdup_printf ("n%u", peer->id);
      DkRingNode member = { .id = peer->id, .name = name, .weight = 1 };
      if (!dk_ring_add_node (ring, &member, error))
        return NULL;
    }
  return g_steal_pointer (&ring);
}
