/**
 * The fuzzers' own seeded random numbers (sfc32, seeded through splitmix32), so that every
 * input is made again from its seed: input `i` of a run with seed `s` on target `t` comes from
 * `new Rng(inputSeed(s, t, i))`, whatever ran before it.
 */

/** One step of splitmix32: a well-mixed 32-bit value from any 32-bit state. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The seed of input `index` of `target` in a run seeded `runSeed`. */
export function inputSeed(runSeed: number, target: string, index: number): number {
  let h = splitmix32(runSeed >>> 0);
  for (let i = 0; i < target.length; i++) h = splitmix32(h ^ target.charCodeAt(i));
  return splitmix32(h ^ splitmix32(index >>> 0));
}

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = splitmix32(seed);
    this.#b = splitmix32(this.#a);
    this.#c = splitmix32(this.#b);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.uint32() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi], both included. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.uint32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: no items');
    return items[this.below(items.length)]!;
  }

  /** A small count, mostly 0–3, sometimes up to `max` (how many mutations, how deep). */
  small(max = 16): number {
    return this.chance(0.8) ? this.below(4) : this.below(max + 1);
  }
}
