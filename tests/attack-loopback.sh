#!/bin/sh
# attack-loopback.sh — the attacks of issue 11 on real dynkvd, on loopback.
#
# Two 3-node clusters on free loopback ports: nodes 1-3 without a key (the
# default), nodes 4-6 with a cluster key and a client key made by
# `dynkv keygen`.  tests/dk-attack sends what no real client sends.
# Checks: (a) a forged GOSSIP from an unknown address (a member of weight
# 1024 joining, member 2 leaving) changes no membership and is counted;
# (b) an unsigned GET from a new source is answered by a reply no larger
# than itself, and dynkv still works (it follows the cookie); (c) 8,000
# junk and forged datagrams from fresh source ports evict no client, and a
# client validated before the flood is still answered at once; (d) the
# client key cannot sign a replica WRITE or gossip that is accepted, and
# still serves clients; (e) a wrong key is logged with its source address
# and counted.  Bounded by timeout(1) (DK_LOOPBACK_TIMEOUT, default 90 s).
#
# make check sets DYNKVD, DYNKV and DK_ATTACK; by hand:
#   DYNKVD=./dynkvd DYNKV=./dynkv DK_ATTACK=tests/dk-attack sh tests/attack-loopback.sh
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 90 "$@"
loopback_setup attack
DK_ATTACK=${DK_ATTACK:-tests/dk-attack}
if [ ! -x "$DK_ATTACK" ]; then
  echo "Bail out! $DK_ATTACK is not an executable (set DK_ATTACK)"
  exit 99
fi

# counter ID NAME: counter NAME in node ID's exit report.
counter () {
  awk -v name="$2" '$1 == name { value = $2 } END { print value + 0 }' "$work/n$1.log"
}

# counter_is ID NAME OP VALUE DESCRIPTION (OP: -eq, -ge, -le)
counter_is () {
  value=$(counter "$1" "$2")
  if [ "$value" "$3" "$4" ]; then
    ok "$5 ($2 = $value)"
  else
    not_ok "$5: $2 = $value, expected $3 $4"
  fi
}

# log_has ID TEXT DESCRIPTION / log_lacks ID TEXT DESCRIPTION
log_has () {
  if grep -F -q -- "$2" "$work/n$1.log"; then ok "$3"; else not_ok "$3: no '$2' in n$1.log"; fi
}
log_lacks () {
  if grep -F -q -- "$2" "$work/n$1.log"; then
    not_ok "$3: n$1.log says '$2'"
    grep -F -- "$2" "$work/n$1.log" | sed 's/^/# /'
  else
    ok "$3"
  fi
}

# ---- keys -------------------------------------------------------------------------

expect 0 "dynkv keygen writes a cluster key" -- "$DYNKV" keygen "$work/cluster.key"
expect 0 "dynkv keygen writes a client key" -- "$DYNKV" keygen "$work/client.key"
expect 0 "dynkv keygen writes a wrong key" -- "$DYNKV" keygen "$work/wrong.key"
expect 3 "dynkv keygen never overwrites a key" -- "$DYNKV" keygen "$work/cluster.key"
mode=$(stat -c %a "$work/cluster.key" 2>/dev/null || echo "?")
if [ "$mode" = 600 ]; then ok "the key file has mode 0600"; else not_ok "the key file has mode $mode"; fi

# ---- two clusters ------------------------------------------------------------------

peers () {
  echo "--peer $1=127.0.0.1:$((base + $1 - 1)) --peer $2=127.0.0.1:$((base + $2 - 1))" \
       "--peer $3=127.0.0.1:$((base + $3 - 1))"
}

start_clusters () {
  for id in 1 2 3; do
    # shellcheck disable=SC2046
    node_start "$id" $(peers 1 2 3) --gossip-ms 200 --request-timeout-ms 500 --log-level info
  done
  for id in 4 5 6; do
    # shellcheck disable=SC2046
    node_start "$id" $(peers 4 5 6) --gossip-ms 200 --request-timeout-ms 500 --log-level info \
      --key-file "$work/cluster.key" --client-key-file "$work/client.key"
  done
  for id in 1 2 3; do
    node_wait_ready "$id" || return 1
  done
  for id in 4 5 6; do
    node_wait_ready "$id" --key-file "$work/client.key" || return 1
  done
}

loopback_start start_clusters
n1=127.0.0.1:$base
n4=127.0.0.1:$((base + 3))
echo "# unkeyed nodes on ports $base..$((base + 2)), keyed on $((base + 3))..$((base + 5)); data in $work"

# ---- (a) a forged gossip from an unknown address --------------------------------

