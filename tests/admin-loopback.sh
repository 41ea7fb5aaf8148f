#!/bin/sh
# admin-loopback.sh — admission of members and `dynkv admin`, against
# real dynkvd on 127.0.0.1.
#
# A keyed 3-node cluster (a cluster key and a client key from `dynkv
# keygen`).  A 4th node started with --joining is held as pending, not
# put in the ring, until `dynkv admin join 4=HOST:PORT` and `dynkv admin
# commit` (signed with the cluster key) admit it; then every member's
# status shows 4 members up.  An admin command signed with the client key
# gets no answer.  `dynkv admin leave 4`, sent to node 1, is carried to
# node 4, which hands its ranges off and exits.  Removing a member that
# is up is refused; node 3, killed, is removed once down, disappears from
# the status, and the keys written stay readable.  Bounded by `timeout`
# (DK_LOOPBACK_TIMEOUT seconds, default 90); everything started is
# stopped on exit.
#
# make check sets DYNKVD and DYNKV; by hand:
#   DYNKVD=./dynkvd DYNKV=./dynkv sh tests/admin-loopback.sh
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 90 "$@"
loopback_setup admin

FAST="--gossip-ms 100 --suspect-ms 500 --anti-entropy-ms 1000 --request-timeout-ms 300 --log-level info"

expect 0 "dynkv keygen writes a cluster key" -- "$DYNKV" keygen "$work/cluster.key"
expect 0 "dynkv keygen writes a client key" -- "$DYNKV" keygen "$work/client.key"
KEYS="--key-file $work/cluster.key --client-key-file $work/client.key"
CLIENT="--key-file $work/client.key"
ADMIN="--key-file $work/cluster.key"

peers3 () {
  echo "--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
}

start_three () {
  for id in 1 2 3; do
    # shellcheck disable=SC2046,SC2086
    node_start "$id" $(peers3) $FAST $KEYS
  done
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    node_wait_ready "$id" $CLIENT || return 1
  done
}
loopback_start start_three
n1=127.0.0.1:$base
n2=127.0.0.1:$((base + 1))
n4=127.0.0.1:$((base + 3))
echo "# cluster on ports $base..$((base + 3)), data in $work"

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

# status_at NODE: `dynkv status` of NODE into $work/out.
status_at () {
  # shellcheck disable=SC2086
  "$DYNKV" --node "$1" --timeout-ms 500 $CLIENT status >"$work/out" 2>"$work/err"
}
# member_line ID: member ID's line in the last status output.
member_line () {
  awk -v id="$1" '$1 == id && $2 ~ /:|^[?]$/' "$work/out"
}
status_says () {
  status_at "$1" && grep -q "^$2" "$work/out"
}
show_out () {
  sed 's/^/# stdout: /' "$work/out"
  sed 's/^/# stderr: /' "$work/err"
}

for i in 1 2 3 4 5 6 7 8 9 10; do
  # shellcheck disable=SC2086
  expect 0 "put key$i" -- "$DYNKV" --node "$n1" $CLIENT put "key$i" "value $i"
done

# ---- a join waits for admission -------------------------------------------------

# shellcheck disable=SC2046,SC2086
node_start 4 $(peers3) --peer "4=$n4" --joining $FAST $KEYS
# shellcheck disable=SC2086
node_wait_ready 4 $CLIENT || { echo "Bail out! node 4 does not start"; exit 99; }
sleep 1.5   # fifteen gossip rounds of node 4 asking to join
if status_says "$n1" "3 of 3 members up" && [ -z "$(member_line 4)" ]; then
  ok "node 4, not admitted, is no member of node 1"
else
  not_ok "node 4, not admitted, is no member of node 1"
  show_out
fi
# shellcheck disable=SC2086
expect 0 "admin plan at node 1" -- "$DYNKV" --node "$n1" $ADMIN admin plan
output_has "node 4 name" "the plan lists node 4's join as pending"
# shellcheck disable=SC2086
expect 3 "an admin command signed with the client key gets no answer" -- \
  "$DYNKV" --node "$n1" --timeout-ms 500 $CLIENT admin plan
