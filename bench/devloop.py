"""`run.py devloop`: save a route -> first answer from it, under the dev
servers users run: `cargo approute dev` on the 50-route approute app against
`next dev` on the same tree as a Next.js 14 app, alternated in one run.

A client polls the server being measured every 20 ms on a new connection
for the whole of its turn (its saves and their undos); any failed or
refused poll is counted. The other servers stay up, warm and unpolled, so
one server's work does not slow another's on 2 cores: the CPU they use
during each sample is recorded beside it. Each round edits what one route
answers, then adds a new route file, on each server; the time is from the
write to the first answer with the new text. Every change is undone after
(untimed) and waited for, so each round starts from the same tree.

`cargo approute dev` runs with `--timings`: for each save its own line of
when each stage ended (watcher settled, tree checked, rustc or cargo done,
new server READY) goes into the stage table beside the client's time.
"""

import os
import re
import shutil
import subprocess
import threading
import time

POLL_EVERY = 0.02
CARGO_ONLY = "dev, every build by cargo"
STATIC = "dev, linked statically"
# What `dev` says when its first build linked against approute as a dylib
# is done (or failed): saves before it link statically.
WARMED_UP = ("link against approute as a shared library", "rebuilds link statically")
NEW_APPROUTE = 'pub async fn GET() -> &\'static str {{\n    "{word}"\n}}\n'
NEW_NEXT = ('export const dynamic = "force-dynamic";\n\nexport async function GET() {{\n'
            '  return new Response("{word}");\n}}\n')


class Poller(threading.Thread):
    """GETs `path` every 20 ms while `active` is set, until stopped; counts
    what failed."""

    def __init__(self, run, port, path):
        super().__init__(daemon=True)
        self.run_module, self.port, self.path = run, port, path
        self.polls, self.failures, self.stopping = 0, [], False
        self.active = threading.Event()

    def run(self):
        while not self.stopping:
            if not self.active.wait(timeout=0.1):
                continue
            self.polls += 1
            try:
                status, _ = self.run_module.get(self.port, self.path)
                if status != 200:
                    self.failures.append(f"status {status}")
            except OSError as e:
                self.failures.append(str(e))
            time.sleep(POLL_EVERY)


def wait_for(run, port, path, want, limit=120):
    """Polls every 20 ms until `path` answers 200 with `want`; seconds."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        try:
            if run.get(port, path) == (200, want):
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(POLL_EVERY)
    raise SystemExit(f"{path} did not answer {want!r} within {limit} s")


class DevServer:
    """One dev server and the files it serves: `edit` and `add` change the
    tree and return an undo."""

    def __init__(self, name, argv, cwd, routes_dir, ext, new_route, env):
        self.name, self.argv, self.cwd = name, argv, cwd
        self.routes_dir, self.ext, self.new_route, self.env = routes_dir, ext, new_route, env

    def start(self, run, port, probe, warm_up=False):
        self.port = port
        self.log = os.path.join(run.TARGET, "devloop", f"{self.name.replace(' ', '-')}.log")
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=dict(os.environ, **self.env, PORT=str(port),
                                                                           HOST="127.0.0.1"),
                                         stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(run, port, probe[0], probe[1], limit=900)
        t0 = time.perf_counter()
        while warm_up and time.perf_counter() - t0 < 900:
            with open(self.log, errors="replace") as fh:
                if any(line in fh.read() for line in WARMED_UP):
                    break
            time.sleep(0.1)

    def log_size(self):
        return os.path.getsize(self.log)

    def stages(self, since, limit=5.0):
        """The stage marks of the first rebuild logged after byte `since`:
        {stage: seconds after the change}, or None for a server without."""
        if "--timings" not in self.argv:
            return None
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < limit:
            with open(self.log, errors="replace") as fh:
                fh.seek(since)
                for line in fh:
                    if "timings (s after the change):" in line:
                        marks = line.split(":", 2)[2]
                        return {m.group(1).strip(): float(m.group(2))
                                for m in re.finditer(r"([^,]+?) (\d+\.\d+)(?:,|$)", marks.strip())}
            time.sleep(0.01)
        return None

    def cpu_seconds(self):
        """CPU time used so far by the server's processes (its session's
        process group: the dev server, its builds and its servers)."""
        ticks = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # the process group
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self):
        os.killpg(self.proc.pid, 15)
        self.proc.wait(timeout=30)

    def edit(self, k, word):
        path = os.path.join(self.routes_dir, "api", f"res{k}", f"route.{self.ext}")
        with open(path) as fh:
            old = fh.read()
        with open(path, "w") as fh:
            fh.write(old.replace(f"res{k} index", f"res{k} {word}"))

        def undo():
            with open(path, "w") as fh:
                fh.write(old)
        return f"/api/res{k}", f"res{k} {word}", undo

    def add(self, word):
        folder = os.path.join(self.routes_dir, "api", word)
        os.makedirs(folder)
        with open(os.path.join(folder, f"route.{self.ext}"), "w") as fh:
            fh.write(self.new_route.format(word=word))
        return f"/api/{word}", word, lambda: shutil.rmtree(folder)


def settle(servers, limit=20.0):
    """Waits until `servers` use no CPU for a quarter second (`next dev`
    compiles for a while after a change is undone), so one server's work
    does not land in another's sample."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        before = sum(s.cpu_seconds() for s in servers)
        time.sleep(0.25)
        if sum(s.cpu_seconds() for s in servers) - before < 0.01:
            return


