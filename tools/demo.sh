#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs voxforkd in the
# foreground with the lab configuration (config/voxforkd.conf). Stop it with
# Ctrl-C; from another shell, `build/bin/voxfork show running-config`.
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target voxforkd voxfork

exec build/bin/voxforkd -c config/voxforkd.conf --foreground
