#!/usr/bin/env python3
"""Runs the approute benchmarks and writes their numbers to bench/results/.

    python3 bench/run.py wrk       [--rounds 3] [--seconds 10] [--next] [--sizes 50,1000]
    python3 bench/run.py routing   [--rounds 3]
    python3 bench/run.py codegen   [--sizes 100,1000,5000]
    python3 bench/run.py build     [--rounds 3] [--sizes 50,1000]
    python3 bench/run.py editloop  [--rounds 3]
    python3 bench/run.py devloop   [--rounds 5]   (cargo approute dev against next dev)
    python3 bench/run.py cache     [--rounds 3] [--seconds 10]
    python3 bench/run.py serve     [--rounds 5] [--seconds 5] [--before EXE]
    python3 bench/run.py all       (every one of the above, long runs, ~1 hour)
    add --smoke to any: smallest size, one short round, debug builds, no
    waiting for a quiet machine (bench/smoke.sh runs them all like that).

Each writes results/NAME.json (every sample) and results/NAME.md (the
medians and ratios as a Markdown table, pasted into ../BENCHMARKS.md).

Measured rounds wait until the 1-minute load average is below --max-load
(0.7) first, and record the load and the CPU time other processes took just
before each measurement, so a result taken on a busy machine says so.
"""

import argparse
import datetime
import glob
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TARGET = os.path.join(BENCH, "target")
RESULTS = os.path.join(BENCH, "results")
sys.path.insert(0, BENCH)
import gen  # noqa: E402

ARGS = None
LOAD_LOG = []
START = {}


# ---------------------------------------------------------------- machine


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    git = lambda *a: subprocess.run(["git", "-C", ROOT, *a], capture_output=True, text=True).stdout.strip()  # noqa: E731
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "approute_sources_modified": bool(git("status", "--porcelain", "--", "codegen", "runtime", "route-macros")),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "rustc": rustc,
    }


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_times():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return idle, sum(parts)


def busy(seconds=1.0):
    """Share of the machine's CPU time used in the next `seconds` (by
    others: call it while nothing of ours runs)."""
    i0, t0 = cpu_times()
    time.sleep(seconds)
    i1, t1 = cpu_times()
    return round(1 - (i1 - i0) / max(1, t1 - t0), 3)


def wait_quiet(phase):
    """Waits until the 1-minute load average is below --max-load (our own
    last round counts too: it decays in about a minute). Gives up after
    --max-wait seconds and records that the round ran under load."""
    if ARGS.smoke:
        return
    start = time.time()
    first = loadavg()
    while loadavg() >= ARGS.max_load and time.time() - start < ARGS.max_wait:
        time.sleep(5)
    entry = {
        "phase": phase,
        "load_at_start": first,
        "load_when_run": loadavg(),
        "waited_s": round(time.time() - start),
        "under_load": loadavg() >= ARGS.max_load,
    }
    LOAD_LOG.append(entry)
    print(f"  [{phase}] load {entry['load_when_run']:.2f} after waiting {entry['waited_s']} s"
          + (" (UNDER LOAD)" if entry["under_load"] else ""), flush=True)


def quiet_moment(limit=0.25, max_wait=90):
    """Waits until other processes took less than `limit` of the CPU in the
    last half second (others' builds come and go in bursts); returns their
    share then and how long it waited."""
    start = time.time()
    other = busy(0.5)
    while not ARGS.smoke and other > limit and time.time() - start < max_wait:
        time.sleep(2)
        other = busy(0.5)
    return other, round(time.time() - start, 1)


def save(name, data, table):
    os.makedirs(RESULTS, exist_ok=True)
    if ARGS.smoke:
        name = f"smoke-{name}"
        path = os.path.join(RESULTS, "tmp")
        os.makedirs(path, exist_ok=True)
    else:
        path = RESULTS
    data = {"machine": machine(), "machine_at_start": START.get("machine"), "args": vars(ARGS), "load": LOAD_LOG,
            **data}
    with open(os.path.join(path, f"{name}.json"), "w") as f:
        json.dump(data, f, indent=1)
    head = f"<!-- bench/run.py {name}: {data['machine']['date']}, {data['machine']['cores']} cores, {data['machine']['cpu']} -->\n"
    with open(os.path.join(path, f"{name}.md"), "w") as f:
        f.write(head + table)
    print(table, flush=True)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def table(header, rows):
    out = "| " + " | ".join(header) + " |\n|" + "|".join("---" for _ in header) + "|\n"
    for r in rows:
        out += "| " + " | ".join(str(c) for c in r) + " |\n"
    return out


def f(x, digits=2):
    if isinstance(x, float) and x != x:
        return "n/a"
    return f"{x:.{digits}f}"


# ---------------------------------------------------------------- cargo


