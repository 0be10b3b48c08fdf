#!/usr/bin/env python3
"""make bench: what mod_hsts costs, measured side by side in one run.

1. Instructions per request (callgrind): a single-process prefork httpd
   (-X) under valgrind --tool=callgrind --dump-after=ap_process_request,
   so callgrind writes one dump per request; over one keep-alive
   connection W warm-up requests are sent, then the measured ones.
   Start-up and the TLS handshake fall in the warm-up dumps and are never
   counted.  (callgrind_control -z/-d would do the same, but needs ptrace
   to interrupt a process blocked in a system call, which sandboxes often
   forbid.)  Each configuration is compared with a baseline that sends
   no header at all, in the same directory (paths are compared and copied
   all along a request: their length must not differ between runs).
   Heap layout: the same request costs up to ~150 instructions more or
   less depending on where httpd's request pool puts its strings (glibc's
   vector strcmp/strlen take a slower path near page ends), and any
   module that allocates moves everything after it.  One request repeated
   N times samples a single layout, which flatters one configuration and
   penalises another by chance.  So each measured request carries an
   X-Bench-Pad header of 0, 8, 16, ... 4088 bytes (BENCH_LAYOUTS of
   them, sent twice each; the lower of the two drops the once-a-second
   Date formatting), which slides the pool's allocations through every
   offset of a page; the figure is the mean over the layouts, the same in
   every configuration; between runs a difference moves by ~20
   instructions.
2. Throughput: wrk (HTTP/1.1 keep-alive over TLS) and h2load (HTTP/2),
   baseline and mod_hsts interleaved, median requests/s.
3. Memory: allocations mod_hsts' functions make per request (from the
   call graph) and the children's RSS before and after each throughput
   run.

Figures, never assertions: `make test` does not time anything.
Environment: BENCH_LAYOUTS (request pool layouts per callgrind run,
default 512: every 8-byte offset of a 4 KB page),
BENCH_SECONDS (per throughput run, default 10), BENCH_ROUNDS (default 5;
0 skips throughput),
BENCH_OUT (also write the Markdown results there), BENCH_RESULTS (the
file whose marked sections get the results, bench/RESULTS.md; empty:
none).
"""

import datetime
import os
import platform
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import harness  # noqa: E402

LAYOUTS = int(os.environ.get("BENCH_LAYOUTS", "512"))
PAGE = 4096
REPEAT = 2          # each layout twice: the lower drops the Date cost
SAMPLES = 16        # layouts whose dumps the per-function breakdown uses
WARMUP = 20
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# configuration key -> yardstick module (bench/<name>.c)
FLOORS = {key: os.path.join(HERE, ".libs", name + ".so")
          for key, name in (("floor", "mod_hsts_floor"),
                            ("floor_out", "mod_hsts_floor_out"),
                            ("floor_filter", "mod_hsts_floor_filter"))}
POLICY = "max-age=31536000; includeSubDomains"

PREFORK = ["mpm_prefork", "authz_core", "authz_host", "mime", "dir", "ssl",
           "socache_shmcb", "headers", "setenvif", "env"]
EVENT = ["mpm_event"] + PREFORK[1:] + ["http2"]

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
FILTER_SIZE = 40    # sizeof(ap_filter_t) on LP64: 5 pointers
BIG = 2 * 1024 * 1024   # the proxied response, in flushed 8 KB pieces
FILE = 4 * 1024 * 1024  # the static file
BIG_LAYOUTS = 8         # (h) and (i), megabytes each: a few layouts do
BACKEND = [0]           # port of the backend httpd streaming /stream


