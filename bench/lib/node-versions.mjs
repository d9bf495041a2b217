/**
 * The Node.js versions every Node contender runs under, each from an npm package in
 * devDependencies so that a figure names an exact version: Node 24 from `node`
 * (node_modules/node/bin/node), Node 22 from `node22` (`npm:node@22.x`). A contender `host-2`
 * becomes `host-2@22` and `host-2@24`, each measured in the same rounds as the others.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The majors a bench runs by default (`--node 22,24`), and the package each comes from. */
export const NODE_PACKAGES = { 22: 'node22', 24: 'node' };
export const DEFAULT_NODES = Object.keys(NODE_PACKAGES).join(',');

/**
 * The Node binaries for `majors` (e.g. `['22', '24']`): `{ major, bin, version }` for each that is
 * installed with that major; the others are named in `skipped` (install with `npm install`).
 * `--node current` is the Node running the bench, whatever its version.
 * @returns {{ nodes: Array<{ major: string, bin: string, version: string }>, skipped: string[] }}
 */
export function nodeBinaries(majors) {
  const nodes = [];
  const skipped = [];
  for (const major of majors) {
    if (major === 'current') {
      nodes.push({ major: process.versions.node.split('.')[0], bin: process.execPath, version: process.version });
      continue;
    }
    const pkg = NODE_PACKAGES[major];
    const bin = pkg && path.join(root, 'node_modules', pkg, 'bin', 'node');
    let version = '';
    try {
      version = bin && fs.existsSync(bin) ? execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() : '';
    } catch {}
    if (version.startsWith(`v${major}.`)) nodes.push({ major, bin, version });
    else
      skipped.push(
        pkg
          ? `Node ${major} skipped: node_modules/${pkg}/bin/node ${version ? `is ${version}` : 'is missing'} (run npm install)`
          : `Node ${major} skipped: no npm package for it (known: ${Object.keys(NODE_PACKAGES).join(', ')})`,
      );
  }
  return { nodes, skipped };
}

/**
 * One contender per Node version: `id@major`, its label with the version, its baseline the same
 * baseline under the same Node; `cmd` and `env` get the node as their last argument.
 */
export function perNode(contender, nodes) {
  return nodes.map((node) => ({
    ...contender,
    id: `${contender.id}@${node.major}`,
    base: contender.id,
    node,
    label: `${contender.label}, Node ${node.major}`,
    ...(contender.baseline ? { baseline: nodeBaseline(contender.baseline, node) } : {}),
  }));
}

/** `id` (a contender's id without a version) as run under `node`; C++ ids stay as they are. */
export function nodeBaseline(id, node) {
  return id.startsWith('cpp-') ? id : `${id}@${node.major}`;
}

/** Whether `only` (ids from --only) selects `c`: by its full id (`host-2@22`) or its base (`host-2`). */
export function selected(c, only) {
  return only.includes(c.id) || (c.base !== undefined && only.includes(c.base));
}
