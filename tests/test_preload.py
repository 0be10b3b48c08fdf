"""HSTSPreloadCheck: the preload list's rules, checked at startup, each
message naming the vhost, the file and line, and the list's rule; strict
refuses to start on a problem.

The list's checker fetches http://DOMAIN/ on port 80 and
https://DOMAIN/ on 443, so most configurations here listen there; they
are only read (`apachectl -t`, DUMP_HSTS), never started, so no port is
bound.  A run of the real checker against such configurations is not
part of the suite (it needs the names in /etc/hosts)."""

import os
import re

import pytest

import harness
from harness import DOMAIN

GOOD = "max-age=31536000; includeSubDomains; preload"


def conf(h, tls_policy, plain_body="", mode=None, extra_tls=""):
    """The suite's usual layout: free ports, nothing on port 80."""
    text = h.base_conf()
    if mode:
        text += "HSTSPreloadCheck %s\n" % mode
    text += h.tls_vhost('HSTSPolicy "%s"\n%s' % (tls_policy, extra_tls))
    if plain_body is not None:
        text += h.plain_vhost(plain_body)
    return text


def site(h, plain="HSTSRedirect on", policy=GOOD, tls_extra="", mode=None,
         extra="", plain_name=DOMAIN, plain_aliases="www." + DOMAIN,
         tls_aliases="*." + DOMAIN, more=""):
    """DOMAIN over TLS on 127.0.0.1:443 and over plain HTTP on :80, as the
    checker reaches it."""
    text = h.base_conf(extra="Listen 127.0.0.1:80\nListen 127.0.0.1:443\n"
                       + extra)
    if mode:
        text += "HSTSPreloadCheck %s\n" % mode
    text += """
<VirtualHost 127.0.0.1:443>
    ServerName %s
    ServerAlias %s
    DocumentRoot "%s"
    SSLEngine on
    SSLCertificateFile "%s"
    SSLCertificateKeyFile "%s"
    HSTSPolicy "%s"
%s
</VirtualHost>
""" % (DOMAIN, tls_aliases, h.docroot, h.pki.cert, h.pki.key, policy,
       tls_extra)
    text += more
    if plain is not None:
        text += """
<VirtualHost 127.0.0.1:80>
    ServerName %s
    ServerAlias %s
    DocumentRoot "%s"
%s
</VirtualHost>
""" % (plain_name, plain_aliases, h.docroot, plain)
    return text


@pytest.fixture
def h(server_factory):
    return server_factory("preload")


def messages(out):
    return [l for l in out.splitlines() if "HSTSPreloadCheck" in l]


def tls_line(objs):
    lines = [o for o in objs if o["type"] == "vhost" and o["tls"]
             and o["addresses"][0]["port"] == 443]
    assert len(lines) == 1, objs
    return lines[0]


def findings(h, text):
    """(apachectl -t's preload lines, the TLS vhost's DUMP_HSTS line)."""
    rc, out = h.check_config(text)
    assert rc == 0, out
    rc, objs, dump = h.dump_hsts()
    assert rc == 0, dump
    return messages(out), tls_line(objs)


def assert_one(h, text, code, level="problem", needle=None):
    """Exactly one preload finding: `code` at `level`, in the log (naming
    the list's rule) and in DUMP_HSTS."""
    msgs, line = findings(h, text)
    assert len(msgs) == 1, msgs
    assert "[hstspreload: %s]" % code in msgs[0], msgs
    assert ("HSTSPreloadCheck: hint: " in msgs[0]) == (level == "hint"), msgs
    assert "vhost %s (%s:" % (DOMAIN, h.conf_path) in msgs[0], msgs
    if needle:
        assert needle in msgs[0], msgs
    assert [(f["code"], f["level"]) for f in line["findings"]] \
        == [(code, level)], line
    assert line["preload_ready"] is (level != "problem"), line
    return msgs[0]


def assert_quiet(h, text):
    msgs, line = findings(h, text)
    assert msgs == [] and line["findings"] == [], (msgs, line)
    assert line["preload_ready"] is True, line


# -- the header ---------------------------------------------------------------

