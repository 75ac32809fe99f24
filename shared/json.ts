/** Whether `text` is one whole JSON text (RFC 8259), of any type; never throws. */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
