import type { ModelEvent, ModelProvider, ModelRequest } from '../../server/models/provider.js';

/**
 * A model whose turns are written by the test: each call to `stream` plays the next turn.
 * A turn may await anything (a gate the test opens) between events; aborts end it at once.
 */
export function scriptedProvider(turns: ((request: ModelRequest) => AsyncIterable<ModelEvent>)[]): ModelProvider & { requests: ModelRequest[] } {
  const requests: ModelRequest[] = [];
  return {
    name: 'simulated',
    defaultModel: 'scripted',
    requests,
    stream(request) {
      requests.push(request);
      const turn = turns[requests.length - 1];
      if (!turn) throw new Error(`no scripted turn ${requests.length}`);
      return turn(request);
    },
  };
}

/** A promise the test resolves by hand: an event it controls. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
