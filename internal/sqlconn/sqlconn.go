// Package sqlconn opens the services' MySQL database with gorm, creating the
// database and applying the schema (barrier_sql) on the way.
package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	barriersql "github.com/flashsale/flashsale/barrier_sql"
	"github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DefaultDSN is the services' database on the local MariaDB/MySQL.
const DefaultDSN = "root@tcp(127.0.0.1:3306)/flashsale"

// OpenMySQL opens dsn, creating its database when missing and applying the
// schema, and returns a gorm handle with a pool sized for poolSize
// concurrent transactions.
func OpenMySQL(ctx context.Context, dsn string, poolSize int) (*gorm.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("MYSQL_DSN: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.InterpolateParams = true
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 10 * time.Second
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("MYSQL_DSN %q names no database", dsn)
	}
	if err := createDatabase(ctx, *cfg); err != nil {
		return nil, err
	}
	sqlDB, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(poolSize)
	sqlDB.SetMaxIdleConns(poolSize)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	if err := barriersql.Migrate(ctx, sqlDB, "mysql"); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return gorm.Open(gormmysql.New(gormmysql.Config{Conn: sqlDB}), &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 logger.Default.LogMode(logger.Silent),
	})
}

func createDatabase(ctx context.Context, cfg mysql.Config) error {
	name := cfg.DBName
	cfg.DBName = ""
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
