/**
 * File-name patterns for choosing repository files, with the semantics of the Python
 * hub's `allow_patterns` (fnmatch): `*` matches any run of characters including `/`,
 * `?` one character, `[abc]` one of a set. `*.json` matches `config.json` and `a/b.json`.
 */

/** Compiles one fnmatch-style pattern to an anchored regular expression. */
export function patternToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) {
        source += '\\[';
      } else {
        const body = pattern.slice(i + 1, end);
        source += body.startsWith('!') ? `[^${escapeClass(body.slice(1))}]` : `[${escapeClass(body)}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeClass(body: string): string {
  return body.replace(/[\\\]^]/g, '\\$&');
}

/** The paths matching at least one of the patterns, in their original order. */
export function matchPaths(paths: readonly string[], patterns: readonly string[]): string[] {
  const regexps = patterns.map(patternToRegExp);
  return paths.filter((path) => regexps.some((re) => re.test(path)));
}
