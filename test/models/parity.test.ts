// Logits of every model family, full and cut (padding in the batch), equal Hugging Face transformers'
// on the committed fixtures to 1e-5; weights that differ, or logits that are NaN, fail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../../src/cli.js';
import { checkParity } from '../../src/models/parity.js';
import { initBackend } from '../../src/runtime/backend.js';
import { captured } from '../helpers/console.js';
import { decoderFixtures, familyFixtures, modelFixture } from '../helpers/fixtures.js';
import { copyWithNaN } from '../helpers/nan-checkpoint.js';

const TOLERANCE = 1e-5;

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`parity on the ${backend} backend`, () => {
    for (const fixture of [...decoderFixtures, ...familyFixtures]) {
      it(`${fixture}: full model and every first-k cut`, async () => {
        await initBackend({ backend });
        const rows = await checkParity(modelFixture(fixture), TOLERANCE);
        assert.deepEqual(rows.map((r) => r.reference).sort(), [
          'logits_full',
          'logits_keep1',
          'logits_keep2',
          'logits_keep3',
        ]);
        for (const row of rows) {
          assert.ok(row.maxAbsDiff <= TOLERANCE, `${row.reference}: max|Δ| ${row.maxAbsDiff}`);
          assert.equal(row.ok, true);
        }
      });
    }
  });
}

it('parity reports a failure when the weights differ from the reference', async () => {
  await initBackend({ backend: 'cpu' });
  // gpt2-tiny-bf16 has other random weights than gpt2-tiny: its logits must not pass for gpt2-tiny's.
  const { mkdtemp, copyFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-parity-'));
  await copyFile(path.join(modelFixture('gpt2-tiny-bf16'), 'config.json'), path.join(dir, 'config.json'));
  await copyFile(
    path.join(modelFixture('gpt2-tiny-bf16'), 'model.safetensors'),
    path.join(dir, 'model.safetensors'),
  );
  await copyFile(
    path.join(modelFixture('gpt2-tiny'), 'reference.safetensors'),
    path.join(dir, 'reference.safetensors'),
  );
  const rows = await checkParity(dir);
  assert.ok(rows.every((r) => !r.ok && r.maxAbsDiff > 0.1));
});

it('parity fails on logits that are NaN, and says so: a NaN weight in layer 2 of a real checkpoint', async () => {
  await initBackend({ backend: 'wasm' });
  const { mkdtemp } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'layercut-parity-nan-')), 'gpt2-tiny-nan');
  await copyWithNaN(modelFixture('gpt2-tiny'), dir, 'h.2.mlp.c_fc.weight', [0]);
  const rows = new Map((await checkParity(dir)).map((row) => [row.reference, row]));
  // the cuts to layers 0 and 0..1 never reach the NaN; every real position of the others is NaN
  for (const name of ['logits_keep1', 'logits_keep2']) {
    assert.equal(rows.get(name)!.ok, true, name);
    assert.equal(rows.get(name)!.nonFinite, 0);
  }
  const realTokens = 12 + 8; // the reference batch: 12 and 8 real tokens, 99 logits each
  for (const name of ['logits_keep3', 'logits_full']) {
    assert.equal(rows.get(name)!.ok, false, name);
    assert.equal(rows.get(name)!.nonFinite, realTokens * 99, name);
  }
  const cli = await captured(() => main(['parity', dir, '--backend', 'wasm']));
  assert.equal(cli.code, 1);
  assert.match(cli.out, new RegExp(`logits_full +max\\|Δ\\| = NaN  FAIL \\(${realTokens * 99} logits are NaN or infinite\\)`));
  assert.match(cli.out, /logits_keep1 +max\|Δ\| = \d\.\d\de-\d+ {2}ok/);
});
