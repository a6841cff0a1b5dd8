/**
 * A SUBSET of Electron's real type declarations (`electron.d.ts`, Electron 30+), for type-checking
 * `electron-main.ts` only. Electron is not a dependency of this package: its postinstall downloads a
 * ~100 MB binary, which CI does not need just to check an example.
 *
 * It declares exactly the members the example uses, with the signatures Electron publishes (copied,
 * narrowed where Electron has overloads the example does not use). It is not a replacement for Electron's
 * types: in your app, delete nothing here — just don't copy this file; `import … from 'electron'`
 * resolves to Electron's own declarations.
 */
declare module 'electron' {
  /** https://www.electronjs.org/docs/latest/api/auto-updater (the events the example listens to). */
  export namespace autoUpdater {
    function on(event: 'checking-for-update' | 'update-not-available' | 'update-downloaded' | 'error', listener: (...args: unknown[]) => void): void;
  }

  /** Electron's `Event` (the listener argument of `before-quit`). */
  export interface Event {
    preventDefault(): void;
  }

  /** https://www.electronjs.org/docs/latest/api/native-image */
  export class NativeImage {
    isEmpty(): boolean;
    setTemplateImage(option: boolean): void;
  }

  export namespace nativeImage {
    function createFromPath(path: string): NativeImage;
  }

  /** https://www.electronjs.org/docs/latest/api/structures/menu-item-constructor-options */
  export interface MenuItemConstructorOptions {
    label?: string;
    type?: 'normal' | 'separator' | 'submenu' | 'checkbox' | 'radio';
    enabled?: boolean;
    click?: (menuItem: MenuItem, window: BrowserWindow | undefined, event: KeyboardEvent) => void;
  }

  export class MenuItem {
    label: string;
    enabled: boolean;
  }

  /** Only used as a type in `MenuItemConstructorOptions.click`. */
  export class BrowserWindow {
    private constructor();
  }

  /** Electron's `KeyboardEvent` structure (not the DOM one). */
  export interface KeyboardEvent {
    altKey?: boolean;
    ctrlKey?: boolean;
    metaKey?: boolean;
    shiftKey?: boolean;
    triggeredByAccelerator?: boolean;
  }

  /** https://www.electronjs.org/docs/latest/api/menu */
  export class Menu {
    static buildFromTemplate(template: Array<MenuItemConstructorOptions | MenuItem>): Menu;
  }

  /** https://www.electronjs.org/docs/latest/api/tray */
  export class Tray {
    constructor(image: NativeImage | string, guid?: string);
    setImage(image: NativeImage | string): void;
    setToolTip(toolTip: string): void;
    setContextMenu(menu: Menu | null): void;
    destroy(): void;
  }

  /** https://www.electronjs.org/docs/latest/api/dialog */
  export namespace dialog {
    function showErrorBox(title: string, content: string): void;
  }

  /** https://www.electronjs.org/docs/latest/api/app */
  export interface App {
    /** `true` when the app is packaged (running from `…/App.app`), `false` under `electron .`. */
    readonly isPackaged: boolean;
    whenReady(): Promise<void>;
    getName(): string;
    getAppPath(): string;
    getPath(
      name:
        | 'home'
        | 'appData'
        | 'userData'
        | 'sessionData'
        | 'temp'
        | 'exe'
        | 'module'
        | 'desktop'
        | 'documents'
        | 'downloads'
        | 'music'
        | 'pictures'
        | 'videos'
        | 'recent'
        | 'logs'
        | 'crashDumps',
    ): string;
    quit(): void;
    exit(exitCode?: number): void;
    on(event: 'before-quit', listener: (event: Event) => void): this;
    on(event: 'window-all-closed', listener: () => void): this;
    dock?: { hide(): void };
  }

  export const app: App;
}
