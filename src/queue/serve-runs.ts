/**
 * The body of a run process: waits for `run` messages from its parent over IPC, executes each
 * with `runExperiment` (one at a time) and reports progress and the outcome back. Its entry is
 * run-process-main.ts; an entry bundled for another machine (bench/workers.ts) calls
 * `serveRuns()` itself when `isRunProcess()` says it was started as one.
 *
 * It never writes the results store: the parent does. It ignores Ctrl-C (the parent decides and
 * sends `stop`), and it exits as soon as its parent is gone (the IPC channel closes), so a
 * killed worker leaves no orphan training.
 */
import { Worker } from 'node:worker_threads';

import { LayercutError } from '../errors.js';
import { describeBackend } from '../runtime/backend.js';
import { runExperiment, type RunProgress } from '../experiment/run.js';
import { isToRunProcess, type FromRunProcess } from './messages.js';

/** Least time between two progress messages of one phase (phase changes, evaluations and last steps always go). */
const PROGRESS_EVERY_MS = 200;

/** Decides which progress events are worth a message. */
class ProgressThrottle {
  private lastPhase = '';
  private lastSentAt = -Infinity;

  wants(progress: RunProgress, now: number): boolean {
    const phase =
      progress.phase === 'download'
        ? `download ${progress.file}`
        : progress.phase === 'train'
          ? `train ${progress.kind}`
          : progress.phase;
    const final =
      (progress.phase === 'train' && (progress.kind === 'eval' || progress.step >= progress.totalSteps)) ||
      ((progress.phase === 'download' || progress.phase === 'load') && progress.loaded >= progress.total);
    if (!final && phase === this.lastPhase && now - this.lastSentAt < PROGRESS_EVERY_MS) return false;
    this.lastPhase = phase;
    this.lastSentAt = now;
    return true;
  }
}

/**
 * Kills this process once its parent is gone. The IPC channel's 'disconnect' says so only when
 * the main thread gets a turn of the event loop, which a run gives once per training step or
 * evaluation batch, and a single step of a large model on a CPU backend can take minutes; a
 * thread of its own notices within a second (the parent id changes).
 */
function watchParent(): void {
  const watchdog = new Worker(
    `const parent = ${process.ppid};
     setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, 1000);`,
    { eval: true },
  );
  watchdog.unref();
}

function send(message: FromRunProcess): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Serves runs until told to stop or until the parent goes away. Resolves never: the process exits. */
export async function serveRuns(): Promise<void> {
  if (!process.send) {
    throw new LayercutError(
      'serveRuns() must run in a process started by RunProcess: it talks to its parent over IPC',
      'start runs through `layercut run --workers N` or `layercut worker`',
    );
  }
  let current: { id: string; controller: AbortController } | undefined;
  let stopping = false;

  // The parent handles Ctrl-C and sends `stop` (RunProcess starts us in a process group of our
  // own, so a terminal's Ctrl-C does not reach us; a SIGINT sent to us alone is ignored too).
  process.on('SIGINT', () => undefined);
  // Parent gone (killed, crashed): nobody would receive the result.
  process.on('disconnect', () => process.exit(0));
  watchParent();

  const stopNow = async (id: string | null): Promise<void> => {
    await send({ type: 'stopped', id });
    process.exit(0);
  };

  const execute = async (id: string, plan: Parameters<typeof runExperiment>[0]): Promise<void> => {
    const controller = new AbortController();
    current = { id, controller };
    const throttle = new ProgressThrottle();
    try {
      const result = await runExperiment(plan, {
        signal: controller.signal,
        onProgress: (progress) => {
          if (throttle.wants(progress, performance.now())) void send({ type: 'progress', id, progress });
        },
      });
      await send({ type: 'done', id, result, backendDetail: describeBackend() });
    } catch (error) {
      if (controller.signal.aborted) return stopNow(id);
      const message = error instanceof Error ? error.message : String(error);
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      await send({ type: 'failed', id, message, detail });
    } finally {
      current = undefined;
    }
    // Asked to stop while the run finished anyway (the signal is read at each step and evaluation batch).
    if (stopping) await stopNow(null);
  };

  process.on('message', (message: unknown) => {
    if (!isToRunProcess(message)) return;
    if (message.type === 'stop') {
      stopping = true;
      if (current) current.controller.abort();
      else void stopNow(null);
      return;
    }
    if (current || stopping) return; // one run at a time; the parent never sends a second
    void execute(message.id, message.plan);
  });

  await send({ type: 'ready', pid: process.pid });
  return new Promise<void>(() => undefined);
}
