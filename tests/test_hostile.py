"""Hostile and broken clients: the server keeps serving, and every
response that goes out over TLS carries exactly one header."""

import re
import socket
import ssl
import threading
import time

import pytest

import harness

POLICY = "max-age=600"

BODY = 'HSTSPolicy "%s"\n%s\n' % (POLICY, harness.PROBE_CONF)

GLOBAL = """
RequestReadTimeout header=2 body=2
LimitRequestFields 50
"""


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("hostile")
    h.write("index.html", "ok\n")
    h.configure(h.base_conf(extra=GLOBAL) + h.tls_vhost(BODY))
    return h.start()


def still_serving(h):
    res = h.curl("/")
    assert res.status == 200 and res.sts == [POLICY], res


def many_headers(n):
    return b"".join(b"X-H%d: v\r\n" % i for i in range(n))


@pytest.mark.parametrize("name,data,status", [
    ("too-many-headers", b"GET / HTTP/1.1\r\nHost: hsts.test\r\n"
     + many_headers(200) + b"\r\n", 400),
    ("nul-in-request-line", b"GET /\x00 HTTP/1.1\r\nHost: hsts.test\r\n\r\n",
     400),
    ("bad-method", b"G\x01T / HTTP/1.1\r\nHost: hsts.test\r\n\r\n", 400),
    ("bad-version", b"GET / HTTP/9.9.9\r\nHost: hsts.test\r\n\r\n", 400),
    ("ctl-in-header", b"GET / HTTP/1.1\r\nHost: hsts.test\r\n"
     b"X-A: a\x7fb\x01\r\n\r\n", 400),
    # httpd unfolds obs-fold rather than refusing it
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: hsts.test\r\nX-A: a\r\n b\r\n\r\n",
     200),
    ("two-hosts", b"GET / HTTP/1.1\r\nHost: hsts.test\r\nHost: evil\r\n\r\n",
     400),
    ("bad-content-length", b"POST / HTTP/1.1\r\nHost: hsts.test\r\n"
     b"Content-Length: -5\r\n\r\n", 400),
    ("huge-uri", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n", 414),
    ("bad-host", b"GET / HTTP/1.1\r\nHost: a b c\r\n\r\n", 400),
])
def test_malformed(httpd, name, data, status):
    res = httpd.raw(data)
    assert res.status == status, res
    assert res.sts == [POLICY], res
    still_serving(httpd)


