/**
 * The state behind `run()`'s live output, fed with the executor's events (src/runner/events.ts):
 *
 *   6 runs: 2 done now (1 diverged) · 3 reused · 0 failed · 1 to go · 12.3 s
 *   run 3/4 tiny-gpt2 first 2 · spam · lm · seed 0 — training: step 5/16 · loss 0.693
 *   [loss chart: finished runs in grey, the current one in blue]
 *   ✓ tiny-gpt2 first 1 · spam · lm · seed 0 — accuracy 56.2% (4.1 s)
 *   ⚠ tiny-gpt2 first 4 · spam · lm · seed 0 — accuracy 50.0% (4.3 s); DIVERGED: training loss …
 *   ✗ tiny-gpt2 first 8 · spam · lm · seed 0 — failed: <the whole error, every line>
 *
 * Pure: `handle(event)` updates it, `html()` / `text()` / `lossSvg()` draw it. `live.ts`
 * decides when to redraw.
 */
import { percent } from '../results/format.js';
import { runLabel } from '../results/rows.js';
import { errorMessage } from '../results/store.js';
import type { RunEvent } from '../runner/events.js';
import { lossChartSvg, type LossSeries } from './loss-chart.js';
import { escapeHtml } from './tables.js';

interface CurrentRun {
  id: string;
  /** "run 3/4" in this process's queue, or "run on w1" (a worker process). */
  where: string;
  label: string;
  /** What it is doing now, e.g. "training: step 5/16 · loss 0.693". */
  activity: string;
  losses: { step: number; loss: number }[];
}

/** How a run ended: done, done but its loss exploded (numbers not to be trusted), failed, or skipped. */
export type FinishedState = 'done' | 'diverged' | 'failed' | 'skipped';

export interface FinishedRun {
  id: string;
  label: string;
  state: FinishedState;
  /** "accuracy 56.2% (4.1 s)", "…; DIVERGED: why", or the whole error (without a stack). */
  detail: string;
}

const marks: Record<FinishedState, string> = { done: '✓', diverged: '⚠', failed: '✗', skipped: '✗' };
const colours: Record<FinishedState, string> = {
  done: '#2a7d2a',
  diverged: '#b36b00',
  failed: '#b03030',
  skipped: '#b03030',
};

/** Finished runs listed under the chart, the latest last. */
const LISTED_RUNS = 8;
/** Loss curves of finished runs kept for the chart. */
const CHARTED_RUNS = 12;

