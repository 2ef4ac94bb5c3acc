/**
 * The Redis coordinator behind `layercut run <file> --queue redis://…`: puts the runs of a sweep
 * on a BullMQ queue for `layercut worker`s anywhere to run, waits for their results and writes
 * them into this machine's results store — the only store, written by this process only.
 *
 *   triage against the store (finished runs are not queued again; failed ones only with retryFailed)
 *   listen to the queue's events, then add one job per run: job id `run-<run id>` (so a run is
 *   never queued twice), largest run first (BullMQ priority), `retries + 1` attempts
 *   a job already in the queue is left there; one that finished while no coordinator listened
 *   has its result collected
 *   events: active → start (the store marks the run running), progress, completed → store the
 *   result once (finish() refuses a second), failed (after its attempts) → store the failure,
 *   stalled (its worker died: BullMQ gives the job to another worker) → say so
 *   every few seconds, each pending job's state is read as well, in case an event was missed
 *   stored jobs are removed from Redis: the store is the record, the queue only the transport
 *
 * Ctrl-C (the abort signal) stops the waiting, not the work: jobs stay in the queue, workers go
 * on, and the same command later collects what finished meanwhile. One of the three executors
 * (src/runner/executor.ts): `redisQueue({ url })`.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';

import { LayercutError } from '../errors.js';
import type { RunResult } from '../plan/types.js';
import type { RunEvent } from '../runner/events.js';
import { RunsInterruptedError } from '../runner/executor.js';
import type { ExecuteOptions, Executor, RunsOutcome, SweepRun } from '../runner/executor.js';
import { SweepLedger } from '../runner/ledger.js';
import type { RunProgress } from '../experiment/run.js';
import {
  checkQueueName,
  DEFAULT_QUEUE_NAME,
  jobIdOf,
  parseRedisUrl,
  runIdOfJob,
  type RedisAddress,
  type RunJobData,
} from './address.js';
import { bullConnection, checkRedis } from './redis.js';

export interface QueueOptions {
  /** The Redis server: redis://host:port. */
  url: string;
  /** The queue (default 'layercut'); workers must name the same one. */
  queueName?: string;
  /** Attempts after a run's first failure (default 1). */
  retries?: number;
  /** How often every pending job's state is read besides the events, ms (default 3000). */
  reconcileMs?: number;
}

/** The progress a worker attaches to its job. */
interface JobProgress {
  worker: string;
  progress: RunProgress;
}

function isJobProgress(value: unknown): value is JobProgress {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { worker?: unknown; progress?: unknown };
  return typeof v.worker === 'string' && typeof v.progress === 'object' && v.progress !== null;
}

/** A worker's return value that is the result of run `id`. */
function isRunResult(value: unknown, id: string): value is RunResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<RunResult>;
  return (
    v.id === id && typeof v.test === 'object' && typeof v.timings === 'object' && typeof v.size === 'object'
  );
}

type RunJob = Job<RunJobData, unknown>;

/**
 * An executor that runs the runs on the queue's workers; see the file comment. The address,
 * the queue name and `retries` are checked here; the Redis server when the sweep starts. Ctrl-C
 * (the signal) stops the waiting: the runs stay on the queue.
 */
export function redisQueue(queueOptions: QueueOptions): Executor {
  const address = parseRedisUrl(queueOptions.url);
  const queueName = checkQueueName(queueOptions.queueName ?? DEFAULT_QUEUE_NAME);
  const retries = queueOptions.retries ?? 1;
  if (!Number.isInteger(retries) || retries < 0)
    throw new LayercutError(`retries must be a whole number ≥ 0, got ${retries}`);
  const reconcileMs = queueOptions.reconcileMs ?? 3000;
  return {
    execute: (runs, options) => runOnQueue(runs, { address, queueName, retries, reconcileMs }, options),
  };
}

