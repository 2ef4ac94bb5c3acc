/**
 * `variableGrads` as tfjs's, with the memory of the backward pass freed as it goes.
 *
 * tfjs's `engine.gradients` keeps, until the whole backward pass has ended, every tensor an op
 * saved for its gradient (the forward activations) and the gradient of every intermediate
 * tensor. For a 48-layer GPT2-XL step at 16 × 128 that is most of the step's memory. PyTorch frees
 * a node's saved tensors once its backward has run, and an intermediate gradient once it has
 * been used. This walks the same tape in the same order with the same gradient functions (so
 * the gradients are the same numbers, bit for bit) and frees, right after each node:
 *
 * - the gradients of the node's outputs: each output has one producer, so once the producer
 *   has turned them into its inputs' gradients nothing reads them again;
 * - the tensors the node saved for its gradient;
 * - whatever its gradient function computed for inputs that are not differentiated (tfjs's
 *   `tf.customGrad` computes every input's gradient at once).
 *
 * The ops that are not differentiated at all (on no path from the variables to the loss: with
 * LoRA, everything before the first adapter) free what they saved before backward begins.
 *
 * With `onReady` each variable's gradient is handed over as soon as it is complete, so that an
 * optimizer can apply it and free it during the backward pass (without it every gradient is
 * alive at the end at once, and in the next step's forward pass their buffers sit in tfjs's
 * pool, of sizes no activation has).
 *
 * Inside another gradient computation (higher-order gradients) the outer tape needs both, and
 * this is tfjs's own `tf.variableGrads`. The plain kernel set (ops/registry.ts) also selects tfjs's own.
 */
import * as tf from '@tensorflow/tfjs';
import { markStepConstant } from './step-graph.js';
import { kernelSet } from './ops/registry.js';
import { scatterRowsInto } from './webgpu-kernels.js';

/** A recorded op, as tfjs's tape holds it (tfjs-core's TapeNode). */
interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: tf.NamedTensorMap;
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** A tape node of the backward pass, and those of its inputs on a path from the variables. */
interface BackwardNode {
  op: TapeNode;
  /** The differentiated inputs as [name, tensor] pairs, in their order. */
  inputs: [string, tf.Tensor][];
}

/** The parts of tfjs's Engine this uses (all of them used by its own `gradients`). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  registeredVariables: Record<string, tf.Variable>;
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
}

/** A tensor flagged by `tf.keep` (tfjs's internal flag): never disposed here. */
const isKept = (t: tf.Tensor) => (t as unknown as { kept?: boolean }).kept === true;

/**
 * The nodes on a path from one of `xs` to `y`, inputs not from `xs` pruned (tfjs's rule). In
 * plain loops: it walks the whole tape (every op of the forward pass) at every step.
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): BackwardNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const isFromX: boolean[] = [];
  tape.forEach((node, i) => {
    for (const name in node.inputs)
      if (fromX.has(node.inputs[name]!.id)) {
        for (const output of node.outputs) fromX.add(output.id);
        isFromX[i] = true;
        return;
      }
  });
  const leadsToY = new Set([y.id]);
  const isToY: boolean[] = [];
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((output) => leadsToY.has(output.id))) {
      for (const name in node.inputs) leadsToY.add(node.inputs[name]!.id);
      isToY[i] = true;
    }
  }
  const nodes: BackwardNode[] = [];
  tape.forEach((node, i) => {
    if (!isFromX[i] || !isToY[i]) return;
    const inputs: [string, tf.Tensor][] = [];
    for (const name in node.inputs) {
      const input = node.inputs[name]!;
      if (fromX.has(input.id)) inputs.push([name, input]);
    }
    nodes.push({ op: node, inputs });
  });
  return nodes;
}

/**
 * A row lookup's gradient added in place, where the table already has a gradient: for a tied
 * embedding (GPT-2's token table, looked up for the input tokens and again for the label words
 * of the LM head), tfjs's gradient is a zero-filled [V, D] with the rows scattered in, then an
 * add of two [V, D] tensors (GPT2-XL's: 80 M floats each, twice per step). The rows are added
 * to the gradient there is instead (webgpu-kernels.ts: scatterRowsInto) — the same sum, without
 * the fill and the add. Only for `gather(x, indices)` on axis 0 without batch dims (the one
 * reading of its output's shape: tfjs's tape keeps no attributes), whose x has an exclusive
 * gradient so far. True when done.
 */
