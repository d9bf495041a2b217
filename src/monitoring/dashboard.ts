/**
 * The statistics dashboard: one self-contained HTML page (no CDN, no chart library) that reads
 * `/api/stats` every few seconds and draws its charts as inline SVG. It lives in a TS module so
 * `tsc` ships it in `dist/` with the rest; the page's script and style are hashed into the
 * Content-Security-Policy, so nothing else can run on it.
 *
 * Everything from the API is written with `textContent`, never as HTML: failure messages and
 * method names come from handlers and clients.
 */
import crypto from 'node:crypto';

const STYLE = `
:root { --fg:#1d2433; --muted:#6b7385; --line:#e3e6ee; --bg:#f6f7fb; --card:#fff;
  --server:#2f6fde; --client:#e07b24; --p99:#c2410c; --ok:#15803d; --bad:#b91c1c; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; gap:8px 24px; align-items:baseline; padding:14px 24px; background:#1d2433; color:#fff; }
header h1 { font-size:18px; margin:0; font-weight:600; }
header .meta { color:#c5cad6; font-size:13px; }
header .status.error { color:#fca5a5; }
main { padding:16px 24px 32px; display:grid; gap:16px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; overflow-x:auto; }
h2 { font-size:15px; margin:0 0 8px; display:flex; gap:12px; align-items:center; }
h2 small { color:var(--muted); font-weight:normal; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(300px,1fr)); gap:12px; }
figure { margin:0; }
figcaption { font-weight:600; font-size:13px; margin-bottom:2px; }
svg.chart { width:100%; height:170px; display:block; }
svg.chart text { font-size:10px; fill:var(--muted); }
svg.chart .grid { stroke:var(--line); stroke-width:1; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--muted); }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:right; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:600; font-size:12px; }
th:first-child, td:first-child, td.text, th.text { text-align:left; }
td.msg { white-space:normal; text-align:left; max-width:520px; word-break:break-word; }
.ok { color:var(--ok); } .bad { color:var(--bad); }
.empty { color:var(--muted); text-align:left; }
select { font:inherit; }
.two { display:grid; grid-template-columns:repeat(auto-fit,minmax(720px,1fr)); gap:16px; }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var REFRESH_MS = 5000;
  var SVGNS = 'http://www.w3.org/2000/svg';
  // SVG presentation attributes take plain colours (same as the CSS variables).
  var COLORS = { server: '#2f6fde', client: '#e07b24', p99: '#c2410c' };
  var selected = '*';
  var last = null;
  var renders = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmtInt(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
  function fmtMs(n) { return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2); }
  function fmtPct(r) { return r === null || r === undefined ? '–' : (r * 100).toFixed(r === 1 ? 0 : 1) + '%'; }
  function fmtBytes(b) { return b === null || b === undefined ? '–' : (b / 1048576).toFixed(1) + ' MB'; }
  function fmtAge(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 120) return s + 's';
    if (s < 7200) return Math.floor(s / 60) + 'm';
    if (s < 172800) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'd';
  }
  function fmtTime(t) { return new Date(t).toLocaleTimeString('en-GB'); }
  function failuresText(f) {
    var parts = [];
    Object.keys(f).sort().forEach(function (k) { parts.push(k + ' ' + f[k]); });
    return parts.length ? parts.join(', ') : '–';
  }

  function fillTable(id, columns, rows, emptyText) {
    var table = $(id);
    var tbody = table.tBodies[0];
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    if (!rows.length) {
      var tr = el('tr');
      var td = el('td', emptyText, 'empty');
      td.colSpan = columns.length;
      tr.appendChild(td);
      tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (row) {
      var tr = el('tr');
      if (row.key) tr.setAttribute('data-key', row.key);
      columns.forEach(function (c) {
        var v = c.get(row);
        var td = el('td', v, c.cls ? (typeof c.cls === 'function' ? c.cls(row) : c.cls) : '');
        td.setAttribute('data-col', c.name);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  var METHOD_COLUMNS = [
    { name: 'method', get: function (r) { return r.key; } },
    { name: 'calls', get: function (r) { return fmtInt(r.calls); } },
    { name: 'rate', get: function (r) { return r.callsPerSec.toFixed(1); } },
    { name: 'success', get: function (r) { return fmtPct(r.successRate); },
      cls: function (r) { return r.successRate === null ? '' : r.successRate >= 0.99 ? 'ok' : 'bad'; } },
    { name: 'failures', get: function (r) { return failuresText(r.failures); }, cls: 'text' },
    { name: 'inflight', get: function (r) { return fmtInt(r.inFlight); } },
    { name: 'mean', get: function (r) { return fmtMs(r.meanMs); } },
    { name: 'p50', get: function (r) { return fmtMs(r.p50Ms); } },
    { name: 'p99', get: function (r) { return fmtMs(r.p99Ms); } },
    { name: 'queue', get: function (r) { return r.queueP99Ms === null || r.queueP99Ms === undefined ? '-' : fmtMs(r.queueP99Ms); } }
  ];

  // --- charts ---------------------------------------------------------------------------
  var W = 360, H = 170, L = 40, R = 8, T = 8, B = 20;

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function drawChart(id, series, opts) {
    var root = $(id);
    while (root.firstChild) root.removeChild(root.firstChild);
    root.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var now = last ? last.at : Date.now();
    var t1 = Math.floor(now / 60000) * 60000;
    var t0 = t1 - 59 * 60000;
    var max = opts.max;
    if (max === undefined) {
      max = 0;
      series.forEach(function (s) { s.points.forEach(function (p) { if (p.v > max) max = p.v; }); });
      max = niceMax(max);
    }
    var min = opts.min || 0;
    function x(t) { return L + ((t - t0) / (t1 - t0)) * (W - L - R); }
    function y(v) { return T + (1 - (v - min) / (max - min)) * (H - T - B); }
    for (var i = 0; i <= 4; i++) {
      var v = min + ((max - min) * i) / 4;
      root.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), 'class': 'grid' }));
      root.appendChild(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, opts.fmt(v)));
    }
    [60, 45, 30, 15, 0].forEach(function (m) {
      var t = t1 - m * 60000;
      root.appendChild(svg('text', { x: x(t), y: H - 6, 'text-anchor': m === 0 ? 'end' : 'middle' }, m === 0 ? 'now' : '-' + m + 'm'));
    });
    var drawn = 0;
    series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return p.t >= t0 && p.v !== null; });
      if (!pts.length) return;
      var coords = pts.map(function (p) { return x(p.t).toFixed(1) + ',' + y(Math.min(p.v, max)).toFixed(1); });
      root.appendChild(svg('polyline', { points: coords.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2,
        'stroke-linejoin': 'round', 'data-series': s.name }));
      pts.forEach(function (p) {
        root.appendChild(svg('circle', { cx: x(p.t), cy: y(Math.min(p.v, max)), r: 2.5, fill: s.color, 'data-series': s.name, 'data-value': p.v }));
      });
      drawn += pts.length;
    });
    root.setAttribute('data-points', String(drawn));
    var legend = $(id + '-legend');
    while (legend.firstChild) legend.removeChild(legend.firstChild);
    series.forEach(function (s) {
      var span = el('span', s.name);
      var swatch = el('i');
      swatch.setAttribute('data-color', s.color);
      span.insertBefore(swatch, span.firstChild);
      legend.appendChild(span);
    });
    // Swatch colours are set through the CSSOM: inline style attributes are blocked by the CSP.
    Array.prototype.forEach.call(legend.querySelectorAll('i'), function (i) { i.style.background = i.getAttribute('data-color'); });
  }

  function pointsOf(side, key, f) {
    var h = last && last.history[side] && last.history[side][key];
    return (h || []).map(function (p) { return { t: p.t, v: f(p) }; });
  }

  function drawCharts() {
    var key = selected;
    var hasClient = last && last.client !== null;
    var calls = [{ name: 'server', color: COLORS.server, points: pointsOf('server', key, function (p) { return p.calls; }) }];
    if (hasClient) calls.push({ name: 'client', color: COLORS.client, points: pointsOf('client', key, function (p) { return p.calls; }) });
    drawChart('chart-calls', calls, { fmt: function (v) { return v >= 1000 ? (v / 1000) + 'k' : String(v); } });
    drawChart('chart-latency', [
      { name: 'p50', color: COLORS.server, points: pointsOf('server', key, function (p) { return p.calls ? p.p50Ms : null; }) },
      { name: 'p99', color: COLORS.p99, points: pointsOf('server', key, function (p) { return p.calls ? p.p99Ms : null; }) }
    ], { fmt: function (v) { return fmtMs(v); } });
    var rate = function (p) { return p.calls ? (100 * (p.calls - p.failures)) / p.calls : null; };
    var success = [{ name: 'server', color: COLORS.server, points: pointsOf('server', key, rate) }];
    if (hasClient) success.push({ name: 'client', color: COLORS.client, points: pointsOf('client', key, rate) });
    drawChart('chart-success', success, { min: 0, max: 100, fmt: function (v) { return v + '%'; } });
  }

  function fillSelect() {
    var sel = $('method');
    var keys = ['*'];
    last.methods.forEach(function (m) { keys.push(m.key); });
    if (last.client) last.client.methods.forEach(function (m) { if (keys.indexOf(m.key) < 0) keys.push(m.key); });
    var have = Array.prototype.map.call(sel.options, function (o) { return o.value; }).join('\n');
    if (have === keys.join('\n')) return;
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    keys.forEach(function (k) {
      var o = el('option', k === '*' ? 'all methods' : k);
      o.value = k;
      sel.appendChild(o);
    });
    if (keys.indexOf(selected) < 0) selected = '*';
    sel.value = selected;
  }

  function render(data) {
    last = data;
    var m = data.master;
    $('master').textContent = 'master pid ' + m.pid + (m.version ? ' · v' + m.version : '') +
      ' · up ' + fmtAge(data.at - m.startedAt) + ' · ' + fmtBytes(m.rssBytes);
    $('updated').textContent = 'updated ' + fmtTime(data.at);
    $('updated').className = 'meta status';
    fillSelect();
    drawCharts();
    fillTable('methods', METHOD_COLUMNS, data.methods, 'No calls yet.');
    if (data.client) {
      fillTable('client-methods', METHOD_COLUMNS, data.client.methods, 'No client reports yet.');
      fillTable('client-calls', [
        { name: 'method', get: function (r) { return r.service + '.' + r.method; } },
        { name: 'address', get: function (r) { return r.address || '(none)'; }, cls: 'text' },
        { name: 'result', get: function (r) { return r.result; }, cls: function (r) { return r.result === 'success' ? 'text ok' : 'text bad'; } },
        { name: 'attempts', get: function (r) { return fmtInt(r.count); } }
      ], (data.client.attempts || data.client.calls).slice().sort(function (a, b) {
        var ka = a.service + '.' + a.method + ' ' + a.address + ' ' + a.result;
        var kb = b.service + '.' + b.method + ' ' + b.address + ' ' + b.result;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      }), 'No client reports yet.');
      $('udp').textContent = fmtInt(data.client.udp.datagrams) + ' datagrams, ' + fmtInt(data.client.udp.bad) + ' rejected';
    } else {
      $('udp').textContent = 'no UDP receiver: set "stats.udp" in the host config';
      fillTable('client-methods', METHOD_COLUMNS, [], 'Client reports are off.');
      fillTable('client-calls', [{ name: 'method', get: function () { return ''; } }], [], 'Client reports are off.');
    }
    fillTable('workers', [
      { name: 'service', get: function (w) { return w.service; } },
      { name: 'pid', get: function (w) { return w.pid; } },
      { name: 'state', get: function (w) { return w.state; }, cls: function (w) { return w.state === 'listening' ? 'text ok' : 'text'; } },
      { name: 'generation', get: function (w) { return w.generation; } },
      { name: 'restarts', get: function (w) { return w.restarts; } },
      { name: 'uptime', get: function (w) { return fmtAge(data.at - w.startedAt); } },
      { name: 'connections', get: function (w) { return fmtInt(w.connections); } },
      { name: 'requests', get: function (w) { return fmtInt(w.requests); } },
      { name: 'errors', get: function (w) { return fmtInt(w.errors); } },
      { name: 'rss', get: function (w) { return fmtBytes(w.rssBytes); } }
    ], data.workers, 'No workers.');
    fillTable('failures', [
      { name: 'time', get: function (f) { return fmtTime(f.at); } },
      { name: 'side', get: function (f) { return f.side; }, cls: 'text' },
      { name: 'where', get: function (f) { return f.where; }, cls: 'text' },
      { name: 'method', get: function (f) { return f.method; }, cls: 'text' },
      { name: 'kind', get: function (f) { return f.kind; }, cls: 'text bad' },
      { name: 'message', get: function (f) { return f.message; }, cls: 'msg' }
    ], data.failures.slice(0, 20), 'No failures.');
    renders++;
    document.body.setAttribute('data-rendered', String(renders));
  }

  function refresh() {
    fetch('api/stats', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(render)
      .catch(function (err) {
        $('updated').textContent = 'cannot load statistics: ' + err.message;
        $('updated').className = 'meta status error';
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }

  $('method').addEventListener('change', function (e) { selected = e.target.value; drawCharts(); });
  refresh();
})();
`;

