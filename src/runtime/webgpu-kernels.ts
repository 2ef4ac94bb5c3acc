/**
 * Kernels layercut puts in place of tfjs's own on the webgpu backend (tfjs's stay as fallbacks).
 *
 * `Transpose` by the identity permutation returns its input instead of copying it. tfjs's
 * gradient of `gather` transposes by the identity on both sides of its segment sum: for an
 * embedding lookup that is a copy of the looked-up rows and a copy of the whole [V, D] table
 * gradient per step (GPT2-XL's: 80 M floats), two dispatches per embedding, whatever the depth.
 */
import * as tf from '@tensorflow/tfjs';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

let fallbackTranspose: tf.KernelFunc | undefined;

const transposeKernel: tf.KernelFunc = (args) => {
  const perm = (args.attrs as { perm: number[] }).perm;
  if (perm.every((axis, i) => axis === i)) {
    const x = args.inputs['x'] as tf.TensorInfo;
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId); // as tfjs's Identity kernel
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  return fallbackTranspose!(args);
};

/** Installs the kernels; call after the webgpu backend is registered. Safe to call again. */
export function installWebGpuKernels(): void {
  const current = tf.getKernel('Transpose', 'webgpu');
  if (!current) throw new Error('tfjs has no Transpose kernel for webgpu');
  if (current.kernelFunc === transposeKernel) return;
  fallbackTranspose = current.kernelFunc;
  tf.unregisterKernel('Transpose', 'webgpu');
  tf.registerKernel({ kernelName: 'Transpose', backendName: 'webgpu', kernelFunc: transposeKernel });
}

/** Gives tfjs its own kernels back. */
export function uninstallWebGpuKernels(): void {
  if (!fallbackTranspose) return;
  tf.unregisterKernel('Transpose', 'webgpu');
  tf.registerKernel({ kernelName: 'Transpose', backendName: 'webgpu', kernelFunc: fallbackTranspose });
  fallbackTranspose = undefined;
}
