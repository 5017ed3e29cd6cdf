package tests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// The chart's render test renders scripts/helm/flashsale with the pinned
// helm (.ci/run installs it) and reads every manifest into the Kubernetes
// API's types, strictly: a field the API does not have fails, as a kind
// the chart is not expected to make does.

// helmVersion is the helm .ci/run installs (from its Go module).
const helmVersion = "v4.3.2"

// helmChartDir is the chart, from this package's directory.
var helmChartDir = filepath.Join("..", "scripts", "helm", "flashsale")

// helmRelease and helmNamespace are the release the renders make.
const (
	helmRelease   = "fs"
	helmNamespace = "shop"
)

// helmFind returns the helm program: the one on PATH, else the one in
// $(go env GOPATH)/bin. Without one the test fails under CI=true and is
// skipped elsewhere.
func helmFind(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "helm")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	msg := "helm is neither on PATH nor in $(go env GOPATH)/bin; install the pinned one (as .ci/run does): " +
		"cd / && GOFLAGS=-mod=mod go install -ldflags '-X helm.sh/helm/v4/internal/version.version=" + helmVersion + "' helm.sh/helm/v4/cmd/helm@" + helmVersion
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// helmTemplate runs helm template on the chart in dir with the extra
// arguments (values files, --set) and returns what it printed, or its
// error output.
func helmTemplate(helm, dir string, args ...string) ([]byte, error) {
	cmd := exec.Command(helm, append([]string{"template", helmRelease, dir, "--namespace", helmNamespace}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// helmObjects are the objects of one render, by kind, in the order helm
// printed them.
type helmObjects struct {
	Deployments []*appsv1.Deployment
	Services    []*corev1.Service
	Secrets     []*corev1.Secret
	PDBs        []*policyv1.PodDisruptionBudget
	HPAs        []*autoscalingv2.HorizontalPodAutoscaler
	Policies    []*networkingv1.NetworkPolicy
}

// helmDecode reads every document of a render into its API type, strictly
// (unknown or duplicated fields fail), and checks the names and labels as
// the API server would.
func helmDecode(out []byte) (helmObjects, error) {
	var objs helmObjects
	seen := map[string]bool{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return objs, err
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := sigsyaml.Unmarshal(doc, &head); err != nil {
			return objs, fmt.Errorf("%s: %w", doc, err)
		}
		if head.APIVersion == "" && head.Kind == "" && helmOnlyComments(doc) {
			continue
		}
		id := head.APIVersion + " " + head.Kind
		var obj any
		switch id {
		case "apps/v1 Deployment":
			o := &appsv1.Deployment{}
			objs.Deployments, obj = append(objs.Deployments, o), o
		case "v1 Service":
			o := &corev1.Service{}
			objs.Services, obj = append(objs.Services, o), o
		case "v1 Secret":
			o := &corev1.Secret{}
			objs.Secrets, obj = append(objs.Secrets, o), o
		case "policy/v1 PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			objs.PDBs, obj = append(objs.PDBs, o), o
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			objs.HPAs, obj = append(objs.HPAs, o), o
		case "networking.k8s.io/v1 NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			objs.Policies, obj = append(objs.Policies, o), o
		default:
			return objs, fmt.Errorf("%s %q: a kind the chart is not expected to make", id, head.Metadata.Name)
		}
		if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
			return objs, fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, err)
		}
		key := head.Kind + "/" + head.Metadata.Name
		if seen[key] {
			return objs, fmt.Errorf("%s: made twice", key)
		}
		seen[key] = true
	}
	return objs, helmValidateMeta(objs)
}

// helmOnlyComments reports whether a document holds nothing but comments
// and blank lines (helm prints "# Source:" before each template's output).
func helmOnlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// helmValidateMeta checks names (Services: DNS-1035 labels, the others
// DNS-1123 subdomains) and every label, the objects' and the pods'.
func helmValidateMeta(objs helmObjects) error {
	var errs []string
	name := func(kind, n string, check func(string) []string) {
		if n == "" {
			errs = append(errs, kind+": no name")
		}
		for _, e := range check(n) {
			errs = append(errs, fmt.Sprintf("%s %q: %s", kind, n, e))
		}
	}
	labels := func(what string, l map[string]string) {
		for _, e := range metavalidation.ValidateLabels(l, field.NewPath(what)) {
			errs = append(errs, e.Error())
		}
	}
	for _, o := range objs.Services {
		name("Service", o.Name, validation.IsDNS1035Label)
		labels("Service "+o.Name, o.Labels)
		labels("Service "+o.Name+" selector", o.Spec.Selector)
	}
	for _, o := range objs.Deployments {
		name("Deployment", o.Name, validation.IsDNS1123Subdomain)
		labels("Deployment "+o.Name, o.Labels)
		labels("Deployment "+o.Name+" pod", o.Spec.Template.Labels)
	}
	for _, o := range objs.Secrets {
		name("Secret", o.Name, validation.IsDNS1123Subdomain)
	}
	for _, o := range objs.PDBs {
		name("PodDisruptionBudget", o.Name, validation.IsDNS1123Subdomain)
	}
	for _, o := range objs.HPAs {
		name("HorizontalPodAutoscaler", o.Name, validation.IsDNS1123Subdomain)
	}
	for _, o := range objs.Policies {
		name("NetworkPolicy", o.Name, validation.IsDNS1123Subdomain)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
