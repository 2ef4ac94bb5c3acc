/**
 * Counting tensors made from host (JavaScript) values: `tf.tensor`, `tf.scalar`, `tf.ones`,
 * `tf.zeros`, and every JS number or array passed as an operand. On a GPU backend each such
 * tensor is one host→device upload when a kernel first reads it, so the count per training
 * step measures the uploads issue 9 is about, on any backend (the cpu one in tests).
 *
 * Not counted: tensors a GPU kernel computes on the host by itself (tfjs-webgpu runs some
 * ops on tiny host-resident inputs on the CPU, and `tf.range` there is a host kernel).
 */
import * as tf from '@tensorflow/tfjs';

export interface HostTensorCount {
  /** Tensors made from host values since the count started (until `stop`). */
  readonly tensors: number;
  /** Their bytes (4 per float32/int32 element). */
  readonly bytes: number;
  /** Ends the count; the figures stay readable. */
  stop(): void;
}

/** The engine's `makeTensor`, the single door host values come through. */
type MakeTensor = (values: unknown, shape: number[], dtype?: tf.DataType, backend?: unknown) => tf.Tensor;

/** Starts counting host-made tensors in the current tfjs engine. Counts may nest. */
export function countHostTensors(): HostTensorCount {
  const engine = tf.engine() as unknown as { makeTensor: MakeTensor };
  const previous = engine.makeTensor;
  let active = true;
  const count = {
    tensors: 0,
    bytes: 0,
    stop() {
      if (!active) return;
      active = false;
      // unhook only if no later count wrapped ours; otherwise ours stays as a silent pass-through
      if (engine.makeTensor === counting) engine.makeTensor = previous;
    },
  };
  const counting: MakeTensor = function (this: unknown, values, shape, dtype, backend) {
    const t = previous.call(this, values, shape, dtype, backend);
    if (active) {
      count.tensors += 1;
      count.bytes += t.size * (t.dtype === 'string' ? 0 : 4);
    }
    return t;
  };
  engine.makeTensor = counting;
  return count;
}
