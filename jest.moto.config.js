/**
 * `npm run test:moto`: keymend's readers, writers, handlers and IAM against moto's server mode (the AWS
 * API emulator), over the real AWS wire protocols. One server for the run (test/moto/global-setup.ts);
 * the files run one at a time because each resets the server and one switches its request
 * authorization on. What moto does not emulate: test/moto/README.md.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/test/moto/**/*.moto.ts'],
  globalSetup: '<rootDir>/test/moto/global-setup.ts',
  globalTeardown: '<rootDir>/test/moto/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 120_000,
};
