#!/usr/bin/env bash
# The Debian packages the test suite needs, checked before `make test` runs pytest. As root on a machine
# with apt, the missing ones are installed; otherwise it stops at once with the one command to run.
#   chromium               the browser tests (the rendered book, the hub's pages), at /usr/bin/chromium
#   bubblewrap             the grading sandbox
#   postgresql             the PostgreSQL gradebook test (a server started inside the test)
#   dataset-fashion-mnist  the data tests
#   npm                    the book's offline MathJax and widget scripts, the hub's proxy
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v bwrap >/dev/null || missing+=(bubblewrap)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages the tests need: ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "make test needs these Debian packages: ${missing[*]}. Install them, then run make test again:" >&2
echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
exit 1
