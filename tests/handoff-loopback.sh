#!/bin/sh
# handoff-loopback.sh — failure handling and membership on real dynkvd.
#
# Three daemons on loopback with fast gossip.  One is killed; writes go on
# with a sloppy quorum and the survivors keep hints for it; it restarts and
# the hinted writes reach it (its hints_received counter, and a read of its
# own copy with R=1), within a bounded time.  Then a fourth node joins
# through gossip alone (the others were never told of it) and receives the
# ranges it now owns; on SIGUSR2 it leaves, handing them back, and exits 0.
# Everything started is stopped on exit; the whole run is bounded by
# timeout(1).  DYNKVD and DYNKV name the programs (make check sets them).
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 90 "$@"
loopback_setup handoff

check () { if "$@" >/dev/null 2>&1; then return 0; else return 1; fi; }

# --allow-joins: the cluster has no key, and node 4 joins by gossip from
# an address the others were not given.
FAST="--gossip-ms 100 --suspect-ms 500 --anti-entropy-ms 0 --request-timeout-ms 300 --log-level warning --allow-joins"

# start_node ID PEERS... : start dynkvd ID with fast timers and wait until
# it answers.
start_node () {
  id=$1
  shift
  # shellcheck disable=SC2086
  node_start "$id" $FAST "$@" && node_wait_ready "$id"
}

# counter ID NAME: node ID's counter NAME, from its SIGUSR1 report.
counter () {
  eval "kill -USR1 \$pid$1"
  sleep 0.2
  sed -n "s/^  $2 *\([0-9]*\)\$/\1/p" "$work/n$1.log" | tail -n 1
}

# wait_for SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds.
wait_for () {
  deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

peers3 () { echo "--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"; }

# shellcheck disable=SC2046
start_three () { start_node 1 $(peers3) && start_node 2 $(peers3) && start_node 3 $(peers3); }
loopback_start start_three
n1=127.0.0.1:$base
n3=127.0.0.1:$((base + 2))
echo "# cluster on ports $base..$((base + 3)), data in $work"

# ---- hinted handoff ------------------------------------------------------------

kill -9 "$pid3"
wait "$pid3" 2>/dev/null
sleep 2   # gossip rounds: the others now believe node 3 down
written=0
for i in 1 2 3 4 5 6 7 8 9 10; do
  if check "$DYNKV" --node "$n1" --timeout-ms 1000 put "hinted$i" "value $i"; then
    written=$((written + 1))
  fi
done
if [ $written -eq 10 ]; then ok "10 writes with node 3 down (sloppy quorum)"; else not_ok "only $written of 10 writes with node 3 down"; fi
kept_enough () { [ $(( $(counter 1 hints_kept) + $(counter 2 hints_kept) )) -ge 10 ]; }
if wait_for 5 kept_enough; then
  ok "the survivors kept hints for node 3"
else
  not_ok "hints kept: $(( $(counter 1 hints_kept) + $(counter 2 hints_kept) ))"
fi

# shellcheck disable=SC2046
start_node 3 $(peers3) || { echo "Bail out! node 3 does not restart"; exit 99; }
received_all () { [ "$(counter 3 hints_received)" -ge 10 ]; }
if wait_for 15 received_all; then
  ok "node 3 received the hinted writes ($(counter 3 hints_received)) after restarting"
else
  not_ok "node 3 received $(counter 3 hints_received) hinted writes"
fi
if "$DYNKV" --node "$n3" --r 1 get hinted7 >"$work/out" 2>&1 && grep -q "value=value 7" "$work/out"; then
  ok "node 3's own copy (R=1) holds a write made while it was down"
else
  not_ok "node 3's own copy lacks hinted7"
  sed 's/^/# /' "$work/out"
fi
held_nowhere () { [ "$(counter 1 hints_held)" -eq 0 ] && [ "$(counter 2 hints_held)" -eq 0 ]; }
if wait_for 10 held_nowhere; then ok "the stand-ins dropped the delivered hints"; else not_ok "hints still held"; fi

# ---- a node joins through gossip, then leaves ----------------------------------------

for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  check "$DYNKV" --node "$n1" put "moving$i" "value $i"
done
# Node 4 knows the others; they learn of it only from its gossip.
# shellcheck disable=SC2046
start_node 4 $(peers3) --peer "4=127.0.0.1:$((base + 3))" --joining \
  || { echo "Bail out! node 4 does not start"; exit 99; }
n4=127.0.0.1:$((base + 3))
streamed () { [ $(( $(counter 1 keys_streamed) + $(counter 2 keys_streamed) + $(counter 3 keys_streamed) )) -gt 0 ]; }
if wait_for 15 streamed; then ok "the others streamed ranges to the joining node"; else not_ok "nothing streamed to node 4"; fi
holds=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  if "$DYNKV" --node "$n4" --r 1 get "moving$i" 2>/dev/null | grep -q "value=value $i"; then
    holds=$((holds + 1))
  fi
done
if [ $holds -gt 0 ]; then ok "node 4 holds $holds of 20 keys written before it joined"; else not_ok "node 4 holds none"; fi

kill -USR2 "$pid4"
node_wait_exit "$pid4" 200
status=$?
if alive "$pid4"; then
  not_ok "node 4 leaves on SIGUSR2 within 20 s"
elif [ $status -eq 0 ]; then
  ok "node 4 handed its ranges off and exited 0"
else
  not_ok "node 4 exited non-zero"
fi
# The others learn of the leave by gossip; give their views a moment.
count_readable () {
  all_read=0
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    "$DYNKV" --node "$n1" get "moving$i" 2>/dev/null | grep -q "value=value $i" && all_read=$((all_read + 1))
  done
  [ $all_read -eq 20 ]
}
if wait_for 15 count_readable; then ok "every key still reads after the join and the leave"; else not_ok "$all_read of 20 keys read"; fi

loopback_finish
