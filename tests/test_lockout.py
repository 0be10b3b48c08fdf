"""HSTSLockoutCheck: every name a policy with max-age > 0 pins must be
answered by a TLS vhost whose certificates cover it, are valid and
verify, checked when the configuration is read, with real certificates
made here by openssl (a private root, an intermediate, leaves with chosen
dates, names, keys and digests) and real vhost layouts; strict refuses
through the real start path."""

import datetime
import os
import shutil
import subprocess
import tempfile

import pytest

import harness

DAY = datetime.timedelta(days=1)


def stamp(when):
    return when.strftime("%y%m%d%H%M%SZ")


def openssl(*args):
    res = subprocess.run(["openssl"] + list(args), capture_output=True,
                         text=True)
    assert res.returncode == 0, (args, res.stderr)


class CA:
    """A CA made with `openssl ca`, which, unlike `openssl x509` in
    OpenSSL 3.0, sets any notBefore and notAfter."""

    def __init__(self, d, name, parent=None, md="sha256"):
        self.dir = os.path.join(d, name)
        os.makedirs(os.path.join(self.dir, "new"))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(self.dir, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndir = %s\n"
                    "database = $dir/index.txt\nnew_certs_dir = $dir/new\n"
                    "serial = $dir/serial\ndefault_md = sha256\n"
                    "policy = p\nunique_subject = no\nemail_in_dn = no\n"
                    "default_days = 90\n[p]\ncommonName = supplied\n"
                    % self.dir)
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        ext = "basicConstraints=critical,CA:TRUE\n" \
              "keyUsage=critical,keyCertSign,cRLSign\n"
        if parent is None:
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
                    "-out", self.cert, "-days", "30", "-subj",
                    "/CN=lockout test root " + name,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        else:
            parent.sign(self.cert, self.key, "/CN=lockout test " + name,
                        ext, md=md)
        self.name = name

    def sign(self, cert, key, subj, ext, start=None, end=None,
             newkey=("ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
             md="sha256"):
        csr = cert + ".csr"
        openssl("req", "-newkey", *newkey, "-nodes", "-keyout", key,
                "-out", csr, "-subj", subj)
        extfile = cert + ".ext"
        with open(extfile, "w") as f:
            f.write(ext)
        now = datetime.datetime.now(datetime.timezone.utc)
        openssl("ca", "-batch", "-notext", "-config", self.cnf, "-cert",
                self.cert, "-keyfile", self.key, "-in", csr, "-out", cert,
                "-md", md, "-extfile", extfile,
                "-startdate", stamp(start or now - DAY),
                "-enddate", stamp(end or now + 60 * DAY))


class Certs:
    """The certificates of these tests, each made on first use."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hsts-lockout-pki-")
        os.chmod(self.dir, 0o755)
        self.root = CA(self.dir, "root")
        self.inter = CA(self.dir, "inter", self.root)
        self.n = 0

    def leaf(self, names, chain=True, ca=None, **kw):
        """(certificate file, key file): the leaf for `names`, signed by
        the intermediate (or `ca`); the intermediate follows the leaf in
        the file when `chain`."""
        self.n += 1
        cert = os.path.join(self.dir, "leaf%d.pem" % self.n)
        key = os.path.join(self.dir, "leaf%d.key" % self.n)
        issuer = ca or self.inter
        issuer.sign(cert, key, "/CN=" + names[0],
                    "basicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=%s\n"
                    % ",".join("DNS:" + n for n in names), **kw)
        if chain and issuer is self.inter:
            with open(cert, "a") as f, open(self.inter.cert) as i:
                f.write(i.read())
        for p in (cert, key):
            os.chmod(p, 0o644)
        return cert, key

    def self_signed(self, name):
        self.n += 1
        cert = os.path.join(self.dir, "self%d.pem" % self.n)
        key = os.path.join(self.dir, "self%d.key" % self.n)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                cert, "-days", "60", "-subj", "/CN=" + name, "-addext",
                "subjectAltName=DNS:" + name)
        for p in (cert, key):
            os.chmod(p, 0o644)
        return cert, key


@pytest.fixture(scope="module")
def certs():
    c = Certs()
    yield c
    shutil.rmtree(c.dir, ignore_errors=True)


@pytest.fixture
def h(server_factory):
    return server_factory("lockout")


def vhost(h, name, cert, policy=None, aliases=(), tls=True, body="",
          port=None):
    lines = ["<VirtualHost 127.0.0.1:%d>" % (
                 port or (h.tls_port if tls else h.plain_port)),
             "    ServerName %s" % name,
             '    DocumentRoot "%s"' % h.docroot]
    if aliases:
        lines.append("    ServerAlias %s" % " ".join(aliases))
    if tls:
        lines.append("    SSLEngine on")
        if cert:
            lines += ['    SSLCertificateFile "%s"' % cert[0],
                      '    SSLCertificateKeyFile "%s"' % cert[1]]
    if policy:
        lines.append('    HSTSPolicy "%s"' % policy)
    if body:
        lines.append(body)
    lines.append("</VirtualHost>\n")
    return "\n".join(lines)


def conf(h, certs, *vhosts, check="warn", ca=True, extra=""):
    text = h.base_conf()
    text += "HSTSLockoutCheck %s%s\n" % (
        check, ' "ca=%s"' % certs.root.cert if ca else "")
    return text + extra + "".join(vhosts)


def lockout_lines(out):
    return [l for l in out.splitlines() if "HSTSLockoutCheck" in l]


def kinds(objs, name=None):
    """{kind: [text]} of the DUMP_HSTS vhost lines (of ServerName
    `name`)."""
    found = {}
    for o in objs:
        if o["type"] != "vhost" or (name and o["server_name"] != name):
            continue
        for f in o["findings"]:
            if f["kind"].startswith("lockout-"):
                found.setdefault(f["kind"], []).append(f)
    return found


def dump(h):
    rc, objs, out = h.dump_hsts()
    assert rc == 0, out
    return objs


def vhost_obj(objs, name):
    return next(o for o in objs if o["type"] == "vhost"
                and o["server_name"] == name)


POLICY = "max-age=31536000"
SUBS = "max-age=31536000; includeSubDomains"


def test_valid_chain_is_quiet_and_dumped(h, certs):
    leaf = certs.leaf(["example.test", "www.example.test"])
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", leaf, SUBS, aliases=["www.example.test"])))
    assert rc == 0 and lockout_lines(out) == [], out
    objs = dump(h)
    assert kinds(objs) == {}, objs
    v = vhost_obj(objs, "example.test")
    assert len(v["certificates"]) == 1, v
    c = v["certificates"][0]
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert c["file"] == leaf[0] and c["directive"] == "SSLCertificateFile"
    assert c["names"] == ["example.test", "www.example.test"], c
    assert c["not_before"] == (today - DAY).isoformat(), c
    assert c["not_after"] == (today + 60 * DAY).isoformat(), c
    assert c["issuer"] == "CN=lockout test inter", c
    assert c["key"] == "id-ecPublicKey 256", c
    assert c["verified"] is True and c["verify_error"] is None, c
    # a plain-HTTP vhost lists no certificates
    h.configure(conf(h, certs, vhost(h, "example.test", None, tls=False)))
    assert vhost_obj(dump(h), "example.test")["certificates"] == []


def test_missing_intermediate(h, certs):
    leaf = certs.leaf(["example.test"], chain=False)
    rc, out = h.check_config(conf(h, certs, vhost(h, "example.test", leaf,
                                                  POLICY)))
    assert rc == 0, out
    lines = lockout_lines(out)
    assert len(lines) == 1 and "[hsts:warn]" in lines[0], out
    assert "vhost example.test (" in lines[0] and leaf[0] in lines[0], out
    assert "unable to get local issuer certificate" in lines[0], out
    assert "intermediate certificate missing" in lines[0], out
    objs = dump(h)
    assert list(kinds(objs)) == ["lockout-chain"], objs
    c = vhost_obj(objs, "example.test")["certificates"][0]
    assert c["verified"] is False and "local issuer" in c["verify_error"]
    # the intermediate given by SSLCertificateChainFile
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", leaf, POLICY,
        body='    SSLCertificateChainFile "%s"' % certs.inter.cert)))
    assert rc == 0 and lockout_lines(out) == [], out
    c = vhost_obj(dump(h), "example.test")["certificates"][0]
    assert c["verified"] is True and c["chain_file"] == certs.inter.cert


def test_private_ca_needs_ca_option(h, certs):
    leaf = certs.leaf(["example.test"])
    text = conf(h, certs, vhost(h, "example.test", leaf, POLICY), ca=False)
    rc, out = h.check_config(text)
    assert rc == 0, out
    lines = lockout_lines(out)
    assert len(lines) == 1 and "does not verify" in lines[0], out
    assert "unable to get local issuer certificate" in lines[0], out
    # the system's store is honoured: SSL_CERT_FILE naming the root
    res = subprocess.run([harness.httpd_binary(), "-t", "-f", h.conf_path],
                         capture_output=True, text=True,
                         env=dict(harness.httpd_env(),
                                  SSL_CERT_FILE=certs.root.cert))
    assert res.returncode == 0, res.stderr
    assert lockout_lines(res.stdout + res.stderr) == [], res.stderr


def test_self_signed(h, certs):
    cert = certs.self_signed("example.test")
    rc, out = h.check_config(conf(h, certs, vhost(h, "example.test", cert,
                                                  POLICY)))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "self-signed" in lines[0], out
    assert list(kinds(dump(h))) == ["lockout-chain"]


def test_expired(h, certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = certs.leaf(["example.test"], start=now - 90 * DAY,
                      end=now - 3 * DAY)
    rc, out = h.check_config(conf(h, certs, vhost(h, "example.test", leaf,
                                                  POLICY)))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "expired on %s" % (now - 3 * DAY).date().isoformat() \
        in lines[0], out
    objs = dump(h)
    assert list(kinds(objs)) == ["lockout-expired"], objs
    assert kinds(objs)["lockout-expired"][0]["level"] == "problem"
    c = vhost_obj(objs, "example.test")["certificates"][0]
    # expiry is its own finding: the chain still verifies
    assert c["verified"] is True, c


def test_not_yet_valid(h, certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = certs.leaf(["example.test"], start=now + 2 * DAY,
                      end=now + 90 * DAY)
    rc, out = h.check_config(conf(h, certs, vhost(h, "example.test", leaf,
                                                  POLICY)))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "not valid before %s" % (now + 2 * DAY).date().isoformat() \
        in lines[0], out
    assert list(kinds(dump(h))) == ["lockout-not-yet-valid"]


def test_expiring_warns_and_never_refuses(h, certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = certs.leaf(["example.test"], end=now + 5 * DAY + datetime.timedelta(hours=1))
    v = vhost(h, "example.test", leaf, POLICY)
    rc, out = h.check_config(conf(h, certs, v, check="strict"))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "[hsts:warn]" in lines[0] and "in 5 day(s) (expiry=14)" \
        in lines[0], out
    objs = dump(h)
    assert kinds(objs)["lockout-expiring"][0]["level"] == "warning"
    # expiry=DAYS moves the threshold
    rc, out = h.check_config(conf(h, certs, v, check="strict "
                                  '"ca=%s" expiry=5' % certs.root.cert,
                                  ca=False))
    assert rc == 0 and lockout_lines(out) == [], out
    rc, out = h.check_config(conf(h, certs, v, check="warn expiry=6"))
    assert "in 5 day(s) (expiry=6)" in out, out


def test_alias_not_covered(h, certs):
    # the CN names the alias, the subjectAltName does not: browsers go by
    # the subjectAltName alone
    leaf = certs.leaf(["shop.example.test", "example.test"])
    leaf_cn = certs.leaf(["example.test"])
    text = conf(h, certs, vhost(h, "example.test", leaf, POLICY,
                                aliases=["www.example.test"]))
    rc, out = h.check_config(text)
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "www.example.test is pinned by \"%s\"" % POLICY in lines[0], out
    assert "does not cover it (its names: shop.example.test," \
        "example.test)" in lines[0], out
    assert list(kinds(dump(h))) == ["lockout-name-not-covered"]
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "shop.example.test", leaf_cn, POLICY)))
    assert "shop.example.test is pinned" in out and "does not cover" in out


def test_wildcard(h, certs):
    leaf = certs.leaf(["*.example.test"])
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "www.example.test", leaf, POLICY,
        aliases=["shop.example.test", "*.example.test"])))
    assert rc == 0 and lockout_lines(out) == [], out
    # one label only, and not the apex; an httpd wildcard alias deeper
    # than the certificate's is not covered either
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", leaf, POLICY,
        aliases=["a.b.example.test", "*.dev.example.test"])))
    objs = dump(h)
    texts = [f["text"] for f in kinds(objs)["lockout-name-not-covered"]]
    assert len(texts) == 3, texts
    for name in ("example.test", "a.b.example.test",
                 "*.dev.example.test"):
        assert any(t.startswith(name + " is pinned") for t in texts), texts


def test_include_subdomains_not_served(h, certs):
    leaf = certs.leaf(["example.test", "*.example.test"])
    tls = vhost(h, "example.test", leaf, SUBS)
    plain = vhost(h, "intranet.example.test", None, tls=False,
                  aliases=["*.dev.example.test"])
    other = vhost(h, "other.invalid", None, tls=False)
    rc, out = h.check_config(conf(h, certs, tls, plain, other))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 2, out
    for name in ("intranet.example.test", "*.dev.example.test"):
        assert any(("%s is pinned by \"%s\"" % (name, SUBS)) in l
                   and "under example.test" in l
                   and "no TLS virtual host answers for it" in l
                   for l in lines), out
    objs = dump(h)
    assert [f["text"].split()[0] for f in kinds(
        objs, "intranet.example.test")["lockout-not-served"]] \
        == ["intranet.example.test", "*.dev.example.test"], objs
    assert kinds(objs, "example.test") == {}
    # without includeSubDomains nothing is pinned under example.test
    rc, out = h.check_config(conf(h, certs, vhost(h, "example.test", leaf,
                                                  POLICY), plain))
    assert rc == 0 and lockout_lines(out) == [], out
    # a TLS vhost answering by a wildcard alias, on another port, counts
    port = h.spare_port()
    tls_wild = vhost(h, "wild.example.test", leaf, None, port=port,
                     aliases=["*.example.test"])
    rc, out = h.check_config(conf(h, certs, tls, plain, tls_wild,
                                  extra="Listen 127.0.0.1:%d\n" % port))
    lines = lockout_lines(out)
    # *.dev.example.test is two labels under the certificate's wildcard
    assert len(lines) == 1 and "*.dev.example.test is pinned" in lines[0] \
        and "does not cover it" in lines[0] and "of vhost wild." \
        in lines[0], out


def test_revocation_never_refused(h, certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = certs.leaf(["example.test"], start=now - 90 * DAY,
                      end=now - 3 * DAY)
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", leaf, "max-age=0; includeSubDomains"),
        vhost(h, "intranet.example.test", None, tls=False),
        check="strict"))
    assert rc == 0 and lockout_lines(out) == [], out


def test_rollout_target_counts(h, certs):
    leaf = certs.leaf(["example.test"])
    start = (datetime.datetime.now(datetime.timezone.utc).date()
             + 30 * DAY).isoformat()
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", leaf, SUBS,
        body="    HSTSRollout start=%s" % start),
        vhost(h, "intranet.example.test", None, tls=False)))
    lines = lockout_lines(out)
    assert len(lines) == 1 and "intranet.example.test is pinned" \
        in lines[0], out


def test_rsa_and_ecdsa_pair(h, certs):
    ec = certs.leaf(["example.test", "www.example.test"])
    rsa = certs.leaf(["example.test"], newkey=("rsa:2048",))
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", ec, POLICY, aliases=["www.example.test"],
        body='    SSLCertificateFile "%s"\n    SSLCertificateKeyFile "%s"'
             % rsa)))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1 and rsa[0] in lines[0] \
        and "www.example.test is pinned" in lines[0], out
    c = vhost_obj(dump(h), "example.test")["certificates"]
    assert [x["file"] for x in c] == [ec[0], rsa[0]], c
    assert [x["key"] for x in c] == ["id-ecPublicKey 256", "rsaEncryption "
                                     "2048"], c


def test_main_server_certificate_inherited(h, certs):
    leaf = certs.leaf(["other.example.test"])
    extra = 'SSLCertificateFile "%s"\nSSLCertificateKeyFile "%s"\n' % leaf
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", None, POLICY), extra=extra))
    lines = lockout_lines(out)
    assert len(lines) == 1 and leaf[0] in lines[0] \
        and "example.test is pinned" in lines[0], out
    assert [c["file"] for c in vhost_obj(dump(h), "example.test")
            ["certificates"]] == [leaf[0]]


def test_key_and_chain_in_one_file_relative_path(h, certs):
    leaf = certs.leaf(["example.test"], chain=False)
    combined = os.path.join(h.dir, "combined.pem")
    with open(combined, "w") as f:
        for p in (leaf[1], leaf[0], certs.inter.cert):
            f.write(open(p).read())
    os.chmod(combined, 0o644)
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", ("combined.pem", "combined.pem"), POLICY)))
    assert rc == 0 and lockout_lines(out) == [], out
    c = vhost_obj(dump(h), "example.test")["certificates"][0]
    assert c["file"] == combined and c["verified"] is True, c


def test_weak_key_hint(h, certs):
    leaf = certs.leaf(["example.test"], newkey=("rsa:1024",))
    rc, out = h.check_config(conf(h, certs, vhost(h, "example.test", leaf,
                                                  POLICY), check="strict"))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "HSTSLockoutCheck: hint:" in lines[0] \
        and "rsaEncryption 1024" in lines[0], out
    assert kinds(dump(h))["lockout-weak"][0]["level"] == "hint"


def test_sha1_anywhere_below_the_root_refused(h, certs):
    """Browsers and the preload list's checker (domain.tls.sha1) refuse a
    SHA-1 signature on the leaf or on an intermediate; OpenSSL's own
    verification takes both."""
    sha1_inter = CA(certs.dir, "inter-sha1", certs.root, md="sha1")
    cases = [certs.leaf(["example.test"], md="sha1"),
             certs.leaf(["example.test"], ca=sha1_inter)]
    with open(cases[1][0], "a") as f, open(sha1_inter.cert) as i:
        f.write(i.read())
    for leaf in cases:
        rc, out = h.check_config(conf(h, certs, vhost(
            h, "example.test", leaf, POLICY), check="strict"))
        lines = lockout_lines(out)
        assert rc != 0, out
        assert any("[hsts:error]" in l and "signature made with SHA1" in l
                   and "[hstspreload: domain.tls.sha1]" in l
                   for l in lines), out
        h.configure(conf(h, certs, vhost(h, "example.test", leaf, POLICY)))
        k = kinds(dump(h))
        assert [(f["level"], f["code"]) for f in
                k["lockout-weak-signature"]] \
            == [("problem", "domain.tls.sha1")], k


def test_strict_refuses_on_start(h, certs):
    leaf = certs.leaf(["example.test"])
    text = conf(h, certs, vhost(h, "example.test", leaf, SUBS),
                vhost(h, "intranet.example.test", None, tls=False),
                check="strict")
    rc, out = h.check_config(text)
    assert rc != 0, out
    assert "[hsts:error]" in out and "intranet.example.test is pinned" \
        in out, out
    assert "HSTSLockoutCheck strict: 1 lockout problem(s), refusing to " \
        "start" in out, out
    h.allowed += [r"\[hsts:(error|crit)\].*HSTSLockoutCheck"]
    h.assert_start_refused("HSTSLockoutCheck strict: 1 lockout problem(s)")
    # the same served with warn
    h.configure(text.replace("HSTSLockoutCheck strict",
                             "HSTSLockoutCheck warn"))
    h.allowed.append(r"\[hsts:warn\].*HSTSLockoutCheck: vhost "
                     r"intranet.example.test")
    h.start()
    res = h.curl("/", host="example.test", args=["--cacert",
                                                 certs.root.cert])
    assert res.sts == [SUBS], res
    h.stop()


def test_each_check_refuses_on_its_own(h, certs):
    leaf = certs.leaf(["example.test"])
    lockout_problem = [vhost(h, "example.test", leaf, SUBS),
                       vhost(h, "intranet.example.test", None, tls=False)]
    # HSTSPreloadCheck strict does not refuse on a lockout problem
    rc, out = h.check_config(conf(h, certs, *lockout_problem,
                                  extra="HSTSPreloadCheck strict\n"))
    assert rc == 0 and "intranet.example.test is pinned" in out, out
    # HSTSLockoutCheck strict does not refuse on a preload problem
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", leaf, "max-age=300; preload"), check="strict"))
    assert rc == 0 and "preload requires" in out, out
    assert lockout_lines(out) == [], out


def test_off_reads_nothing(h, certs):
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", certs.self_signed("example.test"), SUBS),
        vhost(h, "intranet.example.test", None, tls=False), check="off"))
    assert rc == 0 and lockout_lines(out) == [], out
    assert kinds(dump(h)) == {}


def test_many_named_then_counted(h, certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    vhosts = []
    for i in range(8):
        name = "s%d.example.test" % i
        vhosts.append(vhost(h, name, certs.leaf(
            [name], start=now - 90 * DAY, end=now - DAY), POLICY))
    rc, out = h.check_config(conf(h, certs, *vhosts))
    lines = lockout_lines(out)
    assert len([l for l in lines if "expired on" in l]) == 5, out
    assert any("3 more like the above (lockout-expired)" in l
               for l in lines), out
    assert len(kinds(dump(h))["lockout-expired"]) == 8


def test_shared_certificate_told_once(h, certs):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = certs.leaf(["*.example.test"], start=now - 90 * DAY,
                      end=now - DAY)
    vhosts = [vhost(h, "s%d.example.test" % i, leaf, POLICY)
              for i in range(3)]
    rc, out = h.check_config(conf(h, certs, *vhosts))
    assert len(lockout_lines(out)) == 1, out
    # each vhost's DUMP_HSTS line says it
    assert len(kinds(dump(h))["lockout-expired"]) == 3


def test_mod_md(h, certs):
    md = os.path.join(harness.modules_dir(), "mod_md.so")
    if not os.path.exists(md):
        pytest.skip("no mod_md.so in this httpd")
    store = os.path.join(h.dir, "md")
    text = conf(h, certs, vhost(h, "example.test", None, POLICY),
                extra="LoadModule md_module %s\nMDomain example.test\n"
                      'MDStoreDir "%s"\nMDCertificateAgreement accepted\n'
                      % (md, store))
    rc, out = h.check_config(text)
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "HSTSLockoutCheck: hint:" in lines[0] and "mod_md (MDomain " \
        "example.test)" in lines[0] and "not checked" in lines[0], out
    # its store read when it has the certificate
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = certs.leaf(["example.test"], start=now - 90 * DAY,
                      end=now - DAY)
    d = os.path.join(store, "domains", "example.test")
    os.makedirs(d)
    shutil.copy(leaf[0], os.path.join(d, "pubcert.pem"))
    rc, out = h.check_config(text)
    lines = lockout_lines(out)
    assert len(lines) == 1 and "expired on" in lines[0] \
        and os.path.join(d, "pubcert.pem") in lines[0], out
    c = vhost_obj(dump(h), "example.test")["certificates"]
    assert c[0]["directive"] == "MDomain", c


@pytest.mark.parametrize("args,needle", [
    ("loud", "HSTSLockoutCheck: unknown value 'loud'"),
    ("warn expiry=soon", "unknown argument 'expiry=soon'"),
    ("warn expiry=", "unknown argument 'expiry='"),
    ("warn ca=/nonexistent/ca.pem", "'ca=/nonexistent/ca.pem': no such "
     "file"),
    ("warn colour=red", "unknown argument 'colour=red'"),
    ("warn expiry=3 expiry=4", "repeated 'expiry=4' (expiry= given more "
     "than once)"),
    ("warn ca=%(ca)s ca=%(ca)s", "repeated 'ca="),
])
def test_bad_values(h, args, needle):
    args = args % {"ca": h.pki.ca}
    h.assert_config_error(h.base_conf() + "HSTSLockoutCheck %s\n" % args,
                          "HSTSLockoutCheck", needle)


def test_global_only(h, certs):
    leaf = certs.leaf(["example.test"])
    out = h.assert_config_error(conf(h, certs, vhost(
        h, "example.test", leaf, POLICY, body="    HSTSLockoutCheck off")),
        "HSTSLockoutCheck")
    assert "VirtualHost" in out, out


def test_later_certificate_of_a_key_type_wins(h, certs):
    # mod_ssl keeps one certificate per key type: of two RSA ones the
    # later is served, so only its names count
    old = certs.leaf(["old.example.test"], newkey=("rsa:2048",))
    new = certs.leaf(["example.test"], newkey=("rsa:2048",))
    rc, out = h.check_config(conf(h, certs, vhost(
        h, "example.test", old, POLICY,
        body='    SSLCertificateFile "%s"\n    SSLCertificateKeyFile "%s"'
             % new)))
    assert rc == 0 and lockout_lines(out) == [], out
    assert [c["file"] for c in vhost_obj(dump(h), "example.test")
            ["certificates"]] == [new[0]]


def test_answered_by_another_wildcard(h, certs):
    leaf = certs.leaf(["example.test", "*.example.test"])
    rc, out = h.check_config(conf(
        h, certs, vhost(h, "example.test", leaf, SUBS),
        vhost(h, "shops.example.test", leaf, None,
              aliases=["shop-?.example.test"]),
        vhost(h, "shop-1.example.test", None, tls=False)))
    assert rc == 0 and lockout_lines(out) == [], out


def test_one_file_two_chains(h, certs):
    # the same certificate file with and without SSLCertificateChainFile:
    # verified once each way, the file read again for the second
    leaf = certs.leaf(["a.example.test", "b.example.test"], chain=False)
    rc, out = h.check_config(conf(
        h, certs,
        vhost(h, "a.example.test", leaf, POLICY,
              body='    SSLCertificateChainFile "%s"' % certs.inter.cert),
        vhost(h, "b.example.test", leaf, POLICY)))
    lines = lockout_lines(out)
    assert rc == 0 and len(lines) == 1, out
    assert "vhost b.example.test" in lines[0] and "does not verify" \
        in lines[0], out
    objs = dump(h)
    assert vhost_obj(objs, "a.example.test")["certificates"][0][
        "verified"] is True
    assert vhost_obj(objs, "b.example.test")["certificates"][0][
        "verified"] is False
