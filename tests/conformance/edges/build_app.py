#!/usr/bin/env python3
"""build_app.py OUTDIR: writes OUTDIR/app/ as Next.js route handlers for ../tree.json
plus ./tree.json (the issue-13 extras). Every handler answers 200 with JSON
{"route": FOLDER, "method": METHOD, "params": PARAMS} (no body for HEAD) and the
headers x-route: FOLDER ("/" for the root folder) and x-method: METHOD, the
convention of shared/nextjs-conformance/README.md. Methods are exported in the
order tree.json lists them."""
import json, os, shutil, sys

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(sys.argv[1], "app")
routes = {}
for t in (os.path.join(here, "..", "tree.json"), os.path.join(here, "tree.json")):
    routes.update(json.load(open(t, encoding="utf-8"))["routes"])
if os.path.isdir(out):
    shutil.rmtree(out)
for folder, methods in routes.items():
    d = os.path.join(out, *folder.split("/")) if folder else out
    os.makedirs(d, exist_ok=True)
    src = ['export const dynamic = "force-dynamic";',
           f"const ROUTE = {json.dumps(folder)};",
           "function answer(method, ctx) {",
           '  const headers = { "x-route": ROUTE === "" ? "/" : ROUTE, "x-method": method };',
           '  if (method === "HEAD") return new Response(null, { status: 200, headers });',
           "  const params = (ctx && ctx.params) || {};",
           "  return Response.json({ route: ROUTE, method, params }, { status: 200, headers });",
           "}"]
    for m in methods:
        src.append(f'export async function {m}(request, ctx) {{ return answer("{m}", ctx); }}')
    with open(os.path.join(d, "route.js"), "w", encoding="utf-8") as f:
        f.write("\n".join(src) + "\n")
print(f"{len(routes)} route files under {out}")
