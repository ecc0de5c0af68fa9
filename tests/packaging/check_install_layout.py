"""`cmake --install` into a scratch DESTDIR lays out exactly the files an
operator's host gets (the Debian package installs through the same rules),
and each of them is what it should be: the programs run, the configuration
checks, the unit names the installed paths, the manuals are the sources.

    check_install_layout.py --build-dir B --source-dir S --version V
        --bindir D --sbindir D --sysconfdir D --mandir D --docdir D --unitdir D
"""

import argparse
import filecmp
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile


def installed_files(root):
    found = set()
    for directory, _, files in os.walk(root):
        for name in files:
            found.add("/" + os.path.relpath(os.path.join(directory, name), root))
    return found


def main():
    parser = argparse.ArgumentParser()
    for option in ("build-dir", "source-dir", "version", "bindir", "sbindir", "sysconfdir", "mandir", "docdir",
                   "unitdir"):
        parser.add_argument(f"--{option}", required=True)
    a = parser.parse_args()
    problems = []

    with tempfile.TemporaryDirectory(prefix="voxfork-install-") as destdir:
        r = subprocess.run(["cmake", "--install", a.build_dir], env=dict(os.environ, DESTDIR=destdir),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            print(f"cmake --install failed:\n{r.stdout}{r.stderr}")
            return 1
        at = lambda path: destdir + path

        daemon = f"{a.sbindir}/voxforkd"
        client = f"{a.bindir}/voxfork"
        config = f"{a.sysconfdir}/voxfork/voxforkd.conf"
        unit = f"{a.unitdir}/voxforkd.service"
        manuals = {f"{a.mandir}/man1/voxfork.1": "man/voxfork.1",
                   f"{a.mandir}/man5/voxforkd.conf.5": "man/voxforkd.conf.5",
                   f"{a.mandir}/man8/voxforkd.8": "man/voxforkd.8"}
        docs = {f"{a.docdir}/README.md": "README.md"}
        for name in sorted(os.listdir(os.path.join(a.source_dir, "docs"))):
            if name.endswith(".md"):
                docs[f"{a.docdir}/docs/{name}"] = f"docs/{name}"

        expected = {daemon, client, config, unit, *manuals, *docs}
        found = installed_files(destdir)
        for path in sorted(expected - found):
            problems.append(f"not installed: {path}")
        for path in sorted(found - expected):
            problems.append(f"installed but not expected (tests, benchmarks and tools stay out): {path}")

        # The programs: executable, and they run from where they were put.
        for program, name in ((daemon, "voxforkd"), (client, "voxfork")):
            if program not in found:
                continue
            if not os.stat(at(program)).st_mode & stat.S_IXUSR:
                problems.append(f"{program} is not executable")
            r = subprocess.run([at(program), "--version"], capture_output=True, text=True, timeout=10)
            if (r.returncode, r.stdout) != (0, f"{name} {a.version}\n"):
                problems.append(f"{program} --version said {r.returncode} {r.stdout!r} {r.stderr!r}")
        for path in found - {daemon, client}:
            if os.stat(at(path)).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
                problems.append(f"{path} is executable")

        # Installed text files are the repository's.
        copies = {config: "config/host/voxforkd.conf", **manuals, **docs}
        for installed, source in copies.items():
            if installed in found and not filecmp.cmp(at(installed), os.path.join(a.source_dir, source),
                                                      shallow=False):
                problems.append(f"{installed} differs from {source}")

        # The configuration as shipped is valid.
        if daemon in found and config in found:
            r = subprocess.run([at(daemon), "-c", at(config), "--check"], capture_output=True, text=True, timeout=10)
            if (r.returncode, r.stdout) != (0, "configuration OK\n"):
                problems.append(f"the installed configuration does not check: {r.stdout}{r.stderr}")

        if unit in found:
            problems += check_unit(at(unit), destdir, daemon, config, manuals, a.docdir)

    for problem in problems:
        print(problem)
    print(f"install layout: {len(problems)} problems")
    return 1 if problems else 0


def check_unit(path, destdir, daemon, config, manuals, docdir):
    problems = []
    text = open(path).read()
    if leftover := re.findall(r"@[A-Z_]+@", text):
        problems.append(f"unit: placeholders not filled in: {leftover}")
    for key in ("ExecStartPre", "ExecStart"):
        line = re.search(rf"^{key}=(.*)$", text, re.MULTILINE)
        if not line or not line.group(1).startswith(f"{daemon} -c {config}"):
            problems.append(f"unit: {key} does not run {daemon} -c {config}")
    for key, value in (("Type", "notify"), ("User", "voxfork"), ("Group", "voxfork"), ("RuntimeDirectory", "voxfork")):
        if not re.search(rf"^{key}={value}$", text, re.MULTILINE):
            problems.append(f"unit: no {key}={value}")
    if not re.search(r"^WatchdogSec=\d+s?$", text, re.MULTILINE):
        problems.append("unit: no WatchdogSec=")
    # Documentation= names only what is installed.
    pages = {os.path.basename(m) for m in manuals}
    for line in re.findall(r"^Documentation=(.*)$", text, re.MULTILINE):
        for reference in line.split():
            page = re.fullmatch(r"man:([\w.-]+)\((\d)\)", reference)
            if page:
                if f"{page.group(1)}.{page.group(2)}" not in pages:
                    problems.append(f"unit: Documentation names {reference}, which is not installed")
            elif reference.startswith("file:"):
                target = reference[len("file:"):].removeprefix("//")
                if not target.startswith(docdir) or not os.path.exists(destdir + target):
                    problems.append(f"unit: Documentation names {reference}, which is not installed")
            else:
                problems.append(f"unit: Documentation points outside the host: {reference}")
    # systemd's own check, where there is one. It wants the programs of
    # ExecStart= and the manuals of Documentation= where the unit says, so it
    # reads a copy whose paths point into the scratch tree, with MANPATH there.
    if shutil.which("systemd-analyze"):
        with tempfile.TemporaryDirectory(prefix="voxfork-unit-") as scratch:
            copy = os.path.join(scratch, "voxforkd.service")
            with open(copy, "w") as f:
                f.write(text.replace(daemon, destdir + daemon).replace(config, destdir + config))
            mandir = os.path.dirname(os.path.dirname(next(iter(manuals))))
            r = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, MANPATH=destdir + mandir))
            if r.returncode != 0 or r.stdout or r.stderr:
                problems.append(f"unit: systemd-analyze verify:\n{r.stdout}{r.stderr}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
