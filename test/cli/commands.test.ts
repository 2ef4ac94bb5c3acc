/**
 * The `layercut` command as a tool: `--help` loads no subcommand, exit codes are the ones
 * errors.ts defines, `--out` says what it wrote, `npx layercut` resolves to the repository's own
 * bin, and `npm run typecheck` runs the TypeScript the package declares.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { commandNames, main } from '../../src/cli.js';
import { ExitCode } from '../../src/errors.js';
import { linkOwnBins } from '../../src/notebook/link-self.js';
import { openStore } from '../../src/results/store.js';
import { captured } from '../helpers/console.js';
import { spawnNode } from '../helpers/spawn.js';
import { dslFixture, repoRoot } from '../compile/helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'layercut-commands-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('--help lists every command without importing any src/cli module', async (t) => {
  // A module hook (in its own thread) reports every URL Node resolves; the main thread prints them at exit.
  const hook = path.join(tmp, 'record-imports.mjs');
  writeFileSync(
    hook,
    `import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (url) => seen.push(url));
port1.unref();
const hooks = 'let port; export function initialize(d) { port = d.port; }' +
  ' export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }';
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { port: port2 }, transferList: [port2] });
process.on('exit', () => process.stderr.write('IMPORTED ' + JSON.stringify(seen) + '\\n'));
`,
  );
  const help = spawnNode(
    t,
    ['--import', 'tsx', '--import', pathToFileURL(hook).href, 'src/main.ts', '--help'],
    {
      cwd: repoRoot,
    },
  );
  assert.equal(await help.exit, 0, help.stderr());
  const imported = JSON.parse(/^IMPORTED (.*)$/m.exec(help.stderr())![1]!) as string[];
  assert.ok(
    imported.some((url) => url.endsWith('/src/cli.ts')),
    'the hook saw the dispatcher',
  );
  assert.deepEqual(
    imported.filter((url) => url.includes('/src/cli/')),
    [],
  );
  for (const name of commandNames) assert.match(help.stdout(), new RegExp(`^  ${name} +\\S`, 'm'));
  // every command still has its own --help (loaded on demand)
  for (const name of commandNames) {
    const usage = await captured(() => main([name, '--help']));
    assert.equal(usage.code, 0);
    assert.match(usage.out, new RegExp(`usage: layercut ${name}`));
  }
});

test('exit codes: 2 for bad input in every command that reads an experiment file, 0 when clean', async () => {
  assert.deepEqual(ExitCode, { ok: 0, failed: 1, usage: 2, unfinished: 3, interrupted: 130 });
  assert.equal((await captured(() => main(['no-such-command']))).code, ExitCode.usage);
  assert.equal((await captured(() => main([]))).code, ExitCode.usage);
  const mistakes = dslFixture('runtime-mistakes.ts');
  assert.equal((await captured(() => main(['check', mistakes]))).code, ExitCode.usage);
  assert.equal((await captured(() => main(['plan', mistakes]))).code, ExitCode.usage);
  assert.equal((await captured(() => main(['run', mistakes]))).code, ExitCode.usage);
  assert.equal((await captured(() => main(['plan', dslFixture('ids-a.ts')]))).code, ExitCode.ok);
});

test('results --out FILE says that it wrote FILE', async () => {
  const db = path.join(tmp, 'empty.db');
  openStore(db).close();
  const out = path.join(tmp, 'runs.json');
  const { code, err } = await captured(() => main(['results', '--db', db, '--format', 'json', '--out', out]));
  assert.equal(code, 0);
  assert.ok(existsSync(out));
  assert.match(
    err,
    new RegExp(`^layercut results: wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
  );
});

test("the build's link step links node_modules/.bin/layercut to bin/layercut.mjs (npx stays local)", async (t) => {
  const root = path.join(tmp, 'pkg');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ name: 'demo-pkg', bin: { demo: 'bin/demo.mjs' } }),
  );
  writeFileSync(path.join(root, 'bin', 'demo.mjs'), '#!/usr/bin/env node\n');
  assert.deepEqual(linkOwnBins(root), { demo: 'no node_modules' });
  mkdirSync(path.join(root, 'node_modules'));
  assert.deepEqual(linkOwnBins(root), { demo: 'linked' });
  assert.equal(
    readlinkSync(path.join(root, 'node_modules', '.bin', 'demo')),
    path.join('..', '..', 'bin', 'demo.mjs'),
  );
  assert.deepEqual(linkOwnBins(root), { demo: 'already linked' });

  // What `npm ci` runs (prepare → build → link-self), on a copy of this package's package.json.
  const copy = path.join(tmp, 'copy');
  mkdirSync(path.join(copy, 'node_modules'), { recursive: true });
  writeFileSync(path.join(copy, 'package.json'), readFileSync(path.join(repoRoot, 'package.json')));
  const link = spawnNode(t, ['--import', 'tsx', path.join(repoRoot, 'src/notebook/link-self.ts'), copy], {
    cwd: repoRoot,
  });
  assert.equal(await link.exit, 0, link.stderr());
  assert.match(link.stdout(), /linked node_modules\/\.bin\/layercut/);
  assert.equal(readlinkSync(path.join(copy, 'node_modules', '.bin', 'layercut')), '../../bin/layercut.mjs');
  assert.equal(realpathSync(path.join(copy, 'node_modules', 'layercut')), realpathSync(copy));
});

test('npm run typecheck and build call the declared TypeScript by path, not the tsc on PATH', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  assert.match(pkg.scripts['typecheck']!, /^node node_modules\/typescript\/bin\/tsc --noEmit$/);
  assert.match(pkg.scripts['build']!, /node node_modules\/typescript\/bin\/tsc -p tsconfig\.build\.json/);
  const declared = pkg.devDependencies['typescript']!.replace(/^\^/, '').split('.')[0];
  const installed = JSON.parse(
    readFileSync(path.join(repoRoot, 'node_modules', 'typescript', 'package.json'), 'utf8'),
  ) as { version: string };
  assert.equal(installed.version.split('.')[0], declared, 'the compiler at that path is the declared major');
});
