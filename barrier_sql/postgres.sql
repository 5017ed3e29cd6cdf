-- Schema of the flash sale on PostgreSQL. Every statement is idempotent.
-- No DROP here. dtm's Postgres barrier uses ON CONFLICT ON CONSTRAINT
-- uniq_barrier DO NOTHING, so the constraint keeps that name.

CREATE TABLE IF NOT EXISTS products (
  id          BIGSERIAL    PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  description TEXT         NOT NULL,
  price       BIGINT       NOT NULL,
  image_url   VARCHAR(512) NOT NULL DEFAULT '',
  created_at  TIMESTAMPTZ  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS activities (
  id                  BIGSERIAL    PRIMARY KEY,
  name                VARCHAR(128) NOT NULL,
  product_id          BIGINT       NOT NULL,
  price               BIGINT       NOT NULL,
  total               INT          NOT NULL,
  start_at            TIMESTAMPTZ  NOT NULL,
  end_at              TIMESTAMPTZ  NOT NULL,
  pay_timeout_seconds INT          NOT NULL DEFAULT 900,
  shards              INT          NOT NULL DEFAULT 1,
  challenge_difficulty INT          NOT NULL DEFAULT 0,
  fair_start_ms       INT          NOT NULL DEFAULT 0,
  created_at          TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_activities_product ON activities (product_id);

CREATE TABLE IF NOT EXISTS activity_stock (
  activity_id BIGINT PRIMARY KEY,
  total       INT    NOT NULL,
  stock       INT    NOT NULL,
  CONSTRAINT chk_activity_stock_range CHECK (stock >= 0 AND stock <= total)
);

CREATE TABLE IF NOT EXISTS orders (
  id          BIGSERIAL    PRIMARY KEY,
  gid         VARCHAR(128) NOT NULL,
  activity_id BIGINT       NOT NULL,
  user_id     VARCHAR(64)  NOT NULL,
  product_id  BIGINT       NOT NULL,
  price       BIGINT       NOT NULL,
  status      VARCHAR(16)  NOT NULL,
  created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
  expires_at  TIMESTAMPTZ  NULL,
  paid_at     TIMESTAMPTZ  NULL,
  cancelled_at TIMESTAMPTZ NULL,
  payment_state VARCHAR(16) NOT NULL DEFAULT '',
  CONSTRAINT uniq_orders_activity_user UNIQUE (activity_id, user_id),
  CONSTRAINT uniq_orders_gid UNIQUE (gid)
);
CREATE INDEX IF NOT EXISTS idx_orders_status_expires ON orders (status, expires_at);

CREATE TABLE IF NOT EXISTS barrier (
  id          BIGSERIAL    PRIMARY KEY,
  trans_type  VARCHAR(45)  NOT NULL DEFAULT '',
  gid         VARCHAR(128) NOT NULL DEFAULT '',
  branch_id   VARCHAR(128) NOT NULL DEFAULT '',
  op          VARCHAR(45)  NOT NULL DEFAULT '',
  barrier_id  VARCHAR(45)  NOT NULL DEFAULT '',
  reason      VARCHAR(45)  NOT NULL DEFAULT '',
  create_time TIMESTAMPTZ  NOT NULL DEFAULT now(),
  update_time TIMESTAMPTZ  NOT NULL DEFAULT now(),
  CONSTRAINT uniq_barrier UNIQUE (gid, branch_id, op, barrier_id)
);

-- An admin's change of an activity's units (package flashsale/adjust): one
-- row per adjustment, written in the transaction that changes the activity's
-- total and DB stock, so that what the totals include is readable with them.
CREATE TABLE IF NOT EXISTS stock_adjustments (
  gid         VARCHAR(128) NOT NULL PRIMARY KEY,
  activity_id BIGINT       NOT NULL,
  delta       INT          NOT NULL,
  created_at  TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_stock_adjustments_activity ON stock_adjustments (activity_id);

-- CREATE TABLE IF NOT EXISTS adds no column to an existing table: this
-- fails, with the statement in the error, on a database made before the
-- orders' payment columns existed. Drop that database (or ./data in the
-- embedded mode): no deployment predates them.
SELECT expires_at, paid_at, cancelled_at, payment_state FROM orders WHERE 1 = 0;
