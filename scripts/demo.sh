#!/usr/bin/env bash
# The demo: bake the sample service, boot it as a VM, show it answering
# through its forwarded port, then remove it. Run by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
vmfleet=./bin/vmfleet

echo "== bake the sample service (a static Go HTTP server) into an image"
$vmfleet bake --name hello --binary bin/hello --copy testdata/hello/static:/srv/static \
	--env GREETING=hello --port 8080 -- /app/hello -listen :8080
$vmfleet images

echo "== boot one instance: its own VM, half a core, 256 MiB"
json=$($vmfleet run hello --cpu 0.5 --memory 256MiB --json)
id=$(sed -n 's/.*"id": "\(.*\)".*/\1/p' <<<"$json")
addr=$(sed -n 's/.*"address": "\(.*\)".*/\1/p' <<<"$json")
trap '$vmfleet rm "$id" >/dev/null' EXIT
echo "instance $id on $addr"

start=$(date +%s%N)
for _ in $(seq 1 300); do
	if answer=$(curl -fsS -m 1 "http://$addr/" 2>/dev/null); then
		break
	fi
	sleep 0.1
done
[ -n "${answer:-}" ] || { echo "no answer from $addr; console:"; $vmfleet logs "$id"; exit 1; }
ms=$((($(date +%s%N) - start) / 1000000))
echo "== answer after ${ms} ms: $answer"
echo "== a baked static file:"
curl -fsS "http://$addr/file?path=/srv/static/index.html"
$vmfleet ps
echo "== console of $id:"
$vmfleet logs "$id" | tail -n 5
