#!/usr/bin/env bash
# The demo: one forked call, end to end, on loopback, in under a minute.
#
# Installs what is missing, builds voxforkd, voxfork and speech-server, then
# starts the reference speech server, voxforkd with the demo configuration
# (tools/demo/voxforkd.conf.in), a SIPp callee and a SIPp call controller that
# calls through voxforkd and asks it with INFOs to START, UPDATE and STOP
# forking the call's audio to the speech server. Prints the show commands while
# the call runs and, at the end, where the recorded audio and the logs are.
# Exits 0 when everything happened as expected; every process it started is
# stopped on the way out. See docs/demo.md.
#
#   tools/demo.sh [--protocol voxfork-v1|audiohook|raw]
#
# --protocol: what the fork speaks (docs/demo.md): the profile gets `protocol
# P` and the speech server serves P (default voxfork-v1). audiohook signs the
# upgrade with a client secret the server verifies; raw forks each party on a
# WebSocket of its own.
#
# Environment: BUILD_DIR (default build), DEMO_DIR (the run directory;
# default a new /tmp/voxfork-demo.XXXXXX), JOBS (parallel build jobs).
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOCOL=voxfork-v1
while (($#)); do
  case $1 in
    --protocol) PROTOCOL=${2:-}; shift 2 || { echo "demo: --protocol needs a value" >&2; exit 2; } ;;
    --protocol=*) PROTOCOL=${1#--protocol=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (usage: tools/demo.sh [--protocol voxfork-v1|audiohook|raw])" >&2; exit 2 ;;
  esac
done
# Per protocol: the profile's lines, the speech server's flags, the START's
# path, and the server event that shows the controller's UPDATE arrived (raw
# sends nothing for an UPDATE).
DEMO_KEY=demo-key
DEMO_SECRET=ZGVtby1jbGllbnQtc2VjcmV0LWZvci10aGUtZGVtbw==
case $PROTOCOL in
  voxfork-v1)
    PROFILE_LINES=" protocol voxfork-v1"
    SPEECH_ARGS=()
    FORK_PATH=/v1/fork UPDATE_SEEN='"type":"UPDATE"' ;;
  audiohook)
    PROFILE_LINES=$' protocol audiohook\n audiohook organization-id d7934305-0972-4844-938e-9060eef73d05\n'
    PROFILE_LINES+=" audiohook client-secret $DEMO_SECRET"
    SPEECH_ARGS=(--protocol audiohook --token "$DEMO_KEY" --audiohook-secret "$DEMO_SECRET")
    FORK_PATH=/api/v1/audiohook/ws UPDATE_SEEN='"type":"update"' ;;
  raw)
    PROFILE_LINES=$' protocol raw\n raw layout separate\n raw stop-message {"type":"end"}'
    SPEECH_ARGS=(--protocol raw --token "$DEMO_KEY" --reply-every-frames 50)
    FORK_PATH=/v1/listen UPDATE_SEEN= ;;
  *) echo "demo: --protocol must be voxfork-v1, audiohook or raw" >&2; exit 2 ;;
esac
BUILD_DIR=$(realpath -m "${BUILD_DIR:-build}")
BIN=$BUILD_DIR/bin
PY=/usr/bin/python3
GUID=8F3B2C1A0E7D11EF9A2B00505688C0DE

