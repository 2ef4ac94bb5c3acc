/**
 * Self-attention as one WebGPU program forward and one backward (flash-style): the [B, H, T, T]
 * scores and probabilities are never written to memory, and the head split and merge are folded
 * into the programs' indexing, so no [B, T, D] ↔ [B, H, T, Dh] transpose runs either.
 *
 *   input   qkv [B, T, (H + 2·Hkv)·Dh]: the H query heads, then the Hkv key heads, then the Hkv
 *           value heads, each Dh wide (GPT-2's c_attn layout); query head h reads key/value head
 *           h / (H / Hkv) (grouped-query attention)
 *           bias [B or 1, 1, T or 1, T]: the additive mask (0 or −1e9), no gradient
 *   forward out [B, T, H·Dh] = softmax(q·kᵀ · scale + bias) · v, by tiles of keys with an
 *           online softmax (running max and sum); saves only lse [B, H, T], each row's
 *           log Σ exp (the second output, written through an input binding: writesBinding)
 *   backward dqkv [B, T, (H + 2·Hkv)·Dh] in the input's layout, one dispatch of three kinds of
 *           workgroup: query blocks (dq), key blocks (dk), key blocks (dv). Each recomputes
 *           P = exp(q·kᵀ · scale + bias − lse) by tiles, with Δ = Σ dO·O per query row:
 *             dv = Pᵀ·dO    dS = P ∘ (dO·vᵀ − Δ)    dq = scale · dS·k    dk = scale · dSᵀ·q
 *
 * `causal`: the caller promises the bias masks every key after its query; tiles wholly above the
 * diagonal are skipped. Their keys' weights are exp(−1e9 − max) = 0 in float32 anyway, so the
 * result is the same, except for a query row with no allowed key at all (a padded query of a
 * left-padded row), whose output nothing reads.
 *
 * fp32 arithmetic: each thread holds one query (or key) row in registers, tiles of the other
 * operand are staged in workgroup memory, at most 16 KiB (WebGPU's default limit, the one Dawn's
 * null backend validates against in test/runtime/wgsl.test.ts).
 *
 * The reference is `attention` in src/runtime/ops/attention.ts (split heads, scores, masked softmax,
 * weighted sum, merge heads); bench/gpu-suite.ts compares the two on the GPU.
 */
import * as tf from '@tensorflow/tfjs';
import { runProgram, unfilledTensor, type WebGpuProgram } from '../fused/program.js';
import { writesBinding } from '../shader-directives.js';

