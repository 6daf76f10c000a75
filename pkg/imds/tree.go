package imds

import (
	"slices"
	"strings"
)

// node is one path of the metadata tree. Bodies are rendered once when the
// tree is built: the metadata never changes while a guest runs.
type node struct {
	contentType string
	body        []byte
	children    map[string]*node // non-nil for a directory
}

const textPlain = "text/plain; charset=utf-8"

// leaf is a value, or nil for an empty one, which is not served.
func leaf(value string) *node {
	if value == "" {
		return nil
	}
	return &node{contentType: textPlain, body: []byte(value)}
}

// dir lists its children one a line, sorted, directories with a trailing
// "/", as EC2 does. Nil children (omitted values) are left out.
func dir(children map[string]*node) *node {
	kept := make(map[string]*node, len(children))
	names := make([]string, 0, len(children))
	for name, child := range children {
		if child == nil {
			continue
		}
		kept[name] = child
		if child.children != nil {
			name += "/"
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return &node{contentType: textPlain, body: []byte(strings.Join(names, "\n")), children: kept}
}

// find resolves a request path. A directory answers with or without the
// trailing slash (the AWS SDK asks for /latest/meta-data without one); a
// value only without it.
func (n *node) find(path string) *node {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil
	}
	rest, wantDir := strings.CutSuffix(rest, "/")
	cur := n
	if rest != "" {
		for _, name := range strings.Split(rest, "/") {
			if cur = cur.children[name]; cur == nil {
				return nil
			}
		}
	}
	if wantDir && cur.children == nil {
		return nil
	}
	return cur
}
