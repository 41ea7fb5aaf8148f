# loopback-lib.sh — what the loopback tests share: a bounded run, a work
# directory and daemons cleaned up on exit, TAP-style checks, and starting
# and stopping dynkvd nodes on free loopback ports.
#
# Sourced, not run, by cluster-loopback.sh, replay-loopback.sh and
# handoff-loopback.sh from their own directory, so it is found in the
# source tree, in a VPATH build and under `make distcheck` alike:
#   . "$(dirname "$0")/loopback-lib.sh"
#
# DYNKVD and DYNKV name the programs (make check sets them; by hand they
# default to ./dynkvd and ./dynkv).  Node ID listens on
# 127.0.0.1:$((base + ID - 1)), keeps its data in $work/nID and appends
# its stderr to $work/nID.log; its pid is in pidID, and every pid started
# is in $pids.  Checks count in $tests and $failures.  Variables of the
# library's own start with lb_ (POSIX sh has no locals).

DYNKVD=${DYNKVD:-./dynkvd}
DYNKV=${DYNKV:-./dynkv}

# loopback_bound SECONDS "$@": re-run the calling script once under
# timeout(1) so the whole run is bounded (DK_LOOPBACK_TIMEOUT overrides
# SECONDS).  Call it first, with the script's own arguments.
loopback_bound () {
  lb_seconds=${DK_LOOPBACK_TIMEOUT:-$1}
  shift
  if [ -z "${DK_LOOPBACK_INNER:-}" ] && command -v timeout >/dev/null 2>&1; then
    DK_LOOPBACK_INNER=1 exec timeout -k 5 "$lb_seconds" sh "$0" "$@"
  fi
}

# loopback_setup NAME: check the programs, make the work directory $work
# ("dk-NAME-XXXXXX" under TMPDIR) and arrange that every daemon in $pids
# is killed and $work removed on exit, and that SIGINT or SIGTERM (the
# timeout) bails out.  Exits 99 when the programs are missing.
loopback_setup () {
  for lb_program in "$DYNKVD" "$DYNKV"; do
    if [ ! -x "$lb_program" ]; then
      echo "Bail out! $lb_program is not an executable (set DYNKVD and DYNKV)"
      exit 99
    fi
  done
  work=$(mktemp -d "${TMPDIR:-/tmp}/dk-$1-XXXXXX") || exit 99
  pids=""
  trap loopback_cleanup EXIT
  trap 'echo "Bail out! interrupted or timed out"; exit 99' INT TERM
  tests=0
  failures=0
}

loopback_cleanup () {
  for lb_pid in $pids; do
    kill -9 "$lb_pid" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$work"
}

# ---- checks -------------------------------------------------------------------

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
# its stdout is kept in $work/out, its stderr in $work/err.
expect () {
  lb_want=$1
  lb_what=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  lb_got=$?
  if [ "$lb_got" -eq "$lb_want" ]; then
    ok "$lb_what (exit $lb_got)"
  else
    not_ok "$lb_what: exit $lb_got, expected $lb_want"
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

# loopback_finish: print the plan and a summary; exit 1 when a check
# failed, else 0.
loopback_finish () {
  echo "1..$tests"
  if [ "$failures" -ne 0 ]; then
    echo "# $failures of $tests checks failed"
    exit 1
  fi
  echo "# all $tests checks passed"
  exit 0
}

# ---- daemons ------------------------------------------------------------------

alive () {
  kill -0 "$1" 2>/dev/null
}

# node_start ID ARGS...: start dynkvd ID in the background with ARGS
# (peers, timeouts, a key file); sets pidID and adds it to $pids.
node_start () {
  lb_id=$1
  shift
  "$DYNKVD" --id "$lb_id" --listen "127.0.0.1:$((base + lb_id - 1))" --data "$work/n$lb_id" \
    "$@" 2>>"$work/n$lb_id.log" &
  pids="$pids $!"
  eval "pid$lb_id=$!"
}

# node_wait_ready ID [ARGS...]: wait until node ID answers `dynkv status`
# (given ARGS too, e.g. a key file); fails once it has died or after 50
# tries (about 5 s).
node_wait_ready () {
  lb_id=$1
  shift
  lb_tries=0
  until "$DYNKV" --node "127.0.0.1:$((base + lb_id - 1))" --timeout-ms 100 --retries 0 "$@" \
      status >/dev/null 2>&1; do
    eval "lb_pid=\$pid$lb_id"
    lb_tries=$((lb_tries + 1))
    if ! alive "$lb_pid" || [ $lb_tries -ge 50 ]; then
      return 1
    fi
  done
  return 0
}

# loopback_start COMMAND...: pick a base port and run COMMAND (which
# starts the nodes and waits until they answer) until it succeeds, at
# most five times, on other ports each time.  Bails out (exit 99) with
# the nodes' logs when every attempt failed.
loopback_start () {
  for lb_attempt in 1 2 3 4 5; do
    base=$((20000 + ($$ * 11 + lb_attempt * 1009) % 38000))
    if "$@"; then
      return 0
    fi
    for lb_pid in $pids; do
      kill -9 "$lb_pid" 2>/dev/null
    done
    wait 2>/dev/null
    pids=""
    rm -rf "$work"/n[0-9] "$work"/n[0-9][0-9]   # the data, not the logs
  done
  echo "Bail out! could not start the dynkvd nodes (their logs follow)"
  for lb_log in "$work"/n*.log; do
    [ -f "$lb_log" ] && sed "s|^|# $(basename "$lb_log"): |" "$lb_log"
  done
  exit 99
}

# node_wait_exit PID [TENTHS]: wait up to TENTHS tenths of a second
# (default 50) for PID, already signalled, to exit; then reap it and
# return its exit status.  Returns 1 without reaping while PID still runs
# (tell the two apart with alive).
node_wait_exit () {
  lb_tries=0
  while alive "$1" && [ $lb_tries -lt "${2:-50}" ]; do
    sleep 0.1
    lb_tries=$((lb_tries + 1))
  done
  if alive "$1"; then
    return 1
  fi
  wait "$1" 2>/dev/null
}