def new_app(run, cli, n, suffix=""):
    """The bench tree as a user starts it: `cargo approute new` (so served by
    `approute::serve`, as its README has it), then the generated `app/`.
    Kept between runs so only the first one builds from scratch."""
    app = os.path.join(run.BENCH, "target", "devloop", f"dev-{n}{suffix}")
    if not os.path.isdir(app):
        os.makedirs(os.path.dirname(app), exist_ok=True)
        subprocess.run([cli, "approute", "new", app], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(os.path.join(app, "app"))
    # Copied with new mtimes: cargo's fingerprints go by mtime, and the
    # generated tree's old ones could pass a binary built from an edit.
    shutil.copytree(os.path.join(run.BENCH, "apps", f"gen-{n}", "app"), os.path.join(app, "app"),
                    copy_function=shutil.copy)
    return app


def main(run):
    args = run.ARGS
    n = 10 if args.smoke else 50
    rounds = args.rounds or (1 if args.smoke else 5)
    k = run.resource(n)
    root = os.path.dirname(run.BENCH)
    run.generate()
    # Built as `cargo install --path cli` builds it.
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "approute-cli"], cwd=root, check=True)
    cli = os.path.join(root, "target", "release", "cargo-approute")
    app = new_app(run, cli, n)
    servers = [DevServer("cargo approute dev", [cli, "approute", "dev", "--timings"], app, os.path.join(app, "app"),
                         "rs", NEW_APPROUTE, {})]
    if not args.smoke:
        # As before `dev` linked against approute as a dylib.
        static = new_app(run, cli, n, "-static")
        servers.append(DevServer(STATIC, [cli, "approute", "dev", "--timings"], static, os.path.join(static, "app"),
                                 "rs", NEW_APPROUTE, {"APPROUTE_DEV_DYLIB": "0",
                                                      "CARGO_TARGET_DIR": os.path.join(app, "target")}))
        # The same with every build through cargo, as before `dev` ran rustc
        # itself: a wrapper of the user's own turns that off, and `env` is
        # one that only runs rustc. A copy of the app (its own watcher), the
        # first one's target dir (its dependencies built once).
        by_cargo = new_app(run, cli, n, "-cargo")
        servers.append(DevServer(CARGO_ONLY, [cli, "approute", "dev", "--timings"], by_cargo,
                                 os.path.join(by_cargo, "app"), "rs", NEW_APPROUTE,
                                 {"RUSTC_WORKSPACE_WRAPPER": "env", "CARGO_TARGET_DIR": os.path.join(app, "target")}))
        nd = os.path.join(run.BENCH, "next")
        env = {"NEXT_TELEMETRY_DISABLED": "1"}
        if not os.path.isdir(os.path.join(nd, "node_modules")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=nd, check=True,
                           env=dict(os.environ, **env))
        servers.append(DevServer("next dev", ["node", os.path.join(nd, "node_modules", "next", "dist", "bin", "next"),
                                              "dev"], nd, os.path.join(nd, "app"), "js", NEW_NEXT, env))
    port = 3790
    pollers = {}
    for s in servers:
        port += 1
        print(f"  starting {s.name} on {port} (first build)", flush=True)
        s.start(run, port, (f"/api/res{k}", f"res{k} index"), warm_up=s is servers[0])
        # next dev compiles a route on its first request: warm the polled one.
        wait_for(run, port, f"/api/res{k}/42", f"res{k} id=42")
        pollers[s.name] = Poller(run, port, f"/api/res{k}/42")
        pollers[s.name].start()
    samples = []
    step = 0
    try:
        for r in range(rounds):
            for s in servers:
                others = [o for o in servers if o is not s]
                pollers[s.name].active.set()
                for action in ("edit", "add"):
                    step += 1
                    word = f"dev{os.getpid()}x{step}"
                    settle(others)
                    load = run.loadavg()
                    since = s.log_size()
                    others_cpu = sum(o.cpu_seconds() for o in others)
                    t0 = time.perf_counter()
                    path, want, undo = s.edit(k, word) if action == "edit" else s.add(word)
                    took = wait_for(run, s.port, path, want)
                    others_cpu = sum(o.cpu_seconds() for o in others) - others_cpu
                    samples.append({"round": r + 1, "server": s.name, "action": action, "s": took,
                                    "load": load, "wall": time.perf_counter() - t0,
                                    "others_cpu_s": others_cpu, "stages": s.stages(since)})
                    print(f"  r{r + 1} {s.name:<20} {action:<4} first answer {took:.2f} s (load {load:.1f})",
                          flush=True)
                    undo()
                    if action == "edit":
                        wait_for(run, s.port, f"/api/res{k}", f"res{k} index")
                    else:
                        while True:
                            try:
                                if run.get(s.port, path)[0] == 404:
                                    break
                            except OSError:
                                pass
                            time.sleep(POLL_EVERY)
                pollers[s.name].active.clear()
    finally:
        for s in servers:
            pollers[s.name].stopping = True
            pollers[s.name].join()
            s.stop()
    rows = []
    for s in servers:
        p = pollers[s.name]
        for action in ("edit", "add"):
            mine = [x for x in samples if x["server"] == s.name and x["action"] == action]
            xs = [x["s"] for x in mine]
            rows.append([s.name, "edit a route" if action == "edit" else "add a route", run.f(run.med(xs)),
                         run.f(min(xs)), run.f(max(xs)), len(xs), run.f(max(x["others_cpu_s"] for x in mine)),
                         p.polls, len(p.failures)])
    loads = [x["load"] for x in samples]
    text = (f"{n}-route app: seconds from saving a file to the first answer with the new text, the dev server "
            f"rebuilding or recompiling on its own, a client polling every 20 ms; median of {rounds} round(s), "
            f"servers alternated; 1-minute load average during the run {min(loads):.1f}-{max(loads):.1f}. "
            "`failed polls`: GETs of another route of the server being measured, every 20 ms on a new connection, "
            "for the whole of its turns (each server rebuilt twice per round, and twice more to undo); the other "
            "servers stay up unpolled, `others' CPU s` = the most CPU time they used during one of the saves.\n\n")
    text += run.table(["server", "change", "median s", "min", "max", "saves", "others' CPU s", "polls",
                       "failed polls"], rows)
    text += stage_table(run, samples)
    failures = {name: p.failures[:5] for name, p in pollers.items() if p.failures}
    run.save("devloop", {"samples": samples, "failures": failures}, text)


