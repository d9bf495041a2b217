/**
 * The module graph of src/ and clients/ has no cycle, type-only imports included: a cycle
 * means two files that can only be understood together, and a value cycle means a module that
 * may see the other half-initialised.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';

it('no module of src/ or clients/ imports itself through others (type imports included)', () => {
  const files = ['src', 'clients'].flatMap((d) => listTs(path.join(REPO, d)));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.{1,2}\/[^']+)\.js';/gms)].map((m) =>
      path.resolve(path.dirname(file), `${m[1]}.ts`),
    );
    graph.set(file, deps.filter((d) => fs.existsSync(d)));
  }
  expect(findCycles(graph).map((c) => c.map((f) => path.relative(REPO, f)).join(' -> '))).toEqual([]);
});

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return listTs(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** One cycle per strongly connected group found by depth-first search. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}
