#!/bin/sh
# deploy-loopback.sh — what running dynkvd as a service relies on.
#
# Without a cluster: both programs print "NAME VERSION"; the configuration
# example of doc/dynkvd.1 (between its config-example markers), the one in
# `dynkvd --help` and the installed sample dist/dynkvd.conf all pass
# --check-config; bad settings exit 2 naming the field (a negative
# interval, an unknown key with its line, n above the members, a trailing
# comment); every shipped scenario is in Makefile.am's install list.
# With three real daemons on loopback (one of them --synchronous full):
# they answer; SIGHUP leaves node 1 running and answering, and is logged; a
# second dynkvd on node 1's data directory exits 1 naming the directory
# and node 1's pid; node 1 killed with SIGKILL restarts on the same
# directory (the lock dies with its holder) and reads what it had.
# dynkvd --init DIR writes a cluster key, a client key and a config naming
# them (mode 0600), refuses a second time naming the file, and the node it
# configures starts keyed: it answers a put signed with the client key,
# and not an unsigned one.
# Everything started is stopped on exit; the whole run is bounded by
# timeout(1).  DYNKVD and DYNKV name the programs (make check sets them).
set -u
# shellcheck source=tests/loopback-lib.sh
. "$(dirname "$0")/loopback-lib.sh"
loopback_bound 60 "$@"
loopback_setup deploy
srcdir=${srcdir:-.}

# stderr_has TEXT DESCRIPTION: the last command's stderr contains TEXT.
stderr_has () {
  if grep -F -q -- "$1" "$work/err"; then
    ok "$2"
  else
    not_ok "$2: no '$1' on stderr"
    sed 's/^/# stderr: /' "$work/err"
  fi
}

# ---- versions -------------------------------------------------------------------

for program in "$DYNKVD" "$DYNKV"; do
  name=$(basename "$program")
  expect 0 "$name --version" -- "$program" --version
  if grep -E -q "^$name [0-9]+\.[0-9]+\.[0-9]+\$" "$work/out"; then
    ok "$name --version prints '$name VERSION'"
  else
    not_ok "$name --version prints '$name VERSION'"
    sed 's/^/# stdout: /' "$work/out"
  fi
done

# ---- configuration examples load ------------------------------------------------
# Each example names key_file=cluster.key and client_key_file=client.key:
# dynkv keygen makes them beside it.

mkdir -p "$work/conf"
expect 0 "dynkv keygen makes the cluster key" -- "$DYNKV" keygen "$work/conf/cluster.key"
expect 0 "dynkv keygen makes the client key" -- "$DYNKV" keygen "$work/conf/client.key"

# The manual's example, roff escapes undone (\- is '-', \e is '\').
sed -n '/^\.\\" config-example-begin/,/^\.\\" config-example-end/p' "$srcdir/doc/dynkvd.1" \
  | sed -e '/^\./d' -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$work/conf/manual.conf"
if grep -q '^\[node\]' "$work/conf/manual.conf" && grep -q '^\[peers\]' "$work/conf/manual.conf"; then
  ok "doc/dynkvd.1 has a configuration example between its markers"
else
  not_ok "doc/dynkvd.1 has a configuration example between its markers"
fi
expect 0 "the manual's configuration example passes --check-config" -- \
  "$DYNKVD" --config "$work/conf/manual.conf" --check-config
output_has "settings OK" "--check-config says the settings are OK"

# The --help example: the indented lines after "Config file example".
"$DYNKVD" --help | sed -n '/^Config file example/,/^$/p' | sed -n 's/^  //p' >"$work/conf/help.conf"
if grep -q '^\[node\]' "$work/conf/help.conf"; then
  ok "dynkvd --help shows a configuration example"
else
  not_ok "dynkvd --help shows a configuration example"
fi
expect 0 "the --help configuration example passes --check-config" -- \
  "$DYNKVD" --config "$work/conf/help.conf" --check-config

# The sample is keyed: without its key files it does not start, and says which.
cp "$srcdir/dist/dynkvd.conf" "$work/conf/sample.conf" || exit 99
mkdir -p "$work/bare"
cp "$srcdir/dist/dynkvd.conf" "$work/bare/sample.conf" || exit 99
expect 0 "the sample dist/dynkvd.conf passes --check-config (its keys beside it)" -- \
  "$DYNKVD" --config "$work/conf/sample.conf" --check-config
