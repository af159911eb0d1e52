/**
 * `npm run test:cfn-lint`: cfn-lint (the CloudFormation linter, a Python tool: `pip install cfn-lint`)
 * on the templates keymend synthesizes: the organization's hub and member, and the single-account
 * stack with every option on. Apart from `npm test`, which must pass where Python is not installed.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/test/cfnlint/**/*.cfnlint.ts'],
  testTimeout: 180_000,
};
