import * as tf from '@tensorflow/tfjs';
import { initBackend, releaseBackend } from './src/runtime/backend.js';
const report = await initBackend({ backend: 'webgpu', webgpu: {} });
console.log(report.detail);
const a = tf.randomNormal([64, 48], 0, 1, 'float32', 1); const b = tf.randomNormal([48, 32], 0, 1, 'float32', 2);
const y = await tf.matMul(a, b).data();
console.log(y.slice(0,4));
releaseBackend();
