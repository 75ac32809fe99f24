/**
 * `tokenwire/protocol`: the wire protocol as zod schemas (one discriminated union per
 * direction, types from `z.infer`), its version, the error codes every frame and HTTP error
 * carries, and decoders that never throw. For writing a client in another stack, a proxy that
 * reads frames, or tests; runs anywhere (no Node APIs).
 * @packageDocumentation
 */
export * from './protocol.js';
export { decodeClientFrame, decodeServerFrame, parseWith, type Decoded } from './frame-codec.js';
export { ERROR_CODES, ERROR_CODE_LIST, TokenwireError, isTokenwireError, toTokenwireError, type ErrorCode } from './errors.js';
