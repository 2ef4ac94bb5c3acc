/**
 * A training step's GPU work recorded once and replayed: CUDA graphs' idea, on WebGPU.
 *
 * A batch-1 step waits on the host: tfjs's bookkeeping, layercut's JS and Dawn's encoding cost
 * about 30 µs per dispatch on the host, while many of the step's ~30 dispatches per layer run for
 * less on the GPU. With the buffer pool in a fixed order (buffer-pool.ts: stableBufferOrder) and
 * bind groups and uniforms cached (bind-groups.ts, uniforms.ts), step after step issues the same
 * pipelines, bind groups and workgroup counts. So `captureStep` runs the step three times and
 * records what the last two runs send the device (dispatches, copies, clears, queue writes,
 * submits), checks the two recordings are the same, and keeps the second. `replay` then issues the
 * recorded commands directly: none of the step's JS runs.
 *
 * What a replay may change: host values the step uploads. Every queue write inside the step must
 * carry data marked with `markStepInput(values, name)` (new values each replay: `replay({ name:
 * values })`) or `markStepConstant(values)` (the same each step, e.g. derived from the batch's
 * shape); an unmarked upload, a readback, a timestamp query or a buffer destroyed inside the step
 * makes the capture fail (`StepGraphRefused`), as does any difference between the two runs
 * beyond the marked inputs. The batch's tensors are inputs too: each run and each replay copies
 * its batch, on the GPU, into input tensors the graph owns.
 *
 * Buffers: the step's temporaries (released to tfjs's pool by the step's end) are taken out of
 * the pool and kept by the graph until `dispose`, so that no other tensor gets one and sees it
 * overwritten; parameters and optimizer state stay the caller's and must outlive the graph (a
 * replay finds one freed and throws). Each replay returns the
 * step's output (the loss) copied into a new tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { boundBuffers } from './bind-groups.js';

/** Why a step could not be recorded for replay (the caller runs it as before). */
export class StepGraphRefused extends Error {
  constructor(reason: string) {
    super(`the step cannot be replayed: ${reason}`);
    this.name = 'StepGraphRefused';
  }
}

// ---------------------------------------------------------------- marked host values

type HostValues = Float32Array | Int32Array | Uint32Array | Uint8Array;
const stepInputs = new WeakMap<object, string>();
const CONSTANT = '\u0000constant';

/** Marks host values a step uploads as its input `name`: a replay is given new ones. Returns them. */
export function markStepInput<T extends HostValues>(values: T, name: string): T {
  stepInputs.set(values, name);
  return values;
}

let writingOnce = false;

/**
 * Runs `write`, whose queue writes a replay need not repeat: they fill a buffer that is never
 * written again (uniforms.ts's cache), made during a step the first time it is needed.
 */
export function writtenOnce<T>(write: () => T): T {
  writingOnce = true;
  try {
    return write();
  } finally {
    writingOnce = false;
  }
}

/** Marks host values a step uploads as the same in every step (a replay writes them again). */
export function markStepConstant<T extends HostValues>(values: T): T {
  stepInputs.set(values, CONSTANT);
  return values;
}

// ---------------------------------------------------------------- what a step sends the device

type Op =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; group: GPUBindGroup; x: number; y: number; z: number }
  | {
      kind: 'copy';
      source: GPUBuffer;
      sourceOffset: number;
      target: GPUBuffer;
      targetOffset: number;
      size: number;
    }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size: number | undefined }
  | { kind: 'write'; buffer: GPUBuffer; offset: number; bytes: Uint8Array; input: string | undefined }
  | { kind: 'submit' };

/** The recording under way, if any: the device hooks append to it. */
interface Recording {
  ops: Op[];
  /** Set by the pass hooks between setPipeline/setBindGroup and dispatch. */
  pipeline?: GPUComputePipeline;
  group?: GPUBindGroup;
  /** The first thing seen that a replay could not reproduce. */
  refusal?: string;
  /** tfjs tensor data updated in place (CPU copies to drop after each replay). */
  inPlace: Set<InPlaceEntry>;
}

