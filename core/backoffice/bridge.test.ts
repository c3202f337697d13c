import { describe, expect, it } from 'vitest';
import { BRIDGE_COMMAND_NAMES, BRIDGE_COMMANDS, bridgeCommands, isBridgeCommandName } from './bridge.js';
import { backOffice } from './index.js';

describe('the back-office bridge', () => {
  it('has exactly the registry’s commands, with the registry’s roles, step-up and mutation flags', () => {
    const fromRegistry = Object.fromEntries(backOffice.list().map((c) => [c.name, { roles: [...c.roles], stepUp: c.stepUp, mutates: c.mutates }]));
    const fromBridge = Object.fromEntries(Object.entries(BRIDGE_COMMANDS).map(([name, p]) => [name, { roles: [...p.roles], stepUp: p.stepUp, mutates: p.mutates }]));
    expect(fromBridge).toEqual(fromRegistry);
    expect([...BRIDGE_COMMAND_NAMES].sort()).toEqual(
      backOffice
        .list()
        .map((c) => c.name)
        .sort(),
    );
  });

  it('builds one method per command, each sending its own name', async () => {
    const sent: Array<[string, unknown, unknown]> = [];
    const commands = bridgeCommands(async (name, input, options) => {
      sent.push([name, input, options]);
      return { ok: true, data: null };
    });
    expect(Object.keys(commands).sort()).toEqual([...BRIDGE_COMMAND_NAMES].sort());
    await commands['kyb:approve']({ merchant: 'mer_1' }, { otp: '123456' });
    await commands['ledger:verify']({});
    expect(sent).toEqual([
      ['kyb:approve', { merchant: 'mer_1' }, { otp: '123456' }],
      ['ledger:verify', {}, {}],
    ]);
  });

  it('knows a command name from anything else', () => {
    expect(isBridgeCommandName('fx:set')).toBe(true);
    expect(isBridgeCommandName('toString')).toBe(false);
    expect(isBridgeCommandName('__proto__')).toBe(false);
  });
});
