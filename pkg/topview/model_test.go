package topview

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// drive feeds msgs to a fresh model of cfg in a 200x40 terminal and
// returns it with the command the last message gave.
func drive(t *testing.T, cfg Config, msgs ...tea.Msg) (tea.Model, tea.Cmd) {
	t.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = time.Millisecond
	}
	var m tea.Model = New(context.Background(), cfg)
	m, cmd := m.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
	for _, msg := range msgs {
		m, cmd = m.Update(msg)
	}
	return m, cmd
}

func key(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func TestTopQuitsOnQAndCtrlC(t *testing.T) {
	for _, k := range []tea.KeyMsg{key("q"), {Type: tea.KeyCtrlC}} {
		_, cmd := drive(t, Config{}, k)
		if cmd == nil {
			t.Fatalf("%s: no command, want tea.Quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s gave %T, want tea.QuitMsg", k, cmd())
		}
	}
}

func TestTopShowsEachServiceHeaderOverItsInstanceRows(t *testing.T) {
	m, cmd := drive(t, Config{}, sampleMsg{shop()})
	v := m.View()
	for _, want := range []string{
		Header(shop().Services[0]),
		"ID", "PHASE", "HEALTH", "MEM / LIMIT",
		"i-0123456789ab", "63% of 0.5", "245MiB / 384MiB", "1.2kB/s",
		"initial (Elb.InitialHealthChecking)",
		"draining (Target.DeregistrationInProgress)",
		"shop/web  in service 0/1", "no instances",
		"blog/api", "unhealthy (Target.FailedHealthChecks)",
		"02:41:07  3 services, 6 instances  q: quit",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if h, r := strings.Index(v, "shop/api  in service"), strings.Index(v, "i-0123456789ab"); h < 0 || r < h {
		t.Errorf("the instance row is not under its service header:\n%s", v)
	}
	if cmd == nil {
		t.Error("a sample scheduled no next sample")
	}
}

func TestTopShowsOnlyTheNamedService(t *testing.T) {
	v, _ := drive(t, Config{Service: "shop/api"}, sampleMsg{shop()})
	if s := v.View(); !strings.Contains(s, "i-0123456789ab") || strings.Contains(s, "blog/api") || strings.Contains(s, "shop/web") {
		t.Errorf("view of shop/api shows other services or not it:\n%s", s)
	}
	v, _ = drive(t, Config{Service: "nosuch"}, sampleMsg{shop()})
	if s := v.View(); !strings.Contains(s, `no service matches "nosuch"`) {
		t.Errorf("view of an unknown service does not say so:\n%s", s)
	}
}

func TestTopShowsAFailureInTheStatusLineKeepsTheLastSampleAndRetries(t *testing.T) {
	failed := time.Date(2026, 11, 1, 2, 41, 9, 0, time.Local)
	fail := failMsg{err: errors.New("no vmfleet daemon is running at /h/daemon.sock\n(connection refused)"), at: failed}
	later := shop()
	later.Time = failed.Add(time.Second)
	back := func(context.Context) (api.Metrics, error) { return later, nil } // the daemon once it answers again
	m, cmd := drive(t, Config{Fetch: back, Interval: time.Millisecond}, sampleMsg{shop()}, fail)
	v := m.View()
	status := v[strings.LastIndex(v, "\n")+1:]
	if want := "02:41:09 daemon: no vmfleet daemon is running at /h/daemon.sock (connection refused); retrying every 1ms; showing 02:41:07"; !strings.Contains(status, want) {
		t.Errorf("status line = %q, want it to hold %q", status, want)
	}
	if !strings.Contains(v, "i-0123456789ab") {
		t.Errorf("the failure blanked the last sample:\n%s", v)
	}

	// The failure schedules a tick, the tick a fetch, and the fetch's
	// sample clears the status.
	if cmd == nil {
		t.Fatal("a failure scheduled no retry")
	}
	tick := cmd()
	if _, ok := tick.(tickMsg); !ok {
		t.Fatalf("the retry gave %T, want a tick", tick)
	}
	m, cmd = m.Update(tick)
	if cmd == nil {
		t.Fatal("a tick fetched nothing")
	}
	m, _ = m.Update(cmd())
	if v := m.View(); strings.Contains(v, "daemon:") || !strings.Contains(v, "02:41:10  3 services") {
		t.Errorf("a sample after the failure did not clear the status line:\n%s", v)
	}
}

func TestTopSaysItWaitsBeforeTheFirstSample(t *testing.T) {
	m, _ := drive(t, Config{})
	if v := m.View(); !strings.Contains(v, "waiting for the first sample") {
		t.Errorf("view before any sample:\n%s", v)
	}
}

func TestTopSortsByCPUOnSAndBackOnS(t *testing.T) {
	order := func(v string) bool { // busiest first?
		return strings.Index(v, "i-0123456789ac") < strings.Index(v, "i-0123456789ab")
	}
	m, _ := drive(t, Config{}, sampleMsg{shop()})
	if order(m.View()) {
		t.Fatal("sorted by CPU before s")
	}
	m, _ = m.Update(key("s"))
	if v := m.View(); !order(v) || !strings.Contains(v, "s: sort by ID") {
		t.Errorf("s did not sort by CPU:\n%s", v)
	}
	m, _ = m.Update(sampleMsg{shop()})
	if !order(m.View()) {
		t.Error("the next sample lost the CPU order")
	}
	m, _ = m.Update(key("s"))
	if order(m.View()) {
		t.Error("a second s did not sort by ID again")
	}
}

func TestTopColoursHealthGreenYellowRed(t *testing.T) {
	st := newStyles()
	for h, want := range map[string]lipgloss.TerminalColor{
		"healthy": lipgloss.Color("2"), "initial": lipgloss.Color("3"), "draining": lipgloss.Color("3"),
		"unhealthy": lipgloss.Color("1"), "-": lipgloss.NoColor{},
	} {
		if got := st.health(h).GetForeground(); got != want {
			t.Errorf("health %q is coloured %v, want %v", h, got, want)
		}
	}
}
