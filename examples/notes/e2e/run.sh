#!/usr/bin/env bash
# End-to-end test of the notes service in headless Chromium:
# installs Debian's chromium if it is missing, `npm ci`, builds the server,
# starts it on a free port with a fresh SQLite file, runs notes.test.mjs
# against it, and stops it (SIGTERM: it must exit 0 promptly, event streams
# and all). Screenshots and the server log land in e2e/artifacts/.
#
#   bash examples/notes/e2e/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "notes/e2e: installing chromium with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq chromium >/dev/null
    fi
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "notes/e2e: no Chromium at $CHROMIUM and it could not be installed" >&2
    exit 1
fi
command -v node >/dev/null || { echo "notes/e2e: Node.js is needed" >&2; exit 1; }

cd "$HERE"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p artifacts

cd "$ROOT"
cargo build -p notes
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/notes"

PORT="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
TMP="$(mktemp -d /tmp/notes-e2e.XXXXXX)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# One browser, one address: the sign-in RATE_LIMIT is lifted.
APPROUTE_RATE_LIMITS=off HOST=127.0.0.1 PORT="$PORT" DATABASE_URL="$TMP/notes.db" RUST_LOG=info \
    "$BIN" >"$HERE/artifacts/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    if node -e "fetch('$URL/api/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$HERE/artifacts/server.log" >&2; exit 1; }
    sleep 0.1
done
echo "notes/e2e: server on $URL (log: examples/notes/e2e/artifacts/server.log)" >&2

cd "$HERE"
status=0
NOTES_URL="$URL" CHROMIUM="$CHROMIUM" node --test --test-reporter=spec notes.test.mjs || status=$?

# Graceful shutdown with an event stream open: SIGTERM ends the stream
# (main.rs closes them), so the server exits 0 within a few seconds rather
# than waiting out its 30 s grace period.
STREAM_PID=""
if command -v curl >/dev/null 2>&1; then
    TOKEN="$(curl -s -i -H 'content-type: application/json' \
        -d '{"email":"shutdown@example.com","password":"correct horse"}' "$URL/api/auth/signup" |
        sed -n 's/^set-cookie: session=\([0-9a-f]*\).*/\1/Ip')"
    curl -s -N -H "cookie: session=$TOKEN" "$URL/api/events" >"$TMP/events.txt" &
    STREAM_PID=$!
    for _ in $(seq 1 50); do
        grep -q '^event: ready' "$TMP/events.txt" 2>/dev/null && break
        sleep 0.1
    done
    grep -q '^event: ready' "$TMP/events.txt" || { echo "notes/e2e: the event stream did not open" >&2; status=1; }
fi
kill -TERM "$SERVER_PID"
for _ in $(seq 1 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "notes/e2e: the server did not stop within 5 s of SIGTERM" >&2
    status=1
else
    wait "$SERVER_PID" || { echo "notes/e2e: the server exited with $?" >&2; status=1; }
fi
SERVER_PID=""
if [ -n "$STREAM_PID" ]; then
    # The stream ended with the server, so curl has exited too.
    wait "$STREAM_PID" || true
fi
[ "$status" = 0 ] && echo "notes/e2e: stopped cleanly on SIGTERM" >&2
exit "$status"