@pytest.mark.parametrize("policy,needle,code,problem", [
    ("max-age=31536000; preload", "preload requires includeSubDomains",
     "header.preloadable.include_sub_domains.missing", True),
    ("max-age=300; includeSubDomains; preload",
     "preload requires max-age of at least 31536000 (1 year), got 300",
     "header.preloadable.max_age.below_1_year", True),
    ("max-age=0; includeSubDomains; preload", "max-age=0 with preload",
     "header.preloadable.max_age.zero", True),
    # the year is a minimum, to the second
    ("max-age=31535999; includeSubDomains; preload",
     "preload requires max-age of at least 31536000 (1 year), got 31535999",
     "header.preloadable.max_age.below_1_year", True),
    ("max-age=400000000; includeSubDomains; preload",
     "more than 10 years", "header.preloadable.max_age.over_10_years",
     False),
])
def test_header_rules(h, policy, needle, code, problem):
    msg = assert_one(h, site(h, policy=policy), code,
                     "problem" if problem else "hint", needle)
    assert re.search(r"HSTSPolicy at %s:\d+" % re.escape(h.conf_path),
                     msg), msg
    assert "[hsts:warn]" in msg, msg


def test_preload_in_location(h):
    rc, out = h.check_config(site(h, policy="max-age=300",
                                  tls_extra='<Location /shop>\nHSTSPolicy "'
                                  + GOOD + '"\n</Location>'))
    assert rc == 0, out
    msgs = messages(out)
    assert len(msgs) == 1, out
    assert "<Location /shop>: HSTSPolicy with preload at %s:" % h.conf_path \
        in msgs[0] and "belongs in the virtual host" in msgs[0], out
    rc, objs, dump = h.dump_hsts()
    sec = [o for o in objs if o["type"] == "section"]
    assert [(f["kind"], f["code"]) for f in sec[0]["findings"]] \
        == [("preload-in-section", None)], sec
    # no preload on the vhost itself: nothing to be ready for
    assert tls_line(objs)["preload_ready"] is None, objs


@pytest.mark.parametrize("policy", [GOOD, "max-age=315360000; "
                                    "includeSubDomains; preload"])
def test_preload_ready_is_quiet(h, policy):
    """One year and ten years, the bounds, are both fine."""
    assert_quiet(h, site(h, policy=policy))


def test_off_is_quiet(h):
    rc, out = h.check_config(site(h, "", policy="max-age=1; preload",
                                  mode="off"))
    assert rc == 0 and messages(out) == [], out
    rc, objs, dump = h.dump_hsts()
    assert tls_line(objs)["preload_ready"] is None, objs


# -- what http://DOMAIN/ gets -------------------------------------------------

def test_no_redirect(h):
    msg = assert_one(h, site(h, ""), "redirects.http.no_redirect",
                     needle="http://hsts.test/ reaches vhost hsts.test")
    assert "add HSTSRedirect on there" in msg, msg


@pytest.mark.parametrize("plain", [
    "HSTSRedirect on",
    "HSTSRedirect on status=308",
    "Redirect / https://hsts.test/",
    "Redirect permanent / https://hsts.test/",
    "RedirectPermanent / https://hsts.test/",
    "RedirectMatch 301 ^/(.*)$ https://hsts.test/$1",
    "RewriteEngine on\nRewriteRule ^ https://%{HTTP_HOST}/ [R=301,L]",
    "RewriteEngine on\nRewriteRule ^/?(.*) https://%{SERVER_NAME}/$1 [R,L]",
    # certbot's form
    "RewriteEngine on\nRewriteCond %{SERVER_NAME} =www.hsts.test [OR]\n"
    "RewriteCond %{SERVER_NAME} =hsts.test\n"
    "RewriteRule ^ https://%{SERVER_NAME}%{REQUEST_URI} [END,NE,R=permanent]",
    "RewriteEngine on\nRewriteCond %{HTTPS} !=on\n"
    "RewriteRule ^/(.*) https://hsts.test/$1 [R=301,L]",
    # a rule for another path first
    "RewriteEngine on\nRewriteRule ^/old$ /new [R]\n"
    "RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301]",
    # HSTSRedirect off for another path only
    "HSTSRedirect on\n<Location /shop>\nHSTSRedirect off\n</Location>",
])
def test_redirect_found(h, plain):
    assert_quiet(h, site(h, plain))


