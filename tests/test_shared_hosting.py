"""Shared hosting: tenants' .htaccess policies within the limits the admin
sets per vhost (HSTSOverrideLimits), clamped and logged, never taking the
site down; the admin's own sections are never limited; DUMP_HSTS gives
control panels the whole picture as JSON lines."""

import re

import pytest

import harness

ROOT_POLICY = "max-age=31536000"

# Three vhosts over one docroot of tenant directories.
STRICT = """
    HSTSPolicy "max-age=31536000"
    HSTSOverrideLimits max-age=31536000.. off=deny
    <Directory "{root}">
        AllowOverride FileInfo
    </Directory>
    <Directory "{root}/eve">
        AllowOverride None
    </Directory>
    <Directory "{root}/frank">
        AllowOverride None
        AllowOverrideList HSTSPolicy
    </Directory>
    <Directory "{root}/admin">
        HSTSPolicy "max-age=0"
    </Directory>
"""
NOSUBS = """
    HSTSPolicy "max-age=31536000"
    HSTSOverrideLimits includeSubDomains=deny preload=deny
    <Directory "{root}">
        AllowOverride FileInfo
    </Directory>
"""
FREE = """
    HSTSPolicy "max-age=31536000"
    <Directory "{root}">
        AllowOverride FileInfo
    </Directory>
"""

TENANTS = {
    "alice": 'HSTSPolicy "max-age=63072000"',                  # raises
    "bob": 'HSTSPolicy "max-age=300"',                         # lowers
    "carol": "HSTSPolicy off",                                 # turns off
    "dave": 'HSTSPolicy "max-age=31536000; includeSubDomains; preload"',
    "eve": 'HSTSPolicy "max-age=1"',                           # not allowed
    "frank": 'HSTSPolicy "max-age=300"',                       # list only
}

STRICT_HOST = harness.DOMAIN
NOSUBS_HOST = "other.test"
FREE_HOST = "free.other.test"   # *.hsts.test belongs to the first vhost


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("shared")
    h.write("index.html", "root\n")
    h.write("admin/index.html", "admin\n")
    for name, line in TENANTS.items():
        h.write("%s/index.html" % name, name + "\n")
        h.write("%s/.htaccess" % name, line + "\n")
    root = h.docroot
    h.configure(h.base_conf()
                + h.tls_vhost(STRICT.format(root=root))
                + h.tls_vhost(NOSUBS.format(root=root),
                              server_name=NOSUBS_HOST,
                              aliases="www.other.test")
                + h.tls_vhost(FREE.format(root=root), server_name=FREE_HOST,
                              aliases="nothing.invalid"))
    h.allowed += [
        r"\[hsts:warn\].*HSTSPolicy in .*/(bob|carol|dave|frank)/"
        r"\.htaccess:1 asked for",
        r"\[hsts:warn\].*HSTSPolicy weaker in <Directory .*/admin/>",
    ]
    return h.start()


@pytest.mark.parametrize("host,tenant,want,clamped", [
    (STRICT_HOST, "alice", "max-age=63072000", False),
    (STRICT_HOST, "bob", "max-age=31536000", True),
    (STRICT_HOST, "carol", "max-age=31536000", True),
    (STRICT_HOST, "dave", "max-age=31536000; includeSubDomains; preload",
     False),
    (STRICT_HOST, "eve", "max-age=31536000", False),
    (STRICT_HOST, "frank", "max-age=31536000", True),
    (STRICT_HOST, "admin", "max-age=0", False),   # admin's own: no limits
    (NOSUBS_HOST, "alice", "max-age=63072000", False),
    (NOSUBS_HOST, "bob", "max-age=300", False),
    (NOSUBS_HOST, "carol", None, False),
    (NOSUBS_HOST, "dave", "max-age=31536000", True),
    (FREE_HOST, "bob", "max-age=300", False),
    (FREE_HOST, "carol", None, False),
    (FREE_HOST, "dave", "max-age=31536000; includeSubDomains; preload",
     False),
    (FREE_HOST, "frank", "max-age=300", False),
])
def test_tenant_policy(httpd, host, tenant, want, clamped):
    tag = "t-%s-%s" % (host, tenant)
    res = httpd.curl("/%s/?%s" % (tenant, tag), host=host)
    assert res.status == 200, res
    assert res.sts == ([want] if want else []), res
    note = httpd.access_line(tag).split()[-1]
    assert (note == "clamped") == clamped, note


