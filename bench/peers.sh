#!/bin/sh
# peers.sh — dynkv against etcd and redis on this machine (`make bench-peers`).
#
# Starts, all on 127.0.0.1 and one at a time:
#   - a 3-node dynkvd cluster (N=3, R=2, W=2; synchronous=normal, then
#     again with synchronous=full, an fsync per commit as etcd does),
#     loaded by `dynkv bench` spread over the three nodes;
#   - bench/udp_echo, answering dynkv's requests at once with nothing
#     behind it (the raw-UDP floor), loaded by the same `dynkv bench`;
#   - a 3-member etcd cluster (Debian etcd-server), loaded by
#     bench/etcd_load: the same generator shape (C requests in flight over
#     C keep-alive connections spread over the members) on etcd's v3
#     HTTP/JSON gateway, since Debian ships no etcd benchmark tool;
#   - one redis-server (no persistence, no replica), loaded by
#     redis-benchmark -c C -d VALUE -r KEYS -t set,get.
# Each runs a put phase then a get phase of SECONDS_PER_RUN seconds (redis:
# a request count of about that long) with CONCURRENCY requests in flight
# and 100-byte values on 1000 keys; gets are also measured one at a time
# (concurrency 1), the latency a client sees on an idle cluster.  It prints
# put and get ops/s, p50 and p99 for each, the ratios dynkv/etcd and
# dynkv/redis, and whether issue 11's goals are met: puts >= 3x etcd with
# a p99 below etcd's, puts >= 0.3x redis, get p50 <= 3x the UDP echo's.
#
# etcd-server, redis-server and redis-tools are installed with apt-get
# when missing (as root); a peer that cannot be had is skipped, said so.
# Everything started is stopped on exit; the whole run is bounded by
# timeout(1) (PEERS_TIMEOUT seconds, default 600, plus 30 a round).
# Figures are of this machine only: a shared, noisy one; compare ratios,
# not absolutes.
#
# With ROUNDS=N (N > 1; make bench-peers uses 3), the puts against redis
# are measured again N times at the end, a dynkv put phase then a redis
# one in each round, so that both see the same load, and the goal is
# judged on the median of the N ratios (each round's ratio is printed; the
# table keeps the first phases' figures).  ROUNDS=1 judges it on the table.
#
#   make bench-peers [PEERS_SECONDS=5] [PEERS_CONCURRENCY=50] [PEERS_ROUNDS=3]
set -u
DYNKVD=${DYNKVD:-./dynkvd}
DYNKV=${DYNKV:-./dynkv}
UDP_ECHO=${UDP_ECHO:-./bench/udp_echo}
ETCD_LOAD=${ETCD_LOAD:-./bench/etcd_load}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONCURRENCY=${CONCURRENCY:-50}
ROUNDS=${ROUNDS:-1}
VALUE_SIZE=100
KEYS=1000
case $ROUNDS in
  ''|*[!0-9]*|0) echo "peers.sh: ROUNDS must be a whole number from 1, got '$ROUNDS'" >&2; exit 2 ;;
esac
if [ -z "${DK_PEERS_INNER:-}" ] && command -v timeout >/dev/null 2>&1; then
  DK_PEERS_INNER=1 exec timeout -k 5 "${PEERS_TIMEOUT:-$((600 + 30 * ROUNDS))}" sh "$0" "$@"
fi

for program in "$DYNKVD" "$DYNKV" "$UDP_ECHO" "$ETCD_LOAD"; do
  if [ ! -x "$program" ]; then
    echo "peers.sh: $program is not built (make bench-peers builds it)" >&2
    exit 2
  fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/dk-peers-XXXXXX") || exit 2
pids=""
cleanup () {
  for pid in $pids; do
    kill "$pid" 2>/dev/null
  done
  sleep 0.5
  for pid in $pids; do
    kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "peers.sh: interrupted or timed out"; exit 3' INT TERM
base=$((20000 + ($$ * 7) % 30000))

# ---- the peers' packages ------------------------------------------------------

install_missing () {
  missing=""
  command -v etcd >/dev/null 2>&1 || missing="$missing etcd-server"
  command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
  command -v redis-benchmark >/dev/null 2>&1 || missing="$missing redis-tools"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "# not root (or no apt-get): cannot install$missing; those peers are skipped"
    return 0
  fi
  echo "# installing$missing with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >"$work/apt.log" 2>&1 \
    || { apt-get update -q >>"$work/apt.log" 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >>"$work/apt.log" 2>&1; } \
    || echo "# apt-get failed (see above); the missing peers are skipped"
  # Debian starts redis-server as a service on install: that one is not
  # ours and stays; ours listens on a port of its own.
}
install_missing

# ---- figures --------------------------------------------------------------------

# json_field FILE KIND NAME: NAME (ops_per_s, p50_ms, p99_ms, errors,
# timeouts) of the "put" or "get" member in the one-line JSON in FILE.
json_field () {
  sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.]*\).*/\1/p" "$1" | head -n 1
}

