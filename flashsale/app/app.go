// Package app wires the flashsale service from its stores: the same wiring
// for the flashsale command (services mode) and the all-in-one binary.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/flashsale/httpapi"
	"github.com/flashsale/flashsale/flashsale/memcache"
	"github.com/flashsale/flashsale/flashsale/mysqldb"
	"github.com/flashsale/flashsale/flashsale/purchase"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/flashsale/restock"
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
}

// Service is a wired flashsale service.
type Service struct {
	deps    httpapi.Deps
	catalog *mysqldb.Catalog
	recon   reconcile.Sources
}

// New wires the service on db (MySQL or SQLite, schema applied) and rdb.
func New(cfg Config, db *gorm.DB, rdb redis.UniversalClient, log *slog.Logger) (*Service, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	stock := rediscache.NewStock(rdb, rediscache.DefaultBarrierTTL)
	catalog := mysqldb.NewCatalog(db)
	s := &Service{
		catalog: catalog,
		recon:   reconcile.Sources{Redis: rdb, DB: sqlDB, DTM: cfg.DTMServer, HTTP: &http.Client{Timeout: 30 * time.Second}},
	}
	s.deps = httpapi.Deps{
		Catalog: memcache.NewCatalog(catalog, 2*time.Second, time.Now),
		Orders:  catalog,
		Stock:   stock,
		Purchases: purchase.New(purchase.Config{
			DTMServer:    cfg.DTMServer,
			OrdersURL:    cfg.OrdersURL,
			BackCheckURL: cfg.InternalURL + "/internal/dtm/query-prepared",
		}, stock, log),
		Tokens:     auth.NewVerifier(cfg.JWTSecret, time.Now),
		AdminToken: cfg.AdminToken,
		Reconcile:  s.Reconcile,
		Now:        time.Now,
		Log:        log,
	}
	return s, nil
}

// Listeners returns the shopper, admin and internal listeners on addrs.
func (s *Service) Listeners(shopper, admin, internal string) []serve.Listener {
	return []serve.Listener{
		{Name: "shopper", Addr: shopper, Handler: httpapi.NewShopper(s.deps)},
		{Name: "admin", Addr: admin, Handler: httpapi.NewAdmin(s.deps)},
		{Name: "internal", Addr: internal, Handler: httpapi.NewInternal(s.deps)},
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
	return a, s.deps.Stock.Preheat(ctx, a.ID, a.Total)
}

// Restock re-derives the Redis stock of every activity whose counter is
// missing (see package restock). Run it before serving buys.
func (s *Service) Restock(ctx context.Context) (int, error) {
	msgs := func(ctx context.Context, act int64) (map[string]string, error) {
		return reconcile.Messages(ctx, s.recon, act)
	}
	return restock.Missing(ctx, s.catalog, s.deps.Stock, s.catalog, msgs)
}

// Reconcile checks the promises of an activity against the live stores.
func (s *Service) Reconcile(ctx context.Context, activityID int64) (reconcile.Report, error) {
	return reconcile.Check(ctx, s.recon, activityID)
}

// Ping checks that both stores answer.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.deps.Stock.Ping(ctx); err != nil {
		return err
	}
	return s.catalog.Ping(ctx)
}
