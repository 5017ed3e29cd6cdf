// Package changes tells every flashsale instance at once of a change one of
// them made: an activity created, cancelled or its units changed, the
// blacklist changed. It publishes on a Redis pub/sub channel (on a cluster,
// a publish reaches every node's subscribers); each instance drops the
// copies it keeps in memory as it hears. A message is lost when no
// connection carries it (a Redis restart, a subscriber reconnecting), so
// the instances keep polling as before: pub/sub makes a change heard
// within milliseconds, the polls within their interval whatever happens.
package changes

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Channel is the channel of the changes.
const Channel = "{fs:changes}"

// Blacklist is the message of a change of the blacklist.
const Blacklist = "blacklist"

// Activity returns the message of a change of activity id.
func Activity(id int64) string { return "activity:" + strconv.FormatInt(id, 10) }

// ParseActivity reads an activity's id back from its message.
func ParseActivity(msg string) (int64, bool) {
	s, ok := strings.CutPrefix(msg, "activity:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// Publish tells every instance of msg. An error is only logged by the
// callers: the polls carry the change anyway.
func Publish(ctx context.Context, rdb redis.UniversalClient, msg string) error {
	return rdb.Publish(ctx, Channel, msg).Err()
}

// Listen passes every message published to handle until ctx ends. The
// subscription reconnects and subscribes again by itself after a
// connection is lost (go-redis's PubSub); what was published meanwhile is
// lost, and the polls carry it.
func Listen(ctx context.Context, rdb redis.UniversalClient, handle func(msg string)) {
	ps := rdb.Subscribe(ctx, Channel)
	go func() {
		<-ctx.Done()
		ps.Close()
	}()
	for m := range ps.Channel() {
		handle(m.Payload)
	}
}
