/** The ONNX generator plug-in point: configuration, loading and the test model builder's types. */
export { generatorConfigFromEnv, type GeneratorConfig } from './config.js';
export { loadGenerator, type GeneratorInput, type GeneratorOutput, type SceneGenerator } from './generator.js';
export type { GeneratorContract, GeneratorKind } from './contract.js';
