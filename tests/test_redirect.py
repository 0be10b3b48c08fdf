"""HSTSRedirect: plain-HTTP requests go to https:// on the same host, same
path and query; nothing over TLS; ACME and <Location> exemptions."""

import pytest

import harness

BODY = """
    HSTSPolicy "max-age=31536000; includeSubDomains"
    HSTSRedirect on
    ServerAlias ::1
    <Location /exempt>
        HSTSRedirect off
    </Location>
    <Location /port>
        HSTSRedirect on port={tls}
    </Location>
    <Location /forced>
        HSTSRedirect on status=302
    </Location>
"""


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("redirect")
    for p in ("index.html", "exempt/index.html", "port/p.html",
              "a/b.html"):
        h.write(p, p + "\n")
    body = BODY.format(tls=h.tls_port)
    h.configure(h.base_conf() + h.tls_vhost(body) + h.plain_vhost(body))
    return h.start()


def loc(res):
    return res.all("location")


def redirect(h, target, host):
    """A raw plain-HTTP GET of `target` with Host `host` (bytes): the
    response."""
    return h.raw(b"GET " + target + b" HTTP/1.1\r\nHost: " + host
                 + b"\r\nConnection: close\r\n\r\n", tls=False)


@pytest.mark.parametrize("method,args,status", [
    ("GET", [], 301),
    ("HEAD", ["-I"], 301),
    ("POST", ["--data", "k=v"], 308),
    ("PUT", ["-X", "PUT", "--data", "k=v"], 308),
])
def test_methods(httpd, method, args, status):
    res = httpd.curl("/a/b.html?x=1&y=%20z", tls=False, args=args)
    assert res.status == status, res
    assert loc(res) == ["https://hsts.test/a/b.html?x=1&y=%20z"], res
    assert res.sts == [], res


def test_forced_status(httpd):
    res = httpd.curl("/forced/x", tls=False, args=["--data", "a"])
    assert res.status == 302, res
    assert loc(res) == ["https://hsts.test/forced/x"], res


def test_port_and_follow(httpd):
    res = httpd.curl("/port/p.html?q", tls=False)
    want = "https://hsts.test:%d/port/p.html?q" % httpd.tls_port
    assert res.status == 301 and loc(res) == [want], res
    # Follow it for real: curl lands on the TLS vhost, which sends STS.
    followed = httpd.curl("/port/p.html?q", tls=False, args=[
        "-L", "--resolve", "hsts.test:%d:127.0.0.1" % httpd.tls_port])
    assert followed.status == 200, followed
    assert followed.sts == ["max-age=31536000; includeSubDomains"]


def test_ipv6_literal_bracketed(httpd):
    res = redirect(httpd, b"/a/b.html?v6", b"[::1]")
    assert res.status == 301, res
    assert loc(res) == ["https://[::1]/a/b.html?v6"], res


def test_forged_host_goes_to_servername(httpd):
    res = redirect(httpd, b"/a/b.html", b"evil.example")
    assert res.status == 301, res
    assert loc(res) == ["https://hsts.test/a/b.html"], res


def test_alias_host_kept(httpd):
    res = httpd.curl("/a/b.html", tls=False, host="www.hsts.test")
    assert loc(res) == ["https://www.hsts.test/a/b.html"], res


@pytest.mark.parametrize("path,status", [
    ("/.well-known/acme-challenge/token123", 404),
    ("/exempt/", 200),
])
def test_exempt(httpd, path, status):
    res = httpd.curl(path, tls=False)
    assert res.status == status, res
    assert loc(res) == [] and res.sts == [], res


def test_nothing_over_tls(httpd):
    res = httpd.curl("/a/b.html?x=1")
    assert res.status == 200, res
    assert loc(res) == [], res
    assert res.sts == ["max-age=31536000; includeSubDomains"], res


def test_redirect_note(httpd):
    httpd.curl("/a/b.html?redirect-note", tls=False)
    line = httpd.access_line("redirect-note")
    assert line.endswith(" 301 redirect"), line


