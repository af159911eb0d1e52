/**
 * How keymend's Lambda functions are bundled: one description that the CDK construct turns into
 * NodejsFunction bundling props, and that the bundle tests and `npm run bench` hand to esbuild
 * directly, so what is measured and tested is what Lambda runs.
 */

/** The Lambda runtime's Node.js major, as esbuild's target. */
export const BUNDLE_TARGET = 'node24';

/**
 * Lambda runs ESM bundles without `require`; some CommonJS dependencies inside the bundle still call
 * it, so the bundle defines one.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __keymendCreateRequire } from 'node:module';const require = __keymendCreateRequire(import.meta.url);";

/**
 * The esbuild options NodejsFunction passes for keymend's functions (see KeymendRemediation): ESM,
 * minified, with source maps, the AWS SDK bundled (a pinned, tree-shaken copy loads faster than the
 * runtime's full one and cannot drift), `module` entry points first so ESM builds are picked.
 */
export const BUNDLING = {
  format: 'esm',
  platform: 'node',
  target: BUNDLE_TARGET,
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  bundleAwsSdk: true,
} as const;