def conf_for(h, key, modules):
    """(config text, path, tls) for one measured configuration."""
    root = h.docroot
    ht_dirs = '<Directory "%s">\n    AllowOverride FileInfo\n</Directory>\n' \
        % root
    bodies = {
        "base": "",
        "floor": "",
        "floor_out": "",
        "floor_filter": "",
        "seeds": 'Header always set Strict-Transport-Security "%s" '
                 'env=HTTPS' % POLICY,
        "expr": 'Header always set Strict-Transport-Security "%s" '
                '"expr=%%{HTTPS} == \'on\'"' % POLICY,
        "hsts": 'HSTSPolicy "%s"' % POLICY,
        "base_ht": ht_dirs,
        "hsts_ht": 'HSTSPolicy "max-age=300"\n' + ht_dirs,
        "rollout": 'HSTSPolicy "%s"\nHSTSRollout start=%s'
                   % (POLICY, (TODAY - datetime.timedelta(days=10))),
        "plain_base": "",
        "plain_hsts": 'HSTSPolicy "%s"' % POLICY,
        "proxy_base": "ProxyPass /p/ http://127.0.0.1:%d/" % BACKEND[0],
        "proxy_hsts": 'HSTSPolicy "%s"\nProxyPass /p/ http://127.0.0.1:%d/'
                      % (POLICY, BACKEND[0]),
        "file_base": "",
        "file_hsts": 'HSTSPolicy "%s"' % POLICY,
        "loaded_hsts": "",
    }
    mods = list(modules)
    if key.startswith("proxy"):
        mods += ["proxy", "proxy_http"]
    if key in FLOORS:
        mods_extra = "LoadModule hsts_floor_module %s\n" % FLOORS[key]
    else:
        mods_extra = ""
    uses_hsts = (key.startswith("hsts") or key == "rollout"
                 or key.endswith("_hsts"))
    text = h.base_conf(modules=mods, log_level="warn", hsts=uses_hsts,
                       extra=mods_extra + "KeepAliveTimeout 60\n"
                       "MaxKeepAliveRequests 0\n")
    # The same access log line for every configuration: logging the hsts
    # note is the admin's choice, not the module's cost.
    text = text.replace('%{hsts}n', '-')
    tls = not key.startswith("plain")
    vhost = h.tls_vhost if tls else h.plain_vhost
    text += vhost(bodies[key])
    path = "/a/b/index.html" if key.endswith("_ht") else "/index.html"
    if key.startswith("proxy"):
        path = "/p/stream"
    if key.startswith("file"):
        path = "/big.bin"
    return text, path, tls


def write_docroot(h):
    h.write("big.bin", "x" * FILE)
    h.write("index.html", "x" * 512)
    h.write("a/b/index.html", "x" * 512)
    h.write("a/.htaccess", "# tenant a\n")
    h.write("a/b/.htaccess", "# tenant b\n")


def keepalive_requests(port, tls, path, pads, sock=None):
    """Send one keep-alive request per entry of `pads` on one connection,
    each with an X-Bench-Pad header that many bytes long."""
    if sock is None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=harness.DOMAIN)
    buf = b""
    for pad in pads:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nX-Bench-Pad: %s\r\n"
                      "\r\n" % (path, harness.DOMAIN, "p" * pad)).encode())
        while True:
            total = response_length(buf)
            if total:
                if not buf.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError("unexpected response: %r" % buf[:200])
                buf = buf[total:]
                break
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            buf += chunk
    return sock


