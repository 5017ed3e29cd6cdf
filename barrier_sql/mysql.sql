-- Schema of the flash sale on MySQL / MariaDB. Every statement is idempotent:
-- the services apply this file at start (barriersql.Migrate). No DROP here.

CREATE TABLE IF NOT EXISTS products (
  id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  description TEXT         NOT NULL,
  price       BIGINT       NOT NULL,
  image_url   VARCHAR(512) NOT NULL DEFAULT '',
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS activities (
  id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name                VARCHAR(128) NOT NULL,
  product_id          BIGINT       NOT NULL,
  price               BIGINT       NOT NULL,
  total               INT          NOT NULL,
  start_at            DATETIME(3)  NOT NULL,
  end_at              DATETIME(3)  NOT NULL,
  pay_timeout_seconds INT          NOT NULL DEFAULT 900,
  shards              INT          NOT NULL DEFAULT 1,
  challenge_difficulty INT          NOT NULL DEFAULT 0,
  fair_start_ms       INT          NOT NULL DEFAULT 0,
  created_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY idx_activities_product (product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- DB stock: the units of an activity not held by a live order. The order
-- service decrements it in the transaction that inserts the order.
CREATE TABLE IF NOT EXISTS activity_stock (
  activity_id BIGINT NOT NULL PRIMARY KEY,
  total       INT    NOT NULL,
  stock       INT    NOT NULL,
  CONSTRAINT chk_activity_stock_range CHECK (stock >= 0 AND stock <= total)
) ENGINE=InnoDB;

-- One order per (activity, user) and per purchase message: unique indexes,
-- never a check that can race. An order is created, then paid or cancelled:
-- each change is an UPDATE guarded by status = 'created', so exactly one
-- wins. expires_at (NULL: never) is when an unpaid order is cancelled,
-- payment_state records the charge asked of the payment provider ('',
-- charging, charged, refunded).
CREATE TABLE IF NOT EXISTS orders (
  id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  gid          VARCHAR(128) NOT NULL,
  activity_id  BIGINT       NOT NULL,
  user_id      VARCHAR(64)  NOT NULL,
  product_id   BIGINT       NOT NULL,
  price        BIGINT       NOT NULL,
  status       VARCHAR(16)  NOT NULL,
  created_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at   DATETIME(3)  NULL,
  paid_at      DATETIME(3)  NULL,
  cancelled_at DATETIME(3)  NULL,
  payment_state VARCHAR(16) NOT NULL DEFAULT '',
  UNIQUE KEY uniq_orders_activity_user (activity_id, user_id),
  UNIQUE KEY uniq_orders_gid (gid),
  KEY idx_orders_status_expires (status, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- dtm's SQL barrier: one row per (gid, branch_id, op, barrier_id), inserted
-- with INSERT IGNORE inside the branch's own transaction.
CREATE TABLE IF NOT EXISTS barrier (
  id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  trans_type  VARCHAR(45)  NOT NULL DEFAULT '',
  gid         VARCHAR(128) NOT NULL DEFAULT '',
  branch_id   VARCHAR(128) NOT NULL DEFAULT '',
  op          VARCHAR(45)  NOT NULL DEFAULT '',
  barrier_id  VARCHAR(45)  NOT NULL DEFAULT '',
  reason      VARCHAR(45)  NOT NULL DEFAULT '',
  create_time DATETIME     NOT NULL DEFAULT CURRENT_TIMESTAMP,
  update_time DATETIME     NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uniq_barrier (gid, branch_id, op, barrier_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- An admin's change of an activity's units (package flashsale/adjust): one
-- row per adjustment, written in the transaction that changes the activity's
-- total and DB stock, so that what the totals include is readable with them.
CREATE TABLE IF NOT EXISTS stock_adjustments (
  gid         VARCHAR(128) NOT NULL PRIMARY KEY,
  activity_id BIGINT       NOT NULL,
  delta       INT          NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY idx_stock_adjustments_activity (activity_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- CREATE TABLE IF NOT EXISTS adds no column to an existing table: this
-- fails, with the statement in the error, on a database made before the
-- orders' payment columns existed. Drop that database (or ./data in the
-- embedded mode): no deployment predates them.
SELECT expires_at, paid_at, cancelled_at, payment_state FROM orders WHERE 1 = 0;
