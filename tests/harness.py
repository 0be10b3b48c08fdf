"""Real-httpd test harness for mod_hsts.

Builds nothing itself (conftest builds the module once with make); makes a
throwaway CA, writes an httpd.conf per test module that loads the freshly
built .libs/mod_hsts.so, starts httpd on free loopback ports, and drives it
with curl and raw TLS sockets.  Every server stop checks the error log for
unexpected [warn]/[error] lines.
"""

import functools
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# make asan / make valgrind / make matrix point these at another build.
MODULE = os.environ.get("HSTS_MODULE") or os.path.join(REPO, ".libs",
                                                       "mod_hsts.so")
# The httpd to test against is the one this apxs was installed with (make
# matrix: an upstream release's); by default the one on PATH.
APXS = os.environ.get("HSTS_APXS", "")
HTTPD_PRELOAD = os.environ.get("HSTS_HTTPD_PRELOAD", "")
# make valgrind: run httpd as one process (-X) under this command.
HTTPD_WRAPPER = os.environ.get("HSTS_HTTPD_WRAPPER", "").split()
START_TIMEOUT = 120 if HTTPD_WRAPPER else 15
DOMAIN = "hsts.test"
STS = "strict-transport-security"


def in_ci():
    """CI says so (.ci/run exports CI=1): there a missing tool fails."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _apxs():
    if APXS:
        return APXS
    for name in ("apxs", "apxs2"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("apxs not found: install apache2-dev "
                       "(scripts/deps.sh test does)")


@functools.lru_cache(maxsize=None)
def apxs_query(var):
    return subprocess.check_output([_apxs(), "-q", var], text=True).strip()


def httpd_binary():
    return os.path.join(apxs_query("SBINDIR"), apxs_query("PROGNAME"))


def modules_dir():
    return apxs_query("LIBEXECDIR")


@functools.lru_cache(maxsize=None)
def httpd_version():
    """The release under test as a tuple, from `httpd -v`: (2, 4, 71);
    trunk's 2.5.1-dev is (2, 5, 1)."""
    out = subprocess.check_output([httpd_binary(), "-v"], text=True)
    m = re.search(r"Apache/(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise RuntimeError("no version in `%s -v`: %s" % (httpd_binary(),
                                                          out))
    return tuple(int(x) for x in m.groups())


# Where httpd itself sends none of the headers modules set (a `Header
# always set` control included), by release: nothing mod_hsts could do.
# kind: (first release that lets them through, whether the response is
# empty before it).  Measured with make matrix on the releases in
# shared/httpd-src; where httpd's CHANGES names the fix, that release.
HTTPD_DROPS = {
    # HTTP/1.1 304: the header filter kept only a fixed list (ETag,
    # Date...).  2.4.41 drops, 2.4.48 keeps; CHANGES 2.4.47, PR 61820.
    "h1-304": ((2, 4, 47), False),
    # HTTP/2 431 (too many or too long headers): mod_http2 answered without
    # output filters.  2.4.41 drops, 2.4.48 keeps; CHANGES 2.4.47.
    "h2-431": ((2, 4, 47), False),
    # HTTP/2 304: mod_http2 kept only a fixed list.  2.4.48 drops, 2.4.52
    # keeps.
    "h2-304": ((2, 4, 52), False),
    # A 408 over TLS (request read timeout): mod_ssl sends nothing at all.
    # 2.4.48 sends nothing, 2.4.52 the 408.
    "tls-408": ((2, 4, 52), True),
}


def httpd_drops_headers(kind):
    """True when the httpd under test sends no module's header on
    responses of `kind` (a key of HTTPD_DROPS)."""
    return httpd_version() < HTTPD_DROPS[kind][0]


# The control header: tests of the kinds above set it with mod_headers
# (`PROBE_CONF` in the vhost) to prove what httpd let through.
PROBE = "x-probe"
PROBE_CONF = 'Header always set X-Probe "control"'

# conftest points this at the running test's item, so that a result that
# holds only for the release under test is counted as such (make matrix's
# expected-by-release column, from the JUnit XML properties).
current_test = None


def note_expected_by_release(kind):
    entry = ("expected_by_release", kind)
    if current_test is not None and entry not in \
            current_test.user_properties:
        current_test.user_properties.append(entry)


