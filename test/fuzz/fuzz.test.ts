/**
 * The fuzzers as part of the suite: a short seeded run of each target (a few thousand inputs)
 * must find no crash and must reach both sides of each parser (inputs accepted and refused,
 * every form of the grammars); and the driver itself must report planted crashes and hangs
 * with their seed, index and minimal input. The full run is `npm run fuzz` (100,000 each).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeInput } from './engine.js';
import { DEFAULT_OPTIONS, formatReport, fuzz, type TargetReport } from './fuzz.js';
import { loadTarget } from './targets.js';

const SHORT = 2000;

/** Inputs counted under labels starting with `prefix`. */
function counted(report: TargetReport, prefix: string): number {
  return Object.entries(report.counts)
    .filter(([label]) => label.startsWith(prefix))
    .reduce((sum, [, n]) => sum + n, 0);
}

test(
  `a short seeded run of each target (${SHORT} inputs) finds no crash and reaches every outcome`,
  { timeout: 300_000 },
  async () => {
    // a generous hang limit: the suite may share a loaded machine (the full run uses 1 s)
    const reports = await fuzz({ ...DEFAULT_OPTIONS, count: SHORT, hangMs: 5000 });
    const byTarget = new Map(reports.map((report) => [report.target, report]));
    assert.deepEqual([...byTarget.keys()], ['safetensors', 'template', 'layers']);
    for (const report of reports) {
      assert.equal(report.inputs, SHORT, formatReport(report));
      assert.deepEqual(report.crashes, [], formatReport(report));
    }

    const safetensors = byTarget.get('safetensors')!;
    assert.ok(counted(safetensors, 'accepted') > SHORT / 20, formatReport(safetensors));
    const kinds = Object.keys(safetensors.counts).filter((label) =>
      label.startsWith('rejected SafetensorsError/'),
    );
    for (const kind of [
      'header-length',
      'invalid-json',
      'invalid-header',
      'unknown-dtype',
      'size-mismatch',
      'offsets-out-of-range',
      'gap',
      'overlap',
    ]) {
      assert.ok(
        kinds.includes(`rejected SafetensorsError/${kind}`),
        `no input was refused as ${kind}: ${formatReport(safetensors)}`,
      );
    }

    const template = byTarget.get('template')!;
    for (const label of [
      'parsed',
      'parse rejected TemplateError',
      'missing field rejected LayercutError',
      'rendered label',
      'rendered mask',
    ]) {
      assert.ok(
        (template.counts[label] ?? 0) > 0,
        `no template outcome '${label}': ${formatReport(template)}`,
      );
    }

    const layers = byTarget.get('layers')!;
    for (const label of [
      'parsed all',
      'parsed first',
      'parsed ends',
      'parsed keep',
      'parsed drop',
      'parse rejected LayerIssue',
      'resolve accepted',
      'resolve rejected LayerIssue',
      'compile accepted',
      'compile refused',
    ]) {
      assert.ok((layers.counts[label] ?? 0) > 0, `no layers outcome '${label}': ${formatReport(layers)}`);
    }
  },
);

test(
  'the driver reports planted crashes, a bad message and a hang, each with its replay and minimal input',
  { timeout: 120_000 },
  async () => {
    const options = { ...DEFAULT_OPTIONS, targets: ['canary'], count: 150, hangMs: 300 };
    const canary = await loadTarget('canary');
    const inputs = Array.from(
      { length: options.count },
      (_, i) => makeInput(canary, options.seed, i) as string,
    );
    const firstWith = (char: string) => inputs.findIndex((input) => input.includes(char));
    const hangs = inputs.filter((input) => input.includes('h')).length;
    assert.ok(hangs > 0, 'the planted hang must occur at this seed');

    const [report] = await fuzz(options);
    assert.equal(report!.inputs, options.count, formatReport(report!));
    const crash = (prefix: string) => {
      const found = report!.crashes.find((c) => c.signature.startsWith(prefix));
      assert.ok(found, `no crash '${prefix}': ${formatReport(report!)}`);
      return found;
    };
    const typeError = crash('TypeError: Cannot read properties of null');
    assert.equal(typeError.index, firstWith('x'));
    assert.equal(typeError.minimal, '"x"');
    assert.equal(
      typeError.count,
      inputs.filter((input) => input.includes('x') && !input.includes('h')).length,
    );
    const message = crash('PropertyFailure: LayercutError message on more lines than 1');
    assert.equal(message.minimal, '"y"');
    const hang = crash('hang: no answer within 300 ms');
    assert.equal(hang.index, firstWith('h'));
    assert.equal(hang.count, hangs);
    assert.equal(
      report!.counts['crash'],
      report!.crashes.reduce((sum, c) => sum + c.count, 0),
    );
    assert.match(
      formatReport(report!),
      /replay: npm run fuzz -- --target canary --seed 1 --from \d+ --count 1/,
    );
  },
);
