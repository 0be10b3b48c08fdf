#!/usr/bin/env python3
"""make bench-config: what mod_hsts adds to reading a hosting-scale
configuration.

For each size N (BENCH_CONFIG_SIZES, default 1000,10000,50000) it writes
a shared host's configuration: N name-based TLS vhosts sharing one
certificate, each with a ServerAlias, and for each a plain-HTTP twin with
the same names.  Four variants of the same vhosts:

  none      mod_hsts not loaded, no HSTS line at all
  headers   mod_hsts not loaded; the guides' mod_headers line in each TLS
            vhost
  hsts      HSTSPolicy "max-age=63072000; includeSubDomains" in each TLS
            vhost, HSTSRedirect on in each twin
  preload   the same with "; preload" (so the preload checks, the twin
            lookup included, run for every vhost)
  hints     preload, but the twins have no HSTSRedirect: one preload
            hint per vhost, which the startup log must summarise

and times, for each, `apache2 -t` and (mod_hsts variants)
`apache2 -t -D DUMP_HSTS` BENCH_CONFIG_RUNS times (default 5; 3 at 50,000
vhosts and above), reporting the median CPU time (user + system, from
wait4: on a shared machine it moves far less than the wall time, also
given) and the peak RSS of the process.  For hsts and hints it then
starts the server (one child) and fetches the whole hsts-status document
with curl: the time, its size, the child's peak RSS while it serves it
over what it had before (VmHWM, reset through clear_refs) and the
parent's RSS once serving (hints keeps one finding per vhost).  It prints the ratios against `none` and the
growth from one size to the next (10x the vhosts should cost about 10x
the time), and writes the table into bench/RESULTS.md between its
markers (BENCH_RESULTS: another file, or empty for none).  Figures only:
it asserts nothing.

Then the certificates case (BENCH_CONFIG_CERTS, default 10000; 0 skips
it): that many TLS vhosts each with its own certificate (one private CA,
one EC key, a leaf per vhost made with python3-cryptography: openssl's
command line takes ~10 ms a certificate), started for real, as mod_ssl
loads every certificate only at a real start: httpd -DFOREGROUND until
it serves, then stopped; the CPU time of the whole run (wait4) with
mod_hsts (HSTSPolicy in each vhost, HSTSLockoutCheck reading and
verifying every certificate) against the same without mod_hsts.

    BENCH_CONFIG_SIZES=200,2000 BENCH_CONFIG_CERTS=500 \
        python3 bench/config_scale.py   # quick
"""

import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import harness  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_CONFIG_SIZES",
                                        "1000,10000,50000").split(",") if n]
RUNS = int(os.environ.get("BENCH_CONFIG_RUNS", "0"))
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(HERE, "RESULTS.md"))
CERTS = int(os.environ.get("BENCH_CONFIG_CERTS", "10000"))
CERT_RUNS = int(os.environ.get("BENCH_CONFIG_CERT_RUNS", "3"))  # each
MODULES = ["mpm_event", "authz_core", "mime", "dir", "alias", "ssl",
           "socache_shmcb", "headers"]
POLICY = "max-age=63072000; includeSubDomains"
VARIANTS = ("none", "headers", "hsts", "preload", "hints")
HSTS_VARIANTS = ("hsts", "preload", "hints")


def runs_for(n):
    return RUNS or (3 if n >= 50000 else 5)


