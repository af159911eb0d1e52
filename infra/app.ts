/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`): context keys are documented in infra/context.ts and
 * docs/deploy.md.
 */
import { App } from 'aws-cdk-lib';
import { addKeymendStacks } from './keymend-app';

const app = new App();
addKeymendStacks(app);
app.synth();
