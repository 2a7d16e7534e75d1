#!/usr/bin/env bash
# Debian packages the test suite uses: headless Chromium for the page tests,
# espeak-ng to speak Vietnamese test audio, and PostgreSQL's server binaries for the
# PostgreSQL variants of the storage tests (tests/pg.py starts a throwaway cluster
# from /usr/lib/postgresql/*/bin; Debian's own cluster is not used). Installs only
# what is missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
if ! command -v pg_ctl >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  need+=(postgresql)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install: ${need[*]} (Debian/Ubuntu package names)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing ${need[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
