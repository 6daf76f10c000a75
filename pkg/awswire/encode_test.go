package awswire

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestScalarsAreWrittenAsAWSWritesThem(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatTime(time.Date(2024, 5, 1, 14, 30, 0, 5e8, time.FixedZone("CEST", 7200))), "2024-05-01T12:30:00.500Z"},
		{FormatBool(true), "true"},
		{FormatBool(false), "false"},
		{FormatFloat64(0.5), "0.5"},
		{FormatFloat64(100), "100"},
		{FormatFloat64(1e21), "1E+21"},
		{FormatFloat64(math.Inf(-1)), "-Infinity"},
		{FormatInt64(-9007199254740993), "-9007199254740993"},
		{FormatBlob([]byte("hi")), "aGk="},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestTextIsEscaped(t *testing.T) {
	e := NewEncoder()
	e.Text("Message", `a<b & "c"`)
	var b strings.Builder
	if err := e.Flush(&b); err != nil {
		t.Fatal(err)
	}
	if want := "<Message>a&lt;b &amp; &#34;c&#34;</Message>"; b.String() != want {
		t.Errorf("got %s, want %s", b.String(), want)
	}
}

func TestQueryErrorEnvelope(t *testing.T) {
	var b strings.Builder
	err := EncodeQueryError(&b, "http://autoscaling.amazonaws.com/doc/2011-01-01/",
		ClientError("ValidationError"), "Group web not found", "req-1")
	if err != nil {
		t.Fatal(err)
	}
	want := `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">` +
		`<Error><Type>Sender</Type><Code>ValidationError</Code><Message>Group web not found</Message></Error>` +
		`<RequestId>req-1</RequestId></ErrorResponse>`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestEC2ErrorEnvelope(t *testing.T) {
	var b strings.Builder
	if err := EncodeEC2Error(&b, ClientError("InvalidInstanceID.NotFound"), "no i-1", "req-2"); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>no i-1</Message></Error></Errors>` +
		`<RequestID>req-2</RequestID></Response>`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestErrorStatusDefaultsByFault(t *testing.T) {
	if s := (ErrorShape{Code: "Throttling", HTTPStatus: 400}).Status(); s != 400 {
		t.Errorf("declared status: %d", s)
	}
	if s := (ErrorShape{Code: "InternalFailure"}).Status(); s != 500 {
		t.Errorf("receiver fault without a status: %d, want 500", s)
	}
	if s := (ErrorShape{Code: "X", Sender: true}).Status(); s != 400 {
		t.Errorf("sender fault without a status: %d, want 400", s)
	}
}
