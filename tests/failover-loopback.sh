#!/bin/sh
# failover-loopback.sh — per-request failover on real dynkvd (issue 9).
#
# Five daemons on loopback with DEFAULT settings (N=3, R=W=2, gossip every
# 1 s, suspect after 3 s, request timeout 1 s).  Keys are written and read
# through every node, so each has seen its peers' round trips.  One daemon
# is killed with SIGKILL; one second later, long before gossip suspects
# it, every key is read through every live node (replicas, and non-
# replicas that forward) with a client that does not retry and gives up
# after 900 ms: each get must succeed and return its value, because a
# coordinator stops waiting for a silent replica after a deadline derived
# from the round trips it observed, and a proxy whose coordinator is
# silent tries the next one.  Writes through every live node succeed too.
# Everything started is stopped on exit; the run is bounded by timeout(1).
# DYNKVD and DYNKV name the programs (make check sets them).
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 90 "$@"
loopback_setup failover

KEYS=24
VICTIM=3

start_cluster () {
  peers=""
  for id in 1 2 3 4 5; do
    peers="$peers --peer $id=127.0.0.1:$((base + id - 1))"
  done
  for id in 1 2 3 4 5; do
    # shellcheck disable=SC2086
    node_start "$id" $peers --log-level warning
  done
  for id in 1 2 3 4 5; do
    node_wait_ready "$id" || return 1
  done
}

loopback_start start_cluster
echo "# five nodes on ports $base..$((base + 4)), data in $work"
node () { echo "127.0.0.1:$((base + $1 - 1))"; }

# ---- a healthy cluster: every node coordinates and forwards -------------------

i=1
while [ $i -le $KEYS ]; do
  writer=$(( (i % 5) + 1 ))
  expect 0 "put key$i through node $writer" -- "$DYNKV" --node "$(node $writer)" put "key$i" "value $i"
  i=$((i + 1))
done
warm_failures=0
for id in 1 2 3 4 5; do
  i=1
  while [ $i -le $KEYS ]; do
    "$DYNKV" --node "$(node $id)" get "key$i" >/dev/null 2>&1 || warm_failures=$((warm_failures + 1))
    i=$((i + 1))
  done
done
if [ $warm_failures -eq 0 ]; then ok "every key read through every node"; else not_ok "$warm_failures warm-up gets failed"; fi

# ---- kill -9 one node; one second later, every get through a live node -----------

eval "victim_pid=\$pid$VICTIM"
kill -9 "$victim_pid"
wait "$victim_pid" 2>/dev/null
echo "# node $VICTIM killed"
sleep 1

# Each key's replicas, as the nodes compute them.
ring_peers=""
for id in 1 2 3 4 5; do
  ring_peers="$ring_peers --peer $id=$(node $id)"
done
victim_keys=0
forwarded=0
failed=0
slowest_ms=0
i=1
while [ $i -le $KEYS ]; do
  # shellcheck disable=SC2086
  list=$("$DYNKV" $ring_peers ring "key$i" | sed -n 's/.*preference list: //p')
  case " $list " in *" $VICTIM "*) victim_keys=$((victim_keys + 1)) ;; esac
  for id in 1 2 3 4 5; do
    [ $id -eq $VICTIM ] && continue
    case " $list " in *" $id "*) ;; *) forwarded=$((forwarded + 1)) ;; esac
    start=$(date +%s%N)
    if "$DYNKV" --node "$(node $id)" --retries 0 --timeout-ms 900 get "key$i" >"$work/out" 2>"$work/err" \
        && grep -q -F "value=value $i" "$work/out"; then
      took=$(( ($(date +%s%N) - start) / 1000000 ))
      [ $took -gt $slowest_ms ] && slowest_ms=$took
    else
      failed=$((failed + 1))
      echo "# get key$i through node $id (replicas $list) failed:"
      sed 's/^/# stderr: /' "$work/err"
    fi
  done
  i=$((i + 1))
done
echo "# $victim_keys of $KEYS keys have node $VICTIM as a replica; $forwarded gets went through non-replicas; slowest ${slowest_ms} ms"
if [ $victim_keys -gt 0 ] && [ $forwarded -gt 0 ]; then
  ok "the gets cover keys of the killed node and gets that forward"
else
  not_ok "the gets cover keys of the killed node ($victim_keys) and gets that forward ($forwarded)"
fi
if [ $failed -eq 0 ]; then
  ok "1 s after kill -9, every get through a live node succeeds without a client retry"
else
  not_ok "1 s after kill -9, $failed gets through live nodes failed"
fi

failed=0
for id in 1 2 3 4 5; do
  [ $id -eq $VICTIM ] && continue
  i=1
  while [ $i -le 6 ]; do
    "$DYNKV" --node "$(node $id)" --retries 0 --timeout-ms 900 put "after$id-$i" "v" >/dev/null 2>&1 \
      || failed=$((failed + 1))
    i=$((i + 1))
  done
done
if [ $failed -eq 0 ]; then ok "puts through every live node succeed"; else not_ok "$failed puts through live nodes failed"; fi

loopback_finish   # the daemons are stopped on exit
