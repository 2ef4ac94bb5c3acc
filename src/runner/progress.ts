/**
 * Progress of a sweep as text (stderr), from `RunEvent`s, whatever the executor: on a terminal
 * a status line redrawn in place with `\r`, permanent lines above it; otherwise — a log file, a
 * pipe, CI — plain lines now and then. Each run ends with a permanent line: done with its test
 * accuracy (and DIVERGED with why, when its loss exploded), or failed with why (the whole
 * message, continuation lines indented). Two layouts, chosen by the events:
 *
 * Runs in this process, one at a time: the status line follows the run (a bar for downloads,
 * loading and training steps, with the loss and the last validation accuracy); plain lines at
 * each phase, and every 10 s within one.
 *
 *   [2/8] tiny-gpt2 first 2 · spam · lm · seed 0  train ███████░░░░░░░░ 18/40  epoch 2  loss 0.532  val 81.2%
 *
 * Runs on worker processes (the plan names where they go, events name their worker), several at
 * once: every start, result, failure and worker change is a line tagged with its worker; plain
 * lines when training starts and at each evaluation; the status line shows what each worker is
 * doing now.
 *
 *   [w1] start 9a00ab423fce9d09  tiny-gpt2 first 2 · spam · lm · seed 0
 *   [3/8] done 9a00ab423fce9d09 on w1  tiny-gpt2 first 2 · spam · lm · seed 0: test accuracy 75.5%, macro-F1 60.6% (19.3 s)
 *   3/8 settled · w0 tiny-gpt2 first 3 seed 1 train ███░░░░ 12/40 · w1 tiny-gpt2 first 1 seed 0 load
 */
import { indentContinuation } from '../errors.js';
import { layerText } from '../models/selection.js';
import { modelName, runLabel } from '../results/rows.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunProgress } from '../experiment/run.js';
import type { RunEvent, SkipReason } from './events.js';

/** The part of a writable stream the printer uses (process.stderr fits). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressPrinterOptions {
  /** Where to write (default: process.stderr). */
  stream?: ProgressStream;
  /** Redraw a status line with `\r` (default: when the stream is a terminal). */
  live?: boolean;
  /** Least time between two redraws of the status line, ms (default 100). */
  redrawMs?: number;
  /** Least time between two plain progress lines of one run, ms (default 10000); phase changes always print. */
  plainEveryMs?: number;
  /** The clock, ms (tests). */
  now?: () => number;
}

