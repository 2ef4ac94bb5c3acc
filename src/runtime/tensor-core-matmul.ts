/**
 * Tensor-core matmul for the `webgpu` backend: layercut's 'mixed' precision.
 *
 * tfjs's own WebGPU matmul runs in fp32 on the shader cores (11–15 TFLOP/s on an H200). Dawn
 * offers the tensor cores through `chromium-experimental-subgroup-matrix`: a subgroup (a warp of
 * 32 invocations) multiplies small f16 matrices (e.g. 16×16 by 16×16) and accumulates in f32.
 *
 * This program keeps tensors in float32 (tfjs has no float16 tensors, and the master weights
 * stay fp32): each workgroup copies BM×BK tiles of A and BK×BN tiles of B from global memory,
 * converting to f16 on the way into workgroup memory, and each subgroup multiplies its part of
 * the tile with subgroup matrices, accumulating in f32. Transposed operands are not copied: the
 * tile keeps the operand's memory layout and is loaded as a column-major subgroup matrix.
 *
 * It replaces tfjs's `BatchMatMul` kernel on webgpu (so forward and backward matmuls, which tfjs
 * expresses as BatchMatMul with transposes, both use it) while `setMatMulPrecision('mixed')` is in
 * force and the shape is large enough; otherwise tfjs's kernel runs. It also takes tfjs's
 * `_FusedMatMul` without an activation (x·W + b, ./ops/linear.ts): a split product adds the bias
 * as it sums the chunks, in the same program; an unsplit one through tfjs's Add, as before.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram } from './fused/program.js';

/** One of the adapter's subgroup-matrix shapes: an M×K by K×N product per subgroup. */
export interface SubgroupMatrixShape {
  m: number;
  n: number;
  k: number;
}

/**
 * How a workgroup walks the inner dimension: its subgroups, the depth of one step, and how the
 * next step's global loads overlap this step's products.
 *
 * - 'none': load a tile, barrier, multiply, barrier (the loads wait for the products).
 * - 'registers': the next tile's values are read from global memory into registers while the
 *   subgroups multiply the tile in workgroup memory, then stored (two barriers a step).
 * - 'double': as 'registers', with two tiles in workgroup memory, one being read while the other
 *   is written (one barrier a step; twice the workgroup memory).
 */
export interface MatMulSchedule {
  subgroups: 4 | 8;
  /** Depth of one step through the inner dimension (a multiple of the matrix's k). */
  depth: 32 | 64;
  pipeline: 'none' | 'registers' | 'double';
  /** 'fit': 64-wide tiles where 128 would pad; 'wide': 128 wherever a side is ≥ 512 (edge tiles padded). */
  tiles: 'fit' | 'wide';
  /**
   * Workgroups a product should fill: one with fewer output tiles than this splits its inner
   * dimension into up to `maxSplits` chunks (each a workgroup's own sum, added after by one
   * program), so that a GPU's multiprocessors are busy (an H100 has 132). 0: never split.
   */
  fill: number;
}

/**
 * The schedule layercut uses (measured on an H100: `bench/matmul.ts --schedules` and whole training
 * steps, bench/RESULTS.md; fill 528 took GPT-2 small's 16×128 step from 17.2 to 11.8 ms).
 */
export const defaultSchedule: MatMulSchedule = {
  subgroups: 8,
  depth: 32,
  pipeline: 'double',
  tiles: 'wide',
  fill: 528,
};

let schedule: MatMulSchedule = defaultSchedule;

/** The schedule of the kernels made from now on (a benchmark device: `bench/matmul.ts --schedules`). */
export function setMatMulSchedule(value: MatMulSchedule): void {
  schedule = value;
}

/** How a workgroup splits its output tile among its subgroups. */
export interface MatMulTiling {
  matrix: SubgroupMatrixShape;
  /** Output tile of one workgroup: 128 or 64 rows and columns. */
  rows: number;
  cols: number;
  /** Subgroups along the tile's rows and columns (warpRows · warpCols = subgroups). */
  warpRows: number;
  warpCols: number;
  /** Depth of one step through the inner dimension (a multiple of matrix.k). */
  depth: number;
  pipeline: MatMulSchedule['pipeline'];
}

/** Invocations per subgroup the tiling assumes (NVIDIA's warp; checked against the adapter). */
export const subgroupSize = 32;

/** f16 elements added to each tile row in workgroup memory, against bank conflicts (keeps 16-byte rows). */
const tilePad = 8;

export type MatMulPrecision = 'fp32' | 'mixed';

let precision: MatMulPrecision = 'fp32';

/** The precision of matmuls on webgpu: 'mixed' uses the tensor cores where the device has them. */
export function matMulPrecision(): MatMulPrecision {
  return precision;
}

export function setMatMulPrecision(value: MatMulPrecision): void {
  precision = value;
}

let everyShape = false;

/** Makes 'mixed' use the tensor cores for every float32 product, however small (for kernel checks). */
export function setTensorCoresForEveryShape(value: boolean): void {
  everyShape = value;
}

/** 128 when it divides `size` or `size` is large, else 64 (an output padded to it is sliced). */
function tileSide(size: number, tiles: MatMulSchedule['tiles']): number {
  if (size % 128 === 0) return 128;
  if (tiles === 'wide') return size >= 512 ? 128 : 64;
  return size % 64 !== 0 && size > 512 ? 128 : 64;
}

