#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) in
# build-fuzz/ and runs one target, or each in turn, for SECONDS seconds from
# its seed corpus (tests/fuzz/corpus/TARGET; the configuration target's seeds
# are the files the configuration unit tests load). What a run finds beyond the
# seeds stays in build-fuzz/corpus/TARGET; a crash is written to
# build-fuzz/crashes/ and fails the script.
#
#   tools/fuzz.sh                  every target, 60 s each
#   tools/fuzz.sh sdp 600          one target, ten minutes
#   tools/fuzz.sh all 10           every target, 10 s each (what CI runs)
#
# FUZZ_BUILD_DIR and CC/CXX may point elsewhere; FUZZ_JOBS sets the build's -j;
# FUZZ_RUNS also stops a run after that many executions, FUZZ_MAX_LEN
# caps an input's length (65536 by default; the long runs of
# docs/reliability.md give each target the length its coverage needs), and
# FUZZ_TIMEOUT is the seconds one input may take before it counts as a hang
# (10; a run that shares the host at idle priority needs more, since the
# clock runs while it waits for a core).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-all}
seconds=${2:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(sdp fork_request multipart config control_line voxfork_v1_server raw_server audiohook_server ws_upgrade)

if [[ $target != all ]]; then
    found=no
    for t in "${targets[@]}"; do [[ $t == "$target" ]] && found=yes; done
    if [[ $found == no ]]; then
        echo "unknown target '$target' (one of: all ${targets[*]})" >&2
        exit 2
    fi
    targets=("$target")
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# Only the fuzz targets are built: the product and its tests are GCC's.
cmake -S . -B "$build" -DVOXFORK_FUZZ=ON -DVOXFORK_TESTS=OFF -DVOXFORK_BENCHMARKS=OFF \
    -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build/crashes"
runs=()
[[ -n ${FUZZ_RUNS:-} ]] && runs=(-runs="$FUZZ_RUNS")
status=0
for t in "${targets[@]}"; do
    corpus="$build/corpus/$t"
    mkdir -p "$corpus"
    seeds="tests/fuzz/corpus/$t"
    [[ $t == config ]] && seeds=tests/unit/config/corpus
    echo "== fuzz $t for ${seconds}s"
    # New inputs go to the build's corpus; the seeds are read, never written.
    if ! "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -max_len="${FUZZ_MAX_LEN:-65536}" \
        -print_final_stats=1 "${runs[@]}" -artifact_prefix="$build/crashes/$t-" "$corpus" "$seeds" \
        >"$build/fuzz-$t.log" 2>&1; then
        status=1
        echo "!! $t failed; the input is in $build/crashes/, the log in $build/fuzz-$t.log"
        grep -m 20 -E 'ERROR|runtime error|check failed|SUMMARY|#0|#1|#2|#3' "$build/fuzz-$t.log" || true
    fi
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/fuzz-$t.log" | tail -2 || true
done
exit "$status"
