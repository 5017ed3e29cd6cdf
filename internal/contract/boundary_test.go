package contract_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/flashsale/flashsale/"

// deps lists the module's packages that pattern's packages depend on
// (go list -deps), tests excluded.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
	}
	var own []string
	for _, p := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(p, module); ok {
			own = append(own, rest)
		}
	}
	return own
}

// TestServicesMeetOnlyThroughTheContract: neither service's packages
// depend on the other's, the order service not on reconcile (it speaks to
// dtm through internal/dtmclient), reconcile on neither, and the contract
// on none of the project's packages.
func TestServicesMeetOnlyThroughTheContract(t *testing.T) {
	cases := []struct {
		pattern   string
		forbidden []string
	}{
		{module + "flashsale/...", []string{"orders"}},
		{module + "orders/...", []string{"flashsale", "reconcile"}},
		{module + "reconcile/...", []string{"flashsale", "orders"}},
		{module + "internal/contract", []string{"flashsale", "orders", "reconcile", "dtmconf", "internal/"}},
	}
	for _, c := range cases {
		for _, p := range deps(t, c.pattern) {
			for _, f := range c.forbidden {
				if p == "internal/contract" {
					continue
				}
				if p == f || strings.HasPrefix(p, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(p, f)) {
					t.Errorf("%s depends on %s", strings.TrimPrefix(c.pattern, module), p)
				}
			}
		}
	}
}

// TestContractNeedsOnlyTheStandardLibraryAndDTM: outside the standard
// library, the contract depends on the dtm client alone (and what that
// client itself needs).
func TestContractNeedsOnlyTheStandardLibraryAndDTM(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", module+"internal/contract").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, "github.com/dtm-labs/client/") {
			t.Errorf("internal/contract imports %s", imp)
		}
	}
}

// stockWrite matches an SQL statement that writes activity_stock, and a
// StockRow value built to hand gorm a write (Create, Save, Updates).
var stockWrite = regexp.MustCompile(`(?i)(update|into|delete\s+from)\s+activity_stock\b|StockRow\{`)

// TestOnlyTheContractWritesTheStockRow: the DB stock changes in the
// transactions of both services, so its writes are the contract's
// functions (tables.go) and nothing else's; tests may set rows up.
func TestOnlyTheContractWritesTheStockRow(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	own := filepath.Join(root, "internal", "contract")
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (path == own || strings.HasPrefix(d.Name(), ".") && path != root):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			if m := stockWrite.FindString(line); m != "" {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d writes activity_stock (%q) outside internal/contract", rel, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files checked under %s", checked, root)
	}
}