type TileSides = Pick<MatMulTiling, 'rows' | 'cols' | 'depth' | 'pipeline'>;

/** Bytes of workgroup memory the program's f16 tiles take (each keeps its operand's layout). */
export function operandTileBytes(t: TileSides, transposeA: boolean, transposeB: boolean): number {
  const a = transposeA ? t.depth * (t.rows + tilePad) : t.rows * (t.depth + tilePad);
  const b = transposeB ? t.cols * (t.depth + tilePad) : t.depth * (t.cols + tilePad);
  return 2 * (a + b) * (t.pipeline === 'double' ? 2 : 1);
}

/** The most workgroup memory a tiling takes, over the four operand layouts. */
export function tileBytes(t: TileSides): number {
  return Math.max(
    ...[false, true].flatMap((transposeA) =>
      [false, true].map((transposeB) => operandTileBytes(t, transposeA, transposeB)),
    ),
  );
}

/**
 * The workgroup tile for an output of `rows` × `cols`, within `maxWorkgroupBytes` of workgroup
 * memory (the device's maxComputeWorkgroupStorageSize: a 128 × 128 tile needs 20 KiB, more than
 * WebGPU's default 16 KiB; where the tiles do not fit, one buffer takes the place of two, depth 32
 * that of 64, and 64-wide sides those of 128).
 */
export function tilingFor(
  matrix: SubgroupMatrixShape,
  rows: number,
  cols: number,
  maxWorkgroupBytes = Infinity,
  plan: MatMulSchedule = schedule,
): MatMulTiling {
  let depth: number = plan.depth;
  let pipeline = plan.pipeline;
  let tileRows = tileSide(rows, plan.tiles);
  let tileCols = tileSide(cols, plan.tiles);
  const fits = () => tileBytes({ rows: tileRows, cols: tileCols, depth, pipeline }) <= maxWorkgroupBytes;
  if (!fits() && pipeline === 'double') pipeline = 'registers';
  if (!fits()) depth = 32;
  if (!fits()) tileCols = 64;
  if (!fits()) tileRows = 64;
  const warpRows = plan.subgroups === 4 ? 2 : tileRows === 128 && tileCols === 64 ? 4 : 2;
  return {
    matrix,
    rows: tileRows,
    cols: tileCols,
    warpRows,
    warpCols: plan.subgroups / warpRows,
    depth,
    pipeline,
  };
}

/** Result matrices each subgroup holds along rows and columns. */
function perWarp(t: MatMulTiling): { rows: number; cols: number } {
  return { rows: t.rows / t.warpRows / t.matrix.m, cols: t.cols / t.warpCols / t.matrix.n };
}

/** Repeats `line(i, j)` over the subgroup's result matrices. */
function eachResult(t: MatMulTiling, line: (i: number, j: number) => string): string {
  const lines: string[] = [];
  const per = perWarp(t);
  for (let i = 0; i < per.rows; i++) for (let j = 0; j < per.cols; j++) lines.push(line(i, j));
  return lines.join('\n');
}

/** One operand as the shader sees it: its tile in workgroup memory and where tile cells come from. */
interface OperandTile {
  name: 'A' | 'B';
  tile: string;
  /** Tile rows and row length in workgroup memory (the operand's own layout). */
  rows: number;
  inner: number;
  /** Global row and column of tile cell (tr, tc) of the step at depth `kt`, and the operand's rows and columns. */
  row: string;
  col: string;
  globalRows: keyof RaggedSides;
  globalCols: keyof RaggedSides;
  base: string;
}

/** How one invocation moves its share of an operand's tile: `vector` floats per load, `threads` sharing. */
interface TileCopy {
  o: OperandTile;
  threads: number;
  vector: 1 | 4;
  /** The dimensions (M, N, K) whose last tile runs past the operand: only those are bounds-checked. */
  ragged: RaggedSides;
}

/** Which of the product's sides M (rows), N (columns) and K (inner) some tile runs past. */
export interface RaggedSides {
  M: boolean;
  N: boolean;
  K: boolean;
}

const cellsOf = ({ o, vector }: TileCopy) => (o.rows * o.inner) / vector;
const registerName = (c: TileCopy, i: number) => `reg${c.o.name}_${i}`;

/** WGSL: the tile cell (tr, tc) of copy cell `e`. */
function cellOf(c: TileCopy, e: string): string {
  const perRow = c.o.inner / c.vector;
  return `let tr = i32((${e}) / ${perRow}u);
      let tc = i32((${e}) % ${perRow}u) * ${c.vector};`;
}

/** WGSL: the tile cell (tr, tc) of copy cell `e`, and its global row and column at depth kt. */
function cellAt(c: TileCopy, e: string): string {
  return `${cellOf(c, e)}
      let row = ${c.o.row};
      let col = ${c.o.col};`;
}

/** WGSL: `target = ` the operand's value at (row, col), zero outside it. */
function readCell(c: TileCopy, target: string): string {
  const read = `${c.o.name}[(${c.o.base} + row * ${c.o.globalCols} + col) / ${c.vector}]`;
  const checks = [
    ...(c.ragged[c.o.globalRows] ? [`row < ${c.o.globalRows}`] : []),
    ...(c.ragged[c.o.globalCols] ? [`col < ${c.o.globalCols}`] : []),
  ];
  if (checks.length === 0) return `${target} = ${read};`;
  const zero = c.vector === 4 ? 'vec4<f32>()' : '0.0';
  return `if (${checks.join(' && ')}) { ${target} = ${read}; } else { ${target} = ${zero}; }`;
}

