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
# Then a run with no partition but a lossy network (loss=0.02 dup=0.02,
# applied by the nodes and the clients themselves), n6 joining at 4 s, a
# wipe of n3 under --seed at 8 s and n1 leaving at 12 s: availability agrees with the simulator's within the same
# tolerance; the nodes' counters (node_counters) lose and duplicate 1%..3%
# of their datagrams and delay them; no dot collision and no lost write
# (a wiped node drawing its old incarnation fails this); every successful
# put has its commit_us; the members go 5, 6, 5, and the clients take n6
# only once every member lists it.  Scenarios asking what
# dynkv-cluster cannot do (a per-leg delay, a loss event) are refused with
# exit 2 naming their line; and no namespace is left behind.
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
P50_TOLERANCE_MS=1.5

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

# No partition, but a lossy network (dynkvd --net-loss, --net-dup and
# --net-delay, and the clients' own draws) and a wipe of n3 halfway (the
# nodes run with --seed: a wiped store must still draw a fresh
# incarnation, or it reissues its old dots).  Both worlds lose the same
# share of datagrams, so availability agrees; the nodes' counters count
# what the faults did.
grep -v '^at ' "$scenario" | sed 's/^network .*/network latency=exp(2ms) loss=0.02 dup=0.02/' \
  > "$work/calm.scn"
printf 'at 4s join n6\nat 8s wipe n3\nat 12s leave n1\n' >> "$work/calm.scn"
real calm "$work/calm.scn"
"$DYNSIM" --quiet --format json "$work/calm.scn" > "$work/calm.sim.json" 2>"$work/calm.sim.err"
calm=$(json_number "$work/calm.json" availability)
calm_sim=$(json_number "$work/calm.sim.json" availability)
echo "# lossy, join, wipe, leave: availability real $calm sim $calm_sim"
if [ -n "$calm" ] && [ -n "$calm_sim" ] && within "$calm" "$calm_sim" $AVAILABILITY_TOLERANCE \
   && at_least "$calm" 0.9; then
  ok "loss 0.02: availability real $calm, sim $calm_sim (within $AVAILABILITY_TOLERANCE, >= 0.9)"
else
  not_ok "loss 0.02: availability real ${calm:-missing}, sim ${calm_sim:-missing}"
fi
# Latency: the nodes hold each datagram for its exp(2ms) draw on a timer
# kept to the microsecond (udp_env.c), so the real get p50 stays within
# P50_TOLERANCE_MS above the simulator's; what is left is the veth's
# ~0.1 ms per hop and the loop's wake-ups (the clients time their requests
# on a timerfd too, no longer on a 1 ms tick: 7.00 -> 6.53..6.69 ms).  Held
# on the loop's millisecond poll timeout instead, every delayed hop took up
# to 1 ms more: 8.64 ms against 5.93 here (+2.7 ms; +1.0 ms now) on a quiet
# machine, 14 against 6 on a loaded one.
calm_p50=$(json_number "$work/calm.json" get_latency_p50_ms)
calm_sim_p50=$(json_number "$work/calm.sim.json" get_latency_p50_ms)
calm_late=$(json_number "$work/calm.json" arrival_late_max_ms)
calm_late_mean=$(json_number "$work/calm.json" arrival_late_mean_ms)
echo "# lossy, join, wipe, leave: get p50 real $calm_p50 ms sim $calm_sim_p50 ms; arrivals at most $calm_late ms late, $calm_late_mean ms on average"
# A loaded machine wakes every process late, the clients' timer as well as
# each node's on the four hops of a get: the clients' average lateness,
# four times over, is added to the tolerance.  On a quiet machine it is a
# few hundredths of a millisecond, so the check still catches the
# millisecond-tick bug above; on one running other builds beside this
# test it keeps the check from failing for the load alone.
p50_limit=$(awk -v t="$P50_TOLERANCE_MS" -v l="${calm_late_mean:-0}" 'BEGIN { printf "%.3f", t + 4 * l }')
if [ -n "$calm_p50" ] && [ -n "$calm_sim_p50" ] \
   && awk -v r="$calm_p50" -v s="$calm_sim_p50" -v t="$p50_limit" 'BEGIN { exit !(r - s <= t) }'; then
  ok "get p50 real $calm_p50 ms, sim $calm_sim_p50 ms (real at most $p50_limit ms more)"
else
  not_ok "get p50 real ${calm_p50:-missing} ms, sim ${calm_sim_p50:-missing} ms (real more than $p50_limit ms more)"
fi
# The nodes' summed counters (node_counters) apart from the checkers'
# metrics: both have a dot_collisions.
sed 's/.*"node_counters": {\([^}]*\)}.*/\1/' "$work/calm.json" > "$work/calm.counters"
sed 's/"clients": {.*//' "$work/calm.json" > "$work/calm.metrics"
counted=$(json_number "$work/calm.counters" nodes_counted)
lost=$(json_number "$work/calm.counters" net_faults_lost)
duplicated=$(json_number "$work/calm.counters" net_faults_duplicated)
delayed=$(json_number "$work/calm.counters" net_faults_delayed)
sent=$(json_number "$work/calm.counters" udp_datagrams_sent)
collisions=$(json_number "$work/calm.metrics" dot_collisions)
echo "# node counters of $counted nodes: sent $sent, lost $lost, duplicated $duplicated, delayed $delayed; checkers: dot_collisions $collisions"
[ "$counted" -ge 5 ] && [ -s "$work/calm/nodes/n6.stats.json" ] \
  && ok "the counters of $counted nodes (n6 that joined too), nodes/n*.stats.json" \
  || not_ok "counters of ${counted:-no} nodes, n6's: $(ls "$work/calm/nodes/")"
