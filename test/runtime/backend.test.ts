/**
 * Backend selection on this machine: no GPU, no Vulkan loader, no @tensorflow/tfjs-node.
 * Tests whose premise does not hold where they run (say, tfjs-node installed) are skipped
 * with the reason. tfjs's current backend is global: every test names the backend it wants.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { LayercutError } from '../../src/errors.js';
import {
  BackendUnavailableError,
  checkMatmul,
  describeBackend,
  initBackend,
  probeVulkanLoader,
  releaseBackend,
} from '../../src/runtime/index.js';
import { noAdapterError } from '../../src/runtime/webgpu.js';

function isResolvable(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

const tensorflowInstalled =
  isResolvable('@tensorflow/tfjs-node-gpu') || isResolvable('@tensorflow/tfjs-node');
const vulkanLoaderMissing = probeVulkanLoader().found === false;
const noTensorflow = tensorflowInstalled ? '@tensorflow/tfjs-node is installed here' : false;
const noVulkan = vulkanLoaderMissing ? false : 'a Vulkan loader is installed here';

/** Runs `body` with LAYERCUT_BACKEND set to `value`, restoring it afterwards. */
async function withBackendEnv<T>(value: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env.LAYERCUT_BACKEND;
  process.env.LAYERCUT_BACKEND = value;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.LAYERCUT_BACKEND;
    else process.env.LAYERCUT_BACKEND = saved;
  }
}

/** [[1,2],[3,4]] · [[5,6],[7,8]] on the current backend. */
async function smallMatmul(): Promise<number[][]> {
  const product = tf.matMul(
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]),
    tf.tensor2d([
      [5, 6],
      [7, 8],
    ]),
  );
  const values = (await product.array()) as number[][]; // [2, 2]
  tf.dispose(product);
  return values;
}