/** WGSL: `value` into the tile cell (tr, tc) as f16, at `offset` (the buffer) in workgroup memory. */
function storeCell(c: TileCopy, value: string, offset: string): string {
  const stride = c.o.inner + tilePad;
  if (c.vector === 1) return `${c.o.tile}[${offset} + u32(tr) * ${stride}u + u32(tc)] = f16(${value});`;
  return `{
        let at = ${offset} + u32(tr) * ${stride}u + u32(tc);
        ${c.o.tile}[at] = f16(${value}.x);
        ${c.o.tile}[at + 1u] = f16(${value}.y);
        ${c.o.tile}[at + 2u] = f16(${value}.z);
        ${c.o.tile}[at + 3u] = f16(${value}.w);
      }`;
}

/** WGSL copying one operand's tile at depth `kt` straight into workgroup memory. */
function loadTile(c: TileCopy): string {
  return `
    for (var e = localIndex; e < ${cellsOf(c)}u; e = e + ${c.threads}u) {
      ${cellAt(c, 'e')}
      var value : ${c.vector === 4 ? 'vec4<f32>' : 'f32'};
      ${readCell(c, 'value')}
      ${storeCell(c, 'value', '0u')}
    }`;
}

/** Loads per invocation of one operand's tile (registers the pipelined schedules hold). */
const loadsPerInvocation = (c: TileCopy) => cellsOf(c) / c.threads;

/** WGSL declaring the registers of one operand's next tile. */
function declareRegisters(c: TileCopy): string {
  const type = c.vector === 4 ? 'vec4<f32>' : 'f32';
  return Array.from(
    { length: loadsPerInvocation(c) },
    (_, i) => `  var ${registerName(c, i)} : ${type};`,
  ).join('\n');
}

/** WGSL reading one operand's tile at depth `kt` into registers. */
function fetchTile(c: TileCopy): string {
  return Array.from(
    { length: loadsPerInvocation(c) },
    (_, i) => `    {
      ${cellAt(c, `localIndex + ${i * c.threads}u`)}
      ${readCell(c, registerName(c, i))}
    }`,
  ).join('\n');
}

/** WGSL storing the registers into one operand's tile at `offset` in workgroup memory. */
function storeTile(c: TileCopy, offset: string): string {
  return Array.from(
    { length: loadsPerInvocation(c) },
    (_, i) => `    {
      ${cellOf(c, `localIndex + ${i * c.threads}u`)}
      ${storeCell(c, registerName(c, i), offset)}
    }`,
  ).join('\n');
}

/** The operand tiles of op(A) · op(B): each in its operand's own memory layout. */
function operandTiles(t: MatMulTiling, transposeA: boolean, transposeB: boolean): [OperandTile, OperandTile] {
  const BK = t.depth;
  const a: OperandTile = transposeA
    ? {
        name: 'A',
        tile: 'tileA',
        rows: BK,
        inner: t.rows,
        row: 'kt + tr',
        col: 'm0 + tc',
        globalRows: 'K',
        globalCols: 'M',
        base: 'aBase',
      }
    : {
        name: 'A',
        tile: 'tileA',
        rows: t.rows,
        inner: BK,
        row: 'm0 + tr',
        col: 'kt + tc',
        globalRows: 'M',
        globalCols: 'K',
        base: 'aBase',
      };
  const b: OperandTile = transposeB
    ? {
        name: 'B',
        tile: 'tileB',
        rows: t.cols,
        inner: BK,
        row: 'n0 + tr',
        col: 'kt + tc',
        globalRows: 'N',
        globalCols: 'K',
        base: 'bBase',
      }
    : {
        name: 'B',
        tile: 'tileB',
        rows: BK,
        inner: t.cols,
        row: 'kt + tr',
        col: 'n0 + tc',
        globalRows: 'K',
        globalCols: 'N',
        base: 'bBase',
      };
  return [a, b];
}

/** How a product's sides meet its tiles, and how much of the inner dimension one workgroup sums. */
export interface ProductLayout {
  /** Sides some tile runs past: only their loads are bounds-checked. */
  ragged: RaggedSides;
  /**
   * Sides of whole result matrices, whose output is not padded to whole tiles: where such a side
   * is also ragged, the result matrices past it are not stored.
   */
  unpadded: Pick<RaggedSides, 'M' | 'N'>;
  /**
   * Inner elements one workgroup sums (a multiple of the tile depth): the output then holds
   * ⌈K / chunk⌉ partial products per batch entry, chunk by chunk ([chunk, batch, rows, cols]),
   * for `SplitSumProgram` to add. Undefined: all of K.
   */
  chunk?: number;
}

/** Every side bounds-checked, the output padded to whole tiles, no split. */
const checkedLayout: ProductLayout = {
  ragged: { M: true, N: true, K: true },
  unpadded: { M: false, N: false },
};

/**
 * WGSL for C[b] = op(A[b]) · op(B[b]) with A, B, C float32 in tfjs's 3-D layout ([batch, rows,
 * cols]; a batch of 1 broadcasts). Appended by tfjs to its header, which declares `A`, `B`,
 * `result`, `uniforms.{aShape,bShape,outShape}` and `workgroupId`/`localIndex`. Every subgroup
 * stores whole result matrices: the output (`outShape`) is padded to whole tiles on the sides
 * `layout.unpadded` leaves out. With `layout.chunk`, workgroup z sums chunk z / batches of K.
 */
