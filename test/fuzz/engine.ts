/**
 * Runs one target over a range of inputs (in a child process, see fuzz.ts): makes input `i`
 * from its own seed, checks it, counts outcomes, and shrinks each new kind of crash to a
 * minimal input. It says which input it is on before each check, so the parent can name
 * the input that hangs or kills the process.
 */
import { inputSeed, Rng } from './rng.js';
import { PropertyFailure, type FuzzTarget } from './target.js';

export interface Crash {
  target: string;
  seed: number;
  index: number;
  /** What went wrong, digits masked: crashes with one signature count as one. */
  signature: string;
  /** The error, first lines. */
  error: string;
  input: string;
  minimal: string;
  /** How many inputs of the run crashed with this signature. */
  count: number;
}

export type FromChild =
  /** Checking (or shrinking) input `index` now. */
  | { type: 'at'; index: number }
  /** The input is done, with these outcome labels. */
  | { type: 'done'; labels: string[] }
  | { type: 'crash'; crash: Crash }
  /** Another input crashed with the signature of an earlier crash. */
  | { type: 'again'; signature: string }
  /** All inputs are done. */
  | { type: 'end' };

/** The crash signature of an error: its type and first message line, numbers masked. */
export function signatureOf(error: unknown): string {
  if (!(error instanceof Error)) return `non-error throw ${typeof error}`;
  if (error instanceof PropertyFailure) return `${error.name}: ${error.rule}`;
  const line = error.message.split('\n')[0]!.slice(0, 120);
  return `${error.name}: ${line.replace(/\d+/g, 'N')}`;
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const stack = (error.stack ?? '').split('\n').slice(1, 4).join('\n');
  return `${error.name}: ${error.message.slice(0, 600)}\n${stack}`;
}

/** The input `index` of a run. */
export function makeInput<I>(target: FuzzTarget<I>, seed: number, index: number): I {
  return target.generate(new Rng(inputSeed(seed, target.name, index)));
}

type Post = (message: FromChild) => void;

/** An input that passed, but slower than the limit: a crash too (not shrunk: smaller inputs are faster). */
class SlowInput extends Error {
  override name = 'SlowInput';
}

/** Says which input is next and lets the message go out before a check that may hang. */
async function beat(post: Post, index: number): Promise<void> {
  post({ type: 'at', index });
  await new Promise((resolve) => setImmediate(resolve));
}

/** The error of checking `input`, or undefined when it passes. */
async function crashOf<I>(target: FuzzTarget<I>, input: I, beatNow: () => Promise<void>): Promise<unknown> {
  await beatNow();
  try {
    await target.check(input);
    return undefined;
  } catch (error) {
    return error ?? new Error('threw a nullish value');
  }
}

/** Greedy shrinking: take any smaller candidate that crashes the same way, until none does or the budget is spent. */
async function shrink<I>(
  target: FuzzTarget<I>,
  input: I,
  signature: string,
  beatNow: () => Promise<void>,
  budget = { tries: 3000, ms: 20_000 },
): Promise<I> {
  let current = input;
  let tries = 0;
  const until = performance.now() + budget.ms;
  const spent = () => tries >= budget.tries || performance.now() > until;
  let progress = true;
  while (progress && !spent()) {
    progress = false;
    for (const candidate of target.shrink(current)) {
      if (spent()) break;
      tries++;
      const error = await crashOf(target, candidate, beatNow);
      if (error !== undefined && signatureOf(error) === signature) {
        current = candidate;
        progress = true;
        break;
      }
    }
  }
  return current;
}

/**
 * Checks inputs [start, end) of `target`; `post` hears of each input's start and outcome
 * labels, and of each crash (the first of its signature shrunk). An input slower than
 * `slowMs` counts as a crash too.
 */
export async function runRange<I>(
  target: FuzzTarget<I>,
  options: { seed: number; start: number; end: number; slowMs: number; known: string[] },
  post: Post,
): Promise<void> {
  const { seed, start, end, slowMs } = options;
  /** Signatures already reported (by this process, or by earlier ones of this run). */
  const crashes = new Set<string>(options.known);
  for (let index = start; index < end; index++) {
    await beat(post, index);
    const beatNow = () => beat(post, index);
    const input = makeInput(target, seed, index);
    const began = performance.now();
    let failure: unknown;
    let labels: string[] = [];
    try {
      labels = await target.check(input);
    } catch (error) {
      failure = error ?? new Error('threw a nullish value');
    }
    const took = performance.now() - began;
    if (failure === undefined && took > slowMs) {
      failure = new SlowInput(`one input took ${Math.round(took)} ms (limit ${slowMs} ms)`);
    }
    if (failure !== undefined) {
      const signature = signatureOf(failure);
      labels = ['crash'];
      if (crashes.has(signature)) {
        post({ type: 'again', signature });
      } else {
        const slow = failure instanceof SlowInput;
        const minimal = slow ? input : await shrink(target, input, signature, beatNow);
        const crash: Crash = {
          target: target.name,
          seed,
          index,
          signature,
          error: describeError(slow ? failure : ((await crashOf(target, minimal, beatNow)) ?? failure)),
          input: target.show(input),
          minimal: target.show(minimal),
          count: 1,
        };
        crashes.add(signature);
        post({ type: 'crash', crash });
      }
    }
    post({ type: 'done', labels });
  }
}
