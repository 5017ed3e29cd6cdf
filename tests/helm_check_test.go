package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// helmCheck is one render's checks against docker-compose.yml's cluster
// profile and the values it was rendered with. The checks collect
// problems rather than fail a test, so that TestHelmChartBroken can show
// that a broken chart has some.
type helmCheck struct {
	compose  composeFile
	v        helmValues
	objs     helmObjects
	secrets  []string                  // secret values given to the render: no literal may hold one
	cluster  map[string]composeService // binary -> a cluster-profile service running it
	problems []string
}

// errorf records a problem, once.
func (c *helmCheck) errorf(format string, args ...any) {
	if p := fmt.Sprintf(format, args...); !slices.Contains(c.problems, p) {
		c.problems = append(c.problems, p)
	}
}

// helmCheckRender runs every check on one render and returns the problems.
func helmCheckRender(compose composeFile, v helmValues, objs helmObjects, secrets []string) []string {
	c := &helmCheck{compose: compose, v: v, objs: objs, secrets: secrets, cluster: map[string]composeService{}}
	for _, name := range compose.names() {
		s := compose.Services[name]
		if b := s.binary(); b != "" && slices.Contains(s.Profiles, "cluster") {
			if _, ok := c.cluster[b]; !ok {
				c.cluster[b] = s
			}
		}
	}
	for _, b := range []string{"flashsale", "orders", "dtm"} {
		if _, ok := c.cluster[b]; !ok {
			c.errorf("docker-compose.yml: no cluster-profile service runs %s", b)
			return c.problems
		}
		want := 1
		if b == "dtm" {
			want = len(v.DTM.Groups)
		}
		if got := len(c.deployments(b)); got != want {
			c.errorf("%d Deployments run %s; want %d", got, b, want)
		}
	}
	c.checkSelectors()
	for _, d := range objs.Deployments {
		c.checkDeployment(d)
	}
	c.checkURLs()
	c.checkServices()
	c.checkSecret()
	c.checkPDBs()
	c.checkHPA()
	c.checkPolicies()
	return c.problems
}

// helmBinary is the program a Deployment's first container runs.
func helmBinary(d *appsv1.Deployment) string {
	if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 && len(cs[0].Command) > 0 {
		return cs[0].Command[0]
	}
	return ""
}

// deployments returns the Deployments that run binary.
func (c *helmCheck) deployments(binary string) []*appsv1.Deployment {
	var ds []*appsv1.Deployment
	for _, d := range c.objs.Deployments {
		if helmBinary(d) == binary {
			ds = append(ds, d)
		}
	}
	return ds
}

// selects returns the Deployments whose pods a selector selects, or nil
// for a selector that is invalid or empty (which selects everything).
func (c *helmCheck) selects(what string, sel *metav1.LabelSelector) []*appsv1.Deployment {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		c.errorf("%s: an empty selector", what)
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.errorf("%s: %v", what, err)
		return nil
	}
	var ds []*appsv1.Deployment
	for _, d := range c.objs.Deployments {
		if s.Matches(labels.Set(d.Spec.Template.Labels)) {
			ds = append(ds, d)
		}
	}
	return ds
}

// selectsOne returns the one Deployment a selector selects, or nil after
// recording a problem.
func (c *helmCheck) selectsOne(what string, sel *metav1.LabelSelector) *appsv1.Deployment {
	ds := c.selects(what, sel)
	if len(ds) != 1 {
		c.errorf("%s selects the pods of %v; want those of exactly one Deployment", what, helmDeploymentNames(ds))
		return nil
	}
	return ds[0]
}

// checkSelectors: each Deployment's selector selects its own pods and no
// other Deployment's.
func (c *helmCheck) checkSelectors() {
	for _, d := range c.objs.Deployments {
		if got := c.selectsOne("Deployment "+d.Name, d.Spec.Selector); got != nil && got != d {
			c.errorf("Deployment %s: its selector selects the pods of %s", d.Name, got.Name)
		}
	}
}

// helmContainerPort resolves a port by name or number to a container port of
// the Deployment's container, or 0.
func helmContainerPort(d *appsv1.Deployment, p string) int32 {
	for _, cp := range d.Spec.Template.Spec.Containers[0].Ports {
		if cp.Name == p || strconv.Itoa(int(cp.ContainerPort)) == p {
			return cp.ContainerPort
		}
	}
	return 0
}

