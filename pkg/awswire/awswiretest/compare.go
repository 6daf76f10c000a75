package awswiretest

import (
	"encoding/json"
	"testing"
)

// Ptr is a pointer to v, for writing optional members in expected values.
func Ptr[T any](v T) *T { return &v }

// Equal fails the test when got and want differ, showing both as indented
// JSON: the codecs' values are trees of pointers, which %v prints as
// addresses.
func Equal(t testing.TB, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("%s: showing the value got: %v", what, err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatalf("%s: showing the value wanted: %v", what, err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}
