"""Every response class over HTTPS carries exactly one correct header;
the same config on a plain-HTTP vhost sends none (RFC 6797 section 7.2).

The classes are those the mod_headers line misses (NOTES section 1): auth
failures, redirects from every phase, errors raised while parsing the
request, TRACE, "OPTIONS *", proxied, CGI and cached responses that bring
their own header.
"""

import os

import pytest

import harness

POLICY = "max-age=31536000; includeSubDomains"

BODY = """
    HSTSPolicy "MAX-AGE=\\"031536000\\";includesubdomains"
    ErrorDocument 404 /errors/404.html
    Redirect 301 /old /index.html
    RewriteEngine on
    RewriteRule ^/rw$ /index.html [R=302,L]
    <Directory "{docroot}">
        AllowOverride All
        Options FollowSymLinks
    </Directory>
    <Location /denied>
        Require all denied
    </Location>
    ScriptAlias /cgi-bin/ "{dir}/cgi-bin/"
    <Location /cgi-bin/>
        LimitRequestBody 10
    </Location>
    ProxyPass /proxy/ http://127.0.0.1:{backend}/
    ProxyPass /cached/ http://127.0.0.1:{backend}/
    ProxyPass /dead/ http://127.0.0.1:{dead}/ retry=1
    CacheEnable socache /cached/
    %s
""" % harness.PROBE_CONF

GLOBAL = """
CacheSocache shmcb
CacheHeader on
CacheIgnoreNoLastMod On
CacheDefaultExpire 300
RequestReadTimeout header=2 body=5
"""

CGI_STS = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n'
printf 'Strict-Transport-Security: max-age=1; preload\\r\\n\\r\\n'
echo from cgi
"""

CGI_ECHO = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
cat
"""


