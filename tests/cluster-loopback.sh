#!/bin/sh
# cluster-loopback.sh — three real dynkvd on 127.0.0.1 driven through dynkv.
#
# Starts a 3-node cluster (N=3, R=2, W=2) on free loopback ports with
# temporary data directories, then: puts and gets across nodes, checks the
# client's exit codes (0 ok, 1 not found, 2 usage, 3 failure), kills one
# daemon with SIGKILL and still reads and writes with the other two,
# deletes with a context, reads a key of eight 9 KiB siblings (in parts)
# and resolves it after a ninth blind put is refused with its context,
# brings the killed node back on an empty data
# directory (it must write as a new actor, its old value kept beside the
# new one), and stops them all with SIGTERM.  Everything it
# started is stopped on exit (trap), and the whole run is bounded by
# `timeout` (DK_LOOPBACK_TIMEOUT seconds, default 60).
#
# make check sets DYNKVD and DYNKV (AM_TESTS_ENVIRONMENT); by hand:
#   DYNKVD=./dynkvd DYNKV=./dynkv sh tests/cluster-loopback.sh
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 60 "$@"
loopback_setup loopback

# ---- start three daemons on free ports ------------------------------------

start_cluster () {
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    node_start "$id" $peers --request-timeout-ms 500 --log-level warning
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

# ---- a healthy cluster -----------------------------------------------------

for node in "$n1" "$n2" "$n3"; do
  expect 0 "status of $node" -- "$DYNKV" --node "$node" status
done
expect 0 "put colour=blue through node 1" -- "$DYNKV" --node "$n1" put colour blue
expect 0 "get colour through node 2" -- "$DYNKV" --node "$n2" get colour
output_has "value=blue" "node 2 reads what node 1 wrote"
output_has "context=" "get prints a context"
expect 1 "get of a missing key is 'not found'" -- "$DYNKV" --node "$n3" get no-such-key
for i in 1 2 3 4 5; do
  expect 0 "put key$i" -- "$DYNKV" --node "$n2" put "key$i" "value $i"
done

# ---- usage errors -----------------------------------------------------------

expect 2 "no command is a usage error" -- "$DYNKV" --node "$n1"
expect 2 "unknown command is a usage error" -- "$DYNKV" --node "$n1" frobnicate
expect 2 "put without a value is a usage error" -- "$DYNKV" --node "$n1" put lonely
big_key=$(printf '%0600d' 0)
expect 2 "a 600-byte key is refused locally" -- "$DYNKV" --node "$n1" get "$big_key"
expect 2 "a malformed context is refused" -- "$DYNKV" --node "$n1" put colour red --context zz
expect 0 "ring prints the preference list" -- \
  "$DYNKV" --peer "1=$n1" --peer "2=$n2" --peer "3=$n3" ring colour
output_has "preference list:" "ring names the replicas of a key"

# A value written through node 3, whose disk is lost further down.
expect 0 "put acct=one through node 3" -- "$DYNKV" --node "$n3" put acct one
expect 0 "get acct through node 3" -- "$DYNKV" --node "$n3" get acct
old_dot=$(sed -n 's/.* dot=\([^ ]*\) .*value=one$/\1/p' "$work/out")

# ---- a key of eight 9 KiB siblings (more than one datagram) -------------------
# The get comes in parts and the client prints them all; a ninth blind
# write is refused with the key's context, which then resolves the eight.

filler=$(printf '%09200d' 0)
for i in 1 2 3 4 5 6 7 8; do
  expect 0 "blind put of 9 KiB sibling $i" -- "$DYNKV" --node "$n1" put crowded "sibling-$i-$filler"
done
expect 0 "get of eight 9 KiB siblings through node 2" -- "$DYNKV" --node "$n2" get crowded
output_has "siblings 8" "the get prints all eight siblings"
all_eight=yes
for i in 1 2 3 4 5 6 7 8; do
  grep -q "value=sibling-$i-" "$work/out" || all_eight=no
done
if [ "$all_eight" = yes ]; then ok "every sibling's value is printed"; else not_ok "every sibling's value is printed"; fi
expect 3 "a ninth blind put is refused" -- "$DYNKV" --node "$n1" put crowded "sibling-9-$filler"
output_has "context=" "the refusal prints the key's context"
if grep -q "too large.*9 siblings" "$work/err"; then ok "the refusal names the sibling count"; else not_ok "the refusal names the sibling count"; sed 's/^/# stderr: /' "$work/err"; fi
context=$(sed -n 's/^context=//p' "$work/out")
expect 0 "a put with that context resolves them" -- "$DYNKV" --node "$n3" put crowded resolved --context "$context"
expect 0 "get crowded after resolving" -- "$DYNKV" --node "$n1" get crowded
output_has "siblings 1" "one version is left"
output_has "value=resolved" "the resolving value is read"

# ---- one node killed: R=2 and W=2 still met ---------------------------------

kill -9 "$pid3"
wait "$pid3" 2>/dev/null
echo "# node 3 killed"
for i in 1 2 3 4 5; do
  expect 0 "get key$i with node 3 down" -- "$DYNKV" --node "$n1" get "key$i"
  output_has "value=value $i" "key$i read back with node 3 down"
done
expect 0 "put with node 3 down" -- "$DYNKV" --node "$n2" put colour green
expect 3 "a dead node times out (exit 3)" -- \
  "$DYNKV" --node "$n3" --timeout-ms 300 get colour

# ---- delete with the context of a read ---------------------------------------

expect 0 "get colour before deleting" -- "$DYNKV" --node "$n1" get colour
output_has "value=green" "the latest put is read"
context=$(sed -n 's/^context=//p' "$work/out")
expect 0 "delete colour with its context" -- "$DYNKV" --node "$n1" delete colour --context "$context"
expect 1 "a deleted key is not found" -- "$DYNKV" --node "$n2" get colour
output_has "tombstone=yes" "the tombstone is shown"

# ---- node 3 comes back on an empty data directory -----------------------------
# Its store is new, so it is a new actor (another incarnation): a blind
# write through it gets a dot nobody has seen, and is a sibling of the
# value it wrote before the wipe instead of being mistaken for it.

rm -rf "$work/n3"
# shellcheck disable=SC2086
node_start 3 $peers --request-timeout-ms 500 --log-level warning
node_wait_ready 3 || :
expect 0 "blind put acct=two through the wiped node 3" -- "$DYNKV" --node "$n3" put acct two
expect 0 "get acct through node 1" -- "$DYNKV" --node "$n1" get acct
output_has "value=one" "the value written before the wipe survives"
output_has "value=two" "the value written after the wipe is kept beside it"
new_dot=$(sed -n 's/.* dot=\([^ ]*\) .*value=two$/\1/p' "$work/out")
if [ -n "$old_dot" ] && [ -n "$new_dot" ] && [ "${old_dot%%:*}" != "${new_dot%%:*}" ]; then
  ok "the wiped node writes as a new actor ($old_dot, then $new_dot)"
else
  not_ok "the wiped node writes as a new actor: dots '$old_dot' and '$new_dot'"
fi

# ---- clean stop ----------------------------------------------------------------

kill -TERM "$pid1" "$pid2" "$pid3"
for pid in "$pid1" "$pid2" "$pid3"; do
  node_wait_exit "$pid"
  status=$?
  if alive "$pid"; then
    not_ok "dynkvd $pid stops on SIGTERM"
  elif [ $status -eq 0 ]; then
    ok "dynkvd $pid stops on SIGTERM"
  else
    not_ok "dynkvd $pid exit $status"
  fi
done
if grep -q "requests_coordinated" "$work/n1.log"; then
  ok "counters printed on exit"
else
  not_ok "counters printed on exit"
  sed 's/^/# n1: /' "$work/n1.log"
fi
pids=""

loopback_finish
