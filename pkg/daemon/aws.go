package daemon

import (
	"net/http"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/autoscalingapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/cloudwatchapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/ec2api"
	"github.com/vmfleet/vmfleet/pkg/awsapi/elbv2api"
	"github.com/vmfleet/vmfleet/pkg/awsapi/stsapi"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// AWSHandler is the AWS endpoint: the same resources vmfleet's own API
// acts on, through AWS's operations.
func (d *Daemon) AWSHandler() http.Handler {
	a := d.cfg.AWS
	auth := &awsauth.Verifier{Credentials: d.cfg.AWSKey, AnyCredentials: a.Credentials == awsapi.CredentialsAny, Region: a.Region}
	return awsapi.New(auth, d.log.With("api", "aws"), awsServices(d.images, d.state.db, d, a)...)
}

// awsServices are the services the endpoint answers, over the home's
// images and store.
func awsServices(images ec2api.Images, db *store.Store, rt runtime, a api.AWSEndpoint) []*awsapi.Service {
	ec2 := &ec2api.EC2{Images: images, Store: db, Runtime: rt, Account: a.Account, Region: a.Region}
	elb := &elbv2api.ELBv2{Store: db, Runtime: rt, Account: a.Account, Region: a.Region}
	asg := &autoscalingapi.AutoScaling{Store: db, Runtime: rt, TargetGroups: elb, Account: a.Account, Region: a.Region}
	elbService := elb.Service()
	cw := &cloudwatchapi.CloudWatch{Source: &cloudWatchSource{db: db, rt: rt, describeTargetGroups: elbService.Handlers["DescribeTargetGroups"]}}
	return []*awsapi.Service{stsapi.Service(a.Account), ec2.Service(), asg.Service(), elbService, cw.Service()}
}

// runtime is what the AWS services ask of the daemon.
type runtime interface {
	autoscalingapi.Runtime
	elbv2api.Runtime
	ec2api.Runtime
	metricsRuntime
}
