// The chaos table, as text for the terminal (this run) and as Markdown for chaos/RESULTS.md (every
// run recorded at the same commit, row by row: chaos/lib/run-spread.mjs).
import { range } from './run-spread.mjs';

const COLUMNS = [
  ['scenario', 'scenario'],
  ['calls', 'calls made'],
  ['inputs', 'fuzz inputs'],
  ['failed', 'calls failed'],
  ['lost', 'data lost'],
  ['crashes', 'worker crashes'],
  ['recover', 'time to recover'],
  ['target', 'target'],
  ['verdict', 'verdict'],
];

function cells(row) {
  return {
    ...row,
    calls: fmt(row.calls),
    inputs: row.inputs === undefined ? '-' : `${fmt(row.inputs)} (${fmt(row.inputsHung)} hung)`,
    failed: fmt(row.failed),
    lost: fmt(row.lost),
    crashes: fmt(row.crashes),
    verdict: row.pass ? 'PASS' : 'FAIL',
  };
}

/** What each column counts, printed under the Markdown table (docs/reliability.md says more). */
const LEGEND = `Columns: *calls made* are valid calls (for the fuzz row: the pings on the fuzzed worker; its
mutated inputs are *fuzz inputs*, never added to the calls); *calls failed* are valid calls without
their reply (for the fuzz row: pings unanswered within 1 s); *data lost* are replies that did not
match their request plus calls that never settled; *worker crashes* are unexpected worker exits
(workers killed on purpose are shown apart); *time to recover* is per scenario (see its details).`;

const fmt = (n) =>
  n === null || n === undefined ? '-' : typeof n === 'number' ? n.toLocaleString('en-US') : String(n);

function allRows(run) {
  return run.scenarios.flatMap((s) => s.rows.map(cells));
}

/** Fixed-width table for the terminal. */
export function formatTable(run) {
  const rows = allRows(run);
  const widths = COLUMNS.map(([key, head]) =>
    Math.max(head.length, ...rows.map((r) => String(r[key] ?? '').length)),
  );
  const line = (values) => values.map((v, i) => String(v ?? '').padEnd(widths[i])).join('  ');
  const out = [
    '',
    `thrifthost chaos (${run.mode}, commit ${run.commit}, seed ${run.seed}, ${run.seconds} s, node ${run.machine.node}, ${run.machine.cpus} cpus, load ${run.machine.loadavg.join(' ')})`,
    line(COLUMNS.map(([, head]) => head)),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(COLUMNS.map(([key]) => r[key]))),
  ];
  const notes = rows.filter((r) => r.note);
  if (notes.length) out.push('', ...notes.map((r) => `${r.scenario}: ${r.note}`));
  return `${out.join('\n')}\n`;
}

/** Markdown table. */
export function markdownTable(run) {
  const rows = allRows(run);
  const esc = (v) => String(v ?? '').replaceAll('|', '\\|');
  return [
    `| ${COLUMNS.map(([, h]) => h).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${COLUMNS.map(([k]) => esc(r[k])).join(' | ')} |`),
  ].join('\n');
}

/**
 * The published table: per row, how many of the recorded runs passed and the min–max of each
 * figure over them. `spread` from spreadOverRuns.
 */
export function spreadTable(spread) {
  const esc = (v) => String(v ?? '').replaceAll('|', '\\|');
  const head = ['scenario', 'runs passed', 'calls made', 'calls failed', 'data lost', 'worker crashes', 'measured (min–max over the runs)', 'target', 'verdict'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of spread) {
    const m = r.measured;
    const measured = m ? `${m.name} ${range(m.values, 1)}${m.unit ? ` ${m.unit}` : ''}${m.bound !== undefined ? ` (bound ${m.bound})` : ''}` : '-';
    const inputs = range(r.values.inputs);
    const verdict = r.passed === r.runs ? 'PASS' : r.passed === 0 ? 'FAIL' : `FAIL in ${r.runs - r.passed} of ${r.runs}`;
    lines.push(
      `| ${[
        r.scenario,
        `${r.passed} / ${r.runs}`,
        `${range(r.values.calls)}${inputs === '-' ? '' : ` (+ ${inputs} fuzz inputs)`}`,
        range(r.values.failed),
        range(r.values.lost),
        range(r.values.crashes),
        measured,
        r.target,
        verdict,
      ]
        .map(esc)
        .join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * chaos/RESULTS.md: the spread over every run recorded at this commit (`runs`, `spread`), then
 * the latest run's own table, notes and details.
 */
export function markdownReport(run, { runs = [run], spread, jsonFile = 'chaos/results.json' } = {}) {
  const rows = allRows(run);
  const notes = rows.filter((r) => r.note).map((r) => `- **${r.scenario}**: ${r.note}`);
  const details = run.scenarios.map(
    (s) =>
      `### ${s.id}. ${s.title} (${s.seconds} s)\n\n\`\`\`json\n${JSON.stringify(s.details, null, 2)}\n\`\`\``,
  );
  const command = [
    'node chaos/run.mjs',
    run.mode === 'quick' ? ' --quick' : '',
    run.options.soak ? ' --soak' : '',
    run.options.full ? ' --full' : '',
    run.options.only ? ` --only ${run.options.only.join(',')}` : '',
    ` --seed ${run.seed}`,
  ].join('');
  const list = runs
    .map((r) => `- ${r.date}, seed ${r.seed}${r.options?.only ? `, scenarios ${r.options.only.join(',')} only` : ''}, load average ${r.machine.loadavg.join(' ')}`)
    .join('\n');
  return `# Chaos results

Commit ${run.commit}: ${runs.length} run(s) recorded at this commit with the same options
(${run.mode} mode${run.options.soak ? ', --soak' : ''}${run.options.full ? ', --full' : ''}), each
row over the runs that included its scenario. Node ${run.machine.node}, ${run.machine.cpus} CPUs
shared with other jobs, ${run.machine.platform}. A row passes only if it passed in every run;
the figures are the min–max over the runs, not the best run. The raw figures of every run are in
\`${jsonFile}\` (\`spread\`; the latest run's details beside them).

${spread ? spreadTable(spread) : markdownTable(run)}

${LEGEND} *measured* is the figure a row's bound applies to, where it has one.

Runs:

${list}

## Latest run

${run.date}: \`${command}\` (${run.seconds} s, load average ${run.machine.loadavg.join(' ')}).
The same command replays the run's choices (fuzz inputs, kill victims), not its timing.

${markdownTable(run)}
${notes.length ? `\nNotes:\n\n${notes.join('\n')}\n` : ''}
## Details of the latest run

${details.join('\n\n')}
`;
}
