/** Scene templates: data (JSON + zod), the built-ins, channel presets and the pure renderer. */
export { builtinTemplates, loadTemplatesFrom } from './builtin.js';
export { CHANNEL_NAMES, CHANNEL_PRESETS, type ChannelName } from './channels.js';
export { applyParams, templateParamsSchema, type TemplateParams } from './params.js';
export { renderScenes, type GeneratedImage, type SceneRequest } from './render-scene.js';
export { toRgba, type RgbaImage } from './raster.js';
export {
  BACKDROP_TYPES,
  parseTemplate,
  TEMPLATE_ID_PATTERN,
  templateIdSchema,
  templateSchema,
  templateVersion,
  type Template,
  type TemplateInput,
  type VersionedTemplate,
} from './schema.js';
export { NAMED_COLOURS, recolour } from './colourway.js';
