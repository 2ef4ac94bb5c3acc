/**
 * Progress of a sweep that runs on several workers at once, as text (stderr). Every start,
 * result, failure and worker change is a permanent line, tagged with its worker; on a terminal
 * a status line under them shows what each worker is doing now, redrawn in place:
 *
 *   [w1] start 9a00ab423fce9d09  tiny-gpt2 first 2 · spam · lm · seed 0
 *   [3/8] done 9a00ab423fce9d09 on w1  tiny-gpt2 first 2 · spam · lm · seed 0: test accuracy 75.5%, macro-F1 60.6% (19.3 s)
 *   3/8 settled · w0 first 3 seed 1 train ███░░░░ 12/40 · w1 first 1 seed 0 load
 */
import { indentContinuation } from '../errors.js';
import { layerText } from '../models/selection.js';
import { modelName } from '../results/rows.js';
import {
  bar,
  percent,
  planLine,
  resultText,
  runLabel,
  skipLine,
  type ProgressStream,
} from '../runner/progress.js';
import type { RunPlan } from '../plan/types.js';
import type { RunProgress } from '../train/run.js';
import type { SweepEvent } from './events.js';

export interface SweepPrinterOptions {
  /** Where to write (default process.stderr). */
  stream?: ProgressStream;
  /** Redraw a status line with `\r` (default: when the stream is a terminal). */
  live?: boolean;
  /** Least time between two redraws of the status line, ms (default 200). */
  redrawMs?: number;
  /** The clock, ms (tests). */
  now?: () => number;
}

/** "first 2 seed 0": the short name of a run in the status line. */
function shortLabel(plan: RunPlan): string {
  return `${modelName(plan.model)} ${layerText(plan.layers)} seed ${plan.seed}`;
}

/** What a run is doing, in a few words. */
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

export class SweepPrinter {
  private readonly stream: ProgressStream;
  private readonly live: boolean;
  private readonly redrawMs: number;
  private readonly now: () => number;
  /** Per worker: the run it is on and what it is doing. */
  private readonly working = new Map<
    string,
    { id: string; plan: RunPlan; startedAt: number; doing: string; announcedTraining: boolean }
  >();
  private settled = 0;
  private of = 0;
  private statusLine = '';
  private lastDrawAt = -Infinity;

  constructor(options: SweepPrinterOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.live = options.live ?? this.stream.isTTY === true;
    this.redrawMs = options.redrawMs ?? 200;
    this.now = options.now ?? (() => performance.now());
  }

  /** Pass this as `onEvent` (it is bound). */
  readonly handle = (event: SweepEvent): void => {
    switch (event.kind) {
      case 'plan':
        this.of = event.toRun;
        this.line(planLine(event, event.where));
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
        this.working.set(event.worker, {
          id: event.id,
          plan: event.plan,
          startedAt: this.now(),
          doing: 'starting',
          announcedTraining: false,
        });
        const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
        this.line(`[${event.worker}] start ${event.id}  ${runLabel(event.plan)}${attempt}`);
        return;
      }
      case 'progress': {
        const work = this.working.get(event.worker);
        if (!work) return;
        work.doing = progressText(event.progress);
        if (this.live) return this.drawStatus(false);
        // Plain lines: when training starts, and each evaluation.
        const progress = event.progress;
        if (progress.phase !== 'train') return;
        if (progress.kind === 'eval') {
          this.line(
            `[${event.worker}] ${event.id} eval at step ${progress.step} (epoch ${progress.epoch + 1}): validation accuracy ${percent(progress.accuracy)}`,
          );
        } else if (!work.announcedTraining) {
          work.announcedTraining = true;
          this.line(`[${event.worker}] ${event.id} train step ${progress.step}/${progress.totalSteps}`);
        }
        return;
      }
      case 'done': {
        this.settled = event.index;
        this.of = event.of;
        this.working.delete(event.worker);
        this.line(
          `${this.position(event)} done ${event.id}${this.onWorker(event)}  ${runLabel(event.result.plan)}: ` +
            `${resultText(event.result)} (${event.result.timings.wallSeconds.toFixed(1)} s)`,
        );
        return;
      }
      case 'failed': {
        this.settled = event.index;
        this.working.delete(event.worker);
        const what = event.retry ? `failed (attempt ${event.attempt}, will retry)` : 'FAILED';
        this.line(
          `${this.position(event)} ${what} ${event.id}${this.onWorker(event)}: ${indentContinuation(event.error)}`,
        );
        return;
      }
      case 'stalled':
        this.line(`run ${event.id}: its worker stopped answering; back in the queue for another worker`);
        return;
      case 'interrupted':
        this.working.clear();
        this.line(event.message);
        return;
    }
  };

  /** A line a worker process wrote to its stderr (the command shows them with LAYERCUT_VERBOSE). */
  workerLine(worker: string, text: string): void {
    this.line(`[${worker}] | ${text}`);
  }

  /** "[3/8]" in a sweep; "[worker]" for a worker's own runs (of = 0: the sweep's size is not known there). */
  private position(event: { index: number; of: number; worker: string }): string {
    return event.of > 0 ? `[${event.index}/${event.of}]` : `[${event.worker}]`;
  }

  private onWorker(event: { of: number; worker: string }): string {
    return event.of > 0 ? ` on ${event.worker}` : '';
  }

  /** Clears the status line (call before printing anything else to the stream). */
  finish(): void {
    if (this.live && this.statusLine) this.stream.write('\r\x1b[K');
    this.statusLine = '';
  }

  private status(): string {
    const now = this.now();
    const parts = [`${this.settled}/${this.of} settled`];
    for (const [worker, work] of this.working) {
      parts.push(
        `${worker} ${shortLabel(work.plan)} ${work.doing} ${((now - work.startedAt) / 1000).toFixed(0)} s`,
      );
    }
    let line = parts.join(' · ');
    const columns = this.stream.columns || 120;
    if (line.length > columns - 1) line = `${line.slice(0, Math.max(0, columns - 2))}…`;
    return line;
  }

  private drawStatus(force: boolean): void {
    if (!this.live) return;
    const now = this.now();
    if (!force && now - this.lastDrawAt < this.redrawMs) return;
    this.lastDrawAt = now;
    this.statusLine = this.status();
    this.stream.write(`\r${this.statusLine}\x1b[K`);
  }

  private line(text: string): void {
    if (this.live) {
      this.stream.write(`\r\x1b[K${text}\n`);
      if (this.working.size > 0) this.drawStatus(true);
      else this.statusLine = '';
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}
