package daemon

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/consolelog"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// LogsRequest picks console logs: one instance's, or every instance's of
// a service (prefixed with service/instance).
type LogsRequest struct {
	Ref, Fleet string
	Tail       int // lines from the end of each log; -1 for all
	Follow     bool
}

// ConsoleTail is the last lines of one instance's console log.
func (d *Daemon) ConsoleTail(ctx context.Context, id string, lines int) (string, error) {
	var b bytes.Buffer
	err := d.Logs(ctx, LogsRequest{Ref: id, Tail: lines}, &b, func() {})
	return b.String(), err
}

// Logs writes the console logs ref names to w, whole lines only, and with
// Follow keeps writing (new instances of a service join) until ctx ends.
// flush is called after each burst, so a streaming reader sees it.
func (d *Daemon) Logs(ctx context.Context, req LogsRequest, w io.Writer, flush func()) error {
	pick := func(ctx context.Context) ([]*instance.Instance, bool, error) {
		list, err := d.instances.Known(ctx) // console files: no need to wait on libvirtd
		if err != nil {
			return nil, false, err
		}
		var svc []*instance.Instance
		for _, i := range list {
			if !d.owns(i) {
				continue
			}
			if i.ID == req.Ref || i.Domain == req.Ref {
				return []*instance.Instance{i}, true, nil
			}
			if i.Service == req.Ref && (req.Fleet == "" || i.Fleet == req.Fleet) {
				svc = append(svc, i)
			}
		}
		return svc, false, nil
	}
	insts, single, err := pick(ctx)
	if err != nil {
		return api.Failed(err)
	}
	if len(insts) == 0 {
		return api.NotFound(fmt.Errorf("logs: no instance or service named %q; see vmfleet ps", req.Ref))
	}
	p := newLogPrinter(w, !single)
	defer p.close()
	for _, i := range insts {
		if err := p.tail(i, req.Tail); err != nil {
			return api.Failed(err)
		}
	}
	if err := p.flush(); err != nil || !req.Follow {
		flush()
		return err
	}
	flush()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
		if !single {
			// Replacements and scale-outs join the stream.
			if now, _, err := pick(ctx); err == nil && len(now) > 0 {
				insts = now
				p.keepOnly(insts)
			}
		}
		for _, i := range insts {
			if err := p.next(i); err != nil {
				return err
			}
		}
		if err := p.flush(); err != nil {
			return err
		}
		flush()
	}
}

// logPrinter prints instances' console logs, whole lines only, prefixed
// with service/instance when several are interleaved.
type logPrinter struct {
	out       *bufio.Writer
	prefix    bool
	followers map[string]*consolelog.Follower // by instance id
}

func newLogPrinter(w io.Writer, prefix bool) *logPrinter {
	return &logPrinter{out: bufio.NewWriter(w), prefix: prefix, followers: map[string]*consolelog.Follower{}}
}

// tail prints the last n lines of an instance's log.
func (p *logPrinter) tail(i *instance.Instance, n int) error {
	fl, err := consolelog.Tail(i.Console, n, p.emit(i))
	if err != nil {
		return fmt.Errorf("logs %s: %w", i.ID, err)
	}
	p.followers[i.ID] = fl
	return nil
}

// next prints what an instance's log gained; one seen for the first time
// (a replacement, a scale-out) is printed from its start.
func (p *logPrinter) next(i *instance.Instance) error {
	fl, ok := p.followers[i.ID]
	if !ok {
		fl = consolelog.Follow(i.Console)
		p.followers[i.ID] = fl
	}
	if err := fl.Next(p.emit(i)); err != nil {
		return fmt.Errorf("logs %s: %w", i.ID, err)
	}
	return nil
}

// keepOnly lets go of the logs of instances no longer listed.
func (p *logPrinter) keepOnly(insts []*instance.Instance) {
	keep := map[string]bool{}
	for _, i := range insts {
		keep[i.ID] = true
	}
	for id, fl := range p.followers {
		if !keep[id] {
			fl.Close()
			delete(p.followers, id)
		}
	}
}

func (p *logPrinter) emit(i *instance.Instance) func([]byte) {
	return func(line []byte) {
		if p.prefix {
			fmt.Fprintf(p.out, "%s/%s | ", i.Service, i.ID)
		}
		p.out.Write(line)
		p.out.WriteByte('\n')
	}
}

func (p *logPrinter) flush() error { return p.out.Flush() }

func (p *logPrinter) close() {
	p.out.Flush()
	for _, fl := range p.followers {
		fl.Close()
	}
}
