#!/usr/bin/env python3
"""make matrix: the unit tests and the whole integration suite against
every httpd release people run.

For each release named in HTTPD_VERSIONS (default: every httpd-*.tar.gz in
HTTPD_SRC, then "system", the httpd whose apxs is on PATH):
scripts/build-httpd.sh builds and installs it once into MATRIX_CACHE (keyed
by the archive's checksum); mod_hsts is built against it with its apxs in
build/matrix/<release>/module (`make matrix-module`); the unit tests run,
then pytest with HSTS_APXS and HSTS_MODULE pointing at that httpd and that
module.  One table of the results is printed and written to
build/matrix/RESULTS.md; any failing row makes the run fail.

The TLS path is read from the module that was built: an undefined
ap_ssl_conn_is_ssl symbol (httpd 2.4.48 and later) or the name of mod_ssl's
optional function ssl_is_https, which only the fallback looks up.
"""

import datetime
import glob
import os
import platform
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "build", "matrix")
PYTHON = os.environ.get("PYTHON", sys.executable)
SYSTEM = "system"


def archives(src):
    """{release name: archive}: httpd-2.4.37.tar.gz is "2.4.37",
    httpd-trunk-0cb6804.tar.gz is "trunk" (and "trunk-0cb6804")."""
    found = {}
    for path in sorted(glob.glob(os.path.join(src, "httpd-*.tar.gz"))):
        full = os.path.basename(path)[len("httpd-"):-len(".tar.gz")]
        found[full] = path
        found.setdefault(full.split("-")[0], path)
    return found


def release_key(name):
    nums = re.findall(r"\d+", name)
    return (0, [int(n) for n in nums]) if re.match(r"\d", name) \
        else (1, [name])


def default_names(found):
    names = sorted({os.path.basename(p) for p in found.values()})
    short = {os.path.basename(p): n for n, p in found.items()
             if "-" not in n}
    return sorted((short[n] for n in names), key=release_key)


def system_apxs():
    for name in ("apxs", "apxs2"):
        for d in os.environ.get("PATH", "").split(os.pathsep):
            path = os.path.join(d, name)
            if os.access(path, os.X_OK):
                return path
    return None


def run(cmd, log=None, **kw):
    """Run cmd; with log, its output goes there (and a short note here)."""
    if log:
        with open(log, "w") as f:
            return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                                  text=True, **kw).returncode
    return subprocess.run(cmd, **kw).returncode


def apxs_q(apxs, var):
    return subprocess.check_output([apxs, "-q", var], text=True).strip()


def tls_path(so):
    """Which TLS test the built module calls, read from the binary."""
    res = subprocess.run(["nm", "-D", "--undefined-only", so],
                         capture_output=True, text=True)
    if re.search(r"\bap_ssl_conn_is_ssl\b", res.stdout):
        return "ap_ssl_conn_is_ssl"
    with open(so, "rb") as f:
        if b"ssl_is_https\0" in f.read():
            return "ssl_is_https fallback"
    return None


def junit_counts(path):
    """(passed, failed, skipped, [expected-by-release kinds])."""
    passed = failed = skipped = 0
    kinds = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") \
                is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
        for prop in case.iter("property"):
            if prop.get("name") == "expected_by_release":
                kinds.append(prop.get("value"))
                break
    return passed, failed, skipped, kinds


def unit_counts(text):
    m = re.search(r"(\d+) passed, (\d+) failed", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 1)


def one_row(name, apxs, label):
    """Build the module against `apxs`, run both suites; return a row."""
    row = {"release": name, "label": label, "tls": "-", "unit": "-",
           "passed": 0, "failed": 0, "skipped": 0, "kinds": [],
           "ok": False, "note": ""}
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    version = subprocess.run([os.path.join(apxs_q(apxs, "SBINDIR"),
                                           apxs_q(apxs, "PROGNAME")), "-v"],
                             capture_output=True, text=True).stdout
    m = re.search(r"Apache/(\S+)", version)
    row["version"] = m.group(1) if m else "?"

    mod_dir = os.path.join(d, "module")
    if run(["make", "-C", REPO, "--no-print-directory", "matrix-module",
            "MATRIX_DIR=" + mod_dir, "APXS=" + apxs],
           log=os.path.join(d, "module-build.log")) != 0:
        row["note"] = "module build failed: see %s/module-build.log" % d
        return row
    so = os.path.join(mod_dir, ".libs", "mod_hsts.so")
    row["tls"] = tls_path(so) or "?"

    unit = subprocess.run([os.path.join(REPO, "tests", "unit",
                                        "test_policy")],
                          capture_output=True, text=True)
    with open(os.path.join(d, "unit.log"), "w") as f:
        f.write(unit.stdout + unit.stderr)
    upass, ufail = unit_counts(unit.stdout)
    row["unit"] = "%d/%d" % (upass, upass + ufail)

    junit = os.path.join(d, "junit.xml")
    if os.path.exists(junit):
        os.unlink(junit)
    env = dict(os.environ, HSTS_APXS=apxs, HSTS_MODULE=so)
    log = os.path.join(d, "pytest.log")
    start = time.time()
    rc = run([PYTHON, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider",
              "--junitxml", junit] + os.environ.get("PYTEST_ARGS",
                                                    "").split(),
             log=log, cwd=os.path.join(REPO, "tests"), env=env)
    row["seconds"] = int(time.time() - start)
    with open(log, errors="replace") as f:
        tail = f.read().splitlines()
    summary = [l for l in tail
               if re.search(r"\b(passed|failed|errors?)\b.* in [\d.]+s", l)]
    print("  pytest: %s (%d s, log %s)"
          % (summary[-1].strip("= ") if summary else "no summary",
             row["seconds"], log))
    for line in tail:
        if line.startswith(("FAILED", "ERROR")):
            print("    " + line)
    if not os.path.exists(junit):
        row["note"] = "pytest wrote no results (rc %d): see %s" % (rc, log)
        return row
    (row["passed"], row["failed"], row["skipped"],
     row["kinds"]) = junit_counts(junit)
    row["ok"] = (rc == 0 and row["failed"] == 0 and row["passed"] > 0
                 and ufail == 0 and upass > 0 and row["tls"] != "?")
    if rc != 0 and not row["failed"]:
        row["note"] = "pytest exited %d: see %s" % (rc, log)
    return row


