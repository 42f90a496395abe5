// The product box lives with the scene renderer (templates/ may not import workers/); the
// background-removal step's `trim` output uses the same rule.
export { productBox, type Box, type ProductBoxOptions } from '../../templates/trim.js';
