/**
 * `layercut forget <file.ts> --stale [--db FILE] [--yes]`: the runs an older version of an
 * experiment file stored that its current version no longer defines — runs whose recorded file
 * (a label of each run, src/plan/labels.ts) is this one and whose id is not in its plan. Lists
 * them and changes nothing, unless `--yes`: then they and their results leave the store. A run
 * that another file also defines, or that a live process is running, is kept.
 */
import path from 'node:path';
import { compileFile } from '../compile/file.js';
import { ExitCode, LayercutError } from '../errors.js';
import { runRow } from '../results/rows.js';
import { DEFAULT_DB_FILE, openStore, openStoreReadOnly, type StoredRun } from '../results/store.js';
import { defineCommand, experimentFiles, printErrors, shownPath } from './options.js';

const usage = `usage: layercut forget <file.ts> --stale [--db FILE] [--yes]

Lists the stale runs of an experiment file: runs in the results store that the file defined once
(each run records the files that define it) but whose id its current plan no longer has — left
over from older versions of the file. Changes nothing unless --yes is given.

  --stale      the runs the file no longer defines (the only kind of forgetting there is)
  --db FILE    results store (default: ${DEFAULT_DB_FILE})
  --yes        remove them (and their results) from the store; without it, only list them

A run that another file also defines is kept, and so is a run a live process is running.`;

/** One line per run: id, status and the settings people recognise it by. */
function describe(run: StoredRun): string {
  const row = runRow(run);
  const accuracy = row.accuracy === null ? '' : ` · test accuracy ${(row.accuracy * 100).toFixed(1)}%`;
  return `  ${run.id}  ${run.status.padEnd(6)}  ${row.model} ${row.layers} · ${row.task} · ${row.method} · seed ${row.seed}${accuracy}`;
}

export const forgetCommand = defineCommand('forget', {
  usage,
  positionals: true,
  options: {
    stale: { type: 'boolean', default: false },
    db: { type: 'string', default: DEFAULT_DB_FILE },
    yes: { type: 'boolean', default: false },
  },
  async run(parsed) {
    const [file, ...extra] = experimentFiles(
      parsed.positionals,
      'layercut forget examples/quickstart.ts --stale',
    );
    if (extra.length > 0) throw new LayercutError(`one file at a time, got ${parsed.positionals.length}`);
    if (!parsed.values.stale)
      throw new LayercutError('say what to forget', `--stale: the runs ${file} no longer defines`);
    const compiled = await compileFile(file);
    // a file with errors defines fewer runs than it means to: forgetting by it would lose runs
    if (printErrors(compiled.issues)) return ExitCode.usage;
    const current = new Set(compiled.runs.map((run) => run.id));
    const reader = openStoreReadOnly(parsed.values.db);
    let stored: StoredRun[];
    try {
      stored = reader.list();
    } finally {
      reader.close();
    }
    const mine = stored.filter((run) => run.plan.labels?.files?.includes(compiled.file));
    const stale = mine.filter((run) => !current.has(run.id));
    const shared = stale.filter((run) => run.plan.labels!.files!.length > 1);
    const going = stale.filter((run) => !shared.includes(run));
    const unrecorded = stored.filter((run) => run.plan.labels?.files === undefined).length;
    const where = shownPath(path.resolve(parsed.values.db));
    const lines = [
      `${shownPath(compiled.file)}: ${current.size} run(s) now; ${where} holds ${mine.length} run(s) it defined, ${stale.length} of them no longer`,
    ];
    if (going.length > 0)
      lines.push(
        parsed.values.yes ? 'forgotten:' : 'would be forgotten (add --yes):',
        ...going.map(describe),
      );
    if (shared.length > 0) lines.push('kept (another file defines them too):', ...shared.map(describe));
    if (unrecorded > 0)
      lines.push(
        `${unrecorded} run(s) in ${where} record no file (stored before files were recorded): not considered`,
      );
    if (parsed.values.yes && going.length > 0) {
      const store = openStore(parsed.values.db);
      try {
        const removed = new Set(store.forget(going.map((run) => run.id)));
        const held = going.filter((run) => !removed.has(run.id));
        if (held.length > 0)
          lines.push(`kept (a live process is running them): ${held.map((r) => r.id).join(', ')}`);
        lines.push(`${removed.size} run(s) removed from ${where}`);
      } finally {
        store.close();
      }
    }
    console.log(lines.join('\n'));
    return ExitCode.ok;
  },
});