# record SYSTEM PHASE OPS P50 P99: keep one row of the results table.
record () {
  echo "$1 $2 ${3:-0} ${4:-0} ${5:-0}" >>"$work/results"
}

# value SYSTEM PHASE COLUMN (3 ops/s, 4 p50, 5 p99), or 0.
value () {
  awk -v s="$1" -v p="$2" -v c="$3" '$1 == s && $2 == p { print $c; found = 1 }
    END { if (!found) print 0 }' "$work/results" | tail -n 1
}

ratio () {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# dynkv_phase SYSTEM PHASE NODE-OPTIONS...: one phase (put, get, or get
# at concurrency 1: get1) of `dynkv bench`, recorded under SYSTEM.
dynkv_phase () {
  system=$1
  phase=$2
  shift 2
  case $phase in
    put) reads=0 concurrency=$CONCURRENCY ;;
    get) reads=1 concurrency=$CONCURRENCY ;;
    get1) reads=1 concurrency=1 ;;
  esac
  "$DYNKV" bench "$@" --concurrency "$concurrency" --reads "$reads" \
    --value-size "$VALUE_SIZE" --keys "$KEYS" --duration "$SECONDS_PER_RUN" --json \
    >"$work/$system.$phase.json" 2>"$work/$system.$phase.err"
  kind=put
  [ "$reads" = 1 ] && kind=get
  file="$work/$system.$phase.json"
  record "$system" "$phase" "$(json_field "$file" $kind ops_per_s)" \
    "$(json_field "$file" $kind p50_ms)" "$(json_field "$file" $kind p99_ms)"
  echo "# $system $phase: $(cat "$file" "$work/$system.$phase.err")"
}

# dynkv_runs SYSTEM NODE-OPTIONS...: put phase, get phase, get at
# concurrency 1, each recorded under SYSTEM.
dynkv_runs () {
  runs_system=$1
  shift
  for runs_phase in put get get1; do
    dynkv_phase "$runs_system" "$runs_phase" "$@"
  done
}

# ---- dynkv: three dynkvd -------------------------------------------------------

# dynkv_start SYSTEM DYNKVD-OPTIONS...: start three dynkvd (pids in
# $started, their --node options in $nodes) and wait until each answers.
dynkv_start () {
  system=$1
  shift
  dir="$work/$system"
  mkdir -p "$dir"
  peers="--peer 1=127.0.0.1:$base --peer 2=127.0.0.1:$((base + 1)) --peer 3=127.0.0.1:$((base + 2))"
  started=""
  for id in 1 2 3; do
    # shellcheck disable=SC2086
    "$DYNKVD" --id "$id" --listen "127.0.0.1:$((base + id - 1))" --data "$dir/n$id" $peers \
      --log-level warning "$@" 2>>"$dir/n$id.log" &
    pids="$pids $!"
    started="$started $!"
  done
  for id in 1 2 3; do
    tries=0
    until "$DYNKV" --node "127.0.0.1:$((base + id - 1))" --timeout-ms 100 --retries 0 status \
        >/dev/null 2>&1; do
      tries=$((tries + 1))
      if [ $tries -ge 50 ]; then
        echo "# $system: node $id did not start:"
        sed 's/^/#   /' "$dir/n$id.log"
        return 1
      fi
    done
  done
  nodes="--node 127.0.0.1:$base --node 127.0.0.1:$((base + 1)) --node 127.0.0.1:$((base + 2))"
}

dynkv_stop () {
  for pid in $started; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  base=$((base + 10))
}

# dynkv_cluster SYSTEM DYNKVD-OPTIONS...: every phase on a fresh cluster.
dynkv_cluster () {
  cluster_system=$1
  if dynkv_start "$@"; then
    # shellcheck disable=SC2086
    dynkv_runs "$cluster_system" $nodes
  fi
  dynkv_stop
}

echo "# peers.sh: $SECONDS_PER_RUN s per run, concurrency $CONCURRENCY, $VALUE_SIZE-byte values, $KEYS keys, $(nproc 2>/dev/null || echo '?') CPUs"
dynkv_cluster dynkv
dynkv_cluster dynkv_full --synchronous full

# ---- the raw-UDP floor ------------------------------------------------------------

"$UDP_ECHO" "127.0.0.1:$base" $((SECONDS_PER_RUN * 3 + 10)) >"$work/echo.log" 2>&1 &
echo_pid=$!
pids="$pids $echo_pid"
sleep 0.3
dynkv_runs udp_echo --node "127.0.0.1:$base"
kill "$echo_pid" 2>/dev/null
wait "$echo_pid" 2>/dev/null
base=$((base + 10))

