#!/bin/sh
# bench-loopback.sh — `dynkv bench` against three real dynkvd on 127.0.0.1.
#
# Starts a 3-node cluster (N=3, R=2, W=2) on free loopback ports, runs a
# bounded `dynkv bench` (a few hundred requests, half gets, over all
# three nodes) and checks that it answered every one (exit 0, ops > 0,
# zero errors and timeouts), that --json prints one valid JSON object
# with the same figures, that a put-only run leaves no key with siblings
# (puts carry the key's last context), that a get asks R replicas (not
# all N), and that bad options are usage errors.  Everything it started is stopped on exit (trap); the whole run
# is bounded by `timeout` (DK_LOOPBACK_TIMEOUT seconds, default 60).
#
# make check sets DYNKVD and DYNKV (AM_TESTS_ENVIRONMENT); by hand:
#   DYNKVD=./dynkvd DYNKV=./dynkv sh tests/bench-loopback.sh
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 60 "$@"
loopback_setup bench

start_cluster () {
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    node_start "$id" $peers --request-timeout-ms 1000 --log-level warning
  done
  for id in 1 2 3; do
    node_wait_ready "$id" || return 1
  done
}

loopback_start start_cluster
n1=127.0.0.1:$base
n2=127.0.0.1:$((base + 1))
n3=127.0.0.1:$((base + 2))
echo "# cluster on ports $base..$((base + 2)), data in $work"
nodes="--node $n1 --node $n2 --node $n3"

# ---- a bounded mixed run ---------------------------------------------------

# shellcheck disable=SC2086
expect 0 "bench: 400 requests, concurrency 8, half gets" -- \
  "$DYNKV" bench $nodes --concurrency 8 --keys 64 --reads 0.5 --value-size 100 \
  --requests 400 --duration 20 --timeout-ms 3000 --seed 7
sed 's/^/# /' "$work/out"
output_has "errors 0  timeouts 0" "the text report counts no error and no timeout"
put_ops=$(sed -n 's/^put *\([0-9][0-9]*\) ops\/s.*(\([0-9]*\) ok.*/\2/p' "$work/out")
get_ops=$(sed -n 's/^get *[0-9][0-9]* ops\/s.*(\([0-9]*\) ok, \([0-9]*\) not found.*/\1 \2/p' "$work/out")
if [ "${put_ops:-0}" -gt 0 ] && [ -n "$get_ops" ]; then
  ok "puts and gets were answered (put ok $put_ops, get ok/not found $get_ops)"
else
  not_ok "puts and gets were answered: put '$put_ops' get '$get_ops'"
fi

# ---- --json ------------------------------------------------------------------

# shellcheck disable=SC2086
expect 0 "bench --json: 300 requests" -- \
  "$DYNKV" bench $nodes --concurrency 10 --keys 100 --reads 0.3 --requests 300 \
  --duration 20 --timeout-ms 3000 --json
if python3 - "$work/out" <<'PY' >"$work/json-check" 2>&1
import json, sys
doc = json.load(open(sys.argv[1]))
ops = doc["put"]["ops"] + doc["get"]["ops"]
assert ops == 300, ops
assert doc["put"]["ops"] > 0 and doc["put"]["ops_per_s"] > 0, doc["put"]
assert doc["errors"] == 0 and doc["timeouts"] == 0, doc
assert doc["put"]["p99_ms"] >= doc["put"]["p50_ms"] > 0, doc["put"]
assert doc["nodes"] == 3 and doc["concurrency"] == 10, doc
print("ops", ops, "put p50", doc["put"]["p50_ms"], "ms")
PY
then
  ok "--json is one valid JSON object with ops > 0 and no error ($(cat "$work/json-check"))"
elif ! command -v python3 >/dev/null 2>&1; then
  ok "# SKIP python3 is not installed: --json not parsed"
else
  not_ok "--json is one valid JSON object with ops > 0 and no error"
  sed 's/^/# /' "$work/json-check" "$work/out"
fi

# ---- puts carry the key's context: no siblings -------------------------------

# shellcheck disable=SC2086
expect 0 "bench: 200 puts only on 20 keys" -- \
  "$DYNKV" bench $nodes --concurrency 4 --keys 20 --reads 0 --requests 200 --duration 20 \
  --timeout-ms 3000
expect 0 "get bench-3 after ten puts to it" -- "$DYNKV" --node "$n2" get bench-3
output_has "siblings 1" "a key put ten times by bench has one version, not ten siblings"

# ---- a get asks R replicas, not all N ------------------------------------------

# 300 gets (R=2) one at a time through node 1, which replicates every key:
# it asks one of nodes 2 and 3 per get (its own copy is the other read),
# so the two receive about 300 datagrams between them (and a few gossip
# rounds), where asking both would be 600.
received_23 () {
  total=0
  for node in "$n2" "$n3"; do
    count=$("$DYNKV" --node "$node" stats 2>/dev/null | awk '$1 == "datagrams_received" { print $2 }')
    total=$((total + ${count:-0}))
  done
  echo "$total"
}

# gets_through_n1 LABEL LOW HIGH WHAT: 300 gets one at a time through node 1
# must send nodes 2 and 3 at least LOW and fewer than HIGH datagrams.
gets_through_n1 () {
  before=$(received_23)
  expect 0 "bench: 300 gets one at a time through node 1$1" -- \
    "$DYNKV" bench --node "$n1" --concurrency 1 --keys 20 --reads 1 --requests 300 \
    --duration 20 --timeout-ms 3000
  reads=$(($(received_23) - before))
  if [ "$reads" -ge "$2" ] && [ "$reads" -lt "$3" ]; then
    ok "${1# }${1:+: }300 gets sent nodes 2 and 3 $reads datagrams: $4"
  else
    not_ok "${1# }${1:+: }300 gets sent nodes 2 and 3 $reads datagrams ($4: $2 to $3)"
  fi
}
gets_through_n1 "" 300 450 "one replica asked per get"

# Node 1 again with --read-all (as the simulator reads): both asked per get.
kill "$pid1" 2>/dev/null
node_wait_exit "$pid1" || kill -9 "$pid1" 2>/dev/null
# shellcheck disable=SC2086
node_start 1 --peer 1=$n1 --peer 2=$n2 --peer 3=$n3 --request-timeout-ms 1000 \
  --log-level warning --read-all
if node_wait_ready 1; then
  gets_through_n1 " --read-all" 600 750 "both asked per get"
else
  not_ok "node 1 restarted with --read-all answers"
fi

# ---- usage errors -------------------------------------------------------------

expect 2 "bench without --node is a usage error" -- "$DYNKV" bench --requests 1
expect 2 "bench with fewer keys than concurrency is a usage error" -- \
  "$DYNKV" bench --node "$n1" --concurrency 10 --keys 5
expect 2 "bench --reads 1.5 is a usage error" -- "$DYNKV" bench --node "$n1" --reads 1.5
expect 2 "bench after the global options is a usage error" -- "$DYNKV" --node "$n1" bench

loopback_finish
