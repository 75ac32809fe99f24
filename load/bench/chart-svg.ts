import type { BenchResults, IdleResult, StreamResult } from './types.js';

/** A hand-written SVG of the results: six small panels, no dependencies. */

interface Series {
  name: string;
  color: string;
  dashed: boolean;
  values: (number | null)[];
}

const PANEL_W = 380;
const PANEL_H = 230;
const PAD = { left: 56, right: 14, top: 30, bottom: 38 };
const COLORS: Record<string, string> = {
  'tokenwire/sse': '#1f77b4',
  'tokenwire/ws': '#d62728',
  'baseline/http': '#7fb2d9',
  'baseline/ws': '#f0a0a0',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100));

/** The top of a y axis with four round steps (1, 2, 2.5 or 5 × 10^n each) that covers `max`. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= raw) return 4 * m * magnitude;
  return 40 * magnitude;
}

/** A y axis: linear from 0, or logarithmic over whole powers of ten. */
interface Axis {
  /** 0 (bottom) to 1 (top). */
  at(v: number): number;
  ticks: number[];
}

const linearAxis = (max: number): Axis => {
  const top = niceMax(max);
  return { at: (v) => v / top, ticks: [0, 1, 2, 3, 4].map((i) => (top * i) / 4) };
};

const logAxis = (values: number[]): Axis => {
  const positive = values.filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...positive, 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive, 10))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return { at: (v) => (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo), ticks };
};

function frame(x: number, y: number, title: string, axis: Axis): string[] {
  const out: string[] = [];
  const plotW = PANEL_W - PAD.left - PAD.right;
  const plotH = PANEL_H - PAD.top - PAD.bottom;
  out.push(`<text x="${x + PANEL_W / 2}" y="${y + 18}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  for (const v of axis.ticks) {
    const yy = y + PAD.top + plotH - plotH * axis.at(v);
    out.push(`<line x1="${x + PAD.left}" y1="${yy}" x2="${x + PAD.left + plotW}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x + PAD.left - 6}" y="${yy + 4}" text-anchor="end" font-size="11">${fmt(v)}</text>`);
  }
  out.push(`<rect x="${x + PAD.left}" y="${y + PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  return out;
}

function linePanel(x: number, y: number, title: string, xLabel: string, categories: string[], series: Series[], log = false): string {
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const axis = log ? logAxis(values) : linearAxis(Math.max(0, ...values));
  const out = frame(x, y, title, axis);
  const plotW = PANEL_W - PAD.left - PAD.right;
  const plotH = PANEL_H - PAD.top - PAD.bottom;
  const px = (i: number) => x + PAD.left + (categories.length === 1 ? plotW / 2 : 20 + ((plotW - 40) * i) / (categories.length - 1));
  const py = (v: number) => y + PAD.top + plotH - plotH * axis.at(v);
  categories.forEach((c, i) => out.push(`<text x="${px(i)}" y="${y + PAD.top + plotH + 15}" text-anchor="middle" font-size="11">${esc(c)}</text>`));
  out.push(`<text x="${x + PAD.left + plotW / 2}" y="${y + PANEL_H - 6}" text-anchor="middle" font-size="11" fill="#555">${esc(xLabel)}</text>`);
  for (const s of series) {
    const points = s.values.map((v, i) => (v === null || !Number.isFinite(v) ? null : [px(i), py(v)] as const)).filter((p) => p !== null);
    if (points.length > 1) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    }
    for (const [a, b] of points) out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(s.name)}</title></circle>`);
  }
  return out.join('\n');
}

function barPanel(x: number, y: number, title: string, bars: { label: string; color: string; value: number }[], reference?: { value: number; label: string }): string {
  const yMax = niceMax(Math.max(reference?.value ?? 0, ...bars.map((b) => b.value)));
  const out = frame(x, y, title, linearAxis(yMax));
  const plotW = PANEL_W - PAD.left - PAD.right;
  const plotH = PANEL_H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const h = (plotH * b.value) / yMax;
    const bx = x + PAD.left + slot * i + slot * 0.15;
    out.push(`<rect x="${bx.toFixed(1)}" y="${(y + PAD.top + plotH - h).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color}"><title>${esc(`${b.label}: ${fmt(b.value)}`)}</title></rect>`);
    out.push(`<text x="${(bx + slot * 0.35).toFixed(1)}" y="${(y + PAD.top + plotH - h - 3).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(b.value)}</text>`);
    // A label may have two lines: "a|b".
    const [first, second] = b.label.split('|');
    const lx = (bx + slot * 0.35).toFixed(1);
    out.push(`<text x="${lx}" y="${y + PAD.top + plotH + 13}" text-anchor="middle" font-size="9">${esc(first ?? '')}${second ? `<tspan x="${lx}" dy="11">${esc(second)}</tspan>` : ''}</text>`);
  });
  if (reference) {
    const ry = y + PAD.top + plotH - (plotH * reference.value) / yMax;
    out.push(`<line x1="${x + PAD.left}" y1="${ry}" x2="${x + PAD.left + plotW}" y2="${ry}" stroke="#2ca02c" stroke-dasharray="4 3"/>`);
    if (reference.label) out.push(`<text x="${x + PAD.left + plotW - 4}" y="${ry - 4}" text-anchor="end" font-size="10" fill="#2ca02c">${esc(reference.label)}</text>`);
  }
  return out.join('\n');
}

