import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { canonicalJson, sha256Hex } from '../lib/canonical-json.js';
import { CHANNEL_NAMES } from './channels.js';

/** Template ids: lowercase letters, digits and `-`, like a URL slug. */
export const TEMPLATE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const templateIdSchema = z.string().regex(TEMPLATE_ID_PATTERN, 'a template id is 1-64 lowercase letters, digits or "-"');

const byte = z.number().int().min(0).max(255);
/** A colour: `"#rrggbb"` or `[r, g, b]` with each channel 0-255. */
export const colourSchema = z
  .union([z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is "#rrggbb"'), z.tuple([byte, byte, byte])])
  .describe('"#rrggbb" or [r, g, b], each 0-255');
export type Colour = z.output<typeof colourSchema>;

const unit = z.number().min(0).max(1);

const solidBackdrop = z.object({ type: z.literal('solid'), colour: colourSchema }).strict();
const sweepBackdrop = z
  .object({
    type: z.literal('sweep'),
    colour: colourSchema.describe('The paper colour (the wall).'),
    floorColour: colourSchema.optional().describe('The floor; by default the paper colour, a little darker.'),
    horizon: z.number().min(0.05).max(0.95).default(0.62).describe('Where the wall meets the floor, as a fraction of the height.'),
    softness: z.number().min(0.01).max(1).default(0.35).describe('Width of the floor-to-wall blend, as a fraction of the height.'),
    vignette: unit.default(0.12).describe('Darkening towards the corners.'),
  })
  .strict();
const gradientBackdrop = z
  .object({
    type: z.literal('gradient'),
    from: colourSchema,
    to: colourSchema,
    angle: z.number().min(0).max(360).default(90).describe('Degrees; 90 runs from the top (from) to the bottom (to).'),
  })
  .strict();
const backplateBackdrop = z
  .object({
    type: z.literal('backplate'),
    assetId: z
      .string()
      .regex(/^ast_[0-9a-f]{32}$/, 'an asset id of this tenant (ast_…)')
      .optional()
      .describe("The merchant's own photo, an uploaded asset of the same tenant; may be given per run as params.backplate."),
    matchLight: z
      .object({ strength: unit.default(0.6) })
      .strict()
      .optional()
      .describe("Match the product's mean luminance and white balance (grey world, linear light) to the backplate."),
  })
  .strict();
const generatorBackdrop = z
  .object({
    type: z.literal('generator'),
    params: z.record(z.string(), z.number()).default({}).describe('Numbers handed to the ONNX generator.'),
  })
  .strict();

export const backdropSchema = z.discriminatedUnion('type', [
  solidBackdrop,
  sweepBackdrop,
  gradientBackdrop,
  backplateBackdrop,
  generatorBackdrop,
]);
export type Backdrop = z.output<typeof backdropSchema>;
export const BACKDROP_TYPES = ['solid', 'sweep', 'gradient', 'backplate', 'generator'] as const;

export const layoutSchema = z
  .object({
    fill: z
      .number()
      .gt(0, 'fill must be more than 0')
      .max(1, 'fill must be at most 1')
      .default(0.8)
      .describe("Fraction of the padded canvas the product's bounding box fills along its limiting side."),
    padding: z
      .number()
      .min(0)
      .lt(0.5, 'padding must be under 0.5 (it applies to both sides)')
      .default(0.05)
      .describe('Margin on every side, as a fraction of the canvas width (left, right) and height (top, bottom).'),
    anchor: z
      .object({ x: unit, y: unit })
      .strict()
      .default({ x: 0.5, y: 0.5 })
      .describe('Where the product box sits in the free space (0.5, 0.5 centres it; y 1 stands it on the bottom margin).'),
    trim: z.boolean().default(true).describe('Crop the cut-out to the product before placing it.'),
  })
  .strict();

export const contactShadowSchema = z
  .object({
    opacity: unit.default(0.55),
    softness: unit.default(0.3).describe('Blur, relative to the product width.'),
    spread: z.number().min(0.2).max(3).default(1.1).describe('Width of the shadow relative to the product width.'),
  })
  .strict();
export const dropShadowSchema = z
  .object({
    azimuth: z
      .number()
      .min(0)
      .max(360)
      .default(135)
      .describe('Direction the light comes from, degrees counter-clockwise from the right (90: from above).'),
    elevation: z.number().min(5).max(90).default(45).describe('Height of the light in degrees: lower lights throw longer shadows.'),
    spread: z.number().min(0).max(1).default(0.05).describe('How much larger than the product the shadow is.'),
    softness: unit.default(0.25).describe('Blur, relative to the product size.'),
    opacity: unit.default(0.35),
  })
  .strict();
export const reflectionSchema = z
  .object({
    opacity: unit.default(0.3),
    fade: z.number().min(0.01).max(1).default(0.35).describe('Length of the fade, relative to the product height.'),
    gap: z.number().min(0).max(0.5).default(0).describe('Gap between product and reflection, relative to the product height.'),
  })
  .strict();
export const shadowsSchema = z
  .object({ contact: contactShadowSchema.optional(), drop: dropShadowSchema.optional(), reflection: reflectionSchema.optional() })
  .strict();

/** A scene template: data only, rendered by `renderScene`. Unknown fields are refused. */
export const templateSchema = z
  .object({
    id: templateIdSchema,
    name: z.string().min(1).max(100),
    description: z.string().max(500).default(''),
    backdrop: backdropSchema,
    layout: layoutSchema.default({ fill: 0.8, padding: 0.05, anchor: { x: 0.5, y: 0.5 }, trim: true }),
    shadows: shadowsSchema.default({}),
    channels: z
      .array(z.enum(CHANNEL_NAMES))
      .min(1)
      .max(CHANNEL_NAMES.length)
      .default(['marketplace'])
      .describe('Channels rendered when a recipe names none.'),
  })
  .strict();
export type Template = z.output<typeof templateSchema>;
export type TemplateInput = z.input<typeof templateSchema>;

/** A template and its version: the sha256 of its canonical JSON (defaults filled in). */
export interface VersionedTemplate {
  template: Template;
  version: string;
}

/** The issues of a refused template, each naming its field path (e.g. `layout.padding`). */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

/**
 * Parse a template, or throw a 422 `INVALID_TEMPLATE` whose message names every bad field.
 * `where` says where it came from (a file, a request) for the message.
 */
export function parseTemplate(raw: unknown, where = 'template'): VersionedTemplate {
  const parsed = templateSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new AppError('INVALID_TEMPLATE', `Invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  return { template: parsed.data, version: templateVersion(parsed.data) };
}

/** sha256 of the canonical JSON of a parsed template: every edit gives a new version. */
export const templateVersion = (template: Template): string => sha256Hex(canonicalJson(template));
