"""A tenant's .htaccess tries every route past the admin's guard rails:
HSTSPolicy, a Header line (with HSTSUpstreamHeader keep), and vouching for
TLS with SetEnv, SetEnvIf or RewriteRule [E=].  What goes out stays within
HSTSOverrideLimits, never goes out over plain HTTP, and a client repeating
a clamped request cannot fill the error log."""

import os
import re

import pytest

import harness

VHOST_POLICY = "max-age=31536000"

TLS_BODY = """
    HSTSPolicy "max-age=31536000"
    HSTSUpstreamHeader keep
    HSTSOverrideLimits max-age=..63072000 off=deny includeSubDomains=deny
    <Directory "{root}">
        AllowOverride FileInfo
    </Directory>
    <Directory "{root}/admin">
        AllowOverride None
        Header always set Strict-Transport-Security "max-age=5"
    </Directory>
"""

# The tenants' files: what they ask for, what goes out, and the note.
TENANTS = {
    "offheader": ('HSTSPolicy off\nHeader always set '
                  'Strict-Transport-Security "max-age=0; includeSubDomains"',
                  VHOST_POLICY, "clamped"),
    "revoke": ('HSTSPolicy "max-age=0"', VHOST_POLICY, "clamped"),
    "header": ('Header always set Strict-Transport-Security '
               '"max-age=99999999; includeSubDomains"', "max-age=63072000",
               "clamped"),
    "twice": ('Header always add Strict-Transport-Security "max-age=0"\n'
              'Header always add Strict-Transport-Security "max-age=1"',
              VHOST_POLICY, "clamped"),
    "invalid": ('Header always set Strict-Transport-Security "max-age=abc"',
                VHOST_POLICY, "clamped"),
    "within": ('Header always set Strict-Transport-Security '
               '"max-age=63072000"', "max-age=63072000", "upstream"),
    "plain": ("", VHOST_POLICY, "sent"),
}

# Over plain HTTP, tenants try to vouch for a TLS proxy in front.
PLAIN_BODY = """
    HSTSPolicy "max-age=31536000"
    <Directory "{root}">
        AllowOverride FileInfo
    </Directory>
"""

VOUCHERS = {
    "setenv": "SetEnv HTTPS on",
    "setenvif": "SetEnvIf Request_URI . HTTPS=on",
    "rewrite": "RewriteEngine on\nRewriteRule ^ - [E=HTTPS:on]",
}


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("tenants")
    h.write("index.html", "root\n")
    h.write("admin/index.html", "admin\n")
    for name, (lines, _, _) in TENANTS.items():
        h.write("%s/index.html" % name, name + "\n")
        if lines:
            h.write("%s/.htaccess" % name, lines + "\n")
    for name, line in VOUCHERS.items():
        h.write("vouch-%s/index.html" % name, name + "\n")
        h.write("vouch-%s/.htaccess" % name, line + "\n")
    root = h.docroot
    h.configure(h.base_conf() + h.tls_vhost(TLS_BODY.format(root=root))
                + h.plain_vhost(PLAIN_BODY.format(root=root)))
    h.allowed.append(r"\[hsts:warn\].*HSTSOverrideLimits")
    return h.start()


@pytest.mark.parametrize("tenant", sorted(TENANTS))
@pytest.mark.parametrize("path", ["", "missing.html"])
def test_tenant_stays_within_limits(httpd, tenant, path):
    _, want, note = TENANTS[tenant]
    tag = "limits-%s-%s" % (tenant, path or "index")
    res = httpd.curl("/%s/%s?%s" % (tenant, path, tag))
    assert res.status == (404 if path else 200), res
    assert res.sts == [want], res
    assert httpd.access_line(tag).split()[-1] == note
    res = httpd.curl("/%s/%s" % (tenant, path), http2=True)
    assert res.sts == [want], res


def test_admin_section_not_limited(httpd):
    """No .htaccess took part: the admin's own header is kept as is."""
    res = httpd.curl("/admin/")
    assert res.status == 200 and res.sts == ["max-age=5"], res


def test_clamp_warning_says_what_and_where(httpd):
    httpd.curl("/header/")
    lines = [l for l in httpd.read_log().splitlines()
             if "[hsts:warn]" in l
             and "max-age=99999999; includeSubDomains" in l]
    assert lines, httpd.read_log()
    line = lines[-1]
    assert "(not an HSTSPolicy) under " in line, line
    assert "/header/, where tenants' .htaccess files may act" in line, line
    assert "max-age 99999999 lowered to 63072000, includeSubDomains " \
        "dropped" in line, line
    assert "sending max-age=63072000" in line, line


