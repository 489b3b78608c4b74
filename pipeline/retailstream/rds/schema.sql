-- RetailStream RDS schema (database `retail`). Idempotent: every statement can run again.
-- Keys: stores (store), sales (store, dept, week_date), store_traffic (store, week_date).

CREATE TABLE IF NOT EXISTS stores (
  store        SMALLINT UNSIGNED NOT NULL,
  store_type   CHAR(1)           NOT NULL,
  size         INT UNSIGNED      NOT NULL,
  source_key   VARCHAR(512)      NOT NULL COMMENT 'S3 key of the curated object the row came from',
  updated_at   TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (store),
  CONSTRAINT chk_stores_type CHECK (store_type IN ('A', 'B', 'C')),
  CONSTRAINT chk_stores_size CHECK (size > 0)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS sales (
  store        SMALLINT UNSIGNED NOT NULL,
  dept         SMALLINT UNSIGNED NOT NULL,
  week_date    DATE              NOT NULL,
  weekly_sales DECIMAL(12, 2)    NOT NULL COMMENT 'negative values are returns and are valid',
  is_holiday   BOOLEAN           NOT NULL,
  source_key   VARCHAR(512)      NOT NULL,
  -- Watermark for incremental transfers: set on insert and on every real change.
  updated_at   TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (store, dept, week_date),
  KEY idx_sales_week (week_date),
  KEY idx_sales_updated (updated_at),
  -- A store retracted from the stores data takes its sales along (the curated data no longer has them).
  CONSTRAINT fk_sales_store FOREIGN KEY (store) REFERENCES stores (store) ON DELETE CASCADE,
  CONSTRAINT chk_sales_friday CHECK (DAYOFWEEK(week_date) = 6)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS store_traffic (
  store        SMALLINT UNSIGNED NOT NULL,
  week_date    DATE              NOT NULL,
  customers    INT UNSIGNED      NOT NULL,
  source_key   VARCHAR(512)      NOT NULL,
  updated_at   TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (store, week_date),
  KEY idx_traffic_updated (updated_at),
  CONSTRAINT fk_traffic_store FOREIGN KEY (store) REFERENCES stores (store) ON DELETE CASCADE,
  CONSTRAINT chk_traffic_friday CHECK (DAYOFWEEK(week_date) = 6)
) ENGINE=InnoDB;

-- Rows the loader refused, with why and where from. Re-delivering the same object does not add
-- duplicates: the key is the source object and its line/row number.
CREATE TABLE IF NOT EXISTS load_quarantine (
  id           BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT,
  dataset      VARCHAR(32)       NOT NULL,
  source_key   VARCHAR(512)      NOT NULL,
  source_row   INT UNSIGNED      NOT NULL,
  reason       VARCHAR(255)      NOT NULL,
  raw          TEXT              NULL,
  quarantined_at TIMESTAMP(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_quarantine_source (source_key, source_row)
) ENGINE=InnoDB;

-- One row per loaded object: the reconciliation of rows in = loaded + quarantined + duplicates.
CREATE TABLE IF NOT EXISTS load_audit (
  source_key   VARCHAR(512)      NOT NULL,
  source_bucket VARCHAR(63)      NOT NULL DEFAULT '' COMMENT 'the bucket the object was loaded from',
  dataset      VARCHAR(32)       NOT NULL,
  source_etag  VARCHAR(128)      NOT NULL,
  rows_in      INT UNSIGNED      NOT NULL,
  rows_loaded  INT UNSIGNED      NOT NULL,
  rows_quarantined INT UNSIGNED  NOT NULL,
  rows_duplicate INT UNSIGNED    NOT NULL,
  loaded_at    TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  duration_ms  INT UNSIGNED      NOT NULL,
  PRIMARY KEY (source_key),
  CONSTRAINT chk_audit_reconciles CHECK (rows_in = rows_loaded + rows_quarantined + rows_duplicate)
) ENGINE=InnoDB;

-- Added after the tables were first created (CREATE TABLE IF NOT EXISTS leaves an existing table alone).
ALTER TABLE load_audit ADD COLUMN IF NOT EXISTS
  source_bucket VARCHAR(63) NOT NULL DEFAULT '' COMMENT 'the bucket the object was loaded from' AFTER source_key;
-- The loader replaces an object's rows: it finds them by the object they came from.
ALTER TABLE stores ADD INDEX IF NOT EXISTS idx_stores_source (source_key);
ALTER TABLE sales ADD INDEX IF NOT EXISTS idx_sales_source (source_key);
ALTER TABLE store_traffic ADD INDEX IF NOT EXISTS idx_traffic_source (source_key);

-- Rows the loader deleted because the curated object that held them changed or was removed. A deleted
-- row leaves no updated_at behind: the RDS → Hive transfer reads this log to rebuild a table instead.
CREATE TABLE IF NOT EXISTS load_deletions (
  id           BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT,
  table_name   VARCHAR(64)       NOT NULL,
  source_key   VARCHAR(512)      NOT NULL COMMENT 'the curated object whose new version or removal deleted them',
  rows_deleted INT UNSIGNED      NOT NULL,
  deleted_at   TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY idx_deletions_table (table_name, deleted_at)
) ENGINE=InnoDB;

-- What each consolidation run found, one row per (table, check): see retailstream/stages/consolidate.
CREATE TABLE IF NOT EXISTS consolidation_report (
  run_id       CHAR(32)          NOT NULL,
  checked_at   TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  table_name   VARCHAR(64)       NOT NULL,
  check_name   VARCHAR(64)       NOT NULL,
  severity     ENUM('error', 'warning', 'info') NOT NULL,
  rows_checked BIGINT UNSIGNED   NOT NULL,
  rows_flagged BIGINT UNSIGNED   NOT NULL,
  detail       VARCHAR(255)      NOT NULL COMMENT 'what the check looks for',
  sample       TEXT              NULL COMMENT 'JSON: the keys of up to 5 flagged rows',
  PRIMARY KEY (run_id, table_name, check_name),
  KEY idx_consolidation_table (table_name, checked_at)
) ENGINE=InnoDB;

-- Each consolidation run and what it checked: the checked tables' CHECKSUM TABLE values and the checks'
-- SQL, hashed. A run over unchanged tables with the same checks reuses the latest such run's findings.
CREATE TABLE IF NOT EXISTS consolidation_runs (
  run_id       CHAR(32)          NOT NULL,
  checked_at   TIMESTAMP(3)      NOT NULL,
  fingerprint  CHAR(64)          NOT NULL COMMENT 'sha256 of the tables'' checksums and the checks',
  PRIMARY KEY (run_id),
  KEY idx_consolidation_runs_fingerprint (fingerprint, checked_at)
) ENGINE=InnoDB;

-- Incremental RDS → Hive transfers: per Hive target, where the next import window starts on the
-- source's updated_at. Saved only after the target table was published.
CREATE TABLE IF NOT EXISTS transfer_watermarks (
  target       VARCHAR(190)      NOT NULL COMMENT 'Hive table, database.table',
  source       VARCHAR(190)      NOT NULL COMMENT 'RDS table, database.table',
  check_column VARCHAR(64)       NOT NULL,
  last_value   DATETIME(3)       NOT NULL COMMENT 'exclusive end of the last window, inclusive start of the next',
  engine       VARCHAR(16)       NOT NULL,
  rows_moved   BIGINT UNSIGNED   NOT NULL COMMENT 'rows the last import moved',
  saved_at     TIMESTAMP(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (target)
) ENGINE=InnoDB;

-- Analysts: the latest consolidation findings of each table.
CREATE OR REPLACE VIEW v_consolidation_latest AS
SELECT r.table_name, r.check_name, r.severity, r.rows_checked, r.rows_flagged, r.detail, r.sample,
       r.checked_at, r.run_id
FROM consolidation_report r
WHERE r.checked_at = (SELECT MAX(l.checked_at) FROM consolidation_report l WHERE l.table_name = r.table_name);

-- Analysts: weekly sales per store with its format, size and customer visits.
CREATE OR REPLACE VIEW v_store_week AS
SELECT s.store, st.store_type, st.size, s.week_date, MAX(s.is_holiday) AS is_holiday,
       SUM(s.weekly_sales) AS weekly_sales, COUNT(*) AS departments, t.customers
FROM sales s
JOIN stores st ON st.store = s.store
LEFT JOIN store_traffic t ON t.store = s.store AND t.week_date = s.week_date
GROUP BY s.store, st.store_type, st.size, s.week_date, t.customers;
