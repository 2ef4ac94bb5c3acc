/**
 * What the results store does to files: it opens a file that is not a layercut store only to
 * refuse it, byte for byte unchanged (checked by hash) and with nothing created beside it;
 * commands that read (results, plot, status) never create, migrate or write a store, also one
 * of an older schema; and a store on read-only media can be read.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { main } from '../../src/cli.js';
import { runId } from '../../src/plan/id.js';
import { APPLICATION_ID, migrations, SCHEMA_VERSION } from '../../src/results/schema.js';
import { openStore, openStoreReadOnly } from '../../src/results/store.js';
import { captured } from '../helpers/console.js';
import { layercutBin, repoRoot } from '../runner/helpers.js';
import { fakePlan, fakeResult } from './fake-runs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-store-files-'));
after(() => {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) chmodSync(path.join(dir, entry), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The files in `folder` (to see that nothing was created beside a refused file). */
const filesIn = (folder: string): string[] => readdirSync(folder).sort();

/** Each a folder of its own holding one file that is not a layercut store. */
function foreignFiles(): { name: string; file: string }[] {
  const make = (name: string, write: (file: string) => void): { name: string; file: string } => {
    const folder = path.join(dir, `foreign-${name}`);
    mkdirSync(folder);
    const file = path.join(folder, 'other.sqlite');
    write(file);
    return { name, file };
  };
  const sqlite = (wal: boolean) => (file: string) => {
    const db = new Database(file);
    if (wal) db.pragma('journal_mode = WAL');
    // Another program's `runs` table: the raw SqliteError of earlier versions.
    db.exec(
      `CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO runs (name) VALUES ('theirs')`,
    );
    db.close();
  };
  return [
    make('rollback-journal', sqlite(false)),
    make('wal', sqlite(true)),
    make('application-id', (file) => {
      const db = new Database(file);
      db.pragma('application_id = 1234');
      db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      db.close();
    }),
    make('text', (file) => writeFileSync(file, 'name,score\nada,3\n'.repeat(50))),
  ];
}

