package topview

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Fetch gets the latest second from the daemon. It must return within
// about an interval, so that a daemon that hangs shows as an error.
type Fetch func(context.Context) (api.Metrics, error)

// Config is what the view samples, what it keeps of it, and how often.
type Config struct {
	Fetch    Fetch
	Service  string        // a service name or fleet/service; "" for all
	Interval time.Duration // from one answer (or failure) to the next request
}

// Model is vmfleet top's terminal view: the latest sample in a scrolling
// viewport over one status line. A failed sample keeps the last good one
// on screen and says why in the status line until a sample succeeds.
type Model struct {
	ctx   context.Context // ends the fetches with the program
	cfg   Config
	st    styles
	view  viewport.Model
	width int

	last  api.Metrics // filtered
	have  bool        // last holds a sample
	fail  failMsg     // the latest failure; err nil once a sample succeeds
	byCPU bool
}

// The messages: a sample or why there is none, and the time for the next.
type (
	sampleMsg struct{ m api.Metrics }
	failMsg   struct {
		err error
		at  time.Time
	}
	tickMsg struct{}
)

// New returns the view before its first sample, sized for 80x24 until the
// terminal says otherwise.
func New(ctx context.Context, cfg Config) Model {
	vp := viewport.New(80, 23)
	vp.SetHorizontalStep(8)
	return Model{ctx: ctx, cfg: cfg, st: newStyles(), view: vp, width: 80}
}

// Run shows the view in the terminal's alternate screen until q or
// Ctrl-C, or until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	_, err := tea.NewProgram(New(ctx, cfg), tea.WithAltScreen(), tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrInterrupted) || (errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run the terminal view: %w", err)
	}
	return nil
}

// Init asks for the first sample at once.
func (m Model) Init() tea.Cmd { return m.fetch }

func (m Model) fetch() tea.Msg {
	s, err := m.cfg.Fetch(m.ctx)
	if err != nil {
		return failMsg{err: err, at: time.Now()}
	}
	return sampleMsg{s}
}

// tick waits an interval after each answer rather than firing on a clock,
// so that a slow daemon never has requests piling up.
func (m Model) tick() tea.Cmd {
	return tea.Tick(m.cfg.Interval, func(time.Time) tea.Msg { return tickMsg{} })
}

// Update handles keys, the terminal's size and the samples.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c":
			return m, tea.Quit
		case "s":
			m.byCPU = !m.byCPU
			m.render()
			return m, nil
		}
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.view.Width, m.view.Height = msg.Width, max(1, msg.Height-1)
		return m, nil
	case sampleMsg:
		m.last, m.have, m.fail = Filter(msg.m, m.cfg.Service), true, failMsg{}
		m.render()
		return m, m.tick()
	case failMsg:
		m.fail = msg
		return m, m.tick()
	case tickMsg:
		return m, m.fetch
	}
	var cmd tea.Cmd
	m.view, cmd = m.view.Update(msg) // scrolling
	return m, cmd
}

func (m *Model) render() {
	s := m.last
	if m.byCPU {
		s = SortByCPU(s)
	}
	m.view.SetContent(body(s, m.cfg.Service, m.st))
}

// View is the viewport and the status line under it.
func (m Model) View() string {
	return m.view.View() + "\n" + m.status()
}

func (m Model) status() string {
	style, line := m.st.status, ""
	switch {
	case m.fail.err != nil:
		style = m.st.failure
		line = fmt.Sprintf("%s daemon: %s; retrying every %s", m.fail.at.Format("15:04:05"),
			oneLine(m.fail.err), m.cfg.Interval)
		if m.have {
			line += "; showing " + m.last.Time.Local().Format("15:04:05")
		}
	case !m.have:
		line = "waiting for the first sample"
	default:
		order := "s: sort by CPU"
		if m.byCPU {
			order = "s: sort by ID"
		}
		line = fmt.Sprintf("%s  %s  q: quit  %s  arrows: scroll", m.last.Time.Local().Format("15:04:05"), count(m.last), order)
	}
	return style.Width(m.width).Render(ansi.Truncate(line, m.width, "…"))
}

// count is how many services and instances a sample holds.
func count(s api.Metrics) string {
	n := 0
	for _, sv := range s.Services {
		n += len(sv.Instances)
	}
	return fmt.Sprintf("%d services, %d instances", len(s.Services), n)
}