@pytest.mark.parametrize("voucher", sorted(VOUCHERS))
def test_tenant_cannot_vouch_for_tls(httpd, voucher):
    tag = "vouch-%s" % voucher
    res = httpd.curl("/%s/?%s" % (tag, tag), tls=False)
    assert res.status == 200, res
    assert res.sts == [], res
    assert httpd.access_line(tag).split()[-1] == "plain-http"


def test_repeated_clamp_logged_once_per_child(httpd):
    """Two thousand clamped responses: each says "clamped" in the access
    log, but each child process logs the clamp once."""
    n = 2000
    res = harness.run([
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\\n",
        "--cacert", httpd.pki.ca, "--resolve",
        "%s:%d:127.0.0.1" % (harness.DOMAIN, httpd.tls_port),
        "https://%s:%d/twice/?flood=[1-%d]" % (harness.DOMAIN,
                                               httpd.tls_port, n)])
    assert res.stdout.split() == ["200"] * n, res.stderr
    with open(httpd.access_log) as f:
        notes = [l.split()[-1] for l in f if "?flood=" in l]
    assert notes == ["clamped"] * n, notes[:5]
    warns = [l for l in httpd.read_log().splitlines()
             if "[hsts:warn]" in l and "/twice" in l]
    pids = [re.search(r"\[pid (\d+)", l).group(1) for l in warns]
    assert warns and len(pids) == len(set(pids)), warns


# Limits bind whatever a tenant sends, by any route: without .htaccess
# (its application alone), and where no HSTSPolicy applies at all.  The
# admin's own directory is under no directory that lets .htaccess in.
NOPOLICY = """
    HSTSOverrideLimits max-age=31536000.. off=deny includeSubDomains=deny
    <Directory "{root}">
        AllowOverride None
        Options +ExecCGI
        AddHandler cgi-script .cgi
    </Directory>
    <Directory "{root}/app">
        AllowOverride FileInfo
    </Directory>
    <Directory "{root}/long">
        AllowOverride FileInfo
    </Directory>
    <Directory "{root}/hdr">
        AllowOverride FileInfo
    </Directory>
    <Directory "{root}/listed">
        AllowOverrideList Header
    </Directory>
"""

KEEP_CGI = """
    HSTSPolicy "max-age=31536000"
    HSTSUpstreamHeader keep
""" + NOPOLICY

CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n'
printf 'Strict-Transport-Security: %s\\r\\n\\r\\n'
echo app
"""


@pytest.fixture(scope="module")
def routes(server_factory):
    h = server_factory("tenant-routes")
    for d, sts in (("app", "max-age=0; includeSubDomains"),
                   ("long", "max-age=99; includeSubDomains; preload"),
                   ("admin", "max-age=0"), ("listed", "max-age=0")):
        h.write("%s/app.cgi" % d, CGI % sts, mode=0o755)
    h.write("hdr/.htaccess", 'Header always set Strict-Transport-Security '
            '"max-age=60; includeSubDomains; preload"\n')
    h.write("hdr/index.html", "hdr\n")
    root = h.docroot
    conf = h.base_conf()
    for vhost in (h.tls_vhost, h.plain_vhost):
        conf += vhost(KEEP_CGI.format(root=root))
        conf += vhost(NOPOLICY.format(root=root), server_name="other.test",
                      aliases="nothing.invalid")
    h.configure(conf)
    h.allowed.append(r"\[hsts:warn\].*HSTSOverrideLimits")
    return h.start()


@pytest.mark.parametrize("host,path,want,plain", [
    # keep: a tenant's application, no .htaccess anywhere on its path
    (harness.DOMAIN, "/app/app.cgi", "max-age=31536000", None),
    (harness.DOMAIN, "/long/app.cgi", "max-age=31536000; preload", None),
    # the admin's own directory (no .htaccess allowed) is not limited
    (harness.DOMAIN, "/admin/app.cgi", "max-age=0", None),
    # a directory whose AllowOverrideList lets tenants set headers is
    (harness.DOMAIN, "/listed/app.cgi", "max-age=31536000", None),
    # no HSTSPolicy at all: a tenant's Header line and application are
    # held to the limits (and kept off plain HTTP); the admin's are not
    # mod_hsts' business
    ("other.test", "/hdr/", "max-age=31536000; preload", None),
    ("other.test", "/app/app.cgi", None, None),
    ("other.test", "/admin/app.cgi", "max-age=0", "max-age=0"),
])
def test_limits_bind_every_route(routes, host, path, want, plain):
    res = routes.curl(path, host=host)
    assert res.status == 200, res
    assert res.sts == ([want] if want else []), res
    res = routes.curl(path, host=host, tls=False)
    assert res.status == 200, res
    assert res.sts == ([plain] if plain else []), res


# Every grant that lets a tenant's .htaccess put a header on a response
# brings the limits, with no HSTSPolicy anywhere in the configuration (so
# nothing else adds mod_hsts' filter): each configuration below has one
# grant and nothing more.  Over HTTPS the tenant's header stays within
# HSTSOverrideLimits (a revocation under off=deny is removed, with no
# policy to stand in); over plain HTTP it is removed.
GRANT_LIMITS = "    HSTSOverrideLimits max-age=31536000.. off=deny\n"

GRANTS = {
    # mod_headers' Header, named alone
    "list-header": ("AllowOverrideList Header", "",
                    {"revoke": 'Header always set Strict-Transport-Security'
                               ' "max-age=0"',
                     "short": 'Header always set Strict-Transport-Security'
                              ' "max-age=300"'}),
    # mod_rewrite proxying to a backend that sends its own header
    "list-rewrite": ("AllowOverrideList RewriteEngine RewriteRule", "",
                     {"proxy": "RewriteEngine on\nRewriteRule ^(.*)$ "
                               "http://127.0.0.1:{backend}/page.html [P]"}),
    # Options +ExecCGI where the admin maps .cgi to CGI
    "options": ("AllowOverride Options", "AddHandler cgi-script .cgi",
                {"cgi": "Options +ExecCGI"}),
    # mod_lua's hooks, which httpd takes under every AllowOverride class
    "authconfig-lua": ("AllowOverride AuthConfig", "",
                       {"lua": "LuaHookFixups {root}/lua/hook.lua fixup"}),
}

LUA_HOOK = """function fixup(r)
    r.err_headers_out['Strict-Transport-Security'] = 'max-age=0'
    return apache2.DECLINED
end
"""

TENANT_CGI = CGI % "max-age=0"

# tenant directory -> (path to ask for, what goes out over HTTPS)
GRANT_WANT = {
    "revoke": ("/revoke/", None),
    "short": ("/short/", "max-age=31536000"),
    "proxy": ("/proxy/x", "max-age=31536000"),       # backend's max-age=5
    "cgi": ("/cgi/app.cgi", None),
    "lua": ("/lua/", None),
}


def have_lua():
    """Debian's apache2 ships mod_lua; an upstream build has it only where
    Lua's headers were there when it was built (make matrix)."""
    return "lua" in harness.builtin_modules() or os.path.exists(
        os.path.join(harness.modules_dir(), "mod_lua.so"))


@pytest.fixture(scope="module", params=sorted(GRANTS))
def granted(server_factory, request):
    grant, admin, tenants = GRANTS[request.param]
    lua = "lua" in tenants
    if lua and not have_lua():
        pytest.skip("this httpd was built without mod_lua")
    h = server_factory("grant-" + request.param)
    root = h.docroot
    body = GRANT_LIMITS + '    <Directory "%s">\n        %s\n        %s\n' \
        '    </Directory>\n' % (root, grant, admin)
    for name, lines in tenants.items():
        h.write("%s/index.html" % name, name + "\n")
        h.write("%s/.htaccess" % name, lines.format(backend=h.backend_port,
                                                    root=root) + "\n")
    h.write("cgi/app.cgi", TENANT_CGI, mode=0o755)
    h.write("lua/hook.lua", LUA_HOOK)
    h.configure(h.base_conf(modules=harness.BASE_MODULES
                            + (["lua"] if lua else []))
                + h.tls_vhost(body) + h.plain_vhost(body)
                + h.backend_vhost())
    h.allowed.append(r"\[hsts:warn\].*HSTSOverrideLimits")
    h.tenants = tenants
    return h.start()


def test_every_grant_brings_limits(granted):
    for name in sorted(granted.tenants):
        path, want = GRANT_WANT[name]
        for http2 in (False, True):
            res = granted.curl(path, http2=http2)
            assert res.status == 200, (name, res)
            assert res.sts == ([want] if want else []), (name, http2, res)
        res = granted.curl(path, tls=False)
        assert res.status == 200, (name, res)
        assert res.sts == [], (name, res)
