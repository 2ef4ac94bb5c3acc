/**
 * Turns of the event loop inside long computations, and where they stop when asked to.
 *
 * On the wasm and cpu backends every tensor op, and even `await tensor.data()`, completes
 * without a turn of the event loop: their promises resolve as microtasks. A loop of training
 * steps would then never let Node deliver a signal (Ctrl-C), an IPC message (a worker's
 * `stop`) or a timer until the whole run ends. So every long loop — training and pretraining
 * steps, evaluation batches, layer measurements — awaits `interruptionPoint` once per step or
 * batch: one turn of the event loop (a `setImmediate`, a few microseconds), then the check of
 * its abort signal.
 */
import { LayercutError } from '../errors.js';

/** Resolves after one turn of the event loop: pending signals, I/O, IPC messages and due timers are handled first. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A computation stopped by its abort signal: not a failure (a runner puts its run back in the queue). */
export class InterruptedError extends LayercutError {
  override name = 'InterruptedError';
}

/**
 * Gives the event loop a turn, then throws `InterruptedError` ("<what> was interrupted") if
 * `signal` has aborted. Call it once per step or batch of a long loop.
 */
export async function interruptionPoint(signal: AbortSignal | undefined, what: string): Promise<void> {
  await yieldToEventLoop();
  if (signal?.aborted) throw new InterruptedError(`${what} was interrupted`);
}
