/**
 * `npm run test:fuzz`: the long fuzz runs (test/fuzz/*.fuzz.ts). CI runs it after `npm test`; a short
 * run of the same generators is part of `npm test`.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = { ...base, testMatch: ['**/fuzz/*.fuzz.ts'] };
