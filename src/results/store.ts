/**
 * The results store: one SQLite file (default `layercut.db`) holding every run's plan, status,
 * result and timestamps. Any number of processes may share a file: it is opened in WAL mode
 * with a busy timeout, and every write is one `BEGIN IMMEDIATE` transaction, so concurrent
 * writers wait for each other instead of losing updates.
 *
 * A run moves queued → running → done | failed. `markRunning` / `claimRuns` record who runs it
 * (host, pid, a token per open store, and a lease that this store renews while it is open).
 * A result is written in one transaction with the status change, so a process killed half-way
 * leaves its run `running` with no result — and once the owner is gone (its pid no longer
 * exists on this host, or its lease ran out on another host) the run counts as unfinished and
 * `claimRuns` hands it out again.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import Database from 'better-sqlite3';

import { LayercutError } from '../errors.js';
import { runId } from '../plan/id.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import { migrate } from './schema.js';

export type RunStatus = 'queued' | 'running' | 'done' | 'failed';
export const runStatuses: readonly RunStatus[] = ['queued', 'running', 'done', 'failed'];

/** Who is running a run now. */
export interface RunOwner {
  host: string;
  pid: number;
  /** ISO time after which an owner on another host counts as dead unless it renews the lease. */
  leaseUntil: string;
}

/** One run as the store holds it. */
export interface StoredRun {
  id: string;
  plan: RunPlan;
  status: RunStatus;
  /** Why it failed (status 'failed'), else null. */
  error: string | null;
  /** How many times it was marked running. */
  attempts: number;
  /** ISO 8601 times, UTC. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Set while status is 'running'. */
  owner: RunOwner | null;
  /** Set when status is 'done'. */
  result: RunResult | null;
}

export interface StoreOptions {
  /** Refuse to create a new file (for commands that only read). Default false. */
  mustExist?: boolean;
  /** How long to wait for another process's write lock, in ms. Default 15000. */
  busyTimeoutMs?: number;
  /** Lease on a run marked running; this store renews it every third of it. Default 300 s. */
  leaseSeconds?: number;
  /** Who this store says it is (tests pretend to be another process or host). */
  host?: string;
  pid?: number;
  /** The clock (tests move it forward to expire leases). */
  now?: () => Date;
}

export interface ListFilter {
  status?: RunStatus | readonly RunStatus[];
  ids?: readonly string[];
}

export interface ClaimOptions {
  /** Only these runs (default: any in the store). */
  ids?: readonly string[];
  /** Run failed runs again. Default true. */
  retryFailed?: boolean;
}

export interface ClaimedRun {
  id: string;
  plan: RunPlan;
}

export interface ResultsStore {
  /** The file's absolute path. */
  readonly path: string;
  /** Adds runs as 'queued'; a run already in the store (same id) is left as it is. */
  enqueue(plans: readonly RunPlan[]): { ids: string[]; added: string[]; existing: string[] };
  /** Takes the run for this process: false when it is done or a live process runs it. */
  markRunning(id: string): boolean;
  /** Hands out up to `limit` runs to this process (queued, failed, or abandoned by a dead owner), oldest first. */
  claimRuns(limit?: number, options?: ClaimOptions): ClaimedRun[];
  /** Extends the lease of a run this store owns (the store also does this on a timer). */
  heartbeat(id: string): void;
  /** Records the result and marks the run done; false (and nothing written) when it was already done. */
  finish(id: string, result: RunResult): boolean;
  /** Marks the run failed with the error's text; false when it was already done. */
  fail(id: string, error: unknown): boolean;
  get(id: string): StoredRun | undefined;
  /** Runs in the order they were enqueued. */
  list(filter?: ListFilter): StoredRun[];
  /** Of `ids`, those a resume must (re)run: missing, queued, failed (unless retryFailed is false), or abandoned. */
  unfinished(ids: readonly string[], options?: { retryFailed?: boolean }): string[];
  /** Number of runs per status. */
  counts(): Record<RunStatus, number>;
  /** Puts runs this store still owns back to 'queued', then closes the file. */
  close(): void;
}

