/**
 * "Did you mean": the names nearest to a mistyped one, for unknown services, methods, arguments,
 * fields and enum members. Built on the config validator's edit distance (src/config/did-you-mean.ts).
 */
import { editDistance } from '../config/did-you-mean.js';

/**
 * Up to `max` of `candidates` nearest to `word` by edit distance (case ignored), nearest first:
 * those within a third of the longer name's length (a name that begins with the other counts as
 * 1 away), and no more than one edit farther than the nearest, so an unrelated name is not offered.
 * @example
 * nearestNames('testStrin', ['testString', 'testStringMap', 'testI32']); // ['testString', 'testStringMap']
 */
export function nearestNames(word: string, candidates: Iterable<string>, max = 3): string[] {
  const typed = word.toLowerCase();
  return [...new Set(candidates)]
    .map((name) => {
      const lower = name.toLowerCase();
      const d = editDistance(typed, lower);
      return { name, d: lower.startsWith(typed) || typed.startsWith(lower) ? Math.min(d, 1) : d };
    })
    .filter(({ name, d }) => d <= Math.max(1, Math.floor(Math.max(name.length, word.length) / 3)))
    .sort((a, b) => a.d - b.d)
    .filter(({ d }, _, near) => d <= near[0]!.d + 1)
    .slice(0, max)
    .map(({ name }) => name);
}

/** `" (did you mean a or b?)"`, or `""` when nothing is near. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const near = nearestNames(word, candidates);
  if (near.length === 0) return '';
  return ` (did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(', ')} or ${near.at(-1)}`}?)`;
}
