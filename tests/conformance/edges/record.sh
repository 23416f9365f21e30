#!/usr/bin/env bash
# Rebuilds the Next.js 14.2.35 reference app for ../tree.json + ./tree.json and
# records golden-next14.jsonl from requests.txt. Needs node (20.x was used),
# npm and python3; only the npm registry is contacted, the server listens on
# 127.0.0.1 only.
#   tests/conformance/edges/record.sh [WORKDIR] [PORT]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${1:-/tmp/next-edges}"
PORT="${2:-3914}"
export NEXT_TELEMETRY_DISABLED=1
mkdir -p "$WORK"
cd "$WORK"
if [ ! -x node_modules/.bin/next ]; then
  # the same pinned lock file as bench/next (next 14.2.35, react 18.3.1)
  cp "$HERE/../../../bench/next/package.json" "$HERE/../../../bench/next/package-lock.json" .
  timeout 600 npm ci --no-audit --no-fund
fi
rm -rf .next
python3 "$HERE/build_app.py" "$WORK"
timeout 600 ./node_modules/.bin/next build
NODE_ENV=production ./node_modules/.bin/next start -H 127.0.0.1 -p "$PORT" > server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),timeout=1)" 2>/dev/null && break
  sleep 0.5
done
# sanity: the app still answers the base requests as the base golden says
timeout 300 python3 "$HERE/../probe.py" 127.0.0.1 "$PORT" > base-rerun.jsonl
python3 "$HERE/../compare.py" "$HERE/../golden-next14.jsonl" base-rerun.jsonl | tail -1
timeout 600 python3 "$HERE/probe_edges.py" 127.0.0.1 "$PORT" > "$HERE/golden-next14.jsonl"
wc -l "$HERE/golden-next14.jsonl"
node --version
./node_modules/.bin/next --version
