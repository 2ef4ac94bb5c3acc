/**
 * What a fuzz target is, and the property every target checks on errors: an input either
 * parses (and then the target checks what came out) or is refused with the user error the
 * product promises (a `LayercutError`, whose message is non-empty and on one line, plus its
 * hint line). Anything else thrown out of `check` is a crash.
 */
import { LayercutError } from '../../src/errors.js';
import type { Rng } from './rng.js';

export interface FuzzTarget<Input> {
  name: string;
  /** Prepares corpora and tokenizers once per worker; `workDir` is an empty directory for its files. */
  setup?(workDir: string): Promise<void>;
  /** Removes what setup made. */
  teardown?(): Promise<void>;
  /** Makes one input from `rng` (random, mutated from the corpus, or built to lie). */
  generate(rng: Rng): Input;
  /**
   * Runs the product on the input and checks the result. Returns what happened, as outcome
   * labels to count ("accepted", "rejected SafetensorsError/gap"); throws on a crash.
   */
  check(input: Input): Promise<string[]> | string[];
  /** Smaller inputs to try when shrinking a crash (each a little simpler than `input`). */
  shrink(input: Input): Iterable<Input>;
  /** The input as a reader can paste it back (a JS string literal, or hex). */
  show(input: Input): string;
}

/**
 * A check that failed: a property of a parsed input that does not hold, or a user error whose
 * message breaks the promise. `rule` names the check (crashes of one rule count as one, and
 * shrinking keeps the rule); the message adds what this input did.
 */
export class PropertyFailure extends Error {
  override name = 'PropertyFailure';
  constructor(
    readonly rule: string,
    details: string,
  ) {
    super(`${rule}: ${details}`);
  }
}

/** Fails the check `rule` unless `condition`; `details` says what this input did. */
export function holds(condition: boolean, rule: string, details: () => string): asserts condition {
  if (!condition) throw new PropertyFailure(rule, details());
}

/** Words in a message that betray a bug, unless the input itself has them. */
const SUSPECT_WORDS = ['undefined', 'NaN', 'null', '[object ', 'Infinity'];

export interface UserErrorRule {
  /** The error type this entry point throws for bad input (default: LayercutError). */
  accept?: (error: unknown) => error is Error;
  /** How many lines the message before its hint may have (default 1). */
  lines?: number;
  /** The input as text: words of SUSPECT_WORDS it holds may appear in the message. */
  inputText: string;
  /** Words of SUSPECT_WORDS this input may bring about anyway (a header's 1e400 reads as Infinity). */
  allow?: string[];
}

/**
 * The outcome label of a refusal (`rejected <name>[/<kind>]`), after checking it is the
 * promised error with a proper message; any other error is rethrown as the crash it is.
 */
export function rejection(error: unknown, rule: UserErrorRule): string {
  const accept = rule.accept ?? ((e: unknown): e is Error => e instanceof LayercutError);
  if (!accept(error)) throw error;
  const [main = '', ...hint] = error.message.split('\n  hint: ');
  const lines = main.split('\n');
  const quoted = () => JSON.stringify(error.message.slice(0, 400));
  holds(
    main.trim() !== '' && lines[0]!.trim() !== '',
    `${error.constructor.name} with an empty message`,
    quoted,
  );
  holds(
    lines.length <= (rule.lines ?? 1) && hint.length <= 1 && !hint.some((h) => h.includes('\n')),
    `${error.constructor.name} message on more lines than ${rule.lines ?? 1} (and a hint)`,
    quoted,
  );
  for (const word of SUSPECT_WORDS) {
    const expected = rule.inputText.includes(word) || rule.allow?.includes(word);
    holds(
      !error.message.includes(word) || expected === true,
      `${error.constructor.name} message says "${word}"`,
      quoted,
    );
  }
  const kind = (error as { kind?: unknown }).kind;
  return `rejected ${error.constructor.name}${typeof kind === 'string' ? `/${kind}` : ''}`;
}

/**
 * Candidates for shrinking a string: long repeats halved (every one at once, so `[[[[…]]]]`
 * stays balanced), then big chunks removed first, then single characters, then simpler characters.
 */
export function* shrinkString(text: string): Iterable<string> {
  const halved = text.replace(/(.{1,8}?)\1{7,}/gs, (run: string, unit: string) =>
    unit.repeat(Math.ceil(run.length / unit.length / 2)),
  );
  if (halved !== text) yield halved;
  for (let size = Math.max(1, text.length >> 1); size >= 1; size >>= 1) {
    for (let at = 0; at + size <= text.length; at += size) yield text.slice(0, at) + text.slice(at + size);
  }
  // then simpler characters: non-ASCII to 'a'
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7e || code < 0x20) yield text.slice(0, i) + 'a' + text.slice(i + 1);
  }
}

/** A string as a JS literal, cut in the middle when very long. */
export function showString(text: string, limit = 2000): string {
  if (text.length <= limit) return JSON.stringify(text);
  const half = limit >> 1;
  return `${JSON.stringify(text.slice(0, half))} + … (${text.length - limit} more characters) … + ${JSON.stringify(text.slice(-half))}`;
}
