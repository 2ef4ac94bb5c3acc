/**
 * Errors a user can cause (a bad file, a wrong option, a missing package) are typed
 * `LayercutError`s whose message says what to change. The command line prints them
 * without a stack trace and exits with code 2; anything else is a bug (exit code 1).
 */
export class LayercutError extends Error {
  override name = 'LayercutError';
  constructor(
    message: string,
    /** What the user can do about it; printed on its own line. */
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
  }
}

/** Exit codes the command line uses; scripts can rely on them. */
export const ExitCode = {
  ok: 0,
  /** A check failed (e.g. parity beyond tolerance, a run failed). */
  failed: 1,
  /** The user's input was wrong (bad option, missing file, invalid checkpoint). */
  usage: 2,
} as const;

/**
 * A message of several lines (a list of problems, a hint) printed whole after a prefix: every
 * line after the first indented by `indent`, so the message reads as one block in a log.
 */
export function indentContinuation(message: string, indent = '    '): string {
  return message.replace(/\n/g, `\n${indent}`);
}
