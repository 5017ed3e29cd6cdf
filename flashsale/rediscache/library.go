package rediscache

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// The buy path's scripts (the rate windows with the stock read, and the
// take) compare an activity's epoch with the Redis process's run id on
// every call. Asked with INFO inside the script, that costs the server
// about 10 us a call, three times the rest of the take. So where the
// server has Redis functions (7.0 and later) those scripts run as the
// functions of one library whose runid() asks INFO once and keeps the
// answer in the library's Lua state. That state lives exactly as long as
// the server process: a restart loads the library again from the
// append-only file (or the snapshot) with nothing kept, and a replica
// promoted to master has its own copy of the library with its own run id.
// So the comparison is the same as INFO's on every call, and a counter set
// under another process is still stale at once (epoch.go).
//
// A server without functions (the embedded Redis, Redis 6) runs the same
// Lua as EVALSHA scripts whose runid() asks INFO each time.

// cachedRunIDLua defines runid() for the function library: INFO is asked
// on the library's first call in this server process, then kept.
const cachedRunIDLua = `
local kept_runid
local function runid()
  if not kept_runid then
    local info = redis.pcall('INFO', 'server')
    kept_runid = type(info) == 'string' and string.match(info, 'run_id:(%x+)') or 'none'
  end
  return kept_runid
end
`

// hotScript is one script of the buy path: a Lua body reading KEYS and
// ARGV, run as a function of the library or, failing that, by EVALSHA.
type hotScript struct {
	name string // the function's name in the library
	body string
	eval *redis.Script // with runIDLua and helpers prepended
}

// newHotScript returns the script whose body uses runid() and the helpers
// (Lua function definitions) given.
func newHotScript(name, body string, helpers ...string) *hotScript {
	return &hotScript{name: name, body: body, eval: redis.NewScript(runIDLua + strings.Join(helpers, "") + body)}
}

// hotLibrary is the function library of the hot scripts. Its name and
// its functions' names carry a hash of its code, so that instances of
// different versions of this service, sharing a Redis, each find their own.
type hotLibrary struct {
	code    string
	scripts map[*hotScript]string // the function name of each script
}

// newHotLibrary builds the library of scripts, with helpers defined once.
func newHotLibrary(helpers []string, scripts ...*hotScript) *hotLibrary {
	var src strings.Builder // what the library is made of, for its tag
	for _, part := range append([]string{cachedRunIDLua}, helpers...) {
		src.WriteString(part)
	}
	for _, s := range scripts {
		src.WriteString(s.name + "\n" + s.body)
	}
	sum := sha1.Sum([]byte(src.String()))
	tag := hex.EncodeToString(sum[:6])
	l := &hotLibrary{scripts: map[*hotScript]string{}}
	var b strings.Builder
	fmt.Fprintf(&b, "#!lua name=flashsale_%s\n%s%s", tag, cachedRunIDLua, strings.Join(helpers, ""))
	for _, s := range scripts {
		fn := s.name + "_" + tag
		l.scripts[s] = fn
		fmt.Fprintf(&b, "redis.register_function('%s', function(KEYS, ARGV)\n%s\nend)\n", fn, s.body)
	}
	l.code = b.String()
	return l
}

// hotRunner runs the library's scripts on one client: as functions while
// the server has them, loading the library where it is missing (a new
// server, FUNCTION FLUSH, a new cluster master), else by EVALSHA.
type hotRunner struct {
	lib         *hotLibrary
	rdb         redis.UniversalClient
	noFunctions atomic.Bool // the server answered that it has no FCALL
	loading     sync.Mutex
}

func newHotRunner(lib *hotLibrary, rdb redis.UniversalClient) *hotRunner {
	return &hotRunner{lib: lib, rdb: rdb}
}

// run runs s with keys and args.
func (r *hotRunner) run(ctx context.Context, s *hotScript, keys []string, args ...any) *redis.Cmd {
	if r.noFunctions.Load() {
		return s.eval.Run(ctx, r.rdb, keys, args...)
	}
	fn := r.lib.scripts[s]
	cmd := r.rdb.FCall(ctx, fn, keys, args...)
	switch err := cmd.Err(); {
	case err == nil || errors.Is(err, redis.Nil):
		return cmd
	case strings.Contains(err.Error(), "unknown command"):
		r.noFunctions.Store(true)
		return s.eval.Run(ctx, r.rdb, keys, args...)
	case strings.Contains(err.Error(), "Function not found"):
		if lerr := r.load(ctx); lerr != nil {
			if strings.Contains(lerr.Error(), "unknown command") {
				r.noFunctions.Store(true)
				return s.eval.Run(ctx, r.rdb, keys, args...)
			}
			cmd.SetErr(fmt.Errorf("load the function library: %w", lerr))
			return cmd
		}
		return r.rdb.FCall(ctx, fn, keys, args...)
	}
	return cmd
}

// load loads the library on the server, or on every master of a cluster.
// Loading it again is harmless: REPLACE keeps the same code.
func (r *hotRunner) load(ctx context.Context) error {
	r.loading.Lock()
	defer r.loading.Unlock()
	if c, ok := r.rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.FunctionLoadReplace(ctx, r.lib.code).Err()
		})
	}
	return r.rdb.FunctionLoadReplace(ctx, r.lib.code).Err()
}
