package consolelog

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// collect gathers emitted lines; they are only valid during the call.
type collect []string

func (c *collect) emit(l []byte) { *c = append(*c, string(l)) }

func writeLog(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendLog(t *testing.T, p, content string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func tail(t *testing.T, p string, n int) ([]string, *Follower) {
	t.Helper()
	var got collect
	fl, err := Tail(p, n, got.emit)
	if err != nil {
		t.Fatalf("Tail(%d): %v", n, err)
	}
	t.Cleanup(func() { fl.Close() })
	return got, fl
}

func next(t *testing.T, fl *Follower) []string {
	t.Helper()
	var got collect
	if err := fl.Next(got.emit); err != nil {
		t.Fatalf("Next: %v", err)
	}
	return got
}

// wantLines checks emitted lines against the lines wanted, none for none.
func wantLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func lines(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %07d %s", i, strings.Repeat("x", 86)))
	}
	return out
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(b, off)
	c.n.Add(int64(n))
	return n, err
}

func TestTailOfA50MBLogShowsItsLastLinesAndReadsOnlyItsEnd(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	all := lines(1, 500_000) // 100 bytes a line with its newline: 50 MB
	for _, l := range all {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()

	got, _ := tail(t, p, 100)
	if !slices.Equal(got, all[len(all)-100:]) {
		t.Fatalf("Tail(100) gave %d lines from %q, want the last 100", len(got), got[:min(1, len(got))])
	}

	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	counted := &countingReaderAt{r: r}
	start, end, err := lastLines(counted, fi.Size(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if start != fi.Size()-100*100 || end != fi.Size() {
		t.Errorf("the last 100 lines are at %d..%d, want %d..%d", start, end, fi.Size()-100*100, fi.Size())
	}
	if n := counted.n.Load(); n > 2*chunk {
		t.Errorf("finding the last 100 lines (10 KB) of %d bytes read %d bytes, want at most %d", fi.Size(), n, 2*chunk)
	}
}

// A terabyte of hole before the lines: read whole, it would never end.
func TestTailOfASparseTerabyteLogReadsOnlyItsEnd(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("no sparse terabyte file here: %v", err)
	}
	f.Close()
	appendLog(t, p, "\n"+strings.Join(lines(1, 300), "\n")+"\n")
	got, fl := tail(t, p, 100)
	if !slices.Equal(got, lines(201, 300)) {
		t.Errorf("Tail(100) of the sparse log gave %d lines, want lines 201..300", len(got))
	}
	appendLog(t, p, "after\n")
	wantLines(t, "followed from the end", next(t, fl), "after")
}

func TestTailShowsEveryLineWhenAskedForAllOrMoreThanThereAre(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	writeLog(t, p, "one\r\ntwo\r\nthree\r\n")
	want := []string{"one", "two", "three"} // the serial console's \r\n is a plain line end
	for _, n := range []int{-1, 3, 100} {
		got, _ := tail(t, p, n)
		wantLines(t, fmt.Sprintf("Tail(%d)", n), got, want...)
	}
	got, _ := tail(t, p, 2)
	wantLines(t, "Tail(2)", got, want[1:]...)
	got, _ = tail(t, p, 0)
	wantLines(t, "Tail(0)", got)
}

func TestTailHoldsBackALineStillBeingWrittenUntilItEnds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	writeLog(t, p, "booted\nlogin: ")
	got, fl := tail(t, p, 10)
	wantLines(t, "Tail before the prompt's newline", got, "booted")
	appendLog(t, p, "root\n")
	wantLines(t, "Next once the line ends", next(t, fl), "login: root")
	wantLines(t, "Next with nothing new", next(t, fl))
}

// virtlogd rotates by renaming console.log to console.log.0, possibly in
// the middle of a line.
func TestTailReadsBackAcrossOneRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "console.log")
	writeLog(t, Backup(p)+"1", "older\n") // console.log.1: past one rotation, never read
	writeLog(t, Backup(p), "1\n2\n3\nsplit ")
	writeLog(t, p, "across\n4\n5\n")
	got, _ := tail(t, p, 3)
	wantLines(t, "Tail(3)", got, "split across", "4", "5")
	got, _ = tail(t, p, 100)
	wantLines(t, "Tail(100)", got, "1", "2", "3", "split across", "4", "5")
}

func TestTailGoesOnFromTheBackupsUnfinishedLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	writeLog(t, Backup(p), "1\n2\npart")
	writeLog(t, p, "ial")
	got, fl := tail(t, p, 10)
	wantLines(t, "Tail", got, "1", "2")
	appendLog(t, p, " line\n")
	wantLines(t, "Next", next(t, fl), "partial line")
}

func TestFollowFinishesARotatedFileThenReadsTheNewOne(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	writeLog(t, p, "a\n")
	_, fl := tail(t, p, 10)
	appendLog(t, p, "b\nhalf ")
	if err := os.Rename(p, Backup(p)); err != nil {
		t.Fatal(err)
	}
	appendLog(t, Backup(p), "way\n") // written before virtlogd switched files
	writeLog(t, p, "c\n")
	wantLines(t, "Next across a rotation", next(t, fl), "b", "half way", "c")
	appendLog(t, p, "d\n")
	wantLines(t, "Next in the new file", next(t, fl), "d")
}

func TestFollowWaitsForALogThatDoesNotExistYet(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	got, fl := tail(t, p, 10)
	wantLines(t, "Tail of a missing log", got)
	wantLines(t, "Next of a missing log", next(t, fl))
	writeLog(t, p, "first\n")
	wantLines(t, "Next once it exists", next(t, fl), "first")
	newcomer := Follow(p)
	defer newcomer.Close()
	wantLines(t, "Follow reads from the start", next(t, newcomer), "first")
}

func TestFollowStartsAgainAtTheTopOfALogTruncatedInPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	writeLog(t, p, "old 1\nold 2\n")
	_, fl := tail(t, p, 10)
	writeLog(t, p, "new\n") // O_TRUNC: same file, shorter
	wantLines(t, "Next after truncation", next(t, fl), "new")
}

func TestALineWithoutEndIsShownInPiecesRatherThanHeldForever(t *testing.T) {
	p := filepath.Join(t.TempDir(), "console.log")
	writeLog(t, p, strings.Repeat("y", maxPending+10))
	fl := Follow(p)
	defer fl.Close()
	got := next(t, fl)
	if len(got) != 1 || len(got[0]) < maxPending {
		t.Fatalf("Next of %d bytes without a newline emitted %d pieces", maxPending+10, len(got))
	}
}
