# mod_hsts: build with apxs, test against a real httpd.
#
#   make            build .libs/mod_hsts.so
#   make install    install with apxs (+ a2enmod files on Debian layouts)
#   make test       C unit tests, then the pytest suite against real httpd
#   make demo       a throwaway HTTPS httpd on loopback showing the header
#   make fuzz       libFuzzer on every config parser (FUZZ_SECONDS, 60)
#   make asan       the integration suite against an ASan+UBSan build
#   make valgrind   the response matrix on httpd -X under memcheck
#   make stress     load, graceful restarts, a dead backend (wrk; the count
#                   in STRESS_REQUESTS, 200000)
#   make bench      instructions per request (callgrind), throughput (wrk,
#                   h2load), memory, then bench-config; prints figures,
#                   asserts nothing; tables in bench/RESULTS.md
#   make bench-config  apachectl -t and DUMP_HSTS at 1k/10k/50k vhosts
#                   (BENCH_CONFIG_SIZES), with and without mod_hsts
#   make dist       dist/mod_hsts-VERSION.tar.gz from the tracked files
#   make distcheck  unpack that tarball in a scratch directory, build it and
#                   run its unit tests (DISTCHECK=test: the whole make test);
#                   make dist in a copy without git gives the same files
#   make distcheck-copy  that copy check, and make deb in the copy
#   make deb        dist/libapache2-mod-hsts_VERSION-N_ARCH.deb, built from
#                   the tarball in build/deb (scripts/deb-check.sh proves it)
#   make matrix     the unit tests and the whole suite against each httpd
#                   release in HTTPD_SRC (built once, cached) and the
#                   system's; a table in build/matrix/RESULTS.md
#   make clean
#
# The version is written once, in include/mod_hsts_version.h.

APXS ?= $(shell command -v apxs 2>/dev/null || command -v apxs2 2>/dev/null \
          || echo apxs)
PYTHON ?= /usr/bin/python3
CC_HOST ?= cc

WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
       -Wstrict-prototypes -Wpointer-arith -Wcast-qual -Wundef
APXS_WARN = $(addprefix -Wc$(,),$(WARN))
, := ,
# Flags from the environment, as a package build sets them (dpkg-buildflags:
# _FORTIFY_SOURCE, -ffile-prefix-map, ...); apxs adds its own as well.
APXS_ENV = $(addprefix -Wc$(,),$(CPPFLAGS) $(CFLAGS)) \
           $(addprefix -Wl$(,),$(LDFLAGS))

VERSION := $(shell sh scripts/version.sh)
DIST = dist/mod_hsts-$(VERSION).tar.gz

SRC = mod_hsts.c src/hsts_config.c src/hsts_report.c src/hsts_preload.c \
      src/hsts_cert.c src/hsts_status.c src/hsts_json.c src/hsts_policy.c \
      src/hsts_rollout.c src/hsts_url.c src/hsts_lockout.c
HDR = include/mod_hsts.h include/hsts_check.h include/hsts_preload.h \
      include/hsts_json.h include/hsts_policy.h include/hsts_rollout.h \
      include/hsts_url.h include/hsts_lockout.h include/mod_hsts_version.h
PURE = src/hsts_json.c src/hsts_policy.c src/hsts_rollout.c src/hsts_url.c \
       src/hsts_lockout.c
# HSTSLockoutCheck reads certificates with the libcrypto mod_ssl uses.
LIBS = -lcrypto

MODS_AVAILABLE = /etc/apache2/mods-available

# Under sudo, root is for apt-get alone (scripts/deps.sh): make test, demo
# and deb build and run as the user who called sudo when that user owns
# the checkout, so that it holds no root-owned files afterwards.
AS_USER := $(shell [ "$$(id -u)" = 0 ] && [ -n "$(SUDO_USER)" ] \
             && [ "$$(stat -c %u $(CURDIR))" = "$(SUDO_UID)" ] \
             && echo runuser -u $(SUDO_USER) --)

.PHONY: all install test unit pytest demo bench bench-config fuzz asan \
        stress valgrind matrix matrix-module clean deps-test deps-demo \
        deps-bench deps-fuzz deps-deb deps-matrix dist distcheck deb \
        deb-build distcheck-copy

all: .libs/mod_hsts.so

.libs/mod_hsts.so: $(SRC) $(HDR)
	$(APXS) -c -I include $(APXS_WARN) $(APXS_ENV) -o mod_hsts.la $(SRC) \
	    $(LIBS)

