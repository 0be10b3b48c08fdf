"""The shipped conf/ files are real configuration: each one passes
apachectl -t with the module (certificate paths pointed at the test CA's,
ports at free ones), and without it (the module disabled or removed: an
`apt remove` reloads httpd with the admin's files still in place), and
hsts.conf's commented directives are valid."""

import glob
import os
import re

import pytest

import harness

CONF = os.path.join(harness.REPO, "conf")
EXAMPLES = sorted(p for p in glob.glob(os.path.join(CONF, "*.conf")))


def recipe_cert(h, text):
    """(certificate, key) from the test CA for every name the recipe's
    vhosts give: the preload and lockout checks look at them."""
    names = sorted(set(re.findall(r"^\s*Server(?:Name|Alias)\s+(\S+)", text,
                                  flags=re.M)))
    cert = os.path.join(h.dir, "recipe.pem")
    key = os.path.join(h.dir, "recipe.key")
    csr = os.path.join(h.dir, "recipe.csr")
    ext = os.path.join(h.dir, "recipe.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % ",".join("DNS:" + n for n in names))
    for cmd in (["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                 "-out", csr, "-subj", "/CN=" + names[0]],
                ["x509", "-req", "-in", csr, "-CA", h.pki.ca, "-CAkey",
                 h.pki.ca_key, "-CAcreateserial", "-out", cert, "-days",
                 "90", "-extfile", ext]):
        res = harness.run(["openssl"] + cmd)
        assert res.returncode == 0, res.stderr
    for path in (cert, key):
        os.chmod(path, 0o644)
    return cert, key


def adapt(h, text, preload=False):
    cert, key = recipe_cert(h, text) if preload else (h.pki.cert, h.pki.key)
    text = re.sub(r"SSLCertificateFile\s+\S+",
                  "SSLCertificateFile %s" % cert, text)
    text = re.sub(r"SSLCertificateKeyFile\s+\S+",
                  "SSLCertificateKeyFile %s" % key, text)
    if preload:
        # the list's checker asks ports 80 and 443: only read, never
        # started, so nothing binds them
        return ("Listen 127.0.0.1:80\nListen 127.0.0.1:443\n"
                + text.replace("*:", "127.0.0.1:"))
    text = text.replace("*:443", "127.0.0.1:%d" % h.tls_port)
    text = text.replace("${APACHE_LOG_DIR}", h.dir)
    return text.replace("*:80", "127.0.0.1:%d" % h.plain_port)


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_passes_config_test(server_factory, path):
    h = server_factory("conf")
    with open(path) as f:
        text = adapt(h, f.read(),
                     os.path.basename(path) == "preload-ready.conf")
    rc, out = h.check_config(h.base_conf() + text)
    assert rc == 0, out
    assert "Syntax OK" in out, out
    if os.path.basename(path) == "preload-ready.conf":
        # ready for the list, with certificates that cover every name
        assert "HSTSPreloadCheck" not in out, out
        assert "HSTSLockoutCheck" not in out, out


def unwrap(text):
    """`text` without its <IfModule hsts_module> lines and their closing
    tags: what the recipes would be without the guard."""
    out, closing = [], []
    for line in text.splitlines():
        if line.strip() == "<IfModule hsts_module>":
            closing.append(line[:len(line) - len(line.lstrip())]
                           + "</IfModule>")
            continue
        if closing and line.rstrip() == closing[-1]:
            closing.pop()
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def without_module(h, text):
    return h.check_config(h.base_conf(hsts=False, log_level="warn") + text)


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_loads_without_module(server_factory, path):
    """Every HSTS directive of a recipe sits in <IfModule hsts_module>: the
    file passes apachectl -t with no mod_hsts loaded.  Where it has live
    directives, the same file unwrapped fails there, so the check above
    is not vacuous."""
    h = server_factory("conf-nomod")
    with open(path) as f:
        text = adapt(h, f.read())
    rc, out = without_module(h, text)
    assert rc == 0 and "Syntax OK" in out, out
    if re.search(r"^\s*HSTS\w+", text, flags=re.M):
        rc, out = without_module(h, unwrap(text))
        assert rc != 0 and "Invalid command 'HSTS" in out, out


@pytest.mark.parametrize("hsts", [True, False], ids=["module", "no-module"])
def test_tenant_htaccess_guarded(server_factory, hsts):
    """shared-hosting.conf's AllowOverrideList lets a tenant guard the
    .htaccess lines with <IfModule hsts_module>: with the module they
    apply, without it the directory is still served (an unguarded
    HSTSPolicy would answer 500)."""
    with open(os.path.join(CONF, "shared-hosting.conf")) as f:
        allow = re.search(r"^\s*(AllowOverrideList .*)$", f.read(),
                          flags=re.M).group(1)
    h = server_factory("conf-tenant")
    h.write("t/index.html", "tenant\n")
    h.write("t/.htaccess", '<IfModule hsts_module>\n'
            '    HSTSPolicy "max-age=600"\n</IfModule>\n')
    h.write("u/index.html", "tenant\n")
    h.write("u/.htaccess", 'HSTSPolicy "max-age=600"\n')
    dirs = "".join('<Directory "%s/%s">\n    AllowOverride None\n    %s\n'
                   "</Directory>\n" % (h.docroot, d, allow) for d in "tu")
    base = (h.base_conf() if hsts
            else h.base_conf(hsts=False, log_level="warn"))
    h.configure(base + h.tls_vhost(dirs))
    h.start()
    res = h.curl("/t/")
    assert res.status == 200, res
    assert res.sts == (["max-age=600"] if hsts else []), res
    if not hsts:
        h.allowed.append(r"\[core:alert\].*/u/\.htaccess: Invalid command "
                         r"'HSTSPolicy'")
        assert h.curl("/u/").status == 500


def test_hsts_conf_commented_directives_are_valid(server_factory):
    """Uncomment every `#HSTS...` line of hsts.conf: still Syntax OK."""
    h = server_factory("conf-uncommented")
    with open(os.path.join(CONF, "hsts.conf")) as f:
        text = re.sub(r"^(\s*)#(\s*</?(HSTS|Location)\b)", r"\1\2",
                      f.read(), flags=re.M)
    assert text.count("HSTSPolicy") >= 3
    rc, out = h.check_config(h.base_conf() + text)
    assert rc == 0, out


def test_load_file_names_the_module():
    with open(os.path.join(CONF, "hsts.load")) as f:
        assert re.search(r"^LoadModule hsts_module \S+/mod_hsts\.so$",
                         f.read(), flags=re.M)
