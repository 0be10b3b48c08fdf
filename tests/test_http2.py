"""HTTP/2: the header goes out once on every stream response, including the
ones mod_http2 answers itself (431) and the byterange error (416), where
its error path has been seen duplicating err_headers_out (NOTES section 2).
"""

import os

import pytest

import harness

POLICY = "max-age=300; includeSubDomains"

BODY = """
    HSTSPolicy "max-age=300; includeSubDomains"
    Redirect 302 /moved /index.html
    ProxyPass /proxy/ http://127.0.0.1:{backend}/
    %s
""" % harness.PROBE_CONF


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("http2")
    h.write("index.html", "hello h2\n")
    body = BODY.format(backend=h.backend_port) + h.basic_auth("/auth")
    h.configure(h.base_conf() + h.tls_vhost(body) + h.backend_vhost())
    return h.start()


def etag(h):
    return h.curl("/index.html", http2=True).all("etag")[0]


CASES = {
    "200": (lambda h: h.curl("/", http2=True), 200),
    "304": (lambda h: h.curl("/index.html", http2=True, args=[
        "-H", "If-None-Match: " + etag(h)]), 304),
    "401": (lambda h: h.curl("/auth/", http2=True), 401),
    "404": (lambda h: h.curl("/missing", http2=True), 404),
    "302": (lambda h: h.curl("/moved", http2=True), 302),
    "416": (lambda h: h.curl("/index.html", http2=True, args=[
        "-H", "Range: bytes=5000-"]), 416),
    "431": (lambda h: h.curl("/", http2=True, args=[
        "-H", "X-Big: " + "y" * 12000]), 431),
    "proxied-with-backend-sts": (
        lambda h: h.curl("/proxy/page.html", http2=True), 200),
}


# Cases where older releases send no module's header at all (see
# harness.HTTPD_DROPS).
DROPPED_BY = {"304": "h2-304", "431": "h2-431"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_h2_exactly_one_header(httpd, case):
    fetch, status = CASES[case]
    res = fetch(httpd)
    harness.expect_sts(res, status, [POLICY], DROPPED_BY.get(case))


def test_h2_really_negotiated(httpd):
    """Guards the cases above: they must not silently fall back to 1.1."""
    res = harness.run(["curl", "-sS", "-o", "/dev/null", "-w",
                       "%{http_version}", "--http2", "--cacert",
                       httpd.pki.ca, "--resolve", "%s:%d:127.0.0.1"
                       % (harness.DOMAIN, httpd.tls_port), httpd.url("/")])
    assert res.stdout.strip() == "2", res
