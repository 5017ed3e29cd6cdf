package dtmclient

import (
	"hash/fnv"
	"strings"
)

// Groups are the dtm servers of a deployment, each the API base of one
// dtm group (http://host:36789/api/dtmsvr): one or more dtm processes
// sharing a store of their own (its own Redis key prefix, so its own
// cluster slot and master). A message's gid picks its group by a stable
// hash, so every call about a message goes to the group that holds it:
// its Prepare and Submit, dtm's back-checks and branches (from that
// group), and the readers' lookups (reconcile, the sale view).
//
// The list is written once, in the same order, in every service's
// DTM_SERVER (comma-separated). Adding a group moves gids to other groups:
// do it between sales; readers that list messages (reconcile, the
// re-derivation) ask every group.
type Groups []string

// ParseGroups reads a comma-separated list of dtm API bases.
func ParseGroups(list string) Groups {
	var g Groups
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			g = append(g, strings.TrimSuffix(s, "/"))
		}
	}
	return g
}

// For returns the API base of gid's group ("" when there is none).
func (g Groups) For(gid string) string {
	switch len(g) {
	case 0:
		return ""
	case 1:
		return g[0]
	}
	h := fnv.New32a()
	h.Write([]byte("dtm-group:" + gid))
	return g[h.Sum32()%uint32(len(g))]
}

// String lists the groups as ParseGroups reads them.
func (g Groups) String() string { return strings.Join(g, ",") }

// Admin returns the base URL of gid's group's dashboard and admin API
// (For without "/api/dtmsvr").
func (g Groups) Admin(gid string) string { return strings.TrimSuffix(g.For(gid), "/api/dtmsvr") }
