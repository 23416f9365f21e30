#!/usr/bin/env bash
# CI test of the fleet: fleet.sh starts redis-server, PostgreSQL, 3 notes
# instances (the debug build) and nginx; fleet_test.py checks them through
# nginx (shared sessions and sign-in lockout, fleet-wide purges, rolling
# restarts under load, requests/s for 1-3 instances); everything is stopped
# afterwards.
#
#   bash examples/notes/deploy/test.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
export FLEET_DIR="${FLEET_DIR:-$(mktemp -d /tmp/notes-fleet.XXXXXX)}"
# Below the sign-in route's RATE_LIMIT (10 a minute), so the lockout check
# meets the lockout first; the instances inherit it.
export SIGNIN_MAX_FAILURES=5

if ! command -v wrk >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "notes/fleet: wrk is missing (apt-get install wrk)" >&2; exit 1; }
    { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >/dev/null
fi

(cd "$ROOT" && cargo build -p notes)
export NOTES_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/notes"
trap 'bash "$HERE/fleet.sh" down' EXIT
URL="$(bash "$HERE/fleet.sh" up 3)"
python3 "$HERE/fleet_test.py" "$URL"