expect 0 "put before the attacks" -- "$DYNKV" --node "$n1" put before 1
expect 0 "a forged gossip (member 99 of weight 1024, member 2 leaving) is sent" -- \
  "$DK_ATTACK" gossip "$n1"
output_has "0 answers" "nobody answers the forged gossip"

# ---- (b) no amplification -----------------------------------------------------------

expect 0 "an unsigned GET from a new source" -- "$DK_ATTACK" amplify "$n1" before
request=$(sed -n 's/.*request \([0-9]*\) bytes.*/\1/p' "$work/out")
largest=$(sed -n 's/.*largest reply \([0-9]*\) bytes.*/\1/p' "$work/out")
all=$(sed -n 's/.*all replies \([0-9]*\) bytes.*/\1/p' "$work/out")
echo "# request $request bytes, largest reply $largest, all replies $all"
if [ -n "$request" ] && [ -n "$all" ] && [ "$all" -le "$request" ] && [ "$all" -gt 0 ]; then
  ok "the replies to a new source ($all bytes) are no larger than its GET ($request bytes)"
else
  not_ok "replies of '$all' bytes to a GET of '$request' bytes"
fi
output_has "status retry" "the new source is asked for its cookie"
expect 0 "dynkv follows the cookie: get before" -- "$DYNKV" --node "$n1" get before
output_has "value=1" "and reads the value"

# ---- (c) a flood from fresh source ports --------------------------------------------

expect 0 "8,000 junk and forged datagrams from fresh ports" -- "$DK_ATTACK" flood "$n1" 4000 before
output_has "before: ok, after: ok" "a client validated before the flood is answered at once after it"
expect 0 "dynkv still works after the flood" -- "$DYNKV" --node "$n1" get before

# ---- (d) a client key signs no node-to-node message ---------------------------------

expect 0 "put with the client key" -- "$DYNKV" --node "$n4" --key-file "$work/client.key" put keyed 1
expect 0 "a replica WRITE signed with the client key is sent" -- \
  "$DK_ATTACK" write "$n4" "$work/client.key" stolen evil
output_has "write: no answer" "the WRITE is not acknowledged"
expect 1 "and the key it wrote does not exist" -- \
  "$DYNKV" --node "$n4" --key-file "$work/client.key" --r 1 get stolen
expect 0 "a gossip signed with the client key is sent" -- \
  "$DK_ATTACK" gossip "$n4" "$work/client.key"
output_has "0 answers" "nobody answers it"
expect 0 "get with the client key" -- "$DYNKV" --node "$n4" --key-file "$work/client.key" get keyed
output_has "value=1" "clients are served with the client key"

# ---- (e) a wrong key is logged -------------------------------------------------------

expect 3 "a client with a wrong key gets no answer" -- \
  "$DYNKV" --node "$n4" --key-file "$work/wrong.key" --timeout-ms 300 status

# ---- what the daemons counted --------------------------------------------------------

kill -TERM $pids
for id in 1 2 3 4 5 6; do
  eval "node_wait_exit \$pid$id"
done
pids=""
counter_is 1 dropped_not_member -ge 1 "node 1 dropped the forged gossip as from no member"
counter_is 1 ring_changes -eq 0 "node 1's ring never changed"
log_lacks 1 "member n99 joined" "node 1 never took member 99"
log_lacks 1 "member n2 is leaving" "node 1 never believed member 2 left"
counter_is 1 address_validations -ge 1 "node 1 asked new sources for their cookie"
counter_is 1 clients_evicted -eq 0 "node 1 evicted no client"
counter_is 1 clients_seen -le 20 "node 1 remembered only the real clients"
counter_is 1 sources_not_remembered -ge 4000 "node 1 remembered none of the forged sources"
counter_is 4 dropped_unauthenticated -ge 2 "node 4 refused the client-signed WRITE and gossip"
counter_is 4 ring_changes -eq 0 "node 4's ring never changed"
log_lacks 4 "member n99 joined" "node 4 never took member 99"
log_has 4 "its tag does not verify" "node 4 logged the badly signed datagrams"
if grep -q "dropped a datagram from 127\.0\.0\.1:[0-9]*: its tag does not verify" "$work/n4.log"; then
  ok "the line names the source address"
else
  not_ok "no line names the source address"
fi
counter_is 4 auth_failures_logged -ge 1 "node 4 counted the lines it logged"
lines=$(grep -c "failed authentication\|its tag does not verify\|not signed" "$work/n4.log")
if [ "$lines" -le 20 ]; then ok "the log lines are bounded ($lines)"; else not_ok "$lines log lines"; fi

loopback_finish
