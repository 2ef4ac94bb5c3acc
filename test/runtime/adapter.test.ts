/**
 * Which GPU a worker computes on (src/runtime/adapter.ts): LAYERCUT_GPU parsed, the i-th
 * adapter chosen over Dawn's list (the real list of Dawn's null backend, and two-adapter lists
 * as a 2-GPU host gives them), the stderr line a bound worker writes and reads back, the
 * warnings, and the whole path in a real process on Dawn's null backend.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { LayercutError } from '../../src/errors.js';
import {
  bindingWarning,
  chooseAdapter,
  gpuBindingLine,
  gpuIndexFromEnv,
  parseGpuBindingLine,
  pciView,
  pinByPciAddress,
  tensorflowBinding,
  webGpuBinding,
  type GpuBinding,
  type PciView,
  type WebGpuAdapterEntry,
} from '../../src/runtime/adapter.js';
import { listWebGpuAdapters } from '../../src/runtime/webgpu.js';
import { runToEnd } from '../helpers/spawn.js';
import { repoRoot } from '../runner/helpers.js';

const h200: WebGpuAdapterEntry = { backend: 'vulkan', name: 'NVIDIA H200' };
const twoH200 = [h200, { ...h200 }];
const mixed: WebGpuAdapterEntry[] = [
  { backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
  { backend: 'vulkan', name: 'NVIDIA A100-SXM4-40GB' },
];

describe('LAYERCUT_GPU', () => {
  test('unset or empty: no GPU asked for; a whole number: that GPU; anything else: a LayercutError', () => {
    assert.equal(gpuIndexFromEnv({}), undefined);
    assert.equal(gpuIndexFromEnv({ LAYERCUT_GPU: '' }), undefined);
    assert.equal(gpuIndexFromEnv({ LAYERCUT_GPU: '0' }), 0);
    assert.equal(gpuIndexFromEnv({ LAYERCUT_GPU: ' 3 ' }), 3);
    for (const bad of ['-1', '1.5', 'gpu1', '0,1']) {
      assert.throws(
        () => gpuIndexFromEnv({ LAYERCUT_GPU: bad }),
        (error: unknown) =>
          error instanceof LayercutError &&
          error.message.startsWith(`LAYERCUT_GPU=${bad} is not a GPU index`) &&
          /hint: set LAYERCUT_GPU to a whole number ≥ 0/.test(error.message),
      );
    }
  });
});

describe('choosing adapter i of Dawn’s list', () => {
  test('Dawn’s null backend lists one adapter; index 0 selects it by name, index 1 is an error listing it', async () => {
    const adapters = await listWebGpuAdapters({ createFlags: ['backend=null'] });
    assert.deepEqual(adapters, [{ backend: 'null', name: 'Null backend' }]);
    const choice = chooseAdapter(0, adapters);
    assert.deepEqual(choice, {
      index: 0,
      count: 1,
      flag: 'adapter=Null backend',
      selected: 0,
      entry: adapters[0],
    });
    assert.throws(
      () => chooseAdapter(1, adapters),
      (error: unknown) =>
        error instanceof LayercutError &&
        error.message.startsWith(
          'LAYERCUT_GPU 1: there is no GPU adapter 1; Dawn sees 1: 0: Null backend (null)\n' +
            '  hint: use an index from 0 to 0 (--gpus, --gpu, LAYERCUT_GPU)',
        ),
    );
  });

  test('different names: adapter i is reachable by its name', () => {
    const second = chooseAdapter(1, mixed);
    assert.equal(second.flag, 'adapter=NVIDIA A100-SXM4-40GB');
    assert.equal(second.selected, 1);
    assert.equal(second.unreachable, undefined);
    assert.equal(chooseAdapter(0, mixed).selected, 0);
  });

  test('identical names: adapter 1 cannot be had, Dawn gives adapter 0, and the choice says why', () => {
    const second = chooseAdapter(1, twoH200);
    assert.equal(second.flag, 'adapter=NVIDIA H200');
    assert.equal(second.selected, 0);
    assert.equal(second.unreachable, "adapters 0 and 1 are both 'NVIDIA H200' and Dawn takes the first");
    assert.equal(chooseAdapter(0, twoH200).unreachable, undefined);
  });

  test('a name inside an earlier adapter’s name: Dawn matches substrings, so it is unreachable too', () => {
    const list = [
      { backend: 'vulkan', name: 'NVIDIA H100 PCIe' },
      { backend: 'vulkan', name: 'NVIDIA H100' },
    ];
    const second = chooseAdapter(1, list);
    assert.equal(second.selected, 0);
    assert.equal(
      second.unreachable,
      "adapter 1's name 'NVIDIA H100' is part of adapter 0's 'NVIDIA H100 PCIe' and Dawn takes the first",
    );
    assert.equal(chooseAdapter(0, list).selected, 0);
  });

  test('no adapters, or a negative index: an error that says so', () => {
    assert.throws(
      () => chooseAdapter(0, []),
      /LAYERCUT_GPU 0: there is no GPU adapter 0; Dawn sees no adapter/,
    );
    assert.throws(
      () => chooseAdapter(-1, mixed, '--adapter-index'),
      /--adapter-index -1: there is no GPU adapter -1/,
    );
  });
});

describe('identical GPUs pinned by PCI address (Mesa’s device-select layer)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-adapter-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const twoGpus = (layer: boolean, addresses = ['0000:19:00.0', '0000:2a:00.0']): PciView => ({
    deviceSelectLayer: layer,
    gpus: (vendor) => (vendor === 0x10de ? addresses : []),
  });

  test('sysfs and the layer folders read: NVIDIA display devices in bus order, the layer’s manifest found', () => {
    const pci = path.join(dir, 'pci');
    const devices: [string, string, string][] = [
      ['0000:2a:00.0', '0x030200', '0x10de'], // H200 (3D controller)
      ['0000:02:00.0', '0x030000', '0x1a03'], // the board's VGA (ASPEED)
      ['0000:19:00.0', '0x030200', '0x10de'],
      ['0000:05:00.0', '0x068000', '0x10de'], // an NVSwitch bridge: not a display device
    ];
    for (const [address, pciClass, vendor] of devices) {
      mkdirSync(path.join(pci, address), { recursive: true });
      writeFileSync(path.join(pci, address, 'class'), `${pciClass}\n`);
      writeFileSync(path.join(pci, address, 'vendor'), `${vendor}\n`);
    }
    const layers = path.join(dir, 'implicit_layer.d');
    mkdirSync(layers);
    assert.equal(pciView(pci, [layers]).deviceSelectLayer, false);
    writeFileSync(path.join(layers, 'VkLayer_MESA_device_select.json'), '{}');
    const view = pciView(pci, [path.join(dir, 'none'), layers]);
    assert.equal(view.deviceSelectLayer, true);
    assert.deepEqual(view.gpus(0x10de), ['0000:19:00.0', '0000:2a:00.0']);
    assert.deepEqual(view.gpus(0x1002), []);
  });

  test('with the layer, GPU 1 of two H200s is pinned when Dawn then lists one of them', async () => {
    const env: NodeJS.ProcessEnv = { DRI_PRIME: 'left-alone?' };
    const seen: NodeJS.ProcessEnv[] = [];
    const pinned = await pinByPciAddress(
      chooseAdapter(1, twoH200),
      twoH200,
      async () => {
        seen.push({ ...env });
        return [h200];
      },
      twoGpus(true),
      env,
    );
    assert.deepEqual(seen, [
      { DRI_PRIME: 'pci-0000_2a_00_0', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' },
    ]);
    assert.equal(env.DRI_PRIME, 'pci-0000_2a_00_0');
    assert.equal(pinned.pci, '0000:2a:00.0');
    assert.equal(pinned.unreachable, undefined);
    const binding = webGpuBinding(pinned, 'nvidia-h200');
    assert.equal(binding.adapter, 'vulkan adapter at PCI 0000:2a:00.0 "NVIDIA H200"');
    assert.equal(binding.notAsked, undefined);
    // GPU 0 is pinned too (to the first address), so that the two workers' devices are told apart alike
    const first = await pinByPciAddress(
      chooseAdapter(0, twoH200),
      twoH200,
      async () => [h200],
      twoGpus(true),
      {},
    );
    assert.equal(first.pci, '0000:19:00.0');
  });

  test('no layer, a bus that does not match, or a layer without effect: unchanged, the environment as it was', async () => {
    const choice = chooseAdapter(1, twoH200);
    let lists = 0;
    const relistBoth = async () => {
      lists++;
      return twoH200;
    };
    const env: NodeJS.ProcessEnv = { DRI_PRIME: '1' };
    assert.equal(await pinByPciAddress(choice, twoH200, relistBoth, twoGpus(false), env), choice);
    assert.equal(
      await pinByPciAddress(choice, twoH200, relistBoth, twoGpus(true, ['0000:19:00.0']), env),
      choice,
    );
    assert.equal(lists, 0);
    assert.equal(await pinByPciAddress(choice, twoH200, relistBoth, twoGpus(true), env), choice);
    assert.equal(lists, 1);
    assert.deepEqual(env, { DRI_PRIME: '1' });
    // a name no other adapter has needs nothing
    const byName = chooseAdapter(1, mixed);
    assert.equal(await pinByPciAddress(byName, mixed, relistBoth, twoGpus(true), env), byName);
  });
});

describe('the binding line', () => {
  test('written and read back, with and without "not the GPU asked for"', () => {
    const good = webGpuBinding(chooseAdapter(1, mixed), 'nvidia-a100 (vendor nvidia); features: shader-f16');
    const line = gpuBindingLine(good);
    assert.equal(
      line,
      'layercut: gpu 1 → webgpu vulkan adapter 1 of 2 "NVIDIA A100-SXM4-40GB"; nvidia-a100 (vendor nvidia); features: shader-f16',
    );
    assert.deepEqual(parseGpuBindingLine(line), good);

    const shared = webGpuBinding(
      chooseAdapter(1, twoH200),
      'nvidia-h200 (vendor nvidia); features: subgroups',
    );
    const sharedLine = gpuBindingLine(shared);
    assert.match(
      sharedLine,
      /^layercut: gpu 1 → webgpu vulkan adapter 0 of 2 "NVIDIA H200"; nvidia-h200 \(vendor nvidia\); features: subgroups; NOT GPU 1: adapters 0 and 1 are both 'NVIDIA H200'/,
    );
    assert.deepEqual(parseGpuBindingLine(sharedLine), shared);

    const cuda = tensorflowBinding(1, 'tfjs-node-gpu 4.22.0, CUDA', { CUDA_VISIBLE_DEVICES: '1' });
    assert.equal(cuda.adapter, 'CUDA_VISIBLE_DEVICES=1');
    assert.equal(cuda.notAsked, undefined);
    assert.deepEqual(parseGpuBindingLine(gpuBindingLine(cuda)), cuda);
    assert.match(tensorflowBinding(1, 'x', {}).notAsked ?? '', /CUDA_VISIBLE_DEVICES is unset/);

    assert.equal(parseGpuBindingLine('layercut: backend webgpu (null-backend)'), undefined);
    assert.equal(parseGpuBindingLine('Epoch 1: loss 0.3'), undefined);
  });

  test('warnings: a worker without its GPU, two workers asking for different GPUs on one device; none for a shared GPU asked for', () => {
    const w0 = webGpuBinding(chooseAdapter(0, twoH200), 'nvidia-h200');
    const w1 = webGpuBinding(chooseAdapter(1, twoH200), 'nvidia-h200');
    assert.equal(bindingWarning(w0, new Map()), undefined);
    const warning = bindingWarning(w1, new Map([['w0', w0]]));
    assert.match(
      warning ?? '',
      /^it did not get GPU 1: adapters 0 and 1 are both 'NVIDIA H200' and Dawn takes the first/,
    );
    assert.match(
      warning ?? '',
      /; it shares webgpu vulkan adapter 0 of 2 "NVIDIA H200" with w0 \(asked for GPU 0\): the workers take turns on one device/,
    );
    // w0 reporting after w1 sees the sharing too
    assert.match(
      bindingWarning(w0, new Map([['w1', w1]])) ?? '',
      /^it shares .* with w1 \(asked for GPU 1\)/,
    );
    // three workers on two GPUs: w2 asked for GPU 0 like w0, on purpose
    assert.equal(bindingWarning(w0, new Map([['w2', w0]])), undefined);
    const distinct = new Map<string, GpuBinding>([['w0', webGpuBinding(chooseAdapter(0, mixed), 'h100')]]);
    assert.equal(bindingWarning(webGpuBinding(chooseAdapter(1, mixed), 'a100'), distinct), undefined);
  });
});

describe('a bound process on Dawn’s null backend', { timeout: 120_000 }, () => {
  const start = (gpu: string) =>
    `process.env.LAYERCUT_GPU = ${JSON.stringify(gpu)};\n` +
    `const { initBackend, releaseBackend } = await import(${JSON.stringify(path.join(repoRoot, 'src/runtime/backend.ts'))});\n` +
    `try { const r = await initBackend({ backend: 'webgpu', webgpu: { createFlags: ['backend=null'] } }); console.log(r.name); }\n` +
    `catch (e) { console.log(e.name); console.log(e.message); } finally { releaseBackend(); }`;
  const node = (t: Parameters<typeof runToEnd>[0], gpu: string) =>
    runToEnd(
      t,
      process.execPath,
      ['--import', import.meta.resolve('tsx/esm'), '--input-type=module', '-e', start(gpu)],
      {
        cwd: repoRoot,
        timeoutMs: 100_000,
      },
    );

  test('LAYERCUT_GPU=0: the backend starts and the process says on stderr which adapter it got', async (t) => {
    const { code, stdout, stderr } = await node(t, '0');
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), 'webgpu');
    const lines = stderr
      .split('\n')
      .map(parseGpuBindingLine)
      .filter((b) => b !== undefined);
    assert.equal(lines.length, 1, stderr);
    assert.equal(lines[0]!.gpu, 0);
    assert.equal(lines[0]!.backend, 'webgpu');
    assert.equal(lines[0]!.adapter, 'null adapter 0 of 1 "Null backend"');
    assert.match(lines[0]!.detail, /^null-backend; features: /);
    assert.equal(lines[0]!.notAsked, undefined);
  });

  test('LAYERCUT_GPU=1 with one adapter, or not a number: a LayercutError, no backend', async (t) => {
    const missing = await node(t, '1');
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(
      missing.stdout.trim(),
      'LayercutError\nLAYERCUT_GPU 1: there is no GPU adapter 1; Dawn sees 1: 0: Null backend (null)\n' +
        '  hint: use an index from 0 to 0 (--gpus, --gpu, LAYERCUT_GPU)',
    );
    const bad = await node(t, 'one');
    assert.match(bad.stdout, /^LayercutError\nLAYERCUT_GPU=one is not a GPU index/);
  });
});
