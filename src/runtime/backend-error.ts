/**
 * The error thrown when a compute backend that was asked for cannot run here (its package is
 * not installed, no GPU adapter, …). `auto` selection catches it and moves on to the next
 * backend; an explicitly requested backend lets it reach the user.
 */
import { LayercutError } from '../errors.js';

import type { ConcreteBackendName } from './backend-names.js';

export type { ConcreteBackendName };

export class BackendUnavailableError extends LayercutError {
  override name = 'BackendUnavailableError';
  constructor(
    /** The backend that could not start. */
    readonly backend: ConcreteBackendName,
    /** Why, in one sentence (used as the `skipped` reason by `auto`). */
    readonly reason: string,
    hint?: string,
  ) {
    super(`backend '${backend}' is unavailable: ${reason}`, hint);
  }
}

/** The first line of an unknown thrown value's message, for embedding in our own messages. */
export function firstLineOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.trim() ?? '';
}
