/**
 * Errors a user can cause (a bad file, a wrong option, a missing package) are typed
 * `LayercutError`s whose message says what to change. The command line prints them
 * without a stack trace and exits with code 2 (`ExitCode.usage`); anything else is a bug (exit code 1).
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

/**
 * Exit codes of every `layercut` command, defined once here (docs/run.md lists them); scripts
 * can rely on them.
 */
export const ExitCode = {
  ok: 0,
  /** Something that ran failed: a run, parity beyond tolerance, a backend that does not work. */
  failed: 1,
  /** The input is wrong: a bad option, a missing file, an experiment file or label words with errors. */
  usage: 2,
  /** Nothing failed, but some runs are not done: another live process holds them. */
  unfinished: 3,
  /** Stopped by Ctrl-C (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/**
 * A message of several lines (a list of problems, a hint) printed whole after a prefix: every
 * line after the first indented by `indent`, so the message reads as one block in a log.
 */
export function indentContinuation(message: string, indent = '    '): string {
  return message.replace(/\n/g, `\n${indent}`);
}