def response_length(buf):
    """Length of the first complete response in `buf` (Content-Length or
    chunked), or 0 if it is not all there yet."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return 0
    head = buf[:head_end].decode("latin-1")
    pos = head_end + 4
    if not re.search(r"(?im)^transfer-encoding:\s*chunked", head):
        m = re.search(r"(?im)^content-length:\s*(\d+)", head)
        total = pos + (int(m.group(1)) if m else 0)
        return total if len(buf) >= total else 0
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return 0
        size = int(buf[pos:line_end].split(b";")[0], 16)
        if size == 0:
            end = buf.find(b"\r\n\r\n", line_end)
            return end + 4 if end >= 0 else 0
        pos = line_end + 2 + size + 2
        if pos > len(buf):
            return 0


def pad_lengths(layouts):
    """`layouts` pad lengths spread over a page, in steps of 8 bytes (the
    pool's alignment)."""
    step = max(8, PAGE // layouts // 8 * 8)
    return [(i * step) % PAGE for i in range(layouts)]


def dump_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def callgrind(pki, key):
    """Instructions (and allocations) per request for one configuration."""
    layouts = (BIG_LAYOUTS if key.startswith(("proxy", "file"))
               else LAYOUTS)
    pads = [pad for pad in pad_lengths(layouts) for _ in range(REPEAT)]
    n = len(pads)
    # One directory for every configuration, so that paths (compared and
    # copied all along a request) cost the same in each.
    h = harness.Httpd(pki, path=os.path.join(pki.dir, "callgrind"))
    write_docroot(h)
    text, path, tls = conf_for(h, key, PREFORK)
    h.configure(text)
    out = os.path.join(h.dir, "cg.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--vgdb=no",
         "--dump-after=ap_process_request", "--callgrind-out-file=" + out,
         harness.httpd_binary(), "-X", "-f", h.conf_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = h.tls_port if tls else h.plain_port
    deadline = time.time() + 180
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port),
                                         timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("httpd under callgrind did not "
                                       "start:\n" + h.read_log())
                time.sleep(0.5)
        # httpd (even with -X) switches to its User when started as root:
        # let that user write callgrind's dumps.
        os.chmod(h.dir, 0o777)
        for name in os.listdir(h.dir):
            if name.startswith("cg.out"):
                os.chmod(os.path.join(h.dir, name), 0o666)
        sock = keepalive_requests(port, tls, path, [0] * WARMUP + pads)
        sock.close()
        proc.terminate()
        proc.wait(timeout=120)
        dumps = sorted((int(p.rsplit(".", 1)[1]), p) for p in
                       (os.path.join(h.dir, n) for n in os.listdir(h.dir))
                       if re.search(r"cg\.out\.\d+$", p))
        # dump k ends with request k's ap_process_request; the probe
        # connections made while waiting for the port send no request
        measured = [p for _, p in dumps][-n:]
        if len(dumps) < WARMUP + n:
            raise RuntimeError("expected %d dumps, got %d"
                               % (WARMUP + n, len(dumps)))
        # per layout, the lower of its REPEAT requests
        per_layout = []
        for i in range(0, n, REPEAT):
            group = [(dump_total(p), p) for p in measured[i:i + REPEAT]]
            per_layout.append(min(group))
        totals = [t for t, _ in per_layout]
        mean = statistics.mean(totals)
        # the breakdown: SAMPLES layouts spread over the page, averaged
        sample = per_layout[::max(1, len(per_layout) // SAMPLES)]
        functions, allocs, calls, passes = {}, 0, 0, 0
        for _, p in sample:
            for name, cost in self_costs(p).items():
                functions[name] = functions.get(name, 0) + cost / len(sample)
            with open(p) as f:
                text = f.read()
            allocs += count_allocs(text) / len(sample)
            calls += count_calls(text, "hsts_out_filter") / len(sample)
            passes += count_calls(text, "ap_pass_brigade") / len(sample)
        kept = os.path.join(tempfile.gettempdir(),
                            "mod_hsts-bench-%s.callgrind" % key)
        shutil.copy(min(per_layout, key=lambda tp: abs(tp[0] - mean))[1],
                    kept)
        return {"per_request": mean,
                "spread": (min(totals), max(totals)),
                "allocs": allocs,
                "filter_calls": calls,
                "pass_calls": passes,
                "functions": functions}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        h.cleanup()


def count_allocs(text):
    """Calls to apr_palloc/apr_pcalloc made from mod_hsts functions."""
    names = {}
    fn = None
    calls = 0
    pending = None
    for line in text.splitlines():
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            kind, ident, name = m.groups()
            if name:
                names[ident] = name
            name = names.get(ident, "")
            if kind == "fn":
                fn = name
                pending = None
            else:
                pending = name
            continue
        if line.startswith("calls=") and pending is not None:
            if fn and fn.startswith("hsts_") and pending in (
                    "apr_palloc", "apr_pcalloc"):
                calls += int(line[6:].split()[0])
            pending = None
    return calls


def count_calls(text, callee):
    """How often `callee` (at any recursion depth: callgrind names the
    deeper ones `callee'2`...) was called in one dump."""
    names = {}
    calls = 0
    pending = False
    for line in text.splitlines():
        # compressed names are defined on whichever fn=/cfn= line comes first
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            pending = (m.group(1) == "cfn"
                       and names.get(m.group(2), "").split("'")[0]
                       == callee)
            continue
        if line.startswith("calls=") and pending:
            calls += int(line[6:].split()[0])
            pending = False
    return calls


def per_brigade(res):
    """What a further brigade costs mod_hsts: hsts_out_filter's own
    instructions per call plus one ap_pass_brigade, the hop it adds."""
    fn = res["functions"]
    own = fn.get("hsts_out_filter (mod_hsts.so)", 0)
    hop = sum(v for k, v in fn.items() if k.startswith("ap_pass_brigade"))
    return (own / max(1, res["filter_calls"])
            + hop / max(1, res["pass_calls"]))


def self_costs(dump):
    """Exclusive instructions per function in one callgrind dump."""
    res = subprocess.run(["callgrind_annotate", "--threshold=100", dump],
                         capture_output=True, text=True)
    costs = {}
    for line in res.stdout.splitlines():
        # "  1,234 (0.5%)  file.c:function [/path/object]"
        m = re.match(r"^\s*([\d,]+) \([^)]*\)\s+\S*?:?([\w.@']+) "
                     r"\[(\S+)\]$", line)
        if m:
            name = "%s (%s)" % (m.group(2), os.path.basename(m.group(3)))
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",",
                                                                     ""))
    return costs


def child_rss(parent_pid):
    total = 0
    res = subprocess.run(["ps", "-o", "rss=", "--ppid", str(parent_pid)],
                         capture_output=True, text=True)
    for v in res.stdout.split():
        total += int(v)
    return total


def throughput(pki, key, http2):
    """requests/s of one wrk or h2load run on a normal event-MPM httpd."""
    h = harness.Httpd(pki, "tput-" + key)
    write_docroot(h)
    text, path, _ = conf_for(h, key, EVENT)
    h.configure(text)
    h.start()
    try:
        time.sleep(1)
        rss_before = child_rss(h.proc.pid)
        url = "https://127.0.0.1:%d%s" % (h.tls_port, path)
        if http2:
            cmd = ["h2load", "-c", "50", "-t", "2", "-m", "10", "-D",
                   str(SECONDS), "-H", ":authority: " + harness.DOMAIN, url]
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
        else:
            cmd = ["wrk", "-t", "2", "-c", "50", "-d", "%ds" % SECONDS,
                   "-H", "Host: " + harness.DOMAIN, url]
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not m:
            raise RuntimeError("could not read %s output:\n%s"
                               % (cmd[0], out))
        return float(m.group(1)), (rss_before, child_rss(h.proc.pid))
    finally:
        h.stop()
        h.cleanup()


def update_results(path, parts):
    """Put each part between its markers in bench/RESULTS.md (`<!-- begin:
    make bench NAME -->` ... `<!-- end: make bench NAME -->`)."""
    with open(path) as f:
        text = f.read()
    for name, body in parts.items():
        pattern = re.compile(r"(<!-- begin: make bench %s -->\n).*?"
                             r"(<!-- end: make bench %s -->)" % (name, name),
                             re.S)
        if not pattern.search(text):
            print("bench: no '%s' markers in %s, not updated" % (name, path))
            continue
        text = pattern.sub(lambda m: m.group(1) + "\n" + body + "\n"
                           + m.group(2), text)
    with open(path, "w") as f:
        f.write(text)
    print("bench: results written to %s" % path)


def versions():
    httpd = subprocess.run([harness.httpd_binary(), "-v"],
                           capture_output=True, text=True).stdout
    m = re.search(r"Apache/([\d.]+)", httpd)
    ossl = subprocess.run(["openssl", "version"], capture_output=True,
                          text=True).stdout.strip()
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    return m.group(1) if m else "?", ossl, cpu


def main():
    for tool in ("valgrind", "callgrind_annotate", "wrk", "h2load"):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (scripts/deps.sh bench installs "
                     "it)" % tool)
    pki = harness.make_pki("bench")

    # A normal (not instrumented) httpd whose mod_lua handler writes 2 MB in
    # 8 KB pieces, flushing each: no Content-Length, so the response is
    # chunked, and the pieces are the same every time (a CGI's pipe would
    # make the chunking, and so the totals, depend on timing).
    backend = harness.Httpd(pki, "bench-backend")
    script = os.path.join(backend.dir, "stream.lua")
    with open(script, "w") as f:
        f.write('function handle(r)\n'
                '    r.content_type = "application/octet-stream"\n'
                '    local piece = string.rep("x", 8192)\n'
                '    for i = 1, %d do\n'
                '        r:write(piece)\n'
                '        r:flush()\n'
                '    end\n'
                '    return apache2.OK\n'
                'end\n' % (BIG // 8192))
    os.chmod(script, 0o644)
    backend.configure(
        backend.base_conf(modules=harness.BASE_MODULES + ["lua"],
                          hsts=False, log_level="warn")
        + backend.backend_vhost('    LuaMapHandler "^/stream$" "%s" handle\n'
                                % script))
    backend.start()
    BACKEND[0] = backend.backend_port

    keys = ["base", "floor", "floor_out", "floor_filter", "seeds", "expr",
            "hsts", "base_ht", "hsts_ht",
            "rollout", "plain_base", "plain_hsts", "proxy_base",
            "proxy_hsts", "file_base", "file_hsts", "loaded_hsts"]
    cg = {}
    for key in keys:
        print("callgrind: %-10s ..." % key, end=" ", flush=True)
        cg[key] = callgrind(pki, key)
        print("%.0f instructions/request (min %d, max %d)"
              % ((cg[key]["per_request"],) + cg[key]["spread"]))

    def added(key, base="base"):
        return cg[key]["per_request"] - cg[base]["per_request"]

    floor, seeds, expr, hsts = (added("floor"), added("seeds"),
                                added("expr"), added("hsts"))
    floor_out, floor_filter = added("floor_out"), added("floor_filter")
    rows = [
        ("baseline: no header, mod_hsts not loaded",
         "%.0f" % cg["base"]["per_request"], ""),
        ("(a) floor: one precomputed header set in fixups, in "
         "err_headers_out (where `Header always set` puts it)",
         "+%.0f" % floor, ""),
        ("(a0) the same in headers_out: no overlay of the two tables in "
         "httpd's header filter, the cheapest any module can do",
         "+%.0f" % floor_out, ""),
        ("(a1) the same from a protocol filter added in create_request, "
         "mod_hsts' mechanism with nothing else (no TLS test, no lookup, "
         "no de-duplication, no note)",
         "+%.0f" % floor_filter, "a1/a0 = %.2f" % (floor_filter / floor_out)),
        ("(b) `Header always set ... env=HTTPS` (the seeds' line)",
         "+%.0f" % seeds, ""),
        ("(c) `Header always set ... \"expr=%{HTTPS} == 'on'\"`",
         "+%.0f" % expr, ""),
        ("(d) `HSTSPolicy`", "+%.0f" % hsts,
         "d/a = %.2f, d/a0 = %.2f, d/a1 = %.2f, d/c = %.2f"
         % (hsts / floor, hsts / floor_out, hsts / floor_filter,
            hsts / expr)),
        ("(e) `HSTSPolicy` in `.htaccess` two directories deep",
         "+%.0f" % added("hsts_ht", "base_ht"),
         "vs. the same `.htaccess` files without it (%.0f)"
         % cg["base_ht"]["per_request"]),
        ("(f) `HSTSPolicy` + `HSTSRollout` (ramping)",
         "+%.0f" % added("rollout"), "f/a = %.2f" % (added("rollout")
                                                     / floor)),
        ("(g) plain HTTP with a policy configured",
         "%+.0f" % added("plain_hsts", "plain_base"),
         "vs. plain-HTTP baseline (%.0f)" % cg["plain_base"]["per_request"]),
        ("(h) `HSTSPolicy` on a 2 MB chunked response, proxied",
         "%+.0f" % added("proxy_hsts", "proxy_base"),
         "%.0f filter calls, %.1f instructions each after the first (the "
         "filter's own and the extra `ap_pass_brigade`, from the call "
         "graph)"
         % (cg["proxy_hsts"]["filter_calls"], per_brigade(cg["proxy_hsts"]))),
        ("(i) `HSTSPolicy` on a 4 MB static file",
         "%+.0f" % added("file_hsts", "file_base"),
         "%.0f filter call(s)" % cg["file_hsts"]["filter_calls"]),
        ("(j) mod_hsts loaded, no `HSTSPolicy` anywhere (no filter added)",
         "%+.0f" % added("loaded_hsts"), ""),
    ]

    tput = {}
    for proto, http2 in (("HTTP/1.1", False), ("HTTP/2", True)):
        if ROUNDS < 1:
            break           # BENCH_ROUNDS=0: instruction counts only
        runs = {"base": [], "hsts": []}
        rss = {"base": [], "hsts": []}
        for r in range(ROUNDS):
            for key in ("base", "hsts"):
                print("%s %s round %d ..." % (proto, key, r + 1), end=" ",
                      flush=True)
                rps, kb = throughput(pki, key, http2)
                runs[key].append(rps)
                rss[key].append(kb)
                print("%.0f req/s, children RSS %d kB before, %d kB after"
                      % ((rps,) + kb))
        tput[proto] = (runs["base"], runs["hsts"],
                       rss["base"][-1], rss["hsts"][-1])

    httpd_v, ossl, cpu = versions()
    lines = []
    lines.append("Measured %s on %s (%s, %d cores), httpd %s, %s; "
                 "%d request pool layouts per callgrind run, throughput "
                 "%d x %d s."
                 % (datetime.date.today().isoformat(), platform.node() or
                    "?", cpu, os.cpu_count() or 0, httpd_v, ossl, LAYOUTS,
                    ROUNDS, SECONDS))
    lines.append("")
    lines.append("| instructions per keep-alive TLS request | count | "
                 "ratio |")
    lines.append("|---|---|---|")
    for label, value, ratio in rows:
        lines.append("| %s | %s | %s |" % (label, value, ratio))
    lines.append("")
    lines.append("| throughput, %d interleaved runs | baseline req/s, "
                 "median (min-max) | mod_hsts req/s, median (min-max) | "
                 "ratio of medians | children RSS kB before -> after "
                 "(baseline; mod_hsts) |" % ROUNDS)
    lines.append("|---|---|---|---|---|")
    for proto, (b, m, rb, rm) in tput.items():
        mb, mm = statistics.median(b), statistics.median(m)
        lines.append("| %s, 50 connections | %.0f (%.0f-%.0f) | "
                     "%.0f (%.0f-%.0f) | %.3f | %d -> %d; %d -> %d |"
                     % ((proto, mb, min(b), max(b), mm, min(m), max(m),
                         mm / mb) + rb + rm))
    lines.append("")
    lines.append("Allocations by mod_hsts' functions per request "
                 "(apr_palloc/apr_pcalloc calls, from the call graph): "
                 "%d; beyond that httpd allocates the ap_filter_t (%d "
                 "bytes on this build) when the filter is added."
                 % (cg["hsts"]["allocs"], FILTER_SIZE))
    lines.append("")
    results = "\n".join(lines).strip() + "\n"
    lines = []
    lines.append("Where `HSTSPolicy`'s instructions go: functions whose "
                 "own (exclusive) cost per request differs by 8 or more "
                 "between the two configurations, and mod_hsts' functions "
                 "(mean of %d layouts):" % SAMPLES)
    lines.append("")
    for key, ref, title in (
            ("hsts", "floor_filter", "(d) HSTSPolicy over TLS, against "
             "(a1) the same header from the same kind of filter"),
            ("hsts", "floor_out", "(d) HSTSPolicy over TLS, against (a0) "
             "the same header bytes set in fixups"),
            ("hsts", "base", "(d) HSTSPolicy over TLS, against no header"),
            ("plain_hsts", "plain_base", "(g) plain HTTP, against no "
             "module")):
        fn, bf = cg[key]["functions"], cg[ref]["functions"]
        grown = sorted(((fn.get(k, 0) - bf.get(k, 0), k)
                        for k in set(fn) | set(bf)), reverse=True)
        total = cg[key]["per_request"] - cg[ref]["per_request"]
        lines.append("    %s: %+.0f" % (title, total))
        for delta, name in grown:
            # a per-request dump charges the whole request to its call
            # chain (main, ap_process_connection, ...): not a cost
            if abs(delta) >= 0.9 * abs(total) and abs(total) > 50:
                continue
            if abs(delta) >= 8 or (name.startswith("hsts_")
                                   and abs(delta) >= 1):
                lines.append("        %+7.0f  %s" % (delta, name))
        lines.append("")
    breakdown = "\n".join(lines).rstrip() + "\n"
    text = results + "\n" + breakdown
    print()
    print(text)
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "w") as f:
            f.write(text)
    results_md = os.environ.get("BENCH_RESULTS",
                                os.path.join(HERE, "RESULTS.md"))
    if results_md:
        update_results(results_md, {"results": results,
                                    "breakdown": breakdown})
    backend.cleanup()
    print("callgrind dumps kept in %s/mod_hsts-bench-*.callgrind (inspect "
          "with callgrind_annotate)" % tempfile.gettempdir())
    shutil.rmtree(pki.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
