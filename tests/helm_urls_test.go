package tests

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The URLs one service gives another, and the dtm groups' stores, as the
// chart renders them (helmCheck's other checks are in helm_check_test.go).

// resolve follows a URL of the services to the Deployment whose pods it
// reaches: its host must be one of the chart's Services in the release's
// namespace, selecting one Deployment, with the URL's port.
func (c *helmCheck) resolve(what, raw string) (*appsv1.Deployment, *url.URL) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		c.errorf("%s: %q is no http://HOST:PORT URL", what, raw)
		return nil, nil
	}
	name, ok := strings.CutSuffix(u.Hostname(), "."+helmNamespace+".svc")
	if !ok {
		c.errorf("%s: host %q is no Service of the release's namespace (NAME.%s.svc)", what, u.Hostname(), helmNamespace)
		return nil, nil
	}
	for _, s := range c.objs.Services {
		if s.Name != name {
			continue
		}
		d := c.selectsOne("Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if d == nil {
			return nil, nil
		}
		for _, p := range s.Spec.Ports {
			if strconv.Itoa(int(p.Port)) == u.Port() {
				if cp := helmContainerPort(d, p.TargetPort.String()); strconv.Itoa(int(cp)) != u.Port() {
					c.errorf("%s: Service %s port %d leads to container port %d; want %s", what, s.Name, p.Port, cp, u.Port())
				}
				return d, u
			}
		}
		c.errorf("%s: Service %s has no port %s", what, s.Name, u.Port())
		return nil, nil
	}
	c.errorf("%s: no Service %q", what, name)
	return nil, nil
}

// checkURLs: DTM_SERVER lists every group in the values' order (each URL
// reaching that group's dtm servers, on compose's port and path),
// ORDERS_URL reaches the order services and FLASHSALE_INTERNAL_URL
// flashsale's internal listener, on compose's ports; REDIS_ADDR lists
// every node of the values; each group's store is the values', under a
// hash tag of its own, never on the stock's nodes.
func (c *helmCheck) checkURLs() {
	composeDTM, _ := url.Parse(strings.Split(c.cluster["flashsale"].Environment["DTM_SERVER"], ",")[0])
	targets := map[string]string{"ORDERS_URL": "orders", "FLASHSALE_INTERNAL_URL": "flashsale"}
	for _, b := range []string{"flashsale", "orders"} {
		for _, d := range c.deployments(b) {
			env := map[string]string{}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			what := "Deployment " + d.Name
			for key, target := range targets {
				want, _ := url.Parse(c.cluster[b].Environment[key])
				got, u := c.resolve(what+": "+key, env[key])
				if got != nil && (helmBinary(got) != target || u.Port() != want.Port() || u.Path != want.Path) {
					c.errorf("%s: %s=%q reaches %s on port %s; want %s on port %s, path %q", what, key, env[key], got.Name, u.Port(), target, want.Port(), want.Path)
				}
			}
			urls := strings.Split(env["DTM_SERVER"], ",")
			if len(urls) != len(c.v.DTM.Groups) {
				c.errorf("%s: DTM_SERVER=%q lists %d groups; want the %d of dtm.groups, in order", what, env["DTM_SERVER"], len(urls), len(c.v.DTM.Groups))
				continue
			}
			for i, raw := range urls {
				got, u := c.resolve(fmt.Sprintf("%s: DTM_SERVER[%d]", what, i), raw)
				if got == nil {
					continue
				}
				if u.Port() != composeDTM.Port() || u.Path != composeDTM.Path {
					c.errorf("%s: DTM_SERVER[%d]=%q; want port %s and path %q, as docker-compose.yml's", what, i, raw, composeDTM.Port(), composeDTM.Path)
				}
				if g := c.group(got); helmBinary(got) != "dtm" || g.Name != c.v.DTM.Groups[i].Name {
					c.errorf("%s: DTM_SERVER[%d] reaches %s; want the servers of group %q", what, i, got.Name, c.v.DTM.Groups[i].Name)
				}
			}
			if b == "flashsale" {
				if want := strings.Join(c.v.Redis.Nodes, ","); env["REDIS_ADDR"] != want {
					c.errorf("%s: REDIS_ADDR=%q; want every node of redis.nodes, %q", what, env["REDIS_ADDR"], want)
				}
				if want := strings.Join(c.v.Flashsale.TrustedProxies, ","); env["FLASHSALE_TRUSTED_PROXIES"] != want {
					c.errorf("%s: FLASHSALE_TRUSTED_PROXIES=%q; want %q", what, env["FLASHSALE_TRUSTED_PROXIES"], want)
				}
			}
		}
	}
	c.checkStores()
}

// checkStores: each dtm Deployment runs compose's dtm command with its
// group's store.
func (c *helmCheck) checkStores() {
	cs := c.cluster["dtm"]
	prefixes := map[string]string{}
	for _, d := range c.deployments("dtm") {
		ctr := d.Spec.Template.Spec.Containers[0]
		run := composeService{Command: append(slices.Clone(ctr.Command), ctr.Args...)}
		g := c.group(d)
		if g.Name == "" {
			c.errorf("Deployment %s: -redis-prefix %q is no group's storePrefix", d.Name, run.flag("-redis-prefix"))
			continue
		}
		if d.Name != helmRelease+"-dtm-"+g.Name {
			c.errorf("Deployment %s runs group %q; want it named %s-dtm-%s", d.Name, g.Name, helmRelease, g.Name)
		}
		store := g.StoreRedis
		if store == "" {
			store = c.v.DTM.StoreRedis
		}
		for _, f := range []struct{ flag, want string }{
			{"-store", cs.flag("-store")}, {"-redis", store}, {"-http-port", cs.flag("-http-port")}, {"-grpc-port", cs.flag("-grpc-port")},
		} {
			if got := run.flag(f.flag); got != f.want {
				c.errorf("Deployment %s: %s %q; want %q", d.Name, f.flag, got, f.want)
			}
		}
		p := run.flag("-redis-prefix")
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || prefixes[p] != "" {
			c.errorf("Deployment %s: store prefix %q; want a hash tag of its own (also used by %s)", d.Name, p, prefixes[p])
		}
		prefixes[p] = d.Name
		// dtm's stores never share a master with the stock
		// (docs/durability.md).
		for _, a := range strings.Split(store, ",") {
			if _, _, err := net.SplitHostPort(a); err != nil || slices.Contains(c.v.Redis.Nodes, a) {
				c.errorf("Deployment %s: store %q; want HOST:PORT of a Redis that is no node of the stock's cluster", d.Name, a)
			}
		}
	}
}