/** How the heads lie in the packed projection. */
export interface HeadLayout {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** Query rows per forward workgroup (one thread each), and key rows per backward key workgroup. */
export const rowsPerWorkgroup = 64;
/** Workgroup memory the programs may use: WebGPU's default limit. */
const workgroupBytes = 16384;
/** Bytes kept aside for the small workgroup variables (block ids). */
const reservedBytes = 64;
/** Head widths the programs take: multiples of 4 (vec4 loads) up to this. */
export const maxHeadDim = 256;

/** Key rows per staged tile of the forward program: two tiles (k, v) of rows × Dh floats. */
export function forwardTileRows(headDim: number): number {
  return Math.min(64, Math.floor((workgroupBytes - reservedBytes) / (8 * headDim)));
}

/** Rows per staged tile of the backward program: two tiles of rows × Dh floats and two per-row floats. */
export function backwardTileRows(headDim: number): number {
  return Math.min(64, Math.floor((workgroupBytes - reservedBytes) / (8 * headDim + 8)));
}

/**
 * True when the programs take a float32 qkv of `qkvShape` [B, T, (H + 2·Hkv)·Dh]: Dh a multiple
 * of 4 up to 256, H a multiple of Hkv, a float32 bias [B or 1, 1, T or 1, T].
 */
export function flashAttentionFits(
  qkvShape: readonly number[],
  bias: tf.Tensor4D,
  layout: HeadLayout,
): boolean {
  const [batch, seq, width] = qkvShape;
  const { heads, kvHeads, headDim } = layout;
  const [biasBatch, biasHeads, biasRows, biasCols] = bias.shape;
  return (
    qkvShape.length === 3 &&
    bias.dtype === 'float32' &&
    headDim % 4 === 0 &&
    headDim <= maxHeadDim &&
    kvHeads > 0 &&
    heads % kvHeads === 0 &&
    width === (heads + 2 * kvHeads) * headDim &&
    (biasBatch === batch || biasBatch === 1) &&
    biasHeads === 1 &&
    (biasRows === seq || biasRows === 1) &&
    biasCols === seq
  );
}

/**
 * WGSL shared by both programs: the block ids made uniform, the bias index of a (query, key)
 * pair, and two staged tiles of `tileRows` rows × Dh floats with the function that stages a
 * query head's keys and values into them.
 */
function commonCode(headDim: number, tileRows: number): string {
  return `
const D4 = ${headDim / 4};
const BQ = ${rowsPerWorkgroup};
const R = ${tileRows};
var<workgroup> blockIds : vec3<i32>;
var<workgroup> tileA : array<vec4<f32>, ${tileRows * (headDim / 4)}>;
var<workgroup> tileB : array<vec4<f32>, ${tileRows * (headDim / 4)}>;

// workgroupId, as a value the uniformity analysis accepts around barriers
fn uniformBlockIds() -> vec3<i32> {
  if (localIndex == 0u) {
    blockIds = vec3<i32>(workgroupId);
  }
  return workgroupUniformLoad(&blockIds);
}

// offset of bias row (b, query i) in bias [Bb, 1, Tb, T]
fn biasRow(b : i32, i : i32, T : i32) -> i32 {
  let bb = select(b, 0, uniforms.biasShape.x == 1);
  let rows = uniforms.biasShape.z;
  return (bb * rows + select(min(i, T - 1), 0, rows == 1)) * T;
}

fn dot4(a : vec4<f32>, b : vec4<f32>, acc : vec4<f32>) -> vec4<f32> {
  return fma(a, b, acc);
}

fn total(v : vec4<f32>) -> f32 {
  return v.x + v.y + v.z + v.w;
}

// stages the key and value rows k0..k0+R (clamped to T − 1) that query head h reads into tileA
// and tileB, between barriers
fn stageKeysValues(b : i32, h : i32, k0 : i32, T : i32) {
  let W4 = uniforms.qkvShape.z / 4;
  let H = uniforms.heads;
  let Hkv = uniforms.kvHeads;
  let kvHead = h / (H / Hkv);
  let kCol = (H + kvHead) * D4;
  let vCol = (H + Hkv + kvHead) * D4;
  workgroupBarrier();
  for (var e = i32(localIndex); e < R * D4; e = e + BQ) {
    let r = e / D4;
    let at = (b * T + min(k0 + r, T - 1)) * W4 + e - r * D4;
    tileA[e] = qkv[at + kCol];
    tileB[e] = qkv[at + vCol];
  }
  workgroupBarrier();
}
`;
}

/**
 * What both programs share: packed qkv read as vec4s, one workgroup of 64 threads per block of
 * rows (grid x: `roles` kinds of block side by side), per head (y) and per batch row (z), and the
 * scale and head counts as uniforms. The shader key names the head width and the causal skip.
 */
abstract class FlashProgram implements WebGpuProgram {
  abstract readonly variableNames: string[];
  abstract readonly variableComponents: number[];
  readonly outputComponent = 4;
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [2], y: [1], z: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [rowsPerWorkgroup, 1, 1];
  readonly uniforms = 'scale : f32, heads : i32, kvHeads : i32,';

  constructor(
    name: string,
    /** [B, T, width] */
    outputShape: [number, number, number],
    roles: number,
    protected readonly layout: HeadLayout,
    protected readonly causal: boolean,
    protected readonly tileRows: number,
  ) {
    const [batch, seq] = outputShape;
    this.outputShape = outputShape;
    this.dispatch = [roles * Math.ceil(seq / rowsPerWorkgroup), layout.heads, batch];
    this.shaderKey = `${name}_${layout.headDim}_${causal}`;
  }

