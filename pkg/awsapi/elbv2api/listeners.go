package elbv2api

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// createListener gives a load balancer its one listener, forwarding to
// one target group; the groups behind that target group start serving
// on it.
func (e *ELBv2) createListener(ctx context.Context, in *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error) {
	lbName, err := e.loadBalancerName(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if in.Protocol != nil && *in.Protocol != "HTTP" {
		return nil, awsapi.Validation("Listener protocol '%s' is not supported; use HTTP (vmfleet terminates no TLS)", *in.Protocol)
	}
	if in.Port == nil {
		return nil, awsapi.Validation("A listener port must be specified")
	}
	if err := limits.CheckPort(int(*in.Port)); err != nil {
		return nil, awsapi.Validation("Port %d: %v", *in.Port, err)
	}
	tgName, err := e.forwardTarget(in.DefaultActions)
	if err != nil {
		return nil, err
	}
	var out elbv2.Listener
	err = e.Store.Update(ctx, func(tx *store.Tx) error {
		lb, err := tx.GetLoadBalancer(lbName)
		if errors.Is(err, store.ErrNotFound) {
			return e.fault("LoadBalancerNotFound", "One or more load balancers not found")
		} else if err != nil {
			return err
		}
		if _, err := tx.GetTargetGroup(tgName); errors.Is(err, store.ErrNotFound) {
			return e.fault("TargetGroupNotFound", "One or more target groups not found")
		} else if err != nil {
			return err
		}
		if lb.Address == "" {
			return e.fault("OperationNotPermitted", "Load balancer "+lbName+" belongs to a fleet file; its listener is the file's balancer.listen")
		}
		l := store.Listener{Listen: net.JoinHostPort(lb.Address, strconv.Itoa(int(*in.Port))), Protocol: "HTTP", TargetGroup: tgName}
		if cur := lb.Listener; cur.Listen != "" {
			if cur.Listen == l.Listen && cur.TargetGroup == l.TargetGroup {
				out = e.describeListener(lb) // the same listener again
				return nil
			}
			if cur.Listen == l.Listen {
				return e.fault("DuplicateListener", "A listener already exists on this port for this load balancer")
			}
			return e.fault("TooManyListeners", "vmfleet's load balancers have one listener each; delete "+e.listenerARN(lbName)+" first")
		}
		lbs, err := tx.ListLoadBalancers()
		if err != nil {
			return err
		}
		for _, other := range lbs {
			if other.Listener.TargetGroup == tgName && other.Listener.Listen != "" {
				return e.fault("TargetGroupAssociationLimit", "The target group is behind the load balancer "+other.Name+"; in vmfleet a target group is behind one listener")
			}
		}
		lb.Listener = l
		if err := tx.PutLoadBalancer(&lb); err != nil {
			return err
		}
		out = e.describeListener(lb)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.Runtime.RebindGroups(ctx, tgName); err != nil {
		return nil, err
	}
	return &elbv2.CreateListenerOutput{Listeners: []elbv2.Listener{out}}, nil
}

// forwardTarget is the one target group the default actions forward to.
func (e *ELBv2) forwardTarget(actions []elbv2.Action) (string, error) {
	if len(actions) != 1 || actions[0].Type != "forward" {
		return "", awsapi.Validation("vmfleet's listeners take one default action, of type forward")
	}
	a := actions[0]
	arn := ""
	switch {
	case a.TargetGroupArn != nil:
		arn = *a.TargetGroupArn
	case a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 && a.ForwardConfig.TargetGroups[0].TargetGroupArn != nil:
		arn = *a.ForwardConfig.TargetGroups[0].TargetGroupArn
	default:
		return "", awsapi.Validation("A forward action must name one target group")
	}
	return e.TargetGroupName(arn)
}

func (e *ELBv2) describeListener(lb store.LoadBalancer) elbv2.Listener {
	addr := lb.Listener.Listen
	if lb.Listener.Bound != "" {
		addr = lb.Listener.Bound
	}
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	tg := e.TargetGroupARN(lb.Listener.TargetGroup)
	return elbv2.Listener{
		ListenerArn: new(e.listenerARN(lb.Name)), LoadBalancerArn: new(e.loadBalancerARN(lb.Name)), Port: new(int32(n)), Protocol: new("HTTP"),
		DefaultActions: []elbv2.Action{{Type: "forward", TargetGroupArn: &tg, ForwardConfig: &elbv2.ForwardActionConfig{
			TargetGroups: []elbv2.TargetGroupTuple{{TargetGroupArn: &tg, Weight: new(int32(1))}}}}},
	}
}

func (e *ELBv2) describeListeners(ctx context.Context, in *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error) {
	var names []string
	if in.LoadBalancerArn != nil {
		name, err := e.loadBalancerName(*in.LoadBalancerArn)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	for _, arn := range in.ListenerArns {
		name, err := e.listenerLB(arn)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, awsapi.Validation("A load balancer ARN or listener ARNs must be specified")
	}
	out := &elbv2.DescribeListenersOutput{Listeners: []elbv2.Listener{}}
	err := e.Store.View(ctx, func(tx *store.Tx) error {
		for _, name := range names {
			lb, err := tx.GetLoadBalancer(name)
			if errors.Is(err, store.ErrNotFound) {
				return e.fault("LoadBalancerNotFound", "One or more load balancers not found")
			} else if err != nil {
				return err
			}
			if lb.Listener.Listen == "" {
				if len(in.ListenerArns) > 0 {
					return e.fault("ListenerNotFound", "One or more listeners not found")
				}
				continue
			}
			out.Listeners = append(out.Listeners, e.describeListener(lb))
		}
		return nil
	})
	return out, err
}

func (e *ELBv2) deleteListener(ctx context.Context, in *elbv2.DeleteListenerInput) (*elbv2.DeleteListenerOutput, error) {
	lbName, err := e.listenerLB(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	var tg string
	err = e.Store.Update(ctx, func(tx *store.Tx) error {
		lb, err := tx.GetLoadBalancer(lbName)
		if errors.Is(err, store.ErrNotFound) || (err == nil && lb.Listener.Listen == "") {
			return e.fault("ListenerNotFound", "One or more listeners not found")
		} else if err != nil {
			return err
		}
		if lb.Address == "" {
			return e.fault("OperationNotPermitted", "Load balancer "+lbName+" belongs to a fleet file; take the fleet down with vmfleet down")
		}
		tg = lb.Listener.TargetGroup
		lb.Listener = store.Listener{}
		return tx.PutLoadBalancer(&lb)
	})
	if err != nil {
		return nil, err
	}
	if err := e.Runtime.RebindGroups(ctx, tg); err != nil {
		return nil, err
	}
	return &elbv2.DeleteListenerOutput{}, nil
}
