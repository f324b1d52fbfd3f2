import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/** A segment of a data path: a mapping key or a list index. */
export type PathSegment = string | number;

/** A parsed YAML file that can answer "where is this path?". */
export interface YamlSource {
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
}

/** A 1-based position in the file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A YAML syntax problem, located. */
export interface YamlProblem extends Position {
  readonly message: string;
}

/**
 * Parses one YAML document, keeping node ranges for error positions. YAML 1.2 core schema (so `yes` is a string,
 * not true), duplicate keys are errors, and `<<: *anchor` merge keys are allowed so targets can share settings.
 */
export function parseYaml(text: string): { source: YamlSource; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  // logLevel 'error': the yaml library would otherwise print warnings (odd keys) straight to stderr.
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
    logLevel: 'error',
  });
  const problems: YamlProblem[] = [];
  for (const problem of [...doc.errors, ...doc.warnings]) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    // One error usually derails the parser for the rest of its line; the first says what is wrong.
    if (problems.some((seen) => seen.line === line)) continue;
    // The parser's own sentence, without the source it may quote (an excerpt, or the offending token at the end):
    // the line may hold a secret.
    const sentence = (problem.message.split('\n')[0] ?? problem.code).replace(/: ".*"$/, '');
    let message = `YAML syntax: ${sentence}`;
    const lineText = text.slice(lineCounter.lineStarts[line - 1], lineCounter.lineStarts[line]);
    if (lineText.includes('${')) message += '; inside { } or [ ], quote values that hold ${…}: "${VAR}"';
    problems.push({ line, column: col, message });
  }
  return { source: { doc, lineCounter }, problems };
}

/** The string form of a mapping key, as it appears in the data (`toJS` stringifies keys the same way). */
export function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return typeof key.value === 'symbol' ? undefined : String(key.value);
  return undefined;
}

function resolve(source: YamlSource, node: unknown): unknown {
  return isAlias(node) ? node.resolve(source.doc) : node;
}

function start(source: YamlSource, node: Node | null | undefined): Position | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, column: col };
}

/** A value left out (`key:` and nothing): the key is the place to point at. */
function isEmpty(node: unknown): boolean {
  return node === null || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
}

/**
 * Where the value (or, with `at: 'key'`, the key) at `path` is written. When the path leads somewhere the file
 * does not spell out (a missing key, a value from a merge key), the position of the nearest written ancestor's
 * key or list item is returned: that is where the user has to add or fix something.
 */
export function locate(source: YamlSource, path: readonly PathSegment[], at: 'key' | 'value'): Position {
  let node: unknown = source.doc.contents;
  let fallback = start(source, source.doc.contents) ?? { line: 1, column: 1 };
  for (const [index, segment] of path.entries()) {
    const container = resolve(source, node);
    const last = index === path.length - 1;
    if (isMap(container)) {
      const pair = container.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) return fallback;
      const keyPosition = start(source, pair.key as Node) ?? fallback;
      if (last)
        return at === 'key' || isEmpty(pair.value)
          ? keyPosition
          : (start(source, pair.value as Node) ?? keyPosition);
      node = pair.value;
      fallback = keyPosition;
    } else if (isSeq(container) && typeof segment === 'number') {
      const item: unknown = container.items[segment];
      if (item === undefined) return fallback;
      const itemPosition = start(source, item as Node) ?? fallback;
      if (last) return itemPosition;
      node = item;
      fallback = itemPosition;
    } else {
      return fallback;
    }
  }
  return fallback;
}
