// Optimizers, clipping and the training loop's loss read-back: the fast formulations equal the
// plain ones, make one host tensor (one GPU upload) per step, and read losses back in groups.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PAPER_DEFAULTS, type TrainSpec } from '../../src/plan/types.js';
import { releaseDeviceConstants, setConstantCaching } from '../../src/runtime/constants.js';
import { setPlainOps } from '../../src/runtime/flags.js';
import { countHostTensors } from '../../src/runtime/host-tensors.js';
import type { Batch, EncodedExample } from '../../src/train/batching.js';
import { clipByGlobalNorm, globalNorm } from '../../src/train/clip.js';
import { AdamW, Sgd, type Optimizer } from '../../src/train/optimizers.js';
import type { ClassScorer } from '../../src/train/scorers.js';
import { train, type TrainEvent } from '../../src/train/trainer.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';
import { adamwSpec } from '../../src/plan/options.js';

onCpuWithRuntimeReset();

/** Ten parameters of assorted shapes (2-D ones decay, 1-D ones do not), seeded. */
function makeParams(seed: number): Map<string, tf.Variable> {
  const shapes: Record<string, number[]> = {};
  for (let i = 0; i < 5; i++) {
    shapes[`layer${i}.weight`] = [4, 3 + i];
    shapes[`layer${i}.bias`] = [3 + i];
  }
  return new Map(
    Object.entries(shapes).map(([name, shape], i) => [
      name,
      tf.variable(
        tf.randomNormal(shape, 0, 0.5, 'float32', seed + i),
        true,
        `${name}#${seed}-${Math.random()}`,
      ),
    ]),
  );
}

/** Seeded gradients, different at every step (independent of the parameters' values, so that
 * float32 rounding differences between two formulations are not amplified by the dynamics). */
function gradsFor(params: Map<string, tf.Variable>, step: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const grads: tf.NamedTensorMap = {};
    let i = 0;
    for (const [name, p] of params)
      grads[name] = tf.randomNormal(p.shape, 0.05, 0.3, 'float32', 1 + 100 * step + i++);
    return grads;
  });
}

/** Runs `steps` optimizer steps and returns the parameters' final values. */
function runSteps(make: (params: Map<string, tf.Variable>) => Optimizer, steps: number): Float32Array[] {
  const params = makeParams(1);
  const optimizer = make(params);
  for (let s = 0; s < steps; s++) {
    const grads = gradsFor(params, s);
    optimizer.step(grads, 0.01 * (1 + s / 10));
    tf.dispose(grads);
  }
  optimizer.dispose();
  const values = [...params.values()].map((p) => p.dataSync() as Float32Array);
  tf.dispose([...params.values()]);
  return values;
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((values, i) => values.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i]![j]!)))));
  return worst;
}

/** Both paths, the plain one forced by the flag. */
function fastAndPlain(make: (params: Map<string, tf.Variable>) => Optimizer, steps: number) {
  const fast = runSteps(make, steps);
  setPlainOps(true);
  try {
    return { fast, plain: runSteps(make, steps) };
  } finally {
    setPlainOps(undefined);
  }
}

