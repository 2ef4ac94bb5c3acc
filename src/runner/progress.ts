/**
 * Progress of a sweep as text, from `RunnerEvent`s: on a terminal one status line redrawn in
 * place with `\r` (a bar for downloads, loading and training steps, with the loss and the last
 * validation accuracy); otherwise — a log file, a pipe, CI — plain lines now and then. Either
 * way each run ends with a permanent line: done with its test accuracy (and DIVERGED with why,
 * when its loss exploded), or failed with why (the whole message, continuation lines indented).
 *
 *   [2/8] tiny-gpt2 first 2 · spam · lm · seed 0  train ███████░░░░░░░░ 18/40  epoch 2  loss 0.532  val 81.2%
 */
import { indentContinuation } from '../errors.js';
import { layerText } from '../models/selection.js';
import { modelName } from '../results/rows.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunProgress } from '../train/run.js';
import type { QueuePosition, RunnerEvent, SkipReason } from './events.js';

/** The part of a writable stream the printer uses (process.stderr fits). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressPrinterOptions {
  /** Where to write (default: process.stderr). */
  stream?: ProgressStream;
  /** Redraw one status line with `\r` (default: when the stream is a terminal). */
  live?: boolean;
  /** Least time between two redraws of the live line, ms (default 100). */
  redrawMs?: number;
  /** Least time between two plain progress lines of one run, ms (default 10000); phase changes always print. */
  plainEveryMs?: number;
  /** The clock, ms (tests). */
  now?: () => number;
}

/** "tiny-gpt2 first 2 · spam · lm · seed 0": what tells the runs of a sweep apart. */
export function runLabel(plan: RunPlan): string {
  return `${modelName(plan.model)} ${layerText(plan.layers)} · ${plan.task} · ${plan.method.kind} · seed ${plan.seed}`;
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

/** Where the current run is, kept between events. */
interface RunState {
  position: QueuePosition;
  label: string;
  startedAt: number;
  /** Last validation accuracy. */
  validation?: number;
  /** Last training step, for redrawing the bar after an evaluation. */
  step?: { step: number; totalSteps: number; loss: number };
  lastPlainAt: number;
  lastPhase?: string;
}

type PlanEvent = Extract<RunnerEvent, { kind: 'plan' }>;
type SkippedEvent = Extract<RunnerEvent, { kind: 'skipped' }>;

/** "12 runs, 3 finished before, 9 to run[ where], 1 skipped (results store FILE)". */
export function planLine(event: PlanEvent, where?: string): string {
  const parts = [`${event.total} run${event.total === 1 ? '' : 's'}`];
  if (event.finished) parts.push(`${event.finished} finished before`);
  parts.push(where ? `${event.toRun} to run ${where}` : `${event.toRun} to run`);
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

export class ProgressPrinter {
  private readonly stream: ProgressStream;
  private readonly live: boolean;
  private readonly redrawMs: number;
  private readonly plainEveryMs: number;
  private readonly now: () => number;
  private run: RunState | undefined;
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
  readonly handle = (event: RunnerEvent): void => {
    switch (event.kind) {
      case 'plan':
        this.line(planLine(event));
        return;
      case 'skipped':
        this.line(skipLine(event));
        return;
      case 'start': {
        const { kind: _kind, plan: _plan, ...position } = event;
        this.run = { position, label: runLabel(event.plan), startedAt: this.now(), lastPlainAt: -Infinity };
        if (this.live) this.status('starting', true);
        else this.line(`${this.prefix()} start ${event.id}  ${this.run.label}`);
        return;
      }
      case 'progress':
        this.progress(event.progress);
        return;
      case 'done': {
        const took = this.run
          ? seconds(this.now() - this.run.startedAt)
          : `${event.result.timings.wallSeconds.toFixed(1)} s`;
        this.endRun(
          `${this.prefix()} done ${event.id}  ${this.run?.label ?? runLabel(event.result.plan)}: ` +
            `${resultText(event.result)} (${took})`,
        );
        return;
      }
      case 'failed':
        this.endRun(
          `${this.prefix()} FAILED ${event.id}  ${this.run?.label ?? ''}: ${indentContinuation(event.error)}`,
        );
        return;
      case 'interrupted':
        this.endRun(
          event.id
            ? `interrupted: run ${event.id} was put back in the queue; run the same command again to resume`
            : 'interrupted; run the same command again to resume',
        );
        return;
    }
  };

  /** Clears the live status line (call before printing anything else to the stream). */
  finish(): void {
    if (this.live && this.statusLine) this.stream.write('\r\x1b[K');
    this.statusLine = '';
  }

  /** The run's last line: the status line goes, `text` stays. */
  private endRun(text: string): void {
    this.run = undefined;
    this.line(text);
  }

  private prefix(): string {
    return this.run ? `[${this.run.position.index}/${this.run.position.of}]` : '';
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

  /** Redraws the live status line: `[i/n] label  text  elapsed`. */
  private status(text: string, force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastDrawAt < this.redrawMs) return;
    this.lastDrawAt = now;
    const run = this.run;
    let line = run ? `${this.prefix()} ${run.label}  ${text}  ${seconds(now - run.startedAt)}` : text;
    const columns = this.stream.columns || 120; // 0 when the terminal does not say
    if (line.length > columns - 1) line = `${line.slice(0, Math.max(0, columns - 2))}…`;
    this.statusLine = line;
    this.stream.write(`\r${line}\x1b[K`);
  }

  /** A permanent line; on a terminal the status line is cleared first and redrawn after. */
  private line(text: string): void {
    if (this.live) {
      this.stream.write(`\r\x1b[K${text}\n`);
      if (this.run && this.statusLine) this.stream.write(`\r${this.statusLine}\x1b[K`);
      else this.statusLine = '';
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}
