// Package limits is the one place every limit, default and name rule of
// vmfleet is defined: what a user can set in a fleet file or on the command
// line, what they get when they set nothing, and what is refused. The
// fleet-file parser and the launcher both check against it, so a value one
// accepts the other accepts too, and both name the same bounds when they
// refuse one. Tuning internal to one package (a buffer size, a retry
// count) stays with that package.
//
// Where AWS has a default or a bound for the same setting it is used, so
// that behaviour matches what people know from ELB and Auto Scaling.
//
// The Check functions return an *Error that reads after the value it is
// about, so each caller names the value the way its user wrote it:
//
//	"cpu 100 " + err.Error()   // fleet file: cpu 100 is more than 64 cores; give ...
//	"--cpu 100 " + err.Error() // command line
package limits

// Error is a value outside its limit.
type Error struct {
	// Problem reads after the value, like "is more than 64 cores".
	Problem string
	// Fix says what to give instead, like "give cores from 0.01 to 64".
	Fix string
}

func (e *Error) Error() string { return e.Problem + "; " + e.Fix }
