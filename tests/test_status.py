"""hsts-status: the running server's state as one JSON document, read with
curl from a real httpd and checked field by field against the config it
was started with: names, addresses, TLS, policy, redirect, limits, a
roll-out that crosses a rung while the server runs (computed at the
request, not when the config was read), the findings of the running
start (the same as DUMP_HSTS's), ?vhost= narrowing; the same schema as
DUMP_HSTS, every field documented in the README; `Require` enforced;
tenants' .htaccess (SetHandler, AddHandler, RewriteRule [H=], <If>) and
the admin's own <Directory> refused; server-status?auto lines and the
HTML section with ExtendedStatus On, none with it Off."""

import datetime
import json
import os
import re
import subprocess
import time

import pytest

import harness

MODULES = harness.BASE_MODULES + ["status"]
RAMP_LADDER = [300, 86400]
RAMP_TARGET = "max-age=31536000; includeSubDomains"
PRELOAD = "max-age=31536000; includeSubDomains; preload"

ALLOWED = [
    r"HSTSPreloadCheck: hint: ",              # preload.hsts.test: no port 80
    r"HSTSRollout has no HSTSPolicy",         # lost.hsts.test
    r"AH01630: client denied by server configuration",   # Require
    r"\[hsts:error\].*hsts-status refused",   # the tenant rule
    r"AH01618: user nobody not found",        # a wrong password
    # ramp.hsts.test pins www.ramp.hsts.test, two labels under the test
    # certificate's *.hsts.test: HSTSLockoutCheck says so
    r"HSTSLockoutCheck: vhost ramp\.hsts\.test.*www\.ramp\.hsts\.test",
    r"HSTSLockoutCheck: vhost lost\.hsts\.test.*soon\.pem expires",
]

SOON_DAYS = 3       # under HSTSLockoutCheck's 14: past the expiry warning


