/**
 * For test files that switch layercut's runtime paths (plain ops, kept constants): the cpu
 * backend before the file's tests, and every switch back to its default after them.
 */
import { after, before } from 'node:test';
import { initBackend } from '../../src/runtime/backend.js';
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
