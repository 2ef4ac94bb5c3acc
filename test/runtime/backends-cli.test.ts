/**
 * `layercut backends` end to end, through bin/layercut.mjs in a child process: what it prints
 * and the exit codes scripts rely on (0 works, 2 the requested backend cannot run here).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function layercut(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.LAYERCUT_BACKEND;
  delete env.LAYERCUT_VERBOSE;
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'bin/layercut.mjs'), 'backends', ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function isResolvable(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

test('backends --backend wasm prints the backend and a passing matmul check, exit 0', () => {
  const { status, stdout } = layercut('--backend', 'wasm');
  assert.equal(status, 0);
  assert.match(stdout, /^backend: wasm\n {2}@tensorflow\/tfjs-backend-wasm 4\./);
  assert.match(stdout, /matmul check: 64×64 on wasm, max \|error\| 0, ok \(/);
});

test(
  'backends --backend tensorflow exits 2 and says how to install it',
  { skip: isResolvable('@tensorflow/tfjs-node') ? '@tensorflow/tfjs-node is installed here' : false },
  () => {
    const { status, stdout, stderr } = layercut('--backend', 'tensorflow');
    assert.equal(status, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^layercut backends: backend 'tensorflow' is unavailable: /);
    assert.match(stderr, /npm install @tensorflow\/tfjs-node/);
  },
);

test('backends rejects a bad backend name and a bad adapter index with exit 2', () => {
  const badName = layercut('--backend', 'tpu');
  assert.equal(badName.status, 2);
  assert.match(
    badName.stderr,
    /unknown backend 'tpu' \(from --backend\)\n {2}hint: use one of: auto, tensorflow, webgpu, wasm, cpu/,
  );
  const badIndex = layercut('--adapter-index', 'first');
  assert.equal(badIndex.status, 2);
  assert.match(badIndex.stderr, /--adapter-index must be a whole number/);
});