def write_config(d, pki, n, variant, ports):
    """httpd.conf and vhosts.conf for one size and variant in `d`."""
    tls_port, plain_port = ports
    hsts = variant in HSTS_VARIANTS
    policy = POLICY + ("" if variant == "hsts" else "; preload")
    mods = ["LoadModule %s_module %s/mod_%s.so" % (m, harness.modules_dir(),
                                                    m) for m in MODULES]
    if hsts:
        mods.append("LoadModule hsts_module %s" % harness.MODULE)
        # the shared certificate's CA is a private one
        mods.append('HSTSLockoutCheck warn "ca=%s"' % pki.ca)
    main = mods + [
        'ServerRoot "%s"' % d,
        'DefaultRuntimeDir "%s"' % d,
        'PidFile "%s/httpd.pid"' % d,
        'ErrorLog "%s/error.log"' % d,
        "LogLevel warn",
        "ServerName main.invalid",
        "TypesConfig /etc/mime.types",
        "Listen 127.0.0.1:%d https" % tls_port,
        "Listen 127.0.0.1:%d" % plain_port,
        'SSLCertificateFile "%s"' % pki.cert,
        'SSLCertificateKeyFile "%s"' % pki.key,
        'DocumentRoot "%s"' % d,
        'Include "%s/vhosts.conf"' % d,
    ]
    with open(os.path.join(d, "httpd.conf"), "w") as f:
        f.write("\n".join(main) + "\n")
    with open(os.path.join(d, "vhosts.conf"), "w") as f:
        for i in range(n):
            name = "site%06d.example" % i
            if hsts:
                tls_line = '    HSTSPolicy "%s"\n' % policy
                plain_line = ("" if variant == "hints"
                              else "    HSTSRedirect on\n")
            elif variant == "headers":
                tls_line = ('    Header always set Strict-Transport-Security'
                            ' "%s" "expr=%%{HTTPS} == \'on\'"\n' % policy)
                plain_line = ""
            else:
                tls_line = plain_line = ""
            f.write("<VirtualHost 127.0.0.1:%d>\n"
                    "    ServerName %s\n"
                    "    ServerAlias www.%s\n"
                    "    SSLEngine on\n"
                    "%s"
                    "</VirtualHost>\n"
                    "<VirtualHost 127.0.0.1:%d>\n"
                    "    ServerName %s\n"
                    "    ServerAlias www.%s\n"
                    "%s"
                    "</VirtualHost>\n"
                    % (tls_port, name, name, tls_line, plain_port, name,
                       name, plain_line))


STATUS_VARIANTS = ("hsts", "hints")
STATUS_CONF = """
ServerLimit 1
StartServers 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 1
MaxSpareThreads 25
<Location "/hsts-status">
    SetHandler hsts-status
</Location>
"""


def proc_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