@pytest.mark.parametrize("plain,code,needle", [
    ("Redirect / https://www.hsts.test/", "redirects.http.www_first",
     "redirects to https://www.hsts.test/ first (Redirect at"),
    ("RewriteEngine on\nRewriteRule ^ http://www.%{HTTP_HOST}/ [R=301,L]",
     "redirects.http.www_first", "http://www.hsts.test/ first (RewriteRule"),
    ("Redirect / https://other.test/",
     "redirects.http.first_redirect.insecure", "redirects to "
     "https://other.test/ (Redirect at"),
    ("Redirect / http://hsts.test/x/",
     "redirects.http.first_redirect.insecure", "http://hsts.test/x/"),
    ("RewriteEngine on\nRewriteRule ^/$ /start.html [R]",
     "redirects.http.first_redirect.insecure",
     "redirects to http://hsts.test/start.html"),
    ("HSTSRedirect on port=8443", "redirects.http.first_redirect.invalid",
     "does not listen on port 8443"),
    ("HSTSRedirect on\n<Location />\nHSTSRedirect off\n</Location>",
     "redirects.http.no_redirect", "which does not redirect it"),
    ('HSTSRedirect on\n<Location "/">\nHSTSRedirect off\n</Location>',
     "redirects.http.no_redirect", "which does not redirect it"),
    ("Redirect gone /", "redirects.http.no_redirect",
     "it answers by Redirect at"),
    ("RewriteEngine on\nRewriteRule ^ - [F]", "redirects.http.no_redirect",
     "it answers by RewriteRule at"),
    # the rewrite rule runs before HSTSRedirect
    ("HSTSRedirect on\nRewriteEngine on\n"
     "RewriteRule ^ https://other.test/ [R,L]",
     "redirects.http.first_redirect.insecure", "https://other.test/"),
])
def test_redirect_rules(h, plain, code, needle):
    assert_one(h, site(h, plain), code, needle=needle)


def test_redirect_to_a_page_without_hsts(h):
    """The first redirect's page on another port must send a preloadable
    header; on 443 it is the vhost's own, whose findings cover it."""
    more = """
Listen 127.0.0.1:8443
<VirtualHost 127.0.0.1:8443>
    ServerName hsts.test
    DocumentRoot "%s"
    SSLEngine on
    SSLCertificateFile "%s"
    SSLCertificateKeyFile "%s"
    HSTSPolicy "%%s"
</VirtualHost>
""" % (h.docroot, h.pki.cert, h.pki.key)
    assert_one(h, site(h, "HSTSRedirect on port=8443",
                       more=more % "max-age=300"),
               "redirects.http.first_redirect.no_hsts",
               needle="whose policy is not preloadable")
    assert_quiet(h, site(h, "HSTSRedirect on port=8443", more=more % GOOD))


def test_too_many_redirects(h):
    chain = ("RedirectMatch ^/$ https://hsts.test/1\n"
             "Redirect /1 https://hsts.test/2\n"
             "Redirect /2 https://hsts.test/3\n")
    assert_one(h, site(h, tls_extra=chain), "redirects.too_many",
               needle="(https://hsts.test/ -> https://hsts.test/1 -> "
               "https://hsts.test/2 -> https://hsts.test/3, the last by "
               "Redirect at")
    # three redirects in all are fine
    assert_quiet(h, site(h, tls_extra=chain.replace(
        "Redirect /2 https://hsts.test/3\n", "")))


def test_later_redirect_over_http(h):
    assert_one(h, site(h, tls_extra="Redirect / http://other.test/"),
               "redirects.insecure.subsequent",
               needle="redirects to http://other.test/ on redirect #2")


@pytest.mark.parametrize("plain,needle", [
    ("RewriteEngine on\nRewriteCond %{HTTP:X-Forwarded-Proto} !https\n"
     "RewriteRule ^ https://%{HTTP_HOST}/ [R=301,L]",
     "has a RewriteCond that depends on more than the configuration says"),
    ("RewriteEngine on\nRewriteRule ^/$ /index.php [L]",
     "rewrites / without a redirect flag"),
    ("RewriteEngine on\nRewriteRule ^ https://%{ENV:TARGET}/ [R,L]",
     "which depends on the request"),
    ('<Location />\nRedirect https://hsts.test/\n</Location>',
     "may redirect; this check does not evaluate it"),
])
def test_undecided_is_a_hint(h, plain, needle):
    msg = assert_one(h, site(h, plain, mode="strict"),
                     "redirects.http.no_redirect", "hint", needle)
    assert "not verified: that its first redirect goes to " \
        "https://hsts.test/" in msg, msg


def test_htaccess(h):
    dir_conf = '<Directory "%s">\nAllowOverride %%s\n</Directory>\n' \
        % h.docroot
    # nothing there: the config decides
    assert_one(h, site(h, "", extra=dir_conf % "FileInfo"),
               "redirects.http.no_redirect")
    h.write(".htaccess", "Redirect / https://hsts.test/\n")
    msg = assert_one(h, site(h, "", extra=dir_conf % "FileInfo"),
                     "redirects.http.no_redirect", "hint")
    assert "%s/.htaccess may redirect" % h.docroot in msg, msg
    # .htaccess files that may not redirect change nothing
    assert_one(h, site(h, "", extra=dir_conf % "AuthConfig"),
               "redirects.http.no_redirect")


