/**
 * The built-in `tiny-gpt2`: written into layercut's cache on first use (same bytes on every
 * machine), reused after, rebuilt when its recipe changes, shadowed by a shipped folder of the
 * same name; the compiler and the training engine both find it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { LayercutError } from '../../src/errors.js';
import { builtinModelFolder, materializeGeneratedModel } from '../../src/models/builtin.js';
import { ModelCatalog as RunnerModelCatalog } from '../../src/compile/model-info.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { resolveModelDir } from '../../src/models/source.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { repoRoot, testFolder } from './helpers.js';

const { dir, cache } = testFolder('layercut-builtin-');
after(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('tiny-gpt2: config, tensors with GPT-2 initialisation, the real GPT-2 tokenizer, the same bytes twice', async () => {
  const folder = await builtinModelFolder('tiny-gpt2', { cacheDir: cache });
  assert.equal(folder, path.join(cache, 'models', 'tiny-gpt2'));
  const config = JSON.parse(readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(
    [
      config['model_type'],
      config['n_layer'],
      config['n_embd'],
      config['n_head'],
      config['n_positions'],
      config['vocab_size'],
    ],
    ['gpt2', 4, 64, 4, 128, 50257],
  );

  const checkpoint = await openCheckpoint(folder);
  try {
    assert.equal(checkpoint.names().length, 2 + 4 * 12 + 2); // wte, wpe, 12 per block, ln_f
    assert.deepEqual(checkpoint.info('wte.weight').shape, [50257, 64]);
    assert.deepEqual(checkpoint.info('h.3.mlp.c_fc.weight').shape, [64, 256]);
    const std = (data: Float32Array): number => Math.sqrt(data.reduce((s, x) => s + x * x, 0) / data.length);
    const wte = (await checkpoint.readFloat32('wte.weight')).data;
    assert.ok(Math.abs(std(wte) - 0.02) < 0.0005, `wte std ${std(wte)}`);
    const proj = (await checkpoint.readFloat32('h.0.attn.c_proj.weight')).data;
    assert.ok(Math.abs(std(proj) - 0.02 / Math.sqrt(8)) < 0.001, `c_proj std ${std(proj)}`);
    assert.ok((await checkpoint.readFloat32('h.1.ln_2.weight')).data.every((x) => x === 1));
    assert.ok((await checkpoint.readFloat32('h.1.attn.c_attn.bias')).data.every((x) => x === 0));
  } finally {
    await checkpoint.close();
  }

  const tokenizer = await loadTokenizer(folder);
  assert.deepEqual(tokenizer.encode('Hello world').ids, [15496, 995]);

  // Deterministic: another cache gets the same bytes.
  const other = await materializeGeneratedModel('tiny-gpt2', path.join(dir, 'other-cache'));
  assert.equal(sha256(path.join(other, 'model.safetensors')), sha256(path.join(folder, 'model.safetensors')));
});

test('tiny-gpt2 is reused once written, and rebuilt when its recipe version differs', async () => {
  const folder = await builtinModelFolder('tiny-gpt2', { cacheDir: cache });
  const weights = path.join(folder, 'model.safetensors');
  const written = statSync(weights).mtimeMs;
  assert.equal(await builtinModelFolder('tiny-gpt2', { cacheDir: cache }), folder);
  assert.equal(statSync(weights).mtimeMs, written);

  writeFileSync(
    path.join(folder, 'layercut-builtin.json'),
    JSON.stringify({ name: 'tiny-gpt2', version: 0 }),
  );
  writeFileSync(weights, 'stale');
  await builtinModelFolder('tiny-gpt2', { cacheDir: cache });
  assert.equal(statSync(weights).size, 13_703_096);
  assert.equal(JSON.parse(readFileSync(path.join(folder, 'layercut-builtin.json'), 'utf8')).version, 1);
});

test('written by two at once: the first copy in place stays, complete, while the second finishes', async () => {
  // Two runs starting together on one machine (a pool's processes, two workers) both miss the
  // cache and both write it. Once one copy is in place a run may read it: the slower writer must
  // neither delete nor replace it. (It used to remove it before renaming its own, and a run then
  // found no tokenizer.json.)
  const shared = path.join(dir, 'shared-cache');
  const target = path.join(shared, 'models', 'tiny-gpt2');
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'layercut-builtin.json'];
  // Watched on every turn of the event loop from the start: the first complete copy seen, and
  // any moment after it when a file was missing.
  let firstInode: number | undefined;
  const missingAfterComplete = new Set<string>();
  let writing = true;
  const watch = (): void => {
    if (!writing) return;
    const missing = files.filter((file) => !existsSync(path.join(target, file)));
    if (firstInode === undefined && missing.length === 0) {
      firstInode = statSync(path.join(target, 'model.safetensors')).ino;
    } else if (firstInode !== undefined) {
      for (const file of missing) missingAfterComplete.add(file);
    }
    setImmediate(watch);
  };
  setImmediate(watch);
  const folders = await Promise.all([
    materializeGeneratedModel('tiny-gpt2', shared),
    materializeGeneratedModel('tiny-gpt2', shared),
  ]).finally(() => (writing = false));
  assert.deepEqual(folders, [target, target]);
  assert.deepEqual([...missingAfterComplete], []);
  assert.equal(statSync(path.join(target, 'model.safetensors')).ino, firstInode);
  // Neither temporary folder is left behind.
  assert.deepEqual(readdirSync(path.join(shared, 'models')), ['tiny-gpt2']);
  assert.deepEqual((await loadTokenizer(target)).encode('Hello world').ids, [15496, 995]);
});

test('a shipped folder of the same name wins; unknown names are an error naming the built-in models', async () => {
  const shipped = path.join(dir, 'shipped');
  mkdirSync(path.join(shipped, 'tiny-gpt2'), { recursive: true });
  writeFileSync(path.join(shipped, 'tiny-gpt2', 'config.json'), '{}');
  assert.equal(
    await builtinModelFolder('tiny-gpt2', { shippedDirs: [shipped], cacheDir: cache }),
    path.join(shipped, 'tiny-gpt2'),
  );
  await assert.rejects(builtinModelFolder('gpt5', { cacheDir: cache }), (error: unknown) => {
    assert.ok(error instanceof LayercutError);
    assert.match(
      error.message,
      /no built-in model 'gpt5'\n {2}hint: built-in models: tiny-gpt2, or a folder in/,
    );
    return true;
  });
  await assert.rejects(builtinModelFolder('../x', { cacheDir: cache }), /not a built-in model name/);
});

test('the training engine and the compiler find tiny-gpt2 (in LAYERCUT_CACHE) and the shipped fixtures', async () => {
  assert.equal(
    await resolveModelDir({ kind: 'builtin', name: 'tiny-gpt2' }),
    path.join(cache, 'models', 'tiny-gpt2'),
  );
  assert.equal(
    await resolveModelDir({ kind: 'builtin', name: 'gpt2-tiny' }),
    path.join(repoRoot, 'test', 'fixtures', 'models', 'gpt2-tiny'),
  );
  const description = await new RunnerModelCatalog().describe({ kind: 'builtin', name: 'tiny-gpt2' });
  assert.ok(description.known);
  assert.equal(description.depth, 4);
  assert.equal(description.dir, path.join(cache, 'models', 'tiny-gpt2'));
});
