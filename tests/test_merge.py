"""HSTSPolicy merges in httpd's own order: server, vhost, <Directory>,
.htaccess, <Files>, <Location>, <If>.  The nearest scope that says
HSTSPolicy wins; scopes that say nothing inherit."""

import pytest

import harness

SERVER = 'HSTSPolicy "max-age=100"\n'

MAIN = """
    HSTSPolicy "max-age=200"
    ErrorDocument 404 /errdoc/404.html
    <Directory "{root}">
        AllowOverride FileInfo
    </Directory>
    <Directory "{root}/dir">
        HSTSPolicy "max-age=300"
    </Directory>
    <Directory "{root}/offdir">
        HSTSPolicy off
    </Directory>
    <Directory "{root}/errdoc">
        HSTSPolicy "max-age=900"
    </Directory>
    <Directory "{root}/none">
        AllowOverride None
    </Directory>
    <Directory "{root}/list">
        AllowOverride None
        AllowOverrideList HSTSPolicy
    </Directory>
    <Location /loc>
        HSTSPolicy "max-age=600"
    </Location>
    <Location /ht/locwins>
        HSTSPolicy "max-age=601"
    </Location>
    <Files "special.html">
        HSTSPolicy "max-age=700"
    </Files>
    <If "%{{QUERY_STRING}} == 'if'">
        HSTSPolicy "max-age=800"
    </If>
"""

OTHER = 'HSTSPolicy "max-age=150; includeSubDomains"\n'


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("merge")
    for path in ("index.html", "dir/index.html", "dir/child/index.html",
                 "offdir/index.html", "offdir/on/index.html",
                 "offdir/still/index.html", "ht/index.html",
                 "ht/sub/index.html", "ht/locwins/index.html",
                 "loc/index.html", "dir/special.html", "errdoc/404.html",
                 "none/index.html", "list/index.html",
                 "dir/bad/index.html"):
        h.write(path, path + "\n")
    h.write("offdir/on/.htaccess", 'HSTSPolicy "max-age=400"\n')
    h.write("ht/.htaccess", 'HSTSPolicy "max-age=500; includeSubDomains"\n')
    h.write("ht/locwins/.htaccess", 'HSTSPolicy "max-age=502"\n')
    h.write("none/.htaccess", 'HSTSPolicy "max-age=1"\n')
    h.write("list/.htaccess", 'HSTSPolicy "max-age=1000"\n')
    h.write("dir/bad/.htaccess", 'HSTSPolicy "max-age=abc"\n')
    main = MAIN.format(root=h.docroot)
    h.configure(h.base_conf(extra=SERVER)
                + h.tls_vhost(main)
                + h.tls_vhost(OTHER, server_name="other.test",
                              aliases="www.other.test")
                + h.tls_vhost("", server_name="inherit.other.test",
                              aliases="nothing.invalid"))
    h.allowed += [
        r"\[core:alert\].*dir/bad/\.htaccess: HSTSPolicy: max-age value "
        r"'abc' is not a number of seconds",
        # the startup note that a path cannot really opt out
        r"\[hsts:warn\].*HSTSPolicy off in <Directory .*/offdir/> .*"
        r"does not really opt out",
    ]
    return h.start()


@pytest.mark.parametrize("path,want", [
    ("/", "max-age=200"),                          # vhost
    ("/dir/", "max-age=300"),                      # <Directory>
    ("/dir/child/", "max-age=300"),                # inherited by subdir
    ("/offdir/", None),                            # off
    ("/offdir/still/", None),                      # off inherited
    ("/offdir/on/", "max-age=400"),                # on again deeper
    ("/ht/", "max-age=500; includeSubDomains"),    # .htaccess
    ("/ht/sub/", "max-age=500; includeSubDomains"),
    ("/ht/locwins/", "max-age=601"),               # <Location> after it
    ("/loc/", "max-age=600"),                      # <Location>
    ("/dir/special.html", "max-age=700"),          # <Files> after <Dir>
    ("/dir/?if", "max-age=800"),                   # <If> last of all
    ("/dir/missing", "max-age=900"),               # ErrorDocument's own
    ("/none/", "max-age=200"),                     # AllowOverride None
    ("/list/", "max-age=1000"),                    # AllowOverrideList
])
def test_merge(httpd, path, want):
    res = httpd.curl(path)
    assert res.status in (200, 404), res
    assert res.sts == ([want] if want else []), res


