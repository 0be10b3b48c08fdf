"""A real HSTS client, curl's own HSTS engine (--hsts FILE), learns what
mod_hsts sends: the cache holds the host with the right expiry and the
include-subdomains marker, later http:// URLs are upgraded by curl itself,
and max-age=0 removes the entry."""

import datetime
import os

import pytest

import harness

# (vhost name, alias, policy), in config order: the first match wins, so
# revoke.hsts.test comes before the *.hsts.test alias.
HOSTS = [
    ("revoke.hsts.test", "nothing.invalid", "max-age=0"),
    ("hsts.test", "*.hsts.test", "max-age=31536000; includeSubDomains"),
    ("other.test", "*.other.test", "max-age=86400"),
]


@pytest.fixture(scope="module")
def httpd(server_factory):
    h = server_factory("clients")
    h.write("index.html", "hello\n")
    conf = h.base_conf()
    for name, alias, policy in HOSTS:
        conf += h.tls_vhost('HSTSPolicy "%s"' % policy, server_name=name,
                            aliases=alias)
    h.configure(conf)
    return h.start()


def curl_hsts(h, cache, url, hosts):
    """curl with an HSTS cache; returns (http_code, effective scheme)."""
    cmd = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10",
           "--hsts", cache, "--cacert", h.pki.ca,
           "-w", "%{http_code} %{scheme}"]
    for host in hosts:
        cmd += ["--resolve", "%s:%d:127.0.0.1" % (host, h.tls_port)]
    cmd.append(url)
    res = harness.run(cmd)
    assert res.returncode in (0, 52, 56), res
    code, scheme = (res.stdout.split() + ["", ""])[:2]
    return code, scheme.lower()


def read_cache(path):
    entries = {}
    if not os.path.exists(path):
        return entries
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            host, stamp = line.split(None, 1)
            entries[host] = stamp.strip().strip('"')
    return entries


def expiry(stamp):
    return datetime.datetime.strptime(stamp, "%Y%m%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("host,subs,max_age", [
    ("hsts.test", True, 31536000),
    ("other.test", False, 86400),
])
def test_curl_learns_and_upgrades(httpd, tmp_path, host, subs, max_age):
    cache = str(tmp_path / "hsts.txt")
    sub = "www." + host
    port = httpd.tls_port

    # Before learning: plain HTTP to the TLS port is refused by mod_ssl.
    code, scheme = curl_hsts(httpd, cache, "http://%s:%d/" % (host, port),
                             [host])
    assert (code, scheme) == ("400", "http")

    now = datetime.datetime.now(datetime.timezone.utc)
    code, _ = curl_hsts(httpd, cache, "https://%s:%d/" % (host, port),
                        [host])
    assert code == "200"
    entries = read_cache(cache)
    key = ("." + host) if subs else host
    assert key in entries, entries
    delta = (expiry(entries[key]) - now).total_seconds()
    assert abs(delta - max_age) < 120, (entries, delta)

    # curl itself now switches http:// to https:// for the host ...
    code, scheme = curl_hsts(httpd, cache, "http://%s:%d/" % (host, port),
                             [host])
    assert (code, scheme) == ("200", "https")
    # ... and for a subdomain only with includeSubDomains.
    code, scheme = curl_hsts(httpd, cache, "http://%s:%d/" % (sub, port),
                             [sub])
    assert (code, scheme) == (("200", "https") if subs else ("400", "http"))


def test_max_age_zero_removes_entry(httpd, tmp_path):
    cache = str(tmp_path / "hsts.txt")
    host = "revoke.hsts.test"
    future = (datetime.datetime.now(datetime.timezone.utc)
              + datetime.timedelta(days=30)).strftime("%Y%m%d %H:%M:%S")
    with open(cache, "w") as f:
        f.write('# curl HSTS cache\n%s "%s"\n' % (host, future))
    code, scheme = curl_hsts(httpd, cache, "http://%s:%d/"
                             % (host, httpd.tls_port), [host])
    assert (code, scheme) == ("200", "https")       # the entry was used
    assert host not in read_cache(cache), read_cache(cache)
    code, scheme = curl_hsts(httpd, cache, "http://%s:%d/"
                             % (host, httpd.tls_port), [host])
    assert (code, scheme) == ("400", "http")        # and is gone
