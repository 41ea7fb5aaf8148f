/* udp_echo.c — the raw-UDP baseline of bench/peers.sh: a server that
 * answers every dynkv client request at once, with no store and no
 * replicas behind it.
 *
 *   bench/udp_echo 127.0.0.1:PORT SECONDS
 *
 * It binds 127.0.0.1:PORT and, for SECONDS at most, answers each GET,
 * PUT or DELETE datagram with the CLIENT_REPLY of the same client request
 * id (status OK for a write, NOT_FOUND for a get: no siblings to carry),
 * so `dynkv bench` drives it exactly as it drives a node: the same
 * generator, the same datagram sizes, the same decode and encode on the
 * client.  What it measures is one loopback round trip plus the wire
 * codec: the floor under a dynkv get. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <glib.h>
#include <gio/gio.h>
#include "net/net_config.h"
#include "wire.h"

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      g_printerr ("usage: %s HOST:PORT SECONDS\n", argv[0]);
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) address = dk_net_resolve (argv[1], FALSE, &error);
  double seconds = g_ascii_strtod (argv[2], NULL);
  if (address == NULL || !(seconds > 0 && seconds <= 3600))
    {
      g_printerr ("udp_echo: %s\n", error != NULL ? error->message : "SECONDS: 0 .. 3600");
      return 2;
    }
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_UDP, &error);
  if (socket == NULL || !g_socket_bind (socket, G_SOCKET_ADDRESS (address), TRUE, &error))
    {
      g_printerr ("udp_echo: %s: %s\n", argv[1], error->message);
      return 1;
    }
  g_socket_set_blocking (socket, FALSE);
  guint8 *buffer = g_malloc (65536);
  guint64 answered = 0;
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  for (gint64 now = g_get_monotonic_time (); now < end; now = g_get_monotonic_time ())
    {
      struct pollfd poll_fd = { g_socket_get_fd (socket), POLLIN, 0 };
      if (poll (&poll_fd, 1, (int) CLAMP ((end - now) / 1000, 1, 1000)) <= 0)
        continue;
      /* Everything waiting, a bounded batch at a time. */
      for (guint k = 0; k < 4096; k++)
        {
          GSocketAddress *from = NULL;
          gssize len = g_socket_receive_from (socket, &from, (gchar *) buffer, 65536, NULL,
                                              NULL);
          if (len < 0)
            break;
          g_autoptr (GSocketAddress) sender = from;
          g_autoptr (DkWireMessage) request = dk_wire_decode (buffer, (gsize) len, NULL);
          if (request == NULL || !dk_wire_type_is_client_request (request->type)
              || request->type == DK_WIRE_PING)
            continue;
          g_autoptr (DkWireMessage) reply = dk_wire_message_new (DK_WIRE_CLIENT_REPLY);
          reply->request_id = request->request_id;
          reply->body.client_reply.client_request_id
            = request->body.client_request.client_request_id;
          reply->body.client_reply.status = request->type == DK_WIRE_GET
                                            ? DK_WIRE_STATUS_NOT_FOUND : DK_WIRE_STATUS_OK;
          g_autoptr (GByteArray) datagram = dk_wire_encode (reply, NULL);
          if (datagram != NULL
              && g_socket_send_to (socket, sender, (const gchar *) datagram->data,
                                   datagram->len, NULL, NULL) >= 0)
            answered++;
        }
    }
  g_free (buffer);
  g_print ("udp_echo: answered %" G_GUINT64_FORMAT " requests\n", answered);
  return 0;
}
