/**
 * `keymend demo` (`npm run demo`): keymend end to end on this machine with no AWS (cli/demo/run.ts).
 */
import { KeymendError } from '../../functions/commons/errors';
import { OUTPUT_OPTIONS, outputOption, parseCommandLine } from '../args';
import { demoText, serveText } from '../demo/report';
import { runDemo } from '../demo/run';
import { helpText } from '../help';
import { oneLine } from '../input';
import type { Command } from '../io';
import { EXIT_STATUS_HELP, runCommand, serveUntilSignal } from '../run-command';

const HELP = `Usage: keymend demo [--serve] [--output text|json|jsonl]
       npm run demo [-- --serve] [-- --output json]

Shows keymend working end to end with no AWS and nothing to configure. It starts 'keymend local'
on the demo account (events/accounts/demo.json) on a free port of 127.0.0.1, replays the sample
denials of events/ through POST /_local/events as the EventBridge rule would deliver them, with a
storm of 500 repeats of one denial from as many sessions of one role, and prints:
  1. one line per distinct problem: verdict, principal, operation, stream, fix or refusal code;
  2. how many repeats were absorbed, and what they cost;
  3. one e-mail in full, as keymend sends it;
  4. the approval of that fix as a person makes it (the e-mailed link's page, its Approve form),
     then the request evaluated as allowed and its neighbours still denied;
  5. the revoke (the applied notification's link, its Revoke form) and the account as before.
Progress goes to standard error.

Options:
  --serve      keep keymend local running afterwards and print links to open in a browser
               (the pending proposals' pages, the outbox, the account), until Ctrl-C.
  --output FORMAT
               text (default); json: one JSON object summarising the run; jsonl: the same on
               one line. --json is --output json.
  -h, --help   show this help.

${EXIT_STATUS_HELP}
Here a failure is a step that did not do what it should (the message says which).

Example:
  npm run demo
  keymend demo --output json | jq .repeats
`;

const FORMATS = ['text', 'json', 'jsonl'] as const;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'show keymend end to end on the demo account, with no AWS',
  help: helpText(HELP),
  run: (argv, io) =>
    runCommand('demo', io, async () => {
      const { values } = parseCommandLine(argv, { serve: { type: 'boolean' }, ...OUTPUT_OPTIONS });
      const format = outputOption(values, FORMATS, 'text');
      let result: Awaited<ReturnType<typeof runDemo>>;
      try {
        result = await runDemo({ progress: (line) => io.stderr(`${line}\n`), keep: values.serve === true });
      } catch (error) {
        if (error instanceof KeymendError) throw error;
        throw new KeymendError(oneLine(error), { cause: error });
      }
      const { summary, runtime } = result;
      if (format === 'text') io.stdout(demoText(summary));
      else io.stdout(`${JSON.stringify(summary, null, format === 'json' ? 2 : undefined)}\n`);
      if (!values.serve) return;
      (format === 'text' ? io.stdout : io.stderr)(serveText(summary));
      await serveUntilSignal(() => runtime.close());
    }),
};
