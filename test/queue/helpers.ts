/**
 * Shared by the queue tests: a real redis-server on a free loopback port (no persistence, a
 * temporary folder), and layercut commands (`run`, `worker`, `status`) as real processes whose
 * stderr lines a test can wait for (test/helpers/spawn.ts).
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { spawnCommand, spawnNode, type Owner, type SpawnedCommand } from '../helpers/spawn.js';

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
  command: SpawnedCommand;
  /** Kills the server and waits until it is gone. */
  stop(): Promise<void>;
}

/**
 * Starts /usr/bin/redis-server on 127.0.0.1 at a free port, saving nothing, in `dir`. Started in
 * a `before` hook (no test owns it): `stop()` it in an `after` hook; its time limit (10 minutes)
 * and this process's exit end it otherwise.
 */
export async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freePort();
  const command = spawnCommand(
    null,
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, name: 'redis-server', timeoutMs: 600_000 },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    command.process.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void command.exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await command.kill();
    throw error;
  });
  return { url: `redis://127.0.0.1:${port}`, port, command, stop: () => command.kill() };
}

/**
 * Starts `layercut <args>` (run, worker or status) in `cwd`, ended with `owner` (test/helpers/spawn.ts);
 * stderr is a pipe, so progress comes as plain lines.
 */
export function startCommand(
  owner: Owner,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): SpawnedCommand {
  return spawnNode(owner, ['--import', import.meta.resolve('tsx/esm'), commandsEntry, ...args], {
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
