import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRecipeField } from '../../api/start-run.js';
import { resolveGenerate } from '../../api/resolve-generate.js';
import { AppError } from '../../lib/errors.js';
import { PROTOTYPE_NAMES } from '../../lib/own-keys.js';
import { builtinTemplates } from '../../templates/builtin.js';
import { parseColour } from '../../templates/colourway.js';
import { applyParams, templateParamsSchema } from '../../templates/params.js';
import { parseTemplate } from '../../templates/schema.js';
import { splitCsvLine } from '../../workers/batches/csv-line.js';
import { STEP_NAMES } from '../../workers/jobs/index.js';
import { checkOutputSize, validateRecipe } from '../../workers/recipe.js';
import { fuzzParams, hostileJson, hostileName, nestedText, succeedsOrRefuses, succeedsOrRefusesAsync } from './settings.js';

const BUILTINS = [...builtinTemplates().values()];
const resolverDeps = {
  templates: {
    get: async (_tenant: string, id: string) => {
      const t = builtinTemplates().get(id);
      return t ? { ...t, builtin: true } : undefined;
    },
  },
  assets: { get: async () => undefined },
  config: { workers: { maxOutputPixels: 64_000_000 } },
};

/** Recipes shaped like real ones, with hostile names and values where names and values go. */
const recipeLike = fc.record(
  {
    steps: fc.array(
      fc.record(
        {
          name: fc.oneof(fc.constantFrom(...STEP_NAMES), hostileName),
          options: fc.option(
            fc.dictionary(
              fc.oneof(
                fc.constantFrom(
                  'template',
                  'colourway',
                  'channels',
                  'params',
                  'widths',
                  'formats',
                  'factor',
                  'model',
                  'tileSize',
                  'overlap',
                ),
                hostileName,
              ),
              fc.oneof(
                hostileJson,
                hostileName,
                fc.array(hostileName, { maxLength: 3 }),
                fc.constantFrom('marketplace-white', 'studio', 2, 4, ['webp'], [320], { colour: '#ff0000' }),
              ),
              { maxKeys: 4 },
            ),
            { nil: undefined },
          ),
        },
        { requiredKeys: ['name'] },
      ),
      { maxLength: 5 },
    ),
  },
  { requiredKeys: [] },
);

/** Text a client may send in a recipe field: anything, JSON of anything, recipe-shaped JSON, or deeply nested JSON. */
const recipeText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
  recipeLike.map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 20_000 }).map((d) => `{"steps":[{"name":"render","options":${nestedText(d)}}]}`),
);

describe('fuzz: parsers of untrusted input answer a documented 4xx or succeed, never anything else', () => {
  it('a recipe field, through every check before enqueueing (parse, validate, output size, template resolution)', async () => {
    await fc.assert(
      fc.asyncProperty(
        recipeText,
        fc.integer({ min: 1, max: 12_000 }),
        fc.integer({ min: 1, max: 12_000 }),
        async (text, width, height) => {
          await succeedsOrRefusesAsync(
            async () => {
              const valid = validateRecipe(parseRecipeField(text));
              checkOutputSize({ width, height }, valid, 64_000_000);
              return resolveGenerate(resolverDeps as never, 'ten_fuzz', valid);
            },
            `recipe ${text.slice(0, 120)}`,
          );
        },
      ),
      fuzzParams(300),
    );
  });

  it('a template document: arbitrary JSON, or a built-in with one field replaced by something hostile', () => {
    const mutated = fc.tuple(fc.constantFrom(...BUILTINS), fc.nat(), hostileJson, hostileName).map(([t, pick, value, name]) => {
      const doc = structuredClone(t.template) as unknown as Record<string, unknown>;
      // Walk to a random object in the document and set one of its keys (or a hostile one).
      let node: Record<string, unknown> = doc;
      for (let hops = pick % 3; hops > 0; hops--) {
        const children = Object.values(node).filter(
          (v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v),
        );
        if (!children.length) break;
        node = children[pick % children.length]!;
      }
      const keys = Object.keys(node);
      const key = pick % 4 === 0 ? name : (keys[pick % keys.length] ?? name);
      Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
      return doc;
    });
    fc.assert(
      fc.property(fc.oneof(hostileJson, mutated), (doc) => {
        const out = succeedsOrRefuses(() => parseTemplate(doc), 'template');
        if (!(out instanceof AppError)) expect(out.version).toMatch(/^[0-9a-f]{64}$/);
      }),
      fuzzParams(300),
    );
  });

  it('template params applied to every built-in: the result is a valid template or a 422 naming the field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BUILTINS),
        fc.oneof(
          hostileJson,
          fc.dictionary(
            fc.constantFrom(
              'colour',
              'floorColour',
              'from',
              'to',
              'angle',
              'fill',
              'padding',
              'anchorX',
              'anchorY',
              'azimuth',
              'elevation',
              'backplate',
              'generator',
            ),
            hostileJson,
            { maxKeys: 4 },
          ),
        ),
        (t, raw) => {
          const parsed = templateParamsSchema.safeParse(raw);
          if (!parsed.success) return; // refused by the recipe's schema: 422 INVALID_RECIPE (covered above)
          succeedsOrRefuses(() => applyParams(t.template, parsed.data), 'params');
        },
      ),
      fuzzParams(300),
    );
  });

  it('a colourway: three bytes or 422 INVALID_COLOUR, whatever the text (prototype names included)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom(...PROTOTYPE_NAMES), hostileName, fc.stringMatching(/^#[0-9a-fA-F]{6}$/)),
        (text) => {
          const out = succeedsOrRefuses(() => parseColour(text), `colour ${text}`);
          if (out instanceof AppError) expect(out.code).toBe('INVALID_COLOUR');
          else expect(out.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)).toBe(true);
        },
      ),
      fuzzParams(500),
    );
  });

  it('a CSV line: never throws; fields written as CSV read back the same', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (line) => {
        const out = splitCsvLine(line);
        expect('fields' in out || 'error' in out).toBe(true);
      }),
      fuzzParams(500),
    );
    const cell = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ''));
    fc.assert(
      fc.property(fc.array(cell, { minLength: 1, maxLength: 6 }), (cells) => {
        const line = cells.map((c) => `"${c.replaceAll('"', '""')}"`).join(',');
        expect(splitCsvLine(line)).toEqual({ fields: cells });
      }),
      fuzzParams(300),
    );
  });
});
