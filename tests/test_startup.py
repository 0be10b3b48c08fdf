"""Startup findings on every way httpd starts, as production starts it.

httpd reads its configuration twice: the first reading still has the
terminal (or systemd's journal) on stderr, the second runs after the MPM
detached and before the error log is open.  mod_hsts tells the terminal
from the first reading when the server will detach (`-k start`, which
`apachectl start` and Debian's apache2.service run), the error log from
every reading that serves (start, restart, graceful), and refuses
(`strict`) on the first reading, before anything detaches or listens.
A process that only signals (-k graceful, -k stop) never says what the
server it signals will say, never refuses to stop one, and refuses to
restart one only with a configuration the restart would refuse.

Each test runs on the event and the prefork MPM, with httpd started as
a daemon (`-k start`, the pid file, `-k stop`)."""

import os
import re
import signal
import subprocess
import time

import pytest

import harness

BAD = "max-age=300; preload"            # two preload problems
FINDINGS = ["preload requires includeSubDomains",
            "preload requires max-age of at least 31536000"]
REFUSAL = "HSTSPreloadCheck strict: 2 preload problem(s), refusing to start"
LOADED = "mod_hsts %s loaded"


def mpm_modules(mpm):
    mods = [m for m in harness.BASE_MODULES if m != "mpm_event"]
    if mpm == "prefork":
        # mod_http2 does not run on prefork, and says so at every start
        mods.remove("http2")
    return ["mpm_" + mpm] + mods


@pytest.fixture(params=["event", "prefork"])
def mpm(request):
    if "mpm" not in harness.builtin_modules() and not os.path.exists(
            os.path.join(harness.modules_dir(),
                         "mod_mpm_%s.so" % request.param)):
        pytest.skip("this httpd has no %s MPM (an upstream build with "
                    "only event: make matrix)" % request.param)
    if "mpm" in harness.builtin_modules() and request.param != "event":
        pytest.skip("this httpd has its MPM built in")
    return request.param


@pytest.fixture
def h(server_factory, mpm):
    h = server_factory("startup-" + mpm)
    h.mpm = mpm
    h.write("index.html", "startup\n")
    return h


def config(h, check="warn", policy=BAD, extra=""):
    text = h.base_conf(modules=mpm_modules(h.mpm),
                       extra="HSTSPreloadCheck %s\n%s" % (check, extra))
    vhost = h.tls_vhost('HSTSPolicy "%s"' % policy)
    if h.mpm == "prefork":
        vhost = vhost.replace("Protocols h2 http/1.1", "")
    return text + vhost


def count(text, needle):
    return len([l for l in text.splitlines() if needle in l])


def version():
    return harness.run(["sh", os.path.join(harness.REPO, "scripts",
                                           "version.sh")]).stdout.strip()


def allow_findings(h):
    h.allowed.append(r"\[hsts:warn\].*HSTSPreloadCheck")


def assert_nothing_left(h):
    """No process, no pid file, no listening socket."""
    assert not os.path.exists(h.pid_file), h.pid_file
    assert not h.listening(h.tls_port) and not h.listening(h.plain_port)
    ps = harness.run(["pgrep", "-f", h.conf_path])
    assert ps.stdout.strip() == "", ps.stdout


def test_daemon_start_tells_terminal_and_log_once(h):
    h.configure(config(h))
    allow_findings(h)
    res = h.start_daemon()
    h.wait_generation(1)
    for needle in FINDINGS:
        assert count(res.stderr, needle) == 1, res.stderr
        assert count(h.read_log(), needle) == 1, h.read_log()
    # the vhost and the file:line of the policy on the terminal
    assert re.search(r"vhost hsts\.test \(%s:\d+\), HSTSPolicy at %s:\d+"
                     % (re.escape(h.conf_path), re.escape(h.conf_path)),
                     res.stderr), res.stderr
    # notices (the version line) go to the error log only
    assert LOADED % version() not in res.stderr, res.stderr
    assert count(h.read_log(), LOADED % version()) == 1, h.read_log()
    assert res.stdout == "", res.stdout
    r = h.curl("/")
    assert r.status == 200 and r.sts == [BAD], r


def test_graceful_tells_log_once_terminal_nothing(h):
    h.configure(config(h))
    allow_findings(h)
    h.start_daemon()
    h.wait_generation(1)
    for action, gen in (("graceful", 2), ("restart", 3)):
        res = h.k(action)
        assert res.returncode == 0, res
        h.wait_generation(gen)
        assert res.stdout == "" and "hsts" not in res.stderr, res
        log = h.read_log()
        for needle in FINDINGS:
            assert count(log, needle) == gen, log
        assert count(log, LOADED % version()) == gen, log
    res = h.stop_daemon()
    assert res.returncode == 0 and "hsts" not in res.stderr, res
    assert h.daemon_pid() is None


