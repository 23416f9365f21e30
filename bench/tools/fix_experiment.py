#!/usr/bin/env python3
"""Measures a proposed change to approute's emitted `router()` without
touching codegen: takes the module `approute::app!` generates for
apps/gen-N, rewrites `router()` into the proposed shape, and builds it as
apps/fix-N (a literal module instead of the macro call).

Today `router()` first binds every route (`let route_0 = ...; ...
let route_999 = ...;`) and only then registers them in one chain, so up to
1,000 `MethodRouter`s are alive at once and every call in between needs an
unwind path dropping all of them: LLVM's SimplifyCFG/InstCombine go
quadratic on that in release builds. The rewrite registers each route right
after building it (`router = router.route(p, route_i)`), so at most two values
are alive at any point. Matching does not change: matchit does not depend on
registration order.

    python3 bench/tools/fix_experiment.py 1000     # writes apps/fix-1000
    cargo build --release -p fix-1000              # compare with -p gen-1000
"""

import os
import re
import subprocess
import sys

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rewrite(code):
    lines = code.split("\n")
    start = next(i for i, l in enumerate(lines) if re.match(r"\s+let route_\d+(: [^=]+)? = ", l))
    chain = next(i for i, l in enumerate(lines) if re.fullmatch(r"rt::Router(::<.*>)?::new\(\)", l.strip()))
    router_new = lines[chain].strip()
    indent = re.match(r"\s*", lines[start]).group(0)
    # The `let route_i = ...;` statements, each up to the line closing it.
    lets, i = {}, start
    while i < chain:
        m = re.match(r"\s+let (route_\d+)(?:: [^=]+)? = ", lines[i])
        assert m, lines[i]
        j = i
        while not lines[j].rstrip().endswith(";"):
            j += 1
        lets[m.group(1)] = lines[i:j + 1]
        i = j + 1
    # The chain's registrations.
    end = chain + 1
    regs = []
    while lines[end].strip().startswith(".route("):
        regs.append(lines[end].strip())
        end += 1
    by_route, others = {}, []
    for r in regs:
        m = re.match(r'\.route\((".*"), (route_\d+)(?:\.clone\(\))?\)$', r)
        if m:
            by_route.setdefault(m.group(2), []).append(m.group(1))
        else:
            others.append(r)
    out = lines[:start] + [f"{indent}let mut router = {router_new};"]
    for name, stmt in lets.items():
        out += stmt
        pats = by_route.get(name, [])
        for k, p in enumerate(pats):
            arg = name if k == len(pats) - 1 else f"{name}.clone()"
            out.append(f"{indent}router = router.route({p}, {arg});")
    out.append(f"{indent}router")
    out += [f"{indent}    {o}" for o in others]
    return "\n".join(out + lines[end:])


