/**
 * The results store: one SQLite file (default `layercut.db`) holding every run's plan, status,
 * result and timestamps. Any number of processes may share a file: it is opened in WAL mode
 * with a busy timeout, and every write is one `BEGIN IMMEDIATE` transaction, so concurrent
 * writers wait for each other instead of losing updates.
 *
 * A run moves queued → running → done | failed. `markRunning` / `claimRuns` record who runs it
 * (host, pid, the process's start time, a token per open store, and a lease that this store
 * renews while it is open). A result is written in one transaction with the status change, so a
 * process killed half-way leaves its run `running` with no result — and once the owner is gone
 * (owner.ts: on this host its pid no longer names the same process; on another host its lease
 * ran out) the run counts as unfinished and `claimRuns` hands it out again.
 *
 * `openStore` opens a store to run runs in (creating or migrating it); `openStoreReadOnly`
 * opens one to look at (never creating, migrating or writing it). Neither touches a file that
 * is not a layercut store (store-file.ts).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import type Database from 'better-sqlite3';

import { LayercutError } from '../errors.js';
import { runId } from '../plan/id.js';
import { storedLabels, withLabels } from '../plan/labels.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import { divergence } from '../train/divergence.js';
import { holderAlive, processStart, type Viewer } from './owner.js';
import { openForReading, openForWriting } from './store-file.js';

export type RunStatus = 'queued' | 'running' | 'done' | 'failed';
export const runStatuses: readonly RunStatus[] = ['queued', 'running', 'done', 'failed'];

/** Who is running a run now. */
export interface RunOwner {
  host: string;
  pid: number;
  /** ISO time after which an owner on another host counts as dead unless it renews the lease. */
  leaseUntil: string;
  /** Whether it is still running the run, as far as this process can tell (owner.ts); false: abandoned. */
  alive: boolean;
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

/** What reading a store offers (`openStoreReadOnly`); `ResultsStore` adds the writes. */
export interface StoreReader {
  /** The file's absolute path. */
  readonly path: string;
  get(id: string): StoredRun | undefined;
  /** Runs in the order they were enqueued. */
  list(filter?: ListFilter): StoredRun[];
  /** Number of runs per status. */
  counts(): Record<RunStatus, number>;
  /** Closes the file (a writing store first puts runs it still holds back in the queue). */
  close(): void;
}

export interface ResultsStore extends StoreReader {
  /**
   * Adds runs as 'queued'; a run already in the store (same id) is left as it is, except its
   * labels (not part of the id): it takes the name and tags of the plan given here and adds its
   * files to those it had (src/plan/labels.ts).
   */
  enqueue(plans: readonly RunPlan[]): { ids: string[]; added: string[]; existing: string[] };
  /** Removes these runs and their results, except any a live process is running: the ids removed. */
  forget(ids: readonly string[]): string[];
  /** Takes the run for this process: false when it is done or a live process runs it. */
  markRunning(id: string): boolean;
  /** Hands out up to `limit` runs to this process (queued, failed, or abandoned by a dead owner), oldest first. */
  claimRuns(limit?: number, options?: ClaimOptions): ClaimedRun[];
  /** Extends the lease of a run this store owns (the store also does this on a timer). */
  heartbeat(id: string): void;
  /** Records the result and marks the run done; false (and nothing written) when it was already done. */
  finish(id: string, result: RunResult): boolean;
  /** Marks the run failed with the error's whole text (errorText); false when it was already done. */
  fail(id: string, error: unknown): boolean;
  /** Of `ids`, those a resume must (re)run: missing, queued, failed (unless retryFailed is false), or abandoned. */
  unfinished(ids: readonly string[], options?: { retryFailed?: boolean }): string[];
}

/** A row of the `runs` table as SQLite returns it (the flat view of a run for tables is `RunRow`, rows.ts). */
interface SqlRunRow {
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
  // Absent (undefined) in files of an older schema, which a reader does not migrate.
  kept_layers?: string | null;
  owner_start?: string | null;
  divergence?: string | null;
}

/** Tokens of the stores open in this process: an owner with our pid but an unknown token is dead. */
const openTokens = new Set<string>();

export const DEFAULT_DB_FILE = 'layercut.db';

/** Opens (creating or migrating when needed) the results store at `file`, default `layercut.db` in the cwd, to run runs in. */
export function openStore(file: string = DEFAULT_DB_FILE, options: StoreOptions = {}): ResultsStore {
  const absolute = path.resolve(file);
  const db = openForWriting(absolute, { busyTimeoutMs: options.busyTimeoutMs ?? 15_000 });
  return new SqliteResultsStore(db, absolute, options);
}

/**
 * Opens the results store at `file` to read it: never creates, migrates or writes it (a store
 * of an older schema is read as it is), and refuses a missing, empty or foreign file untouched.
 */
export function openStoreReadOnly(
  file: string = DEFAULT_DB_FILE,
  options: Pick<StoreOptions, 'now'> = {},
): StoreReader {
  const absolute = path.resolve(file);
  return new SqliteStoreReader(openForReading(absolute), absolute, options.now ?? (() => new Date()));
}

class SqliteStoreReader implements StoreReader {
  constructor(
    protected readonly db: Database,
    readonly path: string,
    protected readonly now: () => Date,
  ) {}

