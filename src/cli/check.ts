/**
 * `layercut check <file.ts>…`: type-checks experiment files and runs the compiler's checks
 * (unknown tasks, template fields, verbalizer labels, layers against the model's depth, …),
 * printing each problem as `file:line:col message`. Exit code 2 when there is any error.
 * Reads config.json files (local, cached or from the table of known models); no weights, no network.
 */
import path from 'node:path';
import { checkFileReport, experimentProject, formatDiagnostic } from '../compile/check.js';
import { formatPromptFits } from '../compile/prompt-checks.js';
import { ExitCode } from '../errors.js';
import { defineCommand, experimentFiles, shownPath } from './options.js';

const usage = `usage: layercut check <file.ts>... [--only <export>]...

Prints TypeScript's and layercut's diagnostics of experiment files as file:line:col message:
type errors (a template placeholder the task lacks, a verbalizer that misses a label, a
misspelt option), then what only the compiler sees (a layer beyond the model's depth, a
template or verbalizer built at run time that does not fit the task, …), then what needs the
tokenizer and the data: label words that collide or are several tokens, and for each model ×
task × template × demonstrations setting the tokens of the template, of the longest
demonstration block, of the longest input, and the room maxLength leaves for an input. The
tokenizer and the data are read from this machine only (model folder, Hugging Face cache); when
they are not here that check is skipped with a note — check never downloads.

  --only <export>   check only this exported experiment or sweep (repeatable)

Exit code 2 when there are errors, 0 when there are none (warnings are printed too).`;

export const checkCommand = defineCommand('check', {
  usage,
  positionals: true,
  options: { only: { type: 'string', multiple: true } },
  async run(parsed) {
    const files = experimentFiles(parsed.positionals, 'layercut check examples/paper-gpt2xl.ts');
    let errors = 0;
    for (const file of files) {
      const { diagnostics, prompts } = await checkFileReport(file, {
        project: experimentProject(path.dirname(path.resolve(file))),
        checkPrompts: true,
        ...(parsed.values.only ? { only: parsed.values.only } : {}),
      });
      for (const diagnostic of diagnostics) console.log(formatDiagnostic(diagnostic));
      if (prompts && prompts.fits.length > 0) console.log(formatPromptFits(prompts.fits));
      for (const note of prompts?.notes ?? []) console.log(`note: ${note}`);
      const count = diagnostics.filter((d) => d.severity === 'error').length;
      errors += count;
      if (count === 0) console.error(`${shownPath(file)}: no errors`);
    }
    return errors > 0 ? ExitCode.usage : ExitCode.ok;
  },
});
