#!/bin/sh
# scenarios.sh — every shipped scenario runs through dynsim with its
# expectations holding; runs are deterministic; bad scripts exit 2 with
# FILE:LINE; the CAP lesson shows the trade-off it promises.
set -u
DYNSIM="${DYNSIM:-./dynsim}"
srcdir="${srcdir:-.}"
work=$(mktemp -d "${TMPDIR:-/tmp}/dynkv-scenarios.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
passed=0
failed=0

pass () { passed=$((passed + 1)); echo "ok   $1"; }
fail () { failed=$((failed + 1)); echo "FAIL $1"; }

# 1. Every scenario's expects hold.
for scenario in "$srcdir"/scenarios/*.scn "$srcdir"/scenarios/*/*.scn; do
  [ -f "$scenario" ] || continue
  if "$DYNSIM" --quiet "$scenario" 2>"$work/stderr"; then
    pass "expects hold: ${scenario#"$srcdir"/}"
  else
    fail "expects hold: ${scenario#"$srcdir"/}"
    cat "$work/stderr"
  fi
done

# 2. Same scenario and seed: byte-identical outputs; another seed differs.
basic="$srcdir/scenarios/basic.scn"
"$DYNSIM" --quiet --out "$work/a" "$basic" && "$DYNSIM" --quiet --out "$work/b" "$basic"
if diff -r -x "*.png" "$work/a" "$work/b" >/dev/null; then
  pass "same seed gives byte-identical outputs"
else
  fail "same seed gives byte-identical outputs"
  diff -r -x "*.png" "$work/a" "$work/b" | head -20
fi
"$DYNSIM" --quiet --seed 2 --out "$work/c" "$basic"
if cmp -s "$work/a/history.csv" "$work/c/history.csv"; then
  fail "another seed gives another history"
else
  pass "another seed gives another history"
fi
for file in summary.json history.csv timeseries.csv staleness.csv faults.log; do
  if [ -s "$work/a/$file" ] || [ "$file" = faults.log ] && [ -f "$work/a/$file" ]; then
    pass "--out writes $file"
  else
    fail "--out writes $file"
  fi
done

# 3. A malformed script is refused before anything runs: exit 2, FILE:LINE.
printf 'cluster nodes=3 n=3 r=2 w=2\nrun 90\n' > "$work/bad.scn"
"$DYNSIM" --quiet "$work/bad.scn" 2>"$work/stderr"
status=$?
if [ $status -eq 2 ] && grep -q "bad.scn:2:" "$work/stderr"; then
  pass "malformed script exits 2 naming bad.scn:2"
else
  fail "malformed script exits 2 naming bad.scn:2 (status $status)"
  cat "$work/stderr"
fi
"$DYNSIM" --quiet --set r=9 "$basic" 2>"$work/stderr"
if [ $? -eq 2 ]; then pass "--set r=9 (r > n) exits 2"; else fail "--set r=9 (r > n) exits 2"; fi

# 4. A failing expectation exits 1 and is named.
printf 'cluster nodes=3 n=3 r=2 w=2\nworkload rate=50/s\nrun 2s\nexpect availability < 0.5\n' > "$work/strict.scn"
"$DYNSIM" --quiet "$work/strict.scn" 2>"$work/stderr"
status=$?
if [ $status -eq 1 ] && grep -q "strict.scn:4: expect availability" "$work/stderr"; then
  pass "failed expect exits 1 naming strict.scn:4"
else
  fail "failed expect exits 1 naming strict.scn:4 (status $status)"
fi

# 5. The CAP lesson: strict quorums read nothing stale; R=W=1 stays more
#    available than R=W=2 and reads stale data.
"$DYNSIM" --quiet --format csv "$srcdir/scenarios/classroom/cap.scn" > "$work/cap.csv" 2>/dev/null
cat "$work/cap.csv" | awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) column[$i] = i; next }
  { key = $column["r"] "," $column["w"]
    availability[key] = $column["availability"]; stale[key] = $column["stale_reads"] }
  END {
    ok = (stale["2,2"] == 0) && (stale["1,1"] > 0.05) && (availability["1,1"] > availability["2,2"] + 0.05)
    printf "strict: availability %s stale %s; R=W=1: availability %s stale %s\n",
      availability["2,2"], stale["2,2"], availability["1,1"], stale["1,1"]
    exit ok ? 0 : 1 }' > "$work/cap.txt"
if [ $? -eq 0 ]; then pass "CAP lesson shows the trade-off: $(cat "$work/cap.txt")"; else fail "CAP lesson trade-off: $(cat "$work/cap.txt")"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
