package fleetfile

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one problem in a fleet file. Parse and Load join all of them
// (see Errors) so a user can fix a file in one pass.
type Error struct {
	// File is the fleet file's name as given to Parse or Load.
	File string
	// Line is 1-based; 0 when the YAML library gave no line.
	Line int
	// Column is 1-based, 0 when unknown. It orders errors within a line
	// and is left out of Error() to keep messages short.
	Column int
	// Path locates the value, like "services.catalog.memory" or
	// "services.web.depends_on[0]"; empty for whole-file problems.
	Path string
	// Msg says what is wrong.
	Msg string
	// Fix says how to put it right; may be empty.
	Fix string
}

// Error formats as "FILE:LINE: PATH: MSG; FIX", leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Errors returns every *Error in err, in the order Parse reported them
// (by line). It returns nil for errors that carry none, such as a failure
// to read the file.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return []*Error{e}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []*Error
		for _, inner := range u.Unwrap() {
			out = append(out, Errors(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		return Errors(u.Unwrap())
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// closest returns the candidate nearest to word when it is near enough to
// be a likely typo, else "".
func closest(word string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), c)
		// Allow about one edit per three letters so short keys (cpu, env)
		// don't suggest each other.
		limit := max(1, len(c)/3)
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and adjacent transpositions ("memroy") each
// cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows suffice because a transposition looks back two.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
