/**
 * Reading the curl walkthrough of docs/webhook-mode.md ("Trying it offline with the simulator") into the commands
 * a test runs, so the doc and its test cannot drift apart.
 */
import { readFileSync } from 'node:fs';

/** One command of the walkthrough: a line, or a heredoc up to its terminator; `background` if it ends in ` &`. */
export interface WalkthroughStep {
  readonly command: string;
  readonly background: boolean;
}

const START = '<!-- walkthrough:start -->';
const END = '<!-- walkthrough:end -->';

/** The fenced bash block between the markers, without its fences. Throws when the markers or fences are gone. */
export function walkthroughBlock(docPath: string): string {
  const doc = readFileSync(docPath, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${docPath}: no block between ${START} and ${END}`);
  const fenced = /^```bash\n([\s\S]*?)\n```$/m.exec(doc.slice(from + START.length, to).trim());
  if (!fenced?.[1]) throw new Error(`${docPath}: the walkthrough markers hold no \`\`\`bash block`);
  return fenced[1];
}

/**
 * Each literal of `replacements` replaced everywhere in `text` (numbers only as whole numbers). Throws when one
 * does not occur, so a doc edit that renames a port or path cannot make the test silently use the doc's own.
 */
export function substitute(text: string, replacements: ReadonlyMap<string, string>): string {
  let result = text;
  for (const [literal, value] of replacements) {
    const escaped = literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const pattern = new RegExp(/^\d+$/.test(literal) ? `(?<!\\d)${escaped}(?!\\d)` : escaped, 'g');
    if (!pattern.test(result)) throw new Error(`the walkthrough no longer mentions ${literal}`);
    result = result.replace(pattern, value);
  }
  return result;
}

/** The block's commands in order; comment and blank lines dropped, a `<<'EOF'` heredoc kept whole. */
export function walkthroughSteps(block: string): WalkthroughStep[] {
  const steps: WalkthroughStep[] = [];
  const lines = block.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const heredoc = /<<'(\w+)'$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[1]!, i + 1);
      if (end < 0) throw new Error(`the heredoc of "${line}" has no ${heredoc[1]} line`);
      steps.push({ command: lines.slice(i, end + 1).join('\n'), background: false });
      i = end;
      continue;
    }
    const background = line.endsWith(' &');
    steps.push({ command: background ? line.slice(0, -2) : line, background });
  }
  return steps;
}
