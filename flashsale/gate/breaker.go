package gate

import (
	"errors"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/sony/gobreaker/v2"
)

// Breaker fails buys fast while Redis or the dtm server is down: after five
// buys in a row end "unavailable" it opens, and for the next two seconds
// every buy gets 503 at once instead of waiting on a dead server; then one
// buy at a time probes whether the servers are back.
type Breaker struct {
	cb *gobreaker.CircuitBreaker[struct{}]
}

// NewBreaker returns a closed Breaker.
func NewBreaker() *Breaker {
	return &Breaker{cb: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "buy",
		MaxRequests: 1,
		Timeout:     2 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		// Only an unreachable server counts; sold out, duplicates and
		// the like are answers.
		IsSuccessful: func(err error) bool { return contract.ErrorCode(err) != contract.EUnavailable },
	})}
}

// Do runs f unless the breaker is open.
func (b *Breaker) Do(f func() error) error {
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, f() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return contract.Errorf(contract.EUnavailable, "the sale is unavailable, try again in a few seconds")
	}
	return err
}
