const CUT = ' … [cut to fit the request limit]';

/**
 * `text` within `max` characters: cut, with a marker that says so, when longer. For a text a
 * client sends back in a later request (an answer, a tool's result), so the request is not
 * refused as too long (`LIMITS`).
 */
export const fitText = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max - CUT.length) + CUT);
