"""HSTSPreloadCheck: the preload list's rules, checked at startup, each
message naming the vhost, the file and line, and the rule; strict refuses
to start on a problem."""

import re

import pytest

GOOD = "max-age=31536000; includeSubDomains; preload"


def conf(h, tls_policy, plain_body="", mode=None, extra_tls=""):
    text = h.base_conf()
    if mode:
        text += "HSTSPreloadCheck %s\n" % mode
    text += h.tls_vhost('HSTSPolicy "%s"\n%s' % (tls_policy, extra_tls))
    if plain_body is not None:
        text += h.plain_vhost(plain_body)
    return text


@pytest.fixture
def h(server_factory):
    return server_factory("preload")


def messages(out):
    return [l for l in out.splitlines() if "HSTSPreloadCheck" in l]


@pytest.mark.parametrize("policy,needle,problem", [
    ("max-age=31536000; preload", "preload requires includeSubDomains",
     True),
    ("max-age=300; includeSubDomains; preload",
     "preload requires max-age of at least 31536000 (1 year), got 300",
     True),
    ("max-age=0; includeSubDomains; preload", "max-age=0 with preload",
     True),
    # the year is a minimum, to the second
    ("max-age=31535999; includeSubDomains; preload",
     "preload requires max-age of at least 31536000 (1 year), got 31535999",
     True),
    ("max-age=400000000; includeSubDomains; preload",
     "hint: vhost hsts.test", False),
])
def test_header_rules(h, policy, needle, problem):
    rc, out = h.check_config(conf(h, policy, "HSTSRedirect on"))
    assert rc == 0, out
    msgs = messages(out)
    assert len(msgs) == 1 and needle in msgs[0], out
    assert ("vhost hsts.test (%s:" % h.conf_path) in msgs[0], out
    assert re.search(r"HSTSPolicy at %s:\d+" % re.escape(h.conf_path),
                     msgs[0]), out
    assert ("[hsts:warn]" in msgs[0]), out
    if not problem:
        assert "more than 10 years" in msgs[0], out


def test_preload_in_location(h):
    rc, out = h.check_config(conf(h, "max-age=300", "HSTSRedirect on",
                                  extra_tls='<Location /shop>\nHSTSPolicy "'
                                  + GOOD + '"\n</Location>'))
    assert rc == 0, out
    msgs = messages(out)
    assert len(msgs) == 1, out
    assert "<Location /shop>: HSTSPolicy with preload at %s:" % h.conf_path \
        in msgs[0] and "belongs in the virtual host" in msgs[0], out


def test_twin_without_redirect(h):
    rc, out = h.check_config(conf(h, GOOD, ""))
    msgs = messages(out)
    assert rc == 0 and len(msgs) == 1, out
    assert "hint:" in msgs[0] and "no HSTSRedirect on in its plain-HTTP " \
        "twin" in msgs[0] and "mod_rewrite redirect is fine" in msgs[0], out


def test_no_twin(h):
    # The main server answers plain HTTP as hsts.test, so use a name that
    # only the TLS vhost has.
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(
        'HSTSPolicy "%s"' % GOOD, server_name="other.test",
        aliases="www.other.test"))
    msgs = messages(out)
    assert rc == 0 and len(msgs) == 1, out
    assert "no plain-HTTP vhost with this ServerName" in msgs[0], out


@pytest.mark.parametrize("policy", [GOOD, "max-age=315360000; "
                                    "includeSubDomains; preload"])
def test_preload_ready_is_quiet(h, policy):
    """One year and ten years, the bounds, are both fine."""
    rc, out = h.check_config(conf(h, policy, "HSTSRedirect on"))
    assert rc == 0 and messages(out) == [], out


def test_off_is_quiet(h):
    rc, out = h.check_config(conf(h, "max-age=1; preload", "", mode="off"))
    assert rc == 0 and messages(out) == [], out


def test_strict_refuses(h):
    text = conf(h, "max-age=300; preload", "HSTSRedirect on",
                mode="strict")
    rc, out = h.check_config(text)
    assert rc != 0, out
    assert "[hsts:error]" in out and "preload requires includeSubDomains" \
        in out, out
    assert "2 preload problem(s), refusing to start" in out, out
    h.allowed += [r"\[hsts:(error|crit)\].*HSTSPreloadCheck"]
    h.assert_start_refused("refusing to start")



def test_strict_hints_only_start(h):
    rc, out = h.check_config(conf(h, GOOD, "", mode="strict"))
    assert rc == 0, out
    assert "hint:" in out, out


def test_bad_mode(h):
    h.assert_config_error(h.base_conf() + "HSTSPreloadCheck loud\n",
                          "HSTSPreloadCheck: unknown value 'loud'")


def test_mode_global_only(h):
    rc, out = h.check_config(h.base_conf() + h.tls_vhost(
        "HSTSPreloadCheck strict"))
    assert rc != 0 and "cannot occur within <VirtualHost>" in out, out


@pytest.mark.parametrize("plain_name,aliases,redirect,hint", [
    # a wildcard alias of the plain vhost answers for the name
    ("other.test", "*.hsts.test", True, None),
    ("other.test", "*.HSTS.test", False, "no HSTSRedirect on in its "
     "plain-HTTP twin"),
    ("other.test", "shop?.hsts.test", True, None),
    ("other.test", "shop*", True, None),
    ("other.test", "*.other.test", True, "no plain-HTTP vhost"),
    # names compare without case
    ("SHOP1.Hsts.Test", "nothing.invalid", True, None),
])
def test_twin_by_any_name(h, plain_name, aliases, redirect, hint):
    text = (h.base_conf()
            + h.tls_vhost('HSTSPolicy "%s"' % GOOD,
                          server_name="shop1.hsts.test",
                          aliases="nothing.invalid")
            + h.plain_vhost("HSTSRedirect on" if redirect else "",
                            server_name=plain_name, aliases=aliases))
    rc, out = h.check_config(text)
    msgs = messages(out)
    assert rc == 0, out
    if hint:
        assert len(msgs) == 1 and hint in msgs[0], out
    else:
        assert msgs == [], out
