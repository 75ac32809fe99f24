import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, ExpressionError } from '../../server/tools/expression.js';

describe('expression evaluator', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['2 * (3 + 4)', 14],
    ['7 % 4', 3],
    ['1 / 4', 0.25],
    ['2e3 + .5', 2000.5],
    ['-3 * -2', 6],
    ['- - 2', 2],
    ['+4', 4],
  ])('evaluates %s = %s', (source, value) => {
    expect(evaluate(source)).toBe(value);
  });

  it('binds ^ tighter than a leading minus and to the right, as in mathematics', () => {
    expect(evaluate('-2^2')).toBe(-4);
    expect(evaluate('(-2)^2')).toBe(4);
    expect(evaluate('2^-1')).toBe(0.5);
    expect(evaluate('2^3^2')).toBe(512);
    expect(evaluate('2*3^2')).toBe(18);
  });

  it('knows its functions and constants, case-insensitively', () => {
    expect(evaluate('sqrt(16) + abs(-2) + round(2.5)')).toBe(9);
    expect(evaluate('max(1, 5, 3) - min(4, 2)')).toBe(3);
    expect(evaluate('PI')).toBeCloseTo(Math.PI);
    expect(evaluate('ln(e)')).toBe(1);
    expect(evaluate('log(1000)')).toBe(3);
  });

  it.each([
    ['', 'Empty expression'],
    ['1 / 0', 'Division by zero'],
    ['5 % 0', 'Division by zero'],
    ['2 +', 'Unexpected end of expression'],
    ['(1 + 2', 'Expected ")"'],
    ['1 2', 'Unexpected "2"'],
    ['foo(1)', 'Unknown name "foo"'],
    ['2 $ 3', 'Unexpected character at position 3'],
    ['sqrt(-1)', 'The result is not a finite number'],
    ['10^400', 'The result is not a finite number'],
    ['process(1)', 'Unknown name "process"'],
    ['process.exit(1)', 'Unexpected character at position 8'],
  ])('refuses %j: %s', (source, message) => {
    expect(() => evaluate(source)).toThrow(new ExpressionError(message));
  });

  it('bounds length and nesting depth, so a hostile expression cannot exhaust the stack', () => {
    expect(() => evaluate('1+'.repeat(300) + '1')).toThrow('Expression longer than 500 characters');
    expect(() => evaluate(`${'('.repeat(100)}1${')'.repeat(100)}`)).toThrow('Expression nested too deeply');
    expect(() => evaluate(`${'-'.repeat(100)}1`)).toThrow('Expression nested too deeply');
    expect(() => evaluate(`2${'^2'.repeat(100)}`)).toThrow('Expression nested too deeply');
  });

  it('agrees with JavaScript arithmetic on + - * trees of small integers (property)', () => {
    type Node = { n: number } | { op: '+' | '-' | '*'; l: Node; r: Node };
    const { tree } = fc.letrec<{ tree: Node }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ n: fc.integer({ min: -50, max: 50 }) }),
        fc.record({ op: fc.constantFrom('+' as const, '-' as const, '*' as const), l: tie('tree'), r: tie('tree') }),
      ),
    }));
    const show = (node: Node): string => ('n' in node ? (node.n < 0 ? `(${node.n})` : String(node.n)) : `(${show(node.l)} ${node.op} ${show(node.r)})`);
    const value = (node: Node): number => {
      if ('n' in node) return node.n;
      const l = value(node.l);
      const r = value(node.r);
      return node.op === '+' ? l + r : node.op === '-' ? l - r : l * r;
    };
    fc.assert(
      fc.property(tree, (node) => {
        const source = show(node);
        fc.pre(source.length <= 500);
        // `+ 0` folds -0 into 0: both are the same answer to a person.
        expect(evaluate(source) + 0).toBe(value(node) + 0);
      }),
      { numRuns: 300 },
    );
  });
});
