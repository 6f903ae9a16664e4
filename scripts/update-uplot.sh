#!/usr/bin/env bash
# Vendors uPlot (the chart library of the web UI) from its npm package into
# crates/nanotdb-server/web/common_assets/vendor/uplot, with its licence.
# The UI must work offline, so the files are embedded in the binary rather
# than loaded from a CDN. Usage: scripts/update-uplot.sh [VERSION]
# (default: the pinned version below). Review the diff and commit it.
set -euo pipefail
version="${1:-1.6.32}"
cd "$(dirname "$0")/.."
dest=crates/nanotdb-server/web/common_assets/vendor/uplot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$version" >/dev/null && tar xzf "uplot-$version.tgz")
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$tmp/package/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "$version" > "$dest/VERSION"
echo "uPlot $version vendored into $dest"
