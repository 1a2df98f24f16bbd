// The vendored reference data (test/fixtures/golden, feature, reference) against its manifest:
// every listed file present with the recorded size and SHA-256, gzip files decompressing to the
// original's SHA-256, nothing unlisted; and no test, helper or script reading data from outside
// the repository.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, MANIFEST_FILE, PRESETS_DIR, REPO_ROOT, repoRelative } from './helpers/fixtures.js';

interface Entry {
  source: string; source_bytes: number; source_sha256: string;
  bytes: number; sha256: string; encoding: 'gzip -9n' | 'verbatim';
}
const manifest = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as { files: Record<string, Entry> };
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('vendored reference data matches test/fixtures/manifest.json', () => {
  for (const [rel, e] of Object.entries(manifest.files)) {
    it(rel, () => {
      const file = path.join(FIXTURES_DIR, rel);
      const shown = repoRelative(file);
      expect(existsSync(file), `${shown} is missing (restore it with git checkout -- ${shown})`).toBe(true);
      const bytes = readFileSync(file);
      expect(bytes.length, `${shown}: size`).toBe(e.bytes);
      expect(sha256(bytes), `${shown}: SHA-256 differs from the manifest (the file is corrupt or was changed)`).toBe(e.sha256);
      if (e.encoding === 'gzip -9n') {
        const plain = gunzipSync(bytes);
        expect(plain.length, `${shown}: decompressed size`).toBe(e.source_bytes);
        expect(sha256(plain), `${shown}: decompressed SHA-256 differs from the original ${e.source}`).toBe(e.source_sha256);
      } else {
        expect(e.sha256, `${shown}: stored verbatim, so its SHA-256 is the original's`).toBe(e.source_sha256);
      }
    });
  }

  it('lists every file of golden/, feature/ and reference/', () => {
    const onDisk = ['golden', 'feature', 'reference'].flatMap((d) => readdirSync(path.join(FIXTURES_DIR, d)).map((f) => `${d}/${f}`));
    expect(onDisk.filter((f) => !(f in manifest.files)), 'files not in test/fixtures/manifest.json').toEqual([]);
  });

  it('the presets (the authors\' 132 YAML configs) are in the repository', () => {
    const yaml: string[] = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = path.join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f.endsWith('.yaml')) yaml.push(p);
      }
    };
    walk(PRESETS_DIR);
    expect(yaml.length).toBe(132);
  });
});

describe('tests read nothing from outside the repository', () => {
  it('no test, helper, script or bench file refers to the reference folder beside the repository', () => {
    const pattern = new RegExp(['\\.\\./shared', '/work/' + 'shared', `'\\.\\.', 'shared'`, `'\\.\\.', '\\.\\.', 'shared'`].join('|'));
    const hits: string[] = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = path.join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|mts|js|mjs|cjs|py|sh)$/.test(f)) {
          readFileSync(p, 'utf8').split('\n').forEach((line, i) => { if (pattern.test(line)) hits.push(`${repoRelative(p)}:${i + 1}: ${line.trim()}`); });
        }
      }
    };
    for (const d of ['test', 'scripts', 'bench']) walk(path.join(REPO_ROOT, d));
    expect(hits).toEqual([]);
  });
});
