#!/usr/bin/env python3
"""The compression bench (issue 15): bytes and requests/s for the notes page
(examples/notes/public/index.html, compressed at build time) and a JSON list
of 60 notes (compressed per request at /api/notes; cached with REVALIDATE,
compressed once, at /cached/notes), with and without Accept-Encoding,
served by compression-app with compression on and off, and by `next start`
(its default gzip) with --next. Rows are alternated within each round.

    python3 bench/compression.py [--rounds 3] [--seconds 5] [--next] [--smoke]

Also the build cost: a release build of compression-app after touching
src/main.rs, with the compressed-file cache emptied and with it warm.
Writes results/compression.json and results/compression.md.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

NOTES_PAGE = os.path.join(run.ROOT, "examples", "notes", "public", "index.html")
ACCEPT = "gzip, deflate, br"  # what browsers send
ACCEPT_SHOWN = {ACCEPT: "gzip, deflate, br", "gzip": "gzip", None: "none"}
PATHS = [("notes page", "/index.html"), ("JSON list", "/api/notes"), ("JSON list, cached", "/cached/notes")]

NEXT_ROUTE = """// The same 60 notes as bench/compression-app, made on every request.
export const dynamic = "force-dynamic";
export function GET() {
  const notes = [];
  for (let i = 0; i < 60; i++) {
    notes.push({ id: i, title: `Note number ${i}`,
      body: "Remember to water the plants, buy milk and call home before the weekend.",
      created_at: 1790000000 + i * 3600, done: i % 3 === 0 });
  }
  return Response.json(notes);
}
"""


def wrk(port, path, accept, seconds, server):
    """One wrk run with or without Accept-Encoding: requests/s, p99, bytes
    read per answer (head and body, as wrk counts them) and the server's
    CPU time per answer."""
    pids = server.pids()
    s0 = run.proc_cpu_ticks(pids)
    argv = (["taskset", "-c", "0"] if run.PIN else []) + [
        "wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    if accept:
        argv += ["-H", f"Accept-Encoding: {accept}"]
    out = subprocess.run(argv + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    s1 = run.proc_cpu_ticks(pids)
    m = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    requests = int(m.group(1))
    read = float(m.group(2)) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[m.group(3)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk {path}: {errors.group(1)} non-2xx answers\n{out}")
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    hz = os.sysconf("SC_CLK_TCK")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99_ms": float(p99.group(1)) * run.UNITS[p99.group(2)],
        "bytes_per_answer": round(read / max(1, requests)),
        "server_cpu_us": round((s1 - s0) / hz * 1e6 / max(1, requests), 2),
    }


def body_bytes(port, path, accept):
    """The body's size on the wire and its Content-Encoding (curl)."""
    argv = ["curl", "-s", "-o", "/dev/null", "-D", "-", "-w", "%{size_download}"]
    if accept:
        argv += ["-H", f"Accept-Encoding: {accept}"]
    out = subprocess.run(argv + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    encoding = re.search(r"^content-encoding:\s*(\S+)", out, re.M | re.I)
    return int(out.rsplit("\n", 1)[-1]), encoding.group(1) if encoding else "none"


def next_server():
    """`next start` on a tiny app: the notes page in public/ and the list
    route, with Next.js's default `compress: true` (gzip)."""
    nd = os.path.join(run.TARGET, "compression-next")
    os.makedirs(os.path.join(nd, "app", "api", "notes"), exist_ok=True)
    os.makedirs(os.path.join(nd, "public"), exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(run.BENCH, "next", name), nd)
    shutil.copy(NOTES_PAGE, os.path.join(nd, "public", "index.html"))
    with open(os.path.join(nd, "app", "api", "notes", "route.js"), "w") as f:
        f.write(NEXT_ROUTE)
    env = dict(os.environ, NEXT_TELEMETRY_DISABLED="1")
    if not os.path.isdir(os.path.join(nd, "node_modules", "next")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=nd, check=True, env=env)
    print("  next build", flush=True)
    subprocess.run([os.path.join(nd, "node_modules", ".bin", "next"), "build"], cwd=nd, check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return run.Server("next start", ["node", os.path.join(nd, "node_modules", "next", "dist", "bin", "next"),
                                     "start"], cwd=nd, env={"NEXT_TELEMETRY_DISABLED": "1",
                                                            "NODE_ENV": "production"})


def build_cost():
    """Release builds of compression-app after touching src/main.rs: with
    the compressed-file cache emptied, then warm (the difference is what
    compressing the notes page at build time costs, once per content)."""
    main_rs = os.path.join(run.BENCH, "compression-app", "src", "main.rs")
    cache = os.path.join(run.TARGET, "approute", "compressed")
    profile = ["--release"] if not run.ARGS.smoke else []
    out = {"cold": [], "warm": []}
    run.cargo(["build", "-p", "compression-app", *profile])  # dependencies built before timing
    for _ in range(1 if run.ARGS.smoke else run.ARGS.rounds):
        for kind in ("cold", "warm"):
            if kind == "cold":
                shutil.rmtree(cache, ignore_errors=True)
            run.touch(main_rs)
            out[kind].append(round(run.cargo(["build", "-p", "compression-app", *profile]), 2))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="one short round, debug build")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--next", action="store_true", help="add `next start` (npm ci, next build)")
    p.add_argument("--max-load", type=float, default=0.7)
    p.add_argument("--max-wait", type=int, default=150)
    run.ARGS = args = p.parse_args()
    if args.smoke:
        args.rounds, args.seconds = 1, 1
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    run.START["machine"] = run.machine()
    print("== compression: build cost", flush=True)
    builds = build_cost()
    binary = os.path.join(run.TARGET, run.profile_dir(), "compression-app")
    servers = [
        run.Server("approute::serve", [binary]),
        run.Server("approute::serve, compression off", [binary], env={"COMPRESSION": "off"}),
    ]
    if args.next:
        servers.append(next_server())
    samples = {}
    sizes = {}
    for rnd in range(args.rounds):
        run.wait_quiet(f"round {rnd + 1}")
        for server in servers:
            port = 3940 + servers.index(server)
            server.start(port, "/index.html")
            try:
                for label, path in PATHS:
                    if server.name == "next start" and "cached" in path:
                        continue
                    # gzip alone: what `next start` sends, for a like-for-like row.
                    gzip_row = server.name == "approute::serve" and "cached" not in path
                    for accept in (ACCEPT, "gzip", None) if gzip_row else (ACCEPT, None):
                        key = f"{server.name} | {label} | {ACCEPT_SHOWN[accept]}"
                        sizes[key] = body_bytes(port, path, accept)
                        samples.setdefault(key, []).append(wrk(port, path, accept, args.seconds, server))
                        print(f"  {key}: {samples[key][-1]}", flush=True)
            finally:
                server.stop()
    rows = []
    base = {}
    for key, runs_ in samples.items():
        rps = run.med([r["rps"] for r in runs_])
        name, label, accept = key.split(" | ")
        if name == "approute::serve, compression off" and accept == "none":
            base[label] = rps
    for key, runs_ in samples.items():
        name, label, accept = key.split(" | ")
        rps = run.med([r["rps"] for r in runs_])
        size, encoding = sizes[key]
        rows.append([name, label, accept, encoding, size, run.f(rps, 0),
                     run.f(rps / base[label]) if label in base else "n/a",
                     run.f(run.med([r["p99_ms"] for r in runs_])),
                     run.f(run.med([r["server_cpu_us"] for r in runs_]), 1)])
    header = ["server", "answer", "Accept-Encoding", "sent as", "body bytes", "requests/s",
              "/ uncompressed", "p99 ms", "server CPU µs/answer"]
    text = run.table(header, rows)
    text += (f"\nBuild of compression-app after touching src/main.rs ({run.profile_dir()}, s): with the compressed-file "
             f"cache emptied {run.f(run.med(builds['cold']))}, warm {run.f(run.med(builds['warm']))} "
             f"(medians of {len(builds['cold'])}).\n")
    run.save("compression", {"samples": samples, "sizes": sizes, "builds": builds}, text)


if __name__ == "__main__":
    main()