/** The row as SQLite returns it. */
interface RunRow {
  id: string;
  plan: string;
  status: RunStatus;
  error: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  owner_host: string | null;
  owner_pid: number | null;
  owner_token: string | null;
  lease_until: string | null;
  test_metrics: string | null;
  validation: string | null;
  curves: string | null;
  timings: string | null;
  layers_before: number | null;
  layers_after: number | null;
  params_before: number | null;
  params_after: number | null;
  peak_tensor_bytes: number | null;
  backend: string | null;
  versions: string | null;
  kept_layers: string | null;
}

/** Tokens of the stores open in this process: an owner with our pid but an unknown token is dead. */
const openTokens = new Set<string>();

export const DEFAULT_DB_FILE = 'layercut.db';

/** Opens (creating when needed) the results store at `file`, default `layercut.db` in the cwd. */
export function openStore(file: string = DEFAULT_DB_FILE, options: StoreOptions = {}): ResultsStore {
  const absolute = path.resolve(file);
  if (options.mustExist && !existsSync(absolute)) {
    throw new LayercutError(`no results store at ${absolute}`, 'pass --db with the file your runs wrote to');
  }
  if (!existsSync(path.dirname(absolute))) {
    throw new LayercutError(
      `cannot create results store ${absolute}: its folder does not exist`,
      'create the folder or pick another --db path',
    );
  }
  let db: Database | undefined;
  try {
    db = new Database(absolute, { timeout: options.busyTimeoutMs ?? 15_000 });
    db.pragma('journal_mode = WAL');
    migrate(db, absolute);
  } catch (error) {
    db?.close();
    if (error instanceof LayercutError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new LayercutError(
        `${absolute} is not a layercut results store (${(error as Error).message})`,
        'pass --db with a results store file',
      );
    }
    throw error;
  }
  return new SqliteResultsStore(db, absolute, options);
}

class SqliteResultsStore implements ResultsStore {
  private readonly host: string;
  private readonly pid: number;
  private readonly token = randomUUID();
  private readonly leaseMs: number;
  private readonly now: () => Date;
  private readonly leaseTimer: NodeJS.Timeout;

  constructor(
    private readonly db: Database,
    readonly path: string,
    options: StoreOptions,
  ) {
    this.host = options.host ?? os.hostname();
    this.pid = options.pid ?? process.pid;
    this.leaseMs = (options.leaseSeconds ?? 300) * 1000;
    this.now = options.now ?? (() => new Date());
    openTokens.add(this.token);
    this.leaseTimer = setInterval(() => this.renewLeases(), Math.max(1000, this.leaseMs / 3));
    this.leaseTimer.unref();
  }

  enqueue(plans: readonly RunPlan[]): { ids: string[]; added: string[]; existing: string[] } {
    const insert = this.db.prepare(
      `INSERT INTO runs (id, plan, status, created_at) VALUES (?, ?, 'queued', ?) ON CONFLICT (id) DO NOTHING`,
    );
    const ids = plans.map((plan) => runId(plan));
    const added: string[] = [];
    const existing: string[] = [];
    this.write(() => {
      const createdAt = this.isoNow();
      plans.forEach((plan, i) => {
        const { changes } = insert.run(ids[i], JSON.stringify(plan), createdAt);
        (changes === 1 ? added : existing).push(ids[i]);
      });
    });
    return { ids, added, existing };
  }

  markRunning(id: string): boolean {
    return this.write(() => {
      const row = this.row(id);
      if (!row) throw notInStore(id, this.path);
      if (row.owner_token === this.token && row.status === 'running') return true;
      if (!this.claimable(row, true)) return false;
      this.take(id);
      return true;
    });
  }

