"""One version, visible everywhere: include/mod_hsts_version.h is the only
place it is written; httpd's error log names it once per start (and per
restart), however many virtual hosts there are; `apachectl -t -D
DUMP_HSTS` has it in the main server's object, the first line; CHANGES,
debian/changelog and README.md agree with it (scripts/version.sh check,
which `make dist` and the package build also run)."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import harness

HEADER = os.path.join(harness.REPO, "include", "mod_hsts_version.h")
CHECK = os.path.join(harness.REPO, "scripts", "version.sh")


def header_version():
    with open(HEADER) as f:
        m = re.search(r'^#define MOD_HSTS_VERSION "(\d+\.\d+\.\d+)"$',
                      f.read(), re.M)
    assert m, "no MOD_HSTS_VERSION in %s" % HEADER
    return m.group(1)


VERSION = header_version()
NOTICE = re.compile(r"^\[[^\]]*\] \[hsts:notice\] \[pid \d+[^\]]*\] "
                    r"mod_hsts (\S+) loaded$")
READY = "resuming normal operations"


def several_vhosts(h):
    """The main server, two name-based TLS vhosts on one address and a
    plain-HTTP one: a per-vhost or per-reading log line would show."""
    return (h.base_conf()
            + h.tls_vhost('HSTSPolicy "max-age=300"')
            + h.tls_vhost('HSTSPolicy "max-age=600"',
                          server_name="other.test", aliases="*.other.test")
            + h.plain_vhost("HSTSRedirect on"))


def wait_for(h, needle, count, timeout=15):
    deadline = time.time() + timeout
    while True:
        n = h.read_log().count(needle)
        if n >= count or time.time() > deadline:
            return n
        time.sleep(0.05)


def notices(h):
    return [m.group(1) for m in map(NOTICE.match, h.read_log().splitlines())
            if m]


def test_version_is_semantic_and_0x():
    major, minor, patch = (int(x) for x in VERSION.split("."))
    # 0.x while directives may still change
    assert major == 0 and (minor, patch) >= (1, 0)


def test_startup_log_names_version_once(server_factory):
    h = server_factory("version-log")
    h.configure(several_vhosts(h))
    h.start()
    assert wait_for(h, READY, 1) == 1, h.read_log()
    # httpd read the configuration twice; one line, from the reading that
    # serves, and none per virtual host
    assert notices(h) == [VERSION], h.read_log()
    assert h.curl("/").sts == ["max-age=300"]

    # a graceful restart reads the configuration again: one more line
    h.proc.send_signal(signal.SIGUSR1)
    assert wait_for(h, READY, 2) == 2, h.read_log()
    assert notices(h) == [VERSION, VERSION], h.read_log()
    assert h.curl("/").sts == ["max-age=300"]


def test_config_test_logs_no_version_line(server_factory):
    """apachectl -t runs no post_config: nothing is loaded to serve."""
    h = server_factory("version-t")
    rc, out = h.check_config(several_vhosts(h))
    assert rc == 0, out
    assert "mod_hsts %s loaded" % VERSION not in out, out


def test_dump_first_line_has_version(server_factory):
    h = server_factory("version-dump")
    h.configure(several_vhosts(h))
    res = harness.run([harness.httpd_binary(), "-t", "-D", "DUMP_HSTS",
                       "-f", h.conf_path], env=harness.httpd_env())
    assert res.returncode == 0, res.stdout + res.stderr
    objs = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
    assert len(objs) >= 4, res.stdout
    first = objs[0]
    assert first["type"] == "vhost" and first["main_server"] is True
    assert first["version"] == VERSION
    # the main server's object only
    assert [o for o in objs[1:] if "version" in o] == []


# -- the files that name the version ---------------------------------------

VERSION_FILES = ["scripts/version.sh", "include/mod_hsts_version.h",
                 "CHANGES", "debian/changelog", "README.md"]


def run_check(top):
    return subprocess.run(["sh", os.path.join(top, "scripts", "version.sh"),
                           "check"], capture_output=True, text=True)


def test_files_agree_with_header():
    res = run_check(harness.REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "version %s:" % VERSION in res.stdout
    out = subprocess.run(["sh", CHECK], capture_output=True, text=True)
    assert out.stdout.strip() == VERSION


def bump(v):
    major, minor, patch = v.split(".")
    return "%s.%s.%d" % (major, minor, int(patch) + 1)


@pytest.mark.parametrize("path,old,new,needle", [
    ("CHANGES", "Changes with mod_hsts %s" % VERSION,
     "Changes with mod_hsts %s" % bump(VERSION), "CHANGES' newest section"),
    ("debian/changelog", "libapache2-mod-hsts (%s-" % VERSION,
     "libapache2-mod-hsts (%s-" % bump(VERSION), "debian/changelog"),
    ("debian/changelog", "libapache2-mod-hsts (%s-1)" % VERSION,
     "libapache2-mod-hsts (%s)" % VERSION, "expected %s-N" % VERSION),
    ("README.md", "Version %s." % VERSION, "Version %s." % bump(VERSION),
     "README.md names version %s" % bump(VERSION)),
    ("README.md", "mod_hsts-%s.tar.gz" % VERSION,
     "mod_hsts-%s.tar.gz" % bump(VERSION), "README.md names version"),
    ("include/mod_hsts_version.h", '"%s"' % VERSION, '"%s"' % bump(VERSION),
     "the header says %s" % bump(VERSION)),
])
def test_check_catches_a_second_number(tmp_path, path, old, new, needle):
    """Each file that names the version, changed alone, fails the check
    with a message naming it."""
    for rel in VERSION_FILES:
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(harness.REPO, rel), dst)
    assert run_check(str(tmp_path)).returncode == 0
    target = tmp_path / path
    text = target.read_text()
    assert old in text, "%s does not say %r" % (path, old)
    target.write_text(text.replace(old, new, 1))
    res = run_check(str(tmp_path))
    assert res.returncode != 0, res.stdout
    assert needle in res.stderr, res.stderr
