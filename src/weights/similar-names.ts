/**
 * "Did you mean …?" for tensor names: the few known names closest to a wanted one, by
 * edit distance, with names that end or start like it (a missing or extra prefix such as
 * `transformer.`) ranked first.
 */

/** Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Up to `count` of `known` closest to `wanted`, closest first: those within an edit distance
 * of half the wanted name's length, or failing any, the 3 closest regardless.
 */
export function closestNames(wanted: string, known: Iterable<string>, count = 5): string[] {
  const scored: { name: string; score: number }[] = [];
  for (const name of known) {
    const affix = name.endsWith(wanted) || wanted.endsWith(name) || name.startsWith(wanted);
    // an affix match counts as distance 0 plus a tie-break on the length difference
    const score = affix ? Math.abs(name.length - wanted.length) / 1e6 : editDistance(wanted, name);
    scored.push({ name, score });
  }
  scored.sort((x, y) => x.score - y.score || (x.name < y.name ? -1 : 1));
  const near = scored.filter((s) => s.score <= Math.max(3, wanted.length / 2));
  return (near.length > 0 ? near.slice(0, count) : scored.slice(0, 3)).map((s) => s.name);
}
