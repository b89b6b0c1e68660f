// A user's project with the packed swarmlab tarball installed in it, without the network.
//
// `npm install <name>@<version> --offline` needs each package's registry metadata in the npm
// cache, which `npm ci` never fetches (it installs tarballs named by the lockfile). So the project
// gets a lockfile of its own: swarmlab from the tarball, and every other package copied from the
// repository's package-lock.json — only those the project's dependencies reach, at the same
// places in node_modules — and `npm ci --offline` installs it from the tarballs `npm ci` cached.
// What swarmlab does not declare as a dependency is therefore absent, as in a real install.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './processes.ts';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [field: string]: unknown;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** Where node finds `name` from the package at `from` ('' is the project): the lockfile key. */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!base) return undefined;
    const nested = base.lastIndexOf('/node_modules/');
    base = nested === -1 ? '' : base.slice(0, nested);
  }
}

/** The dependencies npm installs for an entry: its own, its optional ones, its required peers. */
function dependencyNames(entry: LockEntry): string[] {
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => !entry.peerDependenciesMeta?.[p]?.optional);
  return [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers];
}

/**
 * Writes package.json and package-lock.json into `dir` (an empty folder) for a project depending
 * on the swarmlab tarball and on `extra` (packages of the repository's own lockfile, at its
 * versions, e.g. vitest), then runs `npm ci --offline` there.
 */
export function installOffline(dir: string, tarball: string, extra: readonly string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const own = readJson(join(ROOT, 'package.json'));
  const packages: Record<string, LockEntry> = readJson(join(ROOT, 'package-lock.json')).packages;
  const spec = `file:${relative(dir, tarball)}`;
  const swarmlab: LockEntry = {
    version: own.version,
    resolved: spec,
    license: own.license,
    dependencies: own.dependencies,
    peerDependencies: own.peerDependencies,
    peerDependenciesMeta: own.peerDependenciesMeta,
    bin: own.bin,
    engines: own.engines,
  };

  const lock: Record<string, LockEntry> = { 'node_modules/swarmlab': swarmlab };
  const pending: [from: string, name: string][] = [
    ...Object.keys(own.dependencies).map((name): [string, string] => ['', name]),
    ...extra.map((name): [string, string] => ['', name]),
  ];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const key = locate(packages, next[0], next[1]);
    if (!key || lock[key]) continue; // an optional dependency for another platform is not in the lockfile
    const { dev, devOptional, peer, ...entry } = packages[key];
    lock[key] = entry;
    for (const name of dependencyNames(entry)) pending.push([key, name]);
  }

  const dependencies = Object.fromEntries([['swarmlab', spec], ...extra.map((name) => [name, packages[`node_modules/${name}`].version])]);
  const project = { name: 'user-project', version: '1.0.0', private: true, type: 'module', dependencies };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(project, null, 2));
  const lockfile = { name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages: { '': { name: project.name, version: project.version, dependencies }, ...lock } };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
  return spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
}
