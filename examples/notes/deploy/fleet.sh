#!/usr/bin/env bash
# A fleet of notes instances on one machine: redis-server (the shared
# cache), PostgreSQL (the shared database: notes and sessions), N notes
# instances, and nginx in front (nginx.conf beside this script). Everything
# lives in $FLEET_DIR (default /tmp/notes-fleet); Debian packages are
# installed with apt-get when missing (as root).
#
#   bash examples/notes/deploy/fleet.sh up 3       # start; prints the URL
#   bash examples/notes/deploy/fleet.sh restart 2  # drain, SIGTERM, start instance 2
#   bash examples/notes/deploy/fleet.sh restart 2 --no-drain  # SIGTERM only
#   bash examples/notes/deploy/fleet.sh scale 1    # nginx sends to instances 1..N only
#   bash examples/notes/deploy/fleet.sh down
#
# NOTES_BIN picks the notes binary (default: target/release/notes, built).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
DIR="${FLEET_DIR:-/tmp/notes-fleet}"

say() { echo "notes/fleet: $*" >&2; }
die() { say "$*"; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until `curl` gets a 2xx from $1 (up to 20 s), unless process $2 died.
wait_http() {
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || die "$1 is missing (apt-get install $2)"
    say "installing $2"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends "$2" ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2"; }; } \
        >"$DIR/apt-$2.log" 2>&1 || die "apt-get install $2 failed (see $DIR/apt-$2.log)"
    [ -n "${INSTALL_ONLY:-}" ] || command -v "$1" >/dev/null 2>&1 ||
        die "$1 is still missing after installing $2"
}

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_postgres() {
    # Debian's postgresql puts initdb and pg_ctl under /usr/lib/postgresql/V/bin.
    [ -n "$(pg_bin)" ] || INSTALL_ONLY=1 need initdb postgresql
    local bin; bin="$(pg_bin)"
    [ -x "$bin/initdb" ] || die "no initdb under /usr/lib/postgresql"
    # PostgreSQL refuses to run as root.
    local as=()
    if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
    mkdir -p "$DIR/pg" && chmod 700 "$DIR/pg"
    [ "$(id -u)" != 0 ] || chown postgres "$DIR/pg"
    "${as[@]}" "$bin/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$DIR/pg/initdb.log" 2>&1 ||
        { cat "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
    PG_PORT="$(free_port)"
    "${as[@]}" "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" \
        start >/dev/null || { cat "$DIR/pg/server.log" >&2; die "PostgreSQL did not start"; }
    echo "$bin" >"$DIR/pg/bin"
    echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" >"$DIR/database_url"
}

start_redis() {
    need redis-server redis-server
    local port; port="$(free_port)"
    # The cache's bound: evict least recently used keys past 64 MB (every
    # key the store writes has a TTL, so volatile-lru would do as well).
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --maxmemory 64mb --maxmemory-policy allkeys-lru \
        --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
    for _ in $(seq 1 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    echo "redis://127.0.0.1:$port/" >"$DIR/redis_url"
}

# start_instance I: notes instance I on its port (picked once, kept across
# restarts, so nginx's upstream list stays right).
start_instance() {
    local i="$1" port
    [ -f "$DIR/instance$i.port" ] || free_port >"$DIR/instance$i.port"
    port="$(cat "$DIR/instance$i.port")"
    HOST=127.0.0.1 PORT="$port" \
        DATABASE_URL="$(cat "$DIR/database_url")" REDIS_URL="$(cat "$DIR/redis_url")" \
        NOTES_PUBLIC_URL="http://127.0.0.1:$(cat "$DIR/nginx.port")" \
        NOTES_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn \
        "$(cat "$DIR/notes_bin")" >>"$DIR/instance$i.log" 2>&1 &
    echo $! >"$DIR/instance$i.pid"
    wait_http "http://127.0.0.1:$port/api/health" $! ||
        { tail -n 20 "$DIR/instance$i.log" >&2; die "instance $i did not start"; }
}

# stop_instance I: SIGTERM, then wait for its graceful exit (up to 35 s:
# approute's grace period is 30 s).
stop_instance() {
    local pid; pid="$(cat "$DIR/instance$1.pid")"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 350); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    die "instance $1 did not stop within 35 s of SIGTERM"
}

# nginx_config DOWN: the upstream list for instances 1..$(cat scale), with
# instance DOWN (if any) marked down; written and loaded.
nginx_config() {
    local down="${1:-}" lines="" i
    for i in $(seq 1 "$(cat "$DIR/scale")"); do
        lines+="        server 127.0.0.1:$(cat "$DIR/instance$i.port") max_fails=0$([ "$i" != "$down" ] || echo " down");"$'\n'
    done
    mkdir -p "$DIR/nginx"
    python3 - "$HERE/nginx.conf" "$DIR/nginx/nginx.conf" "$DIR" "$(cat "$DIR/nginx.port")" "$lines" <<'PY'
import sys
src, out, d, port, ups = sys.argv[1:]
text = open(src).read().replace("@DIR@", d).replace("@PORT@", port).replace("@UPSTREAMS@", ups.rstrip("\n"))
open(out, "w").write(text)
PY
    if [ -f "$DIR/nginx/nginx.pid" ] && kill -0 "$(cat "$DIR/nginx/nginx.pid")" 2>/dev/null; then
        nginx -p "$DIR/nginx" -c nginx.conf -s reload
        # Old workers finish their requests and close their upstream
        # connections; give them a moment.
        sleep 0.5
    else
        nginx -p "$DIR/nginx" -c nginx.conf
    fi
}

up() {
    local n="${1:-3}" i
    [ ! -d "$DIR" ] || down >/dev/null 2>&1 || true
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    need curl curl
    need nginx nginx-light
    if [ -n "${NOTES_BIN:-}" ]; then
        echo "$NOTES_BIN" >"$DIR/notes_bin"
    else
        (cd "$ROOT" && cargo build --release -p notes >&2)
        echo "${CARGO_TARGET_DIR:-$ROOT/target}/release/notes" >"$DIR/notes_bin"
    fi
    start_redis
    start_postgres
    free_port >"$DIR/nginx.port"
    echo "$n" >"$DIR/scale"
    for i in $(seq 1 "$n"); do start_instance "$i"; done
    nginx_config
    wait_http "http://127.0.0.1:$(cat "$DIR/nginx.port")/api/health" || die "nginx does not answer"
    say "$n instances behind http://127.0.0.1:$(cat "$DIR/nginx.port")/ (state in $DIR)"
    echo "http://127.0.0.1:$(cat "$DIR/nginx.port")"
}

# restart I [--no-drain]: takes instance I out of nginx (unless --no-drain),
# stops it with SIGTERM, starts it again and puts it back.
restart() {
    local i="$1" drain=1
    [ "${2:-}" != "--no-drain" ] || drain=0
    [ "$drain" = 0 ] || nginx_config "$i"
    stop_instance "$i"
    start_instance "$i"
    [ "$drain" = 0 ] || nginx_config
}

scale() {
    echo "$1" >"$DIR/scale"
    nginx_config
}

down() {
    local f
    [ ! -f "$DIR/nginx/nginx.pid" ] || nginx -p "$DIR/nginx" -c nginx.conf -s stop 2>/dev/null || true
    for f in "$DIR"/instance*.pid; do
        [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true
    done
    [ ! -f "$DIR/redis.pid" ] || kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    if [ -f "$DIR/pg/bin" ]; then
        local as=()
        if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
        "${as[@]}" "$(cat "$DIR/pg/bin")/pg_ctl" -D "$DIR/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    sleep 0.3
    rm -rf "$DIR"
}

case "${1:-}" in
    up) up "${2:-3}" ;;
    restart) restart "$2" "${3:-}" ;;
    scale) scale "$2" ;;
    down) down ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