export function tensorCoreMatMulSource(
  t: MatMulTiling,
  transposeA: boolean,
  transposeB: boolean,
  vector: 1 | 4,
  layout: ProductLayout = checkedLayout,
): string {
  const { m: sm, n: sn, k: sk } = t.matrix;
  const BK = t.depth;
  const threads = t.warpRows * t.warpCols * subgroupSize;
  const per = perWarp(t);
  const [a, b] = operandTiles(t, transposeA, transposeB);
  const copyA: TileCopy = { o: a, threads, vector, ragged: layout.ragged };
  const copyB: TileCopy = { o: b, threads, vector, ragged: layout.ragged };
  const aStride = a.inner + tilePad;
  const bStride = b.inner + tilePad;
  const aSize = a.rows * aStride;
  const bSize = b.rows * bStride;
  const buffers = t.pipeline === 'double' ? 2 : 1;
  const left = `subgroup_matrix_left<f16, ${sk}, ${sm}>`;
  const right = `subgroup_matrix_right<f16, ${sn}, ${sk}>`;
  const resultType = `subgroup_matrix_result<f32, ${sn}, ${sm}>`;
  // A transposed operand's tile is the matrix's transpose: load it column-major.
  const leftLoad = (r: string) =>
    transposeA
      ? `subgroupMatrixLoad<${left}, col_major>(&tileA, aOff + kk * ${aStride}u + ${r}, ${aStride}u)`
      : `subgroupMatrixLoad<${left}, row_major>(&tileA, aOff + ${r} * ${aStride}u + kk, ${aStride}u)`;
  const rightLoad = (c: string) =>
    transposeB
      ? `subgroupMatrixLoad<${right}, col_major>(&tileB, bOff + ${c} * ${bStride}u + kk, ${bStride}u)`
      : `subgroupMatrixLoad<${right}, row_major>(&tileB, bOff + kk * ${bStride}u + ${c}, ${bStride}u)`;
  /** The subgroup's products over one tile at workgroup-memory offsets aOff, bOff. */
  const multiply = (aOff: string, bOff: string) => `
    {
      let aOff = ${aOff};
      let bOff = ${bOff};
      for (var kk = 0u; kk < ${BK}u; kk = kk + ${sk}u) {
${Array.from({ length: per.rows }, (_, i) => `        let a_${i} = ${leftLoad(`(warpRow0 + ${i * sm}u)`)};`).join('\n')}
${Array.from({ length: per.cols }, (_, j) => `        let b_${j} = ${rightLoad(`(warpCol0 + ${j * sn}u)`)};`).join('\n')}
${eachResult(t, (i, j) => `        acc_${i}_${j} = subgroupMatrixMultiplyAccumulate(a_${i}, b_${j}, acc_${i}_${j});`)}
      }
    }`;
  // Steps through K: all of it, or a chunk of a fixed number of steps (a trip count the same for
  // every workgroup, as barriers inside the loop need; steps past K read zeros, as K is checked)
  const loopHead =
    layout.chunk === undefined
      ? `for (var k0 = 0; k0 < K; k0 = k0 + ${BK}) {`
      : `for (var step = 0; step < ${layout.chunk / BK}; step = step + 1) {
    let k0 = kBegin + step * ${BK};`;
  const another = layout.chunk === undefined ? `k0 + ${BK} < K` : `step + 1 < ${layout.chunk / BK}`;
  /** The pipelined schedules' start: their registers, holding the first tile. */
  const firstTileInRegisters = () => `
${declareRegisters(copyA)}
${declareRegisters(copyB)}
  {
    let kt = kBegin;
${fetchTile(copyA)}
${fetchTile(copyB)}
  }`;
  /** The walk through the inner dimension, one per pipeline (only the schedule's is built). */
  const steps = {
    none: () => `
  ${loopHead}
    workgroupBarrier();
    {
      let kt = k0;
      ${loadTile(copyA)}
      ${loadTile(copyB)}
    }
    workgroupBarrier();
    ${multiply('0u', '0u')}
  }`,
    registers: () => `${firstTileInRegisters()}
  ${loopHead}
    workgroupBarrier();
${storeTile(copyA, '0u')}
${storeTile(copyB, '0u')}
    workgroupBarrier();
    if (${another}) {
      let kt = k0 + ${BK};
${fetchTile(copyA)}
${fetchTile(copyB)}
    }
    ${multiply('0u', '0u')}
  }`,
    double: () => `${firstTileInRegisters()}
${storeTile(copyA, '0u')}
${storeTile(copyB, '0u')}
  workgroupBarrier();
  var buffer = 0u;
  ${loopHead}
    let more = ${another};
    if (more) {
      let kt = k0 + ${BK};
${fetchTile(copyA)}
${fetchTile(copyB)}
    }
    ${multiply(`buffer * ${aSize}u`, `buffer * ${bSize}u`)}
    if (more) {
${storeTile(copyA, `(1u - buffer) * ${aSize}u`)}
${storeTile(copyB, `(1u - buffer) * ${bSize}u`)}
    }
    workgroupBarrier();
    buffer = 1u - buffer;
  }`,
  };

  return `
enable f16;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);

var<workgroup> tileA : array<f16, ${buffers * aSize}>;
var<workgroup> tileB : array<f16, ${buffers * bSize}>;

fn main() {
  let M = ${transposeA ? 'uniforms.aShape.z' : 'uniforms.aShape.y'};
  let K = ${transposeA ? 'uniforms.aShape.y' : 'uniforms.aShape.z'};
  let N = ${transposeB ? 'uniforms.bShape.y' : 'uniforms.bShape.z'};
  let outCols = uniforms.outShape.z;
${
  layout.chunk === undefined
    ? `  let batch = i32(workgroupId.z);
  let kBegin = 0;`
    : `  // workgroup z: chunk z / batches of K for batch entry z % batches
  let batches = uniforms.outShape.x / ((K + ${layout.chunk - 1}) / ${layout.chunk});
  let batch = i32(workgroupId.z) % batches;
  let kBegin = (i32(workgroupId.z) / batches) * ${layout.chunk};`
}
  let aBase = select(batch, 0, uniforms.aShape.x == 1) * uniforms.aShape.y * uniforms.aShape.z;
  let bBase = select(batch, 0, uniforms.bShape.x == 1) * uniforms.bShape.y * uniforms.bShape.z;
  let outBase = i32(workgroupId.z) * uniforms.outShape.y * outCols;
  let m0 = i32(workgroupId.y) * ${t.rows};
  let n0 = i32(workgroupId.x) * ${t.cols};
  let warp = localIndex / ${subgroupSize}u;
  let warpRow0 = (warp / ${t.warpCols}u) * ${per.rows * sm}u;
  let warpCol0 = (warp % ${t.warpCols}u) * ${per.cols * sn}u;
${eachResult(t, (i, j) => `  var acc_${i}_${j} = ${resultType}();`)}
${steps[t.pipeline]()}

${eachResult(t, (i, j) => {
  const row = `m0 + i32(warpRow0) + ${i * sm}`;
  const col = `n0 + i32(warpCol0) + ${j * sn}`;
  const store = `subgroupMatrixStore<row_major>(&result, u32(outBase + (${row}) * outCols + ${col}), acc_${i}_${j}, u32(outCols));`;
  const inside = [
    ...(layout.ragged.M && layout.unpadded.M ? [`${row} < M`] : []),
    ...(layout.ragged.N && layout.unpadded.N ? [`${col} < N`] : []),
  ];
  return inside.length === 0 ? `  ${store}` : `  if (${inside.join(' && ')}) { ${store} }`;
})}
}
`;
}