  claimRuns(limit = 1, options: ClaimOptions = {}): ClaimedRun[] {
    const retryFailed = options.retryFailed ?? true;
    return this.write(() => {
      const candidates = this.db
        .prepare(
          `SELECT * FROM runs WHERE status IN ('queued', 'failed', 'running')
             ${options.ids ? 'AND id IN (SELECT value FROM json_each(?))' : ''}
           ORDER BY created_at, rowid`,
        )
        .all(...(options.ids ? [JSON.stringify(options.ids)] : [])) as RunRow[];
      const claimed: ClaimedRun[] = [];
      for (const row of candidates) {
        if (claimed.length >= limit) break;
        if (!this.claimable(row, retryFailed)) continue;
        this.take(row.id);
        claimed.push({ id: row.id, plan: JSON.parse(row.plan) as RunPlan });
      }
      return claimed;
    });
  }

  heartbeat(id: string): void {
    this.write(() => {
      this.db
        .prepare(`UPDATE runs SET lease_until = ? WHERE id = ? AND status = 'running' AND owner_token = ?`)
        .run(this.leaseEnd(), id, this.token);
    });
  }

  finish(id: string, result: RunResult): boolean {
    if (result.id !== id) {
      throw new LayercutError(
        `result of run ${result.id} given for run ${id}`,
        'pass the result to finish() with its own id',
      );
    }
    // Serialise before the transaction: a value JSON cannot hold fails here, with nothing written.
    const values = {
      id,
      now: this.isoNow(),
      accuracy: result.test.accuracy,
      macroF1: result.test.macroF1,
      test: JSON.stringify(result.test),
      validation: JSON.stringify(result.validation),
      curves: JSON.stringify(result.curves),
      timings: JSON.stringify(result.timings),
      layersBefore: result.size.layersBefore,
      layersAfter: result.size.layersAfter,
      paramsBefore: result.size.paramsBefore,
      paramsAfter: result.size.paramsAfter,
      peak: result.peakTensorBytes,
      backend: result.backend,
      versions: JSON.stringify(result.versions),
      keptLayers: result.keptLayers ? JSON.stringify(result.keptLayers) : null,
    };
    return this.write(() => {
      const row = this.row(id);
      if (!row) throw notInStore(id, this.path);
      if (row.status === 'done') return false;
      this.db
        .prepare(
          `UPDATE runs SET status = 'done', error = NULL, finished_at = @now, started_at = COALESCE(started_at, @now),
             owner_host = NULL, owner_pid = NULL, owner_token = NULL, lease_until = NULL,
             accuracy = @accuracy, macro_f1 = @macroF1, test_metrics = @test, validation = @validation,
             curves = @curves, timings = @timings, layers_before = @layersBefore, layers_after = @layersAfter,
             params_before = @paramsBefore, params_after = @paramsAfter, peak_tensor_bytes = @peak,
             backend = @backend, versions = @versions, kept_layers = @keptLayers
           WHERE id = @id`,
        )
        .run(values);
      return true;
    });
  }

  fail(id: string, error: unknown): boolean {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return this.write(() => {
      const row = this.row(id);
      if (!row) throw notInStore(id, this.path);
      if (row.status === 'done') return false;
      this.db
        .prepare(
          `UPDATE runs SET status = 'failed', error = ?, finished_at = ?,
             owner_host = NULL, owner_pid = NULL, owner_token = NULL, lease_until = NULL WHERE id = ?`,
        )
        .run(text, this.isoNow(), id);
      return true;
    });
  }

  get(id: string): StoredRun | undefined {
    const row = this.row(id);
    return row && toStoredRun(row);
  }

