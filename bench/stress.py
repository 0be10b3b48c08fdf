#!/usr/bin/env python3
"""make stress: mod_hsts under load and faults.

Over TLS, 100+ connections of wrk on a mix of paths (200, 404, 401, 304,
proxied), with a Lua response() hook that counts every response whose
Strict-Transport-Security is missing or not exactly the policy.  wrk's Lua
sees headers as a table, where duplicates collapse, so a second client on
raw TLS sockets counts the header lines of its responses exactly, to catch
a duplicated header.  Three phases:

  1. steady load: STRESS_REQUESTS requests (default 200000);
  2. the same while `apachectl -k graceful` is issued several times;
  3. the proxied backend killed during the run: its 502/503 responses
     must still carry the header.

Fails (exit 1) on any bad response, any unexpected [error] line, or the
RSS of the children that served the second half of the steady phase
growing by more than 10% over it (the first half warms them up; the same
processes are compared, so the MPM starting a child is not a leak).
Prints a report.
"""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import harness  # noqa: E402

REQUESTS = int(os.environ.get("STRESS_REQUESTS", "200000"))
CONNECTIONS = int(os.environ.get("STRESS_CONNECTIONS", "100"))
POLICY = "max-age=31536000; includeSubDomains"

BODY = """
    HSTSPolicy "%s"
    ProxyPass /proxy/ http://127.0.0.1:{backend}/ retry=1
""" % POLICY

LUA = r"""
-- Counts responses whose STS header is missing or not the policy.
local paths = { "/", "/missing", "/auth/", "/index.html", "/proxy/page.html" }
local policy = "%s"
local etag = '%s'
local n = 0
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   bad = 0
   responses = 0
   statuses = {}
end

function request()
   n = n + 1
   local path = paths[(n %% #paths) + 1]
   local headers = { Host = "%s" }
   if path == "/index.html" then
      headers["If-None-Match"] = etag
   end
   return wrk.format("GET", path, headers)
end

function response(status, headers, body)
   responses = responses + 1
   statuses[status] = (statuses[status] or 0) + 1
   local sts = headers["Strict-Transport-Security"]
               or headers["strict-transport-security"]
   if sts ~= policy then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local total_bad, total = 0, 0
   local all = {}
   for _, t in ipairs(threads) do
      total_bad = total_bad + t:get("bad")
      total = total + t:get("responses")
      for s, c in pairs(t:get("statuses")) do
         all[s] = (all[s] or 0) + c
      end
   end
   io.write(string.format("LUA responses=%%d bad=%%d\n", total, total_bad))
   for s, c in pairs(all) do
      io.write(string.format("LUA status %%d %%d\n", s, c))
   end
end
"""


class ExactChecker(threading.Thread):
    """Keep-alive TLS connections that count STS header lines exactly."""

    def __init__(self, port, stop, conns=4):
        super().__init__(daemon=True)
        self.port, self.stop, self.conns = port, stop, conns
        self.responses = self.bad = 0
        self.lock = threading.Lock()

    def one_conn(self):
        paths = ["/", "/missing", "/auth/", "/proxy/page.html"]
        i = 0
        while not self.stop.is_set():
            try:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                sock = ctx.wrap_socket(socket.create_connection(
                    ("127.0.0.1", self.port), timeout=10),
                    server_hostname=harness.DOMAIN)
                buf = b""
                while not self.stop.is_set():
                    path = paths[i % len(paths)]
                    i += 1
                    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                                  % (path, harness.DOMAIN)).encode())
                    while b"\r\n\r\n" not in buf:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise ConnectionError
                        buf += chunk
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    text = head.decode("latin-1")
                    m = re.search(r"(?i)\r\ncontent-length:\s*(\d+)", text)
                    need = int(m.group(1)) if m else 0
                    while len(buf) < need:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise ConnectionError
                        buf += chunk
                    buf = buf[need:]
                    count = len(re.findall(
                        r"(?im)^strict-transport-security:", text))
                    with self.lock:
                        self.responses += 1
                        self.bad += count != 1
                    if re.search(r"(?i)\r\nconnection:\s*close", text):
                        break
                sock.close()
            except (OSError, ConnectionError, ssl.SSLError):
                time.sleep(0.05)    # a graceful restart closed us: reopen

    def run(self):
        workers = [threading.Thread(target=self.one_conn, daemon=True)
                   for _ in range(self.conns)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()


def child_rss(parent_pid):
    """{pid: RSS kB} of the children: a leak shows in the same processes,
    while the sum also moves when the MPM starts or reaps a child."""
    res = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid",
                          str(parent_pid)], capture_output=True, text=True)
    pairs = res.stdout.split()
    return {int(p): int(k) for p, k in zip(pairs[::2], pairs[1::2])}


def run_wrk(h, lua, seconds):
    res = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", "%ds" % seconds,
         "-s", lua, "https://127.0.0.1:%d/" % h.tls_port],
        capture_output=True, text=True)
    m = re.search(r"LUA responses=(\d+) bad=(\d+)", res.stdout)
    if not m:
        raise RuntimeError("wrk output:\n" + res.stdout + res.stderr)
    statuses = {int(s): int(c) for s, c in
                re.findall(r"LUA status (\d+) (\d+)", res.stdout)}
    return int(m.group(1)), int(m.group(2)), statuses


