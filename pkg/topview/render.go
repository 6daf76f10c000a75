package topview

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// healthCol is Row's health cell, the one coloured by health.
const healthCol = 2

// styles are the view's colours: health as a traffic light, the daemon's
// failure in red.
type styles struct {
	header, columns, cell, status, failure lipgloss.Style
	healthy, between, unhealthy            lipgloss.Style
}

func newStyles() styles {
	cell := lipgloss.NewStyle().PaddingRight(2)
	return styles{
		header:    lipgloss.NewStyle().Bold(true),
		columns:   cell.Faint(true),
		cell:      cell,
		status:    lipgloss.NewStyle().Reverse(true),
		failure:   lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color("1")),
		healthy:   cell.Foreground(lipgloss.Color("2")),
		between:   cell.Foreground(lipgloss.Color("3")),
		unhealthy: cell.Foreground(lipgloss.Color("1")),
	}
}

// health colours a health state: green serving, yellow on its way in or
// out, red failing; anything else (an instance not yet registered) plain.
func (st styles) health(h string) lipgloss.Style {
	switch h {
	case "healthy":
		return st.healthy
	case "initial", "draining":
		return st.between
	case "unhealthy":
		return st.unhealthy
	}
	return st.cell
}

// body is the scrolling part of the view: each service's header over a
// table of its instances.
func body(m api.Metrics, filter string, st styles) string {
	if len(m.Services) == 0 {
		if filter != "" {
			return fmt.Sprintf("no service matches %q (vmfleet ls lists them)", filter)
		}
		return "no fleets (vmfleet up starts one)"
	}
	blocks := make([]string, len(m.Services))
	for i, s := range m.Services {
		rows := "no instances"
		if len(s.Instances) > 0 {
			rows = instances(s.Instances, st)
		}
		blocks[i] = st.header.Render(Header(s)) + "\n" + rows
	}
	return strings.Join(blocks, "\n\n")
}

// instances is a borderless table with a row per instance.
func instances(ins []api.InstanceMetrics, st styles) string {
	t := table.New().Headers(Columns()...).
		Border(lipgloss.HiddenBorder()).
		BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderHeader(false).BorderColumn(false).
		StyleFunc(func(row, col int) lipgloss.Style {
			switch {
			case row == table.HeaderRow:
				return st.columns
			case col == healthCol && row < len(ins):
				return st.health(ins[row].Health)
			}
			return st.cell
		})
	for _, in := range ins {
		t.Row(Row(in)...)
	}
	return t.Render()
}
