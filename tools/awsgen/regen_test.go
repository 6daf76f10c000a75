package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// generateLines are the go:generate lines of the codec packages, each with
// the directory it runs in: the test regenerates from exactly what
// `go generate ./pkg/awswire/...` runs, so the two cannot drift apart.
func generateLines(t *testing.T) map[string][]string {
	t.Helper()
	docs, err := filepath.Glob("../../pkg/awswire/*/doc.go")
	if err != nil || len(docs) == 0 {
		t.Fatalf("finding the codec packages' doc.go: %v (found %d)", err, len(docs))
	}
	out := map[string][]string{}
	for _, doc := range docs {
		f, err := os.Open(doc)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			args, ok := strings.CutPrefix(sc.Text(), "//go:generate go run ../../../tools/awsgen ")
			if ok {
				out[filepath.Dir(doc)] = strings.Fields(args)
			}
		}
		f.Close()
		if _, ok := out[filepath.Dir(doc)]; !ok {
			t.Fatalf("%s has no go:generate line running tools/awsgen", doc)
		}
	}
	return out
}

// TestCommittedCodeIsWhatTheModelsGenerate is CI's check that nobody edited
// a zz_generated.go by hand, or changed the generator, a model or an
// operation list without regenerating.
func TestCommittedCodeIsWhatTheModelsGenerate(t *testing.T) {
	for dir, args := range generateLines(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c, err := parseFlags(args)
			if err != nil {
				t.Fatalf("parsing %v: %v", args, err)
			}
			c.model = filepath.Join(dir, c.model)
			tmp := filepath.Join(t.TempDir(), c.out)
			committed := filepath.Join(dir, c.out)
			c.out = tmp
			if err := write(c); err != nil {
				t.Fatal(err)
			}
			fresh, err := os.ReadFile(tmp)
			if err != nil {
				t.Fatal(err)
			}
			old, err := os.ReadFile(committed)
			if err != nil {
				t.Fatalf("reading the committed code: %v", err)
			}
			if !bytes.Equal(fresh, old) {
				t.Errorf("%s differs from what tools/awsgen generates now: run go generate ./pkg/awswire/...", committed)
			}
		})
	}
}

func TestGenerationIsDeterministic(t *testing.T) {
	c := config{
		model: "../../third_party/botocore/data/autoscaling/2011-01-01/service-2.json.gz",
		pkg:   "autoscaling",
		ops:   []string{"DescribeAutoScalingGroups", "CreateAutoScalingGroup", "DescribeTags"},
	}
	first, err := generateFile(c)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again, err := generateFile(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two generations from the same model differ")
		}
	}
}

func TestAnOperationNotInTheModelIsRefused(t *testing.T) {
	_, err := generateFile(config{
		model: "../../third_party/botocore/data/sts/2011-06-15/service-2.json.gz",
		pkg:   "sts",
		ops:   []string{"GetCallerIdentity", "GetCallerIdentiy"},
	})
	if err == nil || !strings.Contains(err.Error(), "GetCallerIdentiy") {
		t.Fatalf("err = %v, want one naming the misspelt operation", err)
	}
}
