/**
 * `npm run mock -- VENDOR` (scripts/vendor-mock.ts) through the typed registry of the vendor mocks
 * (local/stand-ins/registry.ts): each registered mock starts, answers on loopback and stops; a bad
 * vendor or port is a usage error.
 */
import { describe, expect, it, vi } from 'vitest';
import { MOCKED_VENDOR_KINDS, VENDOR_MOCKS, type VendorMock } from '../../local/stand-ins/registry.js';
import { main } from '../../scripts/vendor-mock.js';

/** Captures what `main` writes with console.error (restored after each test by `restoreMocks`). */
function captureConsoleError(): () => string {
  const lines: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    lines.push(args.join(' '));
  });
  return () => lines.join('\n');
}

describe('the vendor mocks registry', () => {
  it('maps stripe, slack, github and twilio to the function that starts their mock', () => {
    // Prepare
    const expected = ['stripe', 'slack', 'github', 'twilio'];

    // Act
    const kinds = [...MOCKED_VENDOR_KINDS];

    // Assess
    expect(kinds).toEqual(expected);
    for (const kind of kinds) expect(VENDOR_MOCKS[kind]).toBeTypeOf('function');
  });
});

describe('npm run mock -- VENDOR (scripts/vendor-mock.ts main)', () => {
  it.each([...MOCKED_VENDOR_KINDS])(
    '%s: starts on a free loopback port, answers HTTP, and is stopped once `until` resolves',
    async (kind) => {
      // Prepare
      const stderr = captureConsoleError();
      let running: VendorMock | undefined;
      let status: number | undefined;

      // Act
      const code = await main([kind, '--port', '0'], async (mock) => {
        running = mock;
        status = (await fetch(new URL('/', mock.url), { method: 'POST' })).status;
      });

      // Assess
      expect(code).toBe(0);
      expect(running?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(status).toBeGreaterThanOrEqual(200);
      expect(stderr()).toContain(`${kind} mock listening on ${running?.url} (Ctrl-C stops it)`);
      await expect(fetch(running?.url ?? '')).rejects.toThrow();
    },
  );

  it.each([
    ['no vendor', []],
    ['an unknown vendor', ['acme']],
    ['a key every object has', ['toString']],
    ['a port above 65535', ['stripe', '--port', '65536']],
    ['a port that is not a number', ['stripe', '--port', 'http']],
    ['--help', ['--help']],
  ])('%s: exit code 2 and the usage line naming every vendor, no mock started', async (_case, argv) => {
    // Prepare
    const stderr = captureConsoleError();
    const until = vi.fn(async () => {});

    // Act
    const code = await main(argv, until);

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toBe('Usage: npm run mock -- stripe|slack|github|twilio [--port N]');
    expect(until).not.toHaveBeenCalled();
  });
});
