/**
 * "Did you mean" for config mistakes: the allowed key or enum value nearest to what was
 * written, by edit distance, when it is near enough to be a typo (`cuont`, `listn`,
 * `gracefulTimeout`, `Count`) rather than a different word.
 */

/**
 * The candidate `word` most likely misspells, or undefined when none is close. Case is ignored;
 * a candidate matches within an edit distance of a third of its length (at least 1), or when
 * one of the two begins with the other and the shorter has 3 characters or more (`ttl` for
 * `ttlSeconds`, `warning` for `warn`). The nearest wins; on a tie, the earlier candidate.
 * @example
 * closestMatch('cuont', ['name', 'count']); // 'count'
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    const distance = editDistance(typed, lower);
    const near = distance <= Math.max(1, Math.floor(lower.length / 3)) || isPrefixPair(typed, lower);
    if (near && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Damerau-Levenshtein distance in its optimal-string-alignment form: insertions, deletions,
 * substitutions and transpositions of two adjacent characters each cost 1.
 */
export function editDistance(a: string, b: string): number {
  // Three rows suffice: a transposition looks two rows back.
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, beforePrevious[j - 2]! + 1);
      }
      current.push(d);
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

// --- internal ---

function isPrefixPair(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 3 && long.startsWith(short);
}
