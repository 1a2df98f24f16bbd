// The authors' experiment configurations, shipped with the package (presets/, verbatim YAML of the
// reference repository): `sdd-torch train --preset cifar100/sdd_kd/res32x4_res8x4`, or
// sdd.experiment.build('cifar100/sdd_kd/res32x4_res8x4', ...).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';

/** presets/ of the package (this file is lib/experiment/presets.ts, compiled to dist/experiment/presets.js: two levels below the package root). */
export const presetsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'presets');

/** Every preset name (the path below presets/ without .yaml), sorted. */
export function presetNames(): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name), `${prefix}${e.name}/`);
      else if (e.name.endsWith('.yaml')) out.push(`${prefix}${e.name.slice(0, -5)}`);
    }
  };
  if (existsSync(presetsDir)) walk(presetsDir, '');
  return out.sort();
}

/** The YAML file of a preset; an unknown name is an error that lists the closest names. */
export function presetFile(name: string): string {
  const clean = name.trim().replace(/^\/+|\.ya?ml$/g, '');
  const names = presetNames();
  if (names.length === 0) throw new ConfigError(`no presets found in ${presetsDir} (the package is incomplete: reinstall sdd-torch)`);
  if (clean.split('/').includes('..') || !names.includes(clean)) {
    const parts = clean.split('/');
    const near = names.filter((n) => n.startsWith(`${parts.slice(0, -1).join('/')}/`) || n.endsWith(`/${parts.at(-1)}`)).slice(0, 12);
    throw new ConfigError(`--preset ${name}: no such preset. ${near.length ? `Close: ${near.join(', ')}.` : ''} ` +
      '`sdd-torch train --preset` lists all of them (data set/method/teacher_student).');
  }
  return path.join(presetsDir, `${clean}.yaml`);
}
