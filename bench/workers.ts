/**
 * Benchmark: the same sweep run by the local pool with 1 worker process, then with 2 (or the
 * counts given) — wall time of each and the speed-up over the first. Each count starts from an
 * empty results store, so every count runs every run.
 *
 *   node --import tsx bench/workers.ts [--workers 1,2] [--runs 8] [--backend wasm] [--gpus 0,1]
 *                                      [--layers 4 --width 64 --heads 4] [--epochs 2]
 *                                      [--train-per-class 16] [--max-length 96] [--test 100]
 *
 * The model: `tiny-gpt2` (the built-in, 4 × 64) by default; other --layers/--width/--heads write
 * a random GPT-2 of that shape (real GPT-2 tokenizer) into the layercut cache first. The task:
 * `spam`. The runs: `--runs` seeds of one setting, so they cost the same. One JSON line per
 * worker count on stdout, a summary on stderr. On the GPU machine: bench/device-workers.sh.
 *
 * Each worker bound to a GPU says which device it got (runtime/adapter.ts); the JSON line lists
 * them (`adapters`) with the pool's warnings (a worker that did not get its GPU, two workers on
 * one device). Counts whose runs all finished are added to `--summary` (default
 * bench/summary-workers.json, a JSON array) as {gpus, workers, runs, seconds, speedup, device,
 * date, …}: `gpus` is how many distinct GPUs the workers were given, `devices` how many distinct
 * devices they reported, `device` the `--device` label (else the devices reported, else the
 * backend and CPU). `--list-adapters` prints Dawn's adapter list as JSON and exits. `--warmup N`
 * (default 1) runs N runs first, untimed, so that what only a machine's first run pays does not
 * count against the first worker count.
 *
 * This file is also the entry of its own worker processes (a bundle has no other file to
 * start): started as one, it serves runs instead.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { isRunProcess } from '../src/queue/messages.js';
import { serveRuns } from '../src/queue/serve-runs.js';

if (isRunProcess()) {
  await serveRuns();
} else {
  await bench();
}

async function bench(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '1,2' },
      runs: { type: 'string', default: '8' },
      backend: { type: 'string', default: 'wasm' },
      gpus: { type: 'string' },
      layers: { type: 'string', default: '4' },
      width: { type: 'string', default: '64' },
      heads: { type: 'string', default: '4' },
      epochs: { type: 'string', default: '2' },
      'train-per-class': { type: 'string', default: '16' },
      'max-length': { type: 'string', default: '96' },
      test: { type: 'string', default: '100' },
      'batch-size': { type: 'string', default: '8' },
      warmup: { type: 'string', default: '1' },
      summary: { type: 'string', default: path.join('bench', 'summary-workers.json') },
      device: { type: 'string' },
      'list-adapters': { type: 'boolean', default: false },
    },
  });
  if (values['list-adapters']) {
    const { listWebGpuAdapters } = await import('../src/runtime/webgpu.js');
    console.log(JSON.stringify({ adapters: await listWebGpuAdapters() }));
    process.exit(0);
  }
  // Loaded here, not at the top: a worker process needs none of it.
  const { adamw, experiment, keepFirst, lm, sweep, tasks } = await import('../dsl/index.js');
  const { compileValues } = await import('../src/compile/compile.js');
  const { layercutCacheDir } = await import('../src/hub/settings.js');
  const { randomGpt2Checkpoint } = await import('../src/models/init.js');
  const { packageRoot } = await import('../src/package-root.js');
  const { workerPool } = await import('../src/queue/pool.js');
  const { parseCount, parseGpuList } = await import('../src/cli/options.js');
  const { ProgressPrinter } = await import('../src/runner/progress.js');
  const { sweepRuns } = await import('../src/runner/executor.js');
  const { runSweep } = await import('../src/runner/run-plans.js');
  const { parseBackendName } = await import('../src/runtime/backend.js');
  const { writeSafetensors } = await import('../src/weights/safetensors.js');

  const counts = values.workers.split(',').map((c) => parseCount(c.trim(), '--workers', 1));
  const gpus = values.gpus === undefined ? undefined : parseGpuList(values.gpus);
  const backend = parseBackendName(values.backend, '--backend');
  const [layers, width, heads] = [values.layers, values.width, values.heads].map((v) =>
    parseCount(v, 'shape', 1),
  ) as [number, number, number];

  /** The model: the built-in tiny-gpt2, or a random GPT-2 of the asked shape in the cache. */
  const modelSource = async () => {
    if (layers === 4 && width === 64 && heads === 4) return { kind: 'builtin' as const, name: 'tiny-gpt2' };
    const dir = path.join(layercutCacheDir(), 'bench', `gpt2-random-${layers}x${width}x${heads}`);
    const weights = path.join(dir, 'model.safetensors');
    if (!(await stat(weights).catch(() => undefined))) {
      const config = {
        model_type: 'gpt2',
        n_layer: layers,
        n_embd: width,
        n_head: heads,
        n_positions: 1024,
        n_ctx: 1024,
        vocab_size: 50257,
        bos_token_id: 50256,
        eos_token_id: 50256,
        layer_norm_epsilon: 1e-5,
        activation_function: 'gelu_new',
        initializer_range: 0.02,
      };
      await mkdir(dir, { recursive: true });
      process.stderr.write(`writing a random GPT-2 ${layers}×${width} to ${dir}…\n`);
      await writeSafetensors(weights, await randomGpt2Checkpoint(config, 1));
      await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
      const tokenizer = path.join(packageRoot, 'models', 'tokenizers', 'gpt2');
      for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
        await copyFile(path.join(tokenizer, file), path.join(dir, file));
      }
    }
    return { kind: 'local' as const, path: dir };
  };

  const model = await modelSource();
  const base = experiment({
    model,
    layers: keepFirst(layers),
    task: tasks.spam,
    method: lm(),
    data: {
      trainPerClass: parseCount(values['train-per-class'], '--train-per-class', 1),
      demosPerClass: 0,
      validation: 32,
      test: parseCount(values.test, '--test', 1),
      maxLength: parseCount(values['max-length'], '--max-length', 8),
    },
    train: {
      optimizer: adamw({ lr: 5e-4 }),
      batchSize: parseCount(values['batch-size'], '--batch-size', 1),
      epochs: parseCount(values.epochs, '--epochs', 1),
    },
    backend,
  });
  const seeds = Array.from({ length: parseCount(values.runs, '--runs', 1) }, (_, i) => i);
  const compiled = await compileValues([{ name: 'bench', value: sweep(base, { seed: seeds }) }]);
  const errors = compiled.issues.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  const runs = sweepRuns(compiled.runs);

  const entry = fileURLToPath(import.meta.url);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'layercut-bench-workers-'));
  const walls: number[] = [];
  try {
    // Untimed first: what only the first run on a machine pays (a built-in model written to the
    // cache, files read into memory) would otherwise slow the first count and inflate every speed-up.
    const warmup = parseCount(values.warmup, '--warmup', 0);
    if (warmup > 0) {
      process.stderr.write(`warm-up: ${warmup} run(s) on 1 worker, not timed\n`);
      const outcome = await runSweep(runs.slice(0, warmup), {
        store: path.join(scratch, 'warmup.db'),
        executor: workerPool({ workers: 1, ...(gpus ? { gpus: gpus.slice(0, 1) } : {}), entry }),
      });
      if (outcome.failed.length > 0) throw new Error(`the warm-up run failed: ${outcome.failed[0]!.error}`);
    }
    for (const workers of counts) {
      const printer = new ProgressPrinter({ live: false });
      const adapters = new Map<string, string>(); // worker → the device it reported
      const warnings: string[] = [];
      const started = performance.now();
      const outcome = await runSweep(runs, {
        store: path.join(scratch, `workers-${workers}.db`),
        executor: workerPool({ workers, ...(gpus ? { gpus } : {}), entry }),
        onEvent: (event) => {
          if (event.kind === 'adapter') {
            adapters.set(event.worker, event.adapter);
            if (event.warning) warnings.push(`${event.worker}: ${event.warning}`);
          }
          if (event.kind !== 'progress') printer.handle(event);
        },
      });
      const wallSeconds = (performance.now() - started) / 1000;
      walls.push(wallSeconds);
      const runSeconds = outcome.results.map((r) => r.timings.wallSeconds);
      const givenGpus = gpus
        ? new Set(Array.from({ length: workers }, (_, i) => gpus[i % gpus.length]))
        : new Set();
      const devices = [...new Set(adapters.values())].sort();
      const speedup = Number((walls[0]! / wallSeconds).toFixed(2));
      const date = new Date().toISOString();
      if (outcome.failed.length === 0) {
        // written count by count: a later count that runs out of time keeps the earlier rows
        await appendSummary(values.summary, {
          gpus: givenGpus.size,
          workers,
          runs: runs.length,
          seconds: Number(wallSeconds.toFixed(2)),
          speedup,
          device:
            values.device ??
            (devices.length > 0 ? devices.join(' + ') : `${backend} on ${os.cpus()[0]?.model ?? 'a CPU'}`),
          date,
          backend,
          model: { layers, width, heads },
          devices: devices.length,
          adapters: Object.fromEntries(adapters),
          warnings,
          host: os.hostname(),
        });
      }
      console.log(
        JSON.stringify({
          bench: 'workers',
          workers,
          gpus: gpus ?? null,
          adapters: Object.fromEntries(adapters),
          warnings,
          backend,
          model: { layers, width, heads },
          runs: runs.length,
          done: outcome.results.length,
          failed: outcome.failed.length,
          wallSeconds: Number(wallSeconds.toFixed(2)),
          meanRunSeconds: Number(
            (runSeconds.reduce((a, b) => a + b, 0) / Math.max(1, runSeconds.length)).toFixed(2),
          ),
          speedup,
          host: os.hostname(),
          cpus: os.cpus().length,
          date,
        }),
      );
      if (outcome.failed.length > 0) {
        process.exitCode = 1; // and its count stays out of the summary
        process.stderr.write(
          `failed runs:\n${outcome.failed.map((f) => `  ${f.id}: ${f.error}`).join('\n')}\n`,
        );
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  process.stderr.write(
    `\n${counts.map((n, i) => `${n} worker${n === 1 ? '' : 's'}: ${walls[i]!.toFixed(1)} s (×${(walls[0]! / walls[i]!).toFixed(2)})`).join('\n')}\n`,
  );
}

/** One row of bench/summary-workers.json. */
interface SummaryRow {
  /** Distinct GPUs the workers were given (--gpus); 0 on CPU backends. */
  gpus: number;
  workers: number;
  runs: number;
  /** Wall time of the whole sweep. */
  seconds: number;
  /** The first worker count's seconds over these. */
  speedup: number;
  device: string;
  date: string;
  backend: string;
  model: { layers: number; width: number; heads: number };
  /** Distinct devices the workers reported (fewer than `gpus`: workers shared one). */
  devices: number;
  adapters: Record<string, string>;
  warnings: string[];
  host: string;
}

/** Adds a row to the JSON array in `file` (created when missing). */
async function appendSummary(file: string, row: SummaryRow): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '[]');
  const existing = JSON.parse(text) as unknown;
  if (!Array.isArray(existing)) throw new Error(`${file} is not a JSON array`);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify([...existing, row], null, 2)}\n`);
  process.stderr.write(`row added to ${file}\n`);
}
