// The dispatch grid of layercut's row programs and column sums (workgroupGrid in
// src/runtime/fused/program.ts), without a GPU: tfjs-backend-webgpu rejects a grid with a y
// layout that has more workgroups in one dimension than the device allows, so past the limit the
// workgroups go onto more rows. The programs on Dawn's null device: wgsl.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LayercutError } from '../../src/errors.js';
import { defaultWorkgroupsPerDimension, RowProgram, workgroupGrid } from '../../src/runtime/fused/program.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

describe('workgroupGrid', () => {
  it('keeps one row while the count fits the limit', () => {
    assert.deepEqual(workgroupGrid(0, 65_535), [0, 1, 1]);
    assert.deepEqual(workgroupGrid(1, 65_535), [1, 1, 1]);
    assert.deepEqual(workgroupGrid(65_535, 65_535), [65_535, 1, 1]);
  });

  it('past the limit, the fewest rows of equal width', () => {
    // LayerNorm over 64 × 1024 tokens; 70,000 rows of 8 (its backward: 547 more block workgroups)
    assert.deepEqual(workgroupGrid(65_536, 65_535), [32_768, 2, 1]);
    assert.deepEqual(workgroupGrid(70_000, 65_535), [35_000, 2, 1]);
    assert.deepEqual(workgroupGrid(70_547, 65_535), [35_274, 2, 1]);
    assert.deepEqual(workgroupGrid(200_000, 65_535), [50_000, 4, 1]);
    assert.deepEqual(workgroupGrid(11, 4), [4, 3, 1]);
  });

  it('covers every count within the limit, with fewer than y workgroups past it', () => {
    for (const limit of [4, 7, 100, 65_535]) {
      for (const count of [
        limit + 1,
        2 * limit - 1,
        2 * limit,
        2 * limit + 1,
        3 * limit + 2,
        limit * limit,
      ]) {
        const [x, y, z] = workgroupGrid(count, limit);
        const label = `${count} over ${limit}: [${x}, ${y}, ${z}]`;
        assert.ok(x <= limit && y <= limit && z === 1, label);
        assert.equal(y, Math.ceil(count / limit), label);
        assert.ok(x * y >= count && x * y - count < y, label);
      }
    }
  });

  it('refuses a count past limit × limit with a typed error', () => {
    assert.throws(() => workgroupGrid(17, 4), LayercutError);
    assert.throws(() => workgroupGrid(65_535 * 65_535 + 1, 65_535), /needs more than the device's/);
  });

  it("off the webgpu backend, WebGPU's default limit: a row program's dispatch", () => {
    assert.equal(defaultWorkgroupsPerDimension, 65_535);
    const program = new RowProgram([70_000, 8], 70_000, ['x'], 'layercutTest', 'fn main() {}');
    assert.deepEqual(program.dispatch, [35_000, 2, 1]);
    assert.deepEqual(new RowProgram([5, 8], 5, ['x'], 'layercutTest', '').dispatch, [5, 1, 1]);
  });
});