@pytest.mark.parametrize("tenant,asked,change", [
    ("bob", "max-age=300", "max-age 300 raised to 31536000"),
    ("carol", "off", "ignored"),
    ("frank", "max-age=300", "max-age 300 raised to 31536000"),
])
def test_clamp_warning_names_file_value_and_limit(httpd, tenant, asked,
                                                  change):
    httpd.curl("/%s/" % tenant)
    lines = [l for l in httpd.read_log().splitlines()
             if "[hsts:warn]" in l and "/%s/.htaccess:1" % tenant in l]
    assert lines, httpd.read_log()
    line = lines[-1]
    assert 'asked for "%s"' % asked in line, line
    assert change in line, line
    assert "HSTSOverrideLimits max-age=31536000.. includeSubDomains=allow " \
        "preload=allow off=deny" in line, line
    assert "sending max-age=31536000" in line, line


def test_nosubs_warning(httpd):
    httpd.curl("/dave/", host=NOSUBS_HOST)
    line = [l for l in httpd.read_log().splitlines()
            if "[hsts:warn]" in l and "/dave/.htaccess:1" in l][-1]
    assert "includeSubDomains dropped, preload dropped" in line, line


def test_clamped_policy_on_404(httpd):
    res = httpd.curl("/bob/missing.html")
    assert res.status == 404, res
    assert res.sts == ["max-age=31536000"], res


def test_debug_names_source(httpd):
    httpd.curl("/alice/?src")
    line = [l for l in httpd.read_log().splitlines()
            if "[hsts:debug]" in l and "/alice/" in l][-1]
    assert re.search(r"policy from \S+/alice/\.htaccess:1", line), line


# -- HSTSOverrideLimits config errors ---------------------------------------

@pytest.mark.parametrize("args,message", [
    ("", "needs at least one limit"),
    ("max-age=300", "is not a range"),
    ("max-age=600..300", "MIN above MAX"),
    ("max-age=x..", "'x' is not a number"),
    ("preload=sometimes", "'preload=sometimes' must be allow or deny"),
    ("off=deny off=allow", "'off' given more than once"),
])
def test_bad_limits(server_factory, args, message):
    h = server_factory("limits-bad")
    h.assert_config_error(h.base_conf() + h.tls_vhost(
        "HSTSOverrideLimits " + args), "HSTSOverrideLimits: ", message)


def test_limit_keys_case_insensitive(server_factory):
    h = server_factory("limits-case")
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(
        "HSTSOverrideLimits includeSubdomains=deny PRELOAD=deny"))
    assert rc == 0, out


def test_limits_not_in_directory(server_factory):
    h = server_factory("limits-ctx")
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(
        "<Directory /tmp>\nHSTSOverrideLimits off=deny\n</Directory>"))
    assert rc != 0 and "HSTSOverrideLimits not allowed" in out, out


# -- apachectl -t -D DUMP_HSTS ----------------------------------------------

DUMP_MAIN = """
    HSTSPolicy "max-age=31536000; includeSubDomains"
    HSTSOverrideLimits max-age=31536000.. preload=deny
    HSTSRollout start=2020-01-01
    <Location /legacy>
        HSTSPolicy off
    </Location>
    <Directory "{root}/shop">
        HSTSPolicy "max-age=63072000; includeSubDomains"
    </Directory>
"""


