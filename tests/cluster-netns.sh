#!/bin/sh
# cluster-netns.sh — the CAP lesson's partition on a real cluster: five
# dynkvd in network namespaces (dynkv-cluster) against the simulator
# (dynsim), on tests/cluster-netns.scn (cap.scn shortened: partition
# {n1 n2} | {n3 n4 n5} from 5 s to 15 s of a 20 s run, settle 5 s).
#
# For R=W=2 and for R=W=1 (--set), both worlds run the same script and
# seed, and:
#   - lost_writes == 0 in both;
#   - availability agrees within AVAILABILITY_TOLERANCE (0.05);
#   - R=W=2 (R+W > N, strict quorum): no stale read in either;
#     R=W=1: stale_reads agree within STALE_TOLERANCE (0.08).
# Why those tolerances: the two worlds' rings differ (the simulator's
# tokens come from the seed, dynkvd's from dk_net_ring_new), so different
# keys lose their quorum on each side; over seeds 1..7 the simulator
# alone spreads availability over 0.778..0.791 (R=W=2) and stale_reads
# over 0.380..0.398 (R=W=1).  The real run adds its own timing: no
# simulated 2 ms latency (a veth answers in ~0.4 ms), faults applied
# within ~50 ms of their time, each client's 1 ms tick.  The tolerances
# are several times the seed-to-seed spread, and far below the effect the
# lesson shows (R=W=2 against R=W=1: 0.20 of availability, 0.39 of stale
# reads), so a real cluster that ignored the partition, or a quorum
# setting, fails.
# Then a run with no partition (the `at` lines removed) must have
# availability >= 0.99 on the real cluster; a scenario asking for what
# dynkv-cluster cannot do (a join) is refused with exit 2 naming its line;
# and no namespace is left behind.
#
# Needs root and ip(8) with network namespaces: without them it skips
# (exit 77) saying why.  Bounded by timeout(1) (DK_CLUSTER_TIMEOUT seconds,
# default 180); the namespaces are named dkt-PID-* and any left are
# deleted on exit.  make check sets DYNKV_CLUSTER, DYNKVD and DYNSIM; by
# hand, from the build directory: sh tests/cluster-netns.sh
set -u
if [ -z "${DK_CLUSTER_INNER:-}" ] && command -v timeout >/dev/null 2>&1; then
  DK_CLUSTER_INNER=1 exec timeout -k 10 "${DK_CLUSTER_TIMEOUT:-180}" sh "$0" "$@"
fi
srcdir=${srcdir:-.}
DYNKV_CLUSTER=${DYNKV_CLUSTER:-./dynkv-cluster}
DYNKVD=${DYNKVD:-./dynkvd}
DYNSIM=${DYNSIM:-./dynsim}
scenario="$srcdir/tests/cluster-netns.scn"
AVAILABILITY_TOLERANCE=0.05
STALE_TOLERANCE=0.08

for program in "$DYNKV_CLUSTER" "$DYNKVD" "$DYNSIM"; do
  if [ ! -x "$program" ]; then
    echo "Bail out! $program is not an executable (set DYNKV_CLUSTER, DYNKVD and DYNSIM)"
    exit 99
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: network namespaces need root (running as uid $(id -u))"
  exit 77
fi
if ! why=$("$DYNKV_CLUSTER" check 2>&1); then
  echo "SKIP: $why"
  exit 77
fi

