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

DYNKVD=${DYNKVD:-./dynkvd}
DYNKV=${DYNKV:-./dynkv}

# Bound the whole run: re-run this script under timeout(1) once.
if [ -z "${DK_LOOPBACK_INNER:-}" ] && command -v timeout >/dev/null 2>&1; then
  DK_LOOPBACK_INNER=1 exec timeout -k 5 "${DK_LOOPBACK_TIMEOUT:-60}" sh "$0" "$@"
fi

for program in "$DYNKVD" "$DYNKV"; do
  if [ ! -x "$program" ]; then
    echo "Bail out! $program is not an executable (set DYNKVD and DYNKV)"
    exit 99
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dk-loopback-XXXXXX") || exit 99
pids=""
cleanup () {
  for pid in $pids; do
    kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "Bail out! interrupted or timed out"; exit 99' INT TERM

tests=0
failures=0
ok () {
  tests=$((tests + 1))
  echo "ok $tests - $1"
}
not_ok () {
  tests=$((tests + 1))
  failures=$((failures + 1))
  echo "not ok $tests - $1"
}

# expect STATUS DESCRIPTION -- COMMAND...: COMMAND must exit with STATUS;
# its stdout is kept in $work/out.
expect () {
  want=$1
  what=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  got=$?
  if [ "$got" -eq "$want" ]; then
    ok "$what (exit $got)"
  else
    not_ok "$what: exit $got, expected $want"
    sed 's/^/# stdout: /' "$work/out"
    sed 's/^/# stderr: /' "$work/err"
  fi
}

# output_has TEXT DESCRIPTION: the last command's stdout contains TEXT.
output_has () {
  if grep -F -q -- "$1" "$work/out"; then
    ok "$2"
  else
    not_ok "$2: no '$1' in the output"
    sed 's/^/# stdout: /' "$work/out"
  fi
}

alive () {
  kill -0 "$1" 2>/dev/null
}

# ---- start three daemons on free ports ------------------------------------

start_cluster () {
  base=$1
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  pids=""
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    "$DYNKVD" --id "$id" --listen "127.0.0.1:$((base + id - 1))" --data "$work/n$id" \
      $peers --request-timeout-ms 500 --log-level warning 2>"$work/n$id.log" &
    pids="$pids $!"
    eval "pid$id=$!"
  done
  # Ready when every node answers a PING (at most ~5 s).
  for id in 1 2 3; do
    tries=0
    until "$DYNKV" --node "127.0.0.1:$((base + id - 1))" --timeout-ms 100 --retries 0 \
        status >/dev/null 2>&1; do
      eval "pid=\$pid$id"
      tries=$((tries + 1))
      if ! alive "$pid" || [ $tries -ge 50 ]; then
        return 1
      fi
    done
  done
  return 0
}

started=no
for attempt in 1 2 3 4 5; do
  base=$((20000 + ($$ * 7 + attempt * 997) % 40000))
  if start_cluster "$base"; then
    started=yes
    break
  fi
  for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  pids=""
  rm -rf "$work"/n1 "$work"/n2 "$work"/n3
done
if [ "$started" != yes ]; then
  echo "Bail out! could not start three dynkvd (last log follows)"
  sed 's/^/# /' "$work/n1.log" "$work/n2.log" "$work/n3.log" 2>/dev/null
  exit 99
fi
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
"$DYNKVD" --id 3 --listen "$n3" --data "$work/n3" $peers --request-timeout-ms 500 \
  --log-level warning 2>>"$work/n3.log" &
pid3=$!
pids="$pids $pid3"
tries=0
until "$DYNKV" --node "$n3" --timeout-ms 100 --retries 0 status >/dev/null 2>&1; do
  tries=$((tries + 1))
  if ! alive "$pid3" || [ $tries -ge 50 ]; then break; fi
done
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
  tries=0
  while alive "$pid" && [ $tries -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  if alive "$pid"; then
    not_ok "dynkvd $pid stops on SIGTERM"
  else
    wait "$pid"
    status=$?
    if [ $status -eq 0 ]; then ok "dynkvd $pid stops on SIGTERM"; else not_ok "dynkvd $pid exit $status"; fi
  fi
done
if grep -q "requests_coordinated" "$work/n1.log"; then
  ok "counters printed on exit"
else
  not_ok "counters printed on exit"
  sed 's/^/# n1: /' "$work/n1.log"
fi
pids=""

echo "1..$tests"
if [ $failures -ne 0 ]; then
  echo "# $failures of $tests checks failed"
  exit 1
fi
echo "# all $tests checks passed"
exit 0
