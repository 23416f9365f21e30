#!/usr/bin/env python3
"""probe_edges.py HOST PORT [REQUESTS_FILE]: sends every request in requests.txt
(beside this script unless given) over a plain socket, byte for byte, and prints
one JSON object a line.

Each line is `METHOD TARGET`; blank lines and lines starting with # are skipped;
the line is stripped, then split at its first space, so a target may hold inner
spaces. The target goes on the request line exactly as written (no dot-segment
removal, no slash collapsing, no percent-encoding: nothing a client library
would do), with two expansions:
  {{TEXT*N}}  TEXT repeated N times (as in ../probe.py)
  {{0xHH}}    the single raw byte HH (for bytes a line cannot hold: tab, CR,
              a trailing space, non-ASCII bytes that are not UTF-8)
Other non-ASCII characters are sent as raw UTF-8. The "req" key keeps the line
as written.

Request sent: `METHOD TARGET HTTP/1.1`, `host: HOST:PORT`, `content-length: 0`,
`connection: close`, no body.

Output keys: the ones ../probe.py writes (status; allow sorted; location;
x-route; x-method; params from a 200 JSON body; body_len on HEAD) plus
  allow_raw  the Allow header exactly as sent (unsorted; every Allow header
             joined with " | " if there were several)
  body       the body, when it is short (<= 200 bytes) and the status is not 200
  error      when the server closed the connection without an HTTP answer
  bare       true when the answer's only header was Connection: Node.js's
             HTTP parser refused the request before Next.js saw it
`location` is the raw header value, as in ../probe.py. ../compare.py reads these
lines unchanged (it ignores allow_raw, body and error)."""
import json, os, re, socket, sys

REPEAT = re.compile(r"\{\{(.*?)\*(\d+)\}\}")
BYTE = re.compile(r"\{\{0x([0-9A-Fa-f]{2})\}\}")


def target_bytes(t):
    t = REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), t)
    out, pos = b"", 0
    for m in BYTE.finditer(t):
        out += t[pos:m.start()].encode("utf-8") + bytes([int(m.group(1), 16)])
        pos = m.end()
    return out + t[pos:].encode("utf-8")


def dechunk(b):
    out = b""
    while b:
        line, _, rest = b.partition(b"\r\n")
        n = int(line.split(b";")[0].strip() or b"0", 16)
        if n == 0:
            break
        out += rest[:n]
        b = rest[n + 2:]
    return out


def probe(host, port, method, target):
    req = (method.encode("ascii") + b" " + target + b" HTTP/1.1\r\n"
           + f"host: {host}:{port}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(req)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    here = os.path.dirname(os.path.abspath(__file__))
    reqfile = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "requests.txt")
    if not os.path.exists(reqfile):
        reqfile = os.path.join(here, reqfile)
    for line in open(reqfile, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        method, target = line.split(" ", 1)
        try:
            data = probe(host, port, method, target_bytes(target))
        except OSError as e:
            data, err = b"", type(e).__name__
        else:
            err = "closed without an answer"
        head, sep, body = data.partition(b"\r\n\r\n")
        if not data or not sep or not head.startswith(b"HTTP/"):
            print(json.dumps({"req": line, "status": None, "error": err}, sort_keys=True))
            continue
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hs = []
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hs.append((k.strip().lower(), v.strip()))
        h = {}
        for k, v in hs:
            h.setdefault(k, []).append(v)
        if "chunked" in ",".join(h.get("transfer-encoding", [])).lower():
            body = dechunk(body)
        out = {"req": line, "status": status}
        if set(h) <= {"connection"}:
            out["bare"] = True
        if "allow" in h:
            raw = " | ".join(h["allow"])
            out["allow_raw"] = raw
            out["allow"] = ",".join(sorted(x.strip() for v in h["allow"] for x in v.split(",")))
        if "location" in h:
            out["location"] = " | ".join(h["location"])
        for k in ("x-route", "x-method"):
            if k in h:
                out[k] = h[k][0]
        ct = h.get("content-type", [""])[0]
        if status == 200 and body and ct.startswith("application/json"):
            try:
                out["params"] = json.loads(body).get("params")
            except Exception:
                out["params"] = "<unparsable>"
        if method == "HEAD":
            out["body_len"] = len(body)
        elif status != 200 and body and len(body) <= 200:
            out["body"] = body.decode("utf-8", "replace")
        print(json.dumps(out, sort_keys=True), flush=True)


main()