expect 2 "the sample without its key files is refused" -- \
  "$DYNKVD" --config "$work/bare/sample.conf" --check-config
stderr_has "cluster.key" "the refusal names the missing key file"

# ---- bad settings exit 2, naming the field ----------------------------------------

three="--peer 1=127.0.0.1:7001 --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003"
# shellcheck disable=SC2086
expect 2 "--gossip-ms -5 is refused" -- "$DYNKVD" --id 1 --data "$work/none" $three --gossip-ms -5
stderr_has "[cluster] gossip_ms (--gossip-ms) must be from 0" "the refusal names gossip_ms"
# shellcheck disable=SC2086
expect 2 "n above the members is refused" -- "$DYNKVD" --id 1 --data "$work/none" $three --n 4
stderr_has "n=4 (--n) is larger than the 3 members" "the refusal names n and the member count"
sed 's/^gossip_ms=/gosip_ms=/' "$work/conf/manual.conf" >"$work/conf/typo.conf"
typo_line=$(grep -n '^gosip_ms=' "$work/conf/typo.conf" | cut -d: -f1)
expect 2 "an unknown key in the file is refused" -- "$DYNKVD" --config "$work/conf/typo.conf" --check-config
stderr_has "typo.conf:$typo_line: [cluster] gosip_ms: unknown key" "the refusal names the file, line and key"
sed 's/^n=3$/n=3   # three replicas/' "$work/conf/manual.conf" >"$work/conf/comment.conf"
expect 2 "a comment after a value is refused" -- "$DYNKVD" --config "$work/conf/comment.conf" --check-config
stderr_has "[cluster] n: '#' after the value" "the refusal says why"
if [ -d "$work/none" ]; then not_ok "a refused start created no data directory"; else ok "a refused start created no data directory"; fi

# ---- every scenario is installed -------------------------------------------------------

missing=""
for scenario in $(cd "$srcdir" && find scenarios -name '*.scn' | LC_ALL=C sort); do
  grep -q "^	$scenario\( \\\\\)\{0,1\}\$" "$srcdir/Makefile.am" || missing="$missing $scenario"
done
if [ -z "$missing" ]; then
  ok "Makefile.am installs every scenario"
else
  not_ok "Makefile.am (nobase_dist_pkgdata_DATA) does not install:$missing"
fi

# ---- a running cluster --------------------------------------------------------------

start_cluster () {
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  # shellcheck disable=SC2086
  node_start 1 $peers --synchronous full --request-timeout-ms 500
  for id in 2 3; do
    # shellcheck disable=SC2086
    node_start "$id" $peers --request-timeout-ms 500 --log-level warning
  done
  for id in 1 2 3; do
    node_wait_ready "$id" || return 1
  done
}
loopback_start start_cluster
n1=127.0.0.1:$base
echo "# cluster on ports $base..$((base + 2)), data in $work"
if grep -q "synchronous=full" "$work/n1.log"; then
  ok "node 1 runs with synchronous=full"
else
  not_ok "node 1 runs with synchronous=full"
fi
expect 0 "put through node 1 (synchronous=full)" -- "$DYNKV" --node "$n1" put colour blue

# SIGHUP: logged, ignored.
kill -HUP "$pid1"
sleep 0.3
if alive "$pid1"; then ok "node 1 survives SIGHUP"; else not_ok "node 1 survives SIGHUP"; fi
expect 0 "node 1 answers after SIGHUP" -- "$DYNKV" --node "$n1" status
expect 0 "node 1 reads after SIGHUP" -- "$DYNKV" --node "$n1" get colour
output_has "value=blue" "the value written before SIGHUP is read"
if grep -q "SIGHUP ignored" "$work/n1.log"; then
  ok "SIGHUP is logged"
else
  not_ok "SIGHUP is logged"
fi

# A second daemon on node 1's data directory (another port, another id).
expect 1 "a second dynkvd on node 1's data directory exits 1" -- \
  timeout 10 "$DYNKVD" --id 4 --listen "127.0.0.1:$((base + 3))" --data "$work/n1" \
  --peer "1=$n1" --peer "2=127.0.0.1:$((base + 1))" --peer "3=127.0.0.1:$((base + 2))" \
  --peer "4=127.0.0.1:$((base + 3))"
stderr_has "data directory $work/n1 is in use" "the error names the directory"
stderr_has "pid $pid1" "the error names node 1's pid"
if alive "$pid1"; then ok "node 1 still runs"; else not_ok "node 1 still runs"; fi

