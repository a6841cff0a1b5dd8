/** The SPEC §4 example as an in-process FakeTcc scenario (test/support/fake-tcc.ts). */
export const DEMO_PERMISSIONS = {
  microphone: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 200 } },
  accessibility: { status: 'denied', onSettings: { result: 'granted', afterMs: 500 } },
  input_monitoring: { status: 'granted' },
  screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 300, afterRestart: true } },
} as const;