def serve_status(d, conf, n, ports):
    """Start the server on `conf` and fetch the whole hsts-status
    document once: (seconds, bytes, child RSS before in kB, the child's
    peak growth while serving it in kB, parent RSS in kB)."""
    with open(conf, "a") as f:
        f.write(STATUS_CONF)
        if os.geteuid() == 0:
            f.write("User %s\nGroup %s\n" % harness.run_as())
    pid_file = os.path.join(d, "httpd.pid")
    proc = subprocess.Popen([harness.httpd_binary(), "-f", conf,
                             "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT,
                            env=harness.httpd_env())
    try:
        deadline = time.time() + 600
        kids = []
        while time.time() < deadline and len(kids) != 1:
            if proc.poll() is not None:
                raise RuntimeError("httpd exited: %s" % open(os.path.join(
                    d, "error.log")).read()[-3000:])
            if os.path.exists(pid_file) and listening(ports[1]):
                kids = children(proc.pid)
            time.sleep(0.2)
        child = kids[0]
        # warm: the first request pays for the connection's own pools
        subprocess.run(["curl", "-sS", "-o", "/dev/null",
                        "http://127.0.0.1:%d/hsts-status?vhost=none.invalid"
                        % ports[1]], check=False)
        before = proc_kb(child, "VmRSS")
        with open("/proc/%d/clear_refs" % child, "w") as f:
            f.write("5")
        start = time.perf_counter()
        # over TLS: the plain twins redirect
        res = subprocess.run(["curl", "-sSk", "--max-time", "600",
                              "--resolve", "site000000.example:%d:127.0.0.1"
                              % ports[0], "https://site000000.example:%d"
                              "/hsts-status" % ports[0]],
                             capture_output=True)
        seconds = time.perf_counter() - start
        peak = proc_kb(child, "VmHWM")
        try:
            doc = json.loads(res.stdout)
        except ValueError:
            raise RuntimeError("hsts-status: not JSON: %r\n%s" % (
                res.stdout[:500], open(os.path.join(
                    d, "error.log")).read()[-2000:]))
        if len(doc["vhosts"]) != 2 * n + 1:
            raise RuntimeError("hsts-status: %d vhosts, not %d"
                               % (len(doc["vhosts"]), 2 * n + 1))
        return (seconds, len(res.stdout), before, max(0, peak - before),
                proc_kb(proc.pid, "VmRSS"))
    finally:
        proc.terminate()
        proc.wait()


def timed(cmd):
    """(wall seconds, CPU seconds, peak RSS in kB, return code, output)
    of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            env=harness.httpd_env())
    out = []
    # read before waiting: DUMP_HSTS writes megabytes to the pipe
    for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):
        out.append(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    return (seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
            proc.returncode, b"".join(out))


def measure(pki, n, variant, ports):
    d = tempfile.mkdtemp(prefix="hsts-config-%s-%d-" % (variant, n))
    os.chmod(d, 0o755)
    try:
        write_config(d, pki, n, variant, ports)
        conf = os.path.join(d, "httpd.conf")
        res = {}
        kinds = [("t", [])]
        if variant in HSTS_VARIANTS:
            kinds.append(("dump", ["-D", "DUMP_HSTS"]))
        for kind, extra in kinds:
            times, cpus, rss = [], [], []
            for _ in range(runs_for(n)):
                secs, cpu, kb, rc, out = timed([harness.httpd_binary(), "-t",
                                                "-f", conf] + extra)
                if rc != 0:
                    raise RuntimeError("%s -t failed for %s/%d:\n%s"
                                       % (harness.httpd_binary(), variant,
                                          n, out[-3000:].decode(
                                              "latin-1")))
                times.append(secs)
                cpus.append(cpu)
                rss.append(kb)
            res[kind] = (statistics.median(cpus), max(rss),
                         (min(cpus), max(cpus)), statistics.median(times))
            if kind == "t":
                res["log_lines"] = len([l for l in out.splitlines()
                                        if b"[hsts:" in l])
            else:
                res["dump_lines"] = out.count(b'{"type":"vhost"')
        if variant in STATUS_VARIANTS:
            res["status"] = serve_status(d, conf, n, ports)
        return res
    finally:
        shutil.rmtree(d, ignore_errors=True)


def table(results):
    lines = ["| vhosts (TLS + plain) | variant | `-t` CPU s, median "
             "(min-max) | vs. none | growth | `-t` wall s | peak RSS MB "
             "| vs. none | `-t -D DUMP_HSTS` CPU s | its peak RSS MB "
             "| mod_hsts log lines |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    prev = {}
    for n in SIZES:
        base = results[(n, "none")]
        for v in VARIANTS:
            r = results[(n, v)]
            t, kb, (lo, hi), wall = r["t"]
            growth = ""
            if v in prev:
                p_n, p_t = prev[v]
                growth = "%.1fx for %.0fx vhosts" % (t / p_t, n / p_n)
            prev[v] = (n, t)
            dump = r.get("dump")
            lines.append(
                "| %d + %d | %s | %.2f (%.2f-%.2f) | %s | %s | %.2f | %.0f "
                "| %s | %s | %s | %s |"
                % (n, n, v, t, lo, hi,
                   "" if v == "none" else "%.2f" % (t / base["t"][0]),
                   growth, wall, kb / 1024.0,
                   "" if v == "none" else "%.2f" % (kb / base["t"][1]),
                   "%.2f" % dump[0] if dump else "",
                   "%.0f" % (dump[1] / 1024.0) if dump else "",
                   r["log_lines"] if v in HSTS_VARIANTS else ""))
    lines += ["", "The hsts-status document, served whole by a running "
              "server (one child):", "",
              "| vhosts (TLS + plain) | variant | time s | document MB "
              "| child RSS before MB | child peak growth while serving "
              "it MB | parent RSS MB |",
              "|---|---|---|---|---|---|---|"]
    for n in SIZES:
        for v in STATUS_VARIANTS:
            secs, size, before, growth, parent = results[(n, v)]["status"]
            lines.append("| %d + %d | %s | %.2f | %.1f | %.0f | %.1f | %.0f |"
                         % (n, n, v, secs, size / 1e6, before / 1024.0,
                            growth / 1024.0, parent / 1024.0))
    return "\n".join(lines)


def write_results(path, body, marker="make bench-config"):
    begin, end = ("<!-- begin: %s -->" % marker,
                  "<!-- end: %s -->" % marker)
    text = open(path).read() if os.path.exists(path) else ""
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(text):
        print("bench-config: no markers in %s, not written" % path)
        return
    text = pattern.sub(lambda m: begin + "\n\n" + body + "\n" + end, text)
    with open(path, "w") as f:
        f.write(text)
    print("bench-config: results written to %s" % path)


def make_certs(d, n):
    """One CA and one EC key; a leaf for site%06d.example (and its www.)
    per vhost, each in its own file.  Returns (CA file, key file, [leaf
    files], seconds taken)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    start = time.perf_counter()
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            "bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name)
          .issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(1))
          .not_valid_after(now + datetime.timedelta(365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    ca_file = os.path.join(d, "ca.pem")
    with open(ca_file, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = os.path.join(d, "leaf.key")
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.makedirs(os.path.join(d, "certs"))
    files = []
    for i in range(n):
        name = "site%06d.example" % i
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(
                    NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(1000 + i)
                .not_valid_before(now - datetime.timedelta(1))
                .not_valid_after(now + datetime.timedelta(90))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName(name), x509.DNSName("www." + name)]),
                    critical=False)
                .add_extension(x509.ExtendedKeyUsage(
                    [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                    critical=False)
                .sign(ca_key, hashes.SHA256()))
        path = os.path.join(d, "certs", "%s.pem" % name)
        with open(path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        files.append(path)
    return ca_file, key_file, files, time.perf_counter() - start


def write_cert_config(d, n, hsts, ca_file, key_file, files, port):
    mods = ["LoadModule %s_module %s/mod_%s.so" % (m, harness.modules_dir(),
                                                    m) for m in MODULES]
    mods += harness.load_lines([])
    if hsts:
        mods.append("LoadModule hsts_module %s" % harness.MODULE)
        mods.append('HSTSLockoutCheck warn "ca=%s"' % ca_file)
    main = mods + [
        'ServerRoot "%s"' % d,
        'DefaultRuntimeDir "%s"' % d,
        'PidFile "%s/httpd.pid"' % d,
        'ErrorLog "%s/error.log"' % d,
        "LogLevel warn",
        "ServerName main.invalid",
        "TypesConfig /etc/mime.types",
        "Listen 127.0.0.1:%d https" % port,
        "StartServers 1",
        'DocumentRoot "%s"' % d,
        'Include "%s/vhosts.conf"' % d,
    ]
    if os.geteuid() == 0:
        main += ["User %s" % harness.run_as()[0],
                 "Group %s" % harness.run_as()[1]]
    with open(os.path.join(d, "httpd.conf"), "w") as f:
        f.write("\n".join(main) + "\n")
    with open(os.path.join(d, "vhosts.conf"), "w") as f:
        for i in range(n):
            name = "site%06d.example" % i
            f.write("<VirtualHost 127.0.0.1:%d>\n"
                    "    ServerName %s\n"
                    "    ServerAlias www.%s\n"
                    "    SSLEngine on\n"
                    '    SSLCertificateFile "%s"\n'
                    '    SSLCertificateKeyFile "%s"\n'
                    "%s"
                    "</VirtualHost>\n"
                    % (port, name, name, files[i], key_file,
                       '    HSTSPolicy "%s"\n' % POLICY if hsts else ""))


def start_stop(d, port):
    """(CPU seconds of the whole run, wall seconds until it serves, peak
    RSS kB, mod_hsts log lines): httpd started for real, stopped once it
    serves."""
    conf = os.path.join(d, "httpd.conf")
    pid_file = os.path.join(d, "httpd.pid")
    log = os.path.join(d, "error.log")
    for path in (pid_file, log):
        if os.path.exists(path):
            os.unlink(path)
    start = time.perf_counter()
    proc = subprocess.Popen([harness.httpd_binary(), "-f", conf,
                             "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env=harness.httpd_env())
    deadline = time.time() + 600
    while True:
        if proc.poll() is not None:
            raise RuntimeError("httpd exited at start:\n" + open(log).read())
        try:
            with open(pid_file) as f:
                if int(f.read().strip() or 0) == proc.pid:
                    import socket
                    with socket.create_connection(("127.0.0.1", port),
                                                  timeout=0.2):
                        break
        except (OSError, ValueError):
            pass
        if time.time() > deadline:
            raise RuntimeError("httpd did not start")
        time.sleep(0.02)
    wall = time.perf_counter() - start
    proc.send_signal(15)
    _, status, usage = os.wait4(proc.pid, 0)
    lines = [l for l in open(log, errors="replace")
             if harness.LOG_LEVEL_RE.match(l) and "[hsts:" in l]
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss, lines


def bench_certs(n):
    d = tempfile.mkdtemp(prefix="hsts-config-certs-%d-" % n)
    os.chmod(d, 0o755)
    port = harness.free_ports(1)[0]
    try:
        ca_file, key_file, files, made = make_certs(d, n)
        for p in [ca_file, key_file] + files:
            os.chmod(p, 0o644)
        os.chmod(os.path.join(d, "certs"), 0o755)
        print("%d certificates made in %.1f s" % (n, made))
        res = {}
        for variant in ("none", "hsts") * CERT_RUNS:
            write_cert_config(d, n, variant == "hsts", ca_file, key_file,
                              files, port)
            cpu, wall, kb, lines = start_stop(d, port)
            print("%6d vhosts with their own certificates, %-4s: start "
                  "%.2f s CPU, %.2f s until serving, %.0f MB, %d mod_hsts "
                  "log lines" % (n, variant, cpu, wall, kb / 1024.0,
                                 len(lines)))
            if lines:
                print("".join(lines[:10]))
            res.setdefault(variant, []).append((cpu, wall, kb, len(lines)))
        return res, made
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cert_table(n, res, made):
    none = statistics.median(r[0] for r in res["none"])
    rows = ["%d TLS vhosts, each with its own certificate (made in %.0f s), "
            "started for real until serving, then stopped; median of %d "
            "runs each, the two variants alternating."
            % (n, made, len(res["none"])), "",
            "| variant | start CPU s, median (min-max) | vs. none | until "
            "serving, wall s | peak RSS MB | mod_hsts log lines |",
            "|---|---|---|---|---|---|"]
    for v in ("none", "hsts"):
        cpus = [r[0] for r in res[v]]
        cpu = statistics.median(cpus)
        rows.append("| %s | %.2f (%.2f-%.2f) | %s | %.2f | %.0f | %s |"
                    % (v, cpu, min(cpus), max(cpus),
                       "" if v == "none" else "%.2f" % (cpu / none),
                       statistics.median(r[1] for r in res[v]),
                       max(r[2] for r in res[v]) / 1024.0,
                       max(r[3] for r in res[v]) if v == "hsts" else ""))
    return "\n".join(rows) + "\n"


def main():
    if not os.path.exists(harness.MODULE):
        sys.exit("bench-config: build the module first (make)")
    if CERTS:
        res, made = bench_certs(CERTS)
        body = cert_table(CERTS, res, made)
        print()
        print(body)
        if RESULTS:
            write_results(RESULTS, body, "make bench-config certs")
    pki = harness.make_pki("config-scale")
    ports = harness.free_ports(2)
    results = {}
    try:
        for n in SIZES:
            for v in VARIANTS:
                print("%6d vhosts, %-8s ..." % (n, v), end=" ", flush=True)
                r = measure(pki, n, v, ports)
                results[(n, v)] = r
                print("-t %.2f s CPU, %.0f MB%s" % (
                    r["t"][0], r["t"][1] / 1024.0,
                    "; DUMP_HSTS %.2f s CPU, %.0f MB, %d vhost lines"
                    % (r["dump"][0], r["dump"][1] / 1024.0, r["dump_lines"])
                    if "dump" in r else "")
                      + ("; hsts-status %.2f s, %.1f MB, child +%.1f MB"
                         % (r["status"][0], r["status"][1] / 1e6,
                            r["status"][3] / 1024.0)
                         if "status" in r else ""))
    finally:
        shutil.rmtree(pki.dir, ignore_errors=True)
    httpd = subprocess.run([harness.httpd_binary(), "-v"],
                           capture_output=True, text=True).stdout
    m = re.search(r"Apache/([\d.]+)", httpd)
    head = ("Measured %s on %s (%d cores), httpd %s; median of %s runs "
            "per figure, peak RSS the largest seen."
            % (datetime.date.today().isoformat(), platform.node() or "?",
               os.cpu_count() or 0, m.group(1) if m else "?",
               RUNS or "5 (3 at 50,000 vhosts and above)"))
    body = head + "\n\n" + table(results) + "\n"
    print()
    print(body)
    if RESULTS:
        write_results(RESULTS, body)


if __name__ == "__main__":
    main()
