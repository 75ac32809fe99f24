import type { ServerFrame } from '../../shared/protocol.js';

/** A frame as kept in a stream's log: the object and its JSON, stringified once for all views. */
export interface StreamRecord {
  readonly frame: ServerFrame;
  readonly json: string;
}

/** An append-only, bounded log of one stream's frames. */
export interface StreamLog {
  append(record: StreamRecord): void;
  /** Frames with `seq > afterSeq`; undefined when some of them were already dropped. */
  readFrom(afterSeq: number): StreamRecord[] | undefined;
  /** UTF-16 code units of JSON kept (about the bytes for ASCII text): the retained-bytes metric. */
  readonly bytes: number;
}

/**
 * The in-process log (the default store). Past `maxFrames` the oldest tenth is dropped at
 * once, so appends stay O(1) amortised; a reader asking for dropped frames gets `undefined`.
 */
export function createMemoryLog(maxFrames: number): StreamLog {
  let records: StreamRecord[] = [];
  let firstSeq = 0;
  let bytes = 0;
  return {
    append(record) {
      records.push(record);
      bytes += record.json.length;
      if (records.length > maxFrames) {
        const drop = Math.max(1, Math.floor(maxFrames / 10));
        for (let i = 0; i < drop; i++) bytes -= (records[i] as StreamRecord).json.length;
        records = records.slice(drop);
        firstSeq = records[0]?.frame.seq ?? firstSeq + drop;
      }
    },
    readFrom(afterSeq) {
      if (afterSeq + 1 < firstSeq) return undefined;
      return records.slice(Math.max(0, afterSeq + 1 - firstSeq));
    },
    get bytes() {
      return bytes;
    },
  };
}