describe('optimizers', () => {
  it('AdamW with scaled moments equals the plain torch formula (decay, warm rate, 12 steps)', () => {
    const make = (p: Map<string, tf.Variable>) =>
      new AdamW(p, { betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 });
    const { fast, plain } = fastAndPlain(make, 12);
    const diff = maxDiff(fast, plain);
    assert.ok(diff < 2e-6, `max|Δ| ${diff}`);
    // and the parameters moved: about lr per step
    const start = runSteps(make, 0);
    assert.ok(maxDiff(fast, start) > 0.05);
  });

  it('SGD with momentum and decay equals the plain formula and a hand computation', () => {
    const make = (p: Map<string, tf.Variable>) => new Sgd(p, { momentum: 0.9, weightDecay: 0.01 });
    const { fast, plain } = fastAndPlain(make, 6);
    assert.ok(maxDiff(fast, plain) < 1e-6);
    // one scalar parameter by hand: d = g + wd·p, buf = μ·buf + d, p −= lr·buf
    const p = tf.variable(tf.tensor1d([1]));
    const sgd = new Sgd(new Map([['w', p]]), { momentum: 0.5, weightDecay: 0.1 });
    let [value, buffer] = [1, 0];
    for (const [step, g] of [0.2, -0.4, 0.3].entries()) {
      const grad = tf.tensor1d([g]);
      sgd.step({ w: grad }, 0.1);
      grad.dispose();
      const d = g + 0.1 * value;
      buffer = step === 0 ? d : 0.5 * buffer + d;
      value -= 0.1 * buffer;
    }
    assert.ok(Math.abs(p.dataSync()[0]! - value) < 1e-6, `${p.dataSync()[0]} vs ${value}`);
    sgd.dispose();
    p.dispose();
  });

  for (const kind of ['adamw', 'sgd'] as const) {
    it(`${kind}: one host tensor per step whatever the number of parameters (plain: several per parameter)`, () => {
      const perStep = (plain: boolean) => {
        setPlainOps(plain);
        try {
          const params = makeParams(2);
          const optimizer =
            kind === 'adamw'
              ? new AdamW(params, { weightDecay: 0.1 })
              : new Sgd(params, { momentum: 0.9, weightDecay: 0.1 });
          const counts: number[] = [];
          for (let s = 0; s < 3; s++) {
            const grads = gradsFor(params, s);
            const count = countHostTensors();
            optimizer.step(grads, 1e-3);
            count.stop();
            counts.push(count.tensors);
            tf.dispose(grads);
          }
          optimizer.dispose();
          tf.dispose([...params.values()]);
          return counts;
        } finally {
          setPlainOps(undefined);
        }
      };
      assert.deepEqual(perStep(false), [1, 1, 1]);
      const plain = perStep(true);
      assert.ok(
        plain.every((n) => n >= 20),
        `plain: ${plain}`,
      ); // 10 parameters
    });
  }

  for (const kind of ['adamw', 'sgd'] as const) {
    it(`${kind}: the kernel set in force at each step runs it, on the same state (switching mid-run changes nothing)`, () => {
      const make = (p: Map<string, tf.Variable>) =>
        kind === 'adamw'
          ? new AdamW(p, { betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 })
          : new Sgd(p, { momentum: 0.9, weightDecay: 0.01 });
      /** 6 steps, plain where `plainAt(step)`; the final values and the host tensors of each step. */
      const run = (plainAt: (step: number) => boolean) => {
        const params = makeParams(1);
        const optimizer = make(params);
        const hostTensors: number[] = [];
        for (let s = 0; s < 6; s++) {
          const grads = gradsFor(params, s);
          setPlainOps(plainAt(s));
          const count = countHostTensors();
          try {
            optimizer.step(grads, 0.01 * (1 + s / 10));
          } finally {
            count.stop();
            setPlainOps(undefined);
          }
          hostTensors.push(count.tensors);
          tf.dispose(grads);
        }
        optimizer.dispose();
        const values = [...params.values()].map((p) => p.dataSync() as Float32Array);
        tf.dispose([...params.values()]);
        return { values, hostTensors };
      };
      const fast = run(() => false);
      const switching = run((s) => s % 2 === 1); // tfjs, plain, tfjs, plain, …
      // the plain kernels ran at the odd steps (several host tensors per parameter), the tfjs ones at the even
      switching.hostTensors.forEach((n, s) =>
        assert.ok(s % 2 === 1 ? n >= 20 : n === 1, `${switching.hostTensors}`),
      );
      const diff = maxDiff(switching.values, fast.values);
      assert.ok(diff < 2e-6, `max|Δ| ${diff}`);
      assert.ok(maxDiff(fast.values, runSteps(make, 0)) > 0.01); // and the parameters moved
    });
  }

  it('dispose frees every tensor an optimizer made', () => {
    const params = makeParams(3);
    const before = tf.memory().numTensors;
    const makers = [() => new AdamW(params, { weightDecay: 0.1 }), () => new Sgd(params, { momentum: 0.9 })];
    for (const make of makers) {
      const optimizer = make();
      for (let s = 0; s < 2; s++) {
        const grads = gradsFor(params, s);
        optimizer.step(grads, 1e-3);
        tf.dispose(grads);
      }
      optimizer.dispose();
      assert.equal(tf.memory().numTensors, before);
    }
    tf.dispose([...params.values()]);
  });
});

describe('clipping by global norm', () => {
  it('matches a hand computation over more gradients than one AddN takes, and clips to maxNorm', () => {
    const params = makeParams(4);
    const grads = gradsFor(params, 0);
    const expected = Math.sqrt(
      Object.values(grads).reduce(
        (sum, g) => sum + Array.from(g.dataSync()).reduce((s, v) => s + v * v, 0),
        0,
      ),
    );
    const { grads: clipped, norm } = clipByGlobalNorm(grads, expected / 4);
    assert.ok(Math.abs(norm.dataSync()[0]! - expected) < 1e-5 * expected);
    const after = globalNorm(clipped);
    assert.ok(Math.abs(after.dataSync()[0]! - expected / 4) < 1e-5 * expected);
    const untouched = clipByGlobalNorm(grads, expected * 2);
    assert.deepEqual(untouched.grads['layer0.bias']!.dataSync(), grads['layer0.bias']!.dataSync());
    tf.dispose([grads, clipped, norm, after, untouched.grads, untouched.norm, ...params.values()]);
  });

  it('makes no host tensors once its constants are kept on the device', () => {
    setConstantCaching(true);
    try {
      const params = makeParams(5);
      const grads = gradsFor(params, 0);
      tf.dispose(Object.values(clipByGlobalNorm(grads, 0.5)));
      const count = countHostTensors();
      const result = clipByGlobalNorm(grads, 0.5);
      count.stop();
      assert.equal(count.tensors, 0);
      tf.dispose([result.grads, result.norm, grads, ...params.values()]);
    } finally {
      setConstantCaching(undefined);
      releaseDeviceConstants();
    }
  });
});

