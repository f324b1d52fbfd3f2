/**
 * .env.example ships exactly the placeholders the config loader refuses (src/config/placeholders.ts), so the two
 * cannot drift apart: a new placeholder there without an entry in the list fails here, and so does the reverse.
 */
import { describe, expect, it } from 'vitest';
import { ENV_EXAMPLE_PLACEHOLDERS } from '../../src/config/placeholders.js';
import { envExample } from './compose-file.js';

/** Variables whose value is a credential, by name. */
const SECRET_NAME = /SECRET|PASSWORD|TOKEN/;

describe('.env.example', () => {
  it('ships each placeholder the loader refuses, as the value of its variable', () => {
    const env = envExample();
    for (const { variable, value } of ENV_EXAMPLE_PLACEHOLDERS) expect(env[variable], variable).toBe(value);
  });

  it('ships no other credential: every other secret is left empty for the user to generate', () => {
    const listed = new Set(ENV_EXAMPLE_PLACEHOLDERS.map((p) => p.variable));
    const shipped = Object.entries(envExample()).filter(
      ([name, value]) => SECRET_NAME.test(name) && value !== '',
    );
    expect(shipped.map(([name]) => name).sort()).toEqual([...listed].sort());
  });
});
