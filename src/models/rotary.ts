/**
 * Rotary position embeddings (RoPE) as Hugging Face's decoders compute them, for every family that
 * uses them (Llama, Qwen2/3, Mistral, Phi-3, Gemma, GPT-NeoX): how config.json describes them, the
 * inverse frequencies of each variant, the cos/sin tables of a batch, and the rotation itself.
 *
 * config.json spells the settings two ways:
 *   transformers 5   "rope_parameters": {"rope_type", "rope_theta", "partial_rotary_factor", "factor", …}
 *   transformers 4   "rope_theta" (GPT-NeoX: "rotary_emb_base"), "rope_scaling": {"rope_type" or "type", "factor", …},
 *                    "partial_rotary_factor" (GPT-NeoX: "rotary_pct")
 * Variants: "default", "linear" (angles ÷ factor), "dynamic" (NTK scaling that changes nothing
 * while T ≤ max_position_embeddings, which layercut never exceeds), "llama3" (Llama 3.1's
 * wavelength bands) and "longrope" (Phi-3.5, Phi-4-mini: per-frequency factors, short or long by
 * the sequence length, and a scale on cos and sin). Others ("yarn", …) are refused with a
 * ConfigError naming the key.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../runtime/constants.js';
import { ConfigError, ConfigReader } from './config.js';

export type RotaryScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'dynamic'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    }
  | {
      type: 'longrope';
      /** Divisors of the Dr/2 frequencies while T ≤ originalMaxPositions, and beyond it. */
      shortFactor: number[];
      longFactor: number[];
      originalMaxPositions: number;
      /** Scale of cos and sin (of the rotated queries and keys). */
      attentionFactor: number;
    };

export interface RotarySpec {
  /** Base of the frequencies θ. */
  theta: number;
  /** Leading width of each head that rotates (Dr ≤ Dh, even); the other Dh − Dr values pass through. */
  dims: number;
  scaling: RotaryScaling;
}

/** How a family's config.json describes its rotary embeddings, where it differs from Llama's. */
export interface RotaryKeys {
  /** Where the rotary base and the rotating fraction are in transformers 4 configs. */
  thetaKey: string;
  thetaDefault: number;
  fractionKey: string;
  fractionDefault: number;
  /** The rope_types transformers accepts for the family (default: every one layercut computes). */
  types?: readonly string[];
  /** rope_types the family reads as others (Phi-3: "su" and "yarn" are "longrope"). */
  aliases?: Readonly<Record<string, string>>;
  /**
   * A top-level original_max_position_embeddings the config class always has (Phi-3: 4096): it
   * overrides rope_parameters' for llama3 and longrope, as transformers' standardisation does.
   */
  originalMaxPositionsDefault?: number;
}

export const LLAMA_ROTARY_KEYS: RotaryKeys = {
  thetaKey: 'rope_theta',
  thetaDefault: 10000,
  fractionKey: 'partial_rotary_factor',
  fractionDefault: 1,
};

const SUPPORTED = ['default', 'linear', 'dynamic', 'llama3', 'longrope'];

/**
 * The rotary settings of config.json `json` for heads of width `headDim`; `family` names the
 * family in errors. Throws ConfigError for malformed values and for unsupported variants.
 */
