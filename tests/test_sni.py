"""Several name-based TLS vhosts on one address: a response httpd sends
before it has chosen the vhost from the Host (400, 408, 414 while reading
the request, an HTTP/2 431) belongs to the address's default vhost as far
as httpd knows, but a browser files it under the host it asked for: the
Host (HTTP/2's :authority) when the request got that far, else the name in
the TLS handshake (SNI).  It carries that vhost's policy, or none when no
host was named; never another vhost's.  One HTTP/2 connection serves
every host its certificate covers (connection coalescing), so there the
handshake's name is not enough."""

import time

import pytest

import harness

DEFAULT_POLICY = "max-age=31536000; includeSubDomains"

GLOBAL = """
RequestReadTimeout header=2 body=5
"""

# The first vhost is the address's default.  Each sets the control header
# that proves, on releases that drop every module's header on some
# responses, that httpd dropped ours too (harness.expect_sts).
DEFAULT = 'HSTSPolicy "%s"\n%s\n' % (DEFAULT_POLICY, harness.PROBE_CONF)
OFF = "HSTSPolicy off\n%s\n" % harness.PROBE_CONF
SHORT = 'HSTSPolicy "max-age=300"\n%s\n' % harness.PROBE_CONF
UNSET = harness.PROBE_CONF + "\n"


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("sni")
    h.write("index.html", "hi\n")
    h.configure(h.base_conf(extra=GLOBAL)
                + h.tls_vhost(DEFAULT)
                + h.tls_vhost(OFF, server_name="off.other.test",
                              aliases="nothing.invalid")
                + h.tls_vhost(SHORT, server_name="short.other.test",
                              aliases="tiny-*.other.test")
                + h.tls_vhost(UNSET, server_name="unset.other.test",
                              aliases="nothing.invalid"))
    return h.start()


def long_uri():
    return b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"


# case -> (request for a name, status, wait, what older releases drop)
EARLY = {
    "414": (lambda name: long_uri(), 414, None, None),
    "400-header-line": (lambda name: b"GET / HTTP/1.1\r\nHost: "
                        + name.encode() + b"\r\nNoColon\r\n\r\n", 400,
                        None, None),
    "400-no-host": (lambda name: b"GET / HTTP/1.1\r\n\r\n", 400, None, None),
    "408": (lambda name: b"GET / HTTP/1.1\r\n", 408, 3.5, "tls-408"),
}

# SNI name -> the policy its early errors carry
NAMES = {
    harness.DOMAIN: DEFAULT_POLICY,
    "off.other.test": None,
    "short.other.test": "max-age=300",
    "tiny-1.other.test": "max-age=300",         # by its wildcard alias
    "unset.other.test": None,
    "nowhere.other.test": DEFAULT_POLICY,       # no vhost: the default's
}


# a 408 takes two seconds: three names are enough for it
SLOW_NAMES = (harness.DOMAIN, "off.other.test", "short.other.test")


@pytest.mark.parametrize("case,name", [
    (c, n) for c in sorted(EARLY) for n in sorted(NAMES)
    if c != "408" or n in SLOW_NAMES])
def test_early_error_takes_sni_policy(httpd, case, name):
    data, status, wait, kind = EARLY[case]
    res = httpd.raw(data(name), server_hostname=name, wait=wait)
    want = NAMES[name]
    harness.expect_sts(res, status, [want] if want else [], kind)


def test_early_error_without_sni_sends_none(httpd):
    """No name in the handshake, no Host read: the host the client will
    file the header under cannot be known, so none goes out."""
    res = httpd.raw(long_uri(), server_hostname=None)
    assert res.status == 414, res
    assert res.sts == [], res
    # read to the end, but still no name: HTTP/1.0 without a Host
    res = httpd.raw(b"GET / HTTP/1.0\r\n\r\n", server_hostname=None)
    assert res.status == 200 and res.sts == [], res
    # a Host is enough
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: hsts.test\r\n"
                    b"Connection: close\r\n\r\n", server_hostname=None)
    assert res.status == 200 and res.sts == [DEFAULT_POLICY], res