def test_no_port_80(h):
    rc, out = h.check_config(conf(h, GOOD, "", mode="strict"))
    msgs = messages(out)
    assert rc == 0 and len(msgs) == 1, out
    assert "hint:" in msgs[0] and "does not listen on port 80" in msgs[0] \
        and "[hstspreload: redirects.http.does_not_exist]" in msgs[0], out


# -- which vhost answers http://DOMAIN/ ---------------------------------------

def plain80(h, name, aliases, body):
    return """
<VirtualHost 127.0.0.1:80>
    ServerName %s
    ServerAlias %s
    DocumentRoot "%s"
%s
</VirtualHost>
""" % (name, aliases, h.docroot, body)


@pytest.mark.parametrize("first,second,code", [
    # a wildcard alias of a later vhost names the domain: it answers
    (("first.test", "x.invalid", ""),
     ("other.test", "*.test", "HSTSRedirect on"), None),
    (("first.test", "x.invalid", ""),
     ("other.test", "*.TEST", ""), "redirects.http.no_redirect"),
    (("first.test", "x.invalid", "HSTSRedirect on"),
     ("HSTS.Test", "x2.invalid", "HSTSRedirect on"), None),
    (("first.test", "x.invalid", "HSTSRedirect on"),
     ("other.test", "hst?.test", ""), "redirects.http.no_redirect"),
    # the first vhost to name it wins, by any kind of name
    (("first.test", "hsts.test", "HSTSRedirect on"),
     ("hsts.test", "x2.invalid", ""), None),
    (("first.test", "*.test", "HSTSRedirect on"),
     ("hsts.test", "x2.invalid", ""), None),
    (("first.test", "h*.test", "HSTSRedirect on"),
     ("hsts.test", "x2.invalid", ""), None),
    # no vhost names it: the address' first vhost answers, and its
    # HSTSRedirect sends a Host it does not know to its own ServerName
    (("first.test", "x.invalid", "HSTSRedirect on"),
     ("other.test", "x2.invalid", "HSTSRedirect on"),
     "redirects.http.first_redirect.insecure"),
    (("first.test", "x.invalid", "Redirect / https://hsts.test/"),
     ("other.test", "x2.invalid", ""), None),
])
def test_vhost_that_answers(h, first, second, code):
    text = site(h, None, more=plain80(h, *first) + plain80(h, *second))
    if code:
        assert_one(h, text, code)
    else:
        assert_quiet(h, text)


def test_vhost_inside_ifmodule(h):
    # Debian's default-ssl.conf style: the vhost inside <IfModule>
    text = site(h, None, more="<IfModule ssl_module>\n%s</IfModule>\n"
                % plain80(h, DOMAIN, "x.invalid",
                          "Redirect / https://hsts.test/"))
    assert_quiet(h, text)


def test_main_server_answers(h):
    # no vhost on port 80: the main server answers
    assert_one(h, site(h, None), "redirects.http.no_redirect",
               needle="reaches the main server")
    assert_quiet(h, site(h, None, extra="HSTSRedirect on"))


def test_redirect_from_main_server_config(h):
    # mod_alias merges the main server's Redirect into every vhost: the
    # TLS vhost's too, which then redirects to itself
    assert_one(h, site(h, "", extra="Redirect / https://hsts.test/"),
               "redirects.too_many", needle="https://hsts.test/ -> "
               "https://hsts.test/ -> https://hsts.test/")


MAIN_RULES = ("RewriteEngine On\nRewriteOptions %s\n"
              "RewriteCond %%{HTTPS} !=on\n"
              "RewriteRule ^ https://%%{HTTP_HOST}%%{REQUEST_URI} [R=301,L]\n")


@pytest.mark.parametrize("main_options,plain,ready", [
    # the main server's options pass down to a vhost with none of its own
    ("InheritDown", "RewriteEngine On", True),
    ("InheritDownBefore", "RewriteEngine On", True),
    ("Inherit", "RewriteEngine On", True),
    # a vhost's own IgnoreInherit refuses the main server's InheritDown
    # (the word, not a substring: no "Inherit" inside it)
    ("InheritDown", "RewriteEngine On\nRewriteOptions IgnoreInherit", False),
    # no Inherit anywhere: the main server's rules stay its own
    ("AllowNoSlash", "RewriteEngine On", False),
])
def test_rewrite_options_as_mod_rewrite_merges_them(h, main_options, plain,
                                                    ready):
    text = site(h, plain, extra=MAIN_RULES % main_options)
    if ready:
        assert_quiet(h, text)
    else:
        assert_one(h, text, "redirects.http.no_redirect")


