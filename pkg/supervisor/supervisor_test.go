package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const envTestWorker = "SUPERVISOR_TEST_WORKER_ADDR"

// TestMain doubles as the worker: under the supervisor it asks for a
// listener and answers each connection with its pid; "crash" kills it.
func TestMain(m *testing.M) {
	if addr := os.Getenv(envTestWorker); addr != "" {
		os.Exit(testWorker(addr))
	}
	os.Exit(m.Run())
}

func testWorker(addr string) int {
	_, ls, err := Worker()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ln, err := ls.Listen(context.Background(), addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ls.Ready()
	for {
		c, err := ln.Accept()
		if err != nil {
			return 3
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.TrimSpace(line) == "crash" {
			os.Exit(9) // dies with connections waiting in the backlog
		}
		fmt.Fprintf(c, "%d\n", os.Getpid())
		c.Close()
	}
}

func ask(t *testing.T, addr, what string) (int, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(c, what)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(line))
}

func TestAWorkersListenerOutlivesItsCrashAndTheNextWorkerServesIt(t *testing.T) {
	addr := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	api, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "api.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{API: api, Worker: func() *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), envTestWorker+"="+addr)
			cmd.Stderr = os.Stderr
			return cmd
		}})
	}()
	defer func() {
		cancel()
		<-done
	}()

	var first int
	for i := 0; i < 100 && first == 0; i++ {
		first, _ = ask(t, addr, "pid")
		time.Sleep(50 * time.Millisecond)
	}
	if first == 0 {
		t.Fatal("the first worker never answered")
	}
	// Crash the worker; the very next connections must be accepted by
	// the kernel (the supervisor holds the socket) and answered by the
	// next worker.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(c, "crash")
	c.Close()
	for i := 0; i < 20; i++ {
		pid, err := ask(t, addr, "pid")
		if err != nil {
			t.Fatalf("connection %d after the crash failed: %v", i, err)
		}
		if pid == first {
			t.Fatalf("the crashed worker %d still answers", pid)
		}
	}
}

func TestAWorkerThatDiesBeforeItIsReadyMakesTheSupervisorGiveUp(t *testing.T) {
	api, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "api.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	starts := 0
	err = Run(ctx, Config{API: api, Worker: func() *exec.Cmd {
		starts++
		return exec.Command("/bin/false")
	}})
	if err == nil || !strings.Contains(err.Error(), "before it was ready") || starts != 1 {
		t.Errorf("want one start and an error saying the worker never got ready; got %d starts, %v", starts, err)
	}
}
