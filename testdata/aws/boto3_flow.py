#!/usr/bin/env python3
"""The README's AWS flow through boto3, against vmfleet's endpoint.

Run after `eval "$(vmfleet aws env)"`: boto3 reads AWS_ENDPOINT_URL, the
key and the region from the environment, as any boto3 program would.
Takes the AMI id of a baked image, what its service answers and the
listener's port (80 unless given); prints
one JSON line of what it saw,
and exits non-zero on the first thing that is not as AWS would have it.
Its load loop sends requests only to the load balancer's loopback
address, at most one every 100 ms, and stops by itself.
"""
import json
import sys
import threading
import time
import urllib.request

import boto3


def wait_for(what, check, limit=300):
    deadline = time.time() + limit
    while time.time() < deadline:
        if check():
            return
        time.sleep(1)
    sys.exit(f"timed out waiting for {what}")


def states(asg, group):
    g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    return [(i["InstanceId"], i["LifecycleState"], i["LaunchTemplate"]["Version"]) for i in g[0]["Instances"]] if g else []


class Load:
    """Requests through url, one every 100 ms, until stopped (10 min at most)."""

    def __init__(self, url):
        self.url, self.sent, self.failed = url, 0, 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.time() + 600
        while not self.stopped.wait(0.1) and time.time() < deadline:
            self.sent += 1
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    if r.status != 200:
                        self.failed += 1
            except OSError:
                self.failed += 1

    def stop(self):
        self.stopped.set()
        self.thread.join()
        return self.sent, self.failed


def main(ami, expect, port):
    ec2, elb, asg = boto3.client("ec2"), boto3.client("elbv2"), boto3.client("autoscaling")
    seen = {"caller": boto3.client("sts").get_caller_identity()["Account"]}

    ec2.create_launch_template(LaunchTemplateName="boto", LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"})
    tg = elb.create_target_group(Name="boto-tg", Protocol="HTTP", Port=8080, VpcId="vpc-0000000000000f1ee", HealthCheckPath="/healthz",
                                 HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "20"}])
    lb = elb.create_load_balancer(Name="boto-lb", Subnets=["subnet-0000000000000f1ee"])["LoadBalancers"][0]
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    asg.create_auto_scaling_group(AutoScalingGroupName="boto", LaunchTemplate={"LaunchTemplateName": "boto"}, MinSize=1, MaxSize=4,
                                  DesiredCapacity=2, TargetGroupARNs=[tg], HealthCheckType="ELB", HealthCheckGracePeriod=60)
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    url = "http://%s:%d/" % (lb["DNSName"], port)
    with urllib.request.urlopen(url, timeout=10) as r:
        seen["answer"] = r.read().decode()
    if expect not in seen["answer"]:
        sys.exit("through the load balancer: %r" % seen["answer"])

    asg.set_desired_capacity(AutoScalingGroupName="boto", DesiredCapacity=3)
    wait_for("3 healthy targets", lambda: sum(d["TargetHealth"]["State"] == "healthy"
                                             for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]) == 3)
    asg.put_scaling_policy(AutoScalingGroupName="boto", PolicyName="cpu50", PolicyType="TargetTrackingScaling",
                           TargetTrackingConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                                                        "TargetValue": 50.0})
    seen["policies"] = [p["PolicyName"] for p in asg.describe_policies(AutoScalingGroupName="boto")["ScalingPolicies"]]
    # Off again before the refresh, whose load would scale the group out.
    asg.delete_policy(AutoScalingGroupName="boto", PolicyName="cpu50")

    ec2.create_launch_template_version(LaunchTemplateName="boto", SourceVersion="1", LaunchTemplateData={"InstanceType": "t3.small"})
    load = Load(url)
    rid = asg.start_instance_refresh(AutoScalingGroupName="boto", Preferences={"MinHealthyPercentage": 50},
                                     DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": "boto", "Version": "$Latest"}})["InstanceRefreshId"]
    wait_for("the instance refresh to succeed", lambda: asg.describe_instance_refreshes(
        AutoScalingGroupName="boto", InstanceRefreshIds=[rid])["InstanceRefreshes"][0]["Status"] == "Successful")
    seen["sent"], seen["failed"] = load.stop()
    seen["after_refresh"] = states(asg, "boto")
    if seen["failed"] or len(seen["after_refresh"]) != 3 or any(s != "InService" or v != "2" for _, s, v in seen["after_refresh"]):
        sys.exit("after the refresh: %s" % json.dumps(seen))

    asg.delete_auto_scaling_group(AutoScalingGroupName="boto", ForceDelete=True)
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elb.delete_target_group(TargetGroupArn=tg)
    ec2.delete_launch_template(LaunchTemplateName="boto")
    seen["left"] = (len(asg.describe_auto_scaling_groups()["AutoScalingGroups"]) + len(elb.describe_load_balancers()["LoadBalancers"])
                    + len(elb.describe_target_groups()["TargetGroups"]) + len(ec2.describe_launch_templates()["LaunchTemplates"]))
    if seen["left"]:
        sys.exit("left after the deletes: %s" % json.dumps(seen))
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 80)