# SIGKILL leaves the lock file, not the lock: node 1 restarts on its data.
kill -9 "$pid1"
wait "$pid1" 2>/dev/null
if [ -f "$work/n1/lock" ]; then ok "the lock file stays after SIGKILL"; else not_ok "the lock file stays after SIGKILL"; fi
node_start 1 $peers --request-timeout-ms 500 --log-level warning
if node_wait_ready 1; then
  ok "node 1 restarts on its data directory after SIGKILL"
else
  not_ok "node 1 restarts on its data directory after SIGKILL"
  sed 's/^/# n1.log: /' "$work/n1.log"
fi
expect 0 "node 1 reads its value after the restart" -- "$DYNKV" --node "$n1" get colour
output_has "value=blue" "the value is there"

for id in 1 2 3; do
  eval "kill -TERM \$pid$id"
done
for id in 1 2 3; do
  eval "pid=\$pid$id"
  if node_wait_exit "$pid"; then ok "node $id stops on SIGTERM"; else not_ok "node $id stops on SIGTERM"; fi
done

# ---- dynkvd --init: a keyed data directory ------------------------------------------

init_at=127.0.0.1:$((base + 5))
expect 0 "dynkvd --init makes a data directory" -- "$DYNKVD" --init "$work/init" --listen "$init_at"
output_has "Start it:  dynkvd --config $work/init/dynkvd.conf" "--init says how to start the node"
for file in cluster.key client.key dynkvd.conf; do
  mode=$(stat -c %a "$work/init/$file" 2>/dev/null)
  [ "$mode" = 600 ] && ok "--init wrote $file, mode 0600" || not_ok "--init $file: mode ${mode:-missing}"
done
if [ -s "$work/init/cluster.key" ] && ! cmp -s "$work/init/cluster.key" "$work/init/client.key"; then
  ok "the cluster key and the client key differ"
else
  not_ok "the cluster key and the client key differ"
fi
grep -q '^key_file=cluster.key$' "$work/init/dynkvd.conf" \
  && grep -q '^client_key_file=client.key$' "$work/init/dynkvd.conf" \
  && ok "the config names both keys" || not_ok "the config names both keys"
keys_before=$(cat "$work/init/cluster.key" "$work/init/client.key")
expect 1 "a second --init on the directory is refused" -- "$DYNKVD" --init "$work/init"
stderr_has "dynkvd.conf exists already; nothing was written" "the refusal names the file"
[ "$keys_before" = "$(cat "$work/init/cluster.key" "$work/init/client.key")" ] \
  && ok "the keys are untouched" || not_ok "a second --init changed the keys"
expect 2 "--init with an id not among --peer is refused" -- \
  "$DYNKVD" --init "$work/init2" --id 3 --peer "1=$init_at"
stderr_has "node 3 is not among the --peer members" "the refusal names the node"
expect 0 "the --init config passes --check-config" -- \
  "$DYNKVD" --config "$work/init/dynkvd.conf" --check-config
"$DYNKVD" --config "$work/init/dynkvd.conf" 2>>"$work/init.log" &
init_pid=$!
pids="$pids $init_pid"
tries=0
until "$DYNKV" --node "$init_at" --key-file "$work/init/client.key" --timeout-ms 100 --retries 0 \
    status >/dev/null 2>&1; do
  tries=$((tries + 1))
  if ! alive "$init_pid" || [ $tries -ge 50 ]; then break; fi
done
expect 0 "the --init node takes a put signed with its client key" -- \
  "$DYNKV" --node "$init_at" --key-file "$work/init/client.key" put shade teal
expect 0 "... and reads it" -- "$DYNKV" --node "$init_at" --key-file "$work/init/client.key" get shade
output_has "value=teal" "the value is there"
expect 3 "an unsigned put is not answered (the node is keyed)" -- \
  "$DYNKV" --node "$init_at" --timeout-ms 300 --retries 0 put shade red
stderr_has "no answer from $init_at" "dynkv says the node did not answer"
grep -q "authenticated (cluster and client keys)" "$work/init.log" \
  && ok "the node says it runs with cluster and client keys" \
  || not_ok "the node does not say it is keyed"
kill -TERM "$init_pid"
node_wait_exit "$init_pid" && ok "the --init node stops on SIGTERM" || not_ok "the --init node stops on SIGTERM"
loopback_finish
