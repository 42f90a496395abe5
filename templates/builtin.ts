import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../lib/errors.js';
import { parseTemplate, type VersionedTemplate } from './schema.js';

/**
 * The built-in templates are JSON files in `templates/builtin/`. The compiler does not copy JSON
 * into `dist/`, so built code looks for the folder next to itself, then in the source tree.
 */
export function templatesDataDir(name: 'builtin' | 'samples'): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, name), path.join(here, '..', '..', 'templates', name)];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`templates/${name} folder not found (looked in ${candidates.join(', ')})`);
  return found;
}
export const builtinDir = () => templatesDataDir('builtin');

/**
 * Load and validate every `*.json` template in a folder. A bad file stops the load with an
 * `INVALID_TEMPLATE` error that names the file and the field, so a broken built-in never ships.
 */
export function loadTemplatesFrom(dir: string): Map<string, VersionedTemplate> {
  const out = new Map<string, VersionedTemplate>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      throw new AppError('INVALID_TEMPLATE', `Invalid template file ${file}: not JSON (${(err as Error).message})`, { file });
    }
    const versioned = parseTemplate(raw, `template file ${file}`);
    if (`${versioned.template.id}.json` !== file) {
      throw new AppError('INVALID_TEMPLATE', `Invalid template file ${file}: id: "${versioned.template.id}" must match the file name`, {
        file,
        issues: [{ path: 'id', message: 'must match the file name' }],
      });
    }
    out.set(versioned.template.id, versioned);
  }
  return out;
}

let builtins: Map<string, VersionedTemplate> | undefined;

/** The built-in templates, loaded once per process. */
export function builtinTemplates(): Map<string, VersionedTemplate> {
  return (builtins ??= loadTemplatesFrom(builtinDir()));
}