describe('the training loop reads losses back in groups', () => {
  /** A bag-of-tokens linear classifier over 8 ids and 2 classes. */
  function tinyScorer(): ClassScorer {
    const weight = tf.variable(tf.randomNormal([8, 2], 0, 0.1, 'float32', 9), true, `bag-${Math.random()}`);
    return {
      trainable: new Map([['weight', weight]]),
      head: new Map(),
      scores: (batch: Batch) =>
        tf.tidy(() => {
          const counts = tf.sum(tf.oneHot(batch.inputIds, 8, 1, 0, 'float32'), 1); // [B, 8]
          return tf.matMul(tf.div(counts, tf.sum(counts, 1, true)), weight);
        }) as tf.Tensor2D,
      dispose: () => weight.dispose(),
    };
  }
  const examples: EncodedExample[] = Array.from({ length: 40 }, (_, i) => ({
    ids: [1 + (i % 3), i % 2 ? 7 : 6, 2 + (i % 4)],
    scorePosition: 2,
    label: i % 2,
  }));
  const spec: TrainSpec = {
    ...PAPER_DEFAULTS.train,
    optimizer: adamwSpec({ lr: 0.05 }),
    batchSize: 2,
    epochs: 1,
    maxGradNorm: 1,
    evalEvery: 7,
  };

  /** Trains once; counts the host reads (tensor.data()) and records the events. */
  async function trainOnce(validation: EncodedExample[], everySteps: number, plain = false) {
    setPlainOps(plain);
    const scorer = tinyScorer();
    const engine = tf.engine() as unknown as { read: (id: object) => Promise<unknown> };
    const read = engine.read;
    let reads = 0;
    engine.read = function (this: unknown, id: object) {
      reads += 1;
      return read.call(this, id);
    };
    const events: TrainEvent[] = [];
    try {
      const outcome = await train(scorer, examples, validation, {
        spec,
        seed: 3,
        padId: 0,
        labels: ['a', 'b'],
        onEvent: (e) => events.push(e),
        readback: { everySteps, maxSeconds: 3600 },
      });
      return { outcome, reads, events };
    } finally {
      engine.read = read;
      scorer.dispose();
      setPlainOps(undefined);
    }
  }

  it('gives the same curve as reading every step, with one read per group', async () => {
    const grouped = await trainOnce([], 5);
    const everyStep = await trainOnce([], 1);
    assert.equal(grouped.outcome.curves.train.length, 20);
    assert.deepEqual(grouped.outcome.curves.train, everyStep.outcome.curves.train);
    assert.deepEqual(grouped.events, everyStep.events);
    assert.equal(everyStep.reads, 20);
    assert.equal(grouped.reads, 5); // the first step, then groups of 5: steps 2–6, 7–11, 12–16, 17–20
    const plain = await trainOnce([], 5, true); // LAYERCUT_PLAIN_OPS reads every step
    assert.equal(plain.reads, 20);
    const plainLosses = plain.outcome.curves.train.map((p) => p.loss);
    grouped.outcome.curves.train.forEach((p, i) => assert.ok(Math.abs(p.loss - plainLosses[i]!) < 1e-5));
    const norms = grouped.events.map((e) => (e.kind === 'step' ? e.gradNorm : undefined));
    assert.ok(
      norms.every((n) => typeof n === 'number' && n > 0),
      `norms ${norms}`,
    );
  });

  it('sends every step event before the evaluation that follows it, in order', async () => {
    const { events, outcome } = await trainOnce(examples.slice(0, 6), 5);
    const order = events.map((e) => `${e.kind}${e.step}`);
    const steps = events.filter((e) => e.kind === 'step').map((e) => e.step);
    assert.deepEqual(
      steps,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    for (const evalStep of [7, 14]) {
      assert.equal(order.indexOf(`eval${evalStep}`), order.indexOf(`step${evalStep}`) + 1);
    }
    assert.equal(outcome.curves.eval.length, 2);
  });
});
