/**
 * `layercut run` tells the truth about what it did not do: runs another live process holds
 * (named, exit 3), a failure of several lines (printed and stored whole), a run whose loss
 * exploded (done, but marked diverged everywhere it is shown), and a model whose test scores
 * are not finite (failed, never stored as done). Real processes on the built-in tiny-gpt2.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';

import { main } from '../../src/cli.js';
import { compileFile } from '../../src/compile/file.js';
import { builtinModelFolder } from '../../src/models/builtin.js';
import { ModelCatalog as RunnerModelCatalog } from '../../src/compile/model-info.js';
import { openStore, openStoreReadOnly, type StoredRun } from '../../src/results/store.js';
import { captured } from '../helpers/console.js';
import { spawnNode, type SpawnedCommand } from '../helpers/spawn.js';
import { layercutBin, repoRoot, testFolder } from './helpers.js';

const { dir, cache } = testFolder('layercut-honest-runs-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** `layercut run ARGS` in the test folder; it ends with test `t` (test/helpers/spawn.ts). */
function layercutRun(t: TestContext, args: string[]): SpawnedCommand {
  return spawnNode(t, [layercutBin, 'run', ...args], {
    cwd: dir,
    env: { LAYERCUT_CACHE: cache },
    name: 'layercut run',
  });
}

const dsl = JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'));

/** An experiment file of `exports` (TypeScript source of `export const …` lines) over shared tiny options. */
function experimentFile(name: string, exports: string): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `import { adamw, concat, experiment, keepFirst, lm, icl, sweep, tasks, verbalizer } from ${dsl};
const base = {
  model: { kind: 'builtin', name: 'tiny-gpt2' } as const, task: tasks.spam, method: lm(), layers: keepFirst(1),
  backend: 'wasm' as const,
  data: { trainPerClass: 8, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
  train: { optimizer: adamw({ lr: 1e-3 }), epochs: 2, batchSize: 4 },
};
${exports}
`,
  );
  return file;
}

function storedRuns(db: string): StoredRun[] {
  const store = openStoreReadOnly(db);
  try {
    return store.list();
  } finally {
    store.close();
  }
}

