/**
 * Does a model compute the same on the GPU as on the CPU, at training sizes? Loads a model
 * folder on `cpu` and on `webgpu`, runs the same blocks of a corpus file (see
 * `layercut pretrain --save-corpus`) through both and prints, per batch size: the max |Δ| of the
 * logits, and the causal-LM loss from each backend. Run on the GPU machine (bundled with
 * ../shared/device/pack.sh):
 *
 *   bash .device/run.sh webgpu-consistency.mjs models/tiny-english corpus.json.gz [--batches 4,32]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { packDocuments } from '../src/data/pack-documents.js';
import { loadModel } from '../src/models/load.js';
import { causalLmLoss, gatherBlocks } from '../src/pretrain/causal-lm.js';
import { initBackend } from '../src/runtime/backend.js';
import { loadTokenizer } from '../src/tokenizers/load.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { batches: { type: 'string', default: '4,32' }, length: { type: 'string', default: '128' } },
});
const [dir, corpusFile] = positionals;
if (!dir || !corpusFile) throw new Error('usage: webgpu-consistency.ts MODEL_DIR CORPUS.json[.gz]');
const raw = await readFile(corpusFile);
const corpus = JSON.parse((corpusFile.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as {
  validation: string[];
};
const tokenizer = await loadTokenizer(dir);
const length = Number(values.length);
const blocks = packDocuments(
  corpus.validation.map((text) => tokenizer.encode(text).ids),
  { contextLength: length, eosId: tokenizer.specialTokens.eos!.id },
);
const all = new Int32Array(blocks.length * (length + 1));
blocks.forEach((block, i) => all.set(block, i * (length + 1)));

for (const rows of values.batches!.split(',').map(Number)) {
  const batch = gatherBlocks(
    all,
    length,
    Array.from({ length: rows }, (_, i) => i),
  );
  const results: Record<string, { logits: Float32Array; loss: number }> = {};
  for (const backend of ['cpu', 'webgpu'] as const) {
    await initBackend({ backend });
    const { model } = await loadModel(dir);
    const ids = tf
      .tensor2d(batch.ids, [rows, length + 1], 'int32')
      .slice([0, 0], [rows, length]) as tf.Tensor2D;
    const logits = model.logits(ids, tf.onesLike(ids));
    const loss = causalLmLoss(model, batch);
    results[backend] = { logits: (await logits.data()) as Float32Array, loss: (await loss.data())[0]! };
    tf.dispose([ids, logits, loss]);
    model.dispose();
  }
  let worst = 0;
  const [a, b] = [results['cpu']!.logits, results['webgpu']!.logits];
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  console.log(
    `batch ${rows}×${length}: logits max|Δ| ${worst.toExponential(2)}, loss cpu ${results['cpu']!.loss.toFixed(5)} webgpu ${results['webgpu']!.loss.toFixed(5)}`,
  );
}
