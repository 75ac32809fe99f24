#!/usr/bin/env bash
# The browser and proxy tests need Debian's chromium and nginx, docker-compose validates
# docker-compose.yml (no daemon needed), the metrics system test runs Debian's prometheus, and
# the Redis store's tests start Debian's redis-server on a free port (never a system service). Installs them when missing and
# we are root (as on CI and these machines); otherwise says exactly what to run.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || missing+=(prometheus)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "tokenwire: installing ${missing[*]} for the browser and proxy tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "tokenwire: the tests need ${missing[*]}: run  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
