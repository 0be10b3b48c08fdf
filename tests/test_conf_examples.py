"""The shipped conf/ files are real configuration: each one passes
apachectl -t with the module (certificate paths pointed at the test CA's,
ports at free ones), and hsts.conf's commented directives are valid."""

import glob
import os
import re

import pytest

import harness

CONF = os.path.join(harness.REPO, "conf")
EXAMPLES = sorted(p for p in glob.glob(os.path.join(CONF, "*.conf")))


def adapt(h, text, preload=False):
    text = re.sub(r"SSLCertificateFile\s+\S+",
                  "SSLCertificateFile %s" % h.pki.cert, text)
    text = re.sub(r"SSLCertificateKeyFile\s+\S+",
                  "SSLCertificateKeyFile %s" % h.pki.key, text)
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
        assert "HSTSPreloadCheck" not in out, out


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
