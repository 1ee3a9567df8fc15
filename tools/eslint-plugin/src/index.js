/** sigmaserve's ESLint plugin: one rule, the package boundaries of DESIGN.md §3. */
import { packageBoundaries } from "./package-boundaries.js";

export default {
  meta: { name: "@sigmaserve/eslint-plugin", version: "0.1.0" },
  rules: { "package-boundaries": packageBoundaries },
};
