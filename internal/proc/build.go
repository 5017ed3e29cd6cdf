package proc

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ModuleRoot is the directory of the module's go.mod, wherever the caller
// runs (go test runs each package in its own directory).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Build compiles pkgs (package paths relative to the module's root, as
// "./orders/cmd/orders") into dir, one binary per command, with the build
// tags (space- or comma-separated; "" for none, as users build them).
func Build(dir, tags string, pkgs ...string) error {
	args := []string{"build"}
	if tags = strings.TrimSpace(tags); tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(append(args, "-o", dir+string(filepath.Separator)), pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
