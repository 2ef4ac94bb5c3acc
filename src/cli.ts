/**
 * `layercut` command line: a dispatcher over subcommands, each in `src/cli/<name>.ts`
 * and loaded only when called (so `layercut tokenize` never loads tfjs).
 */
import { ExitCode, LayercutError } from './errors.js';

/** A subcommand: `run` receives the arguments after its name and returns an exit code. */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  parity: async () => (await import('./cli/parity.js')).parityCommand,
  backends: async () => (await import('./cli/backends.js')).backendsCommand,
  tokenize: async () => (await import('./cli/tokenize.js')).tokenizeCommand,
  verbalizer: async () => (await import('./cli/verbalizer.js')).verbalizerCommand,
  check: async () => (await import('./cli/check.js')).checkCommand,
  plan: async () => (await import('./cli/plan.js')).planCommand,
  results: async () => (await import('./cli/results.js')).resultsCommand,
  plot: async () => (await import('./cli/plot.js')).plotCommand,
  run: async () => (await import('./cli/run.js')).runCommand,
  notebook: async () => (await import('./cli/notebook.js')).notebookCommand,
  pretrain: async () => (await import('./cli/pretrain.js')).pretrainCommand,
  layers: async () => (await import('./cli/layers.js')).layersCommand,
  worker: async () => (await import('./cli/worker.js')).workerCommand,
  status: async () => (await import('./cli/status.js')).statusCommand,
};

function help(): string {
  const lines = [
    'layercut — slim language models by cutting off their layers',
    '',
    'usage: layercut <command> [options]    (layercut <command> --help for its options)',
    '',
    'commands:',
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const out = [help()];
    for (const [cmdName, load] of Object.entries(commands)) {
      out.push(`  ${cmdName.padEnd(12)} ${(await load()).summary}`);
    }
    console.log(out.join('\n'));
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const load = commands[name];
  if (!load) {
    console.error(`layercut: unknown command '${name}'. Commands: ${Object.keys(commands).join(', ')}`);
    return ExitCode.usage;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return ExitCode.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof LayercutError) {
      console.error(`layercut ${name}: ${error.message}`);
      return ExitCode.usage;
    }
    throw error;
  }
}
