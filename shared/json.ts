/** Whether `text` is one whole JSON text (RFC 8259), of any type; never throws. */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** One whole JSON text (RFC 8259) as its value, or `{ ok: false }` when it is not one; never throws. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * Whether a JSON value nests at most `maxDepth` arrays and objects deep; walks without recursion,
 * so a hostile value thousands of levels deep is measured, not a stack overflow. Code that
 * recurses over client JSON (RFC 8785 canonical form, schema checks) is only handed values within it.
 */
export function withinDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= maxDepth) return false;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return true;
}