def cargo(args, env=None, target_dir=None, quiet=True):
    e = dict(os.environ)
    e.update(env or {})
    if target_dir:
        e["CARGO_TARGET_DIR"] = target_dir
    t = time.perf_counter()
    p = subprocess.run(["cargo", *args], cwd=BENCH, env=e,
                       stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.STDOUT if quiet else None, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        if quiet:
            print(p.stdout[-6000:])
        raise SystemExit(f"cargo {' '.join(args)} failed")
    return elapsed


def generate(*flags):
    subprocess.run([sys.executable, os.path.join(BENCH, "gen.py"), *flags], check=True)


def gen_app_name(n):
    return f"gen-{n}"


def profile_dir():
    return "debug" if ARGS.smoke else "release"


def build_apps(names):
    args = ["build", "-p", *" -p ".join(names).split()]
    if not ARGS.smoke:
        args.append("--release")
    print(f"  cargo {' '.join(args)}", flush=True)
    cargo(args, quiet=False)


# ---------------------------------------------------------------- servers


PIN = shutil.which("taskset") is not None


class Server:
    def __init__(self, name, argv, cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = env or {}
        self.proc = None
        self.stderr = None  # a file for the server's stderr, else /dev/null

    def start(self, port, probe):
        env = dict(os.environ)
        env.update(self.env)
        env["PORT"] = str(port)
        argv = (["taskset", "-c", "1"] if PIN else []) + self.argv
        self.port = port
        self.proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr or subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.proc.returncode}")
            try:
                status, _ = get(port, probe)
                if status:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{self.name} did not answer on port {port}")

    def pids(self):
        """The server's process and all its descendants (`next start` runs
        a tree of node processes)."""
        children = {}
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
            except (OSError, IndexError):
                pass
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def rss_kib(self):
        """VmRSS of the server and all its descendants, in KiB."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as fh:
                    m = re.search(r"VmRSS:\s+(\d+) kB", fh.read())
                    total += int(m.group(1)) if m else 0
            except OSError:
                pass
        return total

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def proc_cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total


def wrk(port, path, seconds, connections, server=None):
    """One wrk run; with `server`, also the share of the machine's CPU that
    other processes (not wrk, not the server) took during it."""
    pids = server.pids() if server else []
    i0, t0 = cpu_times()
    s0 = proc_cpu_ticks(pids)
    r0 = os.times()
    argv = (["taskset", "-c", "0"] if PIN else []) + [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    i1, t1 = cpu_times()
    s1 = proc_cpu_ticks(pids)
    r1 = os.times()
    hz = os.sysconf("SC_CLK_TCK")
    ours = (s1 - s0) + ((r1.children_user + r1.children_system) - (r0.children_user + r0.children_system)) * hz
    busy_all = (t1 - t0) - (i1 - i0)
    others = max(0.0, (busy_all - ours) / max(1, t1 - t0))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk {path}: {errors.group(1)} non-2xx answers\n{out}")
    res = {"rps": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"), "others_during": round(others, 3)}
    requests = re.search(r"(\d+) requests in", out)
    res["requests"] = int(requests.group(1)) if requests else 0
    if server and requests and int(requests.group(1)):
        # The server's own CPU time per answer: what it costs, even where
        # the one wrk thread, not the server, sets the requests/s.
        res["server_cpu_us"] = round((s1 - s0) / hz * 1e6 / int(requests.group(1)), 2)
    return res


# ---------------------------------------------------------------- wrk


def resource(n):
    return 1 if n == 10 else n // 6 // 2


PATHS = [("static", "/api/res{k}"), ("[id]", "/api/res{k}/42"), ("[...x]", "/api/res{k}/files/a/b/c")]


def next_ready():
    nd = os.path.join(BENCH, "next")
    env = dict(os.environ, NEXT_TELEMETRY_DISABLED="1")
    if not os.path.isdir(os.path.join(nd, "node_modules")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=nd, check=True, env=env)
    print("  next build", flush=True)
    subprocess.run([os.path.join(nd, "node_modules", ".bin", "next"), "build"], cwd=nd, check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return Server("next", ["node", os.path.join(nd, "node_modules", "next", "dist", "bin", "next"), "start"],
                  cwd=nd, env={"NEXT_TELEMETRY_DISABLED": "1", "NODE_ENV": "production"})


def cmd_wrk():
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk): skipping the wrk runs")
        return
    sizes = ARGS.sizes or ([10, 50] if ARGS.smoke else [50, 1000])
    seconds = ARGS.seconds or (1 if ARGS.smoke else 10)
    warm = 1 if ARGS.smoke else 3
    rounds = ARGS.rounds or (1 if ARGS.smoke else 3)
    generate()
    gen_apps = {n: gen_app_name(n) for n in sizes}
    build_apps([a for n in sizes for a in (gen_apps[n], f"hand-{n}", f"hyper-{n}")])
    nxt = next_ready() if ARGS.next else None
    samples = []
    port = 3811
    for n in sizes:
        k = resource(n)
        paths = [(kind, p.replace("{k}", str(k))) for kind, p in PATHS]
        servers = [Server(kind, [os.path.join(TARGET, profile_dir(), gen_apps[n] if kind == "gen" else f"{kind}-{n}")])
                   for kind in ("gen", "hand", "hyper")]
        if nxt and n == gen.NEXT_SIZE:
            servers.append(nxt)
        # Same answers everywhere, or the numbers mean nothing.
        answers = {}
        for s in servers:
            port += 1
            s.start(port, paths[0][1])
            answers[s.name] = [get(port, p) for _, p in paths]
            s.stop()
        first = answers["gen"]
        for name, a in answers.items():
            if a != first:
                raise SystemExit(f"{name} answers {a}, gen answers {first}")
        for r in range(rounds):
            wait_quiet(f"wrk {n} routes, round {r + 1}")
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for s in order:
                port += 1
                s.start(port, paths[0][1])
                for _, p in paths:
                    wrk(port, p, warm, ARGS.connections)
                for kind, p in paths:
                    other, waited = quiet_moment()
                    res = wrk(port, p, seconds, ARGS.connections, s)
                    res.update(size=n, server=s.name, round=r + 1, route=kind, path=p, busy_before=other,
                               waited_s=waited)
                    samples.append(res)
                    print(f"  {n:>5} {s.name:<6} r{r + 1} {kind:<7} {res['rps']:>10.0f} req/s  "
                          f"p50 {res['p50_ms']:.3f} ms  p99 {res['p99_ms']:.3f} ms  (others took {other:.0%} before, "
                          f"{res['others_during']:.0%} during)",
                          flush=True)
                rss = s.rss_kib()
                samples.append({"size": n, "server": s.name, "round": r + 1, "rss_kib": rss})
                s.stop()

    def clean(x):
        return x.get("others_during", 0) <= ARGS.max_others

    def m(n, server, route, key):
        xs = [x for x in samples if x["size"] == n and x["server"] == server and x.get("route") == route]
        return med([x[key] for x in xs if clean(x)] or [x[key] for x in xs])

    rows, ratio_rows, rss_rows = [], [], []
    for n in sizes:
        names = [s for s in ("gen", "hand", "hyper", "next") if any(x["server"] == s and x["size"] == n for x in samples)]
        for kind, _ in PATHS:
            for s in names:
                cpu = [x.get("server_cpu_us") for x in samples if x["size"] == n and x["server"] == s
                       and x.get("route") == kind and x.get("server_cpu_us") is not None]
                rows.append([n, kind, s, f"{m(n, s, kind, 'rps'):.0f}", f(m(n, s, kind, "p50_ms"), 3),
                             f(m(n, s, kind, "p99_ms"), 3), f(med(cpu), 2) if cpu else ""])
            g_rps, g_p99 = m(n, "gen", kind, "rps"), m(n, "gen", kind, "p99_ms")
            row = [n, kind, f(g_rps / m(n, "hand", kind, "rps"), 3), f(g_p99 / m(n, "hand", kind, "p99_ms"), 3),
                   f(g_rps / m(n, "hyper", kind, "rps"), 3), f(m(n, "hyper", kind, "rps") / m(n, "hand", kind, "rps"), 3)]
            row += ([f(m(n, "next", kind, "rps") / g_rps, 3), f(m(n, "next", kind, "p99_ms") / g_p99, 2)]
                    if "next" in names else ["", ""])

            def cpu(server):
                xs = [x["server_cpu_us"] for x in samples if x["size"] == n and x["server"] == server
                      and x.get("route") == kind and "server_cpu_us" in x]
                return med(xs)
            row += [f(cpu("gen") / cpu("hand"), 3), f(cpu("hyper") / cpu("gen"), 3)]
            ratio_rows.append(row)
        rss = {s: med([x["rss_kib"] for x in samples if x["size"] == n and x["server"] == s and "rss_kib" in x])
               for s in names}
        rss_rows.append([n] + [f"{rss[s] / 1024:.1f}" if s in rss else "" for s in ("gen", "hand", "hyper", "next")]
                        + [f(rss["next"] / rss["gen"], 1) if "next" in rss else ""])
    dropped = [x for x in samples if "rps" in x and not clean(x)]
    text = (f"{len(dropped)} of {sum('rps' in x for x in samples)} runs left out of the medians: other processes "
             f"took more than {ARGS.max_others:.0%} of the machine's CPU during them (all are in wrk.json).\n\n")
    text += (f"wrk -t1 -c{ARGS.connections}, {seconds} s per run (after {warm} s warm-up per route), "
            f"{rounds} round(s), servers alternated; " + ("server pinned to CPU 1, wrk to CPU 0; " if PIN else "")
            + f"{'debug' if ARGS.smoke else 'release'} builds. Medians.\n\n")
    text += table(["routes", "route", "server", "req/s", "p50 ms", "p99 ms", "server CPU µs/request"], rows) + "\n"
    text += table(["routes", "route", "gen/hand req/s", "gen/hand p99", "gen/hyper req/s", "hyper/hand req/s",
                   "next/gen req/s", "next/gen p99", "gen/hand server CPU", "hyper/gen server CPU"], ratio_rows) + "\n"
    text += table(["routes", "gen RSS MiB", "hand RSS MiB", "hyper RSS MiB", "next RSS MiB", "next/gen RSS"], rss_rows)
    save("wrk", {"samples": samples}, text)


# ---------------------------------------------------------------- routing


def criterion_medians():
    out = {}
    for est in glob.glob(os.path.join(TARGET, "criterion", "**", "new", "estimates.json"), recursive=True):
        key = os.path.relpath(os.path.dirname(os.path.dirname(est)), os.path.join(TARGET, "criterion"))
        with open(est) as fh:
            out[key] = json.load(fh)["median"]["point_estimate"]
    return out


def cmd_routing():
    generate()
    if ARGS.smoke:
        # Each benchmark once, debug build, 10 routes: keeps the bench compiling and its checks passing.
        cargo(["test", "-p", "routing", "--benches"], quiet=False)
        return
    rounds = ARGS.rounds or 3
    cargo(["bench", "-p", "routing", "--features", "large", "--no-run"], quiet=False)
    runs = []
    for r in range(rounds):
        wait_quiet(f"routing round {r + 1}")
        shutil.rmtree(os.path.join(TARGET, "criterion"), ignore_errors=True)
        cargo(["bench", "-p", "routing", "--features", "large"], quiet=False)
        runs.append(criterion_medians())
    keys = sorted(set().union(*runs))
    medians = {k: med([run[k] for run in runs if k in run]) for k in keys}
    rows = []
    for group in ("route_static", "route_dynamic", "route_catchall"):
        for n in (10, 100, 1000):
            a, b = medians.get(f"{group}/approute/{n}"), medians.get(f"{group}/axum/{n}")
            if a and b:
                rows.append([group.replace("route_", ""), n, f(a, 0), f(b, 0), f(a / b, 3)])
    p, h = medians.get("extract_2_params/params"), medians.get("extract_2_params/path_hashmap")
    text = (f"criterion, `Router::oneshot` per request on a current-thread tokio runtime, each router made "
             f"`with_state(())` first (as `axum::serve` does); median of {rounds} runs' medians, ns per request.\n\n")
    text += table(["route", "routes", "approute ns", "hand axum ns", "ratio"], rows)
    if p and h:
        text += "\n" + table(["extractor (2 params)", "ns", "ratio to Path<HashMap>"],
                             [["approute::Params", f(p, 0), f(p / h, 3)], ["Path<HashMap<String, String>>", f(h, 0), "1"]])
    save("routing", {"runs": runs, "medians": medians}, text)


# ---------------------------------------------------------------- codegen


def write_tree(n):
    d = os.path.join(TARGET, "codegen-trees", f"r{n}")
    if not os.path.isdir(d):
        for r in gen.tree(n):
            p = os.path.join(d, "app", *r.folders, "route.rs")
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as fh:
                fh.write(r.handler("GET", "approute::axum"))
    return d


def fit(xs, ys):
    """Least squares y = a + b x, and r^2."""
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ss = sum((y - my) ** 2 for y in ys)
    res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    return a, b, 1 - res / ss if ss else 1.0


def cmd_codegen():
    sizes = ARGS.sizes or ([100] if ARGS.smoke else [100, 1000, 2000, 5000])
    reps = 2 if ARGS.smoke else 7
    # The proc macro runs codegen built with the build-override profile:
    # opt-level 0 unless the app's Cargo.toml says otherwise, in debug *and*
    # release builds. So the unoptimized numbers are the ones a build pays.
    profiles = [("debug", [])] if ARGS.smoke else [("opt-level 0 (as in a default build)", []),
                                                     ("opt-level 3", ["--release"])]
    results = {}
    for label, flags in profiles:
        cargo(["build", "-p", "codegen-bench", *flags])
        exe = os.path.join(TARGET, "release" if flags else "debug", "codegen-bench")
        for n in sizes:
            d = write_tree(n)
            wait_quiet(f"codegen {n} ({label})")
            out = subprocess.run([exe, d, str(reps)], capture_output=True, text=True, check=True).stdout
            r = json.loads(out)
            r["load_ms"] = med(r["load_us"]) / 1000
            r["macro_ms"] = med(r["macro_us"]) / 1000
            r["generate_ms"] = med(r["generate_us"]) / 1000
            results[f"{label}/{n}"] = r
            print(f"  {label:<36} {n:>5} files: load {r['load_ms']:.1f} ms, macro {r['macro_ms']:.1f} ms, "
                  f"formatted {r['generate_ms']:.1f} ms", flush=True)
    rows, fits, stages = [], [], []
    for label, _ in profiles:
        xs = [n for n in sizes]
        ys = [results[f"{label}/{n}"]["macro_ms"] for n in sizes]
        for n in sizes:
            r = results[f"{label}/{n}"]
            rows.append([label, n, f(r["load_ms"], 1), f(r["macro_ms"] - r["load_ms"], 1), f(r["macro_ms"], 1),
                         f(r["macro_ms"] / n * 1000, 1), f(r["generate_ms"], 1), f"{r['generated_bytes'] / 1024:.0f}"])
            st = {k: med(r[f"{k}_us"]) / 1000 for k in ("load", "emit", "reparse", "unparse")}
            stages.append([label, n] + [f(st[k], 1) for k in ("load", "emit", "reparse", "unparse")]
                          + [f(st["load"] + st["emit"], 1)])
        if len(sizes) > 2:
            a, b, r2 = fit(xs, ys)
            fits.append([label, f(a, 1), f(b * 1000, 1), f(r2, 4)])
    text = (f"What `approute::app!` runs (`approute_codegen::generate_source`) on N route files "
            f"(the tree of bench/gen.py), median of {reps} runs; `formatted` is `generate` (adds a syn re-parse and "
            "prettyplease, for people and tests).\n\n")
    text += table(["build", "files", "load ms", "emit ms", "macro ms", "macro ms per 1,000 files",
                   "formatted ms", "formatted KiB"], rows)
    if fits:
        text += "\n" + table(["build", "fit: fixed ms", "fit: ms per 1,000 files", "r²"], fits)
    text += ("\nThe stages one by one, ms: `reparse` (syn::parse_file of the emitted text) and `unparse` "
             "(prettyplease) only format the code (`generate`); the macro runs load and emit.\n\n")
    text += table(["build", "files", "load", "emit", "reparse", "unparse", "load+emit"], stages)
    save("codegen", {"results": results}, text)


# ---------------------------------------------------------------- build


def route_file(app, n):
    """The file to touch in each app: the [id] route of the middle resource."""
    k = resource(n)
    if app.startswith("gen"):
        return os.path.join(BENCH, "apps", app, "app", "api", f"res{k}", "[id]", "route.rs")
    return os.path.join(BENCH, "apps", app, "src", "routes", f"res{k}_dynamic.rs")


NEW_ROUTE = 'pub async fn {fn}() -> &\'static str {{\n    "{word}"\n}}\n'


def add_route(app, word):
    """Adds a route serving `word` at /api/{word}; returns an undo."""
    d = os.path.join(BENCH, "apps", app)
    if app.startswith("gen"):
        p = os.path.join(d, "app", "api", word, "route.rs")
        os.makedirs(os.path.dirname(p))
        with open(p, "w") as fh:
            fh.write(NEW_ROUTE.format(fn="GET", word=word))

        def undo():
            shutil.rmtree(os.path.dirname(p))
        return undo
    p = os.path.join(d, "src", "routes", f"{word}.rs")
    with open(p, "w") as fh:
        fh.write(NEW_ROUTE.format(fn="get", word=word))
    main = os.path.join(d, "src", "main.rs")
    with open(main) as fh:
        old = fh.read()
    new = old.replace("mod routes {\n", f"mod routes {{\n    pub mod {word};\n", 1)
    new = new.replace("    Router::new()\n", f'    Router::new()\n        .route("/api/{word}", get(routes::{word}::get))\n', 1)
    with open(main, "w") as fh:
        fh.write(new)

    def undo():
        os.remove(p)
        with open(main, "w") as fh:
            fh.write(old)
    return undo


def touch(path):
    now = time.time()
    os.utime(path, (now, now))


def cmd_build():
    sizes = ARGS.sizes or ([10] if ARGS.smoke else [50, 1000])
    rounds = ARGS.rounds or (1 if ARGS.smoke else 3)
    generate()
    samples = []
    apps = lambda n: [f"gen-{n}", f"hand-{n}"]  # noqa: E731
    cargo(["build", *sum((["-p", a] for n in sizes for a in apps(n)), [])])  # deps built, untimed
    for n in sizes:
        for r in range(rounds):
            wait_quiet(f"build {n} routes, round {r + 1}")
            order = apps(n) if r % 2 == 0 else apps(n)[::-1]
            for app in order:
                rec = {"size": n, "app": app.split("-")[0], "round": r + 1}
                if not ARGS.smoke and n == sizes[0]:
                    # From nothing: every dependency too, in a target dir of its own.
                    scratch = os.path.join(TARGET, "scratch", app)
                    shutil.rmtree(scratch, ignore_errors=True)
                    quiet_moment()
                    rec["scratch_s"] = cargo(["build", "-p", app], target_dir=scratch)
                    shutil.rmtree(scratch, ignore_errors=True)
                cargo(["clean", "-p", app])
                rec["busy"] = [quiet_moment()[0]]
                rec["clean_s"] = cargo(["build", "-p", app])
                touch(route_file(app, n))
                rec["busy"].append(quiet_moment()[0])
                rec["touch_s"] = cargo(["build", "-p", app])
                undo = add_route(app, f"added{r}")
                rec["busy"].append(quiet_moment()[0])
                rec["add_s"] = cargo(["build", "-p", app])
                undo()
                cargo(["build", "-p", app])
                samples.append(rec)
                print(f"  {n:>5} {app:<10} r{r + 1} " + "  ".join(
                    f"{k} {v:.2f}" for k, v in rec.items() if k.endswith("_s")), flush=True)
    rows = []
    for n in sizes:
        for key, what in [("scratch_s", "clean, every dependency too"), ("clean_s", "clean app crate (deps built)"),
                          ("touch_s", "touch one route file"), ("add_s", "add one route file")]:
            g = med([s[key] for s in samples if s["size"] == n and s["app"] == "gen" and key in s])
            h = med([s[key] for s in samples if s["size"] == n and s["app"] == "hand" and key in s])
            if g == g:
                rows.append([n, what, f(g), f(h), f(g / h, 3)])
    text = (f"`cargo build` (dev profile), seconds, median of {rounds} alternated round(s). Adding a route to "
            "the hand-written app means a new file plus two lines in main.rs (`mod` and `.route`).\n\n")
    text += table(["routes", "build", "approute s", "hand axum s", "ratio"], rows)
    save("build", {"samples": samples}, text)


# ---------------------------------------------------------------- edit loop

EDIT_CONFIGS = {
    # rustc 1.90+ links x86_64 Linux with its own rust-lld by default.
    "default": {},
    "mold": {"link": "-C link-arg=-fuse-ld=mold"},
    "line-tables-only": {"env": {"CARGO_PROFILE_DEV_DEBUG": "line-tables-only"}},
    "debug = 0": {"env": {"CARGO_PROFILE_DEV_DEBUG": "0"}},
    "mold + line-tables-only": {"link": "-C link-arg=-fuse-ld=mold",
                                "env": {"CARGO_PROFILE_DEV_DEBUG": "line-tables-only"}},
}


def cmd_editloop():
    n = 10 if ARGS.smoke else 50
    rounds = ARGS.rounds or (1 if ARGS.smoke else 3)
    configs = ["default"] if ARGS.smoke else list(EDIT_CONFIGS)
    if not ARGS.smoke and not shutil.which("mold"):
        print("mold is not installed (apt-get install -y mold): leaving its configs out")
        configs = [c for c in configs if "mold" not in EDIT_CONFIGS[c].get("link", "")]
    apps = [f"gen-{n}"] if ARGS.smoke else [f"gen-{n}", f"hand-{n}"]
    generate()
    log = os.path.join(TARGET, "timed-cc.log")
    cc = os.path.join(BENCH, "tools", "timed-cc")

    def setup(config, app):
        c = EDIT_CONFIGS[config]
        flags = f"-C linker={cc} " + c.get("link", "")
        env = {"RUSTFLAGS": flags.strip(), "TIMED_CC_LOG": log, **c.get("env", {})}
        tdir = os.path.join(TARGET, "editloop", re.sub(r"[^a-z0-9]+", "-", config))
        return env, tdir

    for config in configs:
        for app in apps:
            env, tdir = setup(config, app)
            cargo(["build", "-p", app], env=env, target_dir=tdir)  # warm, untimed
            cargo(["check", "-p", app], env=env, target_dir=tdir)
    samples = []
    port = 3700
    step = 0
    for r in range(rounds):
        wait_quiet(f"editloop round {r + 1}")
        for config in configs:
            for app in apps if config == "default" else apps[:1]:
                env, tdir = setup(config, app)
                exe = os.path.join(tdir, "debug", app)
                port += 1
                server = Server(app, [exe])
                server.start(port, f"/api/res{resource(n)}")
                for action in ("add", "edit"):
                    step += 1
                    word = f"new{step}"
                    if os.path.exists(log):
                        os.remove(log)
                    quiet_moment()
                    t0 = time.perf_counter()
                    if action == "add":
                        undo = add_route(app, word)
                        path, want = f"/api/{word}", word
                    else:
                        # Change what an existing route answers.
                        k = resource(n)
                        src = (os.path.join(BENCH, "apps", app, "app", "api", f"res{k}", "route.rs")
                               if app.startswith("gen") else
                               os.path.join(BENCH, "apps", app, "src", "routes", f"res{k}_static.rs"))
                        with open(src) as fh:
                            old = fh.read()
                        with open(src, "w") as fh:
                            fh.write(old.replace(f'"res{k} index"', f'"res{k} {word}"'))

                        def undo(src=src, old=old):
                            with open(src, "w") as fh:
                                fh.write(old)
                        path, want = f"/api/res{k}", f"res{k} {word}"
                    build = cargo(["build", "-p", app], env=env, target_dir=tdir)
                    t1 = time.perf_counter()
                    server.stop()
                    server.proc = subprocess.Popen(["taskset", "-c", "1", exe] if PIN else [exe],
                                                   env=dict(os.environ, PORT=str(port)),
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                   start_new_session=True)
                    while True:
                        try:
                            if get(port, path) == (200, want):
                                break
                        except OSError:
                            pass
                        time.sleep(0.002)
                    t2 = time.perf_counter()
                    links = []
                    if os.path.exists(log):
                        with open(log) as fh:
                            links = [int(x) / 1e6 for x in fh.read().split()]
                    check = cargo(["check", "-p", app], env=env, target_dir=tdir)
                    rec = {"round": r + 1, "config": config, "app": app.split("-")[0], "action": action,
                           "total_s": t2 - t0, "build_s": build, "restart_s": t2 - t1,
                           "link_s": sum(links), "check_s": check}
                    samples.append(rec)
                    print(f"  r{r + 1} {config:<38} {app:<8} {action:<5} to 200: {rec['total_s']:.2f} s "
                          f"(build {build:.2f}, link {rec['link_s']:.2f}, check {check:.2f}, "
                          f"restart {rec['restart_s']:.3f})", flush=True)
                    undo()
                    cargo(["build", "-p", app], env=env, target_dir=tdir)
                    cargo(["check", "-p", app], env=env, target_dir=tdir)
                server.stop()
    rows = []
    for config in configs:
        for app in ("gen", "hand"):
            for action in ("add", "edit"):
                xs = [s for s in samples if s["config"] == config and s["app"] == app and s["action"] == action]
                if not xs:
                    continue
                mm = lambda k: med([s[k] for s in xs])  # noqa: E731
                codegen_build = mm("build_s") - mm("check_s") - mm("link_s")
                rows.append([config, "approute" if app == "gen" else "hand axum", action, f(mm("total_s")),
                             f(mm("build_s")), f(mm("check_s")), f(max(0.0, codegen_build)), f(mm("link_s")),
                             f(mm("restart_s"), 3)])
    text = (f"{n}-route app, dev profile: seconds from writing the file to the first 200 with the new answer "
            f"(cargo build, restart, poll). Median of {rounds} round(s). `check` = `cargo check` after the same "
            "edit (cargo + build script + `app!` + rustc front end); `LLVM` = build - check - link; `link` timed "
            "by bench/tools/timed-cc.\n\n")
    text += table(["config", "app", "edit", "to 200", "cargo build", "check (front end)", "LLVM (rest)", "link",
                   "restart to 200"], rows)
    save("editloop", {"samples": samples}, text)


# ---------------------------------------------------------------- cache

# The same handler (bench/cache-app: 20 most recent notes matching a word,
# from 10,000 in SQLite, as JSON) uncached and with `REVALIDATE = 3600`.
CACHE_VARIANTS = [("uncached", "/notes?q=redis", "none: SQLite every request"),
                  ("memory", "/cached/notes?q=redis", "MemoryStore (default)"),
                  ("redis", "/cached/notes?q=redis", "RedisStore")]


def cache_get(port, path):
    """Status, `x-approute-cache` and body of one GET."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("x-approute-cache"), r.read().decode()
    finally:
        c.close()


def handler_runs(port):
    return int(get(port, "/runs")[1])


def start_redis():
    """A throwaway redis-server on a free port, pinned beside the app
    (CPU 1), or None (after saying why)."""
    if not shutil.which("redis-server"):
        print("redis-server is not installed (apt-get install -y redis-server): skipping the Redis rows")
        return None, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = (["taskset", "-c", "1"] if PIN else []) + [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    redis = Server("redis-server", argv)
    redis.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return redis, f"redis://127.0.0.1:{port}/"
        except OSError:
            if redis.proc.poll() is not None or time.time() > deadline:
                redis.stop()
                raise SystemExit(f"redis-server did not start on port {port}")
            time.sleep(0.05)


class Together:
    """Processes whose CPU time counts as the bench's own in wrk()'s
    accounting of other processes: the app and its redis-server."""

    def __init__(self, *servers):
        self.servers = servers

    def pids(self):
        return [pid for s in self.servers for pid in s.pids()]


def cmd_cache():
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk): skipping the cache runs")
        return
    seconds = ARGS.seconds or (1 if ARGS.smoke else 10)
    warm = 1 if ARGS.smoke else 3
    rounds = ARGS.rounds or (1 if ARGS.smoke else 3)
    build_apps(["cache-app"])
    exe = os.path.join(TARGET, profile_dir(), "cache-app")
    redis, url = start_redis()
    envs = {"uncached": {}, "memory": {}, "redis": {"CACHE_REDIS_URL": url}}
    variants = [(name, path, Server(name, [exe], env=envs[name])) for name, path, _ in CACHE_VARIANTS
                if name != "redis" or redis]
    samples = []
    port = 3911
    try:
        # The cached route must answer from the cache (HIT), the uncached one
        # never, and both the same JSON: else the numbers mean nothing.
        bodies = {}
        for name, path, s in variants:
            port += 1
            s.start(port, "/runs")
            first, second = cache_get(port, path), cache_get(port, path)
            s.stop()
            if first[0] != 200 or second[0] != 200:
                raise SystemExit(f"{name} {path}: status {first[0]}, {second[0]}")
            if name == "uncached" and (first[1] or second[1]):
                raise SystemExit(f"{name} {path} answers x-approute-cache: {first[1]}, {second[1]}")
            if name != "uncached" and second[1] != "HIT":
                raise SystemExit(f"{name} {path}: the second request is not a cache HIT but {second[1]}")
            bodies[name] = second[2]
        if len(set(bodies.values())) != 1:
            raise SystemExit(f"the variants answer differently: {sorted(bodies)}")
        print(f"  checked: the cached route answers HIT, the uncached one does not; "
              f"same {len(bodies['uncached'])}-byte JSON", flush=True)
        for r in range(rounds):
            wait_quiet(f"cache round {r + 1}")
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for name, path, s in order:
                port += 1
                s.start(port, "/runs")
                wrk(port, path, warm, ARGS.connections)
                if name != "uncached" and cache_get(port, path)[1] != "HIT":
                    raise SystemExit(f"{name} {path}: not a cache HIT after the warm-up")
                other, waited = quiet_moment()
                before = handler_runs(port)
                res = wrk(port, path, seconds, ARGS.connections, Together(s, redis) if name == "redis" else s)
                runs = handler_runs(port) - before
                # A cached run that ran the handler measured misses.
                if name != "uncached" and runs:
                    raise SystemExit(f"{name} {path}: the handler ran {runs} times during the measured run")
                res.update(variant=name, round=r + 1, path=path, handler_runs=runs, busy_before=other,
                           waited_s=waited, rss_kib=s.rss_kib())
                samples.append(res)
                print(f"  {name:<8} r{r + 1} {res['rps']:>10.0f} req/s  p50 {res['p50_ms']:.3f} ms  "
                      f"p99 {res['p99_ms']:.3f} ms  handler runs {runs}  RSS {res['rss_kib'] / 1024:.1f} MiB  "
                      f"(others took {other:.0%} before, {res['others_during']:.0%} during)", flush=True)
                s.stop()
        redis_rss = redis.rss_kib() if redis else None
    finally:
        for _, _, s in variants:
            s.stop()
        if redis:
            redis.stop()

    def clean(x):
        return x["others_during"] <= ARGS.max_others

    def m(name, key, rnd=None):
        xs = [x for x in samples if x["variant"] == name and rnd in (None, x["round"])]
        return med([x[key] for x in xs if clean(x)] or [x[key] for x in xs])

    names = [name for name, _, _ in variants]
    rows = [[name, path, store, f"{m(name, 'rps'):.0f}", f(m(name, "p50_ms"), 3), f(m(name, "p99_ms"), 3),
             f"{m(name, 'rss_kib') / 1024:.1f}"]
            for name, path, store in CACHE_VARIANTS if name in names]
    ratio_rows = []
    for name in names[1:]:
        per_round = [f(m(name, "rps", r + 1) / m("uncached", "rps", r + 1), 1) for r in range(rounds)]
        ratio_rows.append([f"{name} / uncached", f(m(name, "rps") / m("uncached", "rps"), 1),
                           f(m(name, "p99_ms") / m("uncached", "p99_ms"), 2), ", ".join(per_round)])
    dropped = [x for x in samples if not clean(x)]
    text = (f"{len(dropped)} of {len(samples)} runs left out of the medians: other processes took more than "
            f"{ARGS.max_others:.0%} of the machine's CPU during them (all are in cache.json).\n\n")
    text += (f"bench/cache-app: one handler, the 20 most recent of 10,000 notes in SQLite whose title contains "
             f"a word, as JSON ({len(bodies['uncached'])} bytes), served uncached and with `REVALIDATE = 3600`. "
             f"wrk -t1 -c{ARGS.connections}, {seconds} s per run after {warm} s warm-up, {rounds} round(s), "
             "variants alternated; " + ("server (and redis-server) pinned to CPU 1, wrk to CPU 0; " if PIN else "")
             + f"{'debug' if ARGS.smoke else 'release'} builds. Each cached run was checked to answer `HIT` and "
             "to run the handler 0 times. Medians; RSS of the app after its run.\n\n")
    text += table(["variant", "URL", "cache store", "req/s", "p50 ms", "p99 ms", "RSS MiB"], rows) + "\n"
    text += table(["ratio", "req/s", "p99", "req/s per round"], ratio_rows)
    if redis_rss is not None:
        text += f"\nredis-server RSS at the end: {redis_rss / 1024:.1f} MiB.\n"
    else:
        text += "\nNo Redis rows: redis-server is not installed.\n"
    save("cache", {"samples": samples, "redis_rss_kib": redis_rss}, text)


# ---------------------------------------------------------------- devloop


def cmd_devloop():
    import devloop  # bench/devloop.py: `cargo approute dev` against `next dev`
    devloop.main(sys.modules[__name__])


# ---------------------------------------------------------------- serve


def cmd_serve():
    """approute::serve against axum::serve and raw hyper: bench/serve_bench.py."""
    import serve_bench
    serve_bench.cmd_serve(sys.modules[__name__])


# ---------------------------------------------------------------- main


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["wrk", "routing", "codegen", "build", "editloop", "devloop", "cache", "serve",
                                    "all"])
    p.add_argument("--smoke", action="store_true", help="smallest size, one short round, debug builds")
    p.add_argument("--rounds", type=int)
    p.add_argument("--seconds", type=int, help="wrk duration per run")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--next", action="store_true", help="wrk: add the Next.js 14 app (npm ci, next build)")
    p.add_argument("--max-load", type=float, default=0.7)
    p.add_argument("--max-others", type=float, default=0.10,
                   help="wrk: leave out of the medians runs during which other processes took more CPU than this")
    p.add_argument("--max-wait", type=int, default=150)
    p.add_argument("--before", help="serve: an approute::serve bench binary built from an earlier commit")
    ARGS = p.parse_args()
    steps = (["codegen", "build", "editloop", "devloop", "routing", "wrk", "cache", "serve"] if ARGS.what == "all"
             else [ARGS.what])
    if ARGS.what == "all":
        ARGS.next = True
    for step in steps:
        LOAD_LOG.clear()
        START["machine"] = machine()
        t = time.time()
        print(f"== {step}{' (smoke)' if ARGS.smoke else ''}", flush=True)
        globals()[f"cmd_{step}"]()
        print(f"== {step} took {time.time() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
