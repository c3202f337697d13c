import { describe, expectTypeOf, it } from 'vitest';
import type { BackOfficeShell as ShellOfPreload } from '../../electron/shell-api.js';
import type { BackOfficeShell as ShellOfRenderer } from '../../renderer/src/bridge/shell.js';

/** The Settings API's two copies (the renderer may not import from electron/) stay one shape. */
describe('window.backOfficeShell', () => {
  it('is the same type on both sides of the preload', () => {
    expectTypeOf<ShellOfRenderer>().toEqualTypeOf<ShellOfPreload>();
  });
});