# (column, first stage, last stage): a stage's time is from the end of the
# one before; the build is rustc run by dev itself, or cargo when it must.
STAGES = [("watcher settled", None, "settled"), ("tree checked", "settled", "checked"),
          ("build (rustc or cargo)", "checked", ("rustc exited", "cargo exited")),
          ("copy, start, READY", ("rustc exited", "cargo exited"), "ready")]


def stage_table(run, samples):
    """Medians of each stage of `cargo approute dev`'s rebuilds, from its
    `--timings` lines, and the rest of the client's time."""
    def at(marks, names):
        names = (names,) if isinstance(names, str) else names
        return next((marks[n] for n in names if n in marks), None)

    rows = []
    for server, action in [(s, a) for s in ("cargo approute dev", STATIC, CARGO_ONLY) for a in ("edit", "add")]:
        xs = [x for x in samples if x["server"] == server and x["action"] == action and x["stages"]]
        if not xs:
            continue
        row = [server, action]
        for _, first, last in STAGES:
            row.append(run.f(run.med([at(x["stages"], last) - (at(x["stages"], first) if first else 0.0)
                                      for x in xs]), 3))
        row.append(run.f(run.med([x["s"] - x["stages"]["ready"] for x in xs]), 3))
        row.append(sum(1 for x in xs if "cargo exited" in x["stages"]))
        row.append(run.f(run.med([x["s"] for x in xs]), 3))
        rows.append(row)
    if not rows:
        return ""
    return ("\n`cargo approute dev --timings`, the same saves: median seconds per stage (each from the end of the "
            "one before; the change is first seen by the watcher at 0), `to the client` = the client's time minus "
            "READY (the write, the event, the 20 ms poll); `via cargo` = saves built by cargo instead of rustc "
            f"directly. `{STATIC}`: the same CLI on a copy of the app with `APPROUTE_DEV_DYLIB=0` (approute "
            f"linked statically, as cargo links it); `{CARGO_ONLY}`: on another copy with "
            "`RUSTC_WORKSPACE_WRAPPER=env`; alternated with the others.\n\n" + run.table(["server", "change"] + [c for c, _, _ in STAGES] +
                                           ["to the client", "via cargo", "client's median"], rows))
