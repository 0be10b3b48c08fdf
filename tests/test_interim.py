"""Interim responses and protocol switches from a proxied backend that
sends its own Strict-Transport-Security: 103 Early Hints, the 101 of a
WebSocket upgrade over HTTP/1.1, and the 200 that mod_http2 makes of that
101 for a WebSocket over HTTP/2 (RFC 8441 extended CONNECT).

httpd 2.4 writes interim responses straight to the connection, past every
request filter, so no module sees their headers: there the backend's
header goes out untouched (README "Behaviour worth knowing").  httpd 2.5
passes them through the request's filters as response buckets, and they
get what a final response gets: one header over TLS, ours unless keep,
none over plain HTTP.  Both are asserted, by release."""

import base64
import hashlib
import socket
import socketserver
import ssl
import threading

import pytest

import harness

POLICY = "max-age=600"
BACKEND_HINT = "max-age=1"
BACKEND_FINAL = "max-age=2"
BACKEND_SWITCH = "max-age=3"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# httpd 2.5 (trunk) hands interim responses to the request's filters.
INTERIM_VISIBLE = harness.httpd_version() >= (2, 5, 0)


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest())


class BackendHandler(socketserver.StreamRequestHandler):
    """A plain-HTTP backend: a 103 then a 200 for /hints/, a 101 and an
    echo for a WebSocket upgrade, each with its own STS header."""

    def handle(self):
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline()
            if not line:
                return
            head += line
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split()[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if headers.get("upgrade", "").lower() == "websocket":
            key = headers.get("sec-websocket-key", "").encode()
            self.wfile.write(
                b"HTTP/1.1 101 Switching Protocols\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + ws_accept(key) + b"\r\n"
                b"Strict-Transport-Security: " + BACKEND_SWITCH.encode()
                + b"\r\n\r\n")
            self.wfile.flush()
            while True:
                data = self.connection.recv(4096)
                if not data:
                    return
                self.connection.sendall(data)
        body = b"final\n"
        if path.startswith("/hints/"):
            self.wfile.write(
                b"HTTP/1.1 103 Early Hints\r\n"
                b"Link: </style.css>; rel=preload\r\n"
                b"Strict-Transport-Security: " + BACKEND_HINT.encode()
                + b"\r\n\r\n")
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n"
            b"Strict-Transport-Security: " % len(body)
            + BACKEND_FINAL.encode() + b"\r\n\r\n" + body)


class Backend(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


BODY = """
    HSTSPolicy "%s"
    ProxyPass /hints/ http://127.0.0.1:{backend}/hints/
    ProxyPass /ws/ ws://127.0.0.1:{backend}/ws/
    H2EarlyHints on
    <IfDirective H2WebSockets>
        H2WebSockets on
    </IfDirective>
""" % POLICY


@pytest.fixture(scope="module")
def httpd(server_factory):
    backend = Backend(("127.0.0.1", 0), BackendHandler)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    h = server_factory("interim")
    h.write("index.html", "x\n")
    body = BODY.format(backend=backend.server_address[1])
    h.configure(h.base_conf(modules=harness.BASE_MODULES
                            + ["proxy_wstunnel"])
                + h.tls_vhost(body) + h.plain_vhost(body))
    h.start()
    yield h
    backend.shutdown()


def blocks(text):
    """Every header block of a curl -D dump: [(status, [sts values])]."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.strip().split("\n")
        if lines and lines[0].startswith("HTTP/"):
            out.append((int(lines[0].split()[1]), [
                l.split(":", 1)[1].strip() for l in lines[1:]
                if l.lower().startswith("strict-transport-security:")]))
    return out


def interim_want(tls, backend_value):
    if INTERIM_VISIBLE:
        return [POLICY] if tls else []
    return [backend_value]     # httpd 2.4: past every filter, untouched


@pytest.mark.parametrize("tls,http2", [(True, False), (True, True),
                                       (False, False)])
def test_early_hints(httpd, tls, http2):
    port = httpd.tls_port if tls else httpd.plain_port
    res = harness.run([
        "curl", "-sS", "-o", "/dev/null", "-D", "-", "--cacert",
        httpd.pki.ca, "--http2" if http2 else "--http1.1", "--resolve",
        "%s:%d:127.0.0.1" % (harness.DOMAIN, port),
        httpd.url("/hints/x", tls=tls)])
    got = blocks(res.stdout)
    assert [s for s, _ in got] == [103, 200], res.stdout
    assert got[0][1] == interim_want(tls, BACKEND_HINT), res.stdout
    assert got[1][1] == ([POLICY] if tls else []), res.stdout


def ws_request(host):
    return (b"GET /ws/chat HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n")


@pytest.mark.parametrize("tls", [True, False])
def test_websocket_http1(httpd, tls):
    sock = socket.create_connection(
        ("127.0.0.1", httpd.tls_port if tls else httpd.plain_port),
        timeout=10)
    if tls:
        ctx = ssl.create_default_context(cafile=httpd.pki.ca)
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname=harness.DOMAIN)
    try:
        sock.sendall(ws_request(harness.DOMAIN))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        sock.sendall(b"echo me")
        while len(rest) < 7:
            rest += sock.recv(4096)
    finally:
        sock.close()
    res = harness.Response.parse(head.decode("latin-1") + "\r\n\r\n")
    assert res.status == 101, head
    assert res.sts == interim_want(tls, BACKEND_SWITCH), head
    assert rest == b"echo me"       # the tunnel works


def h2_extended_connect(httpd):
    """An RFC 8441 WebSocket over HTTP/2: the final response's headers."""
    import h2.config
    import h2.connection
    import h2.events

    sock = httpd.tls_socket()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    headers = None
    try:
        sent = False
        while headers is None:
            data = sock.recv(65536)
            assert data, "connection closed"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RemoteSettingsChanged) \
                        and not sent:
                    conn.send_headers(1, [
                        (":method", "CONNECT"), (":protocol", "websocket"),
                        (":scheme", "https"), (":path", "/ws/chat"),
                        (":authority", harness.DOMAIN),
                        ("sec-websocket-version", "13")])
                    sent = True
                elif isinstance(event, h2.events.ResponseReceived):
                    headers = event.headers
            sock.sendall(conn.data_to_send())
    finally:
        sock.close()
    return headers


def test_websocket_http2(httpd):
    if harness.httpd_version() < (2, 4, 58):
        pytest.skip("H2WebSockets (RFC 8441) came with httpd 2.4.58")
    headers = h2_extended_connect(httpd)
    status = [v for k, v in headers if k == ":status"]
    sts = [v for k, v in headers if k == "strict-transport-security"]
    assert status == ["200"], headers
    assert sts == interim_want(True, BACKEND_SWITCH), headers
