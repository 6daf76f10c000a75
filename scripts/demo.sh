#!/usr/bin/env bash
# The demo `make demo` runs: bake and boot the sample fleet (testdata/demo:
# catalog x3 and web x2, each instance its own VM, each service behind its
# own balancer), show it answering, then take it down. KEEP=1 leaves it up.
set -euo pipefail
cd "$(dirname "$0")/.."
vmfleet=./bin/vmfleet
fleet=testdata/demo/fleet.yaml

if [ "${KEEP:-}" != 1 ]; then
	trap '$vmfleet down -f $fleet' EXIT
fi
echo "== vmfleet up: the plan, then bake, boot every instance, wait until in service"
$vmfleet up -f $fleet --detach

echo
echo "== the catalog balancer (127.0.0.1:8081) round-robins over 3 VMs:"
for _ in 1 2 3 4 5 6; do curl -fsS 127.0.0.1:8081/; done
echo
echo "== web (127.0.0.1:8080) calls catalog through CATALOG_ADDR, its discovery address:"
addr=$(curl -fsS 127.0.0.1:8080/env | sed -n 's/.*"CATALOG_ADDR":"\([^"]*\)".*/\1/p')
echo "CATALOG_ADDR=$addr"
curl -fsS "127.0.0.1:8080/call?url=http://$addr/"
echo
echo "== a file baked into the catalog image:"
curl -fsS "127.0.0.1:8081/file?path=/srv/static/index.html"
echo
$vmfleet ls
echo
$vmfleet ps
echo
echo "== vmfleet diff: what up would change now (like terraform plan)"
$vmfleet diff -f $fleet
echo
echo "== the activity history (vmfleet events):"
$vmfleet events | tail -n 5
echo
echo "== the last console lines of the web service:"
$vmfleet logs web | tail -n 4
if [ "${KEEP:-}" = 1 ]; then
	echo
	echo "The fleet is still up. Try: $vmfleet scale -f $fleet catalog=5 --wait; kill -9 a QEMU and watch $vmfleet ps;"
	echo "$vmfleet logs -f catalog; and $vmfleet down -f $fleet when done."
fi