def soon_cert(h):
    """A certificate from the test CA valid for SOON_DAYS days from now:
    (certificate, key)."""
    cert = os.path.join(h.dir, "soon.pem")
    key = os.path.join(h.dir, "soon.key")
    csr = os.path.join(h.dir, "soon.csr")
    ext = os.path.join(h.dir, "soon.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:lost.hsts.test\n")
    for cmd in (["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                 "-out", csr, "-subj", "/CN=lost.hsts.test"],
                ["x509", "-req", "-in", csr, "-CA", h.pki.ca,
                 "-CAkey", h.pki.ca_key, "-CAcreateserial", "-out", cert,
                 "-days", str(SOON_DAYS), "-extfile", ext]):
        subprocess.run(["openssl"] + cmd, check=True, capture_output=True)
    for path in (cert, key):
        os.chmod(path, 0o644)
    # days left are whole days, rounded down: read in the second the
    # certificate was made, it has SOON_DAYS left; a second later, one
    # less for the next SOON_DAYS days.  Every reading must agree.
    time.sleep(1.1)
    return cert, key


def admin_vhost(h):
    users = os.path.join(h.dir, "htpasswd")
    open(users, "w").close()
    os.chmod(users, 0o644)
    return """
    HSTSPolicy "max-age=600"
    HSTSOverrideLimits max-age=300..31536000 off=deny
    <Location "/hsts-status">
        SetHandler hsts-status
        Require ip 127.0.0.1
    </Location>
    <LocationMatch "^/panel/hsts\\.json$">
        SetHandler hsts-status
    </LocationMatch>
    <Location "/hsts-denied">
        SetHandler hsts-status
        Require all denied
    </Location>
    <Location "/hsts-auth">
        SetHandler hsts-status
        AuthType Basic
        AuthName "status"
        AuthUserFile "%s"
        Require valid-user
    </Location>
    <Location "/server-status">
        SetHandler server-status
        Require ip 127.0.0.1
    </Location>
    <Directory "%s/admindir">
        SetHandler hsts-status
    </Directory>
""" % (users, h.docroot)


TENANT_VHOST = """
    HSTSPolicy "max-age=31536000"
    <Directory "{root}/tenants">
        AllowOverride FileInfo
    </Directory>
    <Location "/tenants/underloc">
        SetHandler default-handler
    </Location>
"""

# A tenant's .htaccess: every way FileInfo lets it name a handler.
TENANTS = {
    "sethandler": "SetHandler hsts-status\n",
    "addhandler": "AddHandler hsts-status .json\n",
    "rewrite": "RewriteEngine On\nRewriteRule ^ - [H=hsts-status]\n",
    "if": '<If "true">\n    SetHandler hsts-status\n</If>\n',
    "files": '<Files "x.json">\n    SetHandler hsts-status\n</Files>\n',
    # under an admin's <Location> that says another SetHandler: the
    # handler in force comes from the server config, but not this one
    "underloc": "RewriteEngine On\nRewriteRule ^ - [H=hsts-status]\n",
}


# In the main server, so in every vhost, the tenants' too.
GLOBAL = """
<Location "/global-denied">
    SetHandler hsts-status
    Require all denied
</Location>
<Location "/global-open">
    SetHandler hsts-status
</Location>
"""


class Ramp:
    """The ramp's first rung ends a few seconds after the server has read
    its configuration: a later request must find it on the next rung.
    Set when the module's server is configured (ramp_now()), not when
    the suite is collected, and kept for its restarts."""
    today = midnight = step = None


def ramp_now():
    now = time.time()
    Ramp.today = datetime.datetime.fromtimestamp(
        now, datetime.timezone.utc).date()
    Ramp.midnight = int(datetime.datetime(
        Ramp.today.year, Ramp.today.month, Ramp.today.day,
        tzinfo=datetime.timezone.utc).timestamp())
    Ramp.step = int(now) - Ramp.midnight + 10


def make_conf(h, extended="On"):
    if Ramp.step is None:
        ramp_now()
    conf = h.base_conf(modules=MODULES) + "ExtendedStatus %s\n" % extended
    conf += GLOBAL
    conf += h.tls_vhost(admin_vhost(h), server_name=harness.DOMAIN,
                        aliases="admin.hsts.test")
    conf += h.tls_vhost('HSTSPolicy "%s"\nHSTSRollout start=%s step=%ds '
                        'ladder=%s' % (RAMP_TARGET, Ramp.today.isoformat(),
                                       Ramp.step,
                                       ",".join(map(str, RAMP_LADDER))),
                        server_name="ramp.hsts.test",
                        aliases="www.ramp.hsts.test")
    conf += h.tls_vhost('HSTSPolicy "%s"' % PRELOAD,
                        server_name="preload.hsts.test",
                        aliases="nothing.invalid")
    cert, key = soon_cert(h)
    conf += h.tls_vhost("HSTSRollout start=2020-01-01",
                        server_name="lost.hsts.test",
                        aliases="nothing.invalid").replace(
        h.pki.cert, cert).replace(h.pki.key, key)
    conf += h.tls_vhost(TENANT_VHOST.format(root=h.docroot),
                        server_name="tenant.hsts.test",
                        aliases="nothing.invalid")
    conf += h.plain_vhost("HSTSRedirect on status=308",
                          server_name="ramp.hsts.test",
                          aliases="*.wild.hsts.test")
    return conf


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("status")
    h.allowed += ALLOWED
    h.write("index.html", "x\n")
    h.write("admindir/index.html", "admin\n")
    h.write("tenants/errdoc/.htaccess",
            "ErrorDocument 404 /global-denied\n")
    h.write("tenants/errdoc-open/.htaccess",
            "ErrorDocument 404 /global-open\n")
    for name, htaccess in TENANTS.items():
        h.write("tenants/%s/.htaccess" % name, htaccess)
        h.write("tenants/%s/index.html" % name, "tenant\n")
        h.write("tenants/%s/x.json" % name, "{}\n")
    ramp_now()
    h.configure(make_conf(h))
    h.start()
    h.started = time.time()
    return h


def get(h, path, host=harness.DOMAIN, args=()):
    """(status, headers, body) of a GET over TLS."""
    port = h.tls_port
    res = harness.run(["curl", "-sS", "-D", "-", "--max-time", "60",
                       "--cacert", h.pki.ca, "--http1.1",
                       "--resolve", "%s:%d:127.0.0.1" % (host, port)]
                      + list(args)
                      + ["https://%s:%d%s" % (host, port, path)])
    assert res.returncode == 0, res.stderr
    head, _, body = res.stdout.partition("\n\n")
    return harness.Response.parse(head), body


def status_doc(h, query=""):
    res, body = get(h, "/hsts-status" + query)
    assert res.status == 200, (res, body)
    assert res.all("content-type") == ["application/json"], res
    return json.loads(body)


def by_name(doc):
    return {(v["server_name"], v["tls"]): v for v in doc["vhosts"]}


# -- the document, field by field -------------------------------------------

def test_top_level(httpd):
    doc = status_doc(httpd)
    assert doc["module"] == "mod_hsts"
    version = re.search(r'MOD_HSTS_VERSION "([^"]+)"', open(os.path.join(
        harness.REPO, "include", "mod_hsts_version.h")).read()).group(1)
    assert doc["version"] == version
    assert doc["schema"] == 2
    assert abs(doc["now_epoch"] - time.time()) < 30
    assert doc["now"] == datetime.datetime.fromtimestamp(
        doc["now_epoch"], datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    read = datetime.datetime.strptime(doc["config_read"],
                                      "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert httpd.started - 30 < read <= doc["now_epoch"]
    assert isinstance(doc["config_generation"], int)
    # main server + 6 vhosts, 4 of them (and not the main server, the
    # lost one or the plain one) with a policy
    assert doc["summary"]["vhosts"] == 7 == len(doc["vhosts"])
    assert doc["summary"]["vhosts_with_policy"] == 4
    levels = {"problem": 0, "warning": 0, "hint": 0}
    for v in doc["vhosts"]:
        for f in v["findings"]:
            levels[f["level"]] += 1
    assert doc["summary"]["findings"] == levels
    # lost.hsts.test: no policy to roll out to, a certificate expiring
    assert levels["hint"] >= 1 and levels["warning"] == 2


def test_vhost_fields(httpd):
    v = by_name(status_doc(httpd))
    main = v[(harness.DOMAIN, False)]
    assert main["main_server"] is True and main["file"] is None
    assert main["policy"] == {"state": "unset", "header": None,
                              "source": None}
    assert main["header_now"] is None and main["override_limits"] is None

    admin = v[(harness.DOMAIN, True)]
    assert admin["type"] == "vhost" and admin["main_server"] is False
    assert admin["aliases"] == ["admin.hsts.test"]
    assert admin["addresses"] == [{"host": "127.0.0.1",
                                   "port": httpd.tls_port}]
    assert admin["file"] == httpd.conf_path
    assert open(httpd.conf_path).read().splitlines()[admin["line"] - 1] \
        .startswith("<VirtualHost 127.0.0.1:%d>" % httpd.tls_port)
    pol = admin["policy"]
    assert pol["state"] == "on" and pol["max_age"] == 600
    assert pol["include_subdomains"] is False and pol["preload"] is False
    assert pol["header"] == "max-age=600" == admin["header_now"]
    assert pol["file"] == httpd.conf_path
    assert "HSTSPolicy" in open(httpd.conf_path).read().splitlines()[
        pol["line"] - 1]
    assert admin["upstream"] == "replace"
    assert admin["redirect"] == {"on": False, "source": None}
    lim = admin["override_limits"]
    assert lim["min_max_age"] == 300 and lim["max_max_age"] == 31536000
    assert lim["off"] == "deny" and lim["preload"] == "allow"
    assert lim["include_subdomains"] == "allow"
    assert admin["rollout"] is None
    assert admin["findings"] == []
    assert isinstance(admin["certificates"], list)

    plain = v[("ramp.hsts.test", False)]
    assert plain["aliases"] == ["*.wild.hsts.test"]
    assert plain["addresses"] == [{"host": "127.0.0.1",
                                   "port": httpd.plain_port}]
    assert plain["redirect"]["on"] is True
    assert plain["redirect"]["status"] == 308
    assert plain["redirect"]["port"] == 443
    assert plain["policy"]["state"] == "unset"

    pre = v[("preload.hsts.test", True)]
    assert pre["policy"]["preload"] is True
    # nothing of this server's listens on port 80 (the tests' ports are
    # free ones): the preload checker's does_not_exist, a hint
    assert [(f["kind"], f["level"], f["code"]) for f in pre["findings"]] \
        == [("preload-no-port-80", "hint", "redirects.http.does_not_exist")]
    assert "preload.hsts.test" in pre["findings"][0]["text"]
    assert "[hstspreload:" not in pre["findings"][0]["text"]
    assert pre["preload_ready"] is True
    assert all(o["preload_ready"] is None for k, o in v.items()
               if k != ("preload.hsts.test", True))

    lost = v[("lost.hsts.test", True)]
    assert [(f["kind"], f["level"]) for f in lost["findings"]] == [
        ("lockout-expiring", "warning"), ("rollout-no-policy", "warning")]
    assert lost["rollout"]["state"] == "complete"

    tenant = v[("tenant.hsts.test", True)]
    assert tenant["tls"] is True and tenant["findings"] == []


def expected_ramp(now):
    """Rung (1-based), header and next change of the ramp at `now`, worked
    out here from the config, independently of the module."""
    k = (int(now) - Ramp.midnight) // Ramp.step
    if k >= len(RAMP_LADDER):
        return len(RAMP_LADDER), "complete", RAMP_TARGET, None
    return (k + 1, "ramping", "max-age=%d" % RAMP_LADDER[k],
            Ramp.midnight + (k + 1) * Ramp.step)


def check_ramp(httpd, doc):
    ramp = by_name(doc)[("ramp.hsts.test", True)]
    rung, state, header, nxt = expected_ramp(doc["now_epoch"])
    ro = ramp["rollout"]
    assert ro["start"] == Ramp.today.isoformat()
    assert ro["step_seconds"] == Ramp.step and ro["ladder"] == RAMP_LADDER
    assert ro["rungs"] == 2
    assert (ro["rung"], ro["state"], ro["header_now"]) == (rung, state,
                                                          header), ro
    assert ramp["header_now"] == header
    assert ro["next_change_epoch"] == nxt
    if nxt is not None:
        assert ro["next_change"] == datetime.datetime.fromtimestamp(
            nxt, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    # what the vhost really sends now
    assert get(httpd, "/", host="ramp.hsts.test")[0].sts == [header]
    return rung


def test_rollout_crosses_a_rung_while_serving(httpd):
    first = check_ramp(httpd, status_doc(httpd))
    assert first == 1, "the config was read on the first rung"
    boundary = Ramp.midnight + Ramp.step
    time.sleep(max(0, boundary - time.time()) + 1.5)
    # same configuration, same children: only the clock moved
    assert check_ramp(httpd, status_doc(httpd)) == 2


def test_findings_are_those_of_the_running_start(httpd):
    """Each vhost's findings are what DUMP_HSTS says for the same
    config, in the same order, kind, level and text."""
    _, objs, out = httpd.dump_hsts()
    dumped = {(o["server_name"], o["tls"]): o["findings"] for o in objs
              if o["type"] == "vhost"}
    doc = status_doc(httpd)
    assert {k: v["findings"] for k, v in by_name(doc).items()} == dumped
    # DUMP_HSTS says the schema too, on its first line
    assert objs[0]["schema"] == doc["schema"] == 2
    assert all("schema" not in o for o in objs[1:])


def test_findings_follow_a_graceful_restart(httpd):
    """After a graceful restart into a config with a twin, the hint is
    gone: the document shows the start that is running."""
    before = status_doc(httpd)
    pre = by_name(before)[("preload.hsts.test", True)]
    assert pre["findings"] and pre["preload_ready"] is True
    conf = make_conf(httpd).replace(PRELOAD, "max-age=31536000") \
        + httpd.plain_vhost("", server_name="added.hsts.test",
                            aliases="nothing.invalid")
    httpd.configure(conf)
    try:
        httpd.proc.send_signal(__import__("signal").SIGUSR1)
        deadline = time.time() + 20
        while time.time() < deadline:
            after = status_doc(httpd)
            if after["config_generation"] != before["config_generation"]:
                break
            time.sleep(0.2)
        assert after["config_generation"] != before["config_generation"]
        assert after["summary"]["vhosts"] == 8
        pre = by_name(after)[("preload.hsts.test", True)]
        assert pre["findings"] == [] and pre["preload_ready"] is None
        assert after["summary"]["findings"]["hint"] == \
            before["summary"]["findings"]["hint"] - 1
    finally:
        httpd.configure(make_conf(httpd))
        httpd.proc.send_signal(__import__("signal").SIGUSR1)
        deadline = time.time() + 20
        while time.time() < deadline and \
                status_doc(httpd)["summary"]["vhosts"] != 7:
            time.sleep(0.2)
    assert status_doc(httpd)["summary"]["vhosts"] == 7


# -- ?vhost= --------------------------------------------------------------

@pytest.mark.parametrize("query,want", [
    ("?vhost=ramp.hsts.test", [("ramp.hsts.test", True),
                               ("ramp.hsts.test", False)]),
    ("?vhost=RAMP.hsts.test.", [("ramp.hsts.test", True),
                                ("ramp.hsts.test", False)]),
    ("?vhost=www.ramp.hsts.test", [("ramp.hsts.test", True)]),
    ("?vhost=a.wild.hsts.test", [("ramp.hsts.test", False)]),
    ("?x=1&vhost=preload%2Ehsts.test", [("preload.hsts.test", True)]),
])
def test_vhost_narrows(httpd, query, want):
    doc = status_doc(httpd, query)
    assert sorted((v["server_name"], v["tls"]) for v in doc["vhosts"]) \
        == sorted(want)
    # the summary stays the server's
    assert doc["summary"]["vhosts"] == 7


def test_vhost_with_port(httpd):
    doc = status_doc(httpd, "?vhost=ramp.hsts.test:%d" % httpd.plain_port)
    assert [(v["server_name"], v["tls"]) for v in doc["vhosts"]] == [
        ("ramp.hsts.test", False)]


@pytest.mark.parametrize("query", ["?vhost=nothing.here", "?vhost=",
                                   "?vhost=ramp.hsts.test:0",
                                   "?vhost=ramp.hsts.test:99999"])
def test_vhost_unknown_is_404(httpd, query):
    assert get(httpd, "/hsts-status" + query)[0].status == 404


def test_methods(httpd):
    res, body = get(httpd, "/hsts-status", args=["-I"])
    assert res.status == 200 and body.strip() == ""
    assert set(res.all("content-type")) == {"application/json"}
    assert set(res.all("cache-control")) == {"no-store"}
    res, _ = get(httpd, "/hsts-status", args=["-X", "POST", "-d", "x"])
    assert res.status == 405


def test_http2(httpd):
    res, body = get(httpd, "/hsts-status", args=["--http2"])
    assert res.status == 200 and len(json.loads(body)["vhosts"]) == 7


def test_location_match_serves(httpd):
    res, body = get(httpd, "/panel/hsts.json")
    assert res.status == 200 and json.loads(body)["schema"] == 2


# -- who may read it ----------------------------------------------------------

def test_require_enforced(httpd):
    res, body = get(httpd, "/hsts-denied")
    assert res.status == 403 and "vhosts" not in body
    res, body = get(httpd, "/hsts-auth")
    assert res.status == 401 and "vhosts" not in body
    res, body = get(httpd, "/hsts-auth", args=["-u", "nobody:wrong"])
    assert res.status == 401 and "vhosts" not in body


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_tenant_htaccess_refused(httpd, tenant):
    for path in ("/tenants/%s/" % tenant, "/tenants/%s/x.json" % tenant):
        res, body = get(httpd, path, host="tenant.hsts.test")
        if tenant in ("addhandler", "files") and path.endswith("/"):
            # index.html is no .json: served as it is
            assert res.status == 200 and body == "tenant\n"
            continue
        assert res.status == 403, (path, res, body)
        assert "ramp.hsts.test" not in body and "{" not in body
    log = httpd.read_log()
    assert re.search(r"\[hsts:error\].*hsts-status refused for "
                     r"/tenants/%s/" % tenant, log), log


def test_tenant_error_document_meets_require(httpd):
    """A tenant's ErrorDocument pointing at the admin's <Location> is an
    internal redirect from a request its .htaccess applied to: refused,
    even where the <Location> itself requires nothing."""
    res, body = get(httpd, "/tenants/errdoc/missing", host="tenant.hsts.test")
    assert res.status == 404 and "vhosts" not in body, (res, body)
    res, body = get(httpd, "/tenants/errdoc-open/missing",
                    host="tenant.hsts.test")
    assert res.status == 404 and '"vhosts"' not in body, (res, body)


def test_tenant_without_any_status_in_the_config(server_factory):
    """Where the server config names hsts-status nowhere, mod_hsts adds
    no handler at all: a tenant's SetHandler hsts-status reaches none of
    its code (httpd serves the file as it is)."""
    h = server_factory("tenant-only")
    h.write("tenants/t/.htaccess", "SetHandler hsts-status\n")
    h.write("tenants/t/index.html", "tenant\n")
    h.configure(h.base_conf(modules=MODULES) + h.tls_vhost(
        TENANT_VHOST.format(root=h.docroot), server_name="tenant.hsts.test",
        aliases="nothing.invalid"))
    h.start()
    res, body = get(h, "/tenants/t/index.html", host="tenant.hsts.test")
    assert res.status == 200 and body == "tenant\n", (res, body)
    assert "hsts-status refused" not in h.read_log()


def test_admin_directory_refused(httpd):
    """Only a <Location> of the server config serves it: a <Directory>
    covers paths tenants may share."""
    res, body = get(httpd, "/admindir/")
    assert res.status == 403 and "{" not in body


# -- server-status -------------------------------------------------------------

def auto_lines(h):
    res, body = get(h, "/server-status?auto")
    assert res.status == 200
    return dict(l.split(": ", 1) for l in body.splitlines() if ": " in l)


def test_server_status_auto(httpd):
    doc = status_doc(httpd)
    lines = auto_lines(httpd)
    assert lines["HSTSVhostsWithPolicy"] == str(
        doc["summary"]["vhosts_with_policy"]) == "4"
    for level in ("problem", "warning", "hint"):
        assert lines["HSTSFindings" + level.capitalize()] == str(
            doc["summary"]["findings"][level])
    assert lines["HSTSFindingsWarning"] == "2"
    res, body = get(httpd, "/server-status")
    assert "<h2>mod_hsts " in body
    assert "4 of 7 servers send an HSTS policy" in body


def test_server_status_without_extended(server_factory):
    h = server_factory("status-noext")
    h.allowed += ALLOWED
    h.write("index.html", "x\n")
    h.configure(make_conf(h, extended="Off"))
    h.start()
    res, body = get(h, "/server-status?auto")
    assert res.status == 200 and "Total Accesses" not in body
    assert "HSTS" not in body
    res, body = get(h, "/server-status")
    assert res.status == 200 and "mod_hsts" not in body


# -- certificates (wired in with src/hsts_cert.c) --------------------------------

def openssl_not_after(path):
    out = subprocess.check_output(["openssl", "x509", "-noout", "-enddate",
                                   "-in", path], text=True)
    return datetime.datetime.strptime(
        out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc)


def test_certificate_days_left(httpd):
    """Each TLS vhost lists the certificate it presents, with its names
    and the days left counted at the request; lost.hsts.test's is already
    past HSTSLockoutCheck's 14-day expiry warning, and server-status?auto
    gives its days as the soonest."""
    doc = status_doc(httpd)
    soon = os.path.join(httpd.dir, "soon.pem")
    soonest = None
    for (name, tls), v in by_name(doc).items():
        if not tls or v["main_server"]:
            continue
        want = soon if name == "lost.hsts.test" else httpd.pki.cert
        not_after = openssl_not_after(want)
        days = int((not_after.timestamp() - doc["now_epoch"]) // 86400)
        certs = v["certificates"]
        assert [c["file"] for c in certs] == [want], (name, v)
        c = certs[0]
        assert c["not_after"] == not_after.strftime("%Y-%m-%d"), c
        assert c["days_left"] == days and c["verified"] is True, c
        if name == "lost.hsts.test":
            assert c["names"] == ["lost.hsts.test"] and days < 14, c
        else:
            assert "hsts.test" in c["names"] and "*.hsts.test" in c["names"]
        soonest = days if soonest is None else min(soonest, days)
    assert soonest is not None and soonest < SOON_DAYS
    assert auto_lines(httpd)["HSTSCertSoonestExpiryDays"] == str(soonest)


# -- one schema, documented ----------------------------------------------------

def keys(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            keys(v, out)
    elif isinstance(value, list):
        for v in value:
            keys(v, out)
    return out


def test_every_field_documented(httpd):
    readme = open(os.path.join(harness.REPO, "README.md")).read()
    section = readme[readme.index("### Schema"):]
    section = section[:section.index("\n## ")]
    documented = set(re.findall(r"[`\"]([a-z_]+)[`\"]", section))
    _, objs, _ = httpd.dump_hsts()
    seen = keys(status_doc(httpd), set())
    for o in objs:
        keys(o, seen)
    missing = sorted(seen - documented)
    assert not missing, "fields missing from the README's schema: %s" \
        % missing


# -- every finding, not only those the log names ----------------------------

def test_all_findings_kept_while_the_log_names_five(server_factory):
    h = server_factory("status-many")
    h.allowed += [r"HSTSPreloadCheck: hint: "]
    h.write("index.html", "x\n")
    conf = h.base_conf(modules=MODULES) + GLOBAL.replace(
        "/global-open", "/hsts-status")
    names = ["p%02d.hsts.test" % i for i in range(12)]
    for name in names:
        conf += h.tls_vhost('HSTSPolicy "%s"' % PRELOAD, server_name=name,
                            aliases="nothing.invalid")
    h.configure(conf)
    h.start()
    doc = json.loads(get(h, "/hsts-status", host=names[0])[1])
    hinted = sorted(v["server_name"] for v in doc["vhosts"]
                    if [f["kind"] for f in v["findings"]]
                    == ["preload-no-port-80"])
    assert hinted == names
    assert doc["summary"]["findings"]["hint"] == 12
    log = h.read_log()
    assert log.count("[hstspreload: redirects.http.does_not_exist]") == 5, \
        log
    assert "7 more like the above (preload-no-port-80)" in log, log


@pytest.mark.parametrize("htaccess", [
    "<If \"%{REQUEST_URI} == '/hsts-status'\">\n"
    "    Require all granted\n</If>\n",
    "<If \"%{REQUEST_URI} =~ m#^/hsts#\">\n    Require all granted\n</If>\n",
    "# nothing, but a file is there\n",
])
def test_no_htaccess_reaches_it(server_factory, htaccess):
    """A tenant's <If> merges after the admin's <Location>, so its
    Require would win: hsts-status is refused wherever a .htaccess file
    applies, whatever Require says."""
    h = server_factory("status-if")
    h.write(".htaccess", htaccess)
    h.write("index.html", "x\n")
    h.configure(h.base_conf(modules=MODULES) + h.tls_vhost("""
    HSTSPolicy "max-age=31536000"
    <Directory "%s">
        AllowOverride AuthConfig
    </Directory>
    <Location "/hsts-status">
        SetHandler hsts-status
        Require ip 127.0.0.1
    </Location>
""" % h.docroot))
    h.allowed.append(r"\[hsts:error\].*hsts-status refused for "
                     r"/hsts-status: .*\.htaccess applies")
    h.start()
    res, body = get(h, "/hsts-status")
    assert res.status == 403 and '"vhosts"' not in body, (res, body)
    assert ".htaccess applies to it" in h.read_log(), h.read_log()
