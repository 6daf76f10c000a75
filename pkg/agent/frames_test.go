package agent

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/hashicorp/yamux"
)

// writes records each Write a yamux session makes on its connection.
type writes struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	w.mu.Unlock()
	return w.Conn.Write(p)
}

func TestEveryDataFrameReachesThePortInOneWrite(t *testing.T) {
	a, b := net.Pipe()
	rec := &writes{Conn: a}
	client, err := yamux.Client(&frames{ReadWriteCloser: rec}, sessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := yamux.Server(b, sessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	messages := [][]byte{[]byte("x"), bytes.Repeat([]byte("request "), 100), bytes.Repeat([]byte{7}, 100_000)}
	got := make(chan []byte)
	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			close(got)
			return
		}
		b, _ := io.ReadAll(st)
		got <- b
	}()
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range messages {
		if _, err := st.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if b := <-got; !bytes.Equal(b, bytes.Join(messages, nil)) {
		t.Fatalf("the other end read %d bytes, want the %d written, intact", len(b), len(bytes.Join(messages, nil)))
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	data := 0
	for _, w := range rec.writes {
		if len(w) < headerSize {
			t.Fatalf("a write of %d bytes, shorter than a frame header", len(w))
		}
		n := binary.BigEndian.Uint32(w[8:12])
		if w[1] == typeData && n > 0 {
			data++
			if len(w) != headerSize+int(n) {
				t.Fatalf("a data frame of %d bytes went out as a write of %d", n, len(w))
			}
		}
	}
	if data < len(messages) {
		t.Fatalf("%d data frames for %d messages", data, len(messages))
	}
}
