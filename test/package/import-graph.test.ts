import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * What each command loads, traced through the sources' imports (static and dynamic; `import type` is
 * erased and does not count). The product's runtime (`run`, `sink`) must not load the local
 * infrastructure (src/infra/: installers, Java, Maven downloads) nor the simulator; and nothing any
 * command loads may need a devDependency, since the package is installed without them.
 */
const repo = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** devDependencies loaded only by a dynamic import whose failure the code expects, and why. */
const OPTIONAL_DEV_IMPORTS: Record<string, { from: string; why: string }> = {
  testcontainers: { from: 'src/infra/docker.ts', why: 'the demo probes for a Docker daemon; without the package it starts local processes' },
  yaml: { from: 'src/simulator/http/rate-limit-costs.ts', why: 'only when token-costs.json is missing (the build ships it)' },
};

interface Import {
  readonly spec: string;
  readonly dynamic: boolean;
  /** The name of the top-level function the import is in, if any. */
  readonly inFunction?: string;
}

const parsed = new Map<string, Import[]>();

function importsOf(file: string): Import[] {
  const known = parsed.get(file);
  if (known) return known;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Import[] = [];
  const visit = (node: ts.Node, fn: string | undefined) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ spec: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ spec: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (!arg || !ts.isStringLiteralLike(arg)) throw new Error(`${relative(repo, file)}: import() of a computed specifier cannot be traced`);
      out.push({ spec: arg.text, dynamic: true, ...(fn ? { inFunction: fn } : {}) });
    }
    const name = ts.isFunctionDeclaration(node) && node.parent === source ? node.name?.text : fn;
    ts.forEachChild(node, (child) => visit(child, name));
  };
  visit(source, undefined);
  parsed.set(file, out);
  return out;
}

const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec);
const packageName = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

interface Graph {
  /** Repository-relative source files reached. */
  files: Set<string>;
  /** Package name → the files importing it, and whether every such import is dynamic. */
  packages: Map<string, Array<{ from: string; dynamic: boolean }>>;
}

function walk(entries: string[]): Graph {
  const files = new Set<string>();
  const packages: Graph['packages'] = new Map();
  const queue = entries.map((e) => resolve(repo, e));
  for (let file = queue.pop(); file; file = queue.pop()) {
    const rel = relative(repo, file);
    if (files.has(rel)) continue;
    files.add(rel);
    for (const imp of importsOf(file)) {
      if (imp.spec.startsWith('.')) queue.push(resolve(dirname(file), imp.spec));
      else if (!isBuiltin(imp.spec)) {
        const name = packageName(imp.spec);
        packages.set(name, [...(packages.get(name) ?? []), { from: rel, dynamic: imp.dynamic }]);
      }
    }
  }
  return { files, packages };
}

/** src/cli.ts's static imports plus the dynamic imports inside the named command functions (not cli.ts's other commands). */
function commandEntries(...functions: string[]): string[] {
  const cli = join(repo, 'src/cli.ts');
  return [
    ...importsOf(cli)
      .filter((i) => i.spec.startsWith('.') && (!i.dynamic || (i.inFunction !== undefined && functions.includes(i.inFunction))))
      .map((i) => relative(repo, resolve(dirname(cli), i.spec))),
  ];
}

describe('what each command loads', () => {
  it('`run` and `sink` load neither src/infra/ nor the simulator', () => {
    const { files } = walk(commandEntries('runProducerCommand', 'runSinkCommand'));
    // The walk reaches the product (not vacuous) …
    expect(files).toContain('src/producer.ts');
    expect(files).toContain('src/sink/sink.ts');
    expect(files).toContain('src/sink/destinations/duckdb.ts');
    // … and nothing of the demo's machinery.
    const leaked = [...files].filter((f) => f.startsWith('src/infra/') || f.startsWith('src/simulator/') || f === 'src/demo.ts');
    expect(leaked, 'files loaded by run/sink that belong to the demo, the tests or the simulator').toEqual([]);
  });

  it('the check sees src/infra/ where it is used: the demo loads it', () => {
    const { files } = walk(['src/demo.ts']);
    expect([...files].some((f) => f.startsWith('src/infra/'))).toBe(true);
  });

  it('`run` and `sink` need production dependencies only', () => {
    const { packages } = walk(commandEntries('runProducerCommand', 'runSinkCommand'));
    expect([...packages.keys()].filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });

  it('every command (run, sink, sim, demo) needs production dependencies only, but for optional dynamic imports', () => {
    const { packages } = walk(['src/cli.ts']);
    for (const [name, users] of packages) {
      if (name in pkg.dependencies) continue;
      const optional = OPTIONAL_DEV_IMPORTS[name];
      expect(optional, `${name} (imported by ${users.map((u) => u.from).join(', ')}) is not a production dependency`).toBeDefined();
      expect(users, `${name}: only ${optional!.from} may import it, and only dynamically (${optional!.why})`).toEqual([{ from: optional!.from, dynamic: true }]);
      expect(name in pkg.devDependencies).toBe(true);
    }
    // Every production dependency is used somewhere (else it belongs in devDependencies or nowhere).
    expect(Object.keys(pkg.dependencies).filter((d) => !packages.has(d))).toEqual([]);
  });
});
