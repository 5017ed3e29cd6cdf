package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flashsale/flashsale/internal/proc"
	"gopkg.in/yaml.v3"
)

// composeFile is the docker-compose file the bench takes its Redis
// settings from, relative to the repository root.
const composeFile = "docker-compose.yml"

// composeRedisArgs returns the arguments docker-compose gives a Redis
// server (the command of its service, redis or dtm-redis, without the
// program's name), so that the bench's Redis persists as the users' does.
func composeRedisArgs(service string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(proc.ModuleRoot(), composeFile))
	if err != nil {
		return nil, fmt.Errorf("the Redis settings of the services mode: %w", err)
	}
	var c struct {
		Services map[string]struct {
			Command yaml.Node `yaml:"command"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", composeFile, err)
	}
	svc, ok := c.Services[service]
	if !ok {
		return nil, fmt.Errorf("%s has no %s service", composeFile, service)
	}
	var words []string
	switch svc.Command.Kind {
	case yaml.SequenceNode:
		err = svc.Command.Decode(&words)
	case yaml.ScalarNode:
		words = strings.Fields(svc.Command.Value)
	}
	if err != nil || len(words) == 0 || words[0] != "redis-server" {
		return nil, fmt.Errorf("%s: the %s service's command is not redis-server with arguments (%v)", composeFile, service, words)
	}
	return words[1:], nil
}
