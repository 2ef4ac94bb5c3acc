/**
 * `layercut plan <file.ts> [--json] [--db FILE]`: the runs an experiment file defines — ids, what
 * varies, the parameters of each cut model, estimated tokens and FLOPs, and each run's status in
 * the results store (done, failed, to do) — from config.json alone (local, cached, or layercut's
 * table of known hub models). Loads no weights and downloads nothing; the store is opened
 * read-only (never created or migrated). Exit code 2 when the file has errors (printed as
 * file:line:col).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAxisOverrides } from '../compile/axis-overrides.js';
import { compileFile } from '../compile/file.js';
import { formatListing, listPlan, type PlannedStatus } from '../compile/listing.js';
import { ExitCode } from '../errors.js';
import { DEFAULT_DB_FILE, openStoreReadOnly } from '../results/store.js';
import { defineCommand, experimentFiles, printErrors, shownPath } from './options.js';

const usage = `usage: layercut plan <file.ts> [AXIS=VALUE,…]… [--json] [--db FILE] [--only <export>]...

Lists the runs the experiment file's exported experiments and sweeps define: each run's id,
the settings that vary, the cut model's parameters (from config.json), estimated tokens and
FLOPs (upper bounds: every epoch, no early stopping), and its status in the results store:
done, failed, or todo (not there, queued or running).

  AXIS=VALUE,…      as for layercut run: every run once for each value (e.g. seed=0,1)
  --json            print the listing (run plans and statuses included) as JSON
  --db FILE         the results store to read (default: ${DEFAULT_DB_FILE} when it exists; read-only)
  --only <export>   list only this exported experiment or sweep (repeatable)`;

/** Each run's status in the store at `db` (read-only). */
function statusesIn(db: string, ids: readonly string[]): Map<string, PlannedStatus> {
  const store = openStoreReadOnly(db);
  try {
    const statuses = new Map<string, PlannedStatus>();
    for (const run of store.list({ ids })) {
      statuses.set(run.id, run.status === 'done' || run.status === 'failed' ? run.status : 'todo');
    }
    return statuses;
  } finally {
    store.close();
  }
}

export const planCommand = defineCommand('plan', {
  usage,
  positionals: true,
  options: {
    json: { type: 'boolean', default: false },
    db: { type: 'string' },
    only: { type: 'string', multiple: true },
  },
  async run(parsed) {
    const [file, ...extra] = experimentFiles(parsed.positionals, 'layercut plan examples/paper-gpt2xl.ts');
    const axes = extra.length > 0 ? parseAxisOverrides(extra) : undefined;
    const compiled = await compileFile(file, {
      ...(parsed.values.only ? { only: parsed.values.only } : {}),
      ...(axes ? { axes } : {}),
    });
    if (printErrors(compiled.issues)) return ExitCode.usage;
    // An explicit --db must be there; the default is read only when it exists.
    const db = parsed.values.db ?? (existsSync(DEFAULT_DB_FILE) ? DEFAULT_DB_FILE : undefined);
    const listing = listPlan(
      compiled,
      db === undefined
        ? {}
        : {
            statuses: statusesIn(
              db,
              compiled.runs.map((r) => r.id),
            ),
            store: shownPath(path.resolve(db)),
          },
    );
    if (parsed.values.json) {
      console.log(JSON.stringify({ ...listing, file: shownPath(listing.file) }, null, 2));
    } else {
      console.log(formatListing(listing, shownPath(listing.file)));
    }
    return ExitCode.ok;
  },
});
