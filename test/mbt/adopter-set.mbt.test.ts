/**
 * The testing kit models an adopter's own permission set (issue 23): a backup tool that needs only the
 * camera and Full Disk Access. Every model of the first run (the orchestrator with its children, each
 * permission step in both `advance_on_timeout` modes, the relaunch gate) is generated for that set and
 * replayed with a crash at every step: 0 failures. A step machine that takes a never-asked Full Disk
 * Access's `denied` for the user's answer (it goes to the pane as for any denied kind, never asking
 * for Full Disk Access itself) is caught.
 */
import { describe, expect, it } from 'vitest';
import { permissionStepMachine } from '../../machines/permission-step.machine.js';
import { checkFirstRun, checkModel, permissionStepModels, permissionsOf, settingsFromConfig } from '../../src/testing/index.js';

const settings = settingsFromConfig({ integrations: { permissions_v2: { order: ['camera', 'full_disk_access'] } } });

describe('an adopter set: camera + Full Disk Access (MBT-1, issue 23)', () => {
  it('should model exactly the adopter set, with each kind\'s catalogue defaults', () => {
    const models = permissionStepModels(settings, { bothTimeoutModes: true });
    expect(permissionsOf(models)).toEqual(['camera', 'full_disk_access']);
    // camera: one variant per mode; Full Disk Access never reads not_determined and needs a restart, so
    // whether it was asked before is modelled too.
    expect(models.map((m) => m.name)).toEqual([
      'permissionStep camera advance=true requestedBefore=false',
      'permissionStep camera advance=false requestedBefore=false',
      'permissionStep full_disk_access advance=true requestedBefore=false',
      'permissionStep full_disk_access advance=true requestedBefore=true',
      'permissionStep full_disk_access advance=false requestedBefore=false',
      'permissionStep full_disk_access advance=false requestedBefore=true',
    ]);
  });

  it('every model of the first run for the set: generated, replayed with a crash at every step, 0 failures', () => {
    const result = checkFirstRun(settings, { bothTimeoutModes: true });
    console.log(`adopter set camera+full_disk_access: ${result.models.length} models, ${result.paths} paths, ${result.replays} replays, ${result.failures.length} failures`);
    expect(result.failures).toEqual([]);
    expect(result.models.every((model) => model.unmodelled.length === 0)).toBe(true);
    expect(result.replays).toBeGreaterThan(1000);
  }, 240_000);

  it('should catch a step that never asks a never-asked Full Disk Access (the tests can fail)', () => {
    const sabotaged = permissionStepMachine.provide({ guards: { isUnaskedNeverNotDetermined: () => false } });
    const [model] = permissionStepModels(settings).filter((m) => m.input.permission === 'full_disk_access' && !m.input.requestedBefore);
    const report = checkModel({ ...model!, machine: sabotaged }, { maxFailures: 3 });
    expect(report.failures.map((f) => f.invariant)).toContain('unasked_kind_is_asked');
    // The product's machine passes the same model.
    expect(checkModel(model!).failures).toEqual([]);
  });
});
