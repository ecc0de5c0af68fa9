"""The manuals render without a warning, and voxforkd.conf(5) names every
configuration command the parser knows (so a new command cannot go
undocumented).

    check_man_pages.py SOURCE_DIR
"""

import os
import pathlib
import re
import subprocess
import sys

PAGES = {"voxfork.1": "VOXFORK", "voxforkd.8": "VOXFORKD", "voxforkd.conf.5": "VOXFORKD.CONF"}
# A command in the parser's tables: {Mode::profile, "connection idle-timeout", ...
COMMAND_ENTRY = re.compile(r"\{\s*Mode::\w+,\s*\"([^\"]+)\"")


def run(args):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MAN_KEEP_FORMATTING="")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)


def main():
    root = pathlib.Path(sys.argv[1])
    failures = []
    rendered = {}
    for name, title in PAGES.items():
        page = root / "man" / name
        # groff with every warning on: any output on stderr is a fault in the roff.
        groff = run(["groff", "-man", "-ww", "-z", "-Tutf8", str(page)])
        if groff.returncode != 0 or groff.stderr:
            failures.append(f"{name}: groff warns:\n{groff.stderr}")
        # What an operator sees: man -l, with man-db's own warnings on.
        man = run(["man", "--warnings", "-l", str(page)])
        if man.returncode != 0 or man.stderr:
            failures.append(f"{name}: man -l exited {man.returncode}:\n{man.stderr}")
        text = re.sub(r".\x08", "", man.stdout)
        if not text.startswith(f"{title}("):
            failures.append(f"{name}: rendered page does not start with its title {title}(")
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
            if f"\n{section}\n" not in text:
                failures.append(f"{name}: no {section} section")
        rendered[name] = text

    # Words broken across lines by hyphenation or filling would hide a name.
    conf_text = re.sub(r"\u2010\n\s*", "", rendered["voxforkd.conf.5"])
    conf_text = re.sub(r"\s+", " ", re.sub(r"-\n\s*", "-", conf_text))
    commands = set()
    for source in sorted((root / "src" / "config").glob("commands_*.cpp")):
        commands.update(COMMAND_ENTRY.findall(source.read_text()))
    if len(commands) < 30:
        failures.append(f"only {len(commands)} commands found in src/config/commands_*.cpp: has the table changed shape?")
    for command in sorted(commands):
        if command not in conf_text:
            failures.append(f"voxforkd.conf.5 does not document \"{command}\"")

    for failure in failures:
        print(failure)
    print(f"{len(PAGES)} manuals, {len(commands)} configuration commands checked, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
