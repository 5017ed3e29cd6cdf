package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
	networkingv1 "k8s.io/api/networking/v1"
)

// helmValues are the chart's values the render test reads: what a render
// must show follows from them.
type helmValues struct {
	Image struct {
		Repository string `yaml:"repository"`
		Tag        string `yaml:"tag"`
	} `yaml:"image"`
	Redis struct {
		Nodes              []string `yaml:"nodes"`
		PasswordFromSecret bool     `yaml:"passwordFromSecret"`
	} `yaml:"redis"`
	Secrets struct {
		ExistingSecret string `yaml:"existingSecret"`
	} `yaml:"secrets"`
	Flashsale struct {
		Replicas       int            `yaml:"replicas"`
		TrustedProxies []string       `yaml:"trustedProxies"`
		ExtraEnv       []helmEnvValue `yaml:"extraEnv"`
		Autoscaling    struct {
			Enabled     bool  `yaml:"enabled"`
			MaxReplicas int32 `yaml:"maxReplicas"`
		} `yaml:"autoscaling"`
	} `yaml:"flashsale"`
	Orders struct {
		Replicas int            `yaml:"replicas"`
		ExtraEnv []helmEnvValue `yaml:"extraEnv"`
	} `yaml:"orders"`
	DTM struct {
		Groups                  []helmGroupValue `yaml:"groups"`
		StoreRedis              string           `yaml:"storeRedis"`
		StorePasswordFromSecret bool             `yaml:"storePasswordFromSecret"`
	} `yaml:"dtm"`
	NetworkPolicy struct {
		Enabled     bool             `yaml:"enabled"`
		ShopperFrom []map[string]any `yaml:"shopperFrom"`
		AdminFrom   []map[string]any `yaml:"adminFrom"`
		MetricsFrom []map[string]any `yaml:"metricsFrom"`
	} `yaml:"networkPolicy"`
}

// helmEnvValue is one entry of an extraEnv list.
type helmEnvValue struct {
	Name string `yaml:"name"`
}

// helmGroupValue is one dtm group of dtm.groups.
type helmGroupValue struct {
	Name        string `yaml:"name"`
	StoreRedis  string `yaml:"storeRedis"`
	StorePrefix string `yaml:"storePrefix"`
	Replicas    int    `yaml:"replicas"`
}

// helmLoadValues reads the chart's values.yaml, then each override in
// turn, the way helm merges them for these fields (maps merged, lists
// replaced).
func helmLoadValues(overrides ...string) (helmValues, error) {
	var v helmValues
	b, err := os.ReadFile(filepath.Join(helmChartDir, "values.yaml"))
	if err != nil {
		return v, err
	}
	for _, doc := range append([]string{string(b)}, overrides...) {
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			return v, err
		}
	}
	return v, nil
}

// helmPeers returns a values list of NetworkPolicyPeers in the form
// helmPeerKey gives the rendered ones.
func helmPeers(l []map[string]any) ([]string, error) {
	var keys []string
	for _, m := range l {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		var p networkingv1.NetworkPolicyPeer
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, err
		}
		keys = append(keys, helmPeerKey(p))
	}
	return keys, nil
}

// helmPeerKey names a peer that is not the chart's own pods by its JSON.
func helmPeerKey(p networkingv1.NetworkPolicyPeer) string {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Sprintf("peer:%v", err)
	}
	return "peer:" + string(b)
}
