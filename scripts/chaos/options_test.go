package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	env := func(string) string { return "" }
	t.Run("CIProfile", func(t *testing.T) {
		o, err := parseOptions([]string{"-seed", "3"}, env)
		if err != nil || o.profile != "ci" || o.seed != 3 || o.storm != 40*time.Second || len(o.faults) != len(faultKinds)-len(clusterOnly) || o.unpaid != 2 {
			t.Fatalf("%+v, %v", o, err)
		}
	})
	t.Run("Soak", func(t *testing.T) {
		o, err := parseOptions([]string{"-soak", "30m", "-units", "7"}, env)
		if err != nil || o.profile != "soak" || o.storm != 30*time.Minute || o.round != 30*time.Second || o.units != 7 || o.seed == 0 {
			t.Fatalf("%+v, %v", o, err)
		}
	})
	t.Run("SomeFaults", func(t *testing.T) {
		o, err := parseOptions([]string{"-faults", "kill-redis,latency-dtm-orders"}, env)
		if err != nil || strings.Join(o.faults, ",") != "kill-redis,latency-dtm-orders" {
			t.Fatalf("%+v, %v", o, err)
		}
		if o, err = parseOptions([]string{"-faults", "none"}, env); err != nil || len(o.faults) != 0 {
			t.Fatalf("none: %+v, %v", o, err)
		}
		o, err = parseOptions([]string{"-cluster"}, env)
		if err != nil || o.profile != "ci cluster" || len(o.faults) != len(faultKinds)-len(singleOnly) {
			t.Fatalf("-cluster: %+v, %v", o, err)
		}
		for _, k := range o.faults {
			if singleOnly[k] {
				t.Fatalf("-cluster runs %s", k)
			}
		}
	})
	for _, args := range [][]string{
		{"-faults", "kill-everything"},
		{"-storm", "5s", "-round", "10s"},
		{"-gap-min", "3s", "-gap-max", "1s"},
		{"-units", "0"},
		{"-unpaid", "-1"},
		{"-faults", "kill-redis-master"},
		{"-cluster", "-faults", "kill-redis"},
		{"-faults", "lose-dtm-master"},
		{"-cluster", "-faults", "lose-dtm-store"},
	} {
		if _, err := parseOptions(args, env); err == nil {
			t.Errorf("parseOptions(%q) accepted", args)
		}
	}
}

func TestHexPort(t *testing.T) {
	for addr, want := range map[string]int{"0100007F:0CEA": 3306, "00000000000000000000000001000000:1F90": 8080} {
		if got := hexPort(addr); got != want {
			t.Errorf("hexPort(%q) = %d, want %d", addr, got, want)
		}
	}
}
