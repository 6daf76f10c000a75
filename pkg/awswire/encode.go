package awswire

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// Encoder writes one XML answer. It buffers the whole document, so a
// failed write to the client happens once, at Flush, and never leaves a
// half-written element behind a successful-looking start.
type Encoder struct {
	buf bytes.Buffer
}

// NewEncoder starts an empty document.
func NewEncoder() *Encoder { return &Encoder{} }

// Declaration writes the <?xml?> line EC2 puts before its answers.
func (e *Encoder) Declaration() {
	e.buf.WriteString(xml.Header)
}

// OpenNS opens the root element with its namespace.
func (e *Encoder) OpenNS(name, namespace string) {
	e.buf.WriteString("<" + name + ` xmlns="`)
	e.escape(namespace)
	e.buf.WriteString(`">`)
}

// Open opens an element. Element names come from the model, never from
// a request, so they are written as they are.
func (e *Encoder) Open(name string) { e.buf.WriteString("<" + name + ">") }

// Close closes an element.
func (e *Encoder) Close(name string) { e.buf.WriteString("</" + name + ">") }

// Text writes <name>value</name> with value escaped.
func (e *Encoder) Text(name, value string) {
	e.Open(name)
	e.escape(value)
	e.Close(name)
}

func (e *Encoder) escape(s string) {
	// EscapeText writes to a bytes.Buffer, which never fails.
	_ = xml.EscapeText(&e.buf, []byte(s))
}

// OptText writes <name>format(*v)</name> when v is set, and nothing when
// it is nil: an optional member the service has no value for is left out,
// as AWS leaves it out.
func OptText[T any](e *Encoder, name string, v *T, format func(T) string) {
	if v != nil {
		e.Text(name, format(*v))
	}
}

// QueryResponseMetadata writes the query protocol's trailer.
func (e *Encoder) QueryResponseMetadata(requestID string) {
	e.Open("ResponseMetadata")
	e.Text("RequestId", requestID)
	e.Close("ResponseMetadata")
}

// Flush writes the document to w.
func (e *Encoder) Flush(w io.Writer) error {
	if _, err := w.Write(e.buf.Bytes()); err != nil {
		return fmt.Errorf("writing the XML answer: %w", err)
	}
	return nil
}
