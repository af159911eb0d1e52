import { main } from '../../cli/keymend';
import { captureIo } from '../helpers/io';

describe('keymend dispatcher', () => {
  it('lists commands on --help and exits 0', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^Usage: keymend COMMAND/);
  });

  it('exits 2 with usage when no command is given', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(2);
    expect(io.out()).toContain('Commands:');
  });

  it('names an unknown command on stderr and exits 2', async () => {
    const io = captureIo();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.err()).toContain("unknown command 'frobnicate'");
  });
});
