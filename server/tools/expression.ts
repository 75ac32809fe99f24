/**
 * A small arithmetic evaluator (recursive descent; no `eval`): numbers, + - * / % ^,
 * parentheses, unary minus, constants pi and e, and a few functions. Bounded in size and depth.
 */

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

const FUNCTIONS: Record<string, (...xs: number[]) => number> = {
  sqrt: Math.sqrt,
  abs: Math.abs,
  round: Math.round,
  floor: Math.floor,
  ceil: Math.ceil,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  ln: Math.log,
  log: Math.log10,
  exp: Math.exp,
  min: Math.min,
  max: Math.max,
};
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };
const MAX_LENGTH = 500;
const MAX_DEPTH = 64;

type Token = { kind: 'num'; value: number } | { kind: 'id'; value: string } | { kind: 'op'; value: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)|([a-z_][a-z0-9_]*)|([-+*/%^(),]))/giy;
  let at = 0;
  while (at < source.length) {
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) {
      const blank = /^\s*/.exec(source.slice(at))?.[0].length ?? 0;
      if (at + blank === source.length) break;
      throw new ExpressionError(`Unexpected character at position ${at + blank + 1}`);
    }
    at = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'id', value: m[2].toLowerCase() });
    else if (m[3] !== undefined) tokens.push({ kind: 'op', value: m[3] });
  }
  return tokens;
}

export function evaluate(source: string): number {
  if (source.length > MAX_LENGTH) throw new ExpressionError(`Expression longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(source);
  let i = 0;
  let depth = 0;
  const peek = () => tokens[i];
  const isOp = (v: string) => peek()?.kind === 'op' && peek()?.value === v;
  const expect = (v: string) => {
    if (!isOp(v)) throw new ExpressionError(`Expected "${v}"`);
    i++;
  };
  const nested = <T>(f: () => T): T => {
    if (++depth > MAX_DEPTH) throw new ExpressionError('Expression nested too deeply');
    try {
      return f();
    } finally {
      depth--;
    }
  };

  const expr = (): number =>
    nested(() => {
      let v = term();
      while (isOp('+') || isOp('-')) v = tokens[i++]?.value === '+' ? v + term() : v - term();
      return v;
    });
  const term = (): number => {
    let v = unary();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = tokens[i++]?.value;
      const r = unary();
      if ((op === '/' || op === '%') && r === 0) throw new ExpressionError('Division by zero');
      v = op === '*' ? v * r : op === '/' ? v / r : v % r;
    }
    return v;
  };
  // `^` binds tighter than a sign on its left and is right-associative, as in mathematics:
  // -2^2 = -4, 2^-1 = 0.5, 2^3^2 = 512.
  const unary = (): number => {
    if (isOp('-')) return i++, -nested(unary);
    if (isOp('+')) return i++, nested(unary);
    return power();
  };
  const power = (): number => {
    const base = primary();
    return isOp('^') ? (i++, base ** nested(unary)) : base;
  };
  const primary = (): number => {
    const t = tokens[i++];
    if (!t) throw new ExpressionError('Unexpected end of expression');
    if (t.kind === 'num') return t.value;
    if (t.kind === 'op' && t.value === '(') {
      const v = expr();
      expect(')');
      return v;
    }
    if (t.kind === 'id') {
      if (t.value in CONSTANTS && !isOp('(')) return CONSTANTS[t.value] as number;
      const f = FUNCTIONS[t.value];
      if (!f) throw new ExpressionError(`Unknown name "${t.value}"`);
      expect('(');
      const args = [expr()];
      while (isOp(',')) i++, args.push(expr());
      expect(')');
      return f(...args);
    }
    throw new ExpressionError(`Unexpected "${t.value}"`);
  };

  if (tokens.length === 0) throw new ExpressionError('Empty expression');
  const value = expr();
  if (i < tokens.length) throw new ExpressionError(`Unexpected "${tokens[i]?.value}"`);
  if (!Number.isFinite(value)) throw new ExpressionError('The result is not a finite number');
  return value;
}
