package dtmconf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dtm-labs/dtm/dtmsvr/config"
)

// TestFinishedTransactionsOutliveTheRepairWindow: the configuration the
// launcher writes makes dtm keep a finished transaction for
// FinishedDataExpire, past the services' repair window, and keeps the
// store's settings.
func TestFinishedTransactionsOutliveTheRepairWindow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dtm.yml")
	if err := os.WriteFile(file, DefaultServer().YAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	config.MustLoadConfig(file)
	st := config.Config.Store
	if st.FinishedDataExpire != FinishedDataExpire || st.Driver != "redis" || st.Port != 6379 || st.RedisPrefix != "{dtm}" {
		t.Fatalf("dtm read the store's settings as %+v", st)
	}
	if FinishedDataExpire <= 2*24*3600 {
		t.Fatalf("FinishedDataExpire %d s leaves a day's sale no time past the 24 h repair window", FinishedDataExpire)
	}
}
