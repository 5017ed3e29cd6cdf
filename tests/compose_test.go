package tests

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"gopkg.in/yaml.v3"
)

// The checks below read docker-compose.yml and the Dockerfile the way a user
// would before `docker compose up`, against the sources of the services they
// run. They need no servers and no Docker, so they run whatever TestMain
// found.

// composeApps are the compose services that run this module's binaries, each
// with the main file whose environment variables it reads and the flags that
// stand in for a variable when given in the service's command.
var composeApps = []struct {
	service, main string
	flags         map[string]string
}{
	{"dtm", "dtmconf/cmd/dtm/main.go", map[string]string{"REDIS_ADDR": "-redis"}},
	{"orders", "orders/cmd/orders/main.go", nil},
	{"flashsale", "flashsale/cmd/flashsale/main.go", nil},
}

// composeOptionalEnv are the variables the services read that compose may
// leave unset, and why the default is right there. The listen addresses are
// deliberately absent: their defaults are loopback, which neither the other
// containers nor a published port can reach; FLASHSALE_INTERNAL_URL too, as
// its default derives from the listen address.
var composeOptionalEnv = map[string]string{
	"REDIS_PASSWORD":      "the compose Redis has no password",
	"REDIS_DB":            "flashsale has the compose Redis to itself; database 0 is fine",
	"PAYMENT_SIMULATE":    "the simulated payment provider succeeds by default; set it (fail, hang) to try failures",
	"MYSQL_MAX_CONNS":     "the default pools (flashsale 32, orders 64) fit one MariaDB of the compose file",
	"ORDERS_REPAIR":       "the repair of what a store forgot is on by default; off is for the tests that show what it repairs",
	"ORDERS_REPAIR_EVERY": "the repair's 60 s fallback; it also runs after every change of a dtm store's epoch",
}

// composeCallbackEnv are addresses a service only hands to the dtm server,
// as a message's branch URL, and never dials itself: the dtm server retries
// a branch until it answers, so the service need not wait for the other one.
// orders cannot wait for flashsale: flashsale waits for orders, and compose
// refuses a cycle.
// Keys are "<binary>:<variable>".
var composeCallbackEnv = map[string]string{
	"orders:FLASHSALE_INTERNAL_URL": "the branch of a cancellation message (the unit back to Redis)",
	"orders:ORDERS_URL":             "the order service's own address, as the dtm server calls it (through the balancer in the cluster layout)",
}

// composeListenEnv are the variables that name a service's own listen address.
var composeListenEnv = []string{"FLASHSALE_ADDR", "FLASHSALE_ADMIN_ADDR", "FLASHSALE_INTERNAL_ADDR", "ORDERS_ADDR"}

// composePublished are the documented ports (docs/api.md: shopper, admin; the dtm
// HTTP API), as "service:container port"; nothing else is published.
// The cluster layout publishes its balancer's shopper and admin ports, the
// monitoring profile Prometheus's and Grafana's.
var composePublished = []string{"balancer:9080", "balancer:9081", "dtm:36789", "flashsale:8080", "flashsale:8081", "grafana:3000", "prometheus:9090"}

// envKeyRE finds the keys a main reads: getenv("X"), os.Getenv("X"),
// env(&c.Field, "X"), orEnv(getenv, "X", def).
var composeEnvKeyRE = regexp.MustCompile(`(?:\b[Gg]etenv|\benv|\borEnv)\(\s*(?:&?[\w.]+\s*,\s*)?"([A-Z][A-Z0-9_]*)"`)

