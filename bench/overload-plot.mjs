#!/usr/bin/env node
/**
 * Draws docs/overload-goodput.svg from the overload suite's JSON (bench/overload.json): goodput
 * ÷ capacity against offered load ÷ capacity, one line per server and client kind, with the
 * ideal (all offered load served, up to capacity) and the issue's targets marked. Plain SVG
 * written here, no plotting dependency.
 *
 * Usage: node bench/overload-plot.mjs [bench/overload.json] [docs/overload-goodput.svg]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const W = 760;
const H = 440;
const M = { left: 60, right: 250, top: 40, bottom: 50 };
/** Colour per client kind; the server is told by the line style (solid thrifthost, dashed Apache). */
const COLOURS = { header: '#1f77b4', framed: '#2ca02c', apache: '#d62728' };
const TARGET_MARKS = [
  { x: 2, y: 0.8, label: 'ThriftClient ≥ 0.8 at 2×' },
  { x: 4, y: 0.6, label: 'ThriftClient ≥ 0.6 at 4×' },
  { x: 2, y: 0.7, label: 'Apache client ≥ 0.7 at 2×' },
];

/** Writes the plot of `result` to `file`; returns the file. */
export function writePlot(result, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, plot(result));
  return file;
}

/** The SVG text. */
export function plot(result) {
  const all = result.contenders.flatMap((c) => c.runs.filter((r) => !r.invalid).flatMap((r) => r.phases.filter((p) => !p.recovery)));
  // Ratios above 1 happen when the capacity measured before the run was low (a shared machine).
  const X_MAX = Math.max(4.25, ...all.map((p) => p.offeredRatio + 0.1));
  const Y_MAX = Math.ceil(Math.max(1.2, ...all.map((p) => p.goodputRatio + 0.05)) * 5) / 5;
  const px = (x) => M.left + (x / X_MAX) * (W - M.left - M.right);
  const py = (y) => H - M.bottom - (Math.min(y, Y_MAX) / Y_MAX) * (H - M.top - M.bottom);
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">Goodput against offered load (both ÷ measured capacity)</text>`,
  );
  // Grid and axes.
  for (let x = 0; x <= X_MAX; x += 0.5) {
    out.push(`<line x1="${px(x)}" y1="${py(0)}" x2="${px(x)}" y2="${py(Y_MAX)}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${py(0) + 16}" text-anchor="middle">${x}×</text>`);
  }
  for (let y = 0; y <= Y_MAX + 1e-9; y += 0.2) {
    out.push(`<line x1="${px(0)}" y1="${py(y)}" x2="${px(X_MAX)}" y2="${py(y)}" stroke="#eee"/>`);
    out.push(`<text x="${px(0) - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(1)}</text>`);
  }
  out.push(
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(X_MAX)}" y2="${py(0)}" stroke="black"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(Y_MAX)}" stroke="black"/>`,
    `<text x="${(px(0) + px(X_MAX)) / 2}" y="${H - 12}" text-anchor="middle">offered load ÷ capacity (open loop)</text>`,
    `<text x="16" y="${(py(0) + py(Y_MAX)) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(py(0) + py(Y_MAX)) / 2})">goodput ÷ capacity (answered within ${result.meta.config.timeoutMs} ms)</text>`,
    // The ideal: every call served up to capacity.
    `<polyline points="${px(0)},${py(0)} ${px(1)},${py(1)} ${px(X_MAX)},${py(1)}" fill="none" stroke="#999" stroke-dasharray="2,3"/>`,
  );
  for (const t of TARGET_MARKS) {
    out.push(
      `<line x1="${px(t.x) - 8}" y1="${py(t.y)}" x2="${px(t.x) + 8}" y2="${py(t.y)}" stroke="#555" stroke-width="2"><title>target: ${t.label}</title></line>`,
    );
  }
  // One line per server and client kind.
  const legend = [];
  for (const c of result.contenders) {
    for (const r of c.runs) {
      // A run marked invalid (it started on a server still buried by the run before) is left out.
      if (r.invalid) continue;
      const pts = r.phases.filter((p) => !p.recovery).map((p) => [p.offeredRatio, p.goodputRatio]);
      if (!pts.length) continue;
      const colour = COLOURS[r.driver] ?? '#000';
      const dash = c.id === 'host' ? '' : ' stroke-dasharray="6,4"';
      out.push(
        `<polyline points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`,
      );
      for (const [x, y] of pts) {
        const shape =
          c.id === 'host'
            ? `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${colour}"/>`
            : `<rect x="${(px(x) - 3.5).toFixed(1)}" y="${(py(y) - 3.5).toFixed(1)}" width="7" height="7" fill="white" stroke="${colour}" stroke-width="1.5"/>`;
        out.push(shape);
      }
      legend.push({ text: `${c.short}: ${r.label}`, colour, dash, host: c.id === 'host' });
    }
  }
  let ly = M.top + 10;
  const lx = W - M.right + 16;
  for (const l of legend) {
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${l.colour}" stroke-width="2"${l.dash}/>`);
    for (const [i, line] of wrap(l.text, 30).entries()) out.push(`<text x="${lx + 30}" y="${ly + 4 + i * 14}">${esc(line)}</text>`);
    ly += 14 * wrap(l.text, 30).length + 10;
  }
  out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="#999" stroke-dasharray="2,3"/>`);
  out.push(`<text x="${lx + 30}" y="${ly + 4}">ideal</text>`);
  ly += 24;
  out.push(`<line x1="${lx + 4}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="#555" stroke-width="2"/>`);
  out.push(`<text x="${lx + 30}" y="${ly + 4}">targets (thrifthost)</text>`);
  ly += 24;
  const m = result.meta;
  const notes = [
    `commit ${m.commit}, ${m.date.slice(0, 10)}`,
    `load average ${m.loadAtStart.loadavg[0]} → ${m.loadAtEnd.loadavg[0]}`,
    `${m.cpus} CPUs, ${m.pin ? 'driver / servers pinned apart' : 'not pinned'}`,
    `handler ${m.config.spinMs} ms CPU, ${m.config.seconds} s per level`,
  ];
  for (const n of notes) {
    out.push(`<text x="${lx}" y="${ly}" fill="#555" font-size="11">${esc(n)}</text>`);
    ly += 14;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// --- internal ---

function wrap(text, width) {
  const words = text.split(' ');
  const lines = [''];
  for (const w of words) {
    const cur = lines[lines.length - 1];
    if (cur && cur.length + 1 + w.length > width) lines.push(w);
    else lines[lines.length - 1] = cur ? `${cur} ${w}` : w;
  }
  return lines;
}

function esc(s) {
  return String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? path.join(here, 'overload.json');
  const output = process.argv[3] ?? path.join(here, '../docs/overload-goodput.svg');
  const file = writePlot(JSON.parse(fs.readFileSync(input, 'utf8')), output);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
