"""The startup log at hosting scale: of each kind of finding (a preload
rule, no port 80 for the checker, a path opt-out, a roll-out's state) the first five
vhosts are named and the rest counted in one line that points to
DUMP_HSTS, which lists every one; HSTSPreloadCheck strict still refuses
to start, naming how many problems there are."""

import datetime
import re

import pytest

import harness

N = 12          # vhosts with the same finding
FIRST = 5       # named in full
GOOD = "max-age=31536000; includeSubDomains; preload"
SHORT = "max-age=300; includeSubDomains; preload"


def names(i):
    return "s%02d.%s" % (i, harness.DOMAIN)


def many(h, body, plain_body=None, n=N, extra=""):
    # www.sNN is two labels under the test certificate's wildcard: the
    # lockout findings that would add are test_lockout.py's
    text = h.base_conf(extra="HSTSLockoutCheck off\n" + extra)
    for i in range(n):
        text += h.tls_vhost(body, server_name=names(i),
                            aliases="www." + names(i))
        if plain_body is not None:
            text += h.plain_vhost(plain_body, server_name=names(i),
                                  aliases="www." + names(i))
    return text


def lines_with(out, needle):
    return [l for l in out.splitlines() if needle in l]


def findings(objs, kind):
    return [o for o in objs for f in o.get("findings", [])
            if f["kind"] == kind]


@pytest.fixture
def h(server_factory):
    return server_factory("startup-log")


def test_hints_named_then_counted(h):
    rc, out = h.check_config(many(h, 'HSTSPolicy "%s"' % GOOD))
    assert rc == 0, out
    hints = lines_with(out, "HSTSPreloadCheck: hint:")
    named = [l for l in hints if "does not listen on port 80" in l]
    assert len(named) == FIRST, out
    rest = [l for l in hints if "more like the above" in l]
    assert len(rest) == 1 and len(hints) == FIRST + 1, out
    assert "%d more like the above (preload-no-port-80)" % (N - FIRST) \
        in rest[0] and "DUMP_HSTS" in rest[0], out
    # the full list
    rc, objs, out = h.dump_hsts()
    assert rc == 0, out
    listed = findings(objs, "preload-no-port-80")
    assert sorted(o["server_name"] for o in listed) \
        == sorted(names(i) for i in range(N)), out
    f = [f for f in listed[0]["findings"]][0]
    assert f["level"] == "hint" and "does not listen on port 80" \
        in f["text"], f


def test_few_are_all_named(h):
    rc, out = h.check_config(many(h, 'HSTSPolicy "%s"' % GOOD, n=FIRST))
    assert len(lines_with(out, "HSTSPreloadCheck: hint:")) == FIRST, out
    assert "more like the above" not in out, out


def test_strict_counts_every_problem_and_refuses(h):
    text = many(h, 'HSTSPolicy "%s"' % SHORT, "HSTSRedirect on",
                extra="HSTSPreloadCheck strict\n")
    rc, out = h.check_config(text)
    assert rc != 0, out
    errors = lines_with(out, "[hsts:error]")
    assert len(lines_with(out, "preload requires max-age of at least")) \
        == FIRST, out
    assert len(errors) == FIRST + 1, out
    assert "%d more like the above (preload-max-age-short)" % (N - FIRST) \
        in errors[-1], out
    crit = lines_with(out, "[hsts:crit]")
    assert len(crit) == 1 and "HSTSPreloadCheck strict: %d preload " \
        "problem(s), refusing to start" % N in crit[0], out
    # -D DUMP_HSTS still lists them all, then refuses too
    rc, objs, out = h.dump_hsts()
    assert rc != 0 and "refusing to start" in out, out
    assert len(findings(objs, "preload-max-age-short")) == N, out
    log = h.assert_start_refused("refusing to start")
    assert len(lines_with(log, "[hsts:error]")) == FIRST + 1, log


def test_path_opt_outs_named_then_counted(h):
    body = 'HSTSPolicy "max-age=31536000"\n' + "".join(
        "<Location /p%d>\nHSTSPolicy off\n</Location>\n" % i
        for i in range(N))
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(body))
    assert rc == 0, out
    warned = lines_with(out, "does not really opt out")
    assert len(warned) == FIRST, out
    rest = lines_with(out, "more like the above (path-opt-out)")
    assert len(rest) == 1 and "%d more" % (N - FIRST) in rest[0], out
    rc, objs, out = h.dump_hsts()
    sections = findings(objs, "path-opt-out")
    assert sorted(s["section"] for s in sections) \
        == sorted("<Location /p%d>" % i for i in range(N)), out
    assert all(s["type"] == "section" for s in sections)


def test_rollout_lines_named_then_counted(h):
    start = (datetime.datetime.now(datetime.timezone.utc).date()
             - datetime.timedelta(days=10)).isoformat()
    ramping = 'HSTSPolicy "%s"\nHSTSRollout start=%s' % (GOOD, start)
    text = (many(h, ramping, extra="HSTSPreloadCheck off\n")
            + "".join(h.tls_vhost("HSTSRollout start=%s" % start,
                                  server_name="bare%d.%s"
                                  % (i, harness.DOMAIN),
                                  aliases="nothing.invalid")
                      for i in range(N - 2)))
    h.configure(text)
    h.allowed += [r"\[hsts:warn\].*HSTSRollout.* no HSTSPolicy to roll "
                  r"out to", r"\[hsts:warn\].*more like the above "
                  r"\(rollout-no-policy\)"]
    h.write("index.html", "x\n")
    h.start()
    # the notices come with the second reading of the configuration,
    # after the port is open: a response says it is done
    assert h.curl("/", host=names(0)).status == 200
    h.stop()
    log = h.read_log()
    assert len(lines_with(log, ": rung 2 of 4: max-age=604800")) == FIRST, log
    more = lines_with(log, "HSTSRollout: %d more vhosts not named here "
                      "(0 pending, %d ramping, 0 complete)"
                      % (N - FIRST, N - FIRST))
    assert len(more) == 1 and "DUMP_HSTS" in more[0], log
    assert len(lines_with(log, "has no HSTSPolicy to roll out to")) \
        == FIRST, log
    unfit = lines_with(log, "%d more like the above (rollout-no-policy)"
                       % (N - 2 - FIRST))
    assert len(unfit) == 1, log
    rc, objs, out = h.dump_hsts()
    assert len(findings(objs, "rollout-no-policy")) == N - 2, out
    assert len([o for o in objs if o.get("rollout") and
                o["rollout"]["state"] == "ramping"]) == N, out
    assert not re.search(r"rollout-no-policy", "".join(
        str(o["findings"]) for o in objs
        if o.get("server_name", "").startswith("s"))), out
