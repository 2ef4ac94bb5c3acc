/**
 * `layercut backends` end to end, through bin/layercut.mjs in a child process: what it prints
 * and the exit codes scripts rely on (0 works, 2 the requested backend cannot run here).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { runToEnd } from '../helpers/spawn.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `layercut backends <args>` as a process of test `t` (LAYERCUT_BACKEND and LAYERCUT_VERBOSE cleared). */
function layercut(
  t: TestContext,
  ...args: string[]
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return runToEnd(t, process.execPath, [path.join(repoRoot, 'bin/layercut.mjs'), 'backends', ...args], {
    cwd: repoRoot,
    env: { LAYERCUT_BACKEND: '', LAYERCUT_VERBOSE: '' },
    timeoutMs: 60_000,
  });
}

function isResolvable(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

test('backends --backend wasm prints the backend and a passing matmul check, exit 0', async (t) => {
  const { code, stdout } = await layercut(t, '--backend', 'wasm');
  assert.equal(code, 0);
  assert.match(stdout, /^backend: wasm\n {2}@tensorflow\/tfjs-backend-wasm 4\./);
  assert.match(stdout, /matmul check: 64×64 on wasm, max \|error\| 0, ok \(/);
});

test(
  'backends --backend tensorflow exits 2 and says how to install it',
  { skip: isResolvable('@tensorflow/tfjs-node') ? '@tensorflow/tfjs-node is installed here' : false },
  async (t) => {
    const { code, stdout, stderr } = await layercut(t, '--backend', 'tensorflow');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^layercut backends: backend 'tensorflow' is unavailable: /);
    assert.match(stderr, /npm install @tensorflow\/tfjs-node/);
  },
);

test('backends rejects a bad backend name and a bad adapter index with exit 2', async (t) => {
  const badName = await layercut(t, '--backend', 'tpu');
  assert.equal(badName.code, 2);
  assert.match(
    badName.stderr,
    /unknown backend 'tpu' \(from --backend\)\n {2}hint: use one of: auto, tensorflow, webgpu, wasm, cpu/,
  );
  const badIndex = await layercut(t, '--adapter-index', 'first');
  assert.equal(badIndex.code, 2);
  assert.match(badIndex.stderr, /--adapter-index must be a whole number/);
});
