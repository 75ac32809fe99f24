import type { ServerFrame } from '../../shared/protocol.js';
import type { Stream, StreamLog } from '../streams/hub.js';
import { openView, type ViewStart } from './stream-view.js';

/** Where an interop response reads a stream: its mapper's frames start after `base`; the response's, after `resumeAt`. */
export interface MappedViewRange {
  /** The mapper's state is built from the frames after this seq (-1: the whole stream). */
  base: number;
  /** The response starts after this seq (a Last-Event-ID, or a decided call); at least `base`. */
  resumeAt: number;
}

/**
 * Opens the shared view of a stream for a protocol mapper: the view starts after `resumeAt`,
 * so a resume point gets the answers every view gives (`ended` after `done`, `ahead` past the
 * last frame, `expired` before what is kept); then the frames from `base` to `resumeAt` go
 * through the mapper unseen, so its response opens where they left it (the text part it was
 * in, the call just decided). `expired` too when those frames are no longer kept.
 */
export async function openMappedView(stream: StreamLog, mapper: { map(frame: ServerFrame): unknown }, range: MappedViewRange): Promise<ViewStart> {
  const start = await openView(stream, range.resumeAt);
  if (start.status !== 'ok' || range.resumeAt <= range.base) return start;
  let read: Awaited<ReturnType<Stream['read']>>;
  try {
    read = await stream.read(range.base);
  } catch (error) {
    start.detach();
    throw error;
  }
  if (read.status !== 'ok') {
    start.detach();
    return { status: 'expired', firstSeq: read.status === 'expired' ? read.firstSeq : stream.lastSeq + 1 };
  }
  for (const { frame } of read.records) {
    if (frame.seq > range.resumeAt) break;
    mapper.map(frame);
  }
  return start;
}