export function readRotary(
  json: Record<string, unknown>,
  family: string,
  headDim: number,
  keys: RotaryKeys = LLAMA_ROTARY_KEYS,
): RotarySpec {
  const parametersKey = json['rope_parameters'] != null ? 'rope_parameters' : 'rope_scaling';
  const settings = json[parametersKey];
  if (settings != null && (typeof settings !== 'object' || Array.isArray(settings))) {
    throw new ConfigError(
      `${family}: config.json '${parametersKey}' should be an object, got ${JSON.stringify(settings)}`,
    );
  }
  const fields = (settings ?? {}) as Record<string, unknown>;
  const where = `${family}: config.json '${parametersKey}'`;
  const read = new ConfigReader(fields, `${family} (in '${parametersKey}')`);
  const top = new ConfigReader(json, family);
  if (Object.values(fields).some((value) => typeof value === 'object' && value !== null && !Array.isArray(value))) {
    throw new ConfigError(
      `${where} holds settings per layer type, which layercut does not support for ${family}`,
      'give one set of rotary settings for all layers',
    );
  }
  const rawType = String(fields['rope_type'] ?? fields['type'] ?? 'default');
  const type = keys.aliases?.[rawType] ?? rawType;
  const supported = keys.types ?? SUPPORTED;
  if (!supported.includes(type)) {
    throw new ConfigError(
      `${where} rope_type '${rawType}' is not supported`,
      `layercut computes rotary embeddings of rope_type ${supported.map((t) => `"${t}"`).join(', ')} for ${family}`,
    );
  }
  // in rope_parameters (transformers 5) or at the top level (transformers 4)
  const theta =
    fields['rope_theta'] != null
      ? read.number('rope_theta')
      : top.number(keys.thetaKey, keys.thetaDefault);
  if (!(theta > 1)) throw new ConfigError(`${family}: config.json rotary base (rope_theta) must be > 1, got ${theta}`);
  const fraction =
    fields['partial_rotary_factor'] != null
      ? read.number('partial_rotary_factor')
      : top.number(keys.fractionKey, keys.fractionDefault);
  if (!(fraction > 0 && fraction <= 1)) {
    throw new ConfigError(
      `${family}: config.json '${keys.fractionKey}' (the rotating fraction of each head) must be in (0, 1], got ${fraction}`,
    );
  }
  const dims = Math.floor(headDim * fraction);
  if (dims % 2 !== 0 || dims === 0) {
    throw new ConfigError(
      `${family}: the rotary width (head width ${headDim} × ${fraction} = ${dims}) must be even and positive`,
      `change head_dim or '${keys.fractionKey}'`,
    );
  }
  const factor = () => {
    const value = read.number('factor');
    if (!(value >= 1)) throw new ConfigError(`${where} 'factor' must be ≥ 1, got ${value}`);
    return value;
  };
  let scaling: RotaryScaling;
  switch (type) {
    case 'linear':
      scaling = { type, factor: factor() };
      break;
    case 'dynamic':
      scaling = { type, factor: factor() };
      break;
    case 'llama3': {
      const lowFreqFactor = read.number('low_freq_factor');
      const highFreqFactor = read.number('high_freq_factor');
      if (!(highFreqFactor > lowFreqFactor)) {
        throw new ConfigError(
          `${where} 'high_freq_factor' (${highFreqFactor}) must be greater than 'low_freq_factor' (${lowFreqFactor})`,
        );
      }
      scaling = {
        type,
        factor: factor(),
        lowFreqFactor,
        highFreqFactor,
        originalMaxPositions: originalMaxPositions(json, fields, keys, where),
      };
      break;
    }
    case 'longrope': {
      const originalMax = originalMaxPositions(json, fields, keys, where);
      const perFrequency = (key: string) => {
        const value = fields[key];
        if (!Array.isArray(value) || value.length !== dims / 2 || !value.every((v) => typeof v === 'number' && v > 0)) {
          throw new ConfigError(
            `${where} '${key}' should list ${dims / 2} positive numbers (one per rotary frequency), got ${JSON.stringify(value)}`,
          );
        }
        return value as number[];
      };
      // the length ratio unless 'factor' is given; the attention factor from it unless given
      const lengthFactor =
        fields['factor'] != null ? read.number('factor') : top.integer('max_position_embeddings') / originalMax;
      const attentionFactor =
        fields['attention_factor'] != null
          ? read.number('attention_factor')
          : lengthFactor <= 1
            ? 1
            : Math.sqrt(1 + Math.log(lengthFactor) / Math.log(originalMax));
      scaling = {
        type,
        shortFactor: perFrequency('short_factor'),
        longFactor: perFrequency('long_factor'),
        originalMaxPositions: originalMax,
        attentionFactor,
      };
      break;
    }
    default:
      scaling = { type: 'default' };
  }
  return { theta, dims, scaling };
}

/**
 * The pretraining length llama3 and longrope scale from: the family's top-level key when its
 * config class has one (Phi-3), else rope_parameters', else max_position_embeddings.
 */
function originalMaxPositions(
  json: Record<string, unknown>,
  fields: Record<string, unknown>,
  keys: RotaryKeys,
  where: string,
): number {
  const top = new ConfigReader(json, where);
  if (keys.originalMaxPositionsDefault !== undefined) {
    return top.positiveInteger('original_max_position_embeddings', keys.originalMaxPositionsDefault);
  }
  return new ConfigReader(fields, where).positiveInteger(
    'original_max_position_embeddings',
    top.positiveInteger('max_position_embeddings'),
  );
}

