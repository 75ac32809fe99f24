/** Levenshtein distance, for suggesting the key a typo meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** ` (did you mean 'x'?)` for the known key closest to `key` (case, `_` and `-` ignored), or ''. */
export function didYouMean(known: readonly string[], key: string): string {
  const lower = key.toLowerCase().replaceAll(/[_-]/g, '');
  const best = known
    .map((k) => ({ k, d: k.toLowerCase() === lower ? 0 : distance(k.toLowerCase(), lower) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${best.k}'?)` : '';
}

/**
 * Throws a TypeError naming every key of `given` that `known` lacks, each with the key it
 * probably meant: a misspelt option (`baseUrl` for `baseURL`) must not be ignored silently.
 */
export function checkKeys(where: string, given: object, known: readonly string[]): void {
  const unknown = Object.keys(given).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  throw new TypeError(`${where}: ${unknown.map((key) => `${key}: unknown option${didYouMean(known, key)}`).join('; ')}`);
}
