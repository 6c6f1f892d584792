//go:build ignore

// gen writes api__v1_openapi.json: the upstream OpenAPI v3 document of the core/v1 API
// (api/openapi-spec/v3/api__v1_openapi.json in kubernetes/kubernetes, at the release that
// matches go.mod's k8s.io/api), cut down to the paths minipod serves (pods and their
// subresources, namespaces, events, configmaps, secrets) and the schemas they reference.
//
//	go mod download k8s.io/kubernetes@v1.37.2
//	go run gen.go $(go env GOMODCACHE)/k8s.io/kubernetes@v1.37.2/api/openapi-spec/v3/api__v1_openapi.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		panic(err)
	}
	keep := regexp.MustCompile(`^/api/v1/(namespaces|namespaces/\{name\}|pods|events|configmaps|secrets|namespaces/\{namespace\}/(pods|events|configmaps|secrets)(/.*)?|watch/(pods|events|configmaps|secrets|namespaces/\{namespace\}/(pods|events|configmaps|secrets)(/.*)?))$`)
	paths := doc["paths"].(map[string]any)
	for p := range paths {
		if !keep.MatchString(p) || strings.Contains(p, "/proxy") || strings.Contains(p, "/binding") || strings.Contains(p, "/eviction") || strings.HasSuffix(p, "/resize") {
			delete(paths, p)
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	used := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					name := strings.TrimPrefix(x.(string), "#/components/schemas/")
					if !used[name] {
						used[name] = true
						walk(schemas[name])
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(paths)
	var names []string
	for n := range schemas {
		if !used[n] {
			delete(schemas, n)
		} else {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile("api__v1_openapi.json", out, 0o644); err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stderr, "%d paths, %d schemas, %d bytes\n", len(paths), len(names), len(out))
}
