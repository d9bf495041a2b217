// The chaos table, as text for the terminal and as Markdown for chaos/RESULTS.md.

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

/** chaos/RESULTS.md: the table, the notes, and each scenario's details. */
export function markdownReport(run) {
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
  return `# Chaos results

Commit ${run.commit}, ${run.date}: \`${command}\`
(${run.seconds} s; node ${run.machine.node}, ${run.machine.cpus} CPUs shared with other jobs, load average
${run.machine.loadavg.join(' ')}, ${run.machine.platform}). Figures are from one run on a noisy machine;
the same command replays the run's choices (fuzz inputs, kill victims), not its timing.

${markdownTable(run)}

${LEGEND}
${notes.length ? `\nNotes:\n\n${notes.join('\n')}\n` : ''}
## Details

${details.join('\n\n')}
`;
}