def main():
    if not harness.shutil.which("wrk"):
        sys.exit("stress: wrk is missing (scripts/deps.sh bench installs "
                 "it)")
    pki = harness.make_pki("stress")

    # The proxied backend: a real httpd of its own, so it can be killed.
    backend = harness.start_backend(pki, "stress-backend")

    h = harness.Httpd(pki, "stress")
    h.write("index.html", "x" * 1024)
    # All children up front and none reaped, so the same processes serve
    # both halves of the steady phase and their RSS can be compared.
    h.configure(h.base_conf(log_level="warn", extra="StartServers 4\n"
                            "MinSpareThreads 100\nMaxSpareThreads 400\n")
                + h.tls_vhost(BODY.format(backend=backend.backend_port)
                              + h.basic_auth("/auth")))
    h.start()
    backend_listen = backend.backend_port
    h.allowed += [
        # The backend is killed on purpose with responses in flight: what
        # mod_proxy then logs (AH00957, AH00898, AH01102, AH01110, AH01114,
        # ...) depends on timing.  Everything else stays unexpected.
        r"\[proxy(_http)?:error\]",
        r"\[mpm_event:(notice|info)\]",
        r"AH00171|AH00493|AH00489|AH00094",     # graceful restart notices
    ]
    etag = h.curl("/index.html").all("etag")[0]
    lua = os.path.join(h.dir, "count.lua")
    with open(lua, "w") as f:
        f.write(LUA % (POLICY, etag.replace("\\", "\\\\").replace("'", "\\'"),
                       harness.DOMAIN))

    report = []
    failures = []
    stop = threading.Event()
    exact = ExactChecker(h.tls_port, stop)
    exact.start()
    try:
        # calibrate the duration that gives REQUESTS
        n, bad, _ = run_wrk(h, lua, 2)
        rate = max(n / 2.0, 100.0)
        seconds = max(3, int(REQUESTS / rate * 1.15) + 1)

        # Two halves: the first warms the children up (threads, buffers),
        # the second must not grow them further.
        n1, bad1, st1 = run_wrk(h, lua, seconds // 2 + 1)
        rss0 = child_rss(h.proc.pid)
        n2, bad2, st2 = run_wrk(h, lua, seconds // 2 + 1)
        rss1 = child_rss(h.proc.pid)
        n, bad = n1 + n2, bad1 + bad2
        st = {k: st1.get(k, 0) + st2.get(k, 0) for k in set(st1) | set(st2)}
        report.append(("steady", n, bad, 0, st, rss0, rss1))
        if n < REQUESTS:
            failures.append("steady phase made %d requests, wanted %d"
                            % (n, REQUESTS))

        restarts = [0]

        def graceful():
            for _ in range(5):
                time.sleep(seconds / 6.0)
                subprocess.run([harness.httpd_binary(), "-f", h.conf_path,
                                "-k", "graceful"], capture_output=True,
                               env=harness.httpd_env())
                restarts[0] += 1

        t = threading.Thread(target=graceful)
        t.start()
        n, bad, st = run_wrk(h, lua, seconds // 2 + 2)
        t.join()
        report.append(("graceful x%d" % restarts[0], n, bad, restarts[0],
                       st, None, None))

        def kill_backend():
            time.sleep(seconds / 8.0)
            kids = subprocess.run(["ps", "-o", "pid=", "--ppid",
                                   str(backend.proc.pid)],
                                  capture_output=True, text=True).stdout
            backend.proc.send_signal(signal.SIGKILL)
            for pid in kids.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

        t = threading.Thread(target=kill_backend)
        t.start()
        n, bad, st = run_wrk(h, lua, seconds // 4 + 2)
        t.join()
        report.append(("backend killed", n, bad, 0, st, None, None))
        if not any(s in st for s in (502, 503)):
            failures.append("no 502/503 seen after the backend was killed")
    finally:
        stop.set()
        exact.join(15)
        h.stop()
        backend.stop()

    print("\nmod_hsts stress report (%d connections, TLS, HTTP/1.1)"
          % CONNECTIONS)
    print("%-16s %10s %6s %s" % ("phase", "requests", "bad", "statuses"))
    for name, n, bad, _, st, _, _ in report:
        print("%-16s %10d %6d %s" % (name, n, bad, " ".join(
            "%d:%d" % kv for kv in sorted(st.items()))))
        if bad:
            failures.append("%s: %d responses without exactly the policy"
                            % (name, bad))
    print("exact header-line check: %d responses, %d without exactly one "
          "header" % (exact.responses, exact.bad))
    if exact.bad:
        failures.append("exact checker: %d bad responses" % exact.bad)
    if exact.responses == 0:
        failures.append("exact checker made no requests")
    before, after = report[0][5], report[0][6]
    same = sorted(set(before) & set(after))
    rss0 = sum(before[p] for p in same)
    rss1 = sum(after[p] for p in same)
    print("RSS of the %d children that served the whole second half of the "
          "steady phase: %d kB -> %d kB (all children: %d -> %d kB)"
          % (len(same), rss0, rss1, sum(before.values()),
             sum(after.values())))
    if not same:
        failures.append("no child lived through the steady phase: RSS "
                        "could not be compared")
    elif rss1 > rss0 * 1.10:
        failures.append("child RSS grew from %d to %d kB" % (rss0, rss1))
    bad_lines = h.unexpected_log_lines()
    print("unexpected [warn]/[error] lines: %d" % len(bad_lines))
    failures += bad_lines[:20]
    h.cleanup()
    backend.cleanup()
    harness.shutil.rmtree(pki.dir, ignore_errors=True)
    if failures:
        print("\nSTRESS FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nstress OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