/** Most chunks a product's inner dimension is split into, and the fewest tile steps a chunk takes. */
const maxSplits = 8;
const minimumChunkSteps = 8;

/**
 * The inner elements one workgroup sums when `workgroups` output tiles would leave the GPU
 * short of `fill`, or undefined: one workgroup per tile sums all of K. A chunk is a whole number
 * of tile steps that divides K's steps (so that, K aligned, no chunk runs past it), at least 8
 * steps, in at most 8 chunks.
 */
export function innerChunk(
  t: Pick<MatMulTiling, 'depth'>,
  workgroups: number,
  inner: number | undefined,
  fill: number,
): number | undefined {
  if (inner === undefined || workgroups >= fill) return undefined;
  const steps = Math.ceil(inner / t.depth);
  const wanted = Math.min(maxSplits, Math.ceil(fill / workgroups), Math.floor(steps / minimumChunkSteps));
  for (let splits = wanted; splits >= 2; splits--)
    if (steps % splits === 0) return (steps / splits) * t.depth;
  return undefined;
}

/** How the kernel computes a batch of rows × cols outputs over `inner`: tiles, chunks, workgroups. */
export interface ProductPlan {
  tiling: MatMulTiling;
  layout: ProductLayout;
  /** Partial products per batch entry (1: no split). */
  splits: number;
  /** [splits · batch, rows, cols], each side padded to whole tiles unless a multiple of the result matrix. */
  outputShape: [number, number, number];
  /** Workgroups across (columns), down (rows) and through (splits · batch). */
  dispatch: [number, number, number];
}

/**
 * A batch of products op(A) · op(B): `batch` outputs of rows × cols over `inner`, when known (with
 * it, sides in whole tiles go unchecked and a product of few tiles may split K).
 */
export interface ProductShape {
  batch: number;
  rows: number;
  cols: number;
  inner?: number;
}

/**
 * Plans made, by matrix, schedule, shape and workgroup memory: a step asks for the same few
 * products every time, each twice (`tensorCoresTake`, then the program). At most `maxPlans` kept.
 */
const plans = new Map<string, Readonly<ProductPlan>>();
const maxPlans = 512;

/** How the kernel computes `product` within `maxWorkgroupBytes` of workgroup memory (shared: not to be changed). */
export function planProduct(
  matrix: SubgroupMatrixShape,
  product: ProductShape,
  maxWorkgroupBytes = Infinity,
  plan: MatMulSchedule = schedule,
): Readonly<ProductPlan> {
  const { batch, rows, cols, inner } = product;
  const key =
    `${matrix.m}x${matrix.n}x${matrix.k} ${plan.subgroups} ${plan.depth} ${plan.pipeline} ${plan.tiles} ` +
    `${plan.fill} ${batch} ${rows} ${cols} ${inner} ${maxWorkgroupBytes}`;
  let made = plans.get(key);
  if (made === undefined) {
    if (plans.size >= maxPlans) plans.clear();
    made = Object.freeze(newPlan(matrix, product, maxWorkgroupBytes, plan));
    plans.set(key, made);
  }
  return made;
}

