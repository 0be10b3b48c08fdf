"""A Strict-Transport-Security header from elsewhere (proxied backend, CGI,
a leftover mod_headers line) never makes a second header: it is replaced
by ours, or kept with HSTSUpstreamHeader keep; never sent over plain HTTP.
"""

import os

import pytest

CGI_STS = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n'
printf 'Strict-Transport-Security: max-age=1; preload\\r\\n\\r\\n'
echo from cgi
"""

BODY = """
    HSTSPolicy "max-age=777"
    ProxyPass /proxy/ http://127.0.0.1:{backend}/
    ProxyPass /keep/proxy/ http://127.0.0.1:{backend}/
    ProxyPass /keep-off/ http://127.0.0.1:{backend}/
    ScriptAlias /cgi-bin/ "{dir}/cgi-bin/"
    ScriptAlias /keep/cgi-bin/ "{dir}/cgi-bin/"
    <Location /keep/>
        HSTSUpstreamHeader keep
    </Location>
    <Location /keep-off/>
        HSTSPolicy off
        HSTSUpstreamHeader keep
    </Location>
    <Location /leftover/>
        Header always set Strict-Transport-Security "max-age=1"
    </Location>
    <Location /off-leftover/>
        HSTSPolicy off
        Header always set Strict-Transport-Security "max-age=1"
    </Location>
    <Location /keep-always/>
        HSTSUpstreamHeader keep
        Header always set Strict-Transport-Security "max-age=99"
    </Location>
    <Location /keep-always/denied>
        Require all denied
    </Location>
    Redirect 301 /keep-always/old /keep-always/
"""


# Code that looks at the upstream header only at debug level would pass
# every test run at debug level: each test runs at both.
@pytest.fixture(scope="module", params=["warn hsts:debug", "warn"])
def httpd(server_factory, request):
    h = server_factory("upstream")
    for p in ("index.html", "keep/index.html", "leftover/index.html",
              "off-leftover/index.html", "keep-always/index.html"):
        h.write(p, p + "\n")
    cgi = os.path.join(h.dir, "cgi-bin")
    os.makedirs(cgi)
    os.chmod(cgi, 0o755)
    with open(os.path.join(cgi, "sts.cgi"), "w") as f:
        f.write(CGI_STS)
    os.chmod(os.path.join(cgi, "sts.cgi"), 0o755)
    body = BODY.format(backend=h.backend_port, dir=h.dir)
    h.configure(h.base_conf(log_level=request.param) + h.tls_vhost(body)
                + h.plain_vhost(body) + h.backend_vhost())
    h.allowed += [r"\[hsts:warn\].*HSTSPolicy off in <Location "
                  r"/(keep-off|off-leftover)/> .*does not really opt out",
                  r"\[authz_core:error\].*AH01630: client denied.*"
                  r"/keep-always/denied"]
    return h.start()


@pytest.mark.parametrize("path,want", [
    ("/proxy/page.html", "max-age=777"),          # replaced
    ("/cgi-bin/sts.cgi", "max-age=777"),          # replaced
    ("/leftover/", "max-age=777"),                # replaced
    ("/off-leftover/", None),                     # off removes it too
    ("/keep/proxy/page.html", "max-age=5"),       # backend's kept
    ("/keep/cgi-bin/sts.cgi", "max-age=1; preload"),
    ("/keep/", "max-age=777"),                    # keep, none upstream
    ("/keep-off/page.html", "max-age=5"),         # keep even when off
])
def test_tls(httpd, path, want):
    res = httpd.curl(path)
    assert res.status == 200, res
    assert res.sts == ([want] if want else []), res


@pytest.mark.parametrize("path", ["/proxy/page.html", "/cgi-bin/sts.cgi",
                                  "/leftover/", "/keep/proxy/page.html",
                                  "/keep/cgi-bin/sts.cgi",
                                  "/keep-off/page.html"])
def test_plain_http_never(httpd, path):
    res = httpd.curl(path, tls=False)
    assert res.status == 200, res
    assert res.sts == [], res


def test_upstream_note(httpd):
    httpd.curl("/keep/proxy/page.html?upstream-note")
    line = httpd.access_line("/keep/proxy/page.html?upstream-note")
    assert line.endswith(" upstream"), line


# httpd's own responses (404, 403, a Redirect) with a header set by
# `Header always` and HSTSUpstreamHeader keep: that header is kept on every
# response class, exactly once.
@pytest.mark.parametrize("path,status", [
    ("/keep-always/", 200),
    ("/keep-always/missing.html", 404),
    ("/keep-always/denied", 403),
    ("/keep-always/old", 301),
])
def test_keep_on_every_response_class(httpd, path, status):
    res = httpd.curl(path)
    assert res.status == status, res
    assert res.sts == ["max-age=99"], res
    res = httpd.curl(path, http2=True)
    assert res.status == status, res
    assert res.sts == ["max-age=99"], res
    res = httpd.curl(path, tls=False)
    assert res.status == status, res
    assert res.sts == [], res


# A foreign header in both tables: a proxied backend's in headers_out
# (max-age=5, harness.backend_vhost) and a `Header always set` one in
# err_headers_out (max-age=99).  httpd sends err_headers_out first, over
# HTTP/1.1 and HTTP/2 alike, and a browser takes only the first header
# (RFC 6797 8.1): the control vhost, without HSTSPolicy, shows both in
# that order; with keep, exactly the first goes out.
BOTH = """
    ProxyPass /both/ http://127.0.0.1:{backend}/
    <Location /both/>
        Header always set Strict-Transport-Security "max-age=99"
    </Location>
"""
BOTH_POLICY = """
    HSTSPolicy "max-age=777"
    ProxyPass /both-replace/ http://127.0.0.1:{backend}/
    <Location /both/>
        HSTSUpstreamHeader keep
    </Location>
    <Location /both-replace/>
        Header always set Strict-Transport-Security "max-age=99"
    </Location>
""" + BOTH


@pytest.fixture(scope="module", params=["warn hsts:debug", "warn"])
def both(server_factory, request):
    h = server_factory("upstream-both")
    body = BOTH_POLICY.format(backend=h.backend_port)
    h.configure(h.base_conf(log_level=request.param) + h.tls_vhost(body)
                + h.tls_vhost(BOTH.format(backend=h.backend_port),
                              server_name="other.test",
                              aliases="nothing.invalid")
                + h.plain_vhost(body) + h.backend_vhost())
    return h.start()


@pytest.mark.parametrize("http2", [False, True])
def test_both_tables_control(both, http2):
    """No HSTSPolicy: not ours; what httpd itself sends, in its order."""
    res = both.curl("/both/page.html", host="other.test", http2=http2)
    assert res.status == 200, res
    assert res.sts == ["max-age=99", "max-age=5"], res


@pytest.mark.parametrize("http2", [False, True])
@pytest.mark.parametrize("path,want", [
    ("/both/page.html", "max-age=99"),          # the one a browser reads
    ("/both-replace/page.html", "max-age=777"),
])
def test_both_tables(both, http2, path, want):
    res = both.curl(path, http2=http2)
    assert res.status == 200, res
    assert res.sts == [want], res
    res = both.curl(path, tls=False)
    assert res.status == 200 and res.sts == [], res
