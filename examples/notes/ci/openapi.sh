#!/usr/bin/env bash
# The notes service's committed OpenAPI document, checked by tools nobody
# here wrote (versions pinned, nothing cached between runs):
#   1. openapi-spec-validator (PyPI): openapi.json is a valid OpenAPI 3.1 document;
#   2. openapi-typescript + openapi-fetch (npm): a client generated from it
#      type-checks (tsc --noEmit) and signs up, creates, lists and deletes
#      a note against the running service;
#   3. Schemathesis (PyPI): a few hundred generated requests, signed in,
#      find no 5xx, no response breaking its schema, no undeclared status.
# That openapi.json is app::openapi() as built is tests/it/openapi.rs's job.
#
#   bash examples/notes/ci/openapi.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NOTES="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$NOTES/../.." && pwd)"
DOC="$NOTES/openapi.json"
VALIDATOR=openapi-spec-validator==0.9.0
SCHEMATHESIS=schemathesis==4.32.5

command -v python3 >/dev/null || { echo "notes/openapi: python3 is needed" >&2; exit 1; }
command -v node >/dev/null || { echo "notes/openapi: Node.js is needed" >&2; exit 1; }

TMP="$(mktemp -d /tmp/notes-openapi.XXXXXX)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "notes/openapi: installing $VALIDATOR and $SCHEMATHESIS" >&2
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "$VALIDATOR" "$SCHEMATHESIS"

echo "== openapi-spec-validator"
"$TMP/venv/bin/openapi-spec-validator" "$DOC"

echo "== openapi-typescript client: generate, tsc --noEmit"
cd "$HERE/client"
npm ci --no-audit --no-fund --loglevel=error --cache "$TMP/npm"
npx --no-install openapi-typescript "$DOC" -o schema.d.ts
npx --no-install tsc --noEmit
npx --no-install tsc

cd "$ROOT"
cargo build -p notes
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/notes"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
# All requests come from one address: the sign-in RATE_LIMIT is lifted.
APPROUTE_RATE_LIMITS=off HOST=127.0.0.1 PORT="$PORT" DATABASE_URL="$TMP/notes.db" \
    ARGON2_MEMORY_KIB=1024 ARGON2_ITERATIONS=1 RUST_LOG=warn \
    "$BIN" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request as u; u.urlopen('$URL/api/health', timeout=1)" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; exit 1; }
    sleep 0.1
done

echo "== openapi-fetch client against $URL"
NOTES_URL="$URL" node --test --test-reporter=spec "$HERE/client/build/client.test.js"

echo "== Schemathesis against $URL"
# Signed in as a user of its own, by its session cookie.
COOKIE="$(URL="$URL" python3 - <<'PY'
import json, os, urllib.request
body = json.dumps({"email": "schemathesis@example.com", "password": "correct horse battery"}).encode()
request = urllib.request.Request(os.environ["URL"] + "/api/auth/signup", data=body,
                                 headers={"content-type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as answer:
    print(answer.headers["set-cookie"].split(";")[0])
PY
)"
[ -n "$COOKIE" ] || { echo "notes/openapi: sign-up gave no cookie" >&2; exit 1; }
# Left out: the event stream never ends, signing out would end the session
# the rest runs in, and the legacy proxy has no service behind it here (it
# answers 503, as documented). schemathesis.toml says which methods it may
# try where a route has none.
# Run from $TMP: Schemathesis keeps a .schemathesis/ folder where it runs.
cd "$TMP"
"$TMP/venv/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$DOC" --url "$URL" -H "Cookie: $COOKIE" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --exclude-path /api/events --exclude-path /api/auth/signout --exclude-path '/api/legacy/{path}' \
    --max-examples 25 --workers 2 --request-timeout 10 --seed 1 \
    || { echo "notes/openapi: Schemathesis failed; server log:" >&2; tail -50 "$TMP/server.log" >&2; exit 1; }
