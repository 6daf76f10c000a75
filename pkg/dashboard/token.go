package dashboard

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/renameio/v2"
)

// DefaultListen is where the daemon serves the page unless told.
const DefaultListen = "127.0.0.1:4567"

// LoadOrCreateToken reads the page's token at path, or makes one there,
// mode 0640 and group gid (when not -1), written whole or not at all. It
// outlives the daemon, so an open page reconnects after a restart.
func LoadOrCreateToken(path string, gid int) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the dashboard token: %w", err)
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	tok := hex.EncodeToString(raw)
	pf, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(0o640))
	if err != nil {
		return "", fmt.Errorf("write the dashboard token %s: %w", path, err)
	}
	defer pf.Cleanup()
	if gid >= 0 {
		if err := pf.Chown(-1, gid); err != nil {
			return "", fmt.Errorf("give the dashboard token %s to its group: %w", path, err)
		}
	}
	if _, err := pf.WriteString(tok + "\n"); err != nil {
		return "", fmt.Errorf("write the dashboard token %s: %w", path, err)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return "", fmt.Errorf("write the dashboard token %s: %w", path, err)
	}
	return tok, nil
}

// ReadToken reads the token a daemon made at path.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
