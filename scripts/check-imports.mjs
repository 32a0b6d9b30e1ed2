// npm run lint:imports — folder-level import rules for src/ (run in CI):
// 1. no import cycles between folders (src/<folder>/...): modules follow folders, a cycle means two folders are one;
// 2. src/domain imports nothing but src/common (vocabulary and ports only);
// 3. only src/providers itself, the seed compat layer and app.module.ts import from src/providers/<name>: the rest
//    reaches providers through the ProviderRegistry.
// Relative imports are read with a regex (the codebase uses no path aliases); type-only imports count too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.spec.ts') && !p.endsWith('metadata.ts')) files.push(p);
  }
})(src);

const folderOf = (file) => relative(src, file).split('/')[0].replace(/\.ts$/, '');
const edges = new Map();
const problems = [];
for (const file of files) {
  const from = folderOf(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1]);
    if (!target.startsWith(src + '/')) continue;
    const to = folderOf(target);
    const where = relative(root, file);
    if (from === 'domain' && to !== 'domain' && to !== 'common') problems.push(`${where}: src/domain imports src/${to}`);
    if (to === 'providers' && !['providers', 'compat', 'app.module'].includes(from))
      problems.push(`${where}: imports a provider folder (${m[1]}); use the ProviderRegistry`);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    edges.get(from).set(to, where);
  }
}

// Cycles: depth-first search over the folder graph, reporting each cycle once with a file that makes each edge.
const seen = new Set();
const reported = new Set();
function dfs(node, stack) {
  if (stack.includes(node)) {
    const cycle = stack.slice(stack.indexOf(node));
    const key = [...cycle].sort().join(',');
    if (!reported.has(key)) {
      reported.add(key);
      const path = [...cycle, node];
      problems.push(
        `folder cycle: ${path.join(' → ')} (${path
          .slice(0, -1)
          .map((f, i) => edges.get(f).get(path[i + 1]))
          .join('; ')})`,
      );
    }
    return;
  }
  if (seen.has(node)) return;
  for (const next of edges.get(node)?.keys() ?? []) dfs(next, [...stack, node]);
  seen.add(node);
}
for (const node of edges.keys()) dfs(node, []);

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`imports ok: ${files.length} files, ${edges.size} folders, no cycles`);