let recording: Recording | undefined;
const destroyed = new WeakSet<GPUBuffer>();
/** When each buffer was last given back to tfjs's pool (a count of releases), once watched. */
const releasedAt = new WeakMap<GPUBuffer, number>();
let releases = 0;
const watchedManagers = new WeakSet<object>();

/** Notes each release into the pool, so that a replay can tell a buffer it uses was freed since. */
function watchReleases(manager: GraphBackend['bufferManager']): void {
  if (watchedManagers.has(manager)) return;
  watchedManagers.add(manager);
  const release = manager.releaseBuffer.bind(manager);
  manager.releaseBuffer = (buffer, reuse) => {
    releasedAt.set(buffer, ++releases);
    release(buffer, reuse);
  };
}
const hooked = new WeakSet<GPUDevice>();

const refuse = (reason: string) => {
  if (recording && !recording.refusal) recording.refusal = reason;
};

/** tfjs's record of a tensor's data that a recorded program writes in place. */
interface InPlaceEntry {
  values?: unknown;
  /** Tensors sharing the data (a clone shares it): one, or the write would change the others too. */
  refCount: number;
}

/** Called by programs that write a tensor's buffer in place (fused AdamW): its CPU copy goes stale. */
export function noteWrittenInPlace(entry: InPlaceEntry): void {
  recording?.inPlace.add(entry);
}

/** Where an upload came from: the first frame of the stack outside tfjs, this module and uploads.ts. */
function uploadOrigin(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40; // past tfjs's frames
  const frames = new Error().stack?.split('\n').slice(1) ?? [];
  Error.stackTraceLimit = limit;
  const frame = frames.find(
    (line) =>
      /:\d+:\d+\)?$/.test(line) && !/tfjs|node_modules|node:|src\/runtime\/(step-graph|uploads)\./.test(line),
  );
  return frame ? ` (${frame.trim()})` : '';
}

const bytesOf = (data: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): Uint8Array => {
  const view = ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data as ArrayBuffer);
  const element =
    ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as Int32Array).BYTES_PER_ELEMENT : 1;
  const start = offset * element;
  return view.slice(start, size === undefined ? undefined : start + size * element);
};