def test_dump(server_factory):
    h = server_factory("dump")
    h.allowed.append(r"HSTSPolicy off in <Location /legacy>")
    text = (h.base_conf()
            + h.tls_vhost(DUMP_MAIN.format(root=h.docroot))
            + h.plain_vhost("HSTSRedirect on status=308 port=8443\n"
                            "HSTSUpstreamHeader keep\n"
                            "<Location /feed>\nHSTSRedirect off\n"
                            "</Location>")
            + h.tls_vhost("", server_name="bare.test", aliases="b.test"))
    h.configure(text)
    rc, objs, out = h.dump_hsts()               # every line is JSON
    assert rc == 0 and len(objs) >= 6, out
    vhosts = [o for o in objs if o["type"] == "vhost"]
    sections = [o for o in objs if o["type"] == "section"]
    conf_lines = text.splitlines()

    main = [v for v in vhosts if v["main_server"]]
    assert len(main) == 1 and main[0]["policy"]["state"] == "unset"

    tls = [v for v in vhosts if not v["main_server"] and v["tls"]
           and v["server_name"] == harness.DOMAIN][0]
    assert tls["aliases"] == ["*.hsts.test"]
    assert tls["addresses"] == [{"host": "127.0.0.1", "port": h.tls_port}]
    assert tls["file"] == h.conf_path
    assert conf_lines[tls["line"] - 1].startswith("<VirtualHost")
    pol = tls["policy"]
    assert pol["state"] == "on" and pol["max_age"] == 31536000
    assert pol["include_subdomains"] is True and pol["preload"] is False
    assert pol["header"] == "max-age=31536000; includeSubDomains"
    assert "HSTSPolicy" in conf_lines[pol["line"] - 1]
    assert tls["upstream"] == "replace"
    assert tls["redirect"]["on"] is False
    lim = tls["override_limits"]
    assert lim["min_max_age"] == 31536000 and lim["max_max_age"] is None
    assert lim["preload"] == "deny" and lim["off"] == "allow"
    ro = tls["rollout"]
    assert ro["start"] == "2020-01-01" and ro["state"] == "complete"
    assert ro["ladder"] == [300, 604800, 2592000, 31536000]
    assert ro["header_now"] == "max-age=31536000; includeSubDomains"

    plain = [v for v in vhosts if not v["main_server"] and not v["tls"]
             and v["server_name"] == harness.DOMAIN][0]
    assert plain["redirect"]["on"] is True
    assert plain["redirect"]["status"] == 308
    assert plain["redirect"]["port"] == 8443
    assert plain["upstream"] == "keep"
    assert plain["policy"]["state"] == "unset"
    assert plain["rollout"] is None and plain["override_limits"] is None

    bare = [v for v in vhosts if v["server_name"] == "bare.test"][0]
    assert bare["tls"] is True and bare["aliases"] == ["b.test"]
    assert bare["policy"]["state"] == "unset"

    labels = {s["section"]: s for s in sections}
    assert set(labels) == {"<Location /legacy>",
                           "<Directory %s/shop/>" % h.docroot,
                           "<Location /feed>"}, labels
    legacy = labels["<Location /legacy>"]
    assert legacy["policy"]["state"] == "off"
    assert legacy["vhost"] == harness.DOMAIN
    assert legacy["file"] == h.conf_path
    assert "HSTSPolicy off" in conf_lines[legacy["line"] - 1]
    shop = labels["<Directory %s/shop/>" % h.docroot]
    assert shop["policy"]["header"] == "max-age=63072000; includeSubDomains"
    feed = labels["<Location /feed>"]
    assert feed["redirect"]["on"] is False and feed["policy"]["state"] == \
        "unset"
    assert "HSTSRedirect off" in conf_lines[feed["line"] - 1]


def test_rollout_in_dump_while_ramping(server_factory):
    import datetime
    start = (datetime.datetime.now(datetime.timezone.utc).date()
             - datetime.timedelta(days=8)).isoformat()
    h = server_factory("dump-ramp")
    h.configure(h.base_conf() + h.tls_vhost(
        'HSTSPolicy "max-age=31536000; preload; includeSubDomains"\n'
        "HSTSRollout start=%s" % start))
    vhost = [o for o in h.dump_hsts()[1] if o.get("main_server") is False][0]
    ro = vhost["rollout"]
    assert ro["state"] == "ramping" and ro["rung"] == 2, ro
    assert ro["header_now"] == "max-age=604800", ro
    assert ro["next_change"] == (datetime.date.fromisoformat(start)
                                 + datetime.timedelta(days=14)).isoformat()


