// k6 has a `console` global (its log goes to stderr) that @types/k6 does not declare; the
// type-check runs without the DOM library, so it is declared here.
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
};
