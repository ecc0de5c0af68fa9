#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (unit and integration) in a normal build, then builds and runs it all again
# under AddressSanitizer + UndefinedBehaviorSanitizer. Any failure or
# sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh

jobs=$(nproc)
run_suite() {
    local dir=$1; shift
    echo "== configure and build: $dir"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    echo "== tests: $dir"
    local status=0
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900 || status=$?
    # Every skipped integration test with its reason, and every known defect
    # pinned as an expected failure (harness.main prints both).
    grep -h -E '^(SKIPPED|EXPECTED FAILURE) ' "$dir/Testing/Temporary/LastTest.log" | sed 's/^/== /' || true
    return "$status"
}

# Line tables (-g1) are enough for backtraces and cost far less compile time
# than full debug info in the Beast-heavy files.
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
# Every fuzz target for a few seconds from its seeds alone (clang, its own
# build directory): the parsers still take their corpus and the shallow
# mutations of it. The long runs are docs/reliability.md's.
echo "== fuzz smoke"
rm -rf build-fuzz-ci/corpus
FUZZ_BUILD_DIR=build-fuzz-ci FUZZ_JOBS="$jobs" ./tools/fuzz.sh all "${FUZZ_SECONDS:-10}"
# halt_on_error: the first report fails the test that caused it.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# The benchmarks are built (and so compile-checked) once, in the plain build.
run_suite build-asan -DVOXFORK_SANITIZE=ON -DVOXFORK_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
