/**
 * `layercut run <file.ts>`: compiles an experiment file, runs every run not yet finished in the
 * results store, shows progress on stderr and prints the paper-style table of the file's runs
 * (Markdown) on stdout. Stopping it — Ctrl-C, a crash, a killed process — loses at most the
 * runs in progress; the same command resumes.
 *
 * Where the runs run — the executor src/runner/choose.ts picks, as for the notebook's `run()`:
 * one at a time in this process (default); on N worker processes of this machine, one per GPU
 * (`--workers N`, `--gpus 0,1`: src/queue/pool.ts); or on `layercut worker`s anywhere, through
 * a BullMQ queue on Redis (`--queue redis://…`: src/queue/coordinator.ts). In every case this
 * process alone writes the results store.
 *
 * Exit codes: 0 every run done, 1 some run failed, 2 a usage or compile error, 3 no run failed
 * but some are not done (another live process holds them; each is named), 130 interrupted.
 */
import { handleCtrlC } from './ctrl-c.js';
import {
  backendChoices,
  defineCommand,
  experimentFiles,
  parseCount,
  parseGpuList,
  printErrors,
  shownPath,
  type ParsedArgs,
} from './options.js';
import { compileFile } from '../compile/file.js';
import { formatIssue } from '../compile/issues.js';
import { layercutEnv } from '../env.js';
import { ExitCode, indentContinuation, LayercutError } from '../errors.js';
import { exportResults } from '../results/export.js';
import { runRows } from '../results/rows.js';
import { DEFAULT_DB_FILE, errorMessage, openStore } from '../results/store.js';
import { DEFAULT_QUEUE_NAME } from '../queue/address.js';
import { parseBackendName, type BackendName } from '../runtime/backend.js';
import { chooseExecutor } from '../runner/choose.js';
import { RunsInterruptedError, sweepRuns, type Executor, type RunsOutcome } from '../runner/executor.js';
import { ProgressPrinter } from '../runner/progress.js';
import { runSweep } from '../runner/run-plans.js';
import { RepeatedFailureStop } from './repeated-failures.js';
import { parseAxisOverrides, type AxisOverrides } from '../compile/axis-overrides.js';

const usage = `usage: layercut run <file.ts> [AXIS=VALUE,…]… [options]

Runs the experiments and sweeps the file exports: every run not yet finished in the results
store, one after the other. Finished runs are never run again, so after Ctrl-C or a crash the
same command carries on where it stopped. Progress goes to stderr; the paper-style table of the
file's runs (mean ± std over seeds, Markdown) to stdout.

axes: AXIS=VALUE,… after the file runs every run once for each of these values, in place of
what the file sets (e.g. seed=0,1 layers=1,2,4 lr=1e-4,3e-4 task=sst2 method=lm,cls); they
are checked like axes in the file (docs/run.md lists how each is written)

options:
  --only ID|EXPORT     only this run (an id or the start of one) or this exported experiment
                       or sweep; repeat it for several
  --backend NAME       ${backendChoices(' (default)')}
  --db FILE            results store (default: ${DEFAULT_DB_FILE})
  --retry-failed       run again the runs that failed before (by default they are skipped)

on several processes (this process coordinates and alone writes the results store):
  --workers N          run N runs at once, each in a worker process of its own; largest runs
                       first; a worker that crashes is replaced
  --gpus 0,1           bind worker i to GPU gpus[i mod count] (LAYERCUT_GPU: webgpu's adapter,
                       CUDA_VISIBLE_DEVICES: CUDA's GPU); --workers defaults to the number of
                       GPUs; each worker prints the device it got (docs/run.md)
  --retries N          attempts after a run's first failure (default 1)
  --queue URL          send the runs to a BullMQ queue on Redis (redis://host:port) and wait
                       for \`layercut worker\`s anywhere to run them; results come back here
  --queue-name NAME    the queue (default: ${DEFAULT_QUEUE_NAME})

exit codes: 0 all runs done, 1 some failed, 2 usage or compile error, 3 some runs still
running in another process (this command ran the rest; run it again once that one is done),
130 interrupted

examples:
  layercut run examples/quickstart.ts
  layercut run examples/quickstart.ts --backend wasm --db /tmp/quick.db
  layercut run examples/quickstart.ts seed=0,1,2          # three seeds of every run
  layercut run examples/paper-gpt2xl.ts --only gpt2xlGrid --backend webgpu
  layercut run examples/ablations.ts --only 3f2a9c --retry-failed
  layercut run examples/paper-gpt2xl.ts --workers 2 --gpus 0,1 --backend webgpu
  layercut run examples/paper-gpt2xl.ts --queue redis://10.0.0.5:6379   # with \`layercut worker\`s
  layercut results --view runs            # every run in the store, with its status`;

interface RunArgs {
  file: string;
  /** Axes given after the file (`seed=0,1`): src/compile/axis-overrides.ts. */
  axes?: AxisOverrides;
  only: string[];
  backend?: BackendName;
  db: string;
  retryFailed: boolean;
  /** Where the runs run: this process, a pool of worker processes, or a Redis queue (src/runner/choose.ts). */
  executor: Executor;
  /** The Redis queue, when the runs go there (Ctrl-C then stops the waiting, not the runs). */
  queue?: string;
}

const options = {
  only: { type: 'string', multiple: true, default: [] as string[] },
  backend: { type: 'string' },
  db: { type: 'string', default: DEFAULT_DB_FILE },
  'retry-failed': { type: 'boolean', default: false },
  workers: { type: 'string' },
  gpus: { type: 'string' },
  retries: { type: 'string' },
  queue: { type: 'string' },
  'queue-name': { type: 'string', default: DEFAULT_QUEUE_NAME },
} as const;

