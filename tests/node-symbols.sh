#!/bin/sh
# node-symbols.sh — DESIGN.md's one rule, checked on the built objects:
# the node and the core modules reach the world only through their
# environment, so none of their objects may reference a socket, a clock,
# a random source, a thread, a sleep or a main loop.  The UDP transport
# (src/net/) and the simulator are where those belong.
set -eu
lib="${DK_CORE_LIBRARY:-./libdynkv.a}"
NM="${NM:-nm}"
if [ ! -f "$lib" ]; then
  echo "node-symbols: $lib not found (set DK_CORE_LIBRARY)" >&2
  exit 99
fi

forbidden='^(socket|bind|connect|listen|accept|send|sendto|sendmsg|recv|recvfrom|recvmsg|select|poll|epoll_.*|time|gettimeofday|clock_gettime|clock|times|rand|srand|random|srandom|rand_r|drand48|lrand48|arc4random.*|getrandom|getentropy|sleep|usleep|nanosleep|pthread_.*|fork|getpid|g_get_monotonic_time|g_get_real_time|g_date_time_new_now.*|g_random_.*|g_rand_.*|g_socket_.*|g_main_.*|g_timeout_.*|g_idle_.*|g_usleep|g_thread_.*|g_source_.*)$'

# nm -u on an archive prints "member.o:" then one "U symbol" line per
# undefined symbol of that member.
violations=$("$NM" -u "$lib" | awk -v pattern="$forbidden" '
  /:$/ { member = substr($0, 1, length($0) - 1); next }
  NF >= 2 && $(NF) ~ pattern { print member ": " $(NF) }
  NF == 1 && $1 ~ pattern { print member ": " $1 }')

members=$("$NM" -u "$lib" | grep -c ':$' || true)
if [ -n "$violations" ]; then
  echo "node-symbols: objects of $lib reach past their environment:" >&2
  echo "$violations" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if ! "$NM" -u "$lib" | grep -q '^node\.o:$'; then
  echo "node-symbols: node.o is not in $lib" >&2
  exit 1
fi
echo "node-symbols: $members objects of $lib reference no socket, clock, random or thread symbol"
