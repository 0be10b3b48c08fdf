"""A real browser: Debian's chromium, driven headless by playwright-core,
learns HSTS from what mod_hsts sends and upgrades http:// itself.

The test CA is trusted for real (an NSS database in a throwaway HOME):
Chromium ignores STS from a connection with certificate errors.  Test
domains map to 127.0.0.1 with --host-resolver-rules.  Chromium keeps a
non-default port when it upgrades, so http://host:TLS_PORT/ only works if
the browser recorded the policy; otherwise it speaks plain HTTP to the TLS
port and gets mod_ssl's 400.  Each scenario runs in a fresh context."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "browser", "hsts_browser.js")
# HSTS_CHROMIUM names the browser; else Debian's, or one on PATH.
CHROMIUM = os.environ.get("HSTS_CHROMIUM") or next(
    (p for p in ["/usr/bin/chromium"] + [
        shutil.which(n) or "" for n in ("chromium", "chromium-browser",
                                        "google-chrome")]
     if p and os.path.exists(p)), "")

# Config order matters: the first vhost whose name matches wins, so the
# vhost without a policy precedes the *.other.test alias.
VHOSTS = """
<VirtualHost 127.0.0.1:{port}>
    ServerName nohsts.other.test
    DocumentRoot "{root}"
    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{key}"
</VirtualHost>
"""

MAIN = """
    HSTSPolicy "max-age=3600; includeSubDomains"
    Redirect 302 /go https://nohsts.other.test:{port}/
    <Location /revoke>
        HSTSPolicy "max-age=0"
    </Location>
"""

OTHER = 'HSTSPolicy "max-age=3600"\n'


def missing_tools():
    missing = []
    if not CHROMIUM or not os.path.exists(CHROMIUM):
        missing.append("chromium (apt-get install chromium)")
    if not shutil.which("certutil"):
        missing.append("certutil (apt-get install libnss3-tools)")
    if not shutil.which("node"):
        missing.append("node (apt-get install nodejs npm)")
    if not os.path.isdir(os.path.join(HERE, "browser", "node_modules",
                                      "playwright-core")):
        missing.append("playwright-core (npm ci --prefix tests/browser)"
                       + npm_failure())
    return missing


def npm_failure():
    """What npm said when scripts/deps.sh's `npm ci` failed, if it did."""
    log = os.path.join(harness.REPO, "build", "npm-ci.log")
    try:
        with open(log, errors="replace") as f:
            said = [l.rstrip() for l in f
                    if re.match(r"npm (error|ERR!) [^\s}]", l)]
    except OSError:
        return ""
    return ("; scripts/deps.sh's npm ci failed, %s says:\n    %s"
            % (log, "\n    ".join(said[:8] or ["(nothing)"])))


@pytest.fixture(scope="module")
def browser_env(pki):
    missing = missing_tools()
    if missing:
        pytest.fail("browser tests cannot run, missing: " + ", ".join(
            missing) + "\n(scripts/deps.sh test installs them; "
            "HSTS_CHROMIUM names another Chromium; --ignore=test_browser.py "
            "leaves these tests out)", pytrace=False)
    home = tempfile.mkdtemp(prefix="hsts-browser-home-")
    nssdb = os.path.join(home, ".pki", "nssdb")
    os.makedirs(nssdb)
    for cmd in (["certutil", "-d", "sql:" + nssdb, "-N",
                 "--empty-password"],
                ["certutil", "-d", "sql:" + nssdb, "-A", "-t", "C,,",
                 "-n", "mod_hsts test CA", "-i", pki.ca]):
        res = harness.run(cmd)
        assert res.returncode == 0, res
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("browser")
    # No favicon request: its response would carry the host's policy and
    # re-teach HSTS right after the max-age=0 page (HSTS is host-wide).
    noicon = '<link rel="icon" href="data:,">'
    h.write("index.html", "<title>hsts</title>%shello\n" % noicon)
    h.write("revoke/index.html", "<title>revoke</title>%sbye\n" % noicon)
    h.configure(h.base_conf()
                + VHOSTS.format(port=h.tls_port, root=h.docroot,
                                cert=h.pki.cert, key=h.pki.key)
                + h.tls_vhost(MAIN.format(port=h.tls_port)
                              + h.basic_auth("/auth"))
                + h.tls_vhost(OTHER, server_name="other.test",
                              aliases="*.other.test"))
    h.allowed += [r"HSTSPolicy weaker in <Location /revoke>",
                  r"\[auth_basic:error\].*AH01618: user nobody not found"]
    return h.start()


def run_browser(httpd, home, scenarios):
    job = {
        "executable": CHROMIUM,
        "hostRules": "MAP hsts.test 127.0.0.1, MAP *.hsts.test 127.0.0.1, "
                     "MAP other.test 127.0.0.1, MAP *.other.test 127.0.0.1",
        "scenarios": scenarios,
    }
    env = dict(os.environ, HOME=home)
    res = subprocess.run(["node", DRIVER], input=json.dumps(job),
                         capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def results(httpd, browser_env):
    p = httpd.tls_port

    def u(scheme, host, path="/"):
        return "%s://%s:%d%s" % (scheme, host, p, path)

    scenarios = {
        "control": [u("http", "hsts.test")],
        "first-200": [u("https", "hsts.test"), u("http", "hsts.test")],
        "first-401": [u("https", "hsts.test", "/auth/"),
                      u("http", "hsts.test")],
        "first-404": [u("https", "hsts.test", "/missing"),
                      u("http", "hsts.test")],
        "first-redirect": [u("https", "hsts.test", "/go"),
                           u("http", "hsts.test")],
        "subdomains": [u("https", "hsts.test"), u("http", "www.hsts.test")],
        "no-subdomains": [u("https", "other.test"), u("http", "other.test"),
                          u("http", "www.other.test")],
        "revoke": [u("https", "hsts.test"), u("http", "hsts.test"),
                   u("https", "hsts.test", "/revoke/"),
                   u("http", "hsts.test")],
    }
    return run_browser(httpd, browser_env, scenarios)


def upgraded(step):
    return (step.get("status") == 200 and step["finalUrl"].startswith(
        "https://") and step["upgraded"])


def not_upgraded(step):
    return step.get("status") == 400 and step["finalUrl"].startswith(
        "http://")


def test_control_no_policy_no_upgrade(results):
    assert not_upgraded(results["control"][0]), results["control"]


@pytest.mark.parametrize("scenario,first_status", [
    ("first-200", 200), ("first-401", 401), ("first-404", 404),
    ("first-redirect", 200),
])
def test_first_visit_then_upgrade(results, scenario, first_status):
    first, second = results[scenario]
    assert first.get("status") == first_status, first
    assert upgraded(second), second


def test_first_redirect_lands_elsewhere(results):
    """The header was learnt from the 302 itself: its target is another
    host without a policy."""
    first = results["first-redirect"][0]
    assert first["finalUrl"].startswith("https://nohsts.other.test:"), first


def test_include_subdomains(results):
    assert upgraded(results["subdomains"][1]), results["subdomains"]


def test_no_include_subdomains(results):
    steps = results["no-subdomains"]
    assert upgraded(steps[1]), steps
    assert not_upgraded(steps[2]), steps


def test_max_age_zero_stops_upgrade(results):
    steps = results["revoke"]
    assert upgraded(steps[1]), steps
    assert steps[2].get("status") == 200, steps
    assert not_upgraded(steps[3]), steps