/** A store of schema version `version` as an older layercut wrote it (no application id), with one done run. */
function oldStore(file: string, version: number, trainLosses?: number[]): string {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  for (let v = 0; v < version; v++) migrations[v]!(db);
  db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(version));
  const plan = fakePlan({ seed: version });
  const result = fakeResult(plan, { accuracy: 0.625 });
  if (trainLosses)
    result.curves.train = trainLosses.map((loss, i) => ({ step: i + 1, epoch: 0, loss, lr: 1e6 }));
  db.prepare(
    `INSERT INTO runs (id, plan, status, attempts, created_at, started_at, finished_at, accuracy, macro_f1,
       test_metrics, validation, curves, timings, layers_before, layers_after, params_before, params_after,
       peak_tensor_bytes, backend, versions)
     VALUES (?, ?, 'done', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    runId(plan),
    JSON.stringify(plan),
    ...Array(3).fill(new Date().toISOString()),
    result.test.accuracy,
    result.test.macroF1,
    JSON.stringify(result.test),
    JSON.stringify(result.validation),
    JSON.stringify(result.curves),
    JSON.stringify(result.timings),
    result.size.layersBefore,
    result.size.layersAfter,
    result.size.paramsBefore,
    result.size.paramsAfter,
    result.peakTensorBytes,
    result.backend,
    JSON.stringify(result.versions),
  );
  db.close();
  return runId(plan);
}

describe('files that are not layercut stores', () => {
  for (const { name, file } of foreignFiles()) {
    test(`${name}: every command refuses it and leaves it byte-identical, with nothing beside it`, async () => {
      const before = sha256(file);
      const folder = filesIn(path.dirname(file));
      for (const command of [
        ['results', '--db', file],
        ['results', '--db', file, '--view', 'paper', '--format', 'json'],
        ['status', '--db', file],
        ['plot', '--db', file, '--out', path.join(dir, `${name}.svg`)],
      ]) {
        const { code, err } = await captured(() => main(command));
        assert.equal(code, 2, `${command.join(' ')}: ${err}`);
        assert.match(err, /is not a layercut results store \(.+\); it was left untouched/);
      }
      // Nor does a command that writes stores (layercut run, workers, notebooks) take it over.
      assert.throws(() => openStore(file), /is not a layercut results store[^]*left untouched/);
      assert.equal(sha256(file), before);
      assert.deepEqual(filesIn(path.dirname(file)), folder);
    });
  }

  test('a missing store is named and not created; an empty file is not a store to read', async () => {
    const missing = path.join(dir, 'never-made.db');
    const { code, err } = await captured(() => main(['results', '--db', missing]));
    assert.equal(code, 2);
    assert.match(err, new RegExp(`no results store at ${missing}\\n {2}hint: pass --db`));
    assert.equal(existsSync(missing), false);
    const empty = path.join(dir, 'empty.db');
    writeFileSync(empty, '');
    assert.throws(
      () => openStoreReadOnly(empty),
      /empty\.db is not a layercut results store \(the file is empty\)/,
    );
    assert.equal(readFileSync(empty).length, 0);
    // To write, an empty file is a new store (as `mktemp` makes them).
    openStore(empty).close();
    const made = openStoreReadOnly(empty);
    assert.deepEqual(made.counts(), { queued: 0, running: 0, done: 0, failed: 0 });
    made.close();
  });
});

describe('stores of older versions', () => {
  for (const version of [1, 2]) {
    test(`a version-${version} store is read as it is (never migrated by a reader), then migrated by a writer`, async () => {
      const file = path.join(dir, `old-v${version}.db`);
      const id = oldStore(file, version);
      const before = sha256(file);
      const reader = openStoreReadOnly(file);
      const [run] = reader.list();
      reader.close();
      assert.equal(run!.id, id);
      assert.equal(run!.result!.test.accuracy, 0.625);
      assert.equal(run!.result!.keptLayers, undefined);
      assert.equal(run!.result!.divergence, undefined);
      const out = path.join(dir, `old-v${version}.json`);
      const { code } = await captured(() =>
        main(['results', '--db', file, '--format', 'json', '--out', out]),
      );
      assert.equal(code, 0);
      const rows = JSON.parse(readFileSync(out, 'utf8')) as { metrics: { accuracy: number } }[];
      assert.equal(rows[0]!.metrics.accuracy, 0.625);
      assert.equal(sha256(file), before, 'reading changed the file');

      openStore(file).close();
      const raw = new Database(file, { readonly: true });
      assert.equal(raw.pragma('application_id', { simple: true }), APPLICATION_ID);
      assert.equal(
        (raw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value,
        String(SCHEMA_VERSION),
      );
      raw.close();
    });
  }

  test('runs done before divergence was recorded are judged from their stored curves', () => {
    const file = path.join(dir, 'old-exploded.db');
    const id = oldStore(file, 2, [0.745, 3.1e12, 8.4e12, 6.0e12, 1.9e13, 1.1e12, 2.4e11, 1.8e11]);
    const why = 'training loss rose from 0.745 at the first step to 5.1e+11 at the end (mean of 3 steps)';
    const reader = openStoreReadOnly(file);
    assert.equal(reader.get(id)!.result!.divergence, why);
    reader.close();
    // Migrating writes the verdict into the new column.
    openStore(file).close();
    const raw = new Database(file, { readonly: true });
    assert.deepEqual(raw.prepare(`SELECT divergence FROM runs`).all(), [{ divergence: why }]);
    raw.close();
    const again = openStoreReadOnly(file);
    assert.equal(again.get(id)!.result!.divergence, why);
    again.close();
  });

  test('a store of a newer layercut is refused by readers too, unchanged', () => {
    const file = path.join(dir, 'newer.db');
    openStore(file).close();
    const raw = new Database(file);
    raw.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION + 1));
    raw.close();
    const before = sha256(file);
    assert.throws(
      () => openStoreReadOnly(file),
      new RegExp(`schema version ${SCHEMA_VERSION + 1};[^]*upgrade layercut`),
    );
    assert.equal(sha256(file), before);
  });
});

describe('a store on read-only media', () => {
  test('results and status read it; run says it needs a store it can write', () => {
    const folder = path.join(dir, 'read-only');
    mkdirSync(folder);
    const file = path.join(folder, 'runs.db');
    const store = openStore(file);
    const plan = fakePlan({ seed: 11 });
    const [id] = store.enqueue([plan]).ids;
    store.markRunning(id!);
    store.finish(id!, fakeResult(plan, { accuracy: 0.75 }));
    store.close();
    const before = sha256(file);
    chmodSync(file, 0o444);
    chmodSync(folder, 0o555);
    chmodSync(dir, 0o755); // mkdtemp's 0700 would keep another user out altogether
    // Root writes anywhere: run the commands as nobody, for whom the folder is read-only.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const layercut = (...args: string[]) =>
      spawnSync(process.execPath, [layercutBin, ...args], {
        cwd: os.tmpdir(),
        encoding: 'utf8',
        timeout: 60_000,
        killSignal: 'SIGKILL',
        env: { ...process.env, HOME: os.tmpdir() },
        ...asUser,
      });

    const results = layercut('results', '--db', file, '--format', 'json');
    assert.equal(results.status, 0, results.stderr);
    const [row] = JSON.parse(results.stdout) as { id: string; metrics: { accuracy: number } }[];
    assert.equal(row!.id, id);
    assert.equal(row!.metrics.accuracy, 0.75);
    const status = layercut('status', '--db', file);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /1 runs — 0 queued, 0 running, 1 done, 0 failed/);

    const experiment = path.join(os.tmpdir(), `layercut-ro-${process.pid}.ts`);
    after(() => rmSync(experiment, { force: true }));
    writeFileSync(
      experiment,
      `import { experiment, tasks } from ${JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'))};
export const one = experiment({ model: { kind: 'builtin', name: 'gpt2-tiny' }, task: tasks.spam, data: { maxLength: 32 } });
`,
    );
    const run = layercut('run', experiment, '--db', file);
    assert.equal(run.status, 2, run.stderr);
    assert.match(
      run.stderr,
      /cannot write results store .*runs\.db: .*read-only[^]*hint: runs need a store they can write/,
    );
    assert.doesNotMatch(run.stderr, /^\s+at /m);
    assert.equal(sha256(file), before);
    assert.deepEqual(filesIn(folder), ['runs.db']);
  });
});
