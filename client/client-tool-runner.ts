import { TokenwireError } from '../shared/errors.js';
import { LIMITS } from '../shared/protocol.js';
import type { ClientToolHandler } from './types.js';

/** What goes back for a client tool's call: its output, or its error. */
export type ToolOutputBody = { output: unknown } | { error: { code: string; message: string } };

/** A call the server asked this client to run: its tool and the arguments to run it with. */
export interface ClientToolRun {
  callId: string;
  name: string;
  args: Record<string, unknown>;
}

/**
 * Sends an answer over the stream's transport as it is now. `resend`: an answer sent before
 * and perhaps lost; it needs the server's own verdict (HTTP), as a refusal is expected.
 */
export type SendToolOutput = (callId: string, body: ToolOutputBody, options?: { resend?: boolean }) => Promise<void>;

const CODE = /^[A-Za-z0-9_-]+$/;
/** Refusals that end the attempt: the call is answered, gone, or not this client's to answer. */
const FINAL = new Set(['already_decided', 'tool_timeout', 'unknown_call', 'forbidden', 'invalid_request', 'payload_too_large']);
const RETRY_MS = [250, 500, 1_000, 2_000];

/** A thrown value as a tool error the server takes: a safe code and a bounded message. */
function errorBody(thrown: unknown): ToolOutputBody {
  const code = (thrown as { code?: unknown } | null)?.code;
  const message = thrown instanceof Error ? thrown.message : typeof thrown === 'string' ? thrown : '';
  return {
    error: {
      code: typeof code === 'string' && CODE.test(code) && code.length <= LIMITS.toolErrorCodeChars ? code : 'tool_failed',
      message: (message || 'The client tool failed.').slice(0, LIMITS.reasonChars),
    },
  };
}

/** One call this client runs, from its `tool_run` until its `tool_result`. */
interface OpenCall {
  abort: AbortController;
  /** The handler's answer, kept until the call's `tool_result`: it may need sending again. */
  answer?: ToolOutputBody;
  sending: boolean;
}

/**
 * Runs a stream's client tool calls: each call once (a replay after a reconnect does not run it
 * again), its signal aborted when the call closes or the stream ends, and its answer sent with a
 * few retries while the connection comes back, and again after a reconnect until the call's
 * `tool_result` shows the server took it. `onError` hears an answer the server refused.
 */
export function createClientToolRunner(handlers: Readonly<Record<string, ClientToolHandler>> | undefined, onError: (error: TokenwireError) => void) {
  const started = new Set<string>();
  const open = new Map<string, OpenCall>();

  async function deliver(callId: string, call: OpenCall, body: ToolOutputBody, send: () => SendToolOutput, resend: boolean): Promise<void> {
    const { signal } = call.abort;
    call.sending = true;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await send()(callId, body, resend ? { resend } : undefined);
        } catch (thrown) {
          const error = thrown instanceof TokenwireError ? thrown : new TokenwireError('connection_lost', 'The tool output could not be sent.', { cause: thrown });
          // The first answer did arrive after all; its tool_result is on its way.
          if (resend && error.code === 'already_decided') return;
          const wait = RETRY_MS[attempt];
          if (FINAL.has(error.code) || wait === undefined || signal.aborted) return onError(error);
          await new Promise((resolve) => setTimeout(resolve, wait));
          if (signal.aborted) return;
        }
      }
    } finally {
      call.sending = false;
    }
  }

  return {
    /** Whether this client has a handler for the tool. */
    handles: (name: string) => handlers !== undefined && Object.hasOwn(handlers, name),
    /** Runs a call the server asked this client to run (its `tool_run`), once. `send` gives the transport of the moment. */
    run(call: ClientToolRun, send: () => SendToolOutput): void {
      const handler = handlers && Object.hasOwn(handlers, call.name) ? handlers[call.name] : undefined;
      if (!handler || started.has(call.callId)) return;
      started.add(call.callId);
      const opened: OpenCall = { abort: new AbortController(), sending: false };
      open.set(call.callId, opened);
      void (async () => {
        let body: ToolOutputBody;
        try {
          const result = await handler(call.args, { callId: call.callId, name: call.name, signal: opened.abort.signal });
          body = { output: result === undefined ? null : result };
        } catch (thrown) {
          body = errorBody(thrown);
        }
        if (opened.abort.signal.aborted) return;
        opened.answer = body;
        await deliver(call.callId, opened, body, send, false);
      })();
    },
    /**
     * The stream is attached again after a drop: an answer sent on the lost connection may
     * never have arrived (a WebSocket send is not acknowledged), so each one still without its
     * `tool_result` goes again; one the server already took is refused `already_decided`, quietly.
     */
    resend(send: () => SendToolOutput): void {
      for (const [callId, call] of open) if (call.answer !== undefined && !call.sending) void deliver(callId, call, call.answer, send, true);
    },
    /** The call's `tool_result` arrived: whatever still runs or waits to be resent for it is no longer wanted. */
    settle(callId: string): void {
      open.get(callId)?.abort.abort(new TokenwireError('unknown_call', 'The tool call was closed.'));
      open.delete(callId);
    },
    /** The stream ended: every running call is aborted. */
    abortAll(): void {
      for (const call of open.values()) call.abort.abort(new TokenwireError('unknown_call', 'The stream ended.'));
      open.clear();
    },
  };
}