def kinds_text(kinds):
    if not kinds:
        return "0"
    counts = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return "%d (%s)" % (len(kinds), ", ".join(
        "%s%s" % (k, " x%d" % n if n > 1 else "")
        for k, n in sorted(counts.items())))


def table(rows):
    head = ["release", "httpd -v", "TLS path compiled", "unit", "passed",
            "failed", "skipped", "expected-by-release", "result"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["label"], r.get("version", "?"), r["tls"], r["unit"],
            str(r["passed"]), str(r["failed"]), str(r["skipped"]),
            kinds_text(r["kinds"]),
            "ok" if r["ok"] else "FAIL" + (": " + r["note"]
                                           if r["note"] else "")]) + " |")
    return "\n".join(lines)


def main():
    src = os.environ.get("HTTPD_SRC") or "../shared/httpd-src"
    src = os.path.normpath(os.path.join(REPO, src))
    cache = os.path.expanduser(os.environ.get("MATRIX_CACHE")
                               or "~/.cache/mod_hsts/httpd")
    found = archives(src) if os.path.isdir(src) else {}
    names = os.environ.get("HTTPD_VERSIONS", "").split()
    wanted = [n for n in names if n != SYSTEM]
    if (wanted or not names) and not found:
        sys.exit("make matrix: no httpd source archives in %s (HTTPD_SRC).\n"
                 "Put the upstream archives there (httpd-2.4.37.tar.gz ... "
                 "httpd-trunk-<commit>.tar.gz, as in shared/httpd-src/), or "
                 "point HTTPD_SRC at them, or run only the system's httpd "
                 "with HTTPD_VERSIONS=system." % src)
    if not names:
        names = default_names(found) + [SYSTEM]
    missing = [n for n in wanted if n not in found]
    if missing:
        sys.exit("make matrix: no archive for %s in %s (have: %s)"
                 % (", ".join(missing), src,
                    ", ".join(sorted(found, key=release_key))))

    os.makedirs(OUT, exist_ok=True)
    rows = []
    started = time.time()
    for name in names:
        print("== %s" % name, flush=True)
        if name == SYSTEM:
            apxs = system_apxs()
            if not apxs:
                rows.append({"release": name, "label": name, "tls": "-",
                             "unit": "-", "passed": 0, "failed": 0,
                             "skipped": 0, "kinds": [], "ok": False,
                             "note": "no apxs on PATH (apache2-dev)"})
                continue
            label = "system (%s)" % apxs
            dpkg = subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                                   "apache2-bin"], capture_output=True,
                                  text=True) if os.path.exists(
                                      "/usr/bin/dpkg-query") else None
            if dpkg and dpkg.returncode == 0:
                label = "Debian apache2 %s" % dpkg.stdout.strip()
        else:
            res = subprocess.run([os.path.join(REPO, "scripts",
                                               "build-httpd.sh"),
                                  found[name], cache],
                                 stdout=subprocess.PIPE, text=True)
            if res.returncode != 0:
                rows.append({"release": name, "label": name, "tls": "-",
                             "unit": "-", "passed": 0, "failed": 0,
                             "skipped": 0, "kinds": [], "ok": False,
                             "note": "httpd build failed"})
                continue
            prefix = res.stdout.strip().splitlines()[-1]
            apxs = os.path.join(prefix, "bin", "apxs")
            label = os.path.basename(found[name])[len("httpd-"):
                                                  -len(".tar.gz")]
        rows.append(one_row(name, apxs, label))

    text = table(rows)
    print("\n" + text)
    with open(os.path.join(OUT, "RESULTS.md"), "w") as f:
        f.write("# make matrix, %s\n\n%s, %d cores; %d min\n\n%s\n\n"
                "expected-by-release: tests whose result is what this "
                "release itself does to every module's headers "
                "(tests/harness.py HTTPD_DROPS).\n"
                % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                   platform.platform(), os.cpu_count(),
                   (time.time() - started) // 60, text))
    print("\n(written to %s)" % os.path.join(OUT, "RESULTS.md"))
    bad = [r["release"] for r in rows if not r["ok"]]
    if bad:
        print("matrix: FAILED for %s" % ", ".join(bad))
        return 1
    print("matrix: all %d rows passed" % len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
