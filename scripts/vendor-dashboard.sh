#!/usr/bin/env bash
# Vendors the dashboard's JavaScript and CSS from the npm registry into
# pkg/dashboard/static/vendor and writes SOURCES, the manifest a test holds
# the files to (so CI needs no network). Run it to upgrade; npm checks each
# tarball against the registry's integrity hash.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=pkg/dashboard/static/vendor
# package@version  file in its tarball  name here
FILES=(
	"htmx.org@2.0.11 package/dist/htmx.min.js htmx.min.js"
	"htmx.org@2.0.11 package/LICENSE LICENSE.htmx"
	"htmx-ext-sse@2.2.4 package/dist/sse.js sse.js"
	"htmx-ext-sse@2.2.4 package/LICENSE LICENSE.htmx-ext-sse"
	"uplot@1.6.32 package/dist/uPlot.iife.min.js uPlot.iife.min.js"
	"uplot@1.6.32 package/dist/uPlot.min.css uPlot.min.css"
	"uplot@1.6.32 package/LICENSE LICENSE.uplot"
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	echo "# name  package@version  file in the npm tarball  tarball integrity  sha256 of the file"
	for f in "${FILES[@]}"; do
		read -r pkg path name <<<"$f"
		dir=$tmp/$pkg
		if [ ! -d "$dir" ]; then
			mkdir -p "$dir"
			(cd "$dir" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
		fi
		integrity=$(npm view "$pkg" dist.integrity)
		cp "$dir/$path" "$OUT/$name"
		echo "$name $pkg $path $integrity $(sha256sum "$OUT/$name" | cut -d' ' -f1)"
	done
} >"$OUT/SOURCES.new"
mv "$OUT/SOURCES.new" "$OUT/SOURCES"
echo "vendored into $OUT; go test ./pkg/dashboard checks them"
