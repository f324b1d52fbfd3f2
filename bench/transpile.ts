/**
 * A bench/ file that imports packages and node builtins only, as plain JavaScript (the project's own TypeScript,
 * one file, no type check). Child processes run it without tsx's loader, which would add ~30 MB of RSS and its
 * own work to the process being measured.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

export function plainJavaScript(file: URL): string {
  const source = readFileSync(file, 'utf8');
  const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
  return ts.transpileModule(source, { compilerOptions }).outputText;
}
