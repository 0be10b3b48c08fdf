"""Fixtures: the module built once, one CA per run, httpd per test module."""

import os
import shutil
import subprocess

import pytest

import harness


@pytest.fixture(scope="session", autouse=True)
def built_module():
    if harness.APXS and not os.environ.get("HSTS_MODULE"):
        pytest.exit("HSTS_APXS=%s needs HSTS_MODULE: the module built with "
                    "that apxs (make matrix builds one per release)"
                    % harness.APXS, returncode=4)
    if not os.environ.get("HSTS_MODULE"):
        res = subprocess.run(["make", "-C", harness.REPO, "all"],
                             capture_output=True, text=True)
        assert res.returncode == 0, ("make failed:\n" + res.stdout
                                     + res.stderr)
    assert os.path.exists(harness.MODULE), harness.MODULE
    return harness.MODULE


@pytest.fixture(autouse=True)
def _release_expectations(request):
    """harness.expect_sts() records on the running test when its result
    holds only for the httpd release under test."""
    harness.current_test = request.node
    yield
    harness.current_test = None


@pytest.fixture(scope="session")
def pki():
    pki = harness.make_pki("tests")
    yield pki
    shutil.rmtree(pki.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server_factory(pki):
    """Make httpd instances for one test module; on teardown stop them and
    fail on any [warn]/[error] line their tests did not expect."""
    made = []

    def make(name="httpd"):
        h = harness.Httpd(pki, name)
        made.append(h)
        return h

    yield make
    problems = []
    for h in made:
        h.stop()
        bad = h.unexpected_log_lines()
        if bad:
            problems.append("%s:\n  %s" % (h.error_log, "\n  ".join(bad)))
        else:
            h.cleanup()
    assert not problems, ("unexpected [warn]/[error] lines in the error "
                          "log:\n" + "\n".join(problems))