export class RunProgressBoard {
  total = 0;
  reused = 0;
  toRun = 0;
  doneNow = 0;
  /** Of the runs done now, those whose loss exploded. */
  diverged = 0;
  failed = 0;
  skipped = 0;
  interrupted = false;
  current: CurrentRun | undefined;
  readonly finished: FinishedRun[] = [];
  private readonly pastCurves: LossSeries[] = [];
  /** Labels of the runs started in this call (a failure names its run; workers run several at once). */
  private readonly labels = new Map<string, string>();
  private readonly startedAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
  }

  /** Runs that will not run in this call any more: done, reused, failed, skipped. */
  get settled(): number {
    return this.reused + this.doneNow + this.failed + this.skipped;
  }

  get finishedAll(): boolean {
    return this.current === undefined && this.doneNow + this.failed >= this.toRun;
  }

  handle(event: RunEvent): void {
    switch (event.kind) {
      case 'plan':
        this.total = event.total;
        this.reused = event.finished;
        this.toRun = event.toRun;
        return;
      case 'skipped':
        this.skipped++;
        this.finished.push({
          id: event.id,
          label: event.id,
          state: 'skipped',
          detail: `skipped: ${event.detail}`,
        });
        return;
      case 'start':
        this.labels.set(event.id, runLabel(event.plan));
        this.current = {
          id: event.id,
          where:
            event.index !== undefined
              ? `run ${event.index}/${event.of}`
              : `run on ${event.worker ?? 'this process'}`,
          label: runLabel(event.plan),
          activity: 'starting',
          losses: [],
        };
        return;
      case 'progress':
        if (this.current?.id === event.id) this.onProgress(this.current, event.progress);
        return;
      case 'done': {
        this.doneNow++;
        const label = this.current?.id === event.id ? this.current.label : runLabel(event.result.plan);
        const seconds = event.result.timings.wallSeconds.toFixed(1);
        const { divergence } = event.result;
        if (divergence) this.diverged++;
        this.finishRun({
          id: event.id,
          label,
          state: divergence ? 'diverged' : 'done',
          detail: `accuracy ${percent(event.result.test.accuracy)}% (${seconds} s)${divergence ? `; DIVERGED: ${divergence}` : ''}`,
        });
        return;
      }
      case 'failed':
        if (event.retry) return; // back in the queue for another attempt
        this.failed++;
        this.finishRun({
          id: event.id,
          label: this.labels.get(event.id) ?? event.id,
          state: 'failed',
          detail: `failed: ${errorMessage(event.error)}`,
        });
        return;
      case 'interrupted':
        this.interrupted = true;
        this.current = undefined;
        return;
    }
  }

  private onProgress(run: CurrentRun, progress: Extract<RunEvent, { kind: 'progress' }>['progress']): void {
    switch (progress.phase) {
      case 'prepare':
        run.activity = 'preparing';
        return;
      case 'download':
        run.activity = `downloading ${progress.file} (${megabytes(progress.loaded)} / ${megabytes(progress.total)} MB)`;
        return;
      case 'load':
        run.activity = `loading weights (${progress.loaded}/${progress.total})`;
        return;
      case 'train':
        if (progress.kind === 'step') {
          run.losses.push({ step: progress.step, loss: progress.loss });
          run.activity = `training: step ${progress.step}/${progress.totalSteps} · epoch ${progress.epoch} · loss ${progress.loss.toFixed(3)}`;
        } else {
          run.activity = `validation after step ${progress.step}: accuracy ${percent(progress.accuracy)}%${progress.best ? ' (best so far)' : ''}`;
        }
        return;
      case 'test':
        run.activity = `testing on ${progress.examples} examples`;
        return;
    }
  }

  private finishRun(run: FinishedRun): void {
    if (this.current?.id === run.id) {
      if (this.current.losses.length > 0) {
        this.pastCurves.push({ label: this.current.label, points: this.current.losses });
        if (this.pastCurves.length > CHARTED_RUNS) this.pastCurves.shift();
      }
      this.current = undefined;
    }
    this.finished.push(run);
  }

  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /** "6 runs: 2 done now · 3 reused · 0 failed · 1 to go · 12.3 s". */
  summary(): string {
    const toGo = Math.max(0, this.toRun - this.doneNow - this.failed);
    const done = `${this.doneNow} done now${this.diverged ? ` (${this.diverged} diverged)` : ''}`;
    const parts = [done, `${this.reused} reused`, `${this.failed} failed`];
    if (this.skipped) parts.push(`${this.skipped} skipped`);
    if (toGo) parts.push(`${toGo} to go`);
    const state = this.interrupted ? ' — interrupted' : '';
    return `${this.total} run${this.total === 1 ? '' : 's'}: ${parts.join(' · ')} · ${this.elapsedSeconds().toFixed(1)} s${state}`;
  }

  /** "run 3/4 tiny-gpt2 first 2 · … — training: step 5/16 · loss 0.693", if a run is going. */
  currentLine(): string | undefined {
    const run = this.current;
    return run ? `${run.where} ${run.label} — ${run.activity}` : undefined;
  }

  /** The last finished runs ("✓ label — accuracy 56.2% (4.1 s)"); an error's further lines indented under it. */
  finishedLines(): string[] {
    return this.finished.slice(-LISTED_RUNS).map(finishedLine);
  }

  /** Loss curves: finished runs of this call, and the current run on top. */
  lossSeries(): LossSeries[] {
    const series = [...this.pastCurves];
    if (this.current && this.current.losses.length > 0)
      series.push({ label: this.current.label, points: this.current.losses, current: true });
    return series;
  }

  lossSvg(): string {
    return lossChartSvg(this.lossSeries());
  }

  text(): string {
    const lines = [this.summary()];
    const current = this.currentLine();
    if (current) lines.push(current);
    lines.push(...this.finishedLines());
    return `${lines.join('\n')}\n`;
  }

  html(): string {
    const total = Math.max(1, this.total);
    const bar = `<progress value="${this.settled}" max="${total}" style="width:360px"></progress>`;
    const current = this.currentLine();
    const series = this.lossSeries();
    const finished = this.finished
      .slice(-LISTED_RUNS)
      .map(
        (run) =>
          `<div style="color:${colours[run.state]};white-space:pre-wrap">${escapeHtml(finishedLine(run))}</div>`,
      )
      .join('');
    return [
      '<div class="layercut-run" style="font-family:monospace;font-size:12px">',
      `<div><b>${escapeHtml(this.summary())}</b></div>`,
      bar,
      current ? `<div>${escapeHtml(current)}</div>` : '',
      series.length > 0 ? `<div>${lossChartSvg(series)}</div>` : '',
      finished,
      '</div>',
    ].join('');
  }
}

/** "✓ label — detail", every further line of the detail indented. */
export function finishedLine(run: FinishedRun): string {
  return `${marks[run.state]} ${run.label} — ${run.detail.replace(/\n/g, '\n    ')}`;
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
