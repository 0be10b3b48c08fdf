#!/usr/bin/env python3
"""make demo: a throwaway httpd serving HTTPS on loopback with mod_hsts.

Makes a CA and a certificate for hsts.test, starts httpd with the freshly
built module (the same harness the tests use), shows the header on a 200,
a 404 and a 401 over HTTPS and its absence over plain HTTP, then stops.
DEMO_KEEP=1 leaves the server running until Enter is pressed.
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests"))
import harness  # noqa: E402

POLICY = """
    # The whole of mod_hsts' configuration for this site:
    HSTSPolicy "max-age=31536000; includeSubDomains"

"""


def show(label, res):
    sts = res.sts
    shown = sts[0] if len(sts) == 1 else ("(none)" if not sts else sts)
    print("  %-34s %s  Strict-Transport-Security: %s"
          % (label, res.status, shown))
    return sts


def main():
    pki = harness.make_pki("demo")
    h = harness.Httpd(pki, "demo")
    h.write("index.html", "<h1>mod_hsts demo</h1>\n")
    body = POLICY + h.basic_auth("/private")
    h.configure(h.base_conf() + h.tls_vhost(body) + h.plain_vhost(body))
    h.start()
    ok = True
    try:
        print("httpd running with %s" % h.conf_path)
        print("HTTPS on 127.0.0.1:%d, plain HTTP on 127.0.0.1:%d, "
              "as %s\n" % (h.tls_port, h.plain_port, harness.DOMAIN))
        want = ["max-age=31536000; includeSubDomains"]
        ok &= show("https  GET /", h.curl("/")) == want
        ok &= show("https  GET /missing", h.curl("/missing")) == want
        ok &= show("https  GET /private/", h.curl("/private/")) == want
        ok &= show("http   GET /", h.curl("/", tls=False)) == []
        ok &= show("http   GET /missing", h.curl("/missing",
                                                  tls=False)) == []
        if os.environ.get("DEMO_KEEP") and sys.stdin.isatty():
            print("\nTry it yourself:\n  curl -sI --cacert %s --resolve "
                  "%s:%d:127.0.0.1 https://%s:%d/"
                  % (pki.ca, harness.DOMAIN, h.tls_port, harness.DOMAIN,
                     h.tls_port))
            input("\nServer left running; press Enter to stop it. ")
    finally:
        h.stop()
        bad = h.unexpected_log_lines()
        if bad:
            ok = False
            print("unexpected error log lines:\n" + "\n".join(bad))
        h.cleanup()
        shutil.rmtree(pki.dir, ignore_errors=True)
    print("\ndemo %s; httpd stopped." % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
