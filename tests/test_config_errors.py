"""Every bad HSTSPolicy / HSTSUpstreamHeader value stops httpd at startup
(apachectl -t) with the directive, the file, the line and the bad token;
good spellings are accepted."""

import os

import pytest


@pytest.fixture(scope="module")
def httpd(server_factory):
    return server_factory("configerr")


def check(httpd, directive_line):
    """Put the line on line 3 of an included file; return (rc, output)."""
    site = os.path.join(httpd.dir, "site.conf")
    with open(site, "w") as f:
        f.write("# site\n<Location /x>\n%s\n</Location>\n" % directive_line)
    return site, httpd.check_config(httpd.base_conf()
                                    + 'Include "%s"\n' % site)


BAD = [
    ('HSTSPolicy "includeSubDomains"', "missing max-age"),
    ('HSTSPolicy ""', "HSTSPolicy needs a policy"),
    ("HSTSPolicy", "HSTSPolicy needs a policy"),
    ('HSTSPolicy "max-age"', "'max-age' needs a value"),
    ('HSTSPolicy "max-age="', "empty max-age"),
    ('HSTSPolicy "max-age=abc"', "max-age value 'abc' is not a number"),
    ('HSTSPolicy "max-age=-5"', "max-age value '-5' must not have a sign"),
    ('HSTSPolicy "max-age=+5"', "max-age value '+5' must not have a sign"),
    ('HSTSPolicy "max-age=99999999999"', "above the limit of 2147483647"),
    ('HSTSPolicy "max-age=1; max-age=2"', "'max-age' given more than once"),
    ('HSTSPolicy "max-age=1; preload; preload"', "given more than once"),
    ('HSTSPolicy "max-age=1; includeSubdomain"',
     "unknown directive 'includeSubdomain' (did you mean "
     "'includeSubDomains'?)"),
    ('HSTSPolicy "max-age=1; include_sub_domains"',
     "did you mean 'includeSubDomains'?"),
    ('HSTSPolicy "max_age=1"', "unknown directive 'max_age' (did you mean "
     "'max-age'?)"),
    ('HSTSPolicy "max-age=1; preloaded"', "did you mean 'preload'?"),
    ('HSTSPolicy "max-age=1; includeSubDomains=yes"',
     "'includeSubDomains' takes no value"),
    ('HSTSPolicy "max-age=1; preload=1"', "'preload' takes no value"),
    ('HSTSPolicy "max-age=1\x01"', "control character 0x01"),
    ('HSTSPolicy "max-age=1" extra', "unexpected 'extra'"),
    ("HSTSUpstreamHeader merge", "HSTSUpstreamHeader: unknown value "
     "'merge'"),
    ("HSTSRedirect", "HSTSRedirect: needs on or off"),
    ("HSTSRedirect yes", "HSTSRedirect: expected on or off, got 'yes'"),
    ("HSTSRedirect on status=303", "HSTSRedirect: bad 'status=303'"),
    ("HSTSRedirect on status=30x", "HSTSRedirect: bad 'status=30x'"),
    ("HSTSRedirect on port=0", "HSTSRedirect: bad 'port=0' (port is "
     "1-65535)"),
    ("HSTSRedirect on port=70000", "HSTSRedirect: bad 'port=70000'"),
    ("HSTSRedirect on port=-1", "HSTSRedirect: bad 'port=-1'"),
    ("HSTSRedirect on code=301", "HSTSRedirect: unknown argument "
     "'code=301'"),
    ("HSTSRedirect off status=301", "'status=301' makes no sense with off"),
    # each option once: the last of two would win unseen
    ("HSTSRedirect on status=301 status=307", "HSTSRedirect: repeated "
     "'status=307' (status= given more than once)"),
    ("HSTSRedirect on port=8443 status=308 PORT=443", "HSTSRedirect: "
     "repeated 'PORT=443' (port= given more than once)"),
    ("HSTSRedirect on status=301 port=8443 status=301", "repeated "
     "'status=301'"),
]


@pytest.mark.parametrize("line,message", BAD, ids=[b[0] for b in BAD])
def test_rejected(httpd, line, message):
    site, (rc, out) = check(httpd, line)
    assert rc != 0, out
    assert "Syntax error on line 3 of %s" % site in out, out
    assert message in out, out
    directive = line.split()[0]
    assert directive in out, out


@pytest.mark.parametrize("line", [
    'HSTSPolicy "max-age=31536000; includeSubDomains; preload"',
    "HSTSPolicy max-age=31536000; includeSubDomains",
    "HSTSPolicy 'max-age=\"300\"'",
    "HSTSPolicy off",
    "HSTSPolicy Off",
    'HSTSPolicy "max-age=0"',
    "HSTSUpstreamHeader keep",
    "HSTSUpstreamHeader Replace",
    "HSTSRedirect on",
    "HSTSRedirect On status=308 port=8443",
    "HSTSRedirect off",
])
def test_accepted(httpd, line):
    _, (rc, out) = check(httpd, line)
    assert rc == 0, out
    assert "Syntax OK" in out, out


def test_upstream_not_in_htaccess(httpd):
    """HSTSUpstreamHeader is for the admin, not for .htaccess."""
    httpd.write("ht/.htaccess", "HSTSUpstreamHeader keep\n")
    httpd.write("ht/index.html", "x\n")
    httpd.configure(httpd.base_conf() + httpd.tls_vhost(
        'HSTSPolicy "max-age=60"\n<Directory "%s">\nAllowOverride All\n'
        '</Directory>\n' % httpd.docroot))
    httpd.allowed.append(r"\[core:alert\].*ht/\.htaccess: "
                         r"HSTSUpstreamHeader not allowed here")
    httpd.start()
    try:
        res = httpd.curl("/ht/")
    finally:
        httpd.stop()
    assert res.status == 500, res
    assert res.sts == ["max-age=60"], res
    assert "HSTSUpstreamHeader not allowed here" in httpd.read_log()


@pytest.mark.parametrize("line", [
    'HSTSPolicy "max-age=300"',
    "HSTSRedirect on",
    "HSTSUpstreamHeader keep",
])
@pytest.mark.parametrize("section", ["Limit POST", "LimitExcept GET"])
def test_not_per_method(httpd, section, line):
    """Nothing here is per method: inside <Limit> or <LimitExcept> it would
    silently apply to every method, so it is refused."""
    site = os.path.join(httpd.dir, "site.conf")
    name = section.split()[0]
    with open(site, "w") as f:
        f.write("<Location /x>\n    <%s>\n        %s\n    </%s>\n"
                "</Location>\n" % (section, line, name))
    rc, out = httpd.check_config(httpd.base_conf() + 'Include "%s"\n'
                                 % site)
    assert rc != 0, out
    assert "Syntax error on line 3 of %s" % site in out, out
    assert "%s cannot occur within <Limit> or <LimitExcept> section" \
        % line.split()[0] in out, out