test(
  'auto picks wasm here and says why tensorflow and webgpu were skipped',
  { skip: noTensorflow || noVulkan },
  async () => {
    const lines: string[] = [];
    const report = await initBackend({ backend: 'auto', log: (line) => lines.push(line) });
    assert.equal(report.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      report.skipped.map((s) => s.name),
      ['tensorflow', 'webgpu'],
    );
    const [tensorflow, webgpu] = report.skipped;
    assert.match(
      tensorflow?.reason ?? '',
      /neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/,
    );
    assert.match(tensorflow?.reason ?? '', /Cannot find package '@tensorflow\/tfjs-node-gpu'/);
    assert.match(webgpu?.reason ?? '', /Vulkan loader libvulkan\.so\.1 is not installed/);
    assert.match(report.detail, /tfjs-backend-wasm 4\.\d+\.\d+.*\d+ thread/);
    // The log got one line per skipped backend and one for the choice.
    assert.equal(lines.length, 3);
    assert.match(lines[2] ?? '', /^layercut: backend wasm \(/);
  },
);

test('a second identical call returns the first report without starting anything', async () => {
  const first = await initBackend({ backend: 'wasm' });
  await tf.setBackend('cpu'); // someone switched tfjs behind our back
  const lines: string[] = [];
  const second = await initBackend({ backend: 'wasm', log: (line) => lines.push(line) });
  assert.equal(second, first);
  assert.equal(tf.getBackend(), 'wasm', 'the cached backend is made current again');
  assert.deepEqual(lines, [], 'nothing was started, so nothing was logged');
});

test(
  'explicit tensorflow throws BackendUnavailableError saying how to install it',
  { skip: noTensorflow },
  async () => {
    const error = await initBackend({ backend: 'tensorflow' }).then(
      () => assert.fail('tensorflow should be unavailable here'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BackendUnavailableError);
    assert.ok(error instanceof LayercutError);
    assert.equal(error.backend, 'tensorflow');
    assert.match(error.message, /npm install @tensorflow\/tfjs-node-gpu/);
    assert.match(error.message, /npm install @tensorflow\/tfjs-node`/);
    assert.match(error.message, /CUDA 11/);
    assert.match(
      error.message,
      /Cannot find package '@tensorflow\/tfjs-node-gpu'/,
      'includes the underlying error',
    );
  },
);

test(
  'explicit webgpu throws BackendUnavailableError naming the missing Vulkan pieces',
  { skip: noVulkan },
  async () => {
    const error = await initBackend({ backend: 'webgpu' }).then(
      () => assert.fail('webgpu should be unavailable here'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BackendUnavailableError);
    assert.equal(error.backend, 'webgpu');
    assert.match(error.message, /no GPU adapter: the Vulkan loader libvulkan\.so\.1 is not installed/);
    assert.match(error.message, /install libvulkan1 and an NVIDIA\/AMD\/Intel Vulkan driver/);
    const holder = globalThis as { navigator?: { gpu?: unknown } };
    assert.equal(holder.navigator?.gpu, undefined, 'a failed start leaves no navigator.gpu behind');
  },
);

for (const name of ['cpu', 'wasm'] as const) {
  test(`${name} starts and computes a matmul correctly`, async () => {
    const report = await initBackend({ backend: name });
    assert.equal(report.name, name);
    assert.deepEqual(report.skipped, []);
    assert.equal(tf.getBackend(), name);
    assert.deepEqual(await smallMatmul(), [
      [19, 22],
      [43, 50],
    ]);
    const check = await checkMatmul(32);
    assert.equal(check.backend, name);
    assert.equal(check.maxAbsError, 0);
    assert.equal(check.ok, true);
    assert.match(describeBackend(), new RegExp(`^${name} \\(tfjs 4\\.\\d+\\.\\d+\\): `));
  });
}

test('LAYERCUT_BACKEND chooses the backend when no option does (any case)', async () => {
  assert.equal((await withBackendEnv('cpu', () => initBackend())).name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal((await withBackendEnv(' WASM ', () => initBackend())).name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  // An explicit option wins over the environment.
  assert.equal((await withBackendEnv('wasm', () => initBackend({ backend: 'cpu' }))).name, 'cpu');
});

test('an unknown backend name is a LayercutError listing the valid names', async () => {
  await assert.rejects(
    initBackend({ backend: 'cuda' as never }),
    (error: unknown) =>
      error instanceof LayercutError &&
      !(error instanceof BackendUnavailableError) &&
      error.message.includes("unknown backend 'cuda'") &&
      error.message.includes('auto, tensorflow, webgpu, wasm, cpu'),
  );
  await assert.rejects(
    withBackendEnv('gpu', () => initBackend()),
    (error: unknown) =>
      error instanceof LayercutError && /unknown backend 'gpu' \(from LAYERCUT_BACKEND\)/.test(error.message),
  );
});

test('releaseBackend without a GPU backend leaves the current one working', async () => {
  await initBackend({ backend: 'wasm' });
  releaseBackend();
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(await smallMatmul(), [
    [19, 22],
    [43, 50],
  ]);
});

test('the Vulkan probe finds the loader on LD_LIBRARY_PATH and in the ld.so cache', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'layercut-vulkan-'));
  try {
    const library = path.join(dir, 'libvulkan.so.1');
    writeFileSync(library, '');
    assert.deepEqual(probeVulkanLoader({ LD_LIBRARY_PATH: `/nonexistent:${dir}` }, 'linux'), {
      found: true,
      path: library,
    });
    assert.deepEqual(probeVulkanLoader({}, 'darwin'), { found: 'not-applicable' });

    const standardDirsHaveIt = probeVulkanLoader({}, 'linux', path.join(dir, 'no-cache')).found !== false;
    if (!standardDirsHaveIt) {
      // The cache holds NUL-terminated names and paths, as /etc/ld.so.cache does.
      const cache = path.join(dir, 'ld.so.cache');
      writeFileSync(
        cache,
        Buffer.from('glibc-ld.so.cache1.1\0libvulkan.so.1\0/opt/gpu/lib/libvulkan.so.1\0libz.so\0'),
      );
      assert.deepEqual(probeVulkanLoader({}, 'linux', cache), {
        found: true,
        path: '/opt/gpu/lib/libvulkan.so.1',
      });
      const missing = probeVulkanLoader(
        { LD_LIBRARY_PATH: dir + '/sub' },
        'linux',
        path.join(dir, 'no-cache'),
      );
      assert.equal(missing.found, false);
      assert.ok(missing.found === false && missing.searched[0] === dir + '/sub');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the no-adapter error tells a missing loader from a missing driver', () => {
  const noLoader = noAdapterError({ found: false, searched: ['/usr/lib'] });
  assert.match(noLoader.message, /libvulkan\.so\.1 is not installed/);
  assert.match(noLoader.message, /install libvulkan1/);
  const noDriver = noAdapterError({ found: true, path: '/usr/lib/x86_64-linux-gnu/libvulkan.so.1' });
  assert.match(noDriver.message, /loader is installed \(\/usr\/lib\/x86_64-linux-gnu\/libvulkan\.so\.1\)/);
  assert.match(noDriver.message, /NVIDIA\/AMD\/Intel Vulkan driver/);
  assert.equal(noDriver.backend, 'webgpu');
});