def test_early_error_note(httpd):
    """The note says why no header went out.  (Releases log a 414's
    request line differently: look at the newest line.)"""
    with open(httpd.access_log) as f:
        before = len(f.readlines())
    httpd.raw(long_uri(), server_hostname=None)
    deadline = time.time() + 10
    while True:
        with open(httpd.access_log) as f:
            lines = f.readlines()[before:]
        if lines or time.time() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1, lines
    assert lines[0].rstrip().endswith(" 414 unknown-host"), lines[0][-80:]


def test_read_requests_still_go_by_host(httpd):
    """Once httpd read the Host, the vhost it chose is what counts, even
    when the handshake named another (same certificate)."""
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: short.other.test\r\n"
                    b"Connection: close\r\n\r\n",
                    server_hostname="off.other.test")
    assert res.status == 200 and res.sts == ["max-age=300"], res
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: off.other.test\r\n"
                    b"Connection: close\r\n\r\n",
                    server_hostname=harness.DOMAIN)
    assert res.status == 200 and res.sts == [], res


def test_http10_without_host_goes_by_sni(httpd):
    """No Host at all, in a request httpd read to the end: mod_ssl refuses
    it (a name in the handshake, none in the request), on the default
    vhost as far as httpd knows; the browser files the answer under the
    name it sent in the handshake."""
    httpd.allowed.append(r"\[ssl:error\].*AH02031: Hostname "
                         r"short\.other\.test provided via SNI, but no "
                         r"hostname provided")
    res = httpd.raw(b"GET / HTTP/1.0\r\n\r\n",
                    server_hostname="short.other.test")
    assert res.status == 400, res
    assert res.sts == ["max-age=300"], res


@pytest.mark.parametrize("name", sorted(NAMES))
def test_h2_431_takes_sni_policy(httpd, name):
    res = httpd.curl("/", host=name, http2=True,
                     args=["-H", "X-Big: " + "y" * 12000])
    want = NAMES[name]
    harness.expect_sts(res, 431, [want] if want else [], "h2-431")


@pytest.mark.parametrize("name", sorted(NAMES))
def test_h2_200_goes_by_authority(httpd, name):
    res = httpd.curl("/", host=name, http2=True)
    assert res.status == 200, res
    want = {"nowhere.other.test": DEFAULT_POLICY}.get(name, NAMES[name])
    assert res.sts == ([want] if want else []), res


def coalesced(httpd, authority, args=(), path="/"):
    """HTTP/2 to `authority` on a connection whose handshake named
    hsts.test, as a browser reuses one connection for every host the
    certificate covers."""
    return harness.Response.parse(harness.run([
        "curl", "-sS", "-o", "/dev/null", "-D", "-", "--http2",
        "--cacert", httpd.pki.ca, "--connect-to",
        "%s:%d:127.0.0.1:%d" % (harness.DOMAIN, httpd.tls_port,
                                httpd.tls_port),
        "-H", "Host: " + authority] + list(args)
        + [httpd.url(path)]).stdout)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_h2_coalesced_errors_go_by_authority(httpd, name):
    want = NAMES[name]
    res = coalesced(httpd, name, ["-H", "X-Big: " + "y" * 12000])
    harness.expect_sts(res, 431, [want] if want else [], "h2-431")
    res = coalesced(httpd, name)
    assert res.status == 200, res
    want = {"nowhere.other.test": DEFAULT_POLICY}.get(name, want)
    assert res.sts == ([want] if want else []), res


def test_http1_bad_header_goes_by_host(httpd):
    """A Host read before the bad line counts, as on HTTP/2."""
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: short.other.test:443\r\n"
                    b"NoColon\r\n\r\n", server_hostname=harness.DOMAIN)
    assert res.status == 400 and res.sts == ["max-age=300"], res
    # a Host that is not a host name does not count: the handshake's does
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: evil?.short.other.test\r\n"
                    b"NoColon\r\n\r\n", server_hostname="off.other.test")
    assert res.status == 400 and res.sts == [], res