def test_ip_vhosts_behind_a_wildcard_listen(h):
    """`Listen 80` (Debian's ports.conf) binds [::], and httpd serves an
    IP-based <VirtualHost 127.0.0.1:80> through it: its HSTSRedirect is
    what http://DOMAIN/ gets."""
    text = site(h).replace("Listen 127.0.0.1:80\nListen 127.0.0.1:443\n",
                           "Listen 80\nListen 443\n")
    assert "\nListen 80\n" in text
    assert_quiet(h, text)
    assert_one(h, site(h, "").replace(
        "Listen 127.0.0.1:80\nListen 127.0.0.1:443\n",
        "Listen 80\nListen 443\n"), "redirects.http.no_redirect")


# -- www ----------------------------------------------------------------------

def test_www(h):
    # a plain vhost here names www: on 443 the default TLS vhost answers
    # it, and its certificate (*.hsts.test) covers it, valid and verified
    assert_quiet(h, site(h, tls_aliases="shop.hsts.test"))
    assert_quiet(h, site(h, tls_aliases="www.hsts.test"))
    # not served here at all: nothing to say
    assert_quiet(h, site(h, tls_aliases="shop.hsts.test",
                         plain_aliases="shop.hsts.test"))


def test_www_on_443_without_tls(h):
    """On port 443 a vhost without TLS answers www: the checker's TLS
    connection fails."""
    more = """
<VirtualHost 127.0.0.2:443>
    ServerName www.hsts.test
    DocumentRoot "%s"
</VirtualHost>
""" % h.docroot
    assert_one(h, site(h, tls_aliases="shop.hsts.test",
                       extra="Listen 127.0.0.2:443 http\n", more=more),
               "domain.www.no_tls", needle="and on port 443 vhost "
               "www.hsts.test (%s:" % h.conf_path)


def test_www_with_a_certificate_the_checker_refuses(h):
    """www has a TLS vhost of its own on 443 whose certificate is
    self-signed: the checker's connection to www fails
    (domain.www.no_tls), and the domain is not ready, though the
    certificate problem is on www's own line."""
    cert = os.path.join(h.dir, "www-self.pem")
    key = os.path.join(h.dir, "www-self.key")
    harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "30", "-subj",
                 "/CN=www.hsts.test", "-addext",
                 "subjectAltName=DNS:www.hsts.test"])
    for path in (cert, key):
        os.chmod(path, 0o644)
    more = """
<VirtualHost 127.0.0.1:443>
    ServerName www.hsts.test
    DocumentRoot "%s"
    SSLEngine on
    SSLCertificateFile "%s"
    SSLCertificateKeyFile "%s"
</VirtualHost>
""" % (h.docroot, cert, key)
    text = site(h, tls_aliases="shop.hsts.test", plain_aliases="shop.hsts.test",
                more=more)
    rc, out = h.check_config(text)
    assert rc == 0, out
    msgs = messages(out)
    assert len(msgs) == 1 and "[hstspreload: domain.www.no_tls]" in msgs[0] \
        and "answers it with a certificate the checker refuses" in msgs[0] \
        and "self-signed" in msgs[0], out
    rc, objs, dump = h.dump_hsts()
    d = [o for o in objs if o["type"] == "vhost"
         and o["server_name"] == DOMAIN and o["tls"]][0]
    assert d["preload_ready"] is False, d
    assert ("domain.www.no_tls", "problem") in [
        (f["code"], f["level"]) for f in d["findings"]], d


# -- strict -------------------------------------------------------------------

def test_strict_refuses(h):
    text = conf(h, "max-age=300; preload", "HSTSRedirect on",
                mode="strict")
    rc, out = h.check_config(text)
    assert rc != 0, out
    assert "[hsts:error]" in out and "preload requires includeSubDomains" \
        in out, out
    assert "2 preload problem(s), refusing to start" in out, out
    h.assert_start_refused("refusing to start")


def test_strict_refuses_a_redirect_problem(h):
    rc, out = h.check_config(site(h, "Redirect / https://www.hsts.test/",
                                  mode="strict"))
    assert rc != 0 and "1 preload problem(s), refusing to start" in out, out
    assert "[hsts:error]" in out and "redirects.http.www_first" in out, out


def test_strict_hints_only_start(h):
    rc, out = h.check_config(conf(h, GOOD, "", mode="strict"))
    assert rc == 0, out
    assert "hint:" in out, out


def test_bad_mode(h):
    h.assert_config_error(h.base_conf() + "HSTSPreloadCheck loud\n",
                          "HSTSPreloadCheck: unknown value 'loud'")


def test_mode_global_only(h):
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(
        "HSTSPreloadCheck strict"))
    assert rc != 0 and "cannot occur within <VirtualHost>" in out, out
