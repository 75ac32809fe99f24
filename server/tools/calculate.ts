import { z } from 'zod';
import { evaluate, ExpressionError } from './expression.js';
import { defineTool, ToolError } from './registry.js';

/** Demo tool: evaluates arithmetic safely. Marked safe, so it runs without approval. */
export const calculate = defineTool({
  name: 'calculate',
  description: 'Evaluate an arithmetic expression: + - * / % ^, parentheses, sqrt, abs, round, min, max, sin, cos, log, ln, exp, pi, e.',
  parameters: z.strictObject({ expression: z.string().min(1).max(500).describe('e.g. "2 * (3 + 4)"') }),
  needsApproval: false,
  async run({ expression }) {
    try {
      return { expression, value: evaluate(expression) };
    } catch (error) {
      if (error instanceof ExpressionError) throw new ToolError('invalid_expression', error.message);
      throw error;
    }
  },
});
