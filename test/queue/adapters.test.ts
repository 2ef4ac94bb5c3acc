/**
 * The pool hears which device each worker got: a worker process writes its `layercut: gpu …`
 * line when its backend starts (runtime/adapter.ts), its RunProcess reads it back, and the pool
 * warns when a worker did not get its GPU or two workers asking for different GPUs share one;
 * a Redis worker (`layercut worker --gpu 1`) says the same of its own run process.
 * This machine has no GPU, so the workers' entry computes its line over the adapter list a
 * host with two identical GPUs gives Dawn (the one thing not real here), then serves real runs.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { workerPool } from '../../src/queue/pool.js';
import type { RunEvent } from '../../src/runner/events.js';
import { plainSweepRuns } from '../../src/runner/executor.js';
import { ProgressPrinter } from '../../src/runner/progress.js';
import { runSweep } from '../../src/runner/run-plans.js';
import { runQueueWorker } from '../../src/queue/worker.js';
import { repoRoot, testFolder, tinyPlans } from '../runner/helpers.js';
import { startRedis, type RedisServer } from './helpers.js';

const { dir } = testFolder('layercut-adapters-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A worker entry that reports the device Dawn gives for LAYERCUT_GPU on a host with two 'NVIDIA H200's. */
function twoH200Entry(): string {
  const entry = path.join(dir, 'two-h200-entry.mts');
  const src = (file: string) => JSON.stringify(path.join(repoRoot, 'src', file));
  writeFileSync(
    entry,
    `import { chooseAdapter, gpuBindingLine, gpuIndexFromEnv, webGpuBinding } from ${src('runtime/adapter.ts')};
import { serveRuns } from ${src('queue/serve-runs.ts')};
const adapters = [{ backend: 'vulkan', name: 'NVIDIA H200' }, { backend: 'vulkan', name: 'NVIDIA H200' }];
const choice = chooseAdapter(gpuIndexFromEnv() ?? 0, adapters);
process.stderr.write(gpuBindingLine(webGpuBinding(choice, 'nvidia-h200 (vendor nvidia)')) + '\\n');
await serveRuns();
`,
  );
  return entry;
}

describe('the pool and the devices its workers got', { timeout: 180_000 }, () => {
  test('two workers on GPUs 0 and 1 of identical GPUs: both on adapter 0, and the pool says so', async () => {
    const plans = await tinyPlans(2);
    const events: RunEvent[] = [];
    const lines: string[] = [];
    const printer = new ProgressPrinter({
      live: false,
      stream: { write: (text: string) => lines.push(text) > 0 },
    });
    const outcome = await runSweep(plainSweepRuns(plans), {
      store: path.join(dir, 'adapters.db'),
      executor: workerPool({ workers: 2, gpus: [0, 1], entry: twoH200Entry() }),
      onEvent: (event) => {
        events.push(event);
        printer.handle(event);
      },
    });
    assert.equal(outcome.results.length, 2);

    const adapters = events.filter((e): e is Extract<RunEvent, { kind: 'adapter' }> => e.kind === 'adapter');
    assert.deepEqual(adapters.map((e) => [e.worker, e.gpu, e.adapter]).sort(), [
      ['w0', 0, 'webgpu vulkan adapter 0 of 2 "NVIDIA H200"'],
      ['w1', 1, 'webgpu vulkan adapter 0 of 2 "NVIDIA H200"'],
    ]);
    const w1 = adapters.find((e) => e.worker === 'w1')!;
    assert.match(w1.warning ?? '', /^it did not get GPU 1: adapters 0 and 1 are both 'NVIDIA H200'/);
    // whichever reported second sees the other on its device
    const second = adapters[1]!;
    const first = adapters[0]!;
    assert.match(
      second.warning ?? '',
      new RegExp(
        `it shares webgpu vulkan adapter 0 of 2 "NVIDIA H200" with ${first.worker} \\(asked for GPU ${first.gpu}\\)`,
      ),
    );
    const text = lines.join('');
    assert.match(text, /\[w1\] GPU 1 → webgpu vulkan adapter 0 of 2 "NVIDIA H200"\n/);
    assert.match(text, /\[w1\] warning: it did not get GPU 1/);
  });
});

describe('a Redis worker and the device its run process got', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis(dir);
  });
  after(() => redis.stop());

  test('layercut worker --gpu 1 on identical GPUs: the adapter it got, and a warning', async () => {
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const finished = runQueueWorker({
      url: redis.url,
      gpu: 1,
      entry: twoH200Entry(),
      signal: controller.signal,
      onEvent: (event) => {
        events.push(event);
        if (event.kind === 'adapter') controller.abort();
      },
    });
    // no adapter event within 30 s: stop the worker all the same, and fail below
    const timer = setTimeout(() => controller.abort(), 30_000);
    try {
      assert.deepEqual(await finished, { done: 0, failed: 0 });
    } finally {
      clearTimeout(timer);
    }
    const adapter = events.find((e): e is Extract<RunEvent, { kind: 'adapter' }> => e.kind === 'adapter');
    assert.equal(adapter?.gpu, 1);
    assert.equal(adapter?.adapter, 'webgpu vulkan adapter 0 of 2 "NVIDIA H200"');
    assert.match(adapter?.warning ?? '', /^it did not get GPU 1: adapters 0 and 1 are both 'NVIDIA H200'/);
  });
});
