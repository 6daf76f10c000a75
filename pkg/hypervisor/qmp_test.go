package hypervisor

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/digitalocean/go-qemu/qmp"
)

// recorder is a qmp.Monitor that keeps each command and answers with the
// reply reply gives, passed through qmpReply as the libvirt monitor does.
type recorder struct {
	sent  []map[string]any
	reply func(execute string) string
}

func (r *recorder) Connect() error    { return nil }
func (r *recorder) Disconnect() error { return nil }
func (r *recorder) Events(context.Context) (<-chan qmp.Event, error) {
	return nil, errors.New("no events")
}

func (r *recorder) Run(cmd []byte) ([]byte, error) {
	var c map[string]any
	if err := json.Unmarshal(cmd, &c); err != nil {
		return nil, err
	}
	r.sent = append(r.sent, c)
	out := `{"return":{}}`
	if r.reply != nil {
		out = r.reply(c["execute"].(string))
	}
	return qmpReply([]byte(out))
}

func TestASaveSendsQEMU72TheCommandsItsSchemaTakes(t *testing.T) {
	r := &recorder{}
	if err := startSave(r, "/run/x.sock"); err != nil {
		t.Fatal(err)
	}
	// As QEMU 7.2's schema has them: stop takes nothing, max-bandwidth is
	// a size, migrate needs only its uri.
	want := []map[string]any{
		{"execute": "stop", "arguments": map[string]any{}},
		{"execute": "migrate-set-parameters", "arguments": map[string]any{"max-bandwidth": float64(16 << 30)}},
		{"execute": "migrate", "arguments": map[string]any{"uri": "unix:/run/x.sock"}},
	}
	if !reflect.DeepEqual(r.sent, want) {
		t.Errorf("sent %v\nwant %v", r.sent, want)
	}
}

func TestAQMPErrorInLibvirtsReplyStopsTheSave(t *testing.T) {
	r := &recorder{reply: func(execute string) string {
		if execute == "migrate-set-parameters" {
			return `{"id":"libvirt-12","error":{"class":"GenericError","desc":"Parameter 'max-bandwidth' expects a size"}}`
		}
		return `{"return":{}}`
	}}
	err := startSave(r, "/run/x.sock")
	if err == nil || !strings.Contains(err.Error(), "GenericError: Parameter 'max-bandwidth' expects a size") {
		t.Fatalf("startSave: %v, want the QMP error", err)
	}
	if len(r.sent) != 2 {
		t.Errorf("sent %d commands, want the save to stop at the failed one", len(r.sent))
	}
}

func TestWaitMigrationPollsUntilQEMUSaysCompletedOrFailed(t *testing.T) {
	for _, tc := range []struct {
		states  []string
		wantErr string
	}{
		// wait-unplug is a QEMU 7.2 state go-qemu's generated type lacks.
		{[]string{"setup", "active", "wait-unplug", "completed"}, ""},
		{[]string{"active", `failed","error-desc":"Unable to write to socket`}, "QEMU says failed: Unable to write to socket"},
	} {
		i := 0
		r := &recorder{reply: func(execute string) string {
			s := tc.states[min(i, len(tc.states)-1)]
			i++
			return `{"return":{"status":"` + s + `"}}`
		}}
		err := waitMigration(context.Background(), r, "save x")
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("states %q: %v, want %q", tc.states, err, tc.wantErr)
		}
		if i != len(tc.states) {
			t.Errorf("states %q: asked %d times", tc.states, i)
		}
		for _, c := range r.sent {
			if c["execute"] != "query-migrate" {
				t.Errorf("sent %v while waiting", c)
			}
		}
	}
}