// helmSecretEnv reports whether a variable is a secret: compose takes its
// value from the user's environment (${...}), or it is a password.
func helmSecretEnv(name, composeValue string) bool {
	return strings.Contains(composeValue, "${") || name == "REDIS_PASSWORD"
}

// helmSameValueEnv are the variables whose value is compose's exactly: the
// listen addresses and dtm's HTTP host.
var helmSameValueEnv = append(slices.Clone(composeListenEnv), "DTM_HTTP_HOST")

// checkDeployment checks one Deployment's container against compose's
// services running the same binary.
func (c *helmCheck) checkDeployment(d *appsv1.Deployment) {
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		c.errorf("Deployment %s: %d containers; want 1", d.Name, len(spec.Containers))
		return
	}
	ctr := spec.Containers[0]
	b := helmBinary(d)
	cs, ok := c.cluster[b]
	if !ok {
		c.errorf("Deployment %s runs %q, which no cluster-profile service of docker-compose.yml runs", d.Name, ctr.Command)
		return
	}
	what := "Deployment " + d.Name
	if want := c.v.Image.Repository + ":" + c.v.Image.Tag; ctr.Image != want {
		c.errorf("%s: image %q; want %q", what, ctr.Image, want)
	}
	c.checkEnv(what, b, cs, ctr)
	c.checkPorts(what, d, cs)
	c.checkProbes(what, d, cs)
	c.checkLiterals(what, ctr)
	if r := ctr.Resources; r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
		c.errorf("%s: resources %v; want cpu and memory requests and a memory limit", what, r)
	}
	// dtm writes its dtm.yml into its working directory: with a
	// read-only root, something writable must be mounted there.
	if sc := ctr.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		wd := helmWorkdir()
		if !slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == wd && !m.ReadOnly }) {
			c.errorf("%s: a read-only root file system and nothing writable mounted at the image's working directory %s", what, wd)
		}
	}
	var want int32
	switch {
	case b == "flashsale" && c.v.Flashsale.Autoscaling.Enabled:
		if d.Spec.Replicas != nil {
			c.errorf("%s: replicas %d beside its autoscaler; want none (the autoscaler's)", what, *d.Spec.Replicas)
		}
		return
	case b == "flashsale":
		want = int32(c.v.Flashsale.Replicas)
	case b == "orders":
		want = int32(c.v.Orders.Replicas)
	default:
		want = int32(max(1, c.group(d).Replicas))
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
		c.errorf("%s: replicas %v; want %d", what, d.Spec.Replicas, want)
	}
}

// group returns the values' dtm group a dtm Deployment runs, by its
// store prefix.
func (c *helmCheck) group(d *appsv1.Deployment) helmGroupValue {
	p := composeService{Command: append(slices.Clone(d.Spec.Template.Spec.Containers[0].Command), d.Spec.Template.Spec.Containers[0].Args...)}.flag("-redis-prefix")
	for _, g := range c.v.DTM.Groups {
		if g.StorePrefix == p {
			return g
		}
	}
	return helmGroupValue{}
}

