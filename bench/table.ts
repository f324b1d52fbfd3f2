/** A plain-text table for the bench's report: the first column left-aligned, the others right-aligned. */
export function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [
    header,
    ...rows.map((row) =>
      row.map((cell) => (typeof cell === 'number' && Number.isNaN(cell) ? '–' : String(cell))),
    ),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [`\n${title}`, ...cells.map((row) => `  ${line(row)}`)].join('\n');
}