# mod_hsts registers the hook that redirects only when the configuration
# lets HSTSRedirect apply somewhere: these configurations have no
# HSTSRedirect at server or vhost level, only where it is hardest to see:
# in a tenant's .htaccess under each kind of override, or in a <Directory>.
@pytest.mark.parametrize("directory,htaccess", [
    ("AllowOverride FileInfo", "HSTSRedirect on\n"),
    ("AllowOverride All", "HSTSRedirect on\n"),
    ("AllowOverrideList HSTSRedirect", "HSTSRedirect on\n"),
    ("HSTSRedirect on", None),
])
def test_only_in_a_directory(server_factory, directory, htaccess):
    h = server_factory("redirect-directory")
    if htaccess:
        h.write("tenant/.htaccess", htaccess)
    h.write("tenant/page.html", "tenant\n")
    h.write("other.html", "other\n")
    body = ('    HSTSPolicy "max-age=300"\n    <Directory "%s/tenant">\n'
            '        %s\n    </Directory>\n' % (h.docroot, directory))
    h.configure(h.base_conf() + h.tls_vhost(body) + h.plain_vhost(body))
    h.start()
    try:
        res = h.curl("/tenant/page.html?q=1", tls=False)
        assert res.status == 301, res
        assert loc(res) == ["https://hsts.test/tenant/page.html?q=1"], res
        res = h.curl("/other.html", tls=False)
        assert res.status == 200 and loc(res) == [], res
    finally:
        h.stop()


# The path and query exactly as sent: decoded, "%3F" would start a query,
# "%23" a fragment, and "%2541" would become "%41" (then "A").
@pytest.mark.parametrize("target,want", [
    (b"/a%3Fb.html", "/a%3Fb.html"),
    (b"/a%23b.html?q=%23x", "/a%23b.html?q=%23x"),
    (b"/%2541", "/%2541"),
    (b"/caf%C3%A9?k=%C3%A9", "/caf%C3%A9?k=%C3%A9"),
    (b"/caf\xc3\xa9?k=\xc3\xa9", "/caf%C3%A9?k=%C3%A9"),    # raw 8-bit
    (b"/x%0D%0ASet-Cookie:%20a=b", "/x%0D%0ASet-Cookie:%20a=b"),
    (b"/x%00y", None),                      # httpd refuses a NUL: 404
    (b"/a#frag", None),                     # httpd refuses a raw #: 400
    (b"/a%zz", None),                       # httpd refuses: 400
    (b"/a\"<>\\^`{|}", "/a%22%3C%3E%5C%5E%60%7B%7C%7D"),
    (b"http://hsts.test/abs%3Fpath?q", "/abs%3Fpath?q"),   # absolute form
    (b"http://hsts.test?q", "/?q"),
    (b"http:/a/b.html?q", "/a/b.html?q"),   # a scheme, no authority
])
def test_target_as_sent(httpd, target, want):
    # httpd's own refusal of a bad escape is logged
    httpd.allowed.append(r"\[core:error\].*/a%zz")
    res = redirect(httpd, target, b"hsts.test")
    if want is None:
        assert res.status in (400, 404), res
        assert loc(res) == [], res
        return
    assert res.status == 301, res
    assert loc(res) == ["https://hsts.test" + want], res


UNSAFE = """
HttpProtocolOptions Unsafe
"""


@pytest.fixture(scope="module")
def unsafe(server_factory):
    """HttpProtocolOptions Unsafe lets odd Host headers through to the
    vhost (those httpd refuses even then, such as "a\\b" or "a..b", are
    left out); its wildcard alias matches them."""
    h = server_factory("redirect-unsafe")
    h.write("index.html", "index\n")
    body = '    HSTSRedirect on\n    ServerAlias *.example.test\n'
    h.configure(h.base_conf(extra=UNSAFE) + h.plain_vhost(body))
    return h.start()


@pytest.mark.parametrize("host", [
    b"evil.example?.example.test",
    b"x@evil.example.test",
    b"evil.example#.example.test",
    b"evil.example%2f.example.test",
    b"caf\xc3\xa9.example.test",
    b"-" * 300 + b".example.test",
])
def test_forged_host_never_chooses(unsafe, host):
    res = redirect(unsafe, b"/p?q", host)
    assert res.status == 301, res
    assert loc(res) == ["https://hsts.test/p?q"], res


def test_valid_alias_still_kept(unsafe):
    res = redirect(unsafe, b"/p", b"www.example.test")
    assert res.status == 301, res
    assert loc(res) == ["https://www.example.test/p"], res


def test_servername_no_url_can_hold(server_factory):
    """A ServerName HSTSRedirect could not put in a URL is said at
    startup, with the directive's file and line."""
    h = server_factory("redirect-idn")
    body = ('    HSTSRedirect on\n')
    rc, out = h.check_config(h.base_conf() + h.plain_vhost(
        body, server_name="caf\u00e9.example", aliases="nothing.invalid"))
    assert rc == 0, out
    line = [l for l in out.splitlines() if "[hsts:warn]" in l]
    assert len(line) == 1, out
    # httpd's log escapes the 8-bit bytes
    assert "ServerName caf\\xc3\\xa9.example is not a host name a URL " \
        "can hold" in line[0], out
    assert "HSTSRedirect at %s:" % h.conf_path in line[0], out