def expect_sts(res, status, want, kind=None):
    """`res` has `status` and exactly the STS values `want`, unless the
    release under test drops every module's header on responses of `kind`:
    then the control header (PROBE_CONF) must be missing too (an empty
    response where httpd sends nothing at all), and the test counts as
    expected-by-release.  Where the release lets headers through, the
    control must be there, so that its absence elsewhere means something.
    """
    if kind and httpd_drops_headers(kind):
        note_expected_by_release(kind)
        empty = HTTPD_DROPS[kind][1]
        assert res.status == (None if empty else status), res
        assert res.all(PROBE) == [] and res.sts == [], res
        return
    assert res.status == status, res
    assert res.sts == want, res
    if kind:
        assert res.all(PROBE) == ["control"], res


def free_ports(n):
    """n distinct free loopback ports: every probe socket stays open until
    all are picked, or the kernel may hand out the same port twice."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def httpd_env():
    """The environment httpd runs in: the sanitizer runtime, if any, is
    preloaded into httpd alone, not into curl or openssl."""
    env = dict(os.environ)
    if HTTPD_PRELOAD:
        env["LD_PRELOAD"] = HTTPD_PRELOAD
    return env


class PKI:
    """A throwaway CA and one server certificate for the test domains."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key = os.path.join(directory, "ca.key")
        self.ca = os.path.join(directory, "ca.pem")
        self.key = os.path.join(directory, "server.key")
        self.cert = os.path.join(directory, "server.pem")
        self._make()

    def _openssl(self, *args):
        res = run(["openssl"] + list(args))
        if res.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0],
                                                           res.stderr))

    def _make(self):
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                      "-keyout", self.ca_key, "-out", self.ca, "-days", "365",
                      "-subj", "/CN=mod_hsts test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(self.dir, "server.csr")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes",
                      "-keyout", self.key, "-out", csr,
                      "-subj", "/CN=" + DOMAIN)
        ext = os.path.join(self.dir, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:%s,DNS:*.%s,DNS:other.test,"
                    "DNS:*.other.test,DNS:nothing.invalid,DNS:localhost,"
                    "IP:127.0.0.1,IP:::1\n"
                    % (DOMAIN, DOMAIN))
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca,
                      "-CAkey", self.ca_key, "-CAcreateserial",
                      "-out", self.cert, "-days", "365", "-extfile", ext)
        for path in (self.key, self.cert, self.ca):
            os.chmod(path, 0o644)


def make_pki(name):
    """A PKI in a fresh directory the httpd children can read."""
    d = tempfile.mkdtemp(prefix="hsts-%s-pki-" % name)
    os.chmod(d, 0o755)
    return PKI(d)


def start_backend(pki, name):
    """A started httpd without mod_hsts serving backend_vhost(): what
    mod_proxy talks to when the backend must be a process of its own."""
    backend = Httpd(pki, name)
    backend.configure(backend.base_conf(hsts=False, log_level="warn")
                      + backend.backend_vhost())
    return backend.start()


BASE_MODULES = [
    "mpm_event", "authz_core", "authz_host", "authz_user", "authn_core",
    "authn_file", "auth_basic", "mime", "dir", "alias", "rewrite", "ssl",
    "socache_shmcb", "http2", "proxy", "proxy_http", "cgid", "cache",
    "cache_socache", "headers", "setenvif", "env", "reqtimeout", "userdir",
]

# Lines any httpd start may log that say nothing about mod_hsts.
ALWAYS_ALLOWED = [
    r"AH00558",                          # ServerName guess (unused here)
]
if HTTPD_WRAPPER:
    # httpd -X started as root: mod_cgid's daemon, already run_as(), cannot
    # remove its socket at shutdown.
    ALWAYS_ALLOWED.append(r"\[cgid:error\].*AH01240")


def release_allowed():
    """Log lines the release under test writes by itself: before 2.4.49
    the event MPM could leave a child in lingering close when told to
    stop, and its parent then says so (httpd's CHANGES 2.4.49, "Fix
    graceful stop/restart of children processes if connections are in
    lingering close for too long", PR 63169)."""
    if httpd_version() < (2, 4, 49):
        return [r"AH0004[56]: child process \d+ still did not exit"]
    return []

