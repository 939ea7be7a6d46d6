# pkc: the commands of README.md. CMake does the work; this file names it.
#   make            build library, CLI (build/pkc), tests and benchmarks
#   make run        bootstrap, build, run the node with ./.pkc as its data directory: pkc chat
#                   on a terminal, else pkc up
#   make test       bootstrap, build (gcc, and clang with ASan+UBSan+libFuzzer),
#                   run every test on the clang build
# Warnings are errors (WERROR=OFF to relax); CTEST_ARGS="-R unit" to select.
#   make bench      bootstrap, optimised build, run every benchmark in bench/
#   make fuzz       run every fuzz harness for FUZZ_SECONDS (default 300) each
#   make web        the browser build: the core as WebAssembly, and the static
#                   site in web/dist/ (WEB_OPT=-O2 for speed over size)
#   make install    install to PREFIX (default /usr/local)
#   make clean      remove the build trees and web/dist (never ./.pkc)

BUILD      ?= build
TEST_BUILD ?= build-test
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
WEB_OPT    ?= -Oz
CTEST_ARGS ?=
WERROR     ?= ON

CMAKE_TEST_FLAGS = -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DPKC_SANITIZE=ON -DPKC_FUZZ=ON -DPKC_WERROR=$(WERROR)

SHELL := /bin/bash

.PHONY: all build run test bench fuzz install clean bootstrap web

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	  -DPKC_WERROR=$(WERROR)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# On a terminal, the chat (pkc chat); otherwise the node printing its events.
run: bootstrap build
	@if [ -t 0 ] && [ -t 1 ]; then ./$(BUILD)/pkc --data ./.pkc chat --invite; \
	else ./$(BUILD)/pkc --data ./.pkc up --invite; fi

# A CMake project of its own (web/CMakeLists.txt) in $(BUILD)/web, with the
# wasm32-wasi toolchain file; libsodium's wasm build is cached there.
web: bootstrap
	cmake -S web -B $(BUILD)/web -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/wasm32-wasi.cmake \
	  -DCMAKE_BUILD_TYPE=Release -DPKC_WEB_OPT=$(WEB_OPT) -DPKC_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD)/web -j $(JOBS)

$(TEST_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TEST_BUILD) $(CMAKE_TEST_FLAGS)

# The gcc build (what `make run` uses) must compile without warnings too; the
# tests run on the clang build with sanitizers, and the web tests on web/dist.
test: bootstrap build web $(TEST_BUILD)/CMakeCache.txt
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure --no-label-summary -j $(JOBS) $(CTEST_ARGS)

bench: bootstrap build
	@scripts/bench $(BUILD) $(B)

fuzz: bootstrap $(TEST_BUILD)/CMakeCache.txt
	cmake --build $(TEST_BUILD) -j $(JOBS)
	@for h in $(TEST_BUILD)/fuzz/fuzz-*; do \
	  [ -f $$h ] && [ -x $$h ] || continue; \
	  name=$${h##*/fuzz-}; echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  PKC_FUZZ_SEED=0 scripts/fuzz-run $$h fuzz/corpus/$$name $(FUZZ_SECONDS) 2>&1 | tail -n 12; \
	  [ $${PIPESTATUS[0]} = 0 ] || exit 1; \
	done

install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) web/dist