function newPlan(
  matrix: SubgroupMatrixShape,
  { batch, rows, cols, inner }: ProductShape,
  maxWorkgroupBytes: number,
  plan: MatMulSchedule,
): ProductPlan {
  const tiling = tilingFor(matrix, rows, cols, maxWorkgroupBytes, plan);
  const tilesDown = Math.ceil(rows / tiling.rows);
  const tilesAcross = Math.ceil(cols / tiling.cols);
  const ragged = {
    M: rows % tiling.rows !== 0,
    N: cols % tiling.cols !== 0,
    K: inner === undefined || inner % tiling.depth !== 0,
  };
  // a side of whole result matrices needs no padding: the matrices past it are not stored
  const unpadded = { M: rows % matrix.m === 0, N: cols % matrix.n === 0 };
  const chunk = innerChunk(tiling, batch * tilesDown * tilesAcross, inner, plan.fill);
  const splits = chunk === undefined ? 1 : Math.ceil(inner! / chunk);
  return {
    tiling,
    layout: { ragged, unpadded, ...(chunk === undefined ? {} : { chunk }) },
    splits,
    outputShape: [
      splits * batch,
      unpadded.M ? rows : tilesDown * tiling.rows,
      unpadded.N ? cols : tilesAcross * tiling.cols,
    ],
    dispatch: [tilesAcross, tilesDown, splits * batch],
  };
}

/** The program in the shape tfjs-backend-webgpu's `runWebGPUProgram` expects. */
export class TensorCoreMatMulProgram {
  readonly variableNames = ['A', 'B'];
  readonly variableComponents: [number, number];
  /** [splits · batch, rows, cols], padded to whole tiles where rows or cols are not whole result matrices. */
  readonly outputShape: [number, number, number];
  /** Partial products per batch entry in the output, for `SplitSumProgram` to add (1: none). */
  readonly splits: number;
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];
  /** Makes the WGSL; tfjs asks only when no pipeline for `shaderKey` is cached yet. */
  private readonly source: () => string;

  /**
   * `vector`: 4 when the last dimensions of A and B are multiples of 4 (vec4 loads), else 1.
   * `inner`: the product's inner size, when known: sides in whole tiles then go unchecked, and a
   * product of few tiles may split it.
   */
  constructor(
    batch: number,
    rows: number,
    cols: number,
    transposeA: boolean,
    transposeB: boolean,
    vector: 1 | 4,
    matrix: SubgroupMatrixShape,
    maxWorkgroupBytes = Infinity,
    inner?: number,
  ) {
    const { tiling, layout, splits, outputShape, dispatch } = planProduct(
      matrix,
      { batch, rows, cols, ...(inner === undefined ? {} : { inner }) },
      maxWorkgroupBytes,
    );
    this.outputShape = [...outputShape];
    this.splits = splits;
    this.variableComponents = [vector, vector];
    this.dispatch = [...dispatch];
    this.workgroupSize = [tiling.warpRows * tiling.warpCols * subgroupSize, 1, 1];
    const sides = (flags: Partial<Record<keyof RaggedSides, boolean>>) =>
      Object.entries(flags)
        .filter(([, on]) => on)
        .map(([side]) => side)
        .join('');
    const checked = sides(layout.ragged);
    const guarded = sides({
      M: layout.ragged.M && layout.unpadded.M,
      N: layout.ragged.N && layout.unpadded.N,
    });
    const plan =
      `${tiling.warpRows}x${tiling.warpCols}_d${tiling.depth}_${tiling.pipeline}` +
      `${layout.chunk === undefined ? '' : `_chunk${layout.chunk}`}${guarded ? `_stores${guarded}` : ''}` +
      (checked ? `_checks${checked}` : '_aligned');
    this.shaderKey = `layercutTensorCoreMatMul_${transposeA}_${transposeB}_${tiling.rows}x${tiling.cols}_v${vector}_${matrix.m}x${matrix.n}x${matrix.k}_${plan}`;
    this.source = () => tensorCoreMatMulSource(tiling, transposeA, transposeB, vector, layout);
  }

  getUserCode(): string {
    return this.source();
  }
}

/**
 * out [batch, rows, cols] = Σ_chunks partials [chunks · batch, paddedRows, paddedCols] (chunk by
 * chunk, as `TensorCoreMatMulProgram` writes them with a split inner dimension; padding dropped),
 * plus bias [cols] on every row `withBias` (added after the sum, as a separate add would).
 */
export class SplitSumProgram extends ElementwiseProgram {
  constructor(outputShape: [number, number, number], withBias = false) {
    super(
      outputShape,
      withBias ? ['partials', 'bias'] : ['partials'],
      withBias ? 'layercutSplitSumBias' : 'layercutSplitSum',
      `    let at = getCoordsFromIndex(index);
    let chunks = uniforms.partialsShape.x / uniforms.outShape.x;
    var sum = 0.0;
    for (var c = 0; c < chunks; c = c + 1) {
      let z = c * uniforms.outShape.x + at.x;
      sum = sum + partials[(z * uniforms.partialsShape.y + at.y) * uniforms.partialsShape.z + at.z];
    }
    setOutputAtIndex(index, ${withBias ? 'sum + bias[at.z]' : 'sum'});`,
    );
  }
}

/** The parts of tfjs's WebGPUBackend this kernel uses. */
interface WebGpuBackendLike {
  runWebGPUProgram(
    program: TensorCoreMatMulProgram | SplitSumProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
  ): tf.TensorInfo;
  disposeData(dataId: object): void;
}

