package limits

import (
	"fmt"
	"strings"
)

// MaxNameLen bounds fleet, service and instance names, so that host names
// made of them ("<service>-<id>") stay well inside DNS's 63-byte label.
const MaxNameLen = 40

// MaxImageNameLen bounds image names: a fleet's images are named
// "<fleet>-<service>".
const MaxImageNameLen = 2*MaxNameLen + 1

// CheckName reports whether s can name a fleet, a service or an instance:
// a DNS label, [a-z0-9]([a-z0-9-]*[a-z0-9])?, of at most MaxNameLen, since
// names become parts of libvirt domain names and guest host names.
func CheckName(s string) error { return checkLabel(s, MaxNameLen) }

// CheckImageName is CheckName for image names, which may be as long as
// MaxImageNameLen.
func CheckImageName(s string) error { return checkLabel(s, MaxImageNameLen) }

func checkLabel(s string, maxLen int) error {
	if len(s) > maxLen {
		return &Error{fmt.Sprintf("is longer than %d characters", maxLen), fmt.Sprintf("shorten it to at most %d characters", maxLen)}
	}
	if !isLabel(s) {
		fix := "use lower-case letters, digits and inner dashes"
		if alt := sanitize(s, maxLen); alt != "" {
			fix += ", like " + alt
		}
		return &Error{"can't be part of a domain name", fix}
	}
	return nil
}

// isLabel reports whether s matches [a-z0-9]([a-z0-9-]*[a-z0-9])?.
func isLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// SanitizeName turns s, like a directory's name, into a name CheckName
// accepts, as docker compose makes a project name: lowercase, other
// characters become dashes, runs of dashes collapse, cut to MaxNameLen.
// It returns "" if nothing is left.
func SanitizeName(s string) string { return sanitize(s, MaxNameLen) }

func sanitize(s string, maxLen int) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > maxLen {
		out = strings.TrimRight(out[:maxLen], "-")
	}
	return out
}

// CheckEnvName reports whether s can name an environment variable:
// [A-Za-z_][A-Za-z0-9_]*.
func CheckEnvName(s string) error {
	ok := s != "" && !(s[0] >= '0' && s[0] <= '9')
	for _, c := range []byte(s) {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_')
	}
	if !ok {
		return &Error{"is not a valid environment variable name", "use letters, digits and _, not starting with a digit, like LOG_LEVEL"}
	}
	return nil
}
