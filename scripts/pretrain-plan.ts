/**
 * Runs a saved pretraining plan — `layercut pretrain <file.ts> --save-plan plan.json` — without
 * importing experiment files, so it bundles into one script for a machine without the
 * project's toolchain (the GPU machine, see ../shared/device/README.md):
 *
 *   node --import tsx scripts/pretrain-plan.ts plan.json --out DIR [--corpus corpus.json.gz]
 *        [--backend webgpu] [--log-every 100]
 */
import { parseArgs } from 'node:util';
import { readPlanJson, runPretrainJob } from '../src/pretrain/job.js';
import { parseBackendName } from '../src/runtime/backend.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    corpus: { type: 'string' },
    backend: { type: 'string' },
    'log-every': { type: 'string' },
  },
});
if (positionals.length !== 1 || !values.out) {
  console.error(
    'usage: pretrain-plan.ts plan.json --out DIR [--corpus FILE] [--backend NAME] [--log-every N]',
  );
  process.exit(2);
}
let plan = await readPlanJson(positionals[0]!);
if (values.backend) plan = { ...plan, backend: parseBackendName(values.backend) };
await runPretrainJob(plan, {
  outDir: values.out,
  ...(values.corpus ? { corpusFile: values.corpus } : {}),
  logEvery: Number(values['log-every'] ?? 100),
});
