# Shortcuts only; the work is in cargo and the scripts it runs.
PORT ?= 6379
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MODULE := target/release/libredis_alt.so

.PHONY: help deps build run test lint bench fuzz fuzz-decoders

FUZZ_MINUTES ?= 10
FUZZ_SEED ?=

# make fuzz-decoders: cargo-fuzz (libFuzzer, nightly) targets in fuzz/, one per decoder of
# untrusted bytes, each run for FUZZ_SECONDS in turn. cargo-fuzz is installed, pinned, into
# the checkout's .tools/ (ignored); working corpora grow in target/fuzz-corpus/<target>
# (fuzz/seeds/<target> is read too, never written); findings go to fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= cjson_decode cmsgpack_unpack struct_unpack function_restore shebang
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := .tools/bin/cargo-fuzz

help:
	@echo "make run    install what is missing, build, start redis-server with the module on \$$PORT (default 6379)"
	@echo "make test   install what is missing, build, run every test"
	@echo "make bench  native vs ALT.* throughput and flush stalls on one server"
	@echo "make fuzz   differential fuzzer, EVAL vs ALT.EVAL: FUZZ_MINUTES=10 FUZZ_SEED=n (default: time);"
	@echo "            shrunk divergences go to target/fuzz-divergences/ (examples/difffuzz.rs)"
	@echo "make fuzz-decoders  cargo-fuzz (nightly) targets for every decoder of untrusted bytes (cjson,"
	@echo "            cmsgpack, struct, FUNCTION RESTORE, shebangs): FUZZ_SECONDS=600 each, FUZZ_TARGETS=...;"
	@echo "            corpora in target/fuzz-corpus/, findings in fuzz/artifacts/ (fuzz/, src/fuzzing.rs)"
	@echo "make lint   cargo fmt --check and clippy -D warnings"
	@echo "make deps   apt-get install redis-server redis-tools libclang-dev where missing"

deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v redis-cli >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	command -v redis-benchmark >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	dpkg -s libclang-dev >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	cargo build --release

run: build
	redis-server --port $(PORT) --enable-module-command local --loadmodule $(CURDIR)/$(MODULE)

# The integration tests load target/debug/libredis_alt.so: build it before testing.
test: deps
	cargo build
	cargo test --no-fail-fast

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

bench: build
	cargo build --release --example bench
	./target/release/examples/bench

# Seeded and time-bounded; the debug module (as the tests use). See examples/difffuzz.rs.
fuzz: deps
	cargo build
	cargo build --example difffuzz
	FUZZ_MINUTES=$(FUZZ_MINUTES) FUZZ_SEED=$(FUZZ_SEED) ./target/debug/examples/difffuzz

$(CARGO_FUZZ):
	cargo +stable install cargo-fuzz --version =$(CARGO_FUZZ_VERSION) --locked --root .tools

# One target after the other; stops at the first finding (libFuzzer exits non-zero).
fuzz-decoders: $(CARGO_FUZZ)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p target/fuzz-corpus/$$t || exit 1; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		( cd fuzz && PATH="$(CURDIR)/.tools/bin:$$PATH" cargo +nightly fuzz run $$t \
			../target/fuzz-corpus/$$t seeds/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=60 -print_final_stats=1 ) || exit 1; \
	done
