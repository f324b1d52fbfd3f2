import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_ERROR_STATUS } from '../../../src/server/api/api-error.js';
import { API_ROUTES } from '../../../src/server/api/routes.js';

interface Operation {
  responses?: Record<string, unknown>;
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } };
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const document = parse(readFileSync(new URL('../../../docs/openapi.yaml', import.meta.url), 'utf8'), {
  merge: true,
}) as OpenApiDocument;

function documentedOperations(): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.has(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe('docs/openapi.yaml', () => {
  it('is an OpenAPI 3 document', () => {
    expect(document.openapi).toMatch(/^3\./);
  });

  it('lists exactly the routes the send API serves, with their methods', () => {
    const served = API_ROUTES.flatMap((route) =>
      route.methods.map((method) => `${method} ${route.template}`),
    );
    expect(documentedOperations().sort()).toEqual([...served].sort());
  });

  it('lists exactly the error codes the send API answers with', () => {
    const codes = document.components.schemas.Error.properties.error.properties.code.enum;
    expect([...codes].sort()).toEqual(Object.keys(API_ERROR_STATUS).sort());
  });

  it('documents 401 on every operation', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!HTTP_METHODS.has(method)) continue;
        expect(Object.keys((operation as Operation).responses ?? {}), `${method} ${path}`).toContain('401');
      }
    }
  });
});
