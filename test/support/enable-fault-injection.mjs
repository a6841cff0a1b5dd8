// Test-only entry (SPEC HE-7; never shipped: test/ is not in the package): preloaded with
// `node --import <this file> bin/first-run.js …`, it turns the fault-injection hooks of
// src/runtime/fault-injection.ts on in this process — and in a relaunched successor, which inherits
// `process.execArgv`. The symbol is `FAULT_INJECTION_SWITCH` there.
globalThis[Symbol.for('first-run-orchestrator.fault-injection')] = true;
