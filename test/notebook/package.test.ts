/**
 * layercut as tslab sees it: `require('layercut')` from CommonJS in the notebooks folder (the
 * build in dist/, an ES module graph without top-level await), and type-checking a cell with
 * tslab's own TypeScript 5.0 and its old module resolution (types through `types` and
 * `typesVersions`, found via the node_modules/layercut link).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { adamw, experiment, keepFirst, lm, sweep, tasks } from '../../dsl/index.js';
import { compile } from '../../src/compile/compile.js';
import { runId } from '../../src/plan/id.js';
import { linkPackageToItself } from '../../src/notebook/link-self.js';
import { runToEnd } from '../helpers/spawn.js';
import { ensureBuilt, repoRoot } from './helpers.js';

const notebooks = path.join(repoRoot, 'notebooks');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'layercut-package-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

before(() => ensureBuilt(null));

describe('require("layercut") from CommonJS', () => {
  test('loads the build, and compiles to the same run ids as the sources', async (t) => {
    // Run by plain node (no tsx), from the notebooks folder, as tslab's require does.
    const script = `
      const layercut = require('layercut');
      const dsl = require('layercut/dsl');
      const value = layercut.sweep(
        layercut.experiment({
          model: layercut.hf('openai-community/gpt2'),
          task: layercut.tasks.spam,
          method: layercut.lm(),
          data: { trainPerClass: 4, demosPerClass: 0, validation: 4, test: 8, maxLength: 32 },
          train: { optimizer: dsl.adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
        }),
        { layers: [1, 2].map(dsl.keepFirst) },
      );
      layercut.compile(value).then((plans) => {
        console.log(JSON.stringify({
          resolved: require.resolve('layercut'),
          dsl: require.resolve('layercut/dsl'),
          functions: ['run', 'show', 'plot', 'compile', 'compileFile', 'runPlans', 'runExperiment', 'loadModel',
            'openStore', 'paperView', 'layersSpec', 'renderSvg', 'experiment', 'sweep']
            .filter((name) => typeof layercut[name] === 'function'),
          aqFrom: typeof layercut.aq.from,
          ids: plans.map(layercut.runId),
        }));
      });`;
    const run = await runToEnd(t, process.execPath, ['-e', script], { cwd: notebooks, timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout;
    const loaded = JSON.parse(out) as {
      resolved: string;
      dsl: string;
      functions: string[];
      aqFrom: string;
      ids: string[];
    };
    assert.equal(loaded.resolved, path.join(repoRoot, 'dist', 'src', 'index.js'));
    assert.equal(loaded.dsl, path.join(repoRoot, 'dist', 'dsl', 'index.js'));
    assert.equal(loaded.functions.length, 14, `missing: ${loaded.functions.join(', ')}`);
    assert.equal(loaded.aqFrom, 'function');

    const fromSources = await compile(
      sweep(
        experiment({
          model: { kind: 'hub', repo: 'openai-community/gpt2' },
          task: tasks.spam,
          method: lm(),
          data: { trainPerClass: 4, demosPerClass: 0, validation: 4, test: 8, maxLength: 32 },
          train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
        }),
        { layers: [1, 2].map(keepFirst) },
      ),
    );
    assert.deepEqual(loaded.ids, fromSources.map(runId));
  });
});

/** Diagnostics of a cell checked the way tslab checks it (TypeScript 5.0, Node10 resolution). */
function checkCell(source: string): { diagnostics: string[]; resolved: Record<string, string | undefined> } {
  const requireFromTslab = createRequire(path.join(repoRoot, 'node_modules', 'tslab', 'package.json'));
  const ts = requireFromTslab('@tslab/typescript-for-tslab') as typeof import('typescript');
  assert.match(ts.version, /^5\.0\./);
  const file = path.join(notebooks, '__cell__.ts');
  const options = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    skipLibCheck: true,
    noEmit: true,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  const resolved: Record<string, string | undefined> = {};
  for (const name of ['layercut', 'layercut/dsl']) {
    resolved[name] = ts.resolveModuleName(name, file, options, host).resolvedModule?.resolvedFileName;
  }
  return { diagnostics, resolved };
}

describe('a tslab cell type-checks against the build', () => {
  test('layercut and layercut/dsl resolve to the declarations in dist/', () => {
    const { resolved } = checkCell('export {};');
    assert.equal(realpathSync(resolved['layercut']!), path.join(repoRoot, 'dist', 'src', 'index.d.ts'));
    assert.equal(realpathSync(resolved['layercut/dsl']!), path.join(repoRoot, 'dist', 'dsl', 'index.d.ts'));
  });

  test('a correct cell has no diagnostics; a wrong one gets a real type error', () => {
    const cell = `
      import { experiment, hf, keepFirst, lm, plot, run, show, sweep, tasks, template } from 'layercut';
      import { adamw } from 'layercut/dsl';
      const base = experiment({ model: hf('openai-community/gpt2'), task: tasks.spam, method: lm(),
        train: { optimizer: adamw({ lr: 1e-3 }) } });
      async function cell() {
        const results = await run(sweep(base, { layers: [1, 2].map(keepFirst) }));
        show(results.paperTable());
        await plot(results.accuracyVsLayers());
        const ran: number = results.counts.ran;
        return ran;
      }
      export { cell, template };`;
    assert.deepEqual(checkCell(cell).diagnostics, []);
    const wrong = checkCell(`
      import { tasks, template } from 'layercut';
      export const t = template(tasks.spam)\`Email: \${'body'}\\nCategory:\${'label'}\`;`);
    assert.equal(wrong.diagnostics.length, 1, wrong.diagnostics.join('\n'));
    assert.match(wrong.diagnostics[0]!, /"body"/);
  });
});

describe('node_modules/layercut links the repository to itself', () => {
  test('linked once, then left as it is; a real folder or no node_modules is left alone', () => {
    const root = path.join(tmp, 'pkg');
    mkdirSync(root);
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'demo-pkg' }));
    assert.equal(linkPackageToItself(root), 'no node_modules');
    mkdirSync(path.join(root, 'node_modules'));
    assert.equal(linkPackageToItself(root), 'linked');
    assert.equal(readlinkSync(path.join(root, 'node_modules', 'demo-pkg')), '..');
    assert.equal(
      realpathSync(path.join(root, 'node_modules', 'demo-pkg', 'package.json')),
      realpathSync(path.join(root, 'package.json')),
    );
    assert.equal(linkPackageToItself(root), 'already linked');

    const other = path.join(tmp, 'installed');
    mkdirSync(path.join(other, 'node_modules', 'demo-pkg'), { recursive: true });
    writeFileSync(path.join(other, 'package.json'), JSON.stringify({ name: 'demo-pkg' }));
    assert.equal(linkPackageToItself(other), 'left alone');
  });

  test('this repository has the link', () => {
    assert.equal(readlinkSync(path.join(repoRoot, 'node_modules', 'layercut')), '..');
  });
});