/** The options, checked; worker processes' stderr lines go to `printer` (with LAYERCUT_VERBOSE). */
function runArgs(parsed: ParsedArgs<typeof options, true>, printer: ProgressPrinter): RunArgs {
  const [file, ...extra] = experimentFiles(parsed.positionals, 'layercut run examples/quickstart.ts');
  const axes = extra.length > 0 ? parseAxisOverrides(extra) : undefined;
  const { values } = parsed;
  const { verbose } = layercutEnv();
  // Mistakes (a mistyped address, --queue with --workers) are usage errors before anything compiles.
  const executor = chooseExecutor(
    {
      ...(values.workers !== undefined ? { workers: parseCount(values.workers, '--workers', 1) } : {}),
      ...(values.gpus !== undefined ? { gpus: parseGpuList(values.gpus) } : {}),
      ...(values.retries !== undefined ? { retries: parseCount(values.retries, '--retries', 0) } : {}),
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      queueName: values['queue-name'],
      ...(verbose
        ? { onWorkerStderr: (worker: string, line: string) => printer.workerLine(worker, line) }
        : {}),
    },
    (name) => `--${name}`,
  );
  return {
    file,
    ...(axes ? { axes } : {}),
    only: values.only,
    ...(values.backend !== undefined ? { backend: parseBackendName(values.backend, '--backend') } : {}),
    db: values.db,
    retryFailed: values['retry-failed'],
    executor,
    ...(values.queue !== undefined ? { queue: values.queue } : {}),
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

export const runCommand = defineCommand('run', {
  usage,
  positionals: true,
  options,
  async run(parsed) {
    const printer = new ProgressPrinter();
    const options = runArgs(parsed, printer);

    const compiled = await compileFile(options.file, {
      ...(options.axes ? { axes: options.axes } : {}),
      checkPrompts: true,
    });
    for (const issue of compiled.issues.filter((i) => i.severity === 'warning'))
      console.error(formatIssue(issue, shownPath));
    if (printErrors(compiled.issues)) return ExitCode.usage;
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
    // Ctrl-C: stop at the next step, put the run back, exit 130; a second one ends us at once (cli/ctrl-c.ts).
    const ctrlC = handleCtrlC(() =>
      process.stderr.write(
        options.queue !== undefined
          ? '\nlayercut run: no longer waiting; the runs stay in the queue and the workers go on (run the same command to collect their results)\n'
          : '\nlayercut run: stopping after this step (Ctrl-C again to stop at once)…\n',
      ),
    );
    const stop = new RepeatedFailureStop();
    const chosen = new Set(selected);
    try {
      let outcome: RunsOutcome;
      try {
        outcome = await runSweep(sweepRuns(compiled.runs.filter((run) => chosen.has(run.id))), {
          store,
          executor: options.executor,
          signal: AbortSignal.any([ctrlC.signal, stop.signal]),
          retryFailed: options.retryFailed,
          backend: options.backend,
          onEvent: (event) => {
            printer.handle(event);
            stop.handle(event);
          },
        });
      } catch (error) {
        printer.finish();
        if (stop.stopped) {
          console.error(stop.report());
          return ExitCode.failed;
        }
        if (error instanceof RunsInterruptedError) return ExitCode.interrupted;
        throw error;
      }
      printer.finish();

      const stored = store.list({ ids: selected });
      const failedNow = new Set(outcome.failed.map((f) => f.id));
      const stillFailed = stored.filter((run) => run.status === 'failed');
      for (const run of stillFailed) {
        const when = failedNow.has(run.id) ? 'failed' : 'failed before';
        console.error(`${when}: ${run.id}: ${indentContinuation(errorMessage(run.error ?? ''))}`);
      }
      // Neither done nor failed: held by another live process, or left by one since.
      const unfinished = stored.filter((run) => run.status === 'running' || run.status === 'queued');
      const elsewhere = unfinished.filter((run) => run.owner?.alive);
      for (const run of unfinished) {
        const owner = run.owner;
        console.error(
          owner?.alive
            ? `running elsewhere: ${run.id}: process ${owner.pid} on ${owner.host} is running it`
            : `not finished: ${run.id}: ${owner ? `process ${owner.pid} on ${owner.host} stopped running it` : 'another process put it back in the queue'}; run the same command again`,
        );
      }
      const done = stored.filter((run) => run.status === 'done').length;
      const notDone = [
        ...(stillFailed.length ? [`${stillFailed.length} failed`] : []),
        ...(elsewhere.length ? [`${elsewhere.length} running in another process`] : []),
        ...(unfinished.length > elsewhere.length
          ? [`${unfinished.length - elsewhere.length} not finished`]
          : []),
      ];
      console.error(
        `${done} of ${stored.length} runs done${notDone.map((part) => `, ${part}`).join('')}` +
          ` · results in ${shownPath(store.path)} (layercut results --db ${shownPath(store.path)} --view runs)`,
      );
      if (done > 0) {
        process.stdout.write(exportResults(runRows(stored), { view: 'paper', format: 'md' }));
      }
      if (stillFailed.length > 0) return ExitCode.failed;
      return unfinished.length > 0 ? ExitCode.unfinished : ExitCode.ok;
    } finally {
      ctrlC.dispose();
      store.close();
    }
  },
});
