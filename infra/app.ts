/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`): context keys are documented in infra/context.ts and
 * docs/deploy.md.
 */
import { App } from 'aws-cdk-lib';
import { ContextError } from './context';
import { addKeymendStacks } from './keymend-app';

const app = new App();
try {
  addKeymendStacks(app);
} catch (error) {
  // A bad -c value is the deployer's mistake, not a crash: one line naming the key.
  if (!(error instanceof ContextError)) throw error;
  console.error(`keymend: ${error.message}`);
  process.exit(1);
}
app.synth();
