import type { Logger } from '../lib/logger.js';
import { modelByName } from '../models/model-list.js';
import type { ModelsConfig } from '../models/config.js';
import { ensureModel } from '../models/ensure-model.js';
import { getSession, warmUp } from '../models/session.js';

/** Fetch and verify the warm models (a progress bar while downloading). No session is opened. */
export async function fetchWarmModels(config: ModelsConfig): Promise<void> {
  for (const name of config.warm) await ensureModel(modelByName(name), config);
}

/** Open a session for each warm model and run it once, so the first job pays nothing extra. */
export async function warmModels(config: ModelsConfig, logger: Logger): Promise<void> {
  for (const name of config.warm) {
    const session = await getSession(modelByName(name), config, logger);
    logger.info({ model: name, provider: session.provider, ms: await warmUp(session) }, 'model warmed up');
  }
}
