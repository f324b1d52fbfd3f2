/**
 * Matching of `*` globs (a target's `events`, docs/design.md §2) against text that comes from the network: `t` is
 * whatever the gateway sent, up to a whole frame. A regular expression made of `.*` runs backtracks on such input
 * (`GROUP_*_*_CREATE` against 64 k characters of `GROUP_` took seconds), so globs are matched without one: the
 * literal runs between the stars are found left to right with `indexOf`, which never revisits a decision.
 */

/** A compiled glob: the literal runs between its stars (one run when it has no star). */
type Glob = readonly string[];

/**
 * Whether `text` matches `glob`. With stars, the first run must start the text, the last must end it, and each run
 * in between is taken at its leftmost place after the previous one: taking it later can only leave less room for
 * the runs after it, so the leftmost choice finds a match whenever one exists. Linear in the text per run.
 */
function matchesGlob(glob: Glob, text: string): boolean {
  const first = glob[0] ?? '';
  if (glob.length === 1) return text === first;
  const last = glob[glob.length - 1] ?? '';
  const end = text.length - last.length;
  if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let from = first.length;
  for (const run of glob.slice(1, -1)) {
    const at = text.indexOf(run, from);
    if (at === -1 || at + run.length > end) return false;
    from = at + run.length;
  }
  return true;
}

/**
 * A predicate true when the whole text matches any of `globs`: case-sensitive, `*` matches any run of characters
 * (none, dots and line breaks included), every other character matches itself. No globs match nothing.
 */
export function compileGlobs(globs: readonly string[]): (text: string) => boolean {
  const compiled: Glob[] = globs.map((glob) => glob.split('*'));
  return (text) => compiled.some((glob) => matchesGlob(glob, text));
}
