/**
 * Writes the JSON Schemas the repository ships, generated from their zod sources and formatted like the rest of
 * the repository. Run by `npm run schema`; a test fails when a committed schema differs from what this renders.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { CONFIG_SCHEMA_PATH, configJsonSchema } from '../src/config/json-schema.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every generated schema: its path relative to the repository root and its JSON value. */
const schemas: readonly { readonly path: string; readonly build: () => unknown }[] = [
  { path: CONFIG_SCHEMA_PATH, build: configJsonSchema },
];

/** The text of each schema file exactly as it is committed. */
export async function renderSchemas(): Promise<{ path: string; text: string }[]> {
  return Promise.all(
    schemas.map(async ({ path, build }) => {
      const absolute = resolve(root, path);
      const options = (await resolveConfig(absolute)) ?? {};
      return { path, text: await format(JSON.stringify(build()), { ...options, filepath: absolute }) };
    }),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const { path, text } of await renderSchemas()) {
    const target = resolve(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    console.log(`wrote ${path}`);
  }
}
