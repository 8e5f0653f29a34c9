import { describe, it, expect } from 'vitest';
import { locationTitle } from '../src/format.js';
import { parseRoute, reportHash } from '../src/router.js';
import { reportQuery, locationChoices } from '../src/pages/Report.js';
import { locationRows } from '../src/components/ReportTable.js';
import { agentStatus, fmtRate, createError } from '../src/pages/Agents.js';
import { credsFileName } from '../src/components/AgentCredential.js';
import { locationsChange } from '../src/components/LocationPicker.js';
import { cellRttText, cellLossText } from '../src/live/cell.js';
import { ApiError } from '../src/api.js';

describe('locations in words', () => {
  it('says what a location is and when it was last heard from', () => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    expect(locationTitle('local', { kind: 'server', online: true }, now)).toBe('local: this server, online');
    expect(locationTitle('fra', { kind: 'agent', agent: 'fra-1', online: false, last_seen: '2026-05-01T11:55:00Z' }, now)).toBe('fra: agent fra-1, offline, last seen 5 min ago');
    expect(locationTitle('nyc', { kind: 'agent', online: false, last_seen: null }, now)).toBe('nyc: agent, offline, never seen');
    expect(locationTitle('ams', undefined, now)).toBe('ams');
  });

  it('writes a cell as offline or paused, never a timeout or a loss, and the RTT otherwise', () => {
    expect(cellRttText({ offline: true, state: 'down', reason: '', rtt: null })).toBe('offline');
    expect(cellRttText({ offline: true, state: 'paused', reason: '', rtt: null })).toBe('paused');
    expect(cellRttText({ offline: false, state: 'down', reason: '', rtt: null })).toBe('timeout');
    expect(cellRttText({ offline: false, state: 'down', reason: 'no such host', rtt: null })).toBe('no such host');
    expect(cellRttText({ offline: false, state: 'up', reason: '', rtt: 12.345 })).toBe('12.3 ms');
    expect(cellLossText({ offline: true, paused: false, loss: 1 })).toBe('—');
    expect(cellLossText({ offline: false, paused: false, loss: 0.25 })).toBe('25 %');
  });
});

describe('report by location', () => {
  it('puts the location in the permalink and the API query', () => {
    const h = reportHash('g-1', 1700000000, 120, 'fra');
    expect(h).toBe('#/report/g-1?from=1700000000&range=120&location=fra');
    expect(parseRoute(h).q.get('location')).toBe('fra');
    expect(reportHash('g-1', 1700000000, 120, '')).toBe('#/report/g-1?from=1700000000&range=120');
    expect(reportQuery(1700000000, 120, 1, 'json', 'fra')).toBe('from=1700000000&range=120s&step=1s&format=json&location=fra');
    expect(reportQuery(1700000000, 120, null, 'csv')).toBe('from=1700000000&range=120s&format=csv');
  });

  it('offers the group’s locations first, then the others, then an unknown one asked for', () => {
    expect(locationChoices(['fra', 'local'], [{ name: 'local' }, { name: 'nyc' }, { name: 'fra' }], '')).toEqual(['fra', 'local', 'nyc']);
    expect(locationChoices([''], [{ name: 'local' }], 'gone')).toEqual(['local', 'gone']);
  });

  it('breaks a target down by location in the group’s order, only when there are several', () => {
    const s = (n) => ({ sent: n });
    const t = { locations: { nyc: s(3), local: s(1), fra: s(2) } };
    expect(locationRows(t, ['local', 'fra']).map(([l, x]) => l + ':' + x.sent)).toEqual(['local:1', 'fra:2', 'nyc:3']);
    expect(locationRows({ locations: { local: s(1) } }, ['local'])).toEqual([]);
    expect(locationRows({ sent: 1 }, [])).toEqual([]);
  });
});

describe('agents and group locations', () => {
  it('routes the agents page', () => {
    expect(parseRoute('#/agents').page).toBe('agents');
    expect(parseRoute('#/agents/x').page).toBe('notfound');
  });

  it('says an agent’s status in words and its rate in few digits', () => {
    expect(agentStatus({ connected: true, online: true })).toEqual({ state: 'up', text: 'online' });
    expect(agentStatus({ connected: true, online: false })).toEqual({ state: 'partial', text: 'connected, silent' });
    expect(agentStatus({ connected: false, online: false })).toEqual({ state: 'offline', text: 'offline' });
    expect([null, 0, 4.567, 45.67, 5000.4].map(fmtRate)).toEqual(['—', '0.00', '4.57', '45.7', '5000']);
  });

  it('names the credential file after the location and shows the server’s reason a create failed', () => {
    expect(credsFileName('fra')).toBe('fra.creds');
    const msg = "agents connect to the embedded NATS server's listener: start the server with --nats-listen (and without --nats-url)";
    expect(createError(new ApiError(409, 'conflict', msg))).toBe(msg);
    expect(createError(new ApiError(422, 'invalid', 'location: taken'))).toBe('location: taken');
  });

  it('sends locations with a group only when they changed', () => {
    expect(locationsChange(['local'], ['local'])).toBeUndefined();
    expect(locationsChange(['local'], ['local', 'fra'])).toEqual(['local', 'fra']);
    expect(locationsChange(['local', 'fra'], ['fra', 'local'])).toEqual(['fra', 'local']);
    expect(locationsChange(undefined, [])).toBeUndefined();
  });
});
