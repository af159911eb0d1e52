/** The stacks `infra/app.ts` creates from the context: one per Region, or one environment-agnostic. */
import type { App } from 'aws-cdk-lib';
import { parseContext } from './context';
import { KeymendStack } from './keymend-stack';

/**
 * Adds keymend's stacks to `app`: `Keymend-REGION` for each Region in the `regions` context (EventBridge
 * only sees the events of its own Region), else one stack `Keymend` deployed wherever the CLI points.
 * With `createTrail`, only the first Region's stack creates the (multi-Region) trail.
 */
export function addKeymendStacks(app: App): KeymendStack[] {
  const config = parseContext((key) => app.node.tryGetContext(key));
  if (config.regions.length === 0) {
    return [new KeymendStack(app, 'Keymend', { remediation: config.remediation })];
  }
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  return config.regions.map(
    (region, index) =>
      new KeymendStack(app, `Keymend-${region}`, {
        env: account === undefined ? { region } : { account, region },
        remediation: {
          ...config.remediation,
          createTrail: index === 0 && config.remediation.createTrail === true,
        },
      }),
  );
}
