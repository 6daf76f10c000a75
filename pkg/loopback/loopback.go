// Package loopback answers which loopback addresses something on this
// machine listens on: a load balancer's own address (127.0.1.N) must not
// be one another vmfleet home's load balancer already listens on.
package loopback

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// tcpTable is where Linux lists its IPv4 TCP sockets.
const tcpTable = "/proc/net/tcp"

// listenState is a listening socket's st in the table.
const listenState = "0A"

// Listening returns the IPv4 addresses some socket on this machine
// listens on (by its own address, not a wildcard); empty where the table
// cannot be read.
func Listening() map[netip.Addr]bool {
	f, err := os.Open(tcpTable)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parse(bufio.NewScanner(f))
}

func parse(sc *bufio.Scanner) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != listenState {
			continue
		}
		hexIP, _, ok := strings.Cut(fields[1], ":")
		var v uint32
		if _, err := fmt.Sscanf(hexIP, "%08X", &v); !ok || err != nil {
			continue
		}
		// The table has the address in host (little-endian) order.
		out[netip.AddrFrom4([4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})] = true
	}
	return out
}
