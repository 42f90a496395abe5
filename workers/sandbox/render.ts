/**
 * Entry of the render queue's jobs in their own child process (a BullMQ sandboxed processor), so
 * that encoding never delays the worker's lock renewal and a crash in a native decoder kills only
 * this child.
 */
import { sandboxProcessor } from './child.js';

export default await sandboxProcessor('render-child', { warm: false });
