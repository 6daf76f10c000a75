package imds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// newTree lays md out under the paths EC2 uses.
func newTree(md Metadata) (*node, error) {
	tags := make(map[string]*node, len(md.Tags))
	for key, value := range md.Tags {
		if err := checkTagKey(key); err != nil {
			return nil, err
		}
		// An empty tag value is still a tag; serve it, unlike an unset field.
		tags[key] = &node{contentType: textPlain, body: []byte(value)}
	}
	identity, err := identityDocument(md)
	if err != nil {
		return nil, err
	}
	latest := map[string]*node{
		"meta-data": dir(map[string]*node{
			"ami-id":         leaf(md.ImageID),
			"hostname":       leaf(md.Hostname),
			"instance-id":    leaf(md.InstanceID),
			"instance-type":  leaf(md.InstanceType),
			"local-hostname": leaf(md.Hostname),
			"local-ipv4":     leaf(md.LocalIPv4),
			"placement": dir(map[string]*node{
				"availability-zone": leaf(md.AvailabilityZone),
				"region":            leaf(md.Region),
			}),
			"tags": dir(map[string]*node{"instance": dir(tags)}),
		}),
		"dynamic": dir(map[string]*node{
			"instance-identity": dir(map[string]*node{
				"document": {contentType: textPlain, body: identity},
			}),
		}),
	}
	if md.UserData != nil {
		latest["user-data"] = &node{contentType: "application/octet-stream", body: bytes.Clone(md.UserData)}
	}
	return dir(map[string]*node{"latest": dir(latest)}), nil
}

// checkTagKey applies EC2's rule for tags exposed in instance metadata: a
// key is a single path segment of a restricted alphabet.
func checkTagKey(key string) error {
	bad := key == "" || key == "." || key == ".." || key == "_index" ||
		strings.ContainsFunc(key, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("+-=.,_:@", r))
		})
	if bad {
		return fmt.Errorf("tag key %q cannot be served under tags/instance/: use letters, digits and + - = . , _ : @ only, and not \".\", \"..\" or \"_index\"", key)
	}
	return nil
}

// identity is the instance identity document, in EC2's field names; these
// are the ones aws-sdk-go-v2's GetInstanceIdentityDocument reads.
type identity struct {
	Architecture     string `json:"architecture"`
	AvailabilityZone string `json:"availabilityZone"`
	ImageID          string `json:"imageId"`
	InstanceID       string `json:"instanceId"`
	InstanceType     string `json:"instanceType"`
	PendingTime      string `json:"pendingTime"`
	PrivateIP        string `json:"privateIp"`
	Region           string `json:"region"`
	Version          string `json:"version"`
}

// identityVersion is the document format EC2 still serves.
const identityVersion = "2017-09-30"

func identityDocument(md Metadata) ([]byte, error) {
	doc, err := json.MarshalIndent(identity{
		Architecture:     architecture(runtime.GOARCH),
		AvailabilityZone: md.AvailabilityZone,
		ImageID:          md.ImageID,
		InstanceID:       md.InstanceID,
		InstanceType:     md.InstanceType,
		PendingTime:      md.LaunchTime.UTC().Format(time.RFC3339),
		PrivateIP:        md.LocalIPv4,
		Region:           md.Region,
		Version:          identityVersion,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode instance identity document: %w", err)
	}
	return doc, nil
}

// architecture names the guest's CPU as EC2 does; init runs in the guest,
// so its own GOARCH is the guest's.
func architecture(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "386":
		return "i386"
	default:
		return goarch
	}
}
