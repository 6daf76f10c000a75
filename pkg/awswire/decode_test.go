package awswire

import (
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestListItemsComeInNumericIndexOrder(t *testing.T) {
	q := url.Values{}
	for _, n := range []string{"10", "2", "1", "9"} {
		q.Set("Filter."+n+".Name", "f"+n)
	}
	q.Set("Filter.3x.Name", "ignored: not an index")
	items, ok := NewDecoder(q).List("Filter", "Filter")
	want := []string{"Filter.1", "Filter.2", "Filter.9", "Filter.10"}
	if !ok || !reflect.DeepEqual(items, want) {
		t.Fatalf("List = %v, %v; want %v, true", items, ok, want)
	}
}

func TestAListSentEmptyIsGivenButAListNotSentIsNot(t *testing.T) {
	// The query protocol sends "Key=" for an empty list.
	d := NewDecoder(url.Values{"TargetGroupARNs": {""}})
	if items, ok := d.List("TargetGroupARNs", "TargetGroupARNs.member"); !ok || items == nil || len(items) != 0 {
		t.Errorf("empty list: List = %#v, %v; want an empty non-nil slice, true", items, ok)
	}
	if items, ok := d.List("Tags", "Tags.member"); ok || items != nil {
		t.Errorf("absent list: List = %#v, %v; want nil, false", items, ok)
	}
}

func TestARequiredMemberMissingIsNamedByItsWireName(t *testing.T) {
	d := NewDecoder(url.Values{"Tags.member.1.Value": {"v"}})
	if got := Req(d, "Tags.member.1.Key", ParseString); got != "" {
		t.Errorf("Req of a missing member = %q, want the zero value", got)
	}
	var missing *MissingParameterError
	if !errors.As(d.Err(), &missing) || missing.Param != "Tags.member.1.Key" {
		t.Fatalf("Err = %v, want a MissingParameterError for Tags.member.1.Key", d.Err())
	}
}

func TestAValueThatDoesNotParseIsAnInvalidParameter(t *testing.T) {
	d := NewDecoder(url.Values{"MaxSize": {"three"}, "MinSize": {"x"}})
	if got := Opt(d, "MaxSize", ParseInt32); got != nil {
		t.Errorf("Opt of a bad integer = %v, want nil", *got)
	}
	Opt(d, "MinSize", ParseInt32)
	var invalid *InvalidParameterError
	if !errors.As(d.Err(), &invalid) || invalid.Param != "MaxSize" || invalid.Value != "three" {
		t.Fatalf("Err = %v, want the first error, an InvalidParameterError for MaxSize", d.Err())
	}
}

func TestAnOptionalScalarGivenEmptyOrFalseIsStillGiven(t *testing.T) {
	d := NewDecoder(url.Values{"DryRun": {"false"}, "NextToken": {""}})
	if got := Opt(d, "DryRun", ParseBool); got == nil || *got {
		t.Errorf("DryRun=false decoded as %v, want a pointer to false", got)
	}
	if got := Opt(d, "NextToken", ParseString); got == nil || *got != "" {
		t.Errorf("NextToken= decoded as %v, want a pointer to the empty string", got)
	}
	if got := Opt(d, "MaxResults", ParseInt32); got != nil {
		t.Errorf("absent MaxResults decoded as %v, want nil", *got)
	}
}

func TestPresentSeesAStructureThroughItsMembers(t *testing.T) {
	d := NewDecoder(url.Values{"LaunchTemplate.LaunchTemplateName": {"web"}})
	if !d.Present("LaunchTemplate") {
		t.Error("LaunchTemplate not present, though one of its members is given")
	}
	if d.Present("Launch") {
		t.Error("Launch present: a prefix of a name is not the name")
	}
}

func TestTimestampsAsClientsSendThem(t *testing.T) {
	want := time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)
	for _, s := range []string{
		"2024-05-01T12:30:00Z",        // botocore, whole seconds
		"2024-05-01T12:30:00.000Z",    // the Go SDK
		"2024-05-01T14:30:00+02:00",   // an offset, passed on as typed
		"2024-05-01T12:30:00",         // no zone: UTC
		"1714566600",                  // epoch seconds
		"2024-05-01T12:30:00.000000Z", // botocore with microseconds
	} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", s, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime(yesterday) succeeded")
	}
}
