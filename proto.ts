import * as tf from '@tensorflow/tfjs';
import { initBackend, releaseBackend } from './src/runtime/backend.js';
import { installTensorCoreMatMul, setMatMulPrecision, setTensorCoresForEveryShape } from './src/runtime/tensor-core-matmul.js';
const report = await initBackend({ backend: 'webgpu', webgpu: { createFlags: ['backend=null'] } });
console.log(report.detail);
const device = (tf.backend() as any).device as GPUDevice;
device.addEventListener('uncapturederror', (e: any) => console.log('UNCAPTURED', e.error.message.split('\n')[0]));
installTensorCoreMatMul({ m: 16, n: 16, k: 16 });
setMatMulPrecision('mixed'); setTensorCoresForEveryShape(true);
for (const [r, k, c] of [[128,64,128],[64,64,64],[77,50,200]]) {
  device.pushErrorScope('validation');
  const a = tf.ones([r, k]); const b = tf.ones([k, c]);
  const y = tf.matMul(a, b);
  const d = await y.data();
  const e = await device.popErrorScope();
  console.log(r,k,c, d[0], e?.message.split('\n')[0]);
}
releaseBackend();