/** Wraps the device's prototypes once so that, while `recording` is set, what they do is noted. */
function hookDevice(device: GPUDevice): void {
  if (hooked.has(device)) return;
  hooked.add(device);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const passPrototype = Object.getPrototypeOf(pass) as GPUComputePassEncoder;
  const encoderPrototype = Object.getPrototypeOf(encoder) as GPUCommandEncoder;
  pass.end();
  encoder.finish();
  const probeBuffer = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE });
  const bufferPrototype = Object.getPrototypeOf(probeBuffer) as GPUBuffer;
  probeBuffer.destroy();

  const setPipeline = passPrototype.setPipeline;
  passPrototype.setPipeline = function (this: GPUComputePassEncoder, pipeline: GPUComputePipeline) {
    if (recording) recording.pipeline = pipeline;
    return setPipeline.call(this, pipeline);
  };
  const setBindGroup = passPrototype.setBindGroup as (...args: unknown[]) => undefined;
  passPrototype.setBindGroup = function (this: GPUComputePassEncoder, ...args: unknown[]) {
    if (recording) {
      if (args[0] !== 0 || (args[2] !== undefined && (args[2] as ArrayLike<number>).length > 0))
        refuse('a bind group other than group 0 without offsets');
      recording.group = args[1] as GPUBindGroup;
    }
    return setBindGroup.apply(this, args);
  } as GPUComputePassEncoder['setBindGroup'];
  const dispatch = passPrototype.dispatchWorkgroups;
  passPrototype.dispatchWorkgroups = function (this: GPUComputePassEncoder, x: number, y = 1, z = 1) {
    if (recording) {
      const { pipeline, group } = recording;
      if (!pipeline || !group) refuse('a dispatch without a pipeline and bind group');
      else recording.ops.push({ kind: 'dispatch', pipeline, group, x, y, z });
    }
    return dispatch.call(this, x, y, z);
  };
  const dispatchIndirect = passPrototype.dispatchWorkgroupsIndirect;
  passPrototype.dispatchWorkgroupsIndirect = function (this: GPUComputePassEncoder, ...args) {
    refuse('an indirect dispatch');
    return dispatchIndirect.apply(this, args);
  };
  const beginPass = encoderPrototype.beginComputePass;
  encoderPrototype.beginComputePass = function (
    this: GPUCommandEncoder,
    descriptor?: GPUComputePassDescriptor,
  ) {
    if (descriptor?.timestampWrites) refuse('timestamp queries (a profile) in the step');
    return beginPass.call(this, descriptor);
  };
  const copy = encoderPrototype.copyBufferToBuffer as (...args: unknown[]) => undefined;
  encoderPrototype.copyBufferToBuffer = function (this: GPUCommandEncoder, ...args: unknown[]) {
    if (recording) {
      const [source, sourceOffset, target, targetOffset, size] = args as [
        GPUBuffer,
        number,
        GPUBuffer,
        number,
        number,
      ];
      if (typeof sourceOffset !== 'number') refuse('a copy of whole buffers');
      else recording.ops.push({ kind: 'copy', source, sourceOffset, target, targetOffset, size });
    }
    return copy.apply(this, args);
  } as GPUCommandEncoder['copyBufferToBuffer'];
  const clear = encoderPrototype.clearBuffer;
  encoderPrototype.clearBuffer = function (
    this: GPUCommandEncoder,
    buffer: GPUBuffer,
    offset = 0,
    size?: number,
  ) {
    recording?.ops.push({ kind: 'clear', buffer, offset, size });
    return clear.call(this, buffer, offset, size);
  };
  const resolve = encoderPrototype.resolveQuerySet;
  encoderPrototype.resolveQuerySet = function (this: GPUCommandEncoder, ...args) {
    refuse('timestamp queries (a profile) in the step');
    return resolve.apply(this, args);
  };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers) => {
    recording?.ops.push({ kind: 'submit' });
    return submit(buffers);
  };
  const write = queue.writeBuffer.bind(queue) as (...args: unknown[]) => undefined;
  queue.writeBuffer = ((
    buffer: GPUBuffer,
    bufferOffset: number,
    data: ArrayBufferView | ArrayBuffer,
    dataOffset?: number,
    size?: number,
  ) => {
    if (recording && !writingOnce) {
      const input = stepInputs.get(data);
      if (input === undefined && !recording.refusal)
        refuse(
          `an upload of ${data.byteLength} bytes not marked as a step input or constant${uploadOrigin()}`,
        );
      const bytes = bytesOf(data, dataOffset, size);
      recording.ops.push({
        kind: 'write',
        buffer,
        offset: bufferOffset,
        bytes,
        input: input === CONSTANT ? undefined : input,
      });
    }
    return write(buffer, bufferOffset, data, dataOffset, size);
  }) as GPUQueue['writeBuffer'];
  const mapAsync = bufferPrototype.mapAsync;
  bufferPrototype.mapAsync = function (this: GPUBuffer, ...args) {
    refuse('a readback in the step');
    return mapAsync.apply(this, args);
  };
  const destroy = bufferPrototype.destroy;
  bufferPrototype.destroy = function (this: GPUBuffer) {
    destroyed.add(this);
    if (recording) refuse('a buffer destroyed in the step (the pool cap: LAYERCUT_WEBGPU_POOL_MB)');
    return destroy.call(this);
  };
}

// ---------------------------------------------------------------- tfjs's side

/** The parts of tfjs-webgpu's WebGPUBackend a capture uses. */
interface GraphBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  tensorMap: { get(dataId: object): { resource?: unknown; values?: unknown } | undefined };
  bufferManager: {
    freeBuffers: Map<string, GPUBuffer[]>;
    numFreeBuffers: number;
    numUsedBuffers: number;
    numBytesUsed: number;
    usedBuffers: Map<string, GPUBuffer[]>;
    releaseBuffer(buffer: GPUBuffer, reuse?: boolean): void;
  };
  tensorDataPendingDisposal: unknown[];
  endComputePassEncoder(): void;
  ensureCommandEncoderReady(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
}

