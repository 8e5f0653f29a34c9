import { describe, it, expect } from 'vitest';
import { fmtAgo } from '../src/format.js';
import { parseRoute } from '../src/router.js';
import { deleteSummary } from '../src/pages/Users.js';

describe('account pages', () => {
  it('says what deleting a user deletes, with correct plurals', () => {
    expect(deleteSummary({ group_count: 2, target_count: 5, token_count: 1 })).toBe('2 groups with 5 targets, 1 API token and their sessions');
    expect(deleteSummary({ group_count: 1, target_count: 1, token_count: 0 })).toBe('1 group with 1 target, 0 API tokens and their sessions');
    expect(deleteSummary({ group_count: 0, target_count: 0, token_count: 3 })).toBe('no groups, 3 API tokens and their sessions');
  });

  it('says when in human words', () => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    expect(fmtAgo(null, now)).toBe('never');
    expect(fmtAgo('2026-05-01T11:59:30Z', now)).toBe('just now');
    expect(fmtAgo('2026-05-01T11:55:00Z', now)).toBe('5 min ago');
    expect(fmtAgo('2026-05-01T09:20:00Z', now)).toBe('2 h 40 min ago');
  });

  it('routes the account pages and nothing else', () => {
    expect(parseRoute('#/tokens').page).toBe('tokens');
    expect(parseRoute('#/users').page).toBe('users');
    expect(parseRoute('#/users/x').page).toBe('notfound');
    expect(parseRoute('#/nope').page).toBe('notfound');
    expect(parseRoute('#/').page).toBe('dashboard');
    expect(parseRoute('').page).toBe('dashboard');
  });
});