/** Renders the chart for a results file. */
export function renderChart(results: BenchResults): string {
  const streams = results.results.filter((r): r is StreamResult => r.kind === 'stream');
  const idle = results.results.filter((r): r is IdleResult => r.kind === 'idle');
  const latency = streams.filter((r) => r.phase === 'latency');
  const levels = [...new Set(latency.map((r) => r.streams))].sort((a, b) => a - b);
  const keys = [...new Set(streams.map((r) => `${r.target}/${r.wire}`))].sort();
  const series = (pick: (r: StreamResult) => number): Series[] =>
    keys.map((key) => ({
      name: key,
      color: COLORS[key] ?? '#666',
      dashed: key.startsWith('baseline'),
      values: levels.map((lv) => {
        const row = latency.find((r) => `${r.target}/${r.wire}` === key && r.streams === lv);
        return row ? pick(row) : null;
      }),
    }));
  const categories = levels.map(String);
  const xLabel = `concurrent streams (${latency[0]?.tokensPerSecondPerStream ?? 30} tokens/s each)`;
  const throughput = streams.filter((r) => r.phase === 'throughput');
  const short = (key: string) => key.replace('tokenwire/', 'tw ').replace('baseline/', 'base ');

  const panels = [
    linePanel(0, 0, 'Added inter-token latency p99 (ms, log)', xLabel, categories, series((r) => r.addedInterTokenMs.p99), true),
    linePanel(PANEL_W, 0, 'Time to first token p99 (ms, log)', xLabel, categories, series((r) => r.ttftMs.p99), true),
    linePanel(PANEL_W * 2, 0, 'Server CPU per 1,000 tokens (ms)', xLabel, categories, series((r) => r.serverCpu.msPer1000Tokens)),
    linePanel(0, PANEL_H, 'Tokens delivered, % of offered', xLabel, categories, series((r) => Math.min(100, 100 * r.throughput.deliveredRatio))),
    barPanel(
      PANEL_W,
      PANEL_H,
      'Throughput: tokens/s (line: 150k target)',
      throughput.map((r) => ({ label: `${short(`${r.target}/${r.wire}`)}|${r.level.replace(/000(?=x|$)/g, 'k')}`, color: COLORS[`${r.target}/${r.wire}`] ?? '#666', value: r.throughput.tokensPerSecond })),
      { value: 150_000, label: '' },
    ),
    barPanel(
      PANEL_W * 2,
      PANEL_H,
      'Memory per idle connection (KiB)',
      idle.map((r) => ({ label: short(`${r.target}/${r.wire}`), color: COLORS[`${r.target}/${r.wire}`] ?? '#666', value: r.bytesPerConnection / 1024 })),
      { value: 16, label: 'target 16 KiB' },
    ),
  ];
  const legend = keys
    .map((key, i) => {
      const lx = 12 + i * 190;
      const c = COLORS[key] ?? '#666';
      return `<line x1="${lx}" y1="${PANEL_H * 2 + 18}" x2="${lx + 26}" y2="${PANEL_H * 2 + 18}" stroke="${c}" stroke-width="3"${key.startsWith('baseline') ? ' stroke-dasharray="5 3"' : ''}/><text x="${lx + 32}" y="${PANEL_H * 2 + 22}" font-size="12">${esc(key)}</text>`;
    })
    .join('\n');
  const width = PANEL_W * 3;
  const height = PANEL_H * 2 + 50;
  const caption = `${results.name}${results.quick ? ' (quick)' : ''} · ${results.machine.cpuModel}, ${results.machine.cores} cores · Node ${results.machine.nodeVersion} · ${results.machine.date.slice(0, 16).replace('T', ' ')}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
${panels.join('\n')}
${legend}
<text x="${width - 10}" y="${height - 8}" text-anchor="end" font-size="10" fill="#777">${esc(caption)}</text>
</svg>
`;
}
