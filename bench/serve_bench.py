"""`run.py serve`: what the server costs (issue 15). One route tree (bench/gen.py,
50 routes) served five ways, alternated in every round:

  serve        approute::serve with its defaults and init_logging (the README's
               quick start and examples/hello): a log line per request, to a file
  serve-quiet  the same binary with RUST_LOG=warn: no request lines
  axum         the same binary, the same generated router, under axum::serve
  hand         the hand-written axum router under axum::serve
  hyper        raw hyper with a `match`: the ceiling

`--before EXE` adds `before` and `before-quiet`: an approute::serve binary
built from an earlier commit (bench/README.md says how), for before/after
ratios in the same run. Each server's log lines are counted against the
requests wrk made: a line per request, none lost.

With valgrind installed it also counts instructions per request (callgrind,
counters zeroed after 200 warm-up requests on one kept-alive connection, then
N requests, all threads), and what the main frames of one request cost.
"""

import glob
import json
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# Frames whose inclusive cost per request the profile table shows: the sum of
# `names` (with `first`, only the first one there); with a `when` frame there,
# less the sum of `minus` (a layer's future less the futures inside it);
# `only` counts the row only then.
COMPRESSION_FUTURE = r"<approute::compress::layer::ResponseFuture<F> as core::future::future::Future>::poll"
FRAMES = [
    ("hyper's HTTP/1 connection (everything below)", [r"hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_catch"]),
    ("parsing the head (hyper)", [r"hyper::proto::h1::io::Buffered<T,B>::parse"]),
    ("the socket's reads (approute: with the header clock)",
     [r"<approute::serve::deadlines::Deadlines<S> as tokio::io::async_read::AsyncRead>::poll_read",
      r"<hyper_util::rt::tokio::TokioIo<T> as hyper::rt::io::Read>::poll_read"]),
    ("approute::serve's call: header checks, URL rules, body limit, then routing (routing inlined in it now)",
     [r"approute::serve::limits::LimitedRouter::handle"]),
    ("approute::serve's future: before, timeout + panic guard around router, compression and handler; "
     "now, around the handler, then the answer rules, compression's decision, the log line",
     [r"<approute::serve::limits::Handling as core::future::future::Future>::poll",
      r"<approute::serve::limits::Guarded<F> as core::future::future::Future>::poll"], dict(first=True)),
    ("axum: routing (match, MatchedPath, params), where not inlined", [r"axum::routing::Router<S>::call_with_state"]),
    ("compression's Router::layer: a boxed service per route, its futures",
     [r"<tower::util::oneshot::Oneshot<S,Req> as core::future::future::Future>::poll"],
     dict(when=COMPRESSION_FUTURE, minus=[COMPRESSION_FUTURE], only=True)),
    ("compression: Accept-Encoding, the answer's type and size",
     [COMPRESSION_FUTURE,
      r"<approute::compress::layer::CompressionService<S> as tower_service::Service<http::request::Request<ReqBody>>>::call",
      r"approute::compress::layer::ForAnswer::apply", r"approute::compress::layer::ForAnswer::new"],
     dict(when=COMPRESSION_FUTURE, minus=[r"<axum::routing::route::RouteFuture<E> as core::future::future::Future>::poll"])),
    ("the handler (approute's checked handler)", [r"<approute::checks::CheckedFuture<F> as core::future::future::Future>::poll"]),
    ("the request's log line", [r"tracing_core::event::Event::dispatch", r"approute::serve::logging::RequestLine::begin",
                                r"approute::serve::logging::RequestLine::end"]),
    ("URL rules (before_routing, after_routing)", [r"approute::url::before_routing", r"approute::url::after_routing"]),
    ("request extensions (ConnectInfo, axum's own)", [r"http::extensions::Extensions::insert",
                                                      r"<hashbrown::raw::RawTable<T,A> as core::clone::Clone>::clone"]),
    ("the server's header checks (Accept, Content-Length, Range, Accept-Encoding)",
     [r"approute::serve::errors::wants_json", r"approute::serve::limits::content_length",
      r"approute::serve::request_head::HeadFacts::of"]),
    ("malloc + free", [r"malloc", r"free"]),
]


