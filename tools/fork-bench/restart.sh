#!/bin/sh
# The restart benchmark (docs/stream.md "Continuity", docs/performance.md):
# CALLS forked calls held HOLD seconds through a real voxforkd, their forks
# on the reference speech server, which restarts in place once (after
# RESTART_AFTER frames of its first connection: every connection reset, the
# port closed DOWN seconds, then open again; the server keeps what it knew of
# each channel, so it sees every gap and drops the replay's repeated seq).
# Prints fork-bench's line, voxforkd's continuity counters, the frames the
# server found missing (must be 0), the repeated frames it dropped, and how
# long the reconnects took (loss to re-established, per connection).
#
#   tools/fork-bench/restart.sh [CALLS]          (default 1000)
#   BUILD=build RATE=100 HOLD=40 THRESHOLD=20 WINDOW=10 DOWN=2 RESTART_AFTER=40000 tools/fork-bench/restart.sh
#
# CHRT, as in run.sh, prefixes voxforkd's command line only (e.g. "chrt -f 10");
# SPEECH_CHRT the speech server's. To give voxforkd and the bench real-time
# priority but not the speech server (on another host in production, it
# would not compete for the daemon's CPU):
#   SPEECH_CHRT="chrt -o 0" chrt -f 10 tools/fork-bench/restart.sh 1000
#
# RESTART_EVERY=S restarts the server every S seconds instead (the same in-place
# restart, on the clock, for as long as the run holds), e.g. the issue's
# 1,000 calls for 5 minutes with a restart a minute:
#   HOLD=300 RESTART_EVERY=60 tools/fork-bench/restart.sh 1000
# voxforkd's RSS is sampled every 5 s (rss.tsv: seconds, KiB); the line
# `rss_kib` gives it before the first restart, its highest and its last.
#
# Run files stay in the directory printed on stderr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/config.sh"
calls=${1:-1000}
rate=${RATE:-100}
hold=${HOLD:-40}
threshold=${THRESHOLD:-20}
window=${WINDOW:-10}
down=${DOWN:-2}
# 20 calls x 2 channels x 50 frames/s on the first connection: about 20 s in.
restart_after=${RESTART_AFTER:-40000}
ulimit -n 65536 2>/dev/null || true

dir=$(mktemp -d /tmp/fork-restart.XXXXXX)
echo "restart bench: run files in $dir" >&2
base=$((15000 + ($$ % 2000) * 2))
sip=$base
uas=$((base + 2))
speech_port=$((base + 4))
rtp_min=$((30000 + ($$ % 50) * 2))
rtp_max=$((rtp_min + calls * 8 + 400))
bench_config "$dir/voxforkd.conf" fork-restart "$dir/voxforkd.sock" "$sip" "$uas" "$rtp_min" "$rtp_max" \
    "$threshold" " protocol voxfork-v1
 connection reconnect window $window"

if [ -n "${RESTART_EVERY:-}" ]; then
    restarts="--restart-every $RESTART_EVERY"
else
    restarts="--restart-after-frames $restart_after --fault-limit 1"
fi
${SPEECH_CHRT:-} "$build/bin/speech-server" --listen "127.0.0.1:$speech_port" --out "$dir/speech" \
    --no-frame-events --no-audio-files --quiet $restarts --restart-seconds "$down" > /dev/null 2> "$dir/speech-server.log" &
speech=$!
${CHRT:-} "$build/bin/voxforkd" -c "$dir/voxforkd.conf" --foreground 2> "$dir/voxforkd.log" &
daemon=$!
trap 'kill -TERM $speech $daemon 2>/dev/null || true' EXIT
i=0
while [ ! -S "$dir/voxforkd.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

started=$(date +%s)
( while kill -0 "$daemon" 2>/dev/null; do
      echo "$(($(date +%s) - started)) $(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon/status" 2>/dev/null)"
      sleep 5
  done > "$dir/rss.tsv" ) &
sampler=$!
status=0
"$build/bin/fork-bench" --sip-port "$sip" --uas-port "$uas" --pid "$daemon" --calls "$calls" --rate "$rate" \
    --hold "$hold" --speech-port "$speech_port" > "$dir/fork-bench.out" 2>&1 || status=$?
"$build/bin/voxfork" -s "$dir/voxforkd.sock" show voip stream-service statistics > "$dir/statistics.txt" || true
kill -TERM "$daemon" 2>/dev/null || true
wait "$daemon" || true
kill -TERM "$speech" 2>/dev/null || true
wait "$speech" || true
wait "$sampler" 2>/dev/null || true
trap - EXIT

sed 's/^/  /' "$dir/fork-bench.out"
grep -E "Frames (sent|dropped)|Reconnect|Forks (resumed|active|started)|replayed" "$dir/statistics.txt" | sed 's/^/  /'
# The server's view: frames missing from a channel (seq gaps), repeated frames dropped.
python3 - "$dir/speech/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ch = s["channels"]
print(f"  speech server: channels={len({c['channel'] for c in ch})} frames={s['frames']} "
      f"missing={sum(c['dropped'] for c in ch)} repeated_dropped={sum(c['repeated'] for c in ch)} "
      f"violations={s['violations']}")
PY
# Loss to re-established, per connection (the daemon log's millisecond stamps).
awk '/ws: connection [0-9]+ to .* lost/ { split($2, t, ":"); lost[$7] = t[1] * 3600 + t[2] * 60 + t[3] }
     / re-established$/ && /ws: connection/ { split($2, t, ":"); id = $7
         if (id in lost) { d = t[1] * 3600 + t[2] * 60 + t[3] - lost[id]; n++; sum += d; if (d > max) max = d } }
     END { if (n) printf "  reconnects=%d mean_s=%.3f max_s=%.3f\n", n, sum / n, max }' "$dir/voxforkd.log"
# Memory: before the first restart (the last sample before it; the server's
# clock starts with the sampler's), highest, last while the calls were still
# up. With RESTART_AFTER the first restart's time is not known: `before` is
# then the sample 20 s in.
first=${RESTART_EVERY:-21}
awk -v first="$first" -v hold="$hold" -v ramp=$((calls / rate)) '
    $2 == "" { next }
    $1 < first - 1 { before = $2 }
    $1 <= ramp + hold { last = $2; if ($2 > max) max = $2 }
    END { printf "  rss_kib before_first_restart=%s max=%s last=%s\n", before, max, last }' "$dir/rss.tsv"
exit $status
