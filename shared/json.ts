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