function addedRowsInPlace(
  { op, inputs }: BackwardNode,
  dy: tf.Tensor | null,
  gradientOf: Map<number, tf.Tensor>,
): boolean {
  if (op.kernelName !== 'GatherV2' || !dy) return false;
  const { x, indices } = op.inputs;
  if (!x || !indices || inputs.length !== 1 || inputs[0]![0] !== 'x') return false;
  const sum = gradientOf.get(x.id);
  if (!sum || isKept(sum) || sum.dataId === dy.dataId) return false;
  for (const [id, other] of gradientOf) if (other === sum && id !== x.id) return false;
  if (!onlyAxisZero(x.shape, indices.shape, dy.shape)) return false;
  return scatterRowsInto(sum, dy, indices);
}

/** Whether `gather(x, indices, axis, batchDims)` gives `out` for axis 0, batch dims 0, and no other choice. */
function onlyAxisZero(x: number[], indices: number[], out: number[]): boolean {
  const fits: [number, number][] = [];
  for (let batchDims = 0; batchDims <= indices.length; batchDims++)
    for (let axis = batchDims; axis < x.length; axis++) {
      if (!tf.util.arraysEqual(x.slice(0, batchDims), indices.slice(0, batchDims))) continue;
      const shape = [...x.slice(0, axis), ...indices.slice(batchDims), ...x.slice(axis + 1)];
      if (tf.util.arraysEqual(shape, out)) fits.push([axis, batchDims]);
    }
  return fits.length === 1 && fits[0]![0] === 0 && fits[0]![1] === 0;
}

export interface GradientOptions {
  /**
   * Called with each variable's gradient as soon as no op is left to add to it, during the
   * backward pass (the op that used the variable first in the forward pass has run); the callee
   * owns `grad` and disposes it. Such variables are left out of the returned gradients. An
   * optimizer can update the variable there (`Optimizer.begin`): every op that read it has run,
   * and its gradient's memory is free for the rest of the backward pass.
   */
  onReady?: (variable: tf.Variable, grad: tf.Tensor) => void;
}

/**
 * Gradients of the scalar `f()` with respect to `varList` (default: every trainable variable),
 * by variable name, as `tf.variableGrads` returns them.
 */