func TestDockerCompose(t *testing.T) {
	c := loadCompose(t, filepath.Join("..", "docker-compose.yml"))
	composeDockerfile, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := parseComposeDockerfile(string(composeDockerfile))

	t.Run("Services", func(t *testing.T) {
		for _, name := range []string{"redis", "dtm-redis", "mysql", "dtm", "orders", "flashsale"} {
			if _, ok := c.Services[name]; !ok {
				t.Errorf("no service %q", name)
			}
		}
	})

	t.Run("Build", func(t *testing.T) {
		want := []string{"./dtmconf/cmd/dtm", "./flashsale/cmd/flashsale", "./orders/cmd/orders"}
		if df.buildStage == "" {
			t.Fatalf("Dockerfile: no stage FROM golang:... AS <name> runs go build of %v", want)
		}
		for _, pkg := range want {
			if !df.built[pkg] {
				t.Errorf("Dockerfile: build stage %q does not build %s", df.buildStage, pkg)
			}
		}
		if !df.cgoOff {
			t.Errorf("Dockerfile: build stage %q does not set CGO_ENABLED=0", df.buildStage)
		}
		if !df.copiesToBin {
			t.Errorf("Dockerfile: no later stage copies --from=%s into /usr/local/bin/", df.buildStage)
		}
		run := map[string]bool{}
		for _, name := range c.names() {
			s := c.Services[name]
			if s.Build == nil {
				continue
			}
			if s.Build.Context != "." || s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("%s: builds context %q, dockerfile %q; want the repository's Dockerfile", name, s.Build.Context, s.Build.Dockerfile)
			}
			if len(s.Command) == 0 || !df.binaries[s.Command[0]] {
				t.Errorf("%s: command %q does not start a binary the Dockerfile builds (%v)", name, s.Command, composeKeys(df.binaries))
				continue
			}
			run[s.Command[0]] = true
		}
		for bin := range df.binaries {
			if !run[bin] {
				t.Errorf("no compose service runs %s", bin)
			}
		}
	})

	t.Run("Env", func(t *testing.T) {
		read := map[string]bool{}
		for _, app := range composeApps {
			src, err := os.ReadFile(filepath.Join("..", app.main))
			if err != nil {
				t.Fatal(err)
			}
			ms := composeEnvKeyRE.FindAllStringSubmatch(string(src), -1)
			if len(ms) == 0 {
				t.Fatalf("%s: found no environment variables; does envKeyRE still match how it reads them?", app.main)
			}
			if _, ok := c.Services[app.service]; !ok {
				t.Errorf("no service %q to run %s", app.service, app.main)
				continue
			}
			// Every service running the binary: the cluster layout's too.
			for _, name := range c.names() {
				s := c.Services[name]
				if s.binary() != app.service {
					continue
				}
				for _, m := range ms {
					key := m[1]
					read[key] = true
					if _, ok := s.Environment[key]; ok {
						continue
					}
					if flag := app.flags[key]; flag != "" && s.flag(flag) != "" {
						continue
					}
					if _, ok := composeOptionalEnv[key]; ok {
						continue
					}
					also := ""
					if flag := app.flags[key]; flag != "" {
						also = " nor passes " + flag
					}
					t.Errorf("%s: %s reads %s but the service does not set it%s (set it, or list it in composeOptionalEnv with the reason its default is right)", name, app.main, key, also)
				}
			}
		}
		for key := range composeOptionalEnv {
			if !read[key] {
				t.Errorf("composeOptionalEnv lists %s, which no service reads any more", key)
			}
		}
	})

	t.Run("DTMStore", func(t *testing.T) {
		// docs/durability.md: a dtm server's store loses no write it
		// acknowledged when its process is killed: every Redis it names
		// has its append-only file fsynced before each reply.
		stock := map[string]bool{} // the hosts of flashsale's REDIS_ADDR
		for _, name := range c.names() {
			if s := c.Services[name]; s.binary() == "flashsale" {
				for _, a := range strings.Split(composeInterpolate(s.Environment["REDIS_ADDR"]), ",") {
					if host, _, err := net.SplitHostPort(strings.TrimSpace(a)); err == nil {
						stock[host] = true
					}
				}
			}
		}
		groups := 0
		for _, name := range c.names() {
			s := c.Services[name]
			if s.binary() != "dtm" {
				continue
			}
			groups++
			if s.flag("-store") != "redis" || s.flag("-redis") == "" {
				t.Errorf("%s: -store %q -redis %q; want a Redis store", name, s.flag("-store"), s.flag("-redis"))
				continue
			}
			for _, a := range strings.Split(s.flag("-redis"), ",") {
				host, _, err := net.SplitHostPort(a)
				store, ok := c.Services[host]
				if err != nil || !ok {
					continue // Addresses reports it
				}
				if len(store.Command) == 0 || store.Command[0] != "redis-server" {
					t.Errorf("%s: its store %s does not run redis-server with arguments (%q)", name, host, store.Command)
					continue
				}
				if store.flag("--appendonly") != "yes" || store.flag("--appendfsync") != "always" {
					t.Errorf("%s: its store %s runs with --appendonly %q --appendfsync %q; want yes and always (a SIGKILL of it must lose nothing acknowledged)",
						name, host, store.flag("--appendonly"), store.flag("--appendfsync"))
				}
				// dtm's store never shares a master with the stock: one
				// failover would lose a purchase's message and its unit's
				// barrier together, and nothing could repair it
				// (docs/durability.md).
				if stock[host] {
					t.Errorf("%s: its store %s is a Redis of flashsale's stock; want a Redis of its own", name, host)
				}
			}
		}
		if groups == 0 {
			t.Error("no service runs dtm")
		}
	})

	t.Run("ListenAddrs", func(t *testing.T) {
		for _, name := range c.names() {
			for _, key := range composeListenEnv {
				v, ok := c.Services[name].Environment[key]
				if !ok {
					continue
				}
				host, _, err := net.SplitHostPort(composeInterpolate(v))
				if err != nil {
					t.Errorf("%s: %s=%q: %v", name, key, v, err)
				} else if host != "" && host != "0.0.0.0" && host != "::" {
					t.Errorf("%s: %s=%q listens on %s only: other containers and published ports cannot reach it", name, key, v, host)
				}
			}
		}
	})

	t.Run("Secrets", func(t *testing.T) {
		for _, key := range []string{"FLASHSALE_JWT_SECRET", "FLASHSALE_ADMIN_TOKEN"} {
			v := c.Services["flashsale"].Environment[key]
			if !regexp.MustCompile(`^\$\{` + key + `:\?[^}]+\}$`).MatchString(v) {
				t.Errorf("flashsale: %s=%q; want ${%s:?message}, required from the user's environment", key, v, key)
			}
		}
	})

	t.Run("Addresses", func(t *testing.T) {
		for _, r := range c.references() {
			if r.err != nil {
				t.Errorf("%s: %s: %v", r.from, r.what, r.err)
				continue
			}
			target, ok := c.Services[r.host]
			if !ok {
				t.Errorf("%s: %s names host %q, which is no service in the file", r.from, r.what, r.host)
				continue
			}
			if ports := target.listens(); !ports[r.port] {
				t.Errorf("%s: %s uses port %s of %s, which listens on %v", r.from, r.what, r.port, r.host, composeKeys(ports))
			}
			if r.path != "" && r.path != r.wantPath {
				t.Errorf("%s: %s has path %q; want %q", r.from, r.what, r.path, r.wantPath)
			}
		}
	})

	t.Run("DependsOn", func(t *testing.T) {
		for _, name := range c.names() {
			for dep, cond := range c.Services[name].DependsOn {
				target, ok := c.Services[dep]
				switch {
				case !ok:
					t.Errorf("%s: depends on %q, which is no service in the file", name, dep)
				case cond == "service_healthy" && len(target.Healthcheck.Test) == 0:
					t.Errorf("%s: waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				case cond != "service_started" && cond != "service_healthy" && cond != "service_completed_successfully":
					t.Errorf("%s: depends on %s with unknown condition %q", name, dep, cond)
				}
			}
		}
		// A service that dials another at start must wait for it.
		for _, r := range c.references() {
			if _, ok := c.Services[r.host]; !ok || r.host == r.from {
				continue
			}
			if key, _, _ := strings.Cut(r.what, "="); composeCallbackEnv[c.Services[r.from].binary()+":"+key] != "" {
				continue
			}
			if !c.waitsFor(r.from, r.host) {
				t.Errorf("%s: %s refers to %s, but %s does not depend on it (directly or through another service)", r.from, r.what, r.host, r.from)
			}
		}
	})

	t.Run("Healthchecks", func(t *testing.T) {
		for _, name := range c.names() {
			s := c.Services[name]
			hc := s.Healthcheck.Test
			if len(hc) == 0 && !c.job(name) {
				t.Errorf("%s: no healthcheck", name)
				continue
			}
			if s.Build == nil || hc[0] != "CMD" || len(hc) < 2 {
				continue
			}
			// The image is built here: its healthcheck must run a program the
			// Dockerfile puts there.
			if exe := path.Base(hc[1]); !df.binaries[exe] && !df.installs[exe] {
				t.Errorf("%s: healthcheck runs %q, which the Dockerfile neither builds nor installs into /usr/local/bin", name, hc[1])
			}
		}
	})

	t.Run("PublishedPorts", func(t *testing.T) {
		var got []string
		for _, name := range c.names() {
			for _, p := range c.Services[name].Ports {
				got = append(got, name+":"+p.target)
				if p.ip != "127.0.0.1" {
					t.Errorf("%s: port %s is published on %q, not on the host's loopback 127.0.0.1", name, p.target, p.ip)
				}
				if p.published != p.target {
					t.Errorf("%s: container port %s is published on host port %q; the documented port is %s", name, p.target, p.published, p.target)
				}
			}
		}
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(composePublished, " ") {
			t.Errorf("published ports %v; want exactly %v", got, composePublished)
		}
	})
}

