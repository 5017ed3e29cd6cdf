package dtmconf

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// fakeDist writes a dashboard build like vite's into a new directory.
func fakeDist(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "assets"), 0o755)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte(`<script>window.basePath = 'PUBLIC-PATH-VARIABLE';</script><script src="assets/index.js"></script>`), 0o644)
	os.WriteFile(filepath.Join(dir, "assets", "index.js"), []byte(`console.log(1)`), 0o644)
	return dir
}

func TestDashboardDir(t *testing.T) {
	dist := fakeDist(t)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := DashboardDir(env(map[string]string{"FLASHSALE_DTM_DASHBOARD_DIR": dist})); got != dist {
		t.Errorf("FLASHSALE_DTM_DASHBOARD_DIR: got %q", got)
	}
	if got := DashboardDir(env(map[string]string{"FLASHSALE_DTM_DASHBOARD_DIR": t.TempDir()})); got != "" {
		t.Errorf("a directory without index.html: got %q", got)
	}
	build := t.TempDir()
	os.MkdirAll(filepath.Join(build, "src", "admin"), 0o755)
	os.Rename(dist, filepath.Join(build, "src", "admin", "dist"))
	if got := DashboardDir(env(map[string]string{"FLASHSALE_DTM_BUILD_DIR": build})); got != filepath.Join(build, "src", "admin", "dist") {
		t.Errorf("FLASHSALE_DTM_BUILD_DIR: got %q", got)
	}
	// scripts/build-dtm's default: ${XDG_CACHE_HOME:-$HOME/.cache}/flashsale/dtm-<version>.
	if v := DTMVersion(); v != "" {
		if got := BuildDir(env(map[string]string{"HOME": "/h"})); got != "/h/.cache/flashsale/dtm-"+v {
			t.Errorf("BuildDir with HOME: %q", got)
		}
		if got := BuildDir(env(map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/c"})); got != "/c/flashsale/dtm-"+v {
			t.Errorf("BuildDir with XDG_CACHE_HOME: %q", got)
		}
	}
}

func TestServeDashboard(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/api/dtmsvr/version", func(c *gin.Context) { c.String(200, "v") })
	if err := ServeDashboard(e, fakeDist(t)); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(b)
	}
	for _, p := range []string{"/", "/admin/global-transactions/detail/flash-sale-1-u1"} {
		code, body := get(p)
		if code != http.StatusOK || !strings.Contains(body, `src="/assets/index.js"`) || strings.Contains(body, "PUBLIC-PATH-VARIABLE") {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, body := get("/assets/index.js"); code != http.StatusOK || body != "console.log(1)" {
		t.Errorf("GET /assets/index.js: %d %q", code, body)
	}
	if code, _ := get("/api/dtmsvr/version"); code != http.StatusOK {
		t.Errorf("the dtm API is shadowed: %d", code)
	}
	if err := ServeDashboard(gin.New(), t.TempDir()); err == nil {
		t.Error("a directory without the build: no error")
	}
}
