#!/usr/bin/env bash
# Runs every bench script at its smallest size, quickly (a few minutes from a
# clean clone, most of it compiling): keeps the scripts from rotting. The
# numbers it prints mean nothing (debug builds, 1-second runs); they go to
# bench/results/tmp/, which git ignores. Needs Rust and Python 3; installs wrk
# with apt-get when it can, and skips the wrk and cache parts when it cannot
# (the cache part skips its Redis rows without redis-server). No Next.js.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v wrk >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get install -y -qq wrk >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }) ||
            echo "bench/smoke.sh: could not install wrk with apt-get; the wrk part will be skipped"
    else
        echo "bench/smoke.sh: wrk is missing and apt-get is not usable; the wrk part will be skipped"
    fi
fi

start=$(date +%s)
# The bench crates and trees are generated (and ignored by git).
python3 gen.py
for step in codegen build editloop devloop routing wrk cache serve; do
    python3 run.py "$step" --smoke
done
if command -v wrk >/dev/null 2>&1; then
    python3 compression.py --smoke
fi
# How long a Redis purge blocks Redis, each way (BENCHMARKS.md section 8).
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    python3 redis_purge.py --smoke
else
    echo "bench/smoke.sh: redis-server is missing; redis_purge.py skipped"
fi
echo "bench/smoke.sh: every bench script ran in $(( $(date +%s) - start )) s"
