#!/bin/sh
# report-chromium.sh — dynsim's report.html loads in a real browser
# (headless Chromium) with no script error, its script runs, and its SVG
# charts and sequence diagram are laid out.  A copy with a broken script
# must be caught, so the check itself can fail.  Skipped (77) without the
# Debian package chromium, unless DK_REQUIRE_CHROMIUM=1 (CI) makes that a
# failure.
set -u
DYNSIM="${DYNSIM:-./dynsim}"
CHROMIUM="${CHROMIUM:-chromium}"
if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
  if [ "${DK_REQUIRE_CHROMIUM:-0}" = 1 ]; then
    echo "FAIL: $CHROMIUM is not installed and DK_REQUIRE_CHROMIUM=1"
    exit 1
  fi
  echo "SKIP: $CHROMIUM is not installed (apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/dynkv-report.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
passed=0
failed=0
pass () { passed=$((passed + 1)); echo "ok   $1"; }
fail () { failed=$((failed + 1)); echo "FAIL $1"; }

# A short run with a partition and a crash, traced for one key.
cat > "$work/report.scn" <<'SCN'
seed 5
cluster nodes=5 n=3 r=2 w=2
option request_timeout=300ms
workload clients=6 rate=300/s keys=40 reads=0.5 value=64
at 2s partition {n1 n2} {n3 n4 n5}
at 3s crash n4
at 4s heal
at 4.5s restart n4
run 6s settle 2s
SCN
if ! "$DYNSIM" --quiet --out "$work/out" --trace k3 --trace-window 1.5s..3.5s "$work/report.scn" \
     >"$work/dynsim.log" 2>&1; then
  fail "dynsim --out --trace runs"
  cat "$work/dynsim.log"
  exit 1
fi
pass "dynsim --out --trace runs"

# Load PAGE in headless Chromium and print the DOM after its scripts ran.
# Chromium wants a writable HOME and profile; the sandbox needs user
# namespaces a container may not have.
dump_dom () {
  HOME="$work/home" timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --no-first-run --user-data-dir="$work/profile" --dump-dom "file://$1" 2>"$work/chromium.err"
}
mkdir -p "$work/home"
dump_dom "$work/out/report.html" >"$work/dom.html"
if grep -q '<html[^>]*data-script-ran="yes"' "$work/dom.html"; then
  pass "the page's script ran"
else
  fail "the page's script ran"
  head -c 600 "$work/dom.html"; tail -5 "$work/chromium.err"
fi
if grep -q 'data-script-error="' "$work/dom.html"; then
  fail "no script error"
  grep -o 'data-script-error="[^"]*"' "$work/dom.html"
else
  pass "no script error"
fi
count () { grep -o "$1" "$work/dom.html" | wc -l; }
svgs=$(count '<svg')
paths=$(count '<path')
rects=$(count '<rect')
drawn=$(grep -o 'data-drawn-paths="[0-9]*"' "$work/dom.html" | grep -o '[0-9]*')
if [ "$svgs" -ge 9 ] && [ "$paths" -gt 0 ] && [ "$rects" -gt 0 ] && [ "${drawn:-0}" -gt 0 ]; then
  pass "SVG present and laid out ($svgs svg, $paths path, $rects rect, $drawn series drawn)"
else
  fail "SVG present and laid out ($svgs svg, $paths path, $rects rect, ${drawn:-no} series drawn)"
fi
for section in charts staleness faults sequence quorum versions; do
  if grep -q "<section id=\"$section\"" "$work/dom.html"; then
    pass "section $section"
  else
    fail "section $section"
  fi
done
if grep -q 'class="fault fault-partition"' "$work/dom.html" \
   && grep -q 'class="fault fault-crash"' "$work/dom.html"; then
  pass "the partition and the crash are shaded"
else
  fail "the partition and the crash are shaded"
fi

# The check can fail: a page whose script throws is caught.
sed 's|</body>|<script>thisFunctionDoesNotExist();</script></body>|' "$work/out/report.html" \
  >"$work/broken.html"
dump_dom "$work/broken.html" >"$work/broken-dom.html"
if grep -q 'data-script-error="' "$work/broken-dom.html"; then
  pass "a script error is detected"
else
  fail "a script error is detected"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