async function runOnQueue(
  runs: readonly SweepRun[],
  queueOptions: { address: RedisAddress; queueName: string; retries: number; reconcileMs: number },
  options: ExecuteOptions,
): Promise<RunsOutcome> {
  const emit = (event: RunEvent): void => options.onEvent?.(event);
  const { address, queueName, retries } = queueOptions;
  await checkRedis(address);

  const { store } = options;
  const connection = bullConnection(address);
  let queue: Queue<RunJobData, unknown> | undefined;
  let events: QueueEvents | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;
  try {
    const ledger = new SweepLedger(store, runs, options, emit);
    ledger.announce(`on queue '${queueName}' at ${address.display}`);
    const toRun = ledger.toRun;
    const pending = new Map(toRun.map((run) => [run.id, run]));
    let whenSettled: () => void = () => undefined;
    const allSettled = new Promise<void>((resolve) => (whenSettled = resolve));
    const checkSettled = (): void => {
      if (pending.size === 0) whenSettled();
    };

    queue = new Queue<RunJobData, unknown>(queueName, { connection });
    events = new QueueEvents(queueName, { connection });
    // Lost connections are retried by the client; the reconcile loop catches up afterwards.
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    const q = queue;

    // Event handlers read the job from Redis; run them one after another so lines come in order.
    let chain = Promise.resolve();
    const serially = (step: () => Promise<void> | void): void => {
      chain = chain.then(step).catch(() => undefined);
    };
    const removeJob = async (id: string): Promise<void> => {
      try {
        await q.remove(jobIdOf(id));
      } catch {
        // Still locked by its worker for a moment: it stays, harmless (the store already has it).
      }
    };

    /**
     * A run that settled has started: when its 'active' event is still on its way (a loaded
     * machine) or the reconcile timer read the job's end first, it is marked running now, so
     * that it counts its attempt. A run an earlier coordinator started keeps its count.
     */
    const markStarted = (id: string): void => {
      if (store.get(id)?.status === 'queued') store.markRunning(id);
    };
    const completed = async (id: string, value: unknown, worker: string): Promise<void> => {
      if (!pending.has(id)) return;
      if (!isRunResult(value, id)) {
        return failedFinally(id, `worker ${worker} returned no result for run ${id}`, worker, 1);
      }
      pending.delete(id);
      markStarted(id);
      ledger.done(id, worker, value);
      await removeJob(id);
      checkSettled();
    };
    const failedFinally = async (
      id: string,
      reason: string,
      worker: string,
      attempt: number,
    ): Promise<void> => {
      if (!pending.has(id)) return;
      pending.delete(id);
      markStarted(id);
      ledger.failed({ id, worker, message: reason, detail: reason, attempt, retry: false });
      await removeJob(id);
      checkSettled();
    };
    /** Settles a run from its job's state; true when the job is finished. */
    const settleFrom = async (id: string, job: RunJob): Promise<boolean> => {
      const state = await job.getState();
      if (state === 'completed') {
        await completed(id, job.returnvalue, job.processedBy ?? '?');
        return true;
      }
      if (state === 'failed') {
        await failedFinally(id, job.failedReason || 'failed', job.processedBy ?? '?', job.attemptsMade);
        return true;
      }
      return false;
    };

    events.on('active', ({ jobId }) =>
      serially(async () => {
        const id = runIdOfJob(jobId);
        const run = id === undefined ? undefined : pending.get(id);
        if (!id || !run) return;
        store.markRunning(id);
        const job = (await q.getJob(jobId)) as RunJob | undefined;
        emit({
          kind: 'start',
          id,
          plan: run.plan,
          worker: job?.processedBy ?? '?',
          attempt: (job?.attemptsMade ?? 0) + 1,
        });
      }),
    );
    events.on('progress', ({ jobId, data }) => {
      const id = runIdOfJob(jobId);
      if (id && pending.has(id) && isJobProgress(data)) {
        emit({ kind: 'progress', id, worker: data.worker, progress: data.progress });
      }
    });
    events.on('completed', ({ jobId, returnvalue }) =>
      serially(async () => {
        const id = runIdOfJob(jobId);
        if (!id || !pending.has(id)) return;
        const job = (await q.getJob(jobId)) as RunJob | undefined;
        await completed(id, returnvalue, job?.processedBy ?? '?');
      }),
    );
    events.on('failed', ({ jobId, failedReason }) =>
      serially(async () => {
        const id = runIdOfJob(jobId);
        if (!id || !pending.has(id)) return;
        const job = (await q.getJob(jobId)) as RunJob | undefined;
        // A 'failed' event with attempts left would move the job back to wait: trust its state.
        if (job && (await job.getState()) !== 'failed') return;
        await failedFinally(id, failedReason, job?.processedBy ?? '?', job?.attemptsMade ?? 1);
      }),
    );
    events.on('stalled', ({ jobId }) => {
      const id = runIdOfJob(jobId);
      if (id && pending.has(id)) emit({ kind: 'stalled', id });
    });
    await events.waitUntilReady();

    // Add the jobs (after the listener is up: no event can be missed).
    let added = 0;
    let existing = 0;
    let recovered = 0;
    for (const [rank, run] of toRun.entries()) {
      const jobId = jobIdOf(run.id);
      const job = (await q.getJob(jobId)) as RunJob | undefined;
      if (job) {
        const state = await job.getState();
        if (state === 'completed' || (state === 'failed' && !options.retryFailed)) {
          recovered++;
          serially(() => settleFrom(run.id, job).then(() => undefined));
          continue;
        }
        if (state !== 'failed') {
          existing++; // waiting, active, delayed: on its way
          continue;
        }
        await job.remove(); // failed before, and asked to run again
      }
      await q.add(
        'run',
        { id: run.id, plan: run.plan },
        {
          jobId,
          priority: Math.min(rank + 1, 2_097_152),
          attempts: retries + 1,
          removeOnComplete: false,
          removeOnFail: false,
        },
      );
      added++;
    }
    emit({ kind: 'enqueued', added, existing, recovered });
    checkSettled();

    // Missed events (a reconnect, a worker that finished between two listeners): read the states.
    reconcileTimer = setInterval(
      () =>
        serially(async () => {
          for (const id of [...pending.keys()]) {
            const job = (await q.getJob(jobIdOf(id))) as RunJob | undefined;
            if (job) await settleFrom(id, job);
            else if (pending.has(id)) {
              // Removed from Redis by someone else: put it back.
              const run = pending.get(id)!;
              await q.add('run', { id, plan: run.plan }, { jobId: jobIdOf(id), attempts: retries + 1 });
            }
          }
        }),
      queueOptions.reconcileMs,
    );

    const interrupted = new Promise<'interrupted'>((resolve) => {
      if (options.signal?.aborted) resolve('interrupted');
      options.signal?.addEventListener('abort', () => resolve('interrupted'), { once: true });
    });
    const how = await Promise.race([allSettled.then(() => 'settled' as const), interrupted]);
    await chain;

    if (how === 'interrupted' && pending.size > 0) {
      // Nothing was stopped: the runs stay on the queue, and its workers go on.
      const left = [...pending.keys()];
      emit({ kind: 'interrupted', requeued: [], waiting: left });
      throw new RunsInterruptedError([], ledger.outcome(), left);
    }
    return ledger.outcome();
  } finally {
    if (reconcileTimer) clearInterval(reconcileTimer);
    await events?.close();
    await queue?.close();
  }
}