// compose is the part of a compose file these checks read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
}

// waitsFor reports whether service from waits for dep, directly or
// through the services it waits for.
func (c composeFile) waitsFor(from, dep string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(s string) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		for d := range c.Services[s].DependsOn {
			if d == dep || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

// job reports whether the service is a one-shot job: not restarted, and
// waited for until it completes.
func (c composeFile) job(name string) bool {
	if c.Services[name].Restart != "no" {
		return false
	}
	for _, s := range c.Services {
		if s.DependsOn[name] == "service_completed_successfully" {
			return true
		}
	}
	return false
}

type composeService struct {
	Image       string          `yaml:"image"`
	Build       *composeBuild   `yaml:"build"`
	Command     composeWords    `yaml:"command"`
	Environment composeEnv      `yaml:"environment"`
	Ports       []composePort   `yaml:"ports"`
	DependsOn   composeDepends  `yaml:"depends_on"`
	Healthcheck composeHealthck `yaml:"healthcheck"`
	Restart     string          `yaml:"restart"`
	Profiles    []string        `yaml:"profiles"`
	Volumes     []string        `yaml:"volumes"`
	Configs     []struct {
		Source, Target string
	} `yaml:"configs"`
	Networks map[string]struct {
		IPv4Address string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	// configText is the text of the configs the service mounts (filled
	// in by loadCompose).
	configText string
}

// binary is the program the service runs, for the services built here.
func (s composeService) binary() string {
	if s.Build == nil || len(s.Command) == 0 {
		return ""
	}
	return s.Command[0]
}

func loadCompose(t *testing.T, file string) composeFile {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for name, s := range c.Services {
		for _, cf := range s.Configs {
			cfg, ok := c.Configs[cf.Source]
			if !ok {
				t.Fatalf("%s: mounts config %q, which the file does not define", name, cf.Source)
			}
			s.configText += cfg.Content
		}
		c.Services[name] = s
	}
	return c
}

func (c composeFile) names() []string { return composeKeys(c.Services) }

// flag returns the value of flag name in the service's command, or "".
func (s composeService) flag(name string) string {
	for i, w := range s.Command {
		if w == name && i+1 < len(s.Command) {
			return s.Command[i+1]
		}
		if v, ok := strings.CutPrefix(w, name+"="); ok {
			return v
		}
	}
	return ""
}

// listens returns the ports the service accepts connections on.
func (s composeService) listens() map[string]bool {
	ports := map[string]bool{}
	switch {
	case strings.HasPrefix(s.Image, "redis:"):
		ports["6379"] = true
	case strings.HasPrefix(s.Image, "mariadb:"), strings.HasPrefix(s.Image, "mysql:"):
		ports["3306"] = true
	}
	// A balancer listens where its configuration binds.
	for _, line := range strings.Split(s.configText, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "bind" {
			if i := strings.LastIndexByte(f[1], ':'); i >= 0 {
				ports[f[1][i+1:]] = true
			}
		}
	}
	for _, f := range []string{"-http-port", "-grpc-port"} {
		if v := s.flag(f); v != "" {
			ports[v] = true
		}
	}
	for _, key := range composeListenEnv {
		if v, ok := s.Environment[key]; ok {
			if _, port, err := net.SplitHostPort(composeInterpolate(v)); err == nil {
				ports[port] = true
			}
		}
	}
	return ports
}

// reference is one service naming another by address.
type composeRef struct {
	from, what       string // the service, and the variable or flag
	host, port, path string
	wantPath         string
	err              error
}

// references returns every address a service is given of another service.
func (c composeFile) references() []composeRef {
	var refs []composeRef
	add := func(from, what, hostport, urlPath, wantPath string, err error) {
		r := composeRef{from: from, what: what, path: urlPath, wantPath: wantPath, err: err}
		if err == nil {
			r.host, r.port, r.err = net.SplitHostPort(hostport)
		}
		refs = append(refs, r)
	}
	for _, name := range c.names() {
		s := c.Services[name]
		if v := s.flag("-redis"); v != "" {
			for _, a := range strings.Split(v, ",") {
				add(name, "-redis "+v, a, "", "", nil)
			}
		}
		for key, raw := range s.Environment {
			v := composeInterpolate(raw)
			what := key + "=" + raw
			switch key {
			case "REDIS_ADDR":
				for _, a := range strings.Split(v, ",") {
					add(name, what, strings.TrimSpace(a), "", "", nil)
				}
			case "MYSQL_DSN":
				cfg, err := mysql.ParseDSN(v)
				if err == nil && cfg.Net != "tcp" {
					err = fmt.Errorf("network %q; want tcp", cfg.Net)
				}
				addr := ""
				if cfg != nil {
					addr = cfg.Addr
				}
				add(name, what, addr, "", "", err)
			case "DTM_SERVER", "ORDERS_URL", "FLASHSALE_INTERNAL_URL":
				want := map[string]string{"DTM_SERVER": "/api/dtmsvr"}[key]
				list := []string{v}
				if key == "DTM_SERVER" { // the dtm groups
					list = strings.Split(v, ",")
				}
				for _, v := range list {
					u, err := url.Parse(v)
					if err == nil && (u.Scheme != "http" || u.Port() == "") {
						err = fmt.Errorf("want http://<service>:<port>")
					}
					if err != nil {
						add(name, what, "", "", "", err)
						continue
					}
					add(name, what, u.Host, strings.TrimSuffix(u.Path, "/"), want, nil)
				}
			}
		}
	}
	return refs
}

// interpolateRE matches compose's ${VAR}, ${VAR:-default}, ${VAR-default},
// ${VAR:?message} and ${VAR?message}.
var composeVarRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate resolves v as compose would with none of its variables set in
// the environment: defaults are taken, required variables become a
// placeholder.
func composeInterpolate(v string) string {
	return composeVarRE.ReplaceAllStringFunc(v, func(m string) string {
		sm := composeVarRE.FindStringSubmatch(m)
		switch strings.TrimPrefix(sm[2], ":") {
		case "-":
			return sm[3]
		case "?":
			return "required-" + sm[1]
		}
		return ""
	})
}

// composeBuild is a service's build: a context path, or {context, dockerfile}.
type composeBuild struct{ Context, Dockerfile string }

func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
	} else {
		var m struct{ Context, Dockerfile string }
		if err := n.Decode(&m); err != nil {
			return err
		}
		*b = composeBuild(m)
	}
	b.Context = path.Clean(b.Context)
	if b.Dockerfile == "" {
		b.Dockerfile = "Dockerfile"
	}
	return nil
}

// composeWords is a command: a list, or a string split at spaces.
type composeWords []string

func (w *composeWords) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*w = strings.Fields(n.Value)
		return nil
	}
	var l []string
	err := n.Decode(&l)
	*w = l
	return err
}