@functools.lru_cache(maxsize=None)
def builtin_modules():
    """What `httpd -l` lists as compiled in: {"log_config", "unixd",
    ...}, and "mpm" when an MPM is (Debian builds in mod_log_config and
    mod_unixd; upstream's reallyall build has them, and the MPM, as .so)."""
    out = subprocess.check_output([httpd_binary(), "-l"], text=True)
    names = set()
    for line in out.splitlines():
        name = line.strip()
        if name in ("event.c", "worker.c", "prefork.c"):
            names.add("mpm")
        elif name.startswith("mod_") and name.endswith(".c"):
            names.add(name[4:-2])
    return names


def load_lines(modules):
    """LoadModule lines for `modules`, plus the ones every config here
    needs that this httpd does not have built in; none for built-ins."""
    builtin = builtin_modules()
    wanted = []
    for m in ["log_config", "unixd"] + list(modules):
        if m in builtin or (m.startswith("mpm_") and "mpm" in builtin) \
                or m in wanted:
            continue
        if m in ("log_config", "unixd") and not os.path.exists(
                os.path.join(modules_dir(), "mod_%s.so" % m)):
            continue
        wanted.append(m)
    return ["LoadModule %s_module %s/mod_%s.so" % (m, modules_dir(), m)
            for m in wanted]


def mime_types():
    """The mime.types this httpd installed (upstream: under its prefix),
    else the system's (Debian's apache2 uses media-types')."""
    own = os.path.join(apxs_query("SYSCONFDIR"), "mime.types")
    return own if os.path.exists(own) else "/etc/mime.types"


@functools.lru_cache(maxsize=None)
def run_as():
    """(User, Group) for children of an httpd started as root: what this
    httpd's own httpd.conf says (upstream: daemon) when that account
    exists, else www-data (Debian), daemon or nobody, whichever exists."""
    import grp
    import pwd
    said = {}
    conf = os.path.join(apxs_query("SYSCONFDIR"), "httpd.conf")
    if os.path.exists(conf):
        with open(conf, errors="replace") as f:
            for line in f:
                m = re.match(r"\s*(User|Group)\s+([\w.-]+)\s*$", line)
                if m:
                    said[m.group(1)] = m.group(2)

    def exists(db, name):
        try:
            db(name)
            return True
        except KeyError:
            return False

    user = next(u for u in [said.get("User"), "www-data", "daemon",
                            "nobody"] if u and exists(pwd.getpwnam, u))
    group = said.get("Group")
    if not group or not exists(grp.getgrnam, group):
        group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    return user, group


# "[:emerg]" too: httpd 2.4 logs some of its own lines without a module.
LOG_LEVEL_RE = re.compile(r"^\[[^\]]*\] \[(\w*):(warn|error|crit|alert|"
                          r"emerg)\]")


