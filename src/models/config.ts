/**
 * Typed reading of a Hugging Face config.json: each family asks for the keys it needs, stating
 * what the maths needs of each, and gets a clear error naming the key when it is missing, of
 * the wrong type or out of range. The reads in a family's `parseConfig` are its rules:
 *
 *   positiveInteger  a width, a count of layers, heads, tokens or positions: a whole number ≥ 1
 *   divisorOf        heads that split a width, kv heads that share out the heads: ≥ 1 and dividing
 *   positiveNumber   an epsilon, a rotary base: finite and > 0
 *   oneOf            an activation's name, from the ones layercut computes
 *   check            any other rule between keys, with the key and its value in the message
 *
 *   const read = new ConfigReader(json, 'gpt2');
 *   const width = read.positiveInteger('n_embd');
 *   const heads = read.divisorOf('n_head', 'n_embd', width);
 *   // gpt2: config.json n_head (3) must be a positive integer that divides n_embd (32)
 */
import { LayercutError } from '../errors.js';

export class ConfigError extends LayercutError {
  override name = 'ConfigError';
}

export class ConfigReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly source: string,
  ) {}

  number(key: string, fallback?: number): number {
    const value = this.json[key];
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `${this.source}: config.json has no '${key}'`,
        'is this a complete Hugging Face config.json?',
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConfigError(
        `${this.source}: config.json '${key}' should be a number, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  /** A whole number ≥ 0 (an id, a count that may be zero). */
  integer(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    this.check(Number.isInteger(value) && value >= 0, key, value, 'be a non-negative integer');
    return value;
  }

  /** A whole number ≥ 1: a width, or a count of layers, heads, tokens or positions. */
  positiveInteger(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    this.check(Number.isInteger(value) && value >= 1, key, value, 'be a positive integer');
    return value;
  }

  /** A positive integer that divides `dividend` (config key `dividendKey`): heads of a width, kv heads of the heads. */
  divisorOf(key: string, dividendKey: string, dividend: number, fallback?: number): number {
    const value = this.number(key, fallback);
    this.check(
      Number.isInteger(value) && value >= 1 && dividend % value === 0,
      key,
      value,
      `be a positive integer that divides ${dividendKey} (${dividend})`,
    );
    return value;
  }

  /** A finite number > 0: an epsilon, a rotary base. */
  positiveNumber(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    this.check(value > 0, key, value, 'be a number > 0');
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    return this.typed(key, fallback, (value) => typeof value === 'boolean', 'true or false');
  }

  string(key: string, fallback: string): string {
    return this.typed(key, fallback, (value) => typeof value === 'string', 'a string');
  }

  /** The value at `key` where `is` holds for it (`fallback` when absent or null), else a ConfigError saying it should be `what`. */
  private typed<T>(key: string, fallback: T, is: (value: unknown) => boolean, what: string): T {
    const value = this.json[key];
    if (value === undefined || value === null) return fallback;
    if (!is(value)) {
      throw new ConfigError(`${this.source}: config.json '${key}' should be ${what}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  }

  /** One of `allowed` (e.g. the activations layercut computes). */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(key, fallback);
    this.check((allowed as readonly string[]).includes(value), key, `'${value}'`, `be one of ${allowed.join(', ')}`);
    return value as T;
  }

  /** Throws unless `holds`: "<source>: config.json <key> (<value>) must <requirement>". */
  check(holds: boolean, key: string, value: unknown, requirement: string): void {
    if (!holds) throw new ConfigError(`${this.source}: config.json ${key} (${String(value)}) must ${requirement}`);
  }
}
