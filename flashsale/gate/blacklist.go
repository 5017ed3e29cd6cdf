package gate

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/flashsale/flashsale/flashsale/changes"
	"github.com/redis/go-redis/v9"
)

// Redis keys of the blacklist, shared by every instance. They carry one
// hash tag so that the version and the sets change in one atomic call.
const (
	blUsers   = "{fs:blacklist}:users"
	blIPs     = "{fs:blacklist}:ips"
	blVersion = "{fs:blacklist}:version"
)

// Blacklist holds the blocked users and IPs in memory for the buy path and
// keeps them in Redis for every instance. An IP entry is an address or a
// range in CIDR notation ("10.1.0.0/16", "2001:db8::/32"). Redis holds the
// entries as added; the copy in memory holds each address's AddrKey, so an
// IPv6 entry blocks its /64, and the ranges apart. Each instance reloads its copy
// when the version in Redis changes, checked every interval (so a change is
// effective everywhere within that interval).
type Blacklist struct {
	rdb redis.UniversalClient

	mu      sync.RWMutex // mu guards users, ips, ranges and version
	users   map[string]bool
	ips     map[string]bool
	ranges  []netip.Prefix
	version int64
}

// NewBlacklist returns an empty Blacklist backed by rdb.
func NewBlacklist(rdb redis.UniversalClient) *Blacklist {
	return &Blacklist{rdb: rdb, users: map[string]bool{}, ips: map[string]bool{}, version: -1}
}

// Blocked reports whether the user or the IP is blacklisted. IPs are
// compared by AddrKey (an entry for an IPv6 address blocks its whole /64),
// then against the ranges.
func (b *Blacklist) Blocked(user, ip string) bool {
	key := AddrKey(ip)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.users[user] || b.ips[key] {
		return true
	}
	if len(b.ranges) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range b.ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseEntry reads an IP entry of the blacklist, an address or a CIDR
// range, and returns it in the one form Redis keeps: an address as
// net.IP writes it, a range masked to its prefix ("10.1.0.0/16").
func ParseEntry(s string) (string, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", false
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return "", false
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked().String(), true
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return "", false
	}
	return ip.String(), true
}

// Entries is the blacklist's content.
type Entries struct {
	Users []string `json:"users"`
	IPs   []string `json:"ips"`
}

// changeScript adds (SADD) or removes (SREM) members and bumps the version.
// KEYS: users, ips, version; ARGV[1] the op, ARGV[2] how many users follow,
// then the users, then the IPs.
var changeScript = redis.NewScript(`
local nusers = tonumber(ARGV[2])
for i = 3, #ARGV do
  local key = KEYS[2]
  if i - 2 <= nusers then key = KEYS[1] end
  redis.call(ARGV[1], key, ARGV[i])
end
return redis.call('INCR', KEYS[3])
`)

// Add blacklists e's users and IPs on every instance.
func (b *Blacklist) Add(ctx context.Context, e Entries) error { return b.change(ctx, "SADD", e) }

// Remove takes e's users and IPs off the blacklist.
func (b *Blacklist) Remove(ctx context.Context, e Entries) error { return b.change(ctx, "SREM", e) }

func (b *Blacklist) change(ctx context.Context, op string, e Entries) error {
	args := []any{op, len(e.Users)}
	for _, u := range e.Users {
		args = append(args, u)
	}
	for _, ip := range e.IPs {
		args = append(args, ip)
	}
	if err := changeScript.Run(ctx, b.rdb, []string{blUsers, blIPs, blVersion}, args...).Err(); err != nil {
		return err
	}
	// Every instance hears it at once; the poll carries it if not.
	changes.Publish(ctx, b.rdb, changes.Blacklist)
	return b.Refresh(ctx)
}

// List returns the blacklist as Redis holds it.
func (b *Blacklist) List(ctx context.Context) (Entries, error) {
	users, err := b.rdb.SMembers(ctx, blUsers).Result()
	if err != nil {
		return Entries{}, err
	}
	ips, err := b.rdb.SMembers(ctx, blIPs).Result()
	return Entries{Users: users, IPs: ips}, err
}

// Refresh reloads the in-memory copy when Redis holds a newer version.
func (b *Blacklist) Refresh(ctx context.Context) error {
	v, err := b.rdb.Get(ctx, blVersion).Int64()
	if err != nil && err != redis.Nil {
		return err
	}
	b.mu.RLock()
	same := v == b.version
	b.mu.RUnlock()
	if same {
		return nil
	}
	e, err := b.List(ctx)
	if err != nil {
		return err
	}
	users, ips := map[string]bool{}, map[string]bool{}
	var ranges []netip.Prefix
	for _, u := range e.Users {
		users[u] = true
	}
	for _, ip := range e.IPs {
		if p, err := netip.ParsePrefix(ip); err == nil {
			ranges = append(ranges, p)
			continue
		}
		ips[AddrKey(ip)] = true // as listed (added), in force for its /64
	}
	b.mu.Lock()
	b.users, b.ips, b.ranges, b.version = users, ips, ranges, v
	b.mu.Unlock()
	return nil
}

// Poll refreshes every interval until ctx ends. On a Redis error the last
// copy stays in force.
func (b *Blacklist) Poll(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := b.Refresh(ctx); err != nil {
				log.Warn("blacklist refresh", "err", err)
			}
		}
	}
}