/** A bar of `width` cells, `fraction` of them full. */
export function bar(fraction: number, width = 20): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(clamped * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

const skipText: Record<SkipReason, string> = {
  'failed-before': 'failed before (--retry-failed runs it again)',
  'running-elsewhere': 'running in another process',
  'finished-elsewhere': 'finished by another process',
};

/** The run of this process (it runs one at a time), kept between events. */
interface HereRun {
  id: string;
  position: { index: number; of: number } | undefined;
  label: string;
  startedAt: number;
  /** Last validation accuracy. */
  validation?: number;
  /** Last training step, for redrawing the bar after an evaluation. */
  step?: { step: number; totalSteps: number; loss: number };
  lastPlainAt: number;
  lastPhase?: string;
}

/** The run a worker process is on. */
interface WorkerRun {
  id: string;
  plan: RunPlan;
  startedAt: number;
  /** What it is doing, in a few words (progressText). */
  doing: string;
  announcedTraining: boolean;
}

type PlanEvent = Extract<RunEvent, { kind: 'plan' }>;
type SkippedEvent = Extract<RunEvent, { kind: 'skipped' }>;
type InterruptedEvent = Extract<RunEvent, { kind: 'interrupted' }>;

/** "12 runs, 3 finished before, 9 to run[ where], 1 skipped (results store FILE)". */
export function planLine(event: PlanEvent): string {
  const parts = [`${event.total} run${event.total === 1 ? '' : 's'}`];
  if (event.finished) parts.push(`${event.finished} finished before`);
  parts.push(event.where ? `${event.toRun} to run ${event.where}` : `${event.toRun} to run`);
  if (event.skipped) parts.push(`${event.skipped} skipped`);
  return `${parts.join(', ')} (results store ${event.store})`;
}

/** "skip ID: why — detail" (a detail of several lines indented under it). */
export function skipLine(event: SkippedEvent): string {
  return `skip ${event.id}: ${skipText[event.reason]}${event.detail ? ` — ${indentContinuation(event.detail)}` : ''}`;
}

/** "test accuracy 75.5%, macro-F1 60.6%", and what makes the numbers untrustworthy: "; DIVERGED: why". */
export function resultText(result: RunResult): string {
  const scores = `test accuracy ${percent(result.test.accuracy)}, macro-F1 ${percent(result.test.macroF1)}`;
  return result.divergence === undefined ? scores : `${scores}; DIVERGED: ${result.divergence}`;
}

/** What the interruption means for the runs: one run of this process, or the runs of workers. */
function interruptedLine(event: InterruptedEvent, severalAtOnce: boolean): string {
  const { requeued, waiting = [] } = event;
  if (waiting.length > 0) {
    return (
      `stopped waiting: ${waiting.length} run${waiting.length === 1 ? ' is' : 's are'} still on the queue and the workers go on; ` +
      'run the same command again to collect the results'
    );
  }
  const resume = 'run the same command again to resume';
  if (!severalAtOnce) {
    return requeued.length > 0
      ? `interrupted: run ${requeued[0]} was put back in the queue; ${resume}`
      : `interrupted; ${resume}`;
  }
  return requeued.length > 0
    ? `interrupted: ${requeued.length} run${requeued.length === 1 ? '' : 's'} put back in the queue; ${resume}`
    : `interrupted between runs; ${resume}`;
}

/** "first 2 seed 0": the short name of a run in the workers' status line. */
function shortLabel(plan: RunPlan): string {
  return `${modelName(plan.model)} ${layerText(plan.layers)} seed ${plan.seed}`;
}

/** What a run is doing, in a few words (the workers' status line, `layercut status`). */
export function progressText(progress: RunProgress): string {
  switch (progress.phase) {
    case 'prepare':
      return 'preparing';
    case 'download':
      return `download ${progress.file} ${bar(progress.total ? progress.loaded / progress.total : 0, 8)}`;
    case 'load':
      return 'load';
    case 'train':
      return progress.kind === 'eval'
        ? `eval ${percent(progress.accuracy)}`
        : `train ${bar(progress.step / progress.totalSteps, 8)} ${progress.step}/${progress.totalSteps}`;
    case 'test':
      return 'test';
  }
}

export class ProgressPrinter {
  private readonly stream: ProgressStream;
  private readonly live: boolean;
  private readonly redrawMs: number;
  private readonly plainEveryMs: number;
  private readonly now: () => number;
  /** The run of this process, when runs run here. */
  private run: HereRun | undefined;
  /** Per worker process: the run it is on. */
  private readonly working = new Map<string, WorkerRun>();
  /** Runs go to worker processes (the plan said where, or an event named its worker). */
  private severalAtOnce = false;
  private settled = 0;
  private of = 0;
  private statusLine = '';
  private lastDrawAt = -Infinity;

  constructor(options: ProgressPrinterOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.live = options.live ?? this.stream.isTTY === true;
    this.redrawMs = options.redrawMs ?? 100;
    this.plainEveryMs = options.plainEveryMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Pass this as `onEvent` (it is bound). */
  readonly handle = (event: RunEvent): void => {
    if ('worker' in event && event.worker !== undefined) this.severalAtOnce = true;
    switch (event.kind) {
      case 'plan':
        this.of = event.toRun;
        if (event.where !== undefined) this.severalAtOnce = true;
        this.line(planLine(event));
        return;
      case 'skipped':
        this.line(skipLine(event));
        return;
      case 'enqueued': {
        const parts = [`${event.added} added to the queue`];
        if (event.existing) parts.push(`${event.existing} already in it`);
        if (event.recovered)
          parts.push(`${event.recovered} finished while no coordinator was waiting (results collected)`);
        this.line(parts.join(', '));
        return;
      }
      case 'worker': {
        const where = event.gpu === undefined ? '' : ` on GPU ${event.gpu}`;
        const pid = event.pid === undefined ? '' : ` (pid ${event.pid})`;
        const detail = event.detail ? `: ${event.detail}` : '';
        this.line(`[${event.worker}] worker ${event.state}${pid}${where}${detail}`);
        if (event.state !== 'started') this.working.delete(event.worker);
        return;
      }
      case 'adapter':
        this.line(`[${event.worker}] GPU ${event.gpu} → ${event.adapter}`);
        if (event.warning) this.line(`[${event.worker}] warning: ${event.warning}`);
        return;
      case 'start': {
        if (event.worker !== undefined) {
          this.working.set(event.worker, {
            id: event.id,
            plan: event.plan,
            startedAt: this.now(),
            doing: 'starting',
            announcedTraining: false,
          });
          const attempt = (event.attempt ?? 1) > 1 ? ` (attempt ${event.attempt})` : '';
          this.line(`[${event.worker}] start ${event.id}  ${runLabel(event.plan)}${attempt}`);
          return;
        }
        const position =
          event.index !== undefined && event.of !== undefined
            ? { index: event.index, of: event.of }
            : undefined;
        this.run = {
          id: event.id,
          position,
          label: runLabel(event.plan),
          startedAt: this.now(),
          lastPlainAt: -Infinity,
        };
        if (this.live) this.status('starting', true);
        else this.line(`${this.prefix()} start ${event.id}  ${this.run.label}`);
        return;
      }
      case 'progress':
        if (event.worker !== undefined) this.workerProgress(event.worker, event.id, event.progress);
        else if (this.run?.id === event.id) this.progress(event.progress);
        return;
      case 'done':
        this.settled = event.index;
        this.of = event.of;
        if (event.worker !== undefined) {
          this.working.delete(event.worker);
          this.line(
            `${this.workerPosition(event)} done ${event.id}${this.onWorker(event)}  ${runLabel(event.result.plan)}: ` +
              `${resultText(event.result)} (${event.result.timings.wallSeconds.toFixed(1)} s)`,
          );
          return;
        }
        this.endRun(
          `${this.prefix()} done ${event.id}  ${this.run?.label ?? runLabel(event.result.plan)}: ` +
            `${resultText(event.result)} (${this.run ? seconds(this.now() - this.run.startedAt) : `${event.result.timings.wallSeconds.toFixed(1)} s`})`,
        );
        return;
      case 'failed':
        this.settled = event.index;
        if (event.worker !== undefined) {
          this.working.delete(event.worker);
          const what = event.retry ? `failed (attempt ${event.attempt ?? 1}, will retry)` : 'FAILED';
          this.line(
            `${this.workerPosition(event)} ${what} ${event.id}${this.onWorker(event)}: ${indentContinuation(event.error)}`,
          );
          return;
        }
        this.endRun(
          `${this.prefix()} FAILED ${event.id}  ${this.run?.label ?? ''}: ${indentContinuation(event.error)}`,
        );
        return;
      case 'stalled':
        this.line(`run ${event.id}: its worker stopped answering; back in the queue for another worker`);
        return;
      case 'interrupted':
        this.working.clear();
        this.endRun(interruptedLine(event, this.severalAtOnce));
        return;
    }
  };

  /** A line a worker process wrote to its stderr (the command shows them with LAYERCUT_VERBOSE). */
  workerLine(worker: string, text: string): void {
    this.line(`[${worker}] | ${text}`);
  }

  /** Clears the status line (call before printing anything else to the stream). */
  finish(): void {
    if (this.live && this.statusLine) this.stream.write('\r\x1b[K');
    this.statusLine = '';
  }

  /** The run's last line: the status line goes, `text` stays. */
  private endRun(text: string): void {
    this.run = undefined;
    this.line(text);
  }

  /** "[2/8]": where this process's run stands in its queue. */
  private prefix(): string {
    const position = this.run?.position;
    return position ? `[${position.index}/${position.of}]` : '';
  }

  /** "[3/8]" in a sweep; "[worker]" for a queue worker's own runs (of = 0: the sweep's size is not known there). */
  private workerPosition(event: { index: number; of: number; worker?: string }): string {
    return event.of > 0 ? `[${event.index}/${event.of}]` : `[${event.worker}]`;
  }

  private onWorker(event: { of: number; worker?: string }): string {
    return event.of > 0 ? ` on ${event.worker}` : '';
  }

  /** A worker's run progressed: the status line on a terminal; else a line when training starts and at each evaluation. */
  private workerProgress(worker: string, id: string, progress: RunProgress): void {
    const work = this.working.get(worker);
    if (!work) return;
    work.doing = progressText(progress);
    if (this.live) return this.drawWorkers(false);
    if (progress.phase !== 'train') return;
    if (progress.kind === 'eval') {
      this.line(
        `[${worker}] ${id} eval at step ${progress.step} (epoch ${progress.epoch + 1}): validation accuracy ${percent(progress.accuracy)}`,
      );
    } else if (!work.announcedTraining) {
      work.announcedTraining = true;
      this.line(`[${worker}] ${id} train step ${progress.step}/${progress.totalSteps}`);
    }
  }

  private progress(progress: RunProgress): void {
    const run = this.run;
    if (!run) return;
    switch (progress.phase) {
      case 'prepare':
        this.report('prepare', 'preparing', `preparing: ${progress.message}`, false, true);
        return;
      case 'download': {
        const fraction = progress.total > 0 ? progress.loaded / progress.total : 0;
        const sizes = `${megabytes(progress.loaded)} / ${megabytes(progress.total)}`;
        const done = progress.loaded >= progress.total;
        this.report(
          `download ${progress.file}`,
          `download ${progress.file} ${bar(fraction)} ${sizes}`,
          `download ${progress.file}: ${done ? `done, ${megabytes(progress.total)}` : sizes}`,
          done,
        );
        return;
      }
      case 'load': {
        const done = progress.loaded >= progress.total;
        this.report(
          'load',
          `load weights ${bar(progress.total > 0 ? progress.loaded / progress.total : 0)} ${progress.loaded}/${progress.total} tensors`,
          `loaded ${progress.total} tensors`,
          done,
          !done,
        );
        return;
      }
      case 'train': {
        if (progress.kind === 'eval') {
          run.validation = progress.accuracy;
          this.report(
            'eval',
            this.trainStatus(progress.step, run.step?.totalSteps, progress.epoch, run.step?.loss),
            `eval at step ${progress.step} (epoch ${progress.epoch + 1}): validation accuracy ${percent(progress.accuracy)}${progress.best ? ' (best so far)' : ''}`,
            true,
          );
          return;
        }
        run.step = { step: progress.step, totalSteps: progress.totalSteps, loss: progress.loss };
        const last = progress.step >= progress.totalSteps;
        this.report(
          'train',
          this.trainStatus(progress.step, progress.totalSteps, progress.epoch, progress.loss),
          `train step ${progress.step}/${progress.totalSteps}, epoch ${progress.epoch + 1}, loss ${progress.loss.toFixed(4)}`,
          last,
        );
        return;
      }
      case 'test':
        this.report(
          'test',
          `test on ${progress.examples} examples…`,
          `test on ${progress.examples} examples`,
          true,
        );
        return;
    }
  }

  private trainStatus(
    step: number,
    total: number | undefined,
    epoch: number,
    loss: number | undefined,
  ): string {
    const parts = [
      total === undefined ? `train step ${step}` : `train ${bar(step / total)} ${step}/${total}`,
    ];
    parts.push(`epoch ${epoch + 1}`);
    if (loss !== undefined) parts.push(`loss ${loss.toFixed(3)}`);
    if (this.run?.validation !== undefined) parts.push(`val ${percent(this.run.validation)}`);
    return parts.join('  ');
  }

  /**
   * One progress update: on a terminal, redraws the status line (throttled unless `force`);
   * otherwise prints `plain` when the phase changed, when `force` is set, or every plainEveryMs.
   * `quietPlain` keeps a plain line back unless the phase changed.
   */
  private report(phase: string, status: string, plain: string, force: boolean, quietPlain = false): void {
    const run = this.run!;
    if (this.live) {
      this.status(status, force);
      return;
    }
    const now = this.now();
    const phaseChanged = run.lastPhase !== phase;
    run.lastPhase = phase;
    if (quietPlain) return;
    if (force || phaseChanged || now - run.lastPlainAt >= this.plainEveryMs) {
      run.lastPlainAt = now;
      this.line(`${this.prefix()} ${plain}`);
    }
  }

  /** Redraws this process's status line: `[i/n] label  text  elapsed`. */
  private status(text: string, force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastDrawAt < this.redrawMs) return;
    this.lastDrawAt = now;
    const run = this.run;
    this.draw(run ? `${this.prefix()} ${run.label}  ${text}  ${seconds(now - run.startedAt)}` : text);
  }

  /** Redraws the workers' status line: `3/8 settled · w0 label doing 12 s · …`. */
  private drawWorkers(force: boolean): void {
    if (!this.live) return;
    const now = this.now();
    if (!force && now - this.lastDrawAt < this.redrawMs) return;
    this.lastDrawAt = now;
    const parts = [`${this.settled}/${this.of} settled`];
    for (const [worker, work] of this.working) {
      parts.push(
        `${worker} ${shortLabel(work.plan)} ${work.doing} ${((now - work.startedAt) / 1000).toFixed(0)} s`,
      );
    }
    this.draw(parts.join(' · '));
  }

  /** Writes `line` as the status line, cut to the terminal's width. */
  private draw(line: string): void {
    const columns = this.stream.columns || 120; // 0 when the terminal does not say
    this.statusLine = line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
    this.stream.write(`\r${this.statusLine}\x1b[K`);
  }

  /** A permanent line; on a terminal the status line is cleared first and redrawn after. */
  private line(text: string): void {
    if (!this.live) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.stream.write(`\r\x1b[K${text}\n`);
    if (this.run && this.statusLine) this.stream.write(`\r${this.statusLine}\x1b[K`);
    else if (this.working.size > 0) this.drawWorkers(true);
    else this.statusLine = '';
  }
}
