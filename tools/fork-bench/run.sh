#!/bin/sh
# Runs fork-bench against a real voxforkd: for each call count, starts
# BUILD/bin/voxforkd with a generated loopback configuration (calls to 6777 in
# on dial-peer 900, out on 901 to fork-bench's UAS, media class 9 -> stream-
# service profile 99, THRESHOLD (20) calls per WebSocket connection), runs fork-bench, reads
# `show voip stream-service statistics`, stops the daemon.
#
#   tools/fork-bench/run.sh [N...]          (default: 100 500 1000)
#   BUILD=build HOLD=20 RATE=100 THRESHOLD=20 CHRT="chrt -f 10" tools/fork-bench/run.sh 1000
#   PROTOCOL=audiohook tools/fork-bench/run.sh 1000   (voxfork-v1, audiohook, raw or raw-interleaved)
#
# WAKE=1 makes the bench's receivers sleep on their sockets, so voxforkd's
# threads pay their loopback wake-ups (see Receivers in common.hpp).
#
# FORK=0 sends no INFO START: the same calls relayed only, so that what
# forking adds (memory, CPU) is the difference between two runs.
#
# Given several call counts, it also prints how much the daemon's RSS grew
# per call from one count to the next: a call's memory without what the
# first calls pay once (code paged in, the allocator's free reserve).
#
# CHRT, when set, prefixes voxforkd's command line (e.g. "chrt -f 10" runs the
# whole daemon at SCHED_FIFO 10; needs root). Each run's files stay in a
# temporary directory printed on stderr (config, daemon log).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/config.sh"
hold=${HOLD:-20}
rate=${RATE:-100}
threshold=${THRESHOLD:-20}  # calls per WebSocket connection
chrt=${CHRT:-}
protocol=${PROTOCOL:-voxfork-v1}
# The profile's protocol lines (raw: a WebSocket per channel; raw-interleaved:
# one per call, both channels in each frame).
case $protocol in
    voxfork-v1) protocol_lines=" protocol voxfork-v1" ;;
    audiohook) protocol_lines=" protocol audiohook
 audiohook organization-id 6ba7b811-9dad-11d1-80b4-00c04fd430c8" ;;
    raw) protocol_lines=" protocol raw
 raw layout separate" ;;
    raw-interleaved) protocol_lines=" protocol raw
 raw layout interleaved" ;;
    *) echo "fork-bench: PROTOCOL is voxfork-v1, audiohook, raw or raw-interleaved" >&2; exit 2 ;;
esac
receivers=
[ "${WAKE:-0}" = 1 ] && receivers=--wake-receivers
[ "${FORK:-1}" = 0 ] && receivers="$receivers --no-fork"
[ $# -gt 0 ] || set -- 100 500 1000
previous=  # "calls held_kib" of the last run
ulimit -n 65536 2>/dev/null || true

for calls in "$@"; do
    dir=$(mktemp -d /tmp/fork-bench.XXXXXX)
    echo "fork-bench: run files in $dir" >&2
    # Ports: SIP and the bench's UAS just above a random base; the RTP range
    # holds 2 legs x (RTP + RTCP) per call with room for busy ports.
    base=$((15000 + ($$ % 2000) * 2))
    sip=$base
    uas=$((base + 2))
    rtp_min=$((30000 + ($$ % 50) * 2))
    rtp_max=$((rtp_min + calls * 8 + 400))
    bench_config "$dir/voxforkd.conf" fork-bench "$dir/voxforkd.sock" "$sip" "$uas" "$rtp_min" "$rtp_max" \
        "$threshold" "$protocol_lines"
    $chrt "$build/bin/voxforkd" -c "$dir/voxforkd.conf" --foreground 2> "$dir/voxforkd.log" &
    daemon=$!
    i=0
    while [ ! -S "$dir/voxforkd.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    status=0
    "$build/bin/fork-bench" --sip-port "$sip" --uas-port "$uas" --pid "$daemon" --calls "$calls" \
        --rate "$rate" --hold "$hold" --protocol "$protocol" $receivers > "$dir/bench.out" || status=$?
    cat "$dir/bench.out"
    held=$(sed -n 's/.* rss_held_kib=\([0-9]*\) .*/\1/p' "$dir/bench.out")
    if [ -n "$held" ]; then
        if [ -n "$previous" ]; then
            echo "$previous $calls $held" | awk '$3 != $1 { printf "fork-bench: RSS grew %.1f KiB per call from %d to %d calls\n", ($4 - $2) / ($3 - $1), $1, $3 }'
        fi
        previous="$calls $held"
    fi
    "$build/bin/voxfork" -s "$dir/voxforkd.sock" show voip stream-service statistics | sed 's/^/  /' || true
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" || echo "voxforkd exited $? (log: $dir/voxforkd.log)" >&2
    [ $status -eq 0 ] || echo "fork-bench: run with $calls calls not clean (exit $status)" >&2
done
