#!/bin/sh
# status-loopback.sh — `dynkv status`, `dynkv stats --json` and the
# client's failover across --node, against three real dynkvd on
# 127.0.0.1.
#
# Starts a 3-node cluster (N=3) with fast gossip and a 1 s anti-entropy
# pass, writes ten keys, then checks that status shows three members up,
# ownership summing to ~100% and every member holding the ten keys (N=3
# of 3 nodes: each holds every key); that stats --json parses and a
# counter moves after a put; that after kill -9 of node 3 the survivors'
# status shows it down or suspect within a bounded wait, and that a client
# given a dead node first fails over to a live one.  With node 2 killed
# too, status must take under 1.8 times --timeout-ms: the members are
# asked at once, so two silent ones cost one timeout, not two.  Bounded by `timeout`
# (DK_LOOPBACK_TIMEOUT seconds, default 60); everything started is
# stopped on exit.
#
# make check sets DYNKVD and DYNKV; by hand:
#   DYNKVD=./dynkvd DYNKV=./dynkv sh tests/status-loopback.sh
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 60 "$@"
loopback_setup status

FAST="--gossip-ms 100 --suspect-ms 500 --anti-entropy-ms 1000 --request-timeout-ms 300 --log-level warning"

start_cluster () {
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    node_start "$id" $peers $FAST
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

# wait_for SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds
# or SECONDS pass.
wait_for () {
  wf_deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$wf_deadline" ] || return 1
    sleep 0.2
  done
}

# member_field ID COLUMN: column COLUMN (1-based) of member ID's line in
# the last status output.
member_field () {
  awk -v id="$1" -v col="$2" '$1 == id && $2 ~ /:|^[?]$/ { print $col }' "$work/out"
}

# status_shows_all_up: every member's address gossiped and every member up.
status_shows_all_up () {
  "$DYNKV" --node "$n1" --timeout-ms 500 status >"$work/out" 2>"$work/err" \
    && grep -q "^3 of 3 members up" "$work/out" && ! grep -q "address not known" "$work/out"
}

for i in 1 2 3 4 5 6 7 8 9 10; do
  expect 0 "put key$i" -- "$DYNKV" --node "$n1" put "key$i" "value $i"
done

# ---- status of a healthy cluster ------------------------------------------------

if wait_for 10 status_shows_all_up; then
  ok "status shows 3 of 3 members up"
else
  not_ok "status shows 3 of 3 members up"
  sed 's/^/# stdout: /' "$work/out"
fi
for id in 1 2 3; do
  state=$(member_field "$id" 3)
  keys=$(member_field "$id" 5)
  if [ "$state" = up ] && [ "$keys" = 10 ]; then
    ok "member $id is up and holds the 10 keys written"
  else
    not_ok "member $id is up and holds the 10 keys written: state '$state', keys '$keys'"
    sed 's/^/# stdout: /' "$work/out"
  fi
done
owned=$(awk '$1 ~ /^[0-9]+$/ && $2 ~ /:/ { sub("%", "", $4); sum += $4 } END { printf "%.1f", sum }' "$work/out")
if awk -v s="$owned" 'BEGIN { exit !(s >= 99.5 && s <= 100.5) }'; then
  ok "ownership sums to ~100% ($owned%)"
else
  not_ok "ownership sums to ~100%: $owned%"
fi
# A 1 s anti-entropy pass: within a few seconds some member reports one.
status_shows_an_ae_pass () {
  "$DYNKV" --node "$n2" --timeout-ms 500 status >"$work/out" 2>&1 && grep -q "s ago$" "$work/out"
}
if wait_for 10 status_shows_an_ae_pass; then
  ok "status reports the age of an anti-entropy pass"
else
  not_ok "status reports the age of an anti-entropy pass"
  sed 's/^/# stdout: /' "$work/out"
fi

# ---- stats --json ---------------------------------------------------------------

counter_of () {
  sed -n "s/^ *\"$1\": \([0-9]*\),*\$/\1/p" "$work/out" | head -n 1
}
expect 0 "stats --json of node 2" -- "$DYNKV" --node "$n2" stats --json
if command -v python3 >/dev/null 2>&1; then
  if python3 -m json.tool "$work/out" >/dev/null 2>&1; then
    ok "stats --json is JSON"
  else
    not_ok "stats --json is JSON"
    sed 's/^/# stdout: /' "$work/out"
  fi
else
  echo "ok # SKIP python3 not found: JSON not parsed"
fi
before=$(counter_of messages_sent)
output_has '"udp_datagrams_received":' "the environment's counters are listed too"
expect 0 "put through node 2" -- "$DYNKV" --node "$n2" put moved yes
expect 0 "stats --json of node 2 again" -- "$DYNKV" --node "$n2" stats --json
after=$(counter_of messages_sent)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
  ok "messages_sent moved after a put ($before, then $after)"
else
  not_ok "messages_sent moved after a put: '$before', then '$after'"
fi
expect 0 "stats without --json" -- "$DYNKV" --node "$n2" stats
output_has "requests_coordinated" "stats prints the counters by name"

# ---- a node killed -----------------------------------------------------------------

kill -9 "$pid3"
wait "$pid3" 2>/dev/null
echo "# node 3 killed"
status_shows_3_gone () {
  "$DYNKV" --node "$n1" --timeout-ms 300 status >"$work/out" 2>"$work/err" \
    && { [ "$(member_field 3 3)" = down ] || [ "$(member_field 3 3)" = suspect ]; }
}
if wait_for 10 status_shows_3_gone; then
  ok "the survivors' status shows node 3 $(member_field 3 3)"
else
  not_ok "the survivors' status shows node 3 down or suspect"
  sed 's/^/# stdout: /' "$work/out"
fi
output_has "(no answer)" "node 3 is shown as not answering"
expect 0 "status through a dead node fails over" -- \
  "$DYNKV" --node "$n3" --node "$n2" --timeout-ms 300 status
output_has "node 2 at $n2 answered" "the live node answered the status"

# ---- failover of get and put ------------------------------------------------------

expect 0 "get fails over from a dead --node to a live one" -- \
  "$DYNKV" --node "$n3" --node "$n1" --timeout-ms 300 get key4
output_has "value=value 4" "the value is read through the live node"
if grep -q "trying $n1" "$work/err"; then ok "the client says it tries the next node"; else not_ok "the client says it tries the next node"; sed 's/^/# stderr: /' "$work/err"; fi
expect 0 "put fails over, nodes comma-separated" -- \
  "$DYNKV" --node "$n3,$n2" --timeout-ms 300 put after-kill yes
expect 3 "only dead nodes: failure (exit 3)" -- \
  "$DYNKV" --node "$n3" --timeout-ms 200 get key4
expect 2 "a --node that is no address is a usage error" -- \
  "$DYNKV" --node "$n1,nonsense" get key4

# ---- two members silent: asked at once --------------------------------------------

# status asks every member at once, each with its own deadline, so two
# silent members cost one --timeout-ms, not two: asked one after another
# they would take at least 2*T.  T is generous, so that the live node's
# answer is never late on a loaded machine; the check is < 1.8*T.
kill -9 "$pid2"
wait "$pid2" 2>/dev/null
echo "# node 2 killed too"
T=1500
started=$(date +%s%N)
expect 0 "status with two members silent" -- "$DYNKV" --node "$n1" --timeout-ms $T status
took=$(( ($(date +%s%N) - started) / 1000000 ))
silent=$(grep -c "(no answer)" "$work/out")
if [ "$silent" -eq 2 ]; then
  ok "both killed members are shown as not answering"
else
  not_ok "both killed members are shown as not answering: $silent such lines"
  sed 's/^/# stdout: /' "$work/out"
fi
if [ "$took" -lt $((T * 18 / 10)) ]; then
  ok "two silent members took $took ms, under 1.8 * $T ms: asked at once"
else
  not_ok "two silent members took $took ms, not under 1.8 * $T ms: asked one after another?"
fi

kill -TERM "$pid1"
node_wait_exit "$pid1"
pids=""

loopback_finish
