/**
 * `layercut run | worker | status` for the queue tests, as a process entry: the same commands
 * and error handling as bin/layercut.mjs, without depending on src/cli.ts listing `worker`
 * and `status` yet.
 *
 *   node --import tsx test/queue/commands.ts worker --queue redis://127.0.0.1:6390
 */
import type { Command } from '../../src/cli.js';
import { LayercutError } from '../../src/errors.js';

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('../../src/cli/run.js')).runCommand,
  worker: async () => (await import('../../src/cli/worker.js')).workerCommand,
  status: async () => (await import('../../src/cli/status.js')).statusCommand,
};

const [name, ...args] = process.argv.slice(2);
const load = name === undefined ? undefined : commands[name];
if (!load) {
  console.error(`usage: commands.ts ${Object.keys(commands).join('|')} [options]`);
  process.exit(2);
}
try {
  process.exitCode = await (await load()).run(args);
} catch (error) {
  if (!(error instanceof LayercutError)) throw error;
  console.error(`layercut ${name}: ${error.message}`);
  process.exitCode = 2;
}
