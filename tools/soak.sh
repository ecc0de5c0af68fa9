#!/bin/sh
# Soak: CALLS forked calls held for MINUTES through a real voxforkd, their
# forks going to the reference speech server, which is killed (SIGKILL, as a
# crash) and started again on the same port every RESTART_EVERY seconds.
# voxforkd's resident memory is sampled every SAMPLE seconds; the result line
# gives the memory before the first restart, at the end, and the slope of a
# least-squares line through the samples from one interval after the first
# restart on (the steady state: no growth means a slope near 0).
#
#   tools/soak.sh [CALLS] [MINUTES]            (default: 500 30)
#   BUILD=build RATE=100 THRESHOLD=20 WINDOW=30 RESTART_EVERY=60 DOWN=2 SAMPLE=10 tools/soak.sh 100 5
#
# WINDOW is the profile's `connection reconnect window` in seconds (0: forks
# end at a restart, as without continuity). A benchmark, not a test: its
# figures go in docs/reliability.md. Run files stay in the directory printed on
# stderr (config, logs, rss.tsv: seconds and KiB per sample).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/fork-bench/config.sh"
calls=${1:-500}
minutes=${2:-30}
rate=${RATE:-100}
threshold=${THRESHOLD:-20}
window=${WINDOW:-30}
every=${RESTART_EVERY:-60}
down=${DOWN:-2}
sample=${SAMPLE:-10}
ulimit -n 65536 2>/dev/null || true

dir=$(mktemp -d /tmp/soak.XXXXXX)
echo "soak: run files in $dir" >&2
base=$((17000 + ($$ % 1000) * 4))
sip=$base
uas=$((base + 2))
speech_port=$((base + 4))
rtp_min=$((30000 + ($$ % 50) * 2))
rtp_max=$((rtp_min + calls * 8 + 400))
reconnect=
[ "$window" -gt 0 ] && reconnect=" connection reconnect window $window"
bench_config "$dir/voxforkd.conf" soak "$dir/voxforkd.sock" "$sip" "$uas" "$rtp_min" "$rtp_max" "$threshold" \
    "$reconnect"

speech=
start_speech() {
    "$build/bin/speech-server" --listen "127.0.0.1:$speech_port" --out "$dir/speech" --no-frame-events --no-audio-files --quiet \
        > /dev/null 2>> "$dir/speech-server.log" &
    speech=$!
}
daemon=
bench=
cleanup() {
    for pid in $bench $speech $daemon; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$build/bin/voxforkd" -c "$dir/voxforkd.conf" --foreground 2> "$dir/voxforkd.log" &
daemon=$!
i=0
while [ ! -S "$dir/voxforkd.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
start_speech
sleep 0.5

hold=$((minutes * 60))
"$build/bin/fork-bench" --sip-port "$sip" --uas-port "$uas" --pid "$daemon" --calls "$calls" --rate "$rate" \
    --hold "$hold" --speech-port "$speech_port" > "$dir/fork-bench.out" 2>&1 &
bench=$!

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon/status"; }
# The ramp: until every call is up (fork-bench's window starts after it).
sleep $((calls / rate + 3))
start=$(date +%s)
restarts=0
next_restart=$every
rss_before=$(rss)
: > "$dir/rss.tsv"
while kill -0 "$bench" 2>/dev/null; do
    now=$(($(date +%s) - start))
    [ "$now" -ge "$hold" ] && break
    echo "$now $(rss)" >> "$dir/rss.tsv"
    if [ "$now" -ge "$next_restart" ]; then
        kill -KILL "$speech" 2>/dev/null || true
        wait "$speech" 2>/dev/null || true
        sleep "$down"
        start_speech
        restarts=$((restarts + 1))
        next_restart=$((next_restart + every))
        echo "soak: restart $restarts at ${now}s, voxforkd rss $(rss) KiB" >&2
    fi
    sleep "$sample"
done
wait "$bench" || true
rss_end=$(awk 'END { print $2 }' "$dir/rss.tsv")
"$build/bin/voxfork" -s "$dir/voxforkd.sock" show voip stream-service statistics > "$dir/statistics.txt" || true

# Least squares over the samples from one restart interval after the first restart.
slope=$(awk -v from=$((2 * every)) '$1 >= from { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
    END { d = n * sxx - sx * sx; if (n < 2 || d == 0) print "n/a"; else printf "%.1f", 60 * (n * sxy - sx * sy) / d }' \
    "$dir/rss.tsv")
echo "soak calls=$calls minutes=$minutes restarts=$restarts window_s=$window rss_before_kib=$rss_before" \
     "rss_end_kib=$rss_end rss_slope_kib_per_min=$slope"
sed 's/^/  /' "$dir/fork-bench.out"
