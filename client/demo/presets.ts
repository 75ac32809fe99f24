import type { TransportChoice } from '../index.js';

/** A chip's whole setup: what the demo shows in one click. */
export interface Preset {
  label: string;
  prompt: string;
  /** Offer get_weather (the model asks for it, you approve it) and get_local_time (your browser runs it). */
  tools: boolean;
  transport: TransportChoice;
  sideBySide: boolean;
  /** What the chip shows off, for its tooltip. */
  shows: string;
}

export const PRESETS: readonly Preset[] = [
  {
    label: "What's the weather in Paris?",
    prompt: "What's the weather in Paris?",
    tools: true,
    transport: 'ws',
    sideBySide: false,
    shows: 'A tool call you approve over the WebSocket, with its round trip and result',
  },
  {
    label: 'What time is it where I am?',
    prompt: 'What time is it where I am?',
    tools: true,
    transport: 'ws',
    sideBySide: false,
    shows: 'A client tool: the model calls get_local_time and your browser answers it',
  },
  {
    label: 'Tell me a story about a lighthouse.',
    prompt: 'Tell me a story about a lighthouse.',
    tools: false,
    transport: 'sse',
    sideBySide: false,
    shows: 'One-way chat over Server-Sent Events',
  },
  {
    label: 'Explain streaming in one paragraph.',
    prompt: 'Explain streaming in one paragraph.',
    tools: false,
    transport: 'auto',
    sideBySide: false,
    shows: 'auto picks SSE when the browser need not talk back',
  },
  {
    label: 'Compare SSE and WebSocket side by side',
    prompt: 'Compare SSE and WebSocket.',
    tools: false,
    transport: 'auto',
    sideBySide: true,
    shows: 'The same answer over both transports: bytes, framing and gaps side by side',
  },
];
