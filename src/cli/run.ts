/**
 * `layercut run <file.ts>`: compiles an experiment file, runs every run not yet finished in the
 * results store (one at a time, in this process), shows progress on stderr and prints the
 * paper-style table of the file's runs (Markdown) on stdout. Stopping it — Ctrl-C, a crash, a
 * killed process — loses at most the run in progress; the same command resumes.
 *
 * Exit codes: 0 every run done, 1 some run failed, 2 a usage or compile error, 130 interrupted.
 */
import { parseOptions } from './options.js';
import path from 'node:path';
import type { Command } from '../cli.js';
import { compileFile } from '../compile/file.js';
import { formatIssue } from '../compile/issues.js';
import { ExitCode, LayercutError } from '../errors.js';
import { exportResults } from '../results/export.js';
import { runRows } from '../results/rows.js';
import { DEFAULT_DB_FILE, openStore } from '../results/store.js';
import { parseBackendName, type BackendName } from '../runtime/backend.js';
import { RunnerModelCatalog } from '../runner/catalog.js';
import { ProgressPrinter } from '../runner/progress.js';
import { runPlans, RunsInterruptedError } from '../runner/run-plans.js';

/** Exit code of a run stopped with Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

const usage = `usage: layercut run <file.ts> [options]

Runs the experiments and sweeps the file exports: every run not yet finished in the results
store, one after the other. Finished runs are never run again, so after Ctrl-C or a crash the
same command carries on where it stopped. Progress goes to stderr; the paper-style table of the
file's runs (mean ± std over seeds, Markdown) to stdout.

options:
  --only ID|EXPORT     only this run (an id or the start of one) or this exported experiment
                       or sweep; repeat it for several
  --backend NAME       auto (default) | tensorflow | webgpu | wasm | cpu
  --db FILE            results store (default: ${DEFAULT_DB_FILE})
  --retry-failed       run again the runs that failed before (by default they are skipped)

exit codes: 0 all runs done, 1 some failed, 2 usage or compile error, 130 interrupted

examples:
  layercut run examples/quickstart.ts
  layercut run examples/quickstart.ts --backend wasm --db /tmp/quick.db
  layercut run examples/paper-gpt2xl.ts --only gpt2xlGrid --backend webgpu
  layercut run examples/ablations.ts --only 3f2a9c --retry-failed
  layercut results --view runs            # every run in the store, with its status`;

interface RunArgs {
  file: string;
  only: string[];
  backend?: BackendName;
  db: string;
  retryFailed: boolean;
}

function parseRunArgs(args: string[]): RunArgs {
  const parsed = parseOptions('run', {
    args,
    allowPositionals: true,
    options: {
      only: { type: 'string', multiple: true, default: [] },
      backend: { type: 'string' },
      db: { type: 'string', default: DEFAULT_DB_FILE },
      'retry-failed': { type: 'boolean', default: false },
    },
  });
  const [file, ...extra] = parsed.positionals;
  if (!file) throw new LayercutError('no experiment file given', 'layercut run examples/quickstart.ts');
  if (extra.length > 0) throw new LayercutError(`one file at a time, got ${parsed.positionals.length}`);
  const { values } = parsed;
  return {
    file,
    only: values.only,
    ...(values.backend !== undefined ? { backend: parseBackendName(values.backend, '--backend') } : {}),
    db: values.db,
    retryFailed: values['retry-failed'],
  };
}

/** `--only` values: an export name stands for the ids of its runs; anything else is an id prefix. */
function resolveOnly(
  only: readonly string[],
  runs: readonly { id: string; exports: string[] }[],
  file: string,
  exportNames: readonly string[],
): string[] {
  return only.flatMap((value) => {
    const ofExport = runs.filter((run) => run.exports.includes(value)).map((run) => run.id);
    if (ofExport.length > 0) return ofExport;
    if (runs.some((run) => run.id.startsWith(value))) return [value];
    throw new LayercutError(
      `--only ${value}: no exported experiment or sweep of ${file} is called that, and no run id starts with it`,
      `exports: ${exportNames.join(', ')}; \`layercut plan ${file}\` lists the run ids`,
    );
  });
}

export const runCommand: Command = {
  summary: 'run an experiment file: every unfinished run, with progress, resumable; prints the results table',
  usage,
  async run(args: string[]): Promise<number> {
    const options = parseRunArgs(args);
    const relative = (file: string): string => {
      const shorter = path.relative(process.cwd(), file);
      return shorter && !shorter.startsWith('..') ? shorter : file;
    };

    const compiled = await compileFile(options.file, { catalog: new RunnerModelCatalog() });
    const errors = compiled.issues.filter((issue) => issue.severity === 'error');
    for (const issue of compiled.issues.filter((i) => i.severity === 'warning'))
      console.error(formatIssue(issue, relative));
    if (errors.length > 0) {
      for (const issue of errors) console.error(formatIssue(issue, relative));
      return ExitCode.usage;
    }
    if (compiled.runs.length === 0) {
      throw new LayercutError(
        `${options.file} exports no experiments or sweeps`,
        'export const x = experiment({ … })',
      );
    }

    const only = resolveOnly(options.only, compiled.runs, options.file, compiled.exports);
    const selected = compiled.runs
      .map((run) => run.id)
      .filter((id) => only.length === 0 || only.some((prefix) => id.startsWith(prefix)));

    const store = openStore(options.db);
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = (): void => {
      interrupts++;
      if (interrupts > 1) {
        // A second Ctrl-C: stop now. The run is left `running` by a dead process, which a resume re-runs.
        process.stderr.write('\nlayercut run: stopped\n');
        process.exit(INTERRUPTED_EXIT_CODE);
      }
      process.stderr.write('\nlayercut run: stopping after this step (Ctrl-C again to stop at once)…\n');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    const printer = new ProgressPrinter();
    try {
      let outcome;
      try {
        outcome = await runPlans(
          compiled.runs.map((run) => run.plan),
          {
            store,
            onEvent: printer.handle,
            signal: controller.signal,
            retryFailed: options.retryFailed,
            ...(options.backend ? { backend: options.backend } : {}),
            ...(only.length > 0 ? { only } : {}),
          },
        );
      } catch (error) {
        printer.finish();
        if (error instanceof RunsInterruptedError) return INTERRUPTED_EXIT_CODE;
        throw error;
      }
      printer.finish();

      const stored = store.list({ ids: selected });
      const failedNow = new Set(outcome.failed.map((f) => f.id));
      const stillFailed = stored.filter((run) => run.status === 'failed');
      for (const run of stillFailed) {
        const when = failedNow.has(run.id) ? 'failed' : 'failed before';
        console.error(`${when}: ${run.id}: ${(run.error ?? '').split('\n')[0]}`);
      }
      const done = stored.filter((run) => run.status === 'done').length;
      console.error(
        `${done} of ${stored.length} runs done${stillFailed.length ? `, ${stillFailed.length} failed` : ''}` +
          ` · results in ${relative(store.path)} (layercut results --db ${relative(store.path)} --view runs)`,
      );
      if (done > 0) {
        process.stdout.write(exportResults(runRows(stored), { view: 'paper', format: 'md' }));
      }
      return stillFailed.length > 0 ? ExitCode.failed : ExitCode.ok;
    } finally {
      process.off('SIGINT', onSigint);
      store.close();
    }
  },
};