describe('layercut run: what it did not do', { timeout: 180_000 }, () => {
  test('runs another live process holds: each named with its pid, the rest run, exit 3', async (t) => {
    const file = experimentFile(
      'held.ts',
      `export const two = sweep(experiment(base), { layers: [keepFirst(1), keepFirst(2)] });`,
    );
    const db = path.join(dir, 'held.db');
    const { runs, issues } = await compileFile(file, { catalog: new RunnerModelCatalog() });
    assert.deepEqual(issues, []);
    assert.equal(runs.length, 2);
    // This test process holds the first run, as another `layercut run` in the middle of it would.
    const holder = openStore(db);
    t.after(() => holder.close());
    holder.enqueue(runs.map((run) => run.plan));
    assert.equal(holder.markRunning(runs[0]!.id), true);

    const second = layercutRun(t, [file, '--db', db]);
    assert.equal(await second.exit, 3, second.stderr());
    const held = `process ${process.pid} on ${os.hostname()} is running it`;
    assert.match(
      second.stderr(),
      new RegExp(`^skip ${runs[0]!.id}: running in another process — ${held}$`, 'm'),
    );
    assert.match(second.stderr(), new RegExp(`^\\[1/1\\] done ${runs[1]!.id} `, 'm'));
    assert.match(second.stderr(), new RegExp(`^running elsewhere: ${runs[0]!.id}: ${held}$`, 'm'));
    assert.match(second.stderr(), /^1 of 2 runs done, 1 running in another process · results in /m);

    // Once the holder is done, the same command finishes the sweep and exits 0.
    holder.close();
    const third = layercutRun(t, [file, '--db', db]);
    assert.equal(await third.exit, 0, third.stderr());
    assert.match(third.stderr(), /^2 of 2 runs done · /m);
  });

  test('a failure of several lines (a corrupt checkpoint) is printed whole, indented, and stored whole', async (t) => {
    // Config and tokenizer are fine (the checks before the run pass); only loading the cut-off weights fails.
    const model = path.join(dir, 'corrupt-model');
    mkdirSync(model, { recursive: true });
    const source = await builtinModelFolder('tiny-gpt2');
    for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
      copyFileSync(path.join(source, name), path.join(model, name));
    writeFileSync(path.join(model, 'model.safetensors'), Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123, 34]));
    const file = experimentFile(
      'corrupt.ts',
      `export const corrupt = experiment({ ...base, model: { kind: 'local', path: ${JSON.stringify(model)} } });`,
    );
    const db = path.join(dir, 'corrupt.db');
    const run = layercutRun(t, [file, '--db', db]);
    assert.equal(await run.exit, 1, run.stderr());
    const problem = `${path.join(model, 'model.safetensors')}: header length 200 (first 8 bytes, little-endian u64) is beyond the end of the 10-byte file; the file is not a safetensors file or is corrupt`;
    const hint = 'hint: Re-download or re-write the file; a truncated download is the usual cause.';
    const whole = (prefix: string): RegExp =>
      new RegExp(`^${prefix}${escape(problem)}\\n {6}${escape(hint)}$`, 'm');
    assert.match(
      run.stderr(),
      whole(`\\[1/1\\] FAILED [0-9a-f]{16} {2}${escape(model)} first 1 · spam · lm · seed 0: `),
    );
    assert.match(run.stderr(), whole('failed: [0-9a-f]{16}: '));

    const [stored] = storedRuns(db);
    assert.equal(stored!.status, 'failed');
    assert.equal(stored!.error, `${problem}\n  ${hint}`);
    // The results table keeps it whole on the run's one line; JSON as it is.
    const out = path.join(dir, 'corrupt.json');
    assert.equal(
      (await captured(() => main(['results', '--db', db, '--format', 'json', '--out', out]))).code,
      0,
    );
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { error: string }[])[0]!.error, stored!.error);
  });

  test('a run whose loss explodes (AdamW lr 1e6) is done but marked diverged in its done line, the store and the tables', async (t) => {
    const file = experimentFile(
      'explode.ts',
      `export const lrs = concat(experiment(base), experiment({ ...base, train: { ...base.train, optimizer: adamw({ lr: 1e6 }) } }));`,
    );
    const db = path.join(dir, 'explode.db');
    const run = layercutRun(t, [file, '--db', db]);
    assert.equal(await run.exit, 0, run.stderr());
    const runs = storedRuns(db);
    const [healthy, exploded] = [1e-3, 1e6].map((lr) => runs.find((r) => r.plan.train.optimizer.lr === lr)!);
    assert.equal(healthy!.result!.divergence, undefined);
    const why = exploded!.result!.divergence!;
    assert.match(
      why,
      /^training loss rose from 0\.\d+ at the first step to \d\.\de\+\d+ at the end \(mean of 3 steps\)$/,
    );
    assert.ok(exploded!.result!.curves.train.at(-1)!.loss > 1e6);
    assert.match(
      run.stderr(),
      new RegExp(
        `^\\[\\d/2\\] done ${exploded!.id} .*: test accuracy \\d+\\.\\d%, macro-F1 \\d+\\.\\d%; DIVERGED: ${escape(why)} \\(`,
        'm',
      ),
    );
    assert.match(
      run.stderr(),
      new RegExp(`^\\[\\d/2\\] done ${healthy!.id} .*macro-F1 \\d+\\.\\d% \\(`, 'm'),
    );
    // Paper table (stdout): the exploded run's cell is marked, the healthy one's is not.
    assert.match(run.stdout(), /^\| 1000000 \| first 1 \| (\*\*)?\d+\.\d †(\*\*)? \|$/m);
    assert.match(run.stdout(), /^\| 0\.001 \| first 1 \| (\*\*)?\d+\.\d(\*\*)? \|$/m);
    assert.match(run.stdout(), /^† some of the cell's runs diverged/m);
    // Runs table: "(diverged)" beside the accuracy, and why under the table.
    const md = path.join(dir, 'explode.md');
    assert.equal((await captured(() => main(['results', '--db', db, '--out', md]))).code, 0);
    const table = readFileSync(md, 'utf8');
    assert.match(
      table,
      new RegExp(`^\\| ${exploded!.id} \\| done \\|.* \\| \\d+\\.\\d \\(diverged\\) \\|`, 'm'),
    );
    assert.doesNotMatch(table, new RegExp(`^\\| ${healthy!.id} .*diverged`, 'm'));
    assert.match(table, new RegExp(`^diverged: ${exploded!.id}: ${escape(why)}$`, 'm'));
  });

  test('a model whose test scores are not finite: the run fails, it is not stored as done', async (t) => {
    // tiny-gpt2 with its final LayerNorm gain set to NaN: every score is NaN.
    const model = path.join(dir, 'nan-gpt2');
    mkdirSync(model);
    const source = await builtinModelFolder('tiny-gpt2', { cacheDir: cache });
    for (const name of readdirSync(source)) copyFileSync(path.join(source, name), path.join(model, name));
    fillTensor(path.join(model, 'model.safetensors'), 'ln_f.weight', NaN);
    const file = experimentFile(
      'nan.ts',
      `export const nan = experiment({ ...base, model: { kind: 'local', path: ${JSON.stringify(model)} }, method: icl() });`,
    );
    const db = path.join(dir, 'nan.db');
    const run = layercutRun(t, [file, '--db', db]);
    assert.equal(await run.exit, 1, run.stderr());
    assert.match(
      run.stderr(),
      /FAILED [0-9a-f]{16} .*: the model's test scores are not finite \(test loss NaN\)/,
    );
    const [stored] = storedRuns(db);
    assert.equal(stored!.status, 'failed');
    assert.equal(stored!.result, null);
    assert.match(stored!.error!, /test scores are not finite[^]*hint: lower the learning rate/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Overwrites every float32 of one tensor of a safetensors file with `value`, in place. */
function fillTensor(file: string, name: string, value: number): void {
  const fd = openSync(file, 'r+');
  try {
    const size = Buffer.alloc(8);
    readSync(fd, size, 0, 8, 0);
    const headerLength = Number(size.readBigUInt64LE(0));
    const header = Buffer.alloc(headerLength);
    readSync(fd, header, 0, headerLength, 8);
    const entry = (
      JSON.parse(header.toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>
    )[name];
    assert.equal(entry?.dtype, 'F32', `${name} in ${file}`);
    const [begin, end] = entry!.data_offsets;
    const values = Buffer.from(new Float32Array((end - begin) / 4).fill(value).buffer);
    writeSync(fd, values, 0, values.length, 8 + headerLength + begin);
  } finally {
    closeSync(fd);
  }
}
