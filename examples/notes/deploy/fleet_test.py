#!/usr/bin/env python3
"""The notes fleet through nginx (started by fleet.sh, URL in argv[1]):

1. sessions are in the database: signed up through one instance, the user
   is signed in on another, and wrong passwords spread over every instance
   lock the account on all of them;
2. the cache is in Redis: a purge made by one instance is seen by all;
3. rolling restarts under a steady GET load, with POSTs in flight: each
   instance in turn drained from nginx, SIGTERMed and started again: no
   request fails; then the same without draining (SIGTERM alone), where
   GETs still never fail (nginx retries them) and the POSTs that fail are
   counted, and checked never to have been written;
4. requests/s through nginx with 1, 2 and 3 instances (wrk).

Standard library only; `fleet.sh` and `wrk` do the rest. Prints a report.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
URL = urllib.parse.urlsplit(sys.argv[1])
FLEET = ["bash", os.path.join(HERE, "fleet.sh")]
INSTANCES = 3


def request(method, path, body=None, cookie=None):
    """One request on its own connection: (status, headers, body); status 0
    when the connection failed."""
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
    headers = {"Connection": "close"}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    except (OSError, http.client.HTTPException) as e:
        return 0, {}, str(e).encode()
    finally:
        conn.close()


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def sign_up(email):
    status, headers, body = request(
        "POST", "/api/auth/signup", {"email": email, "password": "correct horse battery"})
    check(status == 201, f"sign-up: {status} {body[:200]!r}")
    cookie = headers["set-cookie"].split(";")[0]
    return cookie, headers["x-upstream"]


def sessions_are_shared():
    cookie, signed_up_on = sign_up("alice@example.com")
    seen = set()
    for _ in range(12):
        status, headers, body = request("GET", "/api/me", cookie=cookie)
        check(status == 200, f"/api/me: {status} {body[:200]!r}")
        check(json.loads(body)["email"] == "alice@example.com", f"/api/me: {body!r}")
        seen.add(headers["x-upstream"])
    others = seen - {signed_up_on}
    check(len(seen) == INSTANCES and others, f"/api/me answered only by {seen}")
    print(f"sessions: signed up on {signed_up_on}, signed in on {sorted(others)} too")
    return cookie


def lockout_is_fleet_wide():
    """Wrong passwords for one email, spread by nginx over every instance,
    lock it on all of them: the counts are in the database. test.sh sets
    SIGNIN_MAX_FAILURES to 5, below the route's RATE_LIMIT of 10 a minute."""
    limit = int(os.environ.get("SIGNIN_MAX_FAILURES", "10"))
    check(limit < 10, "SIGNIN_MAX_FAILURES must be below the sign-in RATE_LIMIT (10)")
    seen = set()
    wrong = {"email": "mallory@example.com", "password": "wrong horse"}
    for n in range(limit):
        status, headers, body = request("POST", "/api/auth/signin", wrong)
        check(status == 401, f"wrong password {n + 1}: {status} {body[:200]!r}")
        seen.add(headers["x-upstream"])
    check(len(seen) > 1, f"the sign-ins all went to {seen}")
    status, headers, body = request("POST", "/api/auth/signin", wrong)
    check(status == 429 and b"wrong passwords" in body,
          f"wrong password {limit + 1}, on {headers.get('x-upstream')}: {status} {body[:200]!r}")
    print(f"lockout: {limit} wrong passwords over {len(seen)} instances locked the account on all")


def create(cookie, title, public):
    return request("POST", "/api/notes", {"title": title, "body": "", "public": public},
                   cookie=cookie)


def feed_on_every_instance():
    """{upstream: feed body}, one fresh request per instance."""
    feeds = {}
    for _ in range(30):
        status, headers, body = request("GET", "/feed.xml")
        check(status == 200, f"/feed.xml: {status}")
        feeds.setdefault(headers["x-upstream"], body.decode())
        if len(feeds) == INSTANCES:
            return feeds
    check(False, f"/feed.xml answered only by {sorted(feeds)}")


def purges_are_seen_by_all(cookie):
    status, _, body = create(cookie, "the first public note", True)
    check(status == 201, f"create: {status} {body[:200]!r}")
    for upstream, feed in feed_on_every_instance().items():
        check("the first public note" in feed, f"{upstream} lacks the note")
    # Cached on every instance now; one instance's write purges it for all.
    status, headers, body = create(cookie, "a second public note", True)
    check(status == 201, f"create: {status}")
    written_on = headers["x-upstream"]
    for upstream, feed in feed_on_every_instance().items():
        check("a second public note" in feed, f"{upstream} still serves the old feed")
    print(f"purge: written on {written_on}, the new feed served by all {INSTANCES} instances")
    note = json.loads(body)
    return f"/notes/{note['id']}"