  /** Who looks at the runs' owners, to tell a live owner from a dead one: this process. */
  protected viewer(): Viewer {
    return { host: os.hostname(), pid: process.pid, token: null, now: this.now(), openTokens };
  }

  get(id: string): StoredRun | undefined {
    const row = this.row(id);
    return row && this.toStoredRun(row);
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
    return (this.db.prepare(sql).all(...params) as SqlRunRow[]).map((row) => this.toStoredRun(row));
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
    if (this.db.open) this.db.close();
  }

  protected row(id: string): SqlRunRow | undefined {
    return this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as SqlRunRow | undefined;
  }

  /** Whether the process that marked the run running may still be running it. */
  protected ownerAlive(row: SqlRunRow): boolean {
    return holderAlive(
      {
        host: row.owner_host,
        pid: row.owner_pid,
        token: row.owner_token,
        start: row.owner_start ?? null,
        leaseUntil: row.lease_until,
      },
      this.viewer(),
    );
  }

  private toStoredRun(row: SqlRunRow): StoredRun {
    const plan = JSON.parse(row.plan) as RunPlan;
    const owner =
      row.status === 'running' && row.owner_host !== null && row.owner_pid !== null
        ? {
            host: row.owner_host,
            pid: row.owner_pid,
            leaseUntil: row.lease_until ?? '',
            alive: this.ownerAlive(row),
          }
        : null;
    let result: RunResult | null = null;
    if (row.status === 'done') {
      const curves = parseJson<RunResult['curves']>(row.curves)!;
      // A file older than schema version 3 has no divergence column: judge the stored curves.
      const diverged = row.divergence === undefined ? divergence(curves) : row.divergence;
      result = {
        id: row.id,
        plan,
        test: parseJson<RunResult['test']>(row.test_metrics)!,
        validation: parseJson<RunResult['validation']>(row.validation)!,
        curves,
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
        ...(row.kept_layers == null ? {} : { keptLayers: parseJson<number[]>(row.kept_layers)! }),
        ...(diverged == null ? {} : { divergence: diverged }),
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
}

class SqliteResultsStore extends SqliteStoreReader implements ResultsStore {
  private readonly host: string;
  private readonly pid: number;
  /** processStart(pid): recorded with each run this store takes. */
  private readonly start: string | null;
  private readonly token = randomUUID();
  private readonly leaseMs: number;
  private readonly leaseTimer: NodeJS.Timeout;

  constructor(db: Database, path: string, options: StoreOptions) {
    super(db, path, options.now ?? (() => new Date()));
    this.host = options.host ?? os.hostname();
    this.pid = options.pid ?? process.pid;
    this.start = processStart(this.pid);
    this.leaseMs = (options.leaseSeconds ?? 300) * 1000;
    openTokens.add(this.token);
    this.leaseTimer = setInterval(() => this.renewLeases(), Math.max(1000, this.leaseMs / 3));
    this.leaseTimer.unref();
  }

  enqueue(plans: readonly RunPlan[]): { ids: string[]; added: string[]; existing: string[] } {
    const insert = this.db.prepare(
      `INSERT INTO runs (id, plan, status, created_at) VALUES (?, ?, 'queued', ?) ON CONFLICT (id) DO NOTHING`,
    );
    const relabel = this.db.prepare(`UPDATE runs SET plan = ? WHERE id = ?`);
    const ids = plans.map((plan) => runId(plan));
    const added: string[] = [];
    const existing: string[] = [];
    this.write(() => {
      const createdAt = this.isoNow();
      plans.forEach((plan, i) => {
        const { changes } = insert.run(ids[i], JSON.stringify(plan), createdAt);
        (changes === 1 ? added : existing).push(ids[i]!);
        if (changes === 1) return;
        const stored = JSON.parse(this.row(ids[i]!)!.plan) as RunPlan;
        const labeled = JSON.stringify(withLabels(stored, storedLabels(stored.labels, plan.labels)));
        if (labeled !== JSON.stringify(stored)) relabel.run(labeled, ids[i]);
      });
    });
    return { ids, added, existing };
  }

  forget(ids: readonly string[]): string[] {
    const remove = this.db.prepare(`DELETE FROM runs WHERE id = ?`);
    return this.write(() =>
      ids.filter((id) => {
        const row = this.row(id);
        if (!row) return false;
        // a run that a live process holds is left to it
        if (row.status === 'running' && !this.claimable(row, true)) return false;
        return remove.run(id).changes === 1;
      }),
    );
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
        .all(...(options.ids ? [JSON.stringify(options.ids)] : [])) as SqlRunRow[];
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
      divergence: result.divergence ?? null,
    };
    return this.settle(id, () =>
      this.db
        .prepare(
          `UPDATE runs SET status = 'done', error = NULL, finished_at = @now, started_at = COALESCE(started_at, @now),
             owner_host = NULL, owner_pid = NULL, owner_token = NULL, owner_start = NULL, lease_until = NULL,
             accuracy = @accuracy, macro_f1 = @macroF1, test_metrics = @test, validation = @validation,
             curves = @curves, timings = @timings, layers_before = @layersBefore, layers_after = @layersAfter,
             params_before = @paramsBefore, params_after = @paramsAfter, peak_tensor_bytes = @peak,
             backend = @backend, versions = @versions, kept_layers = @keptLayers, divergence = @divergence
           WHERE id = @id`,
        )
        .run(values),
    );
  }

  fail(id: string, error: unknown): boolean {
    const text = errorText(error);
    return this.settle(id, () =>
      this.db
        .prepare(
          `UPDATE runs SET status = 'failed', error = ?, finished_at = ?,
             owner_host = NULL, owner_pid = NULL, owner_token = NULL, owner_start = NULL, lease_until = NULL WHERE id = ?`,
        )
        .run(text, this.isoNow(), id),
    );
  }

  /** Writes a run's outcome with `update`, unless it is already done (false then); a run not in the store is an error. */
  private settle(id: string, update: () => void): boolean {
    return this.write(() => {
      const row = this.row(id);
      if (!row) throw notInStore(id, this.path);
      if (row.status === 'done') return false;
      update();
      return true;
    });
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

  override close(): void {
    if (!this.db.open) return;
    clearInterval(this.leaseTimer);
    this.write(() => {
      this.db
        .prepare(
          `UPDATE runs SET status = 'queued', owner_host = NULL, owner_pid = NULL, owner_token = NULL, owner_start = NULL, lease_until = NULL
           WHERE status = 'running' AND owner_token = ?`,
        )
        .run(this.token);
    });
    openTokens.delete(this.token);
    super.close();
  }

  protected override viewer(): Viewer {
    return { host: this.host, pid: this.pid, token: this.token, now: this.now(), openTokens };
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction: it takes the write lock before reading. */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Marks a run running under this store (inside a write transaction). */
  private take(id: string): void {
    const now = this.isoNow();
    this.db
      .prepare(
        `UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?, finished_at = NULL, error = NULL,
           owner_host = ?, owner_pid = ?, owner_token = ?, owner_start = ?, lease_until = ? WHERE id = ?`,
      )
      .run(now, this.host, this.pid, this.token, this.start, this.leaseEnd(), id);
  }

  /** Whether this store may take the run now. */
  private claimable(row: SqlRunRow, retryFailed: boolean): boolean {
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

function notInStore(id: string, file: string): LayercutError {
  return new LayercutError(`run ${id} is not in the results store ${file}`, 'enqueue its plan first');
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/**
 * What the store keeps of an error: a LayercutError's whole message (what went wrong, every
 * line of it, and the hint); for anything else, a bug, the stack as well.
 */
export function errorText(error: unknown): string {
  if (error instanceof LayercutError) return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** A stored error without its stack frames: the message, every line of it. */
export function errorMessage(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s+at .+/.test(line))
    .join('\n')
    .trimEnd();
}
