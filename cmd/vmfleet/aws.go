package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/home"
	"github.com/vmfleet/vmfleet/pkg/supervisor"
)

// awsFlags are the daemon's AWS endpoint settings.
func awsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "aws-listen", EnvVars: []string{"VMFLEET_AWS_LISTEN"}, Value: awsapi.DefaultListen,
			Usage: "serve the AWS APIs (EC2, Auto Scaling, ELBv2, CloudWatch, STS) on this address; off for none"},
		&cli.StringFlag{Name: "aws-credentials", EnvVars: []string{"VMFLEET_AWS_CREDENTIALS"}, Value: awsapi.CredentialsHome,
			Usage: "home: requests must be signed with this home's key (vmfleet aws env); any: any key, as LocalStack and moto"},
		&cli.StringFlag{Name: "aws-region", EnvVars: []string{"VMFLEET_AWS_REGION"}, Value: awsapi.DefaultRegion, Usage: "the one region the AWS endpoint serves"},
		&cli.StringFlag{Name: "aws-account", EnvVars: []string{"VMFLEET_AWS_ACCOUNT"}, Value: awsapi.DefaultAccount, Usage: "the AWS endpoint's account id"},
	}
}

// awsArgs passes the AWS flags given to the supervisor on to its worker;
// those left to their defaults stay so, and awsEndpoint can tell them.
func awsArgs(c *cli.Context) []string {
	var args []string
	for _, f := range []string{"aws-listen", "aws-credentials", "aws-region", "aws-account"} {
		if c.IsSet(f) {
			args = append(args, "--"+f, c.String(f))
		}
	}
	return args
}

// checkAWSFlags refuses settings that cannot work, before anything starts.
func checkAWSFlags(c *cli.Context) error {
	for flag, check := range map[string]func(string) error{
		"aws-credentials": awsapi.CheckCredentials, "aws-region": awsapi.CheckRegion, "aws-account": awsapi.CheckAccount,
	} {
		if err := check(c.String(flag)); err != nil {
			return bad(fmt.Errorf("--%s: %w", flag, err))
		}
	}
	if l := c.String("aws-listen"); l != "off" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return bad(fmt.Errorf("--aws-listen %q: give HOST:PORT, like %s, or off", l, awsapi.DefaultListen))
		}
	}
	return nil
}

// awsEndpoint listens where --aws-listen says, with the home's key. The
// default address taken (LocalStack runs there) leaves the endpoint off
// and says why in info; an address asked for that cannot be had fails.
func awsEndpoint(ctx context.Context, c *cli.Context, h home.Home, ls *supervisor.Listeners) (api.AWSEndpoint, awsauth.Credentials, net.Listener, error) {
	ep := api.AWSEndpoint{Region: c.String("aws-region"), Account: c.String("aws-account"),
		Credentials: c.String("aws-credentials"), CredentialsFile: h.AWSCredentials()}
	gid, err := lookupGroup("vmfleet")
	if err != nil {
		gid = -1
	}
	key, err := awsauth.LoadOrCreate(h.AWSCredentials(), gid)
	if err != nil {
		return ep, key, nil, err
	}
	addr := c.String("aws-listen")
	if addr == "off" {
		ep.Reason = "turned off (--aws-listen off)"
		return ep, key, nil, nil
	}
	ln, err := ls.Listen(ctx, addr)
	if err != nil {
		if c.IsSet("aws-listen") {
			return ep, key, nil, fmt.Errorf("--aws-listen %s: %w", addr, err)
		}
		ep.Reason = fmt.Sprintf("%s is taken (%v); choose another address with vmfleet daemon --aws-listen", addr, err)
		return ep, key, nil, nil
	}
	ep.URL = "http://" + ln.Addr().String()
	return ep, key, ln, nil
}

func awsCommand() *cli.Command {
	return &cli.Command{
		Name:  "aws",
		Usage: "the daemon's AWS endpoint, for the AWS CLI, SDKs and Ansible",
		Subcommands: []*cli.Command{{
			Name:  "env",
			Usage: "print the export lines that point the AWS CLI and SDKs at this home: eval \"$(vmfleet aws env)\"",
			Action: func(c *cli.Context) error {
				in, err := daemonInfo(c)
				if err != nil {
					return err
				}
				a := in.AWS
				if a.URL == "" {
					return bad(fmt.Errorf("the daemon serves no AWS endpoint: %s", a.Reason))
				}
				key, err := awsauth.Load(a.CredentialsFile)
				if errors.Is(err, fs.ErrPermission) {
					return bad(fmt.Errorf("cannot read %s: add yourself to the vmfleet group (usermod -aG vmfleet $USER) or run as root", a.CredentialsFile))
				}
				if err != nil {
					return err
				}
				for _, kv := range [][2]string{
					{"AWS_ENDPOINT_URL", a.URL}, {"AWS_ACCESS_KEY_ID", key.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", key.SecretAccessKey},
					{"AWS_DEFAULT_REGION", a.Region}, {"AWS_REGION", a.Region},
				} {
					fmt.Fprintf(os.Stdout, "export %s=%s\n", kv[0], kv[1])
				}
				return nil
			},
		}},
	}
}

// awsLine is info's line for the AWS endpoint.
func awsLine(a api.AWSEndpoint) string {
	if a.URL == "" {
		return "not served: " + a.Reason
	}
	who := "SigV4 with this home's key (vmfleet aws env)"
	if a.Credentials == awsapi.CredentialsAny {
		who = "any credentials accepted (--aws-credentials any)"
	}
	return fmt.Sprintf("%s (region %s, account %s; %s)", a.URL, a.Region, a.Account, who)
}