def servers(r, n, before):
    exe = lambda name: os.path.join(r.TARGET, r.profile_dir(), name)  # noqa: E731
    out = [
        r.Server("serve", [exe(f"serve-{n}")]),
        r.Server("serve-quiet", [exe(f"serve-{n}")], env={"RUST_LOG": "warn"}),
        r.Server("axum", [exe(f"serve-{n}"), "axum"]),
        r.Server("hand", [exe(f"hand-{n}")]),
        r.Server("hyper", [exe(f"hyper-{n}")]),
    ]
    if before:
        out += [r.Server("before", [before]), r.Server("before-quiet", [before], env={"RUST_LOG": "warn"})]
    for s in out:
        s.env.setdefault("RUST_LOG", "info")
    return out


def log_path(r, name):
    d = os.path.join(r.TARGET, "serve-logs")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, f"{name}.log")


def request_lines(path):
    with open(path, errors="replace") as fh:
        return sum(" request method=" in line for line in fh)


def cmd_serve(r):
    A = r.ARGS
    n = 10 if A.smoke else 50
    seconds = A.seconds or (1 if A.smoke else 5)
    warm = 1 if A.smoke else 2
    # `--rounds 0`: no wrk runs; the last run's (results/serve.json) are kept
    # and only the instruction counts are taken again.
    rounds = A.rounds if A.rounds is not None else (1 if A.smoke else 5)
    r.generate()
    r.build_apps([f"serve-{n}", f"hand-{n}", f"hyper-{n}"])
    before = os.path.abspath(A.before) if A.before else None
    k = r.resource(n)
    paths = [(kind, p.replace("{k}", str(k))) for kind, p in r.PATHS]
    srv = servers(r, n, before)
    samples = []
    port = 4011
    have_wrk = shutil.which("wrk") is not None
    if not have_wrk:
        print("wrk is not installed (apt-get install -y wrk): no requests/s, only the checks and callgrind")
    answers = {}
    for s in srv:
        port += 1
        s.start(port, paths[0][1])
        answers[s.name] = [r.get(port, p) for _, p in paths]
        s.stop()
    for name, a in answers.items():
        if a != answers["axum"]:
            raise SystemExit(f"{name} answers {a}, axum::serve answers {answers['axum']}")
    for rnd in range(rounds if have_wrk else 0):
        r.wait_quiet(f"serve round {rnd + 1}")
        order = srv[rnd % len(srv):] + srv[:rnd % len(srv)]
        for s in order:
            port += 1
            log = log_path(r, f"{s.name}-r{rnd + 1}")
            with open(log, "w") as fh:
                s.stderr = fh
                s.start(port, paths[0][1])
            made = 1  # the start-up probe
            for _, p in paths:
                made += r.wrk(port, p, warm, A.connections).get("requests", 0)
            for kind, p in paths:
                other, waited = r.quiet_moment(max_wait=min(90, A.max_wait))
                res = r.wrk(port, p, seconds, A.connections, s)
                made += res.get("requests", 0)
                res.update(server=s.name, round=rnd + 1, route=kind, path=p, busy_before=other, waited_s=waited)
                samples.append(res)
                print(f"  {s.name:<12} r{rnd + 1} {kind:<7} {res['rps']:>9.0f} req/s  p99 {res['p99_ms']:.3f} ms  "
                      f"CPU {res.get('server_cpu_us', 0):.2f} µs/req  (others {other:.0%} before, "
                      f"{res['others_during']:.0%} during)", flush=True)
            rss = s.rss_kib()
            s.stop()
            s.stderr = None
            lines = request_lines(log)
            samples.append({"server": s.name, "round": rnd + 1, "rss_kib": rss, "log_lines": lines, "requests": made})
            logs = "quiet" not in s.name and s.name in ("serve", "before")
            # wrk does not count the answers in flight when it stops.
            if logs and not made <= lines <= made + (len(paths) * 2) * A.connections:
                raise SystemExit(f"{s.name}: {lines} request lines for {made} requests (log {log})")
    kept = {}
    if rounds == 0 and not A.smoke:
        with open(os.path.join(r.RESULTS, "serve.json")) as fh:
            kept = json.load(fh)
        samples = kept["samples"]
        r.LOAD_LOG.extend(kept["load"])
        seconds, warm, rounds = kept["args"]["seconds"], 2, kept["args"]["rounds"]
    profiles = profile_all(r, srv, paths[1][1], 50 if A.smoke else 2000) if shutil.which("valgrind") else {}
    if not profiles:
        print("valgrind is not installed (apt-get install -y valgrind): no instruction counts")
    text = report(r, samples, profiles, seconds, warm, rounds)
    wrk_from = kept.get("wrk_from") or kept.get("machine")
    if wrk_from:
        text = (f"The wrk rounds are those of {wrk_from['date']} (commit {wrk_from['commit']}); the "
                f"instruction counts were taken again at commit {r.machine()['commit']}.\n\n" + text)
    r.save("serve", {"samples": samples, "profiles": profiles, "wrk_from": wrk_from}, text)
    if not A.smoke:
        assemble(r)