def test_slowloris(httpd):
    """Twenty clients dribbling headers: each gets a 408 with the header
    when the read timeout hits, and the server serves others meanwhile."""
    results = []

    def slow_client():
        ctx = ssl.create_default_context(cafile=httpd.pki.ca)
        sock = ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", httpd.tls_port), timeout=20),
            server_hostname=harness.DOMAIN)
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: hsts.test\r\n")
            data = b""
            for i in range(10):
                try:
                    sock.sendall(b"X-Slow-%d: v\r\n" % i)
                except OSError:
                    break
                time.sleep(0.5)
            sock.settimeout(10)
            while True:
                try:
                    chunk = sock.recv(65536)
                except (OSError, ssl.SSLError):
                    break
                if not chunk:
                    break
                data += chunk
            results.append(harness.Response.parse(data.decode("latin-1")))
        finally:
            sock.close()

    threads = [threading.Thread(target=slow_client) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(1)
    still_serving(httpd)
    for t in threads:
        t.join(30)
    assert len(results) == 20
    for res in results:
        harness.expect_sts(res, 408, [POLICY], "tls-408")
    still_serving(httpd)


def test_garbage_after_handshake(httpd):
    """A TLS record header sent again as if it were HTTP: httpd answers
    with a 400 as for any other bad request line, with the header."""
    res = httpd.raw(b"\x16\x03\x01\x00\x05hello\r\n\r\n")
    assert res.status == 400, res
    assert res.sts == [POLICY], res
    still_serving(httpd)


def test_tls_garbage_instead_of_handshake(httpd):
    sock = socket.create_connection(("127.0.0.1", httpd.tls_port),
                                    timeout=5)
    try:
        sock.sendall(b"\x16\x03\x01\xff\xff" + b"\x00" * 100)
        try:
            sock.recv(100)
        except OSError:
            pass
    finally:
        sock.close()
    httpd.allowed.append(r"\[ssl:(error|info)\].*(SSL Library Error|"
                         r"AH02008|AH02261)")
    still_serving(httpd)


def nghttp_streams(httpd, n):
    """n requests multiplexed on one HTTP/2 connection by nghttp: the
    :status and Strict-Transport-Security lines each stream received."""
    res = harness.run(["nghttp", "-nv", "-m", str(n), "--no-verify-peer",
                       "-H", ":authority: %s" % harness.DOMAIN,
                       "https://127.0.0.1:%d/" % httpd.tls_port])
    assert res.returncode == 0, res.stderr
    statuses, headers = {}, {}
    for sid, name, value in re.findall(
            r"recv \(stream_id=(\d+)\) (:status|strict-transport-security)"
            r": (.*)", res.stdout):
        table = statuses if name == ":status" else headers
        table.setdefault(sid, []).append(value.strip())
    return statuses, headers


def test_h2_flood_of_streams_and_bad_headers(httpd):
    """h2load opens many streams on many connections while nghttp checks,
    stream by stream, that each response carries exactly one header; one
    curl sends a header block mod_http2 must refuse."""
    flood = threading.Thread(target=lambda: results.append(harness.run([
        "h2load", "-n", "2000", "-c", "10", "-m", "50",
        "-H", ":authority: %s" % harness.DOMAIN,
        "https://127.0.0.1:%d/" % httpd.tls_port])))
    results = []
    flood.start()
    statuses, headers = nghttp_streams(httpd, 2000)
    flood.join(60)
    assert results and "2000 succeeded" in results[0].stdout, results
    assert len(statuses) == 2000, len(statuses)
    assert all(v == ["200"] for v in statuses.values()), statuses
    assert sorted(headers) == sorted(statuses), \
        set(statuses) - set(headers)
    assert all(v == [POLICY] for v in headers.values()), headers
    args = []
    for i in range(120):                    # over LimitRequestFields
        args += ["-H", "x-many-%d: v" % i]
    many = httpd.curl("/", http2=True, args=args)
    harness.expect_sts(many, 431, [POLICY], "h2-431")
    still_serving(httpd)


def h2_connection(httpd):
    sock = httpd.tls_socket(timeout=5)
    assert sock.selected_alpn_protocol() == "h2"
    # client preface and an empty SETTINGS frame
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                 b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    return sock


def frame(ftype, flags, stream, payload=b""):
    return (len(payload).to_bytes(3, "big") + bytes([ftype, flags])
            + stream.to_bytes(4, "big") + payload)


def read_frame_types(sock):
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        pass
    types, i = [], 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i:i + 3], "big")
        types.append(data[i + 3])
        i += 9 + length
    return types


@pytest.mark.parametrize("name,bad", [
    # HEADERS on stream 0 is a connection error (RFC 9113 6.2)
    ("headers-on-stream-0", frame(0x1, 0x5, 0, b"\x82")),
    # a header block that is not valid HPACK
    ("bad-hpack", frame(0x1, 0x5, 1, b"\xff\xff\xff\xff\xff")),
    # DATA on a stream that was never opened
    ("data-on-idle-stream", frame(0x0, 0x1, 7, b"hello")),
    # a SETTINGS frame whose length is not a multiple of 6
    ("bad-settings-length", frame(0x4, 0x0, 0, b"\x00\x01\x00")),
])
def test_h2_invalid_frames(httpd, name, bad):
    """Protocol errors end the connection with GOAWAY (no response to put a
    header on); the server keeps serving HTTP/2 and HTTP/1.1."""
    sock = h2_connection(httpd)
    try:
        sock.sendall(bad)
        types = read_frame_types(sock)
    finally:
        sock.close()
    assert 0x7 in types, (name, types)            # GOAWAY
    assert httpd.curl("/", http2=True).sts == [POLICY]
    still_serving(httpd)
