#!/bin/sh
# manual.sh — the manual keeps up with the program.  Everything dynsim
# knows by name must appear in bold in doc/dynsim.scn.5: every statement,
# event, nemesis kind and key, setting and choice of a setting, every
# member of the JSON summary, and every column and file --out writes.
# doc/dynsim.1 must describe every option of `dynsim --help` in its
# OPTIONS section, and doc/dynkvd.1, doc/dynkv.1 and doc/dynkv-cluster.1
# those of dynkvd, dynkv and dynkv-cluster (when DYNKVD, DYNKV and
# DYNKV_CLUSTER name them, as make check does).  A name the program grows without a line in the
# manual fails here, naming it.
#
# "In bold" is the manual's one convention: a name counts where it is
# set in bold (.B, .BR/.BI odd arguments, .RB/.IB even ones, or
# \fB...\fR inline).  The names are taken from dynsim itself (its
# --list-settings, --help, JSON and the lists its error messages give),
# never from a copy kept here.
set -u
LC_ALL=C; export LC_ALL
DYNSIM="${DYNSIM:-./dynsim}"
srcdir="${srcdir:-.}"
page="$srcdir/doc/dynsim.scn.5"
command_page="$srcdir/doc/dynsim.1"
work=$(mktemp -d "${TMPDIR:-/tmp}/dynkv-manual.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
passed=0
failed=0

pass () { passed=$((passed + 1)); echo "ok   $1"; }
fail () { failed=$((failed + 1)); echo "FAIL $1"; }

# The words a roff file sets in bold, one per line.  Words are runs of
# letters, digits, '_', '-' and '.' (no leading or trailing '.').
bold_words () {
  awk '
    # Split a macro line into its arguments, honouring double quotes.
    function split_args(line, out,    n, i, c, quoted, word, started) {
      n = 0; word = ""; quoted = 0; started = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (quoted) {
          if (c == "\"") {
            if (substr(line, i + 1, 1) == "\"") { word = word c; i++ } else quoted = 0
          } else word = word c
          continue
        }
        if (c == "\"") { quoted = 1; started = 1; continue }
        if (c == " " || c == "\t") {
          if (started) { out[++n] = word; word = ""; started = 0 }
          continue
        }
        word = word c; started = 1
      }
      if (started) out[++n] = word
      return n
    }
    function emit(run,    n, w, i) {
      n = split(run, w, /[^-A-Za-z0-9_.]+/)
      for (i = 1; i <= n; i++) {
        sub(/^[.]+/, "", w[i]); sub(/[.]+$/, "", w[i])
        if (w[i] != "") print w[i]
      }
    }
    # Print the bold words of TEXT, which starts in font FONT; \fX
    # switches font, \fP goes back to the font TEXT started in.
    function scan(text, font,    base, i, c, f, run) {
      base = font; run = ""
      for (i = 1; i <= length(text); i++) {
        c = substr(text, i, 1)
        if (c == "\\" && substr(text, i + 1, 1) == "f") {
          f = substr(text, i + 2, 1)
          if (f == "P") f = base
          if (font == "B" && f != "B") { emit(run); run = "" }
          font = f; i += 2
          continue
        }
        if (font == "B") run = run c
      }
      if (font == "B") emit(run)
    }
    /^\.\\"/ { next }
    {
      line = $0
      gsub(/\\-/, "-", line); gsub(/\\&/, "", line)
      gsub(/\\\(../, " ", line); gsub(/\\ /, "~", line)
      if (substr(line, 1, 1) != ".") { scan(line, "R"); next }
      macro = line; sub(/[ \t].*/, "", macro)
      rest = substr(line, length(macro) + 1)
      n = split_args(rest, args)
      for (i = 1; i <= n; i++) {
        font = "R"
        if (macro == ".B") font = "B"
        else if (macro == ".BR" || macro == ".BI") font = (i % 2 == 1) ? "B" : "R"
        else if (macro == ".RB" || macro == ".IB") font = (i % 2 == 0) ? "B" : "R"
        scan(args[i], font)
      }
    }
  ' "$1" | sort -u
}

# The names in LIST (one per line) that are not in BOLD (one per line).
missing () {
  sort -u "$1" | comm -23 - "$2" | tr '\n' ' '
}

# Check that every name in file $2 is bold in the manual; $1 says what.
require_bold () {
  if [ ! -s "$2" ]; then
    fail "$1: dynsim named none (cannot check)"
    return
  fi
  absent=$(missing "$2" "$work/bold")
  if [ -z "$absent" ]; then
    pass "$1 ($(sort -u "$2" | wc -l | tr -d ' ') names)"
  else
    fail "$1: not in bold in doc/dynsim.scn.5: $absent"
  fi
}

# The names an error message lists after "(known: a, b, c)".
known_list () {
  sed -n 's/.*(known: \(.*\))$/\1/p' | tr ',' '\n' | tr -d ' ' | sed '/^$/d'
}

for file in "$page" "$command_page"; do
  if [ ! -f "$file" ]; then
    echo "FAIL $file is missing"
    exit 1
  fi
done
bold_words "$page" > "$work/bold"

quick="$work/quick.scn"
printf 'cluster nodes=3 n=3\nworkload rate=200/s\nrun 1s\n' > "$quick"

# 1. Statements, events and the nemesis line, from dynsim's own lists.
printf 'no_such_statement\n' > "$work/s.scn"
"$DYNSIM" "$work/s.scn" 2>&1 | known_list > "$work/statements"
require_bold "every statement" "$work/statements"

printf 'cluster nodes=3 n=3\nrun 1s\nat 0s no_such_event\n' > "$work/e.scn"
"$DYNSIM" "$work/e.scn" 2>&1 | known_list > "$work/events"
require_bold "every event" "$work/events"

printf 'cluster nodes=3 n=3\nrun 1s\nnemesis no_such_key=1\n' > "$work/n.scn"
"$DYNSIM" "$work/n.scn" 2>&1 | known_list > "$work/nemesis-keys"
require_bold "every nemesis setting" "$work/nemesis-keys"

printf 'cluster nodes=3 n=3\nrun 1s\nnemesis kinds=no_such_kind\n' > "$work/k.scn"
"$DYNSIM" "$work/k.scn" 2>&1 \
  | sed -n 's/.*fault kinds among \([a-z_,]*\) separated.*/\1/p' | tr ',' '\n' > "$work/kinds"
require_bold "every nemesis kind" "$work/kinds"

# 2. Settings, and the choices of every setting that takes one.
"$DYNSIM" --list-settings | sed -n 's/^  \([a-z_][a-z0-9_]*\)[= (].*/\1/p' > "$work/settings"
require_bold "every setting of --list-settings" "$work/settings"

: > "$work/choices"
while read -r key; do
  "$DYNSIM" --set "$key=no_such_value" "$quick" 2>&1 \
    | sed -n "s/.*: expected \([a-z_]*\( or [a-z_]*\)\{1,\}\), got 'no_such_value'\$/\1/p" \
    | awk '{ n = split ($0, names, / or /); for (i = 1; i <= n; i++) print names[i] }' \
    >> "$work/choices"
done < "$work/settings"
require_bold "every choice of a setting" "$work/choices"

# 3. Metrics: every member of the JSON summary, and every name expect takes.
"$DYNSIM" --quiet --format json "$quick" > "$work/run.json"
awk '
  # The members of the top-level object of a one-line JSON document.
  {
    depth = 0; quoted = 0; escaped = 0; text = ""; last = ""
    for (i = 1; i <= length($0); i++) {
      c = substr($0, i, 1)
      if (quoted) {
        if (escaped) escaped = 0
        else if (c == "\\") escaped = 1
        else if (c == "\"") { quoted = 0; last = text }
        else text = text c
        continue
      }
      if (c == "\"") { quoted = 1; text = ""; continue }
      if (c == "{" || c == "[") depth++
      else if (c == "}" || c == "]") depth--
      else if (c == ":" && depth == 1) print last
    }
  }' "$work/run.json" > "$work/members"
require_bold "every member of the JSON summary" "$work/members"

printf 'cluster nodes=3 n=3\nrun 1s\nexpect no_such_metric == 0\n' > "$work/m.scn"
"$DYNSIM" "$work/m.scn" 2>&1 | known_list > "$work/metrics"
require_bold "every metric expect takes" "$work/metrics"

# 4. The files --out writes, and their columns.
"$DYNSIM" --quiet --out "$work/out" "$quick" >/dev/null 2>&1
"$DYNSIM" --quiet --sweep seed=1,2 --out "$work/sweep" "$quick" >/dev/null 2>&1
{
  ls "$work/out"
  ls "$work/sweep" | grep -v '^run-'
} > "$work/files"
require_bold "every file --out writes" "$work/files"
for csv in out/history.csv out/final.csv out/timeseries.csv out/staleness.csv sweep/sweep.csv; do
  if [ -f "$work/$csv" ]; then
    head -n 1 "$work/$csv" | tr -d '\r' | tr ',' '\n' > "$work/columns"
    require_bold "every column of $(basename "$csv")" "$work/columns"
  else
    fail "--out wrote no $(basename "$csv")"
  fi
done

# 5. Each program's page has an OPTIONS section naming every option of
# its --help: dynsim always, dynkvd, dynkv and dynkv-cluster when make
# check names them.
# require_options PROGRAM PAGE
require_options () {
  name=$(basename "$2")
  sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$2" | sed '$d' > "$work/options.roff"
  bold_words "$work/options.roff" > "$work/option-bold"
  "$1" --help | sed -n 's/^  *\(-[A-Za-z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p' > "$work/long"
  "$1" --help | sed -n 's/^  *\(-[A-Za-z]\), --.*/\1/p' > "$work/short"
  cat "$work/long" "$work/short" > "$work/options"
  if [ ! -s "$work/option-bold" ]; then
    fail "doc/$name has an OPTIONS section"
  elif [ ! -s "$work/long" ]; then
    fail "$(basename "$1") --help names no long option (cannot check)"
  else
    absent=$(missing "$work/options" "$work/option-bold")
    if [ -z "$absent" ]; then
      pass "doc/$name OPTIONS names every option of --help ($(wc -l < "$work/options" | tr -d ' '))"
    else
      fail "doc/$name OPTIONS does not name: $absent"
    fi
  fi
}
require_options "$DYNSIM" "$command_page"
extra_pages=""
for pair in "${DYNKVD:-}:$srcdir/doc/dynkvd.1" "${DYNKV:-}:$srcdir/doc/dynkv.1" \
            "${DYNKV_CLUSTER:-}:$srcdir/doc/dynkv-cluster.1"; do
  program=${pair%%:*}
  if [ -n "$program" ] && [ -x "$program" ]; then
    require_options "$program" "${pair#*:}"
    extra_pages="$extra_pages ${pair#*:}"
  fi
done

# 6. Both pages render without a warning, where groff is installed.
if command -v groff >/dev/null 2>&1; then
  for file in "$page" "$command_page" $extra_pages; do
    if groff -man -Tutf8 -ww "$file" 2>"$work/groff" >/dev/null && [ ! -s "$work/groff" ]; then
      pass "groff renders ${file#"$srcdir"/} without warnings"
    else
      fail "groff renders ${file#"$srcdir"/} without warnings"
      cat "$work/groff"
    fi
  done
else
  echo "skip groff is not installed: rendering not checked"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