export function variableGrads(
  f: () => tf.Scalar,
  varList?: tf.Variable[],
  options: GradientOptions = {},
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (kernelSet() === 'plain' || engine.state.gradientDepth > 0) {
    const result = tf.variableGrads(f, varList);
    if (!options.onReady) return result;
    // hand every gradient over at the end, as if each became ready then
    for (const v of varList ?? Object.values(engine.registeredVariables)) {
      const grad = result.grads[v.name];
      if (!grad) continue;
      delete result.grads[v.name];
      options.onReady(v, grad);
    }
    return result;
  }
  const variables = (varList ?? Object.values(engine.registeredVariables)).filter((v) => v.trainable);
  if (variables.length === 0)
    throw new Error('variableGrads() expects at least one of the input variables to be trainable');

  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor) || y.rank !== 0)
    throw new Error('The f passed in variableGrads(f) must return a scalar');
  const tape = engine.state.activeTape ?? [];
  const nodes = nodesFromXsToY(tape, variables, y);
  // an op not on a path from the variables to y is never differentiated: what it saved goes now
  // (with LoRA: the frozen embedding and the first layer up to its first adapter)
  const differentiated = new Set(nodes.map((node) => node.op.id));
  for (const node of tape)
    if (!differentiated.has(node.id)) for (const saved of node.saved ?? []) saved.dispose();
  // node index → the variables whose gradient is complete once that node has run (their first use)
  const readyAfter = new Map<number, tf.Variable[]>();
  if (options.onReady) {
    const firstUse = new Map<number, number>();
    nodes.forEach((node, i) => {
      for (const [, input] of node.inputs) if (!firstUse.has(input.id)) firstUse.set(input.id, i);
    });
    for (const v of variables) {
      const at = firstUse.get(v.id);
      if (at !== undefined) readyAfter.set(at, [...(readyAfter.get(at) ?? []), v]);
    }
  }

  const grads = engine.tidy('backward', () => {
    // tensor id → dL/dt, from dL/dL = 1 (host ones, the same each step: step-graph.ts)
    const seed = tf.tensor(markStepConstant(new Float32Array(y.size).fill(1)), y.shape);
    const gradientOf = new Map<number, tf.Tensor>([[y.id, seed]]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      const op = node.op;
      if (!op.gradient)
        throw new Error(`Cannot compute gradient: gradient function not found for ${op.kernelName}.`);
      const dys = op.outputs.map((output) => gradientOf.get(output.id) ?? null);
      // a lookup whose rows went into its table's gradient in place has no gradient left to compute
      const inputs = addedRowsInPlace(node, dys[0] ?? null, gradientOf) ? [] : node.inputs;
      // in a tidy of the node's own: what a gradient function computes for inputs left out (a
      // tf.customGrad op computes every input's gradient) is freed now, not at the end of backward
      const dxs = engine.tidy(() => {
        const inputGradients = op.gradient!(dys);
        return inputs.map(([inputName]) => {
          const gradient = inputGradients[inputName];
          if (!gradient) throw new Error(`Cannot backprop through input ${inputName} of ${op.kernelName}.`);
          return engine.tidy(gradient);
        });
      });
      for (const [k, [inputName, input]] of inputs.entries()) {
        const dx = dxs[k]!;
        if (dx.dtype !== 'float32')
          throw new Error(
            `The gradient of input '${inputName}' of ${op.kernelName} is ${dx.dtype}, not float32`,
          );
        if (!tf.util.arraysEqual(dx.shape, input.shape))
          throw new Error(
            `The gradient of input '${inputName}' of ${op.kernelName} has shape [${dx.shape}], not [${input.shape}]`,
          );
        const sum = gradientOf.get(input.id);
        if (sum) {
          gradientOf.set(input.id, tf.add(sum, dx));
          sum.dispose();
        } else {
          gradientOf.set(input.id, dx);
        }
      }
      // Nothing reads this node's output gradients or saved tensors again. An output gradient
      // a gradient function passed through unchanged is now an input's: keep that one.
      const passedOn = (dy: tf.Tensor) => node.inputs.some(([, input]) => gradientOf.get(input.id) === dy);
      for (const output of op.outputs) {
        const dy = gradientOf.get(output.id);
        if (dy && !passedOn(dy) && !isKept(dy)) dy.dispose();
        gradientOf.delete(output.id);
      }
      for (const saved of op.saved ?? []) saved.dispose();
      for (const v of readyAfter.get(i) ?? []) {
        const grad = gradientOf.get(v.id);
        gradientOf.delete(v.id);
        if (grad) options.onReady!(v, grad);
      }
    }
    return variables.map((v) => gradientOf.get(v.id));
  });
  for (const node of tape) for (const saved of node.saved ?? []) saved.dispose();
  engine.state.activeTape = null;

  const named: tf.NamedTensorMap = {};
  variables.forEach((v, i) => {
    const grad = grads[i];
    if (grad) named[v.name] = grad;
  });
  if (Object.keys(named).length === 0 && readyAfter.size === 0)
    throw new Error(
      'Cannot find a connection between any variable and the result of the loss function y=f(x).',
    );
  return { value: y as tf.Scalar, grads: named };
}
