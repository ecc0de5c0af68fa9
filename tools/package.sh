#!/usr/bin/env bash
# Builds the Debian package: voxfork_VERSION_ARCH.deb and its -dbgsym, in
# OUTDIR (default build/package). The tree (tracked and new files, as they
# are now) is copied to a scratch directory first, because dpkg-buildpackage
# writes its results next to the source directory and leaves build files in it.
#   tools/package.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
outdir=$(realpath -m "${1:-build/package}")

# Build tools only: none of them becomes a dependency of the package.
needed=(dpkg-dev debhelper fakeroot)
missing=()
for p in "${needed[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "package: missing packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
./tools/install-deps.sh

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
project_version=$(sed -n 's/^project(voxfork VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [[ "$version" != "$project_version" ]]; then
  echo "package: debian/changelog says $version, CMakeLists.txt $project_version: update the changelog" >&2
  exit 1
fi

scratch=$(mktemp -d /tmp/voxfork-package.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
tree="$scratch/voxfork-$version"
mkdir "$tree"
# Tracked and new files as they are in the work tree; one deleted there but
# still in the index is left out.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' file; do if [[ -e "$file" ]]; then printf '%s\0' "$file"; fi; done |
  tar --null -T - -cf - | tar -xf - -C "$tree"

start=$(date +%s)
(cd "$tree" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" \
  dpkg-buildpackage -us -uc -b) >"$scratch/build.log" 2>&1 || {
  tail -50 "$scratch/build.log" >&2
  echo "package: dpkg-buildpackage failed (log above)" >&2
  exit 1
}
mkdir -p "$outdir"
cp "$scratch"/*.deb "$scratch"/*.buildinfo "$scratch"/*.changes "$outdir"/
cp "$scratch/build.log" "$outdir/build.log"
echo "package: built in $(($(date +%s) - start)) s:"
ls -1 "$outdir"/*.deb
