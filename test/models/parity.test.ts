// Logits of every model family, full and cut (padding in the batch), equal Hugging Face transformers'
// on the committed fixtures to 1e-5.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkParity } from '../../src/models/parity.js';
import { initBackend } from '../../src/runtime/backend.js';
import { decoderFixtures, familyFixtures, modelFixture } from '../helpers/fixtures.js';

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
