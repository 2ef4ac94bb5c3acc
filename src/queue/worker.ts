/**
 * A Redis worker (`layercut worker --queue redis://…`): takes runs from the BullMQ queue one at
 * a time, runs each in its run process (a child: a crash or an out-of-memory kill fails that
 * run, not the worker) and hands the result back as the job's return value, which the
 * coordinator stores. Model files come from the plan's model source through this machine's
 * own caches; nothing but the plan travels through Redis.
 *
 *   a run that throws fails its job (BullMQ retries it while attempts are left, possibly on
 *   another worker); a run process that dies fails it likewise, and a new process is started
 *   a worker that dies (SIGKILL, power cut) stops renewing its job's lock: after `lockMs` the
 *   job counts as stalled, and another worker's stalled check (every `stalledMs`) puts it
 *   back in the queue
 *   the abort signal (Ctrl-C, SIGTERM): the run in progress stops at its next training step
 *   and its job goes back to the queue (not failed); the worker leaves
 *
 * While it lives it announces itself under `layercut:<queue>:worker:<name>` (expiring a few
 * heartbeats after it stops renewing), for `layercut status`.
 */
import os from 'node:os';

import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';

import { LayercutError } from '../errors.js';
import type { RunResult } from '../plan/types.js';
import type { RunEvent } from '../runner/events.js';
import { progressText } from '../runner/progress.js';
import { bindingWarning } from '../runtime/adapter.js';
import type { BackendName } from '../runtime/backend.js';
import {
  checkQueueName,
  DEFAULT_QUEUE_NAME,
  isRunJobData,
  parseRedisUrl,
  workerKeyPrefix,
  type RunJobData,
  type WorkerInfo,
} from './address.js';
import { bullConnection, checkRedis, openRedis } from './redis.js';
import { RunProcess } from './run-process.js';

export interface QueueWorkerOptions {
  /** The Redis server: redis://host:port. */
  url: string;
  /** The queue (default 'layercut'). */
  queueName?: string;
  /** How this worker is shown (default `<host>-<pid>`, with `-gpu<i>` when bound to a GPU). */
  name?: string;
  /** Bind the run process to this GPU (LAYERCUT_GPU, CUDA_VISIBLE_DEVICES). */
  gpu?: number;
  /** Run on this backend, whatever the plans say. */
  backend?: BackendName;
  /** How long a job's lock lasts without renewal (the worker renews it every half), ms (default 30 000). */
  lockMs?: number;
  /** How often this worker looks for stalled jobs (of dead workers), ms (default 30 000). */
  stalledMs?: number;
  /** How many times a job may stall before it fails (default 1). */
  maxStalled?: number;
  /** How often the worker announces itself, ms (default 2000). */
  heartbeatMs?: number;
  /** Aborting stops the worker: the run in progress goes back to the queue. */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Each line the run process writes to stderr. */
  onStderr?: (line: string) => void;
  /** Module the run process runs (see RunProcessOptions.entry). */
  entry?: string;
}

/** Least time between two progress updates sent to Redis for one run, ms (evaluations always go). */
const PROGRESS_TO_REDIS_MS = 500;

/** Thrown into BullMQ for a run that failed: its message is the job's failedReason. */
class RunFailedError extends Error {
  override name = 'RunFailedError';
  constructor(message: string, detail: string) {
    super(message);
    this.stack = detail;
  }
}

