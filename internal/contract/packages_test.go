package contract_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPackageMap holds docs/architecture.md's table of packages to the
// code: one row per package of the module, and in each row the project's
// packages it imports (internal/contract aside; for a package of tests
// alone, its tests' imports), as go list gives them.
func TestPackageMap(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := packageRows(t, string(doc))
	code := packageImports(t)
	for pkg, imports := range code {
		row, ok := documented[pkg]
		if !ok {
			t.Errorf("package %s has no row in docs/architecture.md's table of packages", pkg)
			continue
		}
		if !slices.Equal(row, imports) {
			t.Errorf("docs/architecture.md: %s imports %v, the table says %v", pkg, imports, row)
		}
	}
	for pkg := range documented {
		if _, ok := code[pkg]; !ok {
			t.Errorf("docs/architecture.md's table of packages names %s, which is not a package", pkg)
		}
	}
}

// packageRows reads the table of packages: package -> the packages its
// last column names.
func packageRows(t *testing.T, doc string) map[string][]string {
	t.Helper()
	const header = "| package | what it holds |"
	i := strings.Index(doc, header)
	if i < 0 {
		t.Fatal("docs/architecture.md has no table of packages")
	}
	quoted := regexp.MustCompile("`([^`]+)`")
	rows := map[string][]string{}
	for _, line := range strings.Split(doc[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "| `") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		pkg := strings.Trim(cells[0], " `")
		imports := []string{}
		for _, m := range quoted.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			imports = append(imports, m[1])
		}
		rows[pkg] = imports
	}
	return rows
}

// packageImports lists the module's packages ("." for the root) with the
// project's packages each imports, sorted.
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	pkgs := map[string][]string{}
	for dec.More() {
		var p struct {
			ImportPath                string
			GoFiles, Imports          []string
			TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, module)
		if p.ImportPath+"/" == module {
			name = "."
		}
		imports := p.Imports
		if len(p.GoFiles) == 0 {
			imports = append(slices.Clone(p.TestImports), p.XTestImports...)
		}
		own := []string{}
		for _, imp := range imports {
			if rest, ok := strings.CutPrefix(imp, module); ok && rest != "internal/contract" && rest != name && !slices.Contains(own, rest) {
				own = append(own, rest)
			}
		}
		slices.Sort(own)
		pkgs[name] = own
	}
	return pkgs
}
