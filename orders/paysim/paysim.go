// Package paysim is a simulated payment provider (orders.PaymentProvider)
// for development and tests: it keeps its ledger in memory, keyed by order
// id (the idempotency key), and can be told to succeed, fail or hang, after
// a delay. Every charge and refund it makes is logged ("payment charged",
// "payment refunded", with the order id and amount) as a real provider's
// ledger would show it; tests read those lines.
package paysim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flashsale/flashsale/orders"
)

// Modes of the simulated provider.
const (
	// ModeOK charges and refunds.
	ModeOK = "ok"
	// ModeFail declines every call.
	ModeFail = "fail"
	// ModeHang never answers: calls return when their context ends.
	ModeHang = "hang"
)

// ErrDeclined is the answer of a provider told to fail.
var ErrDeclined = errors.New("simulated payment provider: declined")

// Provider is the simulated provider.
type Provider struct {
	log *slog.Logger

	mu      sync.Mutex // mu guards mode, delay and ledger
	mode    string
	delay   time.Duration
	ledger  map[int64]*entry
	charges int
}

// entry is one order's account at the provider.
type entry struct {
	amount   int64
	refunded bool
}

var _ orders.PaymentProvider = (*Provider)(nil)

// New returns a provider configured by spec, "<mode>[:<delay>]", such as
// "ok", "fail", "hang" or "ok:300ms" ("" is "ok").
func New(spec string, log *slog.Logger) (*Provider, error) {
	p := &Provider{log: log, ledger: map[int64]*entry{}}
	return p, p.Set(spec)
}

// Set changes the provider's mode and delay (spec as for New).
func (p *Provider) Set(spec string) error {
	mode, d, _ := strings.Cut(spec, ":")
	if mode == "" {
		mode = ModeOK
	}
	if mode != ModeOK && mode != ModeFail && mode != ModeHang {
		return fmt.Errorf("payment simulation %q: want ok, fail or hang, with an optional :<delay>", spec)
	}
	var delay time.Duration
	if d != "" {
		var err error
		if delay, err = time.ParseDuration(d); err != nil || delay < 0 {
			return fmt.Errorf("payment simulation %q: bad delay", spec)
		}
	}
	p.mu.Lock()
	p.mode, p.delay = mode, delay
	p.mu.Unlock()
	return nil
}

// Charge takes amount for orderID, once per order.
func (p *Provider) Charge(ctx context.Context, orderID, amount int64) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.ledger[orderID]; ok {
		if e.refunded {
			return fmt.Errorf("simulated payment provider: order %d was refunded; its key cannot be charged again", orderID)
		}
		p.log.Info("payment charge repeated", "order", orderID, "amount", e.amount)
		return nil
	}
	p.ledger[orderID] = &entry{amount: amount}
	p.charges++
	p.log.Info("payment charged", "order", orderID, "amount", amount)
	return nil
}

// Refund returns orderID's charge, if any.
func (p *Provider) Refund(ctx context.Context, orderID int64) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.ledger[orderID]
	if !ok {
		// Nothing charged; the key is spent so that a charge still in
		// flight cannot land after its refund.
		p.ledger[orderID] = &entry{refunded: true}
		return nil
	}
	if !e.refunded {
		e.refunded = true
		p.log.Info("payment refunded", "order", orderID, "amount", e.amount)
	}
	return nil
}

// Holds returns what the provider holds for orderID: the amount charged
// and not refunded (0 for none).
func (p *Provider) Holds(orderID int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.ledger[orderID]; ok && !e.refunded {
		return e.amount
	}
	return 0
}

// Charges counts the charges made (a repeated charge of one order counts
// once).
func (p *Provider) Charges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.charges
}

// wait applies the mode and the delay before a call takes effect.
func (p *Provider) wait(ctx context.Context) error {
	p.mu.Lock()
	mode, delay := p.mode, p.delay
	p.mu.Unlock()
	if mode == ModeHang {
		<-ctx.Done()
		return fmt.Errorf("simulated payment provider: no answer: %w", ctx.Err())
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("simulated payment provider: no answer: %w", ctx.Err())
		case <-t.C:
		}
	}
	if mode == ModeFail {
		return ErrDeclined
	}
	return nil
}
