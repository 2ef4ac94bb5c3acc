/**
 * A sweep stops when the same error repeats: after `limit` runs in a row (3 by default) fail
 * with the same first line of error, the cause is almost surely in the plan, not in one run
 * (a template that does not fit, a missing file), and running the rest would only fail them
 * one by one. `layercut run` then stops, says why, and exits with 1; the runs not tried stay
 * to do in the store, and the same command carries on once the cause is fixed.
 */

/** Failed runs in a row with one error after which a sweep stops. */
export const REPEATED_FAILURE_LIMIT = 3;

/** The part of a RunEvent (src/runner/events.ts) it reads: failures and results. */
export type WatchedEvent =
  | { kind: 'failed'; id: string; error: string; retry?: boolean | undefined }
  | { kind: 'done'; id: string }
  | { kind: string };

export interface RepeatedFailure {
  /** The first line of the error the runs failed with. */
  error: string;
  /** The runs that failed with it, in order. */
  ids: string[];
}

const firstLine = (text: string): string => text.split('\n')[0] ?? text;

/** Watches a sweep's events and aborts `signal` once `limit` runs in a row failed with the same error. */
export class RepeatedFailureStop {
  /** Set once the sweep was stopped. */
  stopped: RepeatedFailure | undefined;
  private streak: RepeatedFailure | undefined;
  private readonly controller = new AbortController();
  /** Aborts when the sweep is to stop: give it to the scheduler (with Ctrl-C's, AbortSignal.any). */
  readonly signal = this.controller.signal;

  constructor(private readonly limit = REPEATED_FAILURE_LIMIT) {}

  readonly handle = (event: WatchedEvent): void => {
    if (event.kind === 'done') this.streak = undefined;
    if (event.kind !== 'failed' || !('error' in event) || event.retry) return;
    const error = firstLine(event.error);
    if (this.streak?.error === error) this.streak.ids.push(event.id);
    else this.streak = { error, ids: [event.id] };
    if (this.streak.ids.length >= this.limit && !this.stopped) {
      this.stopped = { error, ids: [...this.streak.ids] };
      this.controller.abort();
    }
  };

  /** What the command prints once it stopped. */
  report(command = 'layercut run'): string {
    const stopped = this.stopped!;
    return [
      `${command}: stopped: ${stopped.ids.length} runs in a row failed with the same error, so the others would too:`,
      `  ${stopped.error}`,
      `  runs: ${stopped.ids.join(', ')}`,
      '  the runs not tried are still to do: fix the cause, then run the same command (add --retry-failed for these)',
    ].join('\n');
  }
}