class Httpd:
    """One httpd instance: its own directory, config, ports and logs."""

    def __init__(self, pki, name="httpd", path=None):
        self.pki = pki
        if path:
            # the benchmark runs every configuration in one directory:
            # path lengths change what strcmp and friends cost
            os.makedirs(path)
            self.dir = path
        else:
            self.dir = tempfile.mkdtemp(prefix="hsts-%s-" % name)
        # Children run as run_as() when we are root: everything they read
        # must be reachable.
        os.chmod(self.dir, 0o755)
        self.docroot = os.path.join(self.dir, "htdocs")
        os.makedirs(self.docroot)
        (self.tls_port, self.plain_port, self.backend_port,
         self.dead_port) = free_ports(4)
        self.conf_path = os.path.join(self.dir, "httpd.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.proc = None
        self.allowed = list(ALWAYS_ALLOWED) + release_allowed()
        self.log_offset = 0

    def spare_ports(self, n):
        """n more free loopback ports, none of this server's own (the
        kernel may hand out again a port picked and closed before)."""
        taken = (self.tls_port, self.plain_port, self.backend_port,
                 self.dead_port)
        return [p for p in free_ports(n + 4) if p not in taken][:n]

    def spare_port(self):
        return self.spare_ports(1)[0]

    # -- files -----------------------------------------------------------
    def write(self, relpath, content, mode=0o644):
        path = os.path.join(self.docroot, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        for d in _parents(os.path.dirname(path), self.docroot):
            os.chmod(d, 0o755)
        return path

    # -- config ----------------------------------------------------------
    def base_conf(self, modules=None, extra="", log_level="warn hsts:debug",
                  hsts=True):
        lines = [
            'ServerRoot "%s"' % self.dir,
            'DefaultRuntimeDir "%s"' % self.dir,
            'PidFile "%s/httpd.pid"' % self.dir,
            'ErrorLog "%s"' % self.error_log,
            "LogLevel %s" % log_level,
            'LogFormat "%h \\"%r\\" %>s %{hsts}n" hsts',
            'CustomLog "%s" hsts' % self.access_log,
            "ServerName %s" % DOMAIN,
            'TypesConfig "%s"' % mime_types(),
            '<IfModule cgid_module>\n    ScriptSock "%s/cgid.sock"\n'
            '</IfModule>' % self.dir,
            "Listen 127.0.0.1:%d" % self.tls_port,
            "Listen 127.0.0.1:%d" % self.plain_port,
            "Listen 127.0.0.1:%d" % self.backend_port,
            "SSLSessionCache shmcb:%s/ssl_scache(512000)" % self.dir,
            "StartServers 1",
            "TraceEnable on",
        ]
        if os.geteuid() == 0:
            lines += ["User %s" % run_as()[0], "Group %s" % run_as()[1]]
        mods = load_lines(modules or BASE_MODULES)
        if hsts:
            mods.append("LoadModule hsts_module %s" % MODULE)
            # the test CA is a private one: HSTSLockoutCheck trusts it
            # (a later HSTSLockoutCheck line in `extra` wins)
            lines.append('HSTSLockoutCheck warn "ca=%s"' % self.pki.ca)
        return "\n".join(mods + lines) + "\n" + extra + "\n"

    def tls_vhost(self, body, server_name=DOMAIN, aliases="*.%s" % DOMAIN):
        return """
<VirtualHost 127.0.0.1:%d>
    ServerName %s
    ServerAlias %s
    DocumentRoot "%s"
    SSLEngine on
    SSLCertificateFile "%s"
    SSLCertificateKeyFile "%s"
    Protocols h2 http/1.1
%s
</VirtualHost>
""" % (self.tls_port, server_name, aliases, self.docroot, self.pki.cert,
            self.pki.key, body)

    def plain_vhost(self, body, server_name=DOMAIN, aliases="*.%s" % DOMAIN):
        return """
<VirtualHost 127.0.0.1:%d>
    ServerName %s
    ServerAlias %s
    DocumentRoot "%s"
%s
</VirtualHost>
""" % (self.plain_port, server_name, aliases, self.docroot, body)

    def basic_auth(self, path):
        """A <Location> that answers 401 (Basic auth, an empty user file)."""
        users = os.path.join(self.dir, "htpasswd")
        if not os.path.exists(users):
            open(users, "w").close()
            os.chmod(users, 0o644)
        return """
    <Location %s>
        AuthType Basic
        AuthName "mod_hsts test"
        AuthUserFile "%s"
        Require valid-user
    </Location>
""" % (path, users)

    def backend_vhost(self, body=""):
        """A plain-HTTP backend that sends its own STS header, for
        mod_proxy to talk to: a real httpd vhost, not a stub."""
        backend_root = os.path.join(self.dir, "backend")
        os.makedirs(backend_root, exist_ok=True)
        os.chmod(backend_root, 0o755)
        for name, text in (("index.html", "backend\n"),
                           ("page.html", "backend page\n")):
            with open(os.path.join(backend_root, name), "w") as f:
                f.write(text)
        return """
<VirtualHost 127.0.0.1:%d>
    ServerName backend.invalid
    DocumentRoot "%s"
    Header always set Strict-Transport-Security "max-age=5"
    Header set Cache-Control "max-age=300"
%s
</VirtualHost>
""" % (self.backend_port, backend_root, body)

    def configure(self, text):
        with open(self.conf_path, "w") as f:
            f.write(text)

    # -- life cycle ------------------------------------------------------
    def check_config(self, text=None):
        """apachectl -t: returns (returncode, combined output)."""
        if text is not None:
            self.configure(text)
        res = run([httpd_binary(), "-t", "-f", self.conf_path],
                  env=httpd_env())
        return res.returncode, res.stdout + res.stderr

    def dump_hsts(self):
        """apachectl -t -D DUMP_HSTS: (returncode, the JSON objects, the
        whole output).  Every line of standard output must be JSON."""
        res = run([httpd_binary(), "-t", "-D", "DUMP_HSTS", "-f",
                   self.conf_path], env=httpd_env())
        objs = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
        return res.returncode, objs, res.stdout + res.stderr

    def assert_config_error(self, text, *needles):
        """apachectl -t refuses `text`, naming this config file, the line
        and every needle."""
        rc, out = self.check_config(text)
        assert rc != 0, out
        assert "Syntax error on line" in out and self.conf_path in out, out
        for needle in needles:
            assert needle in out, out
        return out

    def assert_start_refused(self, needle):
        """httpd, started for real (-DFOREGROUND), refuses on its first
        reading of the configuration: it exits non-zero with `needle` on
        stderr, before it opened a port or an error log.  Returns what
        it printed."""
        res = run([httpd_binary(), "-f", self.conf_path, "-DFOREGROUND"],
                  env=httpd_env(), timeout=START_TIMEOUT * 4)
        out = res.stdout + res.stderr
        assert res.returncode != 0 and needle in out, out
        assert "AH00014: Configuration check failed" in out, out
        assert self.read_log() == "", self.read_log()
        return out

    def start(self):
        """Start httpd and return once it serves.  httpd opens its ports
        while it reads the configuration the first time and may still
        refuse to start on the second reading (HSTSPreloadCheck strict),
        so an open port proves nothing; the pid file does: the MPM writes
        it only once the configuration has been read for serving."""
        if os.path.exists(self.error_log):
            self.log_offset = os.path.getsize(self.error_log)
        pid_file = os.path.join(self.dir, "httpd.pid")
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        cmd = [httpd_binary(), "-f", self.conf_path, "-DFOREGROUND"]
        if HTTPD_WRAPPER:
            cmd = HTTPD_WRAPPER + cmd + ["-X"]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=httpd_env())
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read()
                raise RuntimeError("httpd exited at start (rc %s): %s\n%s"
                                   % (self.proc.returncode, out,
                                      self.read_log()))
            if self._pid_written(pid_file):
                try:
                    with socket.create_connection(
                            ("127.0.0.1", self.tls_port), timeout=0.2):
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("httpd did not start serving on %d"
                           % self.tls_port)

    # -- daemon mode: httpd as apachectl and systemd start it -------------
    @property
    def pid_file(self):
        return os.path.join(self.dir, "httpd.pid")

    def k(self, action, *args):
        """`httpd -k ACTION` (start, graceful, restart, stop...), the way
        apachectl runs it: returns the finished command (returncode,
        stdout, stderr).  `-k start` returns once httpd has detached."""
        return run([httpd_binary(), "-f", self.conf_path, "-k", action]
                   + list(args), env=httpd_env(), timeout=START_TIMEOUT * 4)

    def daemon_pid(self):
        """The pid in the pid file, if that process is alive."""
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip() or 0)
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start_daemon(self, *args):
        """`httpd -k start`: returns the finished command once the
        detached server serves (its pid file names a live process and the
        TLS port answers); fails if it never does."""
        if os.path.exists(self.error_log):
            self.log_offset = os.path.getsize(self.error_log)
        if os.path.exists(self.pid_file):
            os.unlink(self.pid_file)
        res = self.k("start", *args)
        assert res.returncode == 0, res
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.daemon_pid() and self.listening():
                self.daemon = True
                return res
            time.sleep(0.05)
        raise RuntimeError("httpd -k start: no server (%s)\n%s"
                           % (res, self.read_log()))

    def listening(self, port=None):
        try:
            with socket.create_connection(
                    ("127.0.0.1", port or self.tls_port), timeout=0.2):
                return True
        except OSError:
            return False

    def wait_generation(self, generation, timeout=None):
        """Wait until the error log holds `generation` "resuming normal
        operations" lines since the start: one per (re)start served."""
        deadline = time.time() + (timeout or START_TIMEOUT)
        while time.time() < deadline:
            if self.read_log().count("resuming normal operations") \
                    >= generation:
                return
            time.sleep(0.05)
        raise RuntimeError("no restart %d:\n%s" % (generation,
                                                  self.read_log()))

    @staticmethod
    def wait_exit(pid):
        """True once process `pid` is gone, False if it is still there
        after START_TIMEOUT."""
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return True
            time.sleep(0.05)
        return False

    def stop_daemon(self):
        """`httpd -k stop`, then wait until the process is gone."""
        pid = self.daemon_pid()
        res = self.k("stop")
        if pid:
            self.wait_exit(pid)
        self.daemon = False
        return res

    def _pid_written(self, pid_file):
        try:
            with open(pid_file) as f:
                return int(f.read().strip() or 0) == self.proc.pid
        except (OSError, ValueError):
            return False

    def stop(self):
        if getattr(self, "daemon", False):
            self.stop_daemon()
            pid = self.daemon_pid()
            if pid:
                os.kill(pid, signal.SIGKILL)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def read_log(self, since_start=True):
        if not os.path.exists(self.error_log):
            return ""
        with open(self.error_log, errors="replace") as f:
            if since_start:
                f.seek(self.log_offset)
            return f.read()

    def access_line(self, needle, timeout=10):
        """The last access log line containing `needle`.  httpd logs a
        request after sending the response, so wait for it."""
        deadline = time.time() + timeout
        while True:
            with open(self.access_log) as f:
                lines = [l.rstrip("\n") for l in f if needle in l]
            if lines or time.time() > deadline:
                assert lines, "no access log line with %r" % needle
                return lines[-1]
            time.sleep(0.05)

    def unexpected_log_lines(self):
        bad = []
        for line in self.read_log().splitlines():
            if LOG_LEVEL_RE.match(line) and not any(
                    re.search(p, line) for p in self.allowed):
                bad.append(line)
        return bad

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients ---------------------------------------------------------
    def url(self, path="/", tls=True, host=DOMAIN):
        port = self.tls_port if tls else self.plain_port
        return "%s://%s:%d%s" % ("https" if tls else "http", host, port,
                                 path)

    def curl(self, path="/", tls=True, host=DOMAIN, http2=False,
             args=(), url=None):
        """Fetch with curl; returns a Response (status, headers)."""
        port = self.tls_port if tls else self.plain_port
        cmd = ["curl", "-sS", "-o", "/dev/null", "-D", "-",
               "--max-time", "20", "--cacert", self.pki.ca,
               "--resolve", "%s:%d:127.0.0.1" % (host, port)]
        cmd.append("--http2" if http2 else "--http1.1")
        cmd += list(args)
        cmd.append(url or self.url(path, tls, host))
        res = run(cmd)
        if res.returncode not in (0, 18):
            raise RuntimeError("curl failed (%d): %s" % (res.returncode,
                                                         res.stderr))
        return Response.parse(res.stdout)

    def tls_socket(self, alpn="h2", timeout=10, server_hostname=DOMAIN):
        """A TLS connection to the TLS port, the test CA trusted, with
        ALPN offering `alpn` only."""
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        ctx.set_alpn_protocols([alpn])
        return ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", self.tls_port), timeout=timeout),
            server_hostname=server_hostname)

    def raw(self, data, tls=True, server_hostname=DOMAIN, wait=None,
            timeout=10, port=None):
        """Send raw bytes (over TLS by default), return the Response."""
        return Response.parse(self.raw_text(data, tls, server_hostname,
                                            wait, timeout, port))

    def raw_text(self, data, tls=True, server_hostname=DOMAIN, wait=None,
                 timeout=10, port=None):
        """Send raw bytes (over TLS by default), return all that came
        back.  server_hostname=None sends no SNI (and so checks no
        certificate name)."""
        if port is None:
            port = self.tls_port if tls else self.plain_port
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=self.pki.ca)
            if server_hostname is None:
                ctx.check_hostname = False
            ctx.set_alpn_protocols(["http/1.1"])
            sock = ctx.wrap_socket(sock, server_hostname=server_hostname)
        try:
            sock.sendall(data)
            if wait:
                time.sleep(wait)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except (socket.timeout, ssl.SSLError, ConnectionError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            sock.close()
        return b"".join(chunks).decode("latin-1")


def _parents(path, stop):
    path = os.path.abspath(path)
    stop = os.path.abspath(stop)
    while path.startswith(stop) and path != stop:
        yield path
        path = os.path.dirname(path)


class Response:
    def __init__(self, status, headers):
        self.status = status
        self.headers = headers          # list of (lower-case name, value)

    @classmethod
    def parse(cls, text):
        """The last header block of a curl -D dump or a raw response."""
        blocks = [b for b in re.split(r"\r?\n\r?\n", text)
                  if re.match(r"HTTP/[\d.]+ \d{3}", b)]
        if not blocks:
            return cls(None, [])
        lines = blocks[-1].splitlines()
        status = int(lines[0].split()[1])
        headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip().lower(), value.strip()))
        return cls(status, headers)

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    @property
    def sts(self):
        return self.all(STS)

    def __repr__(self):
        return "Response(%s, %r)" % (self.status, self.headers)
