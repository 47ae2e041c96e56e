# filmd — the two commands of the README, and what they are made of.
#   make run    build and serve on http://127.0.0.1:3000 (config.json, filmd.db, sample films)
#   make cluster  three nodes, PostgreSQL, Redis and HAProxy on loopback: http://127.0.0.1:8080
#   make test   install what is missing, then unit tests, the live suite, and the live suite
#               again with the rate limits in Redis (live-redis), again against a ThreadSanitizer
#               build, then the fuzz targets for a minute each
SHELL := /bin/bash
SWIFT := scripts/swift-build-locked
BUILD_DEPS := libevent-dev libsqlite3-dev libssl-dev libpq-dev libhiredis-dev pkg-config
TSAN_DIR := .build-tsan
PYTEST := python3 -m pytest -p no:cacheprovider

CLUSTER_DEPS := postgresql redis-server haproxy

.PHONY: run cluster build release deps test-deps unit live live-postgres live-redis tsan fuzz test bench clean

deps:
	@scripts/install-deps.sh $(BUILD_DEPS)

build: deps
	$(SWIFT) build --product filmd

# The Swift runtime linked in statically: only the pages filmd uses become resident
# (about 6 MiB less RSS than the shared libraries).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product filmd

run: build
	.build/debug/filmd serve --config config.json

# scripts/cluster.py: the same start as tests/live/test_cluster.py; Ctrl-C stops and removes it all.
cluster: build
	@scripts/install-deps.sh $(CLUSTER_DEPS)
	scripts/cluster.py run --filmd-bin .build/debug/filmd

test-deps: deps
	@scripts/install-deps.sh systemd prometheus wrk $(CLUSTER_DEPS)
	@scripts/install-client-test-deps.sh

unit: build
	$(SWIFT) test

live: build test-deps
	FILMD_BIN=$(CURDIR)/.build/debug/filmd $(PYTEST) tests/live -q

# The live files that hold for both backends, again with database.url: each server gets a fresh
# database in one throwaway PostgreSQL cluster (tests/live/conftest.py, FILMD_TEST_DB).
POSTGRES_LIVE := tests/live/test_auth.py tests/live/test_tutorial_api.py tests/live/test_films_resource.py \
    tests/live/test_pagination.py tests/live/test_concurrency.py tests/live/test_storage.py
live-postgres: build test-deps
	FILMD_TEST_DB=postgres FILMD_BIN=$(CURDIR)/.build/debug/filmd $(PYTEST) $(POSTGRES_LIVE) -q

# The rate-limit suites again, every server's limits in one real redis-server (SPEC §9).
live-redis: build test-deps
	FILMD_TEST_LIMITER=redis FILMD_BIN=$(CURDIR)/.build/debug/filmd $(PYTEST) tests/live/test_rate_limits.py tests/live/test_auth.py -q

# The core live suite against a ThreadSanitizer build: any report fails the run.
tsan: deps
	$(SWIFT) build --product filmd --sanitize=thread --scratch-path $(TSAN_DIR)
	rm -rf /tmp/filmd-tsan && mkdir -p /tmp/filmd-tsan
	TSAN_OPTIONS="halt_on_error=1 log_path=/tmp/filmd-tsan/report" FILMD_BIN=$(CURDIR)/$(TSAN_DIR)/debug/filmd \
		$(PYTEST) tests/live -q -m "not clients and not slow"
	@if ls /tmp/filmd-tsan/report* >/dev/null 2>&1; then cat /tmp/filmd-tsan/report*; echo "ThreadSanitizer reported races"; exit 1; fi
	@echo "ThreadSanitizer: no reports"

# The libFuzzer targets (JSON parser; request head path) for FUZZ_SECONDS each, over a
# copy of fuzz/corpus: a crash, sanitizer report, leak or timeout fails the run.
fuzz: deps
	scripts/fuzz.sh

test: unit live live-postgres live-redis tsan fuzz

bench: release
	bench/run --filmd-bin .build/release/filmd

clean:
	rm -rf .build $(TSAN_DIR) .build-fuzz
