package hypervisor

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// bareElement rewrites a metadata element as the domain XML holds it
// (<vmfleet:instance xmlns:vmfleet="…">) into the form virDomainSetMetadata
// takes: no prefix and no namespace declaration. libvirt adds both itself
// from the key and URI it is given, and refuses ("failed to create a new
// XML namespace") an element that already declares the prefix.
func bareElement(x string) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(x))
	var b strings.Builder
	enc := xml.NewEncoder(&b)
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read metadata element: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var attrs []xml.Attr
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" && a.Name.Local == MetadataPrefix {
					continue
				}
				attrs = append(attrs, xml.Attr{Name: bare(a.Name), Value: a.Value})
			}
			tok = xml.StartElement{Name: bare(t.Name), Attr: attrs}
		case xml.EndElement:
			tok = xml.EndElement{Name: bare(t.Name)}
		case xml.ProcInst, xml.Directive:
			continue
		}
		if err := enc.EncodeToken(tok); err != nil {
			return "", fmt.Errorf("write metadata element: %w", err)
		}
	}
	if err := enc.Close(); err != nil { // Close also refuses unclosed elements
		return "", fmt.Errorf("write metadata element: %w", err)
	}
	return b.String(), nil
}

// bare drops the vmfleet prefix from a raw name.
func bare(n xml.Name) xml.Name {
	if n.Space == MetadataPrefix {
		return xml.Name{Local: n.Local}
	}
	return n
}