install: .libs/mod_hsts.so
	$(APXS) -i -n hsts mod_hsts.la
	@if [ -d $(MODS_AVAILABLE) ]; then \
	    install -m 644 conf/hsts.load conf/hsts.conf $(MODS_AVAILABLE)/ \
	    && echo "installed $(MODS_AVAILABLE)/hsts.{load,conf}:" \
	            "run 'a2enmod hsts'"; \
	fi

tests/unit/test_policy: tests/unit/test_policy.c $(PURE) $(HDR)
	$(CC_HOST) -std=c99 -g -O1 -I include $(WARN) -o $@ \
	    tests/unit/test_policy.c $(PURE)

tests/unit/test_lockout: tests/unit/test_lockout.c $(PURE) $(HDR)
	$(CC_HOST) -std=c99 -g -O1 -I include $(WARN) -o $@ \
	    tests/unit/test_lockout.c $(PURE)

unit: tests/unit/test_policy tests/unit/test_lockout
	./tests/unit/test_policy
	./tests/unit/test_lockout

deps-test:
	@scripts/deps.sh test

deps-demo:
	@scripts/deps.sh demo

deps-bench:
	@scripts/deps.sh bench

deps-fuzz:
	@scripts/deps.sh fuzz

deps-matrix:
	@scripts/deps.sh matrix

deps-deb:
	@scripts/deps.sh deb

# -- releases -------------------------------------------------------------

dist:
	@scripts/dist.sh

DISTCHECK ?= unit

distcheck:
	@scripts/dist.sh check $(DISTCHECK)

distcheck-copy:
	@scripts/dist.sh check-copy deb

# The package is built out of tree, from the tarball, as the orig tarball
# of a 3.0 (quilt) source: the worktree is left as it was.
DEB_DIR = build/deb

deb: deps-deb
	$(AS_USER) $(MAKE) deb-build

deb-build:
	@scripts/dist.sh
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)
	cp $(DIST) $(DEB_DIR)/libapache2-mod-hsts_$(VERSION).orig.tar.gz
	tar -xzf $(DIST) -C $(DEB_DIR)
	cd $(DEB_DIR)/mod_hsts-$(VERSION) && dpkg-buildpackage -us -uc -b
	@cp $(DEB_DIR)/libapache2-mod-hsts_$(VERSION)-*.deb dist/ \
	    && ls -1 dist/libapache2-mod-hsts_$(VERSION)-*.deb

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang

tests/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(PURE) $(HDR)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -I include $(WARN) -o $@ \
	    tests/fuzz/fuzz_config.c $(PURE)

# New inputs go to a scratch directory; tests/fuzz/corpus is the seed set.
fuzz: deps-fuzz
	$(MAKE) tests/fuzz/fuzz_config
	@scratch=$$(mktemp -d); \
	    ./tests/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 $$scratch tests/fuzz/corpus \
	        > $$scratch/fuzz.log 2>&1; rc=$$?; \
	    grep -E "^(Done|stat::(number_of_executed_units|new_units_added))" \
	        $$scratch/fuzz.log; \
	    if [ $$rc -ne 0 ]; then tail -60 $$scratch/fuzz.log; \
	    else echo "fuzz: no crash, no property violated"; fi; \
	    rm -rf $$scratch; exit $$rc

# The browser tests last: when npm could not fetch playwright-core they
# fail, and the others have reported by then.  PYTEST_ARGS naming test
# files replaces the list.
PYTEST_FILES = $(filter-out test_browser.py,$(notdir \
                   $(wildcard tests/test_*.py))) test_browser.py

pytest: .libs/mod_hsts.so
	cd tests && $(PYTHON) -m pytest -q -ra $(PYTEST_ARGS) \
	    $(if $(filter test_%,$(PYTEST_ARGS)),,$(PYTEST_FILES))

test: deps-test
	$(AS_USER) $(MAKE) all unit pytest

demo: deps-demo
	$(AS_USER) $(MAKE) all
	$(AS_USER) $(PYTHON) scripts/demo.py

# The yardstick modules: mod_hsts_floor.c, and the variants that include it.
bench/.libs/%.so: bench/%.c bench/mod_hsts_floor.c
	cd bench && $(APXS) -c $(APXS_WARN) $*.c

# memcheck on a single-process httpd (-X) over the response matrix and the
# merge, upstream and shared-hosting scenarios; errors whose stack passes
# through mod_hsts fail the run (httpd's and OpenSSL's own are listed).
VG_LOGS = $(CURDIR)/build/valgrind
VG_TESTS = test_responses.py test_merge.py test_upstream.py test_sni.py \
           test_shared_hosting.py test_redirect.py test_tenants.py

