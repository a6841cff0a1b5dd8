import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { machineToMermaid } from '../../src/statecharts/index.js';
import { createKitchenSinkMachine, kitchenSinkMachine } from './fixtures/kitchen-sink.machine.js';

const text = machineToMermaid(kitchenSinkMachine);
const lines = text.split('\n').map((l) => l.trim());
const P = 'kitchen_sink_working_probe';

describe('machineToMermaid', () => {
  it('should start with stateDiagram-v2 and wrap the machine in a root composite', () => {
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('[*] --> kitchen_sink');
    expect(lines).toContain('state kitchen_sink {');
  });

  it.each([
    ['nested compound state', `state ${P} {`],
    ['initial state', `[*] --> ${P}_reading`],
    ['root initial state', '[*] --> kitchen_sink_idle'],
    ['final state', `${P}_granted --> [*]`],
    ['root-level final', 'kitchen_sink_done --> [*]'],
    ['and()/not() guard', 'kitchen_sink_idle --> kitchen_sink_working : user.start [isOnline and !isDenied]'],
    ['or() guard', 'kitchen_sink_idle --> kitchen_sink_failed : user.start [isDenied or !isOnline]'],
    ['not() guard on always', 'kitchen_sink_failed --> kitchen_sink_done : always [!hasAttemptsLeft]'],
    ['stateIn() guard on always', 'kitchen_sink_working_tray_grey --> kitchen_sink_working_tray_green : always [in(#kitchen-sink.working.probe.granted)]'],
    ['named delay with value', `${P}_reading --> kitchen_sink_failed : after 15000ms (stepTimeout)`],
    ['dynamic delay', `${P}_retrying --> ${P}_reading : after retryBackoff (dynamic) [hasAttemptsLeft]`],
    ['literal delay, targetless', `${P}_retrying --> ${P}_retrying : after 500ms / raise(tick) (internal)`],
    ['invoke onDone with guard', `${P}_reading --> ${P}_granted : done(readStatus) [isGranted]`],
    ['invoke onError to another parent', `${P}_reading --> kitchen_sink_failed : error(readStatus) / notifyUser`],
    ['invoke without id uses src', `${P}_asking --> ${P}_retrying : error(requestPermission)`],
    ['targetless transition', 'kitchen_sink_idle --> kitchen_sink_idle : permission.changed / recordStatus (internal)'],
    ['reenter', `${P}_asking --> ${P}_asking : tick (reenter)`],
    ['cross-parent target', 'kitchen_sink_working_tray_grey --> kitchen_sink_idle : user.cancel'],
    ['target in another parent (history)', `kitchen_sink_failed --> ${P}_hist : user.retry [hasAttemptsLeft]`],
    ['onDone of a parallel state', 'kitchen_sink_working --> kitchen_sink_done : onDone'],
    ['root transition', 'kitchen_sink --> kitchen_sink_done : tray.quit_clicked / persistLedger'],
    ['entry/exit actions', 'state "idle<br/>entry / logEntry<br/>exit / logExit" as kitchen_sink_idle'],
    ['invoke label', `state "reading<br/>invoke: readStatus (readStatus)" as ${P}_reading`],
    ['built-in action name', `state "asking<br/>entry / assign, notifyUser<br/>invoke: requestPermission" as ${P}_asking`],
    ['history state', `state "H*<br/>hist (history)" as ${P}_hist`],
    ['state description', 'state "green<br/>All permissions granted" as kitchen_sink_working_tray_green'],
  ])('should show %s', (_name, line) => {
    expect(lines).toContain(line);
  });

  it('should separate parallel regions with --', () => {
    const start = lines.indexOf('state kitchen_sink_working {');
    const sep = lines.indexOf('--', start);
    expect(start).toBeGreaterThan(-1);
    expect(sep).toBeGreaterThan(lines.indexOf(`state ${P} {`));
    expect(sep).toBeLessThan(lines.indexOf('state kitchen_sink_working_tray {'));
  });

  it('should look parseable: balanced blocks, declared ids, well-formed arrows', () => {
    let depth = 0;
    const declared = new Set<string>();
    for (const line of lines.slice(1)) {
      if (line === '') continue;
      if (line.endsWith('{')) {
        expect(line).toMatch(/^state [A-Za-z0-9_]+ \{$/);
        depth++;
      } else if (line === '}') {
        depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      } else if (line.startsWith('state "')) {
        const m = /^state "([^"]*)" as ([A-Za-z0-9_]+)$/.exec(line);
        expect(m, line).not.toBeNull();
        declared.add(m?.[2] ?? '');
      } else if (line === '--') {
        continue;
      } else {
        const m = /^(\[\*\]|[A-Za-z0-9_]+) --> (\[\*\]|[A-Za-z0-9_]+)( : [^:;]+)?$/.exec(line);
        expect(m, line).not.toBeNull();
        for (const id of [m?.[1], m?.[2]]) if (id !== '[*]') expect(declared.has(id ?? ''), `${id} declared`).toBe(true);
      }
    }
    expect(depth).toBe(0);
  });

  it('should be deterministic', () => {
    expect(machineToMermaid(createKitchenSinkMachine())).toBe(text);
    expect(machineToMermaid(kitchenSinkMachine)).toBe(text);
  });

  it('should show a changed delay value', () => {
    expect(machineToMermaid(createKitchenSinkMachine({ stepTimeout: 20000 }))).toContain('after 20000ms (stepTimeout)');
  });

  it('should make ids safe and unique, and keep labels', () => {
    const m = createMachine({
      id: 'a-b',
      initial: 'x.y',
      states: { 'x.y': { on: { 'go:now;': 'x_y' } }, x_y: {}, end: {}, '2fa': {} },
    });
    const out = machineToMermaid(m, { direction: 'LR', actions: false });
    expect(out).toContain('direction LR');
    expect(out).toContain('state "x.y" as a_b_x_y\n');
    expect(out).toContain('state "x_y" as a_b_x_y_2\n');
    expect(out).toContain('a_b_x_y --> a_b_x_y_2 : go\u2236now,');
  });
});
