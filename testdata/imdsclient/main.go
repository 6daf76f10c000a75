// imdsclient is a service that asks its instance metadata, the way a
// program written for EC2 does: with aws-sdk-go-v2's own IMDS client
// (IMDSv2 tokens, no fallback), and with a bare IMDSv1 GET. GET / answers
// with what it learned, as JSON, for the end-to-end tests.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

func main() {
	listen := flag.String("listen", ":8080", "address to serve on")
	flag.Parse()
	client := imds.New(imds.Options{EnableFallback: aws.FalseTernary}) // IMDSv2 or nothing
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		out, err := ask(r.Context(), client)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

func ask(ctx context.Context, c *imds.Client) (map[string]string, error) {
	out := map[string]string{}
	for _, key := range []string{"instance-id", "ami-id", "instance-type", "local-ipv4", "hostname",
		"placement/availability-zone", "tags/instance/vmfleet:fleet", "tags/instance/vmfleet:service"} {
		res, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: key})
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(res.Content)
		res.Content.Close()
		if err != nil {
			return nil, err
		}
		out[key] = string(b)
	}
	region, err := c.GetRegion(ctx, &imds.GetRegionInput{})
	if err != nil {
		return nil, err
	}
	out["region"] = region.Region
	doc, err := c.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		return nil, err
	}
	out["document.instanceId"] = doc.InstanceID
	ud, err := c.GetUserData(ctx, &imds.GetUserDataInput{})
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(ud.Content)
	ud.Content.Close()
	if err != nil {
		return nil, err
	}
	out["user-data"] = string(b)
	// IMDSv1, as AWS allows it by default: no token at all.
	resp, err := http.Get("http://169.254.169.254/latest/meta-data/instance-id")
	if err != nil {
		return nil, err
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	out["v1.instance-id"] = strings.TrimSpace(string(b))
	return out, nil
}
