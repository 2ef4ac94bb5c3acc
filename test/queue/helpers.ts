/**
 * Shared by the queue tests: a real redis-server on a free loopback port (no persistence, a
 * temporary folder), and layercut commands (`run`, `worker`, `status`) as real processes whose
 * stderr lines a test can wait for (test/helpers/spawn.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { spawnNode, type SpawnedCommand } from '../helpers/spawn.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Entry running `run`, `worker` and `status` like bin/layercut.mjs (see commands.ts). */
export const commandsEntry = path.join(here, 'commands.ts');

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Kills the server and waits until it is gone. */
  stop(): Promise<void>;
}

/** Starts /usr/bin/redis-server on 127.0.0.1 at a free port, saving nothing, in `dir`. */
export async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts `layercut <args>` (run, worker or status) in `cwd`; stderr is a pipe, so progress comes as plain lines. */
export function startCommand(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnedCommand {
  return spawnNode(['--import', import.meta.resolve('tsx/esm'), commandsEntry, ...args], {
    cwd,
    env,
    name: `layercut ${args[0]}`,
  });
}

/** Whether a process with this id exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `condition` every 100 ms until it holds; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ids of the runs a command's stderr reports done, in order (a run stored twice would appear twice). */
export function doneIds(stderr: string): string[] {
  return [...stderr.matchAll(/^\[\d+\/\d+\] done ([0-9a-f]{16}) on /gm)].map((m) => m[1]!);
}