valgrind: deps-bench
	$(MAKE) all
	rm -rf $(VG_LOGS) && mkdir -p $(VG_LOGS) && chmod 777 $(VG_LOGS)
	cd tests && HSTS_HTTPD_WRAPPER="valgrind --tool=memcheck \
	    --error-limit=no --num-callers=30 --log-file=$(VG_LOGS)/vg.%p" \
	    $(PYTHON) -m pytest -q -ra -p no:cacheprovider $(VG_TESTS) \
	    -k "not 408"
	$(PYTHON) scripts/vgcheck.py $(VG_LOGS)

stress: deps-bench
	$(MAKE) all
	$(PYTHON) bench/stress.py

bench: deps-bench
	$(MAKE) all bench/.libs/mod_hsts_floor.so \
	    bench/.libs/mod_hsts_floor_out.so \
	    bench/.libs/mod_hsts_floor_filter.so
	$(PYTHON) bench/bench.py
	$(PYTHON) bench/config_scale.py

bench-config: deps-bench
	$(MAKE) all
	$(PYTHON) bench/config_scale.py

# The module built with AddressSanitizer and UBSan in build/asan, httpd
# started with the sanitizer runtime preloaded; any report fails the run.
ASAN_DIR = build/asan
ASAN_LOGS = $(CURDIR)/build/asan-logs
ASAN_LIB = $(shell $(CC_HOST) -print-file-name=libasan.so)

asan: deps-test
	rm -rf $(ASAN_DIR) $(ASAN_LOGS) && mkdir -p $(ASAN_DIR) $(ASAN_LOGS) \
	    && chmod 777 $(ASAN_LOGS)
	cp --parents $(SRC) $(HDR) $(ASAN_DIR)/
	cd $(ASAN_DIR) && $(APXS) -c -I include $(APXS_WARN) \
	    -Wc,-fsanitize=address,undefined -Wc,-fno-omit-frame-pointer \
	    -Wl,-fsanitize=address,undefined -o mod_hsts.la $(SRC) $(LIBS)
	cd tests && HSTS_MODULE=$(CURDIR)/$(ASAN_DIR)/.libs/mod_hsts.so \
	    HSTS_HTTPD_PRELOAD=$(ASAN_LIB) \
	    ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN_LOGS)/asan \
	    UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_LOGS)/ubsan \
	    $(PYTHON) -m pytest -q -ra $(PYTEST_ARGS)
	@if ls $(ASAN_LOGS)/* >/dev/null 2>&1; then \
	    echo "sanitizer reports:"; cat $(ASAN_LOGS)/*; exit 1; \
	else echo "asan: no sanitizer reports"; fi

# The release matrix: HTTPD_VERSIONS names releases by their archive,
# httpd-<name>[-*].tar.gz in HTTPD_SRC ("2.4.37 trunk"), and "system" for
# the httpd whose apxs is on PATH; empty means every archive and system.
# Builds are cached in MATRIX_CACHE, keyed by the archive's checksum.
HTTPD_SRC ?= ../shared/httpd-src
HTTPD_VERSIONS ?=
MATRIX_CACHE ?= $(HOME)/.cache/mod_hsts/httpd

matrix: deps-matrix
	$(MAKE) tests/unit/test_policy
	HTTPD_SRC="$(HTTPD_SRC)" HTTPD_VERSIONS="$(HTTPD_VERSIONS)" \
	    MATRIX_CACHE="$(MATRIX_CACHE)" $(PYTHON) scripts/matrix.py

# The module built out of tree in MATRIX_DIR with the apxs in APXS (never
# touching .libs): scripts/matrix.py does this once per release.
matrix-module:
	@test -n "$(MATRIX_DIR)" || { echo "MATRIX_DIR not set" >&2; exit 2; }
	rm -rf $(MATRIX_DIR) && mkdir -p $(MATRIX_DIR)
	cp --parents $(SRC) $(HDR) $(MATRIX_DIR)/
	cd $(MATRIX_DIR) && $(APXS) -c -I include $(APXS_WARN) \
	    -o mod_hsts.la $(SRC) $(LIBS)

clean:
	rm -rf .libs src/.libs bench/.libs build *.la *.lo *.slo *.o src/*.lo \
	    src/*.slo src/*.o bench/*.la bench/*.lo bench/*.slo bench/*.o \
	    tests/unit/test_policy tests/unit/test_lockout tests/fuzz/fuzz_config \
	    tests/__pycache__ \
	    tests/.pytest_cache