@pytest.mark.parametrize("how", ["-k start", "-DFOREGROUND", "-X"])
def test_strict_refuses_before_detaching(h, how):
    h.configure(config(h, "strict"))
    res = harness.run([harness.httpd_binary(), "-f", h.conf_path]
                      + how.split(), env=harness.httpd_env(),
                      timeout=harness.START_TIMEOUT * 4)
    assert res.returncode != 0, res
    for needle in FINDINGS:
        assert count(res.stderr, needle) == 1, res.stderr
    assert re.search(r"\[hsts:error\].*vhost hsts\.test \(%s:\d+\), "
                     r"HSTSPolicy at %s:\d+"
                     % (re.escape(h.conf_path), re.escape(h.conf_path)),
                     res.stderr), res.stderr
    assert count(res.stderr, REFUSAL) == 1, res.stderr
    assert "AH00014: Configuration check failed" in res.stderr, res.stderr
    assert_nothing_left(h)
    # nothing reached an error log: no server came up to open one
    assert h.read_log() == "", h.read_log()


@pytest.mark.parametrize("how", ["-DFOREGROUND", "-X"])
def test_foreground_tells_the_log_only(h, how):
    h.configure(config(h))
    allow_findings(h)
    # httpd -X started as root: mod_cgid's daemon, already run_as(),
    # cannot remove its socket at shutdown
    h.allowed.append(r"\[cgid:error\].*AH01240")
    proc = subprocess.Popen([harness.httpd_binary(), "-f", h.conf_path,
                             how], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=harness.httpd_env(),
                            # prefork signals its whole process group
                            start_new_session=True)
    try:
        deadline = time.time() + harness.START_TIMEOUT
        while time.time() < deadline and not (h.listening() and (
                LOADED % version()) in h.read_log()):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=harness.START_TIMEOUT)
    assert "hsts" not in out + err, out + err
    for needle in FINDINGS:
        assert count(h.read_log(), needle) == 1, h.read_log()


def test_graceful_into_strict_keeps_serving(h):
    """-k graceful with a configuration that now fails strict refuses
    before it signals: the server keeps serving the old one.  A raw
    SIGUSR1 cannot be refused: the parent re-reads, refuses in the error
    log and exits, as httpd does for any configuration error then."""
    h.configure(config(h, "strict",
                       policy="max-age=31536000; includeSubDomains"))
    h.start_daemon()
    h.wait_generation(1)
    pid = h.daemon_pid()
    h.configure(config(h, "strict"))
    res = h.k("graceful")
    assert res.returncode != 0, res
    for needle in FINDINGS + [REFUSAL]:
        assert count(res.stderr, needle) == 1, res.stderr
    time.sleep(0.5)
    assert h.daemon_pid() == pid
    r = h.curl("/")
    assert r.status == 200 and r.sts == ["max-age=31536000; "
                                         "includeSubDomains"], r
    assert "SIGUSR1" not in h.read_log() and REFUSAL not in h.read_log()
    # stopping is never refused, whatever the configuration says now
    res = h.stop_daemon()
    assert res.returncode == 0 and "hsts" not in res.stderr, res
    assert h.daemon_pid() is None and not h.listening()


def test_stop_never_refused_whatever_the_command_line(h):
    """-k stop is found however long the command line is (a -D of 9000
    characters before it): never refused."""
    h.configure(config(h, "strict",
                       policy="max-age=31536000; includeSubDomains"))
    h.start_daemon()
    h.wait_generation(1)
    pid = h.daemon_pid()
    h.configure(config(h, "strict"))
    res = harness.run([harness.httpd_binary(), "-f", h.conf_path,
                       "-D", "X" * 9000, "-k", "stop"],
                      env=harness.httpd_env())
    assert res.returncode == 0 and "hsts" not in res.stderr, res
    assert h.wait_exit(pid) and h.daemon_pid() is None
    h.daemon = False


def test_raw_sigusr1_into_strict_stops_and_says_why(h):
    h.configure(config(h, "strict",
                       policy="max-age=31536000; includeSubDomains"))
    h.start_daemon()
    h.wait_generation(1)
    pid = h.daemon_pid()
    h.configure(config(h, "strict"))
    os.kill(pid, signal.SIGUSR1)
    assert h.wait_exit(pid), "httpd still running:\n" + h.read_log()
    log = h.read_log()
    for needle in FINDINGS + [REFUSAL]:
        assert count(log, needle) == 1, log
    assert "AH00020: Configuration Failed, exiting" in log, log
    h.daemon = False
    allow_findings(h)
    h.allowed += [r"\[hsts:(error|crit)\]",
                  r"\[(core)?:emerg\].*AH00020"]


def test_rollout_without_policy_heard_once_each_place(h):
    """Every startup message: a warning (roll-out with nothing to roll
    out to) on the terminal and in the log, a notice (where a roll-out
    stands) in the log only, each once."""
    text = config(h, policy="max-age=31536000")
    text += h.plain_vhost("HSTSRollout start=2020-01-01", server_name="a."
                          + harness.DOMAIN, aliases="b." + harness.DOMAIN)
    text = text.replace('HSTSPolicy "max-age=31536000"',
                        'HSTSPolicy "max-age=31536000"\n'
                        '    HSTSRollout start=2020-01-01')
    h.configure(text)
    h.allowed.append(r"\[hsts:warn\].*no HSTSPolicy to roll out to")
    res = h.start_daemon()
    h.wait_generation(1)
    log = h.read_log()
    assert count(res.stderr, "no HSTSPolicy to roll out to") == 1, res
    assert count(log, "no HSTSPolicy to roll out to") == 1, log
    assert len(re.findall(r"HSTSRollout vhost hsts\.test \([^)]*\): "
                          r"complete", log)) == 1, log
    assert "HSTSRollout vhost" not in res.stderr, res.stderr
