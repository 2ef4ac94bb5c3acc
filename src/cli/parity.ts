/** `layercut parity <dir>…`: compares layercut's logits with Hugging Face reference outputs. */
import { ExitCode } from '../errors.js';
import { checkParity, DEFAULT_TOLERANCE } from '../models/parity.js';
import { initBackend, parseBackendName } from '../runtime/backend.js';
import { defineCommand, positiveNumber } from './options.js';

const usage = `usage: layercut parity <dir> [<dir>…] [--backend auto|tensorflow|webgpu|wasm|cpu] [--tolerance 1e-4]

Each <dir> holds a Hugging Face checkpoint (config.json, model.safetensors) and reference.safetensors
with input_ids, attention_mask, logits_full and logits_keep{k} made by transformers. Prints the max
absolute difference of each reference over real (unpadded) positions; exits 1 if any exceeds the tolerance
or any logit is NaN or infinite.

example:
  layercut parity test/fixtures/models/gpt2-tiny --backend wasm`;

export const parityCommand = defineCommand('parity', {
  usage,
  positionals: true,
  options: { backend: { type: 'string' }, tolerance: { type: 'string' } },
  async run({ values, positionals }) {
    if (positionals.length === 0) {
      console.error(usage);
      return ExitCode.usage;
    }
    const tolerance = positiveNumber(values.tolerance, '--tolerance') ?? DEFAULT_TOLERANCE;
    const backend = await initBackend(
      values.backend === undefined ? {} : { backend: parseBackendName(values.backend, '--backend') },
    );
    console.log(`backend: ${backend.name}${backend.detail ? ` (${backend.detail})` : ''}`);
    let failed = false;
    for (const dir of positionals) {
      for (const row of await checkParity(dir, tolerance)) {
        failed ||= !row.ok;
        const verdict = row.ok
          ? 'ok'
          : row.nonFinite > 0
            ? `FAIL (${row.nonFinite} logits are NaN or infinite)`
            : `FAIL (> ${tolerance})`;
        console.log(
          `${dir}  ${row.reference.padEnd(14)} max|Δ| = ${row.maxAbsDiff.toExponential(2)}  ${verdict}`,
        );
      }
    }
    return failed ? ExitCode.failed : ExitCode.ok;
  },
});
