/**
 * The results store's SQLite schema and its migrations. A store is marked as layercut's in the
 * file header (`PRAGMA application_id`, set when the file is created) and its `meta` table
 * records the schema version. Opening a store to write runs every migration above its version,
 * in one transaction, so two processes opening a new file at once cannot both create the tables.
 * Opening one to read never migrates (see store-file.ts).
 *
 * To change the schema: append a migration to `migrations` (never edit an old one). Its
 * position + 1 is the version it brings the file to. Readers of an older file see the columns
 * it lacks as absent (store.ts reads them as null).
 */
import type Database from 'better-sqlite3';

import { LayercutError } from '../errors.js';
import { divergence } from '../train/divergence.js';
import type { RunResult } from '../plan/types.js';

type Db = Database;

/** `PRAGMA application_id` of a layercut results store: "LCUT". Stores made before version 3 have 0. */
export const APPLICATION_ID = 0x4c435554;

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

/**
 * Version 3: `owner_start`, which process holds a run beyond its pid (boot id and start time,
 * so a reused pid is not taken for the owner), and `divergence`, why a done run's loss
 * exploded (null: it did not). Runs done before are checked from their stored curves.
 */
const addOwnerStartAndDivergence = (db: Db): void => {
  db.exec(`ALTER TABLE runs ADD COLUMN owner_start TEXT; ALTER TABLE runs ADD COLUMN divergence TEXT`);
  const done = db
    .prepare(`SELECT id, curves FROM runs WHERE status = 'done' AND curves IS NOT NULL`)
    .all() as {
    id: string;
    curves: string;
  }[];
  const mark = db.prepare(`UPDATE runs SET divergence = ? WHERE id = ?`);
  for (const row of done) {
    const why = divergence(JSON.parse(row.curves) as RunResult['curves']);
    if (why !== null) mark.run(why, row.id);
  }
};

/** Migration i brings a file from version i to version i + 1. */
export const migrations: readonly ((db: Db) => void)[] = [
  createRuns,
  addKeptLayers,
  addOwnerStartAndDivergence,
];

export const SCHEMA_VERSION = migrations.length;

/** What an open SQLite file holds, told without writing to it. */
export type FileContents =
  | { kind: 'empty' }
  | { kind: 'store'; version: number }
  /** Not a layercut results store; `why` says what it is instead. */
  | { kind: 'foreign'; why: string };

/** Whether the file is a layercut store (and of which schema version), empty, or something else. */
export function fileContents(db: Db): FileContents {
  const applicationId = Number(db.pragma('application_id', { simple: true }));
  const tables = (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]
  ).map((t) => t.name);
  if (applicationId !== APPLICATION_ID && applicationId !== 0) {
    return {
      kind: 'foreign',
      why: `its SQLite application id is 0x${applicationId.toString(16)}, not layercut's`,
    };
  }
  if (applicationId === 0 && tables.length === 0) return { kind: 'empty' };
  // Stores made before version 3 have no application id: they are known by their tables.
  const version = tables.includes('meta') ? storedVersion(db) : undefined;
  if (version === undefined || !tables.includes('runs')) {
    return {
      kind: 'foreign',
      why: `it is an SQLite database with other tables (${tables.slice(0, 5).join(', ') || 'none'}${tables.length > 5 ? ', …' : ''})`,
    };
  }
  return { kind: 'store', version };
}

/** The version in the meta table, or undefined where there is none. */
function storedVersion(db: Db): number | undefined {
  try {
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as
      { value: string } | undefined;
    const version = row ? Number(row.value) : NaN;
    return Number.isInteger(version) && version >= 1 ? version : undefined;
  } catch {
    return undefined; // a meta table of another shape: not ours
  }
}

/** Refuses a store written by a newer layercut. */
export function checkNotNewer(version: number, file: string): void {
  if (version > SCHEMA_VERSION) {
    throw new LayercutError(
      `results store ${file} has schema version ${version}; this layercut knows up to ${SCHEMA_VERSION}`,
      'upgrade layercut, or use another --db file',
    );
  }
}

/**
 * Brings the file to SCHEMA_VERSION (creating the tables in an empty file); refuses a file
 * written by a newer layercut and one that is not a results store, writing nothing to either.
 */
export function migrate(db: Db, file: string): void {
  const run = db.transaction(() => {
    const contents = fileContents(db);
    if (contents.kind === 'foreign') throw notAStore(file, contents.why);
    const from = contents.kind === 'empty' ? 0 : contents.version;
    checkNotNewer(from, file);
    if (Number(db.pragma('application_id', { simple: true })) !== APPLICATION_ID) {
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
    if (from === SCHEMA_VERSION) return;
    db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    for (let version = from; version < SCHEMA_VERSION; version++) migrations[version]!(db);
    db.prepare(
      `INSERT INTO meta (key, value) VALUES ('schema_version', ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run(String(SCHEMA_VERSION));
  });
  run.immediate();
}

/** The file is not a results store: refused, and left as it is. */
export function notAStore(file: string, why: string): LayercutError {
  return new LayercutError(
    `${file} is not a layercut results store (${why}); it was left untouched`,
    'pass --db with a results store file, or a new file name to start one',
  );
}