def assemble(r):
    """BENCHMARKS.md again, from its template and every results table, as
    bench/tools/assemble.py makes it: this section's tables are in it."""
    made = subprocess.run([sys.executable, os.path.join(r.BENCH, "tools", "assemble.py"),
                           os.path.join(r.BENCH, "BENCHMARKS.template.md")],
                          capture_output=True, text=True, check=True).stdout
    with open(os.path.join(os.path.dirname(r.BENCH), "BENCHMARKS.md"), "w") as fh:
        fh.write(made)
    print("  BENCHMARKS.md assembled", flush=True)


def profile_all(r, srv, path, count):
    out = {}
    for s in srv:
        out[s.name] = profile(r, s, path, count)
        print(f"  callgrind {s.name:<12} {out[s.name]['total']:>8.0f} instructions per request", flush=True)
    return out


def profile(r, server, path, count):
    """Instructions per request of `server` answering `path`, and per frame."""
    port = 4711
    d = os.path.join(r.TARGET, "callgrind")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, f"{server.name}.out")
    for old in glob.glob(out + "*"):
        os.remove(old)
    env = dict(os.environ, PORT=str(port), **server.env)
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *server.argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.request("GET", path)
                c.getresponse().read()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit(f"callgrind: {server.name} did not answer")
                time.sleep(0.2)

        def requests(k):
            for _ in range(k):
                c.request("GET", path)
                resp = c.getresponse()
                resp.read()
                if resp.status != 200:
                    raise SystemExit(f"callgrind: {server.name} answered {resp.status}")
        requests(200)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        requests(count)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        c.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    dump = sorted(glob.glob(out + ".*"))[0]
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                          capture_output=True, text=True, check=True).stdout
    frames = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(.*) \[", line)
        if m:
            frames[m.group(2)] = frames.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    total = int(re.search(r"([\d,]+) \([^)]*\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))
    res = {"total": total / count, "requests": count}
    for label, names, *rule in FRAMES:
        rule = rule[0] if rule else {}
        if rule.get("first"):
            names = [next((n for n in names if frames.get(n)), names[0])]
        cost = sum(frames.get(name, 0) for name in names)
        if rule.get("when") and frames.get(rule["when"]):
            cost -= sum(frames.get(name, 0) for name in rule["minus"])
        elif rule.get("only"):
            cost = 0
        res[label] = cost / count
    return res


def dropped_text(dropped, runs, limit):
    if dropped == runs:
        return (f"other processes took more than {limit:.0%} of the CPU during every one of the {runs} runs, "
                "so the medians are of all of them.")
    return f"{dropped} of {runs} runs, during which other processes took more than {limit:.0%} of the CPU, left out."


def report(r, samples, profiles, seconds, warm, rounds):
    names = list(dict.fromkeys(x["server"] for x in samples)) or list(profiles)
    kinds = list(dict.fromkeys(x["route"] for x in samples if "route" in x))

    def clean(x):
        return x.get("others_during", 0) <= r.ARGS.max_others

    def m(server, route, key):
        xs = [x for x in samples if x["server"] == server and x.get("route") == route and key in x]
        return r.med([x[key] for x in xs if clean(x)] or [x[key] for x in xs])

    def pooled(server, key):
        xs = [x for x in samples if x["server"] == server and key in x and "route" in x]
        return r.med([x[key] for x in xs if clean(x)] or [x[key] for x in xs])

    text = ""
    if kinds:
        dropped = [x for x in samples if "rps" in x and not clean(x)]
        loads = [e["load_when_run"] for e in r.LOAD_LOG]
        text += (f"wrk -t1 -c{r.ARGS.connections}, {seconds} s per run after {warm} s warm-up per URL, {rounds} "
                 f"round(s), the servers alternated in a rotating order; "
                 + ("server pinned to CPU 1, wrk to CPU 0; " if r.PIN else "")
                 + f"{'debug' if r.ARGS.smoke else 'release'} builds; 1-minute load average at the rounds' start "
                 + (f"{min(loads):.2f}-{max(loads):.2f}" if loads else "not waited for (smoke)")
                 + "; " + dropped_text(len(dropped), sum("rps" in x for x in samples), r.ARGS.max_others)
                 + " Medians.\n\n")
        rows = []
        for kind in kinds:
            for s in names:
                rows.append([kind, s, f"{m(s, kind, 'rps'):.0f}", r.f(m(s, kind, "p50_ms"), 3),
                             r.f(m(s, kind, "p99_ms"), 3), r.f(m(s, kind, "server_cpu_us"), 2)])
        text += r.table(["route", "server", "req/s", "p50 ms", "p99 ms", "server CPU µs/request"], rows) + "\n"
        pairs = [(a, b) for a, b in [("serve", "axum"), ("serve-quiet", "axum"), ("serve", "hand"),
                                     ("axum", "hand"), ("before", "axum"), ("before-quiet", "axum"),
                                     ("serve", "before"), ("serve-quiet", "before-quiet"),
                                     ("hyper", "axum")] if a in names and b in names]
        ratio_rows = []
        for a, b in pairs:
            row = [f"{a} / {b}"]
            for kind in kinds:
                row.append(r.f(m(a, kind, "rps") / m(b, kind, "rps"), 3))
            row += [r.f(pooled(a, "rps") / pooled(b, "rps"), 3), r.f(pooled(a, "p99_ms") / pooled(b, "p99_ms"), 3),
                    r.f(pooled(b, "server_cpu_us") / pooled(a, "server_cpu_us"), 3)]
            ratio_rows.append(row)
        text += r.table(["ratio"] + [f"req/s {k}" for k in kinds]
                        + ["req/s all URLs", "p99 all URLs", "1 / server CPU per request"], ratio_rows) + "\n"
        rss = {s: r.med([x["rss_kib"] for x in samples if x["server"] == s and "rss_kib" in x]) for s in names}
        lines = {s: sum(x.get("log_lines", 0) for x in samples if x["server"] == s) for s in names}
        made = {s: sum(x["requests"] for x in samples if x["server"] == s and "log_lines" in x) for s in names}
        text += r.table(["server", "RSS MiB after its runs", "ratio to axum", "request lines logged / requests made"],
                        [[s, f"{rss[s] / 1024:.1f}", r.f(rss[s] / rss["axum"], 3) if "axum" in rss else "",
                          f"{lines[s]} / {made[s]}"] for s in names]) + "\n"
    if profiles:
        cols = list(profiles)
        count = next(iter(profiles.values()))["requests"]
        text += (f"callgrind: instructions per request, GET of the `[id]` URL, {count} requests on one kept-alive "
                 "connection after 200 warm-up ones, all threads (the log writer's too); frames are inclusive, "
                 "so they overlap.\n\n")
        rows = [["whole request"] + [f"{profiles[c]['total']:.0f}" for c in cols]]
        rows += [["ratio to axum"] + [r.f(profiles[c]["total"] / profiles["axum"]["total"], 3) for c in cols]]
        rows += [[label] + [f"{profiles[c].get(label, float('nan')):.0f}" for c in cols] for label, *_ in FRAMES]
        text += r.table(["frame"] + cols, rows)
    return text
