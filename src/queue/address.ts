/**
 * Names shared by the Redis coordinator, workers and `layercut status`, with no Redis client
 * loaded: the queue's address (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS),
 * the queue name, a run's job id, a job's data, and the keys where workers announce themselves.
 *
 * Job id: `run-<run id>`. BullMQ refuses a custom job id that reads as an integer, which a
 * 16-hex-digit run id occasionally does; the prefix keeps the mapping one-to-one, so a run is
 * in the queue at most once however many coordinators add it.
 */
import { LayercutError } from '../errors.js';
import type { RunPlan } from '../plan/types.js';

/** The queue `layercut run --queue` and `layercut worker` use unless told otherwise. */
export const DEFAULT_QUEUE_NAME = 'layercut';

export interface RedisAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
  /** The URL without its password, for messages. */
  display: string;
}

/** Parses `redis://host:port` (user, password, `/db` and `rediss://` allowed). */
export function parseRedisUrl(text: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LayercutError(`--queue ${text}: not a URL`, 'write it as redis://host:6379');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new LayercutError(
      `--queue ${text}: expected a redis:// or rediss:// URL`,
      'write it as redis://host:6379',
    );
  }
  if (!url.hostname) throw new LayercutError(`--queue ${text}: no host`, 'write it as redis://host:6379');
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && (!Number.isInteger(db) || db < 0)) {
    throw new LayercutError(
      `--queue ${text}: the database after / must be a number`,
      'e.g. redis://host:6379/0',
    );
  }
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(db !== undefined ? { db } : {}),
    tls: url.protocol === 'rediss:',
    display: shown.href.replace(/\/$/, ''),
  };
}

/** Checks a queue name (BullMQ keys are `bull:<name>:…`, so no colon). */
export function checkQueueName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new LayercutError(
      `--queue-name ${name}: use letters, digits, '.', '_' and '-' only`,
      `the default is ${DEFAULT_QUEUE_NAME}`,
    );
  }
  return name;
}

const JOB_PREFIX = 'run-';

/** The job id of a run. */
export function jobIdOf(runId: string): string {
  return `${JOB_PREFIX}${runId}`;
}

/** The run id of a job id (undefined for a job layercut did not add). */
export function runIdOfJob(jobId: string | undefined): string | undefined {
  return jobId?.startsWith(JOB_PREFIX) ? jobId.slice(JOB_PREFIX.length) : undefined;
}

/** What a job carries: the run's id and its plan. Model files are never shipped: workers fetch them. */
export interface RunJobData {
  id: string;
  plan: RunPlan;
}

export function isRunJobData(value: unknown): value is RunJobData {
  if (typeof value !== 'object' || value === null) return false;
  const data = value as { id?: unknown; plan?: unknown };
  return typeof data.id === 'string' && typeof data.plan === 'object' && data.plan !== null;
}

/** What a worker announces about itself (a key with a short expiry, renewed while it lives). */
export interface WorkerInfo {
  name: string;
  host: string;
  pid: number;
  gpu: number | null;
  backend: string | null;
  state: 'idle' | 'running' | 'stopping';
  /** The run it is on (state 'running'). */
  runId: string | null;
  /** What that run is doing, in a few words. */
  doing: string | null;
  done: number;
  failed: number;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
}

/** Keys of the worker announcements of a queue: `layercut:<queue>:worker:<name>`. */
export function workerKeyPrefix(queueName: string): string {
  return `layercut:${queueName}:worker:`;
}
