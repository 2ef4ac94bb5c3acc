/**
 * `layercut plan <file.ts> [--json]`: the runs an experiment file defines — ids, what varies,
 * the parameters of each cut model, estimated tokens and FLOPs, which are finished — from
 * config.json alone (local, cached, or layercut's table of known hub models). Loads no weights
 * and downloads nothing. Exit code 2 when the file has errors (printed as file:line:col).
 */
import { parseOptions } from './options.js';
import path from 'node:path';
import type { Command } from '../cli.js';
import { compileFile } from '../compile/file.js';
import { formatIssue } from '../compile/issues.js';
import { formatListing, listPlan } from '../compile/listing.js';
import { ExitCode, LayercutError } from '../errors.js';

const usage = `usage: layercut plan <file.ts> [--json] [--only <export>]...

Lists the runs the experiment file's exported experiments and sweeps define: each run's id,
the settings that vary, the cut model's parameters (from config.json), estimated tokens and
FLOPs (upper bounds: every epoch, no early stopping), and whether it is finished.

  --json            print the listing (run plans included) as JSON
  --only <export>   list only this exported experiment or sweep (repeatable)`;

export interface PlanCommandHooks {
  /** Which of these run ids are already finished (the results store plugs in here). */
  finishedIds?: (ids: string[]) => Promise<ReadonlySet<string>>;
}

/** The plan command, with the hooks it can use. */
export function makePlanCommand(hooks: PlanCommandHooks = {}): Command {
  return {
    usage,
    async run(args) {
      const parsed = parseOptions('plan', {
        args,
        allowPositionals: true,
        options: { json: { type: 'boolean', default: false }, only: { type: 'string', multiple: true } },
      });
      const [file, ...extra] = parsed.positionals;
      if (!file)
        throw new LayercutError('no experiment file given', 'layercut plan examples/paper-gpt2xl.ts');
      if (extra.length > 0) throw new LayercutError(`one file at a time, got ${parsed.positionals.length}`);
      const compiled = await compileFile(file, parsed.values.only ? { only: parsed.values.only } : {});
      const errors = compiled.issues.filter((issue) => issue.severity === 'error');
      if (errors.length > 0) {
        const relative = (f: string): string => path.relative(process.cwd(), f) || f;
        for (const issue of errors) console.error(formatIssue(issue, relative));
        return ExitCode.usage;
      }
      const finishedIds = hooks.finishedIds
        ? await hooks.finishedIds(compiled.runs.map((r) => r.id))
        : undefined;
      const listing = listPlan(compiled, finishedIds ? { finishedIds } : {});
      if (parsed.values.json) {
        console.log(
          JSON.stringify(
            { ...listing, file: path.relative(process.cwd(), listing.file) || listing.file },
            null,
            2,
          ),
        );
      } else {
        console.log(formatListing(listing, path.relative(process.cwd(), listing.file) || listing.file));
      }
      return ExitCode.ok;
    },
  };
}

export const planCommand: Command = makePlanCommand();