/**
 * The Dr/2 angular frequencies per position, θ^(−2j/Dr), after the spec's scaling, for
 * sequences of `seqLen` tokens (longrope picks its factors by the length).
 */
export function inverseFrequencies(spec: RotarySpec, seqLen: number): Float32Array {
  const half = spec.dims / 2;
  const plain = Array.from({ length: half }, (_, j) => 1 / spec.theta ** ((2 * j) / spec.dims));
  const s = spec.scaling;
  switch (s.type) {
    case 'default':
    case 'dynamic': // NTK scaling starts beyond max_position_embeddings, which forward refuses
      return Float32Array.from(plain);
    case 'linear':
      return Float32Array.from(plain, (f) => f / s.factor);
    case 'llama3': {
      // Llama 3.1: long wavelengths slowed by `factor`, short ones kept, the band between blended
      const lowFreqWavelength = s.originalMaxPositions / s.lowFreqFactor;
      const highFreqWavelength = s.originalMaxPositions / s.highFreqFactor;
      return Float32Array.from(plain, (f) => {
        const wavelength = (2 * Math.PI) / f;
        if (wavelength < highFreqWavelength) return f;
        if (wavelength > lowFreqWavelength) return f / s.factor;
        const smooth = (s.originalMaxPositions / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        return (1 - smooth) * (f / s.factor) + smooth * f;
      });
    }
    case 'longrope': {
      const factors = seqLen > s.originalMaxPositions ? s.longFactor : s.shortFactor;
      return Float32Array.from(plain, (f, j) => f / factors[j]!);
    }
  }
}

/**
 * cos and sin of the rotary angles position · frequency (longrope: times its attention factor).
 * positions: [B, T] int32 → cos, sin: [B, T, 1, Dr/2] (broadcast over the heads of a [B, T, n, Dh] tensor).
 */
export function rotaryTables(positions: tf.Tensor2D, spec: RotarySpec): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  return tf.tidy(() => {
    const [batch, seq] = positions.shape;
    const half = spec.dims / 2;
    const frequencies = tf.tensor3d(inverseFrequencies(spec, seq), [1, 1, half]);
    const angles = tf.mul(tf.cast(positions, 'float32').reshape([batch, seq, 1]), frequencies); // [B, T, Dr/2]
    const shape: [number, number, number, number] = [batch, seq, 1, half];
    const cos = tf.cos(angles).reshape(shape);
    const sin = tf.sin(angles).reshape(shape);
    if (spec.scaling.type !== 'longrope' || spec.scaling.attentionFactor === 1) {
      return { cos: cos as tf.Tensor4D, sin: sin as tf.Tensor4D };
    }
    const scale = deviceScalar(spec.scaling.attentionFactor);
    return { cos: tf.mul(cos, scale) as tf.Tensor4D, sin: tf.mul(sin, scale) as tf.Tensor4D };
  });
}

/**
 * Rotates the first Dr values of each head by the rotary angles, Hugging Face's `rotate_half`
 * convention (the first and second halves of those Dr values are the pairs); the remaining
 * Dh − Dr values pass unchanged (partial rotary: GPT-NeoX, Phi-3).
 * x: [B, T, n, Dh] (heads in place, as the projections give them), cos and sin: [B, T, 1, Dr/2]
 * → [B, T, n, Dh].
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const headDim = x.shape[3];
  const rotaryDim = 2 * cos.shape[3];
  const [rotating, passing] =
    rotaryDim === headDim
      ? [x, undefined]
      : (tf.split(x, [rotaryDim, headDim - rotaryDim], 3) as [tf.Tensor4D, tf.Tensor4D]);
  const [first, second] = tf.split(rotating, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  const rotatedFirst = tf.sub(tf.mul(first, cos), tf.mul(second, sin));
  const rotatedSecond = tf.add(tf.mul(second, cos), tf.mul(first, sin));
  const parts = passing ? [rotatedFirst, rotatedSecond, passing] : [rotatedFirst, rotatedSecond];
  return tf.concat(parts, 3) as tf.Tensor4D;
}