  /** The end of the key tiles a query block starting at q0 reads (the causal skip). */
  protected keyEnd(): string {
    return this.causal ? 'min(T, q0 + BQ)' : 'T';
  }

  abstract getUserCode(): string;
}

/** The forward program: out [B, T, H·Dh] and lse [B, H, T] from qkv and bias. */
export class FlashAttentionProgram extends FlashProgram {
  readonly variableNames = ['qkv', 'bias', 'lse'];
  readonly variableComponents = [4, 1, 1];

  constructor(batch: number, seq: number, layout: HeadLayout, causal: boolean) {
    const width = layout.heads * layout.headDim;
    super('layercutFlashAttention', [batch, seq, width], 1, layout, causal, forwardTileRows(layout.headDim));
  }

  getUserCode(): string {
    return `
${writesBinding('lse')}
${commonCode(this.layout.headDim, this.tileRows)}

fn main() {
  let ids = uniformBlockIds();
  let T = uniforms.qkvShape.y;
  let W4 = uniforms.qkvShape.z / 4;
  let H = uniforms.heads;
  let h = ids.y;
  let b = ids.z;
  let q0 = ids.x * BQ;
  let i = q0 + i32(localIndex);
  let row = min(i, T - 1);

  var q : array<vec4<f32>, D4>;
  let qAt = (b * T + row) * W4 + h * D4;
  for (var d = 0; d < D4; d = d + 1) {
    q[d] = qkv[qAt + d] * uniforms.scale;
  }
  var o : array<vec4<f32>, D4>;
  let biasAt = biasRow(b, row, T);
  var m = -3.0e38;
  var l = 0.0;
  let kEnd = ${this.keyEnd()};
  for (var k0 = 0; k0 < kEnd; k0 = k0 + R) {
    stageKeysValues(b, h, k0, T);
    var s : array<f32, R>;
    var tileMax = -3.0e38;
    for (var r = 0; r < R; r = r + 1) {
      let j = k0 + r;
      var acc = vec4<f32>(0.0);
      for (var d = 0; d < D4; d = d + 1) {
        acc = dot4(q[d], tileA[r * D4 + d], acc);
      }
      s[r] = select(-3.0e38, total(acc) + bias[biasAt + min(j, T - 1)], j < T);
      tileMax = max(tileMax, s[r]);
    }
    let mNew = max(m, tileMax);
    let correction = exp(m - mNew);
    l = l * correction;
    for (var d = 0; d < D4; d = d + 1) {
      o[d] = o[d] * correction;
    }
    for (var r = 0; r < R; r = r + 1) {
      let p = exp(s[r] - mNew);
      l = l + p;
      for (var d = 0; d < D4; d = d + 1) {
        o[d] = fma(vec4<f32>(p), tileB[r * D4 + d], o[d]);
      }
    }
    m = mNew;
  }
  if (i < T) {
    let inverse = 1.0 / l;
    let outAt = (b * T + i) * (H * D4) + h * D4;
    for (var d = 0; d < D4; d = d + 1) {
      result[outAt + d] = o[d] * inverse;
    }
    lse[(b * H + h) * T + i] = m + log(l);
  }
}`;
  }
}

/** The backward program: dqkv [B, T, (H + 2·Hkv)·Dh] from qkv, bias, dO, O and lse. */
export class FlashAttentionGradProgram extends FlashProgram {
  readonly variableNames = ['qkv', 'bias', 'dy', 'o', 'lse'];
  readonly variableComponents = [4, 1, 4, 4, 1];

  constructor(batch: number, seq: number, layout: HeadLayout, causal: boolean) {
    const width = (layout.heads + 2 * layout.kvHeads) * layout.headDim;
    // query blocks (dq), then key blocks (dk), then key blocks (dv); key workgroups past Hkv idle
    super(
      'layercutFlashAttentionGrad',
      [batch, seq, width],
      3,
      layout,
      causal,
      backwardTileRows(layout.headDim),
    );
  }

