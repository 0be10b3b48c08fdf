"""Which virtual hosts mod_hsts counts as TLS when the configuration is
read (DUMP_HSTS "tls", the preload checks) is what httpd then serves:
each form mod_ssl accepts, checked against a real connection to the vhost.
(mod_tls' TLSEngine and mod_gnutls' GnuTLSEnable are read the same way,
but Debian packages neither module, so no httpd here can load them.)"""

import pytest

import harness

GOOD = "max-age=31536000; includeSubDomains; preload"

# name -> (vhost body, Listen protocol, served over TLS)
FORMS = {
    "quoted": ('SSLEngine "on"', None, True),
    "single-quoted": ("SSLEngine 'ON'", None, True),
    "capitalised": ("SSLEngine On", None, True),
    "off": ("SSLEngine off", None, False),
    # mod_ssl turns TLS on by itself for an https listener with a
    # certificate
    "implicit": ("", "https", True),
    "cert-only": ("", None, False),
    # no TLS from the first byte: browsers never upgrade (RFC 2817)
    "optional": ("SSLEngine optional", None, False),
}


def cert_lines(h):
    return ('SSLCertificateFile "%s"\nSSLCertificateKeyFile "%s"\n'
            % (h.pki.cert, h.pki.key))


def form_vhost(h, name, body, port):
    return """
<VirtualHost 127.0.0.1:%d>
    ServerName %s.%s
    DocumentRoot "%s"
    %s
    %s
</VirtualHost>
""" % (port, name, harness.DOMAIN, h.docroot, body, cert_lines(h))


def served_over_tls(h, host, port):
    """True when a TLS request to host:port works, False when a plain one
    does (and the TLS one does not)."""
    base = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
            "--max-time", "10", "--cacert", h.pki.ca,
            "--resolve", "%s:%d:127.0.0.1" % (host, port)]
    tls = harness.run(base + ["https://%s:%d/" % (host, port)])
    plain = harness.run(base + ["http://%s:%d/" % (host, port)])
    got_tls = tls.returncode == 0 and tls.stdout == "200"
    got_plain = plain.returncode == 0 and plain.stdout == "200"
    assert got_tls != got_plain, (tls, plain)
    return got_tls


def by_name(objs):
    return {o["server_name"]: o for o in objs if o["type"] == "vhost"}


@pytest.fixture(scope="module")
def forms(server_factory):
    h = server_factory("tls-forms")
    h.write("index.html", "x\n")
    ports = dict(zip(FORMS, h.spare_ports(len(FORMS))))
    listen = "".join("Listen 127.0.0.1:%d%s\n"
                     % (ports[n], " " + FORMS[n][1] if FORMS[n][1] else "")
                     for n in FORMS)
    h.configure(h.base_conf(extra=listen) + h.tls_vhost("")
                + "".join(form_vhost(h, n, FORMS[n][0], ports[n])
                          for n in FORMS))
    h.allowed.append(r"\[ssl:warn\].*AH01909")   # cert-only, off: unused
    h.ports = ports
    return h.start()


@pytest.mark.parametrize("name", sorted(FORMS))
def test_tls_as_served(forms, name):
    rc, objs, out = forms.dump_hsts()
    assert rc == 0, out
    vhost = by_name(objs)["%s.%s" % (name, harness.DOMAIN)]
    host = "%s.%s" % (name, harness.DOMAIN)
    served = served_over_tls(forms, host, forms.ports[name])
    assert served == FORMS[name][2], name
    assert vhost["tls"] is served, vhost


def test_main_server_engine_inherited(server_factory):
    """SSLEngine on in the main server holds for every vhost that does
    not say otherwise."""
    h = server_factory("tls-inherit")
    h.write("index.html", "x\n")
    heir, plain = h.spare_ports(2)
    h.configure(h.base_conf(extra="SSLEngine on\n" + cert_lines(h)
                            + "Listen 127.0.0.1:%d\nListen 127.0.0.1:%d\n"
                            % (heir, plain))
                + form_vhost(h, "heir", "", heir)
                + form_vhost(h, "plain", "SSLEngine off", plain))
    h.allowed.append(r"\[ssl:warn\].*AH01909")
    h.start()
    vhosts = by_name(h.dump_hsts()[1])
    assert served_over_tls(h, "heir.hsts.test", heir) is True
    assert vhosts["heir.hsts.test"]["tls"] is True
    assert served_over_tls(h, "plain.hsts.test", plain) is False
    assert vhosts["plain.hsts.test"]["tls"] is False
    assert [v["tls"] for v in vhosts.values() if v["main_server"]] == [True]


def hints(out):
    return [l for l in out.splitlines() if "HSTSPreloadCheck: hint:" in l]


def test_preload_check_follows_tls(server_factory):
    """A preload vhost whose SSLEngine is quoted is checked; on port 80, a
    vhost with SSLEngine optional is plain HTTP and its HSTSRedirect
    counts; one that mod_ssl serves over TLS by itself (Listen ... https)
    answers http://NAME/ with an error, no redirect.  (Only read, never
    started: nothing binds port 80.)"""
    h = server_factory("tls-twins")
    policy = 'HSTSPolicy "%s"' % GOOD
    h.configure(h.base_conf(extra="Listen 127.0.0.1:80\n"
                            "Listen 127.0.0.2:80 https\n")
                + form_vhost(h, "shop", 'SSLEngine "on"\n' + policy,
                             h.tls_port)
                + form_vhost(h, "shop", "SSLEngine optional\n"
                             "HSTSRedirect on", 80)
                + form_vhost(h, "blog", "SSLEngine 'on'\n" + policy,
                             h.tls_port)
                + form_vhost(h, "blog", "HSTSRedirect on", 80).replace(
                    "127.0.0.1:80", "127.0.0.2:80"))
    rc, out = h.check_config()
    assert rc == 0, out
    found = [l for l in out.splitlines() if "HSTSPreloadCheck" in l]
    assert len(found) == 1, out
    assert "vhost blog.hsts.test" in found[0] \
        and "which speaks TLS and answers plain HTTP with an error" \
        in found[0], out