# A fully qualified Host, in any case, with or without a port: httpd
# drops the final dot, the case and the port before it looks the vhost up
# (vhost.c, fix_hostname), so "OFF.Other.Test.:443" is off.other.test's.
# An early error for it goes by that vhost too, not by the default.
FQDN_HOSTS = ["off.other.test.", "OFF.Other.Test.", "off.other.test.:%d",
              "Tiny-7.Other.Test.", "short.other.test.:%d"]


def fqdn(httpd, host):
    return host % httpd.tls_port if "%d" in host else host


def fqdn_want(host):
    name = host.split(":")[0].rstrip(".").lower()
    return {"off.other.test": [], "tiny-7.other.test": ["max-age=300"],
            "short.other.test": ["max-age=300"]}[name]


@pytest.mark.parametrize("host", FQDN_HOSTS)
def test_fqdn_host_read_request(httpd, host):
    """The control: a request httpd reads to the end goes to the vhost the
    name selects, and carries its policy."""
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: " + fqdn(httpd, host).encode()
                    + b"\r\nConnection: close\r\n\r\n",
                    server_hostname=harness.DOMAIN)
    assert res.status == 200 and res.sts == fqdn_want(host), res


@pytest.mark.parametrize("host", FQDN_HOSTS)
def test_fqdn_host_http1_early_error(httpd, host):
    res = httpd.raw(b"GET / HTTP/1.1\r\nHost: " + fqdn(httpd, host).encode()
                    + b"\r\nNoColon\r\n\r\n", server_hostname=harness.DOMAIN)
    assert res.status == 400 and res.sts == fqdn_want(host), res


@pytest.mark.parametrize("big", ["X-Big: ", "Cookie: big="])
@pytest.mark.parametrize("host", FQDN_HOSTS)
def test_fqdn_host_h2_431(httpd, host, big):
    """HTTP/2 on a connection whose handshake named the default vhost, to
    a fully qualified :authority, with a header (a cookie, as a browser
    would send one) too large: 431."""
    want = fqdn_want(host)
    res = coalesced(httpd, fqdn(httpd, host), ["-H", big + "y" * 12000])
    harness.expect_sts(res, 431, want, "h2-431")
    res = coalesced(httpd, fqdn(httpd, host))
    assert res.status == 200 and res.sts == want, res


@pytest.mark.parametrize("uri_host", ["off.other.test.", "OFF.other.TEST",
                                      "off.other.test.:%d"])
def test_absolute_uri_early_error(httpd, uri_host):
    """A request line in absolute form names the host, and httpd goes by
    it rather than by the Host header; a bad header line after it is an
    early error for that host.  (trunk's HTTP/1 input filter hands over
    no request line when the headers fail, only the headers it read: there
    the Host is all that is known.)"""
    uri = b"https://" + fqdn(httpd, uri_host).encode() + b"/"
    res = httpd.raw(b"GET " + uri + b" HTTP/1.1\r\nHost: " + b"hsts.test"
                    + b"\r\nConnection: close\r\n\r\n",
                    server_hostname=harness.DOMAIN)
    assert res.status == 200 and res.sts == [], res
    res = httpd.raw(b"GET " + uri + b" HTTP/1.1\r\nHost: hsts.test\r\n"
                    b"NoColon\r\n\r\n", server_hostname=harness.DOMAIN)
    want = [DEFAULT_POLICY] if harness.httpd_version() >= (2, 5) else []
    assert res.status == 400 and res.sts == want, res


def test_fqdn_host_bad_names_go_by_sni(httpd):
    """Two final dots, or an empty label, name no host httpd would route:
    the handshake's name counts."""
    for host in (b"off.other.test..", b".off.other.test", b"."):
        res = httpd.raw(b"GET / HTTP/1.1\r\nHost: " + host
                        + b"\r\nNoColon\r\n\r\n",
                        server_hostname="short.other.test")
        assert res.status == 400 and res.sts == ["max-age=300"], (host, res)
