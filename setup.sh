#!/bin/sh
# setup.sh — make this checkout ready to use on Debian 12 (or a derivative):
# install only the Debian packages that are missing, then generate,
# configure and build.  Safe to run again: each step is skipped when done.
#
#   ./setup.sh                      build with the default options
#   ./setup.sh --enable-sanitizers  extra arguments go to ./configure
#   DK_EXTRA_PACKAGES="valgrind" ./setup.sh   install more packages too
set -eu
cd "$(dirname "$0")"

packages="gcc make pkg-config autoconf automake libglib2.0-dev libsqlite3-dev zlib1g-dev check libjemalloc-dev ${DK_EXTRA_PACKAGES:-}"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "setup.sh: installing missing Debian packages:$missing"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup.sh: not root and no sudo: install these packages first:$missing" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  # shellcheck disable=SC2086
  $sudo apt-get install -y -q --no-install-recommends $missing
fi

[ -x configure ] || ./autogen.sh
if [ ! -f Makefile ] || [ $# -gt 0 ]; then ./configure "$@"; fi
make -j"$(nproc 2>/dev/null || echo 2)"
