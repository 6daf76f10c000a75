package loopback

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestAListeningSocketsAddressIsListedAndOthersAreNot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.1.77:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := Listening()
	if !got[netip.MustParseAddr("127.0.1.77")] {
		t.Fatalf("127.0.1.77 listens, but is not listed: %v", got)
	}
	if got[netip.MustParseAddr("127.0.1.78")] {
		t.Fatal("127.0.1.78 listed, though nothing listens on it")
	}
}

func TestTheTableIsReadInHostOrderAndOnlyListeningRowsCount(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0101007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0201007F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
`
	got := parse(bufio.NewScanner(strings.NewReader(table)))
	if len(got) != 1 || !got[netip.MustParseAddr("127.0.1.1")] {
		t.Fatalf("parsed %v; want only 127.0.1.1 (the second row is an established connection)", got)
	}
}
