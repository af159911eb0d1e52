/**
 * The one synth as `cdk synth` does it: functions bundled by the local esbuild, aws-cdk-lib's built-in
 * CloudFormation template validation on (errors and warnings both fail).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { KeymendStack } from '../../infra/keymend-stack';
import { newApp } from './synth';

const STRICT_VALIDATION = {
  '@aws-cdk/core:validateAgainstDefaultRules': true,
  '@aws-cdk/core:strictCfnValidateErrors': true,
};

let assembly: CloudAssembly;
let stack: KeymendStack;

beforeAll(() => {
  const app = newApp({ bundle: true, validation: true, context: STRICT_VALIDATION });
  stack = new KeymendStack(app, 'Bundled', { remediation: { mode: 'auto', createTrail: true } });
  assembly = app.synth();
}, 120_000);

describe('built-in template validation', () => {
  test('passes with no violation', () => {
    const report = JSON.parse(
      fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
    );
    const violations = report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? []);
    expect(violations).toEqual([]);
  });

  test('is really on in this configuration: an invalid template fails the synth', () => {
    const app = new App({ context: STRICT_VALIDATION });
    const bad = new Stack(app, 'Bad');
    new CfnResource(bad, 'Queue', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'soon' } });
    expect(() => app.synth()).toThrow(/VisibilityTimeout/);
  });
});

describe('bundling with the local esbuild', () => {
  const bundleOf = (fn: 'remediateFunction' | 'approvalFunction') => {
    const template = assembly.getStackArtifact(stack.artifactId).template;
    const id = stack.getLogicalId(stack.remediation[fn].node.defaultChild as never);
    // The code's S3 key is the asset hash: the bundle sits in cdk.out/asset.HASH.
    const key = template.Resources[id].Properties.Code.S3Key as string;
    const assetPath = `asset.${key.replace(/\.zip$/, '')}`;
    return path.join(assembly.directory, assetPath);
  };

  test.each(['remediateFunction', 'approvalFunction'] as const)(
    '%s: one ESM file with its source map, loadable by node as Lambda loads it',
    (fn) => {
      const dir = bundleOf(fn);
      expect(fs.readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire as __keymendCreateRequire } from 'node:module';")).toBe(
        true,
      );
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      // Loads as Lambda loads it: an ES module in node, with the environment the stack sets.
      const loaded = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(path.join(dir, 'index.mjs'))}); console.log(typeof m.handler);`,
        ],
        { env: { ...process.env, ...lambdaEnvironment() }, encoding: 'utf8' },
      );
      expect(loaded.trim()).toBe('function');
    },
  );
});

/** Plausible values for the variables the stack sets, as Lambda would see them. */
function lambdaEnvironment(): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    KEYMEND_TABLE: 'keymend-Table',
    KEYMEND_EMAIL_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:keymend-EmailTopic',
    KEYMEND_CHAT_TOPIC_ARN: '',
    KEYMEND_DECISION_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
    KEYMEND_APPROVAL_URL: 'https://abcdefghijklmnop.lambda-url.us-east-1.on.aws/',
    KEYMEND_RETIRING_PRINCIPAL: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
    KEYMEND_MODE: 'auto',
    KEYMEND_AUTO_APPLY_PRINCIPALS: '',
    KEYMEND_PREFER_MECHANISM: 'kms-grant',
    KEYMEND_LINK_TTL_HOURS: '72',
    KEYMEND_AUTO_APPLY_HOURLY_LIMIT: '10',
    KEYMEND_AUTO_APPLY_CLOUDFORMATION: 'false',
    KEYMEND_ENABLED_MECHANISMS: 'kms-grant',
    KEYMEND_REJECT_SUPPRESS_HOURS: '168',
    POWERTOOLS_SERVICE_NAME: 'keymend',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
}
