/**
 * `npm run test:public`: the published CloudTrail records in ../shared/reference/cloudtrail-public/,
 * which may not be copied into the repository. CI runs it after `npm test`; it fails when the folder
 * is missing.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = { ...base, testMatch: ['**/*.public.ts'] };
