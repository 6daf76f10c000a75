package ec2api

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/imds"
	"github.com/vmfleet/vmfleet/pkg/instancetype"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// defaultLaunch is what a launch template version launches before its
// data says otherwise: vmfleet's default instance, as a fleet file's.
func defaultLaunch() store.LaunchTemplateVersion {
	return store.LaunchTemplateVersion{CPU: limits.DefaultCPU, MemoryBytes: limits.DefaultMemory}
}

// applyData sets in v what d gives, leaving the rest: how a version made
// from a source version inherits what its data does not say. The image
// brings what the service is (command, port, environment), as an AMI
// does.
func (e *EC2) applyData(v *store.LaunchTemplateVersion, d *ec2.RequestLaunchTemplateData) error {
	if d == nil {
		return nil
	}
	if d.ImageId != nil {
		m, err := e.image(*d.ImageId)
		if err != nil {
			return err
		}
		v.ImageDigest, v.Command, v.Port, v.Env = m.Digest, m.Command, m.Port, envMap(m.Env)
	}
	if d.InstanceType != nil {
		t, err := lookupType(*d.InstanceType)
		if err != nil {
			return err
		}
		v.InstanceType, v.CPU, v.MemoryBytes = t.Name, t.CPU(), t.MemoryBytes()
	}
	if d.UserData != nil {
		raw, err := base64.StdEncoding.DecodeString(*d.UserData)
		if err != nil {
			return awsapi.Errorf("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
		}
		if len(raw) > limits.MaxUserData {
			return awsapi.Errorf("InvalidParameterValue", "User data is limited to %d bytes", limits.MaxUserData)
		}
		v.UserData = string(raw)
	}
	if mo := d.MetadataOptions; mo != nil {
		if mo.HttpEndpoint != nil {
			if imds.CheckEndpoint(*mo.HttpEndpoint) != nil {
				return awsapi.Errorf("InvalidParameterValue", "The HttpEndpoint value '%s' is invalid; use enabled or disabled.", *mo.HttpEndpoint)
			}
			v.MetadataOptions.HTTPEndpoint = *mo.HttpEndpoint
		}
		if mo.HttpTokens != nil {
			if imds.CheckTokens(*mo.HttpTokens) != nil {
				return awsapi.Errorf("InvalidParameterValue", "The HttpTokens value '%s' is invalid; use optional or required.", *mo.HttpTokens)
			}
			v.MetadataOptions.HTTPTokens = *mo.HttpTokens
		}
	}
	return nil
}

// lookupType is the instance type called name, or EC2's refusal.
func lookupType(name string) (instancetype.Type, error) {
	t, ok := instancetype.Lookup(name)
	switch {
	case ok:
		return t, nil
	case instancetype.IsArm(name):
		return t, awsapi.Errorf("InvalidParameterValue", "The instance type '%s' is arm64; vmfleet's images are %s. Use a t3, m5 or c5 type.", name, instancetype.Architecture)
	}
	return t, awsapi.Errorf("InvalidParameterValue", "Invalid value '%s' for InstanceType; vmfleet launches the t3, m5 and c5 types (aws ec2 describe-instance-types lists them).", name)
}

// envMap is an image's KEY=VALUE environment as a launch template keeps it.
func envMap(env []string) map[string]string {
	if len(env) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// responseData is a stored version as EC2 describes its data.
func responseData(v store.LaunchTemplateVersion) *ec2.ResponseLaunchTemplateData {
	d := &ec2.ResponseLaunchTemplateData{}
	if v.ImageDigest != "" {
		if id, err := store.ImageID(v.ImageDigest); err == nil {
			d.ImageId = &id
		}
	}
	if v.InstanceType != "" {
		d.InstanceType = new(v.InstanceType)
	}
	if v.UserData != "" {
		d.UserData = new(base64.StdEncoding.EncodeToString([]byte(v.UserData)))
	}
	if mo := v.MetadataOptions; mo != (imds.MetadataOptions{}) {
		d.MetadataOptions = &ec2.LaunchTemplateInstanceMetadataOptions{State: new("applied")}
		if mo.HTTPEndpoint != "" {
			d.MetadataOptions.HttpEndpoint = new(mo.HTTPEndpoint)
		}
		if mo.HTTPTokens != "" {
			d.MetadataOptions.HttpTokens = new(mo.HTTPTokens)
		}
	}
	return d
}

// checkTemplateName refuses a name EC2 would.
func checkTemplateName(name string) error {
	ok := len(name) >= 3 && len(name) <= 128
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("().-/_", c)) {
			ok = false
		}
	}
	if !ok {
		return awsapi.Errorf("InvalidLaunchTemplateName.MalformedException",
			"A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.")
	}
	return nil
}

// templateTags are the launch-template tags of a create's tag
// specifications.
func templateTags(specs []ec2.TagSpecification) (map[string]string, error) {
	tags := map[string]string{}
	for _, s := range specs {
		if s.ResourceType == nil || *s.ResourceType != "launch-template" {
			rt := ""
			if s.ResourceType != nil {
				rt = *s.ResourceType
			}
			return nil, awsapi.Errorf("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation; use launch-template.", rt)
		}
		for _, t := range s.Tags {
			if t.Key == nil || *t.Key == "" {
				return nil, awsapi.Errorf("InvalidParameterValue", "Tag keys must not be empty")
			}
			tags[*t.Key] = awswire.Value(t.Value)
		}
	}
	return tags, nil
}

// version resolves "$Latest", "$Default" or a number within lt.
func version(lt store.LaunchTemplate, s string) (int, error) {
	switch s {
	case "$Latest":
		return lt.LatestVersion, nil
	case "$Default":
		return lt.DefaultVersion, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s || n < 1 || n > lt.LatestVersion {
		return 0, awsapi.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s of launch template %s.", s, lt.Name)
	}
	return n, nil
}