# ---- etcd: three members -----------------------------------------------------------

if command -v etcd >/dev/null 2>&1; then
  cluster=""
  for i in 1 2 3; do
    cluster="${cluster:+$cluster,}e$i=http://127.0.0.1:$((base + 10 + i))"
  done
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$work/etcd$i" \
      --listen-client-urls "http://127.0.0.1:$((base + i))" \
      --advertise-client-urls "http://127.0.0.1:$((base + i))" \
      --listen-peer-urls "http://127.0.0.1:$((base + 10 + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((base + 10 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "dk-peers-$$" --log-level error --logger zap \
      >"$work/etcd$i.log" 2>&1 &
    pids="$pids $!"
  done
  ready=0
  for tries in $(seq 1 100); do
    if curl -s -m 1 "http://127.0.0.1:$((base + 1))/health" 2>/dev/null | grep -q '"true"'; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if [ $ready -eq 1 ]; then
    endpoints="--endpoint 127.0.0.1:$((base + 1)) --endpoint 127.0.0.1:$((base + 2)) --endpoint 127.0.0.1:$((base + 3))"
    for phase in put get get1; do
      case $phase in
        put) reads=0 concurrency=$CONCURRENCY ;;
        get) reads=1 concurrency=$CONCURRENCY ;;
        get1) reads=1 concurrency=1 ;;
      esac
      # shellcheck disable=SC2086
      "$ETCD_LOAD" $endpoints --concurrency "$concurrency" --reads "$reads" \
        --value-size "$VALUE_SIZE" --keys "$KEYS" --duration "$SECONDS_PER_RUN" --json \
        >"$work/etcd.$phase.json" 2>&1
      kind=put
      [ "$reads" = 1 ] && kind=get
      file="$work/etcd.$phase.json"
      record etcd "$phase" "$(json_field "$file" $kind ops_per_s)" \
        "$(json_field "$file" $kind p50_ms)" "$(json_field "$file" $kind p99_ms)"
      echo "# etcd $phase: $(cat "$file")"
    done
  else
    echo "# etcd: the cluster did not become healthy; skipped"
    sed 's/^/#   /' "$work/etcd1.log" | tail -n 5
  fi
else
  echo "# etcd is not installed: skipped"
fi

# ---- redis ------------------------------------------------------------------------

# redis_phase SYSTEM PHASE: one phase of redis-benchmark against the
# redis-server on $port, recorded under SYSTEM.
redis_phase () {
  # About SECONDS_PER_RUN at redis's ~100k ops/s here.
  requests=$((SECONDS_PER_RUN * 100000))
  case $2 in
    put) test=set concurrency=$CONCURRENCY n=$requests ;;
    get) test=get concurrency=$CONCURRENCY n=$requests ;;
    get1) test=get concurrency=1 n=$((requests / 5)) ;;
  esac
  redis-benchmark -p "$port" -c "$concurrency" -d "$VALUE_SIZE" -r "$KEYS" -n "$n" \
    -t "$test" --csv >"$work/$1.$2.csv" 2>&1
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  line=$(grep -i "^\"$test\"" "$work/$1.$2.csv" | tr -d '"' | tr ',' ' ')
  # shellcheck disable=SC2086
  set -- "$1" "$2" $line
  record "$1" "$2" "${4:-0}" "${7:-0}" "${9:-0}"
  echo "# $1 $2: $(tr '\n' ' ' <"$work/$1.$2.csv")"
}

redis_up=0
if command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
  redis_up=1
  port=$((base + 50))
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no --logfile "$work/redis.log" >/dev/null 2>&1 &
  pids="$pids $!"
  for tries in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  for phase in put get get1; do
    redis_phase redis "$phase"
  done
else
  echo "# redis-server or redis-benchmark is not installed: skipped"
fi

# ---- rounds: dynkv and redis puts in turn ----------------------------------------

