"""When the header goes out: over TLS (HTTP/1 and HTTP/2 alike), or when a
TLS-terminating proxy in front is vouched for with HTTPS=on; never to IP
literal or localhost hosts, never over plain HTTP."""

import pytest

import harness

TLS_BODY = 'HSTSPolicy "max-age=4242"\n'

# The recipe from conf/behind-proxy.conf, trusting loopback as the proxy.
PLAIN_BODY = """
    HSTSPolicy "max-age=4242"
    SetEnvIfExpr "-R '127.0.0.0/8' && req('X-Forwarded-Proto') == 'https'" \\
        HTTPS=on
"""


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("tlsdetect")
    h.write("index.html", "hi\n")
    h.configure(h.base_conf() + h.tls_vhost(TLS_BODY)
                + h.plain_vhost(PLAIN_BODY)
                # ServerName itself exempt: the per-server shortcut
                + h.tls_vhost(TLS_BODY, server_name="localhost",
                              aliases="nothing.invalid"))
    return h.start()


def test_tls_sends(httpd):
    assert httpd.curl("/").sts == ["max-age=4242"]


def test_behind_tls_proxy_with_https_on(httpd):
    res = httpd.curl("/", tls=False, args=["-H", "X-Forwarded-Proto: https"])
    assert res.sts == ["max-age=4242"], res


def test_behind_proxy_plain_request(httpd):
    res = httpd.curl("/", tls=False, args=["-H", "X-Forwarded-Proto: http"])
    assert res.sts == [], res
    assert httpd.curl("/", tls=False).sts == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_exempt_hosts(httpd, host):
    res = httpd.curl("/", host=host)
    assert res.status == 200, res
    assert res.sts == [], res


def test_localhost_vhost(httpd):
    """Host == ServerName == localhost takes the precomputed answer."""
    res = httpd.curl("/?localhost-vhost", host="localhost")
    assert res.status == 200 and res.sts == [], res
    assert httpd.access_line("localhost-vhost").endswith(" ip-host")
    # and a real name on the same server still gets the header
    assert httpd.curl("/", host="www.hsts.test").sts == ["max-age=4242"]


def test_ip_host_note(httpd):
    httpd.curl("/?ip-note", host="127.0.0.1")
    line = httpd.access_line("ip-note")
    assert line.endswith(" ip-host"), line


@pytest.mark.parametrize("host", [b"127.0.0.1", b"[::1]", b"[::1]:443",
                                  b"[2001:db8::7]", b"LOCALHOST."])
def test_ip_literal_in_host_header(httpd, host):
    tag = b"ip-literal-" + host.hex().encode()
    res = httpd.raw(b"GET /?" + tag + b" HTTP/1.1\r\nHost: " + host
                    + b"\r\nConnection: close\r\n\r\n")
    assert res.status == 200, res
    assert res.sts == [], res
    assert httpd.access_line(tag.decode()).endswith(" ip-host")


def test_plain_http_to_tls_port(httpd):
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: hsts.test\r\n"
                    b"Connection: close\r\n\r\n", tls=False,
                    port=httpd.tls_port)
    assert res.status == 400, res
    assert res.sts == [], res


def test_plain_keepalive_connection(httpd):
    """mod_hsts remembers a connection is plain, not what HTTPS=on said:
    three requests on one keep-alive connection, the middle one vouched
    for by the proxy."""
    plain = b"GET / HTTP/1.1\r\nHost: hsts.test\r\n\r\n"
    vouched = (b"GET / HTTP/1.1\r\nHost: hsts.test\r\n"
               b"X-Forwarded-Proto: https\r\n\r\n")
    last = b"GET / HTTP/1.1\r\nHost: hsts.test\r\nConnection: close\r\n\r\n"
    text = httpd.raw_text(plain + vouched + last, tls=False)
    heads = [h.lower() for h in text.split("HTTP/1.1 ")[1:]]
    assert len(heads) == 3, text
    assert [h.count("strict-transport-security:") for h in heads] \
        == [0, 1, 0], text


def test_rfc2817_upgrade(server_factory):
    """A plain connection that turns TLS (RFC 2817, SSLEngine optional):
    the response to the upgrading request and the next ones go out over
    TLS, with the header.  httpd 2.4.64 removed the upgrade (and logs
    AH10510 at startup): there the connection stays plain and gets
    none."""
    import socket
    import ssl
    h = server_factory("rfc2817")
    h.write("index.html", "hi\n")
    body = """
<VirtualHost 127.0.0.1:%d>
    ServerName hsts.test
    DocumentRoot "%s"
    SSLEngine optional
    SSLCertificateFile "%s"
    SSLCertificateKeyFile "%s"
    HSTSPolicy "max-age=4242"
</VirtualHost>
""" % (h.plain_port, h.docroot, h.pki.cert, h.pki.key)
    h.configure(h.base_conf(log_level="notice hsts:debug") + body)
    h.allowed.append(r"\[ssl:notice\].*AH10510")   # "no longer supported"
    h.start()
    # httpd 2.4.64 removed the upgrade and says so at startup; the 2.4
    # releases before it, and the trunk snapshot of 2024, still have it
    removed = "AH10510" in h.read_log()
    if harness.httpd_version() < (2, 5, 0):
        assert removed == (harness.httpd_version() >= (2, 4, 64)), \
            h.read_log()
    try:
        sock = socket.create_connection(("127.0.0.1", h.plain_port),
                                        timeout=10)
        sock.sendall(b"OPTIONS * HTTP/1.1\r\nHost: hsts.test\r\n"
                     b"Upgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            chunk = sock.recv(4096)
            assert chunk, first
            first += chunk
        if removed:
            res = harness.Response.parse(first.decode("latin-1"))
            assert res.status == 200 and res.sts == [], first
            return
        assert first.startswith(b"HTTP/1.1 101 "), first
        ctx = ssl.create_default_context(cafile=h.pki.ca)
        tls = ctx.wrap_socket(sock, server_hostname="hsts.test")
        tls.sendall(b"GET / HTTP/1.1\r\nHost: hsts.test\r\n"
                    b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        text = data.decode("latin-1")
        # the OPTIONS answer, then the GET's, both over TLS
        heads = [b for b in text.split("HTTP/1.1 ")[1:]]
        assert len(heads) == 2, text
        assert all(b.lower().count("strict-transport-security: "
                                   "max-age=4242") == 1 for b in heads), text
    finally:
        h.stop()
