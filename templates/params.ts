import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { colourSchema, describeIssues, templateSchema, templateVersion, type Template, type VersionedTemplate } from './schema.js';

const unit = z.number().min(0).max(1);

/**
 * Per-run overrides of a template (a recipe's `generate.params`): the few knobs a merchant turns
 * per product without editing the template. The result is validated as a whole template again,
 * so an override can never make an impossible layout.
 */
export const templateParamsSchema = z
  .object({
    colour: colourSchema.optional().describe('Backdrop colour (solid, sweep).'),
    floorColour: colourSchema.optional().describe('Floor colour (sweep).'),
    from: colourSchema.optional().describe('Gradient start colour.'),
    to: colourSchema.optional().describe('Gradient end colour.'),
    angle: z.number().min(0).max(360).optional().describe('Gradient angle.'),
    fill: z.number().optional().describe('layout.fill'),
    padding: z.number().optional().describe('layout.padding'),
    anchorX: unit.optional().describe('layout.anchor.x'),
    anchorY: unit.optional().describe('layout.anchor.y'),
    azimuth: z.number().optional().describe('Drop shadow light direction.'),
    elevation: z.number().optional().describe('Drop shadow light height.'),
    backplate: z.string().optional().describe('Backplate asset id (backplate templates).'),
    generator: z.record(z.string(), z.number()).optional().describe('Generator parameters (generator templates).'),
  })
  .strict();
export type TemplateParams = z.output<typeof templateParamsSchema>;

/** Apply per-run overrides to a template and validate the result; throws 422 `INVALID_TEMPLATE` naming the field. */
export function applyParams(template: Template, params: TemplateParams | undefined): VersionedTemplate {
  if (!params || Object.keys(params).length === 0) return { template, version: templateVersion(template) };
  const t = structuredClone(template) as Template & { backdrop: Record<string, unknown> };
  const b = t.backdrop;
  const set = (field: string, value: unknown, allowed: string[]) => {
    if (value === undefined) return;
    if (!allowed.includes(b.type as string)) {
      throw new AppError('INVALID_TEMPLATE', `params.${field} does not apply to a ${String(b.type)} backdrop.`, {
        issues: [{ path: `params.${field}`, message: `not a parameter of a ${String(b.type)} backdrop` }],
      });
    }
    b[field === 'backplate' ? 'assetId' : field === 'generator' ? 'params' : field] = value;
  };
  set('colour', params.colour, ['solid', 'sweep']);
  set('floorColour', params.floorColour, ['sweep']);
  set('from', params.from, ['gradient']);
  set('to', params.to, ['gradient']);
  set('angle', params.angle, ['gradient']);
  set('backplate', params.backplate, ['backplate']);
  set('generator', params.generator, ['generator']);
  if (params.fill !== undefined) t.layout.fill = params.fill;
  if (params.padding !== undefined) t.layout.padding = params.padding;
  if (params.anchorX !== undefined) t.layout.anchor = { ...t.layout.anchor, x: params.anchorX };
  if (params.anchorY !== undefined) t.layout.anchor = { ...t.layout.anchor, y: params.anchorY };
  if (params.azimuth !== undefined || params.elevation !== undefined) {
    if (!t.shadows.drop) {
      throw new AppError('INVALID_TEMPLATE', 'params.azimuth and params.elevation need a template with a drop shadow.', {
        issues: [{ path: 'params.azimuth', message: 'the template has no drop shadow' }],
      });
    }
    if (params.azimuth !== undefined) t.shadows.drop.azimuth = params.azimuth;
    if (params.elevation !== undefined) t.shadows.drop.elevation = params.elevation;
  }
  const parsed = templateSchema.safeParse(t);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new AppError(
      'INVALID_TEMPLATE',
      `The params make an invalid template: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { issues },
    );
  }
  return { template: parsed.data, version: templateVersion(parsed.data) };
}