# median N...: the median of the numbers (the mean of the middle two when
# there is an even count).
median () {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

round_ratios=""
if [ "$ROUNDS" -gt 1 ] && [ "$redis_up" = 1 ]; then
  echo "# $ROUNDS rounds of puts: dynkv (a fresh cluster), then redis"
  round_dynkv="" round_redis=""
  for round in $(seq 1 "$ROUNDS"); do
    if dynkv_start "dynkv_r$round"; then
      # shellcheck disable=SC2086
      dynkv_phase "dynkv_r$round" put $nodes
    fi
    dynkv_stop
    redis_phase "redis_r$round" put
    a=$(value "dynkv_r$round" put 3)
    b=$(value "redis_r$round" put 3)
    round_dynkv="$round_dynkv $a"
    round_redis="$round_redis $b"
    round_ratios="$round_ratios $(ratio "$a" "$b" | sed 's/n\/a/0/')"
  done
fi

# ---- the table and the goals --------------------------------------------------------

echo
echo "generators: dynkv bench (dynkv, dynkv_full, udp_echo); etcd_load over etcd's HTTP/JSON gateway (etcd); redis-benchmark (redis)"
printf '%-11s %12s %9s %9s %12s %9s %9s %9s\n' system "put ops/s" "put p50" "put p99" \
  "get ops/s" "get p50" "get p99" "get1 p50"
for system in dynkv dynkv_full etcd redis udp_echo; do
  grep -q "^$system " "$work/results" 2>/dev/null || continue
  printf '%-11s %12.0f %8.3fm %8.3fm %12.0f %8.3fm %8.3fm %8.3fm\n' "$system" \
    "$(value "$system" put 3)" "$(value "$system" put 4)" "$(value "$system" put 5)" \
    "$(value "$system" get 3)" "$(value "$system" get 4)" "$(value "$system" get 5)" \
    "$(value "$system" get1 4)"
done
echo "(ms; get1: one get at a time)"
echo

goal () {
  # goal TEXT MET(1/0) FIGURES
  if [ "$2" = 1 ]; then echo "goal met     $1  ($3)"; else echo "goal NOT met $1  ($3)"; fi
}
at_least () {
  awk -v a="$1" -v b="$2" 'BEGIN { print (a != "n/a" && a + 0 >= b) ? 1 : 0 }'
}
below () {
  awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > 0 && b + 0 > 0 && a + 0 < b + 0) ? 1 : 0 }'
}
dk_put=$(value dynkv put 3)
for system in etcd redis; do
  grep -q "^$system " "$work/results" 2>/dev/null || continue
  echo "ratio dynkv/$system: put ops/s $(ratio "$dk_put" "$(value "$system" put 3)"), put p99 $(ratio "$(value dynkv put 5)" "$(value "$system" put 5)"), get ops/s $(ratio "$(value dynkv get 3)" "$(value "$system" get 3)"), get p50 $(ratio "$(value dynkv get 4)" "$(value "$system" get 4)")"
done
if [ -n "$round_ratios" ]; then
  round=0
  for r in $round_ratios; do
    round=$((round + 1))
    printf 'round %d: dynkv put %.0f ops/s, redis put %.0f ops/s, ratio %s\n' "$round" \
      "$(value "dynkv_r$round" put 3)" "$(value "redis_r$round" put 3)" "$r"
  done
  # shellcheck disable=SC2086
  printf 'ratio dynkv/redis over %d rounds: put ops/s %.2f (median; dynkv %.0f, redis %.0f ops/s)\n' \
    "$ROUNDS" "$(median $round_ratios)" "$(median $round_dynkv)" "$(median $round_redis)"
fi
grep -q "^etcd " "$work/results" 2>/dev/null && echo "ratio dynkv_full/etcd: put ops/s $(ratio "$(value dynkv_full put 3)" "$(value etcd put 3)"), put p99 $(ratio "$(value dynkv_full put 5)" "$(value etcd put 5)")"
if grep -q "^etcd " "$work/results" 2>/dev/null; then
  r=$(ratio "$dk_put" "$(value etcd put 3)")
  goal "puts >= 3x etcd" "$(at_least "$r" 3)" "$r x"
  goal "put p99 below etcd's" "$(below "$(value dynkv put 5)" "$(value etcd put 5)")" \
    "$(value dynkv put 5) ms vs $(value etcd put 5) ms"
fi
if [ -n "$round_ratios" ]; then
  # shellcheck disable=SC2086
  r=$(median $round_ratios)
  goal "puts >= 0.3x redis" "$(at_least "$r" 0.3)" "$r x, the median of $ROUNDS rounds"
elif grep -q "^redis " "$work/results" 2>/dev/null; then
  r=$(ratio "$dk_put" "$(value redis put 3)")
  goal "puts >= 0.3x redis" "$(at_least "$r" 0.3)" "$r x"
fi
r1=$(ratio "$(value dynkv get1 4)" "$(value udp_echo get1 4)")
met=0
[ "$r1" != n/a ] && met=$(at_least 3 "$r1")
goal "get p50 <= 3x the UDP echo, one at a time" "$met" "$r1 x: $(value dynkv get1 4) ms vs $(value udp_echo get1 4) ms"
rc=$(ratio "$(value dynkv get 4)" "$(value udp_echo get 4)")
echo "(at concurrency $CONCURRENCY: get p50 $rc x the echo's, $(value dynkv get 4) ms vs $(value udp_echo get 4) ms)"
