/**
 * `npm run mock -- VENDOR` (scripts/vendor-mock.ts) through the typed registry of the vendor mocks
 * (local/stand-ins/registry.ts): each registered mock starts, answers on loopback and stops; a bad
 * vendor or port is a usage error. `npm run mock -- --spec FILE` starts a description's mock
 * (local/stand-ins/openapi.ts).
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
    expect(stderr()).toBe(
      [
        'Usage: npm run mock -- stripe|slack|github|twilio [--port N]',
        '       npm run mock -- --spec FILE [--port N]   (a mock served from an API description)',
      ].join('\n'),
    );
    expect(until).not.toHaveBeenCalled();
  });
});

describe('npm run mock -- --spec FILE (a mock served from a description)', () => {
  it("starts the description's mock under its base path, serves its operations, and stops", async () => {
    // Prepare
    const stderr = captureConsoleError();
    const spec = 'test/fixtures/slack/slack_web_openapi_v2.json';
    let running: VendorMock | undefined;
    let status: number | undefined;

    // Act
    const code = await main(['--spec', spec, '--port', '0'], async (mock) => {
      running = mock;
      status = (
        await fetch(`${mock.url}/users.list`, { headers: { authorization: 'Bearer xoxb-fake-example' } })
      ).status;
    });

    // Assess
    expect(code).toBe(0);
    expect(running?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    expect(status).toBe(200);
    expect(stderr()).toContain(
      `mock of ${spec} (13 operations) listening on ${running?.url} (Ctrl-C stops it)`,
    );
    await expect(fetch(running?.url ?? '')).rejects.toThrow();
  });

  it.each([
    ['a vendor and --spec', ['slack', '--spec', 'test/fixtures/slack/slack_web_openapi_v2.json']],
    ['an empty --spec', ['--spec', '']],
  ])('%s: exit code 2 and the usage lines', async (_case, argv) => {
    // Prepare
    const stderr = captureConsoleError();
    const until = vi.fn(async () => {});

    // Act
    const code = await main(argv, until);

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toContain('npm run mock -- --spec FILE [--port N]');
    expect(until).not.toHaveBeenCalled();
  });

  it('a description that cannot be read: exit code 2 naming the file, no mock started', async () => {
    // Prepare
    const stderr = captureConsoleError();
    const until = vi.fn(async () => {});

    // Act
    const code = await main(['--spec', 'test/fixtures/missing.openapi.json'], until);

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toMatch(/^mock: test\/fixtures\/missing\.openapi\.json: ENOENT/);
    expect(until).not.toHaveBeenCalled();
  });
});
