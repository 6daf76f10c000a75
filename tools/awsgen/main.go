// Command awsgen generates Go codecs for AWS query-protocol and EC2
// services from botocore's service models.
//
// It is run by go generate in each pkg/awswire/<service> package:
//
//	awsgen -model third_party/.../service-2.json.gz -package ec2 \
//		-out zz_generated.go -ops DescribeInstances,RunInstances
//
// For each operation it writes the input and output structs (only the
// shapes those operations reach), a request decoder from url.Values, an
// XML answer encoder, the service's error envelope and declared error
// codes, and a table of the operations for a router. The wire rules
// themselves live in pkg/awswire; awsgen only turns the model into calls
// to them. The output is gofmt'ed and the same for the same inputs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "awsgen:", err)
		os.Exit(1)
	}
}

// config is one generation: what to read, what to select, where to write.
type config struct {
	model string
	pkg   string
	out   string
	ops   []string
}

func parseFlags(args []string) (config, error) {
	var c config
	var ops string
	fs := flag.NewFlagSet("awsgen", flag.ContinueOnError)
	fs.StringVar(&c.model, "model", "", "botocore service-2.json(.gz) to read")
	fs.StringVar(&c.pkg, "package", "", "Go package name of the output")
	fs.StringVar(&c.out, "out", "zz_generated.go", "file to write")
	fs.StringVar(&ops, "ops", "", "comma-separated operation names")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.model == "" || c.pkg == "" || ops == "" {
		return c, fmt.Errorf("-model, -package and -ops are required")
	}
	c.ops = strings.Split(ops, ",")
	return c, nil
}

func run(args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	return write(c)
}

// write generates c.out.
func write(c config) error {
	src, err := generateFile(c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.out, src, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", c.out, err)
	}
	return nil
}

// generateFile reads the model and returns the Go source.
func generateFile(c config) ([]byte, error) {
	m, err := loadModel(c.model)
	if err != nil {
		return nil, err
	}
	// The header names the model by its path from the repository's
	// third_party directory, so the output does not depend on where the
	// generator was run from.
	source := filepath.ToSlash(c.model)
	if i := strings.Index(source, "third_party/"); i >= 0 {
		source = source[i:]
	}
	src, err := generate(m, c.pkg, source, c.ops)
	if err != nil {
		return nil, fmt.Errorf("generating %s from %s: %w", c.pkg, c.model, err)
	}
	return src, nil
}
