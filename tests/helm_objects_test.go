package tests

import (
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// checkServices: each Service selects the pods of one Deployment, each of
// its ports leads to a port of that Deployment's container, and every
// container port is behind some Service.
func (c *helmCheck) checkServices() {
	exposed := map[string]bool{} // "deployment:port"
	for _, s := range c.objs.Services {
		d := c.selectsOne("Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if d == nil {
			continue
		}
		for _, p := range s.Spec.Ports {
			cp := helmContainerPort(d, p.TargetPort.String())
			if p.TargetPort.String() == "0" {
				cp = helmContainerPort(d, strconv.Itoa(int(p.Port)))
			}
			if cp == 0 {
				c.errorf("Service %s: port %d leads to %q, no port of %s's container", s.Name, p.Port, p.TargetPort.String(), d.Name)
				continue
			}
			exposed[d.Name+":"+strconv.Itoa(int(cp))] = true
		}
	}
	for _, d := range c.objs.Deployments {
		for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
			if !exposed[d.Name+":"+strconv.Itoa(int(p.ContainerPort))] {
				c.errorf("Deployment %s: no Service leads to its port %d (%s)", d.Name, p.ContainerPort, p.Name)
			}
		}
	}
}

// secretKeys are the keys of the chart's Secret, and the values that
// add the optional ones.
func (c *helmCheck) secretKeys() []string {
	keys := []string{"admin-token", "internal-key", "jwt-secret", "mysql-dsn"}
	if c.v.DTM.StorePasswordFromSecret {
		keys = append(keys, "dtm-store-password")
	}
	if c.v.Redis.PasswordFromSecret {
		keys = append(keys, "redis-password")
	}
	return keys
}

// checkSecret: the chart makes its Secret with exactly the keys the
// containers read, or none when secrets.existingSecret names one.
func (c *helmCheck) checkSecret() {
	if c.v.Secrets.ExistingSecret != "" {
		if len(c.objs.Secrets) != 0 {
			c.errorf("%d Secrets made beside secrets.existingSecret; want none", len(c.objs.Secrets))
		}
		return
	}
	if len(c.objs.Secrets) != 1 || c.objs.Secrets[0].Name != helmRelease+"-secrets" {
		c.errorf("Secrets %d; want one, %s-secrets", len(c.objs.Secrets), helmRelease)
		return
	}
	s := c.objs.Secrets[0]
	got := composeKeys(s.Data)
	want := c.secretKeys()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		c.errorf("Secret %s: keys %v; want %v", s.Name, got, want)
	}
	if len(s.StringData) != 0 {
		c.errorf("Secret %s: stringData %v; want data only", s.Name, composeKeys(s.StringData))
	}
}

// checkPDBs: a PodDisruptionBudget per Deployment that runs more than one
// pod (the flashsale autoscaler's minimum counts), each selecting that
// Deployment's pods and leaving at least one pod to evict.
func (c *helmCheck) checkPDBs() {
	want := map[string]int32{}
	if c.v.Flashsale.Replicas > 1 {
		want[helmRelease+"-flashsale"] = int32(c.v.Flashsale.Replicas)
	}
	if c.v.Orders.Replicas > 1 {
		want[helmRelease+"-orders"] = int32(c.v.Orders.Replicas)
	}
	for _, g := range c.v.DTM.Groups {
		if g.Replicas > 1 {
			want[helmRelease+"-dtm-"+g.Name] = int32(g.Replicas)
		}
	}
	got := map[string]bool{}
	for _, p := range c.objs.PDBs {
		d := c.selectsOne("PodDisruptionBudget "+p.Name, p.Spec.Selector)
		if d == nil {
			continue
		}
		got[d.Name] = true
		replicas, ok := want[d.Name]
		switch {
		case !ok:
			c.errorf("PodDisruptionBudget %s: for %s, which runs one pod (a drain could never evict it)", p.Name, d.Name)
		case p.Spec.MinAvailable == nil || p.Spec.MaxUnavailable != nil:
			c.errorf("PodDisruptionBudget %s: want minAvailable alone", p.Name)
		case p.Spec.MinAvailable.IntValue() < 1 || int32(p.Spec.MinAvailable.IntValue()) >= replicas:
			c.errorf("PodDisruptionBudget %s: minAvailable %s of %d pods; want at least 1 and fewer than all", p.Name, p.Spec.MinAvailable.String(), replicas)
		}
	}
	for name := range want {
		if !got[name] {
			c.errorf("Deployment %s runs more than one pod and no PodDisruptionBudget selects them", name)
		}
	}
}

// checkHPA: with flashsale.autoscaling.enabled, one autoscaler of the
// flashsale Deployment, from flashsale.replicas up; else none.
func (c *helmCheck) checkHPA() {
	a := c.v.Flashsale.Autoscaling
	if !a.Enabled {
		if len(c.objs.HPAs) != 0 {
			c.errorf("%d HorizontalPodAutoscalers with autoscaling off; want none", len(c.objs.HPAs))
		}
		return
	}
	if len(c.objs.HPAs) != 1 {
		c.errorf("%d HorizontalPodAutoscalers; want one, of flashsale", len(c.objs.HPAs))
		return
	}
	h := c.objs.HPAs[0]
	ref := h.Spec.ScaleTargetRef
	var target string
	for _, d := range c.objs.Deployments {
		if ref.APIVersion == "apps/v1" && ref.Kind == "Deployment" && ref.Name == d.Name {
			target = helmBinary(d)
		}
	}
	if target != "flashsale" {
		c.errorf("HorizontalPodAutoscaler %s: scales %s %s %q; want the flashsale Deployment", h.Name, ref.APIVersion, ref.Kind, ref.Name)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != int32(c.v.Flashsale.Replicas) || h.Spec.MaxReplicas < *h.Spec.MinReplicas || h.Spec.MaxReplicas != max(a.MaxReplicas, int32(c.v.Flashsale.Replicas)) {
		c.errorf("HorizontalPodAutoscaler %s: %v to %d replicas; want flashsale.replicas (%d) to autoscaling.maxReplicas (%d)", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas, c.v.Flashsale.Replicas, a.MaxReplicas)
	}
	if len(h.Spec.Metrics) == 0 {
		c.errorf("HorizontalPodAutoscaler %s: no metrics", h.Name)
	}
}
