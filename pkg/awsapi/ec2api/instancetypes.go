package ec2api

import (
	"context"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/instancetype"
)

// describeInstanceTypes lists the types vmfleet launches, sized as AWS
// sizes them.
func (e *EC2) describeInstanceTypes(ctx context.Context, in *ec2.DescribeInstanceTypesInput) (*ec2.DescribeInstanceTypesOutput, error) {
	types := instancetype.All()
	if len(in.InstanceTypes) > 0 {
		types = types[:0]
		for _, name := range in.InstanceTypes {
			t, err := lookupType(name)
			if err != nil {
				return nil, awsapi.Errorf("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", name)
			}
			types = append(types, t)
		}
	}
	of := func(t *instancetype.Type) fields {
		return func(name string) ([]string, bool) {
			if t == nil {
				_, ok := map[string]bool{"instance-type": true, "vcpu-info.default-vcpus": true, "memory-info.size-in-mib": true,
					"burstable-performance-supported": true, "processor-info.supported-architecture": true, "current-generation": true}[name]
				return nil, ok
			}
			v, ok := map[string]string{"instance-type": t.Name, "vcpu-info.default-vcpus": strconv.Itoa(t.VCPUs),
				"memory-info.size-in-mib": strconv.FormatInt(t.MemoryMiB, 10), "burstable-performance-supported": strconv.FormatBool(t.Burstable()),
				"processor-info.supported-architecture": instancetype.Architecture, "current-generation": "true"}[name]
			return []string{v}, ok
		}
	}
	if err := check(in.Filters, of(nil)); err != nil {
		return nil, err
	}
	out := &ec2.DescribeInstanceTypesOutput{InstanceTypes: []ec2.InstanceTypeInfo{}}
	for _, t := range types {
		if !match(in.Filters, of(&t), nil) {
			continue
		}
		out.InstanceTypes = append(out.InstanceTypes, ec2.InstanceTypeInfo{
			InstanceType: new(t.Name), CurrentGeneration: new(true), BurstablePerformanceSupported: new(t.Burstable()),
			Hypervisor: new("nitro"), BareMetal: new(false), SupportedRootDeviceTypes: []string{"ebs"},
			SupportedVirtualizationTypes: []string{"hvm"}, SupportedUsageClasses: []string{"on-demand"},
			ProcessorInfo: &ec2.ProcessorInfo{SupportedArchitectures: []string{instancetype.Architecture}},
			VCpuInfo:      &ec2.VCpuInfo{DefaultVCpus: new(int32(t.VCPUs))},
			MemoryInfo:    &ec2.MemoryInfo{SizeInMiB: new(t.MemoryMiB)},
		})
	}
	return out, nil
}
