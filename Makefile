# tnsc — convenience wrapper around CMake + Ninja.
#   make         build into build/ (the compiler is build/tnsc)
#   make check   install missing packages, build, run every test
#   make demo    install missing packages, build, run an example
#   make bench   benchmarks against numpy
#   make install PREFIX=DIR   tnsc, runtime, header, tnsrt.pc, CMake helper, stdlib
#   make fuzz [FUZZ_TIME=300]  libFuzzer targets, FUZZ_TIME seconds each (docs/testing.md)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 300
JOBS ?= 2
PREFIX ?= /usr/local

.PHONY: all deps configure check check-asan check-fuzz fuzz fuzz-build demo bench install clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh scripts/deps.sh

configure: deps
	@test -f $(BUILD)/build.ninja || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null

check: all check-asan check-fuzz
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Unit tests, REPL sessions and the runnable language tests (error paths
# included: nothing may leak) again under ASan + UBSan + LeakSanitizer.
# A build-asan/ left by an older gcc configuration is reconfigured for clang.
check-asan: deps
	@grep -qs 'CMAKE_C_COMPILER:.*clang' $(ASAN_BUILD)/CMakeCache.txt || rm -rf $(ASAN_BUILD)
	@test -f $(ASAN_BUILD)/build.ninja || CC=clang-19 CXX=clang++-19 cmake -S . -B $(ASAN_BUILD) -G Ninja -DTNS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -R '^(unit|repl|lang\.run)'

# libFuzzer targets: clang-19, every library instrumented (tests/fuzz).
fuzz-build: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang-19 CXX=clang++-19 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DTNS_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

# Every target over its seeds and regression files, no mutation.
check-fuzz: fuzz-build
	sh tests/fuzz/run.sh check $(FUZZ_BUILD)

# Mutation for FUZZ_TIME seconds per target; crashes land in
# tests/fuzz/regressions/TARGET/ (commit them once fixed).
fuzz: fuzz-build
	sh tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_TIME)

demo: all
	@sh scripts/demo.sh $(BUILD)/tnsc

bench: all
	@sh bench/run.sh $(BUILD)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
