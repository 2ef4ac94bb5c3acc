/**
 * A target with planted faults, for testing the fuzzer itself (test/fuzz/fuzz.test.ts): an
 * input holding `x` throws a TypeError, `y` a LayercutError on two lines, `h` never returns.
 * Not among the targets `npm run fuzz` runs unless asked for by name.
 */
import { LayercutError } from '../../src/errors.js';
import { rejection, shrinkString, showString, type FuzzTarget } from './target.js';

export const canaryTarget: FuzzTarget<string> = {
  name: 'canary',
  generate: (rng) =>
    Array.from({ length: rng.between(1, 6) }, () =>
      rng.chance(0.01) ? 'h' : rng.pick([...'aaaaaaabbbbbbbxy']),
    ).join(''),
  check(input) {
    if (input.includes('h')) for (;;);
    try {
      if (input.includes('x')) (null as unknown as { field: number }).field.toFixed();
      if (input.includes('y')) throw new LayercutError('planted\ntwo lines');
      if (input.includes('b')) throw new LayercutError('planted refusal', 'a hint');
    } catch (error) {
      return [rejection(error, { inputText: input })];
    }
    return ['accepted'];
  },
  shrink: shrinkString,
  show: showString,
};
