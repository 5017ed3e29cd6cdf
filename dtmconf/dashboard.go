package dtmconf

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/gin-gonic/gin"
)

// dtmModule is the module the dtm server and its dashboard are built from.
const dtmModule = "github.com/dtm-labs/dtm"

// DashboardDir returns the directory of the built dtm dashboard (its
// index.html and assets/), or "" when none is built: the env
// FLASHSALE_DTM_DASHBOARD_DIR when set, else where scripts/build-dtm puts
// it: <build dir>/src/admin/dist, the build dir being
// FLASHSALE_DTM_BUILD_DIR or ${XDG_CACHE_HOME:-$HOME/.cache}/flashsale/dtm-<version>
// (the same rule as the script's).
func DashboardDir(getenv func(string) string) string {
	dir := getenv("FLASHSALE_DTM_DASHBOARD_DIR")
	if dir == "" {
		build := BuildDir(getenv)
		if build == "" {
			return ""
		}
		dir = filepath.Join(build, "src", "admin", "dist")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return ""
	}
	return dir
}

// BuildDir returns scripts/build-dtm's build directory, or "" when it
// cannot be named (no home directory, or the dtm version unknown).
func BuildDir(getenv func(string) string) string {
	if d := getenv("FLASHSALE_DTM_BUILD_DIR"); d != "" {
		return d
	}
	cache := getenv("XDG_CACHE_HOME")
	if cache == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	v := DTMVersion()
	if v == "" {
		return ""
	}
	return filepath.Join(cache, "flashsale", "dtm-"+v)
}

// DTMVersion returns the version of the dtm module this binary is built
// with, "" when the build carries no module information.
func DTMVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == dtmModule {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return ""
}

// ServeDashboard serves the built dtm dashboard in dir (see DashboardDir)
// from e, the dtm server's engine, as a released dtm serves its embedded
// copy (dtm's main.go, addAdmin): index.html at / and /admin/*, the files
// under /assets/, and /favicon.ico. The dashboard's API calls go to
// /api/dtmsvr/... on the same origin, that is to this dtm server.
func ServeDashboard(e *gin.Engine, dir string) error {
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return fmt.Errorf("dtm dashboard: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "assets")); err != nil {
		return errors.New("dtm dashboard: no assets/ beside index.html")
	}
	// dtm's bytesTryReplaceIndex with an empty AdminBasePath.
	index = bytes.ReplaceAll(index, []byte(`"assets/`), []byte(`"/assets/`))
	index = bytes.ReplaceAll(index, []byte("PUBLIC-PATH-VARIABLE"), nil)
	render := func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", index) }
	e.StaticFS("/assets", http.Dir(filepath.Join(dir, "assets")))
	e.GET("/admin/*name", render)
	e.GET("/", render)
	e.StaticFile("/favicon.ico", filepath.Join(dir, "favicon.ico"))
	return nil
}
