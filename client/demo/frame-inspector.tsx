import type { WireFrame } from '../index.js';

/** The last frames of the stream as they were on the wire; closed by default. */
export function FrameInspector({ frames, id }: { frames: readonly WireFrame[]; id: (base: string) => string }) {
  return (
    <details className="inspector" data-testid={id('inspector')}>
      <summary>
        Frames on the wire <span className="muted">(last {frames.length})</span>
      </summary>
      <ol className="frames" data-testid={id('frames-list')}>
        {frames.map((f) => (
          <li key={`${f.seq}:${f.type}:${f.atMs}`} className={`frame frame-${f.type}`}>
            <span className="frame-meta">
              #{f.seq} {f.type} · {f.atMs.toFixed(0)} ms
            </span>
            <code>{f.raw}</code>
          </li>
        ))}
      </ol>
    </details>
  );
}