const METHOD_HEAD =
  '<thead><tr><th>method</th><th>calls</th><th>calls/s</th><th>success</th><th class="text">failures</th>' +
  '<th>in flight</th><th>mean ms</th><th>p50 ms</th><th>p99 ms</th>' +
  '<th title="p99 of the wait for admission in the workers; calls not run show in failures as SHED, EXPIRED, ABANDONED">queue p99 ms</th></tr></thead><tbody></tbody>';

function chart(id: string, title: string): string {
  return `<figure><figcaption>${title}</figcaption><svg id="${id}" class="chart" role="img" aria-label="${title}"></svg><div class="legend" id="${id}-legend"></div></figure>`;
}

/** The dashboard page served at `/`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>thrifthost statistics</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>thrifthost statistics</h1><span class="meta" id="master">loading…</span><span class="meta status" id="updated"></span></header>
<main>
<section>
<h2>Last hour <small>one point per minute</small> <select id="method" aria-label="method"><option value="*">all methods</option></select></h2>
<div class="charts">
${chart('chart-calls', 'Calls per minute')}
${chart('chart-latency', 'Latency, ms (server)')}
${chart('chart-success', 'Success rate')}
</div>
</section>
<section><h2>Server side <small>answered by the workers, since the master started</small></h2><table id="methods">${METHOD_HEAD}</table></section>
<div class="two">
<section><h2>Caller side <small>reported by clients: <span id="udp"></span></small></h2><table id="client-methods">${METHOD_HEAD}</table></section>
<section><h2>Attempts by address <small>retries and backup requests included: a server that is down or failing shows up here</small></h2><table id="client-calls"><thead><tr><th>method</th><th class="text">address</th><th class="text">result</th><th>attempts</th></tr></thead><tbody></tbody></table></section>
</div>
<section><h2>Workers</h2><table id="workers"><thead><tr><th>service</th><th>pid</th><th class="text">state</th><th>gen</th><th>restarts</th><th>uptime</th><th>connections</th><th>requests</th><th>errors</th><th>RSS</th></tr></thead><tbody></tbody></table></section>
<section><h2>Latest failures <small>the last 20, newest first</small></h2><table id="failures"><thead><tr><th>time</th><th class="text">side</th><th class="text">where</th><th class="text">method</th><th class="text">kind</th><th class="text">message</th></tr></thead><tbody></tbody></table></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** The Content-Security-Policy served with the page: only its own script and style run. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src '${sha256(SCRIPT)}'`,
  `style-src '${sha256(STYLE)}'`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// --- internal ---

function sha256(text: string): string {
  return `sha256-${crypto.createHash('sha256').update(text).digest('base64')}`;
}
