/**
 * The tray's colours and the payload of `tray.status_updated` (TR-1..3), apart from the tray machine so
 * that code which never runs a machine (the warm launch, `src/runtime/warm-start.ts`) says them exactly
 * as the machine does, without loading XState.
 */
import type { TrayStatus } from './types.js';

/** The canonical colours (TR-1). Nowhere else in the product names a colour. */
export const TRAY_COLORS: Readonly<Record<TrayStatus, string>> = {
  SLEEPING: '#808080',
  LISTENING: '#007AFF',
  PROCESSING: '#FF9500',
};

/** The badge drawn over the status during first-run (TR-2). */
export const FIRST_RUN_OVERLAY = { badge: 'lock', color: '#FF3B30' } as const;

/** What the tray shows: its status and the first-run badge, if any. */
export interface TrayView {
  status: TrayStatus;
  overlay: typeof FIRST_RUN_OVERLAY | null;
}

/** The payload of `tray.status_updated` for what the tray shows. */
export function trayStatusPayload(view: TrayView): Record<string, unknown> {
  return {
    status: view.status,
    color: TRAY_COLORS[view.status],
    overlay: view.overlay ? view.overlay.badge : null,
    overlay_color: view.overlay ? view.overlay.color : null,
  };
}
