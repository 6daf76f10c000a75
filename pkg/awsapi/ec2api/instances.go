package ec2api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/instancetype"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// GroupTag is the tag Auto Scaling puts on each instance it launches.
const GroupTag = "aws:autoscaling:groupName"

// guestAddress is every guest's address on its own user-mode network.
const guestAddress = "10.0.2.15"

// EC2's instance states and their codes.
var (
	statePending      = ec2.InstanceState{Code: new(int32(0)), Name: new("pending")}
	stateRunning      = ec2.InstanceState{Code: new(int32(16)), Name: new("running")}
	stateShuttingDown = ec2.InstanceState{Code: new(int32(32)), Name: new("shutting-down")}
	stateStopped      = ec2.InstanceState{Code: new(int32(80)), Name: new("stopped")}
)

// instanceState is an instance's EC2 state: its domain's, and
// shutting-down once its group is taking it away.
func instanceState(r api.InstanceRow) ec2.InstanceState {
	switch {
	case r.Phase == api.Terminating:
		return stateShuttingDown
	case r.State == "running":
		return stateRunning
	case r.State == "paused" || r.State == "shutoff":
		return stateStopped
	}
	return statePending
}

// view is what describing instances reads at once: the instances, and
// the groups and launch template versions that say what they are.
type view struct {
	rows   []api.InstanceRow
	groups []store.Group
	types  map[string]string // launch template version ref -> instance type
}

func (e *EC2) read(ctx context.Context) (view, error) {
	var v view
	err := e.view(ctx, func(tx *store.Tx) error {
		var err error
		if v.groups, err = tx.ListGroups(); err != nil {
			return err
		}
		v.types = map[string]string{}
		lts, err := tx.ListLaunchTemplates()
		for _, lt := range lts {
			vs, verr := tx.ListLaunchTemplateVersions(lt.Name)
			if verr != nil {
				return verr
			}
			for _, ver := range vs {
				v.types[ver.Ref()] = ver.InstanceType
			}
		}
		return err
	})
	if err != nil {
		return v, err
	}
	v.rows, err = e.Runtime.Instances(ctx)
	return v, err
}

