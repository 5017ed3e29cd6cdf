// Package app wires the order service from its database: the same wiring
// for the orders command (services mode) and the all-in-one binary.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/contract"

	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/serve"
	"github.com/flashsale/flashsale/internal/tracing"
	"github.com/flashsale/flashsale/orders/expiry"
	"github.com/flashsale/flashsale/orders/httpapi"
	"github.com/flashsale/flashsale/orders/metrics"
	"github.com/flashsale/flashsale/orders/payment"
	"github.com/flashsale/flashsale/orders/paysim"
	"github.com/flashsale/flashsale/orders/sqldb"
	"gorm.io/gorm"
)

// Config addresses the service's peers and sets its timers.
type Config struct {
	// DTMServer is the dtm server's API base, http://host:36789/api/dtmsvr.
	DTMServer string
	// URL is this service's base URL as the dtm server reaches it (the
	// cancellation's back-check lives there).
	URL string
	// FlashsaleInternalURL is flashsale's internal listener as the dtm
	// server reaches it (a cancellation's branch lives there).
	FlashsaleInternalURL string
	// PaymentSimulation configures the simulated payment provider:
	// "<ok|fail|hang>[:<delay>]" (package paysim).
	PaymentSimulation string
	// PaymentTimeout bounds every call to the payment provider.
	PaymentTimeout time.Duration
	// CancelInterval is how often expired orders are looked for; 0 turns
	// the canceller off in this instance (another instance's runs).
	CancelInterval time.Duration
	// RepairEvery is the fallback period of the repair of cancellations
	// dtm's store forgot (ORDERS_REPAIR_EVERY, default 60 s); it also runs
	// at the start and after every change of a dtm store's epoch. 0 turns
	// the repair off in this instance (ORDERS_REPAIR=off).
	RepairEvery time.Duration
	// InternalKey signs the calls this service makes to internal
	// endpoints and checks those that reach its listener.
	InternalKey contract.Key
}

// DefaultConfig is the services mode on loopback.
func DefaultConfig() Config {
	return Config{
		DTMServer: dtmconf.DefaultServer().URL("127.0.0.1"), URL: "http://127.0.0.1:8090",
		FlashsaleInternalURL: "http://127.0.0.1:8082",
		PaymentSimulation:    paysim.ModeOK, PaymentTimeout: 5 * time.Second, CancelInterval: time.Second,
		RepairEvery: time.Minute,
	}
}

// MaxPaymentTimeout keeps a payment, charge and refund included, well
// inside flashsale's deadline for the call (ordersapi).
const MaxPaymentTimeout = 5 * time.Second

// Service is a wired order service.
type Service struct {
	cfg       Config
	handler   http.Handler
	canceller *expiry.Canceller
	payments  *payment.Service
	metrics   *metrics.Metrics
	log       *slog.Logger
}

// New wires the service on db, MySQL or SQLite, schema applied.
func New(cfg Config, db *gorm.DB, log *slog.Logger) (*Service, error) {
	if cfg.PaymentTimeout <= 0 || cfg.PaymentTimeout > MaxPaymentTimeout {
		return nil, fmt.Errorf("payment timeout %s: want more than 0 and at most %s", cfg.PaymentTimeout, MaxPaymentTimeout)
	}
	provider, err := paysim.New(cfg.PaymentSimulation, log.With("provider", "simulated"))
	if err != nil {
		return nil, err
	}
	store := sqldb.New(db)
	s := &Service{cfg: cfg, log: log}
	s.payments = payment.New(store, provider, cfg.PaymentTimeout, time.Now, log)
	s.canceller = expiry.New(expiry.Config{
		DTMServer:            cfg.DTMServer,
		FlashsaleInternalURL: cfg.FlashsaleInternalURL,
		URL:                  cfg.URL,
		Key:                  cfg.InternalKey,
	}, store, time.Now, log)
	s.handler = httpapi.New(httpapi.Deps{Store: store, Payments: s.payments, Cancels: s.canceller, Log: log})
	// Every call but the probes and /metrics is signed (contract.Key.Guard);
	// GET /metrics (createOrder latency, orders created, settlement lag),
	// and a span per request in the caller's trace (dtm forwards it).
	s.metrics = metrics.New()
	s.handler = tracing.HTTP("orders", s.metrics.Wrap(cfg.InternalKey.Guard(s.handler)))
	return s, nil
}

// Handler returns the service's HTTP handler.
func (s *Service) Handler() http.Handler { return s.handler }

// WriteTimeout is the order service listener's: above its slowest handler,
// a payment (a charge and a refund, at most 5 s each, and the database),
// and above the 20 s flashsale waits for it (ordersapi.Timeout), so that
// flashsale, not the listener, is what gives up. dtm's calls (the order
// branch, the cancellation's back-check) give up after 3 s.
const WriteTimeout = 30 * time.Second

// Listener returns the service's listener on addr, named "orders": its
// Handler with the listener's bounds (bodies read within 10 s and bounded
// to 1 MiB, serve's defaults).
func (s *Service) Listener(addr string) serve.Listener {
	return serve.Listener{Name: "orders", Addr: addr, Handler: s.Handler(),
		ReadTimeout: 10 * time.Second, WriteTimeout: WriteTimeout, IdleTimeout: 120 * time.Second}
}

// repair re-submits the cancellations dtm's store forgot
// (expiry.Canceller.Repair).
func (s *Service) repair(ctx context.Context, why string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, err := s.canceller.Repair(ctx, why, func() { s.metrics.Repairs.WithLabelValues(metrics.CancellationResubmitted).Inc() })
	if n > 0 {
		s.log.Warn("repaired what the stores forgot", "why", why, "cancellations", n)
	}
	return err
}

// Run hurries dtm's retries of what failed while the service or its
// database was down, each time it is ready again (dtmclient.HurryWhenReady),
// re-submits the cancellations dtm's store forgot (at the start, after
// every change of a dtm store's epoch and every RepairEvery), and cancels
// expired orders and refunds the charges of cancelled ones every
// CancelInterval (no canceller when it is 0), until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		dtmclient.HurryWhenReady(ctx, s.cfg.DTMServer, s.cfg.URL+"/readyz", s.log)
	}()
	if s.cfg.RepairEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dtmclient.WatchStores(ctx, s.cfg.DTMServer, time.Second, s.cfg.RepairEvery, s.log, s.repair)
		}()
	}
	defer wg.Wait()
	if s.cfg.CancelInterval <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.CancelInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.canceller.CancelExpired(ctx); err != nil {
			s.log.Warn("looking for expired orders", "err", err)
		} else if n > 0 {
			s.log.Info("cancelled expired orders", "orders", n)
		}
		if _, err := s.payments.RefundDue(ctx, 200); err != nil {
			s.log.Warn("looking for refunds due", "err", err)
		}
	}
}
