/**
 * Edit distance between two strings (Levenshtein: insertions, deletions and substitutions each cost 1).
 */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Lower-cases and drops `_`/`-` so that `clientSecret`, `Client-Secret` and `client_secret` compare equal. */
function normalize(word: string): string {
  return word.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The candidate a typo most likely meant: the same word in another case/separator style, else the closest one
 * within an edit distance of 2, else one the input starts with and barely extends (`warning` → `warn`). Undefined when nothing is
 * close enough to be a helpful guess.
 */
export function suggest(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  let prefix: string | undefined;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const distance = normalize(candidate) === normalize(input) ? 0 : editDistance(input, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
    const extra = input.length - candidate.length;
    if (
      prefix === undefined &&
      candidate.length >= 3 &&
      extra <= 4 &&
      normalize(input).startsWith(normalize(candidate))
    ) {
      prefix = candidate;
    }
  }
  return best ?? prefix;
}

/** `; did you mean X?` when a candidate is close, else an empty string — ready to append to a message. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const guess = suggest(input, candidates);
  return guess === undefined ? '' : `; did you mean ${guess}?`;
}