/** Products smaller than this (M·N·K per batch) stay on tfjs's kernel: too small to gain. */
const minimumWork = 1 << 18;
/**
 * Products that fill fewer workgroups than this stay on tfjs's kernel too: with one 128-row
 * tile (batch 1 × 128 tokens) the tensor-core kernel leaves most of a GPU's multiprocessors
 * idle, where tfjs splits the inner dimension (an H200 has 132).
 */
const minimumWorkgroups = 128;

/** Workgroups the tensor-core kernel would use for `product`. */
export function tensorCoreWorkgroups(
  matrix: SubgroupMatrixShape,
  product: ProductShape,
  maxWorkgroupBytes = Infinity,
): number {
  const [across, down, through] = planProduct(matrix, product, maxWorkgroupBytes).dispatch;
  return across * down * through;
}

/** The adapter's f16 × f16 → f32 subgroup-matrix shape to use, or undefined when it has none. */
export function pickSubgroupMatrix(
  configs: readonly {
    componentType: string;
    resultComponentType: string;
    M: number;
    N: number;
    K: number;
  }[],
): SubgroupMatrixShape | undefined {
  // the tilings are laid out for 16×16 result matrices
  const usable = configs.find(
    (c) =>
      c.componentType === 'f16' &&
      c.resultComponentType === 'f32' &&
      c.M === 16 &&
      c.N === 16 &&
      32 % c.K === 0,
  );
  return usable ? { m: usable.M, n: usable.N, k: usable.K } : undefined;
}

let installed:
  | {
      matrix: SubgroupMatrixShape;
      /** The device's maxComputeWorkgroupStorageSize. */
      maxWorkgroupBytes: number;
      /** tfjs's webgpu kernels: those replaced (run where the tensor cores do not take a product) and those used. */
      tfjs: {
        batchMatMul: tf.KernelFunc;
        fusedMatMul: tf.KernelFunc;
        slice: tf.KernelFunc;
        add: tf.KernelFunc;
      };
    }
  | undefined;

/** The subgroup-matrix shape in use, or undefined when the tensor-core kernel is not installed. */
export function tensorCoreMatrix(): SubgroupMatrixShape | undefined {
  return installed?.matrix;
}

/** The operands of a product as the kernel sees them. */
type MatMulOperand = Pick<tf.TensorInfo, 'shape' | 'dtype'>;

/** True when the tensor-core kernel computes op(a) · op(b) (else tfjs's kernel does). */
export function tensorCoresTake(
  a: MatMulOperand,
  b: MatMulOperand,
  transposeA: boolean,
  transposeB: boolean,
): boolean {
  if (!installed || precision !== 'mixed' || a.dtype !== 'float32' || b.dtype !== 'float32') return false;
  const rankA = a.shape.length;
  const rankB = b.shape.length;
  const rows = transposeA ? a.shape[rankA - 1]! : a.shape[rankA - 2]!;
  const inner = transposeA ? a.shape[rankA - 2]! : a.shape[rankA - 1]!;
  const cols = transposeB ? b.shape[rankB - 2]! : b.shape[rankB - 1]!;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return false;
  if (everyShape) return true;
  const batch = Math.max(batchA, batchB);
  return (
    rows * cols * inner >= minimumWork &&
    tensorCoreWorkgroups(installed.matrix, { batch, rows, cols, inner }, installed.maxWorkgroupBytes) >=
      minimumWorkgroups
  );
}

/** BatchMatMul on webgpu: op(a) · op(b) on the tensor cores where they take it, else tfjs's kernel. */
const tensorCoreBatchMatMul: tf.KernelFunc = (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (!installed) throw new Error('the tensor-core matmul kernel ran without being installed');
  if (!tensorCoresTake(a, b, transposeA, transposeB)) return installed.tfjs.batchMatMul(args);
  return tensorCoreProduct(args.backend, a, b, transposeA, transposeB);
};

/**
 * _FusedMatMul on webgpu (tf.fused.matMul): op(a) · op(b) + bias on the tensor cores where they
 * take the product and no activation is asked for, else tfjs's fused kernel.
 */
const tensorCoreFusedMatMul: tf.KernelFunc = (args) => {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { transposeA, transposeB, activation } = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
  };
  if (!installed) throw new Error('the tensor-core matmul kernel ran without being installed');
  const linear = activation === undefined || activation === 'linear';
  if (!linear || preluActivationWeights || !tensorCoresTake(a!, b!, transposeA, transposeB))
    return installed.tfjs.fusedMatMul(args);
  return tensorCoreProduct(args.backend, a!, b!, transposeA, transposeB, bias);
};

/**
 * op(a) · op(b) (+ bias, broadcast over the rows) on the tensor cores: [...batch, rows, cols].
 * A split product's chunks are summed by `SplitSumProgram`, which adds a [cols] bias too; a
 * padded output is sliced; any other bias is added by tfjs's Add.
 */
