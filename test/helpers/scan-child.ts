/**
 * Runs `keymend scan` with the arguments given, as the command line would, then prints the peak
 * resident set size on stderr as `maxRSS=KB`: the scan memory test runs it in a child process.
 */
import { scanCommand } from '../../cli/commands/scan';

scanCommand
  .run(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readInput: async () => {
      throw new Error('standard input is not used here');
    },
  })
  .then((code) => {
    process.stderr.write(`maxRSS=${process.resourceUsage().maxRSS}\n`);
    process.exitCode = code;
  });