function activeBackend(): GraphBackend {
  if (tf.getBackend() !== 'webgpu')
    throw new StepGraphRefused(`the backend is ${tf.getBackend()}, not webgpu`);
  return tf.backend() as unknown as GraphBackend;
}

/**
 * Sends tfjs's queued commands to the device, so that what follows starts a fresh recording, and
 * frees what tfjs held back until a submit (tensors disposed while queued commands used them).
 */
function flush(backend: GraphBackend): void {
  backend.endComputePassEncoder();
  if (backend.commandEncoder || backend.tensorDataPendingDisposal.length > 0) {
    backend.ensureCommandEncoderReady();
    backend.submitQueue();
  }
}

/** The GPU buffer of `tensor`, uploading its host values first if it has none yet. */
function bufferOf(backend: GraphBackend, tensor: tf.Tensor): GPUBuffer {
  backend.uploadToGPU(tensor.dataId);
  const resource = backend.tensorMap.get(tensor.dataId)?.resource;
  if (!(resource instanceof Object) || !('size' in resource))
    throw new StepGraphRefused('a tensor not on the GPU as a buffer');
  return resource as GPUBuffer;
}

/** A tensor of zeros with a GPU buffer of its own. */
function deviceTensor<T extends tf.Tensor>(backend: GraphBackend, shape: number[], dtype: tf.DataType): T {
  const tensor = tf.zeros(shape, dtype) as T;
  bufferOf(backend, tensor);
  return tensor;
}

/** Copies each of `sources` into its `targets` (same shapes) on the GPU, after the work queued so far. */
function copyInto(backend: GraphBackend, sources: readonly tf.Tensor[], targets: readonly tf.Tensor[]): void {
  flush(backend);
  const encoder = backend.device.createCommandEncoder();
  sources.forEach((source, i) => {
    const target = bufferOf(backend, targets[i]!);
    encoder.copyBufferToBuffer(bufferOf(backend, source), 0, target, 0, target.size);
  });
  backend.device.queue.submit([encoder.finish()]);
}

function record<T>(run: () => T): { result: T; recording: Recording } {
  const backend = activeBackend();
  hookDevice(backend.device);
  flush(backend);
  recording = { ops: [], inPlace: new Set() };
  try {
    const result = run();
    flush(backend);
    return { result, recording };
  } finally {
    recording = undefined;
  }
}