// checkEnv: the variables are compose's (plus the optional ones the
// values turn on), secrets come from the Secret, and the addresses of
// the listeners are compose's.
func (c *helmCheck) checkEnv(what, b string, cs composeService, ctr corev1.Container) {
	want := composeKeys(cs.Environment)
	var extra []helmEnvValue
	switch b {
	case "flashsale":
		extra = c.v.Flashsale.ExtraEnv
		if c.v.Redis.PasswordFromSecret {
			want = append(want, "REDIS_PASSWORD")
		}
	case "orders":
		extra = c.v.Orders.ExtraEnv
	case "dtm":
		if c.v.DTM.StorePasswordFromSecret {
			want = append(want, "REDIS_PASSWORD")
		}
	}
	for _, e := range extra {
		want = append(want, e.Name)
	}
	var got []string
	seen := map[string]bool{}
	for _, e := range ctr.Env {
		if seen[e.Name] {
			c.errorf("%s: %s set twice", what, e.Name)
		}
		seen[e.Name] = true
		got = append(got, e.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		c.errorf("%s: environment %v; want %v (docker-compose.yml's %s, and what the values add)", what, got, want, b)
	}
	for _, e := range ctr.Env {
		cv, inCompose := cs.Environment[e.Name]
		switch {
		case helmSecretEnv(e.Name, cv):
			ref := (*corev1.SecretKeySelector)(nil)
			if e.ValueFrom != nil {
				ref = e.ValueFrom.SecretKeyRef
			}
			if e.Value != "" || ref == nil {
				c.errorf("%s: %s is a secret; want it from a secretKeyRef, not %q", what, e.Name, e.Value)
				continue
			}
			c.checkSecretRef(what+": "+e.Name, ref)
		case !inCompose:
		case e.ValueFrom != nil:
			c.errorf("%s: %s from %v; want a value, as docker-compose.yml gives", what, e.Name, e.ValueFrom)
		case slices.Contains(helmSameValueEnv, e.Name) && e.Value != cv:
			c.errorf("%s: %s=%q; want docker-compose.yml's %q", what, e.Name, e.Value, cv)
		}
	}
}

// checkSecretRef: a reference names the chart's Secret (or the existing
// one), and a key the chart's Secret holds.
func (c *helmCheck) checkSecretRef(what string, ref *corev1.SecretKeySelector) {
	name := c.v.Secrets.ExistingSecret
	if name == "" {
		name = helmRelease + "-secrets"
	}
	if ref.Name != name {
		c.errorf("%s: from Secret %q; want %q", what, ref.Name, name)
	}
	if ref.Optional != nil && *ref.Optional {
		c.errorf("%s: an optional secret", what)
	}
	for _, s := range c.objs.Secrets {
		if s.Name == ref.Name {
			if _, ok := s.Data[ref.Key]; !ok {
				c.errorf("%s: key %q, which Secret %s does not hold", what, ref.Key, s.Name)
			}
		}
	}
}

// checkLiterals: no value the chart writes out holds a secret given to
// the render.
func (c *helmCheck) checkLiterals(what string, ctr corev1.Container) {
	words := append(append(slices.Clone(ctr.Command), ctr.Args...), ctr.Image)
	for _, e := range ctr.Env {
		words = append(words, e.Value)
	}
	for _, w := range words {
		for _, s := range c.secrets {
			if strings.Contains(w, s) {
				c.errorf("%s: a secret given to the render appears in plain text (%q)", what, w)
			}
		}
	}
}

// checkPorts: the container ports are the ones compose's services listen
// on, each once.
func (c *helmCheck) checkPorts(what string, d *appsv1.Deployment, cs composeService) {
	var got []string
	names := map[string]bool{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		got = append(got, strconv.Itoa(int(p.ContainerPort)))
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			c.errorf("%s: port %d over %s; want TCP", what, p.ContainerPort, p.Protocol)
		}
		if p.Name == "" || names[p.Name] {
			c.errorf("%s: port %d without a name of its own", what, p.ContainerPort)
		}
		names[p.Name] = true
	}
	want := composeKeys(cs.listens())
	slices.Sort(got)
	if !slices.Equal(got, want) {
		c.errorf("%s: container ports %v; want %v, the ports docker-compose.yml's services listen on", what, got, want)
	}
}

// checkProbes: readiness asks what compose's healthcheck asks, on the same
// port; liveness asks /healthz where compose asks /readyz (the process
// answers, whatever its stores do), else the same.
func (c *helmCheck) checkProbes(what string, d *appsv1.Deployment, cs composeService) {
	hc := cs.Healthcheck.Test
	if len(hc) != 4 || hc[0] != "CMD" || hc[1] != "http-ok" {
		c.errorf("docker-compose.yml: the healthcheck of %s is %q; want CMD http-ok PORT PATH", helmBinary(d), hc)
		return
	}
	live := hc[3]
	if live == "/readyz" {
		live = "/healthz"
	}
	ctr := d.Spec.Template.Spec.Containers[0]
	for _, p := range []struct {
		kind, path string
		probe      *corev1.Probe
	}{{"readiness", hc[3], ctr.ReadinessProbe}, {"liveness", live, ctr.LivenessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			c.errorf("%s: no HTTP %s probe", what, p.kind)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || strconv.Itoa(int(helmContainerPort(d, g.Port.String()))) != hc[2] {
			c.errorf("%s: %s probe GET %s on port %s; want %s on %s", what, p.kind, g.Path, g.Port.String(), p.path, hc[2])
		}
	}
}

// helmWorkdirRE finds the Dockerfile's WORKDIR lines.
var helmWorkdirRE = regexp.MustCompile(`(?m)^WORKDIR\s+(\S+)`)

// helmWorkdir returns the working directory of the image's last stage.
func helmWorkdir() string {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	ms := helmWorkdirRE.FindAllStringSubmatch(string(b), -1)
	if len(ms) == 0 {
		return "/"
	}
	return ms[len(ms)-1][1]
}
