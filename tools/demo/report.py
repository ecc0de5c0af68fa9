"""Checks and summarises a finished demo run: the status INFOs the controller
received (from SIPp's -trace_msg log) and what the speech server recorded
(summary.json, events.jsonl). Prints the summary; exits 1, saying why, when
the run did not show what the demo is meant to show.

    /usr/bin/python3 report.py [--protocol voxfork-v1|audiohook|raw] RUN_DIR
    /usr/bin/python3 report.py --statuses RUN_DIR    (only the status INFOs)
"""

import json
import os
import re
import sys

JSON_TYPE = "application/x-cisco-record+json"
EXPECTED_STATUSES = ["STARTED", "UPDATED", "PAUSED", "RESUMED", "STOPPED"]
# SIPp's message log: a line of dashes and a timestamp, then
# "UDP message received [N] bytes :", a blank line and the message.
BLOCK = re.compile(r"^-{20,} [0-9-]+ [0-9:.]+\n\w+ message (sent|received)[^\n]*\n", re.M)


def status_infos(log_path):
    """The JSON bodies of the status INFOs received, in order, each once
    (a retransmission has the same CSeq)."""
    with open(log_path, errors="replace") as f:
        text = f.read().replace("\r\n", "\n")
    marks = list(BLOCK.finditer(text))
    bodies, seen = [], set()
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        message = text[mark.end():end].strip("\n")
        head, _, body = message.partition("\n\n")
        lines = head.split("\n")
        if mark.group(1) != "received" or not lines[0].startswith("INFO "):
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        if headers.get("content-type") != JSON_TYPE or headers.get("cseq") in seen:
            continue
        seen.add(headers.get("cseq"))
        bodies.append(body.strip())
    return bodies


def sounding_stretch(recorded, length=1600):
    """The first `length` bytes of the recording that are not near-silence
    (speech has pauses, and two silences would match either file). The
    clock-paced protocols (AudioHook, raw interleaved) fill the time before
    a party's first packet with µ-law silence (0xFF): the search starts
    after it."""
    first = next((i for i, b in enumerate(recorded) if b != 0xFF), 0)
    for start in range(first, max(first + 1, len(recorded) - length), 160):
        window = recorded[start:start + length]
        if len(set(window)) >= 48:
            return window
    return recorded[:length]


def print_statuses(run):
    print("Status INFOs voxforkd sent to the controller (answered 200 OK):")
    bodies = status_infos(os.path.join(run, "caller.messages"))
    for body in bodies:
        print(f"  {body}")
    if not bodies:
        print("  (none)")
    return [json.loads(b).get("status") for b in bodies]


def update_seen(event, protocol):
    """The speech server's record of the controller's UPDATE, as the
    protocol carries it: voxfork-v1's UPDATE (its metadata), AudioHook's
    `update` (the metadata's language); raw sends nothing."""
    if event.get("event") != "control":
        return None
    if protocol == "voxfork-v1" and event.get("type") == "UPDATE":
        return event["msg"].get("metadata")
    if protocol == "audiohook" and event.get("type") == "update":
        return event["msg"].get("parameters")
    return None


def main():
    if sys.argv[1] == "--statuses":
        print_statuses(sys.argv[2])
        return
    protocol = "voxfork-v1"
    if sys.argv[1] == "--protocol":
        protocol = sys.argv[2]
        del sys.argv[1:3]
    run = sys.argv[1]
    speech = os.path.join(run, "speech")
    problems = []

    got = print_statuses(run)
    if got != EXPECTED_STATUSES:
        problems.append(f"status INFOs were {got}, expected {EXPECTED_STATUSES}")

    with open(os.path.join(speech, "summary.json")) as f:
        summary = json.load(f)
    print()
    print("What the speech server received:")
    legs = {}
    for ch in summary["channels"]:
        seconds = ch["bytes"] / 8000.0  # G.711: one byte per sample at 8000 Hz
        legs[ch["leg"]] = ch
        print(f"  channel {ch['channel']:<3} {ch['leg']:<7} {ch['codec']}  {ch['frames']} frames, "
              f"{seconds:.2f} s of audio, dropped {ch['dropped']}, stop reason: {ch['stop_reason']}")
        print(f"      {os.path.join(speech, ch['wav'])}")
    updates = []
    with open(os.path.join(speech, "events.jsonl")) as f:
        for line in f:
            event = json.loads(line)
            seen = update_seen(event, protocol)
            if seen is not None:
                updates.append(seen)
    if updates:
        print(f"  after UPDATE: {json.dumps(updates[0])}")
    print(f"  connections {summary['connections']}, frames {summary['frames']}, "
          f"violations of the {protocol} protocol {summary['violations']}")
    print(f"  events: {os.path.join(speech, 'events.jsonl')}")

    for leg in ("caller", "callee"):
        if legs.get(leg, {}).get("frames", 0) < 50:
            problems.append(f"the {leg} channel got {legs.get(leg, {}).get('frames', 0)} frames (expected 50 or more)")
            continue
        # Each channel must carry its own party's audio: a stretch of what the
        # speech server received is found in that party's file, not the other's.
        with open(os.path.join(speech, legs[leg]["raw"]), "rb") as f:
            stretch = sounding_stretch(f.read())
        sources = {}
        for name in ("caller", "callee"):
            with open(os.path.join(run, f"{name}.ulaw"), "rb") as f:
                sources[name] = stretch in f.read()
        if sources != {"caller": leg == "caller", "callee": leg == "callee"}:
            problems.append(f"the {leg} channel does not carry the {leg}'s audio ({leg}.ulaw)")
    if summary["violations"]:
        problems.append(f"the speech server recorded violations: {summary['violations_by_kind']}")
    if not updates and protocol != "raw":
        problems.append("the speech server never got the UPDATE")

    if problems:
        print()
        for p in problems:
            print(f"demo: FAILED: {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