class Load:
    """Steady GETs (4 threads) and POSTs (1 thread), each on a new
    connection, counted by outcome."""

    def __init__(self, cookie, page, label):
        self.cookie, self.page, self.label = cookie, page, label
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.gets = {"ok": 0, "failed": []}
        self.posts = {"ok": [], "failed": []}
        self.serial = 0
        self.threads = [threading.Thread(target=self.get_loop) for _ in range(4)]
        self.threads.append(threading.Thread(target=self.post_loop))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for t in self.threads:
            t.join()

    def get_loop(self):
        paths = [self.page, "/feed.xml", "/api/health", "/"]
        n = 0
        while not self.stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            status, _, body = request("GET", path)
            with self.lock:
                if status == 200:
                    self.gets["ok"] += 1
                else:
                    self.gets["failed"].append((path, status, body[:120]))

    def post_loop(self):
        while not self.stop.is_set():
            with self.lock:
                self.serial += 1
                title = f"load {self.label} {self.serial}"
            status, _, body = create(self.cookie, title, False)
            with self.lock:
                (self.posts["ok"] if status == 201 else self.posts["failed"]).append(
                    (title, status, body[:120]))
            time.sleep(0.02)


def titles_written(cookie):
    titles, offset = set(), 0
    while True:
        status, _, body = request("GET", f"/api/notes?q=load&limit=100&offset={offset}",
                                  cookie=cookie)
        check(status == 200, f"listing: {status}")
        page = json.loads(body)
        titles |= {n["title"] for n in page["notes"]}
        if page.get("next_offset") is None:
            return titles
        offset = page["next_offset"]


def rolling_restart(cookie, page, drain):
    before = titles_written(cookie)
    started = time.monotonic()
    with Load(cookie, page, "drained" if drain else "sigterm") as load:
        time.sleep(1)
        for i in range(1, INSTANCES + 1):
            args = ["restart", str(i)] + ([] if drain else ["--no-drain"])
            subprocess.run(FLEET + args, check=True)
            time.sleep(1)
    took = time.monotonic() - started
    written = titles_written(cookie) - before
    ok = {t for t, _, _ in load.posts["ok"]}
    failed = {t for t, _, _ in load.posts["failed"]}
    mode = "drained (down + reload, then SIGTERM)" if drain else "SIGTERM alone"
    print(f"rolling restart, {mode}, {took:.1f} s: GET {load.gets['ok']} ok, "
          f"{len(load.gets['failed'])} failed; POST {len(ok)} ok, {len(failed)} failed")
    for path, status, body in load.gets["failed"][:5]:
        print(f"  GET {path}: {status} {body!r}")
    for title, status, body in load.posts["failed"][:5]:
        print(f"  POST {title}: {status} {body!r} ({'written' if title in written else 'not written'})")
    check(load.gets["ok"] > 100, "the GET load ran")
    check(not load.gets["failed"], "a GET failed during the rolling restart")
    check(ok <= written, f"a POST answered 201 but is missing: {sorted(ok - written)[:5]}")
    check(not (written - ok - failed), "a note was written that no POST asked for")
    if drain:
        check(not failed, "a POST failed during a drained rolling restart")
    return len(failed), len(failed & written)


def requests_per_second(page):
    rows = []
    for n in range(1, INSTANCES + 1):
        subprocess.run(FLEET + ["scale", str(n)], check=True)
        out = subprocess.run(
            ["wrk", "-t2", "-c32", "-d4s", f"{URL.scheme}://{URL.netloc}{page}"],
            check=True, capture_output=True, text=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        check(errors is None, f"wrk saw errors with {n} instances:\n{out}")
        rows.append((n, rps))
        print(f"requests/s through nginx, {n} instance(s), GET {page}: {rps:.0f}")
    return rows


def main():
    cookie = sessions_are_shared()
    lockout_is_fleet_wide()
    page = purges_are_seen_by_all(cookie)
    rolling_restart(cookie, page, drain=True)
    failed, written = rolling_restart(cookie, page, drain=False)
    print(f"without draining, {failed} POST(s) failed, {written} of them written")
    requests_per_second(page)
    print("notes/fleet: every check passed")


if __name__ == "__main__":
    main()
