/**
 * layercut's environment variables, each declared once: its name, what it holds, its default
 * and what it does. This module is the one place that reads `LAYERCUT_*` from the environment
 * (`layercutEnv()`; the Hugging Face hub's `HF_*` settings live in src/hub/settings.ts), and
 * docs/env.md is generated from `variables` (`tsx src/env.ts --markdown`; a test keeps them
 * equal and checks that every `LAYERCUT_` name in src/ and docs/ is declared here).
 *
 *   layercutEnv().cache        every value, read from process.env at each call
 *   envValue('plainOps')       one value (for the checks made per op: reads only its variable)
 *   variables.gpu.name         'LAYERCUT_GPU', for setting it in a child's environment
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One environment variable: its name, what it holds, its default, what it does, and how its text is read. */
export interface Variable<T> {
  name: `LAYERCUT_${string}`;
  /** What the text holds, for people: 'path', 'flag', 'a backend name', … */
  type: string;
  /** The value when it is unset, for people. */
  default: string;
  description: string;
  /** The value from its text (undefined: unset). */
  read(text: string | undefined, env: NodeJS.ProcessEnv): T;
}

const variable = <T>(spec: Variable<T>): Variable<T> => spec;

/** Text, or undefined when unset or empty. */
const text = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

/** On for '1', 'true', 'yes', 'on' (any case); off for anything else or unset. */
const flag = (value: string | undefined): boolean =>
  ['1', 'true', 'yes', 'on'].includes((value ?? '').trim().toLowerCase());

export const variables = {
  backend: variable({
    name: 'LAYERCUT_BACKEND',
    type: 'a backend name',
    default: 'auto',
    description:
      'the compute backend when no `--backend` / `backend` option says: auto, tensorflow, webgpu, wasm or cpu',
    read: text,
  }),
  cache: variable({
    name: 'LAYERCUT_CACHE',
    type: 'path',
    default: '`$XDG_CACHE_HOME/layercut`, else `~/.cache/layercut`',
    description: "layercut's own cache: generated built-in models, prepared datasets, benchmark checkpoints",
    read: (value, env) =>
      value ?? path.join(env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache'), 'layercut'),
  }),
  cellTimeout: variable({
    name: 'LAYERCUT_CELL_TIMEOUT',
    type: 'seconds',
    default: '600',
    description:
      'the test suite only: seconds a notebook cell may take in test/notebook/quickstart.test.ts (raise it on a loaded machine)',
    read: text,
  }),
  db: variable({
    name: 'LAYERCUT_DB',
    type: 'path',
    default: '`layercut.db` (working directory)',
    description: "the results store of the notebook's `run()` when its `store` option is not given",
    read: text,
  }),
  font: variable({
    name: 'LAYERCUT_FONT',
    type: 'path',
    default: 'system fonts',
    description: 'a .ttf/.otf font for PNG plots, where the system has none',
    read: text,
  }),
  gpu: variable({
    name: 'LAYERCUT_GPU',
    type: 'a GPU index',
    default: 'unset',
    description:
      'set by `--gpus` / `--gpu` in each worker process bound to a GPU (with `CUDA_VISIBLE_DEVICES`, which TensorFlow reads); the WebGPU backend does not read it yet',
    read: (value) => (text(value) === undefined ? undefined : Number(value)),
  }),
  models: variable({
    name: 'LAYERCUT_MODELS',
    type: 'paths (separated by `:`, `;` on Windows)',
    default: 'none',
    description:
      "folders of model folders that `builtin('<name>')` finds, searched before the shipped `models/`",
    read: (value) => (value ?? '').split(path.delimiter).filter((dir) => dir.trim() !== ''),
  }),
  noBindGroupCache: variable({
    name: 'LAYERCUT_NO_BIND_GROUP_CACHE',
    type: 'flag',
    default: 'off',
    description:
      'WebGPU: a new bind group and uniform buffer for every dispatch, as tfjs makes them (to compare host time; src/runtime/bind-groups.ts, uniforms.ts)',
    read: flag,
  }),
  noFlashAttention: variable({
    name: 'LAYERCUT_NO_FLASH_ATTENTION',
    type: 'flag',
    default: 'off',
    description: "WebGPU: attention through tfjs ops instead of layercut's flash-attention programs",
    read: flag,
  }),
  noFusedKernels: variable({
    name: 'LAYERCUT_NO_FUSED_KERNELS',
    type: 'flag',
    default: 'off',
    description:
      "WebGPU: tfjs's own ops instead of layercut's fused programs (src/runtime/fused/, flash attention included)",
    read: flag,
  }),
  plainOps: variable({
    name: 'LAYERCUT_PLAIN_OPS',
    type: 'flag',
    default: 'off',
    description:
      'the plain tfjs formulations that the GPU-speed measures replaced, to compare speed and results (src/runtime/flags.ts)',
    read: flag,
  }),
  runProcess: variable({
    name: 'LAYERCUT_RUN_PROCESS',
    type: "'1'",
    default: 'unset',
    description:
      'set by layercut in the worker processes it starts: their entry serves runs (src/queue/serve-runs.ts)',
    read: (value) => value === '1',
  }),
  verbose: variable({
    name: 'LAYERCUT_VERBOSE',
    type: 'flag',
    default: 'off',
    description:
      "print why each backend was skipped, and worker processes' stderr lines; on unless unset, empty, '0' or 'false'",
    read: (value) => value !== undefined && !['', '0', 'false'].includes(value.trim().toLowerCase()),
  }),
  webgpuPoolMb: variable({
    name: 'LAYERCUT_WEBGPU_POOL_MB',
    type: 'megabytes',
    default: '32768',
    description: "WebGPU: the most free memory tfjs's buffer pool keeps for reuse",
    read: (value) => {
      const mb = Number(value);
      return text(value) !== undefined && Number.isFinite(mb) && mb >= 0 ? mb : 32 * 1024;
    },
  }),
} as const;

type Variables = typeof variables;
export type LayercutEnv = { [K in keyof Variables]: ReturnType<Variables[K]['read']> };

/** One variable's value in `env` (default: this process's environment, read now). */
export function envValue<K extends keyof Variables>(
  key: K,
  env: NodeJS.ProcessEnv = process.env,
): LayercutEnv[K] {
  const spec = variables[key] as Variable<LayercutEnv[K]>;
  return spec.read(env[spec.name], env);
}

/** Every variable's value in `env` (default: this process's environment, read now). */
export function layercutEnv(env: NodeJS.ProcessEnv = process.env): LayercutEnv {
  const values: Partial<Record<keyof Variables, unknown>> = {};
  for (const key of Object.keys(variables) as (keyof Variables)[]) values[key] = envValue(key, env);
  return values as LayercutEnv;
}

/** The table of docs/env.md. */
export function variablesMarkdown(): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const rows = Object.values(variables).map(
    (spec) =>
      `| \`${spec.name}\` | ${escape(spec.type)} | ${escape(spec.default)} | ${escape(spec.description)} |`,
  );
  return ['| variable | holds | default | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--markdown')) process.stdout.write(`${variablesMarkdown()}\n`);
}