fail() { echo "demo: FAILED: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

# -- install and build -----------------------------------------------------------

./tools/install-deps.sh
echo "demo: building voxforkd voxfork speech-server in $BUILD_DIR (log: $BUILD_DIR/demo-build.log)"
mkdir -p "$BUILD_DIR"
if ! { cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target voxforkd voxfork speech-server; } \
       >"$BUILD_DIR/demo-build.log" 2>&1; then
  tail -n 40 "$BUILD_DIR/demo-build.log" >&2
  fail "the build failed (full log: $BUILD_DIR/demo-build.log)"
fi

# -- processes: every one started is stopped on exit -----------------------------

PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process (SIGTERM, then SIGKILL after 5 s); returns its exit status.
stop_one() {
  local pid=$1 status=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
  return "$status"
}

# Waits up to $1 seconds for the command after it to succeed.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

RUN=${DEMO_DIR:-$(mktemp -d /tmp/voxfork-demo.XXXXXX)}
mkdir -p "$RUN"
RUN=$(realpath "$RUN")
SOCK=$RUN/voxforkd.sock
# A reused DEMO_DIR: nothing of the last run may be mistaken for this one's.
rm -rf "$SOCK" "$RUN/speech" "$RUN"/caller.* "$RUN"/callee.* "$RUN"/*.log
cli() { "$BIN/voxfork" -s "$SOCK" "$@"; }
show() { echo; echo "voxfork# $*"; cli "$@" || fail "'$*' failed"; }

echo "demo: run directory $RUN"
mapfile -t PORTS < <("$PY" tools/demo/ports.py)
((${#PORTS[@]} == 6)) || fail "tools/demo/ports.py found no free ports"
SIP_PORT=${PORTS[0]} CALLEE_PORT=${PORTS[1]} CALLER_PORT=${PORTS[2]}
CALLEE_RTP=${PORTS[3]} CALLER_RTP=${PORTS[4]} RTP_MIN=${PORTS[5]}
AUDIO=$("$PY" tools/demo/make_audio.py "$RUN" 14) || fail "tools/demo/make_audio.py could not write the audio"
echo "demo: the caller and the agent speak ($AUDIO: $RUN/caller.ulaw, $RUN/callee.ulaw)"
cp tools/demo/caller.xml tools/demo/callee.xml "$RUN/"

# -- the speech server -------------------------------------------------------------

step "speech server ($PROTOCOL)"
"$BIN/speech-server" --listen 127.0.0.1:0 --out "$RUN/speech" --quiet ${SPEECH_ARGS[@]+"${SPEECH_ARGS[@]}"} \
  >"$RUN/speech-server.stdout" 2>"$RUN/speech-server.log" </dev/null &
SPEECH_PID=$!
PIDS+=("$SPEECH_PID")
wait_until 10 grep -q 'listening on' "$RUN/speech-server.stdout" ||
  fail "the speech server did not start (see $RUN/speech-server.log)"
SPEECH_PORT=$(sed -n 's/.*listening on ws:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$RUN/speech-server.stdout")
echo "speech-server listening on ws://127.0.0.1:$SPEECH_PORT, output in $RUN/speech"

# -- voxforkd ------------------------------------------------------------------------

step "voxforkd"
sed -e "s|@SIP_PORT@|$SIP_PORT|; s|@CALLEE_PORT@|$CALLEE_PORT|; s|@SOCKET@|$SOCK|" \
    -e "s|@RTP_MIN@|$RTP_MIN|; s|@RTP_MAX@|$((RTP_MIN + 398))|" \
    tools/demo/voxforkd.conf.in |
  awk -v lines="$PROFILE_LINES" '$0 == " @PROTOCOL_LINES@" { print lines; next } { print }' >"$RUN/voxforkd.conf"
"$BIN/voxforkd" -c "$RUN/voxforkd.conf" --check >/dev/null ||
  fail "the demo configuration does not check: $BIN/voxforkd -c $RUN/voxforkd.conf --check"
"$BIN/voxforkd" -c "$RUN/voxforkd.conf" --foreground >"$RUN/voxforkd.log" 2>&1 </dev/null &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
wait_until 10 test -S "$SOCK" || fail "voxforkd did not start (see $RUN/voxforkd.log)"
echo "voxforkd listening on sip:127.0.0.1:$SIP_PORT, config $RUN/voxforkd.conf"

# -- the call --------------------------------------------------------------------------

# SIPp runs in the run directory: the scenarios play caller.ulaw / callee.ulaw from there.
sipp_run() {  # NAME SIP_PORT RTP_PORT [more sipp arguments]
  local name=$1 port=$2 rtp=$3; shift 3
  (cd "$RUN" && exec sipp -sf "$name.xml" -i 127.0.0.1 -p "$port" -t u1 -m 1 -nostdin -aa \
     -mi 127.0.0.1 -mp "$rtp" -key rtp_rx_port "$rtp" -timeout 40s -timeout_error \
     -trace_err -error_file "$name.errors" -trace_msg -message_file "$name.messages" "$@" \
     >"$name.out" 2>&1 </dev/null) &
}

step "the call: controller -> voxforkd (dial-peer 900 in, 901 out) -> callee"
sipp_run callee "$CALLEE_PORT" "$CALLEE_RTP"
CALLEE_PID=$!
PIDS+=("$CALLEE_PID")
sleep 0.3
sipp_run caller "$CALLER_PORT" "$CALLER_RTP" -key speech_port "$SPEECH_PORT" -key guid "$GUID" \
  -key fork_path "$FORK_PATH" -key token "$DEMO_KEY" -s 6777 "127.0.0.1:$SIP_PORT"
CALLER_PID=$!
PIDS+=("$CALLER_PID")

EVENTS=$RUN/speech/events.jsonl
event_seen() { grep -q "$1" "$EVENTS" 2>/dev/null; }
call_failed() {
  "$PY" tools/demo/report.py --statuses "$RUN" >&2 || true
  fail "$@"
}
# Waits for a speech server event while the controller runs.
event_or_caller_done() { event_seen "$1" || ! kill -0 "$CALLER_PID" 2>/dev/null; }
wait_event() {
  wait_until 15 event_or_caller_done "$1" || true
  event_seen "$1" || call_failed "the speech server never saw $2 (see $RUN/caller.errors, $RUN/voxforkd.log)"
}

wait_event '"event":"frame"' "audio frames (the controller's START)"
sleep 1  # a second of forked audio in the counters
echo "forking: the controller's START was answered 200 and STARTED; audio flows to the speech server"
show show call active voice brief
ANCHOR=$(cli show call active voice brief | awk '/^[0-9]/ { print $1; exit }')
[[ -n $ANCHOR ]] || fail "no active call in 'show call active voice brief'"
show show voip stream-service connection
show show voip stream-service callid "$ANCHOR"
show show voip stream-service statistics
show show platform hardware qfp active feature sbc fork global

if [[ -n $UPDATE_SEEN ]]; then
  wait_event "$UPDATE_SEEN" "the controller's UPDATE"
  sleep 0.3
else
  sleep 1  # raw: an UPDATE sends nothing to the server
fi
echo
echo "the controller sent UPDATE with new metadata (agent-042):"
show show voip stream-service callid "$ANCHOR"

step "the controller sends STOP, then BYE"
caller_status=0; callee_status=0
wait "$CALLER_PID" || caller_status=$?
wait "$CALLEE_PID" || callee_status=$?
PIDS=("$SPEECH_PID" "$DAEMON_PID")
((caller_status == 0)) ||
  call_failed "the controller (SIPp) exited $caller_status: see $RUN/caller.errors and $RUN/caller.messages"
((callee_status == 0)) ||
  call_failed "the callee (SIPp) exited $callee_status: see $RUN/callee.errors and $RUN/callee.messages"
echo "both SIPp endpoints finished their scenario"
show show call active voice brief
show show voip stream-service statistics
show show platform hardware qfp active feature sbc fork global

# license usage interval 10: the first report comes 10 s after voxforkd started.
license_reported() { cli show voice sip license stats table | grep -q '^[0-9]'; }
wait_until 15 license_reported || fail "no license usage report within 15 s"
show show voice sip license stats table

# -- the end ---------------------------------------------------------------------------

step "results"
# voxforkd first: it closes its WebSocket connection cleanly; then the speech
# server, which completes its files and writes summary.json as it exits.
stop_one "$DAEMON_PID" || fail "voxforkd exited $? on SIGTERM (see $RUN/voxforkd.log)"
stop_one "$SPEECH_PID" || fail "the speech server exited $? (see $RUN/speech-server.log)"
PIDS=()
"$PY" tools/demo/report.py --protocol "$PROTOCOL" "$RUN"
PICTURE=$("$PY" tools/demo/plot.py "$RUN") || fail "tools/demo/plot.py could not draw the picture"
echo
echo "  picture of both channels (START, PAUSE, RESUME, STOP marked): $PICTURE"
echo "  listen to the forked audio:"
for wav in "$RUN"/speech/*.wav; do echo "    aplay $wav    (or: play $wav)"; done
echo
echo "  controller's SIP messages: $RUN/caller.messages"
echo "  voxforkd's log:            $RUN/voxforkd.log"
echo "  voxforkd's config:         $RUN/voxforkd.conf"
echo
echo "demo: OK ($PROTOCOL)"
