#!/usr/bin/env bash
# Runs the notes integration tests against a real PostgreSQL server: a
# throwaway cluster in a temporary folder, on a free loopback port, removed
# afterwards. Each test creates its own database on it.
#
#   bash examples/notes/ci/postgres.sh            # from anywhere
#   bash examples/notes/ci/postgres.sh crud::     # extra args go to the test binary's filter
#
# Installs Debian's `postgresql` with apt-get when no server binaries are
# found and it runs as root. As root, the server runs as the `postgres` user
# (created by that package; otherwise a system user `notes-pg` is made),
# since PostgreSQL refuses to run as root. Skips, saying why and exiting 0,
# only when no server can be installed or started; failing tests fail.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"

skip() {
    echo "notes/postgres: SKIPPED: $*" >&2
    exit 0
}

find_pg_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

PG_BIN="$(find_pg_bin || true)"
if [ -z "$PG_BIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "notes/postgres: installing postgresql with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        # The package's own cluster may fail to start without systemd; this
        # script makes its own, so that is fine.
        { apt-get update -qq && apt-get install -y -qq postgresql; } >/tmp/notes-pg-apt.log 2>&1 ||
            echo "notes/postgres: apt-get failed (see /tmp/notes-pg-apt.log)" >&2
        PG_BIN="$(find_pg_bin || true)"
    fi
fi
[ -n "$PG_BIN" ] || skip "no PostgreSQL server binaries (initdb, pg_ctl), and they could not be installed"
echo "notes/postgres: using $PG_BIN ($("$PG_BIN/postgres" --version))" >&2

# PostgreSQL will not run as root: run it as an ordinary user.
RUN=()
if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
        PG_USER=notes-pg
        id -u "$PG_USER" >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" ||
            skip "running as root and cannot create a user for PostgreSQL"
    fi
    RUN=(runuser -u "$PG_USER" --)
fi

WORK="$(mktemp -d /tmp/notes-pg.XXXXXX)"
if [ ${#RUN[@]} -gt 0 ]; then
    chown "$PG_USER" "$WORK"
fi
DATA="$WORK/data"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}
PORT="$(free_port)"

stop() {
    "${RUN[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap stop EXIT

if ! "${RUN[@]}" "$PG_BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1; then
    cat "$WORK/initdb.log" >&2
    skip "initdb failed"
fi
# Durability off: the cluster is thrown away, speed matters.
if ! "${RUN[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 \
    -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null; then
    cat "$WORK/server.log" >&2 || true
    skip "the PostgreSQL server did not start"
fi
echo "notes/postgres: server on 127.0.0.1:$PORT" >&2

export NOTES_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
cargo test -p notes --test it -- "$@"
