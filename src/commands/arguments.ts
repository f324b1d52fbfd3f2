import { InvalidArgumentError } from 'commander';

/**
 * Parsers of numeric command-line values. A bad value is commander's usage error (exit 2, with the option named)
 * instead of a NaN that reaches a query or a listen call.
 */

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError('expected a non-negative integer');
  }
  return n;
}

export function positiveInteger(value: string): number {
  const n = nonNegativeInteger(value);
  if (n === 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