# Membership: n6 joins (6 members), n1 leaves (5), as the timeseries says.
members=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "members") c = i; next }
                   { if ($c != last) printf "%s ", $c; last = $c }' "$work/calm/timeseries.csv")
grep -q 'fault join n6 (6 members)' "$work/calm/faults.log" \
  && grep -q 'fault leave n1$' "$work/calm/faults.log" && [ "$members" = "5 6 5 " ] \
  && grep -q 'fault clients use n6 (every member lists it)' "$work/calm/faults.log" \
  && ok "n6 joins (the clients use it once every member lists it) and n1 leaves: members $members" \
  || not_ok "join and leave: members '$members', faults: $(grep -E 'join|leave' "$work/calm/faults.log" | tr '\n' ';')"
# The second after the join fails hardly more operations than the others
# (2% loss fails ~20 a second): with the clients sending to n6 before the
# members listed it, 51 and 65 failed in it against a median of ~23
# (the simulator: 20).
join_failures=$(awk -F, 'NR > 1 && $8 != "ok" && $8 != "not_found" && $6 < 20000000 { c[int($6 / 1000000)]++ }
  END { n = 0; for (s = 0; s < 20; s++) if (s != 4) v[n++] = c[s] + 0
        for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        printf "%d %d", c[4] + 0, v[int(n / 2)] }' "$work/calm/history.csv")
set -- $join_failures
if [ $# -eq 2 ] && awk -v j="$1" -v m="$2" 'BEGIN { exit !(j <= 1.8 * m + 4) }'; then
  ok "failures in the second after the join: $1, median second $2"
else
  not_ok "failures in the second after the join: ${1:-missing}, median second ${2:-missing} (more than 1.8 x + 4)"
fi
# Of the datagrams the nodes meant to send (sent + lost - duplicated), 2%
# lost and 2% of the rest sent twice: 1%..3% each, on thousands.
if [ -n "$lost" ] && [ -n "$sent" ] && [ -n "$duplicated" ] \
   && awk -v l="$lost" -v s="$sent" -v d="$duplicated" 'BEGIN { m = s + l - d;
        exit !(m > 1000 && l / m >= 0.01 && l / m <= 0.03 && d / m >= 0.01 && d / m <= 0.03) }'; then
  ok "the nodes lost $lost and duplicated $duplicated of $((sent + lost - duplicated)) datagrams (2% each)"
else
  not_ok "net_faults_lost ${lost:-missing}, net_faults_duplicated ${duplicated:-missing} of ${sent:-missing} sent"
fi
[ -n "$delayed" ] && [ "$delayed" -ge $((sent * 99 / 100)) ] \
  && ok "the datagrams were delayed (exp(2ms), a draw of 0 µs is not): $delayed copies" \
  || not_ok "net_faults_delayed ${delayed:-missing} < 99% of sent ${sent:-missing}"
# Drawing the old incarnation again (the entropy taken out of load_actor)
# fails here: 50 dot collisions, 20 lost writes.
[ "$collisions" = 0 ] && [ "$(json_number "$work/calm.json" lost_writes)" = 0 ] \
  && grep -q 'fault wipe n3' "$work/calm/faults.log" \
  && ok "a wipe under --seed: no dot collision, no lost write" \
  || not_ok "a wipe under --seed: dot_collisions ${collisions:-missing}, lost_writes $(json_number "$work/calm.json" lost_writes)"
# Commit times: every successful put has commit_us, between invoke and
# completion; the t-visibility curve is measured.
if awk -F, 'NR > 1 && $4 == "put" && $8 == "ok" { n++; if ($NF == "" || $NF < $6 || $NF > $7) bad++ }
            END { exit !(n > 100 && bad == 0) }' "$work/calm/history.csv"; then
  ok "history.csv: every successful put has its commit_us"
else
  not_ok "history.csv: puts without a commit_us in range"
fi

# What it cannot run yet is refused before anything starts, with its line.
# refused NAME SCRIPT MESSAGE WHAT: dynkv-cluster exits 2 on SCRIPT saying
# NAME.scn:MESSAGE.
refused () {
  printf "$2" > "$work/$1.scn"
  "$DYNKV_CLUSTER" run "$work/$1.scn" --out "$work/$1" --prefix "$prefix" > /dev/null 2> "$work/$1.err"
  f_status=$?
  if [ $f_status -eq 2 ] && grep -q "$1.scn:$3" "$work/$1.err"; then
    ok "$4 is refused naming its line (exit 2)"
  else
    not_ok "$4: exit $f_status, $(cat "$work/$1.err")"
  fi
}
refused leg 'cluster nodes=3 n=3 r=2 w=2\nnetwork latency=exp(1ms) write=exp(3ms)\nrun 2s\n' \
  "2: network write=" "a per-leg delay"
# The nodes' faults are fixed at their start: a loss event is refused too.
refused loss 'cluster nodes=3 n=3 r=2 w=2\nrun 2s\nat 1s loss 0.1\n' "3: event 'loss'" "a loss event"

left=$(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1' | wc -l)
[ "$left" -eq 0 ] && ok "no namespace left behind" || not_ok "$left namespaces left behind"

echo "1..$tests"
[ $failures -eq 0 ]
