package elbv2api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/loopback"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// A load balancer made through the API gets a loopback address of its
// own, its DNSName: every address of 127.0.0.0/8 reaches the host, so
// curl, Go and Python connect to it as given, with no DNS and no
// /etc/hosts, and each load balancer's listener can have port 80.
const addressNet = "127.0.1."

func (e *ELBv2) createLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error) {
	if err := checkName("Load balancer", in.Name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.Name, "internal-") {
		return nil, awsapi.Validation("Load balancer name '%s' cannot begin with 'internal-'", in.Name)
	}
	if in.Type != nil && *in.Type != "application" {
		return nil, awsapi.Validation("Load balancer type '%s' is not supported: vmfleet's load balancers are application load balancers", *in.Type)
	}
	for _, s := range in.Subnets {
		if s != ec2DefaultSubnet {
			return nil, e.fault("SubnetNotFound", fmt.Sprintf("The subnet ID '%s' is not valid; the default subnet is %s", s, ec2DefaultSubnet))
		}
	}
	var out elbv2.LoadBalancer
	err := e.Store.Update(ctx, func(tx *store.Tx) error {
		all, err := tx.ListLoadBalancers()
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(all, func(lb store.LoadBalancer) bool { return lb.Name == in.Name }); i >= 0 {
			out = e.describeLoadBalancer(all[i]) // AWS answers a create of the same name with it
			return nil
		}
		addr, err := freeAddress(all)
		if err != nil {
			return err
		}
		lb := store.LoadBalancer{Name: in.Name, Address: addr, Tags: tagMap(in.Tags), Created: time.Now().UTC().Truncate(time.Second)}
		if err := tx.PutLoadBalancer(&lb); err != nil {
			return err
		}
		out = e.describeLoadBalancer(lb)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbv2.LoadBalancer{out}}, nil
}

// freeAddress is the first address of addressNet no load balancer of
// this home has and nothing on the machine listens on: another home's
// load balancers are on addressNet too.
func freeAddress(lbs []store.LoadBalancer) (string, error) {
	busy := loopback.Listening()
	for n := 1; n < 255; n++ {
		a := fmt.Sprintf("%s%d", addressNet, n)
		if !slices.ContainsFunc(lbs, func(lb store.LoadBalancer) bool { return lb.Address == a }) && !busy[netip.MustParseAddr(a)] {
			return a, nil
		}
	}
	return "", awsapi.Errorf("TooManyLoadBalancers", "The maximum of 254 load balancers has been reached")
}

// dnsName is where a load balancer is reached: its own address, or for a
// fleet's the host its listener is bound to.
func dnsName(lb store.LoadBalancer) string {
	if lb.Address != "" {
		return lb.Address
	}
	host, _, err := net.SplitHostPort(lb.Listener.Bound)
	if err != nil {
		return ""
	}
	return host
}

func (e *ELBv2) describeLoadBalancer(lb store.LoadBalancer) elbv2.LoadBalancer {
	return elbv2.LoadBalancer{
		LoadBalancerArn: new(e.loadBalancerARN(lb.Name)), LoadBalancerName: new(lb.Name), DNSName: new(dnsName(lb)),
		CanonicalHostedZoneId: new("Z35SXDOTRQ7X7K"), CreatedTime: new(lb.Created), Scheme: new("internet-facing"),
		VpcId: new(defaultVPC), State: &elbv2.LoadBalancerState{Code: new("active")}, Type: new("application"),
		IpAddressType: new("ipv4"), SecurityGroups: []string{ec2DefaultSecurityGroup},
		AvailabilityZones: []elbv2.AvailabilityZone{{ZoneName: new(e.Region + "a"), SubnetId: new(ec2DefaultSubnet)}},
	}
}

func (e *ELBv2) describeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error) {
	out := &elbv2.DescribeLoadBalancersOutput{LoadBalancers: []elbv2.LoadBalancer{}}
	err := e.Store.View(ctx, func(tx *store.Tx) error {
		names := slices.Clone(in.Names)
		for _, arn := range in.LoadBalancerArns {
			name, err := e.loadBalancerName(arn)
			if err != nil {
				return err
			}
			names = append(names, name)
		}
		all, err := tx.ListLoadBalancers()
		if err != nil {
			return err
		}
		for _, name := range names {
			if !slices.ContainsFunc(all, func(lb store.LoadBalancer) bool { return lb.Name == name }) {
				return e.fault("LoadBalancerNotFound", "Load balancers '["+name+"]' not found")
			}
		}
		for _, lb := range all {
			if len(names) == 0 || slices.Contains(names, lb.Name) {
				out.LoadBalancers = append(out.LoadBalancers, e.describeLoadBalancer(lb))
			}
		}
		return nil
	})
	return out, err
}

func (e *ELBv2) deleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput) (*elbv2.DeleteLoadBalancerOutput, error) {
	name, err := e.loadBalancerName(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	var tg string
	err = e.Store.Update(ctx, func(tx *store.Tx) error {
		lb, err := tx.GetLoadBalancer(name)
		if errors.Is(err, store.ErrNotFound) {
			return nil // AWS: deleting what is gone succeeds
		} else if err != nil {
			return err
		}
		if lb.Address == "" {
			return e.fault("OperationNotPermitted", "Load balancer "+name+" belongs to a fleet file; take the fleet down with vmfleet down")
		}
		tg = lb.Listener.TargetGroup
		return tx.DeleteLoadBalancer(name)
	})
	if err != nil {
		return nil, err
	}
	if tg != "" { // its listener went with it
		if err := e.Runtime.RebindGroups(ctx, tg); err != nil {
			return nil, err
		}
	}
	return &elbv2.DeleteLoadBalancerOutput{}, nil
}
