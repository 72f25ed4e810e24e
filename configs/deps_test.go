package configs

import (
	"go/build"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// configs composes the packages' configs (package experiment) and never
// depends on the trainer that runs them, directly or through another package.
func TestNoTrainerImport(t *testing.T) {
	const mod = "github.com/entrolab/entrolab/"
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	seen := map[string][]string{}
	var walk func(pkg string, path []string)
	walk = func(pkg string, path []string) {
		if _, ok := seen[pkg]; ok {
			return
		}
		seen[pkg] = path
		p, err := build.ImportDir(filepath.Join(root, strings.TrimPrefix(pkg, mod)), 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, mod) {
				walk(imp, append(append([]string(nil), path...), imp))
			}
		}
	}
	walk(mod+"configs", nil)
	for _, bad := range []string{"trainer", "runner", "sweep"} {
		if path, ok := seen[mod+bad]; ok {
			t.Errorf("configs imports %s: %s", bad, strings.Join(path, " -> "))
		}
	}
}
