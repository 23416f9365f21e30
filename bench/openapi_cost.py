#!/usr/bin/env python3
"""What the `openapi` feature adds to an app's build (BENCHMARKS.md, section
3): the bench's gen-N app (bench/gen.py) against a copy with the feature on
and one route file serving `app::openapi()`, so the document is built, not
left as dead code. Dependencies are built first (untimed: schemars is a
one-time cost, reported apart); each round then removes the app crate's
own artifacts (`cargo clean -p`) and times `cargo build -p` of it, the two
variants alternated.

    python3 bench/openapi_cost.py [ROUNDS]     # default 3

Writes results/openapi_cost.json and prints a table.
"""

import json
import os
import shutil
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
SIZES = [50, 1000]
ROUTE = '''use approute::axum::Json;
use approute::openapi::OpenApi;

pub async fn GET() -> Json<OpenApi> {
    Json(crate::app::openapi())
}
'''


def cargo(args):
    start = time.monotonic()
    subprocess.run(["cargo", *args], cwd=BENCH, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def with_openapi(n):
    """apps/gen-N copied to apps/gen-N-openapi, the feature on."""
    src = os.path.join(BENCH, "apps", f"gen-{n}")
    dst = os.path.join(BENCH, "apps", f"gen-{n}-openapi")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target"))
    toml = os.path.join(dst, "Cargo.toml")
    with open(toml) as f:
        text = f.read()
    text = text.replace(f'name = "gen-{n}"', f'name = "gen-{n}-openapi"')
    text = text.replace('default-features = false }', 'default-features = false, features = ["openapi"] }', 1)
    with open(toml, "w") as f:
        f.write(text)
    os.makedirs(os.path.join(dst, "app", "openapi.json"), exist_ok=True)
    with open(os.path.join(dst, "app", "openapi.json", "route.rs"), "w") as f:
        f.write(ROUTE)
    return f"gen-{n}-openapi"


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    subprocess.run([sys.executable, os.path.join(BENCH, "gen.py")], check=True)
    results = {}
    for n in SIZES:
        off, on = f"gen-{n}", with_openapi(n)
        for app in (off, on):
            cargo(["build", "-p", app])  # dependencies, untimed
        times = {off: [], on: []}
        for r in range(rounds):
            for app in ((off, on) if r % 2 == 0 else (on, off)):
                cargo(["clean", "-p", app])
                times[app].append(cargo(["build", "-p", app]))
        results[n] = {"off": times[off], "on": times[on]}
    with open(os.path.join(BENCH, "results", "openapi_cost.json"), "w") as f:
        json.dump({"rounds": rounds, "seconds": results}, f, indent=1)
    print("| routes | feature off (s) | on (s) | on/off |")
    print("|---|---|---|---|")
    for n, t in results.items():
        med = lambda xs: sorted(xs)[len(xs) // 2]
        print(f"| {n} | {med(t['off']):.1f} | {med(t['on']):.1f} | {med(t['on']) / med(t['off']):.2f} |")


if __name__ == "__main__":
    main()