// composeEnv is environment: a map, or a list of KEY=VALUE (or KEY alone,
// passed through from the user's environment: "").
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(n *yaml.Node) error {
	*e = composeEnv{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]*string // a scalar of any type decodes as its text
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		(*e)[k] = ""
		if v != nil {
			(*e)[k] = *v
		}
	}
	return nil
}

// composeDepends is depends_on: a list of names, or a map of name to
// {condition}; a bare name waits for service_started.
type composeDepends map[string]string

func (d *composeDepends) UnmarshalYAML(n *yaml.Node) error {
	*d = composeDepends{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, name := range l {
			(*d)[name] = "service_started"
		}
		return nil
	}
	var m map[string]struct{ Condition string }
	if err := n.Decode(&m); err != nil {
		return err
	}
	for name, v := range m {
		if v.Condition == "" {
			v.Condition = "service_started"
		}
		(*d)[name] = v.Condition
	}
	return nil
}

// composeHealthck is a healthcheck; Test is empty when there is none or it is
// disabled.
type composeHealthck struct{ Test composeWords }

func (h *composeHealthck) UnmarshalYAML(n *yaml.Node) error {
	var v struct {
		Test    yaml.Node
		Disable bool
	}
	if err := n.Decode(&v); err != nil {
		return err
	}
	if v.Disable || v.Test.Kind == 0 {
		return nil
	}
	if v.Test.Kind == yaml.ScalarNode { // a string runs with the shell
		h.Test = composeWords{"CMD-SHELL", v.Test.Value}
		return nil
	}
	if err := v.Test.Decode(&h.Test); err != nil {
		return err
	}
	if len(h.Test) == 1 && h.Test[0] == "NONE" {
		h.Test = nil
	}
	return nil
}

