/** Inter-token gaps as a small bar chart: even bars are a steady stream, spikes are stalls. */
export function Sparkline({ gaps, testId }: { gaps: readonly number[]; testId: string }) {
  const width = 120;
  const height = 28;
  if (gaps.length === 0) return <svg className="spark" width={width} height={height} data-testid={testId} data-bars={0} aria-hidden="true" />;
  const max = Math.max(...gaps, 1);
  const bar = width / gaps.length;
  const sorted = [...gaps].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid={testId} data-bars={gaps.length} role="img">
      <title>{`gaps between tokens: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`}</title>
      {gaps.map((gap, i) => {
        const h = Math.max(1, (gap / max) * height);
        return <rect key={i} x={i * bar} y={height - h} width={Math.max(1, bar - 0.5)} height={h} />;
      })}
    </svg>
  );
}