def fixed_module(crate_dir, routes_dir, module):
    """The module `approute::app!(dir = routes_dir, module = module)` would
    generate in crate_dir, with router() rewritten."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "codegen-bench"], cwd=BENCH, check=True)
    dump = os.path.join(BENCH, "target", "fixed-module.rs")
    subprocess.run([os.path.join(BENCH, "target", "release", "codegen-bench"), crate_dir, "1", routes_dir],
                   check=True, env=dict(os.environ, CODEGEN_BENCH_DUMP=dump), stdout=subprocess.DEVNULL)
    with open(dump) as f:
        code = f.read()
    return rewrite(code).replace("pub mod app {", f"pub mod {module} {{", 1)


VARIANTS = {
    # The per-route trait, impl and fn that make rustc name the route file
    # when a handler is not a handler.
    "no handler checks": lambda c: re.sub(
        r"is_handler_\d+\(([\w:]+)\)", r"\1",
        re.sub(r"\n\s*#\[diagnostic::on_unimplemented\(.*?\n\s*handler\n\s*\}", "", c, flags=re.S)),
    # approute's own OPTIONS and 405 answers.
    "no auto OPTIONS/405": lambda c: re.sub(r"\n\s*\.(options\(rt::auto_options|fallback\(rt::method_not_allowed)\(&ROUTES\[\d+usize\]\)\),?", "", c),
    # The trailing-slash redirect routes.
    "no slash redirects": lambda c: re.sub(r'\n\s*\.route\("[^"]*", rt::redirect_without_slash\(\)\)', "", c),
}


def split(code):
    """Each route's `MethodRouter` built in a function of its own, so rustc
    type-checks 1,000 small bodies instead of one huge one."""
    state = re.search(r"pub fn router\(\) -> ::approute::__private::Router<(.*)> \{", code).group(1)
    code = re.sub(r"let (route_\d+): [^=]+ = ", r"let \1 = ", code)

    def one(m):
        indent, name, expr = m.group(1), m.group(2), m.group(3)
        return (f"{indent}fn make_{name}() -> rt::MethodRouter<{state}> {{{indent}    {expr}{indent}}}"
                f"{indent}let {name} = make_{name}();")
    return re.sub(r"(\n\s+)let (route_\d+) = (rt::route\(.*?\n\s+\));", one, code, flags=re.S)


VARIANTS_EXTRA = {"each route built in its own fn": split}


def frontend(n):
    """`cargo check` time of apps/fix-N with parts of the generated code left
    out, to see what the front end spends its time on."""
    import time
    dump = os.path.join(BENCH, "apps", f"fix-{n}", "src", "generated.rs")
    with open(dump) as f:
        base = f.read()
    names = ["as generated (router() rewritten)"] + list(VARIANTS) + ["all three left out"] + list(VARIANTS_EXTRA)
    results = {}
    try:
        for name in names:
            code = base
            for v in (VARIANTS if name == "all three left out" else [name] if name in VARIANTS else []):
                code = VARIANTS[v](code)
            if name in VARIANTS_EXTRA:
                code = VARIANTS_EXTRA[name](code)
            with open(dump, "w") as f:
                f.write(code)
            t = time.perf_counter()
            subprocess.run(["cargo", "check", "-q", "-p", f"fix-{n}"], cwd=BENCH, check=True,
                           env=dict(os.environ, CARGO_INCREMENTAL="0"))
            results[name] = time.perf_counter() - t
            print(f"  cargo check fix-{n}, {name}: {results[name]:.1f} s", flush=True)
    finally:
        with open(dump, "w") as f:
            f.write(base)
    return results


def main():
    if "--frontend" in sys.argv:
        frontend(int(sys.argv[1]))
        return
    if "--split" in sys.argv:
        # Only the split variant, checked and built in release.
        import time
        n = int(sys.argv[1])
        dump = os.path.join(BENCH, "apps", f"fix-{n}", "src", "generated.rs")
        with open(dump) as f:
            base = f.read()
        try:
            with open(dump, "w") as f:
                f.write(split(base))
            for cmd in (["check"], ["build", "--release"]):
                t = time.perf_counter()
                subprocess.run(["cargo", *cmd, "-q", "-p", f"fix-{n}"], cwd=BENCH, check=True,
                               env=dict(os.environ, CARGO_INCREMENTAL="0"))
                print(f"  cargo {' '.join(cmd)} fix-{n}, each route in its own fn: {time.perf_counter() - t:.1f} s")
        finally:
            with open(dump, "w") as f:
                f.write(base)
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    src = os.path.join(BENCH, "apps", f"gen-{n}")
    dst = os.path.join(BENCH, "apps", f"fix-{n}")
    os.makedirs(os.path.join(dst, "src"), exist_ok=True)
    with open(os.path.join(src, "Cargo.toml")) as f:
        toml = f.read().replace(f'name = "gen-{n}"', f'name = "fix-{n}"')
    with open(os.path.join(dst, "Cargo.toml"), "w") as f:
        f.write(toml)
    with open(os.path.join(src, "src", "main.rs")) as f:
        main_rs = f.read().replace("approute::app!();", 'include!("generated.rs");')
    with open(os.path.join(dst, "src", "main.rs"), "w") as f:
        f.write(main_rs.replace("by approute", "by approute, router() rewritten by bench/tools/fix_experiment.py"))
    dump = os.path.join(dst, "src", "generated.rs")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "codegen-bench"], cwd=BENCH, check=True)
    subprocess.run([os.path.join(BENCH, "target", "release", "codegen-bench"), src, "1"], check=True,
                   env=dict(os.environ, CODEGEN_BENCH_DUMP=dump), stdout=subprocess.DEVNULL)
    with open(dump) as f:
        code = f.read()
    with open(dump, "w") as f:
        f.write(rewrite(code))
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