# Everything at debug level and at the usual warn: code that behaves
# differently when debug logging is on must not go unnoticed.
@pytest.fixture(scope="module", params=["warn hsts:debug", "warn"])
def httpd(server_factory, request):
    h = server_factory("responses")
    h.write("index.html", "hello world\n")
    h.write("errors/404.html", "not here\n")
    h.write("sub/index.html", "sub\n")
    h.write("htrw/.htaccess",
            "RewriteEngine on\nRewriteRule ^x$ /index.html [R=302,L]\n")
    h.write("broken/.htaccess", "ThisIsNotADirective on\n")
    h.write("broken/index.html", "never served\n")
    cgi = os.path.join(h.dir, "cgi-bin")
    os.makedirs(cgi)
    os.chmod(cgi, 0o755)
    for name, text in (("sts.cgi", CGI_STS), ("echo.cgi", CGI_ECHO)):
        with open(os.path.join(cgi, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(cgi, name), 0o755)

    body = BODY.format(docroot=h.docroot, dir=h.dir, backend=h.backend_port,
                       dead=h.dead_port) + h.basic_auth("/auth")
    h.configure(h.base_conf(extra=GLOBAL, log_level=request.param)
                + h.tls_vhost(body)
                + h.plain_vhost(body) + h.backend_vhost())
    h.allowed += [
        r"\[core:alert\].*broken/\.htaccess: Invalid command "
        r"'ThisIsNotADirective'",
        r"\[proxy:error\].*127\.0\.0\.1:%d" % h.dead_port,
        r"\[proxy_http:error\].*AH01114",
        r"\[cgid:error\].*AH01270",    # CGI body over LimitRequestBody
        r"\[authz_core:error\].*AH01630: client denied.*/denied",
    ]
    return h.start()


def etag_of(httpd, tls):
    res = httpd.curl("/index.html", tls=tls)
    return res.all("etag")[0]


def cache_hit(httpd, tls):
    httpd.curl("/cached/page.html", tls=tls)
    res = httpd.curl("/cached/page.html", tls=tls)
    assert any(v.startswith("HIT") for v in res.all("x-cache")), res
    return res


def big(n):
    return "x" * n


# name -> (function(httpd, tls) -> Response, expected status)
CASES = {
    "200": (lambda h, t: h.curl("/", tls=t), 200),
    "HEAD": (lambda h, t: h.curl("/", tls=t, args=["-I"]), 200),
    "206": (lambda h, t: h.curl("/index.html", tls=t,
                                args=["-H", "Range: bytes=0-3"]), 206),
    "304": (lambda h, t: h.curl("/index.html", tls=t, args=[
        "-H", "If-None-Match: " + etag_of(h, t)]), 304),
    "404-errordocument": (lambda h, t: h.curl("/nope", tls=t), 404),
    "301-redirect": (lambda h, t: h.curl("/old", tls=t), 301),
    "302-rewrite-vhost": (lambda h, t: h.curl("/rw", tls=t), 302),
    "302-rewrite-htaccess": (lambda h, t: h.curl("/htrw/x", tls=t), 302),
    "301-mod_dir-slash": (lambda h, t: h.curl("/sub", tls=t), 301),
    "401-basic-auth": (lambda h, t: h.curl("/auth/", tls=t), 401),
    "403-denied": (lambda h, t: h.curl("/denied/", tls=t), 403),
    "413-cgi-post": (lambda h, t: h.curl("/cgi-bin/echo.cgi", tls=t, args=[
        "--data-binary", big(100)]), 413),
    "416-range": (lambda h, t: h.curl("/index.html", tls=t, args=[
        "-H", "Range: bytes=9999-"]), 416),
    "500-broken-htaccess": (lambda h, t: h.curl("/broken/", tls=t), 500),
    "proxied-200-with-backend-sts": (
        lambda h, t: h.curl("/proxy/page.html", tls=t), 200),
    "503-dead-backend": (lambda h, t: h.curl("/dead/", tls=t), 503),
    "cgi-200-with-own-sts": (
        lambda h, t: h.curl("/cgi-bin/sts.cgi", tls=t), 200),
    "cache-hit-of-proxied-sts": (cache_hit, 200),
    "TRACE": (lambda h, t: h.curl("/", tls=t, args=["-X", "TRACE"]), 200),
    "OPTIONS-*": (lambda h, t: h.curl(
        "/", tls=t, args=["-X", "OPTIONS", "--request-target", "*"]), 200),
    "400-malformed-header-line": (lambda h, t: h.raw(
        b"GET / HTTP/1.1\r\nHost: hsts.test\r\nNoColonHere\r\n\r\n",
        tls=t), 400),
    "400-bad-request-line": (lambda h, t: h.raw(
        b"GET /\x01 HTTP/1.1 junk\r\nHost: hsts.test\r\n\r\n", tls=t), 400),
    "400-oversized-header": (lambda h, t: h.raw(
        b"GET / HTTP/1.1\r\nHost: hsts.test\r\nX-Big: "
        + big(10000).encode() + b"\r\n\r\n", tls=t), 400),
    "414-uri-too-long": (lambda h, t: h.raw(
        b"GET /" + big(10000).encode()
        + b" HTTP/1.1\r\nHost: hsts.test\r\n\r\n", tls=t), 414),
    "408-request-timeout": (lambda h, t: h.raw(
        b"GET / HTTP/1.1\r\nHost: hsts.test\r\n", tls=t, wait=3.5), 408),
}


# Cases where older releases send no module's header at all (see
# harness.HTTPD_DROPS).
DROPPED_BY = {"304": "h1-304", "408-request-timeout": "tls-408"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tls_exactly_one_header(httpd, case):
    fetch, status = CASES[case]
    res = fetch(httpd, True)
    harness.expect_sts(res, status, [POLICY], DROPPED_BY.get(case))


@pytest.mark.parametrize("case", sorted(CASES))
def test_plain_http_no_header(httpd, case):
    fetch, status = CASES[case]
    res = fetch(httpd, False)
    assert res.status == status, res
    assert res.sts == [], res


def test_backend_really_sends_its_own_header(httpd):
    """Guards the proxied cases: without this the replacement is moot."""
    res = harness.Response.parse(harness.run([
        "curl", "-sS", "-o", "/dev/null", "-D", "-",
        "http://127.0.0.1:%d/page.html" % httpd.backend_port]).stdout)
    assert res.sts == ["max-age=5"], res


def test_request_note_in_access_log(httpd):
    httpd.curl("/index.html?note-tls")
    httpd.curl("/index.html?note-plain", tls=False)
    assert httpd.access_line("?note-tls ").endswith(
        '"GET /index.html?note-tls HTTP/1.1" 200 sent')
    assert httpd.access_line("?note-plain ").endswith(
        '"GET /index.html?note-plain HTTP/1.1" 200 plain-http')
