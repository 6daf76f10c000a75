package envfile_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/envfile"
)

// shell is the environment a bare KEY is looked up in.
func shell(vars map[string]string) envfile.Lookup {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

var noShell = shell(nil)

func TestEveryFormOfLineReadsAsComposeReadsIt(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       map[string]string
	}{
		{"plain", "A=1", map[string]string{"A": "1"}},
		{"empty value", "A=", map[string]string{"A": ""}},
		{"blanks around the sign", "  A = 1  ", map[string]string{"A": "1"}},
		{"export prefix", "export A=1", map[string]string{"A": "1"}},
		{"a variable named export", "export=1", map[string]string{"export": "1"}},
		{"comment line", "# A=1", map[string]string{}},
		{"blank line", "   ", map[string]string{}},
		{"comment after a blank", "A=1 # one", map[string]string{"A": "1"}},
		{"hash inside a value", "URL=http://x/#top", map[string]string{"URL": "http://x/#top"}},
		{"equals inside a value", "A=b=c", map[string]string{"A": "b=c"}},
		{"single quotes are literal", `A='x\n$B "y"'`, map[string]string{"A": `x\n$B "y"`}},
		{"double quotes take escapes", `A="x\ny\t\"z\" \\ \$"`, map[string]string{"A": "x\ny\t\"z\" \\ $"}},
		{"unknown escapes stay as written", `A="C:\dir"`, map[string]string{"A": `C:\dir`}},
		{"quotes keep blanks and hashes", `A=" x # y "`, map[string]string{"A": " x # y "}},
		{"comment after quotes", `A='x' # note`, map[string]string{"A": "x"}},
		{"quotes inside an unquoted value", `A=it's`, map[string]string{"A": "it's"}},
		{"dollar stays as written", "A=$HOME", map[string]string{"A": "$HOME"}},
		{"CRLF line ends", "A=1\r", map[string]string{"A": "1"}},
		{"bare key from the environment", "B", map[string]string{"B": "from shell"}},
		{"bare key with export", "export B", map[string]string{"B": "from shell"}},
		{"bare key the environment lacks is left out", "NOT_SET", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envfile.Parse("app.env", []byte(tc.line), shell(map[string]string{"B": "from shell"}))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("%q read as %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestALaterLineOverridesAnEarlierOne(t *testing.T) {
	got, err := envfile.Parse("app.env", []byte("\uFEFFA=1\nB=2\nA=3\n"), noShell)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "3", "B": "2"}; !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEachBadLineIsReportedWithItsFileLineAndFix(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"name starting with a digit", "1A=x",
			`app.env:2: "1A" is not a valid environment variable name; use letters, digits and _, not starting with a digit, like LOG_LEVEL`},
		{"name with a dash", "LOG-LEVEL=x", `app.env:2: "LOG-LEVEL" is not a valid environment variable name`},
		{"name with a blank", "MY VAR=x", `app.env:2: "MY VAR" is not a valid`},
		{"no name", "=x", `app.env:2: "" is not a valid`},
		{"bare word that is no name", "hello world", `app.env:2: "hello world" is not a valid`},
		{"unclosed single quote", "A='x", `app.env:2: the ' quote is not closed on this line; close it; write a line break inside double quotes as \n`},
		{"unclosed double quote", `A="x\"`, `app.env:2: the " quote is not closed on this line`},
		{"text after the quotes", `A="x"y`, `app.env:2: "y" follows the closing " quote; move it inside the quotes, or start a comment with " #"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envfile.Parse("app.env", []byte("OK=1\n"+tc.line+"\n"), noShell)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
			var e *envfile.Error
			if !errors.As(err, &e) || e.File != "app.env" || e.Line != 2 {
				t.Errorf("want an *Error at app.env:2, got %#v", e)
			}
		})
	}
}

func TestEveryBadLineIsReportedNotOnlyTheFirst(t *testing.T) {
	_, err := envfile.Parse("app.env", []byte("1A=x\nOK=1\nB='y\n"), noShell)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "app.env:1:") || !strings.HasPrefix(lines[1], "app.env:3:") {
		t.Errorf("want errors at lines 1 and 3, got:\n%v", err)
	}
}

func TestLoadLetsLaterFilesOverrideEarlierOnes(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	os.WriteFile(a, []byte("A=1\nB=1\n"), 0o600)
	os.WriteFile(b, []byte("B=2\n"), 0o600)
	got, err := envfile.Load([]string{a, b}, noShell)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "1", "B": "2"}; !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadNamesAMissingFileAndHowToFixIt(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.env")
	_, err := envfile.Load([]string{missing}, noShell)
	want := missing + ": no such env file; check the path; a relative one starts at the current directory"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestLoadWrapsOtherReadErrors(t *testing.T) {
	_, err := envfile.Load([]string{t.TempDir()}, noShell) // a directory
	var e *envfile.Error
	if err == nil || errors.As(err, &e) || !strings.HasPrefix(err.Error(), "read env file: ") {
		t.Errorf("want a wrapped read error, got %v", err)
	}
}

func TestPairsAreSortedByKey(t *testing.T) {
	got := envfile.Pairs(map[string]string{"B": "2", "A": "x=y", "C": ""})
	if want := "A=x=y B=2 C="; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
