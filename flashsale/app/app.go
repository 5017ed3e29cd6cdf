// Package app wires the flashsale service from its stores: the same wiring
// for the flashsale command (services mode) and the all-in-one binary.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/adjust"
	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/flashsale/changes"
	"github.com/flashsale/flashsale/flashsale/gate"
	"github.com/flashsale/flashsale/flashsale/httpapi"
	"github.com/flashsale/flashsale/flashsale/memcache"
	"github.com/flashsale/flashsale/flashsale/metrics"
	"github.com/flashsale/flashsale/flashsale/mysqldb"
	"github.com/flashsale/flashsale/flashsale/ordersapi"
	"github.com/flashsale/flashsale/flashsale/purchase"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/flashsale/repair"
	"github.com/flashsale/flashsale/flashsale/restock"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/dtmclient"
	"github.com/flashsale/flashsale/internal/serve"
	"github.com/flashsale/flashsale/reconcile"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// Config addresses the service's peers and holds its secrets.
type Config struct {
	// DTMServer is the dtm server's API base, http://host:36789/api/dtmsvr.
	DTMServer string
	// OrdersURL is the order service's base URL as the dtm server reaches it.
	OrdersURL string
	// InternalURL is this service's internal listener as the dtm server
	// reaches it (the back-check lives there).
	InternalURL string
	JWTSecret   string
	AdminToken  string
	// InternalKey signs the calls this service makes to internal
	// endpoints and checks those that reach its internal listener.
	InternalKey contract.Key
	// StartKey signs the per-user start secrets.
	StartKey string
	// TrustedProxies lists the proxies whose X-Forwarded-For is read
	// (IPs or CIDRs, comma-separated).
	TrustedProxies string
	// Limits are the buys per second allowed per user and per IP.
	Limits gate.Limits
	// AdmissionFactor bounds an activity's buys in flight per instance to
	// this multiple of its remaining units (at least AdmissionFloor).
	AdmissionFactor, AdmissionFloor int64
	// PollOnly turns off hearing changes by Redis pub/sub (package
	// changes): the polls alone carry them (FLASHSALE_PUBSUB=off).
	PollOnly bool
	// RepairEvery is the repair's fallback period (FLASHSALE_REPAIR_EVERY,
	// default 60 s): besides after every change of a dtm store's epoch,
	// the repair of what the stores forgot runs this often (package
	// repair). RepairWindow: activities over for longer are not checked
	// (FLASHSALE_REPAIR_WINDOW, default 24 h).
	RepairEvery, RepairWindow time.Duration
	// RepairOff turns the repair off in this instance (FLASHSALE_REPAIR=off;
	// for the tests that show what it repairs).
	RepairOff bool
}

// LoadGates fills the gates' settings from the environment, with defaults:
// FLASHSALE_START_KEY (default: derived from the JWT secret),
// FLASHSALE_TRUSTED_PROXIES (none), FLASHSALE_RATE_PER_USER (5 buys/s),
// FLASHSALE_RATE_PER_IP (100 buys/s; 0 turns a limit off),
// FLASHSALE_ADMISSION_FACTOR (4: buys in flight per instance <= 4 x the
// remaining units, at least 64; 0 turns the bound off), FLASHSALE_PUBSUB
// (on: changes heard at once; off: by the polls alone).
func (c *Config) LoadGates(getenv func(string) string) error {
	switch v := getenv("FLASHSALE_PUBSUB"); v {
	case "", "on":
	case "off":
		c.PollOnly = true
	default:
		return fmt.Errorf("FLASHSALE_PUBSUB=%q: want on or off", v)
	}
	c.StartKey = getenv("FLASHSALE_START_KEY")
	if c.StartKey == "" {
		m := hmac.New(sha256.New, []byte(c.JWTSecret))
		m.Write([]byte("flashsale start secrets"))
		c.StartKey = hex.EncodeToString(m.Sum(nil))
	}
	switch v := getenv("FLASHSALE_REPAIR"); v {
	case "", "on":
	case "off":
		c.RepairOff = true
	default:
		return fmt.Errorf("FLASHSALE_REPAIR=%q: want on or off", v)
	}
	c.RepairEvery, c.RepairWindow = time.Minute, 24*time.Hour
	for key, p := range map[string]*time.Duration{"FLASHSALE_REPAIR_EVERY": &c.RepairEvery, "FLASHSALE_REPAIR_WINDOW": &c.RepairWindow} {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s=%q: want a positive duration such as 60s", key, v)
			}
			*p = d
		}
	}
	c.TrustedProxies = getenv("FLASHSALE_TRUSTED_PROXIES")
	c.Limits = gate.Limits{PerUser: 5, PerIP: 100}
	factor := 4
	for key, p := range map[string]*int{"FLASHSALE_RATE_PER_USER": &c.Limits.PerUser, "FLASHSALE_RATE_PER_IP": &c.Limits.PerIP, "FLASHSALE_ADMISSION_FACTOR": &factor} {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("%s=%q: want a non-negative count, 0 for no limit", key, v)
			}
			*p = n
		}
	}
	c.AdmissionFactor, c.AdmissionFloor = int64(factor), 64
	return nil
}

