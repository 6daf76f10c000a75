package elbv2api

import (
	"context"
	"errors"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// A listener has its default rule only: forward to its target group.
// Tools that manage listeners (Ansible's elb_application_lb, Terraform)
// read the rules to compare them with what they were given.

func (e *ELBv2) ruleARN(lb string) string {
	return strings.Replace(e.listenerARN(lb), ":listener/", ":listener-rule/", 1) + "/" + id16("rule", lb)
}

func (e *ELBv2) describeRules(ctx context.Context, in *elbv2.DescribeRulesInput) (*elbv2.DescribeRulesOutput, error) {
	var lbs []string
	switch {
	case in.ListenerArn != nil && len(in.RuleArns) > 0, in.ListenerArn == nil && len(in.RuleArns) == 0:
		return nil, awsapi.Validation("Either a listener ARN or rule ARNs must be specified, not both")
	case in.ListenerArn != nil:
		name, err := e.listenerLB(*in.ListenerArn)
		if err != nil {
			return nil, err
		}
		lbs = append(lbs, name)
	}
	for _, arn := range in.RuleArns {
		name := e.nameIn(arn, "listener-rule/app/")
		if name == "" || e.ruleARN(name) != arn {
			return nil, e.fault("RuleNotFound", "One or more rules not found")
		}
		lbs = append(lbs, name)
	}
	out := &elbv2.DescribeRulesOutput{Rules: []elbv2.Rule{}}
	err := e.Store.View(ctx, func(tx *store.Tx) error {
		for _, name := range lbs {
			lb, err := tx.GetLoadBalancer(name)
			if errors.Is(err, store.ErrNotFound) || err == nil && lb.Listener.Listen == "" {
				return e.fault("ListenerNotFound", "One or more listeners not found")
			} else if err != nil {
				return err
			}
			out.Rules = append(out.Rules, elbv2.Rule{RuleArn: new(e.ruleARN(name)), Priority: new("default"), IsDefault: new(true),
				Conditions: []elbv2.RuleCondition{}, Actions: e.describeListener(lb).DefaultActions})
		}
		return nil
	})
	return out, err
}