function tensorCoreProduct(
  backend: object,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: tf.TensorInfo,
): tf.TensorInfo {
  const { matrix, maxWorkgroupBytes, tfjs } = installed!;
  const rankA = a.shape.length;
  const rankB = b.shape.length;
  const rows = transposeA ? a.shape[rankA - 1]! : a.shape[rankA - 2]!;
  const cols = transposeB ? b.shape[rankB - 2]! : b.shape[rankB - 1]!;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const a3d: tf.TensorInfo = {
    dataId: a.dataId,
    dtype: a.dtype,
    shape: [batchA, a.shape[rankA - 2]!, a.shape[rankA - 1]!],
  };
  const b3d: tf.TensorInfo = {
    dataId: b.dataId,
    dtype: b.dtype,
    shape: [batchB, b.shape[rankB - 2]!, b.shape[rankB - 1]!],
  };
  const vector = a.shape[rankA - 1]! % 4 === 0 && b.shape[rankB - 1]! % 4 === 0 ? 4 : 1;
  const program = new TensorCoreMatMulProgram(
    batch,
    rows,
    cols,
    transposeA,
    transposeB,
    vector,
    matrix,
    maxWorkgroupBytes,
    transposeA ? a.shape[rankA - 2]! : a.shape[rankA - 1]!,
  );
  const gpu = backend as unknown as WebGpuBackendLike;
  let out = gpu.runWebGPUProgram(program, [a3d, b3d], 'float32'); // [splits · batch, rows, cols] padded
  const [, paddedRows, paddedCols] = program.outputShape;
  const rowBias = bias !== undefined && bias.shape.length === 1 && bias.shape[0] === cols;
  /** Frees `previous`, whose values `next` now holds. */
  const replaced = (previous: tf.TensorInfo, next: tf.TensorInfo) => {
    gpu.disposeData(previous.dataId);
    return next;
  };
  if (program.splits > 1) {
    const sum = new SplitSumProgram([batch, rows, cols], rowBias);
    out = replaced(out, gpu.runWebGPUProgram(sum, rowBias ? [out, bias!] : [out], 'float32'));
  } else if (paddedRows !== rows || paddedCols !== cols) {
    const size = [batch, rows, cols];
    out = replaced(
      out,
      tfjs.slice({ inputs: { x: out }, attrs: { begin: [0, 0, 0], size }, backend }) as tf.TensorInfo,
    );
  }
  if (bias !== undefined && !(program.splits > 1 && rowBias))
    out = replaced(out, tfjs.add({ inputs: { a: out, b: bias }, attrs: {}, backend }) as tf.TensorInfo);
  return { dataId: out.dataId, dtype: out.dtype, shape: [...outer, rows, cols] };
}

/**
 * Puts the tensor-core kernel in place of tfjs's BatchMatMul and _FusedMatMul on webgpu (tfjs's
 * stay as the fallbacks). Call after the webgpu backend is registered, with the adapter's shape
 * and the device's maxComputeWorkgroupStorageSize.
 */
export function installTensorCoreMatMul(matrix: SubgroupMatrixShape, maxWorkgroupBytes: number): void {
  const kernel = (name: string) => {
    const found = tf.getKernel(name, 'webgpu')?.kernelFunc;
    if (!found) throw new Error(`tfjs’s webgpu ${name} kernel is missing`);
    return found;
  };
  const tfjs = installed?.tfjs ?? {
    batchMatMul: kernel('BatchMatMul'),
    fusedMatMul: kernel('_FusedMatMul'),
    slice: kernel('Slice'),
    add: kernel('Add'),
  };
  replaceWebGpuKernel('BatchMatMul', tensorCoreBatchMatMul);
  replaceWebGpuKernel('_FusedMatMul', tensorCoreFusedMatMul);
  installed = { matrix, maxWorkgroupBytes, tfjs };
}

/** Registers `kernelFunc` as webgpu's `name` kernel, in place of the one there. */
function replaceWebGpuKernel(name: string, kernelFunc: tf.KernelFunc): void {
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc });
}

/** Gives BatchMatMul and _FusedMatMul on webgpu back to tfjs. */
export function uninstallTensorCoreMatMul(): void {
  if (!installed) return;
  replaceWebGpuKernel('BatchMatMul', installed.tfjs.batchMatMul);
  replaceWebGpuKernel('_FusedMatMul', installed.tfjs.fusedMatMul);
  installed = undefined;
}

const f16Bits = new DataView(new ArrayBuffer(4));

/** `value` rounded to the nearest IEEE half (ties to even), as the kernel's f32→f16 conversion does. */
export function roundToFloat16(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return Math.sign(value) * Infinity; // past the largest half, 65504
  // a half has 11 significant bits; below 2^-14 its spacing is fixed at 2^-24 (subnormals)
  f16Bits.setFloat32(0, magnitude);
  const exponent = Math.max(((f16Bits.getUint32(0) >>> 23) & 0xff) - 127, -14);
  const spacing = 2 ** (exponent - 10);
  const scaled = magnitude / spacing;
  let rounded = Math.round(scaled);
  if (Math.abs(scaled % 1) === 0.5 && rounded % 2 === 1) rounded -= 1; // ties to even
  return Math.sign(value) * rounded * spacing;
}

/**
 * The CPU model of the kernel: C = f16(A) · f16(B) summed in float64, A [rows, inner] and
 * B [inner, cols] row-major. The GPU result may differ from it only by f32 accumulation order.
 */
export function mixedMatMulReference(
  a: Float32Array,
  b: Float32Array,
  rows: number,
  inner: number,
  cols: number,
): Float64Array {
  const ha = a.map(roundToFloat16);
  const hb = b.map(roundToFloat16);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < inner; k++) {
      const left = ha[i * inner + k]!;
      if (left === 0) continue;
      for (let j = 0; j < cols; j++) out[i * cols + j]! += left * hb[k * cols + j]!;
    }
  return out;
}