  list(filter: ListFilter = {}): StoredRun[] {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.status !== undefined) {
      where.push('status IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(typeof filter.status === 'string' ? [filter.status] : filter.status));
    }
    if (filter.ids !== undefined) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(filter.ids));
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, rowid`;
    return (this.db.prepare(sql).all(...params) as RunRow[]).map(toStoredRun);
  }

  unfinished(ids: readonly string[], options: { retryFailed?: boolean } = {}): string[] {
    const retryFailed = options.retryFailed ?? true;
    const read = this.db.transaction(() =>
      ids.filter((id) => {
        const row = this.row(id);
        return !row || this.claimable(row, retryFailed);
      }),
    );
    return read();
  }

  counts(): Record<RunStatus, number> {
    const counts: Record<RunStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    const rows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM runs GROUP BY status`).all() as {
      status: RunStatus;
      n: number;
    }[];
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  close(): void {
    if (!this.db.open) return;
    clearInterval(this.leaseTimer);
    this.write(() => {
      this.db
        .prepare(
          `UPDATE runs SET status = 'queued', owner_host = NULL, owner_pid = NULL, owner_token = NULL, lease_until = NULL
           WHERE status = 'running' AND owner_token = ?`,
        )
        .run(this.token);
    });
    openTokens.delete(this.token);
    this.db.close();
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction: it takes the write lock before reading. */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private row(id: string): RunRow | undefined {
    return this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
  }

  /** Marks a run running under this store (inside a write transaction). */
  private take(id: string): void {
    const now = this.isoNow();
    this.db
      .prepare(
        `UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?, finished_at = NULL, error = NULL,
           owner_host = ?, owner_pid = ?, owner_token = ?, lease_until = ? WHERE id = ?`,
      )
      .run(now, this.host, this.pid, this.token, this.leaseEnd(), id);
  }

  /** Whether this store may take the run now. */
  private claimable(row: RunRow, retryFailed: boolean): boolean {
    switch (row.status) {
      case 'done':
        return false;
      case 'queued':
        return true;
      case 'failed':
        return retryFailed;
      case 'running':
        return !this.ownerAlive(row);
    }
  }

  /** Whether the process that marked the run running may still be running it. */
  private ownerAlive(row: RunRow): boolean {
    if (row.owner_token === this.token) return true;
    if (row.owner_host === this.host && row.owner_pid !== null) {
      // Our own pid with another token: a store of this process, or a dead process whose pid we reuse.
      if (row.owner_pid === this.pid) return row.owner_token !== null && openTokens.has(row.owner_token);
      return processExists(row.owner_pid);
    }
    // Another host: we cannot see its processes; trust the lease.
    return row.lease_until !== null && Date.parse(row.lease_until) > this.now().getTime();
  }

  private renewLeases(): void {
    if (!this.db.open) return;
    try {
      this.write(() => {
        this.db
          .prepare(`UPDATE runs SET lease_until = ? WHERE status = 'running' AND owner_token = ?`)
          .run(this.leaseEnd(), this.token);
      });
    } catch {
      // Busy for longer than the timeout: the next tick tries again, long before the lease ends.
    }
  }

  private isoNow(): string {
    return this.now().toISOString();
  }

  private leaseEnd(): string {
    return new Date(this.now().getTime() + this.leaseMs).toISOString();
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function notInStore(id: string, file: string): LayercutError {
  return new LayercutError(`run ${id} is not in the results store ${file}`, 'enqueue its plan first');
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

function toStoredRun(row: RunRow): StoredRun {
  const plan = JSON.parse(row.plan) as RunPlan;
  const owner =
    row.status === 'running' && row.owner_host !== null && row.owner_pid !== null
      ? { host: row.owner_host, pid: row.owner_pid, leaseUntil: row.lease_until ?? '' }
      : null;
  let result: RunResult | null = null;
  if (row.status === 'done') {
    result = {
      id: row.id,
      plan,
      test: parseJson<RunResult['test']>(row.test_metrics)!,
      validation: parseJson<RunResult['validation']>(row.validation)!,
      curves: parseJson<RunResult['curves']>(row.curves)!,
      timings: parseJson<RunResult['timings']>(row.timings)!,
      size: {
        layersBefore: row.layers_before!,
        layersAfter: row.layers_after!,
        paramsBefore: row.params_before!,
        paramsAfter: row.params_after!,
      },
      peakTensorBytes: row.peak_tensor_bytes!,
      backend: row.backend!,
      versions: parseJson<RunResult['versions']>(row.versions)!,
      ...(row.kept_layers === null ? {} : { keptLayers: parseJson<number[]>(row.kept_layers)! }),
    };
  }
  return {
    id: row.id,
    plan,
    status: row.status,
    error: row.error,
    attempts: row.attempts,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    owner,
    result,
  };
}