def test_dump_addresses_once_as_written(server_factory):
    """httpd resolves `*` to an IPv4 and an IPv6 wildcard, a name to each
    of its addresses: the dump lists each address as written, once.
    127.1 is written otherwise than the 127.0.0.1 it resolves to, without
    a resolver (no /etc/hosts needed, unlike localhost)."""
    h = server_factory("dump-addr")
    other = h.spare_port()
    h.configure(h.base_conf(extra="Listen 127.0.0.1:%d\n" % other)
                + """
<VirtualHost *:{p}>
    ServerName star.test
</VirtualHost>
<VirtualHost 127.1:{p} 127.0.0.1:{o} *:{p} 127.0.0.1:{o}>
    ServerName many.test
</VirtualHost>
""".format(p=h.plain_port, o=other))
    rc, objs, out = h.dump_hsts()
    assert rc == 0, out
    vhosts = {o["server_name"]: o for o in objs if o["type"] == "vhost"}
    assert vhosts["star.test"]["addresses"] == [
        {"host": "*", "port": h.plain_port}], out
    assert vhosts["many.test"]["addresses"] == [
        {"host": "127.1", "port": h.plain_port},
        {"host": "127.0.0.1", "port": other},
        {"host": "*", "port": h.plain_port}], out


def test_dump_schema_unset_and_findings(server_factory):
    """What the README promises: an unset policy has no file or line, an
    unset redirect no status or port; every object has its findings."""
    h = server_factory("dump-schema")
    h.configure(h.base_conf()
                + h.tls_vhost('HSTSPolicy "max-age=31536000; preload"\n'
                              '<Location /shop>\nHSTSPolicy "max-age='
                              '31536000; includeSubDomains; preload"\n'
                              '</Location>')
                + h.plain_vhost("HSTSRedirect off"))
    rc, objs, out = h.dump_hsts()
    assert rc == 0, out
    main = [o for o in objs if o.get("main_server")][0]
    assert main["policy"] == {"state": "unset", "header": None,
                              "source": None}, main
    assert main["redirect"] == {"on": False, "source": None}, main
    assert main["findings"] == []
    plain = [o for o in objs if o["type"] == "vhost" and not o["tls"]
             and not o["main_server"]][0]
    assert plain["redirect"]["on"] is False
    assert plain["redirect"]["status"] is None
    assert plain["redirect"]["port"] == 443
    tls = [o for o in objs if o["type"] == "vhost" and o["tls"]][0]
    assert set(tls["policy"]) >= {"file", "line", "source"}
    kinds = {f["kind"]: f for f in tls["findings"]}
    assert set(kinds) == {"preload-include-subdomains",
                          "preload-no-port-80"}, tls["findings"]
    assert kinds["preload-include-subdomains"]["level"] == "problem"
    assert kinds["preload-include-subdomains"]["code"] == \
        "header.preloadable.include_sub_domains.missing"
    assert kinds["preload-no-port-80"]["level"] == "hint"
    assert tls["preload_ready"] is False, tls
    assert kinds["preload-include-subdomains"]["text"] == \
        "preload requires includeSubDomains"
    shop = [o for o in objs if o["type"] == "section"][0]
    assert [f["kind"] for f in shop["findings"]] == ["preload-in-section"]


def test_dump_is_json_whatever_the_bytes(server_factory):
    """Names and paths in the configuration are bytes: a line stays valid
    JSON (UTF-8) with a Latin-1 ServerAlias or <Location> as well as with
    UTF-8 ones, quotes and control characters."""
    h = server_factory("dump-bytes")
    h.allowed.append(r"HSTSPolicy off in <Location")
    text = (h.base_conf()
            + h.tls_vhost('HSTSPolicy "max-age=300"\n'
                          '<Location "/\xff\\"q">\nHSTSPolicy off\n'
                          '</Location>\n',
                          server_name="bytes.test",
                          aliases="caf\xe9.test \xfc\u00fc.test"))
    with open(h.conf_path, "wb") as f:
        # \xe9 and \xff as single (Latin-1) bytes, \u00fc as UTF-8
        f.write(text.replace("\u00fc", "\x00").encode("latin-1")
                .replace(b"\x00", "\u00fc".encode()))
    rc, objs, out = h.dump_hsts()       # json.loads of strict UTF-8 text
    assert rc == 0, out
    vhost = [o for o in objs if o.get("server_name") == "bytes.test"][0]
    assert vhost["aliases"] == ["caf\u00e9.test", "\u00fc\u00fc.test"], vhost
    section = [o for o in objs if o["type"] == "section"][0]
    assert section["section"] == '<Location /\u00ff"q>', section