prefix="dkt-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/dk-netns-XXXXXX") || exit 99
cleanup () {
  # dynkv-cluster deletes its namespaces itself; these are what a killed
  # run would leave (its nodes die with it: PR_SET_PDEATHSIG).
  for ns in $(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }'); do
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "Bail out! interrupted or timed out"; exit 99' INT TERM

tests=0
failures=0
ok () { tests=$((tests + 1)); echo "ok $tests - $1"; }
not_ok () { tests=$((tests + 1)); failures=$((failures + 1)); echo "not ok $tests - $1"; }

json_number () { sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" "$1"; }

# within A B TOLERANCE: |A - B| <= TOLERANCE.
within () { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
at_least () { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# real NAME SCRIPT ARGS...: dynkv-cluster on SCRIPT into $work/NAME;
# summary JSON in $work/NAME.json.
real () {
  r_name=$1
  r_script=$2
  shift 2
  "$DYNKV_CLUSTER" run "$r_script" --out "$work/$r_name" --prefix "$prefix" --quiet \
    --dynkvd "$DYNKVD" --format json "$@" > "$work/$r_name.json" 2> "$work/$r_name.err"
  r_status=$?
  if [ $r_status -le 1 ] && [ -s "$work/$r_name.json" ]; then
    ok "dynkv-cluster $r_name ran (exit $r_status)"
  else
    not_ok "dynkv-cluster $r_name ran (exit $r_status)"
    sed 's/^/# /' "$work/$r_name.err"
  fi
}

for rw in 2 1; do
  real "rw$rw" "$scenario" --set r=$rw --set w=$rw
  "$DYNSIM" --quiet --format json --set r=$rw --set w=$rw "$scenario" > "$work/rw$rw.sim.json" 2>"$work/rw$rw.sim.err"
  [ $? -le 1 ] && ok "dynsim R=W=$rw ran" || not_ok "dynsim R=W=$rw ran"
  real_availability=$(json_number "$work/rw$rw.json" availability)
  sim_availability=$(json_number "$work/rw$rw.sim.json" availability)
  real_stale=$(json_number "$work/rw$rw.json" stale_reads)
  sim_stale=$(json_number "$work/rw$rw.sim.json" stale_reads)
  echo "# R=W=$rw: availability real $real_availability sim $sim_availability;" \
       "stale_reads real $real_stale sim $sim_stale;" \
       "minority_availability real $(json_number "$work/rw$rw.json" minority_availability)" \
       "sim $(json_number "$work/rw$rw.sim.json" minority_availability)"
  for world in "$work/rw$rw.json" "$work/rw$rw.sim.json"; do
    lost=$(json_number "$world" lost_writes)
    [ "$lost" = 0 ] && ok "R=W=$rw $(basename "$world"): lost_writes 0" \
                    || not_ok "R=W=$rw $(basename "$world"): lost_writes ${lost:-missing}"
  done
  if [ -n "$real_availability" ] && [ -n "$sim_availability" ] \
     && within "$real_availability" "$sim_availability" $AVAILABILITY_TOLERANCE; then
    ok "R=W=$rw: availability real $real_availability, sim $sim_availability (within $AVAILABILITY_TOLERANCE)"
  else
    not_ok "R=W=$rw: availability real ${real_availability:-missing}, sim ${sim_availability:-missing} (not within $AVAILABILITY_TOLERANCE)"
  fi
  if [ $rw -eq 2 ]; then
    [ "$real_stale" = 0 ] && [ "$sim_stale" = 0 ] \
      && ok "R=W=2: no stale read in either world" \
      || not_ok "R=W=2: stale reads real ${real_stale:-missing}, sim ${sim_stale:-missing} (want 0)"
  elif [ -n "$real_stale" ] && [ -n "$sim_stale" ] \
       && within "$real_stale" "$sim_stale" $STALE_TOLERANCE; then
    ok "R=W=1: stale_reads real $real_stale, sim $sim_stale (within $STALE_TOLERANCE)"
  else
    not_ok "R=W=1: stale_reads real ${real_stale:-missing}, sim ${sim_stale:-missing} (not within $STALE_TOLERANCE)"
  fi
done

# The same files as dynsim --out, and the partition in the fault log.
for file in history.csv final.csv summary.json summary.txt timeseries.csv faults.log; do
  [ -s "$work/rw2/$file" ] && ok "--out wrote $file" || not_ok "--out wrote no $file"
done
head -1 "$work/rw2/history.csv" | grep -q '^id,client,coordinator,kind,key,invoke_us' \
  && ok "history.csv has dynsim's columns" || not_ok "history.csv lacks dynsim's columns"
grep -q 'fault partition {n1 n2} {n3 n4 n5}' "$work/rw2/faults.log" \
  && grep -q 'fault heal' "$work/rw2/faults.log" \
  && ok "faults.log has the partition and the heal" \
  || not_ok "faults.log lacks the partition or the heal"

# No partition: everything answers.
grep -v '^at ' "$scenario" > "$work/calm.scn"
real calm "$work/calm.scn"
calm=$(json_number "$work/calm.json" availability)
if [ -n "$calm" ] && at_least "$calm" 0.99; then
  ok "no partition: availability $calm >= 0.99"
else
  not_ok "no partition: availability ${calm:-missing} < 0.99"
fi

# What it cannot run yet is refused before anything starts, with its line.
printf 'cluster nodes=3 n=3 r=2 w=2\nrun 2s\nat 1s join n4\n' > "$work/join.scn"
"$DYNKV_CLUSTER" run "$work/join.scn" --out "$work/join" --prefix "$prefix" > /dev/null 2> "$work/join.err"
status=$?
if [ $status -eq 2 ] && grep -q "join.scn:3: event 'join'" "$work/join.err"; then
  ok "a join is refused naming its line (exit 2)"
else
  not_ok "a join: exit $status, $(cat "$work/join.err")"
fi

left=$(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1' | wc -l)
[ "$left" -eq 0 ] && ok "no namespace left behind" || not_ok "$left namespaces left behind"

echo "1..$tests"
[ $failures -eq 0 ]
