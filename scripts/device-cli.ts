/**
 * The layercut commands that run on a machine without the project's toolchain (the GPU machine,
 * see ../shared/device/README.md), as one bundle: `parity` and `backends`. (The full CLI also
 * holds the experiment compiler, whose TypeScript compiler does not bundle.)
 *
 *   bash ../shared/device/pack.sh scripts/device-cli.ts
 *   bash .device/run.sh device-cli.mjs parity test/fixtures/models/llama-tiny-gqa --backend webgpu
 */
import type { Command } from '../src/cli.js';
import { backendsCommand } from '../src/cli/backends.js';
import { parityCommand } from '../src/cli/parity.js';
import { ExitCode, LayercutError } from '../src/errors.js';

const commands: Record<string, Command> = { parity: parityCommand, backends: backendsCommand };
const [name, ...args] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  console.error(`usage: device-cli.mjs ${Object.keys(commands).join('|')} [options]`);
  process.exit(ExitCode.usage);
}
try {
  process.exitCode = await command.run(args);
} catch (error) {
  if (!(error instanceof LayercutError)) throw error;
  console.error(`layercut ${name}: ${error.message}`);
  process.exitCode = ExitCode.usage;
}
