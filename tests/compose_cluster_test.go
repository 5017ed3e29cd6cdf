package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDockerComposeCluster checks docker-compose.yml's scale-out layout
// (profile "cluster") the way a user would read it before `docker compose
// --profile cluster up`: a Redis Cluster of 3 masters with a replica each,
// dtm groups on their own store prefixes, every service listing the same
// groups in the same order and every node, and a balancer whose backends
// are exactly the instances, at the ports they listen on, checked at
// /readyz. The general checks of TestDockerCompose (addresses, waits,
// healthchecks, published ports) cover these services too.
func TestDockerComposeCluster(t *testing.T) {
	c := loadCompose(t, filepath.Join("..", "docker-compose.yml"))
	in := func(name string) bool { return slices.Contains(c.Services[name].Profiles, "cluster") }
	var nodes, groups, apps []string
	byBinary := map[string][]string{}
	for _, name := range c.names() {
		s := c.Services[name]
		if !in(name) {
			// The monitoring profile's are checked by
			// TestDockerComposeMonitoring.
			if len(s.Profiles) > 0 && !slices.Equal(s.Profiles, []string{"monitoring"}) {
				t.Errorf("%s: profiles %v; the single layout's services start without one", name, s.Profiles)
			}
			continue
		}
		switch {
		case strings.HasPrefix(s.Image, "redis:") && s.flag("--cluster-enabled") == "yes":
			nodes = append(nodes, name)
			if s.flag("--appendonly") != "yes" {
				t.Errorf("%s: a cluster node without its append-only file", name)
			}
			// dtm's stores are on the nodes (docs/durability.md).
			if s.flag("--appendfsync") != "always" {
				t.Errorf("%s: --appendfsync %q; want always: the dtm groups' stores are on the nodes", name, s.flag("--appendfsync"))
			}
		case s.binary() == "dtm":
			groups = append(groups, name)
		}
		if b := s.binary(); b != "" {
			byBinary[b] = append(byBinary[b], name)
			if b != "dtm" {
				apps = append(apps, name)
			}
		}
	}
	if len(nodes) != 6 || len(groups) < 2 || len(byBinary["flashsale"]) < 2 || len(byBinary["orders"]) < 2 {
		t.Fatalf("cluster layout: nodes %v, dtm groups %v, flashsale %v, orders %v; want 6 nodes and at least 2 of the others", nodes, groups, byBinary["flashsale"], byBinary["orders"])
	}
	nodeList := func() string {
		var a []string
		for _, n := range nodes {
			a = append(a, n+":6379")
		}
		return strings.Join(a, ",")
	}()

	t.Run("RedisCluster", func(t *testing.T) {
		init, ok := c.Services["redis-cluster-init"]
		if !ok || !in("redis-cluster-init") {
			t.Fatal("no redis-cluster-init job in the cluster profile")
		}
		script := strings.Join(init.Command, " ")
		if !strings.Contains(script, "--cluster create") || !strings.Contains(script, "--cluster-replicas 1") {
			t.Errorf("redis-cluster-init does not create a cluster with a replica per master: %q", script)
		}
		for _, n := range nodes {
			if !strings.Contains(script, n) || init.DependsOn[n] != "service_healthy" {
				t.Errorf("redis-cluster-init does not join %s, or does not wait for it", n)
			}
		}
		for _, name := range byBinary["flashsale"] {
			if c.Services[name].DependsOn["redis-cluster-init"] != "service_completed_successfully" {
				t.Errorf("%s: starts before the cluster is made", name)
			}
		}
	})

	t.Run("Groups", func(t *testing.T) {
		prefixes := map[string]bool{}
		var want []string
		for _, g := range groups {
			s := c.Services[g]
			p := s.flag("-redis-prefix")
			if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || prefixes[p] {
				t.Errorf("%s: store prefix %q; want a hash tag of its own", g, p)
			}
			prefixes[p] = true
			// dtm's stores never share a master with the stock
			// (docs/durability.md): not on the stock's cluster.
			for _, a := range strings.Split(s.flag("-redis"), ",") {
				if strings.Contains(nodeList, a) {
					t.Errorf("%s: -redis %q names %s, a node of the stock's cluster; want a Redis of dtm's own", g, s.flag("-redis"), a)
				}
			}
			want = append(want, "http://"+g+":"+s.flag("-http-port")+"/api/dtmsvr")
		}
		for _, name := range apps {
			if got := c.Services[name].Environment["DTM_SERVER"]; got != strings.Join(want, ",") {
				t.Errorf("%s: DTM_SERVER=%q; every service must list the groups in one order: %q", name, got, strings.Join(want, ","))
			}
		}
		for _, name := range byBinary["flashsale"] {
			if got := c.Services[name].Environment["REDIS_ADDR"]; got != nodeList {
				t.Errorf("%s: REDIS_ADDR=%q; want every node, %q", name, got, nodeList)
			}
		}
	})

	t.Run("Balancer", func(t *testing.T) {
		b, ok := c.Services["balancer"]
		if !ok || b.configText == "" {
			t.Fatal("no balancer with a mounted configuration")
		}
		backends := parseHAProxy(b.configText)
		port := func(name, key string) string {
			_, p, _ := strings.Cut(composeInterpolate(c.Services[name].Environment[key]), ":")
			return p
		}
		for backend, want := range map[string][]string{
			"shopper":  instances(byBinary["flashsale"], func(n string) string { return port(n, "FLASHSALE_ADDR") }),
			"admin":    instances(byBinary["flashsale"], func(n string) string { return port(n, "FLASHSALE_ADMIN_ADDR") }),
			"internal": instances(byBinary["flashsale"], func(n string) string { return port(n, "FLASHSALE_INTERNAL_ADDR") }),
			"orders":   instances(byBinary["orders"], func(n string) string { return port(n, "ORDERS_ADDR") }),
		} {
			got := backends[backend]
			slices.Sort(got.servers)
			if !slices.Equal(got.servers, want) {
				t.Errorf("backend %s: servers %v; want %v", backend, got.servers, want)
			}
			if !got.readyCheck {
				t.Errorf("backend %s: no health check of /readyz", backend)
			}
		}
		if !strings.Contains(b.configText, "option forwardfor") {
			t.Error("the shopper frontend does not pass the client's address on")
		}
		ip := b.Networks["default"].IPv4Address
		for _, name := range byBinary["flashsale"] {
			if got := c.Services[name].Environment["FLASHSALE_TRUSTED_PROXIES"]; ip == "" || got != ip {
				t.Errorf("%s: FLASHSALE_TRUSTED_PROXIES=%q; want the balancer's fixed address %q", name, got, ip)
			}
		}
		for _, name := range apps {
			env := c.Services[name].Environment
			for _, key := range []string{"ORDERS_URL", "FLASHSALE_INTERNAL_URL"} {
				if v, ok := env[key]; ok && !strings.HasPrefix(v, "http://balancer:") {
					t.Errorf("%s: %s=%q; dtm must reach any instance through the balancer", name, key, v)
				}
			}
		}
		// HAProxy itself reads it, where installed (the names resolve
		// only inside compose's network: a warning, not an error).
		if hp, err := exec.LookPath("haproxy"); err == nil {
			f := filepath.Join(t.TempDir(), "haproxy.cfg")
			if err := os.WriteFile(f, []byte(b.configText), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(hp, "-c", "-f", f).CombinedOutput(); err != nil {
				t.Errorf("haproxy -c: %v\n%s", err, out)
			}
		}
	})
}

// instances returns "<name>:<port>" of each service, sorted.
func instances(names []string, port func(string) string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n+":"+port(n))
	}
	slices.Sort(out)
	return out
}

// haBackend is what the checks read of a backend.
type haBackend struct {
	servers    []string // addresses
	readyCheck bool
}

// parseHAProxy reads the backends of an HAProxy configuration.
func parseHAProxy(cfg string) map[string]haBackend {
	out := map[string]haBackend{}
	cur := ""
	for _, line := range strings.Split(cfg, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			cur = ""
			if f[0] == "backend" && len(f) > 1 {
				cur = f[1]
			}
		case cur == "":
		case f[0] == "server" && len(f) > 2:
			b := out[cur]
			b.servers = append(b.servers, f[2])
			out[cur] = b
		case strings.Join(f, " ") == "option httpchk GET /readyz":
			b := out[cur]
			b.readyCheck = true
			out[cur] = b
		}
	}
	return out
}
