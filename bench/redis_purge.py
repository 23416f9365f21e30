#!/usr/bin/env python3
"""How long a path purge blocks Redis, for each way of doing it, with N
answers under one path (N distinct query strings): what chose the Redis
store's generation tokens (runtime/src/cache/redis.rs).

Redis runs one command at a time, so a command's duration is how long every
other client waits. Redis measures it itself: SLOWLOG with a threshold of 0
logs every command with its duration in microseconds. The ways:

- script:     one Lua script drops every entry the path's index names
              (the store before issue 18);
- chunked:    the index popped 500 at a time, each chunk UNLINKed;
- scan:       SCAN MATCH over the whole keyspace, 1000 at a time, UNLINK;
- generation: the path's generation token changes (EXISTS + HSET in a
              script); entries made under the old token are no longer
              served and expire on their own.

Needs redis-server and redis-cli (apt-get install redis-server).
Usage: python3 bench/redis_purge.py [--entries 50000] [--smoke]
"""

import argparse
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

OLD_PURGE = """
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, key in ipairs(keys) do
  redis.call('DEL', ARGV[1] .. key)
end
redis.call('DEL', KEYS[1])
return #keys
"""

GENERATION_PURGE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Redis:
    def __init__(self, port):
        self.port = port

    def cli(self, *args):
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *map(str, args)],
            check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def pipe(self, commands):
        subprocess.run(["redis-cli", "-p", str(self.port), "--pipe"],
                       input=b"".join(commands), check=True, capture_output=True)

    def slowlog(self):
        """(command, microseconds) of every command since the last reset."""
        raw = self.cli("--json", "SLOWLOG", "GET", "-1")
        import json
        entries = json.loads(raw)
        return [(e[3][0].lower(), int(e[2])) for e in entries]


def fill(r, n, layout):
    body = b"x" * 500
    cmds = []
    for i in range(n):
        key = f"127.0.0.1/notes?page={i}"
        if layout == "index":
            cmds.append(resp("SET", f"c:e:{key}", body, "EX", 86460))
            cmds.append(resp("ZADD", "c:p:/notes", 2_000_000_000, key))
        else:
            cmds.append(resp("HSET", f"c:e:{key}", "a", body, "n", 1,
                             "k1", "c:g:p:/notes", "x1", "t0", "s1", "t0"))
            cmds.append(resp("EXPIRE", f"c:e:{key}", 86460))
    if layout == "generation":
        cmds.append(resp("HSET", "c:g:p:/notes", "x", "t0", "s", "t0"))
    # Other apps' keys, so SCAN has a keyspace to walk.
    for i in range(n):
        cmds.append(resp("SET", f"other:{i}", "y"))
    r.pipe(cmds)


def purge(r, way):
    if way == "script":
        r.cli("EVAL", OLD_PURGE, 1, "c:p:/notes", "c:e:")
    elif way == "chunked":
        while True:
            popped = r.cli("ZPOPMIN", "c:p:/notes", 500).split("\n")
            members = [m for m in popped[0::2] if m]
            if not members:
                break
            r.cli("UNLINK", *[f"c:e:{m}" for m in members])
    elif way == "scan":
        cursor = "0"
        while True:
            out = r.cli("SCAN", cursor, "MATCH", "c:e:*/notes?*", "COUNT", 1000).split("\n")
            cursor, keys = out[0], [k for k in out[1:] if k]
            if keys:
                r.cli("UNLINK", *keys)
            if cursor == "0":
                break
    elif way == "generation":
        r.cli("EVAL", GENERATION_PURGE, 1, "c:g:p:/notes", "x", "t1")


def measure(port, n, way):
    r = Redis(port)
    r.cli("FLUSHALL")
    fill(r, n, "generation" if way == "generation" else "index")
    r.cli("CONFIG", "SET", "slowlog-log-slower-than", 0)
    r.cli("CONFIG", "SET", "slowlog-max-len", 100000)
    r.cli("SLOWLOG", "RESET")
    started = time.perf_counter()
    purge(r, way)
    wall = time.perf_counter() - started
    log = [(c, us) for c, us in r.slowlog() if c not in ("slowlog", "config")]
    left = int(r.cli("DBSIZE")) - n
    return {
        "way": way,
        "commands": len(log),
        "longest_us": max(us for _, us in log),
        "total_us": sum(us for _, us in log),
        "wall_ms": wall * 1000,
        "entries_left": left,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    n = 2_000 if args.smoke else args.entries
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.02)
        rows = [measure(port, n, way) for way in ("script", "chunked", "scan", "generation")]
    finally:
        server.kill()
        server.wait()
    base = rows[0]["longest_us"]
    lines = [
        f"Purging one path with {n} answers (one per query string) and {n} other keys;",
        "Redis's own SLOWLOG durations. `longest` is how long Redis was blocked at once.",
        "",
        "| way | commands (a script's own too) | longest (us) | longest vs script | Redis time, all (us) | entries left to expire |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['way']} | {row['commands']} | {row['longest_us']} | "
            f"{row['longest_us'] / base:.4f} | {row['total_us']} | {max(row['entries_left'], 0)} |")
    text = "\n".join(lines)
    print(text)
    out = os.path.join(HERE, "results", "tmp" if args.smoke else "", "purge.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
