package ec2api

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
)

// fields gives a resource's values for a filter name; ok false for a
// filter the resource type does not have.
type fields func(name string) (values []string, ok bool)

// check refuses a filter the resource type does not have, as EC2 does.
func check(filters []ec2.Filter, of fields) error {
	for _, f := range filters {
		if f.Name == nil {
			return awsapi.Errorf("InvalidParameterValue", "A filter must have a Name")
		}
		if _, ok := of(*f.Name); !ok && !strings.HasPrefix(*f.Name, "tag:") {
			return awsapi.Errorf("InvalidParameterValue", "The filter '%s' is invalid", *f.Name)
		}
	}
	return nil
}

// match tells whether a resource passes every filter: each filter is met
// by any of its values (EC2's * and ? wildcards allowed) matching any of
// the resource's values for that name.
func match(filters []ec2.Filter, of fields, tags map[string]string) bool {
	for _, f := range filters {
		var have []string
		if key, isTag := strings.CutPrefix(*f.Name, "tag:"); isTag {
			if v, ok := tags[key]; ok {
				have = []string{v}
			}
		} else if *f.Name == "tag-key" {
			for k := range tags {
				have = append(have, k)
			}
		} else {
			have, _ = of(*f.Name)
		}
		if !anyMatch(f.Values, have) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if glob(p, v) {
				return true
			}
		}
	}
	return false
}

// glob matches s against p, where * is any run of characters and ? any
// one, as EC2's filter values are read.
func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// tagList is a map of tags as EC2 lists them, sorted by key.
func tagList(tags map[string]string) []ec2.Tag {
	out := make([]ec2.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		k, v := k, tags[k]
		out = append(out, ec2.Tag{Key: &k, Value: &v})
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