# shellcheck disable=SC2086
expect 2 "admin without a key is a usage error" -- "$DYNKV" --node "$n1" admin plan
# shellcheck disable=SC2086
expect 3 "commit with nothing planned is refused" -- "$DYNKV" --node "$n1" $ADMIN admin commit
# shellcheck disable=SC2086
expect 3 "a join of a member is refused" -- "$DYNKV" --node "$n1" $ADMIN admin join "2=$n2"
# shellcheck disable=SC2086
expect 0 "admin join 4=$n4" -- "$DYNKV" --node "$n1" $ADMIN admin join "4=$n4"
output_has "it is pending here" "the join matches the pending one"
# shellcheck disable=SC2086
expect 0 "admin plan shows the planned join" -- "$DYNKV" --node "$n1" $ADMIN admin plan
output_has "join 4 at $n4" "the plan lists join 4"
if status_at "$n2" && [ -z "$(member_line 4)" ]; then
  ok "a planned join is not applied before the commit"
else
  not_ok "a planned join is not applied before the commit"
  show_out
fi
# shellcheck disable=SC2086
expect 0 "admin commit" -- "$DYNKV" --node "$n1" $ADMIN admin commit
output_has "node 4 at $n4 admitted" "the commit admits node 4"
for node in "$n1" "$n2" "$n4"; do
  if wait_for 10 status_says "$node" "4 of 4 members up"; then
    ok "status at $node shows 4 of 4 members up"
  else
    not_ok "status at $node shows 4 of 4 members up"
    show_out
  fi
done
# shellcheck disable=SC2086
expect 0 "get through the admitted node" -- "$DYNKV" --node "$n4" $CLIENT get key3
output_has "value=value 3" "node 4 serves the cluster's data"

# ---- leave, carried to the member ----------------------------------------------------

# shellcheck disable=SC2086
expect 3 "admin leave of no member is refused" -- "$DYNKV" --node "$n1" $ADMIN admin leave 9
# shellcheck disable=SC2086
expect 0 "admin leave 4, asked at node 1" -- "$DYNKV" --node "$n1" $ADMIN admin leave 4
output_has "node 4 leaves" "node 4 itself answers that it leaves"
if node_wait_exit "$pid4" 200; then
  ok "node 4 handed its ranges off and exited 0"
else
  not_ok "node 4 handed its ranges off and exited 0"
  tail -n 20 "$work/n4.log" | sed 's/^/# n4.log: /'
fi
if status_at "$n1" && member_line 4 | grep -q leaving; then
  ok "node 1 shows node 4 leaving"
else
  not_ok "node 1 shows node 4 leaving"
  show_out
fi

# ---- remove a dead member ------------------------------------------------------------

# shellcheck disable=SC2086
expect 3 "removing a member that is up is refused" -- "$DYNKV" --node "$n1" $ADMIN admin remove 2
if grep -q "only a down member is removed" "$work/err"; then ok "the refusal says why"; else not_ok "the refusal says why"; show_out; fi
kill -9 "$pid3"
wait "$pid3" 2>/dev/null
echo "# node 3 killed"
status_shows_3_down () { status_at "$n1" && member_line 3 | grep -q " down "; }
if wait_for 10 status_shows_3_down; then ok "node 1 sees node 3 down"; else not_ok "node 1 sees node 3 down"; show_out; fi
# shellcheck disable=SC2086
expect 0 "admin remove 3" -- "$DYNKV" --node "$n1" $ADMIN admin remove 3
output_has "node 3 removed" "node 3 is removed"
for node in "$n1" "$n2"; do
  status_lacks_3 () { status_at "$1" && [ -z "$(member_line 3)" ] && grep -q "^2 of 3 members up" "$work/out"; }
  if wait_for 10 status_lacks_3 "$node"; then
    ok "node 3 is gone from the status at $node"
  else
    not_ok "node 3 is gone from the status at $node"
    show_out
  fi
done
for i in 1 5 10; do
  # shellcheck disable=SC2086
  expect 0 "get key$i after the removal" -- "$DYNKV" --node "$n2" $CLIENT get "key$i"
  output_has "value=value $i" "key$i keeps its value"
done

kill -TERM "$pid1" "$pid2"
for pid in "$pid1" "$pid2"; do
  node_wait_exit "$pid"
done
pids=""

loopback_finish
