/**
 * Writes layercut's healing exports of the tiny fixture models, for transformers to load
 * (test/fixtures/healing/check_exports.py compares their logits with the fixtures'):
 *
 *   node --import tsx scripts/healing-exports.ts OUT_DIR
 *
 *   OUT_DIR/{gpt2,llama}-lora-merged/      LoRA adapters of the fixture, merged (saveModel)
 *   OUT_DIR/{gpt2,llama}-lora-merged/adapter/   the same adapter in PEFT's layout
 *   OUT_DIR/{gpt2,llama}-replaced/         the cut with the least-squares map folded in
 *   OUT_DIR/{gpt2,llama}-sublayers{k}/     sublayer case k (dropped projections zeroed, empty layers gone)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadModel } from '../src/models/load.js';
import { LoraAdapters } from '../src/models/lora.js';
import { fitLinear, foldIntoMlpOutput } from '../src/models/replacement.js';
import { saveModel } from '../src/models/save.js';
import { keepIndices } from '../src/models/selection.js';
import { applySublayerDrops, layersLeft } from '../src/models/sublayer-drops.js';
import { initBackend } from '../src/runtime/backend.js';
import type { EncodedExample } from '../src/train/batching.js';
import { openCheckpoint } from '../src/weights/safetensors.js';

interface Manifest {
  models: Record<string, string>;
  lora: Record<string, { r: number; lora_alpha: number; target_modules: string[] }>;
  replace: Record<string, { start: number; end: number }>;
  sublayers: Record<string, { drop_attn: number[]; drop_mlp: number[] }[]>;
}

const out = process.argv[2];
if (!out) throw new Error('usage: scripts/healing-exports.ts OUT_DIR');
const healing = path.resolve('test/fixtures/healing');
const manifest = JSON.parse(await readFile(path.join(healing, 'manifest.json'), 'utf8')) as Manifest;
await initBackend({ backend: 'cpu' });

for (const family of ['gpt2', 'llama']) {
  const modelDir = path.join(healing, manifest.models[family]!);
  {
    const { model } = await loadModel(modelDir);
    const spec = manifest.lora[family]!;
    const adapters = new LoraAdapters(
      model,
      { kind: 'lora', rank: spec.r, alpha: spec.lora_alpha, targets: spec.target_modules, dropout: 0 },
      0,
    );
    await adapters.load(path.join(healing, `lora-${family}`, 'adapter_model.safetensors'));
    const dir = path.join(out, `${family}-lora-merged`);
    await adapters.save(path.join(dir, 'adapter'), { baseModel: modelDir });
    adapters.merge();
    await saveModel(model, dir, { sourceDir: modelDir });
    adapters.dispose();
    model.dispose();
  }
  {
    const { start, end } = manifest.replace[family]!;
    const reference = await openCheckpoint(path.join(healing, `replace-${family}.safetensors`));
    const ids = await reference.readInt32('calib_ids');
    const mask = await reference.readInt32('calib_mask');
    await reference.close();
    const [batch, seq] = ids.shape as [number, number];
    const calibration: EncodedExample[] = Array.from({ length: batch }, (_, b) => {
      const row = Array.from(ids.data.subarray(b * seq, (b + 1) * seq)).filter(
        (_, t) => mask.data[b * seq + t] === 1,
      );
      return { ids: row, scorePosition: row.length - 1, label: 0 };
    });
    const { solution } = await fitLinear(modelDir, { start, end }, calibration, 0);
    const kept = [0, 1, 2, 3].filter((l) => l < start || l >= end);
    const { model } = await loadModel(modelDir, { layers: keepIndices(kept) });
    foldIntoMlpOutput(model, start - 1, solution);
    await saveModel(model, path.join(out, `${family}-replaced`), { sourceDir: modelDir });
    model.dispose();
  }
  for (const [k, spec] of manifest.sublayers[family]!.entries()) {
    const drops = { attention: spec.drop_attn, mlp: spec.drop_mlp };
    const { model } = await loadModel(modelDir, { layers: keepIndices(layersLeft([0, 1, 2, 3], drops)) });
    applySublayerDrops(model, drops);
    await saveModel(model, path.join(out, `${family}-sublayers${k}`), { sourceDir: modelDir });
    model.dispose();
  }
}
console.log(`wrote the healing exports under ${out}`);
