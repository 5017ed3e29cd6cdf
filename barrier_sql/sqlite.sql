-- Schema of the flash sale on SQLite (the embedded mode). Every statement is
-- idempotent. No DROP here. The barrier's insert-ignore is INSERT OR IGNORE,
-- which the unique index uniq_barrier turns into dtm's barrier.

CREATE TABLE IF NOT EXISTS products (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL,
  description TEXT    NOT NULL,
  price       INTEGER NOT NULL,
  image_url   TEXT    NOT NULL DEFAULT '',
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS activities (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  name                TEXT     NOT NULL,
  product_id          INTEGER  NOT NULL,
  price               INTEGER  NOT NULL,
  total               INTEGER  NOT NULL,
  start_at            DATETIME NOT NULL,
  end_at              DATETIME NOT NULL,
  pay_timeout_seconds INTEGER  NOT NULL DEFAULT 900,
  shards              INTEGER  NOT NULL DEFAULT 1,
  challenge_difficulty INTEGER  NOT NULL DEFAULT 0,
  fair_start_ms       INTEGER  NOT NULL DEFAULT 0,
  created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_activities_product ON activities (product_id);

CREATE TABLE IF NOT EXISTS activity_stock (
  activity_id INTEGER PRIMARY KEY,
  total       INTEGER NOT NULL,
  stock       INTEGER NOT NULL,
  CONSTRAINT chk_activity_stock_range CHECK (stock >= 0 AND stock <= total)
);

CREATE TABLE IF NOT EXISTS orders (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  gid         TEXT     NOT NULL,
  activity_id INTEGER  NOT NULL,
  user_id     TEXT     NOT NULL,
  product_id  INTEGER  NOT NULL,
  price       INTEGER  NOT NULL,
  status      TEXT     NOT NULL,
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at  DATETIME NULL,
  paid_at     DATETIME NULL,
  cancelled_at DATETIME NULL,
  payment_state TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_orders_activity_user ON orders (activity_id, user_id);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_orders_gid ON orders (gid);
CREATE INDEX IF NOT EXISTS idx_orders_status_expires ON orders (status, expires_at);

CREATE TABLE IF NOT EXISTS barrier (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  trans_type  TEXT NOT NULL DEFAULT '',
  gid         TEXT NOT NULL DEFAULT '',
  branch_id   TEXT NOT NULL DEFAULT '',
  op          TEXT NOT NULL DEFAULT '',
  barrier_id  TEXT NOT NULL DEFAULT '',
  reason      TEXT NOT NULL DEFAULT '',
  create_time DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  update_time DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_barrier ON barrier (gid, branch_id, op, barrier_id);

-- An admin's change of an activity's units (package flashsale/adjust): one
-- row per adjustment, written in the transaction that changes the activity's
-- total and DB stock, so that what the totals include is readable with them.
CREATE TABLE IF NOT EXISTS stock_adjustments (
  gid         TEXT     NOT NULL PRIMARY KEY,
  activity_id INTEGER  NOT NULL,
  delta       INTEGER  NOT NULL,
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_stock_adjustments_activity ON stock_adjustments (activity_id);

-- CREATE TABLE IF NOT EXISTS adds no column to an existing table: this
-- fails, with the statement in the error, on a database made before the
-- orders' payment columns existed. Drop that database (or ./data in the
-- embedded mode): no deployment predates them.
SELECT expires_at, paid_at, cancelled_at, payment_state FROM orders WHERE 1 = 0;
