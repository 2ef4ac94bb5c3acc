/**
 * The results store's SQLite schema and its migrations. The `meta` table records the schema
 * version; opening a store runs every migration above it, in one transaction, so two
 * processes opening a new file at once cannot both create the tables.
 *
 * To change the schema: append a migration to `migrations` (never edit an old one). Its
 * position + 1 is the version it brings the file to.
 */
import type Database from 'better-sqlite3';

import { LayercutError } from '../errors.js';

type Db = Database;

/** Version 1: runs with their plan, status, owner, result parts and timestamps. */
const createRuns = (db: Db): void => {
  db.exec(`
    CREATE TABLE runs (
      id                TEXT PRIMARY KEY,
      plan              TEXT NOT NULL,                  -- RunPlan, JSON
      status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
      error             TEXT,                           -- why it failed (status 'failed')
      attempts          INTEGER NOT NULL DEFAULT 0,     -- times it was marked running
      created_at        TEXT NOT NULL,                  -- ISO 8601, UTC
      started_at        TEXT,
      finished_at       TEXT,
      owner_host        TEXT,                           -- who runs it now (status 'running')
      owner_pid         INTEGER,
      owner_token       TEXT,                           -- one per open store: tells two stores of one process apart
      lease_until       TEXT,                           -- an owner on another host is dead after this
      -- the result (status 'done'); all set together in one transaction
      accuracy          REAL,
      macro_f1          REAL,
      test_metrics      TEXT,                           -- EvalMetrics, JSON
      validation        TEXT,                           -- JSON
      curves            TEXT,                           -- JSON
      timings           TEXT,                           -- JSON
      layers_before     INTEGER,
      layers_after      INTEGER,
      params_before     INTEGER,
      params_after      INTEGER,
      peak_tensor_bytes INTEGER,
      backend           TEXT,
      versions          TEXT                            -- JSON
    );
    CREATE INDEX runs_status ON runs (status, created_at);
  `);
};

/** Version 2: the layers a computed selection chose (JSON array of original indices), per run. */
const addKeptLayers = (db: Db): void => {
  db.exec(`ALTER TABLE runs ADD COLUMN kept_layers TEXT`);
};

/** Migration i brings a file from version i to version i + 1. */
export const migrations: readonly ((db: Db) => void)[] = [createRuns, addKeptLayers];

export const SCHEMA_VERSION = migrations.length;

/** The file's schema version: 0 for a new, empty file. */
export function schemaVersion(db: Db): number {
  const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
  if (!hasMeta) return 0;
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as
    { value: string } | undefined;
  return row ? Number(row.value) : 0;
}

/** Brings the file to SCHEMA_VERSION; refuses a file written by a newer layercut. */
export function migrate(db: Db, file: string): void {
  const run = db.transaction(() => {
    const from = schemaVersion(db);
    if (from > SCHEMA_VERSION) {
      throw new LayercutError(
        `results store ${file} has schema version ${from}; this layercut knows up to ${SCHEMA_VERSION}`,
        'upgrade layercut, or use another --db file',
      );
    }
    if (from === SCHEMA_VERSION) return;
    db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    for (let version = from; version < SCHEMA_VERSION; version++) migrations[version](db);
    db.prepare(
      `INSERT INTO meta (key, value) VALUES ('schema_version', ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run(String(SCHEMA_VERSION));
  });
  run.immediate();
}
