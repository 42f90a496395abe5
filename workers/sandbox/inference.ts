/**
 * Entry of the AI steps in their own child process (a BullMQ sandboxed processor): pre- and
 * post-processing loops over millions of pixels never delay the worker's lock renewal, and each
 * child keeps its own warm ONNX Runtime sessions across jobs (loaded while the child starts).
 */
import { sandboxProcessor } from './child.js';

export default await sandboxProcessor('inference-child', { warm: true });