/** Where two recordings of the same step differ (beyond marked inputs), if anywhere. */
function difference(a: Op[], b: Op[]): string | undefined {
  if (a.length !== b.length) return `${a.length} commands, then ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!, b[i]!];
    const at = `command ${i + 1} (${x.kind})`;
    if (x.kind !== y.kind) return `${at}: then ${y.kind}`;
    if (x.kind === 'dispatch' && y.kind === 'dispatch') {
      if (x.pipeline !== y.pipeline || x.group !== y.group) return `${at}: other pipeline or buffers`;
      if (x.x !== y.x || x.y !== y.y || x.z !== y.z) return `${at}: other workgroup counts`;
    } else if (x.kind === 'copy' && y.kind === 'copy') {
      if (
        x.source !== y.source ||
        x.target !== y.target ||
        x.sourceOffset !== y.sourceOffset ||
        x.targetOffset !== y.targetOffset ||
        x.size !== y.size
      )
        return `${at}: other buffers or ranges`;
    } else if (x.kind === 'write' && y.kind === 'write') {
      if (x.buffer !== y.buffer || x.offset !== y.offset || x.bytes.length !== y.bytes.length)
        return `${at}: another buffer or size (${x.bytes.length} bytes${x.input ? `, step input '${x.input}'` : ''}, then ${y.bytes.length})`;
      if (x.input !== y.input) return `${at}: marked differently`;
      if (x.input === undefined && !x.bytes.every((v, k) => v === y.bytes[k]))
        return `${at}: values marked constant changed`;
    } else if (x.kind === 'clear' && y.kind === 'clear') {
      if (x.buffer !== y.buffer || x.offset !== y.offset || x.size !== y.size) return `${at}: other buffer`;
    }
  }
  return undefined;
}

/** The buffers a recording touches. */
function buffersIn(ops: Op[]): Set<GPUBuffer> {
  const buffers = new Set<GPUBuffer>();
  for (const op of ops) {
    if (op.kind === 'dispatch') {
      const bound = boundBuffers(op.group);
      if (!bound) throw new StepGraphRefused('a bind group made outside layercut’s cache');
      for (const buffer of bound) buffers.add(buffer);
    } else if (op.kind === 'copy') {
      buffers.add(op.source);
      buffers.add(op.target);
    } else if (op.kind === 'clear' || op.kind === 'write') buffers.add(op.buffer);
  }
  return buffers;
}

export interface StepGraph {
  /** Dispatches per replay. */
  readonly dispatches: number;
  /** Bytes of the step's temporaries the graph keeps. */
  readonly keptBytes: number;
  /**
   * Runs the step again on the batch `inputs` (shapes and dtypes as captured, copied on the GPU
   * into the graph's), with `hostInputs` for the values marked with `markStepInput`. Returns the
   * step's loss, copied into a new tensor the caller owns.
   */
  replay(inputs: readonly tf.Tensor[], hostInputs?: Record<string, HostValues>): tf.Scalar;
  dispose(): void;
}

/**
 * Records `step` for replay: runs it on each of three batches (all real steps, their losses
 * returned), the step reading its batch from `inputs`, tensors of the graph's own into which each
 * batch is copied first (so every run, and every replay, binds the same buffers). The first run
 * settles tfjs's pool (buffers made for the first time get their place in its order); the second
 * and third are recorded and must be the same. Throws `StepGraphRefused` (with the losses as
 * `outputs`) when the step cannot be replayed as recorded; the three steps have run all the same.
 */
export function captureStep(
  batches: readonly [readonly tf.Tensor[], readonly tf.Tensor[], readonly tf.Tensor[]],
  step: (inputs: readonly tf.Tensor[]) => tf.Scalar,
): { graph: StepGraph; outputs: tf.Scalar[] } {
  const backend = activeBackend();
  watchReleases(backend.bufferManager);
  // the batches on the GPU first: an upload between the steps would take buffers from the pool
  // and change which ones the next step gets
  for (const t of batches.flat()) bufferOf(backend, t);
  const inputs = batches[0].map((t) => deviceTensor(backend, t.shape, t.dtype));
  const inputBuffers = inputs.map((t) => bufferOf(backend, t));
  // each loss is copied out, so that the next step starts from the pool the step before did (its
  // loss back in it) and the graph alone writes the loss buffer it keeps
  const outputs = batches.map(() => deviceTensor<tf.Scalar>(backend, [], 'float32'));
  const runOn = (k: number) => {
    copyInto(backend, batches[k]!, inputs);
    const run = record(() => step(inputs));
    copyInto(backend, [run.result], [outputs[k]!]);
    return run;
  };
  runOn(0).result.dispose();
  const a = runOn(1);
  a.result.dispose();
  const b = runOn(2);
  const refusal = a.recording.refusal ?? b.recording.refusal ?? difference(a.recording.ops, b.recording.ops);
  if (refusal) {
    tf.dispose([b.result, ...inputs]);
    throw Object.assign(new StepGraphRefused(refusal), { outputs });
  }
  const ops = b.recording.ops;
  const output = b.result; // kept by the graph, written by each replay
  const outputBuffer = bufferOf(backend, output);
  const touched = buffersIn(ops);
  // the step's temporaries are in tfjs's pool now: take them out, so nothing else is given one
  const manager = backend.bufferManager;
  const kept: GPUBuffer[] = [];
  for (const buffer of touched) {
    const key = `${buffer.size}_${buffer.usage}`;
    const free = manager.freeBuffers.get(key);
    const index = free?.indexOf(buffer) ?? -1;
    if (index < 0) continue;
    free!.splice(index, 1);
    manager.numFreeBuffers--;
    manager.numUsedBuffers++;
    manager.numBytesUsed += buffer.size;
    let used = manager.usedBuffers.get(key);
    if (!used) manager.usedBuffers.set(key, (used = []));
    used.push(buffer);
    kept.push(buffer);
  }
  const inPlace = [...b.recording.inPlace];
  // the buffers of others (parameters, optimizer state, caches): none may be freed while the graph lives
  const keptSet = new Set(kept);
  const others = [...touched].filter((b) => !keptSet.has(b));
  const capturedAt = releases;
  const dispatches = ops.filter((op) => op.kind === 'dispatch').length;
  const device = backend.device;
  let disposed = false;

  const graph: StepGraph = {
    dispatches,
    keptBytes: kept.reduce((n, b) => n + b.size, 0),
    replay(newInputs, hostInputs = {}) {
      if (disposed) throw new Error('internal: replay of a disposed step graph');
      if (newInputs.length !== inputs.length)
        throw new Error(`internal: ${newInputs.length} inputs, not ${inputs.length}`);
      flush(backend); // tfjs frees what its queued commands used only once they are submitted
      if (inPlace.some((entry) => entry.refCount !== 1))
        throw new Error(
          'a tensor the recorded step updates in place is shared with another (a clone of a parameter): capture the step again',
        );
      for (const buffer of others)
        if (destroyed.has(buffer) || (releasedAt.get(buffer) ?? 0) > capturedAt)
          throw new Error(
            'a tensor the recorded step uses (a parameter, optimizer state) was freed: capture the step again',
          );
      newInputs.forEach((tensor, i) => {
        if (tensor.dtype !== inputs[i]!.dtype || tensor.shape.join() !== inputs[i]!.shape.join())
          throw new Error(
            `internal: replay input ${i} is ${tensor.dtype} [${tensor.shape}], not as captured`,
          );
      });
      let encoder = device.createCommandEncoder();
      newInputs.forEach((tensor, i) => {
        const buffer = inputBuffers[i]!;
        encoder.copyBufferToBuffer(bufferOf(backend, tensor), 0, buffer, 0, buffer.size);
      });
      let pass: GPUComputePassEncoder | undefined;
      const endPass = () => {
        pass?.end();
        pass = undefined;
      };
      for (const op of ops) {
        if (op.kind === 'dispatch') {
          pass ??= encoder.beginComputePass();
          pass.setPipeline(op.pipeline);
          pass.setBindGroup(0, op.group);
          pass.dispatchWorkgroups(op.x, op.y, op.z);
        } else if (op.kind === 'submit') {
          endPass();
          device.queue.submit([encoder.finish()]);
          encoder = device.createCommandEncoder();
        } else if (op.kind === 'write') {
          // a queue write runs before every command not yet submitted, as when recorded
          let bytes: ArrayBufferView = op.bytes;
          if (op.input !== undefined) {
            const given = hostInputs[op.input];
            if (!given) throw new Error(`internal: replay without step input '${op.input}'`);
            if (given.byteLength !== op.bytes.length)
              throw new Error(
                `internal: step input '${op.input}' has ${given.byteLength} bytes, not ${op.bytes.length}`,
              );
            bytes = given;
          }
          device.queue.writeBuffer(op.buffer, op.offset, bytes as unknown as Uint8Array);
        } else {
          endPass();
          if (op.kind === 'copy')
            encoder.copyBufferToBuffer(op.source, op.sourceOffset, op.target, op.targetOffset, op.size);
          else encoder.clearBuffer(op.buffer, op.offset, op.size);
        }
      }
      endPass();
      const result = deviceTensor<tf.Scalar>(backend, [], 'float32');
      flush(backend);
      encoder.copyBufferToBuffer(outputBuffer, 0, bufferOf(backend, result), 0, outputBuffer.size);
      device.queue.submit([encoder.finish()]);
      for (const entry of inPlace) entry.values = undefined; // CPU copies of updated tensors are stale
      return result;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      output.dispose();
      tf.dispose(inputs);
      for (const buffer of kept) manager.releaseBuffer(buffer);
    },
  };
  return { graph, outputs };
}
