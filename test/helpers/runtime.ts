/**
 * For test files that switch layercut's runtime paths (plain ops, kept constants): the cpu
 * backend before the file's tests, and every switch back to its default after them.
 */
import { after, before } from 'node:test';
import { initBackend, releaseBackend } from '../../src/runtime/backend.js';
import { watchDeviceErrors, type DeviceErrorWatch } from '../../src/runtime/shader-errors.js';
import { activeWebGpuDevice } from '../../src/runtime/webgpu.js';
import { releaseDeviceConstants, setConstantCaching } from '../../src/runtime/constants.js';
import { setPlainOps } from '../../src/runtime/flags.js';

export function onCpuWithRuntimeReset(): void {
  before(async () => {
    await initBackend({ backend: 'cpu' });
  });
  after(() => {
    setPlainOps(undefined);
    setConstantCaching(undefined);
    releaseDeviceConstants();
  });
}

/**
 * For test files on Dawn's null device: the webgpu backend on it before the file's tests, with a
 * watch on its errors (the returned function gives it), released after them.
 */
export function onNullDevice(): () => DeviceErrorWatch {
  let watch: DeviceErrorWatch | undefined;
  before(async () => {
    await initBackend({ backend: 'webgpu', webgpu: { createFlags: ['backend=null'] } });
    watch = watchDeviceErrors(activeWebGpuDevice()!);
  });
  after(() => {
    watch?.stop();
    releaseBackend();
  });
  return () => {
    if (!watch) throw new Error('onNullDevice: the device is not set up yet');
    return watch;
  };
}
