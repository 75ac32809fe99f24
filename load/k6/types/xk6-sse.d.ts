// Types for the k6/x/sse extension (phymbert/xk6-sse v0.1), which @types/k6 does not cover:
// only what the scripts here use. sse.open blocks the VU until the stream ends or is closed.
declare module 'k6/x/sse' {
  /** Request options; `method` and `body` let a script POST, as /api/chat needs. */
  export interface SseParams {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    tags?: Record<string, string>;
  }
  /** One dispatched event: `name` is the SSE `event:` field, `id` the `id:` field. */
  export interface SseEvent {
    id: string;
    name: string;
    data: string;
  }
  export interface SseError {
    error(): string;
  }
  export interface SseClient {
    on(event: 'open', callback: () => void): void;
    on(event: 'event', callback: (event: SseEvent) => void): void;
    on(event: 'error', callback: (error: SseError) => void): void;
    close(): void;
  }
  export interface SseResponse {
    url: string;
    status: number;
    headers: Record<string, string>;
    error: string;
  }
  const sse: {
    open(url: string, params: SseParams, callback: (client: SseClient) => void): SseResponse;
  };
  export default sse;
}
