package awsapi

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// OperationsTable is a markdown table of the operations services answer,
// for the README: one row per service, its operations in AWS's names.
func OperationsTable(names map[string]string, services ...*Service) string {
	var b strings.Builder
	b.WriteString("| Service | Signing name | Operations |\n|---|---|---|\n")
	for _, s := range services {
		ops := slices.Sorted(maps.Keys(s.Handlers))
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", names[s.SigningName], s.SigningName, strings.Join(ops, ", "))
	}
	return b.String()
}
