/**
 * Kernels layercut puts in place of tfjs's own on the webgpu backend (tfjs's stay as fallbacks).
 *
 * `Transpose` by the identity permutation returns its input instead of copying it. tfjs's
 * gradient of `gather` transposes by the identity on both sides of its segment sum: for an
 * embedding lookup that is a copy of the looked-up rows and a copy of the whole [V, D] table
 * gradient per step (GPT2-XL's: 80 M floats), two dispatches per embedding, whatever the depth.
 *
 * `UnsortedSegmentSum` of rows (that segment sum) scatters dy's rows into a zero-filled [V, D]
 * without tfjs's two transposes and its [D, V] buffer; few rows in one program that writes
 * [V, D] (fused/scatter-rows.ts).
 *
 * `scatterRowsInto` adds rows into a gradient the table already has, in place: the backward
 * pass uses it for a second lookup of the same table (src/runtime/gradients.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { ProgramUniform } from './fused/program.js';
import { scatterRows, ScatterRowsProgram, type OutputProgramBackend } from './fused/scatter-rows.js';
import { kernelSet } from './ops/registry.js';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

let fallbackTranspose: tf.KernelFunc | undefined;
let fallbackSegmentSum: tf.KernelFunc | undefined;
let fillKernel: tf.KernelFunc | undefined;

const segmentSumKernel: tf.KernelFunc = (args) =>
  (kernelSet() === 'webgpu' ? scatterRows(args, fillKernel!) : undefined) ?? fallbackSegmentSum!(args);

const transposeKernel: tf.KernelFunc = (args) => {
  const perm = (args.attrs as { perm: number[] }).perm;
  if (perm.every((axis, i) => axis === i)) {
    const x = args.inputs['x'] as tf.TensorInfo;
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId); // as tfjs's Identity kernel
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  return fallbackTranspose!(args);
};

/** The part of tfjs's WebGPUBackend `scatterRowsInto` uses. */
interface ProgramRunningBackend extends OutputProgramBackend {
  tensorMap: { get(dataId: object): { refCount: number } | undefined };
}

/**
 * target[ids[n], i] += rows[n, i] in place, on the webgpu backend with layercut's kernels: the
 * gradient of a row lookup (`gather(table, ids)`, dL/d(lookup) = rows) added to `target`, a
 * gradient the table [V, ...inner] already has, without a zero-filled [V, ...inner] and an add.
 * rows: [N, ...inner] float32, ids: N int32 (any shape). False (nothing done) where this does
 * not apply: another backend or kernel set, other dtypes or shapes, or target's data shared with
 * another tensor.
 */
export function scatterRowsInto(target: tf.Tensor, rows: tf.Tensor, ids: tf.Tensor): boolean {
  if (kernelSet() !== 'webgpu' || fallbackSegmentSum === undefined) return false;
  const inner = target.shape.slice(1);
  const rowSize = inner.reduce((a, b) => a * b, 1);
  const fits =
    target.dtype === 'float32' &&
    rows.dtype === 'float32' &&
    ids.dtype === 'int32' &&
    target.rank >= 2 &&
    rows.size === ids.size * rowSize &&
    rows.size > 0;
  if (!fits) return false;
  const backend = tf.backend() as unknown as ProgramRunningBackend;
  if (backend.tensorMap.get(target.dataId)?.refCount !== 1) return false;
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [rows.size] },
    { type: 'int32', data: [rowSize] },
    { type: 'int32', data: [target.shape[0]!] },
  ];
  tf.tidy(() => {
    const flatRows = tf.reshape(rows, [ids.size, ...inner]);
    const flatIds = tf.reshape(ids, [ids.size]);
    const out = { dataId: target.dataId, shape: target.shape, dtype: target.dtype };
    backend.runWebGPUProgram(
      new ScatterRowsProgram(rows.size, target.shape),
      [flatRows, flatIds],
      'float32',
      uniforms,
      out,
    );
  });
  return true;
}

/** Puts `kernelFunc` in place of tfjs's `name` kernel on webgpu; returns tfjs's (or the earlier fallback). */
function replaceKernel(
  name: string,
  kernelFunc: tf.KernelFunc,
  fallback: tf.KernelFunc | undefined,
): tf.KernelFunc {
  const current = tf.getKernel(name, 'webgpu');
  if (!current) throw new Error(`tfjs has no ${name} kernel for webgpu`);
  if (current.kernelFunc === kernelFunc) return fallback!;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc });
  return current.kernelFunc;
}

function restoreKernel(name: string, fallback: tf.KernelFunc): void {
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: fallback });
}

/** Installs the kernels; call after the webgpu backend is registered. Safe to call again. */
export function installWebGpuKernels(): void {
  fillKernel = tf.getKernel('Fill', 'webgpu')?.kernelFunc;
  if (!fillKernel) throw new Error('tfjs has no Fill kernel for webgpu');
  fallbackTranspose = replaceKernel('Transpose', transposeKernel, fallbackTranspose);
  fallbackSegmentSum = replaceKernel('UnsortedSegmentSum', segmentSumKernel, fallbackSegmentSum);
}

/** Gives tfjs its own kernels back. */
export function uninstallWebGpuKernels(): void {
  if (fallbackTranspose) restoreKernel('Transpose', fallbackTranspose);
  if (fallbackSegmentSum) restoreKernel('UnsortedSegmentSum', fallbackSegmentSum);
  fallbackTranspose = undefined;
  fallbackSegmentSum = undefined;
}
