/**
 * `RunProcess`: one child process that executes runs for its parent (the local pool's
 * coordinator, or a `layercut worker`), one at a time. A child of its own keeps a crash, an
 * out-of-memory kill or a leak in one run from taking the parent down; the parent sees it as
 * an outcome of that run (`crashed`) and starts a new child for the next one.
 *
 *   const child = await RunProcess.start({ name: 'w0', gpu: 0 });
 *   const outcome = await child.run(id, plan, (progress) => …);   // done | failed | crashed | stopped
 *   await child.stop();
 *
 * The child is bound to a GPU through its environment: `LAYERCUT_GPU=<i>` (the webgpu backend
 * picks Dawn's adapter i with it) and `CUDA_VISIBLE_DEVICES=<i>` (for CUDA through TensorFlow).
 * Without a GPU it is left as the parent's environment is. When its backend starts, the child
 * says on stderr which device it got (runtime/adapter.ts); `binding` and `onBinding` give it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { LayercutError } from '../errors.js';
import { GPU_ENV, parseGpuBindingLine, type GpuBinding } from '../runtime/adapter.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunProgress } from '../experiment/run.js';
import { isFromRunProcess, RUN_PROCESS_ENV, type FromRunProcess, type ToRunProcess } from './messages.js';

export { GPU_ENV };

export interface RunProcessOptions {
  /** What progress lines call this process, e.g. 'w0'. */
  name: string;
  /** Bind the process to this GPU (LAYERCUT_GPU and CUDA_VISIBLE_DEVICES); undefined: leave the environment. */
  gpu?: number;
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
  /**
   * The module the child runs: by default run-process-main (.ts through tsx's loader, or .js
   * from the build). A bundle passes its own file; it must call `serveRuns()` when
   * `isRunProcess()` is true.
   */
  entry?: string;
  /**
   * How long `stop()` waits for the child to leave before killing it, ms (default 5000). The
   * child reads `stop` at its next training step or evaluation batch (each gives the event loop
   * a turn: runtime/event-loop.ts); a single step longer than this grace is abandoned by killing
   * the process, and the run goes back to the queue all the same.
   */
  stopTimeoutMs?: number;
  /** Each line the child writes to stderr (default: kept only for crash reports). */
  onStderr?: (line: string) => void;
  /** The GPU device the child says it got (its `layercut: gpu …` line, runtime/adapter.ts), when its backend starts. */
  onBinding?: (binding: GpuBinding) => void;
}

/** How a run given to `RunProcess.run` ended. */
export type RunOutcome =
  | { kind: 'done'; result: RunResult; backendDetail: string }
  /** The run threw: `message` for people, `detail` (with the stack) for the store. */
  | { kind: 'failed'; message: string; detail: string }
  /** The process died during the run (killed, out of memory, a native crash). */
  | { kind: 'crashed'; message: string }
  /** `stop()` interrupted it: it goes back to the queue, it did not fail. */
  | { kind: 'stopped' };

/** The child's default entry, next to this module (run-process-main.ts or .js). */
function defaultEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(here), `run-process-main${path.extname(here)}`);
  if (!existsSync(entry)) {
    throw new LayercutError(
      `cannot start a run process: ${entry} does not exist (is layercut bundled into one file?)`,
      'pass `entry`: a module that calls serveRuns() when isRunProcess() is true',
    );
  }
  return entry;
}

/**
 * Node options for a child running `entry`: tsx's ESM loader for TypeScript (as bin/layercut.mjs
 * registers it), by absolute URL so that it loads whatever the child's working folder is.
 */
function execArgvFor(entry: string): string[] {
  return /\.(c|m)?ts$/.test(entry) ? ['--import', import.meta.resolve('tsx/esm')] : [];
}

/** Lines a child wrote to stderr, the last few kept. */
class StderrTail {
  private lines: string[] = [];
  private partial = '';

  constructor(
    private readonly keep: number,
    private readonly onLine?: (line: string) => void,
  ) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.onLine?.(line);
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > this.keep) this.lines.shift();
    }
  }

  text(): string {
    return [...this.lines, ...(this.partial.trim() ? [this.partial] : [])].join('\n');
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'was killed (SIGKILL: out of memory, or killed from outside)';
  if (signal) return `was killed by ${signal}`;
  return `exited with code ${code}`;
}

interface CurrentRun {
  id: string;
  onProgress: ((progress: RunProgress) => void) | undefined;
  resolve: (outcome: RunOutcome) => void;
}

export class RunProcess {
  readonly name: string;
  readonly gpu: number | undefined;
  /** The GPU device the child reported (undefined until its backend started, or when it is not bound). */
  binding: GpuBinding | undefined;
  private readonly child: ChildProcess;
  private readonly stderr: StderrTail;
  private readonly stopTimeoutMs: number;
  private current: CurrentRun | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private stopRequested = false;