def test_bad_htaccess_value_is_500_with_inherited_header(httpd):
    # httpd abandons the directory walk at a broken .htaccess before it
    # stores what it merged so far, so the 500 answers with the vhost's
    # (and <Location>'s) configuration: the vhost policy, not <Directory>.
    res = httpd.curl("/dir/bad/")
    assert res.status == 500, res
    assert res.sts == ["max-age=200"], res
    assert "dir/bad/.htaccess: HSTSPolicy: max-age value 'abc'" in \
        httpd.read_log()


@pytest.mark.parametrize("host,want", [
    (harness.DOMAIN, "max-age=200"),
    ("other.test", "max-age=150; includeSubDomains"),
    ("www.other.test", "max-age=150; includeSubDomains"),
    ("inherit.other.test", "max-age=100"),         # server-wide policy
])
def test_sni_vhosts(httpd, host, want):
    res = httpd.curl("/", host=host)
    assert res.status in (200, 404), res
    assert res.sts == [want], res


def test_decision_logged_with_source(httpd):
    httpd.curl("/ht/sub/?logged-source")
    log = httpd.read_log()
    assert "ht/.htaccess:1" in log
    line = [l for l in log.splitlines() if "[hsts:debug]" in l
            and "/ht/sub/" in l][-1]
    assert "sent" in line and "max-age=500; includeSubDomains" in line


# A policy that only a tenant's .htaccess says, under each override that
# lets it, and nowhere else.
@pytest.mark.parametrize("override", [
    "AllowOverride FileInfo",
    "AllowOverrideList HSTSPolicy",
    None,
])
def test_policy_only_in_htaccess(server_factory, override):
    h = server_factory("merge-htaccess-only")
    h.write("tenant/.htaccess", 'HSTSPolicy "max-age=77"\n')
    h.write("tenant/page.html", "tenant\n")
    h.write("other.html", "other\n")
    body = ('    <Directory "%s/tenant">\n        %s\n    </Directory>\n'
            % (h.docroot, override) if override else "")
    h.configure(h.base_conf() + h.tls_vhost(body))
    if not override:
        # httpd's default refuses the line: a 500, and no policy anywhere
        h.allowed.append(r"\[core:alert\].*HSTSPolicy not allowed here")
    h.start()
    try:
        res = h.curl("/tenant/page.html")
        if override:
            assert res.status == 200 and res.sts == ["max-age=77"], res
        else:
            assert res.status == 500 and res.sts == [], res
        res = h.curl("/other.html")
        assert res.status == 200 and res.sts == [], res
    finally:
        h.stop()


def test_policy_and_redirect_only_in_proxy_section(server_factory):
    """Said only inside <Proxy> (mod_proxy keeps those sections in its own
    configuration, not core's): both directives take effect."""
    h = server_factory("merge-proxy")
    h.write("index.html", "local\n")
    body = """
    ProxyPass /app/ http://127.0.0.1:{backend}/
    <Proxy "http://127.0.0.1:{backend}/*">
        HSTSPolicy "max-age=123"
        HSTSRedirect on
    </Proxy>
""".format(backend=h.backend_port)
    h.configure(h.base_conf() + h.tls_vhost(body) + h.plain_vhost(body)
                + h.backend_vhost())
    h.start()
    try:
        res = h.curl("/app/page.html")
        assert res.status == 200 and res.sts == ["max-age=123"], res
        res = h.curl("/")
        assert res.status == 200 and res.sts == [], res
        res = h.curl("/app/page.html?x", tls=False)
        assert res.status == 301, res
        assert res.all("location") == ["https://hsts.test/app/page.html?x"]
        res = h.curl("/", tls=False)
        assert res.status == 200 and res.all("location") == [], res
    finally:
        h.stop()
