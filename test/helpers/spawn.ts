/**
 * A command run as a real Node process, as a user starts it: its stdout and stderr kept whole,
 * its stderr also split into lines a test can wait for (stderr is a pipe, so layercut's progress
 * comes as plain lines), and its exit.
 *
 *   const run = spawnNode([layercutBin, 'run', file], { cwd: dir, env: { LAYERCUT_CACHE: cache } });
 *   await run.waitForLine(/^\[1\/4\] done /);
 *   run.process.kill('SIGINT');
 *   assert.equal(await run.exit, 130);
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface SpawnedCommand {
  process: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exit: Promise<number | string>;
  /** All it wrote to stdout so far. */
  stdout(): string;
  /** All it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the first stderr line (from the start) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp): Promise<string>;
}

export interface SpawnOptions {
  cwd: string;
  /** Added to this process's environment (LAYERCUT_BACKEND is cleared unless given here). */
  env?: NodeJS.ProcessEnv;
  /** How the command is named when it exits before printing a line waited for (default: the arguments). */
  name?: string;
}

/** Starts `node <args>` (this Node binary) with stdin closed and stdout, stderr piped. */
export function spawnNode(args: readonly string[], options: SpawnOptions): SpawnedCommand {
  const child = spawn(process.execPath, [...args], {
    cwd: options.cwd,
    env: { ...process.env, LAYERCUT_BACKEND: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const name = options.name ?? args.join(' ');
  let out = '';
  let err = '';
  let partial = '';
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    partial += chunk.toString();
    let newline;
    while ((newline = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    process: child,
    exit,
    stdout: () => out,
    stderr: () => err,
    waitForLine: (pattern) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return Promise.race([
        new Promise<string>((resolve) => waiters.push({ pattern, resolve })),
        exit.then((code) => {
          throw new Error(`${name} exited (${code}) before printing ${pattern}:\n${err}`);
        }),
      ]);
    },
  };
}
