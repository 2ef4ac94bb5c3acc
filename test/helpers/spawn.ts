/**
 * Every process a test starts goes through here, so that none outlives its test: a command run
 * as a user starts it, with its stdout and stderr kept whole, its stderr also split into lines
 * a test can wait for (stderr is a pipe, so layercut's progress comes as plain lines), and its
 * exit.
 *
 *   const run = spawnNode(t, [layercutBin, 'run', file], { cwd: dir, env: { LAYERCUT_CACHE: cache } });
 *   await run.waitForLine(/^\[1\/4\] done /);
 *   run.process.kill('SIGINT');
 *   assert.equal(await run.exitWithin(5_000), 130);
 *
 *   const { code, stdout } = await runToEnd(t, 'npm', ['run', 'build'], { cwd: repoRoot, timeoutMs: 300_000 });
 *
 * Each command leads a process group of its own (as a shell starts a job), and is killed with
 * that whole group (SIGKILL) when the first of these comes: the test that owns it ends (passed,
 * failed or timed out: `t.after`), its own time limit passes (`timeoutMs`), or this process exits.
 * Waiting on it (`exit`, `waitForLine`) therefore never outlasts the limit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';

export interface SpawnedCommand {
  process: ChildProcess;
  /** Resolves with the exit code (or the signal's name, or why it could not start) once the process is gone. */
  exit: Promise<number | string>;
  /** All it wrote to stdout so far. */
  stdout(): string;
  /** All it wrote to stderr so far. */
  stderr(): string;
  /**
   * Resolves with the first stderr line (from the start) matching `pattern`; rejects if the
   * process exits first, or after `timeoutMs` (default: until the command's own limit).
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit; rejects if the process is still there after `ms` (and kills it). */
  exitWithin(ms: number): Promise<number | string>;
  /** Sends `signal` to the whole process group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Kills the process group now (SIGKILL) and resolves once the command has exited. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  cwd: string;
  /** Added to this process's environment (LAYERCUT_BACKEND is cleared unless given here). */
  env?: NodeJS.ProcessEnv;
  /** How the command is named in errors (default: the arguments). */
  name?: string;
  /** The longest it may run, ms (default 120 000); then it is killed and its waits end. */
  timeoutMs?: number;
}

/**
 * Who else ends a command: the test it belongs to (killed when the test ends), or null for one
 * started in a `before` hook, which has no test context (its time limit, an explicit `kill()`
 * in an `after` hook, or this process's exit ends it).
 */
export type Owner = TestContext | null;

const DEFAULT_TIMEOUT_MS = 120_000;

/** Process groups not killed yet, killed when this process exits (whatever else happened). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) killGroup(child);
});

/** Kills the command's process group: the command, and what it started that is still in it (even once it has exited itself). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing of the group is left
  }
}

/** Starts `command <args>` with stdin closed and stdout, stderr piped (see the file comment). */
export function spawnCommand(
  owner: Owner,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): SpawnedCommand {
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: { ...process.env, LAYERCUT_BACKEND: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  const name = options.name ?? [command, ...args].join(' ');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
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
  let timedOut = false;
  const limit = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, timeoutMs);
  limit.unref();
  const exit = new Promise<number | string>((resolve) => {
    let status: number | string = 'unknown';
    const done = (): void => {
      clearTimeout(limit);
      resolve(status);
    };
    child.once('exit', (code, signal) => {
      status = code ?? signal ?? 'unknown';
      // 'close' follows once its output is read to the end; a process it left holding the pipes may delay that
      setTimeout(done, 1000).unref();
    });
    child.once('close', done);
    // it could not start at all (no such program): 'exit' never comes, the error says why
    child.once('error', (error) => {
      status = error.message;
      done();
    });
  });
  const limitText = (): string => (timedOut ? ` (killed after its limit of ${timeoutMs} ms)` : '');
  const kill = async (): Promise<void> => {
    killGroup(child);
    live.delete(child);
    await exit;
  };
  owner?.after(kill);

  const within = <T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(what())), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  return {
    process: child,
    exit,
    stdout: () => out,
    stderr: () => err,
    waitForLine: (pattern, ms) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      const waiting = Promise.race([
        new Promise<string>((resolve) => waiters.push({ pattern, resolve })),
        exit.then((code) => {
          throw new Error(`${name} exited (${code})${limitText()} before printing ${pattern}:\n${err}`);
        }),
      ]);
      if (ms === undefined) return waiting;
      return within(waiting, ms, () => `${name} printed no line ${pattern} within ${ms} ms:\n${err}`);
    },
    exitWithin: (ms) =>
      within(exit, ms, () => `${name} was still running ${ms} ms later:\n${err}`).catch(async (error) => {
        await kill();
        throw error;
      }),
    signalGroup: (signal) => {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    },
    kill,
  };
}

/** `spawnCommand` for `node <args>` with this Node binary. */
export function spawnNode(owner: Owner, args: readonly string[], options: SpawnOptions): SpawnedCommand {
  return spawnCommand(owner, process.execPath, args, options);
}

/** Runs a command to its end (or its time limit): its exit code (or the signal's name) and its output. */
export async function runToEnd(
  owner: Owner,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = spawnCommand(owner, command, args, options);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
