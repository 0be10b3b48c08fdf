"""HSTSRollout: max-age climbs the ladder one rung per step from the start
date (UTC), includeSubDomains and preload withheld until the target is
reached; dates are computed relative to today, so this runs any day.
Also revocation: max-age=0 goes out as such."""

import datetime

import pytest

import harness

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
FULL = "max-age=31536000; includeSubDomains; preload"


def day(offset):
    return (TODAY + datetime.timedelta(days=offset)).isoformat()


# vhost name -> (config, expected header or None)
VHOSTS = {
    "past": ('HSTSPolicy "%s"\nHSTSRollout start=%s' % (FULL, day(-10)),
             "max-age=604800"),
    "first": ('HSTSPolicy "%s"\nHSTSRollout start=%s' % (FULL, day(0)),
              "max-age=300"),
    "future": ('HSTSPolicy "%s"\nHSTSRollout start=%s' % (FULL, day(5)),
               None),
    "done": ('HSTSPolicy "%s"\nHSTSRollout start=%s' % (FULL, day(-100)),
             FULL),
    # last rung below a 2-year target: still no flags
    "lastrung": ('HSTSPolicy "max-age=63072000; includeSubDomains"\n'
                 'HSTSRollout start=%s' % day(-22), "max-age=31536000"),
    # the rung that reaches the target sends it as written
    "reach": ('HSTSPolicy "max-age=31536000; includeSubDomains"\n'
              'HSTSRollout start=%s' % day(-21),
              "max-age=31536000; includeSubDomains"),
    # a target below the ladder caps it
    "small": ('HSTSPolicy "max-age=600; includeSubDomains"\n'
              'HSTSRollout start=%s step=1d' % day(-1),
              "max-age=600; includeSubDomains"),
    "custom": ('HSTSPolicy "max-age=1000; preload; includeSubDomains"\n'
               'HSTSRollout ladder=60,120,180 step=1d start=%s' % day(-1),
               "max-age=120"),
    "revoke": ('HSTSPolicy "max-age=0"', "max-age=0"),
    "revokesubs": ('HSTSPolicy "max-age=0; includeSubDomains"',
                   "max-age=0; includeSubDomains"),
    "revokeramp": ('HSTSPolicy "max-age=0"\nHSTSRollout start=%s'
                   % day(-1), "max-age=0"),
    # a revocation goes out whatever the roll-out says, even before it
    "revokefuture": ('HSTSPolicy "max-age=0; includeSubDomains"\n'
                     'HSTSRollout start=%s' % day(30),
                     "max-age=0; includeSubDomains"),
}


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("rollout")
    h.write("index.html", "x\n")
    conf = h.base_conf() + "HSTSPreloadCheck off\n"
    for name, (body, _) in sorted(VHOSTS.items()):
        conf += h.tls_vhost(body, server_name="%s.%s" % (name,
                                                          harness.DOMAIN),
                            aliases="nothing.invalid")
    h.configure(conf)
    return h.start()


@pytest.mark.parametrize("name", sorted(VHOSTS))
def test_rung(httpd, name):
    res = httpd.curl("/", host="%s.%s" % (name, harness.DOMAIN))
    assert res.status == 200, res
    want = VHOSTS[name][1]
    assert res.sts == ([want] if want else []), res


def test_rung_also_on_errors_and_h2(httpd):
    host = "past." + harness.DOMAIN
    assert httpd.curl("/missing", host=host).sts == ["max-age=604800"]
    assert httpd.curl("/", host=host, http2=True).sts == ["max-age=604800"]


def test_startup_log(httpd):
    log = httpd.read_log()
    assert ("past.hsts.test (%s:" % httpd.conf_path) in log
    assert ("rung 2 of 4: max-age=604800 until %s, then 2592000"
            % day(-10 + 14)) in log, log
    assert "future.hsts.test" in log and ("starts %s with max-age=300; no "
                                          "header until then" % day(5)) in log
    assert "done.hsts.test" in log and "complete, sending " + FULL in log


def test_notes(httpd):
    httpd.curl("/?pending-note", host="future." + harness.DOMAIN)
    httpd.curl("/?rollout-note", host="past." + harness.DOMAIN)
    assert httpd.access_line("pending-note").endswith(
        "/?pending-note HTTP/1.1\" 200 rollout-pending")
    assert httpd.access_line("rollout-note").endswith(
        "/?rollout-note HTTP/1.1\" 200 rollout")


@pytest.mark.parametrize("args,message", [
    ("step=7d", "start=YYYY-MM-DD is required"),
    ("start=2026-02-30", "'2026-02-30' is not a valid date"),
    ("start=26-01-01", "not YYYY-MM-DD"),
    ("start=2026-01-01 step=7y", "step '7y' is not a duration"),
    ("start=2026-01-01 ladder=300,200", "ladder must ascend"),
    ("start=2026-01-01 ladder=300,abc", "ladder value 'abc'"),
    ("start=2026-01-01 foo=1", "unknown argument 'foo=1'"),
])
def test_bad_rollout_rejected(server_factory, args, message):
    h = server_factory("rollout-bad")
    h.assert_config_error(h.base_conf() + h.tls_vhost(
        'HSTSPolicy "max-age=300"\nHSTSRollout %s' % args),
        "HSTSRollout: ", message)


def test_rollout_not_in_directory(server_factory):
    h = server_factory("rollout-ctx")
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(
        '<Location /x>\nHSTSRollout start=2026-01-01\n</Location>'))
    assert rc != 0 and "HSTSRollout not allowed in <Location>" in out, out