// tags are an instance's: its group's name, and the group's tags that
// propagate at launch.
func (v view) tags(r api.InstanceRow) map[string]string {
	tags := maps.Clone(r.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	for _, g := range v.groups {
		if g.Fleet == r.Fleet && g.Service == r.Service && r.Fleet != "" {
			tags[GroupTag] = g.Name
			for _, k := range g.PropagateAtLaunch {
				tags[k] = g.Tags[k]
			}
		}
	}
	return tags
}

func (v view) instanceType(r api.InstanceRow) string {
	if r.InstanceType != "" {
		return r.InstanceType
	}
	return v.types[r.LaunchTemplate]
}

// instance is a row as EC2 describes an instance.
func (e *EC2) instance(r api.InstanceRow, v view) ec2.Instance {
	st := instanceState(r)
	i := ec2.Instance{
		InstanceId: new(r.ID), State: &st, LaunchTime: new(r.Created), Architecture: new(instancetype.Architecture),
		Placement: &ec2.Placement{AvailabilityZone: new(e.zone()), Tenancy: new("default")}, VpcId: new(DefaultVPC), SubnetId: new(DefaultSubnet),
		PrivateIpAddress: new(guestAddress), PrivateDnsName: new("ip-10-0-2-15.ec2.internal"), PublicDnsName: new(""),
		RootDeviceType: new("ebs"), RootDeviceName: new("/dev/vda"), VirtualizationType: new("hvm"), Hypervisor: new("xen"),
		Monitoring: &ec2.Monitoring{State: new("disabled")}, AmiLaunchIndex: new(int32(0)), PlatformDetails: new("Linux/UNIX"),
		SecurityGroups: []ec2.GroupIdentifier{{GroupId: new(DefaultSecurityGroup), GroupName: new("default")}},
		Tags:           tagList(v.tags(r)),
	}
	if id, err := store.ImageID(r.ImageDigest); err == nil {
		i.ImageId = &id
	}
	if t := v.instanceType(r); t != "" {
		i.InstanceType = new(t)
	}
	return i
}

// instanceFields are the filters DescribeInstances and
// DescribeInstanceStatus take.
func (e *EC2) instanceFields(i *ec2.Instance) fields {
	return func(name string) ([]string, bool) {
		names := []string{"instance-id", "instance-state-name", "instance-state-code", "image-id", "instance-type", "availability-zone",
			"vpc-id", "subnet-id", "private-ip-address"}
		if i == nil {
			return nil, slices.Contains(names, name)
		}
		v, ok := map[string]*string{"instance-id": i.InstanceId, "instance-state-name": i.State.Name, "image-id": i.ImageId,
			"instance-type": i.InstanceType, "availability-zone": i.Placement.AvailabilityZone, "vpc-id": i.VpcId,
			"subnet-id": i.SubnetId, "private-ip-address": i.PrivateIpAddress}[name]
		if name == "instance-state-code" {
			return []string{itoa(int(*i.State.Code))}, true
		}
		if !ok || v == nil {
			return nil, slices.Contains(names, name)
		}
		return []string{*v}, true
	}
}

// selected are the instances the ids and filters pick, or EC2's error
// for an id that names none.
func (e *EC2) selected(v view, ids []string, filters []ec2.Filter) ([]ec2.Instance, error) {
	if err := check(filters, e.instanceFields(nil)); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") || strings.Trim(id[2:], "0123456789abcdef") != "" || len(id) < 10 {
			return nil, awsapi.Errorf("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		if !slices.ContainsFunc(v.rows, func(r api.InstanceRow) bool { return r.ID == id }) {
			return nil, awsapi.Errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	var out []ec2.Instance
	for _, r := range v.rows {
		if len(ids) > 0 && !slices.Contains(ids, r.ID) {
			continue
		}
		i := e.instance(r, v)
		if match(filters, e.instanceFields(&i), tagMap(i.Tags)) {
			out = append(out, i)
		}
	}
	return out, nil
}

// pick reads the instances and picks those the ids and filters name.
func (e *EC2) pick(ctx context.Context, ids []string, filters []ec2.Filter) (view, []ec2.Instance, error) {
	v, err := e.read(ctx)
	if err != nil {
		return v, nil, err
	}
	insts, err := e.selected(v, ids, filters)
	return v, insts, err
}

func (e *EC2) describeInstances(ctx context.Context, in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
	_, insts, err := e.pick(ctx, in.InstanceIds, in.Filters)
	if err != nil {
		return nil, err
	}
	out := &ec2.DescribeInstancesOutput{Reservations: []ec2.Reservation{}}
	for _, i := range insts {
		out.Reservations = append(out.Reservations, ec2.Reservation{ReservationId: new(reservationID(*i.InstanceId)), OwnerId: new(e.Account),
			Groups: []ec2.GroupIdentifier{}, Instances: []ec2.Instance{i}})
	}
	return out, nil
}

// reservationID is an instance's reservation: each instance is launched
// on its own, as an Auto Scaling group launches them.
func reservationID(instance string) string {
	sum := sha256.Sum256([]byte(instance))
	return "r-" + hex.EncodeToString(sum[:])[:17]
}

func (e *EC2) describeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error) {
	v, insts, err := e.pick(ctx, in.InstanceIds, in.Filters)
	if err != nil {
		return nil, err
	}
	health := map[string]string{}
	for _, r := range v.rows {
		health[r.ID] = r.Health
	}
	all := in.IncludeAllInstances != nil && *in.IncludeAllInstances
	out := &ec2.DescribeInstanceStatusOutput{InstanceStatuses: []ec2.InstanceStatus{}}
	for _, i := range insts {
		if !all && *i.State.Name != "running" {
			continue
		}
		status := "initializing"
		switch health[*i.InstanceId] {
		case "healthy", "-":
			status = "ok"
		case "unhealthy":
			status = "impaired"
		}
		reach := map[string]string{"ok": "passed", "impaired": "failed", "initializing": "initializing"}[status]
		out.InstanceStatuses = append(out.InstanceStatuses, ec2.InstanceStatus{InstanceId: i.InstanceId, AvailabilityZone: new(e.zone()),
			InstanceState: i.State, Events: []ec2.InstanceStatusEvent{},
			InstanceStatus: &ec2.InstanceStatusSummary{Status: new(status), Details: []ec2.InstanceStatusDetails{{Name: new("reachability"), Status: new(reach)}}},
			SystemStatus:   &ec2.InstanceStatusSummary{Status: new("ok"), Details: []ec2.InstanceStatusDetails{{Name: new("reachability"), Status: new("passed")}}},
		})
	}
	return out, nil
}

// terminateInstances terminates instances: a `run` instance is gone, a
// group's is replaced by its group, as EC2 and Auto Scaling do.
func (e *EC2) terminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error) {
	_, insts, err := e.pick(ctx, in.InstanceIds, nil)
	if err != nil {
		return nil, err
	}
	if _, err := e.Runtime.Remove(ctx, in.InstanceIds, 0); err != nil {
		return nil, err
	}
	out := &ec2.TerminateInstancesOutput{TerminatingInstances: []ec2.InstanceStateChange{}}
	for _, i := range insts {
		out.TerminatingInstances = append(out.TerminatingInstances, ec2.InstanceStateChange{InstanceId: i.InstanceId,
			PreviousState: i.State, CurrentState: new(stateShuttingDown)})
	}
	return out, nil
}
