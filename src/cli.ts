/**
 * `layercut` command line: a dispatcher over subcommands, each in `src/cli/<name>.ts` and
 * imported only when called — `layercut --help` and `layercut tokenize` never load tfjs,
 * ts-morph or SQLite. The one-line summaries live here, so the help needs no command module.
 * Exit codes: `ExitCode` in errors.ts (docs/run.md lists them).
 */
import { ExitCode, LayercutError } from './errors.js';

/** A subcommand: `run` receives the arguments after its name and returns an exit code. */
export interface Command {
  usage: string;
  run(args: string[]): Promise<number>;
}

interface CommandEntry {
  /** One line for `layercut --help`. */
  summary: string;
  load: () => Promise<Command>;
}

const commands: Record<string, CommandEntry> = {
  parity: {
    summary: 'compare logits with Hugging Face reference outputs (full and cut models)',
    load: async () => (await import('./cli/parity.js')).parityCommand,
  },
  backends: {
    summary: 'show which compute backend (tensorflow, webgpu, wasm, cpu) runs here, and check it',
    load: async () => (await import('./cli/backends.js')).backendsCommand,
  },
  tokenize: {
    summary: 'encode a text with a tokenizer folder; prints {"ids":[...],"tokens":[...]}',
    load: async () => (await import('./cli/tokenize.js')).tokenizeCommand,
  },
  verbalizer: {
    summary: "check a task's label words against a tokenizer (tokens in the answer slot, collisions)",
    load: async () => (await import('./cli/verbalizer.js')).verbalizerCommand,
  },
  check: {
    summary: 'type-check an experiment file and validate its runs (file:line:col messages)',
    load: async () => (await import('./cli/check.js')).checkCommand,
  },
  plan: {
    summary: 'list the runs an experiment file defines, their model sizes and costs (no downloads)',
    load: async () => (await import('./cli/plan.js')).planCommand,
  },
  results: {
    summary:
      'show stored runs: per run, paper-style mean ± std, per condition with 95% CIs, or paired comparisons (md/csv/tex/json)',
    load: async () => (await import('./cli/results.js')).resultsCommand,
  },
  plot: {
    summary: 'plot stored runs (accuracy vs layers or size, training curves, methods) as SVG/PNG',
    load: async () => (await import('./cli/plot.js')).plotCommand,
  },
  run: {
    summary:
      'run an experiment file: every unfinished run, with progress, resumable; prints the results table',
    load: async () => (await import('./cli/run.js')).runCommand,
  },
  notebook: {
    summary: "write a tslab notebook that runs a file's experiments cell by cell",
    load: async () => (await import('./cli/notebook.js')).notebookCommand,
  },
  pretrain: {
    summary: 'pretrain a small GPT-2-style model (tokenizer included) on the offline corpus',
    load: async () => (await import('./cli/pretrain.js')).pretrainCommand,
  },
  layers: {
    summary: 'measure each layer on a task (influence, angular distance, zero-shot accuracy by depth)',
    load: async () => (await import('./cli/layers.js')).layersCommand,
  },
  worker: {
    summary: 'take runs from a Redis queue (layercut run --queue) and run them, one at a time',
    load: async () => (await import('./cli/worker.js')).workerCommand,
  },
  forget: {
    summary: 'list (and with --yes remove) the stored runs an experiment file no longer defines',
    load: async () => (await import('./cli/forget.js')).forgetCommand,
  },
  status: {
    summary: "a sweep's progress: runs per status in the store; the Redis queue and its workers",
    load: async () => (await import('./cli/status.js')).statusCommand,
  },
};

/** The command names, in help order. */
export const commandNames: readonly string[] = Object.keys(commands);

function help(): string {
  return [
    'layercut — slim language models by cutting off their layers',
    '',
    'usage: layercut <command> [options]    (layercut <command> --help for its options)',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(12)} ${entry.summary}`),
    '',
    'exit codes: 0 ok, 1 something that ran failed (a run, parity), 2 usage or input errors (what check finds),',
    '            3 runs not done: another process holds them, 130 interrupted (docs/run.md)',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`layercut: unknown command '${name}'. Commands: ${commandNames.join(', ')}`);
    return ExitCode.usage;
  }
  const command = await entry.load();
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