// Service is a wired flashsale service.
type Service struct {
	cfg     Config
	deps    httpapi.Deps
	catalog *mysqldb.Catalog
	cached  *memcache.Catalog
	rdb     redis.UniversalClient
	recon   reconcile.Sources
	repair  *repair.Repairer
}

// repairFullEvery: the fallback repair reads dtm's whole listing at most
// this often; in between it skips the purchases whose traces are complete
// (repair.Repairer.Run).
const repairFullEvery = time.Hour

// New wires the service on db (MySQL or SQLite, schema applied) and rdb.
func New(cfg Config, db *gorm.DB, rdb redis.UniversalClient, log *slog.Logger) (*Service, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	ips, err := gate.NewClientIP(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	m := metrics.New()
	for _, kind := range repair.Kinds {
		m.Repairs.WithLabelValues(kind) // at 0, so that the first repair counts as an increase
	}
	rdb.AddHook(m.RedisHook())
	catalog := mysqldb.NewCatalog(db)
	cached := memcache.NewCatalog(rediscache.NewActivityCache(catalog, rdb, log), 2*time.Second, time.Now)
	stock := rediscache.NewStock(rdb, rediscache.DefaultBarrierTTL, func(ctx context.Context, id int64) (int, error) {
		a, err := cached.Activity(ctx, id)
		return a.Layout().N, err
	})
	ordersClient := ordersapi.New(cfg.OrdersURL, cfg.InternalKey)
	purchases := purchase.New(purchase.Config{
		DTMServer:   cfg.DTMServer,
		OrdersURL:   cfg.OrdersURL,
		InternalURL: cfg.InternalURL,
		Key:         cfg.InternalKey,
		Observer:    m,
		Orders:      ordersClient,
	}, stock, log)
	adjustments := adjust.New(adjust.Config{
		DTMServer: cfg.DTMServer, InternalURL: cfg.InternalURL, Key: cfg.InternalKey, MaxTotal: httpapi.MaxTotal,
	}, catalog, stock, log)
	s := &Service{
		repair: &repair.Repairer{
			Catalog: catalog, Stock: stock, Orders: catalog, Purchases: purchases, Adjustments: adjustments,
			DTM: dtmclient.ParseGroups(cfg.DTMServer), HTTP: &http.Client{Timeout: 30 * time.Second},
			Window: cfg.RepairWindow, FullEvery: repairFullEvery, Repaired: m.Repaired, Log: log,
			Unsettled: func(oldest map[string]time.Time) {
				m.Health.SetDTMOldest(dtmclient.ParseGroups(cfg.DTMServer), oldest, time.Now())
			},
		},
		cfg:     cfg,
		catalog: catalog,
		cached:  cached,
		rdb:     rdb,
		recon:   reconcile.Sources{Redis: rdb, DB: sqlDB, DTM: cfg.DTMServer, HTTP: &http.Client{Timeout: 30 * time.Second}},
	}
	s.deps = httpapi.Deps{
		Catalog:    cached,
		Orders:     catalog,
		Stock:      stock,
		Purchases:  purchases,
		Payments:   ordersClient,
		Returns:    stock,
		Adjust:     adjustments,
		Tokens:     auth.NewVerifier(cfg.JWTSecret, time.Now),
		AdminToken: cfg.AdminToken,
		Gates: &gate.Set{
			Secrets:    gate.NewSecrets(cfg.StartKey),
			Challenges: gate.NewChallenges(cfg.StartKey, rdb),
			FairStart:  gate.NewFairStart(),
			SoldOut:    gate.NewSoldOut(),
			Blacklist:  gate.NewBlacklist(rdb),
			Limiter:    gate.NewRateLimiter(cfg.Limits),
			Admission:  gate.NewAdmission(cfg.AdmissionFactor, cfg.AdmissionFloor),
			ClientIP:   ips,
			Breaker:    gate.NewBreaker(),
		},
		Metrics:   m,
		Reconcile: s.Reconcile,
		Repairs:   s.repair,
		DTM:       dtmclient.ParseGroups(cfg.DTMServer),
		Now:       time.Now,
		Log:       log,
	}
	return s, nil
}

// Background runs the service's pollers until ctx ends: the sold-out flags,
// admission bounds and stock gauge every 50 ms, the blacklist every 500 ms, the Redis
// run ids every second (WatchStock: stale stock re-derived), the dtm
// stores' epochs every second (the repair, Repair), what the alerting
// rules read every 15 s (WatchHealth); and it
// hurries dtm's retries of what failed while the service or its stores
// were down, each time they are ready again (dtmclient.HurryWhenReady). It loads
// the blacklist once before returning, so buys never run without it.
func (s *Service) Background(ctx context.Context) error {
	g := s.deps.Gates
	if err := g.Blacklist.Refresh(ctx); err != nil {
		return fmt.Errorf("blacklist: %w", err)
	}
	observe := func(activityID, units int64) {
		g.Admission.SetRemaining(activityID, units)
		s.deps.Metrics.ObserveStock(activityID, units)
	}
	go g.SoldOut.Poll(ctx, s.deps.Stock, 50*time.Millisecond, observe, s.deps.Log)
	go g.Blacklist.Poll(ctx, 500*time.Millisecond, s.deps.Log)
	go s.WatchStock(ctx, time.Second)
	go s.WatchHealth(ctx)
	if !s.cfg.PollOnly {
		go changes.Listen(ctx, s.rdb, func(msg string) { s.heard(ctx, msg) })
	}
	go dtmclient.HurryWhenReady(ctx, s.cfg.DTMServer, s.cfg.InternalURL+"/readyz", s.deps.Log)
	if !s.cfg.RepairOff {
		go dtmclient.WatchStores(ctx, s.cfg.DTMServer, time.Second, s.cfg.RepairEvery, s.deps.Log, s.Repair)
	}
	return nil
}

// Repair runs the repair of what the stores forgot once (package repair):
// Background runs it at the start, after every change of a dtm store's
// epoch and every RepairEvery.
func (s *Service) Repair(ctx context.Context, why string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := s.repair.Run(ctx, why)
	return err
}

// heard applies a change another instance (or this one) published: the
// activity's copy in memory is dropped, the blacklist reloaded.
func (s *Service) heard(ctx context.Context, msg string) {
	if id, ok := changes.ParseActivity(msg); ok {
		s.cached.Evict(id)
		return
	}
	if msg == changes.Blacklist {
		if err := s.deps.Gates.Blacklist.Refresh(ctx); err != nil {
			s.deps.Log.Warn("blacklist refresh on a change", "err", err)
		}
	}
}

// Listeners returns the shopper, admin and internal listeners on addrs.
//
// Each one's WriteTimeout is above its slowest handler, since past it the
// answer is lost: the shopper's is a payment, which waits up to 20 s for
// the order service (ordersapi.Timeout), a buy up to two dtm calls of 3 s;
// the admin's, a reconciliation or a stock adjustment (two dtm calls and up
// to 3 s for its branch), gets a minute; the internal listener's callers
// are dtm's, which give up after 3 s (dtmclient.RequestTimeout). Bodies are
// read within 10 s and bounded to 1 MiB (serve's defaults; the handlers'
// own bound is lower).
func (s *Service) Listeners(shopper, admin, internal string) []serve.Listener {
	return []serve.Listener{
		{Name: "shopper", Addr: shopper, Handler: httpapi.NewShopper(s.deps),
			ReadTimeout: 10 * time.Second, WriteTimeout: ordersapi.Timeout + 10*time.Second, IdleTimeout: 120 * time.Second},
		{Name: "admin", Addr: admin, Handler: httpapi.NewAdmin(s.deps),
			ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 120 * time.Second},
		{Name: "internal", Addr: internal, Handler: s.cfg.InternalKey.Guard(httpapi.NewInternal(s.deps)),
			ReadTimeout: 5 * time.Second, WriteTimeout: 3*dtmclient.RequestTimeout*time.Second + time.Second, IdleTimeout: 120 * time.Second},
	}
}

// Catalog returns the service's catalog (not cached).
func (s *Service) Catalog() flashsale.Catalog { return s.catalog }

// CreateActivity creates an activity and preheats its Redis stock, as the
// admin API does.
func (s *Service) CreateActivity(ctx context.Context, a flashsale.Activity) (flashsale.Activity, error) {
	a, err := s.deps.Catalog.CreateActivity(ctx, a)
	if err != nil {
		return a, err
	}
	return a, s.deps.Stock.Preheat(ctx, a.ID, a.Layout().N, a.Total)
}

// Restock re-derives the Redis stock of every activity whose counter is
// missing or stale (see package restock). Run it before serving buys;
// Background keeps running it after every Redis restart (WatchStock).
func (s *Service) Restock(ctx context.Context) (int, error) {
	// Only the services' own messages count: a message registered on dtm
	// by someone else under a purchase's gid holds no unit.
	msgs := func(ctx context.Context, acts ...int64) (map[string]string, error) {
		prefixes := make([]string, 0, 2*len(acts))
		for _, id := range acts {
			prefixes = append(prefixes, contract.PurchaseGIDPrefix(id), contract.AdjustGIDPrefix(id))
		}
		return dtmclient.ListSignedMessages(ctx, s.recon.HTTP, dtmclient.ParseGroups(s.cfg.DTMServer), s.cfg.InternalKey, prefixes...)
	}
	return restock.Missing(ctx, s.catalog, s.deps.Stock, s.catalog, msgs)
}

// Reconcile checks the promises of an activity against the live stores.
// A final report's violations (none of the activity's messages still
// prepared or submitted: the sums of one in flight do not add up yet) are
// kept in the metrics, flashsale_reconcile_violations.
func (s *Service) Reconcile(ctx context.Context, activityID int64) (reconcile.Report, error) {
	r, err := reconcile.Check(ctx, s.recon, activityID)
	if err == nil && r.Unsettled() == 0 {
		s.deps.Metrics.SetReconciled(activityID, len(r.Violations))
	}
	return r, err
}

// Ping checks that both stores answer.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.deps.Stock.Ping(ctx); err != nil {
		return err
	}
	return s.catalog.Ping(ctx)
}