  private constructor(options: RunProcessOptions) {
    this.name = options.name;
    this.gpu = options.gpu;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5000;
    this.stderr = new StderrTail(20, (line) => {
      const binding = parseGpuBindingLine(line);
      if (binding) {
        this.binding = binding;
        options.onBinding?.(binding);
      }
      options.onStderr?.(line);
    });
    const entry = options.entry ?? defaultEntry();
    const gpuEnv =
      options.gpu === undefined
        ? {}
        : { [GPU_ENV]: String(options.gpu), CUDA_VISIBLE_DEVICES: String(options.gpu) };
    this.child = fork(entry, [], {
      execArgv: execArgvFor(entry),
      env: { ...process.env, ...options.env, ...gpuEnv, [RUN_PROCESS_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // A process group of its own: Ctrl-C in the terminal reaches the parent only, which
      // decides (and tells the child). The child still leaves when the parent dies (serve-runs.ts).
      detached: true,
    });
    this.child.stdout!.on('data', () => undefined); // nothing useful there; drain it
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        const run = this.current;
        this.current = undefined;
        if (run) {
          // Asked to stop (and killed if it took too long): the run was abandoned, not broken.
          run.resolve(
            this.stopRequested
              ? { kind: 'stopped' }
              : { kind: 'crashed', message: this.crashMessage(run.id) },
          );
        }
        resolve();
      });
    });
    // A send to a child that just died fails with EPIPE / ERR_IPC_CHANNEL_CLOSED: the exit handler reports it.
    this.child.on('error', () => undefined);
    this.child.on('message', (message: unknown) => {
      if (isFromRunProcess(message)) this.receive(message);
    });
  }

  /** Forks a run process and waits until it is ready for runs; rejects when it cannot start. */
  static async start(options: RunProcessOptions): Promise<RunProcess> {
    const child = new RunProcess(options);
    await child.ready();
    return child;
  }

  /** The child's process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** False once the child has exited. */
  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** True while a run is in progress. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Resolves once the process has exited. */
  get exited(): Promise<void> {
    return this.exitPromise;
  }

  /** Runs one plan; never rejects: a crash or a stop is an outcome. */
  run(id: string, plan: RunPlan, onProgress?: (progress: RunProgress) => void): Promise<RunOutcome> {
    if (this.current) throw new Error(`run process ${this.name} is already running ${this.current.id}`);
    if (!this.alive) {
      return Promise.resolve({ kind: 'crashed', message: this.crashMessage(id) });
    }
    return new Promise<RunOutcome>((resolve) => {
      this.current = { id, onProgress, resolve };
      this.send({ type: 'run', id, plan });
    });
  }

  /**
   * Asks the child to stop (its run, if any, ends at the next training step with the outcome
   * `stopped`; a run that finishes first is `done`) and waits for it to exit; kills it after
   * `stopTimeoutMs` (the run is then `stopped` too).
   */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.stopRequested = true;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.kill(), this.stopTimeoutMs);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child at once (SIGKILL); a run in progress ends `crashed` (or `stopped` after `stop()`). */
  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  private ready(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (isFromRunProcess(message) && message.type === 'ready') {
          this.child.off('message', onMessage);
          resolve();
        }
      };
      this.child.on('message', onMessage);
      void this.exitPromise.then(() =>
        reject(
          new LayercutError(
            `run process ${this.name} ${describeExit(this.exitInfo!.code, this.exitInfo!.signal)} before it was ready` +
              (this.stderr.text() ? `:\n${this.stderr.text()}` : ''),
            'see the error above; `layercut run` without --workers runs in one process',
          ),
        ),
      );
    });
  }

  private send(message: ToRunProcess): void {
    if (!this.child.connected) return;
    this.child.send(message, (error) => {
      // The child is gone; its exit resolves the run.
      if (error) this.kill();
    });
  }

  private receive(message: FromRunProcess): void {
    const run = this.current;
    switch (message.type) {
      case 'ready':
        return;
      case 'progress':
        if (run && run.id === message.id) run.onProgress?.(message.progress);
        return;
      case 'done':
        if (run && run.id === message.id) {
          this.current = undefined;
          run.resolve({ kind: 'done', result: message.result, backendDetail: message.backendDetail });
        }
        return;
      case 'failed':
        if (run && run.id === message.id) {
          this.current = undefined;
          run.resolve({ kind: 'failed', message: message.message, detail: message.detail });
        }
        return;
      case 'stopped':
        if (run && run.id === message.id) {
          this.current = undefined;
          run.resolve({ kind: 'stopped' });
        }
        return;
    }
  }

  private crashMessage(id: string): string {
    const exit = this.exitInfo ? describeExit(this.exitInfo.code, this.exitInfo.signal) : 'is gone';
    const tail = this.stderr.text();
    return `run process ${this.name} (pid ${this.pid}) ${exit} while running ${id}${tail ? `; its last output:\n${tail}` : ''}`;
  }
}