/** Runs jobs until the signal aborts; resolves with how many runs it finished and failed. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<{ done: number; failed: number }> {
  const emit = (event: RunEvent): void => options.onEvent?.(event);
  const address = parseRedisUrl(options.url);
  const queueName = checkQueueName(options.queueName ?? DEFAULT_QUEUE_NAME);
  for (const [value, option] of [
    [options.lockMs, 'lockMs'],
    [options.stalledMs, 'stalledMs'],
    [options.heartbeatMs, 'heartbeatMs'],
  ] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value < 100)) {
      throw new LayercutError(`${option} must be at least 100 ms, got ${value}`);
    }
  }
  await checkRedis(address);

  const gpu = options.gpu;
  const name = options.name ?? `${os.hostname()}-${process.pid}${gpu === undefined ? '' : `-gpu${gpu}`}`;
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const startedAt = new Date().toISOString();
  const info: WorkerInfo = {
    name,
    host: os.hostname(),
    pid: process.pid,
    gpu: gpu ?? null,
    backend: options.backend ?? null,
    state: 'idle',
    runId: null,
    doing: null,
    done: 0,
    failed: 0,
    startedAt,
    updatedAt: startedAt,
  };

  const redis = openRedis(address);
  redis.on('error', () => undefined); // reconnects by itself
  await redis.connect();
  const key = `${workerKeyPrefix(queueName)}${name}`;
  const announce = async (): Promise<void> => {
    info.updatedAt = new Date().toISOString();
    try {
      await redis.set(key, JSON.stringify(info), 'PX', heartbeatMs * 3);
    } catch {
      // Redis away for a moment: the next heartbeat tries again.
    }
  };

  let child: RunProcess | undefined;
  let stopping = options.signal?.aborted ?? false;
  const startChild = async (): Promise<RunProcess> => {
    const started = await RunProcess.start({
      name,
      ...(gpu !== undefined ? { gpu } : {}),
      ...(options.entry ? { entry: options.entry } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      // Workers on other machines cannot be compared here: only "not the GPU asked for" is seen.
      onBinding: (binding) => {
        const warning = bindingWarning(binding, new Map());
        const adapter = `${binding.backend} ${binding.adapter}`;
        emit({ kind: 'adapter', worker: name, gpu: binding.gpu, adapter, ...(warning ? { warning } : {}) });
      },
    });
    emit({ kind: 'worker', worker: name, state: 'started', pid: started.pid, detail: 'run process ready' });
    return started;
  };

  const processor = async (job: Job<RunJobData, RunResult>, token?: string): Promise<RunResult> => {
    if (!isRunJobData(job.data)) throw new UnrecoverableError(`job ${job.id} is not a layercut run`);
    const { id } = job.data;
    const plan = options.backend ? { ...job.data.plan, backend: options.backend } : job.data.plan;
    if (stopping) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (!child?.alive) child = await startChild();
    info.state = 'running';
    info.runId = id;
    info.doing = 'starting';
    void announce();
    emit({ kind: 'start', id, plan, worker: name, attempt: job.attemptsMade + 1 });
    let lastSentAt = -Infinity;
    const outcome = await child.run(id, plan, (progress) => {
      emit({ kind: 'progress', id, worker: name, progress });
      info.doing = progressText(progress);
      const now = performance.now();
      const always = progress.phase === 'train' && progress.kind === 'eval';
      if (always || now - lastSentAt >= PROGRESS_TO_REDIS_MS) {
        lastSentAt = now;
        job.updateProgress({ worker: name, progress }).catch(() => undefined);
      }
    });
    info.state = stopping ? 'stopping' : 'idle';
    info.runId = null;
    info.doing = null;
    const attempt = job.attemptsMade + 1;
    const retry = attempt < (job.opts.attempts ?? 1);
    switch (outcome.kind) {
      case 'done':
        info.done++;
        void announce();
        emit({ kind: 'done', id, worker: name, result: outcome.result, index: info.done, of: 0 });
        return outcome.result;
      case 'failed':
      case 'crashed':
        info.failed++;
        if (outcome.kind === 'crashed') {
          child = undefined;
          emit({
            kind: 'worker',
            worker: name,
            state: 'exited',
            detail: 'run process died; a new one starts for the next run',
          });
        }
        void announce();
        emit({
          kind: 'failed',
          id,
          worker: name,
          error: outcome.message,
          attempt,
          retry,
          index: info.done,
          of: 0,
        });
        throw new RunFailedError(
          outcome.message,
          outcome.kind === 'failed' ? outcome.detail : outcome.message,
        );
      case 'stopped':
        await job.moveToWait(token);
        throw new WaitingError();
    }
  };

  const worker = new Worker<RunJobData, RunResult>(queueName, processor, {
    connection: bullConnection(address),
    name,
    concurrency: 1,
    lockDuration: options.lockMs ?? 30_000,
    stalledInterval: options.stalledMs ?? 30_000,
    maxStalledCount: options.maxStalled ?? 1,
    autorun: false,
  });
  worker.on('error', () => undefined); // connection trouble: the client reconnects
  const heartbeat = setInterval(() => void announce(), heartbeatMs);
  try {
    await announce();
    // Ready before the first job: a job's clock should not include loading tfjs.
    child = await startChild();
    const running = worker.run();
    await worker.waitUntilReady();
    emit({
      kind: 'worker',
      worker: name,
      state: 'started',
      pid: process.pid,
      ...(gpu !== undefined ? { gpu } : {}),
      detail: `waiting for runs on queue '${queueName}' at ${address.display}`,
    });
    await new Promise<void>((resolve) => {
      if (options.signal?.aborted) return resolve();
      options.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    stopping = true;
    info.state = 'stopping';
    void announce();
    const stoppingChild = child?.stop();
    await worker.close(); // waits for the job in progress: it goes back to the queue
    await stoppingChild;
    await child?.stop();
    await running;
    emit({
      kind: 'worker',
      worker: name,
      state: 'stopped',
      detail: `${info.done} done, ${info.failed} failed`,
    });
    return { done: info.done, failed: info.failed };
  } finally {
    clearInterval(heartbeat);
    child?.kill();
    try {
      await redis.del(key);
    } catch {
      // it expires by itself
    }
    redis.disconnect();
  }
}