  getUserCode(): string {
    return `
${commonCode(this.layout.headDim, this.tileRows)}
// query role: tileA and tileB hold k and v rows; key roles: scaled q and dO rows, with lse and Δ of each
var<workgroup> rowLse : array<f32, R>;
var<workgroup> rowDelta : array<f32, R>;

// Δ = Σ dO · O of query row (b, h, i)
fn delta(b : i32, h : i32, i : i32, T : i32) -> f32 {
  let at = (b * T + i) * (uniforms.heads * D4) + h * D4;
  var acc = vec4<f32>(0.0);
  for (var d = 0; d < D4; d = d + 1) {
    acc = dot4(dy[at + d], o[at + d], acc);
  }
  return total(acc);
}

// dq for query rows q0.. of head h
fn queryBlock(b : i32, h : i32, q0 : i32, T : i32) {
  let W4 = uniforms.qkvShape.z / 4;
  let H = uniforms.heads;
  let i = q0 + i32(localIndex);
  let row = min(i, T - 1);
  var q : array<vec4<f32>, D4>;
  var g : array<vec4<f32>, D4>;
  var dq : array<vec4<f32>, D4>;
  let qAt = (b * T + row) * W4 + h * D4;
  let oAt = (b * T + row) * (H * D4) + h * D4;
  for (var d = 0; d < D4; d = d + 1) {
    q[d] = qkv[qAt + d] * uniforms.scale;
    g[d] = dy[oAt + d];
  }
  let rowDeltaValue = delta(b, h, row, T);
  let rowLseValue = lse[(b * H + h) * T + row];
  let biasAt = biasRow(b, row, T);
  let kEnd = ${this.keyEnd()};
  for (var k0 = 0; k0 < kEnd; k0 = k0 + R) {
    stageKeysValues(b, h, k0, T);
    for (var r = 0; r < R; r = r + 1) {
      let j = k0 + r;
      if (j < T) {
        var s = vec4<f32>(0.0);
        var dp = vec4<f32>(0.0);
        for (var d = 0; d < D4; d = d + 1) {
          s = dot4(q[d], tileA[r * D4 + d], s);
          dp = dot4(g[d], tileB[r * D4 + d], dp);
        }
        let p = exp(total(s) + bias[biasAt + j] - rowLseValue);
        let ds = p * (total(dp) - rowDeltaValue);
        for (var d = 0; d < D4; d = d + 1) {
          dq[d] = fma(vec4<f32>(ds), tileA[r * D4 + d], dq[d]);
        }
      }
    }
  }
  if (i < T) {
    for (var d = 0; d < D4; d = d + 1) {
      result[qAt + d] = dq[d] * uniforms.scale;
    }
  }
}

// stages scaled q and dO rows q0..q0+R of head h (with lse, and Δ when withDelta)
fn stageQueries(b : i32, h : i32, q0 : i32, T : i32, withDelta : bool) {
  let W4 = uniforms.qkvShape.z / 4;
  let H = uniforms.heads;
  workgroupBarrier();
  for (var e = i32(localIndex); e < R * D4; e = e + BQ) {
    let r = e / D4;
    let c = e - r * D4;
    let i = min(q0 + r, T - 1);
    tileA[e] = qkv[(b * T + i) * W4 + h * D4 + c] * uniforms.scale;
    tileB[e] = dy[(b * T + i) * (H * D4) + h * D4 + c];
  }
  if (i32(localIndex) < R) {
    let i = min(q0 + i32(localIndex), T - 1);
    rowLse[localIndex] = lse[(b * H + h) * T + i];
    if (withDelta) {
      rowDelta[localIndex] = delta(b, h, i, T);
    }
  }
  workgroupBarrier();
}

// dk (forDk) or dv for key rows j0.. of key/value head kvHead, over the query heads sharing it
fn keyBlock(b : i32, kvHead : i32, j0 : i32, T : i32, forDk : bool) {
  let W4 = uniforms.qkvShape.z / 4;
  let H = uniforms.heads;
  let Hkv = uniforms.kvHeads;
  let group = H / Hkv;
  let j = j0 + i32(localIndex);
  let key = min(j, T - 1);
  let kAt = (b * T + key) * W4 + (H + kvHead) * D4;
  let vAt = (b * T + key) * W4 + (H + Hkv + kvHead) * D4;
  var k : array<vec4<f32>, D4>;
  var v : array<vec4<f32>, D4>;
  var acc : array<vec4<f32>, D4>;
  for (var d = 0; d < D4; d = d + 1) {
    k[d] = qkv[kAt + d];
    v[d] = qkv[vAt + d];
  }
  let qStart = ${this.causal ? '(j0 / R) * R' : '0'};
  for (var h = kvHead * group; h < (kvHead + 1) * group; h = h + 1) {
    for (var q0 = qStart; q0 < T; q0 = q0 + R) {
      stageQueries(b, h, q0, T, forDk);
      for (var r = 0; r < R; r = r + 1) {
        let i = q0 + r;
        if (i < T) {
          var s = vec4<f32>(0.0);
          for (var d = 0; d < D4; d = d + 1) {
            s = dot4(tileA[r * D4 + d], k[d], s);
          }
          let p = exp(total(s) + bias[biasRow(b, i, T) + key] - rowLse[r]);
          if (forDk) {
            var dp = vec4<f32>(0.0);
            for (var d = 0; d < D4; d = d + 1) {
              dp = dot4(tileB[r * D4 + d], v[d], dp);
            }
            let ds = p * (total(dp) - rowDelta[r]);
            for (var d = 0; d < D4; d = d + 1) {
              acc[d] = fma(vec4<f32>(ds), tileA[r * D4 + d], acc[d]);
            }
          } else {
            for (var d = 0; d < D4; d = d + 1) {
              acc[d] = fma(vec4<f32>(p), tileB[r * D4 + d], acc[d]);
            }
          }
        }
      }
    }
  }
  if (j < T) {
    let at = select(vAt, kAt, forDk);
    for (var d = 0; d < D4; d = d + 1) {
      result[at + d] = acc[d];
    }
  }
}

fn main() {
  let ids = uniformBlockIds();
  let T = uniforms.qkvShape.y;
  let blocks = (T + BQ - 1) / BQ;
  let role = ids.x / blocks;
  let block = ids.x - role * blocks;
  if (role == 0) {
    queryBlock(ids.z, ids.y, block * BQ, T);
  } else if (ids.y < uniforms.kvHeads) {
    keyBlock(ids.z, ids.y, block * BQ, T, role == 1);
  }
}`;
  }
}

/**
 * softmax(q·kᵀ · scale + bias) · v over packed qkv [B, T, (H + 2·Hkv)·Dh] on the webgpu backend,
 * heads merged: → [B, T, H·Dh], with its gradient for qkv (see the file comment). The caller
 * checks `flashAttentionFits` first.
 */
export function flashAttention(
  qkv: tf.Tensor3D,
  bias: tf.Tensor4D,
  layout: HeadLayout,
  scale: number,
  causal: boolean,
): tf.Tensor3D {
  const [batch, seq] = qkv.shape;
  const uniforms = [
    { type: 'float32' as const, data: [scale] },
    { type: 'int32' as const, data: [layout.heads] },
    { type: 'int32' as const, data: [layout.kvHeads] },
  ];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor3D;
    const save = args[1] as tf.GradSaveFunc;
    const lse = unfilledTensor([batch, layout.heads, seq]); // written by the program
    const out = runProgram(
      new FlashAttentionProgram(batch, seq, layout, causal),
      [input, bias, lse],
      uniforms,
    );
    // the bias too: the caller's scope may end before the backward pass runs
    save([input, out, lse, bias]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedQkv, savedOut, savedLse, savedBias] = saved as [
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
        ];
        return runProgram(
          new FlashAttentionGradProgram(batch, seq, layout, causal),
          [savedQkv, savedBias, dy as tf.Tensor, savedOut, savedLse],
          uniforms,
        );
      },
    };
  });
  return op(qkv) as tf.Tensor3D;
}
