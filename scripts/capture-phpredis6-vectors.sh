#!/usr/bin/env bash
# Captures phpredis 6.x compressed session vectors into
# codec/testdata/compression_phpredis6.json, using a phpredis 6 built by
# scripts/build-phpredis6.sh and a throwaway redis-server on a free
# loopback port (stopped by pid on exit):
#
#   scripts/capture-phpredis6-vectors.sh [PHPREDIS6_OUT_DIR]
#
# PHPREDIS6_OUT_DIR defaults to ./.phpredis6.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(cd "${1:-.phpredis6}" && pwd)
[ -f "$dir/redis.so" ] || { echo "$dir/redis.so missing: run scripts/build-phpredis6.sh first" >&2; exit 2; }

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
rpid=$!
trap 'kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

$(scripts/build-phpredis6.sh --php-args "$dir") codec/testdata/gen_compression_phpredis6.php "$port" codec/testdata/compression_phpredis6.json
