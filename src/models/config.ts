/**
 * Typed reading of a Hugging Face config.json: each family asks for the keys it needs and
 * gets a clear error naming the key when it is missing or of the wrong type.
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

  integer(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    if (!Number.isInteger(value) || value < 0) {
      throw new ConfigError(
        `${this.source}: config.json '${key}' should be a non-negative integer, got ${value}`,
      );
    }
    return value;
  }

  /** A whole number ≥ 1 (sizes, counts, windows). */
  positiveInteger(key: string, fallback?: number): number {
    const value = this.integer(key, fallback);
    if (value < 1) {
      throw new ConfigError(`${this.source}: config.json '${key}' should be a positive integer, got ${value}`);
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.json[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      throw new ConfigError(
        `${this.source}: config.json '${key}' should be true or false, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  string(key: string, fallback: string): string {
    const value = this.json[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') {
      throw new ConfigError(
        `${this.source}: config.json '${key}' should be a string, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }
}
