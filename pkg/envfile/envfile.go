// Package envfile reads env files the way docker compose reads env_file
// and docker run reads --env-file: KEY=VALUE lines, # comments, blank
// lines, an optional "export " prefix, single- or double-quoted values,
// and a bare KEY whose value comes from the environment of whoever
// parses.
//
// The parser is our own rather than github.com/joho/godotenv: godotenv's
// errors carry no line number, and it has no bare-KEY lookup, both of
// which this format needs. Like compose, a value may be quoted; unlike
// compose, values are not interpolated ($OTHER stays as written) and a
// quoted value cannot span lines.
package envfile

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Lookup finds a variable in the parsing process's environment, as
// os.LookupEnv does; tests pass their own.
type Lookup func(key string) (string, bool)

// Error is one bad line of an env file.
type Error struct {
	// File is the env file's name as given to Parse or Load.
	File string
	// Line is 1-based; 0 for a problem with the file as a whole.
	Line int
	// Msg says what is wrong.
	Msg string
	// Fix says how to put it right; may be empty.
	Fix string
}

// Error formats as "FILE:LINE: MSG; FIX", leaving out empty parts.
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	s += ": " + e.Msg
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Parse reads an env file's content; name is used in errors. A later line
// overrides an earlier one with the same key. A bare KEY that lookup does
// not find is left out, as compose leaves it unset. On failure Parse
// returns every bad line's *Error, joined, in line order.
func Parse(name string, data []byte, lookup Lookup) (map[string]string, error) {
	env := map[string]string{}
	var errs []error
	text := strings.TrimPrefix(string(data), "\uFEFF") // editors on Windows add a BOM
	for i, line := range strings.Split(text, "\n") {
		key, val, set, err := parseLine(strings.TrimSuffix(line, "\r"), lookup)
		if err != nil {
			err.File, err.Line = name, i+1
			errs = append(errs, err)
			continue
		}
		if set {
			env[key] = val
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return env, nil
}

// Load reads the env files at paths in order, later ones overriding
// earlier, as docker run does with several --env-file flags. Paths are
// relative to the current directory.
func Load(paths []string, lookup Lookup) (map[string]string, error) {
	env := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: p, Msg: "no such env file", Fix: "check the path; a relative one starts at the current directory"}
		}
		if err != nil {
			return nil, fmt.Errorf("read env file: %w", err)
		}
		vars, err := Parse(p, data, lookup)
		if err != nil {
			return nil, err
		}
		maps.Copy(env, vars)
	}
	return env, nil
}

// Pairs returns env as KEY=VALUE strings sorted by key, the form an
// image's or instance's environment takes.
func Pairs(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// parseLine reads one line; set is false for a blank line, a comment, or
// a bare KEY the environment lacks. The returned *Error lacks File and
// Line, which the caller knows.
func parseLine(line string, lookup Lookup) (key, val string, set bool, err *Error) {
	line = strings.TrimLeft(line, " \t")
	if line == "" || line[0] == '#' {
		return "", "", false, nil
	}
	if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimLeft(rest, " \t")
	}
	key, raw, hasValue := strings.Cut(line, "=")
	key = strings.TrimRight(key, " \t")
	if err := checkKey(key); err != nil {
		return "", "", false, err
	}
	if !hasValue {
		val, set = lookup(key)
		return key, val, set, nil
	}
	val, err = parseValue(strings.TrimLeft(raw, " \t"))
	return key, val, err == nil, err
}

func checkKey(key string) *Error {
	err := limits.CheckEnvName(key)
	if err == nil {
		return nil
	}
	var le *limits.Error
	if errors.As(err, &le) {
		return &Error{Msg: fmt.Sprintf("%q %s", key, le.Problem), Fix: le.Fix}
	}
	return &Error{Msg: fmt.Sprintf("%q: %v", key, err)}
}

// parseValue reads what follows "=", leading blanks gone.
func parseValue(raw string) (string, *Error) {
	if raw == "" {
		return "", nil
	}
	quote := raw[0]
	if quote != '\'' && quote != '"' {
		// As in compose, "#" starts a comment only after a blank, so
		// URL#fragment stays whole.
		for i := 1; i < len(raw); i++ {
			if raw[i] == '#' && (raw[i-1] == ' ' || raw[i-1] == '\t') {
				raw = raw[:i]
				break
			}
		}
		return strings.TrimRight(raw, " \t"), nil
	}
	val, rest, ok := unquote(raw[1:], quote)
	if !ok {
		return "", &Error{Msg: fmt.Sprintf("the %c quote is not closed on this line", quote),
			Fix: `close it; write a line break inside double quotes as \n`}
	}
	if rest = strings.TrimLeft(rest, " \t"); rest != "" && rest[0] != '#' {
		return "", &Error{Msg: fmt.Sprintf("%q follows the closing %c quote", rest, quote),
			Fix: "move it inside the quotes, or start a comment with \" #\""}
	}
	return val, nil
}

// unquote reads a quoted value up to its closing quote and returns what
// follows. Single quotes are literal; double quotes take \n, \r, \t, \\,
// \" and \$, and keep any other backslash as written.
func unquote(s string, quote byte) (val, rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == quote:
			return b.String(), s[i+1:], true
		case c == '\\' && quote == '"' && i+1 < len(s):
			if e := unescape(s[i+1]); e != 0 {
				b.WriteByte(e)
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return "", "", false
}

// unescape is what backslash-c stands for inside double quotes, or 0.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case '\\', '"', '$':
		return c
	}
	return 0
}
