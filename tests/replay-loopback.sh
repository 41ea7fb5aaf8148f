#!/bin/sh
# replay-loopback.sh — requests happen once, on three real dynkvd.
#
# A keyed 3-node cluster on free loopback ports (replay window 3 s).
# dynkv captures the signed datagram of a request with its hidden
# --save-datagram flag and sends it again unchanged with --replay, as an
# attacker on the path would.  Checks: a request repeated with the same
# --client-id and --request-id is answered with the first answer (the same
# clock) and stored once, and a reused id for another request is refused;
# a captured put replayed after the key was overwritten does not roll the
# value back; a captured delete replayed after the key was created again
# does not delete it; a capture replayed to another node is refused there;
# once the window has passed a capture is refused as stale; the daemons
# count each drop.  Bounded by timeout(1) (DK_LOOPBACK_TIMEOUT, default 60 s).
#
# make check sets DYNKVD and DYNKV (AM_TESTS_ENVIRONMENT); by hand:
#   DYNKVD=./dynkvd DYNKV=./dynkv sh tests/replay-loopback.sh
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 60 "$@"
loopback_setup replay
WINDOW_MS=3000

# counter LOG NAME: the value of counter NAME in a daemon's exit report.
counter () {
  awk -v name="$2" '$1 == name { value = $2 } END { print value + 0 }' "$1"
}

# counter_at_least LOG NAME MIN DESCRIPTION
counter_at_least () {
  value=$(counter "$1" "$2")
  if [ "$value" -ge "$3" ]; then
    ok "$4 ($2 = $value)"
  else
    not_ok "$4: $2 = $value, expected at least $3"
  fi
}

# ---- a keyed cluster ------------------------------------------------------------

head -c 32 /dev/urandom | od -An -tx1 >"$work/cluster.key" || exit 99

start_cluster () {
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    node_start "$id" $peers --key-file "$work/cluster.key" --replay-window-ms "$WINDOW_MS" \
      --request-timeout-ms 500 --log-level warning
  done
  for id in 1 2 3; do
    node_wait_ready "$id" --key-file "$work/cluster.key" || return 1
  done
}

loopback_start start_cluster
n1=127.0.0.1:$base
n2=127.0.0.1:$((base + 1))
echo "# keyed cluster on ports $base..$((base + 2)), replay window $WINDOW_MS ms, data in $work"

kv () {
  node=$1
  shift
  "$DYNKV" --node "$node" --key-file "$work/cluster.key" "$@"
}

# ---- a repeated request is answered, not applied again ------------------------

expect 0 "put count=one as request 1 of client 77" -- \
  kv "$n1" --client-id 77 --request-id 1 put count one
first_clock=$(sed -n 's/^clock=//p' "$work/out")
expect 0 "the same request again" -- kv "$n1" --client-id 77 --request-id 1 put count one
again_clock=$(sed -n 's/^clock=//p' "$work/out")
if [ -n "$first_clock" ] && [ "$first_clock" = "$again_clock" ]; then
  ok "the repeat is answered with the first clock ($first_clock)"
else
  not_ok "the repeat names another clock: '$first_clock' then '$again_clock'"
fi
expect 0 "get count" -- kv "$n2" get count
output_has "siblings 1" "the repeated put was stored once"
expect 3 "request 1 of client 77 reused for another put is refused" -- \
  kv "$n1" --client-id 77 --request-id 1 put count two
if grep -F -q "invalid request" "$work/err"; then ok "the refusal says why"; else not_ok "the refusal says why"; sed 's/^/# /' "$work/err"; fi

# ---- a captured put replayed after an overwrite --------------------------------

expect 0 "put balance=100 (captured)" -- kv "$n1" put balance 100 --save-datagram "$work/put.bin"
expect 0 "get balance" -- kv "$n1" get balance
context=$(sed -n 's/^context=//p' "$work/out")
expect 0 "put balance=0 over it" -- kv "$n1" put balance 0 --context "$context"
expect 3 "the captured put replayed to its node is not answered" -- \
  kv "$n1" --timeout-ms 500 --replay "$work/put.bin"
expect 0 "get balance after the replay" -- kv "$n2" get balance
output_has "value=0" "balance is still 0"
output_has "siblings 1" "and has no sibling 100"
expect 3 "the captured put replayed to another node is not answered" -- \
  kv "$n2" --timeout-ms 500 --replay "$work/put.bin"

# ---- a captured delete replayed after the key is created again -----------------

expect 0 "put session=alice" -- kv "$n1" put session alice
expect 0 "get session" -- kv "$n1" get session
context=$(sed -n 's/^context=//p' "$work/out")
expect 0 "delete session (captured)" -- \
  kv "$n1" delete session --context "$context" --save-datagram "$work/delete.bin"
expect 1 "session is deleted" -- kv "$n1" get session
context=$(sed -n 's/^context=//p' "$work/out")
expect 0 "put session=bob again" -- kv "$n1" put session bob --context "$context"
expect 3 "the captured delete replayed is not answered" -- \
  kv "$n1" --timeout-ms 500 --replay "$work/delete.bin"
expect 0 "session survives the replayed delete" -- kv "$n2" get session
output_has "value=bob" "session is bob"

# ---- once the window has passed: stale ------------------------------------------

sleep $(((WINDOW_MS + 999) / 1000 + 1))
expect 3 "the captured put replayed after the window is not answered" -- \
  kv "$n1" --timeout-ms 500 --replay "$work/put.bin"
expect 0 "get balance at the end" -- kv "$n1" get balance
output_has "value=0" "balance is still 0 at the end"

# ---- the daemons counted it all ------------------------------------------------

kill -TERM "$pid1" "$pid2" "$pid3"
for pid in "$pid1" "$pid2" "$pid3"; do
  node_wait_exit "$pid"
done
pids=""
counter_at_least "$work/n1.log" dropped_replayed 2 "node 1 dropped the replayed put and delete"
counter_at_least "$work/n2.log" dropped_misdirected 1 "node 2 dropped the put signed for node 1"
counter_at_least "$work/n1.log" dropped_stale_timestamp 1 "node 1 dropped the stale capture"
counter_at_least "$work/n1.log" requests_deduplicated 1 "node 1 answered the repeated request"
counter_at_least "$work/n1.log" requests_id_reused 1 "node 1 refused the reused id"

loopback_finish
