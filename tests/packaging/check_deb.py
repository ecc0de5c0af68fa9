"""Builds the Debian package with tools/package.sh and checks what it holds:
the stripped programs where an operator looks for them, the configuration as
a conffile, the unit, the manuals, a -dbgsym package beside it, maintainer
scripts that create the voxfork user and do not start the daemon, and
runtime dependencies only. It compiles the programs afresh (about 4 minutes
of CPU), so it runs only when configured with -DVOXFORK_PACKAGE_TEST=ON.

    check_deb.py SOURCE_DIR VERSION
"""

import glob
import os
import subprocess
import sys
import tempfile

# Never a dependency of the package: build and test tools (and any -dev).
NOT_AT_RUNTIME = {"sip-tester", "python3", "python3-websockets", "googletest", "cmake", "g++", "gcc", "make",
                  "tinyproxy", "tinyproxy-bin", "dnsmasq-base", "man-db", "groff-base", "debhelper", "openssl"}


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def main():
    source_dir, version = sys.argv[1], sys.argv[2]
    problems = []
    with tempfile.TemporaryDirectory(prefix="voxfork-deb-") as out:
        r = subprocess.run([os.path.join(source_dir, "tools", "package.sh"), out], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"tools/package.sh failed:\n{r.stdout}{r.stderr}")
            return 1
        deb = os.path.join(out, f"voxfork_{version}_amd64.deb")
        if not os.path.exists(deb):
            print(f"no {deb}; built: {os.listdir(out)}")
            return 1
        if not glob.glob(os.path.join(out, f"voxfork-dbgsym_{version}_*.deb")):
            problems.append("no -dbgsym package")

        listing = {line.split()[-1].lstrip(".") for line in run("dpkg-deb", "-c", deb).splitlines()}
        for path in ("/usr/sbin/voxforkd", "/usr/bin/voxfork", "/etc/voxfork/voxforkd.conf",
                     "/lib/systemd/system/voxforkd.service", "/usr/share/man/man8/voxforkd.8.gz",
                     "/usr/share/man/man5/voxforkd.conf.5.gz", "/usr/share/man/man1/voxfork.1.gz",
                     "/usr/share/doc/voxfork/README.md", "/usr/share/doc/voxfork/README.Debian"):
            if path not in listing:
                problems.append(f"not in the package: {path}")

        depends = run("dpkg-deb", "-f", deb, "Depends")
        names = {alternative.split()[0] for item in depends.split(",") for alternative in item.split("|")}
        for name in sorted(names):
            if name in NOT_AT_RUNTIME or name.endswith("-dev"):
                problems.append(f"Depends names a build or test tool ({name}): {depends}")
        if "adduser" not in names:
            problems.append(f"Depends lacks adduser, which postinst uses: {depends}")

        with tempfile.TemporaryDirectory() as unpacked:
            run("dpkg-deb", "-R", deb, unpacked)
            conffiles = open(os.path.join(unpacked, "DEBIAN", "conffiles")).read().split()
            if conffiles != ["/etc/voxfork/voxforkd.conf"]:
                problems.append(f"conffiles: {conffiles}")
            for program in ("usr/sbin/voxforkd", "usr/bin/voxfork"):
                sections = run("readelf", "-S", os.path.join(unpacked, program))
                if ".symtab" in sections or ".debug_info" in sections:
                    problems.append(f"/{program} is not stripped")
            postinst = open(os.path.join(unpacked, "DEBIAN", "postinst")).read()
            if "adduser --system" not in postinst or "addgroup --system" not in postinst:
                problems.append("postinst does not create the voxfork system user and group")
            if "deb-systemd-helper enable 'voxforkd.service'" not in postinst:
                problems.append("postinst does not enable the unit")
            if "deb-systemd-invoke start" in postinst or "deb-systemd-invoke restart" in postinst:
                problems.append("postinst starts the daemon before the operator has configured it")
            if "has not been started" not in postinst:
                problems.append("postinst does not tell the operator the daemon is not started")

    for problem in problems:
        print(problem)
    print(f"Debian package: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
