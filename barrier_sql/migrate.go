// Package barriersql holds the project's SQL schema, one file per dialect,
// and applies it. Every statement is idempotent (CREATE ... IF NOT EXISTS),
// so each service applies the schema at start.
package barriersql

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strings"
)

//go:embed *.sql
var files embed.FS

// BarrierTable is the name of dtm's barrier table in the services' database;
// the order service passes it to dtmcli.BranchBarrier.
const BarrierTable = "barrier"

// Statements returns the schema of dialect ("mysql", "postgres" or "sqlite") as
// separate statements, in order.
func Statements(dialect string) ([]string, error) {
	b, err := files.ReadFile(dialect + ".sql")
	if err != nil {
		return nil, fmt.Errorf("no schema for dialect %q", dialect)
	}
	var out []string
	for _, part := range strings.Split(string(b), ";") {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, "\n"))
		}
	}
	return out, nil
}

// Migrate applies the schema of dialect to db, then adds the columns
// that tables made by an earlier version lack.
func Migrate(ctx context.Context, db *sql.DB, dialect string) error {
	stmts, err := Statements(dialect)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("migrate: %w\n%s", err, s)
		}
	}
	for _, c := range addedColumns {
		if _, err := db.ExecContext(ctx, "SELECT "+c.column+" FROM "+c.table+" WHERE 1 = 0"); err == nil {
			continue
		}
		alter := "ALTER TABLE " + c.table + " ADD COLUMN " + c.column + " " + c.def
		if _, err := db.ExecContext(ctx, alter); err != nil {
			return fmt.Errorf("migrate: %w\n%s", err, alter)
		}
	}
	return nil
}

// addedColumns are the columns added to a table after its first release,
// in the three dialects' common syntax.
var addedColumns = []struct{ table, column, def string }{
	{"activities", "shards", "INT NOT NULL DEFAULT 1"},
	{"activities", "challenge_difficulty", "INT NOT NULL DEFAULT 0"},
	{"activities", "fair_start_ms", "INT NOT NULL DEFAULT 0"},
}