// composePort is one published port: "[ip:]published:target[/proto]", or
// {target, published}.
type composePort struct{ ip, published, target string }

func (p *composePort) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s, _, _ := strings.Cut(composeInterpolate(n.Value), "/")
		parts := strings.Split(s, ":")
		p.target = parts[len(parts)-1]
		if len(parts) >= 2 {
			p.published = parts[len(parts)-2]
		}
		if len(parts) >= 3 {
			p.ip = strings.Join(parts[:len(parts)-2], ":")
		}
		return nil
	}
	var m struct {
		Target    int
		Published string
		HostIP    string `yaml:"host_ip"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	p.target, p.published, p.ip = strconv.Itoa(m.Target), m.Published, m.HostIP
	return nil
}

// dockerfile is what the checks need to know of the Dockerfile.
type composeDockerfile struct {
	buildStage  string          // the golang stage that runs go build
	built       map[string]bool // packages it builds
	binaries    map[string]bool // their binaries' names
	installs    map[string]bool // other programs put into /usr/local/bin
	cgoOff      bool
	copiesToBin bool // a later stage copies from the build stage into /usr/local/bin
}

var (
	composeFromRE    = regexp.MustCompile(`(?i)^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?`)
	composePkgRE     = regexp.MustCompile(`\s(\./\S+)`)
	composeInstallRE = regexp.MustCompile(`/usr/local/bin/([\w.-]+)`)
)

// parseDockerfile reads the instructions of a Dockerfile: continuation lines
// joined, comments and heredoc bodies skipped.
func parseComposeDockerfile(src string) composeDockerfile {
	df := composeDockerfile{built: map[string]bool{}, binaries: map[string]bool{}, installs: map[string]bool{}}
	var insts []string
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		insts = append(insts, line)
		if m := regexp.MustCompile(`<<-?'?"?(\w+)`).FindStringSubmatch(line); m != nil {
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != m[1] {
				i++
			}
			i++
		}
	}
	stage, golang := "", false
	for _, in := range insts {
		if m := composeFromRE.FindStringSubmatch(in); m != nil {
			stage, golang = m[2], strings.HasPrefix(m[1], "golang:")
			continue
		}
		word, rest, _ := strings.Cut(in, " ")
		word = strings.ToUpper(word)
		switch word {
		case "RUN", "ENV":
			if golang && strings.Contains(rest, "CGO_ENABLED=0") {
				df.cgoOff = true
			}
			if word == "ENV" || !golang || !strings.Contains(rest, "go build") {
				continue
			}
			df.buildStage = stage
			_, args, _ := strings.Cut(rest, "go build")
			for _, m := range composePkgRE.FindAllStringSubmatch(" "+args, -1) {
				df.built[m[1]] = true
				df.binaries[path.Base(m[1])] = true
			}
		case "COPY":
			if df.buildStage != "" && strings.Contains(rest, "--from="+df.buildStage) && strings.Contains(rest, "/usr/local/bin") {
				df.copiesToBin = true
			}
			for _, m := range composeInstallRE.FindAllStringSubmatch(rest, -1) {
				df.installs[m[1]] = true
			}
		}
	}
	return df
}

func composeKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
