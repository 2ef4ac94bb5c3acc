/** `layercut notebook <file.ts>`: writes a tslab notebook that runs the file's experiments cell by cell. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadExperimentFile } from '../compile/file.js';
import { ExitCode } from '../errors.js';
import { experimentNotebook } from '../notebook/generate.js';
import { defineCommand, shownPath } from './options.js';

const usage = `usage: layercut notebook <file.ts> [--out notebook.ipynb]

Writes a Jupyter notebook for the tslab kernel that runs every experiment or sweep the file
exports, one cell each, with a live display, the paper-style table and an accuracy plot.
Default output: the file's name with .ipynb, in the same folder.

examples:
  layercut notebook examples/quickstart.ts
  layercut notebook examples/ablations.ts --out notebooks/my-ablations.ipynb`;

export const notebookCommand = defineCommand('notebook', {
  usage,
  positionals: true,
  options: { out: { type: 'string' } },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) {
      console.error(usage);
      return ExitCode.usage;
    }
    const loaded = await loadExperimentFile(file);
    const names = loaded.exports.map((e) => e.name).filter((n): n is string => typeof n === 'string');
    const out = path.resolve(values.out ?? file.replace(/\.[cm]?tsx?$/, '') + '.ipynb');
    const notebook = experimentNotebook(file, names, path.dirname(out));
    await writeFile(out, `${JSON.stringify(notebook, null, 1)}\n`);
    console.log(`wrote ${shownPath(out)}: ${names.length} experiment cell(s) (${names.join(', ')})`);
    return ExitCode.ok;
  },
});
