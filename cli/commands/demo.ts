/**
 * `keymend demo` (`npm run demo`): keymend end to end on this machine with no AWS (cli/demo/run.ts).
 */
import { parseArgs } from 'node:util';
import { demoText, serveText } from '../demo/report';
import { runDemo } from '../demo/run';
import { oneLine } from '../input';
import type { Command } from '../io';

const HELP = `Usage: keymend demo [--serve] [--json]
       npm run demo [-- --serve] [-- --json]

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
  --json       print one JSON object summarising the run instead of the text.
  -h, --help   show this help.

Exit status: 0 when every step did what it should; 1 when a step did not (the message says which);
2 when the options are wrong.

Example:
  npm run demo
  npm run --silent demo -- --json | jq .repeats
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'show keymend end to end on the demo account, with no AWS',
  help: HELP,
  async run(argv, io) {
    let values: { serve?: boolean; json?: boolean };
    try {
      ({ values } = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: false,
        options: { serve: { type: 'boolean' }, json: { type: 'boolean' } },
      }));
    } catch (error) {
      io.stderr(`keymend demo: ${oneLine(error)}. See 'keymend demo --help'.\n`);
      return 2;
    }
    let result: Awaited<ReturnType<typeof runDemo>>;
    try {
      result = await runDemo({ progress: (line) => io.stderr(`${line}\n`), keep: values.serve === true });
    } catch (error) {
      io.stderr(`keymend demo: ${oneLine(error)}\n`);
      return 1;
    }
    const { summary, runtime } = result;
    io.stdout(values.json ? `${JSON.stringify(summary)}\n` : demoText(summary));
    if (!values.serve) return 0;
    // The links are the output a person asked for; with --json they stay off the one JSON object.
    (values.json ? io.stderr : io.stdout)(serveText(summary));
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        runtime.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
