import { newProposalId } from '../../functions/core/new-proposal';

describe('newProposalId', () => {
  it('is 24 URL-safe characters, unguessable, never starting with - (a command line would read an option)', () => {
    // Without the redraw, about 1 in 64 ids would start with '-': some of 2,000 would.
    const ids = Array.from({ length: 2000 }, () => newProposalId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{23}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
